/*
 * verify.c - the verification pipeline. Offline: syntax, then what the
 * domain data knows; the verdict table turns the facts into a status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "result.h"

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Verifies one address offline. *out is owned by the caller. */
bc_status bc_verify_offline(bc_ctx *ctx, const char *email, size_t len, bc_result **out)
{
    if (!ctx || !out || (!email && len))
        return BC_EINVAL;
    *out = NULL;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    bc_result *r = calloc(1, sizeof *r);
    if (!r)
        return BC_ENOMEM;
    r->email = malloc(len + 1);
    if (!r->email) {
        free(r);
        return BC_ENOMEM;
    }
    if (len)
        memcpy(r->email, email, len);
    r->email[len] = '\0';
    r->email_len = len;

    bc_addr *a = &r->addr;
    bc_addr_parse(r->email, len, a);
    bc_facts *f = &r->facts;
    f->stage = BC_STAGE_SYNTAX;
    f->syntax_valid = a->valid;
    if (a->valid) {
        f->special_use = (a->flags & BC_ADDR_SPECIAL_USE) != 0;
        if (!(a->flags & BC_ADDR_DOMAIN_LITERAL)) {
            f->disposable = bc_is_disposable(ctx, a->ascii_domain);
            f->free = bc_is_free_provider(ctx, a->ascii_domain);
            char fixed[BC_DOMAIN_MAX];
            if (bc_suggest_domain(ctx, a->ascii_domain, fixed, sizeof fixed)) {
                int n = snprintf(r->suggestion, sizeof r->suggestion, "%s@%s", a->local, fixed);
                f->suggestion = n > 0 && (size_t)n < sizeof r->suggestion;
                if (!f->suggestion)
                    r->suggestion[0] = '\0';
            }
        }
        r->role_category = bc_role_category(ctx, a->local);
        f->role = r->role_category != NULL;
    }
    r->verdict = bc_verdict_decide(f);
    r->duration_ms = elapsed_ms(&t0);
    *out = r;
    return BC_OK;
}
