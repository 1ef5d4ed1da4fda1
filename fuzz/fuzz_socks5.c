/*
 * fuzz_socks5.c - libFuzzer target for the SOCKS5 module (src/lib/smtp/socks5.h).
 * An input starting with 'u' is a proxy URL (the rest of it); any other
 * input is what a proxy sends: the first byte picks whether we offer
 * credentials and how the bytes are split into reads, the rest goes through
 * the reply parser and the handshake machine, which must never consume more
 * than they were given, overflow what they write, or leave a message
 * unterminated.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/socks5.h"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

static void fuzz_url(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (!url)
        return;
    memcpy(url, data, size);
    url[size] = '\0';
    bc_proxy px;
    char err[256];
    bc_error st = bc_proxy_parse(url, &px, err, sizeof err);
    if (st == BC_OK) {
        require(px.addr.ss_family == AF_INET || px.addr.ss_family == AF_INET6);
        require(memchr(px.label, '\0', sizeof px.label) != NULL);
        require(!px.auth || (px.user_len >= 1 && px.user_len <= 255 && px.pass_len >= 1 && px.pass_len <= 255));
    } else {
        require(st == BC_EINVAL && memchr(err, '\0', sizeof err) != NULL);
        require(!px.auth && px.user_len == 0 && px.pass_len == 0);
    }
    free(url);
}

static void fuzz_proxy_bytes(unsigned mode, const uint8_t *data, size_t size)
{
    /* the reply parser alone, over exactly `size` bytes */
    bc_socks5_reply r;
    char err[160];
    bc_socks5_rc rc = bc_socks5_parse_reply(data, size, &r, err, sizeof err);
    if (rc == BC_SOCKS5_OK)
        require(r.len >= 7 && r.len <= size && r.len <= BC_SOCKS5_IN_MAX &&
                memchr(r.bound, '\0', sizeof r.bound) != NULL);

    /* the whole handshake, fed in reads of (mode >> 1) + 1 bytes */
    bc_proxy px;
    bc_proxy_parse((mode & 1) ? "socks5://user:pass@10.0.0.5:1080" : "socks5://10.0.0.5:1080", &px, NULL, 0);
    struct sockaddr_in t;
    memset(&t, 0, sizeof t);
    t.sin_family = AF_INET;
    t.sin_port = htons(25);
    inet_pton(AF_INET, "11.22.0.10", &t.sin_addr);
    bc_socks5 s;
    unsigned char out[BC_SOCKS5_OUT_MAX];
    size_t outlen = 0, off = 0, avail = 0, step = (mode >> 1) + 1;
    require(bc_socks5_begin(&s, &px, (const struct sockaddr *)&t, out, &outlen) && outlen <= sizeof out);
    /* data[off .. off + avail) arrived and is not consumed yet */
    while (s.state != BC_SOCKS5_OPEN && s.state != BC_SOCKS5_FAILED) {
        size_t left = size - off - avail;
        size_t take = left < step ? left : step;
        avail += take;
        size_t used = 0;
        rc = bc_socks5_feed(&s, data + off, avail, &used, out, &outlen);
        require(used <= avail && outlen <= sizeof out);
        if (rc == BC_SOCKS5_MORE) {
            require(used == 0);
            if (take == 0)
                break; /* the proxy has nothing more to say */
            continue;
        }
        if (rc == BC_SOCKS5_ERROR) {
            require(s.state == BC_SOCKS5_FAILED && s.error[0] && memchr(s.error, '\0', sizeof s.error));
            break;
        }
        require(used > 0);
        off += used;
        avail -= used;
    }
    if (s.state == BC_SOCKS5_OPEN)
        require(memchr(s.reply.bound, '\0', sizeof s.reply.bound) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* a private copy with no slack, so ASan sees any read past `size` */
    uint8_t *in = malloc(size);
    if (!in)
        return 0;
    memcpy(in, data, size);
    if (in[0] == 'u')
        fuzz_url(in + 1, size - 1);
    else
        fuzz_proxy_bytes(in[0], in + 1, size - 1);
    free(in);
    return 0;
}
