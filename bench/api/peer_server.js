#!/usr/bin/env node
// peer_server.js - the peer of bench/api/run.sh: a small verification API on
// node's own http module, answering the same requests as `bouncecheck serve
// --offline` so that wrk can measure both the same way.
//
// Usage: node bench/api/peer_server.js PORT
//
//   GET /v1/verify?email=ADDR  200 with a JSON result; missing email: 400
//   GET /healthz               200 {"status": "ok"}
//   GET /metrics               bouncecheck_cache_hits_total and
//                              bouncecheck_cache_misses_total, the names
//                              bouncecheck serve uses, so run.sh reads both
//                              servers alike
// anything else: 404 (405 for a known path with another method).
//
// The checks are the offline ones of two npm packages pinned in
// bench/package.json and bench/package-lock.json and installed with `npm ci`
// into bench/.deps/node_modules (BENCH_NODE_MODULES overrides where to look):
// validator.js isEmail() for the syntax, then deep-email-validator's
// validate() with regex, typo (mailcheck) and disposable checks, MX and SMTP
// off. The answer mirrors bouncecheck's offline verdicts: bad syntax is
// undeliverable/invalid_syntax, a disposable domain risky/disposable, the
// rest unknown, with "suggestion" from the typo check and "cached".
//
// Results are kept in an in-memory Map (no expiry; the runs are short), as
// serialised JSON: a cached answer costs a lookup and a string splice.
//
// When BENCH_PEER_KEY is set, every /v1/ request needs
// "Authorization: Bearer <that key>"; like bouncecheck, the server keeps only
// the key's SHA-256 and looks the hash of the presented key up in a Map.
// Otherwise 401 {"error": {"code": "unauthorized", ...}}.
'use strict';

const crypto = require('crypto');
const http = require('http');
const path = require('path');

// Loads validator's isEmail and deep-email-validator's validate from the
// bench's private node_modules; exits 1 with a message when they are missing.
function loadPeers() {
  const dir = process.env.BENCH_NODE_MODULES ||
    path.join(__dirname, '..', '.deps', 'node_modules');
  try {
    const isEmail = require(path.join(dir, 'validator', 'lib', 'isEmail.js')).default;
    const validate = require(path.join(dir, 'deep-email-validator')).validate;
    if (typeof isEmail !== 'function' || typeof validate !== 'function') {
      throw new Error('unexpected exports');
    }
    return { isEmail, validate };
  } catch (e) {
    process.stderr.write(`peer_server: cannot load validator/deep-email-validator from ${dir}: ` +
      `${e.message}\n  run bench/api/run.sh (it runs npm ci) first\n`);
    process.exit(1);
  }
}

const DEEP_OPTS = {
  validateRegex: true,
  validateTypo: true,
  validateDisposable: true,
  validateMx: false,
  validateSMTP: false,
};
const TYPO_PREFIX = 'Likely typo, suggested email: ';

// Verifies one address offline; resolves to the result object.
async function verify(peers, email) {
  const at = email.lastIndexOf('@');
  const r = {
    email,
    local: at > 0 ? email.slice(0, at) : null,
    domain: at > 0 ? email.slice(at + 1).toLowerCase() : null,
    status: 'unknown',
    reason: 'offline',
    syntax: { valid: true },
    disposable: false,
    suggestion: null,
    mx: null,
    smtp: null,
  };
  if (!peers.isEmail(email)) {
    r.status = 'undeliverable';
    r.reason = 'invalid_syntax';
    r.syntax.valid = false;
    return r;
  }
  const d = await peers.validate({ email, ...DEEP_OPTS });
  const typo = d.validators && d.validators.typo;
  if (typo && typo.valid === false && typeof typo.reason === 'string' &&
      typo.reason.startsWith(TYPO_PREFIX)) {
    r.suggestion = typo.reason.slice(TYPO_PREFIX.length);
  }
  if (d.reason === 'disposable') {
    r.status = 'risky';
    r.reason = 'disposable';
    r.disposable = true;
  }
  return r;
}

// Sends a JSON body with the given status.
function send(res, status, body, headers) {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function sendError(res, status, code, message, headers) {
  send(res, status, JSON.stringify({ error: { code, message } }), headers);
}

function sha256(s) {
  return crypto.createHash('sha256').update(s).digest('hex');
}

// Entry point: parse PORT, load the peers, serve until killed.
function main(argv) {
  const port = Number(argv[0]);
  if (argv.length !== 1 || !Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write('usage: peer_server.js PORT\n');
    return 1;
  }
  const peers = loadPeers();
  const keys = new Map();
  if (process.env.BENCH_PEER_KEY) keys.set(sha256(process.env.BENCH_PEER_KEY), { name: 'bench' });
  const cache = new Map();
  let hits = 0;
  let misses = 0;

  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://localhost');
    if (u.pathname === '/healthz' || u.pathname === '/metrics') {
      if (req.method !== 'GET') return sendError(res, 405, 'method_not_allowed', 'use GET', { Allow: 'GET' });
      if (u.pathname === '/healthz') return send(res, 200, '{"status":"ok","version":"peer"}');
      const text = `bouncecheck_cache_hits_total ${hits}\nbouncecheck_cache_misses_total ${misses}\n`;
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4',
        'Content-Length': Buffer.byteLength(text) });
      return res.end(text);
    }
    if (u.pathname !== '/v1/verify') return sendError(res, 404, 'not_found', 'no such path');
    if (keys.size > 0) {
      const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
      if (!m || !keys.has(sha256(m[1]))) {
        return sendError(res, 401, 'unauthorized', 'a valid API key is required',
          { 'WWW-Authenticate': 'Bearer' });
      }
    }
    if (req.method !== 'GET') return sendError(res, 405, 'method_not_allowed', 'use GET', { Allow: 'GET' });
    const email = u.searchParams.get('email');
    if (email === null || email === '') return sendError(res, 400, 'bad_request', 'email is missing');
    const key = email.trim().toLowerCase();
    const hit = cache.get(key);
    if (hit !== undefined) {
      hits++;
      return send(res, 200, hit.slice(0, -1) + ',"cached":true}');
    }
    misses++;
    verify(peers, email).then((r) => {
      const json = JSON.stringify(r);
      cache.set(key, json);
      send(res, 200, json.slice(0, -1) + ',"cached":false}');
    }, (e) => sendError(res, 500, 'internal', String(e && e.message ? e.message : e)));
  });
  server.keepAliveTimeout = 30000;
  server.on('error', (e) => {
    process.stderr.write(`peer_server: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));
  return 0;
}

const rc = main(process.argv.slice(2));
if (rc !== 0) process.exitCode = rc;
