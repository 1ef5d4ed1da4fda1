/*
 * dkim.c - the DKIM section of the domain health check: probes the
 * selectors the user gave plus a table of common ones at
 * SELECTOR._domainkey.DOMAIN, parses each key record (RFC 6376 3.6.1, with
 * ed25519 from RFC 8463) and decodes its key with OpenSSL for the type and
 * size. Selectors cannot be listed from DNS, so finding none is only "info".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bouncecheck.h"
#include "core/taglist.h"
#include "health/health.h"

/* Selectors that mail providers and common software publish. */
static const char *const common_selectors[] = {
    "google",
    "selector1",
    "selector2",
    "default",
    "k1",
    "k2",
    "k3",
    "s1",
    "s2",
    "mail",
    "dkim",
    "smtp",
    "mxvault",
    "everlytickey1",
    "everlytickey2",
    "dk",
    "key1",
    "key2",
    "sig1",
    "mandrill",
    "pm",
    "s1024",
    "s2048",
    "zoho",
    "protonmail",
    "protonmail2",
    "protonmail3",
    "fm1",
    "fm2",
    "fm3",
};
#define NCOMMON (sizeof common_selectors / sizeof common_selectors[0])
#define SELECTORS_MAX 64 /* user selectors beyond this many are not probed */

/* What one key record says. */
typedef struct dkim_key {
    bool syntax_ok;    /* verifiers can use the record: no syntax error, a decodable
                                * key (or a revoked one) */
    char key_type[16]; /* "rsa", "ed25519", or what k= said */
    int key_bits;      /* 0 when unknown (revoked, undecodable) */
    bool revoked, testing, strict, sha1_only;
    json_t *hashes; /* h= algorithms, or NULL when absent (all allowed) */
} dkim_key;

static bool is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Decodes the base64 of s[0..n), whitespace skipped, into a new buffer
 * (*out, caller frees) of *outlen bytes. False with err on a bad
 * character, bad padding or a length that is not a multiple of 4. */
static bool b64_decode(const char *s, size_t n, unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
    char *clean = malloc(n + 1);
    if (!clean) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    size_t m = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
        } else if (!is_b64(c) || pad) {
            if (pad)
                snprintf(err, errlen, "data after the '=' padding at offset %zu", i);
            else
                snprintf(err, errlen, "'%c' at offset %zu is not a base64 character",
                         (c > 0x20 && c < 0x7f) ? c : '?', i);
            free(clean);
            return false;
        }
        clean[m++] = c;
    }
    if (m % 4 != 0 || pad > 2) {
        snprintf(err, errlen,
                 "%zu base64 characters%s: the length must be a multiple of 4 with at most "
                 "two '=' (the key is cut or mangled)",
                 m, pad > 2 ? " with too many '='" : "");
        free(clean);
        return false;
    }
    unsigned char *buf = malloc(m / 4 * 3 + 1);
    if (!buf) {
        free(clean);
        snprintf(err, errlen, "out of memory");
        return false;
    }
    int got = EVP_DecodeBlock(buf, (const unsigned char *)clean, (int)m);
    free(clean);
    if (got < 0 || (size_t)got < pad) {
        free(buf);
        snprintf(err, errlen, "OpenSSL could not decode the base64");
        return false;
    }
    *out = buf;
    *outlen = (size_t)got - pad;
    return true;
}

/* Decodes the key der[0..n) of type k ("rsa" or "ed25519") into its size
 * in bits; 0 with err when it is not such a key. */
static int key_bits(const char *k, const unsigned char *der, size_t n, char *err, size_t errlen)
{
    EVP_PKEY *pk = NULL;
    if (strcmp(k, "ed25519") == 0) {
        if (n != 32) {
            snprintf(err, errlen, "an ed25519 key is the raw 32-byte public key (RFC 8463), not %zu bytes", n);
            return 0;
        }
        pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, n);
        if (!pk) {
            snprintf(err, errlen, "OpenSSL does not accept it as an ed25519 public key");
            return 0;
        }
        EVP_PKEY_free(pk);
        return 256;
    }
    if (n > 65536) {
        snprintf(err, errlen, "%zu bytes is too large for a key", n);
        return 0;
    }
    /* SubjectPublicKeyInfo, what RFC 6376 asks for */
    const unsigned char *pp = der;
    pk = d2i_PUBKEY(NULL, &pp, (long)n);
    if (pk && pp != der + n) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    if (pk && EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
        snprintf(err, errlen, "k=rsa but the key is a %s key", OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
        EVP_PKEY_free(pk);
        return 0;
    }
    if (!pk) {
        /* a bare PKCS#1 RSAPublicKey, which some publishers use */
        pp = der;
        pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &pp, (long)n);
        if (pk && pp != der + n) {
            EVP_PKEY_free(pk);
            pk = NULL;
        }
    }
    if (!pk) {
        snprintf(err, errlen, "the %zu bytes are neither a SubjectPublicKeyInfo nor a PKCS#1 RSA public key", n);
        return 0;
    }
    int bits = EVP_PKEY_get_bits(pk);
    EVP_PKEY_free(pk);
    if (bits <= 0)
        snprintf(err, errlen, "OpenSSL cannot tell the key's size");
    return bits > 0 ? bits : 0;
}

/* Checks a ':'-separated list, calling each(item, len, ctx) for every
 * non-empty item with whitespace trimmed. */
static void each_item(const char *v, size_t n, void (*each)(const char *, size_t, void *), void *ctx)
{
    size_t i = 0;
    for (;;) {
        size_t e = i;
        while (e < n && v[e] != ':')
            e++;
        size_t a = i, b = e;
        while (a < b && (v[a] == ' ' || v[a] == '\t'))
            a++;
        while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
            b--;
        if (a < b)
            each(v + a, b - a, ctx);
        if (e >= n)
            return;
        i = e + 1;
    }
}

static bool eqn(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

static void hash_item(const char *s, size_t n, void *ctx)
{
    json_array_append_new(ctx, bc_json_text(s, n));
}

struct flags_ctx {
    bool y, s, email;
};

static void flag_item(const char *s, size_t n, void *ctx)
{
    struct flags_ctx *f = ctx;
    if (eqn(s, n, "y"))
        f->y = true;
    else if (eqn(s, n, "s"))
        f->s = true;
}

static void service_item(const char *s, size_t n, void *ctx)
{
    struct flags_ctx *f = ctx;
    if (eqn(s, n, "*") || eqn(s, n, "email"))
        f->email = true;
}

/* Parses the key record text[0..len) of selector sel into *k, adding
 * findings. */
static void parse_key(const char *sel, const char *text, size_t len, dkim_key *k, json_t *findings)
{
    char err[200], q[80], qn[80];
    bc_taglist tl;
    memset(k, 0, sizeof *k);
    snprintf(k->key_type, sizeof k->key_type, "rsa");
    k->syntax_ok = true;
    if (!bc_taglist_split(text, len, &tl, err, sizeof err)) {
        bc_finding_add(findings, BC_SEV_FAIL, "dkim_syntax",
                       "Selector %s: syntax error in the key "
                       "record: %s. Verifiers cannot use it; republish the record your mail system "
                       "gives you.",
                       sel, err);
        k->syntax_ok = false;
        return;
    }
    const char *p = NULL;
    size_t plen = 0;
    struct flags_ctx fl = { false, false, true };
    for (size_t i = 0; i < tl.n; i++) {
        const bc_tag *t = &tl.tags[i];
        const char *name = text + t->name_off, *v = text + t->value_off;
        size_t nl = t->name_len, vl = t->value_len;
        bc_tag_quote(qn, sizeof qn, name, nl);
        bc_tag_quote(q, sizeof q, v, vl);
        for (size_t j = 0; j < i; j++)
            if (tl.tags[j].name_len == nl && memcmp(text + tl.tags[j].name_off, name, nl) == 0) {
                bc_finding_add(findings, BC_SEV_FAIL, "dkim_syntax",
                               "Selector %s: tag %s= appears more "
                               "than once, which makes the key record invalid (RFC 6376 3.2). Keep one.",
                               sel, qn);
                k->syntax_ok = false;
            }
        if (nl == 1 && name[0] == 'v') {
            if (i == 0 && memchr(v, '=', vl)) {
                bc_finding_add(findings, BC_SEV_FAIL, "dkim_syntax",
                               "Selector %s: v=%s: tags must be "
                               "separated by ';' (v=DKIM1; k=rsa; p=...).",
                               sel, q);
                k->syntax_ok = false;
            } else if (i != 0 || vl != 5 || memcmp(v, "DKIM1", 5) != 0) {
                bc_finding_add(findings, BC_SEV_FAIL, "dkim_syntax",
                               "Selector %s: v=%s%s; when v= is "
                               "present it must be the first tag and exactly v=DKIM1.",
                               sel, q, i != 0 ? " is not the first tag" : " is not DKIM1");
                k->syntax_ok = false;
            }
        } else if (nl == 1 && name[0] == 'k') {
            if (eqn(v, vl, "rsa") || eqn(v, vl, "ed25519")) {
                snprintf(k->key_type, sizeof k->key_type, "%s", eqn(v, vl, "rsa") ? "rsa" : "ed25519");
            } else {
                snprintf(k->key_type, sizeof k->key_type, "%.15s", q);
                bc_finding_add(findings, BC_SEV_FAIL, "dkim_key_type_unknown",
                               "Selector %s: k=%s is not "
                               "a key type verifiers know (rsa or ed25519).",
                               sel, q);
                k->syntax_ok = false;
            }
        } else if (nl == 1 && name[0] == 'p') {
            p = v;
            plen = vl;
        } else if (nl == 1 && name[0] == 'h') {
            json_decref(k->hashes);
            k->hashes = json_array();
            each_item(v, vl, hash_item, k->hashes);
        } else if (nl == 1 && name[0] == 't') {
            each_item(v, vl, flag_item, &fl);
        } else if (nl == 1 && name[0] == 's') {
            fl.email = false;
            each_item(v, vl, service_item, &fl);
            if (!fl.email) {
                bc_finding_add(findings, BC_SEV_FAIL, "dkim_service",
                               "Selector %s: s=%s does not include "
                               "email or *, so verifiers will not use this key for mail.",
                               sel, q);
            }
        }
        /* n= notes, g= (RFC 4871) and unknown tags are ignored, as verifiers do */
    }
    k->testing = fl.y;
    k->strict = fl.s;
    if (k->hashes) {
        bool sha1 = false, sha256 = false;
        size_t i;
        json_t *h;
        json_array_foreach(k->hashes, i, h) {
            const char *s = json_string_value(h);
            if (s && strcasecmp(s, "sha1") == 0)
                sha1 = true;
            if (s && strcasecmp(s, "sha256") == 0)
                sha256 = true;
        }
        if (!sha256) {
            k->sha1_only = sha1;
            if (sha1)
                bc_finding_add(findings, BC_SEV_WARN, "dkim_sha1_only",
                               "Selector %s: h= allows only sha1, "
                               "which verifiers treat as insecure (RFC 8301). Remove h= or write "
                               "h=sha256.",
                               sel);
            else
                bc_finding_add(findings, BC_SEV_FAIL, "dkim_syntax",
                               "Selector %s: h= names no hash "
                               "algorithm verifiers know; remove h= or write h=sha256.",
                               sel);
        }
    }
    if (k->testing)
        bc_finding_add(findings, BC_SEV_WARN, "dkim_testing",
                       "Selector %s: t=y puts the key in testing "
                       "mode, and verifiers may treat its signatures as unsigned. Remove t=y once "
                       "signing works.",
                       sel);
    if (!p) {
        bc_finding_add(findings, BC_SEV_FAIL, "dkim_syntax",
                       "Selector %s: the key record has no p= tag "
                       "(the public key). Publish the record your mail system gives you.",
                       sel);
        k->syntax_ok = false;
        return;
    }
    bool empty = true;
    for (size_t i = 0; i < plen; i++)
        if (p[i] != ' ' && p[i] != '\t')
            empty = false;
    if (empty) {
        k->revoked = true;
        bc_finding_add(findings, BC_SEV_INFO, "dkim_key_revoked",
                       "Selector %s: the key is revoked (empty "
                       "p=); mail signed with it fails DKIM. Fine if the selector is retired.",
                       sel);
        return;
    }
    if (strcmp(k->key_type, "rsa") != 0 && strcmp(k->key_type, "ed25519") != 0)
        return;
    unsigned char *der = NULL;
    size_t dlen = 0;
    if (!b64_decode(p, plen, &der, &dlen, err, sizeof err)) {
        k->syntax_ok = false;
        bc_finding_add(findings, BC_SEV_FAIL, "dkim_bad_base64",
                       "Selector %s: p= is not valid base64 "
                       "(%s). Republish the key exactly as your mail system gives it.",
                       sel, err);
        return;
    }
    k->key_bits = key_bits(k->key_type, der, dlen, err, sizeof err);
    free(der);
    if (k->key_bits == 0) {
        k->syntax_ok = false;
        bc_finding_add(findings, BC_SEV_FAIL, "dkim_bad_key",
                       "Selector %s: p= does not hold a usable %s "
                       "key: %s. Republish the key exactly as your mail system gives it.",
                       sel, k->key_type, err);
        return;
    }
    if (strcmp(k->key_type, "rsa") == 0 && k->key_bits < 1024)
        bc_finding_add(findings, BC_SEV_FAIL, "dkim_key_too_short",
                       "Selector %s: the RSA key has %d bits; "
                       "verifiers reject keys under 1024 bits (RFC 8301). Make a 2048-bit key and publish "
                       "it under a new selector.",
                       sel, k->key_bits);
    else if (strcmp(k->key_type, "rsa") == 0 && k->key_bits < 2048)
        bc_finding_add(findings, BC_SEV_WARN, "dkim_key_short",
                       "Selector %s: the RSA key has %d bits; "
                       "2048 bits is the norm now. Rotate to a 2048-bit key under a new selector.",
                       sel, k->key_bits);
}

/* True when the TXT text looks like a DKIM key record: it starts with
 * v=DKIM1 or has a p= or k= tag (other TXT records, e.g. from a wildcard,
 * are not keys). */
static bool is_key_record(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    if (len - i >= 7 && strncasecmp(text + i, "v=DKIM1", 7) == 0)
        return true;
    bc_taglist tl;
    char err[200];
    bc_taglist_split(text, len, &tl, err, sizeof err);
    for (size_t k = 0; k < tl.n; k++)
        if (tl.tags[k].name_len == 1 && (text[tl.tags[k].name_off] == 'p' || text[tl.tags[k].name_off] == 'k'))
            return true;
    return false;
}

/* A selector is one or more DNS labels (RFC 6376 3.1). */
static bool selector_ok(const char *s)
{
    size_t n = strlen(s), label = 0;
    if (n == 0 || n > 200 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (isalnum((unsigned char)c) || c == '-' || c == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/* Probes one selector; appends to `selectors` when it has a key record.
 * Returns 1 when a key record was found, 0 when none, -1 on a DNS error. */
static int probe(bc_resolver *r, const char *domain, const char *sel, json_t *sec, json_t *selectors,
                 json_t *findings)
{
    char name[512];
    snprintf(name, sizeof name, "%s._domainkey.%s", sel, domain);
    if (strlen(name) > 253)
        return 0;
    bc_rrset set;
    bc_resolver_query(r, name, BC_RR_TXT, &set);
    if (set.rc == BC_DNS_TEMPFAIL) {
        bc_finding_add(findings, BC_SEV_WARN, "dkim_dns_error",
                       "Could not look up selector %s at %s (%s); "
                       "whether it has a key is unknown. Try again later.",
                       sel, name, set.error);
        bc_rrset_clear(&set);
        return -1;
    }
    size_t first = set.n, nkeys = 0;
    for (size_t i = 0; i < set.n; i++)
        if (set.rr[i].text && is_key_record(set.rr[i].text, set.rr[i].text_len)) {
            if (first == set.n)
                first = i;
            nkeys++;
            json_array_append_new(json_object_get(sec, "records"),
                                  bc_json_text(set.rr[i].text, set.rr[i].text_len));
        }
    if (nkeys == 0) {
        bc_rrset_clear(&set);
        return 0;
    }
    if (nkeys > 1)
        bc_finding_add(findings, BC_SEV_WARN, "dkim_multiple_records",
                       "Selector %s has %zu key records; "
                       "verifiers may pick any of them (RFC 6376 3.6.2.2). Keep one per selector.",
                       sel, nkeys);
    const bc_rr *rr = &set.rr[first];
    dkim_key k;
    parse_key(sel, rr->text, rr->text_len, &k, findings);
    json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:o, s:b, s:b, s:b}", "selector", sel, "name", name, "record",
                          bc_json_text(rr->text, rr->text_len), "key_type", k.key_type, "key_bits",
                          k.key_bits ? json_integer(k.key_bits) : json_null(), "testing", k.testing, "strict",
                          k.strict, "revoked", k.revoked);
    if (o) {
        json_object_set_new(o, "hash_algorithms", k.hashes ? json_incref(k.hashes) : json_null());
        json_object_set_new(o, "valid", json_boolean(k.syntax_ok));
        json_array_append_new(selectors, o);
    }
    json_decref(k.hashes);
    bc_rrset_clear(&set);
    return 1;
}

json_t *bc_health_dkim(bc_resolver *r, const char *domain, const char *const *selectors, size_t n)
{
    json_t *sec = bc_section_new();
    if (!sec)
        return NULL;
    json_t *findings = json_object_get(sec, "findings"), *sels = json_array();
    json_object_set_new(sec, "selectors", sels);
    char d[256];
    size_t dl = domain ? strlen(domain) : 0;
    if (dl > 0 && domain[dl - 1] == '.')
        dl--;
    if (dl == 0 || dl > 253) {
        bc_finding_add(findings, BC_SEV_FAIL, "dkim_bad_domain", "The domain name is empty or too long.");
        json_object_set_new(sec, "probed", json_integer(0));
        bc_section_settle(sec);
        return sec;
    }
    for (size_t i = 0; i < dl; i++)
        d[i] = (char)tolower((unsigned char)domain[i]);
    d[dl] = '\0';
    /* the user's selectors first, then the common ones, each once */
    const char *list[SELECTORS_MAX + NCOMMON];
    bool given[SELECTORS_MAX + NCOMMON];
    size_t nlist = 0, probed = 0, found = 0, errors = 0;
    for (size_t i = 0; i < n + NCOMMON; i++) {
        const char *s = i < n ? selectors[i] : common_selectors[i - n];
        if (i < n && (!s || !selector_ok(s))) {
            char q[80];
            bc_finding_add(findings, BC_SEV_WARN, "dkim_bad_selector",
                           "Selector '%s' is not a valid DNS "
                           "label sequence (letters, digits, '-', '_' and dots); not probed.",
                           s ? bc_tag_quote(q, sizeof q, s, strlen(s)) : "(null)");
            continue;
        }
        if (i < n && nlist >= SELECTORS_MAX)
            continue;
        bool dup = false;
        for (size_t k = 0; k < nlist && !dup; k++)
            dup = strcasecmp(list[k], s) == 0;
        if (!dup) {
            given[nlist] = i < n;
            list[nlist++] = s;
        }
    }
    for (size_t i = 0; i < nlist; i++) {
        int rc = probe(r, d, list[i], sec, sels, findings);
        probed++;
        if (rc > 0)
            found++;
        else if (rc < 0)
            errors++;
        else if (given[i])
            bc_finding_add(findings, BC_SEV_WARN, "dkim_selector_missing",
                           "Selector %s has no key record "
                           "at %s._domainkey.%s; mail signed with it fails DKIM. Publish the key your mail "
                           "system gives you.",
                           list[i], list[i], d);
    }
    json_object_set_new(sec, "probed", json_integer((json_int_t)probed));
    if (found == 0) {
        bc_finding_add(findings, BC_SEV_INFO, "dkim_no_key",
                       "None of the %zu selectors probed has a "
                       "key%s; selectors cannot be listed from DNS, so give yours with --dkim-selector.",
                       probed, errors ? " (some lookups failed)" : "");
        json_object_set_new(sec, "status", json_string("none"));
    }
    bc_section_settle(sec);
    return sec;
}
