/*
 * suggest.c - typo suggestions against the popular provider domains.
 *
 * Two rules, tried in order:
 *  1. TLD fix: the first label is exactly that of a popular domain and the
 *     rest is not itself a real public suffix (by the ICANN part of the
 *     Public Suffix List; "co", "cm", "om", "ne" count as typos); the rest is
 *     compared with the rests of the popular domains sharing that label
 *     (gmail.con -> gmail.com, yahoo.co -> yahoo.com). Distance 1, or 2 for
 *     rests of three or more characters; on a tie "com" wins.
 *  2. Whole-domain near miss: optimal string alignment distance to every
 *     popular domain, at most 1, or 2 when both names have 10+ characters
 *     and start with the same letter.
 *     Inputs whose first label is shorter than four characters are skipped
 *     (gmc.com, aok.com are real domains one edit away from gmx.com,
 *     aol.com), and so is a popular domain with the same first label when
 *     the input ends in a real suffix (hotmail.co.il is not a typo of
 *     hotmail.co.uk, gmx.at not of gmx.de).
 * In both rules the best candidate must be unique: a tie suggests nothing.
 */
#include <stdint.h>
#include <string.h>

#include <libpsl.h>

#include "data/suggest.h"

/* ICANN suffixes that are far more often a mistyped "com"/"net" than meant
 * (Colombia, Cameroon, Oman, Niger): an input ending in one of these may
 * still be corrected. */
static const char *const typo_suffixes[] = { "co", "cm", "om", "ne" };

/* Providers whose one-edit neighbours are all typo-squats: such a neighbour
 * gets a suggestion even when a free-mail list carries it (see suggest.h). */
static const char *const squatted[] = { "gmail.com", "hotmail.com", "icloud.com", "outlook.com", "yahoo.com" };

/* True when s[0..n) is a real public suffix (ICANN section of the Public
 * Suffix List, without the implicit "*" rule) that is not a classic typo. */
static bool is_real_suffix(const char *s, size_t n)
{
    char buf[BC_SUGGEST_MAX + 1];
    if (n == 0 || n > BC_SUGGEST_MAX)
        return false;
    for (size_t i = 0; i < sizeof typo_suffixes / sizeof typo_suffixes[0]; i++)
        if (strlen(typo_suffixes[i]) == n && memcmp(typo_suffixes[i], s, n) == 0)
            return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const psl_ctx_t *psl = psl_builtin();
    return psl && psl_is_public_suffix2(psl, buf, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE);
}

/* Length of the first label of d[0..n) (up to the first dot, or n). */
static size_t first_label(const char *d, size_t n)
{
    const char *dot = memchr(d, '.', n);
    return dot ? (size_t)(dot - d) : n;
}

/* The OSA distance with an early exit (see suggest.h). Uses three rows on
 * the stack. */
size_t bc_osa_distance(const char *a, size_t alen, const char *b, size_t blen, size_t limit)
{
    if (alen > BC_SUGGEST_MAX || blen > BC_SUGGEST_MAX)
        return limit + 1;
    size_t diff = alen > blen ? alen - blen : blen - alen;
    if (diff > limit)
        return limit + 1;
    size_t rows[3][BC_SUGGEST_MAX + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= blen; j++)
        prev[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = i;
        size_t rowmin = cur[0];
        for (size_t j = 1; j <= blen; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = prev[j - 1] + cost; /* substitute / match */
            if (prev[j] + 1 < v)
                v = prev[j] + 1; /* delete from a */
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1; /* insert into a */
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1; /* transpose */
            cur[j] = v;
            if (v < rowmin)
                rowmin = v;
        }
        if (rowmin > limit)
            return limit + 1;
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[blen] <= limit ? prev[blen] : limit + 1;
}

/* Tracks the best candidate of a rule: its index, distance and whether
 * another candidate shares that distance. */
typedef struct best {
    size_t idx, dist;
    bool tie;
} best;

/* Feeds one candidate into *b. */
static void best_offer(best *b, size_t idx, size_t dist)
{
    if (dist < b->dist) {
        b->idx = idx;
        b->dist = dist;
        b->tie = false;
    } else if (dist == b->dist) {
        b->tie = true;
    }
}

/* Copies popular line b->idx into out when *b holds a unique match within
 * `limit`. Returns true when it did. */
static bool best_emit(const best *b, size_t limit, const bc_strset *popular, char *out, size_t outlen)
{
    if (b->idx == SIZE_MAX || b->dist > limit || b->tie)
        return false;
    size_t n;
    const char *p = bc_strset_line(popular, b->idx, &n);
    if (n + 1 > outlen)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* Rule 1: fix the part after the first label (see the file comment). */
static bool tld_fix(const bc_strset *popular, const char *d, size_t dlen, char *out, size_t outlen)
{
    size_t sld = first_label(d, dlen);
    if (sld == dlen || sld == 0)
        return false;
    const char *rest = d + sld + 1;
    size_t restlen = dlen - sld - 1;
    if (restlen == 0 || is_real_suffix(rest, restlen))
        return false;
    size_t limit = restlen >= 3 ? 2 : 1;
    best b = { SIZE_MAX, SIZE_MAX, false };
    for (size_t i = 0; i < popular->count; i++) {
        size_t n;
        const char *p = bc_strset_line(popular, i, &n);
        if (first_label(p, n) != sld || n <= sld + 1 || memcmp(p, d, sld + 1) != 0)
            continue;
        const char *prest = p + sld + 1;
        size_t prestlen = n - sld - 1;
        size_t dist = bc_osa_distance(rest, restlen, prest, prestlen, limit);
        /* Rank by twice the distance, "com" winning a tie: yahoo.co is far
         * likelier to mean yahoo.com than yahoo.ca. */
        bool com = prestlen == 3 && memcmp(prest, "com", 3) == 0;
        if (dist <= limit)
            best_offer(&b, i, 2 * dist + (com ? 0 : 1));
    }
    return best_emit(&b, 2 * limit + 1, popular, out, outlen);
}

/* Rule 2: the whole domain is a near miss of one popular domain. */
static bool near_miss(const bc_strset *popular, const char *d, size_t dlen, char *out, size_t outlen)
{
    size_t sld = first_label(d, dlen);
    if (sld < 4 || sld == dlen)
        return false;
    const char *rest = d + sld + 1;
    size_t restlen = dlen - sld - 1;
    bool real_tld = is_real_suffix(rest, restlen);
    best b = { SIZE_MAX, SIZE_MAX, false };
    for (size_t i = 0; i < popular->count; i++) {
        size_t n;
        const char *p = bc_strset_line(popular, i, &n);
        /* Two edits only when both names are long enough to carry them. */
        size_t limit = dlen >= 10 && n >= 10 ? 2 : 1;
        size_t diff = n > dlen ? n - dlen : dlen - n;
        if (diff > limit)
            continue;
        /* Same provider label on another real TLD: a different domain. */
        if (real_tld && first_label(p, n) == sld && memcmp(p, d, sld + 1) == 0)
            continue;
        size_t dist = bc_osa_distance(d, dlen, p, n, limit);
        /* Two edits and a different first letter is another name
         * (bootmail.com is not hotmail.com). */
        if (dist == 2 && d[0] != p[0])
            continue;
        if (dist <= limit)
            best_offer(&b, i, dist);
    }
    return best_emit(&b, b.dist, popular, out, outlen);
}

/* True when d is one edit away from a heavily squatted provider (see
 * suggest.h). */
bool bc_suggest_is_squat(const char *d, size_t dlen)
{
    for (size_t i = 0; i < sizeof squatted / sizeof squatted[0]; i++) {
        size_t n = strlen(squatted[i]);
        if (bc_osa_distance(d, dlen, squatted[i], n, 1) == 1)
            return true;
    }
    return false;
}

/* Tries the TLD fix, then the whole-domain near miss (see suggest.h). */
bool bc_suggest_typo(const bc_strset *popular, const char *d, size_t dlen, char *out, size_t outlen)
{
    if (!popular || !d || !out || outlen == 0 || dlen == 0 || dlen > BC_SUGGEST_MAX)
        return false;
    if (bc_strset_contains(popular, d, dlen))
        return false;
    return tld_fix(popular, d, dlen, out, outlen) || near_miss(popular, d, dlen, out, outlen);
}
