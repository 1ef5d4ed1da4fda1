/*
 * verdict.h - facts about an address -> status, reason and score.
 *
 * Every layer of the pipeline records what it learned in a bc_facts; the
 * verdict is one table, read top to bottom, first match wins (verdict.c).
 */
#ifndef BC_VERDICT_H
#define BC_VERDICT_H

#include <stdbool.h>

#include "bouncecheck.h"

/* How far the pipeline got. Offline stops after the domain data. */
typedef enum bc_stage {
    BC_STAGE_SYNTAX = 0, /* only syntax and the lists were consulted */
} bc_stage;

typedef struct bc_facts {
    bc_stage stage;
    bool syntax_valid;
    bool special_use;  /* RFC 6761/6762/7686/2606 domain: cannot receive Internet mail */
    bool disposable;
    bool role;
    bool free;
    bool suggestion;   /* a typo correction was found for the domain */
} bc_facts;

typedef struct bc_verdict {
    bc_verdict_status status;
    const char *reason; /* static snake_case */
    int score;          /* 0..100, within the status's band */
} bc_verdict;

/* Applies the verdict table to `f`. Pure. */
bc_verdict bc_verdict_decide(const bc_facts *f);

/* The band [lo, hi] scores of a status fall in. */
void bc_verdict_band(bc_verdict_status st, int *lo, int *hi);

#endif
