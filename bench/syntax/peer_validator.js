#!/usr/bin/env node
// peer_validator.js - times validator.js isEmail() over a file of addresses.
//
// Usage: node bench/syntax/peer_validator.js INPUT [VERDICTS]
//
// The peer is the npm package `validator`, pinned in bench/package.json and
// bench/package-lock.json and installed by run.sh with `npm ci` into
// bench/.deps/node_modules (BENCH_NODE_MODULES overrides where to look).
// Reads INPUT (one address per line, UTF-8, '\n' line ends) into an array
// first; only the loop calling isEmail(addr) with its default options is
// timed (process.hrtime.bigint, a monotonic clock). Prints one line:
//
//     validator.js <addresses> <valid> <seconds>
//
// When VERDICTS is given, writes there after timing one byte per address
// ('1' valid, '0' not), the same format bench_syntax writes.
'use strict';

const fs = require('fs');
const path = require('path');

// Loads validator's isEmail from the bench's private node_modules; exits 1
// with a message when it is not installed.
function loadIsEmail() {
  const dir = process.env.BENCH_NODE_MODULES ||
    path.join(__dirname, '..', '.deps', 'node_modules');
  try {
    return require(path.join(dir, 'validator', 'lib', 'isEmail.js')).default;
  } catch (e) {
    process.stderr.write(`peer_validator: cannot load validator from ${dir}: ${e.message}\n` +
      '  run bench/syntax/run.sh (it runs npm ci) first\n');
    process.exit(1);
  }
}

// Entry point: load, time the isEmail loop, report.
function main(argv) {
  if (argv.length < 1 || argv.length > 2) {
    process.stderr.write('usage: peer_validator.js INPUT [VERDICTS]\n');
    return 1;
  }
  const isEmail = loadIsEmail();
  if (typeof isEmail !== 'function') {
    process.stderr.write('peer_validator: validator/lib/isEmail.js exports no function\n');
    return 1;
  }
  const lines = fs.readFileSync(argv[0], 'utf8').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const n = lines.length;
  if (n === 0) {
    process.stderr.write(`peer_validator: ${argv[0]} has no addresses\n`);
    return 1;
  }
  const verdicts = Buffer.alloc(n, 0x30);
  let valid = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (isEmail(lines[i])) {
      valid++;
      verdicts[i] = 0x31;
    }
  }
  const t1 = process.hrtime.bigint();
  if (argv.length === 2) fs.writeFileSync(argv[1], verdicts);
  const seconds = Number(t1 - t0) / 1e9;
  process.stdout.write(`validator.js ${n} ${valid} ${seconds.toFixed(6)}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
