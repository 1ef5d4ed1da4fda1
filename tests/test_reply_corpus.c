/*
 * test_reply_corpus.c - the labelled corpus of real SMTP replies
 * (tests/replies/corpus.tsv, its sources in tests/replies/README.md) through
 * the reply parser, the rule table and the verdict table: for each reply the
 * status and reason a single RCPT answer leads to, against its label.
 *
 * Hard checks: every reply's status; no reply that says nothing about the
 * mailbox is `undeliverable`; reasons agree for at least 80% of the replies
 * (which of the "could not tell" reasons fits is often a judgment call).
 * The per-class table goes to the TAP diagnostics (the closing note's
 * figures come from it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/provider.h"
#include "smtp/smtp_reply.h"
#include "tap.h"
#include "verify/verdict.h"

#define MAX_CLASSES 32

struct tally {
    char label[64]; /* "status/reason" as labelled */
    int n, status_ok, reason_ok, undeliverable;
};

static struct tally tallies[MAX_CLASSES];
static int ntallies;

static struct tally *tally_for(const char *label)
{
    for (int i = 0; i < ntallies; i++)
        if (strcmp(tallies[i].label, label) == 0)
            return &tallies[i];
    if (ntallies == MAX_CLASSES)
        return NULL;
    struct tally *t = &tallies[ntallies++];
    snprintf(t->label, sizeof t->label, "%s", label);
    return t;
}

/* Splits line in place at tabs into at most max fields; returns the count. */
static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return n;
}

/* The raw reply: the corpus's "\n" between lines becomes CRLF, and a final
 * CRLF is added. */
static size_t raw_reply(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; in[i] && n + 3 < cap; i++) {
        if (in[i] == '\\' && in[i + 1] == 'n') {
            out[n++] = '\r';
            out[n++] = '\n';
            i++;
        } else {
            out[n++] = in[i];
        }
    }
    out[n++] = '\r';
    out[n++] = '\n';
    out[n] = '\0';
    return n;
}

static bool speaks_of_mailbox(const char *status, const char *reason)
{
    return strcmp(status, "undeliverable") == 0 || strcmp(status, "deliverable") == 0 ||
           strcmp(reason, "mailbox_full") == 0;
}

int main(void)
{
    const char *root = getenv("BC_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/replies/corpus.tsv", root ? root : ".");
    FILE *fp = fopen(path, "r");
    if (!fp) {
        printf("1..0 # SKIP no corpus at %s\n", path);
        return 0;
    }
    static bc_smtp_parser p;
    static char line[16384], raw[16384];
    int total = 0, reasons_ok = 0, false_undeliverable = 0, non_mailbox = 0, mailbox = 0, mailbox_ok = 0;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *f[8];
        if (split_tabs(line, f, 8) < 6) {
            CHECK(0, "corpus line has at least 6 fields: %.60s", line);
            continue;
        }
        const char *id = f[0], *status = f[1], *reason = f[2], *mx = f[3], *reply = f[4];
        size_t len = raw_reply(reply, raw, sizeof raw), used = 0;
        bc_smtp_parser_init(&p);
        if (bc_smtp_parse(&p, raw, len, &used) != BC_SMTP_PARSE_DONE || used != len) {
            CHECK(0, "%s: parses (%s)", id, p.error);
            continue;
        }
        const bc_provider *provider = strcmp(mx, "-") == 0 ? NULL : bc_providers_match(bc_providers_builtin(), mx);
        bc_smtp_reading rd = bc_provider_read(provider, &p.reply);
        bc_facts facts = { .stage = BC_STAGE_SMTP,
                           .syntax_valid = true,
                           .dns = BC_DNSF_OK,
                           .smtp = bc_verdict_smtp_fact(rd.cls),
                           .accept_all = BC_NO,
                           .provider_unverifiable = rd.cls == BC_SMTP_ACCEPTED && provider &&
                                                    provider->accepts_all };
        bc_verdict v = bc_verdict_decide(&facts);
        const char *got = bc_verdict_status_name(v.status);
        total++;
        char label[64];
        snprintf(label, sizeof label, "%s/%s", status, reason);
        struct tally *t = tally_for(label);
        bool st_ok = strcmp(got, status) == 0, rs_ok = strcmp(v.reason, reason) == 0;
        if (t) {
            t->n++;
            t->status_ok += st_ok;
            t->reason_ok += st_ok && rs_ok;
            t->undeliverable += v.status == BC_STATUS_UNDELIVERABLE;
        }
        reasons_ok += st_ok && rs_ok;
        if (speaks_of_mailbox(status, reason)) {
            mailbox++;
            mailbox_ok += st_ok;
        } else {
            non_mailbox++;
            false_undeliverable += v.status == BC_STATUS_UNDELIVERABLE;
        }
        CHECK(st_ok, "%s: %s/%s by %s (labelled %s)", id, got, v.reason, rd.rule, label);
        if (st_ok && !rs_ok)
            printf("# reason differs: %s: %s by %s (labelled %s)\n", id, v.reason, rd.rule, label);
    }
    fclose(fp);
    printf("# %-40s %5s %9s %9s %14s\n", "label", "n", "status ok", "reason ok", "undeliverable");
    for (int i = 0; i < ntallies; i++)
        printf("# %-40s %5d %9d %9d %14d\n", tallies[i].label, tallies[i].n, tallies[i].status_ok,
               tallies[i].reason_ok, tallies[i].undeliverable);
    printf("# replies: %d; mailbox replies right: %d of %d; non-mailbox replies called undeliverable: %d of %d; "
           "status and reason right: %d\n",
           total, mailbox_ok, mailbox, false_undeliverable, non_mailbox, reasons_ok);
    CHECK(total >= 400, "the corpus has at least 400 replies (%d)", total);
    CHECK(false_undeliverable == 0, "no reply that says nothing about the mailbox is undeliverable (%d)",
          false_undeliverable);
    CHECK(reasons_ok * 100 >= total * 80, "status and reason right for at least 80%% (%d of %d)", reasons_ok,
          total);
    return tap_done();
}
