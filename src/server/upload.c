/*
 * upload.c - the bodies of POST /v1/jobs and POST /v1/jobs/preview: a list
 * as CSV, TSV, text, NDJSON, a workbook, a JSON list {"emails": [...]}
 * (converted to a one-column CSV) or a multipart/form-data upload (part
 * "file", through MHD's post processor), spooled to a file; then, on the io
 * worker, imported into a new job or read for a preview. Also the spool
 * files that other uploads (/v1/extract) use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csv.h>
#include <curl/curl.h>

#include "api.h"
#include "runner.h"
#include "state.h"

#define FIELD_MAX 2048    /* multipart text parts */
#define PREVIEW_SAMPLE 10 /* data rows shown by /v1/jobs/preview */

typedef struct upload {
    api_spool sp;
    bool preview; /* POST /v1/jobs/preview: read, nothing created */
    bool json_list, multipart, file_part;
    bool partial;      /* preview: ?partial=1 */
    bool column_given; /* preview: the caller named the column */
    struct MHD_PostProcessor *pp;
    bool dir_made, job_created; /* DATA/jobs/ID, and whether the job came of it */
    char webhook[FIELD_MAX], column[256], name[256];
    bool field_too_long;
} upload;

/* ---- spool files ---------------------------------------------------------------------- */

enum MHD_Result api_spool_temp(hreq *r, api_spool *sp, const char *prefix, const char *mode)
{
    sv_fmt(sp->path, sizeof sp->path, "%s/%s-XXXXXX", r->s->jobs_dir, prefix);
    int fd = mkstemp(sp->path);
    if (fd < 0 || !(sp->f = fdopen(fd, mode))) {
        if (fd >= 0)
            close(fd);
        wk_log("cannot create %s: %s", sp->path, strerror(errno));
        return api_fail(r, 500, "internal", "the upload cannot be stored");
    }
    sp->temp = true;
    return MHD_YES;
}

bool api_spool_write(hreq *r, api_spool *sp, const char *data, size_t len)
{
    sp->got += (int64_t)len;
    if (sp->got > r->s->o->max_body) {
        api_fail_later(r, 413, "payload_too_large", "the body is larger than %lld bytes (--max-body)",
                       (long long)r->s->o->max_body);
        return false;
    }
    if (sp->in_memory)
        return api_buf_append(r, data, len);
    if (len && fwrite(data, 1, len, sp->f) != len) {
        wk_log("upload: cannot write %s: %s", sp->path, strerror(errno));
        api_fail_later(r, 500, "internal", "the upload cannot be stored");
        return false;
    }
    return true;
}

int api_spool_close(api_spool *sp)
{
    int rc = fclose(sp->f);
    sp->f = NULL;
    return rc == 0 ? 0 : -1;
}

void api_spool_free(api_spool *sp)
{
    if (sp->f)
        fclose(sp->f);
    sp->f = NULL;
    if (sp->temp)
        unlink(sp->path);
}

/* ---- the request ----------------------------------------------------------------------- */

static bool valid_webhook(const char *url)
{
    if (!url[0] || strlen(url) >= FIELD_MAX)
        return false;
    CURLU *u = curl_url();
    bool ok = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        char *scheme = NULL, *host = NULL;
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
            ok = (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0) && host[0];
        curl_free(scheme);
        curl_free(host);
    }
    curl_url_cleanup(u);
    return ok;
}

/* "text/csv; charset=utf-8" -> "text/csv" into out. */
static void media_type(const char *ct, char *out, size_t size)
{
    size_t n = 0;
    if (ct) {
        while (*ct == ' ')
            ct++;
        while (ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < size) {
            out[n] = (char)((ct[n] >= 'A' && ct[n] <= 'Z') ? ct[n] + 32 : ct[n]);
            n++;
        }
    }
    out[n] = '\0';
}

static void copy_field(upload *u, char *dst, size_t size, const char *data, size_t n)
{
    size_t used = strlen(dst);
    if (used + n >= size) {
        u->field_too_long = true;
        return;
    }
    memcpy(dst + used, data, n);
    dst[used + n] = '\0';
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                 const char *content_type, const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size)
{
    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    hreq *r = cls;
    upload *u = r->st;
    if (r->discard)
        return MHD_YES;
    if (strcmp(key, "file") == 0) {
        /* One list per job: a second "file" part (its data starts again
         * at offset 0) is refused, never appended to the first. */
        if (off == 0 && u->file_part) {
            api_fail_later(r, 400, "bad_request",
                           "the multipart body has more than one part named \"file\": upload one list per job");
            return MHD_YES;
        }
        u->file_part = true;
        if (size)
            api_spool_write(r, &u->sp, data, size);
    } else if (strcmp(key, "webhook") == 0) {
        copy_field(u, u->webhook, sizeof u->webhook, data, size);
    } else if (strcmp(key, "column") == 0) {
        copy_field(u, u->column, sizeof u->column, data, size);
    } else if (strcmp(key, "name") == 0) {
        copy_field(u, u->name, sizeof u->name, data, size);
    }
    return MHD_YES;
}

static enum MHD_Result upload_begin(hreq *r, bool preview)
{
    sv *s = r->s;
    upload *u = api_state(r, sizeof *u);
    if (!u)
        return api_fail(r, 500, "internal", "out of memory");
    u->preview = preview;
    char mt[64];
    media_type(api_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), mt, sizeof mt);
    if (strcmp(mt, "multipart/form-data") == 0)
        u->multipart = true;
    else if (strcmp(mt, "application/json") == 0)
        u->json_list = u->sp.in_memory = true;
    else if (strcmp(mt, "text/csv") != 0 && strcmp(mt, "text/plain") != 0 &&
             strcmp(mt, "text/tab-separated-values") != 0 && strcmp(mt, "application/x-ndjson") != 0)
        return api_fail(r, 415, "unsupported_media_type",
                        "send the list as text/csv, text/tab-separated-values, text/plain, application/x-ndjson,"
                        " application/json {\"emails\": [...]} or a multipart/form-data upload (part \"file\")");
    if (api_too_long(r, s->o->max_body))
        return api_fail(r, 413, "payload_too_large", "the body is larger than %lld bytes (--max-body)",
                        (long long)s->o->max_body);
    if (atomic_load(&s->stopping))
        return api_fail(r, 503, "unavailable", "the server is shutting down");
    const char *q;
    if ((q = api_arg(r, "webhook")) != NULL)
        sv_fmt(u->webhook, sizeof u->webhook, "%s", q);
    if ((q = api_arg(r, "column")) != NULL)
        sv_fmt(u->column, sizeof u->column, "%s", q);
    if ((q = api_arg(r, "name")) != NULL)
        sv_fmt(u->name, sizeof u->name, "%s", q);
    if (u->multipart) {
        u->pp = MHD_create_post_processor(r->conn, 64 * 1024, post_iter, r);
        if (!u->pp)
            return api_fail(r, 400, "bad_request", "the multipart body has no boundary");
    }
    if (preview) {
        if (!api_bool_arg(r, "partial", &u->partial))
            return api_fail(r, 400, "bad_request", "partial must be 1 (true) or 0 (false)");
        return api_spool_temp(r, &u->sp, "preview", "w+b");
    }
    if (st_job_new_id(r->id) != 0)
        return api_fail(r, 500, "internal", "no random job id");
    char dir[PATH_MAX];
    sv_job_dir(s, r->id, dir, sizeof dir);
    if (mkdir(dir, 0700) != 0) {
        wk_log("cannot create %s: %s", dir, strerror(errno));
        return api_fail(r, 500, "internal", "the upload cannot be stored");
    }
    u->dir_made = true;
    sv_fmt(u->sp.path, sizeof u->sp.path, "%s/upload", dir);
    u->sp.f = fopen(u->sp.path, "wb");
    if (!u->sp.f) {
        wk_log("cannot create %s: %s", u->sp.path, strerror(errno));
        return api_fail(r, 500, "internal", "the upload cannot be stored");
    }
    return MHD_YES;
}

enum MHD_Result api_upload_begin(hreq *r)
{
    return upload_begin(r, false);
}

enum MHD_Result api_preview_begin(hreq *r)
{
    return upload_begin(r, true);
}

void api_upload_chunk(hreq *r, const char *data, size_t len)
{
    upload *u = r->st;
    if (u->pp) {
        if (MHD_post_process(u->pp, data, len) != MHD_YES)
            api_fail_later(r, 400, "bad_request", "the multipart body cannot be parsed");
    } else {
        api_spool_write(r, &u->sp, data, len);
    }
}

void api_upload_done(hreq *r)
{
    upload *u = r->st;
    if (!u)
        return;
    if (u->pp)
        MHD_destroy_post_processor(u->pp);
    api_spool_free(&u->sp);
    if (u->dir_made && !u->job_created)
        sv_job_rmdir(r->s, r->id);
}

/* A JSON list body {"emails": [...]} becomes a one-column CSV upload. */
static bool json_list_to_csv(hreq *r, upload *u)
{
    char err[512];
    json_t *o = sv_body_json(r->buf, r->len, err, sizeof err);
    bool ok = false;
    if (!o) {
        sv_req_answer_error(r, 400, "bad_request", "%s", err);
        return false;
    }
    FILE *f = u->sp.f;
    sv_list_body b;
    if (sv_read_list_body(o, &b, err, sizeof err) != 0) {
        sv_req_answer_error(r, 400, "bad_request", "%s", err);
    } else {
        if (b.webhook)
            sv_fmt(u->webhook, sizeof u->webhook, "%s", b.webhook);
        if (b.name)
            sv_fmt(u->name, sizeof u->name, "%s", b.name);
        size_t i;
        const json_t *e;
        ok = fputs("email\n", f) >= 0;
        json_array_foreach(b.emails, i, e) {
            if (csv_fwrite(f, json_string_value(e), json_string_length(e)) != 0 || fputc('\n', f) == EOF) {
                sv_req_answer_error(r, 500, "internal", "the upload cannot be stored");
                ok = false;
                break;
            }
        }
        sv_fmt(u->column, sizeof u->column, "email");
    }
    json_decref(o);
    return ok;
}

/* ---- POST /v1/jobs: the import -------------------------------------------------------- */

/* On the io worker: reads the upload into the job's state, then creates
 * the job (or says what is wrong with the list). */
static void import_task(void *arg)
{
    hreq *r = arg;
    upload *u = r->st;
    sv *s = r->s;
    char state[PATH_MAX], err[1024] = "", conv[PATH_MAX + 8];
    sv_job_state_path(s, r->id, state, sizeof state);
    sv_fmt(conv, sizeof conv, "%s.csv", u->sp.path);
    FILE *in = fopen(u->sp.path, "rb");
    if (!in) {
        sv_req_answer_error(r, 500, "internal", "the upload cannot be read");
        sv_req_resume(r);
        return;
    }
    unsigned char magic[4] = { 0 };
    size_t nm = fread(magic, 1, sizeof magic, in);
    rewind(in);
    if (nm == 4 && memcmp(magic, "PK\x03\x04", 4) == 0) {
        FILE *out = fopen(conv, "wb");
        int xr = out ? bk_xlsx_to_csv(in, out, "the upload", err, sizeof err) : -1;
        if (out && fclose(out) != 0)
            xr = -1;
        fclose(in);
        in = xr == 0 ? fopen(conv, "rb") : NULL;
        if (!in) {
            sv_req_answer_error(r, 400, "bad_request", "%s", err[0] ? err : "the spreadsheet cannot be read");
            sv_req_resume(r);
            return;
        }
    }
    bk_state *st = NULL;
    if (bk_state_open(&st, state, err, sizeof err) != 0) {
        fclose(in);
        wk_log("job %s: %s", r->id, err);
        sv_req_answer_error(r, 500, "internal", "the job's state cannot be created");
        sv_req_resume(r);
        return;
    }
    /* a JSON list was written as a one-column CSV (quoted by libcsv) */
    bk_import_opts io = { .format = u->json_list ? BK_FMT_CSV : BK_FMT_AUTO,
                          .column = u->column[0] ? u->column : NULL,
                          .name = "the list",
                          .max_rows = s->o->max_rows };
    bk_import_info info = { 0 };
    int rc = bk_import(st, in, true, &io, &info, err, sizeof err);
    fclose(in);
    bk_state_close(st);
    unlink(conv);
    if (rc == BK_IMPORT_DONE && info.input_error) {
        sv_req_answer_error(r, 400, "bad_request", "%s", err);
    } else if (rc == BK_IMPORT_UNUSABLE) {
        sv_req_answer_error(r, 400, "bad_request", "%s", err);
    } else if (rc == BK_IMPORT_TOO_MANY) {
        sv_req_answer_error(r, 413, "payload_too_large", "the list has more than %lld rows (--max-rows)",
                            (long long)s->o->max_rows);
    } else if (rc != BK_IMPORT_DONE) {
        wk_log("job %s: import: %s", r->id, err);
        sv_req_answer_error(r, 500, "internal", "the list cannot be stored");
    } else if (info.rows == 0) {
        sv_req_answer_error(r, 400, "bad_request", "the list has no rows");
    } else if (api_quota(r, info.rows) > 0) {
        sv_req_answer_error(r, 429, "quota_exceeded",
                            "the list has %lld rows and the daily quota of this key (%lld) does not cover them",
                            (long long)info.rows, (long long)r->key.daily);
    } else {
        st_job j = { .status = ST_JOB_QUEUED,
                     .total = info.rows,
                     .created_at = wk_now(),
                     .name = u->name[0] ? u->name : NULL,
                     .webhook = u->webhook[0] ? u->webhook : NULL };
        memcpy(j.id, r->id, sizeof j.id);
        sv_fmt(j.key_id, sizeof j.key_id, "%s", r->key.id);
        sv_fmt(j.format, sizeof j.format, "%s", bk_format_name(info.format));
        /* over PostgreSQL the state goes into the database first: once the
         * job exists, any server can coordinate it and answer for it, and
         * nothing acknowledged lives only on this one */
        if (s->pg_jobs && sv_job_store(s, r->id, err, sizeof err) != 0) {
            wk_log("job %s: cannot store its state in the database: %s", r->id, err);
            sv_req_answer_error(r, 500, "internal", "the upload cannot be stored");
        } else if (st_job_insert(s->store, &j) != 0) {
            wk_log("job %s: cannot add it to the catalogue: %s", r->id, st_store_error(s->store));
            sv_req_answer_error(r, 500, "internal", "the job cannot be created");
        } else {
            u->job_created = true;
            unlink(u->sp.path);
            if (info.bad_utf8)
                wk_log("job %s: %lu rows with invalid UTF-8 (first at line %lu)", r->id, info.bad_utf8,
                       info.first_bad_line);
            wk_log("job %s: %lld rows queued", r->id, (long long)info.rows);
            api_set_header(r, "Location", "/v1/jobs/%s", r->id);
            api_answer_obj(r, 201,
                           json_pack("{s:s,s:s,s:I}", "id", r->id, "status", "queued", "total",
                                     (json_int_t)info.rows));
            sv_msg *m = calloc(1, sizeof *m);
            if (m) {
                m->kind = SV_MSG_JOBS;
                if (!sv_engine_post(s, m))
                    free(m); /* stopping: the job starts with the next run */
            }
        }
    }
    sv_req_resume(r);
}

/* ---- POST /v1/jobs/preview ---------------------------------------------------------------- */

/* The preview takes the bodies of POST /v1/jobs (same limits) into a
 * temporary file and, on the io worker, reads it with the bulk reader the
 * import uses: format, header, email column, the first rows and a row
 * count. Nothing is created. */

/* One NDJSON line as cells in the order of keys: strings as they are,
 * other values as JSON, missing keys as "". */
static json_t *ndjson_cells(const char *line, size_t n, const char *const *keys, size_t nkeys)
{
    json_t *row = json_array();
    json_t *o = json_loadb(line, n, 0, NULL);
    for (size_t i = 0; i < nkeys; i++) {
        json_t *v = json_is_object(o) ? json_object_get(o, keys[i]) : NULL;
        if (json_is_string(v)) {
            json_array_append_new(row, api_cell_json(json_string_value(v), json_string_length(v)));
        } else if (v && !json_is_null(v)) {
            char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            json_array_append_new(row, json_string(t ? t : ""));
            free(t);
        } else {
            json_array_append_new(row, json_string(""));
        }
    }
    json_decref(o);
    return row;
}

/* partial=1: the body is the start of a bigger file; cuts it after its
 * last line end (the last line may be cut in the middle). 0 / -1. */
static int cut_last_line(FILE *f)
{
    char buf[4096];
    if (fseeko(f, 0, SEEK_END) != 0)
        return -1;
    off_t end = ftello(f), pos = end;
    while (pos > 0) {
        size_t n = pos >= (off_t)sizeof buf ? sizeof buf : (size_t)pos;
        pos -= (off_t)n;
        if (fseeko(f, pos, SEEK_SET) != 0 || fread(buf, 1, n, f) != n)
            return -1;
        for (size_t i = n; i > 0; i--)
            if (buf[i - 1] == '\n') {
                off_t keep = pos + (off_t)i;
                fflush(f);
                return keep == end ? 0 : ftruncate(fileno(f), keep);
            }
    }
    fflush(f);
    return ftruncate(fileno(f), 0);
}

/* On the io worker: reads the upload (bounded by --max-body) and answers. */
static void preview_task(void *arg)
{
    hreq *r = arg;
    upload *u = r->st;
    char err[1024] = "";
    FILE *in = fopen(u->sp.path, "r+b");
    if (!in) {
        sv_req_answer_error(r, 500, "internal", "the upload cannot be read");
        sv_req_resume(r);
        return;
    }
    unsigned char magic[4] = { 0 };
    size_t nm = fread(magic, 1, sizeof magic, in);
    bool xlsx = nm == 4 && memcmp(magic, "PK\x03\x04", 4) == 0;
    bool cut = u->partial && !xlsx; /* a workbook is only readable whole */
    if ((cut && cut_last_line(in) != 0) || fseeko(in, 0, SEEK_SET) != 0) {
        fclose(in);
        sv_req_answer_error(r, 500, "internal", "the upload cannot be read");
        sv_req_resume(r);
        return;
    }
    bk_reader_opts ro = { .format = u->json_list ? BK_FMT_CSV : BK_FMT_AUTO,
                          .column = u->column[0] ? u->column : NULL,
                          .column_optional = true };
    bk_reader *rd = NULL;
    if (bk_reader_open(&rd, in, "the list", &ro, err, sizeof err) != 0) {
        fclose(in);
        sv_req_answer_error(r, 400, "bad_request", "%s", err[0] ? err : "the list cannot be read");
        sv_req_resume(r);
        return;
    }
    bk_format fmt = bk_reader_format(rd);
    const char *const *hdr = NULL;
    size_t nh = bk_reader_header(rd, &hdr);
    long col = bk_reader_email_column(rd);
    if (fmt == BK_FMT_NDJSON) {
        const char *key = bk_reader_email_key(rd);
        col = -1;
        for (size_t i = 0; key && i < nh; i++)
            if (strcmp(hdr[i], key) == 0)
                col = (long)i;
    }
    json_t *sample = json_array();
    int64_t rows = 0;
    size_t width = nh;
    bk_row row;
    int g;
    while ((g = bk_reader_next(rd, &row, err, sizeof err)) == 1) {
        rows++;
        if (fmt != BK_FMT_NDJSON && row.nfields > width)
            width = row.nfields;
        if (json_array_size(sample) >= PREVIEW_SAMPLE)
            continue;
        json_t *cells;
        if (fmt == BK_FMT_NDJSON) {
            cells = ndjson_cells(row.fields[0], row.lens[0], hdr, nh);
        } else {
            cells = json_array();
            for (size_t i = 0; i < row.nfields; i++)
                json_array_append_new(cells, api_cell_json(row.fields[i], row.lens[i]));
        }
        json_array_append_new(sample, cells);
    }
    if (g < 0 && !cut) {
        json_decref(sample);
        bk_reader_free(rd);
        fclose(in);
        sv_req_answer_error(r, 400, "bad_request", "%s", err);
        sv_req_resume(r);
        return;
    }
    /* g < 0 with partial=1: a quoted field the cut left open; the rows before it stand */
    json_t *columns = json_array();
    for (size_t i = 0; i < width; i++) {
        if (i < nh) {
            json_array_append_new(columns, api_cell_json(hdr[i], strlen(hdr[i])));
        } else {
            char num[24];
            sv_fmt(num, sizeof num, "%zu", i + 1);
            json_array_append_new(columns, json_string(num));
        }
    }
    if (col >= 0 && width == 0) {
        json_array_append_new(columns, json_string("1"));
        width = 1;
    }
    json_t *cname = col >= 0 && (size_t)col < nh ? api_cell_json(hdr[col], strlen(hdr[col])) : json_null();
    api_answer_obj(r, 200,
                   json_pack("{s:s,s:b,s:o,s:o,s:o,s:b,s:o,s:I,s:b}", "format",
                             xlsx ? "xlsx" : bk_format_name(fmt), "has_header", nh > 0, "columns", columns,
                             "column", col >= 0 ? json_integer(col + 1) : json_null(), "column_name", cname,
                             "detected", col >= 0 && !u->column_given, "sample", sample, "rows", (json_int_t)rows,
                             "partial", cut));
    bk_reader_free(rd);
    fclose(in);
    sv_req_resume(r);
}

/* ---- the end of the body ------------------------------------------------------------------ */

enum MHD_Result api_upload_end(hreq *r)
{
    upload *u = r->st;
    if (u->pp) {
        MHD_destroy_post_processor(u->pp);
        u->pp = NULL;
    }
    if (r->discard)
        return api_send(r);
    if (u->multipart && !u->file_part)
        return api_fail(r, 400, "bad_request", "the multipart body has no part named \"file\"");
    if (u->field_too_long)
        return api_fail(r, 400, "bad_request", "a form field (webhook, column or name) is too long");
    u->column_given = u->column[0] != '\0' && !u->json_list;
    if (u->json_list && !json_list_to_csv(r, u))
        return api_send(r);
    if (!u->preview && u->webhook[0] && !valid_webhook(u->webhook))
        return api_fail(r, 400, "bad_request", "the webhook must be an http:// or https:// URL");
    if (api_spool_close(&u->sp) != 0)
        return api_fail(r, 500, "internal", "the upload cannot be stored");
    if (u->sp.got == 0 && !u->json_list)
        return api_fail(r, 400, "bad_request", "the list is empty");
    api_run_on(r, r->s->io, u->preview ? preview_task : import_task, r);
    return MHD_YES;
}
