/*
 * socks5.c - the SOCKS5 proxy URL and the client handshake (RFC 1928, RFC
 * 1929), as pure functions over bytes; see socks5.h for the state machine.
 *
 * Messages never quote the URL: it may hold a password. They name the
 * part that is wrong instead, and quote a scheme or a host only when it is
 * short and printable.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"
#include "smtp/socks5.h"

#define SOCKS5_VERSION 0x05
#define SOCKS5_AUTH_VERSION 0x01 /* RFC 1929 sub-negotiation */
#define SOCKS5_METHOD_NONE 0x00
#define SOCKS5_METHOD_USERPASS 0x02
#define SOCKS5_METHOD_REFUSED 0xFF
#define SOCKS5_CMD_CONNECT 0x01
#define SOCKS5_ATYP_IPV4 0x01
#define SOCKS5_ATYP_NAME 0x03
#define SOCKS5_ATYP_IPV6 0x04
#define QUOTE_MAX 40 /* longest scheme or host quoted in a message */

/* ---- the URL ------------------------------------------------------------------- */

/* True when s[0..n) is short and plain enough to quote in a message. */
static bool quotable(const char *s, size_t n)
{
    if (n == 0 || n > QUOTE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
            return false;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (cap bytes), as RFC 3986 userinfo: every
 * '%' starts two hex digits; spaces and control bytes must be encoded.
 * Writes what is wrong into errbuf (naming the field `what`) and returns
 * BC_EINVAL, or BC_OK with the length in *outlen (1..cap). */
static bc_error pct_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *outlen,
                           const char *what, char *errbuf, size_t errlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return bc_seterr(errbuf, errlen, BC_EINVAL,
                                 "proxy URL: bad percent-encoding in the %s ('%%' must start two hex digits)",
                                 what);
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (c <= 0x20 || c == 0x7F) {
            return bc_seterr(errbuf, errlen, BC_EINVAL,
                             "proxy URL: the %s holds a space or a control character (percent-encode it)", what);
        }
        if (o == cap)
            return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL: the %s is longer than %zu bytes (RFC 1929)",
                             what, cap);
        out[o++] = c;
    }
    if (o == 0)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL: the %s is empty (RFC 1929 needs 1 to %zu bytes)",
                         what, cap);
    *outlen = o;
    return BC_OK;
}

/* The port: 1 to 5 digits, 1..65535. */
static bool parse_port(const char *s, size_t n, unsigned *port)
{
    if (n == 0 || n > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    *port = v;
    return true;
}

/* HOST:PORT of the authority (hp[0..n)) into out->addr. */
static bc_error parse_hostport(const char *hp, size_t n, bc_proxy *out, char *errbuf, size_t errlen)
{
    const char *host, *port;
    size_t hlen, plen;
    int family;
    if (n && hp[0] == '[') {
        const char *close = memchr(hp, ']', n);
        if (!close)
            return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL: '[' without ']' around the IPv6 address");
        host = hp + 1;
        hlen = (size_t)(close - host);
        family = AF_INET6;
        if (close + 1 == hp + n || close[1] != ':')
            return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL needs a port: socks5://[IPV6]:PORT");
        port = close + 2;
        plen = n - (size_t)(port - hp);
    } else {
        const char *colon = NULL;
        for (size_t i = 0; i < n; i++)
            if (hp[i] == ':')
                colon = hp + i;
        if (!colon)
            return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL needs a port: socks5://HOST:PORT");
        host = hp;
        hlen = (size_t)(colon - hp);
        if (memchr(host, ':', hlen))
            return bc_seterr(errbuf, errlen, BC_EINVAL,
                             "proxy URL: put an IPv6 address in brackets (socks5://[2001:db8::1]:1080)");
        family = AF_INET;
        port = colon + 1;
        plen = n - hlen - 1;
    }
    if (hlen == 0)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL: no host (socks5://HOST:PORT)");
    unsigned portnum;
    if (!parse_port(port, plen, &portnum)) {
        if (plen == 0)
            return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL needs a port: socks5://HOST:PORT");
        return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL: the port must be a number from 1 to 65535");
    }
    char text[INET6_ADDRSTRLEN];
    bool ok = hlen < sizeof text;
    if (ok) {
        memcpy(text, host, hlen);
        text[hlen] = '\0';
    }
    memset(&out->addr, 0, sizeof out->addr);
    if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&out->addr;
        if (!ok || inet_pton(AF_INET6, text, &in6->sin6_addr) != 1)
            return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL: not an IPv6 address between the brackets");
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)portnum);
        out->addr_len = sizeof *in6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)(void *)&out->addr;
        if (!ok || inet_pton(AF_INET, text, &in->sin_addr) != 1) {
            if (quotable(host, hlen))
                return bc_seterr(errbuf, errlen, BC_EINVAL,
                                 "proxy URL: the host '%.*s' is not an IP address (names are not resolved for the"
                                 " proxy: give its address)",
                                 (int)hlen, host);
            return bc_seterr(errbuf, errlen, BC_EINVAL,
                             "proxy URL: the host is not an IP address (names are not resolved for the proxy:"
                             " give its address)");
        }
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)portnum);
        out->addr_len = sizeof *in;
    }
    return BC_OK;
}

/* Parses "socks5://[user:pass@]IP:PORT[/]"; see socks5.h. */
bc_error bc_proxy_parse(const char *url, bc_proxy *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!url || !*url)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL is empty");
    const char *sep = strstr(url, "://");
    if (!sep)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL must look like socks5://[USER:PASS@]HOST:PORT");
    size_t slen = (size_t)(sep - url);
    if (slen == 7 && strncasecmp(url, "socks5h", 7) == 0)
        return bc_seterr(errbuf, errlen, BC_EINVAL,
                         "proxy URL: socks5h:// (names resolved by the proxy) is not supported: BounceCheck "
                         "resolves the MX itself and has the proxy connect to its address; use socks5://");
    if (slen != 6 || strncasecmp(url, "socks5", 6) != 0) {
        if (quotable(url, slen))
            return bc_seterr(errbuf, errlen, BC_EINVAL,
                             "proxy URL: scheme '%.*s' is not supported (only socks5://)", (int)slen, url);
        return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL: only the socks5:// scheme is supported");
    }
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (auth[alen] == '?' || auth[alen] == '#' || (auth[alen] == '/' && auth[alen + 1] != '\0'))
        return bc_seterr(errbuf, errlen, BC_EINVAL, "proxy URL: nothing may follow HOST:PORT (no path or query)");
    /* The last '@' ends the user information: a host never holds one. */
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            at = auth + i;
    const char *hp = auth;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (!colon)
            return bc_seterr(errbuf, errlen, BC_EINVAL,
                             "proxy URL: give both a user name and a password (socks5://USER:PASS@HOST:PORT)");
        bc_error st = pct_decode(auth, (size_t)(colon - auth), out->user, sizeof out->user, &out->user_len,
                                 "user name", errbuf, errlen);
        if (st == BC_OK)
            st = pct_decode(colon + 1, (size_t)(at - colon - 1), out->pass, sizeof out->pass, &out->pass_len,
                            "password", errbuf, errlen);
        if (st != BC_OK) {
            memset(out, 0, sizeof *out);
            return st;
        }
        out->auth = true;
        hp = at + 1;
    }
    bc_error st = parse_hostport(hp, alen - (size_t)(hp - auth), out, errbuf, errlen);
    if (st != BC_OK) {
        memset(out, 0, sizeof *out); /* no credentials left behind */
        return st;
    }
    bc_socks5_addr_label((const struct sockaddr *)&out->addr, out->label, sizeof out->label);
    return BC_OK;
}

/* "a.b.c.d:port" or "[v6]:port"; "?" for other families. */
void bc_socks5_addr_label(const struct sockaddr *sa, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(buf, len, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, "?");
    }
}

/* ---- the CONNECT reply ------------------------------------------------------------ */

/* RFC 1928 section 6. */
const char *bc_socks5_rep_name(unsigned rep)
{
    switch (rep) {
    case 0: return "succeeded";
    case 1: return "general SOCKS server failure";
    case 2: return "connection not allowed by ruleset";
    case 3: return "network unreachable";
    case 4: return "host unreachable";
    case 5: return "connection refused";
    case 6: return "TTL expired";
    case 7: return "command not supported";
    case 8: return "address type not supported";
    }
    return "unassigned code";
}

/* Reads VER REP RSV ATYP BND.ADDR BND.PORT; see socks5.h. RSV is not
 * checked: it says nothing about the tunnel. */
bc_socks5_rc bc_socks5_parse_reply(const unsigned char *buf, size_t len, bc_socks5_reply *out, char *err,
                                   size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len < 2)
        return BC_SOCKS5_MORE;
    if (buf[0] != SOCKS5_VERSION) {
        bc_strf(err, errlen, "answered the CONNECT with something that is not SOCKS5 (version byte %u)", buf[0]);
        return BC_SOCKS5_ERROR;
    }
    out->rep = buf[1];
    if (out->rep != 0) {
        bc_strf(err, errlen, "refused the CONNECT: %s (REP %u)", bc_socks5_rep_name(out->rep), out->rep);
        return BC_SOCKS5_ERROR;
    }
    if (len < 5) /* the fifth byte is a name's length */
        return BC_SOCKS5_MORE;
    out->atyp = buf[3];
    size_t alen;
    switch (out->atyp) {
    case SOCKS5_ATYP_IPV4: alen = 4; break;
    case SOCKS5_ATYP_IPV6: alen = 16; break;
    case SOCKS5_ATYP_NAME: alen = 1 + (size_t)buf[4]; break; /* at most 256: within BC_SOCKS5_IN_MAX */
    default:
        bc_strf(err, errlen, "answered the CONNECT with an unknown address type (ATYP %u)", out->atyp);
        return BC_SOCKS5_ERROR;
    }
    size_t need = 4 + alen + 2;
    if (len < need)
        return BC_SOCKS5_MORE;
    const unsigned char *a = buf + 4;
    unsigned port = (unsigned)buf[need - 2] << 8 | buf[need - 1];
    char ip[INET6_ADDRSTRLEN];
    if (out->atyp == SOCKS5_ATYP_IPV4) {
        inet_ntop(AF_INET, a, ip, sizeof ip);
        snprintf(out->bound, sizeof out->bound, "%s:%u", ip, port);
    } else if (out->atyp == SOCKS5_ATYP_IPV6) {
        inet_ntop(AF_INET6, a, ip, sizeof ip);
        snprintf(out->bound, sizeof out->bound, "[%s]:%u", ip, port);
    } else {
        size_t n = a[0], o = 0;
        for (size_t i = 0; i < n; i++)
            out->bound[o++] = a[1 + i] > 0x20 && a[1 + i] < 0x7F ? (char)a[1 + i] : '?';
        snprintf(out->bound + o, sizeof out->bound - o, ":%u", port);
    }
    out->len = need;
    return BC_SOCKS5_OK;
}

/* ---- the handshake ----------------------------------------------------------------- */

/* Ends the handshake: FAILED with a formatted reason. */
__attribute__((format(printf, 3, 4))) static bc_socks5_rc socks5_fail(bc_socks5 *s, bool at_proxy, const char *fmt,
                                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    s->state = BC_SOCKS5_FAILED;
    s->failed_at_proxy = at_proxy;
    return BC_SOCKS5_ERROR;
}

/* The CONNECT request for s->target: ATYP 1 or 4, never a name. */
static size_t socks5_connect_request(const bc_socks5 *s, unsigned char *out)
{
    out[0] = SOCKS5_VERSION;
    out[1] = SOCKS5_CMD_CONNECT;
    out[2] = 0x00;
    if (s->target.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&s->target;
        out[3] = SOCKS5_ATYP_IPV4;
        memcpy(out + 4, &in->sin_addr, 4);
        memcpy(out + 8, &in->sin_port, 2); /* both already in network order */
        return 10;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&s->target;
    out[3] = SOCKS5_ATYP_IPV6;
    memcpy(out + 4, &in6->sin6_addr, 16);
    memcpy(out + 20, &in6->sin6_port, 2);
    return 22;
}

/* The RFC 1929 request: VER ULEN UNAME PLEN PASSWD. */
static size_t socks5_auth_request(const bc_proxy *px, unsigned char *out)
{
    size_t o = 0;
    out[o++] = SOCKS5_AUTH_VERSION;
    out[o++] = (unsigned char)px->user_len;
    memcpy(out + o, px->user, px->user_len);
    o += px->user_len;
    out[o++] = (unsigned char)px->pass_len;
    memcpy(out + o, px->pass, px->pass_len);
    return o + px->pass_len;
}

/* Starts the handshake: the greeting offers "no authentication" and, with
 * credentials, username/password. */
bool bc_socks5_begin(bc_socks5 *s, const bc_proxy *px, const struct sockaddr *target, unsigned char *out,
                     size_t *outlen)
{
    memset(s, 0, sizeof *s);
    s->proxy = px;
    *outlen = 0;
    if (target->sa_family == AF_INET)
        memcpy(&s->target, target, sizeof(struct sockaddr_in));
    else if (target->sa_family == AF_INET6)
        memcpy(&s->target, target, sizeof(struct sockaddr_in6));
    else {
        socks5_fail(s, false, "cannot tunnel to an address of family %d", target->sa_family);
        return false;
    }
    size_t o = 0;
    out[o++] = SOCKS5_VERSION;
    out[o++] = px->auth ? 2 : 1;
    out[o++] = SOCKS5_METHOD_NONE;
    if (px->auth)
        out[o++] = SOCKS5_METHOD_USERPASS;
    *outlen = o;
    s->state = BC_SOCKS5_METHOD;
    return true;
}

/* One step of the machine; see socks5.h. */
bc_socks5_rc bc_socks5_feed(bc_socks5 *s, const unsigned char *in, size_t len, size_t *used, unsigned char *out,
                            size_t *outlen)
{
    *used = 0;
    *outlen = 0;
    if (len > BC_SOCKS5_IN_MAX)
        len = BC_SOCKS5_IN_MAX;
    switch (s->state) {
    case BC_SOCKS5_METHOD:
        if (len < 2)
            return BC_SOCKS5_MORE;
        if (in[0] != SOCKS5_VERSION)
            return socks5_fail(s, true,
                               "answered the greeting with something that is not SOCKS5 (version byte %u)", in[0]);
        switch (in[1]) {
        case SOCKS5_METHOD_NONE:
            *used = 2;
            *outlen = socks5_connect_request(s, out);
            s->state = BC_SOCKS5_CONNECT;
            return BC_SOCKS5_OK;
        case SOCKS5_METHOD_USERPASS:
            if (!s->proxy->auth)
                return socks5_fail(s, true, "chose username/password authentication, which we did not offer");
            *used = 2;
            *outlen = socks5_auth_request(s->proxy, out);
            s->state = BC_SOCKS5_AUTH;
            return BC_SOCKS5_OK;
        case SOCKS5_METHOD_REFUSED:
            if (s->proxy->auth)
                return socks5_fail(s, true,
                                   "accepts none of our authentication methods (none, username/password)");
            return socks5_fail(s, true, "requires authentication (give socks5://USER:PASS@HOST:PORT)");
        default: return socks5_fail(s, true, "chose authentication method %u, which we did not offer", in[1]);
        }
    case BC_SOCKS5_AUTH:
        if (len < 2)
            return BC_SOCKS5_MORE;
        /* RFC 1929 says version 1; some servers echo 5. Either is an answer. */
        if (in[0] != SOCKS5_AUTH_VERSION && in[0] != SOCKS5_VERSION)
            return socks5_fail(s, true,
                               "answered the authentication with something that is not RFC 1929 "
                               "(version byte %u)",
                               in[0]);
        if (in[1] != 0)
            return socks5_fail(s, true, "authentication failed");
        *used = 2;
        *outlen = socks5_connect_request(s, out);
        s->state = BC_SOCKS5_CONNECT;
        return BC_SOCKS5_OK;
    case BC_SOCKS5_CONNECT: {
        char why[sizeof s->error];
        bc_socks5_rc rc = bc_socks5_parse_reply(in, len, &s->reply, why, sizeof why);
        if (rc == BC_SOCKS5_MORE)
            return rc;
        if (rc == BC_SOCKS5_ERROR)
            return socks5_fail(s, s->reply.rep == 0, "%s", why);
        *used = s->reply.len;
        s->state = BC_SOCKS5_OPEN;
        return BC_SOCKS5_OK;
    }
    case BC_SOCKS5_OPEN:
    case BC_SOCKS5_FAILED: break;
    }
    return socks5_fail(s, true, "handshake already over");
}

/* ---- public ------------------------------------------------------------------------- */

/* Validates a proxy URL as bc_verifier_new() would; see bouncecheck.h. */
bc_error bc_proxy_check(const char *url, char *errbuf, size_t errlen)
{
    bc_proxy px;
    bc_error st = bc_proxy_parse(url, &px, errbuf, errlen);
    explicit_bzero(&px, sizeof px); /* the password */
    return st;
}
