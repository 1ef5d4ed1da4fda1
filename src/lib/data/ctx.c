/*
 * ctx.c - the library context: owns the loaded domain data and answers the
 * public list questions by delegating to lists.c.
 */
#include <stdlib.h>

#include "core/internal.h"
#include "data/lists.h"
#include "data/provider.h"

/* Creates a context and loads the lists (data_dir copies when complete,
 * else the built-in ones). The caller owns *out. */
bc_error bc_ctx_new(bc_ctx **out, const bc_options *opts, char *errbuf, size_t errlen)
{
    if (!out)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "bc_ctx_new: out is NULL");
    *out = NULL;
    bc_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    bc_error st = bc_lists_load(&ctx->lists, opts ? opts->data_dir : NULL, errbuf, errlen);
    if (st != BC_OK) {
        free(ctx);
        return st;
    }
    st = bc_providers_load(&ctx->providers, opts ? opts->providers_file : NULL, errbuf, errlen);
    if (st != BC_OK) {
        bc_lists_free(ctx->lists);
        free(ctx);
        return st;
    }
    *out = ctx;
    return BC_OK;
}

void bc_ctx_free(bc_ctx *ctx)
{
    if (!ctx)
        return;
    bc_lists_free(ctx->lists);
    bc_providers_free(ctx->providers);
    free(ctx);
}

bool bc_is_disposable(const bc_ctx *ctx, const char *ascii_domain)
{
    return ctx && ascii_domain && bc_lists_disposable(ctx->lists, ascii_domain);
}

bool bc_is_free_provider(const bc_ctx *ctx, const char *ascii_domain)
{
    return ctx && ascii_domain && bc_lists_free_provider(ctx->lists, ascii_domain);
}

const char *bc_role_category(const bc_ctx *ctx, const char *local)
{
    return ctx && local ? bc_lists_role(ctx->lists, local) : NULL;
}

bool bc_suggest_domain(const bc_ctx *ctx, const char *ascii_domain, char *out, size_t outlen)
{
    if (!ctx || !ascii_domain || !out || outlen == 0)
        return false;
    return bc_lists_suggest(ctx->lists, ascii_domain, out, outlen);
}

size_t bc_lists_info(const bc_ctx *ctx, bc_list_info *out, size_t max)
{
    return ctx ? bc_lists_describe(ctx->lists, out, max) : 0;
}
