/*
 * params.c - the readers of the API's query parameters and JSON bodies
 * (params.h): what a request asks for, or the message of its 400 answer.
 * Nothing here sees the connection, the server or the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

/* ---- query parameters ------------------------------------------------------------- */

bool sv_param_bool(const char *v, bool *out)
{
    *out = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
    return !v || *out || strcmp(v, "0") == 0 || strcmp(v, "false") == 0;
}

int sv_param_timeout(const char *v, int *ms)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    while (*end == ' ')
        end++;
    if (errno || end == v || *end || !(d >= 1 && d <= 300))
        return -1;
    *ms = (int)(d * 1000);
    return 0;
}

int sv_param_port(const char *v, int *port)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 1 || n > 65535)
        return -1;
    *port = (int)n;
    return 0;
}

bool sv_param_word(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7F)
            return false;
    return true;
}

/* ---- JSON bodies ------------------------------------------------------------------ */

json_t *sv_body_json(const char *buf, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loadb(buf ? buf : "", buf ? len : 0, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        snprintf(err, errlen, "the body is not valid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    return o;
}

/* True when v is absent or null. */
static bool absent(const json_t *v)
{
    return !v || json_is_null(v);
}

int sv_read_verify_body(const json_t *o, sv_verify_body *out, char *err, size_t errlen)
{
    *out = (sv_verify_body){ 0 };
    const json_t *e = json_object_get(o, "email"), *t = json_object_get(o, "timeout"),
                 *tr = json_object_get(o, "trace");
    const char *why = NULL;
    if (!json_is_object(o))
        why = "the body must be a JSON object {\"email\": \"ADDR\"}";
    else if (!json_is_string(e))
        why = "\"email\" is missing or not a string";
    else if (!absent(t) && (!json_is_number(t) || json_number_value(t) < 1 || json_number_value(t) > 300))
        why = "timeout must be a number of seconds from 1 to 300";
    else if (!absent(tr) && !json_is_boolean(tr))
        why = "trace must be true or false";
    if (why) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    out->email = json_string_value(e);
    out->email_len = json_string_length(e);
    if (json_is_number(t))
        out->timeout_ms = (int)(json_number_value(t) * 1000);
    out->trace = json_is_true(tr);
    return 0;
}

int sv_read_key_body(const json_t *o, size_t name_max, sv_key_body *out, char *err, size_t errlen)
{
    *out = (sv_key_body){ .name = "" };
    const json_t *nm = json_object_get(o, "name"), *rate = json_object_get(o, "rate"),
                 *daily = json_object_get(o, "daily"), *admin = json_object_get(o, "admin");
    if (!json_is_object(o)) {
        snprintf(err, errlen, "the body must be a JSON object {\"name\": ..., \"admin\": false}");
    } else if (!absent(nm) && !json_is_string(nm)) {
        snprintf(err, errlen, "\"name\" must be a string");
    } else if (json_is_string(nm) && json_string_length(nm) >= name_max) {
        snprintf(err, errlen, "\"name\" is too long (at most %zu bytes)", name_max ? name_max - 1 : 0);
    } else if (json_is_string(nm) && strlen(json_string_value(nm)) != json_string_length(nm)) {
        snprintf(err, errlen, "\"name\" must not hold NUL characters");
    } else if (!absent(rate) &&
               (!json_is_number(rate) || !(json_number_value(rate) >= 0) || json_number_value(rate) > 1e6)) {
        snprintf(err, errlen, "\"rate\" must be a number of requests per second from 0 to 1000000");
    } else if (!absent(daily) && (!json_is_integer(daily) || json_integer_value(daily) < 0)) {
        snprintf(err, errlen, "\"daily\" must be a non-negative integer");
    } else if (!absent(admin) && !json_is_boolean(admin)) {
        snprintf(err, errlen, "\"admin\" must be true or false");
    } else {
        if (json_is_string(nm))
            out->name = json_string_value(nm);
        out->rate = json_is_number(rate) ? json_number_value(rate) : 0;
        out->daily = json_is_integer(daily) ? (int64_t)json_integer_value(daily) : 0;
        out->admin = json_is_true(admin);
        return 0;
    }
    return -1;
}

int sv_read_list_body(const json_t *o, sv_list_body *out, char *err, size_t errlen)
{
    *out = (sv_list_body){ 0 };
    const json_t *emails = json_object_get(o, "emails"), *wh = json_object_get(o, "webhook"),
                 *nm = json_object_get(o, "name");
    if (!json_is_object(o) || !json_is_array(emails)) {
        snprintf(err, errlen, "the body must be an object {\"emails\": [\"a@example.com\", ...]}");
        return -1;
    }
    if ((!absent(wh) && !json_is_string(wh)) || (!absent(nm) && !json_is_string(nm))) {
        snprintf(err, errlen, "\"webhook\" and \"name\" must be strings");
        return -1;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(emails, i, e) {
        if (!json_is_string(e)) {
            snprintf(err, errlen, "emails[%zu] is not a string", i);
            return -1;
        }
    }
    out->emails = emails;
    out->webhook = json_string_value(wh);
    out->name = json_string_value(nm);
    return 0;
}
