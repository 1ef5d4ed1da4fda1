/*
 * fuzz_extract_file.c - libFuzzer target for the extractor's file decoders
 * (src/lib/extract/extract_formats.c): format detection, JSON, HTML, CSV and the
 * zipped documents (DOCX, XLSX, ODT), everything bc_extract_file reads
 * before the scanner (which fuzz_extract covers). The first input byte
 * picks the file name's extension (a hint to the detection) and the
 * obfuscated mode; the rest is the file. E-mail and PDF go to a module
 * loaded at run time, which is not there in a fuzzing build: those inputs
 * end in a message like any other error. Every input must end in BC_OK or
 * an error with a message, and every hit must be a valid, normalised
 * address.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bouncecheck.h"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

static const char *const exts[] = { "", ".txt", ".html", ".json", ".csv", ".eml", ".mbox", ".docx" };
#define NEXT (sizeof exts / sizeof exts[0])

/* One file per extension, made once per process and removed when it exits. */
static char paths[NEXT][4096];

static void remove_files(void)
{
    for (size_t i = 0; i < NEXT; i++)
        if (paths[i][0])
            unlink(paths[i]);
}

static const char *path_for(size_t k)
{
    if (!paths[k][0]) {
        const char *tmp = getenv("TMPDIR");
        int n = snprintf(paths[k], sizeof paths[k], "%s/bc-fuzz-extract-XXXXXX%s", tmp && *tmp ? tmp : "/tmp",
                         exts[k]);
        if (n < 0 || (size_t)n >= sizeof paths[k])
            snprintf(paths[k], sizeof paths[k], "/tmp/bc-fuzz-extract-XXXXXX%s", exts[k]);
        int fd = mkstemps(paths[k], (int)strlen(exts[k]));
        require(fd >= 0);
        close(fd);
        static bool registered;
        if (!registered)
            atexit(remove_files);
        registered = true;
    }
    return paths[k];
}

static void on_hit(void *arg, const bc_extract_hit *h)
{
    size_t *n = arg;
    static bc_addr a;
    require(h->address && h->ascii && h->file && h->kind && h->line >= 1);
    bc_addr_parse(h->ascii, strlen(h->ascii), &a);
    require(a.valid);
    bc_addr_parse(h->address, strlen(h->address), &a);
    require(a.valid);
    require(strcmp(a.normalized, h->address) == 0);
    (*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 1024 * 1024)
        return 0;
    size_t k = data[0] % NEXT;
    bc_extract_options o = { .obfuscated = (data[0] & 0x80) != 0 };
    const char *path = path_for(k);
    FILE *f = fopen(path, "wb");
    require(f != NULL);
    require(fwrite(data + 1, 1, size - 1, f) == size - 1);
    require(fclose(f) == 0);

    size_t hits = 0;
    bc_scanner *s = bc_scanner_new(&o, on_hit, &hits);
    if (!s)
        return 0;
    char err[512];
    err[0] = '\0';
    bc_error st = bc_extract_file(s, path, err, sizeof err);
    if (st != BC_OK)
        require(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
    bc_scanner_end(s);
    bc_scanner_free(s);
    return 0;
}
