/*
 * test_socks5.c - the SOCKS5 proxy URL parser, the CONNECT reply parser and
 * the handshake machine (src/lib/smtp/socks5.h), as tables over strings and bytes.
 */
#include <arpa/inet.h>
#include <string.h>

#include "smtp/socks5.h"
#include "tap.h"

/* ---- URLs ------------------------------------------------------------------------ */

static void test_urls_ok(void)
{
    static const struct {
        const char *url;
        const char *label;
        const char *user, *pass; /* NULL: no credentials */
    } cases[] = {
        { "socks5://10.0.0.5:1080", "10.0.0.5:1080", NULL, NULL },
        { "SOCKS5://127.0.0.1:9050/", "127.0.0.1:9050", NULL, NULL },
        { "socks5://[::1]:1080", "[::1]:1080", NULL, NULL },
        { "socks5://[2001:db8::5]:65535", "[2001:db8::5]:65535", NULL, NULL },
        { "socks5://alice:secret@11.22.5.1:1080", "11.22.5.1:1080", "alice", "secret" },
        { "socks5://al%69ce:p%40ss%3Aw%2Fd@11.22.5.1:1", "11.22.5.1:1", "alice", "p@ss:w/d" },
        { "socks5://u:pa:ss@1.2.3.4:1080", "1.2.3.4:1080", "u", "pa:ss" }, /* ':' in the password */
        { "socks5://u:p@ss@1.2.3.4:1080", "1.2.3.4:1080", "u", "p@ss" },   /* the last '@' ends it */
        { "socks5://%C3%A9:%e2%82%ac@[2001:db8::1]:1080", "[2001:db8::1]:1080", "\xc3\xa9", "\xe2\x82\xac" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bc_proxy px;
        char err[256] = "";
        bc_error st = bc_proxy_parse(cases[i].url, &px, err, sizeof err);
        if (!CHECK(st == BC_OK, "parses %s", cases[i].url)) {
            tap_diag("%s", err);
            continue;
        }
        CHECK_STR(px.label, cases[i].label, "label");
        CHECK(px.auth == (cases[i].user != NULL), "%s: credentials %s", cases[i].url,
              cases[i].user ? "given" : "absent");
        if (cases[i].user) {
            CHECK(px.user_len == strlen(cases[i].user) && memcmp(px.user, cases[i].user, px.user_len) == 0,
                  "%s: user decoded", cases[i].url);
            CHECK(px.pass_len == strlen(cases[i].pass) && memcmp(px.pass, cases[i].pass, px.pass_len) == 0,
                  "%s: password decoded", cases[i].url);
        }
    }
    bc_proxy px;
    CHECK(bc_proxy_parse("socks5://10.0.0.5:1080", &px, NULL, 0) == BC_OK && px.addr.ss_family == AF_INET &&
              ntohs(((struct sockaddr_in *)(void *)&px.addr)->sin_port) == 1080 &&
              px.addr_len == sizeof(struct sockaddr_in),
          "the address is a sockaddr_in with the port");
}

static void test_urls_bad(void)
{
    char u255[256], u256[257], url[700];
    memset(u255, 'u', 255);
    u255[255] = '\0';
    memset(u256, 'u', 256);
    u256[256] = '\0';
    static const struct {
        const char *url;
        const char *want; /* a part of the message */
    } cases[] = {
        { "", "empty" },
        { "10.0.0.5:1080", "socks5://" },
        { "socks5h://10.0.0.5:1080", "socks5h" },
        { "SOCKS5H://10.0.0.5:1080", "socks5h" },
        { "socks4://10.0.0.5:1080", "scheme 'socks4'" },
        { "http://10.0.0.5:3128", "scheme 'http'" },
        { "socks5://10.0.0.5", "needs a port" },
        { "socks5://10.0.0.5:", "needs a port" },
        { "socks5://[::1]", "needs a port" },
        { "socks5://10.0.0.5:0", "1 to 65535" },
        { "socks5://10.0.0.5:65536", "1 to 65535" },
        { "socks5://10.0.0.5:108x", "1 to 65535" },
        { "socks5://10.0.0.5:123456", "1 to 65535" },
        { "socks5://proxy.example:1080", "'proxy.example' is not an IP address" },
        { "socks5://10.0.0:1080", "not an IP address" },
        { "socks5://:1080", "no host" },
        { "socks5://::1:1080", "brackets" },
        { "socks5://[::1:1080", "without ']'" },
        { "socks5://[10.0.0.5]:1080", "IPv6" },
        { "socks5://[fe80::1%25eth0]:1080", "IPv6" },
        { "socks5://10.0.0.5:1080/path", "nothing may follow" },
        { "socks5://10.0.0.5:1080?x=1", "nothing may follow" },
        { "socks5://alice@10.0.0.5:1080", "both a user name and a password" },
        { "socks5://:pw@10.0.0.5:1080", "user name is empty" },
        { "socks5://alice:@10.0.0.5:1080", "password is empty" },
        { "socks5://al%zz:pw@10.0.0.5:1080", "percent-encoding in the user name" },
        { "socks5://alice:pw%4@10.0.0.5:1080", "percent-encoding in the password" },
        { "socks5://alice:pw%@10.0.0.5:1080", "percent-encoding in the password" },
        { "socks5://al ice:pw@10.0.0.5:1080", "space or a control character" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bc_proxy px;
        char err[256] = "";
        bc_error st = bc_proxy_parse(cases[i].url, &px, err, sizeof err);
        CHECK(st == BC_EINVAL && strstr(err, cases[i].want), "rejects '%s' (%s): %s", cases[i].url, cases[i].want,
              err);
        CHECK(!px.auth && px.user_len == 0 && px.pass_len == 0, "'%s': nothing kept", cases[i].url);
    }
    /* RFC 1929: at most 255 bytes each, counted after decoding */
    bc_proxy px;
    char err[256] = "";
    snprintf(url, sizeof url, "socks5://%s:%s@10.0.0.5:1080", u255, u255);
    CHECK(bc_proxy_parse(url, &px, err, sizeof err) == BC_OK && px.user_len == 255 && px.pass_len == 255,
          "255-byte user and password are taken");
    snprintf(url, sizeof url, "socks5://%s:pw@10.0.0.5:1080", u256);
    CHECK(bc_proxy_parse(url, &px, err, sizeof err) == BC_EINVAL && strstr(err, "user name is longer than 255"),
          "a 256-byte user name is refused: %s", err);
    snprintf(url, sizeof url, "socks5://u:%s@10.0.0.5:1080", u256);
    CHECK(bc_proxy_parse(url, &px, err, sizeof err) == BC_EINVAL && strstr(err, "password is longer than 255"),
          "a 256-byte password is refused: %s", err);
    /* 85 "%41" decode to 85 bytes: the length is the decoded one */
    char enc[300] = "";
    for (size_t k = 0; k < 85; k++)
        snprintf(enc + 3 * k, sizeof enc - 3 * k, "%%41");
    snprintf(url, sizeof url, "socks5://u:%s@10.0.0.5:1080", enc);
    CHECK(bc_proxy_parse(url, &px, err, sizeof err) == BC_OK && px.pass_len == 85,
          "encoded length is not counted");
    /* the password never appears in a message */
    CHECK(bc_proxy_parse("socks5://alice:hunter2@proxy.example:1080", &px, err, sizeof err) == BC_EINVAL &&
              !strstr(err, "hunter2") && !strstr(err, "alice"),
          "messages never quote the credentials: %s", err);
    CHECK(bc_proxy_check("socks5://alice:hunter2@10.0.0.5:1080", err, sizeof err) == BC_OK,
          "bc_proxy_check accepts a good URL");
    CHECK(bc_proxy_check("socks5h://10.0.0.5:1080", err, sizeof err) == BC_EINVAL,
          "bc_proxy_check refuses socks5h");
}

/* ---- replies ------------------------------------------------------------------------ */

static void test_replies(void)
{
    static const unsigned char v4[] = { 5, 0, 0, 1, 10, 0, 0, 5, 0x9c, 0x5b };
    static const unsigned char v6[] = { 5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0,    0,
                                        0, 0, 0, 0, 0,    0,    0,    0,    5, 0x04, 0x38 };
    static const unsigned char name[] = {
        5, 0, 0, 3, 13, 'p', 'r', 'o', 'x', 'y', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 25, 'E', 'H'
    }; /* two bytes of the tunnel after it */
    static const unsigned char odd_name[] = { 5, 0, 0, 3, 3, 'a', '\n', 0xff, 0, 1 };
    static const unsigned char empty_name[] = { 5, 0, 0, 3, 0, 0, 80 };
    static const struct {
        const char *what;
        const unsigned char *b;
        size_t len;
        bc_socks5_rc want;
        const char *bound;
        size_t used;
    } cases[] = {
        { "IPv4 BND", v4, sizeof v4, BC_SOCKS5_OK, "10.0.0.5:40027", 10 },
        { "IPv6 BND", v6, sizeof v6, BC_SOCKS5_OK, "[2001:db8::5]:1080", 22 },
        { "name BND, tunnel bytes after", name, sizeof name, BC_SOCKS5_OK, "proxy.example:25", 20 },
        { "name BND with odd bytes", odd_name, sizeof odd_name, BC_SOCKS5_OK, "a??:1", 10 },
        { "empty name BND", empty_name, sizeof empty_name, BC_SOCKS5_OK, ":80", 7 },
        { "nothing", v4, 0, BC_SOCKS5_MORE, "", 0 },
        { "one byte", v4, 1, BC_SOCKS5_MORE, "", 0 },
        { "no ATYP yet", v4, 3, BC_SOCKS5_MORE, "", 0 },
        { "IPv4 without the port", v4, 8, BC_SOCKS5_MORE, "", 0 },
        { "IPv4 one byte short", v4, 9, BC_SOCKS5_MORE, "", 0 },
        { "IPv6 one byte short", v6, 21, BC_SOCKS5_MORE, "", 0 },
        { "name one byte short", name, 19, BC_SOCKS5_MORE, "", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bc_socks5_reply r;
        char err[160] = "";
        /* a private copy of exactly len bytes, so ASan sees any read past it */
        unsigned char copy[64];
        memcpy(copy, cases[i].b, cases[i].len);
        bc_socks5_rc rc = bc_socks5_parse_reply(copy, cases[i].len, &r, err, sizeof err);
        CHECK(rc == cases[i].want, "reply %s: rc %d (%s)", cases[i].what, rc, err);
        if (rc == BC_SOCKS5_OK) {
            CHECK_STR(r.bound, cases[i].bound, cases[i].what);
            CHECK(r.len == cases[i].used, "reply %s: %zu bytes used", cases[i].what, r.len);
        }
    }
    static const struct {
        unsigned char b[4];
        size_t len;
        const char *want;
    } bad[] = {
        { { 4, 0, 0, 1 }, 4, "not SOCKS5 (version byte 4)" },
        { { 0x32, 0x32, 0x30, 0x20 }, 4, "not SOCKS5" }, /* an SMTP greeting: no proxy there */
        { { 5, 1 }, 2, "general SOCKS server failure (REP 1)" },
        { { 5, 2, 0, 1 }, 4, "connection not allowed by ruleset (REP 2)" },
        { { 5, 3 }, 2, "network unreachable (REP 3)" },
        { { 5, 4 }, 2, "refused the CONNECT: host unreachable (REP 4)" },
        { { 5, 5 }, 2, "connection refused (REP 5)" },
        { { 5, 6 }, 2, "TTL expired (REP 6)" },
        { { 5, 7 }, 2, "command not supported (REP 7)" },
        { { 5, 8 }, 2, "address type not supported (REP 8)" },
        { { 5, 9 }, 2, "unassigned code (REP 9)" },
        { { 5, 0, 0, 2 }, 4, "unknown address type (ATYP 2)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bc_socks5_reply r;
        char err[160] = "";
        unsigned char copy[8] = { 0 };
        memcpy(copy, bad[i].b, bad[i].len);
        /* a fifth byte, so an ATYP test is not just waiting for more */
        bc_socks5_rc rc = bc_socks5_parse_reply(copy, bad[i].len + (bad[i].len == 4), &r, err, sizeof err);
        CHECK(rc == BC_SOCKS5_ERROR && strstr(err, bad[i].want), "bad reply %u %u: %s", bad[i].b[0], bad[i].b[1],
              err);
        if (bad[i].b[0] == 5 && bad[i].b[1])
            CHECK(r.rep == bad[i].b[1], "REP %u kept", r.rep);
    }
}

/* ---- the handshake ----------------------------------------------------------------- */

static void target4(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
    in->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &in->sin_addr);
    in->sin_port = htons((uint16_t)port);
}

static void test_handshake(void)
{
    bc_proxy px;
    struct sockaddr_storage t;
    target4(&t, "11.22.5.10", 25);
    unsigned char out[BC_SOCKS5_OUT_MAX];
    size_t outlen = 0, used = 0;
    bc_socks5 s;

    /* no credentials: one method, then CONNECT, then OPEN */
    bc_proxy_parse("socks5://11.22.5.1:1080", &px, NULL, 0);
    CHECK(bc_socks5_begin(&s, &px, (struct sockaddr *)&t, out, &outlen), "begin");
    CHECK(outlen == 3 && memcmp(out, "\x05\x01\x00", 3) == 0, "greeting offers method 0 only");
    static const unsigned char m0[] = { 5, 0 };
    CHECK(bc_socks5_feed(&s, m0, 1, &used, out, &outlen) == BC_SOCKS5_MORE && used == 0, "half a method reply");
    CHECK(bc_socks5_feed(&s, m0, 2, &used, out, &outlen) == BC_SOCKS5_OK && used == 2 &&
              s.state == BC_SOCKS5_CONNECT,
          "method 0 -> CONNECT");
    CHECK(outlen == 10 && memcmp(out, "\x05\x01\x00\x01\x0b\x16\x05\x0a\x00\x19", 10) == 0,
          "CONNECT 11.22.5.10:25 with ATYP 1");
    static const unsigned char ok[] = { 5, 0, 0, 1, 11, 22, 5, 2, 0x9c, 0x5b, '2', '2', '0' };
    CHECK(bc_socks5_feed(&s, ok, sizeof ok, &used, out, &outlen) == BC_SOCKS5_OK && used == 10 && outlen == 0 &&
              s.state == BC_SOCKS5_OPEN,
          "reply -> OPEN, the greeting bytes left for SMTP");
    CHECK_STR(s.reply.bound, "11.22.5.2:40027", "bound address");

    /* credentials: two methods, RFC 1929, CONNECT to IPv6 */
    bc_proxy_parse("socks5://bob:p%40ss@[::1]:1080", &px, NULL, 0);
    struct sockaddr_storage t6;
    memset(&t6, 0, sizeof t6);
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&t6;
    in6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::25", &in6->sin6_addr);
    in6->sin6_port = htons(25);
    CHECK(bc_socks5_begin(&s, &px, (struct sockaddr *)&t6, out, &outlen) && outlen == 4 &&
              memcmp(out, "\x05\x02\x00\x02", 4) == 0,
          "greeting offers methods 0 and 2");
    static const unsigned char m2[] = { 5, 2 };
    CHECK(bc_socks5_feed(&s, m2, 2, &used, out, &outlen) == BC_SOCKS5_OK && s.state == BC_SOCKS5_AUTH,
          "method 2 -> AUTH");
    CHECK(outlen == 10 && memcmp(out,
                                 "\x01\x03"
                                 "bob"
                                 "\x04"
                                 "p@ss",
                                 10) == 0,
          "RFC 1929 request");
    static const unsigned char authok[] = { 1, 0 };
    CHECK(bc_socks5_feed(&s, authok, 2, &used, out, &outlen) == BC_SOCKS5_OK && s.state == BC_SOCKS5_CONNECT &&
              outlen == 22 && out[3] == 4 && out[20] == 0 && out[21] == 25,
          "auth ok -> CONNECT with ATYP 4");
    static const unsigned char rep4[] = { 5, 4, 0, 1, 0, 0, 0, 0, 0, 0 };
    CHECK(bc_socks5_feed(&s, rep4, sizeof rep4, &used, out, &outlen) == BC_SOCKS5_ERROR &&
              s.state == BC_SOCKS5_FAILED && !s.failed_at_proxy &&
              strcmp(s.error, "refused the CONNECT: host unreachable (REP 4)") == 0,
          "REP 4 fails, as the target's problem: %s", s.error);

    /* failures that are the proxy's */
    static const struct {
        const char *url;
        unsigned char b1[2], b2[2];
        const char *want;
    } fails[] = {
        { "socks5://1.2.3.4:1", { 5, 0xff }, { 0, 0 }, "requires authentication" },
        { "socks5://u:p@1.2.3.4:1", { 5, 0xff }, { 0, 0 }, "accepts none of our authentication methods" },
        { "socks5://1.2.3.4:1", { 5, 2 }, { 0, 0 }, "which we did not offer" },
        { "socks5://1.2.3.4:1", { 5, 1 }, { 0, 0 }, "method 1, which we did not offer" },
        { "socks5://1.2.3.4:1", { 4, 0 }, { 0, 0 }, "not SOCKS5" },
        { "socks5://u:p@1.2.3.4:1", { 5, 2 }, { 1, 1 }, "authentication failed" },
        { "socks5://u:p@1.2.3.4:1", { 5, 2 }, { 9, 0 }, "not RFC 1929" },
    };
    for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
        bc_proxy_parse(fails[i].url, &px, NULL, 0);
        bc_socks5_begin(&s, &px, (struct sockaddr *)&t, out, &outlen);
        bc_socks5_rc rc = bc_socks5_feed(&s, fails[i].b1, 2, &used, out, &outlen);
        if (rc == BC_SOCKS5_OK)
            rc = bc_socks5_feed(&s, fails[i].b2, 2, &used, out, &outlen);
        CHECK(rc == BC_SOCKS5_ERROR && s.failed_at_proxy && strstr(s.error, fails[i].want), "%s: %s",
              fails[i].want, s.error);
    }
    /* RFC 1929 answered with version 5 by some servers: taken */
    bc_proxy_parse("socks5://u:p@1.2.3.4:1", &px, NULL, 0);
    bc_socks5_begin(&s, &px, (struct sockaddr *)&t, out, &outlen);
    bc_socks5_feed(&s, m2, 2, &used, out, &outlen);
    static const unsigned char auth5[] = { 5, 0 };
    CHECK(bc_socks5_feed(&s, auth5, 2, &used, out, &outlen) == BC_SOCKS5_OK && s.state == BC_SOCKS5_CONNECT,
          "auth status with version byte 5 is accepted");
    /* a malformed CONNECT reply is the proxy's fault */
    static const unsigned char junk[] = { '2', '2', '0', ' ' };
    CHECK(bc_socks5_feed(&s, junk, sizeof junk, &used, out, &outlen) == BC_SOCKS5_ERROR && s.failed_at_proxy,
          "a reply that is not SOCKS5 is the proxy's fault");
    /* a family we cannot tunnel */
    struct sockaddr_storage un;
    memset(&un, 0, sizeof un);
    un.ss_family = AF_UNIX;
    CHECK(!bc_socks5_begin(&s, &px, (struct sockaddr *)&un, out, &outlen) && s.state == BC_SOCKS5_FAILED,
          "AF_UNIX target refused");
}

int main(void)
{
    test_urls_ok();
    test_urls_bad();
    test_replies();
    test_handshake();
    return tap_done();
}
