/*
 * ui.h - the web UI's files, compiled into the binary from web/ by
 * tools/embed_ui.py, and served by api_ui.c at "/" and "/ui/...".
 */
#ifndef SV_UI_H
#define SV_UI_H

#include <stddef.h>

typedef struct sv_ui_asset {
    const char *path; /* "/", "/ui/app.js", ... (sorted) */
    const char *ctype;
    const unsigned char *data; /* NUL-terminated */
    size_t len;
    const char *etag; /* strong, quoted */
} sv_ui_asset;

extern const sv_ui_asset sv_ui_assets[];
extern const size_t sv_ui_assets_count;

/* The asset at a URL path, or NULL. */
const sv_ui_asset *sv_ui_find(const char *path);

/* The security headers of every UI answer: a strict Content-Security-Policy
 * (nothing but this server), no sniffing, no referrer, no framing. */
#define SV_UI_CSP                                                                           \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "           \
    "form-action 'self'; frame-ancestors 'none'"

#endif
