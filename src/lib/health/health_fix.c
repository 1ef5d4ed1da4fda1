/*
 * health_fix.c - what to change for each domain health finding (see
 * health.h): a table from finding code to one or two plain sentences
 * naming the record to publish or edit, with an example value where one
 * helps. bc_finding_add attaches the text as "fix" to warn and fail
 * findings.
 *
 * The findings do not know the domain being checked, so the texts say
 * "<your domain>" (and "<selector>" for a DKIM selector) where the name
 * goes; bc_health_check (dnscheck.c) puts the domain in before answering.
 * example.com/example.net stand for other parties' names.
 *
 * The table is sorted by code (bytewise, as strcmp orders) for bsearch.
 * Codes that are only ever info carry NULL: they report, nothing is wrong.
 * tests/test_health_fix.c checks the order, that every code the sources
 * pass to bc_finding_add is here, and that each one that can be warn or
 * fail has a text.
 */
#include <stdlib.h>
#include <string.h>

#include "health/health.h"

#define BAD_DOMAIN_FIX                                                                                        \
    "Give a valid domain name such as example.com: labels of letters, digits and hyphens separated by dots, " \
    "at most 253 characters in all."

static const bc_health_fix_entry fixes[] = {
    { "bimi_authority_not_https",
      "Put the https:// URL of your VMC or CMC certificate (a PEM file) in a=, for example "
      "\"a=https://example.com/bimi/vmc.pem\", or remove a= if you have no certificate." },
    { "bimi_bad_domain", BAD_DOMAIN_FIX },
    { "bimi_declined", NULL },
    { "bimi_dmarc_missing",
      "Publish a DMARC record at _dmarc.<your domain> with p=quarantine or p=reject, for example "
      "\"v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@<your domain>\"." },
    { "bimi_dmarc_pct", "In the DMARC record, remove pct= or write pct=100 so that the policy covers all mail." },
    { "bimi_dmarc_policy",
      "Once the DMARC aggregate reports show all your legitimate mail passing, change p=none to p=quarantine "
      "(later p=reject) in the record at _dmarc.<your domain>." },
    { "bimi_dmarc_sp",
      "In the DMARC record, remove sp=none or write sp=quarantine or sp=reject, so that subdomains are at "
      "enforcement too." },
    { "bimi_dns_error",
      "Check that your name servers answer TXT queries for default._bimi.<your domain>, then run the check "
      "again." },
    { "bimi_logo_not_https",
      "Serve the logo over HTTPS and put that URL in l=, for example \"l=https://example.com/bimi/logo.svg\"." },
    { "bimi_logo_not_svg",
      "Convert the logo to SVG Tiny Portable/Secure (SVG Tiny PS), serve it at a URL ending in .svg and put "
      "that URL in l=." },
    { "bimi_missing", NULL },
    { "bimi_multiple_records",
      "Delete all but one of the TXT records starting with v=BIMI1 at default._bimi.<your domain>." },
    { "bimi_no_authority", NULL },
    { "bimi_no_logo", "Put the https:// URL of your SVG Tiny PS logo in l=, as in \"v=BIMI1; "
                      "l=https://example.com/bimi/logo.svg\", "
                      "or publish \"v=BIMI1; l=\" with nothing else to decline BIMI." },
    { "bimi_syntax",
      "Rewrite the TXT record at default._bimi.<your domain> as \"v=BIMI1; l=https://example.com/bimi/logo.svg\" "
      "(with \"; a=https://...\" for a certificate), tags separated by semicolons." },
    { "blocklist_dns_error",
      "Run the check again later or through another resolver (--dns); a failed lookup says nothing about a "
      "listing." },
    { "blocklist_listed",
      "Look the address up on the list operator's site for the reason, stop the cause (a compromised account, "
      "an open relay, unwanted bulk mail), then request removal there." },
    { "blocklist_refused",
      "Query the list through a recursive resolver of your own (--dns with your resolver's address); list "
      "operators refuse queries that come through large public resolvers." },
    { "dkim_bad_base64", "Copy the p= value again exactly as your mail system exports it: base64 characters only "
                         "(A-Z a-z 0-9 + / =), "
                         "a long key split into several quoted strings of one TXT record." },
    { "dkim_bad_domain", BAD_DOMAIN_FIX },
    { "dkim_bad_key",
      "Publish the public key of the private key your mail system signs with, exactly as it exports it "
      "(base64 SubjectPublicKeyInfo for k=rsa, the raw 32-byte key for k=ed25519)." },
    { "dkim_bad_selector",
      "Give the selector exactly as it appears in s= of your DKIM-Signature headers: letters, digits, hyphens "
      "and underscores, labels separated by dots." },
    { "dkim_dns_error",
      "Check that your name servers answer TXT queries for <selector>._domainkey.<your domain>, then run the "
      "check again." },
    { "dkim_key_revoked", NULL },
    { "dkim_key_short",
      "Make a 2048-bit RSA key, publish it under a new selector at <selector>._domainkey.<your domain>, switch "
      "signing to that selector, and remove the old key a few days later." },
    { "dkim_key_too_short",
      "Make a 2048-bit RSA key now, publish it under a new selector and switch signing to it; mail signed with "
      "the short key fails DKIM." },
    { "dkim_key_type_unknown",
      "Write k=rsa, or k=ed25519 for an Ed25519 key, or remove k= (rsa is the default)." },
    { "dkim_multiple_records",
      "Delete all but the current key record at <selector>._domainkey.<your domain>; publish a new key under a "
      "new selector rather than beside the old one." },
    { "dkim_no_key", NULL },
    { "dkim_selector_missing",
      "Publish the TXT record your mail system gives you at <selector>._domainkey.<your domain> "
      "(\"v=DKIM1; k=rsa; p=...\"), or stop signing with this selector." },
    { "dkim_service", "Remove s= from the key record, or write s=email." },
    { "dkim_sha1_only",
      "Remove h= from the key record (or write h=sha256) and make sure your mail system signs with rsa-sha256." },
    { "dkim_syntax",
      "Republish the key record exactly as your mail system gives it: tags separated by semicolons, each once, "
      "v=DKIM1 first if present, the key in p=, as in \"v=DKIM1; k=rsa; p=MIIBIjANBg...\"." },
    { "dkim_testing",
      "Once DMARC reports or received headers show your DKIM signatures verifying, remove t=y from the key "
      "record." },
    { "dmarc_bad_domain", BAD_DOMAIN_FIX },
    { "dmarc_bad_uri",
      "Write each report destination as a URI such as rua=mailto:dmarc-reports@<your domain>, several separated "
      "by commas, with an optional size limit such as !10m after the address." },
    { "dmarc_bad_value",
      "Use the defined values: p=, sp= and np= take none, quarantine or reject; adkim= and aspf= r or s; pct= 0 "
      "to 100; ri= seconds; fo= 0, 1, d or s joined by ':'; rf=afrf." },
    { "dmarc_dns_error",
      "Check that the name servers of the domain named in the message answer TXT queries, then run the check "
      "again." },
    { "dmarc_duplicate_tag",
      "Keep each tag once; if both copies were meant, merge their values into one tag (rua= takes several URIs "
      "separated by commas)." },
    { "dmarc_empty_tag",
      "Remove the empty element so that a single ';' separates the tags, as in \"v=DMARC1; p=none; "
      "rua=mailto:dmarc-reports@<your domain>\"." },
    { "dmarc_inherited", NULL },
    { "dmarc_missing",
      "Publish a TXT record at _dmarc.<your domain> such as \"v=DMARC1; p=none; "
      "rua=mailto:dmarc-reports@<your domain>\", then move to p=quarantine once the reports look clean." },
    { "dmarc_multiple_records",
      "Merge the records starting with v=DMARC1 at _dmarc.<your domain> into one TXT record and delete the "
      "others." },
    { "dmarc_no_policy",
      "Add a p= tag right after v=DMARC1, as in \"v=DMARC1; p=none; rua=mailto:dmarc-reports@<your domain>\"." },
    { "dmarc_no_rua",
      "Add rua=mailto:dmarc-reports@<your domain> (a mailbox you read, or a DMARC report service's address) to "
      "the record at _dmarc.<your domain>." },
    { "dmarc_np_weaker", NULL },
    { "dmarc_pct", NULL },
    { "dmarc_pct_partial",
      "Remove pct= (100 is the default) or write pct=100 once the aggregate reports show your legitimate mail "
      "passing DMARC." },
    { "dmarc_policy_none",
      "Read the aggregate reports until every legitimate sender passes SPF or DKIM aligned with your domain, "
      "then change p=none to p=quarantine and later to p=reject." },
    { "dmarc_report_unauthorized",
      "Ask the report domain's owner to publish a TXT record \"v=DMARC1\" at "
      "<your domain>._report._dmarc.<report domain>, or send the reports to an address on your own domain." },
    { "dmarc_sp_weaker", NULL },
    { "dmarc_syntax",
      "Rewrite the record as tag=value pairs separated by ';', starting with v=DMARC1, for example "
      "\"v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@<your domain>\"." },
    { "dmarc_tag_case",
      "Write tag names in lower case (p=, sp=, rua=, ...); only the value DMARC1 is upper case." },
    { "dmarc_too_many_uris",
      "Keep at most two report URIs per tag; to get the reports in more places, forward them from one mailbox." },
    { "dmarc_unknown_tag", NULL },
    { "dmarc_uri_scheme",
      "Add a mailto: destination to the tag, for example rua=mailto:dmarc-reports@<your domain>, beside or "
      "instead of the other URI." },
    { "dmarc_version", "Start the record with exactly v=DMARC1 followed by ';', as in \"v=DMARC1; p=none; "
                       "rua=mailto:dmarc-reports@<your domain>\"." },
    { "dnssec_not_validated", NULL },
    { "dnssec_unknown", NULL },
    { "dnssec_validated", NULL },
    { "mta_sts_bad_domain", BAD_DOMAIN_FIX },
    { "mta_sts_dns_error",
      "Check that your name servers answer TXT queries for _mta-sts.<your domain>, then run the check again." },
    { "mta_sts_max_age_short",
      "Set max_age in the policy to at least 86400, usually 604800 (a week) or more, and change the id in the "
      "_mta-sts.<your domain> TXT record so that senders fetch the policy again." },
    { "mta_sts_missing", NULL },
    { "mta_sts_mode_none",
      "Write \"mode: testing\" (later \"mode: enforce\") in the policy and change the id of the _mta-sts record; "
      "to retire MTA-STS instead, remove the record and the policy once max_age has passed." },
    { "mta_sts_mode_testing", NULL },
    { "mta_sts_multiple_records",
      "Delete all but one of the TXT records starting with v=STSv1 at _mta-sts.<your domain>." },
    { "mta_sts_mx_unmatched",
      "Add an \"mx:\" line for each MX host to the policy (\"mx: *.example.net\" covers one label), then change "
      "the id in the _mta-sts.<your domain> record so that senders fetch the new policy." },
    { "mta_sts_policy_content_type",
      "Make the web server of mta-sts.<your domain> send /.well-known/mta-sts.txt with "
      "\"Content-Type: text/plain\"." },
    { "mta_sts_policy_duplicate",
      "Keep one version:, one mode: and one max_age: line in the policy and delete the repeated ones." },
    { "mta_sts_policy_fetch",
      "Serve the policy at https://mta-sts.<your domain>/.well-known/mta-sts.txt with status 200, from a "
      "server whose certificate from a public CA names mta-sts.<your domain>." },
    { "mta_sts_policy_many_mx",
      "Cover the MX hosts with fewer mx patterns, for example one wildcard \"mx: *.example.net\" for hosts under "
      "the same parent name." },
    { "mta_sts_policy_redirect",
      "Serve the file itself with status 200 at https://mta-sts.<your domain>/.well-known/mta-sts.txt and remove "
      "the redirect for that path." },
    { "mta_sts_policy_syntax",
      "Write the policy as \"key: value\" lines: \"version: STSv1\", \"mode: enforce\" (or testing), "
      "\"max_age: 604800\" and one \"mx: HOST\" per MX host." },
    { "mta_sts_policy_too_large",
      "Reduce the policy to its version, mode, max_age and mx lines (a few hundred bytes) and serve nothing else "
      "at that URL." },
    { "mta_sts_record_syntax",
      "Publish at _mta-sts.<your domain> one TXT record like \"v=STSv1; id=20240101T000000\": id is 1 to 32 "
      "letters and digits, changed whenever the policy changes." },
    { "mx_cname",
      "In the MX record, replace the alias with the host name it points to (the CNAME target), which has its own "
      "A/AAAA record." },
    { "mx_dns_error",
      "Check that all the name servers of <your domain> are reachable and answer MX queries (for example "
      "\"dig MX <your domain> @ns\" for each), then run the check again." },
    { "mx_domain_missing",
      "Check the spelling; if the domain is yours, make sure it is registered and delegated to name servers "
      "that serve its zone." },
    { "mx_duplicate", "Delete the extra MX records so that each host name is listed once." },
    { "mx_host_dns_error",
      "Check that the name servers of the MX host's domain answer A and AAAA queries, then run the check "
      "again." },
    { "mx_host_no_address",
      "Publish an A record (and AAAA for IPv6) for the MX host name, or remove the MX record that names it." },
    { "mx_implicit",
      "Publish an MX record naming your mail server, such as \"<your domain>. MX 10 mail.<your domain>.\", or "
      "the null MX \"MX 0 .\" (RFC 7505) if the domain receives no mail." },
    { "mx_ip_literal",
      "Give the address a host name with an A/AAAA record (for example mail.<your domain>) and put that name "
      "in the MX record." },
    { "mx_no_ptr",
      "Ask the owner of the address (your hosting or IP provider) to set a PTR record naming the mail server, "
      "such as mail.<your domain>, whose A/AAAA record points back at it." },
    { "mx_no_starttls",
      "Install a certificate for the MX host name in the mail server and enable STARTTLS on port 25." },
    { "mx_none",
      "Publish an MX record naming your mail server, such as \"<your domain>. MX 10 mail.<your domain>.\", or the "
      "null MX \"MX 0 .\" if the domain receives no mail." },
    { "mx_null", NULL },
    { "mx_null_mixed",
      "If the domain receives mail, delete the null MX (\"0 .\"); if it does not, delete the other MX "
      "records." },
    { "mx_private_address",
      "Give the MX host name an A/AAAA record with a public address that reaches the server on port 25; keep "
      "private addresses in internal DNS only." },
    { "mx_ptr_dns_error",
      "Check with the address's owner (your IP provider) that its reverse DNS zone answers PTR queries, then run "
      "the check again." },
    { "mx_ptr_not_confirmed",
      "Make the PTR name's A/AAAA record point at this address, or have the IP provider change the PTR to a name "
      "that does." },
    { "mx_smtp_error",
      "Check that the mail server accepts SMTP connections on port 25 and answers EHLO, then run the check "
      "again." },
    { "mx_smtp_unreachable",
      "Make sure the mail server runs and port 25 is open to the Internet in every firewall, including the "
      "provider's (some block it by default)." },
    { "mx_tls_expired",
      "Renew the MX host's certificate, install it in the mail server and reload it; automate renewal (for "
      "example with ACME)." },
    { "mx_tls_expiring",
      "Renew the MX host's certificate before it expires and reload the mail server; automate renewal (for "
      "example with ACME)." },
    { "mx_tls_name_mismatch",
      "Install a certificate whose subject alternative names include the MX host name exactly as the MX record "
      "gives it." },
    { "mx_tls_untrusted",
      "Install a certificate from a public CA (Let's Encrypt, for example) for the MX host name, together with "
      "its intermediate certificates." },
    { "smtp_auth_plaintext",
      "Offer AUTH only after STARTTLS (in Postfix: smtpd_tls_auth_only = yes), or only on port 465 with TLS "
      "from the start." },
    { "smtp_banner_ptr_mismatch",
      "Set the host name the server greets with (Postfix: myhostname) to the address's PTR name, or have the PTR "
      "changed to the greeting name." },
    { "smtp_banner_refused",
      "Check the server's access rules and connection limits so that it greets with 220; a 554 greeting turns "
      "every sender away." },
    { "smtp_cert_expired",
      "Renew the certificate, install it in the mail server and reload it; automate renewal (for example with "
      "ACME)." },
    { "smtp_cert_expiring",
      "Renew the certificate before it expires and reload the mail server; automate renewal (for example with "
      "ACME)." },
    { "smtp_cert_missing",
      "Install a certificate and its private key for the server's host name in the mail server's TLS "
      "settings." },
    { "smtp_cert_name_mismatch",
      "Install a certificate whose subject alternative names include the host name clients connect to (the MX "
      "name)." },
    { "smtp_cert_unverified",
      "Install a certificate from a public CA (Let's Encrypt, for example) together with its intermediate "
      "certificates." },
    { "smtp_ehlo_refused",
      "Enable ESMTP so that the server answers EHLO with 250 and its extensions, and check that no filter in "
      "front of it blocks EHLO." },
    { "smtp_no_banner",
      "Check that an SMTP server listens on this port, that it is not overloaded, and that no firewall or proxy "
      "in front of it holds back its greeting." },
    { "smtp_no_starttls", "Install a certificate for the server's host name and enable STARTTLS on this port." },
    { "smtp_open_relay",
      "Relay only for authenticated users and your own networks, and accept other mail only for your own "
      "domains (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
      "reject_unauth_destination)." },
    { "smtp_port_closed",
      "Open the port in every firewall and make sure the mail server listens on it, unless the port is meant "
      "to be closed." },
    { "smtp_ptr_missing",
      "Ask the owner of the address (your hosting or IP provider) for a PTR record naming the server, whose "
      "A/AAAA record points back at the address." },
    { "smtp_relay_untested", NULL },
    { "smtp_starttls_refused",
      "Fix the server's TLS settings (certificate and key files present and readable) so that STARTTLS is "
      "answered with 220, or stop advertising STARTTLS." },
    { "smtp_tls_failed",
      "Check the server's TLS settings (certificate and key installed, TLS 1.2 and 1.3 enabled, TLS from the "
      "first byte on port 465) and its log for the handshake error." },
    { "smtp_tls_old_version",
      "Enable TLS 1.2 and 1.3 in the server and disable SSL 3, TLS 1.0 and TLS 1.1 (Postfix: "
      "smtpd_tls_protocols = >=TLSv1.2)." },
    { "smtp_unreachable",
      "Make sure the mail server runs and its SMTP ports (25, and 465/587 for submission) are open in every "
      "firewall." },
    { "spf_all_neutral", "End the record with -all (or ~all while you check your senders) instead of ?all." },
    { "spf_all_pass",
      "List your sending servers and end with -all (or ~all while testing) instead of +all, for example "
      "\"v=spf1 mx include:_spf.example.net -all\"." },
    { "spf_bad_domain", BAD_DOMAIN_FIX },
    { "spf_dns_error",
      "Check that the name servers of the domain named in the message answer TXT queries, then run the check "
      "again." },
    { "spf_include_loop",
      "Remove the include: or redirect= that leads back to a record already in the chain; include each domain "
      "at most once." },
    { "spf_include_multiple_records",
      "Ask the owner of that domain to merge its SPF records into one, or include the name your provider "
      "documents instead." },
    { "spf_include_no_record",
      "Correct the name in the include: or redirect= term (your mail provider's documentation gives it) or "
      "remove the term." },
    { "spf_multiple_records", "Merge the \"v=spf1\" TXT records of <your domain> into one, for example "
                              "\"v=spf1 mx include:_spf.example.net -all\", and delete the others." },
    { "spf_no_all", "End the record with -all (or ~all while testing), as in \"v=spf1 mx -all\"." },
    { "spf_no_record",
      "Publish a TXT record at <your domain> listing the servers that send its mail, such as \"v=spf1 mx -all\" "
      "(add include: for mail providers), or \"v=spf1 -all\" if it sends no mail." },
    { "spf_ptr_deprecated",
      "Replace the ptr mechanism with ip4:/ip6: ranges or an a: mechanism naming the sending servers." },
    { "spf_record_too_long",
      "Shorten the record below 450 bytes: write addresses as CIDR ranges (ip4:192.0.2.0/24) and remove "
      "includes and mechanisms you no longer need." },
    { "spf_redirect_with_all",
      "Remove the all term if the redirect= domain should decide, or remove redirect= if this record is "
      "complete." },
    { "spf_string_too_long",
      "Split the TXT record into quoted strings of at most 255 bytes, as in \"v=spf1 ip4:192.0.2.0/24 \" "
      "\"include:_spf.example.net -all\"; receivers join them without adding spaces." },
    { "spf_syntax_error",
      "Correct the term named in the message: mechanisms are all, include:, a, mx, ptr, ip4:, ip6: and "
      "exists:, modifiers redirect= and exp=, all separated by single spaces." },
    { "spf_too_many_lookups",
      "Bring the record to at most 10 DNS-querying terms (include, a, mx, ptr, exists, redirect): replace a and "
      "mx with ip4:/ip6: ranges and drop includes of services you no longer use." },
    { "spf_too_many_void_lookups",
      "Remove the terms that point at names without records, such as a:, mx: or include: of retired hosts and "
      "services." },
    { "spf_type_spf_deprecated",
      "Delete the DNS records of type SPF (99) and keep the same policy in one TXT record." },
    { "tls_rpt_bad_domain", BAD_DOMAIN_FIX },
    { "tls_rpt_bad_uri",
      "Write each rua destination as mailto:ADDRESS or an https:// URL, separated by commas, as in "
      "\"rua=mailto:tls-reports@<your domain>\"." },
    { "tls_rpt_dns_error",
      "Check that your name servers answer TXT queries for _smtp._tls.<your domain>, then run the check again." },
    { "tls_rpt_missing",
      "Publish a TXT record at _smtp._tls.<your domain> such as \"v=TLSRPTv1; rua=mailto:tls-reports@<your "
      "domain>\" to receive reports of failed TLS deliveries." },
    { "tls_rpt_multiple_records",
      "Delete all but one of the TXT records starting with v=TLSRPTv1 at _smtp._tls.<your domain>." },
    { "tls_rpt_no_rua", "Add a rua field: \"v=TLSRPTv1; rua=mailto:tls-reports@<your domain>\"." },
    { "tls_rpt_syntax",
      "Rewrite the record at _smtp._tls.<your domain> as \"v=TLSRPTv1; rua=mailto:tls-reports@<your domain>\"." },
};

static int entry_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const bc_health_fix_entry *)elem)->code);
}

/* Returns static text, never to be freed. */
const char *bc_health_fix(const char *code)
{
    if (!code)
        return NULL;
    const bc_health_fix_entry *e = bsearch(code, fixes, sizeof fixes / sizeof fixes[0], sizeof fixes[0],
                                           entry_cmp);
    return e ? e->fix : NULL;
}

/* Returns the static table; *n receives its length. */
const bc_health_fix_entry *bc_health_fix_table(size_t *n)
{
    if (n)
        *n = sizeof fixes / sizeof fixes[0];
    return fixes;
}
