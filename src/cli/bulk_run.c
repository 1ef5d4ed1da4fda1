/*
 * bulk_run.c - `bouncecheck verify -i FILE`: read the list into the job's
 * state, verify each distinct address once (grouped by domain, many at a
 * time), then write every row in input order with its result appended.
 *
 * Phases, each resumable from the state file (src/bulk/state.h):
 *   1. read:   rows are committed every READ_BATCH rows together with the
 *              count read so far; a resumed read re-parses the input and
 *              skips that many rows.
 *   2. verify: results are committed every COMMIT_MS or COMMIT_MAX results;
 *              a resumed run asks only about addresses without one.
 *   3. write:  the output goes to OUTPUT.part and is renamed over OUTPUT
 *              when complete, so OUTPUT is either absent or whole.
 * Online, addresses are handed to the verifier domain by domain (largest
 * domains first) with at most PER_DOMAIN of one domain and WINDOW in all
 * waiting at once: enough to fill every allowed connection with several
 * recipients, bounded memory whatever the list size, and no domain starves
 * another.
 */
#include "bulk_run.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "state.h"

#define READ_BATCH 5000
#define COMMIT_MS 250
#define COMMIT_MAX 2000
#define WINDOW 2000
#define OFFLINE_BATCH 1000
#define TICK_MS 200
#define STATE_VERSION 1

/* Set by the signal handler; read by the phases between steps. */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig) { got_signal = sig; }

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- progress ------------------------------------------------------------ */

typedef struct progress {
    bool on;            /* a live bar on a terminal */
    long t0, last;      /* start of this run, last redraw (ms) */
    int64_t done0;      /* rows done when this run started */
    bk_counts c;        /* kept current by the phases */
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
                     frac * 100.0, bar, thousands(p->c.rows_done, a, sizeof a),
                     thousands(p->c.rows, b, sizeof b), thousands((int64_t)rate, r, sizeof r), eta,
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
    char *out_path;              /* NULL: stdout */
    bk_format out_format;
    bool with_json;
    progress pr;
    char err[1024];
    char input_error[1024];      /* the input stopped early: why (exit 3 at the end) */
    /* online scheduling */
    struct event_base *base;
    bc_verifier *v;
    struct dom *doms;
    size_t ndom, cap_dom, cursor;
    size_t *ready;               /* domains with room and work, to refill */
    size_t nready;
    int inflight, per_domain;
    int64_t last_id;             /* offline: the last address verified */
    struct sub *rechecks;        /* greylisted addresses waiting to be asked again */
    int uncommitted;
    long last_commit;
    bool stopping, failed;
} job;

typedef struct dom {
    char *name;
    int64_t remaining;  /* waiting and not yet handed to the verifier */
    int64_t last_id;
    int inflight;
    bool queued;        /* in job.ready */
} dom;

typedef struct sub {
    job *j;
    int64_t id, nrows;
    size_t dom;
    int round;            /* greylisting rechecks done by the job */
    struct event *recheck; /* waiting for the next one */
    struct sub *rnext, *rprev; /* in job.rechecks while waiting */
    size_t email_len;
    char email[];         /* the address as submitted */
} sub;

/* Commits the results so far and starts a new transaction; false on error. */
static bool checkpoint(job *j)
{
    if (bk_state_commit(j->st) != 0 || bk_state_begin(j->st) != 0) {
        snprintf(j->err, sizeof j->err, "cannot write the state file %s: %s", j->state_path,
                 bk_state_error(j->st));
        return false;
    }
    j->uncommitted = 0;
    j->last_commit = now_ms();
    return true;
}

/* Records one result in the state and the progress counters. */
static bool record(job *j, int64_t id, int64_t nrows, const bc_result *r)
{
    if (bk_state_store_result(j->st, id, r, j->with_json) != 0) {
        snprintf(j->err, sizeof j->err, "cannot write the state file %s: %s", j->state_path,
                 bk_state_error(j->st));
        return false;
    }
    j->pr.c.rows_done += nrows;
    j->pr.c.addrs_done++;
    bc_verdict_status s = bc_result_status(r);
    if ((int)s >= 0 && (int)s < 4)
        j->pr.c.by_status[s] += nrows;
    if (++j->uncommitted >= COMMIT_MAX || now_ms() - j->last_commit >= COMMIT_MS)
        return checkpoint(j);
    return true;
}

/* ---- phase 1: read ---------------------------------------------------------- */

/* True when an NDJSON line is an object with a key the header lacks. */
static bool ndjson_has_extra(const char *text, size_t len, const char *const *header, size_t nheader)
{
    json_t *obj = json_loadb(text, len, 0, NULL);
    bool extra = false;
    if (json_is_object(obj)) {
        const char *k;
        json_t *val;
        json_object_foreach(obj, k, val) {
            bool found = false;
            for (size_t i = 0; i < nheader && !found; i++)
                found = strcmp(header[i], k) == 0;
            if (!found) {
                extra = true;
                break;
            }
        }
    }
    json_decref(obj);
    return extra;
}

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

/* Stores the settings of a new job. */
static int save_settings(job *j, bk_reader *r, const struct stat *in_st)
{
    const char *const *hdr = NULL;
    size_t nh = bk_reader_header(r, &hdr);
    size_t hlen = 0;
    void *hblob;
    size_t *lens = calloc(nh ? nh : 1, sizeof *lens);
    if (!lens)
        return -1;
    for (size_t i = 0; i < nh; i++)
        lens[i] = strlen(hdr[i]);
    hblob = bk_fields_pack(hdr, lens, nh, &hlen);
    free(lens);
    if (!hblob)
        return -1;
    int bad = 0;
    char delim[2] = { bk_reader_delimiter(r), '\0' };
    bad |= bk_state_set_int(j->st, "version", STATE_VERSION);
    bad |= bk_state_set(j->st, "input", j->o->input);
    bad |= bk_state_set_int(j->st, "input_size", in_st ? (int64_t)in_st->st_size : -1);
    bad |= bk_state_set_int(j->st, "input_mtime", in_st ? (int64_t)in_st->st_mtime : -1);
    bad |= bk_state_set(j->st, "input_format", bk_format_name(bk_reader_format(r)));
    bad |= bk_state_set(j->st, "delimiter", delim);
    bad |= bk_state_set_int(j->st, "has_header", hdr != NULL);
    bad |= bk_state_set_blob(j->st, "header", hblob, hlen);
    bad |= bk_state_set(j->st, "column", j->o->column ? j->o->column : "");
    bad |= bk_state_set(j->st, "output_format", bk_format_name(j->out_format));
    bad |= bk_state_set_int(j->st, "offline", j->o->offline);
    bad |= bk_state_set_int(j->st, "rows_read", 0);
    bad |= bk_state_set_int(j->st, "read_done", 0);
    bad |= bk_state_set_int(j->st, "ndjson_extra", 0);
    free(hblob);
    return bad ? -1 : 0;
}

/* Checks that a resumed state is the job the command line describes. */
static bool same_job(job *j, const struct stat *in_st)
{
    char *input = bk_state_get(j->st, "input", NULL);
    char *fmt = bk_state_get(j->st, "output_format", NULL);
    char *col = bk_state_get(j->st, "column", NULL);
    bool ok = input && strcmp(input, j->o->input) == 0 && fmt &&
              (j->out_format == BK_FMT_AUTO || strcmp(fmt, bk_format_name(j->out_format)) == 0) && col &&
              strcmp(col, j->o->column ? j->o->column : "") == 0 &&
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

/* Reads the input into the state (the rest of it, when resuming). */
static int phase_read(job *j, bool fresh)
{
    FILE *in = open_input(j);
    if (!in)
        return BC_EXIT_INPUT;
    struct stat in_st;
    bool have_st = in != stdin && fstat(fileno(in), &in_st) == 0 && S_ISREG(in_st.st_mode);
    bk_reader_opts ro = { .format = j->o->in_format, .column = j->o->column };
    bk_reader *r = NULL;
    if (bk_reader_open(&r, in, j->o->input, &ro, j->err, sizeof j->err) != 0) {
        if (in != stdin)
            fclose(in);
        return BC_EXIT_INPUT;
    }
    if (j->out_format == BK_FMT_AUTO) {
        bk_format f = bk_reader_format(r);
        j->out_format = f == BK_FMT_NDJSON ? BK_FMT_NDJSON : f == BK_FMT_TSV ? BK_FMT_TSV : BK_FMT_CSV;
        j->with_json = j->out_format == BK_FMT_NDJSON || j->out_format == BK_FMT_JSON;
    }
    int rc = BC_EXIT_OK;
    if (bk_state_begin(j->st) != 0 || (fresh && save_settings(j, r, have_st ? &in_st : NULL) != 0)) {
        snprintf(j->err, sizeof j->err, "cannot write the state file %s: %s", j->state_path,
                 bk_state_error(j->st));
        rc = BC_EXIT_FAILURE;
        goto out;
    }
    const char *const *hdr = NULL;
    size_t nh = bk_reader_header(r, &hdr);
    bool ndjson = bk_reader_format(r) == BK_FMT_NDJSON;
    bool extra = bk_state_get_int(j->st, "ndjson_extra", 0) != 0;
    int64_t skip = bk_state_get_int(j->st, "rows_read", 0), idx = 0;
    unsigned long bad_utf8 = 0, first_bad_line = 0;
    bk_row row;
    char rerr[1024];
    int got;
    j->pr.c.rows = skip;
    while ((got = bk_reader_next(r, &row, rerr, sizeof rerr)) == 1) {
        if (idx < skip) {
            idx++;
            continue;
        }
        if (row.bad_utf8 && bad_utf8++ == 0)
            first_bad_line = row.line;
        if (ndjson && !extra && row.nfields == 1 && ndjson_has_extra(row.fields[0], row.lens[0], hdr, nh)) {
            extra = true;
            if (bk_state_set_int(j->st, "ndjson_extra", 1) != 0)
                goto dberr;
        }
        if (bk_state_add_row(j->st, idx, &row, j->err, sizeof j->err) != 0) {
            rc = BC_EXIT_FAILURE;
            goto out;
        }
        idx++;
        j->pr.c.rows = idx;
        if (idx % READ_BATCH == 0) {
            if (bk_state_set_int(j->st, "rows_read", idx) != 0 || !checkpoint(j))
                goto dberr;
            progress_draw(&j->pr, "reading", false);
        }
        if (got_signal) {
            /* keep what was read, consistently with the count */
            if (bk_state_set_int(j->st, "rows_read", idx) != 0 || !checkpoint(j))
                goto dberr;
            goto out;
        }
    }
    if (got < 0) {
        /* The rows before the problem stay: they are verified and written. */
        snprintf(j->input_error, sizeof j->input_error, "%s", rerr);
        if (bk_state_set(j->st, "input_error", rerr) != 0)
            goto dberr;
    }
    if (bk_state_set_int(j->st, "rows_read", idx) != 0 || bk_state_set_int(j->st, "read_done", 1) != 0 ||
        !checkpoint(j))
        goto dberr;
    if (bad_utf8) {
        progress_clear(&j->pr);
        cli_error("warning: %lu row%s with invalid UTF-8 (first at %s:%lu): kept as they are in CSV"
                  " and TSV output, with U+FFFD in JSON; is the file in another encoding"
                  " (save it as UTF-8)?",
                  bad_utf8, bad_utf8 == 1 ? "" : "s", j->o->input, first_bad_line);
    }
    goto out;
dberr:
    snprintf(j->err, sizeof j->err, "cannot write the state file %s: %s", j->state_path,
             bk_state_error(j->st));
    rc = BC_EXIT_FAILURE;
out:
    if (rc == BC_EXIT_OK)
        bk_state_commit(j->st);
    else
        bk_state_rollback(j->st); /* the rows of a half batch would not match rows_read */
    bk_reader_free(r);
    if (in != stdin)
        fclose(in);
    return rc;
}

/* ---- phase 2: verify --------------------------------------------------------- */

static int offline_one(void *arg, const bk_pending *p)
{
    job *j = arg;
    bc_result *r = NULL;
    if (bc_verify_offline(j->o->ctx, p->email, p->email_len, &r) != BC_OK) {
        snprintf(j->err, sizeof j->err, "out of memory");
        return -1;
    }
    bool ok = record(j, p->id, p->nrows, r);
    bc_result_free(r);
    j->last_id = p->id;
    return ok ? (got_signal ? 1 : 0) : -1;
}

static int verify_offline_all(job *j)
{
    if (bk_state_begin(j->st) != 0)
        return -1;
    j->last_id = 0;
    for (;;) {
        int n = bk_state_pending(j->st, NULL, j->last_id, OFFLINE_BATCH, offline_one, j);
        if (n < 0 || j->err[0])
            return -1;
        if (n == 0 || got_signal)
            break;
        progress_draw(&j->pr, "verifying", false);
    }
    return checkpoint(j) ? 0 : -1;
}

static void refill(job *j);

static void on_result(void *arg, bc_result *r);

/* The greylisting wait is over: ask again. */
static void recheck_cb(evutil_socket_t fd, short what, void *arg)
{
    sub *s = arg;
    job *j = s->j;
    if (s->rprev)
        s->rprev->rnext = s->rnext;
    else
        j->rechecks = s->rnext;
    if (s->rnext)
        s->rnext->rprev = s->rprev;
    event_free(s->recheck);
    s->recheck = NULL;
    if (bc_verifier_submit(j->v, s->email, s->email_len, on_result, s) != BC_OK) {
        snprintf(j->err, sizeof j->err, "out of memory");
        j->failed = true;
        j->doms[s->dom].inflight--;
        j->inflight--;
        free(s);
    }
}

/* The greylisting schedule of the run: --greylist-schedule, else 60, 300. */
static int recheck_wait_s(const job *j, int round)
{
    static const int dflt[] = { 60, 300 };
    const bc_verify_options *vo = j->o->vo;
    if (vo->n_greylist_waits > 0)
        return round < vo->n_greylist_waits ? vo->greylist_waits_s[round] : -1;
    return round < 2 ? dflt[round] : -1;
}

/* A list job has more time than one address: an address still greylisted
 * when its own deadline ran out is asked again on the schedule, while the
 * job goes on with the others. false when it is not to be rechecked. */
static bool schedule_recheck(job *j, sub *s, const bc_result *r)
{
    int wait = recheck_wait_s(j, s->round);
    if (wait < 0 || strcmp(bc_result_reason(r), "greylisted") != 0)
        return false;
    s->recheck = evtimer_new(j->base, recheck_cb, s);
    struct timeval tv = { wait, 0 };
    if (!s->recheck || evtimer_add(s->recheck, &tv) != 0) {
        if (s->recheck)
            event_free(s->recheck);
        s->recheck = NULL;
        return false;
    }
    s->round++;
    s->rprev = NULL;
    s->rnext = j->rechecks;
    if (j->rechecks)
        j->rechecks->rprev = s;
    j->rechecks = s;
    return true;
}

static void on_result(void *arg, bc_result *r)
{
    sub *s = arg;
    job *j = s->j;
    dom *d = &j->doms[s->dom];
    if (!j->stopping && !j->failed && schedule_recheck(j, s, r)) {
        bc_result_free(r); /* still counted in flight */
        return;
    }
    d->inflight--;
    j->inflight--;
    if (!j->stopping && !j->failed && !record(j, s->id, s->nrows, r))
        j->failed = true;
    if (d->remaining > 0 && !d->queued) {
        d->queued = true;
        j->ready[j->nready++] = s->dom;
    }
    bc_result_free(r);
    free(s);
}

typedef struct submit_ctx {
    job *j;
    size_t dom;
} submit_ctx;

static int submit_one(void *arg, const bk_pending *p)
{
    submit_ctx *sc = arg;
    job *j = sc->j;
    dom *d = &j->doms[sc->dom];
    sub *s = malloc(sizeof *s + p->email_len + 1);
    if (!s) {
        snprintf(j->err, sizeof j->err, "out of memory");
        return -1;
    }
    *s = (sub){ .j = j, .id = p->id, .nrows = p->nrows, .dom = sc->dom, .email_len = p->email_len };
    memcpy(s->email, p->email, p->email_len);
    s->email[p->email_len] = '\0';
    d->last_id = p->id;
    d->remaining--;
    if (bc_verifier_submit(j->v, p->email, p->email_len, on_result, s) != BC_OK) {
        free(s);
        snprintf(j->err, sizeof j->err, "out of memory");
        return -1;
    }
    d->inflight++;
    j->inflight++;
    return 0;
}

/* Hands domain `i` as many addresses as its share allows. */
static void feed(job *j, size_t i)
{
    dom *d = &j->doms[i];
    int cap = d->name[0] ? j->per_domain : WINDOW; /* unparsable cells need no server */
    int want = cap - d->inflight;
    if (want > WINDOW - j->inflight)
        want = WINDOW - j->inflight;
    if (want <= 0 || d->remaining <= 0)
        return;
    submit_ctx sc = { j, i };
    int n = bk_state_pending(j->st, d->name, d->last_id, want, submit_one, &sc);
    if (n < 0 || j->err[0]) {
        if (!j->err[0])
            snprintf(j->err, sizeof j->err, "state file %s: %s", j->state_path, bk_state_error(j->st));
        j->failed = true;
    } else if (n < want) {
        d->remaining = 0; /* the count was stale (cannot happen; be safe) */
    }
}

/* Keeps the verifier busy: domains that have room first, then new ones. */
static void refill(job *j)
{
    size_t n = j->nready;
    j->nready = 0;
    for (size_t k = 0; k < n && !j->failed; k++) {
        size_t i = j->ready[k];
        j->doms[i].queued = false;
        feed(j, i);
    }
    while (!j->failed && j->inflight < WINDOW && j->cursor < j->ndom)
        feed(j, j->cursor++);
}

static int add_dom(void *arg, const char *domain, int64_t count)
{
    job *j = arg;
    if (j->ndom == j->cap_dom) {
        size_t cap = j->cap_dom ? j->cap_dom * 2 : 256;
        dom *nd = realloc(j->doms, cap * sizeof *nd);
        if (!nd)
            return -1;
        j->doms = nd;
        j->cap_dom = cap;
    }
    char *name = strdup(domain ? domain : "");
    if (!name)
        return -1;
    j->doms[j->ndom++] = (dom){ .name = name, .remaining = count };
    return 0;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    job *j = arg;
    if (got_signal) {
        event_base_loopbreak(j->base);
        return;
    }
    if (j->uncommitted && now_ms() - j->last_commit >= COMMIT_MS && !checkpoint(j))
        j->failed = true;
    progress_draw(&j->pr, "verifying", false);
}

static int verify_online_all(job *j)
{
    if (bk_state_pending_domains(j->st, add_dom, j) != 0) {
        snprintf(j->err, sizeof j->err, "state file %s: %s", j->state_path, bk_state_error(j->st));
        return -1;
    }
    if (j->ndom == 0)
        return 0;
    j->ready = calloc(j->ndom, sizeof *j->ready);
    j->base = event_base_new();
    int conns = j->o->vo->mx_connections > 0 ? j->o->vo->mx_connections : 2;
    int rcpts = j->o->vo->rcpts_per_connection > 0 ? j->o->vo->rcpts_per_connection : 10;
    j->per_domain = 2 * conns * rcpts;
    if (j->per_domain < 20)
        j->per_domain = 20;
    if (j->per_domain > WINDOW)
        j->per_domain = WINDOW;
    if (!j->ready || !j->base) {
        snprintf(j->err, sizeof j->err, "out of memory");
        return -1;
    }
    if (bc_verifier_new(&j->v, j->o->ctx, j->base, j->o->vo, j->err, sizeof j->err) != BC_OK)
        return -2;
    struct event *tick = event_new(j->base, -1, EV_PERSIST, tick_cb, j);
    struct timeval tv = { 0, TICK_MS * 1000 };
    if (!tick || event_add(tick, &tv) != 0 || bk_state_begin(j->st) != 0) {
        if (tick)
            event_free(tick);
        snprintf(j->err, sizeof j->err, "cannot start the event loop");
        return -1;
    }
    j->last_commit = now_ms();
    refill(j);
    while (!j->failed && !got_signal && (j->inflight > 0 || j->cursor < j->ndom || j->nready > 0)) {
        if (event_base_loop(j->base, EVLOOP_ONCE) < 0) {
            snprintf(j->err, sizeof j->err, "event loop failure");
            j->failed = true;
            break;
        }
        refill(j);
    }
    j->stopping = true; /* results cancelled by the free below are not stored */
    while (j->rechecks) { /* interrupted: these stay without a result, for --resume */
        sub *s = j->rechecks;
        j->rechecks = s->rnext;
        event_free(s->recheck);
        free(s);
    }
    bc_verifier_free(j->v);
    j->v = NULL;
    for (int i = 0; i < 4; i++)
        event_base_loop(j->base, EVLOOP_NONBLOCK);
    event_free(tick);
    bool ok = !j->failed && checkpoint(j);
    bk_state_commit(j->st);
    return ok ? 0 : -1;
}

/* ---- phase 3: write ------------------------------------------------------------- */

typedef struct write_ctx {
    bk_writer *w;
} write_ctx;

static int write_one(void *arg, const bk_out_row *row)
{
    write_ctx *wc = arg;
    return bk_writer_row(wc->w, row->fields, row->lens, row->nfields, row->line, row->email,
                         row->email_len, &row->res) == 0 ? 0 : 1;
}

static int phase_write(job *j)
{
    size_t hlen = 0;
    char *hblob = bk_state_get(j->st, "header", &hlen);
    char *infmt = bk_state_get(j->st, "input_format", NULL);
    char *delim = bk_state_get(j->st, "delimiter", NULL);
    const char **hdr = NULL;
    size_t *hlens = NULL, nh = 0;
    bool has_header = bk_state_get_int(j->st, "has_header", 0) != 0;
    bk_format inf = BK_FMT_CSV;
    int rc = BC_EXIT_OK;
    if (!hblob || !infmt || !delim || !bk_format_parse(infmt, &inf) ||
        bk_fields_unpack(hblob, hlen, &hdr, &hlens, &nh) != 0) {
        snprintf(j->err, sizeof j->err, "the state file %s is damaged (no header record)", j->state_path);
        rc = BC_EXIT_FAILURE;
        goto out;
    }
    char *part = NULL;
    FILE *out = stdout;
    if (j->out_path) {
        size_t n = strlen(j->out_path) + 8;
        part = malloc(n);
        if (!part) {
            rc = BC_EXIT_FAILURE;
            goto out;
        }
        snprintf(part, n, "%s.part", j->out_path);
        out = fopen(part, "wb");
        if (!out) {
            snprintf(j->err, sizeof j->err, "cannot create %s: %s", part, strerror(errno));
            free(part);
            rc = BC_EXIT_FAILURE;
            goto out;
        }
    }
    bk_writer_opts wo = {
        .format = j->out_format, .input_format = inf, .input_delimiter = delim[0],
        .header = has_header ? hdr : NULL, .nheader = has_header ? nh : 0,
        .ndjson_extra = bk_state_get_int(j->st, "ndjson_extra", 0) != 0,
        .formula_escape = true,
    };
    write_ctx wc = { bk_writer_new(out, &wo) };
    int64_t missing = 0;
    int wr = wc.w ? bk_state_rows(j->st, write_one, &wc, &missing) : -1;
    if (wr == 0 && missing > 0) {
        snprintf(j->err, sizeof j->err, "internal error: %lld rows have no result", (long long)missing);
        wr = -1;
    }
    if (wr != 0) {
        bk_writer_free(wc.w);
        if (!j->err[0])
            snprintf(j->err, sizeof j->err, "cannot write %s: %s", part ? part : "the output",
                     wr < 0 ? bk_state_error(j->st) : strerror(errno));
        rc = BC_EXIT_FAILURE;
    } else if (bk_writer_finish(wc.w) != 0) {
        snprintf(j->err, sizeof j->err, "cannot write %s: %s", part ? part : "the output", strerror(errno));
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
out:
    free(hblob);
    free(infmt);
    free(delim);
    free(hdr);
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
    static const bc_verdict_status order[] = { BC_STATUS_DELIVERABLE, BC_STATUS_UNDELIVERABLE,
                                               BC_STATUS_RISKY, BC_STATUS_UNKNOWN };
    fprintf(stderr, "  by status:\n");
    for (size_t i = 0; i < 4; i++) {
        int64_t n = c.by_status[order[i]];
        fprintf(stderr, "    %-22s %12s  %5.1f%%\n", bc_verdict_status_name(order[i]),
                thousands(n, a, sizeof a), c.rows ? 100.0 * (double)n / (double)c.rows : 0.0);
    }
    fprintf(stderr, "  by reason:\n");
    reason_ctx rc = { c.rows };
    bk_state_reasons(j->st, print_reason, &rc);
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
                  " where it stopped, or delete the file to start over", j.state_path);
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
        int vr = o->offline ? verify_offline_all(&j) : verify_online_all(&j);
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
    for (size_t i = 0; i < j.ndom; i++)
        free(j.doms[i].name);
    free(j.doms);
    free(j.ready);
    if (j.base)
        event_base_free(j.base);
    free(j.state_path);
    free(j.out_path);
    return rc;
}
