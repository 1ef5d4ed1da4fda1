/*
 * test_bulk_engine.c - the bulk engine (src/bulk/runner.c) without a
 * network: import from a memory FILE into a temporary state (rows, format,
 * max_rows, stop and resume without duplicates), offline verification in
 * steps, and the export's exact bytes (what `bouncecheck verify --offline
 * -i in.csv -o out.csv` writes for the same input). Online: two runs over
 * one scheduler and one verifier whose DNS server refuses at once (every
 * address ends dns_error without waiting), a small window never exceeded,
 * and a run stopped with addresses in flight.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "runner.h"
#include "tap.h"

/* Three rows: a free provider, bad syntax (quoted), a disposable one that
 * starts like a formula. */
static const char csv3[] = "name,email\n"
                           "Ann,ann@gmail.com\n"
                           "Bob,\"bob@@example\"\n"
                           "Cy,=cy@mailinator.com\n";

/* What the CLI writes for csv3 (checked against `bouncecheck verify
 * --offline`); the writer ends CSV lines with CRLF. */
static const char csv3_out[] =
    "name,email,status,reason,score,disposable,role,free,accept_all,suggestion,mx_host,smtp_code,"
    "smtp_message\r\n"
    "Ann,ann@gmail.com,unknown,unverified,50,false,false,true,,,,,\r\n"
    "Bob,bob@@example,undeliverable,invalid_syntax,0,,,,,,,,\r\n"
    "Cy,'=cy@mailinator.com,risky,disposable,25,true,false,false,,,,,\r\n";

/* A new state in a fresh temporary file; path receives its name. */
static bk_state *temp_state(char *path, size_t size)
{
    snprintf(path, size, "/tmp/bc-engine-test-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    close(fd);
    unlink(path); /* bk_state_open creates it */
    bk_state *st = NULL;
    char err[256];
    if (bk_state_open(&st, path, err, sizeof err) != 0) {
        tap_diag("state: %s", err);
        return NULL;
    }
    return st;
}

static void drop_state(bk_state *st, const char *path)
{
    static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
    bk_state_close(st);
    for (size_t i = 0; i < 4; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
}

/* Imports text (a memory FILE) into st. */
static int import_text(bk_state *st, const char *text, bool fresh, const bk_import_opts *o, bk_import_info *info,
                       char *err, size_t errlen)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    if (!in)
        return -100;
    int rc = bk_import(st, in, fresh, o, info, err, errlen);
    fclose(in);
    return rc;
}

/* Counts the stop polls; says stop at the `at`-th. */
typedef struct stopper {
    int polls, at;
} stopper;

static bool stop_at(void *arg)
{
    stopper *s = arg;
    return ++s->polls == s->at;
}

static int nresults;
static int64_t nresult_rows;

static void count_result(void *arg, const bc_result *r, int64_t nrows)
{
    (void)arg;
    (void)r;
    nresults++;
    nresult_rows += nrows;
}

/* Runs the offline verification to the end in steps of `limit`; returns
 * the number of steps that verified something, or -1. */
static int verify_all(bk_state *st, bc_ctx *ctx, int limit)
{
    int64_t cursor = 0;
    int steps = 0;
    char err[256];
    for (;;) {
        int n = bk_verify_offline_step(st, ctx, false, &cursor, limit, count_result, NULL, err, sizeof err);
        if (n < 0) {
            tap_diag("verify: %s", err);
            return -1;
        }
        if (n == 0)
            return steps;
        steps++;
    }
}

/* The export of st as CSV, malloc'd (caller frees); NULL on error. */
static char *export_csv(bk_state *st, bk_format fmt, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return NULL;
    int rc = bk_export(st, out, fmt, err, errlen);
    fclose(out);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- online: runs over one scheduler ---- */

typedef struct orun {
    int results, done, errors;
    int64_t rows;
} orun;

static bk_sched *the_sched;
static int window_seen;

static void o_result(void *arg, const bc_result *r, int64_t nrows)
{
    orun *o = arg;
    (void)r;
    o->results++;
    o->rows += nrows;
    int64_t n = bk_sched_inflight(the_sched);
    if (n > window_seen)
        window_seen = (int)n;
}

static void o_done(void *arg)
{
    ((orun *)arg)->done++;
}

static void o_error(void *arg, const char *msg)
{
    ((orun *)arg)->errors++;
    tap_diag("run error: %s", msg);
}

/* A state holding `n` rows over `ndom` domains, read and not verified. */
static bk_state *online_state(char *path, size_t size, int n, int ndom, const char *tag)
{
    bk_state *st = temp_state(path, size);
    size_t cap = (size_t)n * 40 + 16;
    char *text = malloc(cap), err[256];
    if (!st || !text) {
        free(text);
        return st;
    }
    size_t o = (size_t)snprintf(text, cap, "email\n");
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(text + o, cap - o, "%s%d@d%d.bcengine-test.com\n", tag, i, i % ndom);
    bk_import_opts io = { .name = tag };
    bk_import_info info;
    if (import_text(st, text, true, &io, &info, err, sizeof err) != BK_IMPORT_DONE)
        tap_diag("import: %s", err);
    free(text);
    return st;
}

/* ---- results packed by a worker, stored by the server (issue 9) ---- */

typedef struct pack_ctx {
    bc_ctx *ctx;
    bk_state *st;
    int stored, failed;
} pack_ctx;

static int pack_one(void *arg, const bk_pending *p)
{
    pack_ctx *pc = arg;
    bc_result *r = NULL;
    char err[256] = "";
    if (bc_verify_offline(pc->ctx, p->email, p->email_len, &r) != BC_OK) {
        pc->failed++;
        return 0;
    }
    char *packed = bk_result_pack(r);
    if (packed && bk_state_store_packed(pc->st, p->id, packed, err, sizeof err) == 0)
        pc->stored++;
    else
        pc->failed++;
    free(packed);
    bc_result_free(r);
    return 0;
}

static void packed_tests(bc_ctx *ctx)
{
    char pa[64], pb[64], err[512] = "";
    bk_import_opts io = { .name = "in.csv" };
    bk_import_info info;
    bk_state *a = temp_state(pa, sizeof pa), *b = temp_state(pb, sizeof pb);
    bool ok = a && b && import_text(a, csv3, true, &io, &info, err, sizeof err) == BK_IMPORT_DONE &&
              import_text(b, csv3, true, &io, &info, err, sizeof err) == BK_IMPORT_DONE;
    CHECK(ok, "packed: two states of the same list (%s)", err);
    if (!ok) {
        drop_state(a, pa);
        drop_state(b, pb);
        return;
    }
    int64_t cursor = 0;
    while (bk_verify_offline_step(a, ctx, true, &cursor, 10, NULL, NULL, err, sizeof err) > 0)
        ;
    pack_ctx pc = { ctx, b, 0, 0 };
    bool tx = bk_state_begin(b) == 0;
    int n = bk_state_pending(b, NULL, 0, 100, pack_one, &pc);
    tx = tx && bk_state_commit(b) == 0;
    CHECK(tx && n == 3 && pc.stored == 3 && pc.failed == 0,
          "packed: each result packed as a worker does and stored from its text (%d stored)", pc.stored);
    static const bk_format fmts[] = { BK_FMT_CSV, BK_FMT_TSV, BK_FMT_NDJSON };
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        char *ea = export_csv(a, fmts[i], err, sizeof err), *eb = export_csv(b, fmts[i], err, sizeof err);
        /* NDJSON carries duration_ms, which differs between two runs: compare without it */
        if (ea && eb && fmts[i] == BK_FMT_NDJSON) {
            for (char *x = ea, *y = eb;
                 (x = strstr(x, "\"duration_ms\":")) && (y = strstr(y, "\"duration_ms\":"));) {
                x += 14;
                y += 14;
                while (*x >= '0' && *x <= '9')
                    *x++ = '0';
                while (*y >= '0' && *y <= '9')
                    *y++ = '0';
            }
        }
        CHECK(ea && eb && strcmp(ea, eb) == 0,
              "packed: the %s export is byte-identical to one from the results "
              "stored directly",
              bk_format_name(fmts[i]));
        if (ea && eb && strcmp(ea, eb) != 0)
            tap_diag("direct:\n%s\npacked:\n%s", ea, eb);
        free(ea);
        free(eb);
    }
    static const char *const bad[] = { "",
                                       "{}",
                                       "[1]",
                                       "{\"status\":7,\"reason\":\"x\"}",
                                       "{\"status\":1}",
                                       "not json",
                                       "{\"status\":1,\"reason\":\"x\"}\n",
                                       "{\"status\":1,\"reason\":\"x\"}\nnot json",
                                       "{\"status\":1,\"reason\":\"x\"} {\"a\":1}" };
    bool refused = true;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        refused = refused && bk_state_store_packed(b, 1, bad[i], err, sizeof err) == -1 &&
                  strstr(err, "address 1");
    }
    CHECK(refused, "packed: texts that are not packed results are refused with a message (%s)", err);
    /* the one-object form of versions before schema 10 (results written
     * before an upgrade, collected after it) */
    CHECK(bk_state_begin(b) == 0 &&
              bk_state_store_packed(b, 1,
                                    "{\"status\":1,\"reason\":\"accepted_email\",\"score\":90,\"json\":"
                                    "\"{\\\"email\\\":\\\"old@form.example\\\"}\"}",
                                    err, sizeof err) == 0 &&
              bk_state_commit(b) == 0,
          "packed: the older one-object form is still read (%s)", err);
    drop_state(a, pa);
    drop_state(b, pb);
}

/* Catch-all facts handed from one verifier to another. */
static void facts_tests(bc_verifier *v)
{
    int64_t age = -1;
    CHECK(bc_verifier_accept_all(v, "facts.example", &age) == BC_UNKNOWN && age == -1,
          "facts: nothing known of a new domain");
    bc_verifier_learn_accept_all(v, "Facts.Example", BC_YES, 1000);
    bc_tristate t = bc_verifier_accept_all(v, "facts.example", &age);
    CHECK(t == BC_YES && age >= 1000 && age < 60000, "facts: a learned fact is known, with its age (%lld ms)",
          (long long)age);
    bc_verifier_learn_accept_all(v, "facts.example", BC_NO, 5000);
    CHECK(bc_verifier_accept_all(v, "facts.example", NULL) == BC_YES, "facts: an older fact does not replace it");
    bc_verifier_learn_accept_all(v, "facts.example", BC_NO, 10);
    CHECK(bc_verifier_accept_all(v, "facts.example", NULL) == BC_NO, "facts: a fresher one does");
    bc_verifier_learn_accept_all(v, "old.example", BC_YES, 2LL * 3600 * 1000);
    bc_verifier_learn_accept_all(v, "unknown.example", BC_UNKNOWN, 0);
    CHECK(bc_verifier_accept_all(v, "old.example", NULL) == BC_UNKNOWN &&
              bc_verifier_accept_all(v, "unknown.example", NULL) == BC_UNKNOWN &&
              bc_verifier_accept_all(v, "", NULL) == BC_UNKNOWN,
          "facts: expired and unknown facts are not learned");
}

/* Addresses whose deadline runs out while they wait in their domain's
 * queue behind a DNS lookup that never ends (a DNS server that never
 * answers): each is answered once, with the DNS stage's temporary failure,
 * and the queue stays whole (the ASan build's leak check fails otherwise:
 * jobs decided in the queue used to cut it, losing those behind them). */
typedef struct bh_ctx {
    int calls, tempfail;
    struct event_base *base;
} bh_ctx;

static void bh_result(void *arg, bc_result *r)
{
    bh_ctx *b = arg;
    b->calls++;
    b->tempfail += bc_result_status(r) == BC_STATUS_UNKNOWN;
    bc_result_free(r);
}

static void blackhole_tests(bc_ctx *ctx)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        CHECK(0, "blackhole: a UDP socket that never answers");
        if (fd >= 0)
            close(fd);
        return;
    }
    char dns[64], err[256] = "";
    snprintf(dns, sizeof dns, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    struct event_base *base = event_base_new();
    bc_verify_options vo = { .dns_servers = dns, .timeout_ms = 300 };
    bc_verifier *v = NULL;
    bh_ctx b = { .base = base };
    bool ok = base && bc_verifier_new(&v, ctx, base, &vo, err, sizeof err) == BC_OK;
    CHECK(ok, "blackhole: a verifier whose DNS server never answers (%s)", err);
    static const char *const addrs[] = { "a@bh.bclab-none.net", "b@bh.bclab-none.net", "c@bh.bclab-none.net",
                                         "d@bh.bclab-none.net", "e@bh.bclab-none.net", "f@other.bclab-none.net" };
    for (size_t i = 0; ok && i < sizeof addrs / sizeof addrs[0]; i++)
        ok = bc_verifier_submit(v, addrs[i], strlen(addrs[i]), bh_result, &b) == BC_OK;
    for (int i = 0; ok && i < 100000 && b.calls < 6; i++)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK(ok && b.calls == 6 && b.tempfail == 6,
          "blackhole: every address queued behind the lookup is answered once, unknown, at its deadline (%d, %d)",
          b.calls, b.tempfail);
    /* the domain's queue still works: one more address of it */
    static const char more[] = "g@bh.bclab-none.net";
    ok = ok && bc_verifier_submit(v, more, strlen(more), bh_result, &b) == BC_OK;
    for (int i = 0; ok && i < 100000 && b.calls < 7; i++)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK(ok && b.calls == 7, "blackhole: a later address of that domain is answered too (%d)", b.calls);
    bc_verifier_free(v);
    for (int i = 0; base && i < 4; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    CHECK(b.calls == 7, "blackhole: no second answer when the verifier is freed (%d)", b.calls);
    if (base)
        event_base_free(base);
    close(fd);
}

static void online_tests(bc_ctx *ctx)
{
    char pa[64], pb[64], pc[64], err[256];
    struct event_base *base = event_base_new();
    bc_verify_options vo = { .dns_servers = "127.0.0.1:9", .timeout_ms = 5000 };
    bc_verifier *v = NULL;
    if (!base || bc_verifier_new(&v, ctx, base, &vo, err, sizeof err) != BC_OK) {
        CHECK(0, "an event base and a verifier (%s)", err);
        if (base)
            event_base_free(base);
        return;
    }
    facts_tests(v);
    bk_sched_opts so = { .window = 10, .per_domain = 3, .vo = &vo };
    bk_sched *s = bk_sched_new(base, v, &so);
    the_sched = s;
    bk_state *sa = online_state(pa, sizeof pa, 60, 7, "a");
    bk_state *sb = online_state(pb, sizeof pb, 40, 3, "b");
    bk_state *sc = online_state(pc, sizeof pc, 200, 5, "c");
    orun ra = { 0 }, rb = { 0 }, rc = { 0 };
    bk_run_cb ca = { o_result, o_done, o_error, &ra }, cb = { o_result, o_done, o_error, &rb },
              cc = { o_result, o_done, o_error, &rc };
    bk_run *a = bk_run_start(s, sa, false, &ca, err, sizeof err);
    bk_run *b = bk_run_start(s, sb, true, &cb, err, sizeof err);
    bk_run *c = bk_run_start(s, sc, false, &cc, err, sizeof err);
    CHECK(s && a && b && c, "three runs start on one scheduler");
    CHECK(ra.results == 0 && ra.done == 0, "no callback fires from inside bk_run_start");
    /* Run until a and b are done; stop c part way, with addresses in flight. */
    bool c_stopped = false;
    for (int i = 0; i < 100000 && (ra.done == 0 || rb.done == 0); i++) {
        event_base_loop(base, EVLOOP_ONCE);
        if (!c_stopped && rc.results >= 20 && bk_sched_inflight(s) > 0) {
            bk_run_stop(c);
            c_stopped = true;
        }
    }
    CHECK(ra.done == 1 && rb.done == 1 && ra.errors == 0 && rb.errors == 0,
          "both runs end with on_done (a %d, b %d)", ra.done, rb.done);
    CHECK(ra.results == 60 && rb.results == 40, "every address has one result (a %d, b %d)", ra.results,
          rb.results);
    CHECK(window_seen <= 10, "the window of 10 is never exceeded (max %d)", window_seen);
    CHECK(c_stopped, "the third run was stopped with addresses in flight");
    int c_at_stop = rc.results;
    bk_counts k;
    int r1 = bk_state_counts(sa, &k);
    CHECK(r1 == 0 && k.rows_done == 60, "run a's results are committed (%lld)", (long long)k.rows_done);
    r1 = bk_state_counts(sc, &k);
    CHECK(r1 == 0 && k.rows_done >= 20 && k.rows_done < 200, "the stopped run kept what it stored (%lld of 200)",
          (long long)k.rows_done);
    char *out = export_csv(sb, BK_FMT_CSV, err, sizeof err);
    CHECK(out && strstr(out, "b0@d0.bcengine-test.com,unknown,dns_error"), "run b exports its results");
    if (!out || !strstr(out, "b0@d0.bcengine-test.com,unknown,dns_error"))
        tap_diag("%.300s", out ? out : err);
    free(out);
    bk_run_stop(a);
    bk_run_stop(b);
    CHECK(bk_sched_inflight(s) == 0, "nothing in flight once every run is stopped");
    bk_sched_free(s);
    bc_verifier_free(v); /* cancels what run c left in flight: freed by their callbacks */
    for (int i = 0; i < 4; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    CHECK(rc.results == c_at_stop, "no callback of the stopped run after bk_run_stop");
    drop_state(sa, pa);
    drop_state(sb, pb);
    drop_state(sc, pc);
    event_base_free(base);
}

/* Makes the state file at path look as states did before the results
 * table: Ann's result written into her addrs row (done = 1), the results
 * table and the layout marker gone. 0 / -1. */
static int make_old_layout(const char *path)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db,
                          "UPDATE addrs SET done = 1, status = 0, reason = 'unverified', score = 50,"
                          " disposable = 0, role = 0, free = 1, accept_all = NULL WHERE id = 1;"
                          "DROP TABLE results; DELETE FROM meta WHERE k = 'layout';",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        tap_diag("old layout: %s", db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

int main(void)
{
    char path[64], err[512];
    bc_ctx *ctx = NULL;
    bc_options copts = { .data_dir = "/nonexistent-bc-test-data" }; /* the built-in lists */
    if (bc_ctx_new(&ctx, &copts, err, sizeof err) != BC_OK) {
        tap_diag("context: %s", err);
        return tap_skip_all("no context");
    }

    /* ---- a plain import, offline verification, export ---- */
    bk_state *st = temp_state(path, sizeof path);
    CHECK(st != NULL, "a temporary state opens");
    if (!st)
        return tap_done();
    bk_import_opts io = { .name = "in.csv" };
    bk_import_info info;
    int rc = import_text(st, csv3, true, &io, &info, err, sizeof err);
    CHECK(rc == BK_IMPORT_DONE, "3-row CSV imports (rc %d %s)", rc, rc ? err : "");
    CHECK(info.rows == 3, "3 rows read (got %lld)", (long long)info.rows);
    CHECK(info.format == BK_FMT_CSV, "sniffed as CSV (got %s)", bk_format_name(info.format));
    CHECK(!info.input_error && info.bad_utf8 == 0, "no input error, no bad UTF-8");
    CHECK(bk_state_get_int(st, "read_done", 0) == 1 && bk_state_get_int(st, "rows_read", 0) == 3,
          "read_done and rows_read are stored");
    char *v = bk_state_get(st, "input_format", NULL);
    CHECK(v && strcmp(v, "csv") == 0, "input_format is csv (got %s)", v ? v : "NULL");
    free(v);
    CHECK(bk_export_default_format(st) == BK_FMT_CSV, "default output format is CSV");
    CHECK(export_csv(st, BK_FMT_CSV, err, sizeof err) == NULL && strstr(err, "no result"),
          "export before verification fails: %s", err);
    nresults = 0;
    nresult_rows = 0;
    int steps = verify_all(st, ctx, 2);
    CHECK(steps == 2, "offline verification in steps of 2 takes 2 steps (got %d)", steps);
    CHECK(nresults == 3 && nresult_rows == 3, "on_result told of 3 addresses (got %d)", nresults);
    bk_counts c;
    CHECK(bk_state_counts(st, &c) == 0 && c.rows_done == 3 && c.addrs_done == 3, "every row has its result");
    char *out = export_csv(st, BK_FMT_CSV, err, sizeof err);
    CHECK(out && strcmp(out, csv3_out) == 0, "the export is what the CLI writes");
    if (out && strcmp(out, csv3_out) != 0)
        tap_diag("got:\n%s", out);
    free(out);

    /* ---- a result stored again replaces the first ---- */
    bk_result_cols again = { .status = BC_STATUS_UNKNOWN,
                             .reason = "unverified",
                             .score = 50,
                             .disposable = BC_NO,
                             .role = BC_NO,
                             .free_provider = BC_YES,
                             .accept_all = BC_UNKNOWN };
    CHECK(bk_state_begin(st) == 0 && bk_state_store_cols(st, 1, &again) == 0 &&
              bk_state_store_cols(st, 1, &again) == 0 && bk_state_commit(st) == 0,
          "the first address's result stored twice more");
    CHECK(bk_state_counts(st, &c) == 0 && c.addrs_done == 3 && c.rows_done == 3 && bk_state_todo(st) == 0,
          "still 3 addresses done, none to do");
    out = export_csv(st, BK_FMT_CSV, err, sizeof err);
    CHECK(out && strcmp(out, csv3_out) == 0, "the export has each row once");
    free(out);
    drop_state(st, path);

    /* ---- a state file from before the results table ---- */
    st = temp_state(path, sizeof path);
    rc = st ? import_text(st, csv3, true, &io, &info, err, sizeof err) : -1;
    bk_state_close(st);
    st = NULL;
    CHECK(rc == BK_IMPORT_DONE && make_old_layout(path) == 0,
          "a state made with Ann's result in her addrs row, as older versions stored it");
    CHECK(bk_state_open(&st, path, err, sizeof err) == 0, "it opens");
    if (!st)
        return tap_done();
    CHECK(bk_state_get_int(st, "layout", 0) == 2, "its results moved to the results table (layout 2)");
    rc = bk_state_counts(st, &c);
    CHECK(rc == 0 && c.addrs_done == 1 && c.rows_done == 1 && c.by_status[0] == 1,
          "counts: 1 address done (got %lld)", (long long)c.addrs_done);
    CHECK(bk_state_done(st, 1) == 1 && bk_state_done(st, 2) == 0 && bk_state_todo(st) == 2,
          "Ann is done, Bob is not, 2 to do");
    nresults = 0;
    nresult_rows = 0;
    steps = verify_all(st, ctx, 10);
    CHECK(steps == 1 && nresults == 2, "only the 2 others are verified (got %d)", nresults);
    out = export_csv(st, BK_FMT_CSV, err, sizeof err);
    CHECK(out && strcmp(out, csv3_out) == 0, "the export is the same as a state of today's layout gives");
    if (out && strcmp(out, csv3_out) != 0)
        tap_diag("got:\n%s", out);
    free(out);
    drop_state(st, path);

    /* ---- max_rows ---- */
    st = temp_state(path, sizeof path);
    io = (bk_import_opts){ .name = "in.csv", .max_rows = 2 };
    rc = import_text(st, csv3, true, &io, &info, err, sizeof err);
    CHECK(rc == BK_IMPORT_TOO_MANY, "a 3-row list over max_rows 2 is refused (rc %d)", rc);
    CHECK(strstr(err, "more than 2") != NULL, "the message says the limit: %s", err);
    drop_state(st, path);
    st = temp_state(path, sizeof path);
    io = (bk_import_opts){ .name = "in.csv", .max_rows = 3 };
    rc = import_text(st, csv3, true, &io, &info, err, sizeof err);
    CHECK(rc == BK_IMPORT_DONE && info.rows == 3, "exactly max_rows rows are fine (rc %d)", rc);
    drop_state(st, path);

    /* ---- not a list ---- */
    st = temp_state(path, sizeof path);
    io = (bk_import_opts){ .name = "utf16.csv" };
    rc = import_text(st, "\xff\xfeu\x16\x17", true, &io, &info, err, sizeof err);
    CHECK(rc == BK_IMPORT_UNUSABLE && err[0], "a UTF-16 input is unusable (rc %d): %s", rc, err);
    drop_state(st, path);

    /* ---- stop after the first row, then resume: no row twice ---- */
    st = temp_state(path, sizeof path);
    stopper sp = { 0, 1 };
    io = (bk_import_opts){ .name = "in.csv", .stop = stop_at, .arg = &sp };
    rc = import_text(st, csv3, true, &io, &info, err, sizeof err);
    CHECK(rc == BK_IMPORT_STOPPED, "stop() stops the import (rc %d)", rc);
    CHECK(info.rows == 1 && bk_state_get_int(st, "rows_read", 0) == 1,
          "the row read before the stop is committed with its count (rows %lld)", (long long)info.rows);
    CHECK(bk_state_get_int(st, "read_done", 0) == 0, "read_done is still 0");
    rc = bk_state_counts(st, &c);
    CHECK(rc == 0 && c.rows == 1, "the state holds 1 row (got %lld)", (long long)c.rows);
    io = (bk_import_opts){ .name = "in.csv" };
    rc = import_text(st, csv3, false, &io, &info, err, sizeof err);
    CHECK(rc == BK_IMPORT_DONE && info.rows == 3, "the resumed import reads the rest (rc %d, rows %lld)", rc,
          (long long)info.rows);
    rc = bk_state_counts(st, &c);
    CHECK(rc == 0 && c.rows == 3 && c.addrs == 3, "3 rows and 3 addresses, none twice (rows %lld, addrs %lld)",
          (long long)c.rows, (long long)c.addrs);
    CHECK(verify_all(st, ctx, 1000) == 1, "offline verification in one step");
    out = export_csv(st, BK_FMT_CSV, err, sizeof err);
    CHECK(out && strcmp(out, csv3_out) == 0, "the resumed job exports the same bytes");
    free(out);
    drop_state(st, path);

    /* ---- an input error part way keeps the rows before it ---- */
    st = temp_state(path, sizeof path);
    static const char broken[] = "name,email\nAnn,ann@gmail.com\nBob,\"bob@example.com\n";
    io = (bk_import_opts){ .name = "broken.csv" };
    rc = import_text(st, broken, true, &io, &info, err, sizeof err);
    CHECK(rc == BK_IMPORT_DONE && info.input_error && err[0],
          "an unclosed quote is an input error after the good rows (rc %d): %s", rc, err);
    CHECK(info.rows == 1 && bk_state_get_int(st, "read_done", 0) == 1, "the row before it stays");
    v = bk_state_get(st, "input_error", NULL);
    CHECK(v != NULL, "input_error is stored");
    free(v);
    drop_state(st, path);

    packed_tests(ctx);
    blackhole_tests(ctx);
    online_tests(ctx);
    bc_ctx_free(ctx);
    return tap_done();
}
