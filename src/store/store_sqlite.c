/*
 * store_sqlite.c - the SQLite backend of the server's store (store.h,
 * store_impl.h): the embedded default, one file DATA/bouncecheck.db.
 *
 * Tables of DATA/bouncecheck.db:
 *   meta(k, v)      schema_version = 8 (1: before admin keys and reasons;
 *                   2: before job_rows and workers; 3: before job_rows.weight;
 *                   4: before domain_facts and job_domains; 5: before
 *                   host_slots and host_limits; 6: no table of its own,
 *                   PostgreSQL's job files; opening an older store
 *                   migrates it)
 *   keys            one per API key: id, SHA-256 of the secret (the secret
 *                   itself is never stored), name, created/revoked times,
 *                   rate, daily quota and whether it is an admin key
 *   usage           verifications per key and UTC day
 *   jobs            the job catalogue (rows and results are in each job's
 *                   own state file); counts are indexed by bc_verdict_status;
 *                   reasons is a JSON object, rows done per reason code
 *   cache           result JSON of single verifications, with an expiry
 *   job_rows        (schema 3) the rows of jobs shared by workers: job, row
 *                   number, address, domain, the other fields as an opaque
 *                   blob; state 0 pending, 1 claimed, 2 done; the claim id,
 *                   holder and lease expiry (unix ms; 0 when not claimed, so
 *                   "state < 2 AND lease_until <= now" is "claimable");
 *                   attempts (claims so far); status, reason and result JSON;
 *                   (schema 4) weight, the rows of the job it stands for
 *                   (counts sum it). Deleting a job deletes its rows
 *                   (foreign key, on).
 *   workers         (schema 3) id, name, host, sending addresses, started
 *                   and last seen (unix ms)
 *   domain_facts    (schema 5) per domain: the MX host that answered for it
 *                   (lower case; NULL unknown), accept_all (NULL unknown, 0,
 *                   1) and when it was tested, updated_at (unix ms)
 *   job_domains     (schema 5) the (job, domain) pairs that have open rows
 *                   (state < 2), with how many (open_rows): a summary of
 *                   job_rows kept by two triggers on it (a row added open:
 *                   +1; a row done: -1, and the pair's entry deleted at 0)
 *                   and deleted with its job (foreign key). Rows are never
 *                   deleted from job_rows but with their job, and never go
 *                   from done back to open, so nothing else can change it.
 *   host_slots      (schema 6) the host gate: (host address, slot number)
 *                   with its holder (a worker id) and until (unix ms); a
 *                   slot past its until is free (st_host_slot_take)
 *   host_limits     (schema 6) per host address: recipients per connection
 *                   and per transaction it showed (0: none), updated_at
 *
 * Claiming walks job_domains, not job_rows: jobs oldest first (index
 * jobs_created), each job's pairs in domain order (primary key), a pair taken
 * when one probe of job_rows_open (open rows by job, domain, row) finds a
 * claimable row and, first, when no live claim (index job_rows_live)
 * holds its politeness key: the MX host of its domain_facts, else the
 * domain. A claim costs the pairs it skips (held or fully claimed ones),
 * not the size of job_rows.
 *
 * One connection, opened with SQLITE_OPEN_FULLMUTEX; every function also
 * holds the store's own mutex, because a prepared statement is stepped,
 * read and reset in several calls that must not interleave between threads.
 */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

enum {
    Q_VERSION,
    Q_KEY_INSERT,
    Q_KEY_LIST,
    Q_KEY_REVOKE,
    Q_KEY_EXISTS,
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
    Q_ROWS_INSERT,
    Q_ROWS_CANDIDATE,
    Q_ROWS_CLAIM,
    Q_ROWS_RENEW,
    Q_ROWS_RESULT,
    Q_ROWS_RESULT_STATE,
    Q_ROWS_RELEASE,
    Q_ROWS_COUNTS,
    Q_ROWS_PAGE,
    Q_WORKER_PUT,
    Q_WORKER_SEEN,
    Q_WORKER_LIST,
    Q_ROWS_CANDIDATE_EX,
    Q_CLAIMS_LIST,
    Q_QUEUE_LIST,
    Q_WORKER_DELETE,
    Q_FACTS_GET,
    Q_FACTS_PUT,
    Q_SLOT_TAKE,
    Q_SLOT_LIMITS,
    Q_SLOT_GIVE,
    Q_HOSTLIM_PUT,
    Q__COUNT
};

#define KEY_COLS "id, name, created_at, revoked_at, rate, daily, admin"
#define JOB_COLS                                                            \
    "id, key_id, name, status, total, processed, n_unknown, n_deliverable," \
    " n_undeliverable, n_risky, created_at, finished_at, error, webhook,"   \
    " webhook_state, format, reasons"
/* Pair c (job_domains) has a row claimable at `now`: pending, or claimed
 * under an expired lease (one probe of job_rows_open). */
#define CLAIMABLE(now)                                                                   \
    "EXISTS (SELECT 1 FROM job_rows o WHERE o.job_id = c.job_id AND o.domain = c.domain" \
    " AND o.state < 2 AND o.lease_until <= " now ")"

static const char *const sql_text[Q__COUNT] = {
    [Q_VERSION] = "PRAGMA data_version",
    [Q_KEY_INSERT] = "INSERT INTO keys(id, hash, name, created_at, revoked_at, rate, daily, admin)"
                     " VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)",
    [Q_KEY_LIST] = "SELECT " KEY_COLS " FROM keys ORDER BY created_at, rowid",
    [Q_KEY_REVOKE] = "UPDATE keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at = 0",
    [Q_KEY_EXISTS] = "SELECT 1 FROM keys WHERE id = ?1",
    [Q_KEY_FIND] = "SELECT " KEY_COLS " FROM keys WHERE hash = ?1",
    [Q_KEY_COUNT] = "SELECT count(*) FROM keys",
    [Q_USAGE_ADD] = "INSERT INTO usage(key_id, day, n) VALUES (?1, ?2, ?3)"
                    " ON CONFLICT(key_id, day) DO UPDATE SET n = n + excluded.n RETURNING n",
    [Q_USAGE_GET] = "SELECT n FROM usage WHERE key_id = ?1 AND day = ?2",
    [Q_JOB_INSERT] = "INSERT INTO jobs(" JOB_COLS ") VALUES"
                     " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    [Q_JOB_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
    [Q_JOB_PROGRESS] = "UPDATE jobs SET processed = ?2, n_unknown = ?3, n_deliverable = ?4,"
                       " n_undeliverable = ?5, n_risky = ?6 WHERE id = ?1",
    [Q_JOB_STATUS] = "UPDATE jobs SET status = ?2,"
                     " finished_at = CASE WHEN ?3 > 0 THEN ?3 ELSE finished_at END,"
                     " error = ?4 WHERE id = ?1",
    [Q_JOB_WEBHOOK] = "UPDATE jobs SET webhook_state = ?2 WHERE id = ?1",
    [Q_JOB_LIST_ALL] = "SELECT " JOB_COLS " FROM jobs ORDER BY created_at DESC, rowid DESC",
    [Q_JOB_LIST_KEY] = "SELECT " JOB_COLS " FROM jobs WHERE key_id = ?1"
                       " ORDER BY created_at DESC, rowid DESC",
    [Q_JOB_LIST_STATUS] = "SELECT " JOB_COLS " FROM jobs WHERE status = ?1 ORDER BY created_at, rowid",
    [Q_JOB_EXPIRED] = "SELECT id FROM jobs WHERE created_at < ?1 ORDER BY created_at, rowid",
    [Q_JOB_DELETE] = "DELETE FROM jobs WHERE id = ?1",
    [Q_JOB_REASONS] = "UPDATE jobs SET reasons = ?2 WHERE id = ?1",
    [Q_CACHE_GET] = "SELECT json FROM cache WHERE addr = ?1 AND expires > ?2",
    [Q_CACHE_PUT] = "INSERT INTO cache(addr, json, expires) VALUES (?1, ?2, ?3)"
                    " ON CONFLICT(addr) DO UPDATE SET json = excluded.json, expires = excluded.expires",
    [Q_CACHE_PURGE] = "DELETE FROM cache WHERE expires <= ?1",
    [Q_JOB_EXISTS] = "SELECT 1 FROM jobs WHERE id = ?1",
    [Q_ROWS_INSERT] = "INSERT INTO job_rows(job_id, row_no, addr, domain, fields, weight)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(job_id, row_no) DO NOTHING",
    /* the first (job, domain) pair with claimable rows of a job queued or
     * running: the oldest job, then the domain, walking job_domains (the
     * pairs with open rows) in that order (jobs by jobs_created, whose
     * entries end in the rowid: "+j.status" keeps jobs_status out) and
     * stopping at the first pair one of whose open rows is claimable */
    [Q_ROWS_CANDIDATE] =
        "SELECT c.job_id, c.domain FROM jobs j JOIN job_domains c ON c.job_id = j.id"
        " WHERE +j.status IN (0, 1) AND " CLAIMABLE("?1") " ORDER BY j.created_at, j.rowid, c.domain LIMIT 1",
    /* the same, only pairs whose politeness key (the facts' MX host, else
     * the domain) no live claim holds: ST_CLAIM_EXCLUSIVE (in the claim's
     * write transaction, so no other claim comes between), and the first
     * choice without it (unheld domains first) */
    [Q_ROWS_CANDIDATE_EX] = "WITH busy(k) AS (SELECT coalesce(f.mx_host, b.domain) FROM job_rows b"
                            " LEFT JOIN domain_facts f ON f.domain = b.domain"
                            " WHERE b.state = 1 AND b.lease_until > ?1)"
                            " SELECT c.job_id, c.domain FROM jobs j JOIN job_domains c ON c.job_id = j.id"
                            " LEFT JOIN domain_facts f ON f.domain = c.domain"
                            " WHERE +j.status IN (0, 1) AND coalesce(f.mx_host, c.domain) NOT IN busy"
                            " AND " CLAIMABLE("?1") " ORDER BY j.created_at, j.rowid, c.domain LIMIT 1",
    [Q_ROWS_CLAIM] = "UPDATE job_rows SET state = 1, claim_id = ?3, holder = ?4, lease_until = ?5,"
                     " attempts = attempts + 1"
                     " WHERE job_id = ?1 AND row_no IN (SELECT row_no FROM job_rows"
                     " WHERE job_id = ?1 AND domain = ?2 AND state < 2 AND lease_until <= ?6"
                     " ORDER BY row_no LIMIT ?7)"
                     " RETURNING row_no, addr, fields",
    [Q_ROWS_RENEW] = "UPDATE job_rows SET lease_until = ?2 WHERE claim_id = ?1 AND state = 1",
    [Q_ROWS_RESULT] = "UPDATE job_rows SET state = 2, status = ?3, reason = ?4, result = ?5, lease_until = 0"
                      " WHERE claim_id = ?1 AND row_no = ?2 AND state < 2",
    [Q_ROWS_RESULT_STATE] = "SELECT state FROM job_rows WHERE claim_id = ?1 AND row_no = ?2",
    [Q_ROWS_RELEASE] = "UPDATE job_rows SET state = 0, lease_until = 0, holder = NULL"
                       " WHERE claim_id = ?1 AND state = 1",
    [Q_ROWS_COUNTS] = "SELECT state, coalesce(status, -1), sum(weight) FROM job_rows WHERE job_id = ?1"
                      " GROUP BY state, status",
    /* live claims: grouped by claim, by holder then lease */
    [Q_CLAIMS_LIST] = "SELECT claim_id, job_id, coalesce(holder, ''), domain, count(*), max(lease_until)"
                      " FROM job_rows WHERE state = 1 AND lease_until > ?1"
                      " GROUP BY claim_id, job_id, holder, domain ORDER BY 3, 6, 1",
    /* the counts of every queued or running job with rows, oldest first
     * (one row per job, state and status; a job's rows are adjacent) */
    [Q_QUEUE_LIST] = "SELECT j.id, j.status, j.created_at, r.state, coalesce(r.status, -1), sum(r.weight)"
                     " FROM jobs j JOIN job_rows r ON r.job_id = j.id WHERE j.status IN (0, 1)"
                     " GROUP BY j.id, r.state, r.status ORDER BY j.created_at, j.rowid, j.id",
    [Q_ROWS_PAGE] = "SELECT row_no, addr, fields, status, reason, result FROM job_rows"
                    " WHERE job_id = ?1 AND state = 2 AND row_no > ?2 ORDER BY row_no LIMIT ?3",
    [Q_WORKER_PUT] = "INSERT INTO workers(id, name, host, addrs, started_at, last_seen)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET name = excluded.name,"
                     " host = excluded.host, addrs = excluded.addrs, started_at = excluded.started_at,"
                     " last_seen = excluded.last_seen",
    [Q_WORKER_SEEN] = "UPDATE workers SET last_seen = ?2 WHERE id = ?1",
    [Q_WORKER_LIST] = "SELECT id, name, host, addrs, started_at, last_seen FROM workers ORDER BY started_at, id",
    [Q_WORKER_DELETE] = "DELETE FROM workers WHERE id = ?1",
    [Q_FACTS_GET] = "SELECT coalesce(mx_host, ''), coalesce(accept_all, -1), accept_all_at, updated_at"
                    " FROM domain_facts WHERE domain = ?1",
    /* ?2 NULL keeps mx_host; ?3 < 0 keeps accept_all and accept_all_at */
    [Q_FACTS_PUT] = "INSERT INTO domain_facts(domain, mx_host, accept_all, accept_all_at, updated_at)"
                    " VALUES (?1, ?2, CASE WHEN ?3 >= 0 THEN ?3 END, CASE WHEN ?3 >= 0 THEN ?4 ELSE 0 END, ?5)"
                    " ON CONFLICT(domain) DO UPDATE SET mx_host = coalesce(excluded.mx_host, mx_host),"
                    " accept_all = CASE WHEN ?3 >= 0 THEN excluded.accept_all ELSE accept_all END,"
                    " accept_all_at = CASE WHEN ?3 >= 0 THEN excluded.accept_all_at ELSE accept_all_at END,"
                    " updated_at = excluded.updated_at",
    /* the lowest free or expired slot of host ?1 among ?3, for holder ?2
     * until ?4 (now ?5); writes are serialised by the database lock */
    [Q_SLOT_TAKE] = "WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k + 1 < ?3)"
                    " INSERT INTO host_slots(host, slot, holder, until)"
                    " SELECT ?1, k, ?2, ?4 FROM n WHERE NOT EXISTS (SELECT 1 FROM host_slots h"
                    " WHERE h.host = ?1 AND h.slot = n.k AND h.until > ?5) ORDER BY k LIMIT 1"
                    " ON CONFLICT(host, slot) DO UPDATE SET holder = excluded.holder, until = excluded.until"
                    " WHERE until <= ?5 RETURNING slot",
    [Q_SLOT_LIMITS] = "SELECT rcpt_cap, txn_cap FROM host_limits WHERE host = ?1 AND updated_at > ?2",
    [Q_SLOT_GIVE] = "DELETE FROM host_slots WHERE host = ?1 AND slot = ?2 AND holder = ?3",
    [Q_HOSTLIM_PUT] = "INSERT INTO host_limits(host, rcpt_cap, txn_cap, updated_at) VALUES (?1, ?2, ?3, ?4)"
                      " ON CONFLICT(host) DO UPDATE SET"
                      " rcpt_cap = CASE WHEN updated_at <= ?5 OR rcpt_cap = 0"
                      " OR (excluded.rcpt_cap > 0 AND excluded.rcpt_cap < rcpt_cap)"
                      " THEN excluded.rcpt_cap ELSE rcpt_cap END,"
                      " txn_cap = CASE WHEN updated_at <= ?5 OR txn_cap = 0"
                      " OR (excluded.txn_cap > 0 AND excluded.txn_cap < txn_cap)"
                      " THEN excluded.txn_cap ELSE txn_cap END,"
                      " updated_at = excluded.updated_at",
};

/* Run once per open, inside one write transaction (two processes may
 * create the same fresh database at once). A store made by an older
 * version keeps its tables and version here; migrations[] bring it up. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta(k, v) VALUES ('schema_version', 2);"
    "CREATE TABLE IF NOT EXISTS keys("
    " id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL DEFAULT 0,"
    " rate REAL NOT NULL DEFAULT 0, daily INTEGER NOT NULL DEFAULT 0,"
    " admin INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS usage("
    " key_id TEXT NOT NULL, day TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(key_id, day)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS jobs("
    " id TEXT PRIMARY KEY, key_id TEXT NOT NULL DEFAULT '', name TEXT,"
    " status INTEGER NOT NULL, total INTEGER NOT NULL DEFAULT 0,"
    " processed INTEGER NOT NULL DEFAULT 0, n_unknown INTEGER NOT NULL DEFAULT 0,"
    " n_deliverable INTEGER NOT NULL DEFAULT 0, n_undeliverable INTEGER NOT NULL DEFAULT 0,"
    " n_risky INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
    " finished_at INTEGER NOT NULL DEFAULT 0, error TEXT, webhook TEXT,"
    " webhook_state INTEGER NOT NULL DEFAULT 0, format TEXT NOT NULL DEFAULT 'csv',"
    " reasons TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX IF NOT EXISTS jobs_key ON jobs(key_id, created_at);"
    "CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created_at);"
    "CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at);"
    "CREATE TABLE IF NOT EXISTS cache("
    " addr TEXT PRIMARY KEY, json TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS cache_expires ON cache(expires);";

/* migrations[v] takes a store from schema version v to v + 1 (in the same
 * transaction as the schema above). */
static const char *const migrations[ST_SCHEMA_VERSION] = {
    [1] = "ALTER TABLE keys ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;"
          "ALTER TABLE jobs ADD COLUMN reasons TEXT NOT NULL DEFAULT '{}';"
          "UPDATE meta SET v = 2 WHERE k = 'schema_version';",
    [2] = "CREATE TABLE job_rows("
          " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, row_no INTEGER NOT NULL,"
          " addr TEXT NOT NULL, domain TEXT NOT NULL, fields BLOB,"
          " state INTEGER NOT NULL DEFAULT 0, claim_id TEXT, holder TEXT,"
          " lease_until INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
          " status INTEGER, reason TEXT, result TEXT,"
          " PRIMARY KEY(job_id, row_no)) WITHOUT ROWID;"
          "CREATE INDEX job_rows_claim ON job_rows(job_id, state, domain);"
          "CREATE INDEX job_rows_domain ON job_rows(domain, state);"
          "CREATE INDEX job_rows_claim_id ON job_rows(claim_id);"
          "CREATE TABLE workers("
          " id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '',"
          " addrs TEXT NOT NULL DEFAULT '', started_at INTEGER NOT NULL, last_seen INTEGER NOT NULL)"
          " WITHOUT ROWID;"
          "UPDATE meta SET v = 3 WHERE k = 'schema_version';",
    /* weight: rows of the job a row stands for; the live claims' index
     * (st_claims_list) */
    [3] = "ALTER TABLE job_rows ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;"
          "CREATE INDEX job_rows_live ON job_rows(lease_until) WHERE state = 1;"
          "UPDATE meta SET v = 4 WHERE k = 'schema_version';",
    /* domain facts; job_domains, the pairs with open rows, kept by the
     * triggers (filled here from the rows there are); job_rows_open, the
     * open rows of a pair in row order, replaces job_rows_claim and
     * job_rows_domain (nothing reads them any more) */
    [4] = "CREATE TABLE domain_facts("
          " domain TEXT PRIMARY KEY, mx_host TEXT, accept_all INTEGER,"
          " accept_all_at INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL) WITHOUT ROWID;"
          "CREATE TABLE job_domains("
          " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, domain TEXT NOT NULL,"
          " open_rows INTEGER NOT NULL, PRIMARY KEY(job_id, domain)) WITHOUT ROWID;"
          "INSERT INTO job_domains(job_id, domain, open_rows)"
          " SELECT job_id, domain, count(*) FROM job_rows WHERE state < 2 GROUP BY job_id, domain;"
          "DROP INDEX job_rows_claim;"
          "DROP INDEX job_rows_domain;"
          "CREATE INDEX job_rows_open ON job_rows(job_id, domain, row_no) WHERE state < 2;"
          "CREATE TRIGGER job_rows_open_add AFTER INSERT ON job_rows WHEN new.state < 2 BEGIN"
          " INSERT INTO job_domains(job_id, domain, open_rows) VALUES (new.job_id, new.domain, 1)"
          " ON CONFLICT(job_id, domain) DO UPDATE SET open_rows = open_rows + 1; END;"
          "CREATE TRIGGER job_rows_open_done AFTER UPDATE OF state ON job_rows"
          " WHEN old.state < 2 AND new.state >= 2 BEGIN"
          " UPDATE job_domains SET open_rows = open_rows - 1 WHERE job_id = new.job_id AND domain = new.domain;"
          " DELETE FROM job_domains WHERE job_id = new.job_id AND domain = new.domain AND open_rows <= 0; END;"
          "UPDATE meta SET v = 5 WHERE k = 'schema_version';",
    /* the host gate (st_host_slot_take) */
    [5] = "CREATE TABLE host_slots("
          " host TEXT NOT NULL, slot INTEGER NOT NULL, holder TEXT NOT NULL, until INTEGER NOT NULL,"
          " PRIMARY KEY(host, slot)) WITHOUT ROWID;"
          "CREATE TABLE host_limits("
          " host TEXT PRIMARY KEY, rcpt_cap INTEGER NOT NULL DEFAULT 0, txn_cap INTEGER NOT NULL DEFAULT 0,"
          " updated_at INTEGER NOT NULL) WITHOUT ROWID;"
          "UPDATE meta SET v = 6 WHERE k = 'schema_version';",
    /* schema 7 is PostgreSQL's job files and coordinator leases (API
     * nodes sharing one database); a SQLite store has one server, which
     * keeps job files in its --data: nothing to add */
    [6] = "UPDATE meta SET v = 7 WHERE k = 'schema_version';",
    /* PostgreSQL's version 8 keeps per-job counters and a table of the
     * live claims for many processes on millions of rows; here (one
     * machine's store) counts and claims read the rows as before: only
     * the version moves */
    [7] = "UPDATE meta SET v = 8 WHERE k = 'schema_version';",
    /* PostgreSQL's version 9 writes a job's rows once (claims as ranges,
     * results in a table of their own); here the rows are updated in
     * place as before: only the version moves */
    [8] = "UPDATE meta SET v = 9 WHERE k = 'schema_version';",
    /* PostgreSQL's version 10 publishes rows with COPY and lets the
     * coordinator copy results while a job runs; nothing of it here */
    [9] = "UPDATE meta SET v = 10 WHERE k = 'schema_version';",
    /* PostgreSQL's version 11 packs a job's rows and results in chunks
     * (arrays of up to a hundred rows per table row); nothing of it here */
    [10] = "UPDATE meta SET v = 11 WHERE k = 'schema_version';",
};

typedef struct sq_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[Q__COUNT];
    pthread_mutex_t lock;
} sq_store;

/* Runs a statement that returns no rows to completion and resets it:
 * SQLITE_DONE or the error code. */
static int step_done(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

static void stmt_done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

static const char *sq_error(void *be)
{
    sq_store *s = be;
    return s && s->db ? sqlite3_errmsg(s->db) : "no database";
}

/* Creates dir (one level, mode 0700) unless it is already a directory. 0 / -1. */
static int make_dir(const char *dir, char *err, size_t errlen)
{
    struct stat sb;
    if (mkdir(dir, 0700) == 0)
        return 0;
    int e = errno;
    if (e == EEXIST && stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return 0;
        snprintf(err, errlen, "data directory %s: not a directory", dir);
        return -1;
    }
    snprintf(err, errlen, "cannot create the data directory %s: %s", dir, strerror(e));
    return -1;
}

/* Makes sure the database file exists with mode 0600 before SQLite opens
 * it (SQLite gives its -wal and -shm files the same mode). 0 / -1. */
static int make_db_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 0777) != 0600 && sb.st_uid == geteuid())
        (void)fchmod(fd, 0600);
    close(fd);
    return 0;
}

/* Creates the tables in one write transaction and checks the schema
 * version. 0 / -1 (err). */
static int init_schema(sq_store *s, const char *path, char *err, size_t errlen)
{
    if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "database %s: %s", path, sqlite3_errmsg(s->db));
        return -1;
    }
    if (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "database %s: %s", path, sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    sqlite3_stmt *q = NULL;
    int64_t version = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE k = 'schema_version'", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    while (version >= 1 && version < ST_SCHEMA_VERSION) {
        if (sqlite3_exec(s->db, migrations[version], NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "database %s: cannot migrate it from schema version %lld: %s", path,
                     (long long)version, sqlite3_errmsg(s->db));
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        version++;
    }
    if (version != ST_SCHEMA_VERSION) {
        snprintf(err, errlen, "database %s has schema version %lld; this bouncecheck knows version %d", path,
                 (long long)version, ST_SCHEMA_VERSION);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "database %s: %s", path, sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static void sq_close(void *be)
{
    sq_store *s = be;
    if (!s)
        return;
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int64_t sq_version(void *be)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_VERSION];
    int64_t v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    stmt_done(q);
    pthread_mutex_unlock(&s->lock);
    return v;
}

/* ---- helpers ---------------------------------------------------------------------- */

/* Copies text column col of q into buf (size bytes), truncated. */
static void column_copy(sqlite3_stmt *q, int col, char *buf, size_t size)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    size_t len = t ? (size_t)sqlite3_column_bytes(q, col) : 0;
    if (len >= size)
        len = size - 1;
    if (len)
        memcpy(buf, t, len);
    buf[len] = '\0';
}

/* A malloc'd copy of text column col of q in *out (NULL for SQL NULL).
 * 0 / -1 (out of memory). */
static int column_dup(sqlite3_stmt *q, int col, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(q, col) == SQLITE_NULL)
        return 0;
    const unsigned char *t = sqlite3_column_text(q, col);
    size_t len = (size_t)sqlite3_column_bytes(q, col);
    char *p = malloc(len + 1);
    if (!p)
        return -1;
    if (len)
        memcpy(p, t, len);
    p[len] = '\0';
    *out = p;
    return 0;
}

/* ---- API keys ------------------------------------------------------------------------ */

/* Fills k from a row of KEY_COLS. */
static int collect_rows(sqlite3_stmt *q, size_t size, int (*fill)(sqlite3_stmt *, void *), void (*clear)(void *),
                        void **out, size_t *n);

static void key_from_row(sqlite3_stmt *q, st_key *k)
{
    memset(k, 0, sizeof *k);
    column_copy(q, 0, k->id, sizeof k->id);
    column_copy(q, 1, k->name, sizeof k->name);
    k->created_at = sqlite3_column_int64(q, 2);
    k->revoked_at = sqlite3_column_int64(q, 3);
    k->rate = sqlite3_column_double(q, 4);
    k->daily = sqlite3_column_int64(q, 5);
    k->admin = sqlite3_column_int(q, 6) != 0;
}

static int fill_key(sqlite3_stmt *q, void *elem)
{
    key_from_row(q, elem);
    return 0;
}

static int sq_key_insert(void *be, const st_key *k, const unsigned char hash[32], char *err, size_t errlen)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_KEY_INSERT];
    sqlite3_bind_text(q, 1, k->id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, hash, 32, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, k->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, k->created_at);
    sqlite3_bind_double(q, 5, k->rate);
    sqlite3_bind_int64(q, 6, k->daily);
    sqlite3_bind_int(q, 7, k->admin ? 1 : 0);
    int rc = step_done(q), ret = 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "cannot store the key: %s", sqlite3_errmsg(s->db));
        ret = -1;
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_key_list(void *be, st_key **keys, size_t *n)
{
    sq_store *s = be;
    *keys = NULL;
    *n = 0;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_KEY_LIST];
    void *arr = NULL;
    int ret = collect_rows(q, sizeof **keys, fill_key, NULL, &arr, n);
    pthread_mutex_unlock(&s->lock);
    *keys = arr;
    return ret;
}

static int sq_key_revoke(void *be, const char *id, int64_t now)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    int ret;
    sqlite3_stmt *q = s->stmt[Q_KEY_REVOKE];
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    if (step_done(q) != SQLITE_DONE) {
        ret = -1;
    } else if (sqlite3_changes(s->db) > 0) {
        ret = 1;
    } else {
        /* Nothing changed: already revoked, or no such key. */
        q = s->stmt[Q_KEY_EXISTS];
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(q);
        ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
        stmt_done(q);
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_key_find(void *be, const unsigned char md[32], st_key *k)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_KEY_FIND];
    sqlite3_bind_blob(q, 1, md, 32, SQLITE_STATIC);
    int rc = sqlite3_step(q), ret;
    if (rc == SQLITE_ROW) {
        key_from_row(q, k);
        ret = 1;
    } else {
        ret = rc == SQLITE_DONE ? 0 : -1;
    }
    stmt_done(q);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int64_t sq_key_count(void *be)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_KEY_COUNT];
    int64_t v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    stmt_done(q);
    pthread_mutex_unlock(&s->lock);
    return v;
}

static int64_t sq_usage_add(void *be, const char *key_id, const char *day, int64_t n)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[n == 0 ? Q_USAGE_GET : Q_USAGE_ADD];
    sqlite3_bind_text(q, 1, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, day, -1, SQLITE_STATIC);
    if (n != 0)
        sqlite3_bind_int64(q, 3, n);
    int rc = sqlite3_step(q);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : rc == SQLITE_DONE && n == 0 ? 0 : -1;
    /* RETURNING: step to the end so that the change is complete. */
    if (rc == SQLITE_ROW && n != 0 && sqlite3_step(q) != SQLITE_DONE)
        v = -1;
    stmt_done(q);
    pthread_mutex_unlock(&s->lock);
    return v;
}

/* ---- jobs ------------------------------------------------------------------------------ */

/* Binds NULL for a NULL string, else the text. */
static void bind_text_or_null(sqlite3_stmt *q, int idx, const char *v)
{
    if (v)
        sqlite3_bind_text(q, idx, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, idx);
}

static int sq_job_insert(void *be, const st_job *j)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_JOB_INSERT];
    sqlite3_bind_text(q, 1, j->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, j->key_id, -1, SQLITE_STATIC);
    bind_text_or_null(q, 3, j->name);
    sqlite3_bind_int(q, 4, (int)j->status);
    sqlite3_bind_int64(q, 5, j->total);
    sqlite3_bind_int64(q, 6, j->processed);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_int64(q, 7 + i, j->counts[i]);
    sqlite3_bind_int64(q, 11, j->created_at);
    sqlite3_bind_int64(q, 12, j->finished_at);
    bind_text_or_null(q, 13, j->error);
    bind_text_or_null(q, 14, j->webhook);
    sqlite3_bind_int(q, 15, j->webhook_state);
    sqlite3_bind_text(q, 16, j->format, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 17, j->reasons ? j->reasons : "{}", -1, SQLITE_STATIC);
    int ret = step_done(q) == SQLITE_DONE ? 0 : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* Fills j from a row of JOB_COLS; its strings are malloc'd. 0 / -1 (out
 * of memory; j is then cleared). */
static int job_from_row(sqlite3_stmt *q, st_job *j)
{
    memset(j, 0, sizeof *j);
    column_copy(q, 0, j->id, sizeof j->id);
    column_copy(q, 1, j->key_id, sizeof j->key_id);
    int st = sqlite3_column_int(q, 3);
    j->status = st >= ST_JOB_QUEUED && st <= ST_JOB_CANCELLED ? (st_job_status)st : ST_JOB_FAILED;
    j->total = sqlite3_column_int64(q, 4);
    j->processed = sqlite3_column_int64(q, 5);
    for (int i = 0; i < 4; i++)
        j->counts[i] = sqlite3_column_int64(q, 6 + i);
    j->created_at = sqlite3_column_int64(q, 10);
    j->finished_at = sqlite3_column_int64(q, 11);
    j->webhook_state = sqlite3_column_int(q, 14);
    column_copy(q, 15, j->format, sizeof j->format);
    if (column_dup(q, 2, &j->name) != 0 || column_dup(q, 12, &j->error) != 0 ||
        column_dup(q, 13, &j->webhook) != 0 || column_dup(q, 16, &j->reasons) != 0) {
        st_job_clear(j);
        return -1;
    }
    return 0;
}

static int sq_job_get(void *be, const char *id, st_job *j)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_JOB_GET];
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q), ret;
    if (rc == SQLITE_ROW)
        ret = job_from_row(q, j) == 0 ? 1 : -1;
    else
        ret = rc == SQLITE_DONE ? 0 : -1;
    stmt_done(q);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_job_progress(void *be, const char *id, int64_t processed, const int64_t counts[4])
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_JOB_PROGRESS];
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, processed);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_int64(q, 3 + i, counts[i]);
    int ret = step_done(q) == SQLITE_DONE ? 0 : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_job_set_status(void *be, const char *id, st_job_status st, int64_t finished_at, const char *error)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_JOB_STATUS];
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, (int)st);
    sqlite3_bind_int64(q, 3, finished_at);
    bind_text_or_null(q, 4, error);
    int ret = step_done(q) == SQLITE_DONE ? 0 : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_job_set_reasons(void *be, const char *id, const char *reasons)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_JOB_REASONS];
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, reasons ? reasons : "{}", -1, SQLITE_STATIC);
    int ret = step_done(q) == SQLITE_DONE ? 0 : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_job_set_webhook_state(void *be, const char *id, int state)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_JOB_WEBHOOK];
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, state);
    int ret = step_done(q) == SQLITE_DONE ? 0 : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* Collects every row of the bound statement q into a malloc'd array of
 * `size`-byte elements filled by fill (0 / -1); on failure the ones filled
 * are cleared with clear (may be NULL) and freed. The caller holds the
 * lock. 0 / -1. */
static int collect_rows(sqlite3_stmt *q, size_t size, int (*fill)(sqlite3_stmt *, void *), void (*clear)(void *),
                        void **out, size_t *n)
{
    char *arr = NULL;
    size_t len = 0, cap = 0;
    int rc, ret = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char *p = realloc(arr, ncap * size);
            if (!p) {
                ret = -1;
                break;
            }
            arr = p;
            cap = ncap;
        }
        if (fill(q, arr + len * size) != 0) {
            ret = -1;
            break;
        }
        len++;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = -1;
    stmt_done(q);
    if (ret != 0) {
        for (size_t i = 0; clear && i < len; i++)
            clear(arr + i * size);
        free(arr);
        return -1;
    }
    *out = arr;
    *n = len;
    return 0;
}

static int fill_job(sqlite3_stmt *q, void *elem)
{
    return job_from_row(q, elem);
}
static void clear_job(void *elem)
{
    st_job_clear(elem);
}

static int collect_jobs(sqlite3_stmt *q, st_job **jobs, size_t *n)
{
    void *arr = NULL;
    int ret = collect_rows(q, sizeof **jobs, fill_job, clear_job, &arr, n);
    *jobs = arr;
    return ret;
}

static int fill_id(sqlite3_stmt *q, void *elem)
{
    column_copy(q, 0, elem, ST_JOB_ID_LEN + 1);
    return 0;
}

static int sq_job_list(void *be, const char *key_id, st_job **jobs, size_t *n)
{
    sq_store *s = be;
    *jobs = NULL;
    *n = 0;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[key_id ? Q_JOB_LIST_KEY : Q_JOB_LIST_ALL];
    if (key_id)
        sqlite3_bind_text(q, 1, key_id, -1, SQLITE_STATIC);
    int ret = collect_jobs(q, jobs, n);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_job_list_status(void *be, st_job_status st, st_job **jobs, size_t *n)
{
    sq_store *s = be;
    *jobs = NULL;
    *n = 0;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_JOB_LIST_STATUS];
    sqlite3_bind_int(q, 1, (int)st);
    int ret = collect_jobs(q, jobs, n);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_job_expired(void *be, int64_t before, char (**ids)[ST_JOB_ID_LEN + 1], size_t *n)
{
    sq_store *s = be;
    *ids = NULL;
    *n = 0;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_JOB_EXPIRED];
    sqlite3_bind_int64(q, 1, before);
    void *arr = NULL;
    int ret = collect_rows(q, ST_JOB_ID_LEN + 1, fill_id, NULL, &arr, n);
    pthread_mutex_unlock(&s->lock);
    *ids = arr;
    return ret;
}

static int sq_job_delete(void *be, const char *id)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_JOB_DELETE];
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int ret = step_done(q) == SQLITE_DONE ? (sqlite3_changes(s->db) > 0 ? 1 : 0) : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* ---- the verification cache ------------------------------------------------------------ */

static int sq_cache_get(void *be, const char *addr, int64_t now, char **json)
{
    sq_store *s = be;
    *json = NULL;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_CACHE_GET];
    sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    int rc = sqlite3_step(q), ret;
    if (rc == SQLITE_ROW)
        ret = column_dup(q, 0, json) == 0 && *json ? 1 : -1;
    else
        ret = rc == SQLITE_DONE ? 0 : -1;
    stmt_done(q);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_cache_put(void *be, const char *addr, const char *json, int64_t expires)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_CACHE_PUT];
    sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, expires);
    int ret = step_done(q) == SQLITE_DONE ? 0 : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int64_t sq_cache_purge(void *be, int64_t now)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_CACHE_PURGE];
    sqlite3_bind_int64(q, 1, now);
    int64_t ret = step_done(q) == SQLITE_DONE ? (int64_t)sqlite3_changes(s->db) : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* ---- job rows ------------------------------------------------------------------------- */

/* Runs constant SQL (BEGIN IMMEDIATE, COMMIT, ROLLBACK). 0 / -1. Lock held. */
static int exec_sql(sq_store *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Binds len bytes of data as a blob, or NULL for no data. */
static void bind_blob_or_null(sqlite3_stmt *q, int idx, const void *data, size_t len)
{
    if (data)
        sqlite3_bind_blob64(q, idx, data, len, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, idx);
}

static int64_t sq_rows_add(void *be, const char *job_id, const st_row_in *rows, size_t n, char *err, size_t errlen)
{
    sq_store *s = be;
    int64_t added = 0;
    pthread_mutex_lock(&s->lock);
    if (exec_sql(s, "BEGIN IMMEDIATE") != 0) {
        snprintf(err, errlen, "cannot add rows: %s", sqlite3_errmsg(s->db));
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    sqlite3_stmt *q = s->stmt[Q_JOB_EXISTS];
    sqlite3_bind_text(q, 1, job_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    stmt_done(q);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            snprintf(err, errlen, "cannot add rows: no job %s", job_id);
        else
            snprintf(err, errlen, "cannot add rows: %s", sqlite3_errmsg(s->db));
        added = -1;
    }
    q = s->stmt[Q_ROWS_INSERT];
    for (size_t i = 0; added >= 0 && i < n; i++) {
        sqlite3_bind_text(q, 1, job_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, rows[i].row);
        sqlite3_bind_text(q, 3, rows[i].addr, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, rows[i].domain, -1, SQLITE_STATIC);
        bind_blob_or_null(q, 5, rows[i].fields, rows[i].fields_len);
        sqlite3_bind_int64(q, 6, rows[i].weight > 0 ? rows[i].weight : 1);
        if (step_done(q) != SQLITE_DONE) {
            snprintf(err, errlen, "cannot add row %lld: %s", (long long)rows[i].row, sqlite3_errmsg(s->db));
            added = -1;
        } else {
            added += sqlite3_changes(s->db);
        }
    }
    if (added >= 0 && exec_sql(s, "COMMIT") != 0) {
        snprintf(err, errlen, "cannot add rows: %s", sqlite3_errmsg(s->db));
        added = -1;
    }
    if (added < 0)
        exec_sql(s, "ROLLBACK");
    pthread_mutex_unlock(&s->lock);
    return added;
}

static int cmp_claim_row(const void *a, const void *b)
{
    const st_claim_row *x = a, *y = b;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* Appends the current row of the claim statement q (row_no, addr, fields)
 * to c. 0 / -1 (out of memory). */
static int claim_row_add(sqlite3_stmt *q, st_claim *c, size_t *cap)
{
    if (c->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        st_claim_row *p = realloc(c->rows, ncap * sizeof *p);
        if (!p)
            return -1;
        c->rows = p;
        *cap = ncap;
    }
    st_claim_row *r = &c->rows[c->n];
    memset(r, 0, sizeof *r);
    r->row = sqlite3_column_int64(q, 0);
    if (column_dup(q, 1, &r->addr) != 0 || !r->addr)
        return -1;
    c->n++;
    if (sqlite3_column_type(q, 2) != SQLITE_NULL) {
        size_t len = (size_t)sqlite3_column_bytes(q, 2);
        const void *b = sqlite3_column_blob(q, 2);
        r->fields = malloc(len ? len : 1);
        if (!r->fields)
            return -1;
        if (len)
            memcpy(r->fields, b, len);
        r->fields_len = len;
    }
    return 0;
}

static int sq_rows_claim(void *be, const char *worker_id, const char *claim_id, size_t max_rows, int64_t lease_ms,
                         int64_t now_ms, unsigned flags, st_claim *c)
{
    sq_store *s = be;
    int ret = 0;
    pthread_mutex_lock(&s->lock);
    /* One write transaction: the choice of the domain and the claim are
     * one unit (other processes wait for it); with ST_CLAIM_EXCLUSIVE the
     * choice skips domains whose politeness key a live claim holds, and
     * none can appear before the claim is made. Without it, such domains
     * are chosen only when no other is left. */
    if (exec_sql(s, "BEGIN IMMEDIATE") != 0) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    int rc = SQLITE_DONE;
    for (int pass = 0; pass < 2 && rc == SQLITE_DONE && ret == 0; pass++) {
        if (pass == 1 && (flags & ST_CLAIM_EXCLUSIVE))
            break;
        sqlite3_stmt *q = s->stmt[pass == 0 ? Q_ROWS_CANDIDATE_EX : Q_ROWS_CANDIDATE];
        sqlite3_bind_int64(q, 1, now_ms);
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            column_copy(q, 0, c->job_id, sizeof c->job_id);
            if (column_dup(q, 1, &c->domain) != 0 || !c->domain)
                ret = -1;
        } else if (rc != SQLITE_DONE) {
            ret = -1;
        }
        stmt_done(q);
    }
    sqlite3_stmt *q;
    if (rc == SQLITE_ROW && ret == 0) {
        q = s->stmt[Q_ROWS_CLAIM];
        sqlite3_bind_text(q, 1, c->job_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, c->domain, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, claim_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, worker_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, now_ms + lease_ms);
        sqlite3_bind_int64(q, 6, now_ms);
        sqlite3_bind_int64(q, 7, max_rows > INT64_MAX ? INT64_MAX : (int64_t)max_rows);
        size_t cap = 0;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW)
            if (claim_row_add(q, c, &cap) != 0) {
                ret = -1;
                break;
            }
        if (ret == 0 && rc != SQLITE_DONE)
            ret = -1;
        stmt_done(q);
        if (ret == 0 && c->n > 0) {
            memcpy(c->id, claim_id, ST_CLAIM_ID_LEN);
            c->id[ST_CLAIM_ID_LEN] = '\0';
            c->lease_until = now_ms + lease_ms;
            qsort(c->rows, c->n, sizeof *c->rows, cmp_claim_row);
            ret = 1;
        }
    }
    if (ret >= 0 && exec_sql(s, "COMMIT") != 0)
        ret = -1;
    if (ret < 0)
        exec_sql(s, "ROLLBACK");
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* Runs an UPDATE bound to claim_id (and an int64 second parameter when
 * v2 is given); the number of rows it changed, or -1. */
static int64_t claim_update(sq_store *s, int qi, const char *claim_id, const int64_t *v2)
{
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[qi];
    sqlite3_bind_text(q, 1, claim_id, -1, SQLITE_STATIC);
    if (v2)
        sqlite3_bind_int64(q, 2, *v2);
    int64_t ret = step_done(q) == SQLITE_DONE ? (int64_t)sqlite3_changes(s->db) : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int64_t sq_rows_renew(void *be, const char *claim_id, int64_t lease_until)
{
    return claim_update(be, Q_ROWS_RENEW, claim_id, &lease_until);
}

static int64_t sq_rows_release(void *be, const char *claim_id)
{
    return claim_update(be, Q_ROWS_RELEASE, claim_id, NULL);
}

static int64_t sq_rows_result(void *be, const char *claim_id, const st_row_result *res, size_t n, int *rcs)
{
    sq_store *s = be;
    int64_t written = 0;
    pthread_mutex_lock(&s->lock);
    if (exec_sql(s, "BEGIN IMMEDIATE") != 0) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    for (size_t i = 0; written >= 0 && i < n; i++) {
        sqlite3_stmt *q = s->stmt[Q_ROWS_RESULT];
        sqlite3_bind_text(q, 1, claim_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, res[i].row);
        sqlite3_bind_int(q, 3, res[i].status);
        bind_text_or_null(q, 4, res[i].reason);
        bind_text_or_null(q, 5, res[i].json);
        if (step_done(q) != SQLITE_DONE) {
            written = -1;
        } else if (sqlite3_changes(s->db) > 0) {
            rcs[i] = ST_RESULT_WRITTEN;
            written++;
        } else {
            /* Not written: done already through this claim, or not ours. */
            q = s->stmt[Q_ROWS_RESULT_STATE];
            sqlite3_bind_text(q, 1, claim_id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(q, 2, res[i].row);
            int rc = sqlite3_step(q);
            if (rc == SQLITE_ROW)
                rcs[i] = sqlite3_column_int(q, 0) == ST_ROW_DONE ? ST_RESULT_REPEAT : ST_RESULT_LOST;
            else if (rc == SQLITE_DONE)
                rcs[i] = ST_RESULT_LOST;
            else
                written = -1;
            stmt_done(q);
        }
    }
    if (written >= 0 && exec_sql(s, "COMMIT") != 0)
        written = -1;
    if (written < 0)
        exec_sql(s, "ROLLBACK");
    pthread_mutex_unlock(&s->lock);
    return written;
}

static int sq_rows_counts(void *be, const char *job_id, st_row_counts *c)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_ROWS_COUNTS];
    sqlite3_bind_text(q, 1, job_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        st_row_counts_add(c, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2));
    }
    stmt_done(q);
    pthread_mutex_unlock(&s->lock);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* One done row, copied out of the page statement. */
typedef struct page_row {
    st_row_done d;
    char *addr, *reason, *json;
    unsigned char *fields;
} page_row;

static void page_row_clear(page_row *p)
{
    free(p->addr);
    free(p->reason);
    free(p->json);
    free(p->fields);
}

static int fill_page_row(sqlite3_stmt *q, void *elem)
{
    page_row *p = elem;
    memset(p, 0, sizeof *p);
    p->d.row = sqlite3_column_int64(q, 0);
    p->d.status = sqlite3_column_int(q, 3);
    if (column_dup(q, 1, &p->addr) != 0 || column_dup(q, 4, &p->reason) != 0 || column_dup(q, 5, &p->json) != 0)
        goto fail;
    if (sqlite3_column_type(q, 2) != SQLITE_NULL) {
        size_t len = (size_t)sqlite3_column_bytes(q, 2);
        const void *b = sqlite3_column_blob(q, 2);
        if (!(p->fields = malloc(len ? len : 1)))
            goto fail;
        if (len)
            memcpy(p->fields, b, len);
        p->d.fields_len = len;
    }
    p->d.addr = p->addr ? p->addr : "";
    p->d.reason = p->reason;
    p->d.json = p->json;
    p->d.fields = p->fields;
    return 0;
fail:
    page_row_clear(p);
    return -1;
}

static void clear_page_row(void *elem)
{
    page_row_clear(elem);
}

static int sq_rows_page(void *be, const char *job_id, int64_t after, int limit,
                        int (*cb)(void *ctx, const st_row_done *row), void *ctx, int64_t *last, int *got)
{
    sq_store *s = be;
    *got = 0;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_ROWS_PAGE];
    sqlite3_bind_text(q, 1, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, after);
    sqlite3_bind_int(q, 3, limit);
    void *arr = NULL;
    size_t n = 0;
    int ret = collect_rows(q, sizeof(page_row), fill_page_row, clear_page_row, &arr, &n);
    pthread_mutex_unlock(&s->lock);
    if (ret != 0)
        return -1;
    page_row *rows = arr;
    for (size_t i = 0; i < n && ret == 0; i++) {
        ret = cb(ctx, &rows[i].d);
        *last = rows[i].d.row;
    }
    for (size_t i = 0; i < n; i++)
        page_row_clear(&rows[i]);
    free(arr);
    *got = (int)n;
    return ret;
}

static int fill_claim_info(sqlite3_stmt *q, void *elem)
{
    st_claim_info *ci = elem;
    memset(ci, 0, sizeof *ci);
    column_copy(q, 0, ci->id, sizeof ci->id);
    column_copy(q, 1, ci->job_id, sizeof ci->job_id);
    column_copy(q, 2, ci->holder, sizeof ci->holder);
    column_copy(q, 3, ci->domain, sizeof ci->domain);
    ci->rows = sqlite3_column_int64(q, 4);
    ci->lease_until = sqlite3_column_int64(q, 5);
    return 0;
}

static int sq_claims_list(void *be, int64_t now_ms, st_claim_info **out, size_t *n)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_CLAIMS_LIST];
    sqlite3_bind_int64(q, 1, now_ms);
    void *arr = NULL;
    int ret = collect_rows(q, sizeof **out, fill_claim_info, NULL, &arr, n);
    pthread_mutex_unlock(&s->lock);
    *out = arr;
    return ret;
}

static int sq_queue_list(void *be, st_queue_info **out, size_t *n)
{
    sq_store *s = be;
    st_queue_info *arr = NULL;
    size_t len = 0, cap = 0;
    int rc, ret = 0;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_QUEUE_LIST];
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const unsigned char *id = sqlite3_column_text(q, 0);
        /* the rows of one job are adjacent: a new job starts a new entry */
        if (len == 0 || !id || strcmp(arr[len - 1].job_id, (const char *)id) != 0) {
            if (len == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                st_queue_info *p = realloc(arr, ncap * sizeof *p);
                if (!p) {
                    ret = -1;
                    break;
                }
                arr = p;
                cap = ncap;
            }
            st_queue_info *qi = &arr[len++];
            memset(qi, 0, sizeof *qi);
            column_copy(q, 0, qi->job_id, sizeof qi->job_id);
            qi->status = sqlite3_column_int(q, 1) == ST_JOB_RUNNING ? ST_JOB_RUNNING : ST_JOB_QUEUED;
            qi->created_at = sqlite3_column_int64(q, 2);
        }
        st_row_counts_add(&arr[len - 1].c, sqlite3_column_int64(q, 3), sqlite3_column_int64(q, 4),
                          sqlite3_column_int64(q, 5));
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = -1;
    stmt_done(q);
    pthread_mutex_unlock(&s->lock);
    if (ret != 0) {
        free(arr);
        return -1;
    }
    *out = arr;
    *n = len;
    return 0;
}

/* ---- workers -------------------------------------------------------------------------- */

static int sq_worker_register(void *be, const st_worker_info *w)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_WORKER_PUT];
    sqlite3_bind_text(q, 1, w->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, w->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, w->host, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, w->addrs, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, w->started_at);
    sqlite3_bind_int64(q, 6, w->last_seen);
    int ret = step_done(q) == SQLITE_DONE ? 0 : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_worker_heartbeat(void *be, const char *id, int64_t now_ms)
{
    int64_t n = claim_update(be, Q_WORKER_SEEN, id, &now_ms);
    return n < 0 ? -1 : n > 0 ? 1 : 0;
}

static int fill_worker(sqlite3_stmt *q, void *elem)
{
    st_worker_info *w = elem;
    memset(w, 0, sizeof *w);
    column_copy(q, 0, w->id, sizeof w->id);
    column_copy(q, 1, w->name, sizeof w->name);
    column_copy(q, 2, w->host, sizeof w->host);
    column_copy(q, 3, w->addrs, sizeof w->addrs);
    w->started_at = sqlite3_column_int64(q, 4);
    w->last_seen = sqlite3_column_int64(q, 5);
    return 0;
}

static int sq_worker_list(void *be, st_worker_info **w, size_t *n)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    void *arr = NULL;
    int ret = collect_rows(s->stmt[Q_WORKER_LIST], sizeof **w, fill_worker, NULL, &arr, n);
    pthread_mutex_unlock(&s->lock);
    *w = arr;
    return ret;
}

static int sq_worker_remove(void *be, const char *id)
{
    int64_t n = claim_update(be, Q_WORKER_DELETE, id, NULL);
    return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/* ---- domain facts ------------------------------------------------------------------------ */

static int sq_domain_facts_get(void *be, const char *domain, st_domain_facts *f)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_FACTS_GET];
    sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q), ret;
    if (rc == SQLITE_ROW) {
        column_copy(q, 0, f->mx_host, sizeof f->mx_host);
        int aa = sqlite3_column_int(q, 1);
        f->accept_all = aa < 0 ? -1 : aa > 0;
        f->accept_all_at = sqlite3_column_int64(q, 2);
        f->updated_at = sqlite3_column_int64(q, 3);
        ret = 1;
    } else {
        ret = rc == SQLITE_DONE ? 0 : -1;
    }
    stmt_done(q);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_domain_facts_put(void *be, const char *domain, const char *mx_host, int accept_all,
                               int64_t accept_all_at, int64_t updated_at)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_FACTS_PUT];
    sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
    bind_text_or_null(q, 2, mx_host);
    sqlite3_bind_int(q, 3, accept_all);
    sqlite3_bind_int64(q, 4, accept_all_at);
    sqlite3_bind_int64(q, 5, updated_at);
    int ret = step_done(q) == SQLITE_DONE ? 0 : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* ---- the host gate ----------------------------------------------------------------------- */

static int sq_host_slot_take(void *be, const char *host, int cap, const char *holder, int64_t until, int64_t now,
                             int64_t limits_since, int *slot, st_host_limits *lim)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_SLOT_TAKE];
    sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, holder, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, cap);
    sqlite3_bind_int64(q, 4, until);
    sqlite3_bind_int64(q, 5, now);
    int rc = sqlite3_step(q), ret;
    if (rc == SQLITE_ROW) {
        *slot = sqlite3_column_int(q, 0);
        ret = 1;
        rc = sqlite3_step(q); /* to the end: the statement's write is done there */
        if (rc != SQLITE_DONE)
            ret = -1;
    } else {
        ret = rc == SQLITE_DONE ? 0 : -1;
    }
    stmt_done(q);
    if (ret == 1) {
        q = s->stmt[Q_SLOT_LIMITS];
        sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, limits_since);
        if (sqlite3_step(q) == SQLITE_ROW) {
            lim->rcpts_per_connection = sqlite3_column_int(q, 0);
            lim->rcpts_per_transaction = sqlite3_column_int(q, 1);
        }
        stmt_done(q);
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_host_slot_give(void *be, const char *host, int slot, const char *holder)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_SLOT_GIVE];
    sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, slot);
    sqlite3_bind_text(q, 3, holder, -1, SQLITE_STATIC);
    int ret = step_done(q) == SQLITE_DONE ? 0 : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int sq_host_limits_put(void *be, const char *host, const st_host_limits *lim, int64_t now,
                              int64_t stale_before)
{
    sq_store *s = be;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *q = s->stmt[Q_HOSTLIM_PUT];
    sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, lim->rcpts_per_connection);
    sqlite3_bind_int(q, 3, lim->rcpts_per_transaction);
    sqlite3_bind_int64(q, 4, now);
    sqlite3_bind_int64(q, 5, stale_before);
    int ret = step_done(q) == SQLITE_DONE ? 0 : -1;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static const st_store_ops sq_ops = {
    .kind = "sqlite",
    .close = sq_close,
    .version = sq_version,
    .error = sq_error,
    .key_insert = sq_key_insert,
    .key_list = sq_key_list,
    .key_revoke = sq_key_revoke,
    .key_find = sq_key_find,
    .key_count = sq_key_count,
    .usage_add = sq_usage_add,
    .job_insert = sq_job_insert,
    .job_get = sq_job_get,
    .job_progress = sq_job_progress,
    .job_set_status = sq_job_set_status,
    .job_set_reasons = sq_job_set_reasons,
    .job_set_webhook_state = sq_job_set_webhook_state,
    .job_list = sq_job_list,
    .job_list_status = sq_job_list_status,
    .job_expired = sq_job_expired,
    .job_delete = sq_job_delete,
    .cache_get = sq_cache_get,
    .cache_put = sq_cache_put,
    .cache_purge = sq_cache_purge,
    .rows_add = sq_rows_add,
    .rows_claim = sq_rows_claim,
    .rows_renew = sq_rows_renew,
    .rows_result = sq_rows_result,
    .rows_release = sq_rows_release,
    .rows_counts = sq_rows_counts,
    .rows_page = sq_rows_page,
    .worker_register = sq_worker_register,
    .worker_heartbeat = sq_worker_heartbeat,
    .worker_list = sq_worker_list,
    .worker_remove = sq_worker_remove,
    .claims_list = sq_claims_list,
    .queue_list = sq_queue_list,
    .domain_facts_get = sq_domain_facts_get,
    .domain_facts_put = sq_domain_facts_put,
    .host_slot_take = sq_host_slot_take,
    .host_slot_give = sq_host_slot_give,
    .host_limits_put = sq_host_limits_put,
};

int st_store_sqlite_open(const st_store_ops **ops, void **be, const char *dir, char *err, size_t errlen)
{
    *be = NULL;
    *ops = &sq_ops;
    if (!dir || !*dir) {
        snprintf(err, errlen, "no data directory");
        return -1;
    }
    char path[4096];
    int plen = snprintf(path, sizeof path, "%s/bouncecheck.db", dir);
    if (plen < 0 || (size_t)plen >= sizeof path) {
        snprintf(err, errlen, "data directory name too long: %.64s...", dir);
        return -1;
    }
    if (make_dir(dir, err, errlen) != 0 || make_db_file(path, err, errlen) != 0)
        return -1;
    sq_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        snprintf(err, errlen, "cannot create a mutex");
        return -1;
    }
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sq_close(s);
        return -1;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (init_schema(s, path, err, errlen) != 0) {
        sq_close(s);
        return -1;
    }
    for (int i = 0; i < Q__COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
            SQLITE_OK) {
            snprintf(err, errlen, "database %s: %s", path, sqlite3_errmsg(s->db));
            sq_close(s);
            return -1;
        }
    }
    *be = s;
    return 0;
}
