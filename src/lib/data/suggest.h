/*
 * suggest.h - typo suggestions for the domain of an address: a near miss of a
 * popular mailbox provider (gmial.com -> gmail.com) or of its top-level part
 * (gmail.con -> gmail.com).
 */
#ifndef BC_SUGGEST_H
#define BC_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/strset.h"

/* Longest domain the suggester looks at; longer ones are never typos of a
 * popular provider. */
#define BC_SUGGEST_MAX 64

/* Optimal string alignment (restricted Damerau-Levenshtein) distance between
 * a[0..alen) and b[0..blen): insertions, deletions, substitutions and
 * transpositions of adjacent bytes each cost 1. Stops early and returns
 * limit + 1 once the distance is known to exceed `limit`; also returns
 * limit + 1 when either string is longer than BC_SUGGEST_MAX. No allocation. */
size_t bc_osa_distance(const char *a, size_t alen, const char *b, size_t blen, size_t limit);

/* Looks for the popular domain the lower-case ASCII domain d[0..dlen) was
 * probably meant to be. The caller has already ruled out domains it knows to
 * be real (popular, free-mail, allow-listed). On success writes the NUL-
 * terminated suggestion to out (caller's buffer) and returns true. */
bool bc_suggest_typo(const bc_strset *popular, const char *d, size_t dlen, char *out, size_t outlen);

/* True when d[0..dlen) is one edit away from one of the few providers
 * (gmail.com, yahoo.com, hotmail.com, outlook.com, icloud.com) whose
 * one-edit neighbours are typo-squats (gmal.com, yaho.com). Free-mail lists
 * carry some of those; the caller still offers a suggestion for them. */
bool bc_suggest_is_squat(const char *d, size_t dlen);

#endif
