/*
 * test_dkim.c - unit test of the DKIM health section over in-memory zones
 * with keys made here by OpenSSL: RSA 2048, 1024 and 512 bits (as
 * SubjectPublicKeyInfo and as PKCS#1), ed25519, a revoked key, t=y, h=sha1,
 * garbage p=, a key that is not one, a user selector without a key, a
 * lookup that times out, and a domain with no key at all.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dns/resolver.h"
#include "health/health.h"
#include "tap.h"

#define NCOMMON 30 /* the size of dkim.c's table of common selectors */

/* base64 of der[0..n) in a new string (caller frees). */
static char *b64(const unsigned char *der, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, der, (int)n);
    return out;
}

/* A new RSA key of `bits` as base64 SubjectPublicKeyInfo (pkcs1: as a bare
 * RSAPublicKey instead). Caller frees. */
static char *rsa_key(unsigned bits, bool pkcs1)
{
    EVP_PKEY *pk = EVP_RSA_gen(bits);
    if (!pk)
        return NULL;
    unsigned char *der = NULL;
    int n = pkcs1 ? i2d_PublicKey(pk, &der) : i2d_PUBKEY(pk, &der);
    char *s = n > 0 ? b64(der, (size_t)n) : NULL;
    OPENSSL_free(der);
    EVP_PKEY_free(pk);
    return s;
}

/* A new ed25519 key: the raw 32-byte public key in base64. Caller frees. */
static char *ed25519_key(void)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pk)
        return NULL;
    unsigned char raw[32];
    size_t n = sizeof raw;
    char *s = EVP_PKEY_get_raw_public_key(pk, raw, &n) == 1 ? b64(raw, n) : NULL;
    EVP_PKEY_free(pk);
    return s;
}

/* Adds TXT text at name to zone, split into strings of 255 bytes as DNS
 * would carry it. */
static void add_txt(json_t *zone, const char *name, const char *text)
{
    json_t *strings = json_array();
    size_t n = strlen(text);
    for (size_t i = 0; i < n || i == 0; i += 255)
        json_array_append_new(strings, json_stringn(text + i, n - i > 255 ? 255 : n - i));
    json_t *entries = json_object_get(zone, name);
    if (!entries) {
        entries = json_array();
        json_object_set_new(zone, name, entries);
    }
    json_array_append_new(entries, json_pack("{s:o}", "TXT", strings));
}

static json_t *selector(const json_t *sec, const char *sel)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(sec, "selectors"), i, o) {
        if (strcmp(json_string_value(json_object_get(o, "selector")), sel) == 0)
            return o;
    }
    return NULL;
}

/* True when a finding with code (and severity, unless NULL) mentions sel
 * (unless NULL). */
static bool has_finding(const json_t *sec, const char *code, const char *sev, const char *sel)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(sec, "findings"), i, f) {
        if (strcmp(json_string_value(json_object_get(f, "code")), code) != 0)
            continue;
        if (sev && strcmp(json_string_value(json_object_get(f, "severity")), sev) != 0)
            continue;
        char want[80];
        snprintf(want, sizeof want, "Selector %s:", sel ? sel : "");
        if (!sel || strstr(json_string_value(json_object_get(f, "message")), want))
            return true;
    }
    return false;
}

static long long bits_of(const json_t *sec, const char *sel)
{
    json_t *b = json_object_get(selector(sec, sel), "key_bits");
    return json_is_integer(b) ? json_integer_value(b) : -1;
}

static const char *type_of(const json_t *sec, const char *sel)
{
    const char *s = json_string_value(json_object_get(selector(sec, sel), "key_type"));
    return s ? s : "(null)";
}

static json_t *run(const json_t *zone, const char *domain, const char *const *sels, size_t n)
{
    char *text = json_dumps(zone, JSON_COMPACT), err[256];
    bc_resolver *r = text ? bc_resolver_new_mem(text, strlen(text), err, sizeof err) : NULL;
    free(text);
    if (!r) {
        tap_diag("zone: %s", err);
        return json_object();
    }
    json_t *sec = bc_health_dkim(r, domain, sels, n);
    bc_resolver_free(r);
    char *dump = json_dumps(sec, JSON_COMPACT);
    tap_diag("%s: %s", domain, dump ? dump : "?");
    free(dump);
    return sec ? sec : json_object();
}

int main(void)
{
    char *k2048 = rsa_key(2048, false), *k1024 = rsa_key(1024, false), *k512 = rsa_key(512, false);
    char *k2048p1 = rsa_key(2048, true), *ked = ed25519_key();
    if (!k2048 || !k1024 || !k512 || !k2048p1 || !ked)
        return tap_skip_all("OpenSSL could not make the test keys");

    json_t *zone = json_object();
    char rec[2048];
    snprintf(rec, sizeof rec, "v=DKIM1; k=rsa; p=%s", k2048);
    add_txt(zone, "google._domainkey.example.com", rec);
    snprintf(rec, sizeof rec, "v=DKIM1; k=rsa; p=%s", k1024);
    add_txt(zone, "selector1._domainkey.example.com", rec);
    snprintf(rec, sizeof rec, "k=rsa; p=%s", k512);
    add_txt(zone, "s1._domainkey.example.com", rec);
    snprintf(rec, sizeof rec, "v=DKIM1; k=ed25519; p=%s", ked);
    add_txt(zone, "k1._domainkey.example.com", rec);
    add_txt(zone, "k2._domainkey.example.com", "v=DKIM1; k=rsa; p=");
    snprintf(rec, sizeof rec, "v=DKIM1; t=y; p=%s", k2048);
    add_txt(zone, "mail._domainkey.example.com", rec);
    add_txt(zone, "dkim._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIB!!notbase64");
    add_txt(zone, "k3._domainkey.example.com", "v=DKIM1; k=rsa; p=AAAAAAAA");
    snprintf(rec, sizeof rec, "v=DKIM1; h=sha1; p=%s", k2048);
    add_txt(zone, "s2._domainkey.example.com", rec);
    /* the user's selector: PKCS#1, split with spaces as some panels do */
    snprintf(rec, sizeof rec, "v=DKIM1; p=%.100s %s", k2048p1, k2048p1 + 100);
    add_txt(zone, "mysel._domainkey.example.com", rec);
    json_object_set_new(zone, "default._domainkey.example.com", json_pack("[s]", "TIMEOUT"));
    add_txt(zone, "key1._domainkey.example.com", "v=DKIM1 p=abc"); /* missing ';' */
    snprintf(rec, sizeof rec, "v=DKIM1; k=ed25519; p=%s", k2048);
    add_txt(zone, "key2._domainkey.example.com", rec);               /* RSA key under k=ed25519 */
    add_txt(zone, "sig1._domainkey.example.com", "some other text"); /* not a key record */

    const char *sels[] = { "mysel", "missing", "google", "bad selector!" };
    json_t *s = run(zone, "example.com", sels, 4);

    CHECK_STR(json_string_value(json_object_get(s, "status")), "fail", "status (a 512-bit key fails)");
    CHECK(json_integer_value(json_object_get(s, "probed")) == NCOMMON + 2,
          "probed: the common ones plus mysel and missing, google once (%lld)",
          (long long)json_integer_value(json_object_get(s, "probed")));
    CHECK(bits_of(s, "google") == 2048 && strcmp(type_of(s, "google"), "rsa") == 0, "google: rsa 2048");
    CHECK(!has_finding(s, "dkim_key_short", NULL, "google") &&
              !has_finding(s, "dkim_key_too_short", NULL, "google"),
          "google: 2048 bits, no size finding");
    CHECK(bits_of(s, "selector1") == 1024, "selector1: 1024 bits");
    CHECK(has_finding(s, "dkim_key_short", "warn", "selector1"), "selector1: dkim_key_short warn");
    CHECK(bits_of(s, "s1") == 512, "s1: 512 bits (no v= is fine)");
    CHECK(has_finding(s, "dkim_key_too_short", "fail", "s1"), "s1: dkim_key_too_short fail");
    CHECK(bits_of(s, "k1") == 256 && strcmp(type_of(s, "k1"), "ed25519") == 0, "k1: ed25519");
    CHECK(!has_finding(s, "dkim_bad_key", NULL, "k1"), "k1: ed25519 key accepted");
    CHECK(json_is_true(json_object_get(selector(s, "k2"), "revoked")) && bits_of(s, "k2") == -1,
          "k2: revoked, no bits");
    CHECK(has_finding(s, "dkim_key_revoked", "info", "k2"), "k2: dkim_key_revoked info");
    CHECK(json_is_true(json_object_get(selector(s, "mail"), "testing")), "mail: testing");
    CHECK(has_finding(s, "dkim_testing", "warn", "mail"), "mail: dkim_testing warn");
    CHECK(json_is_false(json_object_get(selector(s, "google"), "testing")), "google: not testing");
    CHECK(has_finding(s, "dkim_bad_base64", "fail", "dkim"), "dkim: garbage p= is dkim_bad_base64");
    CHECK(has_finding(s, "dkim_bad_key", "fail", "k3"), "k3: base64 that is no key is dkim_bad_key");
    CHECK(json_is_false(json_object_get(selector(s, "k3"), "valid")) &&
              json_is_true(json_object_get(selector(s, "google"), "valid")),
          "valid: false for k3, true for google");
    CHECK(has_finding(s, "dkim_sha1_only", "warn", "s2"), "s2: h=sha1 is dkim_sha1_only");
    CHECK(bits_of(s, "mysel") == 2048, "mysel: PKCS#1 RSAPublicKey with a space inside decodes to 2048");
    CHECK(has_finding(s, "dkim_selector_missing", "warn", NULL), "missing: dkim_selector_missing");
    CHECK(has_finding(s, "dkim_dns_error", "warn", NULL), "default: timeout is dkim_dns_error");
    CHECK(selector(s, "default") == NULL, "default: not listed as a key");
    CHECK(has_finding(s, "dkim_syntax", "fail", "key1"), "key1: v=DKIM1 without ';' is a syntax error");
    CHECK(has_finding(s, "dkim_bad_key", "fail", "key2"), "key2: an RSA key under k=ed25519 is dkim_bad_key");
    CHECK(selector(s, "sig1") == NULL, "sig1: other TXT is not a key record");
    CHECK(has_finding(s, "dkim_bad_selector", "warn", NULL), "bad selector: reported, not probed");
    CHECK(!has_finding(s, "dkim_no_key", NULL, NULL), "keys found: no dkim_no_key");
    json_decref(s);

    /* only good keys: pass */
    json_t *good = json_object();
    snprintf(rec, sizeof rec, "v=DKIM1; k=rsa; p=%s", k2048);
    add_txt(good, "selector1._domainkey.example.org", rec);
    s = run(good, "example.org", NULL, 0);
    CHECK_STR(json_string_value(json_object_get(s, "status")), "pass", "one 2048-bit key: pass");
    CHECK(json_array_size(json_object_get(s, "selectors")) == 1, "one 2048-bit key: one selector");
    CHECK(json_array_size(json_object_get(s, "records")) == 1, "one 2048-bit key: one record");
    json_decref(s);
    json_decref(good);

    /* no key anywhere: none, with only an info finding */
    json_t *empty = json_object();
    add_txt(empty, "example.net", "v=spf1 -all");
    s = run(empty, "example.net", NULL, 0);
    CHECK_STR(json_string_value(json_object_get(s, "status")), "none", "no key: status none");
    CHECK(json_integer_value(json_object_get(s, "probed")) == NCOMMON, "no key: all common selectors probed");
    CHECK(json_array_size(json_object_get(s, "findings")) == 1 && has_finding(s, "dkim_no_key", "info", NULL),
          "no key: only the dkim_no_key info finding");
    CHECK(strstr(json_string_value(json_object_get(json_array_get(json_object_get(s, "findings"), 0), "message")),
                 "--dkim-selector") != NULL,
          "no key: the message points to --dkim-selector");
    json_decref(s);
    json_decref(empty);

    json_decref(zone);
    free(k2048);
    free(k1024);
    free(k512);
    free(k2048p1);
    free(ked);
    return tap_done();
}
