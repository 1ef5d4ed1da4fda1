/*
 * test_providers.c - the provider rules (data/providers.json and a user's
 * file over it): matching MX host names, the user's file replacing and adding
 * entries, errors that name the file, provider reply rules, and the hint a
 * blocked result gets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "data/provider.h"
#include "smtp/smtp_reply.h"
#include "tap.h"
#include "verify/result.h"

static void test_match(void)
{
    const bc_providers *p = bc_providers_builtin();
    CHECK(p != NULL && p->n >= 16, "the built-in rules load (%zu providers)", p ? p->n : 0);
    static const struct {
        const char *host, *name, *provider;
    } cases[] = {
        { "gmail-smtp-in.l.google.com", "google", "google" },
        { "alt4.gmail-smtp-in.l.google.com", "google", "google" },
        { "aspmx.l.google.com", "google_workspace", "google" },
        { "alt1.aspmx.l.google.com", "google_workspace", "google" },
        { "smtp.google.com", "google_workspace", "google" },
        { "example-com.mail.protection.outlook.com", "microsoft365", "microsoft" },
        { "hotmail-com.olc.protection.outlook.com", "microsoft", "microsoft" },
        { "mta5.am0.yahoodns.net", "yahoo", "yahoo" },
        { "mx-aol.mail.gm0.yahoodns.net", "aol", "aol" },
        { "mx01.mail.icloud.com", "apple", "apple" },
        { "mx.zoho.eu", "zoho", "zoho" },
        { "mail.protonmail.ch", "proton", "proton" },
        { "in1-smtp.messagingengine.com", "fastmail", "fastmail" },
        { "mx00.gmx.net", "gmx", "gmx" },
        { "mx-ha03.web.de", "webde", "webde" },
        { "mxs.mail.ru", "mailru", "mailru" },
        { "mx.yandex.ru", "yandex", "yandex" },
        { "mx0a-00123401.pphosted.com", "proofpoint", "proofpoint" },
        { "us-smtp-inbound-1.mimecast.com", "mimecast", "mimecast" },
        { "d123456a.ess.barracudanetworks.com", "barracuda", "barracuda" },
        { "esa1.example.iphmx.com", "cisco", "cisco" },
        { "notgoogle.com", NULL, NULL },
        { "mx.example.net", NULL, NULL },
        { "", NULL, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bc_provider *m = bc_providers_match(p, cases[i].host);
        CHECK(cases[i].name
                  ? m && strcmp(m->name, cases[i].name) == 0 && strcmp(m->provider, cases[i].provider) == 0
                  : m == NULL,
              "%s -> %s (want %s)", cases[i].host, m ? m->name : "none", cases[i].name ? cases[i].name : "none");
    }
    const bc_provider *y = bc_providers_match(p, "mta7.am0.yahoodns.net");
    CHECK(y && y->accepts_all && !y->catch_all_probe, "Yahoo: RCPT proves nothing, no catch-all test");
    const bc_provider *g = bc_providers_match(p, "gmail-smtp-in.l.google.com");
    CHECK(g && !g->accepts_all && !g->catch_all_probe && g->block_url,
          "Gmail: reliable, no catch-all, a block page");
    CHECK(bc_provider_for_mx("example-org.mail.protection.outlook.com") &&
              strcmp(bc_provider_for_mx("example-org.mail.protection.outlook.com"), "microsoft") == 0,
          "bc_provider_for_mx names the provider");
}

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *tmp_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/bc-providers-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_user_file(void)
{
    char err[256];
    bc_providers *p = NULL;
    const char *path = tmp_file(
        "{\"providers\": [\n"
        " {\"name\": \"yahoo\", \"mx\": [\"yahoodns.net\"], \"rcpt\": \"reliable\"},\n"
        " {\"name\": \"acme\", \"label\": \"Acme Mail\", \"mx\": [\"MX.Acme-Mail.net\"], \"mx_connections\": 1,\n"
        "  \"proxy\": \"socks5://10.0.0.5:1080\",\n"
        "  \"rules\": [{\"name\": \"acme.gone\", \"codes\": \"550\", \"enhanced\": \"\", \"text\": [\"Acme: kein "
        "Konto\"],\n"
        "              \"class\": \"rejected_mailbox\"}]}\n"
        "]}\n");
    CHECK(path && bc_providers_load(&p, path, err, sizeof err) == BC_OK, "a user's file loads (%s)", err);
    const bc_provider *y = bc_providers_match(p, "mta5.am0.yahoodns.net");
    CHECK(y && !y->accepts_all && y->catch_all_probe, "an entry of the same name replaces the built-in one");
    const bc_provider *a = bc_providers_match(p, "mx2.mx.acme-mail.net");
    CHECK(a && strcmp(a->provider, "acme") == 0 && a->mx_connections == 1 && a->proxy &&
              strcmp(a->proxy, "socks5://10.0.0.5:1080") == 0,
          "a new entry is added, suffixes lower-cased");
    CHECK(bc_providers_match(p, "gmail-smtp-in.l.google.com") != NULL, "the other built-in entries stay");
    bc_smtp_parser ps;
    size_t used;
    bc_smtp_parser_init(&ps);
    const char *reply = "550 ACME: Kein Konto\r\n";
    bc_smtp_parse(&ps, reply, strlen(reply), &used);
    bc_smtp_reading rd = bc_provider_read(a, &ps.reply);
    CHECK(rd.cls == BC_SMTP_REJECTED_MAILBOX && strcmp(rd.rule, "acme.gone") == 0,
          "the user's reply rule reads its reply (folded: case) -> %s by %s", bc_smtp_class_name(rd.cls), rd.rule);
    rd = bc_provider_read(NULL, &ps.reply);
    CHECK(rd.cls != BC_SMTP_REJECTED_MAILBOX, "elsewhere the same reply is no mailbox verdict (%s)", rd.rule);
    bc_providers_free(p);
    unlink(path);

    static const struct {
        const char *text, *want;
    } bad[] = {
        { "{\"providers\": [{\"name\": \"x\"}]}", "has no mx" },
        { "{\"providers\": [{\"mx\": [\"a.net\"]}]}", "no name" },
        { "{\"providers\": [{\"name\": \"x\", \"mx\": [\"a.net\"], \"rcpt\": \"maybe\"}]}", "rcpt must be" },
        { "{\"providers\": [{\"name\": \"x\", \"mx\": [\"a.net\"], \"mx_connections\": 0}]}", "1 to 100" },
        { "{\"providers\": [{\"name\": \"x\", \"mx\": [\"a.net\"], \"rules\": [{\"name\": \"r\", \"codes\": "
          "\"451\","
          " \"class\": \"rejected_mailbox\"}]}]}",
          "cannot have a permanent class" },
        { "{\"providers\": [{\"name\": \"x\", \"mx\": [\"a.net\"], \"rules\": [{\"name\": \"r\", \"codes\": "
          "\"5xx\","
          " \"class\": \"nonsense\"}]}]}",
          "unknown class" },
        { "{\"providers\": [{\"name\": \"x\", \"mx\": [\"a.net\"], \"rules\": [{\"name\": \"r\", \"codes\": "
          "\"6xx\","
          " \"class\": \"blocked\"}]}]}",
          "codes must be" },
        { "{\"providers\": [{\"name\": \"x\", \"mx\": [\"a.net\"], \"rules\": [{\"name\": \"r\", \"codes\": "
          "\"550\","
          " \"enhanced\": \"5.x\", \"class\": \"blocked\"}]}]}",
          "enhanced must be" },
        { "{\"providers\": [{\"name\": \"x\", \"mx\": [\"a.net\"], \"proxy\": \"socks5h://h:1\"}]}", "proxy:" },
        { "{\"providers\": 3}", "no \"providers\" array" },
        { "{\"providers\": [", "line" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path = tmp_file(bad[i].text);
        err[0] = '\0';
        bc_error st = bc_providers_load(&p, path, err, sizeof err);
        CHECK(st == BC_EDATA && p == NULL && strstr(err, bad[i].want) && strstr(err, path),
              "bad file %zu refused, naming the file: %s", i, err);
        unlink(path);
    }
    CHECK(bc_providers_load(&p, "/nonexistent/providers.json", err, sizeof err) == BC_EDATA &&
              strstr(err, "/nonexistent/providers.json"),
          "a missing file is an error naming it: %s", err);
}

/* Parses reply and reads it as from an MX of `host`. */
static bc_smtp_reading read_at(const char *reply, const char *host)
{
    static bc_smtp_parser ps;
    size_t used;
    bc_smtp_parser_init(&ps);
    bc_smtp_parse(&ps, reply, strlen(reply), &used);
    return bc_provider_read(bc_providers_match(bc_providers_builtin(), host), &ps.reply);
}

static void test_provider_rules(void)
{
    bc_smtp_reading rd = read_at("550 5.4.1 Recipient address rejected: Access denied. AS(201806281)\r\n",
                                 "example-com.mail.protection.outlook.com");
    CHECK(rd.cls == BC_SMTP_REJECTED_MAILBOX && strcmp(rd.rule, "microsoft365.5.4.1.access_denied") == 0,
          "Microsoft 365: 5.4.1 Access denied is the mailbox's absence (%s)", rd.rule);
    rd = read_at("550 5.4.1 Recipient address rejected: Access denied. AS(201806281)\r\n", "mx.example.net");
    CHECK(rd.cls != BC_SMTP_REJECTED_MAILBOX, "elsewhere it is not (%s)", rd.rule);
    rd = read_at("550 5.4.1 Relay Access Denied ATTR36\r\n", "example-com.mail.protection.outlook.com");
    CHECK(rd.cls != BC_SMTP_REJECTED_MAILBOX, "a relay text under 5.4.1 is not (%s)", rd.rule);
    rd = read_at("550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from this list "
                 "please visit https://sender.office.com/\r\n",
                 "example-com.mail.protection.outlook.com");
    CHECK(rd.cls == BC_SMTP_BLOCKED, "Microsoft's banned IP is a block of our client (%s)", rd.rule);
    rd = read_at("554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0] - "
                 "mta1001.mail.gq1.yahoo.com\r\n",
                 "mta5.am0.yahoodns.net");
    CHECK(rd.cls == BC_SMTP_REJECTED_MAILBOX, "Yahoo's 'doesn't have a yahoo.com account' (%s)", rd.rule);
    rd = read_at("550 #5.1.0 Address rejected.\r\n", "esa1.example.iphmx.com");
    CHECK(rd.cls == BC_SMTP_REJECTED_MAILBOX && strcmp(rd.rule, "cisco.5.1.0.address_rejected") == 0,
          "Cisco's 5.1.0 Address rejected (%s)", rd.rule);
    rd = read_at("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\r\n",
                 "example-com.mail.protection.outlook.com");
    CHECK(rd.cls == BC_SMTP_REJECTED_MAILBOX, "Microsoft 365's 5.1.10 (%s)", rd.rule);
}

static void test_hint(void)
{
    bc_ctx *ctx = NULL;
    char err[256];
    CHECK(bc_ctx_new(&ctx, NULL, err, sizeof err) == BC_OK, "context (%s)", err);
    bc_result *r = bc_result_offline_new(ctx, "a@gmail.com", 11);
    r->have_smtp = true;
    snprintf(r->smtp.host, sizeof r->smtp.host, "gmail-smtp-in.l.google.com");
    snprintf(r->smtp.source, sizeof r->smtp.source, "203.0.113.5");
    r->smtp.code = 421;
    snprintf(r->smtp.message, sizeof r->smtp.message,
             "[203.0.113.5] Our system has detected an unusual rate of unsolicited mail originating from your IP "
             "address. https://support.google.com/mail/?p=UnsolicitedIPError a1si gsmtp");
    r->verdict.reason = "blocked";
    bc_result_set_hint(r, ctx->providers);
    CHECK(strstr(r->hint, "https://support.google.com/mail/?p=UnsolicitedIPError") &&
              strstr(r->hint, "203.0.113.5") && strstr(r->hint, "Gmail"),
          "blocked: the URL the server quoted, our address, the provider: %s", r->hint);
    CHECK(strcmp(bc_result_hint(r), r->hint) == 0, "bc_result_hint gives it");

    snprintf(r->smtp.host, sizeof r->smtp.host, "mx.example.net");
    snprintf(r->smtp.message, sizeof r->smtp.message,
             "Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org");
    bc_result_set_hint(r, ctx->providers);
    CHECK(strstr(r->hint, "https://check.spamhaus.org/") && strstr(r->hint, "Spamhaus"),
          "no URL quoted: the blocklist's lookup page: %s", r->hint);

    snprintf(r->smtp.host, sizeof r->smtp.host, "example-com.mail.protection.outlook.com");
    snprintf(r->smtp.message, sizeof r->smtp.message, "Access denied, banned sending IP");
    bc_result_set_hint(r, ctx->providers);
    CHECK(strstr(r->hint, "https://sender.office.com/") && strstr(r->hint, "Microsoft 365"),
          "no URL, no blocklist: the provider's page: %s", r->hint);

    r->smtp.source[0] = '\0';
    snprintf(r->smtp.host, sizeof r->smtp.host, "mx.example.net");
    snprintf(r->smtp.message, sizeof r->smtp.message, "blocked");
    bc_result_set_hint(r, ctx->providers);
    CHECK(strstr(r->hint, "bouncecheck doctor") != NULL, "nothing to point at: doctor: %s", r->hint);

    r->verdict.reason = "rejected_email";
    bc_result_set_hint(r, ctx->providers);
    CHECK(r->hint[0] == '\0' && bc_result_hint(r) == NULL, "no hint for a mailbox verdict");
    r->verdict.reason = "sender_rejected";
    bc_result_set_hint(r, ctx->providers);
    CHECK(strstr(r->hint, "--from") != NULL, "sender refused: set --from: %s", r->hint);
    bc_result_free(r);
    bc_ctx_free(ctx);
}

int main(void)
{
    test_match();
    test_user_file();
    test_provider_rules();
    test_hint();
    return tap_done();
}
