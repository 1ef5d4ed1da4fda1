/*
 * mta_sts.c - the MTA-STS section of the domain health check (RFC 8461,
 * health.h): the _mta-sts TXT record, the policy file fetched over HTTPS
 * the way a sending MTA would (certificate verified, no redirects,
 * text/plain, at most 64 KiB), and the MX hosts matched against the
 * policy's mx patterns. The parsers are open to the unit tests through
 * mta_sts.h; what this section shares with TLS-RPT (tls_rpt.c) and BIMI
 * (bimi.c) is txt_record.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/netsafe.h"
#include "health/mta_sts.h"
#include "health/txt_record.h"

_Static_assert(sizeof(((bc_sts_fetch *)0)->error) >= CURL_ERROR_SIZE, "bc_sts_fetch.error too small");

#define STS_DEFAULT_TIMEOUT_MS 10000L
#define STS_MIN_ENFORCE_AGE 86400L /* a day: shorter enforce policies protect little */

/* ---------------------------------------------------------------------------
 * MTA-STS record and policy
 * ------------------------------------------------------------------------- */

bool bc_mta_sts_parse_record(const char *text, char id[33], char *err, size_t errlen)
{
    id[0] = '\0';
    char *buf;
    bc_txt_kv t[BC_TXT_KV_MAX];
    size_t n;
    bool ok = bc_txt_kv_record(text, "STSv1", &buf, t, &n, err, errlen);
    for (size_t i = 1; ok && i < n; i++) {
        if (strcmp(t[i].name, "id") == 0)
            continue;
        if (!bc_txt_ext_value_ok(t[i].value)) {
            bc_txt_seterr(err, errlen, "the field '%s' has an empty or invalid value", t[i].name);
            ok = false;
        }
    }
    const char *v = ok ? bc_txt_kv_get(t, n, "id") : NULL;
    if (ok && !v) {
        bc_txt_seterr(err, errlen, "the id field is missing");
        ok = false;
    }
    if (ok) {
        size_t len = strlen(v);
        bool good = len >= 1 && len <= 32;
        for (size_t i = 0; good && i < len; i++)
            good = isalnum((unsigned char)v[i]) != 0;
        if (!good) {
            bc_txt_seterr(err, errlen, "id '%s' is not 1 to 32 letters and digits", v);
            ok = false;
        } else {
            memcpy(id, v, len + 1);
        }
    }
    free(buf);
    return ok;
}

/* An mx pattern: a host name, or "*." and a host name. */
static bool mx_pattern_ok(const char *p)
{
    if (strncmp(p, "*.", 2) == 0)
        p += 2;
    return bc_txt_host_ok(p);
}

/* Handles one "key: value" line of a policy (line is changed in place). */
static bool policy_line(char *line, bc_sts_policy *out, bool seen[3], char *err, size_t errlen)
{
    char *colon = strchr(line, ':');
    if (!colon) {
        bc_txt_seterr(err, errlen, "the line '%.80s' is not 'key: value'", line);
        return false;
    }
    *colon = '\0';
    char *key = bc_txt_trim(line), *value = bc_txt_trim(colon + 1);
    if (strcmp(key, "version") == 0) {
        if (seen[0]) {
            out->duplicate_field = true;
            return true;
        }
        seen[0] = true;
        bc_txt_copy(out->version, sizeof out->version, value);
        if (strcmp(value, "STSv1") != 0) {
            bc_txt_seterr(err, errlen, "version is '%.40s', not STSv1", value);
            return false;
        }
    } else if (strcmp(key, "mode") == 0) {
        if (seen[1]) {
            out->duplicate_field = true;
            return true;
        }
        seen[1] = true;
        bc_txt_copy(out->mode, sizeof out->mode, value);
        if (strcmp(value, "enforce") != 0 && strcmp(value, "testing") != 0 && strcmp(value, "none") != 0) {
            bc_txt_seterr(err, errlen, "mode is '%.40s', not enforce, testing or none", value);
            return false;
        }
    } else if (strcmp(key, "max_age") == 0) {
        if (seen[2]) {
            out->duplicate_field = true;
            return true;
        }
        seen[2] = true;
        size_t len = strlen(value);
        bool digits = len >= 1 && len <= 10;
        for (size_t i = 0; digits && i < len; i++)
            digits = isdigit((unsigned char)value[i]) != 0;
        long age = digits ? strtol(value, NULL, 10) : -1;
        if (!digits || age > BC_STS_MAX_AGE_MAX) {
            bc_txt_seterr(err, errlen, "max_age '%.40s' is not a number of seconds from 0 to %ld", value,
                          BC_STS_MAX_AGE_MAX);
            return false;
        }
        out->max_age = age;
    } else if (strcmp(key, "mx") == 0) {
        char host[256];
        if (!bc_txt_norm_name(value, host) || !mx_pattern_ok(host)) {
            bc_txt_seterr(err, errlen, "mx '%.80s' is not a host name or a '*.' wildcard of one", value);
            return false;
        }
        if (out->nmx == BC_STS_MX_MAX) {
            out->mx_truncated = true;
            return true;
        }
        memcpy(out->mx[out->nmx++], host, strlen(host) + 1);
    }
    /* other keys are extensions: ignored (RFC 8461 3.2) */
    return true;
}

bool bc_mta_sts_parse_policy(const char *body, size_t len, bc_sts_policy *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->max_age = -1;
    if (memchr(body, '\0', len)) {
        bc_txt_seterr(err, errlen, "the policy contains a NUL byte");
        return false;
    }
    char *buf = malloc(len + 1);
    if (!buf) {
        bc_txt_seterr(err, errlen, "out of memory");
        return false;
    }
    memcpy(buf, body, len);
    buf[len] = '\0';
    bool seen[3] = { false, false, false }, ok = true;
    char *p = buf;
    while (ok && p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t ll = strlen(p);
        if (ll > 0 && p[ll - 1] == '\r')
            p[ll - 1] = '\0';
        char *line = bc_txt_trim(p);
        if (*line)
            ok = policy_line(line, out, seen, err, errlen);
        p = nl ? nl + 1 : NULL;
    }
    free(buf);
    if (!ok)
        return false;
    if (!seen[0]) {
        bc_txt_seterr(err, errlen, "the version field (version: STSv1) is missing");
        return false;
    }
    if (!seen[1]) {
        bc_txt_seterr(err, errlen, "the mode field is missing");
        return false;
    }
    if (!seen[2]) {
        bc_txt_seterr(err, errlen, "the max_age field is missing");
        return false;
    }
    if (out->nmx == 0 && strcmp(out->mode, "none") != 0) {
        bc_txt_seterr(err, errlen, "no mx field: mode %s needs at least one MX pattern", out->mode);
        return false;
    }
    return true;
}

bool bc_mta_sts_mx_match(const char *pattern, const char *host)
{
    char p[256], h[256];
    if (!pattern || !host || !bc_txt_norm_name(pattern, p) || !bc_txt_norm_name(host, h))
        return false;
    if (strncmp(p, "*.", 2) != 0)
        return strcmp(p, h) == 0;
    const char *dot = strchr(h, '.');
    /* one label in front: "a.example.com" matches "*.example.com", but
     * neither "example.com" nor "b.a.example.com" does */
    return dot && dot != h && strcmp(dot + 1, p + 2) == 0;
}

/* ---------------------------------------------------------------------------
 * The policy fetch
 * ------------------------------------------------------------------------- */

typedef struct fetch_ctx {
    bc_sts_fetch *out;
    size_t cap;
    bool allow_private;
} fetch_ctx;

static size_t fetch_write(char *p, size_t size, size_t n, void *arg)
{
    fetch_ctx *f = arg;
    bc_sts_fetch *o = f->out;
    size_t add = size * n;
    if (add > BC_STS_POLICY_MAX - o->len) {
        o->too_large = true;
        return 0; /* stops the transfer with CURLE_WRITE_ERROR */
    }
    if (o->len + add + 1 > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < o->len + add + 1)
            cap *= 2;
        char *b = realloc(o->body, cap);
        if (!b)
            return 0;
        o->body = b;
        f->cap = cap;
    }
    memcpy(o->body + o->len, p, add);
    o->len += add;
    o->body[o->len] = '\0';
    return add;
}

/* Refuses sockets to addresses the verifier never contacts unless told. */
static curl_socket_t fetch_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    fetch_ctx *f = clientp;
    (void)purpose;
    const char *why = f->allow_private ? NULL : bc_netsafe_check(&a->addr);
    if (why) {
        f->out->refused = why;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

void bc_sts_fetch_clear(bc_sts_fetch *out)
{
    if (!out)
        return;
    free(out->body);
    memset(out, 0, sizeof *out);
}

void bc_mta_sts_fetch_policy(const char *url, const bc_health_https *https, const char *connect_to,
                             bc_sts_fetch *out)
{
    memset(out, 0, sizeof *out);
    bc_health_https defaults = { NULL, false, 0 };
    if (!https)
        https = &defaults;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        bc_txt_copy(out->error, sizeof out->error, "libcurl initialisation failed");
        return;
    }
    CURL *h = curl_easy_init();
    struct curl_slist *ct = connect_to ? curl_slist_append(NULL, connect_to) : NULL;
    if (!h || (connect_to && !ct)) {
        bc_txt_copy(out->error, sizeof out->error, "out of memory");
        curl_slist_free_all(ct);
        curl_easy_cleanup(h);
        curl_global_cleanup();
        return;
    }
    fetch_ctx f = { out, 0, https->allow_private };
    long timeout = https->timeout_ms > 0 ? https->timeout_ms : STS_DEFAULT_TIMEOUT_MS;
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (https->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, https->ca_file);
    if (ct)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, ct);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BC_STS_POLICY_MAX);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "bouncecheck-mta-sts");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, fetch_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &f);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->http_code);
    char *ctype = NULL, *loc = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
        bc_txt_copy(out->content_type, sizeof out->content_type, ctype);
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
        bc_txt_copy(out->location, sizeof out->location, loc);
    if (rc == CURLE_FILESIZE_EXCEEDED)
        out->too_large = true;
    if (out->too_large)
        snprintf(out->error, sizeof out->error, "the policy is larger than %d bytes; the transfer was stopped",
                 BC_STS_POLICY_MAX);
    else if (out->refused)
        snprintf(out->error, sizeof out->error,
                 "not connecting to a %s address (the private-address guard; --allow-private lifts it)",
                 out->refused);
    else if (rc != CURLE_OK)
        snprintf(out->error, sizeof out->error, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    else if (out->http_code != 200)
        snprintf(out->error, sizeof out->error, "the server answered HTTP %ld, not 200", out->http_code);
    else
        out->ok = true;
    if (!out->body) {
        out->body = calloc(1, 1);
        out->len = 0;
    }
    curl_slist_free_all(ct);
    curl_easy_cleanup(h);
    curl_global_cleanup();
}

/* True when a Content-Type header value is text/plain (parameters such as
 * charset allowed). */
static bool is_text_plain(const char *ct)
{
    static const char want[] = "text/plain";
    while (bc_txt_is_wsp(*ct))
        ct++;
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    ct += sizeof want - 1;
    while (bc_txt_is_wsp(*ct))
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* ---------------------------------------------------------------------------
 * The section
 * ------------------------------------------------------------------------- */

/* The MX match table of a policy; adds the unmatched finding by mode. */
static json_t *mx_matches(const bc_sts_policy *pol, const char *const *mx_hosts, size_t nmx, json_t *findings)
{
    json_t *arr = json_array();
    char unmatched[512] = "";
    size_t nun = 0, ul = 0;
    for (size_t i = 0; i < nmx; i++) {
        if (!mx_hosts[i])
            continue;
        const char *hit = NULL;
        for (size_t k = 0; pol && k < pol->nmx && !hit; k++)
            if (bc_mta_sts_mx_match(pol->mx[k], mx_hosts[i]))
                hit = pol->mx[k];
        json_array_append_new(arr, json_pack("{s:s, s:o}", "host", mx_hosts[i], "pattern",
                                             hit ? json_string(hit) : json_null()));
        if (!hit) {
            int w = snprintf(unmatched + ul, sizeof unmatched - ul, "%s%s", nun ? ", " : "", mx_hosts[i]);
            if (w > 0 && (size_t)w < sizeof unmatched - ul)
                ul += (size_t)w;
            nun++;
        }
    }
    if (pol && nun) {
        if (strcmp(pol->mode, "enforce") == 0)
            bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_mx_unmatched",
                           "MX host%s %s match%s no mx pattern of the policy (mode enforce): senders that honour "
                           "MTA-STS will refuse to deliver to %s. Add an mx line for %s to the policy (and change "
                           "its id in the _mta-sts record).",
                           nun > 1 ? "s" : "", unmatched, nun > 1 ? "" : "es", nun > 1 ? "them" : "it",
                           nun > 1 ? "each" : "it");
        else if (strcmp(pol->mode, "testing") == 0)
            bc_finding_add(findings, BC_SEV_WARN, "mta_sts_mx_unmatched",
                           "MX host%s %s match%s no mx pattern of the policy: in mode testing this only shows in "
                           "TLS reports, but switching to enforce would stop mail to %s. Add mx lines for %s.",
                           nun > 1 ? "s" : "", unmatched, nun > 1 ? "" : "es", nun > 1 ? "them" : "it",
                           nun > 1 ? "them" : "it");
    }
    return arr;
}

/* Fetches, checks and parses the policy of domain d into the section. */
static void sts_policy(json_t *sec, const char *d, const char *const *mx_hosts, size_t nmx,
                       const bc_health_https *https, const char *connect_to)
{
    json_t *findings = json_object_get(sec, "findings");
    char url[320];
    snprintf(url, sizeof url, "https://mta-sts.%s/.well-known/mta-sts.txt", d);
    json_object_set_new(sec, "policy_url", json_string(url));
    bc_sts_fetch f;
    bc_mta_sts_fetch_policy(url, https, connect_to, &f);
    if (f.http_code >= 300 && f.http_code < 400) {
        bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_policy_redirect",
                       "%s answered HTTP %ld with a redirect%s%s; senders must not follow redirects for the "
                       "policy (RFC 8461 3.3), so they see no policy. Serve the file directly at that URL.",
                       url, f.http_code, f.location[0] ? " to " : "", f.location);
        bc_sts_fetch_clear(&f);
        return;
    }
    if (f.too_large) {
        bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_policy_too_large",
                       "The policy at %s is larger than %d KiB, so it was not read to the end; senders give up "
                       "on such policies too. A policy needs only a few lines: version, mode, max_age and the mx "
                       "patterns.",
                       url, BC_STS_POLICY_MAX / 1024);
        bc_sts_fetch_clear(&f);
        return;
    }
    if (!f.ok) {
        bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_policy_fetch",
                       "The _mta-sts record announces a policy, but it could not be fetched from %s: %s. Senders "
                       "then apply no policy; serve the file over HTTPS with a certificate valid for mta-sts.%s.",
                       url, f.error, d);
        bc_sts_fetch_clear(&f);
        return;
    }
    if (!is_text_plain(f.content_type))
        bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_policy_content_type",
                       "The policy is served as '%s', but RFC 8461 3.3 requires Content-Type text/plain; strict "
                       "senders ignore it. Configure the web server to send text/plain for mta-sts.txt.",
                       f.content_type[0] ? f.content_type : "(no Content-Type)");
    bc_sts_policy pol;
    char err[256] = "";
    bool ok = bc_mta_sts_parse_policy(f.body, f.len, &pol, err, sizeof err);
    bc_sts_fetch_clear(&f);
    if (!ok) {
        bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_policy_syntax",
                       "The policy at %s is not valid: %s. Senders ignore an invalid policy; it needs lines "
                       "'version: STSv1', 'mode: ...', 'max_age: ...' and 'mx: ...'.",
                       url, err);
        return;
    }
    json_t *mx = json_array();
    for (size_t i = 0; i < pol.nmx; i++)
        json_array_append_new(mx, json_string(pol.mx[i]));
    json_object_set_new(sec, "policy",
                        json_pack("{s:s, s:s, s:I, s:o}", "version", pol.version, "mode", pol.mode, "max_age",
                                  (json_int_t)pol.max_age, "mx", mx));
    if (pol.duplicate_field)
        bc_finding_add(findings, BC_SEV_WARN, "mta_sts_policy_duplicate",
                       "The policy gives version, mode or max_age more than once; only the first is used. Keep "
                       "one line of each.");
    if (pol.mx_truncated)
        bc_finding_add(findings, BC_SEV_WARN, "mta_sts_policy_many_mx",
                       "The policy lists more than %d mx patterns; only the first %d were checked.", BC_STS_MX_MAX,
                       BC_STS_MX_MAX);
    if (strcmp(pol.mode, "testing") == 0)
        bc_finding_add(findings, BC_SEV_INFO, "mta_sts_mode_testing",
                       "The policy is in mode testing: senders report TLS problems (with TLS-RPT) but still "
                       "deliver without TLS. Switch to 'mode: enforce' once the reports are clean.");
    else if (strcmp(pol.mode, "none") == 0)
        bc_finding_add(findings, BC_SEV_WARN, "mta_sts_mode_none",
                       "The policy is in mode none: MTA-STS is switched off and gives no protection. Use mode "
                       "testing or enforce, or remove the record once cached policies have expired.");
    if (strcmp(pol.mode, "enforce") == 0 && pol.max_age < STS_MIN_ENFORCE_AGE)
        bc_finding_add(findings, BC_SEV_WARN, "mta_sts_max_age_short",
                       "max_age is %ld seconds: senders forget the policy after that, leaving a window for a "
                       "downgrade attack. Use at least 86400 (a day); 604800 or more is usual.",
                       pol.max_age);
    json_object_set_new(sec, "mx_matches", mx_matches(&pol, mx_hosts, nmx, findings));
}

json_t *bc_health_mta_sts_with(bc_resolver *r, const char *domain, const char *const *mx_hosts, size_t nmx,
                               const bc_health_https *https, const char *connect_to)
{
    json_t *sec = bc_section_new();
    if (!sec)
        return NULL;
    json_t *findings = json_object_get(sec, "findings");
    json_object_set_new(sec, "record", json_null());
    json_object_set_new(sec, "id", json_null());
    json_object_set_new(sec, "policy", json_null());
    json_object_set_new(sec, "mx_matches", json_array());
    static const bc_rec_kind kind = { "_mta-sts",
                                      "v=STSv1",
                                      "MTA-STS",
                                      "mta_sts_bad_domain",
                                      "mta_sts_dns_error",
                                      "mta_sts_multiple_records",
                                      "senders assume there is no policy (RFC 8461 3.1)" };
    bc_rec_found f;
    if (!bc_rec_lookup(r, domain, &kind, sec, &f))
        return sec;
    const char *name = f.name, *rec = f.rec;
    char d[256];
    bc_txt_norm_name(domain, d);
    if (f.n == 0) {
        bc_finding_add(findings, BC_SEV_INFO, "mta_sts_missing",
                       "No MTA-STS record (TXT 'v=STSv1; id=...' at %s)%s. MTA-STS is optional; it lets senders "
                       "insist on verified TLS to your MX hosts. To adopt it, publish a policy at "
                       "https://mta-sts.%s/.well-known/mta-sts.txt and then the record.",
                       name, f.none_note, d);
    } else {
        char id[33], err[256] = "";
        if (bc_mta_sts_parse_record(rec, id, err, sizeof err))
            json_object_set_new(sec, "id", json_string(id));
        else
            bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_record_syntax",
                           "The MTA-STS record at %s is not valid: %s. Senders ignore it; write it as "
                           "'v=STSv1; id=20240101T000000' (id: 1 to 32 letters and digits, changed whenever the "
                           "policy changes).",
                           name, err);
        sts_policy(sec, d, mx_hosts, nmx, https, connect_to);
    }
    bc_rrset_clear(&f.set);
    bc_section_settle(sec);
    return sec;
}

json_t *bc_health_mta_sts(bc_resolver *r, const char *domain, const char *const *mx_hosts, size_t nmx,
                          const bc_health_https *https)
{
    return bc_health_mta_sts_with(r, domain, mx_hosts, nmx, https, NULL);
}
