/*
 * lists.h - the domain data: disposable, free-mail, role local parts, the
 * allow list and the popular domains used for typo suggestions.
 *
 * The lists are compiled into the library (data_embed.c, generated from data/
 * by tools/embed.py) and can be replaced at run time by newer copies that
 * bc_lists_update() wrote into a data directory.
 */
#ifndef BC_LISTS_H
#define BC_LISTS_H

#include <stdbool.h>
#include <stddef.h>

#include "bouncecheck.h"

typedef struct bc_lists bc_lists;

/* Loads every list: from data_dir when it holds a complete set written by
 * bc_lists_update(), else the built-in copies. *out is owned by the caller. */
bc_error bc_lists_load(bc_lists **out, const char *data_dir, char *errbuf, size_t errlen);
void bc_lists_free(bc_lists *l);

bool bc_lists_disposable(const bc_lists *l, const char *ascii_domain);
bool bc_lists_free_provider(const bc_lists *l, const char *ascii_domain);
const char *bc_lists_role(const bc_lists *l, const char *local);
bool bc_lists_suggest(const bc_lists *l, const char *ascii_domain, char *out, size_t outlen);
size_t bc_lists_describe(const bc_lists *l, bc_list_info *out, size_t max);

#endif
