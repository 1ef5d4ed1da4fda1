/*
 * ui.c - looks up the web UI's embedded files (see ui.h).
 */
#include <stdlib.h>
#include <string.h>

#include "ui.h"

static int ui_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const sv_ui_asset *)elem)->path);
}

const sv_ui_asset *sv_ui_find(const char *path)
{
    return bsearch(path, sv_ui_assets, sv_ui_assets_count, sizeof sv_ui_assets[0], ui_cmp);
}
