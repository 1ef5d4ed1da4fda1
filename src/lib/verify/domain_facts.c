/*
 * domain_facts.c - the verifier's bounded cache of domain facts
 * (domain_facts.h): entries in one array that grows by doubling up to the
 * bound, chained by index in a hash table sized for the bound, and on a
 * doubly linked list from the most to the least recently used. A full
 * cache reuses its least recently used entry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verify/domain_facts.h"

#define DF_NONE UINT32_MAX
#define DF_MAX_LIMIT (1u << 26) /* far above any sensible bound; keeps indices in 32 bits */

typedef struct df_entry {
    char *name; /* owned */
    uint32_t hash;
    uint32_t hnext;        /* next in the bucket's chain */
    uint32_t newer, older; /* the recency list */
    bc_dfact f;
} df_entry;

struct bc_dfacts {
    df_entry *e;
    uint32_t n, cap, max; /* used, allocated, bound */
    uint32_t *buckets;    /* nbuckets heads, DF_NONE when empty */
    uint32_t nbuckets;    /* a power of two */
    uint32_t newest, oldest;
};

static uint32_t df_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

bc_dfacts *bc_dfacts_new(size_t max_entries)
{
    if (max_entries == 0)
        max_entries = BC_DFACTS_DEFAULT_MAX;
    if (max_entries > DF_MAX_LIMIT)
        max_entries = DF_MAX_LIMIT;
    bc_dfacts *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max = (uint32_t)max_entries;
    c->nbuckets = 16;
    while (c->nbuckets < c->max)
        c->nbuckets *= 2;
    c->buckets = malloc(c->nbuckets * sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    memset(c->buckets, 0xff, c->nbuckets * sizeof *c->buckets); /* DF_NONE */
    c->newest = c->oldest = DF_NONE;
    return c;
}

void bc_dfacts_free(bc_dfacts *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->n; i++)
        free(c->e[i].name);
    free(c->e);
    free(c->buckets);
    free(c);
}

static uint32_t df_find(const bc_dfacts *c, const char *name, uint32_t h)
{
    for (uint32_t i = c->buckets[h & (c->nbuckets - 1)]; i != DF_NONE; i = c->e[i].hnext)
        if (c->e[i].hash == h && strcmp(c->e[i].name, name) == 0)
            return i;
    return DF_NONE;
}

static void df_lru_unlink(bc_dfacts *c, uint32_t i)
{
    df_entry *x = &c->e[i];
    if (x->newer != DF_NONE)
        c->e[x->newer].older = x->older;
    else
        c->newest = x->older;
    if (x->older != DF_NONE)
        c->e[x->older].newer = x->newer;
    else
        c->oldest = x->newer;
    x->newer = x->older = DF_NONE;
}

static void df_lru_front(bc_dfacts *c, uint32_t i)
{
    df_entry *x = &c->e[i];
    x->older = c->newest;
    x->newer = DF_NONE;
    if (c->newest != DF_NONE)
        c->e[c->newest].newer = i;
    c->newest = i;
    if (c->oldest == DF_NONE)
        c->oldest = i;
}

static void df_unhash(bc_dfacts *c, uint32_t i)
{
    uint32_t *pp = &c->buckets[c->e[i].hash & (c->nbuckets - 1)];
    while (*pp != DF_NONE && *pp != i)
        pp = &c->e[*pp].hnext;
    if (*pp == i)
        *pp = c->e[i].hnext;
}

int bc_dfacts_get(bc_dfacts *c, const char *name, bc_dfact *out)
{
    if (!c || !name)
        return 0;
    uint32_t i = df_find(c, name, df_hash(name));
    if (i == DF_NONE)
        return 0;
    df_lru_unlink(c, i);
    df_lru_front(c, i);
    *out = c->e[i].f;
    return 1;
}

void bc_dfacts_put(bc_dfacts *c, const char *name, const bc_dfact *f)
{
    if (!c || !name || !f)
        return;
    uint32_t h = df_hash(name);
    uint32_t i = df_find(c, name, h);
    if (i != DF_NONE) {
        c->e[i].f = *f;
        df_lru_unlink(c, i);
        df_lru_front(c, i);
        return;
    }
    char *copy = strdup(name);
    if (!copy)
        return;
    if (c->n < c->max) {
        if (c->n == c->cap) {
            uint32_t cap = c->cap ? c->cap * 2 : 64;
            if (cap > c->max)
                cap = c->max;
            df_entry *e = realloc(c->e, (size_t)cap * sizeof *e);
            if (!e) {
                free(copy);
                return;
            }
            c->e = e;
            c->cap = cap;
        }
        i = c->n++;
    } else {
        /* full: the least recently used entry makes room */
        i = c->oldest;
        df_lru_unlink(c, i);
        df_unhash(c, i);
        free(c->e[i].name);
    }
    df_entry *x = &c->e[i];
    x->name = copy;
    x->hash = h;
    x->f = *f;
    uint32_t b = h & (c->nbuckets - 1);
    x->hnext = c->buckets[b];
    c->buckets[b] = i;
    df_lru_front(c, i);
}

size_t bc_dfacts_count(const bc_dfacts *c)
{
    return c ? c->n : 0;
}

size_t bc_dfacts_max(const bc_dfacts *c)
{
    return c ? c->max : 0;
}
