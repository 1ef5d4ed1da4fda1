/*
 * lists.c - loading the domain data (built-in arrays or an mmapped data
 * directory) and answering the disposable / free-mail / role / suggestion
 * questions over it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libpsl.h>

#include "core/domain.h"
#include "core/internal.h"
#include "core/strset.h"
#include "data/lists.h"
#include "data/suggest.h"

/* The data compiled in by tools/embed.py (data_embed.c). */
extern const unsigned char bc_data_disposable_txt[];
extern const size_t bc_data_disposable_txt_len;
extern const unsigned char bc_data_free_txt[];
extern const size_t bc_data_free_txt_len;
extern const unsigned char bc_data_role_tsv[];
extern const size_t bc_data_role_tsv_len;
extern const unsigned char bc_data_allow_txt[];
extern const size_t bc_data_allow_txt_len;
extern const unsigned char bc_data_popular_txt[];
extern const size_t bc_data_popular_txt_len;
extern const unsigned char bc_data_sources_json[];
extern const size_t bc_data_sources_json_len;

enum { L_DISPOSABLE, L_FREE, L_ROLE, L_ALLOW, L_POPULAR, L__COUNT };

static const char *const list_names[L__COUNT] = {
    "disposable", "free", "role", "allow", "popular",
};
static const char *const list_files[L__COUNT] = {
    "disposable.txt", "free.txt", "role.tsv", "allow.txt", "popular.txt",
};

/* Role categories are few; each is interned once so lookups can hand out a
 * NUL-terminated pointer that lives as long as the lists. */
#define ROLE_CATS_MAX 64
#define ROLE_CAT_LEN 32

/* One read-only mapping of a data-directory file. */
typedef struct mapping {
    void *addr;
    size_t len;
} mapping;

struct bc_lists {
    bc_strset set[L__COUNT]; /* allow = the built-in allow list */
    bc_strset user_allow;    /* data_dir/allow.txt, may be empty */
    mapping map[L__COUNT];   /* data-directory files (L_ALLOW = user allow) */
    size_t allow_count;      /* built-in + user entries, without duplicates */
    char *source[L__COUNT];  /* owned strings for bc_lists_describe() */
    char *license[L__COUNT];
    char *origin[L__COUNT];
    char cats[ROLE_CATS_MAX][ROLE_CAT_LEN + 1];
    size_t ncats;
    const psl_ctx_t *psl;
};

/* Duplicates a string; NULL on allocation failure. Caller frees. */
static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Joins dir and name with a slash into a new string (caller frees), or NULL. */
static char *path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* True when path names an existing regular file. */
static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Maps a whole file read-only into *m (nothing mapped for an empty file).
 * The mapping is owned by the caller (munmap). */
static bc_error map_file(const char *path, mapping *m, char *errbuf, size_t errlen)
{
    m->addr = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bc_seterr(errbuf, errlen, BC_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        close(fd);
        return bc_seterr(errbuf, errlen, BC_EIO, "%s: %s", path, e ? strerror(e) : "not a regular file");
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return bc_seterr(errbuf, errlen, BC_EIO, "%s: mmap: %s", path, strerror(e));
        }
        m->addr = p;
        m->len = (size_t)st.st_size;
    }
    close(fd);
    return BC_OK;
}

/* Appends s to buf (capacity cap, currently *used bytes) after a ", "
 * separator when buf is not empty; truncates silently at the capacity. */
static void append_item(char *buf, size_t cap, size_t *used, const char *s)
{
    int n = snprintf(buf + *used, cap - *used, "%s%s", *used ? ", " : "", s);
    if (n > 0)
        *used += (size_t)n < cap - *used ? (size_t)n : cap - *used - 1;
}

/* True when s is one of the ", "-separated items already in list. */
static bool has_item(const char *list, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = list; *p;) {
        const char *e = strstr(p, ", ");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && memcmp(p, s, n) == 0)
            return true;
        if (!e)
            break;
        p = e + 2;
    }
    return false;
}

/* Builds the source ("pkg@ver, ...") and licence strings of one list from its
 * sources.json entry (may be NULL). Strings are stored in l. */
static bc_error describe_sources(bc_lists *l, int which, json_t *entry, const char *name, char *errbuf,
                                 size_t errlen)
{
    char src[512] = "", lic[256] = "";
    size_t su = 0, lu = 0;
    json_t *arr = entry ? json_object_get(entry, "sources") : NULL;
    if (entry && !json_is_object(entry))
        return bc_seterr(errbuf, errlen, BC_EDATA, "%s: lists.%s is not an object", name, list_names[which]);
    if (arr && !json_is_array(arr))
        return bc_seterr(errbuf, errlen, BC_EDATA, "%s: lists.%s.sources is not an array", name,
                         list_names[which]);
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        const char *pkg = json_string_value(json_object_get(s, "package"));
        const char *ver = json_string_value(json_object_get(s, "version"));
        const char *li = json_string_value(json_object_get(s, "license"));
        if (!pkg)
            return bc_seterr(errbuf, errlen, BC_EDATA, "%s: lists.%s.sources[%zu] has no \"package\" string", name,
                             list_names[which], i);
        char item[256];
        snprintf(item, sizeof item, "%s%s%s", pkg, ver ? "@" : "", ver ? ver : "");
        append_item(src, sizeof src, &su, item);
        if (li && li[0] && !has_item(lic, li))
            append_item(lic, sizeof lic, &lu, li);
    }
    l->source[which] = dup_str(su ? src : "unknown");
    l->license[which] = dup_str(lu ? lic : "unknown");
    if (!l->source[which] || !l->license[which])
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    return BC_OK;
}

/* Parses sources.json (data[0..len), named `name` in messages) into the
 * source/licence strings of disposable, free and role. */
static bc_error load_sources(bc_lists *l, const char *data, size_t len, const char *name, char *errbuf,
                             size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return bc_seterr(errbuf, errlen, BC_EDATA, "%s:%d: %s", name, jerr.line, jerr.text);
    bc_error st = BC_OK;
    json_t *lists = json_object_get(root, "lists");
    if (!json_is_object(root) || (lists && !json_is_object(lists)))
        st = bc_seterr(errbuf, errlen, BC_EDATA, "%s: expected {\"lists\": {...}}", name);
    for (int w = L_DISPOSABLE; st == BC_OK && w <= L_ROLE; w++)
        st = describe_sources(l, w, json_object_get(lists, list_names[w]), name, errbuf, errlen);
    json_decref(root);
    return st;
}

/* Interns every role category of the loaded role set into l->cats. */
static bc_error intern_categories(bc_lists *l, const char *name, char *errbuf, size_t errlen)
{
    const bc_strset *r = &l->set[L_ROLE];
    for (size_t i = 0; i < r->count; i++) {
        size_t n;
        const char *line = bc_strset_line(r, i, &n);
        const char *tab = memchr(line, '\t', n);
        const char *cat = tab + 1; /* strset validated the TAB and the word */
        size_t clen = n - (size_t)(cat - line), k;
        for (k = 0; k < l->ncats; k++)
            if (strlen(l->cats[k]) == clen && memcmp(l->cats[k], cat, clen) == 0)
                break;
        if (k < l->ncats)
            continue;
        if (l->ncats == ROLE_CATS_MAX || clen > ROLE_CAT_LEN)
            return bc_seterr(errbuf, errlen, BC_EDATA, "%s:%zu: more than %d categories", name, i + 1,
                             ROLE_CATS_MAX);
        memcpy(l->cats[l->ncats], cat, clen);
        l->cats[l->ncats][clen] = '\0';
        l->ncats++;
    }
    return BC_OK;
}

/* Loads disposable, free, role and sources.json from data_dir (known to hold
 * all four files) by mapping them. */
static bc_error load_dir(bc_lists *l, const char *data_dir, char *errbuf, size_t errlen)
{
    static const bc_strset_kind kinds[] = { BC_STRSET_DOMAIN, BC_STRSET_DOMAIN, BC_STRSET_TSV };
    bc_error st = BC_OK;
    for (int w = L_DISPOSABLE; w <= L_ROLE && st == BC_OK; w++) {
        l->origin[w] = path_join(data_dir, list_files[w]);
        if (!l->origin[w])
            return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
        st = map_file(l->origin[w], &l->map[w], errbuf, errlen);
        if (st == BC_OK)
            st = bc_strset_init(&l->set[w], l->map[w].addr, l->map[w].len, kinds[w], l->origin[w], errbuf, errlen);
    }
    if (st != BC_OK)
        return st;
    char *sp = path_join(data_dir, "sources.json");
    if (!sp)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    mapping m;
    st = map_file(sp, &m, errbuf, errlen);
    if (st == BC_OK) {
        st = load_sources(l, m.addr ? m.addr : "", m.len, sp, errbuf, errlen);
        if (m.addr)
            munmap(m.addr, m.len);
    }
    free(sp);
    return st;
}

/* Loads disposable, free, role and sources.json from the embedded arrays. */
static bc_error load_builtin(bc_lists *l, char *errbuf, size_t errlen)
{
    const struct {
        const unsigned char *data;
        size_t len;
        bc_strset_kind kind;
    } b[] = {
        { bc_data_disposable_txt, bc_data_disposable_txt_len, BC_STRSET_DOMAIN },
        { bc_data_free_txt, bc_data_free_txt_len, BC_STRSET_DOMAIN },
        { bc_data_role_tsv, bc_data_role_tsv_len, BC_STRSET_TSV },
    };
    char name[64];
    for (int w = L_DISPOSABLE; w <= L_ROLE; w++) {
        snprintf(name, sizeof name, "built-in %s", list_files[w]);
        bc_error st = bc_strset_init(&l->set[w], (const char *)b[w].data, b[w].len, b[w].kind, name, errbuf,
                                     errlen);
        if (st != BC_OK)
            return st;
        l->origin[w] = dup_str("builtin");
        if (!l->origin[w])
            return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    }
    return load_sources(l, (const char *)bc_data_sources_json, bc_data_sources_json_len, "built-in sources.json",
                        errbuf, errlen);
}

/* Loads our own lists (allow, popular) and, when present, the user's
 * data_dir/allow.txt. */
static bc_error load_ours(bc_lists *l, const char *data_dir, char *errbuf, size_t errlen)
{
    bc_error st = bc_strset_init(&l->set[L_ALLOW], (const char *)bc_data_allow_txt, bc_data_allow_txt_len,
                                 BC_STRSET_DOMAIN, "built-in allow.txt", errbuf, errlen);
    if (st == BC_OK)
        st = bc_strset_init(&l->set[L_POPULAR], (const char *)bc_data_popular_txt, bc_data_popular_txt_len,
                            BC_STRSET_DOMAIN, "built-in popular.txt", errbuf, errlen);
    if (st != BC_OK)
        return st;
    l->allow_count = l->set[L_ALLOW].count;
    for (int w = L_ALLOW; w <= L_POPULAR; w++) {
        l->source[w] = dup_str("bouncecheck");
        l->license[w] = dup_str("MIT");
        if (!l->source[w] || !l->license[w])
            return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    }
    l->origin[L_POPULAR] = dup_str("builtin");
    char *user = data_dir ? path_join(data_dir, "allow.txt") : NULL;
    if (data_dir && !user)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    if (user && is_file(user)) {
        st = map_file(user, &l->map[L_ALLOW], errbuf, errlen);
        if (st == BC_OK)
            st = bc_strset_init(&l->user_allow, l->map[L_ALLOW].addr, l->map[L_ALLOW].len, BC_STRSET_DOMAIN, user,
                                errbuf, errlen);
        for (size_t i = 0; st == BC_OK && i < l->user_allow.count; i++) {
            size_t n;
            const char *d = bc_strset_line(&l->user_allow, i, &n);
            if (!bc_strset_contains(&l->set[L_ALLOW], d, n))
                l->allow_count++;
        }
        char o[4096];
        snprintf(o, sizeof o, "builtin + %s", user);
        l->origin[L_ALLOW] = dup_str(o);
    } else {
        l->origin[L_ALLOW] = dup_str("builtin");
    }
    free(user);
    if (st == BC_OK && (!l->origin[L_ALLOW] || !l->origin[L_POPULAR]))
        st = bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    return st;
}

/* True when data_dir holds a complete set written by bc_lists_update(). */
static bool dir_complete(const char *data_dir)
{
    static const char *const need[] = { "sources.json", "disposable.txt", "free.txt", "role.tsv" };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        char *p = path_join(data_dir, need[i]);
        bool ok = p && is_file(p);
        free(p);
        if (!ok)
            return false;
    }
    return true;
}

/* Loads every list (see lists.h). *out is owned by the caller
 * (bc_lists_free); NULL on failure, with a message in errbuf. */
bc_error bc_lists_load(bc_lists **out, const char *data_dir, char *errbuf, size_t errlen)
{
    if (!out)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "bc_lists_load: out is NULL");
    *out = NULL;
    bc_lists *l = calloc(1, sizeof *l);
    if (!l)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    if (data_dir && !data_dir[0])
        data_dir = NULL;
    l->psl = psl_builtin();
    bc_error st = data_dir && dir_complete(data_dir) ? load_dir(l, data_dir, errbuf, errlen)
                                                     : load_builtin(l, errbuf, errlen);
    if (st == BC_OK)
        st = intern_categories(l,
                               l->origin[L_ROLE] && strcmp(l->origin[L_ROLE], "builtin") ? l->origin[L_ROLE]
                                                                                         : "built-in role.tsv",
                               errbuf, errlen);
    if (st == BC_OK)
        st = load_ours(l, data_dir, errbuf, errlen);
    if (st != BC_OK) {
        bc_lists_free(l);
        return st;
    }
    *out = l;
    return BC_OK;
}

/* Releases the lists, their mappings and strings. Accepts NULL. */
void bc_lists_free(bc_lists *l)
{
    if (!l)
        return;
    for (int w = 0; w < L__COUNT; w++) {
        bc_strset_fini(&l->set[w]);
        if (l->map[w].addr)
            munmap(l->map[w].addr, l->map[w].len);
        free(l->source[w]);
        free(l->license[w]);
        free(l->origin[w]);
    }
    bc_strset_fini(&l->user_allow);
    free(l);
}

/* The entry of set a or set b (either may be NULL) that the domain d
 * (normalised, NUL-terminated) matches: d itself or the first of its parents,
 * walking up to the registrable domain, that is listed; a pointer into d, or
 * NULL when none is. */
static const char *match_entry(const bc_lists *l, const char *d, size_t n, const bc_strset *a, const bc_strset *b)
{
    const char *reg = l->psl ? psl_registrable_domain(l->psl, d) : NULL;
    const char *p = d;
    for (;;) {
        size_t len = n - (size_t)(p - d);
        if ((a && bc_strset_contains(a, p, len)) || (b && bc_strset_contains(b, p, len)))
            return p;
        if (!reg || p >= reg)
            return NULL;
        const char *dot = memchr(p, '.', len);
        if (!dot)
            return NULL;
        p = dot + 1;
    }
}

/* True when the domain d (normalised, NUL-terminated) or one of its parents
 * down to the registrable domain is in set a or set b (either may be NULL). */
static bool match_up(const bc_lists *l, const char *d, size_t n, const bc_strset *a, const bc_strset *b)
{
    return match_entry(l, d, n, a, b) != NULL;
}

/* True when d (normalised) is allow-listed, itself or through a parent. */
static bool allowed(const bc_lists *l, const char *d, size_t n)
{
    return match_up(l, d, n, &l->set[L_ALLOW], &l->user_allow);
}

/* Disposable: the domain or a parent down to the registrable domain is
 * listed, and neither it nor such a parent is allow-listed. */
bool bc_lists_disposable(const bc_lists *l, const char *ascii_domain)
{
    char d[BC_DOMAIN_LEN + 1];
    size_t n = l && ascii_domain ? bc_domain_norm(ascii_domain, d) : 0;
    if (n == 0)
        return false;
    return match_up(l, d, n, &l->set[L_DISPOSABLE], NULL) && !allowed(l, d, n);
}

/* Copies the entry of list `which` (for L_ALLOW also the data directory's
 * allow.txt) that ascii_domain matches (see match_entry) into out; false
 * when none matches or it does not fit. */
static bool copy_match(const bc_ctx *ctx, const char *ascii_domain, int which, char *out, size_t outlen)
{
    char d[BC_DOMAIN_LEN + 1];
    const bc_lists *l = ctx ? ctx->lists : NULL;
    size_t n = l && ascii_domain && out && outlen ? bc_domain_norm(ascii_domain, d) : 0;
    if (n == 0)
        return false;
    const char *m = match_entry(l, d, n, &l->set[which], which == L_ALLOW ? &l->user_allow : NULL);
    size_t mlen = m ? strlen(m) : 0;
    if (!m || mlen >= outlen)
        return false;
    memcpy(out, m, mlen + 1);
    return true;
}

/* The disposable-list entry ascii_domain matches (itself or a parent down
 * to the registrable domain), whether or not it is allow-listed. */
bool bc_disposable_match(const bc_ctx *ctx, const char *ascii_domain, char *out, size_t outlen)
{
    return copy_match(ctx, ascii_domain, L_DISPOSABLE, out, outlen);
}

/* The allow-list entry (built-in or the data directory's allow.txt) that
 * ascii_domain matches, itself or through a parent. */
bool bc_allowlist_match(const bc_ctx *ctx, const char *ascii_domain, char *out, size_t outlen)
{
    return copy_match(ctx, ascii_domain, L_ALLOW, out, outlen);
}

/* Free provider: the domain or a parent down to the registrable domain is a
 * free-mail domain, and the domain is not disposable. */
bool bc_lists_free_provider(const bc_lists *l, const char *ascii_domain)
{
    char d[BC_DOMAIN_LEN + 1];
    size_t n = l && ascii_domain ? bc_domain_norm(ascii_domain, d) : 0;
    if (n == 0)
        return false;
    return match_up(l, d, n, &l->set[L_FREE], NULL) && !bc_lists_disposable(l, d);
}

/* The role category of a local part (ASCII-lower-cased, +tag removed), as
 * an interned string owned by l; NULL when not a role address. */
const char *bc_lists_role(const bc_lists *l, const char *local)
{
    if (!l || !local)
        return NULL;
    char k[BC_STRSET_LINE_MAX + 1];
    size_t n = 0;
    for (; local[n] && local[n] != '+'; n++) {
        if (n == BC_STRSET_LINE_MAX)
            return NULL;
        char c = local[n];
        k[n] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    size_t i = bc_strset_find(&l->set[L_ROLE], k, n);
    if (i == SIZE_MAX)
        return NULL;
    size_t len;
    const char *line = bc_strset_line(&l->set[L_ROLE], i, &len);
    const char *cat = (const char *)memchr(line, '\t', len) + 1;
    size_t clen = len - (size_t)(cat - line);
    for (size_t c = 0; c < l->ncats; c++)
        if (strlen(l->cats[c]) == clen && memcmp(l->cats[c], cat, clen) == 0)
            return l->cats[c];
    return NULL;
}

/* A typo suggestion for a domain nobody knows to be real: not popular or
 * allow-listed, and not free-mail (itself or a parent down to the
 * registrable domain) unless it is a one-edit squat of a top provider
 * (gmal.com, yaho.com: free-mail lists carry such domains). Writes the
 * NUL-terminated suggestion to out (caller's buffer). */
bool bc_lists_suggest(const bc_lists *l, const char *ascii_domain, char *out, size_t outlen)
{
    char d[BC_DOMAIN_LEN + 1];
    size_t n = l && ascii_domain && out && outlen ? bc_domain_norm(ascii_domain, d) : 0;
    if (n == 0 || n > BC_SUGGEST_MAX)
        return false;
    if (match_up(l, d, n, &l->set[L_POPULAR], NULL) || allowed(l, d, n))
        return false;
    if (match_up(l, d, n, &l->set[L_FREE], NULL) && !bc_suggest_is_squat(d, n))
        return false;
    return bc_suggest_typo(&l->set[L_POPULAR], d, n, out, outlen);
}

/* Fills up to max entries describing the five lists; returns five. The
 * strings are owned by l. */
size_t bc_lists_describe(const bc_lists *l, bc_list_info *out, size_t max)
{
    if (!l)
        return 0;
    for (size_t w = 0; w < L__COUNT && w < max && out; w++) {
        out[w].name = list_names[w];
        out[w].count = w == L_ALLOW ? l->allow_count : l->set[w].count;
        out[w].source = l->source[w];
        out[w].license = l->license[w];
        out[w].origin = l->origin[w];
    }
    return L__COUNT;
}
