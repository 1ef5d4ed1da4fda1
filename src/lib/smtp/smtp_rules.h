/*
 * smtp_rules.h - the tables that say how a reply is read (smtp_rules.c) and
 * the types they are written in. Only smtp_classify.c reads them.
 */
#ifndef BC_SMTP_RULES_H
#define BC_SMTP_RULES_H

#include "smtp/smtp_reply.h"

/* Kinds of evidence a reply's text can carry (bits). */
enum {
    BC_RF_MBX = 1u << 0,       /* the mailbox does not exist */
    BC_RF_MBX_WEAK = 1u << 1,  /* mailbox words that policy rejections use too */
    BC_RF_DISABLED = 1u << 2,  /* the account is disabled, inactive, suspended, blocked */
    BC_RF_FULL = 1u << 3,      /* the mailbox is full */
    BC_RF_SENDER = 1u << 4,    /* our MAIL FROM address, its domain, SPF/DKIM/DMARC */
    BC_RF_RATE = 1u << 5,      /* rates, volumes, too many recipients or connections */
    BC_RF_CLIENT = 1u << 6,    /* our client: IP, PTR, HELO, reputation, blocklists */
    BC_RF_BLOCK = 1u << 7,     /* "blocked", "denied", without saying what */
    BC_RF_CONTENT = 1u << 8,   /* spam, virus, size, 8-bit data */
    BC_RF_AUTH = 1u << 9,      /* authentication or TLS required */
    BC_RF_RELAY = 1u << 10,    /* relaying denied */
    BC_RF_POLICY = 1u << 11,   /* a policy, a rule, "access denied" */
    BC_RF_SERVER = 1u << 12,   /* the server's own trouble */
    BC_RF_GREY = 1u << 13,     /* greylisting named as such */
    BC_RF_LATER = 1u << 14,    /* "try again later" */
    BC_RF_MBX_HINT = 1u << 15, /* "recipient rejected": mailbox only with an x.1 code */
    BC_RF_EITHER = 1u << 16,   /* "not found or access denied": two readings */
};

typedef struct bc_reply_phrase {
    const char *text; /* folded; trailing '*' = prefix, leading '~' = anywhere */
    unsigned family;  /* one BC_RF_* bit */
} bc_reply_phrase;

/* Which replies a rule applies to (bits of bc_reply_rule.codes). */
enum {
    BC_RC_4XX = 1u << 0, /* 4xx other than 421 */
    BC_RC_421 = 1u << 1,
    BC_RC_5XX = 1u << 2,
    BC_RC_450_451_ONLY = 1u << 3, /* and the basic code is 450 or 451 */
};

#define BC_ENH_ANY (-1)  /* any enhanced code, or none */
#define BC_ENH_NONE (-2) /* (as subject) the reply has no enhanced code */

typedef struct bc_reply_rule {
    const char *name;    /* stable, shown as smtp.rule */
    unsigned codes;      /* BC_RC_* */
    int subject, detail; /* enhanced code x.subject.detail; BC_ENH_ANY; subject BC_ENH_NONE */
    unsigned need_any;   /* the text has at least one of these kinds (0: nothing needed) */
    unsigned forbid;     /* the text has none of these kinds */
    bc_smtp_class cls;
} bc_reply_rule;

/* Both tables end with an entry whose first field is NULL. */
extern const bc_reply_phrase bc_reply_phrases[];
extern const bc_reply_rule bc_reply_rules[];

/* The kinds of evidence (BC_RF_* bits) in a reply text. Pure. */
unsigned bc_reply_evidence(const char *text);

/* Folds a reply text the way the phrases are written (lower case, accents
 * removed, Cyrillic lower-cased, white space collapsed, words holding an
 * address dropped) into out; returns its length. */
#define BC_REPLY_FOLD_MAX (BC_SMTP_TEXT_MAX * 2)
size_t bc_reply_fold(const char *text, char out[BC_REPLY_FOLD_MAX]);

/* Whether the folded phrase occurs in the folded text, on word boundaries
 * (a trailing '*' makes it a prefix; a leading '~' matches anywhere). */
bool bc_reply_folded_has(const char *folded, const char *phrase);

#endif
