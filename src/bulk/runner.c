/*
 * runner.c - the bulk engine (runner.h): import a list into a job's state,
 * verify its addresses offline in steps or online through a scheduler
 * shared by several jobs over one verifier, and export the rows with their
 * results. Used by `bouncecheck verify -i` (src/cli/bulk_run.c) and the
 * HTTP server's jobs.
 *
 * Online scheduling: each run hands its addresses to the verifier domain by
 * domain (largest domains first), at most per_domain of one domain in
 * flight. The window (addresses in flight over all runs) is shared round
 * robin: while other runs are waiting, one run takes at most
 * max(per_domain, window / active runs); a lone run may use all of it. A
 * greylisted address keeps its slot while it waits for its recheck. Refills
 * never run inside a verifier callback: a result only marks its domain
 * ready and activates the scheduler's refill event.
 *
 * A stopped run leaves the scheduler at once; the addresses it had in flight
 * keep a reference to it (the run is detached) and it is freed when the last
 * of their callbacks arrives, so neither the verifier nor the scheduler has
 * to know about it.
 */
#include "runner.h"
#include "recheck.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#define READ_BATCH 5000
#define COMMIT_MS 250
#define COMMIT_MAX 2000
#define WINDOW_DEFAULT 2000

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- import ------------------------------------------------------------------- */

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

/* Stores the reading settings of a new job (inside the open transaction). */
static int save_settings(bk_state *st, bk_reader *r, const char *column)
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
    bad |= bk_state_set(st, "input_format", bk_format_name(bk_reader_format(r)));
    bad |= bk_state_set(st, "delimiter", delim);
    bad |= bk_state_set_int(st, "has_header", hdr != NULL);
    bad |= bk_state_set_blob(st, "header", hblob, hlen);
    bad |= bk_state_set(st, "column", column ? column : "");
    bad |= bk_state_set_int(st, "rows_read", 0);
    bad |= bk_state_set_int(st, "read_done", 0);
    bad |= bk_state_set_int(st, "ndjson_extra", 0);
    free(hblob);
    return bad ? -1 : 0;
}

/* Commits and begins again; 0 / -1. */
static int checkpoint_tx(bk_state *st)
{
    return bk_state_commit(st) == 0 && bk_state_begin(st) == 0 ? 0 : -1;
}

int bk_import(bk_state *st, FILE *in, bool fresh, const bk_import_opts *o, bk_import_info *info, char *err,
              size_t errlen)
{
    static const bk_import_opts no_opts;
    bk_import_info dummy;
    if (!o)
        o = &no_opts;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    if (errlen)
        err[0] = '\0';
    bk_reader_opts ro = { .format = o->format, .column = o->column };
    bk_reader *r = NULL;
    if (bk_reader_open(&r, in, o->name ? o->name : "input", &ro, err, errlen) != 0)
        return BK_IMPORT_UNUSABLE;
    info->format = bk_reader_format(r);
    int rc = BK_IMPORT_DONE;
    if (bk_state_begin(st) != 0 || (fresh && save_settings(st, r, o->column) != 0))
        goto dberr;
    const char *const *hdr = NULL;
    size_t nh = bk_reader_header(r, &hdr);
    bool ndjson = info->format == BK_FMT_NDJSON;
    bool extra = bk_state_get_int(st, "ndjson_extra", 0) != 0;
    int64_t skip = bk_state_get_int(st, "rows_read", 0), idx = 0;
    bk_row row;
    char rerr[1024];
    int got;
    info->rows = skip;
    while ((got = bk_reader_next(r, &row, rerr, sizeof rerr)) == 1) {
        if (idx < skip) {
            idx++;
            continue;
        }
        if (o->max_rows > 0 && idx >= o->max_rows) {
            snprintf(err, errlen, "%s has more than %lld rows", o->name ? o->name : "the input",
                     (long long)o->max_rows);
            rc = BK_IMPORT_TOO_MANY;
            goto out;
        }
        if (row.bad_utf8 && info->bad_utf8++ == 0)
            info->first_bad_line = row.line;
        if (ndjson && !extra && row.nfields == 1 && ndjson_has_extra(row.fields[0], row.lens[0], hdr, nh)) {
            extra = true;
            if (bk_state_set_int(st, "ndjson_extra", 1) != 0)
                goto dberr;
        }
        if (bk_state_add_row(st, idx, &row, err, errlen) != 0) {
            rc = BK_IMPORT_FAILED;
            goto out;
        }
        idx++;
        info->rows = idx;
        if (idx % READ_BATCH == 0) {
            if (bk_state_set_int(st, "rows_read", idx) != 0 || checkpoint_tx(st) != 0)
                goto dberr;
            if (o->progress)
                o->progress(o->arg, idx);
        }
        if (o->stop && o->stop(o->arg)) {
            /* keep what was read, consistently with the count */
            if (bk_state_set_int(st, "rows_read", idx) != 0 || checkpoint_tx(st) != 0)
                goto dberr;
            rc = BK_IMPORT_STOPPED;
            goto out;
        }
    }
    if (got < 0) {
        /* The rows before the problem stay: they are verified and written. */
        info->input_error = true;
        snprintf(err, errlen, "%s", rerr);
        if (bk_state_set(st, "input_error", rerr) != 0)
            goto dberr;
    }
    if (bk_state_set_int(st, "rows_read", idx) != 0 || bk_state_set_int(st, "read_done", 1) != 0 ||
        checkpoint_tx(st) != 0)
        goto dberr;
    goto out;
dberr:
    snprintf(err, errlen, "cannot write the state file: %s", bk_state_error(st));
    rc = BK_IMPORT_FAILED;
out:
    if (rc == BK_IMPORT_DONE || rc == BK_IMPORT_STOPPED)
        bk_state_commit(st);
    else
        bk_state_rollback(st); /* the rows of a half batch would not match rows_read */
    info->rows = bk_state_get_int(st, "rows_read", 0);
    bk_reader_free(r);
    return rc;
}

/* ---- offline verification --------------------------------------------------------- */

typedef struct offline_ctx {
    bk_state *st;
    bc_ctx *ctx;
    bool with_json;
    int64_t *cursor;
    void (*on_result)(void *arg, const bc_result *r, int64_t nrows);
    void *arg;
    char *err;
    size_t errlen;
} offline_ctx;

static int offline_one(void *arg, const bk_pending *p)
{
    offline_ctx *oc = arg;
    bc_result *r = NULL;
    if (bc_verify_offline(oc->ctx, p->email, p->email_len, &r) != BC_OK) {
        snprintf(oc->err, oc->errlen, "out of memory");
        return -1;
    }
    if (bk_state_store_result(oc->st, p->id, r, oc->with_json) != 0) {
        snprintf(oc->err, oc->errlen, "cannot write the state file: %s", bk_state_error(oc->st));
        bc_result_free(r);
        return -1;
    }
    if (oc->on_result)
        oc->on_result(oc->arg, r, p->nrows);
    bc_result_free(r);
    *oc->cursor = p->id;
    return 0;
}

int bk_verify_offline_step(bk_state *st, bc_ctx *ctx, bool with_json, int64_t *cursor, int limit,
                           void (*on_result)(void *arg, const bc_result *r, int64_t nrows), void *arg, char *err,
                           size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (bk_state_begin(st) != 0) {
        snprintf(err, errlen, "cannot write the state file: %s", bk_state_error(st));
        return -1;
    }
    offline_ctx oc = { st, ctx, with_json, cursor, on_result, arg, err, errlen };
    int n = bk_state_pending(st, NULL, *cursor, limit > 0 ? limit : 1000, offline_one, &oc);
    if (n < 0 || err[0]) {
        if (!err[0])
            snprintf(err, errlen, "state file: %s", bk_state_error(st));
        bk_state_commit(st); /* what was stored stays */
        return -1;
    }
    if (bk_state_commit(st) != 0) {
        snprintf(err, errlen, "cannot write the state file: %s", bk_state_error(st));
        return -1;
    }
    return n;
}

/* ---- online verification ------------------------------------------------------------ */

typedef struct dom {
    char *name;
    int64_t remaining; /* waiting and not yet handed to the verifier */
    int64_t last_id;
    int inflight;
    bool queued; /* in run.ready */
} dom;

typedef struct sub {
    bk_recheck rc; /* first: the greylisting rechecks (recheck.h) */
    bk_run *run;
    int64_t id, nrows;
    size_t dom;
    size_t email_len;
    char email[]; /* the address as submitted */
} sub;

struct bk_sched {
    struct event_base *base;
    bc_verifier *v;
    const bc_verify_options *vo;
    int window, per_domain;
    int inflight; /* over every active run, rechecks included */
    bk_run *runs; /* active runs (a ring walked from rr) */
    bk_run *rr;   /* the run served first at the next refill */
    int nruns;
    struct event *refill_ev; /* activated by results: refill outside the callbacks */
    struct event *commit_ev; /* COMMIT_MS, while some run is active */
    bool commit_on;
};

struct bk_run {
    bk_sched *s;
    bk_state *st;
    bool with_json;
    bk_run_cb cb;
    dom *doms;
    size_t ndom, cap_dom, cursor;
    size_t *ready; /* domains with work that a result freed room for */
    size_t nready;
    int inflight;             /* handed to the verifier or waiting for a recheck */
    bk_recheck_list rechecks; /* addresses waiting for their greylisting recheck */
    int uncommitted;
    long last_commit;
    bool active; /* in s->runs */
    bool ended;  /* on_done or on_error fired (or is about to) */
    bool failed;
    bool stopped;         /* bk_run_stop: detached, freed by the last callback */
    int refs;             /* subs in flight while detached */
    struct event *end_ev; /* fires on_done / on_error from the loop */
    char errmsg[512];
    bk_run *next, *prev; /* in s->runs */
};

static void run_unlink(bk_run *r);
static void run_maybe_done(bk_run *r);

static void request_refill(bk_sched *s)
{
    event_active(s->refill_ev, EV_READ, 0);
}

/* Commits and begins again; on error the run fails. */
static bool run_checkpoint(bk_run *r)
{
    if (checkpoint_tx(r->st) != 0) {
        if (!r->failed)
            snprintf(r->errmsg, sizeof r->errmsg, "cannot write the state file: %s", bk_state_error(r->st));
        r->failed = true;
        return false;
    }
    r->uncommitted = 0;
    r->last_commit = now_ms();
    return true;
}

/* The run failed (errmsg set): stop feeding it and tell the owner. */
static void run_fail(bk_run *r)
{
    r->failed = true;
    if (!r->errmsg[0])
        snprintf(r->errmsg, sizeof r->errmsg, "out of memory");
    request_refill(r->s); /* ends it from the loop */
}

static void refill_cb(evutil_socket_t fd, short what, void *arg);

static void commit_cb(evutil_socket_t fd, short what, void *arg)
{
    bk_sched *s = arg;
    (void)fd;
    (void)what;
    long t = now_ms();
    bk_run *r = s->runs;
    for (int k = 0; k < s->nruns && r; k++, r = r->next)
        if (!r->failed && !r->ended && r->uncommitted && t - r->last_commit >= COMMIT_MS && !run_checkpoint(r))
            run_fail(r);
}

bk_sched *bk_sched_new(struct event_base *base, bc_verifier *v, const bk_sched_opts *o)
{
    bk_sched *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->v = v;
    s->vo = o ? o->vo : NULL;
    s->window = o && o->window > 0 ? o->window : WINDOW_DEFAULT;
    if (o && o->per_domain > 0) {
        s->per_domain = o->per_domain;
    } else {
        int conns = s->vo && s->vo->mx_connections > 0 ? s->vo->mx_connections : 2;
        int rcpts = s->vo && s->vo->rcpts_per_connection > 0 ? s->vo->rcpts_per_connection : BC_RCPTS_START;
        s->per_domain = 2 * conns * rcpts;
        if (s->per_domain < 20)
            s->per_domain = 20;
    }
    if (s->per_domain > s->window)
        s->per_domain = s->window;
    s->refill_ev = event_new(base, -1, 0, refill_cb, s);
    s->commit_ev = event_new(base, -1, EV_PERSIST, commit_cb, s);
    if (!s->refill_ev || !s->commit_ev) {
        bk_sched_free(s);
        return NULL;
    }
    return s;
}

void bk_sched_free(bk_sched *s)
{
    if (!s)
        return;
    while (s->runs) /* should not happen: runs are stopped first */
        bk_run_stop(s->runs);
    if (s->refill_ev)
        event_free(s->refill_ev);
    if (s->commit_ev)
        event_free(s->commit_ev);
    free(s);
}

int64_t bk_sched_inflight(const bk_sched *s)
{
    return s ? s->inflight : 0;
}

static void run_free_mem(bk_run *r)
{
    for (size_t i = 0; i < r->ndom; i++)
        free(r->doms[i].name);
    free(r->doms);
    free(r->ready);
    if (r->end_ev)
        event_free(r->end_ev);
    free(r);
}

static void on_result(void *arg, bc_result *res);

/* The greylisting wait is over: ask again. */
static void recheck_due(bk_recheck *rc)
{
    sub *sb = (sub *)rc;
    bk_run *r = sb->run;
    if (bc_verifier_submit(r->s->v, sb->email, sb->email_len, on_result, sb) != BC_OK) {
        snprintf(r->errmsg, sizeof r->errmsg, "out of memory");
        r->doms[sb->dom].inflight--;
        r->inflight--;
        r->s->inflight--;
        free(sb);
        run_fail(r);
    }
}

static void on_result(void *arg, bc_result *res)
{
    sub *sb = arg;
    bk_run *r = sb->run;
    if (r->stopped) { /* detached: the result is thrown away */
        bc_result_free(res);
        free(sb);
        if (--r->refs == 0)
            run_free_mem(r);
        return;
    }
    bk_sched *s = r->s;
    /* a list's results never carry a transcript, even from a verifier
     * that keeps them (the server's, for GET /v1/verify?trace=1) */
    bc_result_drop_transcript(res);
    if (!r->failed && !r->ended && bk_recheck_wait(&r->rechecks, &sb->rc, res)) {
        bc_result_free(res); /* still counted in flight */
        return;
    }
    dom *d = &r->doms[sb->dom];
    d->inflight--;
    r->inflight--;
    s->inflight--;
    if (!r->failed && !r->ended) {
        if (bk_state_store_result(r->st, sb->id, res, r->with_json) != 0) {
            snprintf(r->errmsg, sizeof r->errmsg, "cannot write the state file: %s", bk_state_error(r->st));
            run_fail(r);
        } else {
            if (r->cb.on_result)
                r->cb.on_result(r->cb.arg, res, sb->nrows);
            if ((++r->uncommitted >= COMMIT_MAX || now_ms() - r->last_commit >= COMMIT_MS) && !run_checkpoint(r))
                run_fail(r);
        }
    }
    if (d->remaining > 0 && !d->queued) {
        d->queued = true;
        r->ready[r->nready++] = sb->dom;
    }
    bc_result_free(res);
    free(sb);
    request_refill(s);
}

typedef struct submit_ctx {
    bk_run *r;
    size_t dom;
} submit_ctx;

static int submit_one(void *arg, const bk_pending *p)
{
    submit_ctx *sc = arg;
    bk_run *r = sc->r;
    dom *d = &r->doms[sc->dom];
    sub *sb = malloc(sizeof *sb + p->email_len + 1);
    if (!sb) {
        snprintf(r->errmsg, sizeof r->errmsg, "out of memory");
        return -1;
    }
    *sb = (sub){ .run = r, .id = p->id, .nrows = p->nrows, .dom = sc->dom, .email_len = p->email_len };
    memcpy(sb->email, p->email, p->email_len);
    sb->email[p->email_len] = '\0';
    d->last_id = p->id;
    d->remaining--;
    if (bc_verifier_submit(r->s->v, p->email, p->email_len, on_result, sb) != BC_OK) {
        free(sb);
        snprintf(r->errmsg, sizeof r->errmsg, "out of memory");
        return -1;
    }
    d->inflight++;
    r->inflight++;
    r->s->inflight++;
    return 0;
}

/* What run r may still put in flight: a lone run the whole window, else
 * its fair share (at least one domain's worth). */
static int run_room(const bk_run *r)
{
    const bk_sched *s = r->s;
    int room = s->window - s->inflight;
    if (s->nruns > 1) {
        int share = s->window / s->nruns;
        if (share < s->per_domain)
            share = s->per_domain;
        if (share - r->inflight < room)
            room = share - r->inflight;
    }
    return room;
}

/* Hands domain `i` as many addresses as its share allows. Returns false
 * when the run had no room left for it (the domain still wants more). */
static bool feed(bk_run *r, size_t i)
{
    dom *d = &r->doms[i];
    int cap = d->name[0] ? r->s->per_domain : r->s->window; /* unparsable cells need no server */
    int want = cap - d->inflight;
    int room = run_room(r);
    bool limited = false;
    if (want > room) {
        want = room;
        limited = true;
    }
    if (want <= 0 || d->remaining <= 0)
        return !(limited && d->remaining > 0 && d->inflight < cap);
    submit_ctx sc = { r, i };
    int n = bk_state_pending(r->st, d->name, d->last_id, want, submit_one, &sc);
    if (n < 0 || r->errmsg[0]) {
        if (!r->errmsg[0])
            snprintf(r->errmsg, sizeof r->errmsg, "state file: %s", bk_state_error(r->st));
        r->failed = true;
    } else if (n < want) {
        d->remaining = 0; /* the count was stale (cannot happen; be safe) */
    }
    return !(limited && d->remaining > 0);
}

/* Keeps one run's share busy: domains that have room first, then new ones.
 * Domains left without room stay ready for the next turn. */
static void run_refill(bk_run *r)
{
    size_t n = r->nready, kept = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = r->ready[k];
        if (r->failed || !feed(r, i)) {
            r->ready[kept++] = i; /* still queued */
        } else {
            r->doms[i].queued = false;
        }
    }
    r->nready = kept;
    while (!r->failed && run_room(r) > 0 && r->cursor < r->ndom) {
        size_t i = r->cursor++;
        if (!feed(r, i) && !r->doms[i].queued) {
            r->doms[i].queued = true;
            r->ready[r->nready++] = i;
        }
    }
}

/* Nothing left to hand out, in flight or waiting. */
static bool run_finished(const bk_run *r)
{
    return r->inflight == 0 && r->nready == 0 && r->cursor >= r->ndom;
}

static void end_cb(evutil_socket_t fd, short what, void *arg)
{
    bk_run *r = arg;
    (void)fd;
    (void)what;
    if (r->stopped)
        return;
    if (r->failed) {
        if (r->cb.on_error)
            r->cb.on_error(r->cb.arg, r->errmsg);
    } else if (r->cb.on_done) {
        r->cb.on_done(r->cb.arg);
    }
}

/* Ends the run when it failed or has nothing left: commits, leaves the
 * scheduler and fires on_done / on_error from the loop. */
static void run_maybe_done(bk_run *r)
{
    if (r->ended || r->stopped || (!r->failed && !run_finished(r)))
        return;
    r->ended = true;
    if (r->failed) {
        bk_state_commit(r->st); /* what was stored stays, when possible */
    } else if (bk_state_commit(r->st) != 0) {
        snprintf(r->errmsg, sizeof r->errmsg, "cannot write the state file: %s", bk_state_error(r->st));
        r->failed = true;
    }
    r->uncommitted = 0;
    /* Rechecks waiting are dropped; addresses in flight stay referenced by the
     * run, which keeps its slots counted until bk_run_stop. */
    for (bk_recheck *rc; (rc = bk_recheck_pop(&r->rechecks)) != NULL;) {
        free(rc); /* the sub it begins */
        r->inflight--;
        r->s->inflight--;
    }
    event_active(r->end_ev, EV_READ, 0);
}

static void refill_cb(evutil_socket_t fd, short what, void *arg)
{
    bk_sched *s = arg;
    (void)fd;
    (void)what;
    int n = s->nruns;
    bk_run *r = s->rr;
    for (int k = 0; k < n && r; k++) {
        bk_run *next = r->next;
        if (!r->failed && !r->ended)
            run_refill(r);
        run_maybe_done(r);
        r = next;
    }
    if (s->rr)
        s->rr = s->rr->next; /* the next one goes first next time */
    /* Ended runs with nothing in flight leave the ring: the others get
     * their share. */
    n = s->nruns;
    r = s->runs;
    for (int k = 0; k < n && r; k++) {
        bk_run *next = r->next;
        if (r->ended && r->inflight == 0)
            run_unlink(r);
        r = next;
    }
}

static int add_dom(void *arg, const char *domain, int64_t count)
{
    bk_run *r = arg;
    if (r->ndom == r->cap_dom) {
        size_t cap = r->cap_dom ? r->cap_dom * 2 : 256;
        dom *nd = realloc(r->doms, cap * sizeof *nd);
        if (!nd)
            return -1;
        r->doms = nd;
        r->cap_dom = cap;
    }
    char *name = strdup(domain ? domain : "");
    if (!name)
        return -1;
    r->doms[r->ndom++] = (dom){ .name = name, .remaining = count };
    return 0;
}

/* Takes r out of the scheduler's ring. */
static void run_unlink(bk_run *r)
{
    bk_sched *s = r->s;
    if (!r->active)
        return;
    r->active = false;
    if (r->next == r) {
        s->runs = s->rr = NULL;
    } else {
        r->prev->next = r->next;
        r->next->prev = r->prev;
        if (s->runs == r)
            s->runs = r->next;
        if (s->rr == r)
            s->rr = r->next;
    }
    r->next = r->prev = NULL;
    s->nruns--;
    if (s->nruns == 0 && s->commit_on) {
        event_del(s->commit_ev);
        s->commit_on = false;
    }
    if (s->nruns > 0)
        request_refill(s); /* the others get its share */
}

bk_run *bk_run_start(bk_sched *s, bk_state *st, bool with_json, const bk_run_cb *cb, char *err, size_t errlen)
{
    bk_run *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->s = s;
    r->st = st;
    r->with_json = with_json;
    r->rechecks = (bk_recheck_list){ .base = s->base, .vo = s->vo, .due = recheck_due };
    if (cb)
        r->cb = *cb;
    if (bk_state_pending_domains(st, add_dom, r) != 0) {
        snprintf(err, errlen, "state file: %s", bk_state_error(st));
        run_free_mem(r);
        return NULL;
    }
    r->ready = calloc(r->ndom ? r->ndom : 1, sizeof *r->ready);
    r->end_ev = event_new(s->base, -1, 0, end_cb, r);
    if (!r->ready || !r->end_ev) {
        snprintf(err, errlen, "out of memory");
        run_free_mem(r);
        return NULL;
    }
    if (bk_state_begin(st) != 0) {
        snprintf(err, errlen, "cannot write the state file: %s", bk_state_error(st));
        run_free_mem(r);
        return NULL;
    }
    if (!s->commit_on) {
        struct timeval tv = { 0, COMMIT_MS * 1000 };
        if (event_add(s->commit_ev, &tv) != 0) {
            snprintf(err, errlen, "cannot start the event loop");
            bk_state_commit(st);
            run_free_mem(r);
            return NULL;
        }
        s->commit_on = true;
    }
    r->last_commit = now_ms();
    r->active = true;
    if (s->runs) {
        r->next = s->runs;
        r->prev = s->runs->prev;
        r->prev->next = r;
        s->runs->prev = r;
    } else {
        r->next = r->prev = r;
        s->runs = s->rr = r;
    }
    s->nruns++;
    request_refill(s);
    return r;
}

void bk_run_stop(bk_run *r)
{
    if (!r)
        return;
    bk_sched *s = r->s;
    /* these stay without a result (a resumed job asks them) */
    for (bk_recheck *rc; (rc = bk_recheck_pop(&r->rechecks)) != NULL;) {
        free(rc); /* the sub it begins */
        r->inflight--;
    }
    if (!r->ended)
        bk_state_commit(r->st);
    run_unlink(r);
    s->inflight -= r->inflight; /* their callbacks no longer reach the scheduler */
    if (r->end_ev) {
        event_free(r->end_ev);
        r->end_ev = NULL;
    }
    r->stopped = true;
    r->refs = r->inflight;
    if (r->refs == 0)
        run_free_mem(r);
}

/* ---- export ------------------------------------------------------------------------ */

bk_format bk_export_default_format(bk_state *st)
{
    char *infmt = bk_state_get(st, "input_format", NULL);
    bk_format f = BK_FMT_CSV;
    if (!infmt || !bk_format_parse(infmt, &f))
        f = BK_FMT_CSV;
    free(infmt);
    return f == BK_FMT_NDJSON ? BK_FMT_NDJSON : f == BK_FMT_TSV ? BK_FMT_TSV : BK_FMT_CSV;
}

typedef struct write_ctx {
    bk_writer *w;
    bk_row_keep keep;
    void *keep_arg;
} write_ctx;

static int write_one(void *arg, const bk_out_row *row)
{
    write_ctx *wc = arg;
    if (wc->keep && !wc->keep(wc->keep_arg, &row->res))
        return 0;
    return bk_writer_row(wc->w, row->fields, row->lens, row->nfields, row->line, row->email, row->email_len,
                         &row->res) == 0
               ? 0
               : 1;
}

int bk_export(bk_state *st, FILE *out, bk_format fmt, char *err, size_t errlen)
{
    return bk_export_rows(st, out, fmt, NULL, NULL, err, errlen);
}

int bk_export_rows(bk_state *st, FILE *out, bk_format fmt, bk_row_keep keep, void *keep_arg, char *err,
                   size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    size_t hlen = 0;
    char *hblob = bk_state_get(st, "header", &hlen);
    char *infmt = bk_state_get(st, "input_format", NULL);
    char *delim = bk_state_get(st, "delimiter", NULL);
    const char **hdr = NULL;
    size_t *hlens = NULL, nh = 0;
    bool has_header = bk_state_get_int(st, "has_header", 0) != 0;
    bk_format inf = BK_FMT_CSV;
    int rc = 0;
    if (!hblob || !infmt || !delim || !bk_format_parse(infmt, &inf) ||
        bk_fields_unpack(hblob, hlen, &hdr, &hlens, &nh) != 0) {
        snprintf(err, errlen, "the state file is damaged (no header record)");
        rc = -1;
        goto out;
    }
    bk_writer_opts wo = {
        .format = fmt,
        .input_format = inf,
        .input_delimiter = delim[0],
        .header = has_header ? hdr : NULL,
        .nheader = has_header ? nh : 0,
        .ndjson_extra = bk_state_get_int(st, "ndjson_extra", 0) != 0,
        .formula_escape = true,
    };
    write_ctx wc = { bk_writer_new(out, &wo), keep, keep_arg };
    int64_t missing = 0;
    int wr = wc.w ? bk_state_rows(st, write_one, &wc, &missing) : -1;
    if (wr == 0 && missing > 0) {
        snprintf(err, errlen, "internal error: %lld rows have no result", (long long)missing);
        wr = -1;
    }
    if (wr != 0) {
        bk_writer_free(wc.w);
        if (!err[0])
            snprintf(err, errlen, "cannot write the output: %s", wr < 0 ? bk_state_error(st) : strerror(errno));
        rc = -1;
    } else if (bk_writer_finish(wc.w) != 0) {
        snprintf(err, errlen, "cannot write the output: %s", strerror(errno));
        rc = -1;
    }
out:
    free(hblob);
    free(infmt);
    free(delim);
    free(hdr);
    return rc;
}
