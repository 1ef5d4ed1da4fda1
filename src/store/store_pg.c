/*
 * store_pg.c - the PostgreSQL backend of the server's store (store.h,
 * store_impl.h), through libpq: one database shared by any number of
 * servers and workers on any machines.
 *
 * Tables (they mirror the SQLite backend's, with PostgreSQL types):
 *   bouncecheck_meta(k, v)  schema_version = 11; keys_version, a counter
 *                           bumped in the same statement as every key
 *                           insert or revoke (st_store_version)
 *   keys      id, hash bytea (SHA-256 of the secret), name, created_at,
 *             revoked_at (unix seconds, bigint), rate double precision,
 *             daily bigint, admin boolean, seq (insertion order)
 *   usage     verifications per key and UTC day
 *   jobs      the job catalogue (counts by bc_verdict_status, reasons as
 *             the JSON object's text), seq (insertion order)
 *   cache     result JSON of single verifications, with an expiry
 *   job_chunks  (schema 11) the rows of jobs shared by workers, written
 *             once, packed: per (job, domain) pair, runs of the pair's
 *             rows by dseq (a row's place among its pair's rows: 0, 1,
 *             2, ...) [lo, hi), up to PUBLISH_CHUNK each, as parallel
 *             arrays: row_nos, weights (rows of the job a row stands for;
 *             counts sum them), addrs, fields (opaque bytea); no foreign
 *             key: deleted with the job by Q_JOB_DELETE
 *   job_res   (schema 11) one row per batch of results written: its job,
 *             pair, claim and holder, collected (copied by the job's
 *             coordinator), and per row done (parallel arrays): row_no,
 *             dseq, status, reason, result (JSON text), attempt (1 for a
 *             row's first claim), weight, address and fields
 *   job_rows, job_results  views of job_chunks and job_res, one row per
 *             row (the columns of the tables of schema 9 and 10), for
 *             reading only
 *   workers   (schema 3) id, name, host, addrs, started_at, last_seen (ms)
 *   domain_facts  (schema 5) per domain: mx_host (lower case; NULL
 *             unknown), accept_all (NULL unknown, 0, 1), accept_all_at,
 *             updated_at (unix ms)
 *   job_domains   (schema 9) per (job, domain) pair: the claim cursor
 *             next_dseq and end_dseq (the dseq its next row will get);
 *             rows at or past the cursor were never claimed; deleted with
 *             its job
 *   host_slots    (schema 6) the host gate: (host address, slot) with
 *             holder and until (unix ms); a slot past its until is free
 *   host_limits   (schema 6) per host address: rcpt_cap, txn_cap (0:
 *             none shown), updated_at
 *   job_files     (schema 7) the files of jobs (the state made from an
 *             upload) in chunks of 1 MiB: job_id, name, seq, data bytea,
 *             stored_at (unix seconds); deleted with the job by the server
 *             (no foreign key: stored before the job is created)
 *   job_coord     (schema 7) per job, the node that coordinates it: holder,
 *             lease_until (unix ms); deleted with its job
 *   job_counts    (schema 8) per job, the weight of its open rows (state
 *             0) and of its done rows by status (state 2): moved by the
 *             statements that add rows and write results, so that the
 *             coordinator's counts every second read a few rows; since 9
 *             in 16 parts (part: the writing backend's pid modulo 16, so
 *             that writers at once do not queue on one row), summed when
 *             read
 *   job_claims    (schema 8; ranges since 9) one entry per range of dseq
 *             [lo, hi) of one pair a claim took: claim_id, holder, lease,
 *             attempt, and the rows of the range without a result
 *             (open_rows) and their weight, and (11) the dseqs of the
 *             range with a result (done); a claim has one entry per
 *             range (primary key (claim_id, lo)). Entries stay when their
 *             rows are done (open_rows 0: a repeated result is told from
 *             a lost one), until the job is deleted.
 *
 * (Below, "job_rows" and "job_results" stand for the rows and results of
 * schema 11's chunks and batches.)
 *
 * Nothing updates a row of job_rows (schema 9: before, each row was
 * updated by its claim and by its result, each time with its index
 * entries, and triggers compared the rows before and after). Claiming is
 * one call of bc_claim (one statement, one round trip): for each job
 * queued or running, oldest first, the pairs with ranges to take over
 * (claims whose lease ran out, or given back by st_rows_release), then
 * the pairs whose cursor has rows left (a partial index of job_domains
 * holds only those: the walk does not pass over the pairs done); pairs
 * whose politeness key (the MX host of the domain's facts, else the
 * domain) a live claim holds come last (non-exclusive) or never
 * (ST_CLAIM_EXCLUSIVE). bc_take then takes up to max_rows rows without a
 * result of the pair: the ranges to take over first (one with more rows
 * than wanted is split, the rest staying with its old claim), then from
 * the cursor, which moves past them; each range taken becomes an entry
 * of the new claim. Ranges and cursors are locked FOR UPDATE SKIP LOCKED,
 * so two claimers never take the same rows. With ST_CLAIM_EXCLUSIVE a
 * pair is tried only under pg_try_advisory_xact_lock on a hash of its key
 * (not obtained: another process is claiming a domain of that key right
 * now, the pair is skipped) and when a query made after the lock (its own
 * snapshot) finds no live claim of the key; the call's commit releases
 * the lock. Every exclusive claimer of a key passes through its lock, so
 * the check and the claim are one step for all of them. (Facts that
 * change the key of a domain while it is being claimed can let one claim
 * through beside another of the new key: keys are read when claiming,
 * not fixed.) A result is an INSERT into job_results, in one statement
 * per batch that first locks the claim's entries (a takeover of them
 * waits, or passes them over) and checks each row is in one of its
 * ranges; the claim's and the job's counters move by what was inserted.
 *
 * Migrations: migrations[v] takes the schema from version v to v + 1; a
 * fresh database runs them all. They run on open in one transaction that
 * first takes a transaction-level advisory lock, so processes starting at
 * once migrate one after the other; a database of a newer version is
 * refused.
 *
 * One connection guarded by a mutex; every statement is prepared once per
 * connection and run with parameters (no SQL is ever built from data). A
 * connection found broken is reset (and its statements prepared again);
 * a statement that met the break is run again when that is harmless
 * (retryable[]), else its call fails.
 */
#include "store_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

/* pg_advisory_xact_lock key of the migrations: "bcmigr" in ASCII. */
#define MIGRATION_LOCK "108278662571890"

enum {
    Q_VERSION,
    Q_KEY_INSERT,
    Q_KEY_LIST,
    Q_KEY_REVOKE,
    Q_KEY_FIND,
    Q_KEY_COUNT,
    Q_USAGE_ADD,
    Q_USAGE_GET,
    Q_JOB_INSERT,
    Q_JOB_GET,
    Q_JOB_PROGRESS,
    Q_JOB_STATUS,
    Q_JOB_WEBHOOK,
    Q_JOB_LIST_ALL,
    Q_JOB_LIST_KEY,
    Q_JOB_LIST_STATUS,
    Q_JOB_EXPIRED,
    Q_JOB_DELETE,
    Q_JOB_REASONS,
    Q_CACHE_GET,
    Q_CACHE_PUT,
    Q_CACHE_PURGE,
    Q_JOB_EXISTS,
    Q_ROWS_CLAIM,
    Q_ROWS_RENEW,
    Q_ROWS_RESULT_BATCH,
    Q_ROWS_RELEASE,
    Q_ROWS_COUNTS,
    Q_ROWS_PAGE,
    Q_WORKER_PUT,
    Q_WORKER_SEEN,
    Q_WORKER_LIST,
    Q_CLAIMS_LIST,
    Q_QUEUE_LIST,
    Q_WORKER_DELETE,
    Q_FACTS_GET,
    Q_FACTS_PUT,
    Q_SLOT_TAKE,
    Q_SLOT_GIVE,
    Q_HOSTLIM_PUT,
    Q_ROWS_PAIRS,
    Q_ROWS_EXISTING,
    Q_ROWS_PUBLISHED,
    Q_ROWS_NEW_RESULTS,
    Q_ROWS_CHUNKS,
    Q_ROWS_COLLECTED,
    Q__COUNT
};

#define KEY_COLS "id, name, created_at, revoked_at, rate, daily, admin"

#define JOB_COLS                                                            \
    "id, key_id, name, status, total, processed, n_unknown, n_deliverable," \
    " n_undeliverable, n_risky, created_at, finished_at, error, webhook,"   \
    " webhook_state, format, reasons"

static const char *const sql_text[Q__COUNT] = {
    [Q_VERSION] = "SELECT v FROM bouncecheck_meta WHERE k = 'keys_version'",
    [Q_KEY_INSERT] = "WITH i AS (INSERT INTO keys(id, hash, name, created_at, revoked_at, rate, daily, admin)"
                     " VALUES ($1, $2, $3, $4, 0, $5, $6, $7) RETURNING 1)"
                     " UPDATE bouncecheck_meta SET v = v + 1"
                     " WHERE k = 'keys_version' AND EXISTS (SELECT 1 FROM i)",
    [Q_KEY_LIST] = "SELECT " KEY_COLS " FROM keys ORDER BY created_at, seq",
    [Q_KEY_REVOKE] = "WITH r AS (UPDATE keys SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0 RETURNING 1),"
                     " b AS (UPDATE bouncecheck_meta SET v = v + 1"
                     " WHERE k = 'keys_version' AND EXISTS (SELECT 1 FROM r) RETURNING 1)"
                     " SELECT (SELECT count(*) FROM b), EXISTS (SELECT 1 FROM keys WHERE id = $1)",
    [Q_KEY_FIND] = "SELECT " KEY_COLS " FROM keys WHERE hash = $1",
    [Q_KEY_COUNT] = "SELECT count(*) FROM keys",
    [Q_USAGE_ADD] = "INSERT INTO usage(key_id, day, n) VALUES ($1, $2, $3)"
                    " ON CONFLICT (key_id, day) DO UPDATE SET n = usage.n + excluded.n RETURNING n",
    [Q_USAGE_GET] = "SELECT n FROM usage WHERE key_id = $1 AND day = $2",
    [Q_JOB_INSERT] = "INSERT INTO jobs(" JOB_COLS ") VALUES"
                     " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    [Q_JOB_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = $1",
    [Q_JOB_PROGRESS] = "UPDATE jobs SET processed = $2, n_unknown = $3, n_deliverable = $4,"
                       " n_undeliverable = $5, n_risky = $6 WHERE id = $1",
    [Q_JOB_STATUS] = "UPDATE jobs SET status = $2,"
                     " finished_at = CASE WHEN $3::bigint > 0 THEN $3::bigint ELSE finished_at END,"
                     " error = $4 WHERE id = $1",
    [Q_JOB_WEBHOOK] = "UPDATE jobs SET webhook_state = $2 WHERE id = $1",
    [Q_JOB_LIST_ALL] = "SELECT " JOB_COLS " FROM jobs ORDER BY created_at DESC, seq DESC",
    [Q_JOB_LIST_KEY] = "SELECT " JOB_COLS " FROM jobs WHERE key_id = $1 ORDER BY created_at DESC, seq DESC",
    [Q_JOB_LIST_STATUS] = "SELECT " JOB_COLS " FROM jobs WHERE status = $1 ORDER BY created_at, seq",
    [Q_JOB_EXPIRED] = "SELECT id FROM jobs WHERE created_at < $1 ORDER BY created_at, seq",
    /* (job_chunks and job_res have no foreign key: a check per row
     * written; the job's rows and results go with it here) */
    [Q_JOB_DELETE] = "WITH a AS (DELETE FROM job_chunks WHERE job_id = $1),"
                     " b AS (DELETE FROM job_res WHERE job_id = $1) DELETE FROM jobs WHERE id = $1",
    [Q_JOB_REASONS] = "UPDATE jobs SET reasons = $2 WHERE id = $1",
    [Q_CACHE_GET] = "SELECT json FROM cache WHERE addr = $1 AND expires > $2",
    [Q_CACHE_PUT] = "INSERT INTO cache(addr, json, expires) VALUES ($1, $2, $3)"
                    " ON CONFLICT (addr) DO UPDATE SET json = excluded.json, expires = excluded.expires",
    [Q_CACHE_PURGE] = "DELETE FROM cache WHERE expires <= $1",
    [Q_JOB_EXISTS] = "SELECT 1 FROM jobs WHERE id = $1",
    /* a claim (bc_claim, schema 9): $1 holder, $2 claim id, $3 lease, $4
     * now, $5 rows at most, $6 exclusive */
    [Q_ROWS_CLAIM] = "SELECT job_id, domain, row_no, addr, fields FROM bc_claim($1, $2, $3, $4, $5, $6)",
    [Q_ROWS_RENEW] = "WITH u AS (UPDATE job_claims SET lease_until = $2 WHERE claim_id = $1 AND open_rows > 0"
                     " AND holder IS NOT NULL RETURNING open_rows) SELECT coalesce(sum(open_rows), 0) FROM u",
    /* a batch of results of claim $1 in one statement: $2 row numbers
     * (distinct), $3 statuses, $4 reasons, $5 results (binary arrays of
     * the same length); one row per entry, in their order, with its
     * answer: 1 written, 0 done already through this claim, 2 not held.
     * The claim's entry is locked first (a takeover waits, or passes it
     * over), each row is checked to be in the claim's range, the results
     * are inserted (one per row: the primary key) and the claim's and the
     * job's counters move by what was inserted (bc_results, schema 10). */
    [Q_ROWS_RESULT_BATCH] = "SELECT i, rc FROM bc_results($1, $2, $3, $4, $5)",
    [Q_ROWS_RELEASE] = "WITH u AS (UPDATE job_claims SET holder = NULL, lease_until = 0 WHERE claim_id = $1"
                       " AND open_rows > 0 AND holder IS NOT NULL RETURNING open_rows)"
                       " SELECT coalesce(sum(open_rows), 0) FROM u",
    /* the counters job_counts keeps (schema 6), not a scan of the rows */
    /* (state, status, rows) of job $1: the counters of job_counts, the
     * open rows split into the claimed weight of its claims (job_claims)
     * and the rest, pending; no scan of the rows */
    [Q_ROWS_COUNTS] = "WITH k AS (SELECT coalesce(sum(open_weight), 0) AS w FROM job_claims WHERE job_id = $1"
                      " AND open_rows > 0 AND holder IS NOT NULL)"
                      " SELECT state, status, sum(n) - CASE WHEN state = 0 THEN (SELECT w FROM k) ELSE 0 END"
                      " FROM job_counts WHERE job_id = $1 GROUP BY state, status HAVING sum(n) <> 0"
                      " UNION ALL SELECT 1, -1, w FROM k WHERE w <> 0",
    /* live claims (job_claims): by holder then lease */
    [Q_CLAIMS_LIST] = "SELECT claim_id, min(job_id), coalesce(min(holder), ''), min(domain), sum(open_rows),"
                      " max(lease_until) FROM job_claims WHERE open_rows > 0 AND lease_until > $1"
                      " AND holder IS NOT NULL GROUP BY claim_id ORDER BY 3, 6, 1",
    /* the counts of every queued or running job with rows, oldest first
     * (one row per job, state and status, as Q_ROWS_COUNTS; a job's rows
     * are adjacent) */
    [Q_QUEUE_LIST] = "WITH k AS (SELECT job_id, sum(open_weight) AS w FROM job_claims"
                     " WHERE open_rows > 0 AND holder IS NOT NULL GROUP BY job_id),"
                     " c AS (SELECT jc.job_id, jc.state, jc.status,"
                     " jc.n - CASE WHEN jc.state = 0 THEN coalesce(k.w, 0) ELSE 0 END AS n"
                     " FROM (SELECT job_id, state, status, sum(n) AS n FROM job_counts GROUP BY 1, 2, 3) jc"
                     " LEFT JOIN k ON k.job_id = jc.job_id"
                     " UNION ALL SELECT job_id, 1, -1, w FROM k)"
                     " SELECT j.id, j.status, j.created_at, c.state, c.status, c.n"
                     " FROM jobs j JOIN c ON c.job_id = j.id WHERE j.status IN (0, 1) AND c.n <> 0"
                     " ORDER BY j.created_at, j.seq, j.id",
    /* a page of results (schema 11): the rows of up to $3 batches of job
     * $1 after batch $2, in the order they were written, with the batch */
    [Q_ROWS_PAGE] = "SELECT b.seq, u.row_no, u.addr, u.fields, u.status, u.reason, u.result FROM (SELECT * FROM"
                    " job_res WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) b CROSS JOIN LATERAL"
                    " unnest(b.row_nos, b.addrs, b.fields, b.statuses, b.reasons, b.results) WITH ORDINALITY"
                    " AS u(row_no, addr, fields, status, reason, result, k) ORDER BY b.seq, u.k",
    [Q_WORKER_PUT] = "INSERT INTO workers(id, name, host, addrs, started_at, last_seen)"
                     " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                     " host = excluded.host, addrs = excluded.addrs, started_at = excluded.started_at,"
                     " last_seen = excluded.last_seen",
    [Q_WORKER_SEEN] = "UPDATE workers SET last_seen = $2 WHERE id = $1",
    [Q_WORKER_LIST] = "SELECT id, name, host, addrs, started_at, last_seen FROM workers ORDER BY started_at, id",
    [Q_WORKER_DELETE] = "DELETE FROM workers WHERE id = $1",
    [Q_FACTS_GET] = "SELECT coalesce(mx_host, ''), coalesce(accept_all, -1), accept_all_at, updated_at"
                    " FROM domain_facts WHERE domain = $1",
    /* $2 NULL keeps mx_host; $3 < 0 keeps accept_all and accept_all_at */
    [Q_FACTS_PUT] =
        "INSERT INTO domain_facts(domain, mx_host, accept_all, accept_all_at, updated_at)"
        " VALUES ($1, $2, CASE WHEN $3::int >= 0 THEN $3::smallint END,"
        " CASE WHEN $3::int >= 0 THEN $4::bigint ELSE 0 END, $5)"
        " ON CONFLICT (domain) DO UPDATE SET mx_host = coalesce(excluded.mx_host, domain_facts.mx_host),"
        " accept_all = coalesce(excluded.accept_all, domain_facts.accept_all),"
        " accept_all_at = CASE WHEN excluded.accept_all IS NULL THEN domain_facts.accept_all_at"
        " ELSE excluded.accept_all_at END, updated_at = excluded.updated_at",
    /* A connection slot of host $1 for holder $2, of at most $3 live ones,
     * until $4 (now $5): the lowest slot number free or expired. Two
     * takers of one slot meet at its primary key: the second waits for the
     * first to commit, then finds it live and takes nothing. With the
     * slot: the host's learned limits younger than $6. */
    [Q_SLOT_TAKE] = "WITH want AS (SELECT n FROM generate_series(0, $3::int - 1) n"
                    " WHERE NOT EXISTS (SELECT 1 FROM host_slots h WHERE h.host = $1 AND h.slot = n"
                    " AND h.until > $5) ORDER BY n LIMIT 1),"
                    " t AS (INSERT INTO host_slots(host, slot, holder, until) SELECT $1, n, $2, $4 FROM want"
                    " ON CONFLICT (host, slot) DO UPDATE SET holder = excluded.holder, until = excluded.until"
                    " WHERE host_slots.until <= $5 RETURNING slot)"
                    " SELECT t.slot, coalesce(l.rcpt_cap, 0), coalesce(l.txn_cap, 0) FROM t"
                    " LEFT JOIN host_limits l ON l.host = $1 AND l.updated_at > $6",
    [Q_SLOT_GIVE] = "DELETE FROM host_slots WHERE host = $1 AND slot = $2 AND holder = $3",
    /* limits only go down (0: none known), and start afresh once old */
    [Q_HOSTLIM_PUT] = "INSERT INTO host_limits(host, rcpt_cap, txn_cap, updated_at) VALUES ($1, $2, $3, $4)"
                      " ON CONFLICT (host) DO UPDATE SET"
                      " rcpt_cap = CASE WHEN host_limits.updated_at <= $5 OR host_limits.rcpt_cap = 0"
                      " OR (excluded.rcpt_cap > 0 AND excluded.rcpt_cap < host_limits.rcpt_cap)"
                      " THEN excluded.rcpt_cap ELSE host_limits.rcpt_cap END,"
                      " txn_cap = CASE WHEN host_limits.updated_at <= $5 OR host_limits.txn_cap = 0"
                      " OR (excluded.txn_cap > 0 AND excluded.txn_cap < host_limits.txn_cap)"
                      " THEN excluded.txn_cap ELSE host_limits.txn_cap END,"
                      " updated_at = excluded.updated_at",
    /* st_rows_add (schema 10), one transaction per call: the job's
     * (job, domain) pairs of the rows, $2 (distinct), locked (created
     * when new): each pair's end (the next row's dseq) and the highest row
     * number it was given (NULL: not known, for pairs from before schema
     * 10); then the rows that may be there already (their numbers not
     * above that) looked for, $2; the rest goes in with COPY, then the
     * pairs' ends and highest rows, $2 $3 $4, and the job's open weight,
     * $5, move on */
    [Q_ROWS_PAIRS] = "INSERT INTO job_domains AS jd (job_id, domain, next_dseq, end_dseq, last_row)"
                     " SELECT $1, d, 0, 0, -1 FROM unnest($2::text[]) AS d ORDER BY d"
                     " ON CONFLICT (job_id, domain) DO UPDATE SET end_dseq = jd.end_dseq"
                     " RETURNING jd.domain, jd.end_dseq, jd.last_row",
    /* rows of $3 already in the chunks of job $1's pairs $2 */
    [Q_ROWS_EXISTING] = "SELECT u.r FROM job_chunks c CROSS JOIN LATERAL unnest(c.row_nos) AS u(r)"
                        " JOIN unnest($3::bigint[]) AS m(r) ON m.r = u.r"
                        " WHERE c.job_id = $1 AND c.domain = ANY ($2::text[])",
    /* the new rows of job $1 as chunks: per row its chunk $2, domain $3,
     * dseq $4, number $5, weight $6, address $7 and fields $8 */
    [Q_ROWS_CHUNKS] =
        "INSERT INTO job_chunks(job_id, domain, lo, hi, row_nos, weights, addrs, fields)"
        " SELECT $1, min(g.d), min(g.q), max(g.q) + 1, array_agg(g.r ORDER BY g.q),"
        " array_agg(g.w ORDER BY g.q), array_agg(g.a ORDER BY g.q), array_agg(g.f ORDER BY g.q)"
        " FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[],"
        " $8::bytea[]) AS g(c, d, q, r, w, a, f) GROUP BY g.c",
    [Q_ROWS_PUBLISHED] =
        "WITH u AS (UPDATE job_domains jd SET end_dseq = g.e, last_row = greatest(jd.last_row, g.l)"
        " FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS g(d, e, l)"
        " WHERE jd.job_id = $1 AND jd.domain = g.d)"
        " INSERT INTO job_counts(job_id, state, status, part, n) SELECT $1, 0, -1, pg_backend_pid() % 16, "
        "$5::bigint"
        " WHERE $5::bigint <> 0"
        " ON CONFLICT (job_id, state, status, part) DO UPDATE SET n = job_counts.n + excluded.n",
    /* the coordinator's collection while a job runs (schema 11): the
     * rows of up to $2 batches of results of job $1 it has not copied
     * yet, with their batch */
    [Q_ROWS_NEW_RESULTS] =
        "SELECT b.seq, u.row_no, u.addr, u.status, u.reason, u.result FROM (SELECT * FROM job_res"
        " WHERE job_id = $1 AND NOT collected ORDER BY seq LIMIT $2) b CROSS JOIN LATERAL"
        " unnest(b.row_nos, b.addrs, b.statuses, b.reasons, b.results)"
        " AS u(row_no, addr, status, reason, result) ORDER BY b.seq",
    /* the batches $1 copied */
    [Q_ROWS_COLLECTED] = "UPDATE job_res SET collected = true WHERE seq = ANY ($1::bigint[])",
};

/* Statements that may run twice with the same effect: run again once
 * when the connection broke under them (a restarted server, a killed
 * backend). The others (increments, inserts, deletes that report what
 * they did) fail instead: their first run may have committed. */
static const bool retryable[Q__COUNT] = {
    [Q_VERSION] = true,        [Q_KEY_LIST] = true,     [Q_KEY_FIND] = true,     [Q_KEY_COUNT] = true,
    [Q_USAGE_GET] = true,      [Q_JOB_GET] = true,      [Q_JOB_PROGRESS] = true, [Q_JOB_STATUS] = true,
    [Q_JOB_WEBHOOK] = true,    [Q_JOB_LIST_ALL] = true, [Q_JOB_LIST_KEY] = true, [Q_JOB_LIST_STATUS] = true,
    [Q_JOB_EXPIRED] = true,    [Q_JOB_REASONS] = true,  [Q_CACHE_GET] = true,    [Q_CACHE_PUT] = true,
    [Q_CACHE_PURGE] = true,    [Q_JOB_EXISTS] = true,   [Q_ROWS_RENEW] = true,   [Q_ROWS_RELEASE] = true,
    [Q_ROWS_COUNTS] = true,    [Q_ROWS_PAGE] = true,    [Q_WORKER_PUT] = true,   [Q_WORKER_SEEN] = true,
    [Q_WORKER_LIST] = true,    [Q_CLAIMS_LIST] = true,  [Q_QUEUE_LIST] = true,   [Q_FACTS_GET] = true,
    [Q_FACTS_PUT] = true,      [Q_SLOT_GIVE] = true,    [Q_HOSTLIM_PUT] = true,  [Q_ROWS_NEW_RESULTS] = true,
    [Q_ROWS_COLLECTED] = true,
};

/* Statements planned at every run (an unnamed statement, still with
 * parameters) instead of once per connection: a prepared statement's
 * generic plan, made from the statistics of its first runs (a job's rows
 * still few, or none), is kept while the job grows to millions of rows
 * (the claims' listing went from 1 ms to over 100 ms with one); a plan made
 * at each run sees the tables' current sizes. */
static const bool planned_each_time[Q__COUNT] = {
    [Q_ROWS_PAGE] = true,
};

/* migrations[v] takes the schema from version v to v + 1. Version 1 is
 * the first schema (the SQLite backend's version 1: no admin keys, no
 * reasons); a fresh database runs every step. Constant text only. */
static const char *const migrations[ST_SCHEMA_VERSION] = {
    [0] = "CREATE TABLE keys("
          " id text PRIMARY KEY, hash bytea NOT NULL UNIQUE, name text NOT NULL DEFAULT '',"
          " created_at bigint NOT NULL, revoked_at bigint NOT NULL DEFAULT 0,"
          " rate double precision NOT NULL DEFAULT 0, daily bigint NOT NULL DEFAULT 0,"
          " seq bigint GENERATED ALWAYS AS IDENTITY);"
          "CREATE TABLE usage("
          " key_id text NOT NULL, day text NOT NULL, n bigint NOT NULL, PRIMARY KEY (key_id, day));"
          "CREATE TABLE jobs("
          " id text PRIMARY KEY, key_id text NOT NULL DEFAULT '', name text,"
          " status integer NOT NULL, total bigint NOT NULL DEFAULT 0,"
          " processed bigint NOT NULL DEFAULT 0, n_unknown bigint NOT NULL DEFAULT 0,"
          " n_deliverable bigint NOT NULL DEFAULT 0, n_undeliverable bigint NOT NULL DEFAULT 0,"
          " n_risky bigint NOT NULL DEFAULT 0, created_at bigint NOT NULL,"
          " finished_at bigint NOT NULL DEFAULT 0, error text, webhook text,"
          " webhook_state integer NOT NULL DEFAULT 0, format text NOT NULL DEFAULT 'csv',"
          " seq bigint GENERATED ALWAYS AS IDENTITY);"
          "CREATE INDEX jobs_key ON jobs(key_id, created_at);"
          "CREATE INDEX jobs_status ON jobs(status, created_at);"
          "CREATE INDEX jobs_created ON jobs(created_at);"
          "CREATE TABLE cache(addr text PRIMARY KEY, json text NOT NULL, expires bigint NOT NULL);"
          "CREATE INDEX cache_expires ON cache(expires);",
    [1] = "ALTER TABLE keys ADD COLUMN admin boolean NOT NULL DEFAULT false;"
          "ALTER TABLE jobs ADD COLUMN reasons text NOT NULL DEFAULT '{}';"
          "INSERT INTO bouncecheck_meta(k, v) VALUES ('keys_version', 1) ON CONFLICT (k) DO NOTHING;",
    [2] = "CREATE TABLE job_rows("
          " job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, row_no bigint NOT NULL,"
          " addr text NOT NULL, domain text NOT NULL, fields bytea,"
          " state smallint NOT NULL DEFAULT 0, claim_id text, holder text,"
          " lease_until bigint NOT NULL DEFAULT 0, attempts integer NOT NULL DEFAULT 0,"
          " status smallint, reason text, result text,"
          " PRIMARY KEY (job_id, row_no));"
          "CREATE INDEX job_rows_claim ON job_rows(job_id, state, domain);"
          "CREATE INDEX job_rows_domain ON job_rows(domain, state);"
          "CREATE INDEX job_rows_claim_id ON job_rows(claim_id);"
          "CREATE TABLE workers("
          " id text PRIMARY KEY, name text NOT NULL DEFAULT '', host text NOT NULL DEFAULT '',"
          " addrs text NOT NULL DEFAULT '', started_at bigint NOT NULL, last_seen bigint NOT NULL);",
    /* weight: rows of the job a row stands for; the live claims' index
     * (st_claims_list) */
    [3] = "ALTER TABLE job_rows ADD COLUMN weight bigint NOT NULL DEFAULT 1;"
          "CREATE INDEX job_rows_live ON job_rows(lease_until) WHERE state = 1;",
    /* domain facts; job_domains, the pairs with open rows, kept by the
     * triggers (filled here from the rows there are); job_rows_open, the
     * open rows of a pair in row order, replaces job_rows_claim and
     * job_rows_domain (nothing reads them any more). Rows are
     * added by multi-row INSERTs: one statement-level trigger per INSERT;
     * they are done one UPDATE each: a row-level trigger, only for those. */
    [4] = "CREATE TABLE domain_facts("
          " domain text PRIMARY KEY, mx_host text, accept_all smallint,"
          " accept_all_at bigint NOT NULL DEFAULT 0, updated_at bigint NOT NULL);"
          "CREATE TABLE job_domains("
          " job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, domain text NOT NULL,"
          " open_rows bigint NOT NULL, PRIMARY KEY (job_id, domain));"
          "INSERT INTO job_domains(job_id, domain, open_rows)"
          " SELECT job_id, domain, count(*) FROM job_rows WHERE state < 2 GROUP BY job_id, domain;"
          "DROP INDEX job_rows_claim;"
          "DROP INDEX job_rows_domain;"
          "CREATE INDEX job_rows_open ON job_rows(job_id, domain, row_no) WHERE state < 2;"
          "CREATE FUNCTION bc_job_rows_added() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
          " INSERT INTO job_domains(job_id, domain, open_rows)"
          " SELECT job_id, domain, count(*) FROM bc_added WHERE state < 2 GROUP BY job_id, domain"
          " ORDER BY job_id, domain"
          " ON CONFLICT (job_id, domain) DO UPDATE SET open_rows = job_domains.open_rows + excluded.open_rows;"
          " RETURN NULL; END $f$;"
          "CREATE TRIGGER job_rows_added AFTER INSERT ON job_rows REFERENCING NEW TABLE AS bc_added"
          " FOR EACH STATEMENT EXECUTE FUNCTION bc_job_rows_added();"
          "CREATE FUNCTION bc_job_row_done() RETURNS trigger LANGUAGE plpgsql AS $f$"
          " DECLARE left_open bigint; BEGIN"
          " UPDATE job_domains SET open_rows = open_rows - 1 WHERE job_id = NEW.job_id AND domain = NEW.domain"
          " RETURNING open_rows INTO left_open;"
          " IF left_open <= 0 THEN"
          " DELETE FROM job_domains WHERE job_id = NEW.job_id AND domain = NEW.domain AND open_rows <= 0;"
          " END IF; RETURN NULL; END $f$;"
          "CREATE TRIGGER job_row_done AFTER UPDATE OF state ON job_rows FOR EACH ROW"
          " WHEN (OLD.state < 2 AND NEW.state >= 2) EXECUTE FUNCTION bc_job_row_done();",
    /* the host gate: connection slots per MX address over every process
     * (st_host_slot_take), and the limits the hosts showed */
    [5] = "CREATE TABLE host_slots("
          " host text NOT NULL, slot integer NOT NULL, holder text NOT NULL, until bigint NOT NULL,"
          " PRIMARY KEY (host, slot));"
          "CREATE TABLE host_limits("
          " host text PRIMARY KEY, rcpt_cap integer NOT NULL DEFAULT 0, txn_cap integer NOT NULL DEFAULT 0,"
          " updated_at bigint NOT NULL);",
    /* API nodes sharing the database: a job's files in chunks (no foreign
     * key: a file is stored before its job is created, so that the job
     * never exists without it), and the lease of the node that
     * coordinates a job */
    [6] = "CREATE TABLE job_files("
          " job_id text NOT NULL, name text NOT NULL, seq integer NOT NULL, data bytea NOT NULL,"
          " stored_at bigint NOT NULL, PRIMARY KEY (job_id, name, seq));"
          "CREATE TABLE job_coord("
          " job_id text PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE, holder text NOT NULL,"
          " lease_until bigint NOT NULL);",
    /* job_counts: the rows of each job, open (state 0: pending or claimed)
     * or done by status (state 2), weights summed, for st_rows_counts and
     * st_queue_list without reading the rows; job_claims: one entry per
     * claim holding rows (how many and their weight, its holder and
     * lease), for the live claims' politeness keys and the claimed part of
     * the counts without reading the claimed rows. Both filled here from
     * the rows there are and kept by the triggers: rows added, the
     * INSERT's statement-level trigger (now also counting); rows changed
     * (claimed, renewed, given back, done), one statement-level trigger per
     * UPDATE that compares the rows before and after (transition tables)
     * and replaces the row-level trigger of job_domains: a batch of
     * results is one UPDATE and one trigger call, and a claim does not
     * touch the job's counters (which every result of every worker
     * writes). job_rows_live is dropped (job_claims answers for the live
     * claims: renewals no longer change an index), and job_rows_claim_id
     * leaves out rows never claimed (most rows, while a job is published).
     * bc_claim_key: an exclusive claim in one statement (one round trip):
     * the key's advisory lock, then, in a statement of its own (a snapshot
     * taken after the lock), the claim; the lock is released when the
     * calling statement commits. */
    [7] = "CREATE TABLE job_counts("
          " job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, state smallint NOT NULL,"
          " status smallint NOT NULL, n bigint NOT NULL, PRIMARY KEY (job_id, state, status));"
          "INSERT INTO job_counts(job_id, state, status, n)"
          " SELECT job_id, CASE WHEN state < 2 THEN 0 ELSE state END, coalesce(status, -1), sum(weight)"
          " FROM job_rows GROUP BY 1, 2, 3;"
          "CREATE TABLE job_claims("
          " claim_id text PRIMARY KEY, job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
          " domain text NOT NULL, holder text, open_rows bigint NOT NULL, open_weight bigint NOT NULL,"
          " lease_until bigint NOT NULL);"
          "CREATE INDEX job_claims_job ON job_claims(job_id);"
          "INSERT INTO job_claims(claim_id, job_id, domain, holder, open_rows, open_weight, lease_until)"
          " SELECT claim_id, min(job_id), min(domain), min(holder), count(*), sum(weight), max(lease_until)"
          " FROM job_rows WHERE state = 1 AND claim_id IS NOT NULL GROUP BY claim_id;"
          "DROP INDEX job_rows_live;"
          "DROP INDEX job_rows_claim_id;"
          "CREATE INDEX job_rows_claim_id ON job_rows(claim_id, row_no) WHERE claim_id IS NOT NULL;"
          "CREATE OR REPLACE FUNCTION bc_job_rows_added() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
          " INSERT INTO job_domains(job_id, domain, open_rows)"
          " SELECT job_id, domain, count(*) FROM bc_added WHERE state < 2 GROUP BY job_id, domain"
          " ORDER BY job_id, domain"
          " ON CONFLICT (job_id, domain) DO UPDATE SET open_rows = job_domains.open_rows + excluded.open_rows;"
          " INSERT INTO job_counts(job_id, state, status, n)"
          " SELECT job_id, CASE WHEN state < 2 THEN 0 ELSE state END, coalesce(status, -1), sum(weight)"
          " FROM bc_added GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
          " ON CONFLICT (job_id, state, status) DO UPDATE SET n = job_counts.n + excluded.n;"
          /* rows added already claimed (st_rows_add adds none: by hand) */
          " IF EXISTS (SELECT 1 FROM bc_added WHERE state = 1 AND claim_id IS NOT NULL) THEN"
          "  INSERT INTO job_claims(claim_id, job_id, domain, holder, open_rows, open_weight, lease_until)"
          "  SELECT claim_id, min(job_id), min(domain), min(holder), count(*), sum(weight), max(lease_until)"
          "  FROM bc_added WHERE state = 1 AND claim_id IS NOT NULL GROUP BY 1 ORDER BY 1"
          "  ON CONFLICT (claim_id) DO UPDATE SET open_rows = job_claims.open_rows + excluded.open_rows,"
          "   open_weight = job_claims.open_weight + excluded.open_weight,"
          "   lease_until = greatest(job_claims.lease_until, excluded.lease_until);"
          " END IF;"
          " RETURN NULL; END $f$;",
    /* Rows written once, claims as ranges (schema 9): a job's rows are
     * inserted and never updated. Each row gets dseq, its place among the
     * job's rows of its domain; job_domains keeps per (job, domain) the
     * claim cursor next_dseq and the end end_dseq; a claim is a range
     * [lo, hi) of one pair's dseq in job_claims; a result is a row of
     * job_results (its primary key: one result per row). Claiming moves a
     * cursor or takes over a claim whose lease ran out; writing results
     * inserts rows and moves the counters of the claim and the job: no
     * row of job_rows is updated, no trigger runs. The old triggers,
     * functions and row-state columns go; results written so far move to
     * job_results; live claims are dropped (their rows are claimable again
     * at once: a worker of the old version cannot write through them). */
    [8] =
        "DROP TRIGGER job_rows_added ON job_rows;"
        "DROP TRIGGER job_rows_changed ON job_rows;"
        "DROP FUNCTION bc_job_rows_added();"
        "DROP FUNCTION bc_job_rows_changed();"
        "DROP FUNCTION bc_claim_key(text, text, text, text, text, bigint, bigint, bigint);"
        "CREATE TABLE job_results("
        " job_id text NOT NULL, row_no bigint NOT NULL, status smallint NOT NULL, reason text, result text,"
        " claim_id text NOT NULL, holder text, attempt integer NOT NULL, weight bigint NOT NULL,"
        " PRIMARY KEY (job_id, row_no));"
        "INSERT INTO job_results(job_id, row_no, status, reason, result, claim_id, holder, attempt, weight)"
        " SELECT job_id, row_no, coalesce(status, 0), reason, result, coalesce(claim_id, ''), holder,"
        " greatest(attempts, 1), weight FROM job_rows WHERE state = 2;"
        "ALTER TABLE job_rows ADD COLUMN dseq bigint;"
        "UPDATE job_rows r SET dseq = x.n FROM (SELECT job_id, row_no,"
        " row_number() OVER (PARTITION BY job_id, domain ORDER BY row_no) - 1 AS n FROM job_rows) x"
        " WHERE r.job_id = x.job_id AND r.row_no = x.row_no;"
        "ALTER TABLE job_rows ALTER COLUMN dseq SET NOT NULL;"
        "ALTER TABLE job_rows DROP CONSTRAINT job_rows_job_id_fkey;"
        "ALTER TABLE job_rows DROP COLUMN state, DROP COLUMN claim_id, DROP COLUMN holder,"
        " DROP COLUMN lease_until, DROP COLUMN attempts, DROP COLUMN status, DROP COLUMN reason,"
        " DROP COLUMN result;"
        "CREATE INDEX job_rows_dseq ON job_rows(job_id, domain, dseq);"
        "DROP TABLE job_domains;"
        "CREATE TABLE job_domains("
        " job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, domain text NOT NULL,"
        " next_dseq bigint NOT NULL DEFAULT 0, end_dseq bigint NOT NULL, PRIMARY KEY (job_id, domain));"
        "CREATE INDEX job_domains_open ON job_domains(job_id, domain) WHERE next_dseq < end_dseq;"
        "INSERT INTO job_domains(job_id, domain, next_dseq, end_dseq)"
        " SELECT job_id, domain, CASE WHEN bool_and(done) THEN max(dseq) + 1 ELSE 0 END, max(dseq) + 1"
        " FROM (SELECT r.job_id, r.domain, r.dseq, EXISTS (SELECT 1 FROM job_results x"
        " WHERE x.job_id = r.job_id AND x.row_no = r.row_no) AS done FROM job_rows r) y GROUP BY 1, 2;"
        "DELETE FROM job_claims;"
        "ALTER TABLE job_claims ADD COLUMN lo bigint NOT NULL DEFAULT 0, ADD COLUMN hi bigint NOT NULL DEFAULT 0,"
        " ADD COLUMN attempt integer NOT NULL DEFAULT 1, DROP CONSTRAINT job_claims_pkey,"
        " ADD PRIMARY KEY (claim_id, lo);"
        "CREATE INDEX job_claims_open ON job_claims(job_id, lease_until) WHERE open_rows > 0;"
        /* a job's counters in 16 parts (the writer's backend's pid modulo
         * 16): writers of results at once move different rows, instead of
         * each waiting for the others' commits; readers sum the parts */
        "ALTER TABLE job_counts ADD COLUMN part smallint NOT NULL DEFAULT 0, DROP CONSTRAINT job_counts_pkey,"
        " ADD PRIMARY KEY (job_id, state, status, part);",
    /* st_rows_add by COPY: each pair keeps the highest row number it was
     * given (NULL for the pairs of older versions: their rows are looked
     * for); the coordinator copies results while the job runs, claim entry
     * by claim entry once every row of one has its result */
    [9] =
        "ALTER TABLE job_domains ADD COLUMN last_row bigint;"
        "ALTER TABLE job_claims ADD COLUMN collected boolean NOT NULL DEFAULT false;"
        "CREATE INDEX job_claims_uncollected ON job_claims(job_id) WHERE open_rows = 0 AND NOT collected;"
        /* a claim's statements planned once per connection instead of
           * at each call (planning was about a quarter of PostgreSQL's
           * time), with plans that cannot read a whole table however
           * small the tables were when they were made: scans only through
           * indexes, joins only as probes */
        "ALTER FUNCTION bc_take(text, text, text, text, bigint, bigint, bigint) SET plan_cache_mode ="
        " force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;"
        "ALTER FUNCTION bc_claim(text, text, bigint, bigint, bigint, boolean) SET plan_cache_mode ="
        " force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;"
        /* bc_claim's exclusive check: the key's lock, then (a statement
           * of its own, so a snapshot taken once the lock is held) whether
           * a live claim holds the key. As one expression, the check read
           * the snapshot taken before the lock: a claim committed by the
           * lock's last holder in between was not seen, and two claims of
           * one MX host overlapped (2 of 160 in a loaded test run). The
           * statement is rewritten in the stored definition, which must
           * hold it once. */
        "DO $d$ DECLARE def text := pg_get_functiondef("
        "'bc_claim(text, text, bigint, bigint, bigint, boolean)'::regprocedure);"
        " old text := 'CONTINUE WHEN p_excl AND (NOT pg_try_advisory_xact_lock(hashtextextended(''bc-domain:''"
        " || k, 0))    OR bc_key_busy(k, p_now));'; BEGIN"
        " IF (length(def) - length(replace(def, old, ''))) / length(old) <> 1 THEN"
        "  RAISE EXCEPTION 'bc_claim: the exclusive check is not as expected'; END IF;"
        " EXECUTE replace(def, old, 'CONTINUE WHEN p_excl AND NOT pg_try_advisory_xact_lock(hashtextextended("
        "''bc-domain:'' || k, 0)); CONTINUE WHEN p_excl AND bc_key_busy(k, p_now);'); END $d$;", /* 11: a job's rows and results packed (issue 20: a million-row job
     * was a million rows written to job_rows with two index entries each,
     * a million more to job_results, and each read back by a probe per
     * row). job_chunks holds a pair's rows by runs of dseq [lo, hi) (up to
     * PUBLISH_CHUNK rows, one per st_rows_add call and pair at least) as
     * parallel arrays; job_res one batch of results as written by one
     * call (arrays again: row, dseq, status, reason, result, attempt,
     * weight, and the row's address and fields, so that reading results
     * needs no lookup of the rows), collected by the coordinator batch by
     * batch (collected); a claim entry keeps the dseqs of its range that
     * have their result (done), which is what a takeover leaves out and
     * what tells a repeated result. job_rows and job_results become views
     * of the same columns as before, for reading. */
    [10] =
        "CREATE TABLE job_chunks(job_id text NOT NULL, domain text NOT NULL, lo bigint NOT NULL,"
        " hi bigint NOT NULL, row_nos bigint[] NOT NULL, weights bigint[] NOT NULL, addrs text[] NOT NULL,"
        " fields bytea[] NOT NULL, PRIMARY KEY (job_id, domain, lo));"
        "INSERT INTO job_chunks SELECT job_id, domain, min(dseq), max(dseq) + 1, array_agg(row_no ORDER BY dseq),"
        " array_agg(weight ORDER BY dseq), array_agg(addr ORDER BY dseq), array_agg(fields ORDER BY dseq)"
        " FROM job_rows GROUP BY job_id, domain, dseq / 100;"
        "CREATE TABLE job_res(seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, job_id text NOT NULL,"
        " domain text NOT NULL, claim_id text, holder text, collected boolean NOT NULL DEFAULT false,"
        " row_nos bigint[] NOT NULL, dseqs bigint[] NOT NULL, statuses smallint[] NOT NULL,"
        " reasons text[] NOT NULL, results text[] NOT NULL, attempts integer[] NOT NULL,"
        " weights bigint[] NOT NULL, addrs text[] NOT NULL, fields bytea[] NOT NULL);"
        "CREATE INDEX job_res_job ON job_res(job_id, seq);"
        "CREATE INDEX job_res_new ON job_res(job_id, seq) WHERE NOT collected;"
        "INSERT INTO job_res(job_id, domain, claim_id, holder, row_nos, dseqs, statuses, reasons, results,"
        " attempts, weights, addrs, fields) SELECT x.job_id, r.domain, x.claim_id, min(x.holder),"
        " array_agg(x.row_no ORDER BY x.row_no), array_agg(r.dseq ORDER BY x.row_no),"
        " array_agg(x.status ORDER BY x.row_no), array_agg(x.reason ORDER BY x.row_no),"
        " array_agg(x.result ORDER BY x.row_no), array_agg(x.attempt ORDER BY x.row_no),"
        " array_agg(x.weight ORDER BY x.row_no), array_agg(r.addr ORDER BY x.row_no),"
        " array_agg(r.fields ORDER BY x.row_no) FROM job_results x JOIN job_rows r ON r.job_id = x.job_id"
        " AND r.row_no = x.row_no GROUP BY x.job_id, r.domain, x.claim_id;"
        "ALTER TABLE job_claims ADD COLUMN done bigint[] NOT NULL DEFAULT '{}';"
        "UPDATE job_claims b SET done = d.ds FROM (SELECT e.claim_id, e.lo, array_agg(r.dseq ORDER BY r.dseq)"
        " AS ds FROM job_claims e JOIN job_rows r ON r.job_id = e.job_id AND r.domain = e.domain"
        " AND r.dseq >= e.lo AND r.dseq < e.hi JOIN job_results x ON x.job_id = r.job_id"
        " AND x.row_no = r.row_no GROUP BY 1, 2) d WHERE b.claim_id = d.claim_id AND b.lo = d.lo;"
        /* rows at or past a cursor with a result (a job of schema 8
            * or older: its cursor left at the first row without one) go
            * to a range given back, taken over like any */
        "INSERT INTO job_claims(claim_id, job_id, domain, holder, open_rows, open_weight, lease_until, lo, hi,"
        " attempt, done) SELECT md5(d.job_id || ':' || d.domain), d.job_id, d.domain, NULL,"
        " count(*) FILTER (WHERE x.row_no IS NULL), coalesce(sum(r.weight) FILTER (WHERE x.row_no IS NULL), 0),"
        " 0, d.next_dseq, d.end_dseq, 0, array_agg(r.dseq ORDER BY r.dseq) FILTER (WHERE x.row_no IS NOT NULL)"
        " FROM job_domains d JOIN job_rows r ON r.job_id = d.job_id AND r.domain = d.domain"
        " AND r.dseq >= d.next_dseq AND r.dseq < d.end_dseq LEFT JOIN job_results x ON x.job_id = r.job_id"
        " AND x.row_no = r.row_no GROUP BY d.job_id, d.domain, d.next_dseq, d.end_dseq"
        " HAVING count(x.row_no) > 0;"
        "UPDATE job_domains d SET next_dseq = d.end_dseq WHERE EXISTS (SELECT 1 FROM job_claims b"
        " WHERE b.claim_id = md5(d.job_id || ':' || d.domain) AND b.job_id = d.job_id);"
        "DROP TABLE job_rows;"
        "DROP TABLE job_results;"
        "DROP FUNCTION IF EXISTS bc_claim_key(text, text, text, text, text, bigint, bigint, bigint);"
        "CREATE VIEW job_rows AS SELECT c.job_id, u.row_no, u.addr, c.domain, u.fields, u.weight,"
        " c.lo + u.k - 1 AS dseq FROM job_chunks c CROSS JOIN LATERAL unnest(c.row_nos, c.addrs, c.fields,"
        " c.weights) WITH ORDINALITY AS u(row_no, addr, fields, weight, k);"
        "CREATE VIEW job_results AS SELECT r.job_id, u.row_no, u.status, u.reason, u.result, r.claim_id,"
        " r.holder, u.attempt, u.weight FROM job_res r CROSS JOIN LATERAL unnest(r.row_nos, r.statuses,"
        " r.reasons, r.results, r.attempts, r.weights) AS u(row_no, status, reason, result, attempt, weight);"
        /* results compressed with lz4 where the server has it (pglz
            * takes several times its CPU) */
        "DO $d$ BEGIN ALTER TABLE job_res ALTER COLUMN results SET COMPRESSION lz4;"
        " ALTER TABLE job_chunks ALTER COLUMN addrs SET COMPRESSION lz4;"
        " EXCEPTION WHEN OTHERS THEN NULL; END $d$;",
};

/* The rest of a step whose text is longer than one string literal may be
 * (C17: 4095 characters): run after migrations[v], in order, in the same
 * transaction. */
static const char *const migrations_more[ST_SCHEMA_VERSION][3] = {
    [5] = { "DROP TRIGGER job_row_done ON job_rows;"
            "DROP FUNCTION bc_job_row_done();"
            "CREATE FUNCTION bc_job_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $f$"
            " DECLARE gj text[]; gd text[]; gc text[]; BEGIN"
            /* rows done: out of their pair's open rows (a row never goes from
             * done back), and out of the open count into their status's. The
             * locks are taken in the INSERT trigger's order, job_domains then
             * job_counts: a job is still being published while its first rows
             * are done */
            " IF EXISTS (SELECT 1 FROM bc_new WHERE state >= 2) THEN"
            "  WITH x AS (SELECT n.job_id, n.domain, count(*) AS k"
            "   FROM bc_old o JOIN bc_new n ON n.job_id = o.job_id AND n.row_no = o.row_no"
            "   WHERE o.state < 2 AND n.state >= 2 GROUP BY 1, 2),"
            "  u AS (UPDATE job_domains jd SET open_rows = jd.open_rows - x.k FROM x"
            "   WHERE jd.job_id = x.job_id AND jd.domain = x.domain RETURNING jd.job_id, jd.domain, jd.open_rows)"
            "  SELECT array_agg(job_id), array_agg(domain) INTO gj, gd FROM u WHERE open_rows <= 0;"
            /* (a statement of its own: it sees the rows the UPDATE changed) */
            "  IF gj IS NOT NULL THEN DELETE FROM job_domains jd USING unnest(gj, gd) AS g(j, d)"
            "   WHERE jd.job_id = g.j AND jd.domain = g.d AND jd.open_rows <= 0; END IF;"
            "  INSERT INTO job_counts(job_id, state, status, n)"
            "  SELECT job_id, st, stat, sum(d) FROM ("
            "   SELECT o.job_id, 0 AS st, -1 AS stat, -o.weight AS d"
            "   FROM bc_old o JOIN bc_new n ON n.job_id = o.job_id AND n.row_no = o.row_no"
            "   WHERE o.state < 2 AND n.state >= 2"
            "   UNION ALL SELECT n.job_id, n.state, coalesce(n.status, -1), n.weight"
            "   FROM bc_old o JOIN bc_new n ON n.job_id = o.job_id AND n.row_no = o.row_no"
            "   WHERE o.state < 2 AND n.state >= 2) x"
            "  GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3"
            "  ON CONFLICT (job_id, state, status) DO UPDATE SET n = job_counts.n + excluded.n;"
            " END IF;"
            /* job_claims: rows that leave a claim (done, given back, taken by
           * another claim), then rows that enter one or are renewed */
            " WITH x AS (SELECT o.claim_id, count(*) AS k, sum(o.weight) AS w"
            "  FROM bc_old o JOIN bc_new n ON n.job_id = o.job_id AND n.row_no = o.row_no"
            "  WHERE o.state = 1 AND (n.state <> 1 OR n.claim_id IS DISTINCT FROM o.claim_id) GROUP BY 1),"
            " u AS (UPDATE job_claims c SET open_rows = c.open_rows - x.k, open_weight = c.open_weight - x.w"
            "  FROM x WHERE c.claim_id = x.claim_id RETURNING c.claim_id, c.open_rows)"
            " SELECT array_agg(claim_id) INTO gc FROM u WHERE open_rows <= 0;"
            " IF gc IS NOT NULL THEN DELETE FROM job_claims WHERE claim_id = ANY (gc) AND open_rows <= 0; END IF;"
            " IF EXISTS (SELECT 1 FROM bc_new WHERE state = 1) THEN"
            "  INSERT INTO job_claims(claim_id, job_id, domain, holder, open_rows, open_weight, lease_until)"
            "  SELECT n.claim_id, min(n.job_id), min(n.domain), min(n.holder),"
            "   count(*) FILTER (WHERE o.state <> 1 OR o.claim_id IS DISTINCT FROM n.claim_id),"
            "   coalesce(sum(n.weight) FILTER (WHERE o.state <> 1 OR o.claim_id IS DISTINCT FROM n.claim_id), 0),"
            "   max(n.lease_until)"
            "   FROM bc_old o JOIN bc_new n ON n.job_id = o.job_id AND n.row_no = o.row_no"
            "   WHERE n.state = 1 AND n.claim_id IS NOT NULL GROUP BY 1 ORDER BY 1"
            "  ON CONFLICT (claim_id) DO UPDATE SET open_rows = job_claims.open_rows + excluded.open_rows,"
            "   open_weight = job_claims.open_weight + excluded.open_weight, holder = excluded.holder,"
            "   lease_until = excluded.lease_until;"
            " END IF;"
            " RETURN NULL; END $f$;"
            "CREATE TRIGGER job_rows_changed AFTER UPDATE ON job_rows"
            " REFERENCING OLD TABLE AS bc_old NEW TABLE AS bc_new"
            " FOR EACH STATEMENT EXECUTE FUNCTION bc_job_rows_changed()",
            "CREATE FUNCTION bc_claim_key(p_job text, p_domain text, p_key text, p_claim text, p_holder text,"
            " p_lease bigint, p_now bigint, p_max bigint) RETURNS TABLE(row_no bigint, addr text, fields bytea)"
            /* (its claim planned at each call, for the reason of planned_each_time) */
            " SET plan_cache_mode = force_custom_plan"
            " LANGUAGE plpgsql AS $f$ #variable_conflict use_column\n BEGIN"
            " IF NOT pg_try_advisory_xact_lock(hashtextextended('bc-domain:' || p_key, 0)) THEN RETURN; END IF;"
            " RETURN QUERY WITH picked AS MATERIALIZED (SELECT r.job_id, r.row_no FROM job_rows r"
            "  WHERE r.job_id = p_job AND r.domain = p_domain AND r.state < 2 AND r.lease_until <= p_now"
            "  AND coalesce((SELECT f.mx_host FROM domain_facts f WHERE f.domain = p_domain), p_domain) = p_key"
            "  AND NOT EXISTS (SELECT 1 FROM job_claims b WHERE b.open_rows > 0 AND b.lease_until > p_now"
            "  AND coalesce((SELECT f.mx_host FROM domain_facts f WHERE f.domain = b.domain), b.domain) = p_key)"
            "  ORDER BY r.row_no LIMIT p_max FOR UPDATE SKIP LOCKED)"
            " UPDATE job_rows r SET state = 1, claim_id = p_claim, holder = p_holder, lease_until = p_lease,"
            "  attempts = r.attempts + 1 FROM picked WHERE r.job_id = picked.job_id AND r.row_no = picked.row_no"
            "  RETURNING r.row_no, r.addr, r.fields;"
            " END $f$;" },
    /* bc_claim: a claim in one call (one round trip), for holder p_holder
     * as claim p_claim with lease p_lease, at most p_max rows: the rows
     * (job, domain, row, address, fields) in dseq order, none when there
     * is nothing to claim. Jobs queued or running, oldest first; in each,
     * first the claims whose lease ran out (or that were given back) with
     * rows left, taken over (split when they hold more than p_max rows:
     * the rest stays with the old claim), then the domains whose cursor
     * has rows left, in domain order. Pass 0 passes over domains whose
     * politeness key (the MX host of their facts, else the domain) a live
     * claim holds; exclusive (p_excl), that is the only pass, and a domain
     * is taken only under the key's transaction-scoped advisory lock and
     * when a query made after the lock (its own snapshot) finds no live
     * claim of the key; else pass 1 takes held domains too. A candidate
     * is locked FOR UPDATE SKIP LOCKED (a claimer taking it, or a result
     * being written through it, is passed over) and read again. */
    [8] = { /* whether a live claim holds key p_key at p_now */
            "CREATE FUNCTION bc_key_busy(p_key text, p_now bigint) RETURNS boolean LANGUAGE sql STABLE AS"
            " $f$ SELECT EXISTS (SELECT 1 FROM job_claims b LEFT JOIN domain_facts f ON f.domain = b.domain"
            " WHERE b.open_rows > 0 AND b.lease_until > p_now AND coalesce(f.mx_host, b.domain) = p_key) $f$;"
            /* bc_take: the rows without a result of pair (p_job,
             * p_domain), at most p_max, for claim p_claim: first the
             * ranges of claims whose lease ran out or that were given
             * back, in dseq order (a range with more than wanted is split:
             * the rest stays with its claim), then from the pair's cursor.
             * Each range taken is an entry (p_claim, lo) of job_claims.
             * Entries and the cursor are locked FOR UPDATE SKIP LOCKED (a
             * claimer taking one, or a result written through one, is
             * passed over). How many rows it took. Its statements are
             * planned at each call (the ranges are a few rows of millions:
             * a generic plan may read them all). */
            "CREATE FUNCTION bc_take(p_job text, p_domain text, p_holder text, p_claim text, p_lease bigint,"
            " p_now bigint, p_max bigint) RETURNS bigint SET plan_cache_mode = force_custom_plan"
            " LANGUAGE plpgsql AS $f$"
            " DECLARE b record; n bigint; w bigint; last bigint; got bigint := 0; lo_ bigint; hi_ bigint; BEGIN"
            " FOR b IN SELECT x.claim_id, x.lo, x.hi FROM job_claims x WHERE x.job_id = p_job AND x.domain = p_domain"
            "  AND x.open_rows > 0 AND x.lease_until <= p_now ORDER BY x.lo FOR UPDATE SKIP LOCKED LOOP"
            "  SELECT count(*), coalesce(sum(y.weight), 0), max(y.dseq) INTO n, w, last FROM (SELECT r.weight, r.dseq"
            "   FROM job_rows r WHERE r.job_id = p_job AND r.domain = p_domain AND r.dseq >= b.lo AND r.dseq < b.hi"
            "   AND (SELECT x.row_no FROM job_results x WHERE x.job_id = r.job_id AND x.row_no = r.row_no) IS NULL"
            "   ORDER BY r.dseq LIMIT p_max - got) y;"
            "  IF n = 0 THEN UPDATE job_claims x SET open_rows = 0, open_weight = 0"
            "   WHERE x.claim_id = b.claim_id AND x.lo = b.lo; CONTINUE; END IF;"
            "  IF n >= p_max - got AND last + 1 < b.hi THEN"
            "   UPDATE job_claims x SET lo = last + 1, open_rows = greatest(x.open_rows - n, 0),"
            "    open_weight = greatest(x.open_weight - w, 0) WHERE x.claim_id = b.claim_id AND x.lo = b.lo;"
            "   INSERT INTO job_claims(claim_id, job_id, domain, holder, open_rows, open_weight, lease_until, lo, hi,"
            "    attempt) SELECT p_claim, p_job, p_domain, p_holder, n, w, p_lease, b.lo, last + 1,"
            "    x.attempt + 1 FROM job_claims x WHERE x.claim_id = b.claim_id AND x.lo = last + 1;"
            "  ELSE"
            "   UPDATE job_claims x SET claim_id = p_claim, holder = p_holder, lease_until = p_lease,"
            "    attempt = x.attempt + 1, open_rows = n, open_weight = w WHERE x.claim_id = b.claim_id AND x.lo = b.lo;"
            "  END IF;"
            "  got := got + n; EXIT WHEN got >= p_max;"
            " END LOOP;"
            " IF got < p_max THEN"
            "  SELECT jd.next_dseq, jd.end_dseq INTO lo_, hi_ FROM job_domains jd WHERE jd.job_id = p_job"
            "   AND jd.domain = p_domain AND jd.next_dseq < jd.end_dseq FOR UPDATE SKIP LOCKED;"
            "  IF FOUND THEN"
            "   SELECT count(*), coalesce(sum(y.weight), 0), max(y.dseq) INTO n, w, last FROM (SELECT r.weight, r.dseq"
            "    FROM job_rows r WHERE r.job_id = p_job AND r.domain = p_domain AND r.dseq >= lo_ AND r.dseq < hi_"
            "    AND (SELECT x.row_no FROM job_results x WHERE x.job_id = r.job_id AND x.row_no = r.row_no) IS NULL"
            "    ORDER BY r.dseq LIMIT p_max - got) y;"
            "   IF n >= p_max - got THEN hi_ := last + 1; END IF;"
            "   UPDATE job_domains jd SET next_dseq = hi_ WHERE jd.job_id = p_job AND jd.domain = p_domain;"
            "   IF n > 0 THEN"
            "    INSERT INTO job_claims(claim_id, job_id, domain, holder, open_rows, open_weight, lease_until, lo, hi,"
            "     attempt) VALUES (p_claim, p_job, p_domain, p_holder, n, w, p_lease, lo_, hi_, 1);"
            "    got := got + n;"
            "   END IF;"
            "  END IF;"
            " END IF;"
            " RETURN got; END $f$;",
            /* (a domain's key: its facts' MX host, else the domain) */
            "CREATE FUNCTION bc_claim(p_holder text, p_claim text, p_lease bigint, p_now bigint, p_max bigint,"
            " p_excl boolean) RETURNS TABLE(job_id text, domain text, row_no bigint, addr text, fields bytea)"
            " SET plan_cache_mode = force_custom_plan LANGUAGE plpgsql AS $f$ #variable_conflict use_column\n"
            " DECLARE j record; c record; busy text[]; k text; tries int := 0; BEGIN"
            " busy := ARRAY(SELECT DISTINCT coalesce(f.mx_host, b.domain) FROM job_claims b LEFT JOIN domain_facts f"
            "  ON f.domain = b.domain WHERE b.open_rows > 0 AND b.lease_until > p_now);"
            " FOR pass IN 0..1 LOOP EXIT WHEN pass = 1 AND p_excl;"
            " FOR j IN SELECT jj.id FROM jobs jj WHERE jj.status IN (0, 1) ORDER BY jj.created_at, jj.seq LOOP"
            /* pairs with ranges to take over (a few), then pairs with a cursor */
            "  FOR part IN 0..1 LOOP"
            "  FOR c IN SELECT DISTINCT b.domain FROM job_claims b WHERE part = 0 AND b.job_id = j.id"
            "   AND b.open_rows > 0 AND b.lease_until <= p_now"
            /* (held keys passed over in the query, and a LIMIT: a walk of
             * the partial index, never a sort of every pair) */
            "   UNION ALL (SELECT jd.domain FROM job_domains jd WHERE part = 1 AND jd.job_id = j.id"
            "   AND jd.next_dseq < jd.end_dseq AND (pass = 1 OR coalesce((SELECT f.mx_host FROM domain_facts f"
            "   WHERE f.domain = jd.domain), jd.domain) <> ALL (busy)) ORDER BY jd.domain LIMIT 64) LOOP"
            "   k := coalesce((SELECT f.mx_host FROM domain_facts f WHERE f.domain = c.domain), c.domain);"
            "   CONTINUE WHEN pass = 0 AND k = ANY (busy);"
            "   CONTINUE WHEN p_excl AND (NOT pg_try_advisory_xact_lock(hashtextextended('bc-domain:' || k, 0))"
            "    OR bc_key_busy(k, p_now));"
            /* candidates taken or emptied by others since the listing, or
             * locked (a job being published locks its pairs): after 32,
             * nothing (the caller asks again a moment later) */
            "   tries := tries + 1; EXIT WHEN tries > 32;"
            "   IF bc_take(j.id, c.domain, p_holder, p_claim, p_lease, p_now, p_max) > 0 THEN"
            "    RETURN QUERY SELECT r.job_id, r.domain, r.row_no, r.addr, r.fields FROM job_claims b JOIN job_rows r"
            "     ON r.job_id = b.job_id AND r.domain = b.domain AND r.dseq >= b.lo AND r.dseq < b.hi"
            "     WHERE b.claim_id = p_claim AND (SELECT x.row_no FROM job_results x"
            "     WHERE x.job_id = r.job_id AND x.row_no = r.row_no) IS NULL;"
            "    RETURN;"
            "   END IF;"
            "  EXIT WHEN tries > 32; END LOOP; EXIT WHEN tries > 32; END LOOP;"
            " EXIT WHEN tries > 32; END LOOP; END LOOP; END $f$;" },
    [9] = { /* bc_results: Q_ROWS_RESULT_BATCH's statement in a function,
            * planned once per connection (planning it at each call took 8%
            * of its time), its scans through indexes only */
"CREATE FUNCTION bc_results(p_claim text, p_rows bigint[], p_status smallint[], p_reason text[], "
            "p_result text[]) RETURNS TABLE(i bigint, rc integer) SET plan_cache_mode = force_generic_plan "
            "SET enable_seqscan = off LANGUAGE plpgsql AS $f$ #variable_conflict use_column\n BEGIN RETURN "
            "QUERY WITH c AS MATERIALIZED (SELECT job_id, domain, lo, hi, holder, attempt FROM job_claims "
            "WHERE claim_id = p_claim FOR UPDATE), v AS MATERIALIZED (SELECT * FROM unnest(p_rows::bigint[], "
            "p_status::smallint[], p_reason::text[], p_result::text[]) WITH ORDINALITY AS v(row_no, status, "
            "reason, result, i)), t AS MATERIALIZED (SELECT c.job_id, v.row_no, v.status, v.reason, "
            "v.result, c.holder, c.attempt, c.lo, x.weight FROM v CROSS JOIN LATERAL (SELECT r.domain, "
            "r.dseq, r.weight FROM job_rows r WHERE r.job_id = (SELECT job_id FROM c LIMIT 1) AND r.row_no = "
            "v.row_no LIMIT 1) x JOIN c ON c.domain = x.domain AND x.dseq >= c.lo AND x.dseq < c.hi), ins AS "
            "(INSERT INTO job_results(job_id, row_no, status, reason, result, claim_id, holder, attempt, "
            "weight) SELECT job_id, row_no, status, reason, result, p_claim, holder, attempt, weight FROM t "
            "ON CONFLICT (job_id, row_no) DO NOTHING RETURNING row_no, status, weight), s AS MATERIALIZED "
            "(SELECT t.lo, count(*) AS k, sum(t.weight) AS w FROM ins JOIN t ON t.row_no = ins.row_no GROUP "
            "BY t.lo), cl AS (UPDATE job_claims b SET open_rows = b.open_rows - s.k, open_weight = "
            "b.open_weight - s.w FROM s WHERE b.claim_id = p_claim AND b.lo = s.lo), cn AS (INSERT INTO "
            "job_counts(job_id, state, status, part, n) SELECT (SELECT job_id FROM c LIMIT 1), x.st, x.stat, "
            "pg_backend_pid() % 16, x.n FROM (SELECT 0 AS st, -1 AS stat, -sum(s.w) AS n FROM s HAVING "
            "count(*) > 0 UNION ALL SELECT 2, status, sum(weight) FROM ins GROUP BY status) x ORDER BY 2, 3 "
            "ON CONFLICT (job_id, state, status, part) DO UPDATE SET n = job_counts.n + excluded.n) SELECT "
            "v.i, CASE WHEN ins.row_no IS NOT NULL THEN 1 WHEN EXISTS (SELECT 1 FROM job_results d WHERE "
            "d.job_id = (SELECT job_id FROM c LIMIT 1) AND d.row_no = v.row_no AND d.claim_id = p_claim) "
            "THEN 0 ELSE 2 END FROM v LEFT JOIN ins ON ins.row_no = v.row_no ORDER BY v.i; END $f$;" },
    [10] = { /* bc_pair_rows: the rows of pair (p_job, p_domain) with dseq in
             * [p_lo, p_hi), from the chunks that hold them (the one where
             * p_lo falls found first: two probes of the key) */
             "CREATE FUNCTION bc_pair_rows(p_job text, p_domain text, p_lo bigint, p_hi bigint)"
             " RETURNS TABLE(dseq bigint, row_no bigint, weight bigint, addr text, fields bytea)"
             " LANGUAGE sql STABLE AS $f$ SELECT c.lo + u.k - 1, u.r, u.w, u.a, u.f FROM job_chunks c"
             " CROSS JOIN LATERAL unnest(c.row_nos, c.weights, c.addrs, c.fields) WITH ORDINALITY AS u(r, w, a, f, k)"
             " WHERE c.job_id = p_job AND c.domain = p_domain AND c.lo < p_hi AND c.lo >= coalesce((SELECT max(x.lo)"
             " FROM job_chunks x WHERE x.job_id = p_job AND x.domain = p_domain AND x.lo <= p_lo), p_lo)"
             " AND c.lo + u.k - 1 >= p_lo AND c.lo + u.k - 1 < p_hi $f$;"
             /* bc_take (see schema 9) on chunks: the rows of a range to
              * take over are those not in its entry's done; rows past
              * the cursor never had a claim, so none is done */
             "CREATE OR REPLACE FUNCTION bc_take(p_job text, p_domain text, p_holder text, p_claim text,"
             " p_lease bigint, p_now bigint, p_max bigint) RETURNS bigint SET plan_cache_mode = force_generic_plan"
             " SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off LANGUAGE plpgsql AS $f$"
             " DECLARE b record; n bigint; w bigint; last bigint; got bigint := 0; lo_ bigint; hi_ bigint; BEGIN"
             " FOR b IN SELECT x.claim_id, x.lo, x.hi, x.done FROM job_claims x WHERE x.job_id = p_job"
             "  AND x.domain = p_domain AND x.open_rows > 0 AND x.lease_until <= p_now ORDER BY x.lo"
             "  FOR UPDATE SKIP LOCKED LOOP"
             "  SELECT count(*), coalesce(sum(y.weight), 0), max(y.dseq) INTO n, w, last FROM (SELECT p.weight,"
             "   p.dseq FROM bc_pair_rows(p_job, p_domain, b.lo, b.hi) p WHERE p.dseq <> ALL (b.done)"
             "   ORDER BY p.dseq LIMIT p_max - got) y;"
             "  IF n = 0 THEN UPDATE job_claims x SET open_rows = 0, open_weight = 0"
             "   WHERE x.claim_id = b.claim_id AND x.lo = b.lo; CONTINUE; END IF;"
             "  IF n >= p_max - got AND last + 1 < b.hi THEN"
             "   UPDATE job_claims x SET lo = last + 1, open_rows = greatest(x.open_rows - n, 0),"
             "    open_weight = greatest(x.open_weight - w, 0), done = ARRAY(SELECT d FROM unnest(b.done) d"
             "    WHERE d > last) WHERE x.claim_id = b.claim_id AND x.lo = b.lo;"
             "   INSERT INTO job_claims(claim_id, job_id, domain, holder, open_rows, open_weight, lease_until, lo, hi,"
             "    attempt, done) SELECT p_claim, p_job, p_domain, p_holder, n, w, p_lease, b.lo, last + 1,"
             "    x.attempt + 1, ARRAY(SELECT d FROM unnest(b.done) d WHERE d <= last) FROM job_claims x"
             "    WHERE x.claim_id = b.claim_id AND x.lo = last + 1;"
             "  ELSE"
             "   UPDATE job_claims x SET claim_id = p_claim, holder = p_holder, lease_until = p_lease,"
             "    attempt = x.attempt + 1, open_rows = n, open_weight = w WHERE x.claim_id = b.claim_id AND x.lo = b.lo;"
             "  END IF;"
             "  got := got + n; EXIT WHEN got >= p_max;"
             " END LOOP;"
             " IF got < p_max THEN"
             "  SELECT jd.next_dseq, jd.end_dseq INTO lo_, hi_ FROM job_domains jd WHERE jd.job_id = p_job"
             "   AND jd.domain = p_domain AND jd.next_dseq < jd.end_dseq FOR UPDATE SKIP LOCKED;"
             "  IF FOUND THEN"
             "   hi_ := least(hi_, lo_ + p_max - got);"
             "   SELECT count(*), coalesce(sum(p.weight), 0) INTO n, w FROM bc_pair_rows(p_job, p_domain, lo_, hi_) p;"
             "   UPDATE job_domains jd SET next_dseq = hi_ WHERE jd.job_id = p_job AND jd.domain = p_domain;"
             "   IF n > 0 THEN"
             "    INSERT INTO job_claims(claim_id, job_id, domain, holder, open_rows, open_weight, lease_until, lo, hi,"
             "     attempt) VALUES (p_claim, p_job, p_domain, p_holder, n, w, p_lease, lo_, hi_, 1);"
             "    got := got + n;"
             "   END IF;"
             "  END IF;"
             " END IF;"
             " RETURN got; END $f$;",
             /* bc_claim's rows from the chunks, those of its ranges not
              * done (its stored definition rewritten: it must hold the
              * old statement once) */
             "DO $d$ DECLARE def text := pg_get_functiondef("
             "'bc_claim(text, text, bigint, bigint, bigint, boolean)'::regprocedure);"
             " old text := '    RETURN QUERY SELECT r.job_id, r.domain, r.row_no, r.addr, r.fields FROM job_claims b"
             " JOIN job_rows r     ON r.job_id = b.job_id AND r.domain = b.domain AND r.dseq >= b.lo"
             " AND r.dseq < b.hi     WHERE b.claim_id = p_claim AND (SELECT x.row_no FROM job_results x"
             "     WHERE x.job_id = r.job_id AND x.row_no = r.row_no) IS NULL;'; BEGIN"
             " IF (length(def) - length(replace(def, old, ''))) / length(old) <> 1 THEN"
             "  RAISE EXCEPTION 'bc_claim: its statement of rows is not as expected'; END IF;"
             " EXECUTE replace(def, old, ' RETURN QUERY SELECT b.job_id, b.domain, p.row_no, p.addr, p.fields"
             " FROM job_claims b CROSS JOIN LATERAL bc_pair_rows(b.job_id, b.domain, b.lo, b.hi) p"
             " WHERE b.claim_id = p_claim AND p.dseq <> ALL (b.done);'); END $d$;",
             /* bc_results on chunks: each row found among the rows of the
              * claim's ranges (1 written, 0 done already in its range, 2
              * not held); what is written is one row of job_res, the
              * ranges' done and counters, the job's counters */
             "CREATE OR REPLACE FUNCTION bc_results(p_claim text, p_rows bigint[], p_status smallint[],"
             " p_reason text[], p_result text[]) RETURNS TABLE(i bigint, rc integer)"
             " SET plan_cache_mode = force_generic_plan SET enable_seqscan = off LANGUAGE plpgsql AS $f$"
             " #variable_conflict use_column\n BEGIN RETURN QUERY WITH"
             " c AS MATERIALIZED (SELECT job_id, domain, lo, hi, holder, attempt, done FROM job_claims"
             "  WHERE claim_id = p_claim FOR UPDATE),"
             " m AS MATERIALIZED (SELECT c.job_id, c.domain, c.lo AS elo, c.holder, c.attempt,"
             "  p.dseq = ANY (c.done) AS was, p.dseq, p.row_no, p.weight, p.addr, p.fields"
             "  FROM c CROSS JOIN LATERAL bc_pair_rows(c.job_id, c.domain, c.lo, c.hi) p),"
             " v AS MATERIALIZED (SELECT * FROM unnest(p_rows, p_status, p_reason, p_result) WITH ORDINALITY"
             "  AS v(row_no, status, reason, result, i)),"
             " t AS MATERIALIZED (SELECT v.i, v.row_no, v.status, v.reason, v.result, m.job_id, m.domain, m.elo,"
             "  m.holder, m.attempt, m.was, m.dseq, m.weight, m.addr, m.fields FROM v LEFT JOIN m"
             "  ON m.row_no = v.row_no),"
             " ok AS MATERIALIZED (SELECT * FROM t WHERE t.elo IS NOT NULL AND NOT t.was),"
             " ins AS (INSERT INTO job_res(job_id, domain, claim_id, holder, row_nos, dseqs, statuses, reasons,"
             "  results, attempts, weights, addrs, fields) SELECT min(ok.job_id), min(ok.domain), p_claim,"
             "  min(ok.holder), array_agg(ok.row_no ORDER BY ok.i), array_agg(ok.dseq ORDER BY ok.i),"
             "  array_agg(ok.status ORDER BY ok.i), array_agg(ok.reason ORDER BY ok.i),"
             "  array_agg(ok.result ORDER BY ok.i), array_agg(ok.attempt ORDER BY ok.i),"
             "  array_agg(ok.weight ORDER BY ok.i), array_agg(ok.addr ORDER BY ok.i),"
             "  array_agg(ok.fields ORDER BY ok.i) FROM ok HAVING count(*) > 0),"
             " s AS MATERIALIZED (SELECT ok.elo, count(*) AS k, sum(ok.weight) AS w, array_agg(ok.dseq) AS ds"
             "  FROM ok GROUP BY ok.elo),"
             " cl AS (UPDATE job_claims b SET open_rows = b.open_rows - s.k, open_weight = b.open_weight - s.w,"
             "  done = b.done || s.ds FROM s WHERE b.claim_id = p_claim AND b.lo = s.elo),"
             " cn AS (INSERT INTO job_counts(job_id, state, status, part, n) SELECT (SELECT job_id FROM c LIMIT 1),"
             "  x.st, x.stat, pg_backend_pid() % 16, x.n FROM (SELECT 0 AS st, -1 AS stat, -sum(s.w) AS n FROM s"
             "  HAVING count(*) > 0 UNION ALL SELECT 2, ok.status, sum(ok.weight) FROM ok GROUP BY ok.status) x"
             "  ORDER BY 2, 3 ON CONFLICT (job_id, state, status, part) DO UPDATE SET n = job_counts.n + excluded.n)"
             " SELECT t.i, CASE WHEN t.elo IS NULL THEN 2 WHEN t.was THEN 0 ELSE 1 END FROM t ORDER BY t.i;"
             " END $f$;" },
};

typedef struct pg_store {
    PGconn *conn;
    pthread_mutex_t lock;
    int64_t own_bumps; /* keys_version bumps made through this handle */
    char *password;    /* the URL's password, kept out of messages; NULL if none */
    char shown[256];   /* the URL for messages, password masked */
    char errmsg[512];  /* the last failure */
    int64_t swept_at;  /* CLOCK_MONOTONIC ms of the last sweep (pg_rows_counts) */
} pg_store;

/* ---- messages ------------------------------------------------------------------- */

/* The password of a postgres:// URL (user part or password= parameter),
 * malloc'd, or NULL when none (or out of memory). */
static char *url_password(const char *url)
{
    const char *auth = strstr(url, "://");
    if (auth) {
        auth += 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < alen; i++)
            if (auth[i] == '@')
                at = auth + i;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon && at > colon + 1)
            return strndup(colon + 1, (size_t)(at - colon - 1));
    }
    const char *q = strchr(url, '?');
    while (q) {
        q++;
        if (strncasecmp(q, "password=", 9) == 0) {
            size_t n = strcspn(q + 9, "&");
            return n ? strndup(q + 9, n) : NULL;
        }
        q = strchr(q, '&');
    }
    return NULL;
}

/* Copies msg into out (outlen bytes) on one line (line breaks and tabs as
 * one space, none at the end), every occurrence of the password replaced
 * by "***". */
static void clean_message(const pg_store *s, const char *msg, char *out, size_t outlen)
{
    size_t pos = 0, plen = s->password ? strlen(s->password) : 0;
    if (outlen == 0)
        return;
    for (const char *p = msg ? msg : ""; *p && pos + 1 < outlen;) {
        if (plen && strncmp(p, s->password, plen) == 0) {
            for (const char *m = "***"; *m && pos + 1 < outlen; m++)
                out[pos++] = *m;
            p += plen;
        } else {
            char c = *p == '\n' || *p == '\t' ? ' ' : *p;
            if (c != ' ' || (pos > 0 && out[pos - 1] != ' ')) /* one space for a line break */
                out[pos++] = c;
            p++;
        }
    }
    while (pos && out[pos - 1] == ' ')
        pos--;
    out[pos] = '\0';
}

/* Remembers the error of r (or of the connection) for pg_error. */
static void set_error(pg_store *s, const PGresult *r)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (!m || !*m)
        m = PQerrorMessage(s->conn);
    clean_message(s, m && *m ? m : "unknown PostgreSQL error", s->errmsg, sizeof s->errmsg);
}

static const char *pg_error(void *be)
{
    pg_store *s = be;
    return s->errmsg[0] ? s->errmsg : "no error";
}

/* libpq prints notices ("relation ... already exists, skipping") to
 * stderr by default: nothing here needs them. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* ---- running statements ---------------------------------------------------------- */

#define MAX_PARAMS 17

/* The parameters of one statement: text unless given as bytes. */
typedef struct params {
    int n;
    const char *v[MAX_PARAMS];
    int len[MAX_PARAMS];
    int fmt[MAX_PARAMS];
    char buf[MAX_PARAMS][32];
} params;

/* Adds a text parameter; NULL is SQL NULL. */
static void p_text(params *p, const char *v)
{
    if (p->n >= MAX_PARAMS)
        return;
    p->v[p->n] = v;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static void p_i64(params *p, int64_t v)
{
    if (p->n >= MAX_PARAMS)
        return;
    snprintf(p->buf[p->n], sizeof p->buf[0], "%lld", (long long)v);
    p_text(p, p->buf[p->n]);
}

static void p_f64(params *p, double v)
{
    if (p->n >= MAX_PARAMS)
        return;
    snprintf(p->buf[p->n], sizeof p->buf[0], "%.17g", v);
    p_text(p, p->buf[p->n]);
}

static void p_bool(params *p, bool v)
{
    p_text(p, v ? "t" : "f");
}

/* Adds len bytes of binary data (bytea). */
static void p_bytes(params *p, const void *data, int len)
{
    if (p->n >= MAX_PARAMS)
        return;
    p->v[p->n] = data;
    p->len[p->n] = len;
    p->fmt[p->n] = 1;
    p->n++;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 when the
 * byte at p does not start one (overlong forms, surrogates and code
 * points beyond U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80)
        return 1;
    size_t len = p[0] >= 0xc2 && p[0] <= 0xdf   ? 2
                 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
                 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                                : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) || (p[0] == 0xf0 && p[1] < 0x90) ||
        (p[0] == 0xf4 && p[1] > 0x8f))
        return 0;
    return len;
}

/* PostgreSQL refuses text that is not UTF-8, where SQLite keeps any bytes:
 * a malloc'd copy of t with each invalid byte replaced by U+FFFD when t
 * has one, else NULL (t is fine as it is, or out of memory). */
static char *utf8_repaired(const char *t)
{
    const unsigned char *u = (const unsigned char *)t;
    size_t n = strlen(t), bad = 0, i = 0;
    while (i < n && u[i] < 0x80) /* (the usual case, ASCII, first: results' JSON is) */
        i++;
    while (i < n) {
        size_t l = utf8_seq(u + i, n - i);
        bad += l == 0;
        i += l ? l : 1;
    }
    if (bad == 0)
        return NULL;
    char *out = malloc(n + 2 * bad + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t k = 0; k < n;) {
        size_t l = utf8_seq(u + k, n - k);
        if (l) {
            memcpy(o, t + k, l);
            o += l;
            k += l;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            k++;
        }
    }
    *o = '\0';
    return out;
}

/* ---- binary arrays: a batch of rows as one parameter per column ---------------------- */

/* A one-dimensional array in PostgreSQL's binary format (the array type's
 * receive function: a header, then each element as a 4-byte length, -1
 * for NULL, and its bytes), built for a parameter sent in binary: no
 * quoting, nothing of the data in the statement's text. */
typedef struct pg_array {
    unsigned char *b;
    size_t len, cap;
    size_t count_at; /* where the element count goes */
    int32_t n;
    bool oom;
} pg_array;

enum { OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_TEXT = 25 };

static void arr_put(pg_array *a, const void *data, size_t n)
{
    if (a->oom)
        return;
    if (a->len + n > a->cap || n > INT32_MAX) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap < a->len + n)
            cap *= 2;
        unsigned char *nb = cap <= INT32_MAX ? realloc(a->b, cap) : NULL;
        if (!nb || n > INT32_MAX) {
            a->oom = true;
            return;
        }
        a->b = nb;
        a->cap = cap;
    }
    if (n)
        memcpy(a->b + a->len, data, n);
    a->len += n;
}

static void arr_u32(pg_array *a, uint32_t v)
{
    unsigned char be[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                            (unsigned char)v };
    arr_put(a, be, 4);
}

/* Starts an array of elements of type oid (its count set as they come). */
static void arr_begin(pg_array *a, uint32_t oid)
{
    memset(a, 0, sizeof *a);
    arr_u32(a, 1);   /* dimensions */
    arr_u32(a, 1);   /* may hold NULLs */
    arr_u32(a, oid); /* element type */
    a->count_at = a->len;
    arr_u32(a, 0); /* elements: set by arr_param */
    arr_u32(a, 1); /* lower bound */
}

static void arr_i64(pg_array *a, int64_t v)
{
    uint64_t u = (uint64_t)v;
    arr_u32(a, 8);
    arr_u32(a, (uint32_t)(u >> 32));
    arr_u32(a, (uint32_t)u);
    a->n++;
}

static void arr_i16(pg_array *a, int v)
{
    unsigned char be[2] = { (unsigned char)((unsigned)v >> 8), (unsigned char)v };
    arr_u32(a, 2);
    arr_put(a, be, 2);
    a->n++;
}

/* n bytes of data as one element; data NULL: SQL NULL. */
static void arr_bytes(pg_array *a, const void *data, size_t n)
{
    if (!data) {
        arr_u32(a, UINT32_MAX); /* -1 */
    } else if (n > INT32_MAX) {
        a->oom = true;
    } else {
        arr_u32(a, (uint32_t)n);
        arr_put(a, data, n);
    }
    a->n++;
}

/* Text as one element (NULL: SQL NULL), invalid UTF-8 repaired as run()
 * repairs text parameters. */
static void arr_text(pg_array *a, const char *t)
{
    char *fixed = t ? utf8_repaired(t) : NULL;
    const char *v = fixed ? fixed : t;
    arr_bytes(a, v, v ? strlen(v) : 0);
    free(fixed);
}

/* Adds the array to p as a binary parameter (a stays its owner). false
 * when out of memory or too large. */
static bool arr_param(params *p, pg_array *a)
{
    if (a->oom || a->len > INT32_MAX || p->n >= MAX_PARAMS)
        return false;
    uint32_t n = (uint32_t)a->n;
    unsigned char be[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                            (unsigned char)n };
    memcpy(a->b + a->count_at, be, 4);
    p_bytes(p, a->b, (int)a->len);
    return true;
}

static void arr_free(pg_array *a)
{
    free(a->b);
    a->b = NULL;
}

/* Prepares every statement on the connection. 0 / -1 (errmsg). */
static int prepare_all(pg_store *s)
{
    for (int i = 0; i < Q__COUNT; i++) {
        char name[16];
        if (planned_each_time[i])
            continue;
        snprintf(name, sizeof name, "bc_q%d", i);
        PGresult *r = PQprepare(s->conn, name, sql_text[i], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            set_error(s, r);
            PQclear(r);
            return -1;
        }
        PQclear(r);
    }
    return 0;
}

/* Makes sure the connection works: a broken one is reset and its
 * statements prepared again. 0 / -1 (errmsg). Lock held. */
static int ensure_conn(pg_store *s)
{
    if (PQstatus(s->conn) == CONNECTION_OK)
        return 0;
    PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        set_error(s, NULL);
        return -1;
    }
    return prepare_all(s);
}

/* Sends statement q (prepared as name, or planned now: planned_each_time)
 * with the np values v and p's lengths and formats. */
static PGresult *exec_q(pg_store *s, int q, const char *name, int np, const char *const *v, const params *p)
{
    if (planned_each_time[q])
        return PQexecParams(s->conn, sql_text[q], np, NULL, np ? v : NULL, p ? p->len : NULL, p ? p->fmt : NULL,
                            0);
    return PQexecPrepared(s->conn, name, np, np ? v : NULL, p ? p->len : NULL, p ? p->fmt : NULL, 0);
}

/* Runs statement q with p; the result (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK; the caller PQclears it), or NULL with errmsg set and,
 * when sqlstate is not NULL, the error's SQLSTATE in it (6 bytes). Lock
 * held. */
static PGresult *run(pg_store *s, int q, const params *p, char *sqlstate)
{
    if (sqlstate)
        sqlstate[0] = '\0';
    if (ensure_conn(s) != 0)
        return NULL;
    char name[16];
    snprintf(name, sizeof name, "bc_q%d", q);
    const char *v[MAX_PARAMS];
    char *fixed[MAX_PARAMS] = { NULL };
    int np = p ? p->n : 0;
    for (int i = 0; i < np; i++) {
        v[i] = p->v[i];
        if (p->v[i] && p->fmt[i] == 0 && (fixed[i] = utf8_repaired(p->v[i])) != NULL)
            v[i] = fixed[i];
    }
    PGresult *r = exec_q(s, q, name, np, v, p);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && retryable[q] && PQstatus(s->conn) == CONNECTION_BAD) {
        PQclear(r);
        r = NULL;
        if (ensure_conn(s) == 0) {
            r = exec_q(s, q, name, np, v, p);
            st = PQresultStatus(r);
        }
    }
    for (int i = 0; i < np; i++)
        free(fixed[i]);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    if (!r && PQstatus(s->conn) != CONNECTION_OK)
        return NULL; /* ensure_conn has set errmsg */
    set_error(s, r);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (sqlstate && state)
        snprintf(sqlstate, 6, "%s", state);
    PQclear(r);
    return NULL;
}

/* A bigint or integer column as int64 (0 for NULL). */
static int64_t get_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return (int64_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Copies a text column into buf (size bytes), truncated. */
static void get_copy(const PGresult *r, int row, int col, char *buf, size_t size)
{
    const char *t = PQgetvalue(r, row, col);
    size_t len = (size_t)PQgetlength(r, row, col);
    if (len >= size)
        len = size - 1;
    if (len)
        memcpy(buf, t, len);
    buf[len] = '\0';
}

/* A malloc'd copy of a text column in *out (NULL for SQL NULL). 0 / -1. */
static int get_dup(const PGresult *r, int row, int col, char **out)
{
    *out = NULL;
    if (PQgetisnull(r, row, col))
        return 0;
    size_t len = (size_t)PQgetlength(r, row, col);
    char *p = malloc(len + 1);
    if (!p)
        return -1;
    memcpy(p, PQgetvalue(r, row, col), len);
    p[len] = '\0';
    *out = p;
    return 0;
}

/* Statements that return no rows: 0 / -1. Lock taken here. */
static int run_command(pg_store *s, int q, const params *p)
{
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, q, p, NULL);
    pthread_mutex_unlock(&s->lock);
    PQclear(r);
    return r ? 0 : -1;
}

/* A statement returning one number in its first row, or dflt for no row;
 * -1 on error. Lock taken here. */
static int64_t run_number(pg_store *s, int q, const params *p, int64_t dflt)
{
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, q, p, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int64_t v = PQntuples(r) > 0 ? get_i64(r, 0, 0) : dflt;
    PQclear(r);
    return v;
}

/* The rows of r as a malloc'd array of `size`-byte elements filled by
 * fill (0 / -1); on failure the ones filled are cleared with clear (may
 * be NULL) and freed. 0 / -1. */
static int collect(const PGresult *r, size_t size, int (*fill)(const PGresult *, int, void *),
                   void (*clear)(void *), void **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int rows = PQntuples(r);
    if (rows <= 0)
        return 0;
    char *arr = calloc((size_t)rows, size);
    if (!arr)
        return -1;
    for (int i = 0; i < rows; i++) {
        if (fill(r, i, arr + (size_t)i * size) != 0) {
            for (int k = 0; clear && k < i; k++)
                clear(arr + (size_t)k * size);
            free(arr);
            return -1;
        }
    }
    *out = arr;
    *n = (size_t)rows;
    return 0;
}

/* Runs a listing statement and collects its rows (see collect). 0 / -1. */
static int run_list(pg_store *s, int q, const params *p, size_t size, int (*fill)(const PGresult *, int, void *),
                    void (*clear)(void *), void **out, size_t *n)
{
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, q, p, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int ret = collect(r, size, fill, clear, out, n);
    PQclear(r);
    return ret;
}

/* ---- opening: connection and migrations --------------------------------------------- */

/* Runs constant SQL (one or more statements) with no parameters. 0 / -1 (errmsg). */
static int exec_plain(pg_store *s, const char *sql)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        set_error(s, r);
    PQclear(r);
    return ok ? 0 : -1;
}

/* Creates or migrates the schema in one transaction under the advisory
 * lock. 0 / -1 (err). */
static int migrate(pg_store *s, char *err, size_t errlen)
{
    if (exec_plain(s, "BEGIN") != 0 || exec_plain(s, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")") != 0 ||
        exec_plain(s, "CREATE TABLE IF NOT EXISTS bouncecheck_meta(k text PRIMARY KEY, v bigint NOT NULL)") != 0) {
        snprintf(err, errlen, "database %s: %s", s->shown, s->errmsg);
        exec_plain(s, "ROLLBACK");
        return -1;
    }
    int64_t version = -1;
    PGresult *r = PQexec(s->conn, "SELECT v FROM bouncecheck_meta WHERE k = 'schema_version'");
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        version = PQntuples(r) > 0 ? get_i64(r, 0, 0) : 0;
    else
        set_error(s, r);
    PQclear(r);
    if (version < 0) {
        snprintf(err, errlen, "database %s: cannot read its schema version: %s", s->shown, s->errmsg);
        exec_plain(s, "ROLLBACK");
        return -1;
    }
    if (version > ST_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "database %s has schema version %lld; this bouncecheck knows version %d at most"
                 " (a newer bouncecheck made it: upgrade this one)",
                 s->shown, (long long)version, ST_SCHEMA_VERSION);
        exec_plain(s, "ROLLBACK");
        return -1;
    }
    while (version < ST_SCHEMA_VERSION) {
        params p = { 0 };
        p_i64(&p, version + 1);
        PGresult *u = NULL;
        bool done = exec_plain(s, migrations[version]) == 0;
        for (size_t k = 0; done && k < sizeof migrations_more[0] / sizeof migrations_more[0][0]; k++)
            done = !migrations_more[version][k] || exec_plain(s, migrations_more[version][k]) == 0;
        if (done) {
            u = PQexecParams(s->conn,
                             "INSERT INTO bouncecheck_meta(k, v) VALUES ('schema_version', $1::bigint)"
                             " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                             p.n, NULL, p.v, p.len, p.fmt, 0);
            if (PQresultStatus(u) != PGRES_COMMAND_OK) {
                set_error(s, u);
                PQclear(u);
                u = NULL;
            }
        }
        if (!u) {
            snprintf(err, errlen, "database %s: cannot migrate it from schema version %lld: %s", s->shown,
                     (long long)version, s->errmsg);
            exec_plain(s, "ROLLBACK");
            return -1;
        }
        PQclear(u);
        version++;
    }
    if (exec_plain(s, "COMMIT") != 0) {
        snprintf(err, errlen, "database %s: %s", s->shown, s->errmsg);
        exec_plain(s, "ROLLBACK");
        return -1;
    }
    return 0;
}

static void pg_close(void *be)
{
    pg_store *s = be;
    if (!s)
        return;
    PQfinish(s->conn);
    if (s->password) {
        OPENSSL_cleanse(s->password, strlen(s->password));
        free(s->password);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- API keys ------------------------------------------------------------------------ */

static int fill_key(const PGresult *r, int row, void *elem)
{
    st_key *k = elem;
    memset(k, 0, sizeof *k);
    get_copy(r, row, 0, k->id, sizeof k->id);
    get_copy(r, row, 1, k->name, sizeof k->name);
    k->created_at = get_i64(r, row, 2);
    k->revoked_at = get_i64(r, row, 3);
    k->rate = strtod(PQgetvalue(r, row, 4), NULL);
    k->daily = get_i64(r, row, 5);
    k->admin = PQgetvalue(r, row, 6)[0] == 't';
    return 0;
}

static int pg_key_insert(void *be, const st_key *k, const unsigned char hash[32], char *err, size_t errlen)
{
    pg_store *s = be;
    params p = { 0 };
    p_text(&p, k->id);
    p_bytes(&p, hash, 32);
    p_text(&p, k->name);
    p_i64(&p, k->created_at);
    p_f64(&p, k->rate);
    p_i64(&p, k->daily);
    p_bool(&p, k->admin);
    char state[6];
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_KEY_INSERT, &p, state);
    int ret = 0;
    if (r) {
        s->own_bumps++;
    } else if (strcmp(state, "23505") == 0) { /* unique_violation */
        ret = 1;
    } else {
        snprintf(err, errlen, "cannot store the key: %s", s->errmsg);
        ret = -1;
    }
    pthread_mutex_unlock(&s->lock);
    PQclear(r);
    return ret;
}

static int pg_key_list(void *be, st_key **keys, size_t *n)
{
    void *arr = NULL;
    int ret = run_list(be, Q_KEY_LIST, NULL, sizeof **keys, fill_key, NULL, &arr, n);
    *keys = arr;
    return ret;
}

static int pg_key_revoke(void *be, const char *id, int64_t now)
{
    pg_store *s = be;
    params p = { 0 };
    p_text(&p, id);
    p_i64(&p, now);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_KEY_REVOKE, &p, NULL);
    int ret = -1;
    if (r && PQntuples(r) == 1) {
        bool bumped = get_i64(r, 0, 0) > 0;
        bool exists = PQgetvalue(r, 0, 1)[0] == 't';
        if (bumped)
            s->own_bumps++;
        ret = bumped || exists ? 1 : 0;
    }
    pthread_mutex_unlock(&s->lock);
    PQclear(r);
    return ret;
}

static int pg_key_find(void *be, const unsigned char hash[32], st_key *k)
{
    pg_store *s = be;
    params p = { 0 };
    p_bytes(&p, hash, 32);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_KEY_FIND, &p, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int ret = PQntuples(r) > 0 ? 1 : 0;
    if (ret)
        fill_key(r, 0, k);
    PQclear(r);
    return ret;
}

static int64_t pg_key_count(void *be)
{
    return run_number(be, Q_KEY_COUNT, NULL, -1);
}

static int64_t pg_version(void *be)
{
    pg_store *s = be;
    /* read and corrected under one lock: a bump of this handle in between
     * would otherwise look like (or hide) another one's change */
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_VERSION, NULL, NULL);
    int64_t v = r && PQntuples(r) > 0 ? get_i64(r, 0, 0) - s->own_bumps : -1;
    pthread_mutex_unlock(&s->lock);
    PQclear(r);
    return v;
}

static int64_t pg_usage_add(void *be, const char *key_id, const char *day, int64_t n)
{
    params p = { 0 };
    p_text(&p, key_id);
    p_text(&p, day);
    if (n != 0)
        p_i64(&p, n);
    return run_number(be, n == 0 ? Q_USAGE_GET : Q_USAGE_ADD, &p, 0);
}

/* ---- jobs ------------------------------------------------------------------------------ */

static int fill_job(const PGresult *r, int row, void *elem)
{
    st_job *j = elem;
    memset(j, 0, sizeof *j);
    get_copy(r, row, 0, j->id, sizeof j->id);
    get_copy(r, row, 1, j->key_id, sizeof j->key_id);
    int64_t st = get_i64(r, row, 3);
    j->status = st >= ST_JOB_QUEUED && st <= ST_JOB_CANCELLED ? (st_job_status)st : ST_JOB_FAILED;
    j->total = get_i64(r, row, 4);
    j->processed = get_i64(r, row, 5);
    for (int i = 0; i < 4; i++)
        j->counts[i] = get_i64(r, row, 6 + i);
    j->created_at = get_i64(r, row, 10);
    j->finished_at = get_i64(r, row, 11);
    j->webhook_state = (int)get_i64(r, row, 14);
    get_copy(r, row, 15, j->format, sizeof j->format);
    if (get_dup(r, row, 2, &j->name) != 0 || get_dup(r, row, 12, &j->error) != 0 ||
        get_dup(r, row, 13, &j->webhook) != 0 || get_dup(r, row, 16, &j->reasons) != 0) {
        st_job_clear(j);
        return -1;
    }
    return 0;
}

static void clear_job(void *elem)
{
    st_job_clear(elem);
}

static int fill_id(const PGresult *r, int row, void *elem)
{
    get_copy(r, row, 0, elem, ST_JOB_ID_LEN + 1);
    return 0;
}

static int pg_job_insert(void *be, const st_job *j)
{
    params p = { 0 };
    p_text(&p, j->id);
    p_text(&p, j->key_id);
    p_text(&p, j->name);
    p_i64(&p, (int64_t)j->status);
    p_i64(&p, j->total);
    p_i64(&p, j->processed);
    for (int i = 0; i < 4; i++)
        p_i64(&p, j->counts[i]);
    p_i64(&p, j->created_at);
    p_i64(&p, j->finished_at);
    p_text(&p, j->error);
    p_text(&p, j->webhook);
    p_i64(&p, j->webhook_state);
    p_text(&p, j->format);
    p_text(&p, j->reasons ? j->reasons : "{}");
    return run_command(be, Q_JOB_INSERT, &p);
}

static int pg_job_get(void *be, const char *id, st_job *j)
{
    pg_store *s = be;
    params p = { 0 };
    p_text(&p, id);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_JOB_GET, &p, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int ret = 0;
    if (PQntuples(r) > 0)
        ret = fill_job(r, 0, j) == 0 ? 1 : -1;
    PQclear(r);
    return ret;
}

static int pg_job_progress(void *be, const char *id, int64_t processed, const int64_t counts[4])
{
    params p = { 0 };
    p_text(&p, id);
    p_i64(&p, processed);
    for (int i = 0; i < 4; i++)
        p_i64(&p, counts[i]);
    return run_command(be, Q_JOB_PROGRESS, &p);
}

static int pg_job_set_status(void *be, const char *id, st_job_status st, int64_t finished_at, const char *error)
{
    params p = { 0 };
    p_text(&p, id);
    p_i64(&p, (int64_t)st);
    p_i64(&p, finished_at);
    p_text(&p, error);
    return run_command(be, Q_JOB_STATUS, &p);
}

static int pg_job_set_reasons(void *be, const char *id, const char *reasons)
{
    params p = { 0 };
    p_text(&p, id);
    p_text(&p, reasons ? reasons : "{}");
    return run_command(be, Q_JOB_REASONS, &p);
}

static int pg_job_set_webhook_state(void *be, const char *id, int state)
{
    params p = { 0 };
    p_text(&p, id);
    p_i64(&p, state);
    return run_command(be, Q_JOB_WEBHOOK, &p);
}

static int pg_job_list(void *be, const char *key_id, st_job **jobs, size_t *n)
{
    params p = { 0 };
    if (key_id)
        p_text(&p, key_id);
    void *arr = NULL;
    int ret = run_list(be, key_id ? Q_JOB_LIST_KEY : Q_JOB_LIST_ALL, &p, sizeof **jobs, fill_job, clear_job, &arr,
                       n);
    *jobs = arr;
    return ret;
}

static int pg_job_list_status(void *be, st_job_status st, st_job **jobs, size_t *n)
{
    params p = { 0 };
    p_i64(&p, (int64_t)st);
    void *arr = NULL;
    int ret = run_list(be, Q_JOB_LIST_STATUS, &p, sizeof **jobs, fill_job, clear_job, &arr, n);
    *jobs = arr;
    return ret;
}

static int pg_job_expired(void *be, int64_t before, char (**ids)[ST_JOB_ID_LEN + 1], size_t *n)
{
    params p = { 0 };
    p_i64(&p, before);
    void *arr = NULL;
    int ret = run_list(be, Q_JOB_EXPIRED, &p, ST_JOB_ID_LEN + 1, fill_id, NULL, &arr, n);
    *ids = arr;
    return ret;
}

/* Runs a DELETE or an UPDATE; the number of rows it changed, or -1. */
static int64_t run_delete(pg_store *s, int q, const params *p)
{
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, q, p, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int64_t v = (int64_t)strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return v;
}

static int pg_job_delete(void *be, const char *id)
{
    params p = { 0 };
    p_text(&p, id);
    int64_t v = run_delete(be, Q_JOB_DELETE, &p);
    return v < 0 ? -1 : v > 0 ? 1 : 0;
}

/* ---- the verification cache ------------------------------------------------------------ */

static int pg_cache_get(void *be, const char *addr, int64_t now, char **json)
{
    pg_store *s = be;
    params p = { 0 };
    p_text(&p, addr);
    p_i64(&p, now);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_CACHE_GET, &p, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int ret = 0;
    if (PQntuples(r) > 0)
        ret = get_dup(r, 0, 0, json) == 0 && *json ? 1 : -1;
    PQclear(r);
    return ret;
}

static int pg_cache_put(void *be, const char *addr, const char *json, int64_t expires)
{
    params p = { 0 };
    p_text(&p, addr);
    p_text(&p, json);
    p_i64(&p, expires);
    return run_command(be, Q_CACHE_PUT, &p);
}

static int64_t pg_cache_purge(void *be, int64_t now)
{
    params p = { 0 };
    p_i64(&p, now);
    return run_delete(be, Q_CACHE_PURGE, &p);
}

/* ---- job rows ------------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* One row of st_rows_add, sorted by (domain, row): its dseq is its place
 * among its pair's rows. */
typedef struct add_ent {
    const st_row_in *in;
    const char *domain; /* repaired when not UTF-8 */
    int64_t dseq;
    bool skip; /* there already, or a repeat of the row before */
} add_ent;

static int cmp_add_ent(const void *a, const void *b)
{
    const add_ent *x = a, *y = b;
    int c = strcmp(x->domain, y->domain);
    if (c)
        return c;
    return x->in->row < y->in->row ? -1 : x->in->row > y->in->row;
}

static int cmp_add_row(const void *a, const void *b)
{
    const add_ent *x = a, *y = b;
    if (x->in->row != y->in->row)
        return x->in->row < y->in->row ? -1 : 1;
    return x->in < y->in ? -1 : x->in > y->in; /* the first given first */
}

/* A pair's end and highest row number, as Q_ROWS_PAIRS gives them. */
typedef struct add_pair {
    const char *domain; /* in the result */
    int64_t end, last;  /* last: INT64_MAX when not known */
} add_pair;

static int cmp_add_pair(const void *a, const void *b)
{
    return strcmp(((const add_pair *)a)->domain, ((const add_pair *)b)->domain);
}

/* Rows per chunk at most (schema 11): a claim of the worker's default 200
 * rows reads two or three chunks. */
#define PUBLISH_CHUNK 100

/* Inserts the entries not skipped (sorted by pair, with their dseq) as
 * chunks: a new one at each pair and every PUBLISH_CHUNK rows. 0 / -1
 * (errmsg). Lock held, in a transaction. */
static int insert_chunks(pg_store *s, const char *job_id, const add_ent *e, size_t n)
{
    pg_array ch, dom, dseq, row, weight, addr, fields;
    arr_begin(&ch, OID_INT8);
    arr_begin(&dom, OID_TEXT);
    arr_begin(&dseq, OID_INT8);
    arr_begin(&row, OID_INT8);
    arr_begin(&weight, OID_INT8);
    arr_begin(&addr, OID_TEXT);
    arr_begin(&fields, OID_BYTEA);
    int64_t chunk = -1, in_chunk = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (e[i].skip)
            continue;
        const st_row_in *in = e[i].in;
        if (!prev || strcmp(prev, e[i].domain) != 0 || in_chunk == PUBLISH_CHUNK) {
            chunk++;
            in_chunk = 0;
        }
        prev = e[i].domain;
        in_chunk++;
        arr_i64(&ch, chunk);
        arr_bytes(&dom, e[i].domain, strlen(e[i].domain));
        arr_i64(&dseq, e[i].dseq);
        arr_i64(&row, in->row);
        arr_i64(&weight, in->weight > 0 ? in->weight : 1);
        arr_text(&addr, in->addr);
        arr_bytes(&fields, in->fields ? (in->fields_len ? in->fields : "") : NULL,
                  in->fields ? in->fields_len : 0);
    }
    params p = { 0 };
    p_text(&p, job_id);
    int ret = -1;
    if (!arr_param(&p, &ch) || !arr_param(&p, &dom) || !arr_param(&p, &dseq) || !arr_param(&p, &row) ||
        !arr_param(&p, &weight) || !arr_param(&p, &addr) || !arr_param(&p, &fields)) {
        snprintf(s->errmsg, sizeof s->errmsg, "out of memory (or rows too large)");
    } else {
        PGresult *r = run(s, Q_ROWS_CHUNKS, &p, NULL);
        ret = r ? 0 : -1;
        PQclear(r);
    }
    arr_free(&ch);
    arr_free(&dom);
    arr_free(&dseq);
    arr_free(&row);
    arr_free(&weight);
    arr_free(&addr);
    arr_free(&fields);
    return ret;
}

/* The rows of e (sorted) among the pairs' rows: reads each pair's end and
 * highest row (locking the pairs), marks the rows there already (those
 * not above their pair's highest row are looked for among the pair's
 * chunks) and gives the others their dseq; np gets the pairs. 0 / -1
 * (errmsg). Lock held, in a transaction. */
static int place_rows(pg_store *s, const char *job_id, add_ent *e, size_t n, PGresult **pairs, add_pair **pv,
                      size_t *np)
{
    *pairs = NULL;
    *pv = NULL;
    *np = 0;
    pg_array dom;
    arr_begin(&dom, OID_TEXT);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(e[i].domain, e[i - 1].domain) != 0)
            arr_bytes(&dom, e[i].domain, strlen(e[i].domain));
    params p = { 0 };
    p_text(&p, job_id);
    PGresult *r = NULL;
    if (!arr_param(&p, &dom))
        snprintf(s->errmsg, sizeof s->errmsg, "out of memory (or rows too large)");
    else
        r = run(s, Q_ROWS_PAIRS, &p, NULL);
    arr_free(&dom);
    if (!r)
        return -1;
    int k = PQntuples(r);
    add_pair *v = calloc(k > 0 ? (size_t)k : 1, sizeof *v);
    if (!v) {
        PQclear(r);
        snprintf(s->errmsg, sizeof s->errmsg, "out of memory");
        return -1;
    }
    for (int i = 0; i < k; i++)
        v[i] = (add_pair){ .domain = PQgetvalue(r, i, 0),
                           .end = get_i64(r, i, 1),
                           .last = PQgetisnull(r, i, 2) ? INT64_MAX : get_i64(r, i, 2) };
    qsort(v, (size_t)k, sizeof *v, cmp_add_pair);
    *pairs = r;
    *pv = v;
    *np = (size_t)k;
    /* the rows a pair may hold already: looked for */
    pg_array maybe, mdom;
    arr_begin(&maybe, OID_INT8);
    arr_begin(&mdom, OID_TEXT);
    const char *md = NULL; /* the last pair named in mdom */
    for (size_t i = 0; i < n; i++) {
        add_pair key = { .domain = e[i].domain };
        const add_pair *pp = bsearch(&key, v, (size_t)k, sizeof *v, cmp_add_pair);
        if (!pp) {
            arr_free(&maybe);
            arr_free(&mdom);
            snprintf(s->errmsg, sizeof s->errmsg, "the job's domain %s was not found", e[i].domain);
            return -1;
        }
        if (!e[i].skip && e[i].in->row <= pp->last) {
            if (!md || strcmp(md, e[i].domain) != 0)
                arr_bytes(&mdom, e[i].domain, strlen(e[i].domain));
            md = e[i].domain;
            arr_i64(&maybe, e[i].in->row);
        }
    }
    int ret = 0;
    if (maybe.n > 0) {
        params q = { 0 };
        p_text(&q, job_id);
        PGresult *x = NULL;
        if (!arr_param(&q, &mdom) || !arr_param(&q, &maybe))
            snprintf(s->errmsg, sizeof s->errmsg, "out of memory (or rows too large)");
        else
            x = run(s, Q_ROWS_EXISTING, &q, NULL);
        if (!x) {
            ret = -1;
        } else {
            int there = PQntuples(x);
            int64_t *rows = malloc((there > 0 ? (size_t)there : 1) * sizeof *rows);
            if (!rows) {
                snprintf(s->errmsg, sizeof s->errmsg, "out of memory");
                ret = -1;
            }
            for (int i = 0; rows && i < there; i++)
                rows[i] = get_i64(x, i, 0);
            if (rows)
                qsort(rows, (size_t)there, sizeof *rows, cmp_i64);
            for (size_t i = 0; rows && i < n; i++)
                e[i].skip = e[i].skip || bsearch(&e[i].in->row, rows, (size_t)there, sizeof *rows, cmp_i64);
            free(rows);
        }
        PQclear(x);
    }
    arr_free(&maybe);
    arr_free(&mdom);
    if (ret != 0)
        return -1;
    /* each pair's new rows, in row order, after its end */
    for (size_t i = 0, j = 0; i < n; i = j) {
        add_pair key = { .domain = e[i].domain };
        add_pair *pp = bsearch(&key, v, (size_t)k, sizeof *v, cmp_add_pair);
        int64_t next = pp->end, last = -1;
        for (j = i; j < n && strcmp(e[j].domain, e[i].domain) == 0; j++) {
            if (!e[j].skip) {
                e[j].dseq = next++;
                last = e[j].in->row;
            }
        }
        pp->end = next;
        pp->last = last; /* the pair's highest new row (-1: none) */
    }
    return 0;
}

/* Adds rows[0..n) of job_id: the pairs' ends and highest rows read and
 * locked (Q_ROWS_PAIRS), the rows that may be there looked for, the new
 * ones written as chunks, the pairs and the job's counter moved on. Rows
 * added, or -1 (errmsg). Lock held, in a transaction. */
static int64_t add_rows(pg_store *s, const char *job_id, const st_row_in *rows, size_t n)
{
    add_ent *e = calloc(n, sizeof *e);
    char **fixed = calloc(n, sizeof *fixed);
    PGresult *pairs = NULL;
    add_pair *pv = NULL;
    size_t np = 0;
    int64_t ret = -1;
    if (!e || !fixed) {
        snprintf(s->errmsg, sizeof s->errmsg, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        fixed[i] = utf8_repaired(rows[i].domain);
        e[i] = (add_ent){ .in = &rows[i], .domain = fixed[i] ? fixed[i] : rows[i].domain };
    }
    /* a row number given twice: its first row only */
    qsort(e, n, sizeof *e, cmp_add_row);
    for (size_t i = 1; i < n; i++)
        e[i].skip = e[i].in->row == e[i - 1].in->row;
    qsort(e, n, sizeof *e, cmp_add_ent);
    if (place_rows(s, job_id, e, n, &pairs, &pv, &np) != 0)
        goto out;
    int64_t added = 0, weight = 0;
    for (size_t i = 0; i < n; i++) {
        if (!e[i].skip) {
            added++;
            weight += e[i].in->weight > 0 ? e[i].in->weight : 1;
        }
    }
    if (added > 0 && insert_chunks(s, job_id, e, n) != 0)
        goto out;
    pg_array dom, end, last;
    arr_begin(&dom, OID_TEXT);
    arr_begin(&end, OID_INT8);
    arr_begin(&last, OID_INT8);
    for (size_t i = 0; i < np; i++) {
        arr_bytes(&dom, pv[i].domain, strlen(pv[i].domain));
        arr_i64(&end, pv[i].end);
        arr_i64(&last, pv[i].last);
    }
    params p = { 0 };
    p_text(&p, job_id);
    if (!arr_param(&p, &dom) || !arr_param(&p, &end) || !arr_param(&p, &last)) {
        snprintf(s->errmsg, sizeof s->errmsg, "out of memory (or rows too large)");
    } else {
        p_i64(&p, weight);
        PGresult *r = run(s, Q_ROWS_PUBLISHED, &p, NULL);
        if (r)
            ret = added;
        PQclear(r);
    }
    arr_free(&dom);
    arr_free(&end);
    arr_free(&last);
out:
    for (size_t i = 0; fixed && i < n; i++)
        free(fixed[i]);
    free(fixed);
    free(e);
    free(pv);
    PQclear(pairs);
    return ret;
}

static int64_t pg_rows_add(void *be, const char *job_id, const st_row_in *rows, size_t n, char *err, size_t errlen)
{
    pg_store *s = be;
    params p = { 0 };
    p_text(&p, job_id);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_JOB_EXISTS, &p, NULL);
    int64_t added = 0;
    if (!r) {
        snprintf(err, errlen, "cannot add rows: %s", s->errmsg);
        added = -1;
    } else if (PQntuples(r) == 0) {
        snprintf(err, errlen, "cannot add rows: no job %s", job_id);
        added = -1;
    }
    PQclear(r);
    if (added == 0 && exec_plain(s, "BEGIN") != 0) {
        snprintf(err, errlen, "cannot add rows: %s", s->errmsg);
        added = -1;
    }
    if (added == 0) {
        added = add_rows(s, job_id, rows, n);
        if (added < 0) {
            snprintf(err, errlen, "cannot add rows: %s", s->errmsg);
            exec_plain(s, "ROLLBACK");
        }
    }
    if (added >= 0 && exec_plain(s, "COMMIT") != 0) {
        snprintf(err, errlen, "cannot add rows: %s", s->errmsg);
        exec_plain(s, "ROLLBACK");
        added = -1;
    }
    pthread_mutex_unlock(&s->lock);
    return added;
}

/* A bytea column (text format) as malloc'd bytes in *out, *len; NULL for
 * SQL NULL. 0 / -1 (out of memory). */
static int get_bytes(const PGresult *r, int row, int col, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (PQgetisnull(r, row, col))
        return 0;
    size_t n = 0;
    unsigned char *u = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
    if (!u)
        return -1;
    unsigned char *b = malloc(n ? n : 1);
    if (!b) {
        PQfreemem(u);
        return -1;
    }
    if (n)
        memcpy(b, u, n);
    PQfreemem(u);
    *out = b;
    *len = n;
    return 0;
}

static int cmp_claim_row(const void *a, const void *b)
{
    const st_claim_row *x = a, *y = b;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* Fills c from bc_claim's rows (job, domain, row, address, fields). 0 / -1. */
static int claim_rows_from(const PGresult *r, st_claim *c)
{
    int rows = PQntuples(r);
    c->rows = calloc((size_t)rows, sizeof *c->rows);
    if (!c->rows)
        return -1;
    get_copy(r, 0, 0, c->job_id, sizeof c->job_id);
    if (get_dup(r, 0, 1, &c->domain) != 0 || !c->domain)
        return -1;
    for (int i = 0; i < rows; i++) {
        st_claim_row *cr = &c->rows[i];
        cr->row = get_i64(r, i, 2);
        c->n++;
        if (get_dup(r, i, 3, &cr->addr) != 0 || !cr->addr || get_bytes(r, i, 4, &cr->fields, &cr->fields_len) != 0)
            return -1;
    }
    qsort(c->rows, c->n, sizeof *c->rows, cmp_claim_row);
    return 0;
}

/* One call of bc_claim (schema 9): the candidates, their locks and the
 * claim are one statement, one round trip. 1 claimed, 0 nothing, -1 error
 * (errmsg; rows claimed when memory ran out stay claimed until their lease
 * expires). */
static int pg_rows_claim(void *be, const char *worker_id, const char *claim_id, size_t max_rows, int64_t lease_ms,
                         int64_t now_ms, unsigned flags, st_claim *c)
{
    pg_store *s = be;
    params q = { 0 };
    p_text(&q, worker_id);
    p_text(&q, claim_id);
    p_i64(&q, now_ms + lease_ms);
    p_i64(&q, now_ms);
    p_i64(&q, max_rows > INT64_MAX ? INT64_MAX : (int64_t)max_rows);
    p_bool(&q, (flags & ST_CLAIM_EXCLUSIVE) != 0);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_ROWS_CLAIM, &q, NULL);
    int ret = 0;
    if (!r) {
        ret = -1;
    } else if (PQntuples(r) > 0) {
        if (claim_rows_from(r, c) != 0) {
            snprintf(s->errmsg, sizeof s->errmsg, "out of memory");
            ret = -1; /* the rows stay claimed until their lease expires */
        } else {
            memcpy(c->id, claim_id, ST_CLAIM_ID_LEN);
            c->id[ST_CLAIM_ID_LEN] = '\0';
            c->lease_until = now_ms + lease_ms;
            ret = 1;
        }
    }
    PQclear(r);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int64_t pg_rows_renew(void *be, const char *claim_id, int64_t lease_until)
{
    params p = { 0 };
    p_text(&p, claim_id);
    p_i64(&p, lease_until);
    return run_number(be, Q_ROWS_RENEW, &p, 0);
}

static int64_t pg_rows_release(void *be, const char *claim_id)
{
    params p = { 0 };
    p_text(&p, claim_id);
    return run_number(be, Q_ROWS_RELEASE, &p, 0);
}

/* Results per statement of st_rows_result_batch. */
#define RESULT_CHUNK 2000

/* Writes res[0..n) (row numbers distinct, n <= RESULT_CHUNK) through claim_id
 * with one statement; rcs[i] gets each answer. Written, or -1 (errmsg).
 * Lock held. */
static int64_t result_chunk(pg_store *s, const char *claim_id, const st_row_result *res, size_t n, int *rcs)
{
    pg_array no, status, reason, json;
    arr_begin(&no, OID_INT8);
    arr_begin(&status, OID_INT2);
    arr_begin(&reason, OID_TEXT);
    arr_begin(&json, OID_TEXT);
    for (size_t i = 0; i < n; i++) {
        arr_i64(&no, res[i].row);
        arr_i16(&status, res[i].status);
        arr_text(&reason, res[i].reason);
        arr_text(&json, res[i].json);
    }
    params p = { 0 };
    p_text(&p, claim_id);
    int64_t written = -1;
    if (!arr_param(&p, &no) || !arr_param(&p, &status) || !arr_param(&p, &reason) || !arr_param(&p, &json)) {
        snprintf(s->errmsg, sizeof s->errmsg, "out of memory (or results too large)");
    } else {
        PGresult *r = run(s, Q_ROWS_RESULT_BATCH, &p, NULL);
        if (r && PQntuples(r) == (int)n) {
            written = 0;
            for (int i = 0; i < (int)n; i++) {
                int64_t k = get_i64(r, i, 0) - 1, a = get_i64(r, i, 1);
                if (k < 0 || k >= (int64_t)n)
                    continue;
                rcs[k] = a == 1 ? ST_RESULT_WRITTEN : a == 0 ? ST_RESULT_REPEAT : ST_RESULT_LOST;
                written += a == 1;
            }
        } else if (r) {
            snprintf(s->errmsg, sizeof s->errmsg, "results: %d answers for %zu rows", PQntuples(r), n);
        }
        PQclear(r);
    }
    arr_free(&no);
    arr_free(&status);
    arr_free(&reason);
    arr_free(&json);
    return written;
}

/* Whether res[0..n) names a row twice (a statement writes a row once). */
static bool has_repeats(const st_row_result *res, size_t n)
{
    int64_t *rows = malloc(n * sizeof *rows);
    if (!rows)
        return true; /* the slow path */
    for (size_t i = 0; i < n; i++)
        rows[i] = res[i].row;
    qsort(rows, n, sizeof *rows, cmp_i64);
    bool rep = false;
    for (size_t i = 1; i < n && !rep; i++)
        rep = rows[i] == rows[i - 1];
    free(rows);
    return rep;
}

/* A batch of results: one statement per RESULT_CHUNK rows (the worker's
 * batches are smaller), in one transaction. A batch that names a row
 * twice (not the worker's) goes one row per statement, so that the
 * second gets the answer for a row already written. */
static int64_t pg_rows_result(void *be, const char *claim_id, const st_row_result *res, size_t n, int *rcs)
{
    pg_store *s = be;
    int64_t written = 0;
    size_t step = has_repeats(res, n) ? 1 : RESULT_CHUNK;
    pthread_mutex_lock(&s->lock);
    bool tx = n > step;
    if (ensure_conn(s) != 0 || (tx && exec_plain(s, "BEGIN") != 0)) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    for (size_t i = 0; written >= 0 && i < n; i += step) {
        int64_t k = result_chunk(s, claim_id, res + i, n - i < step ? n - i : step, rcs + i);
        written = k < 0 ? -1 : written + k;
    }
    if (tx && written >= 0 && exec_plain(s, "COMMIT") != 0)
        written = -1;
    if (tx && written < 0)
        exec_plain(s, "ROLLBACK");
    pthread_mutex_unlock(&s->lock);
    return written;
}

/* Every SWEEP_MS of a coordinator's counts: VACUUM of job_domains and
 * job_claims. Each claim moves a pair's cursor and each batch of results a
 * claim's open rows, so both small tables leave a dead entry per change in
 * the partial indexes the claims walk (the pairs with rows left, the
 * claims with open rows): some thousands a minute at a job's pace, which
 * autovacuum (a minute between looks) lets pile up, and the walks of a
 * million-row job slowed down with them (2.4 ms per listing at 300,000
 * rows). A sweep of both takes a few milliseconds; SKIP_LOCKED: never
 * waits. A failure is not the caller's: ignored. */
#define SWEEP_MS 2000

static void sweep_claim_tables(pg_store *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (s->swept_at != 0 && now - s->swept_at < SWEEP_MS)
        return;
    s->swept_at = now;
    PGresult *r = PQexec(s->conn, "VACUUM (SKIP_LOCKED) job_domains, job_claims");
    PQclear(r);
}

static int pg_rows_counts(void *be, const char *job_id, st_row_counts *c)
{
    pg_store *s = be;
    params p = { 0 };
    p_text(&p, job_id);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_ROWS_COUNTS, &p, NULL);
    if (r && PQtransactionStatus(s->conn) == PQTRANS_IDLE)
        sweep_claim_tables(s);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        st_row_counts_add(c, get_i64(r, i, 0), get_i64(r, i, 1), get_i64(r, i, 2));
    }
    PQclear(r);
    return 0;
}

/* Batches of results per page: a batch holds the results one call wrote
 * (the worker's: up to a claim's rows). */
#define PAGE_BATCHES_DIV 50

/* A page of st_rows_results (schema 11): the results of the batches after
 * batch `after`, in the order they were written (not in row order: that
 * would sort a job's results), *last the last batch. *got is limit while
 * a full page of batches came (more may follow), else the rows given. */
static int pg_rows_page(void *be, const char *job_id, int64_t after, int limit,
                        int (*cb)(void *ctx, const st_row_done *row), void *ctx, int64_t *last, int *got)
{
    pg_store *s = be;
    *got = 0;
    int batches = limit / PAGE_BATCHES_DIV > 0 ? limit / PAGE_BATCHES_DIV : 1;
    params p = { 0 };
    p_text(&p, job_id);
    p_i64(&p, after);
    p_i64(&p, batches);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_ROWS_PAGE, &p, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int ret = 0, rows = PQntuples(r), seen = 0;
    int64_t seq = after;
    for (int i = 0; i < rows && ret == 0; i++) {
        st_row_done d = { 0 };
        unsigned char *fields = NULL;
        int64_t b = get_i64(r, i, 0);
        seen += b != seq;
        seq = b;
        d.row = get_i64(r, i, 1);
        d.addr = PQgetvalue(r, i, 2);
        if (get_bytes(r, i, 3, &fields, &d.fields_len) != 0) {
            ret = -1;
            break;
        }
        d.fields = fields;
        d.status = (int)get_i64(r, i, 4);
        d.reason = PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5);
        d.json = PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6);
        ret = cb(ctx, &d);
        free(fields);
    }
    PQclear(r);
    *last = seq;
    *got = seen >= batches ? limit : rows;
    return ret;
}

/* The coordinator's collection (schema 11): the rows of up to max_ranges
 * batches of results not copied yet; mark->lo gets the batches (claim
 * ids unused: ""). */
static int pg_rows_collect_done(void *be, const char *job_id, int max_ranges,
                                int (*cb)(void *ctx, const st_row_done *row), void *ctx, st_collect_mark *mark)
{
    pg_store *s = be;
    params p = { 0 };
    p_text(&p, job_id);
    p_i64(&p, max_ranges);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_ROWS_NEW_RESULTS, &p, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int rows = PQntuples(r), ret = rows > 0;
    if (rows > 0) {
        mark->claim = calloc((size_t)max_ranges, sizeof *mark->claim);
        mark->lo = calloc((size_t)max_ranges, sizeof *mark->lo);
        if (!mark->claim || !mark->lo) {
            pthread_mutex_lock(&s->lock);
            snprintf(s->errmsg, sizeof s->errmsg, "out of memory");
            pthread_mutex_unlock(&s->lock);
            ret = -1;
        }
    }
    for (int i = 0; i < rows && ret == 1; i++) {
        int64_t b = get_i64(r, i, 0);
        if (mark->n == 0 || mark->lo[mark->n - 1] != b) {
            if (mark->n == (size_t)max_ranges) {
                ret = -1; /* (not from this statement) */
                break;
            }
            mark->lo[mark->n++] = b;
        }
        st_row_done d = { .row = get_i64(r, i, 1),
                          .addr = PQgetvalue(r, i, 2),
                          .status = (int)get_i64(r, i, 3),
                          .reason = PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4),
                          .json = PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5) };
        if (cb(ctx, &d) != 0)
            ret = -1;
    }
    PQclear(r);
    return ret;
}

static int pg_rows_collected(void *be, const st_collect_mark *mark)
{
    pg_store *s = be;
    pg_array seq;
    arr_begin(&seq, OID_INT8);
    for (size_t i = 0; i < mark->n; i++)
        arr_i64(&seq, mark->lo[i]);
    params p = { 0 };
    int ret = -1;
    if (!arr_param(&p, &seq)) {
        pthread_mutex_lock(&s->lock);
        snprintf(s->errmsg, sizeof s->errmsg, "out of memory");
        pthread_mutex_unlock(&s->lock);
    } else {
        ret = run_command(s, Q_ROWS_COLLECTED, &p);
    }
    arr_free(&seq);
    return ret;
}

static int fill_claim_info(const PGresult *r, int row, void *elem)
{
    st_claim_info *ci = elem;
    memset(ci, 0, sizeof *ci);
    get_copy(r, row, 0, ci->id, sizeof ci->id);
    get_copy(r, row, 1, ci->job_id, sizeof ci->job_id);
    get_copy(r, row, 2, ci->holder, sizeof ci->holder);
    get_copy(r, row, 3, ci->domain, sizeof ci->domain);
    ci->rows = get_i64(r, row, 4);
    ci->lease_until = get_i64(r, row, 5);
    return 0;
}

static int pg_claims_list(void *be, int64_t now_ms, st_claim_info **out, size_t *n)
{
    params p = { 0 };
    p_i64(&p, now_ms);
    void *arr = NULL;
    int ret = run_list(be, Q_CLAIMS_LIST, &p, sizeof **out, fill_claim_info, NULL, &arr, n);
    *out = arr;
    return ret;
}

static int pg_queue_list(void *be, st_queue_info **out, size_t *n)
{
    pg_store *s = be;
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_QUEUE_LIST, NULL, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    st_queue_info *arr = rows > 0 ? calloc((size_t)rows, sizeof *arr) : NULL;
    if (rows > 0 && !arr) {
        PQclear(r);
        return -1;
    }
    size_t len = 0;
    for (int i = 0; i < rows; i++) {
        /* the rows of one job are adjacent: a new job starts a new entry */
        if (len == 0 || strcmp(arr[len - 1].job_id, PQgetvalue(r, i, 0)) != 0) {
            st_queue_info *qi = &arr[len++];
            get_copy(r, i, 0, qi->job_id, sizeof qi->job_id);
            qi->status = get_i64(r, i, 1) == ST_JOB_RUNNING ? ST_JOB_RUNNING : ST_JOB_QUEUED;
            qi->created_at = get_i64(r, i, 2);
        }
        st_row_counts_add(&arr[len - 1].c, get_i64(r, i, 3), get_i64(r, i, 4), get_i64(r, i, 5));
    }
    PQclear(r);
    *out = arr;
    *n = len;
    return 0;
}

/* ---- workers -------------------------------------------------------------------------- */

static int pg_worker_register(void *be, const st_worker_info *w)
{
    params p = { 0 };
    p_text(&p, w->id);
    p_text(&p, w->name);
    p_text(&p, w->host);
    p_text(&p, w->addrs);
    p_i64(&p, w->started_at);
    p_i64(&p, w->last_seen);
    return run_command(be, Q_WORKER_PUT, &p);
}

static int pg_worker_heartbeat(void *be, const char *id, int64_t now_ms)
{
    params p = { 0 };
    p_text(&p, id);
    p_i64(&p, now_ms);
    int64_t n = run_delete(be, Q_WORKER_SEEN, &p);
    return n < 0 ? -1 : n > 0 ? 1 : 0;
}

static int fill_worker(const PGresult *r, int row, void *elem)
{
    st_worker_info *w = elem;
    memset(w, 0, sizeof *w);
    get_copy(r, row, 0, w->id, sizeof w->id);
    get_copy(r, row, 1, w->name, sizeof w->name);
    get_copy(r, row, 2, w->host, sizeof w->host);
    get_copy(r, row, 3, w->addrs, sizeof w->addrs);
    w->started_at = get_i64(r, row, 4);
    w->last_seen = get_i64(r, row, 5);
    return 0;
}

static int pg_worker_list(void *be, st_worker_info **w, size_t *n)
{
    void *arr = NULL;
    int ret = run_list(be, Q_WORKER_LIST, NULL, sizeof **w, fill_worker, NULL, &arr, n);
    *w = arr;
    return ret;
}

static int pg_worker_remove(void *be, const char *id)
{
    params p = { 0 };
    p_text(&p, id);
    int64_t n = run_delete(be, Q_WORKER_DELETE, &p);
    return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/* ---- domain facts ------------------------------------------------------------------------ */

static int pg_domain_facts_get(void *be, const char *domain, st_domain_facts *f)
{
    pg_store *s = be;
    params p = { 0 };
    p_text(&p, domain);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_FACTS_GET, &p, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int ret = PQntuples(r) > 0;
    if (ret) {
        get_copy(r, 0, 0, f->mx_host, sizeof f->mx_host);
        int64_t aa = get_i64(r, 0, 1);
        f->accept_all = aa < 0 ? -1 : aa > 0;
        f->accept_all_at = get_i64(r, 0, 2);
        f->updated_at = get_i64(r, 0, 3);
    }
    PQclear(r);
    return ret;
}

static int pg_domain_facts_put(void *be, const char *domain, const char *mx_host, int accept_all,
                               int64_t accept_all_at, int64_t updated_at)
{
    params p = { 0 };
    p_text(&p, domain);
    p_text(&p, mx_host);
    p_i64(&p, accept_all);
    p_i64(&p, accept_all_at);
    p_i64(&p, updated_at);
    return run_command(be, Q_FACTS_PUT, &p);
}

/* ---- the host gate ----------------------------------------------------------------------- */

static int pg_host_slot_take(void *be, const char *host, int cap, const char *holder, int64_t until, int64_t now,
                             int64_t limits_since, int *slot, st_host_limits *lim)
{
    pg_store *s = be;
    params p = { 0 };
    p_text(&p, host);
    p_text(&p, holder);
    p_i64(&p, cap);
    p_i64(&p, until);
    p_i64(&p, now);
    p_i64(&p, limits_since);
    pthread_mutex_lock(&s->lock);
    PGresult *r = run(s, Q_SLOT_TAKE, &p, NULL);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int ret = PQntuples(r) > 0;
    if (ret) {
        *slot = (int)get_i64(r, 0, 0);
        lim->rcpts_per_connection = (int)get_i64(r, 0, 1);
        lim->rcpts_per_transaction = (int)get_i64(r, 0, 2);
    }
    PQclear(r);
    return ret;
}

static int pg_host_slot_give(void *be, const char *host, int slot, const char *holder)
{
    params p = { 0 };
    p_text(&p, host);
    p_i64(&p, slot);
    p_text(&p, holder);
    return run_command(be, Q_SLOT_GIVE, &p);
}

static int pg_host_limits_put(void *be, const char *host, const st_host_limits *lim, int64_t now,
                              int64_t stale_before)
{
    params p = { 0 };
    p_text(&p, host);
    p_i64(&p, lim->rcpts_per_connection);
    p_i64(&p, lim->rcpts_per_transaction);
    p_i64(&p, now);
    p_i64(&p, stale_before);
    return run_command(be, Q_HOSTLIM_PUT, &p);
}

/* ---- job files and the coordinator's lease (schema 7) -------------------------------- */
/*
 * Statements of their own, run with PQexecParams (not prepared: a file is
 * read or written once, the lease once a second per job).
 */

#define FILE_CHUNK (1 << 20)

/* Runs sql with n text parameters v (or bytes where len/fmt say so) and
 * the results in result_fmt (1: binary). The result or NULL (errmsg).
 * Lock held. */
static PGresult *run_sql(pg_store *s, const char *sql, int n, const char *const *v, const int *len, const int *fmt,
                         int result_fmt)
{
    if (ensure_conn(s) != 0)
        return NULL;
    PGresult *r = PQexecParams(s->conn, sql, n, NULL, v, len, fmt, result_fmt);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    set_error(s, r);
    PQclear(r);
    return NULL;
}

/* A command's row count, or -1. */
static int64_t sql_count(pg_store *s, const char *sql, int n, const char *const *v)
{
    pthread_mutex_lock(&s->lock);
    PGresult *r = run_sql(s, sql, n, v, NULL, NULL, 0);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -1;
    int64_t k = (int64_t)strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return k;
}

static int pg_job_file_put(void *be, const char *job_id, const char *name, FILE *in, int64_t now, char *err,
                           size_t errlen)
{
    pg_store *s = be;
    unsigned char *buf = malloc(FILE_CHUNK);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char seq[24], at[24];
    snprintf(at, sizeof at, "%lld", (long long)now);
    const char *del[2] = { job_id, name };
    int ret = -1;
    pthread_mutex_lock(&s->lock);
    PGresult *r = run_sql(s, "BEGIN", 0, NULL, NULL, NULL, 0);
    PQclear(r);
    if (r) {
        r = run_sql(s, "DELETE FROM job_files WHERE job_id = $1 AND name = $2", 2, del, NULL, NULL, 0);
        PQclear(r);
    }
    /* one chunk at least: an empty file is a file */
    for (int i = 0; r; i++) {
        size_t got = fread(buf, 1, FILE_CHUNK, in);
        if (ferror(in)) {
            snprintf(s->errmsg, sizeof s->errmsg, "cannot read the file to store");
            r = NULL;
            break;
        }
        if (got == 0 && i > 0) {
            ret = 0;
            break;
        }
        snprintf(seq, sizeof seq, "%d", i);
        const char *v[5] = { job_id, name, seq, (const char *)buf, at };
        const int len[5] = { 0, 0, 0, (int)got, 0 }, fmt[5] = { 0, 0, 0, 1, 0 };
        r = run_sql(s, "INSERT INTO job_files(job_id, name, seq, data, stored_at) VALUES ($1, $2, $3, $4, $5)", 5,
                    v, len, fmt, 0);
        PQclear(r);
        if (r && got < FILE_CHUNK && feof(in)) {
            ret = 0;
            break;
        }
    }
    if (ret == 0) {
        r = run_sql(s, "COMMIT", 0, NULL, NULL, NULL, 0);
        PQclear(r);
        if (!r)
            ret = -1;
    }
    if (ret != 0) {
        snprintf(err, errlen, "%s", s->errmsg);
        PQclear(PQexec(s->conn, "ROLLBACK"));
    }
    pthread_mutex_unlock(&s->lock);
    free(buf);
    return ret;
}

static int pg_job_file_get(void *be, const char *job_id, const char *name, FILE *out, char *err, size_t errlen)
{
    pg_store *s = be;
    char seq[24];
    int ret = -1;
    pthread_mutex_lock(&s->lock);
    /* one snapshot for every chunk: a file replaced meanwhile is read whole, old or new */
    PGresult *r = run_sql(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL, NULL, 0);
    PQclear(r);
    for (int i = 0; r; i++) {
        snprintf(seq, sizeof seq, "%d", i);
        const char *v[3] = { job_id, name, seq };
        r = run_sql(s, "SELECT data FROM job_files WHERE job_id = $1 AND name = $2 AND seq = $3", 3, v, NULL, NULL,
                    1);
        if (!r)
            break;
        if (PQntuples(r) == 0) {
            ret = i > 0;
            PQclear(r);
            break;
        }
        size_t len = (size_t)PQgetlength(r, 0, 0);
        if (len && fwrite(PQgetvalue(r, 0, 0), 1, len, out) != len) {
            snprintf(s->errmsg, sizeof s->errmsg, "cannot write the file fetched");
            PQclear(r);
            r = NULL;
            break;
        }
        PQclear(r);
    }
    if (ret < 0)
        snprintf(err, errlen, "%s", s->errmsg);
    PQclear(PQexec(s->conn, "ROLLBACK"));
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int64_t pg_job_files_delete(void *be, const char *job_id)
{
    const char *v[1] = { job_id };
    return sql_count(be, "DELETE FROM job_files WHERE job_id = $1", 1, v);
}

static int64_t pg_job_files_sweep(void *be, int64_t before)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)before);
    const char *v[1] = { b };
    return sql_count(be,
                     "DELETE FROM job_files f WHERE f.stored_at < $1"
                     " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = f.job_id)",
                     1, v);
}

/* Taken when free, expired, or already the holder's; the row lock of the
 * upsert orders concurrent takers, and each sees the winner's row. */
static int pg_job_coord_take(void *be, const char *job_id, const char *holder, int64_t lease_until, int64_t now_ms)
{
    char until[24], now[24];
    snprintf(until, sizeof until, "%lld", (long long)lease_until);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    const char *v[4] = { job_id, holder, until, now };
    int64_t k = sql_count(be,
                          "INSERT INTO job_coord(job_id, holder, lease_until)"
                          " SELECT $1::text, $2::text, $3::bigint WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1)"
                          " ON CONFLICT (job_id) DO UPDATE SET holder = excluded.holder,"
                          " lease_until = excluded.lease_until"
                          " WHERE job_coord.holder = excluded.holder OR job_coord.lease_until <= $4::bigint",
                          4, v);
    return k < 0 ? -1 : k > 0;
}

static int64_t pg_job_coord_give(void *be, const char *job_id, const char *holder)
{
    const char *v[2] = { holder, job_id };
    return sql_count(be, "DELETE FROM job_coord WHERE holder = $1 AND ($2::text IS NULL OR job_id = $2)", 2, v);
}

static const st_store_ops pg_ops = {
    .kind = "postgresql",
    .close = pg_close,
    .version = pg_version,
    .error = pg_error,
    .key_insert = pg_key_insert,
    .key_list = pg_key_list,
    .key_revoke = pg_key_revoke,
    .key_find = pg_key_find,
    .key_count = pg_key_count,
    .usage_add = pg_usage_add,
    .job_insert = pg_job_insert,
    .job_get = pg_job_get,
    .job_progress = pg_job_progress,
    .job_set_status = pg_job_set_status,
    .job_set_reasons = pg_job_set_reasons,
    .job_set_webhook_state = pg_job_set_webhook_state,
    .job_list = pg_job_list,
    .job_list_status = pg_job_list_status,
    .job_expired = pg_job_expired,
    .job_delete = pg_job_delete,
    .cache_get = pg_cache_get,
    .cache_put = pg_cache_put,
    .cache_purge = pg_cache_purge,
    .rows_add = pg_rows_add,
    .rows_claim = pg_rows_claim,
    .rows_renew = pg_rows_renew,
    .rows_result = pg_rows_result,
    .rows_release = pg_rows_release,
    .rows_counts = pg_rows_counts,
    .rows_page = pg_rows_page,
    .rows_collect_done = pg_rows_collect_done,
    .rows_collected = pg_rows_collected,
    .worker_register = pg_worker_register,
    .worker_heartbeat = pg_worker_heartbeat,
    .worker_list = pg_worker_list,
    .worker_remove = pg_worker_remove,
    .claims_list = pg_claims_list,
    .queue_list = pg_queue_list,
    .domain_facts_get = pg_domain_facts_get,
    .domain_facts_put = pg_domain_facts_put,
    .host_slot_take = pg_host_slot_take,
    .host_slot_give = pg_host_slot_give,
    .host_limits_put = pg_host_limits_put,
    .job_file_put = pg_job_file_put,
    .job_file_get = pg_job_file_get,
    .job_files_delete = pg_job_files_delete,
    .job_files_sweep = pg_job_files_sweep,
    .job_coord_take = pg_job_coord_take,
    .job_coord_give = pg_job_coord_give,
};

int st_store_pg_open(const st_store_ops **ops, void **be, const char *url, char *err, size_t errlen)
{
    *ops = &pg_ops;
    *be = NULL;
    pg_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        snprintf(err, errlen, "cannot create a mutex");
        return -1;
    }
    st_store_mask_url(url, s->shown, sizeof s->shown);
    s->password = url_password(url);
    /* The URL comes last, so that its own parameters win. */
    const char *const keys[] = { "application_name", "connect_timeout", "client_encoding", "dbname", NULL };
    const char *const values[] = { "bouncecheck", "10", "UTF8", url, NULL };
    s->conn = PQconnectdbParams(keys, values, 1);
    if (!s->conn) {
        snprintf(err, errlen, "database %s: out of memory", s->shown);
        pg_close(s);
        return -1;
    }
    PQsetNoticeProcessor(s->conn, quiet_notice, NULL);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        set_error(s, NULL);
        snprintf(err, errlen, "cannot connect to the database %s: %s", s->shown, s->errmsg);
        pg_close(s);
        return -1;
    }
    if (migrate(s, err, errlen) != 0) {
        pg_close(s);
        return -1;
    }
    if (prepare_all(s) != 0) {
        snprintf(err, errlen, "database %s: %s", s->shown, s->errmsg);
        pg_close(s);
        return -1;
    }
    *be = s;
    return 0;
}
