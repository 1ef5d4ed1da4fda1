/*
 * verdict.c - the verdict table: facts -> status, reason, score.
 *
 * Read the table top to bottom: the first rule whose test holds decides the
 * status, the reason and the base score. Adjustments then move the score
 * inside the status's band, never across bands, so the score always agrees
 * with the status. Later pipeline stages (DNS, SMTP) add rows here and
 * nowhere else.
 */
#include <stddef.h>

#include "verify/verdict.h"

typedef bool (*rule_test)(const bc_facts *f);

static bool t_syntax_invalid(const bc_facts *f)
{
    return !f->syntax_valid;
}
static bool t_special_use(const bc_facts *f)
{
    return f->special_use;
}
static bool t_nxdomain(const bc_facts *f)
{
    return f->dns == BC_DNSF_NXDOMAIN;
}
static bool t_null_mx(const bc_facts *f)
{
    return f->dns == BC_DNSF_NULL_MX;
}
static bool t_no_mail(const bc_facts *f)
{
    return f->dns == BC_DNSF_NO_MAIL;
}
static bool t_rejected(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_REJECTED;
}
static bool t_disabled(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_DISABLED;
}
static bool t_disposable(const bc_facts *f)
{
    return f->disposable;
}
static bool t_full(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_FULL;
}
static bool t_accept_all(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_ACCEPTED && f->accept_all == BC_YES;
}
static bool t_accepted(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_ACCEPTED;
}
static bool t_unverifiable(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_ACCEPTED && f->provider_unverifiable;
}
static bool t_dns_error(const bc_facts *f)
{
    return f->dns == BC_DNSF_TEMPFAIL;
}
static bool t_dns_unreliable(const bc_facts *f)
{
    return f->dns == BC_DNSF_UNRELIABLE;
}
static bool t_unsafe(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_UNSAFE_TARGET;
}
static bool t_utf8(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_UTF8_UNSUPPORTED;
}
static bool t_greylisted(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_GREYLISTED;
}
static bool t_blocked(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_BLOCKED;
}
static bool t_tempfail(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_TEMPFAIL;
}
static bool t_server_rejected(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_SERVER_REJECTED;
}
static bool t_sender_rejected(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_SENDER_REJECTED;
}
static bool t_rate_limited(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_RATE_LIMITED;
}
static bool t_policy_rejected(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_POLICY_REJECTED;
}
static bool t_server_error(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_SERVER_ERROR;
}
static bool t_no_connect(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_NO_CONNECT;
}
static bool t_timeout(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_TIMEOUT;
}
static bool t_protocol(const bc_facts *f)
{
    return f->smtp == BC_SMTPF_PROTOCOL;
}
static bool t_syntax_only(const bc_facts *f)
{
    return f->stage == BC_STAGE_SYNTAX;
}

/* Permanent facts first (they hold whatever else we know), then what makes
 * an address risky, then acceptance, then everything we could not tell. */
static const struct rule {
    rule_test test;
    bc_verdict_status status;
    const char *reason;
    int score;
} rules[] = {
    /* test                status                   reason                   score */
    { t_syntax_invalid, BC_STATUS_UNDELIVERABLE, "invalid_syntax", 0 },
    { t_special_use, BC_STATUS_UNDELIVERABLE, "special_use_domain", 0 },
    { t_nxdomain, BC_STATUS_UNDELIVERABLE, "invalid_domain", 0 },
    { t_null_mx, BC_STATUS_UNDELIVERABLE, "null_mx", 0 },
    { t_no_mail, BC_STATUS_UNDELIVERABLE, "no_mail_server", 2 },
    { t_rejected, BC_STATUS_UNDELIVERABLE, "rejected_email", 5 },
    { t_disabled, BC_STATUS_UNDELIVERABLE, "mailbox_disabled", 5 },
    { t_disposable, BC_STATUS_RISKY, "disposable", 25 },
    { t_full, BC_STATUS_RISKY, "mailbox_full", 30 },
    { t_accept_all, BC_STATUS_RISKY, "accept_all", 50 },
    { t_unverifiable, BC_STATUS_RISKY, "provider_unverifiable", 45 },
    { t_accepted, BC_STATUS_DELIVERABLE, "accepted_email", 95 },
    { t_dns_error, BC_STATUS_UNKNOWN, "dns_error", 40 },
    { t_dns_unreliable, BC_STATUS_UNKNOWN, "dns_unreliable", 35 },
    { t_unsafe, BC_STATUS_UNKNOWN, "unsafe_target", 40 },
    { t_utf8, BC_STATUS_UNKNOWN, "smtputf8_unsupported", 50 },
    { t_greylisted, BC_STATUS_UNKNOWN, "greylisted", 55 },
    { t_blocked, BC_STATUS_UNKNOWN, "blocked", 50 },
    { t_tempfail, BC_STATUS_UNKNOWN, "temporary_failure", 45 },
    { t_rate_limited, BC_STATUS_UNKNOWN, "rate_limited", 50 },
    { t_sender_rejected, BC_STATUS_UNKNOWN, "sender_rejected", 45 },
    { t_policy_rejected, BC_STATUS_UNKNOWN, "policy_rejected", 45 },
    { t_server_error, BC_STATUS_UNKNOWN, "server_error", 45 },
    { t_server_rejected, BC_STATUS_UNKNOWN, "server_rejected", 40 },
    { t_no_connect, BC_STATUS_UNKNOWN, "no_connect", 35 },
    { t_timeout, BC_STATUS_UNKNOWN, "timeout", 40 },
    { t_protocol, BC_STATUS_UNKNOWN, "protocol_error", 35 },
    { t_syntax_only, BC_STATUS_UNKNOWN, "unverified", 50 },
};

/* Score adjustments for flags that stay flags (they never change the
 * status): a likely typo, a role mailbox, and an acceptance whose catch-all
 * test gave no answer lower confidence a little. */
static const struct adjust {
    size_t offset; /* of a bool in bc_facts */
    int delta;
} adjusts[] = {
    { offsetof(bc_facts, suggestion), -20 },
    { offsetof(bc_facts, role), -5 },
    { offsetof(bc_facts, accept_all_untested), -10 },
};

static const struct band {
    bc_verdict_status status;
    int lo, hi;
} bands[] = {
    { BC_STATUS_DELIVERABLE, 80, 100 },
    { BC_STATUS_RISKY, 20, 59 },
    { BC_STATUS_UNKNOWN, 30, 60 },
    { BC_STATUS_UNDELIVERABLE, 0, 10 },
};

void bc_verdict_band(bc_verdict_status st, int *lo, int *hi)
{
    for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++) {
        if (bands[i].status == st) {
            *lo = bands[i].lo;
            *hi = bands[i].hi;
            return;
        }
    }
    *lo = 0;
    *hi = 100;
}

bc_verdict bc_verdict_decide(const bc_facts *f)
{
    /* Nothing matched: we could not tell. Unreachable while the last rule
     * matches every offline result, but a safe default for later stages. */
    bc_verdict v = { BC_STATUS_UNKNOWN, "unknown", 50 };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].test(f)) {
            v.status = rules[i].status;
            v.reason = rules[i].reason;
            v.score = rules[i].score;
            break;
        }
    }
    for (size_t i = 0; i < sizeof adjusts / sizeof adjusts[0]; i++) {
        const bool *flag = (const bool *)((const char *)f + adjusts[i].offset);
        if (*flag)
            v.score += adjusts[i].delta;
    }
    int lo, hi;
    bc_verdict_band(v.status, &lo, &hi);
    if (v.score < lo)
        v.score = lo;
    if (v.score > hi)
        v.score = hi;
    return v;
}

const char *bc_verdict_status_name(bc_verdict_status st)
{
    switch (st) {
    case BC_STATUS_DELIVERABLE: return "deliverable";
    case BC_STATUS_UNDELIVERABLE: return "undeliverable";
    case BC_STATUS_RISKY: return "risky";
    case BC_STATUS_UNKNOWN: return "unknown";
    }
    return "unknown";
}

/* Maps a reply class to the fact it establishes for a mailbox. */
bc_smtp_fact bc_verdict_smtp_fact(bc_smtp_class c)
{
    switch (c) {
    case BC_SMTP_SENDER_REJECTED: return BC_SMTPF_SENDER_REJECTED;
    case BC_SMTP_RATE_LIMITED: return BC_SMTPF_RATE_LIMITED;
    case BC_SMTP_POLICY_REJECTED: return BC_SMTPF_POLICY_REJECTED;
    case BC_SMTP_SERVER_ERROR: return BC_SMTPF_SERVER_ERROR;
    case BC_SMTP_ACCEPTED: return BC_SMTPF_ACCEPTED;
    case BC_SMTP_REJECTED_MAILBOX: return BC_SMTPF_REJECTED;
    case BC_SMTP_MAILBOX_FULL: return BC_SMTPF_FULL;
    case BC_SMTP_MAILBOX_DISABLED: return BC_SMTPF_DISABLED;
    case BC_SMTP_GREYLISTED: return BC_SMTPF_GREYLISTED;
    case BC_SMTP_BLOCKED: return BC_SMTPF_BLOCKED;
    case BC_SMTP_SERVICE_UNAVAILABLE: return BC_SMTPF_TEMPFAIL;
    case BC_SMTP_TEMPFAIL: return BC_SMTPF_TEMPFAIL;
    case BC_SMTP_REJECTED_OTHER: return BC_SMTPF_SERVER_REJECTED;
    }
    return BC_SMTPF_SERVER_REJECTED;
}
