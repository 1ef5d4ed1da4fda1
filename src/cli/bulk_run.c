/*
 * bulk_run.c - `bouncecheck verify -i FILE`: read the list into the job's
 * state, verify each distinct address once (grouped by domain, many at a
 * time), then write every row in input order with its result appended.
 *
 * The work is done by the bulk engine (src/bulk/runner.h); this file is
 * the command around it: the state file's place, the progress bar, signals,
 * the summary and the output file.
 *
 * Phases, each resumable from the state file (src/bulk/state.h):
 *   1. read:   rows are committed in batches (5,000) together with the
 *              count read so far; a resumed read re-parses the input and
 *              skips that many rows.
 *   2. verify: results are committed every 250 ms or 2,000 results (offline:
 *              every OFFLINE_BATCH); a resumed run asks only about
 *              addresses without one.
 *   3. write:  the output goes to OUTPUT.part and is renamed over OUTPUT
 *              when complete, so OUTPUT is either absent or whole.
 * Online, addresses are handed to the verifier domain by domain (largest
 * domains first) with at most a per-domain share and WINDOW in all
 * waiting at once: enough to fill every allowed connection with several
 * recipients, bounded memory whatever the list size, and no domain starves
 * another.
 */
#include "bulk_run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "cli.h"
#include "runner.h"
#include "coord.h"
#include "log.h"
#include "state.h"
#include "store.h"
#include "worker.h"

#define WINDOW 2000
#define OFFLINE_BATCH 1000
#define TICK_MS 200
#define STATE_VERSION 1

/* Set by the signal handler; read by the phases between steps. */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- progress ------------------------------------------------------------ */

typedef struct progress {
    bool on;       /* a live bar on a terminal */
    long t0, last; /* start of this run, last redraw (ms) */
    int64_t done0; /* rows done when this run started */
    bk_counts c;   /* kept current by the phases */
    bool drawn;
} progress;

/* Prints n with thousands separators into buf. */
static const char *thousands(int64_t n, char *buf, size_t size)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%lld", (long long)(n < 0 ? -n : n));
    size_t o = 0;
    if (n < 0 && o + 1 < size)
        buf[o++] = '-';
    for (int i = 0; i < len && o + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

static void fmt_duration(long s, char *buf, size_t size)
{
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

static int term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* Redraws the bar (at most every TICK_MS unless `force`). `phase` says what
 * is going on ("reading", "verifying"). */
static void progress_draw(progress *p, const char *phase, bool force)
{
    if (!p->on)
        return;
    long t = now_ms();
    if (!force && p->drawn && t - p->last < TICK_MS)
        return;
    p->last = t;
    p->drawn = true;
    char line[512], a[32], b[32];
    int n;
    if (strcmp(phase, "reading") == 0) {
        n = snprintf(line, sizeof line, "reading: %s rows", thousands(p->c.rows, a, sizeof a));
    } else {
        double frac = p->c.rows > 0 ? (double)p->c.rows_done / (double)p->c.rows : 1.0;
        char bar[11], c1[32], c2[32], c3[32], c4[32], r[32];
        int fill = (int)(frac * 10.0);
        for (int i = 0; i < 10; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[10] = '\0';
        double secs = (double)(t - p->t0) / 1000.0;
        double rate = secs > 0.5 ? (double)(p->c.rows_done - p->done0) / secs : 0.0;
        char eta[32] = "--:--";
        if (rate > 0.0)
            fmt_duration((long)((double)(p->c.rows - p->c.rows_done) / rate), eta, sizeof eta);
        n = snprintf(line, sizeof line,
                     "%5.1f%% [%s] %s/%s %s/s ETA %s | deliverable %s undeliverable %s risky %s"
                     " unknown %s",
                     frac * 100.0, bar, thousands(p->c.rows_done, a, sizeof a), thousands(p->c.rows, b, sizeof b),
                     thousands((int64_t)rate, r, sizeof r), eta,
                     thousands(p->c.by_status[BC_STATUS_DELIVERABLE], c1, sizeof c1),
                     thousands(p->c.by_status[BC_STATUS_UNDELIVERABLE], c2, sizeof c2),
                     thousands(p->c.by_status[BC_STATUS_RISKY], c3, sizeof c3),
                     thousands(p->c.by_status[BC_STATUS_UNKNOWN], c4, sizeof c4));
    }
    int w = term_width() - 1;
    if (n > w)
        n = w;
    fprintf(stderr, "\r\033[K%.*s", n < 0 ? 0 : n, line);
    fflush(stderr);
}

static void progress_clear(progress *p)
{
    if (p->on && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = false;
    }
}

/* ---- the job -------------------------------------------------------------- */

typedef struct job {
    const bulk_opts *o;
    bk_state *st;
    char *state_path;
    bool state_given, state_temp;
    char *out_path; /* NULL: stdout */
    bk_format out_format;
    bool with_json;
    progress pr;
    char err[1024];
    char input_error[1024]; /* the input stopped early: why (exit 3 at the end) */
    /* online verification */
    struct event_base *base;
    bool done, failed;
    /* --db: the job's id in the shared catalogue ("" before it has one) */
    char shared_id[ST_JOB_ID_LEN + 1];
} job;

/* Sets j->err to the engine's message `msg` with the state file's path put
 * after "state file" (the engine does not know it). */
static void set_engine_err(job *j, const char *msg)
{
    const char *at = strstr(msg, "state file");
    if (!at) {
        snprintf(j->err, sizeof j->err, "%s", msg);
        return;
    }
    at += strlen("state file");
    snprintf(j->err, sizeof j->err, "%.*s %s%s", (int)(at - msg), msg, j->state_path, at);
}

/* Keeps the progress counters current with one result. */
static void count_result(job *j, const bc_result *r, int64_t nrows)
{
    j->pr.c.rows_done += nrows;
    j->pr.c.addrs_done++;
    bc_verdict_status s = bc_result_status(r);
    if ((int)s >= 0 && (int)s < 4)
        j->pr.c.by_status[s] += nrows;
}

/* ---- phase 1: read ---------------------------------------------------------- */

/* Opens the input; NULL with j->err set. */
static FILE *open_input(job *j)
{
    if (strcmp(j->o->input, "-") == 0)
        return stdin;
    FILE *f = fopen(j->o->input, "rb");
    if (!f)
        snprintf(j->err, sizeof j->err, "cannot open %s: %s", j->o->input, strerror(errno));
    return f;
}

/* Stores the command's own settings of a new job (inside the transaction
 * the import goes on with, so they land with its first rows). The output
 * format is "auto" until the input's format is known. */
static int save_cli_settings(job *j, const struct stat *in_st)
{
    int bad = 0;
    bad |= bk_state_set_int(j->st, "version", STATE_VERSION);
    bad |= bk_state_set(j->st, "input", j->o->input);
    bad |= bk_state_set_int(j->st, "input_size", in_st ? (int64_t)in_st->st_size : -1);
    bad |= bk_state_set_int(j->st, "input_mtime", in_st ? (int64_t)in_st->st_mtime : -1);
    bad |= bk_state_set(j->st, "output_format", bk_format_name(j->out_format));
    bad |= bk_state_set_int(j->st, "offline", j->o->offline);
    return bad ? -1 : 0;
}

/* Checks that a resumed state is the job the command line describes. An
 * output format still "auto" (killed before the input's format was
 * stored) matches any. */
static bool same_job(job *j, const struct stat *in_st)
{
    char *input = bk_state_get(j->st, "input", NULL);
    char *fmt = bk_state_get(j->st, "output_format", NULL);
    char *col = bk_state_get(j->st, "column", NULL);
    bool ok = input && strcmp(input, j->o->input) == 0 && fmt &&
              (j->out_format == BK_FMT_AUTO || strcmp(fmt, "auto") == 0 ||
               strcmp(fmt, bk_format_name(j->out_format)) == 0) &&
              col && strcmp(col, j->o->column ? j->o->column : "") == 0 &&
              bk_state_get_int(j->st, "offline", -1) == (int64_t)j->o->offline;
    if (ok && in_st && bk_state_get_int(j->st, "read_done", 0) == 0)
        ok = bk_state_get_int(j->st, "input_size", -1) == (int64_t)in_st->st_size &&
             bk_state_get_int(j->st, "input_mtime", -1) == (int64_t)in_st->st_mtime;
    if (!ok)
        snprintf(j->err, sizeof j->err,
                 "the state file %s belongs to another job (input %s, output format %s, column '%s',"
                 "%s)%s; use another --state or delete it to start over",
                 j->state_path, input ? input : "?", fmt ? fmt : "?", col ? col : "",
                 bk_state_get_int(j->st, "offline", 0) ? " offline" : " online",
                 in_st && bk_state_get_int(j->st, "read_done", 0) == 0 ? " or the input changed" : "");
    free(input);
    free(fmt);
    free(col);
    return ok;
}

static bool read_stop(void *arg)
{
    (void)arg;
    return got_signal != 0;
}

static void read_progress(void *arg, int64_t rows_read)
{
    job *j = arg;
    j->pr.c.rows = rows_read;
    progress_draw(&j->pr, "reading", false);
}

/* Reads the input into the state (the rest of it, when resuming). */
static int phase_read(job *j, bool fresh)
{
    FILE *in = open_input(j);
    if (!in)
        return BC_EXIT_INPUT;
    struct stat in_st;
    bool have_st = in != stdin && fstat(fileno(in), &in_st) == 0 && S_ISREG(in_st.st_mode);
    int rc = BC_EXIT_OK;
    if (fresh && (bk_state_begin(j->st) != 0 || save_cli_settings(j, have_st ? &in_st : NULL) != 0)) {
        snprintf(j->err, sizeof j->err, "cannot write the state file %s: %s", j->state_path,
                 bk_state_error(j->st));
        bk_state_rollback(j->st);
        if (in != stdin)
            fclose(in);
        return BC_EXIT_FAILURE;
    }
    bk_import_opts io = {
        .format = j->o->in_format,
        .column = j->o->column,
        .name = j->o->input,
        .stop = read_stop,
        .progress = read_progress,
        .arg = j,
    };
    bk_import_info info;
    char ierr[1024];
    int ir = bk_import(j->st, in, fresh, &io, &info, ierr, sizeof ierr);
    if (in != stdin)
        fclose(in);
    if (ir == BK_IMPORT_UNUSABLE || ir == BK_IMPORT_FAILED || ir == BK_IMPORT_TOO_MANY) {
        bk_state_rollback(j->st); /* the command's settings of a fresh job, when unread */
        if (ir == BK_IMPORT_FAILED && strncmp(ierr, "cannot write the state file:", 28) == 0)
            set_engine_err(j, ierr);
        else /* the reader's or the row's own message */
            snprintf(j->err, sizeof j->err, "%s", ierr);
        return ir == BK_IMPORT_UNUSABLE ? BC_EXIT_INPUT : BC_EXIT_FAILURE;
    }
    j->pr.c.rows = info.rows;
    if (j->out_format == BK_FMT_AUTO) {
        bk_format f = info.format;
        j->out_format = f == BK_FMT_NDJSON ? BK_FMT_NDJSON : f == BK_FMT_TSV ? BK_FMT_TSV : BK_FMT_CSV;
        j->with_json = j->out_format == BK_FMT_NDJSON || j->out_format == BK_FMT_JSON;
    }
    char *stored = bk_state_get(j->st, "output_format", NULL);
    bool save_fmt = !stored || strcmp(stored, "auto") == 0;
    free(stored);
    if (save_fmt && bk_state_set(j->st, "output_format", bk_format_name(j->out_format)) != 0) {
        snprintf(j->err, sizeof j->err, "cannot write the state file %s: %s", j->state_path,
                 bk_state_error(j->st));
        rc = BC_EXIT_FAILURE;
    }
    if (ir == BK_IMPORT_STOPPED)
        return rc;
    if (info.input_error)
        snprintf(j->input_error, sizeof j->input_error, "%s", ierr);
    if (info.bad_utf8) {
        progress_clear(&j->pr);
        cli_error("warning: %lu row%s with invalid UTF-8 (first at %s:%lu): kept as they are in CSV"
                  " and TSV output, with U+FFFD in JSON; is the file in another encoding"
                  " (save it as UTF-8)?",
                  info.bad_utf8, info.bad_utf8 == 1 ? "" : "s", j->o->input, info.first_bad_line);
    }
    return rc;
}

/* ---- phase 2: verify --------------------------------------------------------- */

static void offline_result(void *arg, const bc_result *r, int64_t nrows)
{
    count_result(arg, r, nrows);
}

static int verify_offline_all(job *j)
{
    int64_t cursor = 0;
    char verr[1024];
    for (;;) {
        int n = bk_verify_offline_step(j->st, j->o->ctx, j->with_json, &cursor, OFFLINE_BATCH, offline_result, j,
                                       verr, sizeof verr);
        if (n < 0) {
            set_engine_err(j, verr);
            return -1;
        }
        if (n == 0 || got_signal)
            break;
        progress_draw(&j->pr, "verifying", false);
    }
    return 0;
}

static void online_result(void *arg, const bc_result *r, int64_t nrows)
{
    count_result(arg, r, nrows);
}

static void online_done(void *arg)
{
    job *j = arg;
    j->done = true;
    event_base_loopbreak(j->base);
}

static void online_error(void *arg, const char *msg)
{
    job *j = arg;
    set_engine_err(j, msg);
    j->failed = true;
    event_base_loopbreak(j->base);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    job *j = arg;
    (void)fd;
    (void)what;
    if (got_signal) {
        event_base_loopbreak(j->base);
        return;
    }
    progress_draw(&j->pr, "verifying", false);
}

static int verify_online_all(job *j)
{
    if (j->pr.c.addrs_done >= j->pr.c.addrs)
        return 0; /* nothing waits for a result */
    j->base = event_base_new();
    if (!j->base) {
        snprintf(j->err, sizeof j->err, "out of memory");
        return -1;
    }
    bc_verifier *v = NULL;
    if (bc_verifier_new(&v, j->o->ctx, j->base, j->o->vo, j->err, sizeof j->err) != BC_OK)
        return -2;
    bk_sched_opts so = { .window = WINDOW, .vo = j->o->vo };
    bk_sched *s = bk_sched_new(j->base, v, &so);
    struct event *tick = event_new(j->base, -1, EV_PERSIST, tick_cb, j);
    struct timeval tv = { 0, TICK_MS * 1000 };
    bk_run *run = NULL;
    char rerr[1024];
    if (!s || !tick || event_add(tick, &tv) != 0) {
        snprintf(j->err, sizeof j->err, "cannot start the event loop");
        j->failed = true;
    } else {
        bk_run_cb cb = { .on_result = online_result, .on_done = online_done, .on_error = online_error, .arg = j };
        run = bk_run_start(s, j->st, j->with_json, &cb, rerr, sizeof rerr);
        if (!run) {
            set_engine_err(j, rerr);
            j->failed = true;
        }
    }
    while (run && !j->done && !j->failed && !got_signal) {
        if (event_base_loop(j->base, EVLOOP_ONCE) < 0) {
            snprintf(j->err, sizeof j->err, "event loop failure");
            j->failed = true;
        }
    }
    /* Interrupted: rechecks are dropped and those addresses stay without a
     * result, for --resume; results cancelled by the free below are not stored. */
    bk_run_stop(run);
    bc_verifier_free(v);
    for (int i = 0; i < 4; i++)
        event_base_loop(j->base, EVLOOP_NONBLOCK);
    bk_sched_free(s);
    if (tick)
        event_free(tick);
    return j->failed ? -1 : 0;
}

/* ---- phase 2, shared: the rows verified by the workers of a database (--db) ---- */

typedef struct shared {
    job *j;
    st_store *store;
    int64_t base_done; /* rows with a result in the state before */
    int64_t base_status[4];
    bool complete;
} shared;

/* A coordinator pass (src/work/coord.h): the progress, and at the end the
 * results copied into the state. */
static void shared_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    shared *sh = arg;
    job *j = sh->j;
    if (got_signal) {
        event_base_loopbreak(j->base);
        return;
    }
    wk_coord_pass p;
    char err[512] = "";
    if (wk_coord_run(sh->store, j->shared_id, j->st, &p, err, sizeof err) != WK_OK) {
        snprintf(j->err, sizeof j->err, "the database: %s", err);
        j->failed = true;
        event_base_loopbreak(j->base);
        return;
    }
    j->pr.c.rows_done = sh->base_done + p.rows.done;
    for (int i = 0; i < 4; i++)
        j->pr.c.by_status[i] = sh->base_status[i] + p.rows.by_status[i];
    progress_draw(&j->pr, "verifying", false);
    if (p.complete) {
        sh->complete = true;
        event_base_loopbreak(j->base);
    }
}

/* The job in the shared catalogue: the one this state names (a resumed
 * run), else a new one. 0 / -1 (j->err). */
static int shared_job(job *j, st_store *store)
{
    char *id = bk_state_get(j->st, "shared_job", NULL);
    st_job have;
    int found = id && strlen(id) == ST_JOB_ID_LEN ? st_job_get(store, id, &have) : 0;
    if (found == 1) {
        memcpy(j->shared_id, id, sizeof j->shared_id);
        st_job_clear(&have);
        free(id);
        return 0;
    }
    free(id);
    if (found < 0) {
        snprintf(j->err, sizeof j->err, "the database: %s", st_store_error(store));
        return -1;
    }
    const char *in = strcmp(j->o->input, "-") == 0 ? "standard input" : j->o->input;
    const char *base = strrchr(in, '/');
    char name[160], *fmt = bk_state_get(j->st, "input_format", NULL);
    snprintf(name, sizeof name, "verify -i %s", base ? base + 1 : in);
    st_job nj = {
        .status = ST_JOB_RUNNING, .total = j->pr.c.rows, .created_at = (int64_t)time(NULL), .name = name
    };
    snprintf(nj.format, sizeof nj.format, "%s", fmt ? fmt : "csv");
    free(fmt);
    if (st_job_new_id(nj.id) != 0 || st_job_insert(store, &nj) != 0) {
        snprintf(j->err, sizeof j->err, "cannot add the job to the database: %s", st_store_error(store));
        return -1;
    }
    if (bk_state_set(j->st, "shared_job", nj.id) != 0 || bk_state_set_int(j->st, "published", 0) != 0) {
        snprintf(j->err, sizeof j->err, "state file %s: %s", j->state_path, bk_state_error(j->st));
        st_job_delete(store, nj.id);
        return -1;
    }
    memcpy(j->shared_id, nj.id, sizeof j->shared_id);
    return 0;
}

static int verify_shared_all(job *j)
{
    if (j->pr.c.addrs_done >= j->pr.c.addrs)
        return 0;
    shared sh = { .j = j, .base_done = j->pr.c.rows_done };
    memcpy(sh.base_status, j->pr.c.by_status, sizeof sh.base_status);
    char err[512] = "";
    if (st_store_open_db(&sh.store, j->o->db, NULL, err, sizeof err) != 0) {
        snprintf(j->err, sizeof j->err, "%s", err);
        return -1;
    }
    int64_t added = 0;
    if (shared_job(j, sh.store) != 0) {
        st_store_close(sh.store);
        return -1;
    }
    if (bk_state_get_int(j->st, "published", 0) == 0 &&
        wk_rows_publish(sh.store, j->shared_id, j->st, &added, j->err, sizeof j->err) != 0) {
        st_store_close(sh.store);
        return -1;
    }
    if (!j->o->quiet && added > 0)
        cli_error("verify: %lld addresses shared as job %s of the database; every worker on it helps",
                  (long long)added, j->shared_id);
    j->base = event_base_new();
    bc_verifier *v = NULL;
    wk *w = NULL;
    struct event *tick = j->base ? event_new(j->base, -1, EV_PERSIST, shared_tick, &sh) : NULL;
    struct timeval tv = { 0, 500 * 1000 };
    if (!j->base || !tick || event_add(tick, &tv) != 0) {
        snprintf(j->err, sizeof j->err, "cannot start the event loop");
        j->failed = true;
    } else if (bc_verifier_new(&v, j->o->ctx, j->base, j->o->vo, j->err, sizeof j->err) != BC_OK) {
        j->failed = true;
    } else {
        wk_log_name("verify");
        wk_opts wo = { .store = sh.store, .base = j->base, .v = v, .vo = j->o->vo };
        if (!(w = wk_start(&wo, j->err, sizeof j->err)))
            j->failed = true;
    }
    while (!j->failed && !sh.complete && !got_signal) {
        if (event_base_loop(j->base, EVLOOP_ONCE) < 0) {
            snprintf(j->err, sizeof j->err, "event loop failure");
            j->failed = true;
        }
    }
    /* Interrupted or not, this process's rows without a result go back to
     * the others (and to a --resume). */
    wk_shutdown(w);
    bc_verifier_free(v);
    for (int i = 0; j->base && i < 4; i++)
        event_base_loop(j->base, EVLOOP_NONBLOCK);
    wk_free(w);
    if (tick)
        event_free(tick);
    if (sh.complete && !j->failed) {
        if (st_job_delete(sh.store, j->shared_id) < 0) {
            /* the results are here; the copy in the database goes with its retention */
            cli_error("verify: the job's rows stay in the database: %s", st_store_error(sh.store));
        }
        if (!j->failed && bk_state_counts(j->st, &j->pr.c) != 0) {
            snprintf(j->err, sizeof j->err, "state file %s: %s", j->state_path, bk_state_error(j->st));
            j->failed = true;
        }
    }
    if (!sh.complete && j->state_temp && st_job_delete(sh.store, j->shared_id) >= 0)
        j->shared_id[0] = '\0'; /* nothing could resume it: taken back from the workers */
    st_store_close(sh.store);
    return j->failed ? -1 : 0;
}

/* ---- phase 3: write ------------------------------------------------------------- */

static int phase_write(job *j)
{
    char *part = NULL;
    FILE *out = stdout;
    int rc = BC_EXIT_OK;
    if (j->out_format == BK_FMT_AUTO) { /* killed before the format was stored */
        j->out_format = bk_export_default_format(j->st);
    }
    if (j->out_path) {
        size_t n = strlen(j->out_path) + 8;
        part = malloc(n);
        if (!part)
            return BC_EXIT_FAILURE;
        snprintf(part, n, "%s.part", j->out_path);
        out = fopen(part, "wb");
        if (!out) {
            snprintf(j->err, sizeof j->err, "cannot create %s: %s", part, strerror(errno));
            free(part);
            return BC_EXIT_FAILURE;
        }
    }
    char werr[1024];
    if (bk_export(j->st, out, j->out_format, werr, sizeof werr) != 0) {
        const char *generic = "cannot write the output";
        if (part && strncmp(werr, generic, strlen(generic)) == 0)
            snprintf(j->err, sizeof j->err, "cannot write %s%s", part, werr + strlen(generic));
        else
            set_engine_err(j, werr);
        rc = BC_EXIT_FAILURE;
    }
    if (part) {
        if (fclose(out) != 0 && rc == BC_EXIT_OK) {
            snprintf(j->err, sizeof j->err, "cannot write %s: %s", part, strerror(errno));
            rc = BC_EXIT_FAILURE;
        }
        if (rc == BC_EXIT_OK && rename(part, j->out_path) != 0) {
            snprintf(j->err, sizeof j->err, "cannot rename %s to %s: %s", part, j->out_path, strerror(errno));
            rc = BC_EXIT_FAILURE;
        }
        if (rc != BC_EXIT_OK)
            unlink(part);
        free(part);
    }
    return rc;
}

/* ---- summary -------------------------------------------------------------------- */

typedef struct reason_ctx {
    int64_t total;
} reason_ctx;

static void print_reason(void *arg, const char *reason, int64_t rows)
{
    reason_ctx *rc = arg;
    char a[32];
    fprintf(stderr, "    %-22s %12s  %5.1f%%\n", reason ? reason : "?", thousands(rows, a, sizeof a),
            rc->total ? 100.0 * (double)rows / (double)rc->total : 0.0);
}

static void print_summary(job *j, long ms)
{
    bk_counts c;
    if (bk_state_counts(j->st, &c) != 0)
        return;
    char a[32], b[32], d[32];
    fmt_duration(ms / 1000, d, sizeof d);
    fprintf(stderr, "%s rows (%s distinct addresses) in %s", thousands(c.rows, a, sizeof a),
            thousands(c.addrs, b, sizeof b), d);
    double rate = ms > 0 ? (double)(c.rows_done - j->pr.done0) * 1000.0 / (double)ms : 0.0;
    if (rate >= 10.0)
        fprintf(stderr, ", %s rows/s", thousands((int64_t)rate, b, sizeof b));
    else if (ms > 0)
        fprintf(stderr, ", %.1f rows/s", rate);
    fputc('\n', stderr);
    static const bc_verdict_status order[] = { BC_STATUS_DELIVERABLE, BC_STATUS_UNDELIVERABLE, BC_STATUS_RISKY,
                                               BC_STATUS_UNKNOWN };
    fprintf(stderr, "  by status:\n");
    for (size_t i = 0; i < 4; i++) {
        int64_t n = c.by_status[order[i]];
        fprintf(stderr, "    %-22s %12s  %5.1f%%\n", bc_verdict_status_name(order[i]), thousands(n, a, sizeof a),
                c.rows ? 100.0 * (double)n / (double)c.rows : 0.0);
    }
    fprintf(stderr, "  by reason:\n");
    reason_ctx rc = { c.rows };
    bk_state_reasons(j->st, print_reason, &rc);
    /* "N addresses at PROVIDER could not be checked because your address X
     * is blocked: see URL", one line per provider and source address */
    json_t *blocked = json_array();
    if (blocked && bk_state_blocked(j->st, bk_blocked_add, blocked) == 0) {
        for (size_t i = 0; i < json_array_size(blocked); i++)
            fprintf(stderr, "  %s\n", json_string_value(json_object_get(json_array_get(blocked, i), "message")));
    }
    json_decref(blocked);
}

/* ---- the command ------------------------------------------------------------------ */

/* PATH + suffix, malloc'd. */
static char *with_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path) + strlen(suffix) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", path, suffix);
    return s;
}

static void remove_state(const char *path)
{
    static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < 4; i++) {
        char *p = with_suffix(path, sfx[i]);
        if (p)
            unlink(p);
        free(p);
    }
}

/* Before an online list starts: can the DNS resolver be believed when it
 * says that a domain does not exist (bc_resolver_check)? One that answers
 * NXDOMAIN to every name would make the whole list undeliverable. Without
 * --force the job stops here, before any file is written (exit 1); with
 * it, a warning, and the verifier itself keeps such answers from making
 * addresses undeliverable. A check that cannot run (a bad --dns) is left
 * to the verifier, which reports the setting. */
static int dns_preflight(const bulk_opts *o)
{
    char msg[256];
    if (o->offline || bc_resolver_check(o->vo->dns_servers, 0, msg, sizeof msg) != 0)
        return BC_EXIT_OK;
    const char *then = "addresses whose domain DNS says does not exist will be 'unknown/dns_unreliable'";
    if (!o->force) {
        cli_error("the DNS is not trustworthy: %s; use --force to verify anyway (%s)", msg, then);
        return BC_EXIT_FAILURE;
    }
    if (!o->quiet)
        cli_error("warning: the DNS is not trustworthy: %s; going on (--force): %s", msg, then);
    return BC_EXIT_OK;
}

/* Same file? (both exist) */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int bulk_run(const bulk_opts *o)
{
    job j = { .o = o };
    int rc = BC_EXIT_OK;
    bool use_stdout = !o->output || strcmp(o->output, "-") == 0;
    bool use_stdin = strcmp(o->input, "-") == 0;
    if (!use_stdout) {
        j.out_path = strdup(o->output);
        if (!use_stdin && (strcmp(o->input, o->output) == 0 || same_file(o->input, o->output))) {
            cli_error("verify: the output %s is the input; write the results to another file", o->output);
            free(j.out_path);
            return BC_EXIT_USAGE;
        }
    }
    j.out_format = o->out_format;
    if (j.out_format == BK_FMT_AUTO && j.out_path)
        j.out_format = bk_format_from_name(j.out_path);
    if (j.out_format == BK_FMT_TEXT)
        j.out_format = BK_FMT_CSV;
    j.with_json = j.out_format == BK_FMT_NDJSON || j.out_format == BK_FMT_JSON;
    rc = dns_preflight(o);
    if (rc != BC_EXIT_OK) {
        free(j.out_path);
        return rc;
    }

    /* Where the state lives. */
    if (o->state) {
        j.state_path = strdup(o->state);
        j.state_given = true;
    } else if (j.out_path) {
        j.state_path = with_suffix(j.out_path, ".bcstate");
    } else if (!use_stdin) {
        j.state_path = with_suffix(o->input, ".bcstate");
    } else {
        const char *tmp = getenv("TMPDIR");
        j.state_path = with_suffix(tmp && *tmp ? tmp : "/tmp", "/bouncecheck-XXXXXX");
        int fd = j.state_path ? mkstemp(j.state_path) : -1;
        if (fd < 0) {
            cli_error("cannot create a temporary state file: %s", strerror(errno));
            free(j.state_path);
            free(j.out_path);
            return BC_EXIT_FAILURE;
        }
        close(fd);
        j.state_temp = true;
    }
    if (!j.state_path) {
        cli_error("out of memory");
        free(j.out_path);
        return BC_EXIT_FAILURE;
    }
    struct stat sst;
    bool exists = !j.state_temp && stat(j.state_path, &sst) == 0;
    if (exists && !o->resume) {
        cli_error("verify: %s exists: an earlier run of this job was interrupted. Add --resume to go on"
                  " where it stopped, or delete the file to start over",
                  j.state_path);
        free(j.state_path);
        free(j.out_path);
        return BC_EXIT_USAGE;
    }
    if (!exists && o->resume && !o->quiet)
        cli_error("verify: nothing to resume (no %s): starting from the beginning", j.state_path);

    if (bk_state_open(&j.st, j.state_path, j.err, sizeof j.err) != 0) {
        cli_error("%s", j.err);
        if (j.state_temp)
            remove_state(j.state_path);
        free(j.state_path);
        free(j.out_path);
        return BC_EXIT_FAILURE;
    }
    bool fresh = bk_state_is_new(j.st);
    if (!fresh) {
        struct stat in_st;
        bool have_st = !use_stdin && stat(o->input, &in_st) == 0 && S_ISREG(in_st.st_mode);
        if (!same_job(&j, have_st ? &in_st : NULL)) {
            cli_error("%s", j.err);
            bk_state_close(j.st);
            free(j.state_path);
            free(j.out_path);
            return BC_EXIT_USAGE;
        }
        char *f = bk_state_get(j.st, "output_format", NULL);
        bk_format sf;
        if (j.out_format == BK_FMT_AUTO && f && bk_format_parse(f, &sf)) {
            j.out_format = sf;
            j.with_json = sf == BK_FMT_NDJSON || sf == BK_FMT_JSON;
        }
        free(f);
    }

    struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    got_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    j.pr.on = !o->quiet && isatty(STDERR_FILENO);
    j.pr.t0 = now_ms();
    if (fresh || bk_state_get_int(j.st, "read_done", 0) == 0) {
        rc = phase_read(&j, fresh);
    } else {
        char *ie = bk_state_get(j.st, "input_error", NULL);
        if (ie)
            snprintf(j.input_error, sizeof j.input_error, "%s", ie);
        free(ie);
    }
    if (rc == BC_EXIT_OK && !got_signal) {
        if (bk_state_counts(j.st, &j.pr.c) != 0) {
            snprintf(j.err, sizeof j.err, "state file %s: %s", j.state_path, bk_state_error(j.st));
            rc = BC_EXIT_FAILURE;
        }
        j.pr.done0 = j.pr.c.rows_done;
        j.pr.t0 = now_ms();
    }
    if (rc == BC_EXIT_OK && !got_signal) {
        int vr = o->offline ? verify_offline_all(&j) : o->db ? verify_shared_all(&j) : verify_online_all(&j);
        if (vr == -2)
            rc = BC_EXIT_USAGE;
        else if (vr != 0)
            rc = BC_EXIT_FAILURE;
        progress_draw(&j.pr, "verifying", true);
    }
    progress_clear(&j.pr);
    if (rc == BC_EXIT_OK && !got_signal)
        rc = phase_write(&j);

    int sig = got_signal;
    if (rc != BC_EXIT_OK) {
        cli_error("%s", j.err[0] ? j.err : "bulk verification failed");
        if (!j.state_temp && !fresh)
            cli_error("the work done so far is kept in %s; run the same command with --resume to go on",
                      j.state_path);
    } else if (sig) {
        bk_counts c = { 0 };
        bk_state_counts(j.st, &c);
        char a[32], b[32];
        cli_error("interrupted: %s of %s rows verified so far%s", thousands(c.rows_done, a, sizeof a),
                  thousands(c.rows, b, sizeof b),
                  j.state_temp ? " (standard input with no --state: nothing is kept)" : "");
        if (!j.state_temp)
            cli_error("the work is kept in %s: run the same command with --resume to go on", j.state_path);
        if (j.shared_id[0])
            cli_error("the workers of the database go on with job %s meanwhile; --resume collects their results",
                      j.shared_id);
        rc = 128 + sig;
    } else {
        if (!o->quiet)
            print_summary(&j, now_ms() - j.pr.t0);
        if (j.input_error[0]) {
            cli_error("%s", j.input_error);
            cli_error("the input was read up to that point: the output holds the rows before it");
            rc = BC_EXIT_INPUT;
        }
    }
    /* Drop the state when it is temporary, when the job is complete (the
     * output is written; an explicit --state is kept), or when this run
     * created it and failed before reading a row. */
    bool complete = !sig && (rc == BC_EXIT_OK || (rc == BC_EXIT_INPUT && j.input_error[0]));
    bool drop_state = j.state_temp || (complete && !j.state_given) ||
                      (!exists && rc != BC_EXIT_OK && !complete && !sig &&
                       bk_state_get_int(j.st, "rows_read", 0) == 0);
    bk_state_close(j.st);
    if (drop_state)
        remove_state(j.state_path);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (j.base)
        event_base_free(j.base);
    free(j.state_path);
    free(j.out_path);
    return rc;
}
