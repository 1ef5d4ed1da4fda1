/*
 * test_lists.c - unit tests of the domain data: the sorted-blob string sets,
 * loading (built-in and data directory), disposable / free / role lookups,
 * the allow list, typo suggestions and malformed-file diagnostics.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/strset.h"
#include "data/lists.h"
#include "data/suggest.h"
#include "tap.h"

/* The embedded data (data_embed.c), read here to iterate whole lists. */
extern const unsigned char bc_data_free_txt[];
extern const size_t bc_data_free_txt_len;
extern const unsigned char bc_data_popular_txt[];
extern const size_t bc_data_popular_txt_len;

/* Prints a TAP test point that is skipped, with its reason. */
static void skip(const char *what, const char *why)
{
    tap_n++;
    printf("ok %d - %s # SKIP %s\n", tap_n, what, why);
}

/* Writes `content` (len bytes) to dir/name; aborts the test run on failure. */
static void write_file_n(const char *dir, const char *name, const char *content, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(content, 1, len, f) != len || fclose(f) != 0) {
        printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* Writes a NUL-terminated string to dir/name. */
static void write_file(const char *dir, const char *name, const char *content)
{
    write_file_n(dir, name, content, strlen(content));
}

/* Removes dir/name (ignoring a missing file). */
static void remove_file(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

/* Makes a fresh temporary directory; the path is static storage per call
 * slot (0..3). */
static const char *make_dir(int slot)
{
    static char dirs[4][256];
    const char *tmp = getenv("TMPDIR");
    snprintf(dirs[slot], sizeof dirs[slot], "%s/bc-lists-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dirs[slot])) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        exit(1);
    }
    return dirs[slot];
}

/* Removes the fixture files and the directory itself. */
static void remove_dir(const char *dir)
{
    static const char *const names[] = { "disposable.txt", "free.txt", "role.tsv", "sources.json", "allow.txt" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        remove_file(dir, names[i]);
    rmdir(dir);
}

static const char fixture_disposable[] = "googlemail.com\n" /* wrongly listed: the built-in allow list wins */
                                         "mailinator.com\n"
                                         "trash-mail.example\n" /* allowed only by the user's allow.txt */
                                         "yopmail.com\n";
static const char fixture_free[] = "gmail.com\n"
                                   "gmali.com\n"      /* a squat of gmail.com: still corrected */
                                   "libbero.it\n"     /* one edit from libero.it: never corrected */
                                   "mailinator.com\n" /* also disposable: so not "free" */
                                   "yahoo.co.uk\n";
static const char fixture_role[] = "abuse\tabuse\n"
                                   "admin\tadmin\n"
                                   "info\tinfo\n"
                                   "no-reply\tnoreply\n"
                                   "noreply\tnoreply\n"
                                   "postmaster\tpostmaster\n"
                                   "support\tsupport\n";
static const char fixture_sources[] =
    "{\"lists\": {"
    "\"disposable\": {\"count\": 4, \"sources\": ["
    "{\"package\": \"disposable-email-domains-js\", \"version\": \"1.2.3\","
    " \"integrity\": \"sha512-x\", \"license\": \"CC0-1.0\"},"
    "{\"package\": \"fakefilter\", \"version\": \"0.1.1\", \"integrity\": \"sha512-y\","
    " \"license\": \"BSD-3-Clause\"}]},"
    "\"free\": {\"count\": 4, \"sources\": [{\"package\": \"email-providers\","
    " \"version\": \"2.0.0\", \"integrity\": \"sha512-z\", \"license\": \"ISC\"}]},"
    "\"role\": {\"count\": 7, \"sources\": [{\"package\": \"role-based-email-addresses\","
    " \"version\": \"1.2.2\", \"integrity\": \"sha512-w\", \"license\": \"MIT\"}]}},"
    " \"generated_at\": \"2025-01-01T00:00:00Z\"}\n";

/* Writes the complete fixture data set into dir. */
static void write_fixture(const char *dir)
{
    write_file(dir, "disposable.txt", fixture_disposable);
    write_file(dir, "free.txt", fixture_free);
    write_file(dir, "role.tsv", fixture_role);
    write_file(dir, "sources.json", fixture_sources);
}

/* ---- strset ---------------------------------------------------------- */

/* Initialises s over a NUL-terminated blob; returns the status. */
static bc_error set_from(bc_strset *s, const char *blob, bc_strset_kind kind, char *err, size_t errlen)
{
    return bc_strset_init(s, blob, strlen(blob), kind, "t.txt", err, errlen);
}

/* One malformed blob and the "file:line" its message must name. */
typedef struct bad_case {
    const char *what;
    const char *blob;
    size_t len; /* 0: strlen */
    bc_strset_kind kind;
    const char *where;
} bad_case;

static void test_strset(void)
{
    char err[256];
    bc_strset s;

    CHECK(set_from(&s, "", BC_STRSET_DOMAIN, err, sizeof err) == BC_OK && s.count == 0,
          "strset: empty blob is an empty set");
    CHECK(bc_strset_find(&s, "a.com", 5) == SIZE_MAX && !bc_strset_contains(&s, "", 0),
          "strset: nothing found in an empty set");
    bc_strset_fini(&s);

    CHECK(set_from(&s, "only.example\n", BC_STRSET_DOMAIN, err, sizeof err) == BC_OK && s.count == 1 &&
              bc_strset_contains(&s, "only.example", 12) && !bc_strset_contains(&s, "only.exampl", 11),
          "strset: single entry");
    bc_strset_fini(&s);

    const char *blob = "a.com\nb.com\nbb.com\nc.com\nz-z.net\n";
    CHECK(set_from(&s, blob, BC_STRSET_DOMAIN, err, sizeof err) == BC_OK && s.count == 5,
          "strset: 5 lines indexed");
    CHECK(bc_strset_find(&s, "a.com", 5) == 0, "strset: first line found");
    CHECK(bc_strset_find(&s, "z-z.net", 7) == 4, "strset: last line found");
    CHECK(bc_strset_find(&s, "bb.com", 6) == 2, "strset: middle line found");
    CHECK(!bc_strset_contains(&s, "0.com", 5), "strset: key before the first line");
    CHECK(!bc_strset_contains(&s, "zzz.net", 7), "strset: key after the last line");
    CHECK(!bc_strset_contains(&s, "b.co", 4), "strset: a proper prefix of a line is absent");
    CHECK(!bc_strset_contains(&s, "b.comm", 6), "strset: a line plus a suffix is absent");
    CHECK(!bc_strset_contains(&s, "", 0), "strset: empty key is absent");
    CHECK(!bc_strset_contains(&s, "a.com\nb.com", 11), "strset: a key spanning lines is absent");
    size_t n;
    const char *l3 = bc_strset_line(&s, 3, &n);
    CHECK(n == 5 && memcmp(l3, "c.com", 5) == 0 && l3 == blob + 19,
          "strset: line() points into the blob, no copy");
    bc_strset_fini(&s);

    /* A larger generated set: every member found, neighbours not. */
    enum { BIG = 3000 };
    static char big[BIG * 16];
    size_t used = 0;
    for (int i = 0; i < BIG; i++)
        used += (size_t)snprintf(big + used, sizeof big - used, "d%05d.com\n", i * 2);
    bool all = set_from(&s, big, BC_STRSET_DOMAIN, err, sizeof err) == BC_OK && s.count == BIG;
    for (int i = 0; all && i < BIG * 2; i++) {
        char k[32];
        int kn = snprintf(k, sizeof k, "d%05d.com", i);
        all = bc_strset_contains(&s, k, (size_t)kn) == (i % 2 == 0);
    }
    CHECK(all, "strset: 3000 generated domains found, 3000 absent neighbours not");
    bc_strset_fini(&s);

    /* TSV: keys only, "ab" sorts before "abc" because TAB < any key byte. */
    const char *tsv = "ab\tx\nabc\ty\nb.c\tz\n";
    CHECK(set_from(&s, tsv, BC_STRSET_TSV, err, sizeof err) == BC_OK && s.count == 3, "strset tsv: indexed");
    CHECK(bc_strset_find(&s, "ab", 2) == 0 && bc_strset_find(&s, "abc", 3) == 1 &&
              bc_strset_find(&s, "b.c", 3) == 2,
          "strset tsv: keys found");
    CHECK(!bc_strset_contains(&s, "ab\tx", 4) && !bc_strset_contains(&s, "a", 1),
          "strset tsv: whole line or prefix is not a key");
    bc_strset_fini(&s);

    static const bad_case bad[] = {
        { "unsorted", "b.com\na.com\n", 0, BC_STRSET_DOMAIN, "t.txt:2:" },
        { "duplicate", "a.com\na.com\n", 0, BC_STRSET_DOMAIN, "t.txt:2:" },
        { "shorter after longer prefix", "a.com\nab.com\na.co\n", 0, BC_STRSET_DOMAIN, "t.txt:3:" },
        { "missing final newline", "a.com\nb.com", 0, BC_STRSET_DOMAIN, "t.txt:2:" },
        { "NUL byte", "a.com\nb\0.com\n", 12, BC_STRSET_DOMAIN, "t.txt:2:" },
        { "non-ASCII domain",
          "a.com\nb\xc3\xbc"
          "cher.de\n",
          0, BC_STRSET_DOMAIN, "t.txt:2:" },
        { "upper case", "A.com\n", 0, BC_STRSET_DOMAIN, "t.txt:1:" },
        { "blank line", "a.com\n\nb.com\n", 0, BC_STRSET_DOMAIN, "t.txt:2:" },
        { "CRLF", "a.com\r\nb.com\r\n", 0, BC_STRSET_DOMAIN, "t.txt:1:" },
        { "empty label", "a..com\n", 0, BC_STRSET_DOMAIN, "t.txt:1:" },
        { "leading dot", ".a.com\n", 0, BC_STRSET_DOMAIN, "t.txt:1:" },
        { "space", "a com\n", 0, BC_STRSET_DOMAIN, "t.txt:1:" },
        { "tsv no tab", "admin admin\n", 0, BC_STRSET_TSV, "t.txt:1:" },
        { "tsv duplicate key", "admin\tadmin\nadmin\tother\n", 0, BC_STRSET_TSV, "t.txt:2:" },
        { "tsv unsorted", "b\tx\na\tx\n", 0, BC_STRSET_TSV, "t.txt:2:" },
        { "tsv bad category", "admin\tAdmin\n", 0, BC_STRSET_TSV, "t.txt:1:" },
        { "tsv empty category", "admin\t\n", 0, BC_STRSET_TSV, "t.txt:1:" },
        { "tsv two tabs", "admin\ta\tb\n", 0, BC_STRSET_TSV, "t.txt:1:" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].blob);
        bc_error st = bc_strset_init(&s, bad[i].blob, len, bad[i].kind, "t.txt", err, sizeof err);
        CHECK(st == BC_EDATA && strstr(err, bad[i].where) && s.count == 0 && !s.off, "strset rejects %s: \"%s\"",
              bad[i].what, err);
        bc_strset_fini(&s);
    }
}

/* ---- distance -------------------------------------------------------- */

static void test_distance(void)
{
    static const struct {
        const char *a, *b;
        size_t limit, want;
    } t[] = {
        { "gmail", "gmail", 2, 0 },    { "gmial", "gmail", 2, 1 },    { "gmal", "gmail", 2, 1 },
        { "gnail", "gmail", 2, 1 },    { "", "abc", 5, 3 },           { "abc", "", 5, 3 },
        { "ca", "abc", 5, 3 }, /* OSA, not unrestricted Damerau-Levenshtein (2) */
        { "kitten", "sitting", 5, 3 }, { "kitten", "sitting", 1, 2 }, /* over the limit: limit + 1 */
        { "abcdef", "a", 2, 3 },                                      /* length gap alone exceeds the limit */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t d = bc_osa_distance(t[i].a, strlen(t[i].a), t[i].b, strlen(t[i].b), t[i].limit);
        CHECK(d == t[i].want, "osa(\"%s\", \"%s\", limit %zu) = %zu (want %zu)", t[i].a, t[i].b, t[i].limit, d,
              t[i].want);
    }
    char longs[BC_SUGGEST_MAX + 2];
    memset(longs, 'a', sizeof longs);
    CHECK(bc_osa_distance(longs, sizeof longs, longs, sizeof longs, 2) == 3,
          "osa: inputs over BC_SUGGEST_MAX are never close");
}

/* ---- lists from a fixture directory ---------------------------------- */

/* Finds the bc_list_info entry called name, or NULL. */
static const bc_list_info *info_of(const bc_list_info *info, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(info[i].name, name) == 0)
            return &info[i];
    return NULL;
}

static void test_fixture_lookups(const bc_lists *l)
{
    static const struct {
        const char *d;
        bool want;
    } disp[] = {
        { "mailinator.com", true },
        { "x.mailinator.com", true },
        { "a.b.mailinator.com", true },
        { "MAILINATOR.COM.", true },
        { "yopmail.com", true },
        { "mailinator.co", false },
        { "notmailinator.com", false },
        { "mailinator.com.evil.example", false },
        { "com", false },
        { "", false },
        { "googlemail.com", false },    /* built-in allow list wins */
        { "x.googlemail.com", false },  /* allowed through its parent */
        { "trash-mail.example", true }, /* no user allow.txt yet */
        { "gmail.com", false },
    };
    for (size_t i = 0; i < sizeof disp / sizeof disp[0]; i++)
        CHECK(bc_lists_disposable(l, disp[i].d) == disp[i].want, "disposable(%s) == %s", disp[i].d,
              disp[i].want ? "true" : "false");

    static const struct {
        const char *d;
        bool want;
    } fr[] = {
        { "gmail.com", true },       { "yahoo.co.uk", true }, { "mail.yahoo.co.uk", true },
        { "a.b.yahoo.co.uk", true }, { "co.uk", false },      { "yahoo.co", false },
        { "mailinator.com", false }, /* disposable beats free */
        { "example.com", false },    { "GMAIL.COM", true },
    };
    for (size_t i = 0; i < sizeof fr / sizeof fr[0]; i++)
        CHECK(bc_lists_free_provider(l, fr[i].d) == fr[i].want, "free_provider(%s) == %s", fr[i].d,
              fr[i].want ? "true" : "false");

    static const struct {
        const char *local, *want;
    } role[] = {
        { "admin", "admin" },
        { "Admin", "admin" },
        { "ADMIN+tag", "admin" },
        { "support+a+b", "support" },
        { "no-reply", "noreply" },
        { "NoReply+x", "noreply" },
        { "postmaster", "postmaster" },
        { "administrator", NULL },
        { "adm", NULL },
        { "+admin", NULL },
        { "", NULL },
        { "john.smith", NULL },
    };
    for (size_t i = 0; i < sizeof role / sizeof role[0]; i++) {
        const char *got = bc_lists_role(l, role[i].local);
        bool ok = role[i].want ? got && strcmp(got, role[i].want) == 0 : got == NULL;
        CHECK(ok, "role(\"%s\") = %s (want %s)", role[i].local, got ? got : "NULL",
              role[i].want ? role[i].want : "NULL");
    }
    CHECK(bc_lists_role(l, "admin") == bc_lists_role(l, "ADMIN+x"),
          "role: the category string is interned (same pointer every call)");
    char longlocal[600];
    memset(longlocal, 'a', sizeof longlocal - 1);
    longlocal[sizeof longlocal - 1] = '\0';
    CHECK(bc_lists_role(l, longlocal) == NULL, "role: an over-long local part is not a role");
}

static void test_fixture_dir(void)
{
    const char *dir = make_dir(0);
    write_fixture(dir);
    char err[512] = "";
    bc_lists *l = NULL;
    bc_error st = bc_lists_load(&l, dir, err, sizeof err);
    if (!CHECK(st == BC_OK && l, "fixture dir loads (%s)", err))
        return;

    bc_list_info info[8];
    size_t n = bc_lists_describe(l, info, 8);
    CHECK(n == 5, "describe: five lists");
    const bc_list_info *d = info_of(info, n, "disposable"), *f = info_of(info, n, "free"),
                       *r = info_of(info, n, "role"), *a = info_of(info, n, "allow"),
                       *p = info_of(info, n, "popular");
    CHECK(d && f && r && a && p, "describe: disposable, free, role, allow, popular present");
    if (d && f && r && a && p) {
        char want[600];
        snprintf(want, sizeof want, "%s/disposable.txt", dir);
        CHECK(d->count == 4 && strcmp(d->origin, want) == 0, "describe disposable: 4 from %s", d->origin);
        CHECK_STR(d->source, "disposable-email-domains-js@1.2.3, fakefilter@0.1.1", "describe disposable source");
        CHECK_STR(d->license, "CC0-1.0, BSD-3-Clause", "describe disposable licence");
        CHECK(f->count == 5 && strcmp(f->source, "email-providers@2.0.0") == 0 && strcmp(f->license, "ISC") == 0,
              "describe free: 5, email-providers@2.0.0, ISC");
        CHECK(r->count == 7 && strcmp(r->source, "role-based-email-addresses@1.2.2") == 0,
              "describe role: 7, role-based-email-addresses@1.2.2");
        CHECK(a->count > 100 && strcmp(a->source, "bouncecheck") == 0 && strcmp(a->origin, "builtin") == 0,
              "describe allow: %zu built-in entries, source bouncecheck", a->count);
        CHECK(p->count >= 100 && strcmp(p->source, "bouncecheck") == 0 && strcmp(p->origin, "builtin") == 0,
              "describe popular: %zu entries, source bouncecheck", p->count);
    }
    size_t builtin_allow = a ? a->count : 0;
    test_fixture_lookups(l);
    bc_lists_free(l);

    /* The user's allow.txt is added to the built-in one. */
    write_file(dir, "allow.txt", "example.org\ntrash-mail.example\n");
    st = bc_lists_load(&l, dir, err, sizeof err);
    if (CHECK(st == BC_OK, "fixture dir with allow.txt loads (%s)", err)) {
        CHECK(!bc_lists_disposable(l, "trash-mail.example") && !bc_lists_disposable(l, "x.trash-mail.example"),
              "user allow.txt overrides the disposable list (domain and subdomain)");
        CHECK(bc_lists_disposable(l, "mailinator.com") && !bc_lists_disposable(l, "googlemail.com"),
              "user allow.txt leaves the rest alone; built-in allow still applies");
        n = bc_lists_describe(l, info, 8);
        a = info_of(info, n, "allow");
        char want[600];
        snprintf(want, sizeof want, "builtin + %s/allow.txt", dir);
        CHECK(a && a->count == builtin_allow + 2 && strcmp(a->origin, want) == 0,
              "describe allow: %zu = built-in + 2, origin '%s'", a ? a->count : 0, a ? a->origin : "");
        bc_lists_free(l);
    }
    remove_file(dir, "allow.txt");

    /* The public API over the same directory. */
    bc_options o = { .data_dir = dir };
    bc_ctx *ctx = NULL;
    st = bc_ctx_new(&ctx, &o, err, sizeof err);
    if (CHECK(st == BC_OK && ctx, "bc_ctx_new over the fixture dir")) {
        char out[64];
        CHECK(bc_is_disposable(ctx, "sub.mailinator.com") && !bc_is_disposable(ctx, "gmail.com"),
              "bc_is_disposable delegates");
        CHECK(bc_is_free_provider(ctx, "mail.yahoo.co.uk"), "bc_is_free_provider delegates");
        const char *rc = bc_role_category(ctx, "Abuse+x");
        CHECK(rc && strcmp(rc, "abuse") == 0, "bc_role_category delegates");
        CHECK(bc_suggest_domain(ctx, "gmial.com", out, sizeof out) && strcmp(out, "gmail.com") == 0,
              "bc_suggest_domain delegates");
        bc_list_info info2[5];
        CHECK(bc_lists_info(ctx, info2, 5) == 5, "bc_lists_info returns 5");
        bc_ctx_free(ctx);
    }

    /* Incomplete directory (no sources.json): the built-in lists are used. */
    remove_file(dir, "sources.json");
    st = bc_lists_load(&l, dir, err, sizeof err);
    if (CHECK(st == BC_OK, "incomplete dir loads (%s)", err)) {
        n = bc_lists_describe(l, info, 8);
        d = info_of(info, n, "disposable");
        CHECK(d && strcmp(d->origin, "builtin") == 0, "incomplete dir falls back to builtin");
        bc_lists_free(l);
    }
    remove_dir(dir);

    st = bc_lists_load(&l, "/nonexistent/bouncecheck-data", err, sizeof err);
    CHECK(st == BC_OK && l, "a missing data dir means the built-in lists");
    bc_lists_free(l);
}

/* ---- malformed files --------------------------------------------------- */

typedef struct bad_file {
    const char *what, *file, *content;
    size_t len;       /* 0: strlen */
    const char *want; /* substring of the message */
} bad_file;

static void test_malformed(void)
{
    static const bad_file bad[] = {
        { "unsorted disposable", "disposable.txt", "b.com\na.com\n", 0, "disposable.txt:2:" },
        { "NUL in free", "free.txt", "a.com\nb\0.com\n", 12, "free.txt:2:" },
        { "non-ASCII free", "free.txt",
          "b\xc3\xbc"
          "cher.de\n",
          0, "free.txt:1:" },
        { "duplicate role", "role.tsv", "admin\tadmin\nadmin\tadmin\n", 0, "role.tsv:2:" },
        { "role without tab", "role.tsv", "admin\n", 0, "role.tsv:1:" },
        { "truncated disposable", "disposable.txt", "a.com\nb.co", 0, "disposable.txt:2:" },
        { "broken sources.json", "sources.json", "{\"lists\": ", 0, "sources.json" },
        { "sources not an array", "sources.json", "{\"lists\": {\"free\": {\"sources\": 3}}}", 0, "sources.json" },
        { "unsorted user allow.txt", "allow.txt", "z.example\na.example\n", 0, "allow.txt:2:" },
        { "binary file", "disposable.txt",
          "\x7f"
          "ELF\x02\x01\x01\0\0\n",
          9, "disposable.txt:1:" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *dir = make_dir(1);
        write_fixture(dir);
        write_file_n(dir, bad[i].file, bad[i].content, bad[i].len ? bad[i].len : strlen(bad[i].content));
        char err[512] = "";
        bc_lists *l = (bc_lists *)1;
        bc_error st = bc_lists_load(&l, dir, err, sizeof err);
        CHECK(st == BC_EDATA && l == NULL && strstr(err, bad[i].want) && strstr(err, dir),
              "%s -> BC_EDATA naming the file: \"%s\"", bad[i].what, err);
        bc_options o = { .data_dir = dir };
        bc_ctx *ctx = (bc_ctx *)1;
        st = bc_ctx_new(&ctx, &o, err, sizeof err);
        CHECK(st == BC_EDATA && ctx == NULL, "%s -> bc_ctx_new fails cleanly", bad[i].what);
        remove_dir(dir);
    }
}

/* ---- suggestions ------------------------------------------------------- */

typedef struct sugg_case {
    const char *in, *want; /* want NULL: no suggestion */
} sugg_case;

static const sugg_case sugg[] = {
    /* must suggest */
    { "gmial.com", "gmail.com" },
    { "gmal.com", "gmail.com" },
    { "hotmial.com", "hotmail.com" },
    { "yaho.com", "yahoo.com" },
    { "gmail.con", "gmail.com" },
    { "outlok.com", "outlook.com" },
    { "gnail.com", "gmail.com" },
    { "iclould.com", "icloud.com" },
    { "yahoo.cmo", "yahoo.com" },
    { "yahoo.co", "yahoo.com" },
    { "hotmail.co", "hotmail.com" },
    { "gmx.con", "gmx.com" },
    { "GMIAL.COM", "gmail.com" },
    { "gmali.com", "gmail.com" },  /* even if free-listed */
    { "libbero.it", "libero.it" }, /* only when not free-listed */
    { "hotmail.co.uj", "hotmail.co.uk" },
    { "protonmial.com", "protonmail.com" },
    /* must not suggest */
    { "gmail.com", NULL },
    { "ymail.com", NULL },
    { "gmx.com", NULL },
    { "gmx.de", NULL },
    { "hotmail.co.uk", NULL },
    { "live.com", NULL },
    { "mail.com", NULL },
    { "aol.com", NULL },
    { "me.com", NULL },
    { "acme-corp.com", NULL },
    { "xn--bcher-kva.de", NULL },
    { "gmc.com", NULL },
    { "gmail.org", NULL },
    { "example.com", NULL },
    { "mail.yahoo.co.uk", NULL },
    { "com", NULL },
    { "", NULL },
    { "googlemail.com", NULL },
    { "hotmail.co.il", NULL }, /* a real suffix: not a typo of hotmail.co.uk */
    { "yahoo.com.my", NULL },
    { "gmx.at", NULL },
    { "bootmail.com", NULL },
    { "gmail.com.", NULL },
    { "x.gmail.com", NULL },
};

/* Runs the suggestion table over l; `fixture` says whether libbero.it is in
 * the free list (then it must not be corrected). */
static void test_suggest_table(const bc_lists *l, const char *label, bool fixture)
{
    for (size_t i = 0; i < sizeof sugg / sizeof sugg[0]; i++) {
        const char *want = sugg[i].want;
        if (strcmp(sugg[i].in, "libbero.it") == 0 && (fixture || bc_lists_free_provider(l, "libbero.it")))
            want = NULL;
        char out[64] = "";
        bool got = bc_lists_suggest(l, sugg[i].in, out, sizeof out);
        bool ok = want ? got && strcmp(out, want) == 0 : !got;
        CHECK(ok, "%s: suggest(%s) = %s (want %s)", label, sugg[i].in, got ? out : "none", want ? want : "none");
    }
    char tiny[5];
    CHECK(!bc_lists_suggest(l, "gmial.com", tiny, sizeof tiny),
          "%s: suggestion that does not fit the buffer is not written", label);
}

/* Every line of a domain list (given as text, e.g. the free list or the
 * popular list) is known, so none of them gets a suggestion, except the
 * one-edit squats of the top providers (listed in a diag line). */
static void check_never_corrected(const bc_lists *l, const char *text, size_t len, const char *label,
                                  const char *what)
{
    size_t bad = 0, checked = 0, squats = 0, slen = 0;
    char first[400] = "", squat_list[1024] = "";
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        size_t n = (size_t)(nl - p);
        char d[256], out[64];
        if (n < sizeof d) {
            memcpy(d, p, n);
            d[n] = '\0';
            checked++;
            if (bc_lists_suggest(l, d, out, sizeof out)) {
                if (bc_suggest_is_squat(d, n)) {
                    squats++;
                    if (slen < sizeof squat_list)
                        slen += (size_t)snprintf(squat_list + slen, sizeof squat_list - slen, " %s->%s", d, out);
                } else if (bad++ == 0) {
                    snprintf(first, sizeof first, "%s -> %s", d, out);
                }
            }
        }
        p = nl + 1;
    }
    CHECK(bad == 0 && checked > 0,
          "%s: none of %zu %s domains gets a suggestion (but %zu top-provider squats)%s%s", label, checked, what,
          squats, bad ? "; first: " : "", first);
    if (squats)
        tap_diag("%s %s squats still corrected:%s", label, what, squat_list);
}

static void test_suggest(void)
{
    const char *dir = make_dir(2);
    write_fixture(dir);
    char err[512] = "";
    bc_lists *l = NULL;
    if (CHECK(bc_lists_load(&l, dir, err, sizeof err) == BC_OK, "fixture loads for suggest")) {
        test_suggest_table(l, "fixture", true);
        check_never_corrected(l, (const char *)bc_data_popular_txt, bc_data_popular_txt_len, "fixture", "popular");
        check_never_corrected(l, fixture_free, strlen(fixture_free), "fixture", "free-list");
        bc_lists_free(l);
    }
    remove_dir(dir);
}

/* ---- built-in data and timing ------------------------------------------ */

/* Seconds on the monotonic clock. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_builtin(void)
{
    char err[512] = "";
    bc_lists *l = NULL;
    bc_error st = bc_lists_load(&l, NULL, err, sizeof err);
    if (!CHECK(st == BC_OK && l, "built-in lists load (%s)", err))
        return;
    bc_list_info info[5];
    size_t n = bc_lists_describe(l, info, 5);
    const bc_list_info *a = info_of(info, n, "allow"), *p = info_of(info, n, "popular");
    CHECK(a && p && a->count > p->count && p->count >= 100,
          "built-in allow (%zu) and popular (%zu) lists are populated", a ? a->count : 0, p ? p->count : 0);
    for (size_t i = 0; i < n; i++)
        tap_diag("builtin %-10s %6zu  %s | %s | %s", info[i].name, info[i].count, info[i].source, info[i].license,
                 info[i].origin);

    const bc_list_info *d = info_of(info, n, "disposable"), *f = info_of(info, n, "free"),
                       *r = info_of(info, n, "role");
    bool populated = d && f && r && d->count && f->count && r->count;
    const char *why = "data/ lists are empty placeholders (run `bouncecheck lists update --pinned`)";
    if (populated) {
        CHECK(d->count > 1000 && f->count > 100 && r->count > 10, "built-in disposable %zu, free %zu, role %zu",
              d->count, f->count, r->count);
        CHECK(strcmp(d->source, "unknown") != 0 && strcmp(d->origin, "builtin") == 0,
              "built-in disposable has sources (%s)", d->source);
        CHECK(bc_lists_disposable(l, "mailinator.com") && bc_lists_disposable(l, "x.mailinator.com"),
              "built-in: mailinator.com and a subdomain are disposable");
        CHECK(!bc_lists_disposable(l, "gmail.com") && bc_lists_free_provider(l, "gmail.com"),
              "built-in: gmail.com is free, not disposable");
        CHECK(bc_lists_free_provider(l, "mail.yahoo.co.uk") || !bc_lists_free_provider(l, "yahoo.co.uk"),
              "built-in: free via the registrable domain (mail.yahoo.co.uk)");
        const char *cat = bc_lists_role(l, "Postmaster+x");
        CHECK(cat != NULL, "built-in: postmaster is a role (%s)", cat ? cat : "NULL");
        CHECK(bc_lists_role(l, "john.smith") == NULL, "built-in: john.smith is not a role");
        size_t bad = 0;
        static const char *const allowed[] = { "gmail.com",   "yahoo.com",  "outlook.com",
                                               "hotmail.com", "icloud.com", "proton.me" };
        for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
            bad += bc_lists_disposable(l, allowed[i]);
        CHECK(bad == 0, "built-in: big providers are never disposable");
        check_never_corrected(l, (const char *)bc_data_free_txt, bc_data_free_txt_len, "builtin", "free-list");
    } else {
        skip("built-in disposable/free/role counts > 0", why);
        skip("built-in disposable has sources", why);
        skip("built-in: mailinator.com and a subdomain are disposable", why);
        skip("built-in: gmail.com is free, not disposable", why);
        skip("built-in: free via the registrable domain", why);
        skip("built-in: postmaster is a role", why);
        skip("built-in: john.smith is not a role", why);
        skip("built-in: big providers are never disposable", why);
        skip("built-in: no free-list domain gets a suggestion", why);
    }
    test_suggest_table(l, "builtin", false);
    check_never_corrected(l, (const char *)bc_data_popular_txt, bc_data_popular_txt_len, "builtin", "popular");
    bc_lists_free(l);

    /* Load time: not an assertion, a figure for the report. */
    enum { ROUNDS = 100 };
    double t0 = now();
    bool ok = true;
    for (int i = 0; i < ROUNDS && ok; i++) {
        bc_lists *x = NULL;
        ok = bc_lists_load(&x, NULL, err, sizeof err) == BC_OK;
        bc_lists_free(x);
    }
    double mean = (now() - t0) / ROUNDS;
    CHECK(ok, "built-in lists loaded %d times", ROUNDS);
    tap_diag("load time (built-in, all lists): mean %.3f ms over %d loads", mean * 1e3, ROUNDS);

    const char *dir = make_dir(3);
    write_fixture(dir);
    t0 = now();
    for (int i = 0; i < ROUNDS && ok; i++) {
        bc_lists *x = NULL;
        ok = bc_lists_load(&x, dir, err, sizeof err) == BC_OK;
        bc_lists_free(x);
    }
    mean = (now() - t0) / ROUNDS;
    CHECK(ok, "fixture data dir loaded %d times", ROUNDS);
    tap_diag("load time (data dir, mmap): mean %.3f ms over %d loads", mean * 1e3, ROUNDS);
    remove_dir(dir);
}

int main(void)
{
    (void)tap_skip_all; /* tap.h helper this program does not need */
    test_strset();
    test_distance();
    test_fixture_dir();
    test_malformed();
    test_suggest();
    test_builtin();
    return tap_done();
}
