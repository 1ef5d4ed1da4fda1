/*
 * cmd_extract.c - `bouncecheck extract`: find the email addresses in text
 * and documents (bc_extract_file) and print them one per line, or as JSON,
 * deduplicated in order of first appearance unless --all.
 *
 * Memory: the deduplication table holds one entry per distinct address
 * (plus the few distinct file names and kinds); --all keeps nothing and
 * streams every occurrence.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

const char cli_help_extract_text[] =
    "Usage: bouncecheck extract [--json] [--all] [--obfuscated]\n"
    "                           [--max-extract-seconds S] [--max-extract-bytes N]\n"
    "                           [FILE...|-]\n"
    "\n"
    "Find the email addresses in each FILE (standard input when there is none,\n"
    "or for -): plain text, HTML, email messages and mbox files, CSV/TSV, JSON,\n"
    "PDF, DOCX, XLSX and ODT, detected from the content. Each address is printed\n"
    "once, in its ASCII form (A-label domain), in order of first appearance: the\n"
    "output can be piped into `bouncecheck verify -i -`. Two occurrences are the\n"
    "same address when they differ only in the case of ASCII letters of the\n"
    "local part or in the form of the domain (U-label or A-label).\n"
    "\n"
    "Options:\n"
    "  --all           print every occurrence, duplicates included\n"
    "  --obfuscated    also decode \"john [at] example [dot] com\", \"john(at)example.com\"\n"
    "                  and the like (off by default: noisy)\n"
    "  --json          print one JSON array: per address {address, ascii, count,\n"
    "                  first: {file, line}, kind}; with --all one object per\n"
    "                  occurrence {address, ascii, file, line, kind}\n"
    "  --max-extract-seconds S  CPU time one file may take, decoders included\n"
    "                  (default 10; 0: no limit)\n"
    "  --max-extract-bytes N    bytes one file may decode to at any stage: its text,\n"
    "                  a zip member unpacked, an HTML file or one email message\n"
    "                  held; K, M, G suffixes (default 256M; 0: no limit)\n"
    "  -h, --help      show this help\n"
    "\n"
    "address is the normalised form (IDN domains in U-labels), ascii the same with\n"
    "an A-label domain; kind says where it was found: text, html, mailto, header,\n"
    "body, csv, json, pdf, docx, xlsx, odt or obfuscated.\n"
    "\n"
    "A file that cannot be read (missing, binary, damaged or encrypted document)\n"
    "is reported as \"bouncecheck: extract: FILE: message\" and the other files are\n"
    "still read; addresses found in it before the problem are kept. A file that\n"
    "reaches a limit is read no further (\"FILE: stopped at the time limit ...\"),\n"
    "and the addresses found before it are printed. In email and mbox files a\n"
    "line or header over 1 MiB (a header block over 4 MiB) is cut there, with a\n"
    "note.\n"
    "\n"
    "Exit status: 0 every file was read, 2 usage error, 3 some file could not be\n"
    "read, 5 (else) a limit stopped some file part way.\n"
    "\n"
    "Examples:\n"
    "  bouncecheck extract page.html export.csv\n"
    "  bouncecheck extract --json mailbox.mbox\n"
    "  bouncecheck extract notes.txt | bouncecheck verify --offline -i -\n";

bool cli_extract_limit(bc_extract_options *o, const char *opt, const char *value)
{
    char *end;
    errno = 0;
    if (strcmp(opt, "seconds") == 0) {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v) || v < 0 || v > 86400)
            return false;
        o->max_seconds = v > 0 ? v : -1;
        return true;
    }
    if (*value < '0' || *value > '9')
        return false;
    unsigned long long v = strtoull(value, &end, 10);
    int shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (errno || end == value || *end || v > (1ULL << 40) >> shift)
        return false;
    o->max_bytes = v ? (int64_t)(v << shift) : -1;
    return true;
}

const char *cli_extract_limit_option(bc_extract_limit limit)
{
    return limit == BC_EXTRACT_LIMIT_BYTES ? "--max-extract-bytes" : "--max-extract-seconds";
}

/* One distinct address. */
typedef struct ex_entry {
    char *address; /* the first occurrence's forms; owned */
    char *ascii;
    unsigned long count; /* filled from the slot when printed */
    unsigned long line;
    size_t file; /* index into ex_state.names */
    size_t kind; /* index into ex_state.names */
} ex_entry;

/* A slot of the deduplication table. What a repeated address touches (its
 * hash, count and key) is in the slot and the key arena, not in the entry:
 * one cache miss fewer per hit on large lists. */
typedef struct ex_slot {
    uint32_t hash;
    uint32_t idx;   /* entry index + 1; 0 = empty */
    uint32_t count; /* occurrences (saturates) */
    uint32_t key;   /* offset of the key in ex_state.keys: the local part's
                       * ASCII letters lower-cased @ the A-label domain */
} ex_slot;

typedef struct ex_state {
    bool json, all;
    ex_entry *entries; /* in order of first appearance */
    size_t n, cap;
    struct ex_slot *slots; /* open addressing, a power of two, kept at least twice n */
    char *keys;            /* the keys, NUL-terminated, one after another */
    size_t keys_len, keys_cap;
    size_t nslots; /* a power of two, kept at least twice n */
    char **names;  /* interned file names and kinds; owned */
    size_t nnames, capnames;
    unsigned long printed; /* --all --json: objects written so far */
    bool oom, write_error;
} ex_state;

/* Hashes n bytes eight at a time (a multiply-xorshift mix per word); the
 * buffer is readable and zero up to the next multiple of eight. */
static uint64_t ex_hash(const char *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
    }
    h *= 0x94D049BB133111EBULL;
    return h ^ (h >> 29);
}

/* Duplicates s; NULL on ENOMEM. Caller frees. */
static char *ex_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* The index of s among the interned names, adding it when new; SIZE_MAX on
 * ENOMEM. Files and kinds are few, and consecutive hits nearly always share
 * them, so the last ones are looked at first. */
static size_t ex_intern(ex_state *st, const char *s)
{
    if (!s)
        s = "";
    for (size_t i = st->nnames; i-- > 0;)
        if (strcmp(st->names[i], s) == 0)
            return i;
    if (st->nnames == st->capnames) {
        size_t cap = st->capnames ? st->capnames * 2 : 16;
        char **p = realloc(st->names, cap * sizeof *p);
        if (!p)
            return SIZE_MAX;
        st->names = p;
        st->capnames = cap;
    }
    char *d = ex_dup(s);
    if (!d)
        return SIZE_MAX;
    st->names[st->nnames] = d;
    return st->nnames++;
}

/* The deduplication key of an address in ASCII form: the local part's ASCII
 * letters folded to lower case, the domain as given (already lower case).
 * Writes at most size bytes (a multiple of eight), zero-padded to the next
 * multiple of eight for ex_hash; returns the key's length. */
static size_t ex_key(const char *ascii, char *out, size_t size)
{
    size_t i = 0;
    bool local = true;
    for (; ascii[i] && i + 1 < size; i++) {
        char c = ascii[i];
        if (c == '@' && !strchr(ascii + i + 1, '@'))
            local = false;
        else if (local && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        out[i] = c;
    }
    size_t n = i;
    do
        out[i++] = '\0';
    while (i % 8 && i < size);
    return n;
}

/* Doubles the slot table (or creates it); false on ENOMEM. */
static bool ex_grow(ex_state *st)
{
    size_t n = st->nslots ? st->nslots * 2 : 1024;
    ex_slot *slots = calloc(n, sizeof *slots);
    if (!slots)
        return false;
    for (size_t k = 0; k < st->nslots; k++) {
        if (!st->slots[k].idx)
            continue;
        size_t i = st->slots[k].hash & (n - 1);
        while (slots[i].idx)
            i = (i + 1) & (n - 1);
        slots[i] = st->slots[k];
    }
    free(st->slots);
    st->slots = slots;
    st->nslots = n;
    return true;
}

/* The slot of key, or a new one with a new entry (count 0) when key is
 * new; NULL on ENOMEM or past the table's limits. *is_new tells which. */
static ex_slot *ex_find_or_add(ex_state *st, const char *key, size_t keylen, bool *is_new)
{
    *is_new = false;
    if ((st->n + 1) * 2 > st->nslots && !ex_grow(st))
        return NULL;
    uint32_t h = (uint32_t)(ex_hash(key, keylen) >> 32);
    size_t i = h & (st->nslots - 1);
    size_t klen = keylen + 1;
    while (st->slots[i].idx) {
        if (st->slots[i].hash == h && memcmp(st->keys + st->slots[i].key, key, klen) == 0)
            return &st->slots[i];
        i = (i + 1) & (st->nslots - 1);
    }
    if (st->n >= UINT32_MAX - 1 || st->keys_len + klen > UINT32_MAX)
        return NULL;
    if (st->keys_len + klen > st->keys_cap) {
        size_t cap = st->keys_cap ? st->keys_cap * 2 : 64 * 1024;
        while (cap < st->keys_len + klen)
            cap *= 2;
        char *k = realloc(st->keys, cap);
        if (!k)
            return NULL;
        st->keys = k;
        st->keys_cap = cap;
    }
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 256;
        ex_entry *p = realloc(st->entries, cap * sizeof *p);
        if (!p)
            return NULL;
        st->entries = p;
        st->cap = cap;
    }
    memset(&st->entries[st->n], 0, sizeof st->entries[st->n]);
    memcpy(st->keys + st->keys_len, key, klen);
    st->slots[i] = (ex_slot){ h, (uint32_t)++st->n, 0, (uint32_t)st->keys_len };
    st->keys_len += klen;
    *is_new = true;
    return &st->slots[i];
}

/* --all --json: one occurrence as an element of the streamed array. */
static void ex_print_occurrence(ex_state *st, const bc_extract_hit *hit)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s}", "address", hit->address, "ascii", hit->ascii, "file",
                          hit->file ? hit->file : "", "line", (json_int_t)hit->line, "kind",
                          hit->kind ? hit->kind : "");
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        st->oom = true;
        return;
    }
    if (printf("%s\n  %s", st->printed ? "," : "[", text) < 0)
        st->write_error = true;
    st->printed++;
    free(text);
}

/* The scanner's callback: every hit, in order. */
static void on_hit(void *arg, const bc_extract_hit *hit)
{
    ex_state *st = arg;
    if (!hit || !hit->ascii || !hit->address || st->oom)
        return;
    if (st->all) {
        if (st->json)
            ex_print_occurrence(st, hit);
        else if (puts(hit->ascii) < 0)
            st->write_error = true;
        return;
    }
    char key[(BC_ADDR_MAX + 7) / 8 * 8];
    size_t keylen = ex_key(hit->ascii, key, sizeof key);
    bool is_new;
    ex_slot *slot = ex_find_or_add(st, key, keylen, &is_new);
    if (!slot) {
        st->oom = true;
        return;
    }
    if (slot->count < UINT32_MAX)
        slot->count++;
    if (!is_new)
        return;
    ex_entry *e = &st->entries[slot->idx - 1];
    if (st->json) {
        e->address = ex_dup(hit->address);
        e->ascii = ex_dup(hit->ascii);
        e->file = ex_intern(st, hit->file);
        e->kind = ex_intern(st, hit->kind);
        e->line = hit->line;
        if (!e->address || !e->ascii || e->file == SIZE_MAX || e->kind == SIZE_MAX)
            st->oom = true;
    } else if (puts(hit->ascii) < 0) {
        st->write_error = true;
    }
}

/* Prints the deduplicated entries as one JSON array; false on ENOMEM or a
 * write error. */
static bool ex_print_json(ex_state *st)
{
    for (size_t k = 0; k < st->nslots; k++)
        if (st->slots[k].idx)
            st->entries[st->slots[k].idx - 1].count = st->slots[k].count;
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < st->n; i++) {
        const ex_entry *e = &st->entries[i];
        json_t *o = json_pack("{s:s, s:s, s:I, s:{s:s, s:I}, s:s}", "address", e->address, "ascii", e->ascii,
                              "count", (json_int_t)e->count, "first", "file", st->names[e->file], "line",
                              (json_int_t)e->line, "kind", st->names[e->kind]);
        ok = o && json_array_append_new(arr, o) == 0;
    }
    ok = ok && json_dumpf(arr, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF;
    json_decref(arr);
    return ok;
}

static void ex_state_free(ex_state *st)
{
    free(st->keys);
    for (size_t i = 0; i < st->n; i++) {
        free(st->entries[i].address);
        free(st->entries[i].ascii);
    }
    free(st->entries);
    free(st->slots);
    for (size_t i = 0; i < st->nnames; i++)
        free(st->names[i]);
    free(st->names);
}

int cmd_extract(int argc, char **argv, const cli_global *g)
{
    (void)g;
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "all", no_argument, NULL, 'a' },
        { "obfuscated", no_argument, NULL, 'o' },
        { "max-extract-seconds", required_argument, NULL, 'S' },
        { "max-extract-bytes", required_argument, NULL, 'B' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    ex_state st;
    memset(&st, 0, sizeof st);
    bc_extract_options eo = { .obfuscated = false };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': st.json = true; break;
        case 'a': st.all = true; break;
        case 'o': eo.obfuscated = true; break;
        case 'S':
        case 'B':
            if (!cli_extract_limit(&eo, c == 'S' ? "seconds" : "bytes", optarg)) {
                cli_error("extract: --max-extract-%s: '%s' is not a valid value", c == 'S' ? "seconds" : "bytes",
                          optarg);
                fputs("Try 'bouncecheck extract --help'.\n", stderr);
                return BC_EXIT_USAGE;
            }
            break;
        case 'h': fputs(cli_help_extract_text, stdout); return BC_EXIT_OK;
        default: fputs("Try 'bouncecheck extract --help'.\n", stderr); return BC_EXIT_USAGE;
        }
    }
    int nstdin = 0;
    for (int i = optind; i < argc; i++)
        nstdin += strcmp(argv[i], "-") == 0;
    if (nstdin > 1) {
        cli_error("extract: standard input (-) can be read only once");
        return BC_EXIT_USAGE;
    }
    bc_scanner *s = bc_scanner_new(&eo, on_hit, &st);
    if (!s) {
        cli_error("extract: out of memory");
        return BC_EXIT_FAILURE;
    }
    static const char *const stdin_only[] = { "-" };
    const char *const *files = optind < argc ? (const char *const *)argv + optind : stdin_only;
    int nfiles = optind < argc ? argc - optind : 1;
    int rc = BC_EXIT_OK;
    bool limited = false;
    for (int i = 0; i < nfiles && !st.oom && !st.write_error; i++) {
        char err[512] = "";
        bc_error bs = bc_extract_file(s, files[i], err, sizeof err);
        fflush(stdout);
        bc_extract_stats xs;
        bc_scanner_stats(s, &xs);
        size_t flen = strlen(files[i]);
        char *safe = cli_sanitize(files[i], flen);
        if (bs == BC_ENOMEM) {
            st.oom = true;
        } else if (bs != BC_OK) {
            /* The message may already start with the file's name. */
            const char *msg = err[0] ? err : bc_strerror(bs);
            if (strncmp(msg, files[i], flen) == 0 && msg[flen] == ':' && msg[flen + 1] == ' ')
                msg += flen + 2;
            if (bs == BC_ELIMIT) {
                cli_error("extract: %s: %s; the addresses found before it are kept (the limit: %s)",
                          safe ? safe : files[i], msg, cli_extract_limit_option(xs.limit));
                limited = true;
            } else {
                cli_error("extract: %s: %s", safe ? safe : files[i], msg);
                rc = BC_EXIT_INPUT;
            }
        }
        if (xs.lines_cut)
            cli_error("extract: %s: note: %lu cut at 1 MiB (a longer line, header or header block; the first at"
                      " line %lu)",
                      safe ? safe : files[i], xs.lines_cut, xs.first_cut);
        free(safe);
    }
    if (limited && rc == BC_EXIT_OK)
        rc = BC_EXIT_LIMIT;
    bc_scanner_free(s);
    if (!st.oom && !st.write_error && st.json) {
        if (st.all) {
            if (printf("%s\n", st.printed ? "\n]" : "[]") < 0)
                st.write_error = true;
        } else if (!ex_print_json(&st)) {
            st.oom = true;
        }
    }
    if (fflush(stdout) != 0)
        st.write_error = true;
    if (st.oom) {
        cli_error("extract: out of memory");
        rc = BC_EXIT_FAILURE;
    } else if (st.write_error) {
        cli_error("extract: writing the output failed");
        rc = BC_EXIT_FAILURE;
    }
    ex_state_free(&st);
    return rc;
}
