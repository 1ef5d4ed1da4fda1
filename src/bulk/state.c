/*
 * state.c - a bulk job's state in SQLite (see state.h).
 *
 * Tables:
 *   meta(k, v)       the job's settings and progress markers
 *   addrs            one per distinct normalised address: the cell first
 *                    seen, its A-label domain, how many rows hold it (its
 *                    done and result columns are those of files from
 *                    before the results table: never written now)
 *   results          one per address verified, in the order results came:
 *                    its address (unique), the result columns (and JSON
 *                    when the output is JSON). An address is done when it
 *                    has a row here.
 *   rows             one per input row, in input order: line, fields, the
 *                    row's own email cell and its address
 *
 * Results are appended, not written into their address's row: a row that
 * grows from some 60 bytes to 600 moves its page's neighbours, and results
 * come in an order (a domain's addresses together) that is spread over the
 * whole addrs table, so each commit rewrote most of its pages. For 200,000
 * addresses stored 50,000 to a commit, that wrote 1.9 GB to the WAL; an
 * appended row and its index entry write 0.25 GB.
 * The key that makes two cells "the same address" is the normalised
 * address with the ASCII letters of the local part folded to lower case
 * (mail servers treat local parts case-insensitively in practice, and one
 * probe per mailbox is the point) and the domain in A-label form. Cells
 * that do not parse key on their exact bytes behind a 0x01 byte, which no
 * valid address contains.
 */
#include "state.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    S_META_SET,
    S_META_GET,
    S_FIND,
    S_BUMP,
    S_ADD_ADDR,
    S_ADD_ROW,
    S_STORE,
    S_PEND_DOM,
    S_PEND_ALL,
    S_DONE,
    S__COUNT
};

static const char *const sql_text[S__COUNT] = {
    [S_META_SET] = "INSERT INTO meta(k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    [S_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [S_FIND] = "SELECT id FROM addrs WHERE key = ?1",
    [S_BUMP] = "UPDATE addrs SET nrows = nrows + 1 WHERE id = ?1",
    [S_ADD_ADDR] = "INSERT INTO addrs(key, email, domain, nrows) VALUES (?1, ?2, ?3, 1)",
    [S_ADD_ROW] = "INSERT INTO rows(idx, line, addr, email, fields) VALUES (?1, ?2, ?3, ?4, ?5)",
    /* (a result stored again, by a recheck, replaces the first) */
    [S_STORE] =
        "INSERT INTO results(id, status, reason, score, disposable, role, free, accept_all, suggestion,"
        " mx_host, smtp_code, smtp_message, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
        " ?13) ON CONFLICT(id) DO UPDATE SET status = excluded.status, reason = excluded.reason,"
        " score = excluded.score, disposable = excluded.disposable, role = excluded.role,"
        " free = excluded.free, accept_all = excluded.accept_all, suggestion = excluded.suggestion,"
        " mx_host = excluded.mx_host, smtp_code = excluded.smtp_code,"
        " smtp_message = excluded.smtp_message, json = excluded.json",
    /* (done = 0: a file from before the results table keeps its old
     * addresses' flags, and its partial index serves these walks) */
    [S_PEND_DOM] = "SELECT a.id, a.email, a.domain, a.nrows FROM addrs a"
                   " WHERE a.done = 0 AND a.domain = ?1 AND a.id > ?2"
                   " AND NOT EXISTS (SELECT 1 FROM results x WHERE x.id = a.id) ORDER BY a.id LIMIT ?3",
    [S_PEND_ALL] = "SELECT a.id, a.email, a.domain, a.nrows FROM addrs a"
                   " WHERE a.done = 0 AND a.id > ?1"
                   " AND NOT EXISTS (SELECT 1 FROM results x WHERE x.id = a.id) ORDER BY a.id LIMIT ?2",
    [S_DONE] = "SELECT EXISTS (SELECT 1 FROM results WHERE id = ?1)",
};

static const char schema[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "PRAGMA cache_size = -49152;"
    "PRAGMA wal_autocheckpoint = 16384;"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS addrs("
    " id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, email BLOB NOT NULL,"
    " domain TEXT NOT NULL, nrows INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,"
    " status INTEGER, reason TEXT, score INTEGER, disposable INTEGER, role INTEGER,"
    " free INTEGER, accept_all INTEGER, suggestion TEXT, mx_host TEXT, smtp_code INTEGER,"
    " smtp_message TEXT, json TEXT);"
    "CREATE INDEX IF NOT EXISTS addrs_todo ON addrs(domain, id) WHERE done = 0;"
    "CREATE TABLE IF NOT EXISTS rows("
    " idx INTEGER PRIMARY KEY, line INTEGER NOT NULL, addr INTEGER NOT NULL,"
    " email BLOB, fields BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS results("
    " seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, status INTEGER NOT NULL, reason TEXT, score INTEGER,"
    " disposable INTEGER, role INTEGER, free INTEGER, accept_all INTEGER, suggestion TEXT, mx_host TEXT,"
    " smtp_code INTEGER, smtp_message TEXT, json TEXT);";

/* A file from before the results table: its results move there, once (the
 * old columns stay as they are, unread). */
static const char to_results_table[] =
    "BEGIN IMMEDIATE;"
    "INSERT OR IGNORE INTO results(id, status, reason, score, disposable, role, free, accept_all, suggestion,"
    " mx_host, smtp_code, smtp_message, json) SELECT id, coalesce(status, 0), reason, score, disposable, role,"
    " free, accept_all, suggestion, mx_host, smtp_code, smtp_message, json FROM addrs WHERE done = 1 ORDER BY id;"
    "INSERT INTO meta(k, v) VALUES ('layout', 2) ON CONFLICT(k) DO UPDATE SET v = excluded.v;"
    "COMMIT;";

struct bk_state {
    sqlite3 *db;
    sqlite3_stmt *stmt[S__COUNT];
    bool in_tx;
    bc_addr addr; /* scratch for bk_state_add_row (large: kept off the stack) */
};

const char *bk_state_error(bk_state *st)
{
    return st && st->db ? sqlite3_errmsg(st->db) : "no database";
}

/* Prepares every statement once; 0 / -1. */
static int prepare_all(bk_state *st)
{
    for (int i = 0; i < S__COUNT; i++)
        if (sqlite3_prepare_v3(st->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
            SQLITE_OK)
            return -1;
    return 0;
}

int bk_state_open(bk_state **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    bk_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        sqlite3_busy_timeout(st->db, 5000);
    if (rc != SQLITE_OK || sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK || prepare_all(st) != 0 ||
        (bk_state_get_int(st, "layout", 0) < 2 &&
         sqlite3_exec(st->db, to_results_table, NULL, NULL, NULL) != SQLITE_OK)) {
        snprintf(err, errlen, "state file %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
        bk_state_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

void bk_state_close(bk_state *st)
{
    if (!st)
        return;
    if (st->in_tx)
        bk_state_commit(st);
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    free(st);
}

bool bk_state_is_new(bk_state *st)
{
    return bk_state_get_int(st, "version", 0) == 0;
}

/* Runs a statement that returns no rows to completion and resets it. */
static int step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int bk_state_set(bk_state *st, const char *key, const char *value)
{
    sqlite3_stmt *s = st->stmt[S_META_SET];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (value)
        sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 2);
    return step_done(s);
}

int bk_state_set_blob(bk_state *st, const char *key, const void *data, size_t len)
{
    sqlite3_stmt *s = st->stmt[S_META_SET];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(s, 2, data ? data : "", len, SQLITE_STATIC);
    return step_done(s);
}

int bk_state_set_int(bk_state *st, const char *key, int64_t value)
{
    sqlite3_stmt *s = st->stmt[S_META_SET];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, value);
    return step_done(s);
}

char *bk_state_get(bk_state *st, const char *key, size_t *len)
{
    sqlite3_stmt *s = st->stmt[S_META_GET];
    char *v = NULL;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        const void *p = sqlite3_column_blob(s, 0);
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        v = malloc(n + 1);
        if (v) {
            if (n)
                memcpy(v, p, n);
            v[n] = '\0';
            if (len)
                *len = n;
        }
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return v;
}

int64_t bk_state_get_int(bk_state *st, const char *key, int64_t dflt)
{
    sqlite3_stmt *s = st->stmt[S_META_GET];
    int64_t v = dflt;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return v;
}

int bk_state_begin(bk_state *st)
{
    if (st->in_tx)
        return 0;
    if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    st->in_tx = true;
    return 0;
}

int bk_state_rollback(bk_state *st)
{
    if (!st->in_tx)
        return 0;
    st->in_tx = false;
    return sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int bk_state_commit(bk_state *st)
{
    if (!st->in_tx)
        return 0;
    st->in_tx = false;
    return sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* ---- fields blob: for each field a 4-byte little-endian length, then the bytes ---- */

void *bk_fields_pack(const char *const *fields, const size_t *lens, size_t n, size_t *outlen)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += 4 + lens[i];
    unsigned char *b = malloc(total ? total : 1), *p = b;
    if (!b)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        uint32_t l = (uint32_t)lens[i];
        for (int k = 0; k < 4; k++)
            *p++ = (unsigned char)(l >> (8 * k));
        if (l)
            memcpy(p, fields[i], l);
        p += l;
    }
    *outlen = total;
    return b;
}

int bk_fields_unpack(const void *blob, size_t len, const char ***fields, size_t **lens, size_t *n)
{
    const unsigned char *b = blob, *end = b + len;
    size_t count = 0, bytes = 0;
    for (const unsigned char *p = b; p < end;) {
        if (end - p < 4)
            return -1;
        uint32_t l = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        p += 4;
        if ((size_t)(end - p) < l)
            return -1;
        p += l;
        count++;
        bytes += l + 1;
    }
    size_t head = count * (sizeof(char *) + sizeof(size_t));
    unsigned char *block = malloc(head + bytes + 1);
    if (!block)
        return -1;
    char **fp = (char **)(void *)block;
    size_t *lp = (size_t *)(void *)(block + count * sizeof(char *));
    char *data = (char *)block + head;
    size_t i = 0;
    for (const unsigned char *p = b; p < end; i++) {
        uint32_t l = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        p += 4;
        fp[i] = data;
        lp[i] = l;
        if (l)
            memcpy(data, p, l);
        data[l] = '\0';
        data += l + 1;
        p += l;
    }
    *fields = (const char **)fp;
    *lens = lp;
    *n = count;
    return 0;
}

/* ---- rows and addresses ----------------------------------------------------- */

/* The dedup key of a cell (see the top of the file) into buf; its length. */
static size_t address_key(bk_state *st, const char *email, size_t len, char *buf, size_t size, const char **domain)
{
    bc_addr *a = &st->addr;
    *domain = "";
    if (email && len > 0 && len < BC_ADDR_MAX * 2) {
        bc_addr_parse(email, len, a);
        if (a->valid) {
            int n = snprintf(buf, size, "%s@%s", a->local, a->ascii_domain);
            if (n > 0 && (size_t)n < size) {
                for (char *p = buf; *p != '@'; p++)
                    if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
                *domain = a->ascii_domain;
                return (size_t)n;
            }
        }
    }
    /* not an address: the exact bytes (bounded: longer cells are invalid anyway) */
    buf[0] = '\x01';
    size_t n = email ? len : 0;
    if (n > size - 1)
        n = size - 1;
    if (n)
        memcpy(buf + 1, email, n);
    return n + 1;
}

int bk_state_add_row(bk_state *st, int64_t idx, const bk_row *row, char *err, size_t errlen)
{
    char key[BC_ADDR_MAX * 2 + 2];
    const char *domain;
    size_t klen = address_key(st, row->email, row->email_len, key, sizeof key, &domain);
    sqlite3_stmt *s = st->stmt[S_FIND];
    sqlite3_bind_blob64(s, 1, key, klen, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto fail;
    if (id) {
        s = st->stmt[S_BUMP];
        sqlite3_bind_int64(s, 1, id);
        if (step_done(s) != 0)
            goto fail;
    } else {
        s = st->stmt[S_ADD_ADDR];
        sqlite3_bind_blob64(s, 1, key, klen, SQLITE_STATIC);
        sqlite3_bind_blob64(s, 2, row->email ? row->email : "", row->email ? row->email_len : 0, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, domain, -1, SQLITE_STATIC);
        if (step_done(s) != 0)
            goto fail;
        id = sqlite3_last_insert_rowid(st->db);
    }
    size_t blen;
    void *blob = bk_fields_pack(row->fields, row->lens, row->nfields, &blen);
    if (!blob) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s = st->stmt[S_ADD_ROW];
    sqlite3_bind_int64(s, 1, idx);
    sqlite3_bind_int64(s, 2, (int64_t)row->line);
    sqlite3_bind_int64(s, 3, id);
    if (row->email)
        sqlite3_bind_blob64(s, 4, row->email, row->email_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 4);
    sqlite3_bind_blob64(s, 5, blob, blen, free);
    if (step_done(s) != 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "state file: %s", sqlite3_errmsg(st->db));
    return -1;
}

/* ---- counts ------------------------------------------------------------------ */

int bk_state_counts_reasons(bk_state *st, bk_counts *c, void (*fn)(void *arg, const char *reason, int64_t rows),
                            void *arg)
{
    memset(c, 0, sizeof *c);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT count(*), coalesce(sum(nrows), 0), (SELECT count(*) FROM results)"
                                " FROM addrs",
                                -1, &s, NULL);
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
        c->addrs = sqlite3_column_int64(s, 0);
        c->rows = sqlite3_column_int64(s, 1);
        c->addrs_done = sqlite3_column_int64(s, 2);
    } else {
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_finalize(s);
    /* the rows done, by status and by reason, in one pass over the
     * results (each joined to its address for its rows) */
    rc = sqlite3_prepare_v2(st->db,
                            "SELECT x.status, x.reason, sum(a.nrows) FROM results x JOIN addrs a ON a.id = x.id"
                            " GROUP BY x.status, x.reason",
                            -1, &s, NULL);
    if (rc != SQLITE_OK)
        return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int k = sqlite3_column_int(s, 0);
        int64_t n = sqlite3_column_int64(s, 2);
        c->rows_done += n;
        if (k >= 0 && k < 4)
            c->by_status[k] += n;
        if (fn)
            fn(arg, (const char *)sqlite3_column_text(s, 1), n);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int bk_state_counts(bk_state *st, bk_counts *c)
{
    return bk_state_counts_reasons(st, c, NULL, NULL);
}

int bk_state_done(bk_state *st, int64_t id)
{
    sqlite3_stmt *s = st->stmt[S_DONE];
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s), ret = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) != 0 : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(s);
    return ret;
}

int64_t bk_state_todo(bk_state *st)
{
    sqlite3_stmt *s = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(st->db, "SELECT (SELECT count(*) FROM addrs) - (SELECT count(*) FROM results)", -1, &s,
                           NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

int bk_state_reasons(bk_state *st, void (*fn)(void *arg, const char *reason, int64_t rows), void *arg)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT x.reason, sum(a.nrows) AS n FROM results x JOIN addrs a ON a.id = x.id"
                           " GROUP BY x.reason ORDER BY n DESC, x.reason",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int bk_state_blocked(bk_state *st, bk_blocked_fn fn, void *arg)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT coalesce(json_extract(x.json, '$.provider'), json_extract(x.json, "
                           "'$.smtp.host'),"
                           " '?') AS p,"
                           " coalesce(json_extract(x.json, '$.smtp.source_address'), '') AS src,"
                           " max(coalesce(json_extract(x.json, '$.hint'), '')), sum(a.nrows) AS n"
                           " FROM results x JOIN addrs a ON a.id = x.id WHERE x.reason = 'blocked'"
                           " AND json_valid(x.json) GROUP BY p, src ORDER BY n DESC, p",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
           (const char *)sqlite3_column_text(s, 2), sqlite3_column_int64(s, 3));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The first http(s) URL of text into buf ("" when none). */
static void first_url(const char *text, char *buf, size_t len)
{
    buf[0] = '\0';
    const char *u = text ? strstr(text, "http") : NULL;
    while (u && strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        u = strstr(u + 4, "http");
    if (!u)
        return;
    size_t n = strcspn(u, " \t\"'<>)]");
    while (n > 0 && strchr(".,;:", u[n - 1]))
        n--;
    if (n < len) {
        memcpy(buf, u, n);
        buf[n] = '\0';
    }
}

void bk_blocked_message(char *buf, size_t len, const char *provider, const char *source, const char *url,
                        int64_t rows)
{
    snprintf(buf, len, "%lld address%s at %s could not be checked because your address%s%s is blocked%s%s",
             (long long)rows, rows == 1 ? "" : "es", provider && *provider ? provider : "a mail server",
             source && *source ? " " : "", source ? source : "", url && *url ? ": see " : "", url ? url : "");
}

void bk_blocked_add(void *arr, const char *provider, const char *source, const char *hint, int64_t rows)
{
    json_t *a = arr;
    if (!json_is_array(a))
        return;
    provider = provider && *provider ? provider : "?";
    source = source ? source : "";
    json_t *e = NULL;
    for (size_t i = 0; i < json_array_size(a) && !e; i++) {
        json_t *x = json_array_get(a, i);
        const char *xp = json_string_value(json_object_get(x, "provider"));
        const char *xs = json_string_value(json_object_get(x, "source_address"));
        if (strcmp(xp ? xp : "", provider) == 0 && strcmp(xs ? xs : "", source) == 0)
            e = x;
    }
    char url[512];
    first_url(hint, url, sizeof url);
    if (!e) {
        e = json_object();
        if (!e)
            return;
        json_object_set_new(e, "provider", json_string(provider));
        json_object_set_new(e, "source_address", *source ? json_string(source) : json_null());
        json_object_set_new(e, "count", json_integer(0));
        json_object_set_new(e, "url", json_null());
        json_array_append_new(a, e);
    }
    json_int_t n = json_integer_value(json_object_get(e, "count")) + (json_int_t)rows;
    json_object_set_new(e, "count", json_integer(n));
    if (url[0] && json_is_null(json_object_get(e, "url")))
        json_object_set_new(e, "url", json_string(url));
    const char *u = json_string_value(json_object_get(e, "url"));
    char msg[1024];
    bk_blocked_message(msg, sizeof msg, provider, source, u, n);
    json_object_set_new(e, "message", json_string(msg));
}

/* ---- verification ------------------------------------------------------------- */

int bk_state_pending_domains(bk_state *st, int (*fn)(void *arg, const char *domain, int64_t count), void *arg)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT a.domain, count(*) AS n FROM addrs a WHERE a.done = 0"
                           " AND NOT EXISTS (SELECT 1 FROM results x WHERE x.id = a.id) GROUP BY a.domain"
                           " ORDER BY n DESC, a.domain",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (fn(arg, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The waiting address of s's current row (columns id, email, domain,
 * nrows) into *p. */
static void pending_of(sqlite3_stmt *s, bk_pending *p)
{
    *p = (bk_pending){
        .id = sqlite3_column_int64(s, 0),
        .email = sqlite3_column_blob(s, 1),
        .email_len = (size_t)sqlite3_column_bytes(s, 1),
        .domain = (const char *)sqlite3_column_text(s, 2),
        .nrows = sqlite3_column_int64(s, 3),
    };
    if (!p->email)
        p->email = "";
    if (!p->domain)
        p->domain = "";
}

int bk_state_pending_sorted(bk_state *st, int (*fn)(void *arg, const bk_pending *p), void *arg)
{
    sqlite3_stmt *s = NULL;
    /* (NOT INDEXED: a scan of the table in its order, then SQLite's
     * sorter, which spills to temporary files past its memory) */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, email, domain, nrows FROM (SELECT a.id, a.email, a.domain, a.nrows,"
                           " count(*) OVER (PARTITION BY a.domain) AS n FROM addrs a NOT INDEXED"
                           " WHERE a.done = 0 AND NOT EXISTS (SELECT 1 FROM results x WHERE x.id = a.id))"
                           " ORDER BY n DESC, domain, id",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        bk_pending p;
        pending_of(s, &p);
        if ((ret = fn(arg, &p)) != 0)
            break;
    }
    sqlite3_finalize(s);
    return ret != 0 ? ret : rc == SQLITE_DONE ? 0 : -1;
}

int bk_state_pending(bk_state *st, const char *domain, int64_t after_id, int limit,
                     int (*fn)(void *arg, const bk_pending *p), void *arg)
{
    sqlite3_stmt *s;
    if (domain) {
        s = st->stmt[S_PEND_DOM];
        sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, after_id);
        sqlite3_bind_int(s, 3, limit);
    } else {
        s = st->stmt[S_PEND_ALL];
        sqlite3_bind_int64(s, 1, after_id);
        sqlite3_bind_int(s, 2, limit);
    }
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        bk_pending p;
        pending_of(s, &p);
        n++;
        if (fn(arg, &p) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? n : -1;
}

/* Binds a tristate: NULL when unknown, else 0/1. */
static void bind_tri(sqlite3_stmt *s, int i, bc_tristate t)
{
    if (t == BC_UNKNOWN)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_int(s, i, t == BC_YES ? 1 : 0);
}

static void bind_opt_text(sqlite3_stmt *s, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

int bk_state_store_cols(bk_state *st, int64_t id, const bk_result_cols *c)
{
    sqlite3_stmt *s = st->stmt[S_STORE];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, (int)c->status);
    sqlite3_bind_text(s, 3, c->reason ? c->reason : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 4, c->score);
    bind_tri(s, 5, c->disposable);
    bind_tri(s, 6, c->role);
    bind_tri(s, 7, c->free_provider);
    bind_tri(s, 8, c->accept_all);
    bind_opt_text(s, 9, c->suggestion);
    bind_opt_text(s, 10, c->mx_host);
    if (c->smtp_code)
        sqlite3_bind_int(s, 11, c->smtp_code);
    else
        sqlite3_bind_null(s, 11);
    bind_opt_text(s, 12, c->smtp_message);
    bind_opt_text(s, 13, c->json);
    return step_done(s);
}

/* The columns of r; json is left NULL. Strings owned by r. */
static void cols_of(const bc_result *r, bk_result_cols *c)
{
    *c = (bk_result_cols){
        .status = bc_result_status(r),
        .reason = bc_result_reason(r),
        .score = bc_result_score(r),
        .disposable = bc_result_disposable(r),
        .role = bc_result_role(r),
        .free_provider = bc_result_free_provider(r),
        .accept_all = bc_result_accept_all(r),
        .suggestion = bc_result_suggestion(r),
        .mx_host = bc_result_mx_host(r),
        .smtp_code = bc_result_smtp_code(r),
        .smtp_message = bc_result_smtp_message(r),
    };
}

int bk_state_store_result(bk_state *st, int64_t id, const bc_result *r, bool with_json)
{
    bk_result_cols c;
    cols_of(r, &c);
    char *json = NULL;
    if (with_json && !(c.json = json = bc_result_json(r)))
        return -1;
    int rc = bk_state_store_cols(st, id, &c);
    free(json);
    return rc;
}

/* ---- results packed for another process --------------------------------------------- */

static json_t *tri_json(bc_tristate t)
{
    return t == BC_UNKNOWN ? json_null() : json_boolean(t == BC_YES);
}

static bc_tristate json_tri(const json_t *v)
{
    return json_is_boolean(v) ? (json_is_true(v) ? BC_YES : BC_NO) : BC_UNKNOWN;
}

static json_t *str_or_null(const char *v)
{
    return v ? json_string(v) : json_null();
}

char *bk_result_pack(const bc_result *r)
{
    bk_result_cols c;
    cols_of(r, &c);
    char *full = bc_result_json(r);
    json_t *o = full ? json_object() : NULL;
    char *out = NULL;
    if (o && json_object_set_new(o, "status", json_integer((json_int_t)c.status)) == 0 &&
        json_object_set_new(o, "reason", json_string(c.reason ? c.reason : "")) == 0 &&
        json_object_set_new(o, "score", json_integer(c.score)) == 0 &&
        json_object_set_new(o, "disposable", tri_json(c.disposable)) == 0 &&
        json_object_set_new(o, "role", tri_json(c.role)) == 0 &&
        json_object_set_new(o, "free", tri_json(c.free_provider)) == 0 &&
        json_object_set_new(o, "accept_all", tri_json(c.accept_all)) == 0 &&
        json_object_set_new(o, "suggestion", str_or_null(c.suggestion)) == 0 &&
        json_object_set_new(o, "mx_host", str_or_null(c.mx_host)) == 0 &&
        json_object_set_new(o, "smtp_code", json_integer(c.smtp_code)) == 0 &&
        json_object_set_new(o, "smtp_message", str_or_null(c.smtp_message)) == 0) {
        char *head = json_dumps(o, JSON_COMPACT);
        size_t hl = head ? strlen(head) : 0, fl = strlen(full);
        if (head && (out = malloc(hl + 1 + fl + 1)) != NULL) {
            memcpy(out, head, hl);
            out[hl] = '\n';
            memcpy(out + hl + 1, full, fl + 1);
        }
        free(head);
    }
    json_decref(o);
    free(full);
    return out;
}

static const char *opt_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key)); /* NULL for null or absent */
}

int bk_state_store_packed(bk_state *st, int64_t id, const char *packed, char *err, size_t errlen)
{
    /* the columns, then (after a newline) the result's JSON as it is; or
     * (from before schema 10) one object with the JSON in its "json" */
    json_error_t je;
    json_t *o = json_loads(packed, JSON_DISABLE_EOF_CHECK, &je);
    const json_t *status = json_object_get(o, "status");
    const char *full = NULL;
    if (o && packed[je.position] == '\n') {
        full = packed + je.position + 1;
        size_t fl = strlen(full);
        if (fl < 2 || full[0] != '{' || full[fl - 1] != '}')
            status = NULL; /* not a result's JSON */
    } else if (o && packed[je.position] == '\0') {
        full = opt_str(o, "json");
    } else {
        status = NULL;
    }
    if (!json_is_object(o) || !json_is_integer(status) || json_integer_value(status) < 0 ||
        json_integer_value(status) > 3 || !json_is_string(json_object_get(o, "reason"))) {
        snprintf(err, errlen, "address %lld: the result from the worker is not a packed result", (long long)id);
        json_decref(o);
        return -1;
    }
    bk_result_cols c = {
        .status = (bc_verdict_status)json_integer_value(status),
        .reason = opt_str(o, "reason"),
        .score = (int)json_integer_value(json_object_get(o, "score")),
        .disposable = json_tri(json_object_get(o, "disposable")),
        .role = json_tri(json_object_get(o, "role")),
        .free_provider = json_tri(json_object_get(o, "free")),
        .accept_all = json_tri(json_object_get(o, "accept_all")),
        .suggestion = opt_str(o, "suggestion"),
        .mx_host = opt_str(o, "mx_host"),
        .smtp_code = (int)json_integer_value(json_object_get(o, "smtp_code")),
        .smtp_message = opt_str(o, "smtp_message"),
        .json = full,
    };
    int rc = bk_state_store_cols(st, id, &c);
    if (rc != 0)
        snprintf(err, errlen, "cannot write the state file: %s", bk_state_error(st));
    json_decref(o);
    return rc;
}

/* ---- output -------------------------------------------------------------------- */

static bc_tristate col_tri(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return BC_UNKNOWN;
    return sqlite3_column_int(s, i) ? BC_YES : BC_NO;
}

int bk_state_rows(bk_state *st, int (*fn)(void *arg, const bk_out_row *row), void *arg, int64_t *missing)
{
    sqlite3_stmt *s = NULL;
    *missing = 0;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT r.idx, r.line, r.fields, r.email, a.id IS NOT NULL, a.status, a.reason, "
                           "a.score,"
                           " a.disposable, a.role, a.free, a.accept_all, a.suggestion, a.mx_host, a.smtp_code,"
                           " a.smtp_message, a.json FROM rows r LEFT JOIN results a ON a.id = r.addr ORDER BY "
                           "r.idx",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!sqlite3_column_int(s, 4)) {
            (*missing)++;
            continue;
        }
        bk_out_row o = { .idx = sqlite3_column_int64(s, 0), .line = (unsigned long)sqlite3_column_int64(s, 1) };
        const char **fields = NULL;
        size_t *lens = NULL;
        const void *blob = sqlite3_column_blob(s, 2);
        if (bk_fields_unpack(blob ? blob : "", (size_t)sqlite3_column_bytes(s, 2), &fields, &lens, &o.nfields) !=
            0) {
            ret = -1;
            break;
        }
        o.fields = fields;
        o.lens = lens;
        if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
            o.email = sqlite3_column_blob(s, 3);
            o.email_len = (size_t)sqlite3_column_bytes(s, 3);
            if (!o.email)
                o.email = "";
        }
        int status = sqlite3_column_int(s, 5);
        o.res.status = status >= 0 && status < 4 ? (bc_verdict_status)status : BC_STATUS_UNKNOWN;
        o.res.reason = (const char *)sqlite3_column_text(s, 6);
        o.res.score = sqlite3_column_int(s, 7);
        o.res.disposable = col_tri(s, 8);
        o.res.role = col_tri(s, 9);
        o.res.free_provider = col_tri(s, 10);
        o.res.accept_all = col_tri(s, 11);
        o.res.suggestion = (const char *)sqlite3_column_text(s, 12);
        o.res.mx_host = (const char *)sqlite3_column_text(s, 13);
        o.res.smtp_code = sqlite3_column_int(s, 14);
        o.res.smtp_message = (const char *)sqlite3_column_text(s, 15);
        o.res.json = (const char *)sqlite3_column_text(s, 16);
        ret = fn(arg, &o);
        free(fields);
        if (ret != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = -1;
    sqlite3_finalize(s);
    return ret;
}
