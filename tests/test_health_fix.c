/*
 * test_health_fix.c - the fix table of the domain health findings
 * (src/lib/health/health_fix.c) and the "fix" member bc_finding_add gives them.
 *
 * Besides the table's own shape (sorted, no duplicate codes, tidy texts),
 * it reads the library's sources under $BC_SOURCE_ROOT/src/lib (every
 * folder) and collects every finding code they can produce: the code
 * argument of each bc_finding_add(...) and of dmarc.c's issue(...) (string
 * literals, both arms of a ternary), and the codes of the bc_rec_kind
 * initialisers that mta_sts.c, tls_rpt.c and bimi.c pass through
 * variables. Each one must be in the table, with a fix when its severity
 * argument can be warn or fail; a new code without one fails here. Codes passed through a variable the scan does not trace
 * fail too, so that such a path cannot slip by unseen.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "health/health.h"
#include "tap.h"

#define MAX_CODES 1024
#define CODE_MAX 64

typedef struct used_code {
    char code[CODE_MAX];
    char file[64]; /* where it was first seen */
    bool can_fail; /* some call site may give it severity warn or fail */
} used_code;

static used_code used[MAX_CODES];
static size_t nused;
static int scan_problems; /* untraced variable codes, unreadable files */

/* Code arguments that are variables, and where their codes come from (the
 * scan reads those places instead): dmarc.c's issues are made by issue();
 * txt_record.c's bc_txt_lookup/bc_rec_lookup get theirs from bc_rec_kind
 * initialisers (mta_sts.c, tls_rpt.c, bimi.c); the two definitions name
 * their parameter. */
static const char *const traced_vars[] = {
    "const char *code",   /* bc_finding_add and issue themselves */
    "dm->issues[i].code", /* dmarc.c: issue() codes */
    "code",               /* txt_record.c bc_txt_lookup: k->bad_domain */
    "k->dns_error",       /* txt_record.c bc_rec_kind */
    "k->multiple",        /* txt_record.c bc_rec_kind */
};

/* ---- reading C source ----------------------------------------------------------- */

/* The whole file in a new NUL-terminated buffer (caller frees), NULL on error. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Index just past the string or character literal that starts at s[i]
 * (a '"' or '\''). */
static size_t skip_literal(const char *s, size_t i)
{
    char q = s[i++];
    while (s[i] && s[i] != q) {
        if (s[i] == '\\' && s[i + 1])
            i++;
        i++;
    }
    return s[i] ? i + 1 : i;
}

/* Blanks out comments in place (literals kept), so that commented-out code
 * and prose about bc_finding_add are not read as calls. */
static void strip_comments(char *s)
{
    size_t i = 0;
    while (s[i]) {
        if (s[i] == '"' || s[i] == '\'') {
            i = skip_literal(s, i);
        } else if (s[i] == '/' && s[i + 1] == '/') {
            while (s[i] && s[i] != '\n')
                s[i++] = ' ';
        } else if (s[i] == '/' && s[i + 1] == '*') {
            s[i] = s[i + 1] = ' ';
            i += 2;
            while (s[i] && !(s[i] == '*' && s[i + 1] == '/')) {
                if (s[i] != '\n')
                    s[i] = ' ';
                i++;
            }
            if (s[i]) {
                s[i] = s[i + 1] = ' ';
                i += 2;
            }
        } else {
            i++;
        }
    }
}

typedef struct span {
    size_t b, e; /* s[b..e) */
} span;

/* Splits the argument list whose '(' is at s[open] into up to max spans;
 * returns how many arguments there are (may exceed max). */
static size_t split_args(const char *s, size_t open, span *args, size_t max)
{
    size_t i = open + 1, n = 0, start = i;
    int depth = 1;
    while (s[i] && depth > 0) {
        char c = s[i];
        if (c == '"' || c == '\'') {
            i = skip_literal(s, i);
            continue;
        }
        if (c == '(' || c == '[' || c == '{')
            depth++;
        else if (c == ')' || c == ']' || c == '}')
            depth--;
        if (depth == 0 || (depth == 1 && c == ',')) {
            if (n < max)
                args[n] = (span){ start, i };
            n++;
            start = i + 1;
        }
        i++;
    }
    return n;
}

/* A finding code: lower-case snake_case with at least one '_'. */
static bool code_shaped(const char *s, size_t n)
{
    if (n == 0 || n >= CODE_MAX || s[0] < 'a' || s[0] > 'z' || s[n - 1] == '_')
        return false;
    bool underscore = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_')
            underscore = true;
        else if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    }
    return underscore;
}

static void note_code(const char *code, size_t n, const char *file, bool can_fail)
{
    for (size_t i = 0; i < nused; i++) {
        if (strlen(used[i].code) == n && memcmp(used[i].code, code, n) == 0) {
            used[i].can_fail = used[i].can_fail || can_fail;
            return;
        }
    }
    if (nused == MAX_CODES) {
        tap_diag("more than %d codes: raise MAX_CODES", MAX_CODES);
        scan_problems++;
        return;
    }
    memcpy(used[nused].code, code, n);
    used[nused].code[n] = '\0';
    snprintf(used[nused].file, sizeof used[nused].file, "%s", file);
    used[nused].can_fail = can_fail;
    nused++;
}

/* Notes every code-shaped literal in s[sp]; returns how many. */
static size_t literal_codes(const char *s, span sp, const char *file, bool can_fail)
{
    size_t found = 0;
    for (size_t i = sp.b; i < sp.e;) {
        if (s[i] == '"') {
            size_t end = skip_literal(s, i);
            if (end - i >= 2 && code_shaped(s + i + 1, end - i - 2)) {
                note_code(s + i + 1, end - i - 2, file, can_fail);
                found++;
            }
            i = end;
        } else if (s[i] == '\'') {
            i = skip_literal(s, i);
        } else {
            i++;
        }
    }
    return found;
}

/* s[sp] with runs of white space made single spaces, into out[outlen]. */
static void squeeze(const char *s, span sp, char *out, size_t outlen)
{
    size_t o = 0;
    bool space = false;
    for (size_t i = sp.b; i < sp.e && o + 1 < outlen; i++) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < outlen)
            out[o++] = ' ';
        space = false;
        out[o++] = s[i];
    }
    out[o] = '\0';
}

static bool is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Every call of fn in s: its severity and code arguments. */
static void scan_calls(const char *s, const char *fn, const char *file)
{
    size_t fl = strlen(fn);
    for (const char *p = strstr(s, fn); p; p = strstr(p + fl, fn)) {
        if ((p > s && is_ident(p[-1])) || p[fl] != '(')
            continue;
        span a[3];
        if (split_args(s, (size_t)(p - s) + fl, a, 3) < 3)
            continue;
        char sev[256];
        squeeze(s, a[1], sev, sizeof sev);
        /* only info when the severity names nothing but BC_SEV_INFO */
        bool can_fail = !(strstr(sev, "BC_SEV_INFO") && !strstr(sev, "BC_SEV_WARN") &&
                          !strstr(sev, "BC_SEV_FAIL"));
        if (literal_codes(s, a[2], file, can_fail) > 0)
            continue;
        char var[256];
        squeeze(s, a[2], var, sizeof var);
        bool traced = false;
        for (size_t i = 0; i < sizeof traced_vars / sizeof traced_vars[0]; i++)
            traced = traced || strcmp(var, traced_vars[i]) == 0;
        if (!traced) {
            tap_diag("%s: %s(...) gets its code from '%s', which this test does not trace: make it a literal or "
                     "teach the scan where it comes from",
                     file, fn, var);
            scan_problems++;
        }
    }
}

/* "static const bc_rec_kind kind = {...}" (mta_sts.c, tls_rpt.c, bimi.c):
 * the codes inside. Each is passed with severity warn or fail (bad domain,
 * lookup error, several records). */
static void scan_rec_kinds(const char *s, const char *file)
{
    static const char tag[] = "bc_rec_kind ";
    for (const char *p = strstr(s, tag); p; p = strstr(p + 1, tag)) {
        const char *q = p + strlen(tag);
        while (is_ident(*q) || *q == ' ')
            q++;
        if (*q != '=')
            continue;
        q++;
        while (*q == ' ' || *q == '\n')
            q++;
        if (*q != '{')
            continue;
        /* the initialiser: from '{' to its matching '}' */
        size_t open = (size_t)(q - s), end = open + 1;
        int depth = 1;
        while (s[end] && depth > 0) {
            if (s[end] == '"' || s[end] == '\'') {
                end = skip_literal(s, end);
                continue;
            }
            if (s[end] == '{')
                depth++;
            else if (s[end] == '}')
                depth--;
            end++;
        }
        literal_codes(s, (span){ open, end }, file, true);
    }
}

/* Scans every .c file of dir and of its folders (src/lib/health/, ...).
 * Returns the number of files read. */
static size_t scan_sources(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        tap_diag("cannot open %s", dir);
        scan_problems++;
        return 0;
    }
    size_t files = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        int w = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (w < 0 || (size_t)w >= sizeof path) {
            tap_diag("path too long: %s/%s", dir, de->d_name);
            scan_problems++;
            continue;
        }
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            files += scan_sources(path);
            continue;
        }
        size_t n = strlen(de->d_name);
        if (n < 3 || strcmp(de->d_name + n - 2, ".c") != 0)
            continue;
        char *s = slurp(path);
        if (!s) {
            tap_diag("cannot read %s", path);
            scan_problems++;
            continue;
        }
        strip_comments(s);
        scan_calls(s, "bc_finding_add", de->d_name);
        scan_calls(s, "issue", de->d_name);
        scan_rec_kinds(s, de->d_name);
        free(s);
        files++;
    }
    closedir(d);
    return files;
}

static const used_code *find_used(const char *code)
{
    for (size_t i = 0; i < nused; i++)
        if (strcmp(used[i].code, code) == 0)
            return &used[i];
    return NULL;
}

/* ---- the checks ------------------------------------------------------------------- */

static void test_table_shape(void)
{
    size_t n = 0;
    const bc_health_fix_entry *t = bc_health_fix_table(&n);
    CHECK(t && n >= 100, "the fix table has %zu entries", n);

    size_t unsorted = 0, dups = 0, bad_code = 0, bad_text = 0, with_fix = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t[i].code || !code_shaped(t[i].code, strlen(t[i].code))) {
            tap_diag("entry %zu: code '%s' is not snake_case", i, t[i].code ? t[i].code : "(null)");
            bad_code++;
            continue;
        }
        if (i > 0 && t[i - 1].code && strcmp(t[i - 1].code, t[i].code) > 0) {
            tap_diag("'%s' comes after '%s': the table must be sorted for bsearch", t[i].code, t[i - 1].code);
            unsorted++;
        }
        for (size_t j = 0; j < i; j++) {
            if (t[j].code && strcmp(t[j].code, t[i].code) == 0) {
                tap_diag("'%s' is in the table twice (entries %zu and %zu)", t[i].code, j, i);
                dups++;
            }
        }
        const char *f = t[i].fix;
        if (!f)
            continue;
        with_fix++;
        size_t len = strlen(f);
        bool ascii = true;
        for (size_t k = 0; k < len; k++)
            ascii = ascii && (unsigned char)f[k] >= 0x20 && (unsigned char)f[k] < 0x7f;
        const char *why = len < 20                   ? "too short"
                          : len > 320                ? "longer than two plain sentences (320 characters)"
                          : f[len - 1] != '.'        ? "does not end with '.'"
                          : f[0] < 'A' || f[0] > 'Z' ? "does not start with a capital letter"
                          : strstr(f, "  ")          ? "has a double space"
                          : !ascii                   ? "has a character outside printable ASCII"
                          : strstr(f, "DOMAIN")      ? "has the placeholder DOMAIN (write <your domain>)"
                                                     : NULL;
        if (why) {
            tap_diag("fix of %s %s: %s", t[i].code, why, f);
            bad_text++;
        }
    }
    CHECK(bad_code == 0, "every code in the table is snake_case (%zu bad)", bad_code);
    CHECK(unsorted == 0, "the table is sorted by code (%zu out of order)", unsorted);
    CHECK(dups == 0, "no code is in the table twice (%zu duplicates)", dups);
    CHECK(bad_text == 0 && with_fix > 0, "every fix is one or two tidy sentences (%zu with a fix, %zu bad)",
          with_fix, bad_text);
}

static void test_lookup(void)
{
    size_t n = 0;
    const bc_health_fix_entry *t = bc_health_fix_table(&n);
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) {
        if (bc_health_fix(t[i].code) != t[i].fix) {
            tap_diag("bc_health_fix(\"%s\") does not return its table entry", t[i].code);
            wrong++;
        }
    }
    CHECK(wrong == 0, "bc_health_fix finds each of the %zu codes", n);
    CHECK(bc_health_fix("no_such_code") == NULL && bc_health_fix(NULL) == NULL && bc_health_fix("") == NULL,
          "bc_health_fix: NULL for an unknown code, \"\" and NULL");
    const char *dm = bc_health_fix("dmarc_missing");
    CHECK(dm && strstr(dm, "_dmarc.") && strstr(dm, "v=DMARC1; p=none"),
          "dmarc_missing: publish v=DMARC1; p=none at _dmarc (%s)", dm ? dm : "(null)");
}

static void test_finding_add(void)
{
    json_t *fs = json_array();
    bc_finding_add(fs, BC_SEV_FAIL, "dmarc_missing", "No DMARC record at _dmarc.%s.", "example.com");
    bc_finding_add(fs, BC_SEV_WARN, "spf_no_all", "No all.");
    bc_finding_add(fs, BC_SEV_INFO, "mx_null", "%s publishes a null MX.", "example.com");
    bc_finding_add(fs, BC_SEV_INFO, "dmarc_pct_partial", "pct=50 (as info)");
    bc_finding_add(fs, BC_SEV_WARN, "no_such_code", "unknown");
    CHECK(json_array_size(fs) == 5, "bc_finding_add appended 5 findings (%zu)", json_array_size(fs));

    json_t *f0 = json_array_get(fs, 0), *f1 = json_array_get(fs, 1), *f2 = json_array_get(fs, 2),
           *f3 = json_array_get(fs, 3), *f4 = json_array_get(fs, 4);
    const char *fix0 = json_string_value(json_object_get(f0, "fix"));
    CHECK(fix0 && strcmp(fix0, bc_health_fix("dmarc_missing")) == 0, "a fail finding carries its fix (%s)",
          fix0 ? fix0 : "(none)");
    CHECK(json_object_size(f0) == 4 && json_string_value(json_object_get(f0, "message")) &&
              strcmp(json_string_value(json_object_get(f0, "message")),
                     "No DMARC record at _dmarc.example.com.") == 0,
          "the finding keeps severity, code and message beside fix");
    const char *fix1 = json_string_value(json_object_get(f1, "fix"));
    CHECK(fix1 && *fix1 && strcmp(fix1, bc_health_fix("spf_no_all")) == 0, "a warn finding carries its fix");
    CHECK(json_is_null(json_object_get(f2, "fix")), "an info finding has \"fix\": null");
    CHECK(json_is_null(json_object_get(f3, "fix")),
          "an info finding has \"fix\": null even when its code has a fix at warn");
    CHECK(json_is_null(json_object_get(f4, "fix")), "an unknown code has \"fix\": null (the key is still there)");
    json_decref(fs);
}

static void test_sources(void)
{
    const char *root = getenv("BC_SOURCE_ROOT");
    if (!CHECK(root && *root, "BC_SOURCE_ROOT is set (the test reads the library's sources)"))
        return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/src/lib", root);
    size_t files = scan_sources(dir);
    CHECK(files >= 6 && scan_problems == 0, "read %zu source files of %s and traced every code argument", files,
          dir);
    /* the scan itself must see codes from each way they are passed */
    static const char *const must[] = { "dmarc_missing",     "dmarc_syntax",      "mx_host_no_address",
                                        "mx_host_dns_error", "mta_sts_dns_error", "tls_rpt_multiple_records",
                                        "bimi_bad_domain",   "smtp_port_closed",  "spf_too_many_lookups" };
    size_t seen = 0;
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        if (find_used(must[i]))
            seen++;
        else
            tap_diag("the scan missed %s", must[i]);
    }
    CHECK(nused >= 100 && seen == sizeof must / sizeof must[0],
          "the scan finds %zu finding codes, literal, ternary, issue() and bc_rec_kind ones among them", nused);

    size_t missing = 0, no_fix = 0, can_fail = 0;
    for (size_t i = 0; i < nused; i++) {
        if (used[i].can_fail)
            can_fail++;
        bool known = false;
        size_t n = 0;
        const bc_health_fix_entry *t = bc_health_fix_table(&n);
        for (size_t j = 0; j < n && !known; j++)
            known = strcmp(t[j].code, used[i].code) == 0;
        if (!known) {
            tap_diag("%s (%s) is not in the fix table of src/lib/health/health_fix.c", used[i].code, used[i].file);
            missing++;
        } else if (used[i].can_fail && !bc_health_fix(used[i].code)) {
            tap_diag("%s (%s) can be warn or fail but has no fix", used[i].code, used[i].file);
            no_fix++;
        }
    }
    CHECK(missing == 0, "every finding code in the sources is in the fix table (%zu missing)", missing);
    CHECK(no_fix == 0 && can_fail > 0, "every code that can be warn or fail has a fix (%zu of %zu without)",
          no_fix, can_fail);

    size_t n = 0, stale = 0;
    const bc_health_fix_entry *t = bc_health_fix_table(&n);
    for (size_t j = 0; j < n; j++) {
        if (!find_used(t[j].code)) {
            tap_diag("the table has %s, which no source produces (renamed or removed?)", t[j].code);
            stale++;
        }
    }
    CHECK(stale == 0, "every code in the table is produced somewhere (%zu stale)", stale);
}

int main(void)
{
    test_table_shape();
    test_lookup();
    test_finding_add();
    test_sources();
    return tap_done();
}
