/*
 * verify.c - the offline stage of the pipeline: syntax, then what the domain
 * data knows. bc_verify_offline() stops there; the online verifier
 * (verifier.c) starts every address here too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/internal.h"
#include "smtp/smtp_probe.h"
#include "verify/result.h"

bc_result *bc_result_offline_new(bc_ctx *ctx, const char *email, size_t len)
{
    bc_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->email = malloc(len + 1);
    if (!r->email) {
        free(r);
        return NULL;
    }
    if (len)
        memcpy(r->email, email, len);
    r->email[len] = '\0';
    r->email_len = len;

    bc_addr *a = &r->addr;
    bc_addr_parse(r->email, len, a);
    bc_facts *f = &r->facts;
    f->stage = BC_STAGE_SYNTAX;
    f->accept_all = BC_UNKNOWN;
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
    return r;
}

void bc_result_decide(bc_result *r)
{
    r->verdict = bc_verdict_decide(&r->facts);
    if (r->reason_override)
        r->verdict.reason = r->reason_override;
}

/* Verifies one address offline. *out is owned by the caller. */
bc_error bc_verify_offline(bc_ctx *ctx, const char *email, size_t len, bc_result **out)
{
    if (!ctx || !out || (!email && len))
        return BC_EINVAL;
    *out = NULL;
    long t0 = bc_now_ms();
    bc_result *r = bc_result_offline_new(ctx, email, len);
    if (!r)
        return BC_ENOMEM;
    bc_result_decide(r);
    r->duration_ms = bc_now_ms() - t0;
    *out = r;
    return BC_OK;
}
