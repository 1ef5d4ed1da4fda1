/*
 * fuzz_providers.c - libFuzzer target for loading a user's provider rules
 * file (--providers FILE, provider.h): the input is the file, read after
 * the built-in rules. It must load or fail with a message naming the file,
 * never crash; loaded rules must keep provider.h's promises (names, lower
 * case MX suffixes that match themselves, rule codes and classes in range,
 * blocklists with a text and a URL).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/provider.h"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

/* The file the input is written to, made once per process and removed
 * when it exits. */
static char path[4096];

static void remove_file(void)
{
    unlink(path);
}

static void check_rules(const bc_providers *p)
{
    require(p->n > 0); /* the built-in rules are always there */
    for (size_t i = 0; i < p->n; i++) {
        const bc_provider *v = &p->v[i];
        require(v->name && v->name[0] && v->provider);
        require(v->nmx > 0 && v->mx);
        require(v->mx_connections >= 0 && v->mx_connections <= 100);
        require(v->rcpts_per_connection >= 0 && v->rcpts_per_connection <= 100);
        require(!v->proxy == !v->proxy_parsed);
        for (size_t k = 0; k < i; k++)
            require(strcmp(p->v[k].name, v->name) != 0);
        for (size_t k = 0; k < v->nmx; k++) {
            require(v->mx[k] && v->mx[k][0]);
            for (const char *c = v->mx[k]; *c; c++)
                require(!(*c >= 'A' && *c <= 'Z'));
            /* some provider (this one or one with a longer suffix) owns it */
            require(bc_providers_match(p, v->mx[k]) != NULL);
        }
        for (size_t k = 0; k < v->nrules; k++) {
            const bc_provider_rule *r = &v->rules[k];
            require(r->name && r->name[0]);
            require(r->code_class == 0 || r->code_class == 4 || r->code_class == 5);
            require(r->code == 0 || (r->code >= 400 && r->code <= 599));
            require(r->enh_subject >= -1 && r->enh_subject <= 999);
            require(r->enh_detail >= -1 && r->enh_detail <= 999);
            require(r->ntext == 0 || r->text);
            require(strcmp(bc_smtp_class_name(r->cls), "unknown") != 0);
        }
    }
    for (size_t i = 0; i < p->nbl; i++) {
        require(p->bl[i].text && p->bl[i].name && p->bl[i].url);
        (void)bc_providers_blocklist_url(p, p->bl[i].text, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    if (!path[0]) {
        const char *tmp = getenv("TMPDIR");
        int n = snprintf(path, sizeof path, "%s/bc-fuzz-providers-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (n < 0 || (size_t)n >= sizeof path)
            snprintf(path, sizeof path, "/tmp/bc-fuzz-providers-XXXXXX");
        int fd = mkstemp(path);
        require(fd >= 0);
        close(fd);
        atexit(remove_file);
    }
    FILE *f = fopen(path, "wb");
    require(f != NULL);
    require(fwrite(data, 1, size, f) == size);
    require(fclose(f) == 0);

    bc_providers *p = NULL;
    char err[512];
    err[0] = '\0';
    bc_error st = bc_providers_load(&p, path, err, sizeof err);
    if (st == BC_OK) {
        require(p != NULL);
        check_rules(p);
    } else {
        require(p == NULL && st == BC_EDATA);
        require(memchr(err, '\0', sizeof err) != NULL);
        require(strncmp(err, path, strlen(path)) == 0);
    }
    bc_providers_free(p);
    return 0;
}
