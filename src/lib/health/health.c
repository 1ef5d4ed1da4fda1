/*
 * health.c - the small helpers every domain health section shares (see
 * health.h): severity names, findings (with their fix from health_fix.c),
 * record text as JSON, a new section and its status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bouncecheck.h"
#include "health/health.h"

const char *bc_severity_name(bc_severity s)
{
    switch (s) {
    case BC_SEV_INFO: return "info";
    case BC_SEV_WARN: return "warn";
    case BC_SEV_FAIL: return "fail";
    }
    return "info";
}

void bc_finding_add(json_t *findings, bc_severity sev, const char *code, const char *fmt, ...)
{
    if (!json_is_array(findings) || !code || !fmt)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* info findings only report; warn and fail say what to change */
    const char *fix = sev == BC_SEV_INFO ? NULL : bc_health_fix(code);
    json_t *f = json_pack("{s:s, s:s, s:s, s:s?}", "severity", bc_severity_name(sev), "code", code, "message", msg,
                          "fix", fix);
    if (f)
        json_array_append_new(findings, f);
}

json_t *bc_json_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    size_t fl;
    char *fixed = bc_utf8_repair(s, n, &fl);
    if (!fixed)
        return NULL;
    j = json_stringn(fixed, fl);
    free(fixed);
    return j;
}

/* Returns a new reference (caller json_decref's it), NULL when out of
 * memory. */
json_t *bc_section_new(void)
{
    return json_pack("{s:s, s:[], s:[]}", "status", "pass", "records", "findings");
}

void bc_section_settle(json_t *section)
{
    json_t *findings = json_object_get(section, "findings");
    if (!json_is_array(findings))
        return;
    bool fail = false, warn = false;
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f) {
        const char *sev = json_string_value(json_object_get(f, "severity"));
        if (!sev)
            continue;
        if (strcmp(sev, "fail") == 0)
            fail = true;
        else if (strcmp(sev, "warn") == 0)
            warn = true;
    }
    if (fail)
        json_object_set_new(section, "status", json_string("fail"));
    else if (warn)
        json_object_set_new(section, "status", json_string("warn"));
}
