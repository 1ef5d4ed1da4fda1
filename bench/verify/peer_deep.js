#!/usr/bin/env node
// peer_deep.js - verifies a file of addresses with npm deep-email-validator.
//
// Usage: node bench/verify/peer_deep.js INPUT OUTPUT [SENDER]
//
// The peer is the npm package `deep-email-validator`, pinned in
// bench/package.json and bench/package-lock.json and installed by the bench
// scripts with `npm ci` into bench/.deps/node_modules (BENCH_NODE_MODULES
// overrides where to look). Reads INPUT (one address per line) and runs
// validate() on every address with at most BENCH_PEER_POOL (default 4)
// validations in flight, options { validateRegex, validateMx, validateSMTP:
// true, validateTypo: false, validateDisposable: false, sender }. Each
// validation resolves the domain's MX with node's dns module (the system
// resolver, /etc/resolv.conf) and opens one connection to port 25 of the
// best MX host, so the pool size is also the connection cap.
//
// Writes OUTPUT as one JSON object per address, input order:
//     {"email": ..., "valid": true|false, "reason": ..., "detail": ...}
// and prints one line: `deep-email-validator <addresses> <valid> <seconds>`
// (seconds of the validation loop, monotonic clock).
'use strict';

const fs = require('fs');
const path = require('path');

// Loads deep-email-validator's validate() from the bench's private
// node_modules; exits 1 with a message when it is not installed.
function loadValidate() {
  const dir = process.env.BENCH_NODE_MODULES ||
    path.join(__dirname, '..', '.deps', 'node_modules');
  try {
    return require(path.join(dir, 'deep-email-validator')).validate;
  } catch (e) {
    process.stderr.write(`peer_deep: cannot load deep-email-validator from ${dir}: ${e.message}\n` +
      '  run bench/verify/run.sh (it runs npm ci) first\n');
    process.exit(1);
  }
}

// Runs fn(i) for i in [0, n) with at most `pool` calls pending at once;
// resolves when all have settled.
async function runPool(n, pool, fn) {
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      await fn(i);
    }
  }
  const workers = [];
  for (let w = 0; w < Math.min(pool, n); w++) workers.push(worker());
  await Promise.all(workers);
}

// Entry point: read, validate with the pool, write results, report.
async function main(argv) {
  if (argv.length < 2 || argv.length > 3) {
    process.stderr.write('usage: peer_deep.js INPUT OUTPUT [SENDER]\n');
    return 1;
  }
  const validate = loadValidate();
  if (typeof validate !== 'function') {
    process.stderr.write('peer_deep: deep-email-validator exports no validate()\n');
    return 1;
  }
  const sender = argv[2] || 'bench@bclab-bench.net';
  const pool = Number(process.env.BENCH_PEER_POOL || 4);
  if (!Number.isInteger(pool) || pool < 1) {
    process.stderr.write('peer_deep: BENCH_PEER_POOL must be a positive integer\n');
    return 1;
  }
  const lines = fs.readFileSync(argv[0], 'utf8').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const n = lines.length;
  if (n === 0) {
    process.stderr.write(`peer_deep: ${argv[0]} has no addresses\n`);
    return 1;
  }
  const results = new Array(n);
  let valid = 0;
  const t0 = process.hrtime.bigint();
  await runPool(n, pool, async (i) => {
    let r;
    try {
      r = await validate({
        email: lines[i],
        sender,
        validateRegex: true,
        validateMx: true,
        validateTypo: false,
        validateDisposable: false,
        validateSMTP: true,
      });
    } catch (e) {
      r = { valid: false, reason: 'exception', validators: {}, error: String(e) };
    }
    const level = r.reason && r.validators && r.validators[r.reason];
    results[i] = {
      email: lines[i],
      valid: r.valid === true,
      reason: r.reason || null,
      detail: (level && level.reason) || r.error || null,
    };
    if (r.valid === true) valid++;
  });
  const t1 = process.hrtime.bigint();
  fs.writeFileSync(argv[1], results.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const seconds = Number(t1 - t0) / 1e9;
  process.stdout.write(`deep-email-validator ${n} ${valid} ${seconds.toFixed(6)}\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`peer_deep: ${e.stack || e}\n`); process.exitCode = 1; });
