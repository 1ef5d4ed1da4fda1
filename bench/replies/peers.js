#!/usr/bin/env node
// peers.js - verifies the reply-corpus addresses with one npm peer and maps
// its answer to a status, for bench/replies/run.sh.
//
// Usage: node bench/replies/peers.js PEER INPUT OUTPUT [SENDER]
//
// PEER is one of the npm packages pinned in bench/package.json and
// bench/package-lock.json (installed by the bench with `npm ci` into
// bench/.deps/node_modules; BENCH_NODE_MODULES overrides where to look):
//
//   deep-email-validator  validate({validateSMTP: true, sender, typo and
//                         disposable checks off}); it connects to port 25 of
//                         the best MX.
//   email-deep-validator  new EmailValidator({timeout}).verify(address)
//   email-existence       check(address, callback, timeout, sender)
//
// Each peer's answer is mapped to deliverable / undeliverable / risky /
// unknown by its own strongest claim (bench/replies/README.md explains why):
//
//   deep-email-validator  valid: true -> deliverable; reason "smtp" with
//                         "Mailbox not found." (its reading of any 550) ->
//                         undeliverable; its 552 text ("... has run out of
//                         space ...") -> risky; anything else (timeouts,
//                         other codes, "Unrecognized SMTP response.") ->
//                         unknown, since the library says itself that it
//                         could not tell
//   email-deep-validator  validMailbox true -> deliverable, false ->
//                         undeliverable (it says false for 510/511/513/550/
//                         551/553 unless the text names junk, spam, openspf,
//                         spoofing, host or an RBL block), null -> unknown
//   email-existence       (err, exists, undetermined): exists -> deliverable;
//                         not exists and not undetermined (a 550 reply, or a
//                         connection error) -> undeliverable; undetermined
//                         -> unknown
//
// Reads INPUT (one address per line) and checks at most BENCH_PEER_POOL
// (default 8) addresses at once, each with a 10 s timeout. Writes OUTPUT as
// one JSON object per address, in input order:
//     {"email": ..., "status": ..., "raw": <the peer's answer>}
// and prints `PEER <addresses> <seconds>`.
'use strict';

const fs = require('fs');
const path = require('path');

const TIMEOUT_MS = 10000;

function load(name) {
  const dir = process.env.BENCH_NODE_MODULES ||
    path.join(__dirname, '..', '.deps', 'node_modules');
  try {
    return require(path.join(dir, name));
  } catch (e) {
    process.stderr.write(`peers.js: cannot load ${name} from ${dir}: ${e.message}\n`);
    process.exit(1);
  }
}

// One check per peer: resolves {status, raw}, never rejects.
const PEERS = {
  'deep-email-validator': (sender) => {
    const { validate } = load('deep-email-validator');
    return async (email) => {
      let r;
      try {
        r = await validate({
          email, sender, validateRegex: true, validateMx: true, validateTypo: false,
          validateDisposable: false, validateSMTP: true,
        });
      } catch (e) {
        return { status: 'unknown', raw: { exception: String(e) } };
      }
      const level = r.reason && r.validators && r.validators[r.reason];
      const detail = (level && level.reason) || null;
      let status = 'unknown';
      if (r.valid === true) status = 'deliverable';
      else if (r.reason === 'smtp' && detail === 'Mailbox not found.') status = 'undeliverable';
      else if (r.reason === 'smtp' && detail && /run out of space/.test(detail)) status = 'risky';
      return { status, raw: { valid: r.valid, reason: r.reason || null, detail } };
    };
  },
  'email-deep-validator': () => {
    const EmailValidator = load('email-deep-validator');
    const v = new EmailValidator({ timeout: TIMEOUT_MS, verifyDomain: true, verifyMailbox: true });
    return async (email) => {
      let r;
      try {
        r = await v.verify(email);
      } catch (e) {
        return { status: 'unknown', raw: { exception: String(e) } };
      }
      const status = r.validMailbox === true ? 'deliverable'
        : r.validMailbox === false ? 'undeliverable' : 'unknown';
      return { status, raw: r };
    };
  },
  'email-existence': (sender) => {
    const check = load('email-existence');
    return (email) => new Promise((resolve) => {
      check(email, (err, exists, undetermined) => {
        const status = exists ? 'deliverable' : undetermined ? 'unknown' : 'undeliverable';
        resolve({ status, raw: { err: err ? String(err) : null, exists: !!exists,
          undetermined: !!undetermined } });
      }, TIMEOUT_MS, sender);
    });
  },
};

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

async function main(argv) {
  if (argv.length < 3 || argv.length > 4 || !PEERS[argv[0]]) {
    process.stderr.write('usage: peers.js deep-email-validator|email-deep-validator|email-existence ' +
      'INPUT OUTPUT [SENDER]\n');
    return 2;
  }
  const [peer, input, output] = argv;
  const sender = argv[3] || 'verify@bcreplies.net';
  const pool = Number(process.env.BENCH_PEER_POOL || 8);
  const check = PEERS[peer](sender);
  const lines = fs.readFileSync(input, 'utf8').split('\n').filter((l) => l.length > 0);
  const results = new Array(lines.length);
  const t0 = process.hrtime.bigint();
  await runPool(lines.length, pool, async (i) => {
    const r = await check(lines[i]);
    results[i] = { email: lines[i], status: r.status, raw: r.raw };
  });
  const t1 = process.hrtime.bigint();
  fs.writeFileSync(output, results.map((x) => JSON.stringify(x)).join('\n') + '\n');
  process.stdout.write(`${peer} ${lines.length} ${(Number(t1 - t0) / 1e9).toFixed(3)}\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`peers.js: ${e.stack || e}\n`); process.exitCode = 1; });
