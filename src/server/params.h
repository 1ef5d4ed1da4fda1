/*
 * params.h - what the API's requests ask for, read from their query
 * parameters and JSON bodies apart from the connection: the endpoints
 * (api_*.c, upload.c, http.c) hand these readers the values libmicrohttpd
 * decoded and the bodies they gathered, so the readers are fuzzed alone
 * (fuzz/fuzz_api_params.c). Private to src/server/; needs jansson only.
 *
 * A body reader returns 0 with its result filled, or -1 with the message
 * of the 400 answer in err. Strings in a result are borrowed from the JSON
 * object read.
 */
#ifndef BC_SERVER_PARAMS_H
#define BC_SERVER_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- query parameters ------------------------------------------------------------- */

/* A boolean parameter (?trace=, ?partial=, ?obfuscated=, ?smtp=): *out is
 * true for "1" or "true", false for "0", "false" or an absent one (v
 * NULL). Returns false, *out false, for any other value. */
bool sv_param_bool(const char *v, bool *out);

/* A timeout in seconds from 1 to 300 (spaces may follow): ?timeout= of
 * GET /v1/verify. 0 with *ms set, or -1. */
int sv_param_timeout(const char *v, int *ms);

/* A TCP port from 1 to 65535: ?port= of /v1/smtp-test. 0 with *port set,
 * or -1. */
int sv_param_port(const char *v, int *port);

/* A word sent on to an SMTP server (?host=, ?helo= of /v1/smtp-test): 1
 * to 255 printable ASCII characters, no spaces. */
bool sv_param_word(const char *v);

/* ---- JSON bodies ------------------------------------------------------------------ */

/* A JSON body (POST /v1/verify, /v1/keys, a JSON list for /v1/jobs): any
 * JSON value, a key repeated in an object refused. The value (the caller
 * frees it, json_decref), or NULL with why in err. */
json_t *sv_body_json(const char *buf, size_t len, char *err, size_t errlen);

/* POST /v1/verify: {"email": "ADDR", "timeout": SECONDS, "trace": BOOL},
 * the last two optional (null is absent). */
typedef struct sv_verify_body {
    const char *email; /* may hold NULs: email_len says how long it is */
    size_t email_len;
    int timeout_ms; /* 0: not given */
    bool trace;
} sv_verify_body;
int sv_read_verify_body(const json_t *o, sv_verify_body *out, char *err, size_t errlen);

/* POST /v1/keys: {"name": S, "rate": PER_SECOND, "daily": N, "admin": B},
 * each optional (null is absent); the name shorter than name_max bytes,
 * without NULs. */
typedef struct sv_key_body {
    const char *name; /* "" when not given */
    double rate;      /* 0: no limit */
    int64_t daily;    /* 0: no quota */
    bool admin;
} sv_key_body;
int sv_read_key_body(const json_t *o, size_t name_max, sv_key_body *out, char *err, size_t errlen);

/* POST /v1/jobs with a JSON list: {"emails": ["a@example.com", ...],
 * "webhook": URL, "name": S}, the last two optional (null is absent). */
typedef struct sv_list_body {
    const json_t *emails; /* an array of strings (they may hold NULs) */
    const char *webhook;  /* NULL when not given */
    const char *name;     /* NULL when not given */
} sv_list_body;
int sv_read_list_body(const json_t *o, sv_list_body *out, char *err, size_t errlen);

#endif
