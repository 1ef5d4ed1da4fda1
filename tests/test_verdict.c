/*
 * test_verdict.c - the verdict table and the result's JSON form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tap.h"
#include "verify/result.h"
#include "verify/verdict.h"

static void check_verdict(const char *what, bc_facts f, bc_verdict_status st, const char *reason, int score)
{
    bc_verdict v = bc_verdict_decide(&f);
    CHECK(v.status == st, "%s: status %s, want %s", what, bc_verdict_status_name(v.status),
          bc_verdict_status_name(st));
    CHECK_STR(v.reason, reason, what);
    CHECK(v.score == score, "%s: score %d, want %d", what, v.score, score);
    int lo, hi;
    bc_verdict_band(v.status, &lo, &hi);
    CHECK(v.score >= lo && v.score <= hi, "%s: score %d inside band [%d,%d]", what, v.score, lo, hi);
}

static void test_table(void)
{
    bc_facts ok = { .stage = BC_STAGE_SYNTAX, .syntax_valid = true };
    check_verdict("plain valid", ok, BC_STATUS_UNKNOWN, "unverified", 50);

    bc_facts f = ok;
    f.syntax_valid = false;
    f.disposable = true; /* syntax outranks everything */
    check_verdict("invalid syntax", f, BC_STATUS_UNDELIVERABLE, "invalid_syntax", 0);

    f = ok;
    f.special_use = true;
    f.disposable = true;
    check_verdict("special use", f, BC_STATUS_UNDELIVERABLE, "special_use_domain", 0);

    f = ok;
    f.disposable = true;
    check_verdict("disposable", f, BC_STATUS_RISKY, "disposable", 25);

    f = ok;
    f.disposable = true;
    f.role = true;
    f.suggestion = true; /* 25 - 5 - 20 = 0, clamped to the risky band */
    check_verdict("disposable clamped", f, BC_STATUS_RISKY, "disposable", 20);

    f = ok;
    f.role = true;
    f.free = true; /* free is a flag, not a downgrade */
    check_verdict("role is a flag", f, BC_STATUS_UNKNOWN, "unverified", 45);

    f = ok;
    f.suggestion = true;
    check_verdict("typo lowers the score", f, BC_STATUS_UNKNOWN, "unverified", 30);
}

/* The online rows: DNS and SMTP facts. Permanent facts win over risk
 * flags; "could not tell" never becomes undeliverable. */
static void test_online_table(void)
{
    bc_facts dns = { .stage = BC_STAGE_DNS, .syntax_valid = true, .accept_all = BC_UNKNOWN };
    bc_facts smtp = { .stage = BC_STAGE_SMTP, .syntax_valid = true, .dns = BC_DNSF_OK, .accept_all = BC_UNKNOWN };
    static const struct {
        bc_dns_fact dns;
        bc_smtp_fact smtp;
        bc_tristate accept_all;
        bool disposable, role, untested;
        bc_verdict_status st;
        const char *reason;
        int score;
    } rows[] = {
        { BC_DNSF_NXDOMAIN, BC_SMTPF_NONE, BC_UNKNOWN, false, false, false, BC_STATUS_UNDELIVERABLE,
          "invalid_domain", 0 },
        { BC_DNSF_NXDOMAIN, BC_SMTPF_NONE, BC_UNKNOWN, true, false, false, BC_STATUS_UNDELIVERABLE,
          "invalid_domain", 0 },
        { BC_DNSF_NULL_MX, BC_SMTPF_NONE, BC_UNKNOWN, false, false, false, BC_STATUS_UNDELIVERABLE, "null_mx", 0 },
        { BC_DNSF_NO_MAIL, BC_SMTPF_NONE, BC_UNKNOWN, false, false, false, BC_STATUS_UNDELIVERABLE,
          "no_mail_server", 2 },
        { BC_DNSF_TEMPFAIL, BC_SMTPF_NONE, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "dns_error", 40 },
        { BC_DNSF_TEMPFAIL, BC_SMTPF_NONE, BC_UNKNOWN, true, false, false, BC_STATUS_RISKY, "disposable", 25 },
        { BC_DNSF_UNRELIABLE, BC_SMTPF_NONE, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "dns_unreliable",
          35 },
        { BC_DNSF_UNRELIABLE, BC_SMTPF_NONE, BC_UNKNOWN, false, true, false, BC_STATUS_UNKNOWN, "dns_unreliable",
          30 },
        { BC_DNSF_UNRELIABLE, BC_SMTPF_NONE, BC_UNKNOWN, true, false, false, BC_STATUS_RISKY, "disposable", 25 },
        { BC_DNSF_OK, BC_SMTPF_ACCEPTED, BC_NO, false, false, false, BC_STATUS_DELIVERABLE, "accepted_email", 95 },
        { BC_DNSF_OK, BC_SMTPF_ACCEPTED, BC_NO, false, true, false, BC_STATUS_DELIVERABLE, "accepted_email", 90 },
        { BC_DNSF_OK, BC_SMTPF_ACCEPTED, BC_UNKNOWN, false, false, true, BC_STATUS_DELIVERABLE, "accepted_email",
          85 },
        { BC_DNSF_OK, BC_SMTPF_ACCEPTED, BC_YES, false, false, false, BC_STATUS_RISKY, "accept_all", 50 },
        { BC_DNSF_OK, BC_SMTPF_ACCEPTED, BC_NO, true, false, false, BC_STATUS_RISKY, "disposable", 25 },
        { BC_DNSF_OK, BC_SMTPF_REJECTED, BC_NO, false, false, false, BC_STATUS_UNDELIVERABLE, "rejected_email",
          5 },
        { BC_DNSF_OK, BC_SMTPF_REJECTED, BC_NO, true, false, false, BC_STATUS_UNDELIVERABLE, "rejected_email", 5 },
        { BC_DNSF_OK, BC_SMTPF_DISABLED, BC_NO, false, false, false, BC_STATUS_UNDELIVERABLE, "mailbox_disabled",
          5 },
        { BC_DNSF_OK, BC_SMTPF_FULL, BC_NO, false, false, false, BC_STATUS_RISKY, "mailbox_full", 30 },
        { BC_DNSF_OK, BC_SMTPF_GREYLISTED, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "greylisted", 55 },
        { BC_DNSF_OK, BC_SMTPF_BLOCKED, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "blocked", 50 },
        { BC_DNSF_OK, BC_SMTPF_TEMPFAIL, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "temporary_failure",
          45 },
        { BC_DNSF_OK, BC_SMTPF_SERVER_REJECTED, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN,
          "server_rejected", 40 },
        { BC_DNSF_OK, BC_SMTPF_SENDER_REJECTED, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN,
          "sender_rejected", 45 },
        { BC_DNSF_OK, BC_SMTPF_RATE_LIMITED, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "rate_limited",
          50 },
        { BC_DNSF_OK, BC_SMTPF_POLICY_REJECTED, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN,
          "policy_rejected", 45 },
        { BC_DNSF_OK, BC_SMTPF_SERVER_ERROR, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "server_error",
          45 },
        { BC_DNSF_OK, BC_SMTPF_RATE_LIMITED, BC_UNKNOWN, true, false, false, BC_STATUS_RISKY, "disposable", 25 },
        { BC_DNSF_OK, BC_SMTPF_UNSAFE_TARGET, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "unsafe_target",
          40 },
        { BC_DNSF_OK, BC_SMTPF_NO_CONNECT, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "no_connect", 35 },
        { BC_DNSF_OK, BC_SMTPF_TIMEOUT, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "timeout", 40 },
        { BC_DNSF_OK, BC_SMTPF_PROTOCOL, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN, "protocol_error",
          35 },
        { BC_DNSF_OK, BC_SMTPF_UTF8_UNSUPPORTED, BC_UNKNOWN, false, false, false, BC_STATUS_UNKNOWN,
          "smtputf8_unsupported", 50 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bc_facts f = rows[i].smtp == BC_SMTPF_NONE ? dns : smtp;
        f.dns = rows[i].dns;
        f.smtp = rows[i].smtp;
        f.accept_all = rows[i].accept_all;
        f.disposable = rows[i].disposable;
        f.role = rows[i].role;
        f.accept_all_untested = rows[i].untested;
        char what[96];
        snprintf(what, sizeof what, "online row %zu (%s)", i, rows[i].reason);
        check_verdict(what, f, rows[i].st, rows[i].reason, rows[i].score);
    }
}

/* A negative DNS answer from a resolver that failed its check never makes
 * an address undeliverable, whatever flags the lists add; the same answer
 * from a trusted resolver does. */
static void test_unreliable_dns(void)
{
    static const bc_dns_fact negative[] = { BC_DNSF_NXDOMAIN, BC_DNSF_NO_MAIL, BC_DNSF_NULL_MX };
    int undeliverable = 0, unknown = 0;
    for (unsigned bits = 0; bits < 16; bits++) {
        bc_facts f = { .stage = BC_STAGE_DNS,
                       .syntax_valid = true,
                       .dns = BC_DNSF_UNRELIABLE,
                       .accept_all = BC_UNKNOWN,
                       .disposable = bits & 1,
                       .role = (bits >> 1) & 1,
                       .free = (bits >> 2) & 1,
                       .suggestion = (bits >> 3) & 1 };
        bc_verdict v = bc_verdict_decide(&f);
        undeliverable += v.status == BC_STATUS_UNDELIVERABLE;
        unknown += v.status == BC_STATUS_UNKNOWN && strcmp(v.reason, "dns_unreliable") == 0;
    }
    CHECK(undeliverable == 0 && unknown == 8,
          "unreliable DNS: never undeliverable; unknown/dns_unreliable unless disposable (%d, %d of 16)",
          undeliverable, unknown);
    int trusted = 0;
    for (size_t i = 0; i < sizeof negative / sizeof negative[0]; i++) {
        bc_facts f = { .stage = BC_STAGE_DNS, .syntax_valid = true, .dns = negative[i], .accept_all = BC_UNKNOWN };
        trusted += bc_verdict_decide(&f).status == BC_STATUS_UNDELIVERABLE;
    }
    CHECK(trusted == 3, "the same answers from a trusted resolver: undeliverable (%d of 3)", trusted);
}

/* Verifies `in` offline and returns its parsed JSON (caller decrefs). */
static json_t *verify_json(bc_ctx *ctx, const char *in, size_t len)
{
    bc_result *r = NULL;
    if (bc_verify_offline(ctx, in, len, &r) != BC_OK)
        return NULL;
    char *text = bc_result_json(r);
    bc_result_free(r);
    if (!text)
        return NULL;
    json_error_t err;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &err);
    free(text);
    return j;
}

static void test_json(void)
{
    bc_ctx *ctx = NULL;
    char err[256];
    if (!CHECK(bc_ctx_new(&ctx, NULL, err, sizeof err) == BC_OK, "context with built-in lists"))
        return;

    static const char *const fields[] = {
        "email",    "normalized", "local",      "domain",      "ascii_domain", "status",
        "reason",   "score",      "syntax",     "disposable",  "role",         "role_category",
        "free",     "accept_all", "suggestion", "mx",          "mx_implicit",  "smtp",
        "provider", "hint",       "detail",     "duration_ms",
    };
    json_t *j = verify_json(ctx, "Jane.Doe@Example-Shop.COM", 25);
    if (CHECK(j != NULL, "valid address gives parseable JSON")) {
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            CHECK(json_object_get(j, fields[i]) != NULL, "field '%s' present", fields[i]);
        CHECK(json_object_size(j) == sizeof fields / sizeof fields[0], "no undocumented top-level field");
        CHECK_STR(json_string_value(json_object_get(j, "email")), "Jane.Doe@Example-Shop.COM", "email as given");
        CHECK_STR(json_string_value(json_object_get(j, "domain")), "example-shop.com", "domain lower-cased");
        CHECK_STR(json_string_value(json_object_get(j, "local")), "Jane.Doe", "local part case kept");
        CHECK_STR(json_string_value(json_object_get(j, "status")), "unknown", "offline status");
        CHECK_STR(json_string_value(json_object_get(j, "reason")), "unverified", "offline reason");
        json_t *syn = json_object_get(j, "syntax");
        CHECK(json_is_true(json_object_get(syn, "valid")), "syntax.valid true");
        CHECK_STR(json_string_value(json_object_get(syn, "code")), "valid", "syntax.code");
        CHECK(json_is_false(json_object_get(j, "disposable")), "disposable false, not null");
        CHECK(json_is_null(json_object_get(j, "accept_all")), "accept_all null offline");
        CHECK(json_is_null(json_object_get(j, "mx")), "mx null offline");
        CHECK(json_is_null(json_object_get(j, "smtp")), "smtp null offline");
        CHECK(json_is_integer(json_object_get(j, "duration_ms")), "duration_ms integer");
    }
    json_decref(j);

    j = verify_json(ctx, "no-at-sign", 10);
    if (CHECK(j != NULL, "invalid address gives JSON")) {
        CHECK_STR(json_string_value(json_object_get(j, "status")), "undeliverable", "invalid: status");
        CHECK_STR(json_string_value(json_object_get(j, "reason")), "invalid_syntax", "invalid: reason");
        CHECK(json_integer_value(json_object_get(j, "score")) == 0, "invalid: score 0");
        CHECK(json_is_null(json_object_get(j, "normalized")), "invalid: normalized null");
        CHECK(json_is_null(json_object_get(j, "disposable")), "invalid: disposable unknown");
        CHECK(json_is_false(json_object_get(json_object_get(j, "syntax"), "valid")), "invalid: syntax.valid");
    }
    json_decref(j);

    /* Bytes that are not UTF-8 cannot travel in JSON: U+FFFD stands in. */
    j = verify_json(ctx, "a\xff@b.com", 8);
    if (CHECK(j != NULL, "invalid UTF-8 gives JSON")) {
        CHECK_STR(json_string_value(json_object_get(j, "email")), "a\xEF\xBF\xBD@b.com", "invalid byte -> U+FFFD");
        CHECK_STR(json_string_value(json_object_get(json_object_get(j, "syntax"), "code")), "err_invalid_utf8",
                  "invalid UTF-8 diagnosed");
    }
    json_decref(j);

    j = verify_json(ctx, "a\0b@c.com", 9);
    if (CHECK(j != NULL, "NUL byte gives JSON")) {
        CHECK(json_string_length(json_object_get(j, "email")) == 9, "NUL kept in email (as \\u0000)");
        CHECK_STR(json_string_value(json_object_get(json_object_get(j, "syntax"), "code")), "err_nul",
                  "NUL diagnosed");
    }
    json_decref(j);

    j = verify_json(ctx, "", 0);
    if (CHECK(j != NULL, "empty input gives JSON"))
        CHECK_STR(json_string_value(json_object_get(json_object_get(j, "syntax"), "code")), "err_empty",
                  "empty diagnosed");
    json_decref(j);

    j = verify_json(ctx, "user@example.com", 16);
    if (CHECK(j != NULL, "special-use domain gives JSON")) {
        CHECK_STR(json_string_value(json_object_get(j, "reason")), "special_use_domain",
                  "example.com is special use");
        CHECK(json_is_true(json_object_get(json_object_get(j, "syntax"), "special_use")), "syntax.special_use");
    }
    json_decref(j);
    bc_ctx_free(ctx);
}

/* bc_status, the error enum's former name, still names it. */
static void test_error_names(void)
{
    bc_status old_name = BC_ENOTFOUND;
    bc_error err = old_name;
    CHECK(err == BC_ENOTFOUND && strcmp(bc_strerror(old_name), bc_strerror(BC_ENOTFOUND)) == 0,
          "bc_status is still the error enum (bc_error): %s", bc_strerror(old_name));
}

int main(void)
{
    test_error_names();
    test_table();
    test_online_table();
    test_unreliable_dns();
    test_json();
    return tap_done();
}
