/*
 * bouncecheck.h - the public C API of libbouncecheck.
 *
 * BounceCheck tells whether an email address can receive mail without sending
 * any. The library knows no CLI, no HTTP and no files it was not handed: the
 * `bouncecheck` command and the server consume it through this header only.
 *
 * Conventions:
 *  - Every exported symbol starts with bc_ / BC_.
 *  - Functions that can fail return a bc_error; bc_strerror() names it.
 *  - Memory a function returns is owned by the caller unless its comment says
 *    otherwise; every *_free() function accepts NULL.
 *  - Strings are UTF-8 and NUL-terminated unless a length is passed with them.
 */
#ifndef BOUNCECHECK_H
#define BOUNCECHECK_H

/* Symbols of the shared library's public interface; everything else is hidden. */
#if defined(__GNUC__)
#define BC_API __attribute__((visibility("default")))
#else
#define BC_API
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BC_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------------------
 * Error codes: one enum for the whole library. Details go in messages. (A
 * verdict's status is bc_verdict_status, BC_STATUS_*, below.)
 * ------------------------------------------------------------------------- */
typedef enum bc_error {
    BC_OK = 0,
    BC_ENOMEM,     /* out of memory */
    BC_EINVAL,     /* invalid argument */
    BC_EIO,        /* file or stream error */
    BC_EDATA,      /* malformed data (a list file, a package, a reply) */
    BC_ENET,       /* network transfer failed */
    BC_EINTEGRITY, /* downloaded data did not match its published hash */
    BC_ENOTFOUND,  /* the thing asked for does not exist */
    BC_ELIMIT,     /* a limit stopped the work part way (what was done stands) */
} bc_error;
/* The former name of bc_error, kept so that programs written against it
 * still build. */
typedef bc_error bc_status;

/* A static English message for an error code; never NULL. */
BC_API const char *bc_strerror(bc_error st);

/* The library version, e.g. "0.1.0"; static. */
BC_API const char *bc_version(void);

/* A copy of len bytes at s in which every byte that does not start a
 * well-formed UTF-8 sequence is replaced by U+FFFD (for JSON, which must be
 * UTF-8). NUL-terminated; its length in *outlen. The caller frees it; NULL
 * on ENOMEM. */
BC_API char *bc_utf8_repair(const char *s, size_t len, size_t *outlen);

/* ---------------------------------------------------------------------------
 * Address syntax (RFC 5321 / 5322 / 6531, IDNA2008 + UTS #46).
 *
 * Categories and diagnoses follow Dominic Sayers' isemail, from least to most
 * severe, extended with codes for inputs isemail never meets (empty, NUL,
 * invalid UTF-8, control characters, oversized input, unsafe Unicode
 * characters) and for domain rules it does not check (R-LDH labels, TLDs).
 * ------------------------------------------------------------------------- */
typedef enum bc_syntax_category {
    BC_CAT_VALID = 0, /* a plain RFC 5321 mailbox */
    BC_CAT_DNSWARN,   /* valid, but DNS raised a doubt (set by the DNS layer) */
    BC_CAT_RFC5321,   /* valid for SMTP but unusual: quoted, address literal */
    BC_CAT_CFWS,      /* valid RFC 5322 only with comments / folding space */
    BC_CAT_DEPREC,    /* uses obsolete RFC 5322 forms */
    BC_CAT_RFC5322,   /* valid RFC 5322 addr-spec that SMTP cannot carry */
    BC_CAT_ERR,       /* not an address */
} bc_syntax_category;

/* Diagnosis codes. The stable name of each (bc_syntax_code_name) is the
 * isemail constant lower-cased without its ISEMAIL_ prefix, e.g.
 * BC_SYN_ERR_CONSECUTIVEDOTS is "err_consecutivedots". */
typedef enum bc_syntax_code {
    BC_SYN_VALID = 0,
    /* DNS warnings (never produced by the offline parser) */
    BC_SYN_DNSWARN_NO_MX_RECORD,
    BC_SYN_DNSWARN_NO_RECORD,
    /* RFC 5321: valid, flagged */
    BC_SYN_RFC5321_TLD,
    BC_SYN_RFC5321_TLDNUMERIC, /* no longer given: an all-numeric TLD is err_tld_invalid */
    BC_SYN_RFC5321_QUOTEDSTRING,
    BC_SYN_RFC5321_ADDRESSLITERAL,
    BC_SYN_RFC5321_IPV6DEPRECATED,
    /* CFWS */
    BC_SYN_CFWS_COMMENT,
    BC_SYN_CFWS_FWS,
    /* deprecated */
    BC_SYN_DEPREC_LOCALPART,
    BC_SYN_DEPREC_FWS,
    BC_SYN_DEPREC_QTEXT,
    BC_SYN_DEPREC_QP,
    BC_SYN_DEPREC_COMMENT,
    BC_SYN_DEPREC_CTEXT,
    BC_SYN_DEPREC_CFWS_NEAR_AT,
    /* RFC 5322 only */
    BC_SYN_RFC5322_DOMAIN,
    BC_SYN_RFC5322_TOOLONG,
    BC_SYN_RFC5322_LOCAL_TOOLONG,
    BC_SYN_RFC5322_DOMAIN_TOOLONG,
    BC_SYN_RFC5322_LABEL_TOOLONG,
    BC_SYN_RFC5322_DOMAINLITERAL,
    BC_SYN_RFC5322_DOMLIT_OBSDTEXT,
    BC_SYN_RFC5322_IPV6_GRPCOUNT,
    BC_SYN_RFC5322_IPV6_2X2XCOLON,
    BC_SYN_RFC5322_IPV6_BADCHAR,
    BC_SYN_RFC5322_IPV6_MAXGRPS,
    BC_SYN_RFC5322_IPV6_COLONSTRT,
    BC_SYN_RFC5322_IPV6_COLONEND,
    /* errors */
    BC_SYN_ERR_EXPECTING_DTEXT,
    BC_SYN_ERR_NOLOCALPART,
    BC_SYN_ERR_NODOMAIN,
    BC_SYN_ERR_CONSECUTIVEDOTS,
    BC_SYN_ERR_ATEXT_AFTER_CFWS,
    BC_SYN_ERR_ATEXT_AFTER_QS,
    BC_SYN_ERR_ATEXT_AFTER_DOMLIT,
    BC_SYN_ERR_EXPECTING_QPAIR,
    BC_SYN_ERR_EXPECTING_ATEXT,
    BC_SYN_ERR_EXPECTING_QTEXT,
    BC_SYN_ERR_EXPECTING_CTEXT,
    BC_SYN_ERR_BACKSLASHEND,
    BC_SYN_ERR_DOT_START,
    BC_SYN_ERR_DOT_END,
    BC_SYN_ERR_DOMAINHYPHENSTART,
    BC_SYN_ERR_DOMAINHYPHENEND,
    BC_SYN_ERR_UNCLOSEDQUOTEDSTR,
    BC_SYN_ERR_UNCLOSEDCOMMENT,
    BC_SYN_ERR_UNCLOSEDDOMLIT,
    BC_SYN_ERR_FWS_CRLF_X2,
    BC_SYN_ERR_FWS_CRLF_END,
    BC_SYN_ERR_CR_NO_LF,
    /* BounceCheck's own errors, for inputs isemail never meets */
    BC_SYN_ERR_EMPTY,         /* "err_empty": empty input */
    BC_SYN_ERR_NUL,           /* "err_nul": a NUL byte in the input */
    BC_SYN_ERR_INVALID_UTF8,  /* "err_invalid_utf8": not well-formed UTF-8 */
    BC_SYN_ERR_CONTROL_CHAR,  /* "err_control_char": C0/C1 control or DEL */
    BC_SYN_ERR_INPUT_TOOLONG, /* "err_input_toolong": far beyond any address */
    BC_SYN_ERR_IDN,           /* "err_idn": domain fails IDNA2008/UTS #46 */
    BC_SYN_ERR_UTF8_LOCAL,    /* "err_utf8_local": UTF-8 local part not NFC-able */
    /* "err_invisible_char": a default-ignorable code point or a format
     * character (zero-width space, ZWNJ/ZWJ, soft hyphen, word joiner,
     * variation selectors, tags, BOM, Hangul fillers, ...) */
    BC_SYN_ERR_INVISIBLE_CHAR,
    /* "err_bidi_control": a bidirectional control (UAX #9): LRM, RLM, ALM,
     * embeddings, overrides, isolates */
    BC_SYN_ERR_BIDI_CONTROL,
    /* "err_unicode_whitespace": white space beyond ASCII (no-break space,
     * U+2000..U+200A, U+3000, line and paragraph separators, ...) */
    BC_SYN_ERR_UNICODE_WHITESPACE,
    /* "err_private_use": a private-use code point (U+E000..U+F8FF, planes 15
     * and 16) */
    BC_SYN_ERR_PRIVATE_USE,
    /* "err_noncharacter": a noncharacter (U+FDD0..U+FDEF, U+xxFFFE/U+xxFFFF) */
    BC_SYN_ERR_NONCHARACTER,
    /* "err_leading_combining_mark": a combining mark (general category M)
     * starts the local part, a dot-separated element of it, or a label */
    BC_SYN_ERR_LEADING_COMBINING_MARK,
    /* "err_domain_hyphen34": a label with "--" in positions 3 and 4 that is
     * not an xn-- A-label (RFC 5891 4.2.3.1); a bad xn-- label is err_idn */
    BC_SYN_ERR_DOMAIN_HYPHEN34,
    /* "err_tld_invalid": the last label of a domain name is neither all
     * letters nor an A-label (RFC 3696 section 2, the root zone's practice) */
    BC_SYN_ERR_TLD_INVALID,
    BC_SYN__COUNT
} bc_syntax_code;

/* Flags describing a parsed address (bits of bc_addr.flags). */
enum {
    BC_ADDR_QUOTED = 1u << 0,         /* local part is a quoted string */
    BC_ADDR_DOMAIN_LITERAL = 1u << 1, /* domain is [address literal] */
    BC_ADDR_UTF8_LOCAL = 1u << 2,     /* local part has non-ASCII (needs SMTPUTF8) */
    BC_ADDR_IDN = 1u << 3,            /* domain has non-ASCII labels (or xn--) */
    BC_ADDR_SPECIAL_USE = 1u << 4,    /* RFC 6761/6762/7686/2606 special-use domain */
};

/* Output buffer sizes. Valid addresses are at most 254 octets on the wire;
 * the U-label form of a domain can be longer in bytes than its A-label form. */
#define BC_LOCAL_MAX 256
#define BC_DOMAIN_MAX 1024
#define BC_ADDR_MAX (BC_LOCAL_MAX + 1 + BC_DOMAIN_MAX)

/* The result of parsing one address. Plain value, caller-owned, no pointers. */
typedef struct bc_addr {
    bool valid;                  /* usable as an SMTP mailbox (category <= RFC5321) */
    bc_syntax_category category; /* category of `code` */
    bc_syntax_code code;         /* the most severe diagnosis */
    unsigned flags;              /* BC_ADDR_* */
    /* The fields below are filled whenever the parser could split the input
     * (also for many invalid inputs); empty strings otherwise. */
    char local[BC_LOCAL_MAX];         /* local part, NFC, quotes removed when not needed */
    char domain[BC_DOMAIN_MAX];       /* domain, U-label form, lower case, no trailing dot */
    char ascii_domain[BC_DOMAIN_MAX]; /* domain, A-label form (ASCII), lower case */
    char normalized[BC_ADDR_MAX];     /* local@domain (U-label form) */
} bc_addr;

/* Parses `len` bytes at `in` (not NUL-terminated necessarily) into *out.
 * Pure: no I/O, no allocation that outlives the call. Never fails on any
 * input: the diagnosis says what is wrong. Returns out->code. */
BC_API bc_syntax_code bc_addr_parse(const char *in, size_t len, bc_addr *out);

/* Stable snake_case name of a diagnosis ("valid", "err_nodomain", ...). */
BC_API const char *bc_syntax_code_name(bc_syntax_code code);
/* The category a diagnosis belongs to. */
BC_API bc_syntax_category bc_syntax_code_category(bc_syntax_code code);
/* Stable name of a category ("valid", "dnswarn", "rfc5321", "cfws",
 * "deprec", "rfc5322", "err"). */
BC_API const char *bc_syntax_category_name(bc_syntax_category cat);

/* ---------------------------------------------------------------------------
 * Context: the loaded domain data (disposable, free, role, typo lists).
 * ------------------------------------------------------------------------- */
typedef struct bc_ctx bc_ctx;

typedef struct bc_options {
    /* Directory holding lists written by bc_lists_update(); NULL or a
     * directory without lists means the lists compiled into the library. */
    const char *data_dir;
    /* A providers file (JSON, the shape of data/providers.json) read after
     * the built-in rules: an entry with the same name replaces the built-in
     * one, a new name adds a provider. NULL: the built-in rules only. */
    const char *providers_file;
} bc_options;

/* Creates a context. *out is owned by the caller (bc_ctx_free). On failure
 * *out is NULL and, when errbuf is not NULL, a message is written there. */
BC_API bc_error bc_ctx_new(bc_ctx **out, const bc_options *opts, char *errbuf, size_t errlen);
BC_API void bc_ctx_free(bc_ctx *ctx);

/* What the lists know about one domain or local part. Pointers are static or
 * owned by the context and live as long as it. */
BC_API bool bc_is_disposable(const bc_ctx *ctx, const char *ascii_domain);
BC_API bool bc_is_free_provider(const bc_ctx *ctx, const char *ascii_domain);
/* The role category ("admin", "support", ...) of a local part, or NULL. */
BC_API const char *bc_role_category(const bc_ctx *ctx, const char *local);
/* A corrected domain for a near-miss of a popular provider or TLD
 * (gmial.com -> gmail.com); false when none. Writes a NUL-terminated
 * A-label domain to out. */
BC_API bool bc_suggest_domain(const bc_ctx *ctx, const char *ascii_domain, char *out, size_t outlen);

/* One list's provenance, for `bouncecheck lists`. */
typedef struct bc_list_info {
    const char *name;    /* "disposable", "free", "role", "allow", "popular" */
    size_t count;        /* entries loaded */
    const char *source;  /* e.g. "disposable-email-domains-js@1.26.0, fakefilter@0.1.1476" */
    const char *license; /* e.g. "CC0-1.0, BSD-3-Clause" */
    const char *origin;  /* "builtin" or the file path it was loaded from */
} bc_list_info;
/* Fills up to `max` entries; returns how many lists there are. */
BC_API size_t bc_lists_info(const bc_ctx *ctx, bc_list_info *out, size_t max);

/* For `bouncecheck disposable`: the entry of the disposable list (or of the
 * allow list) that ascii_domain matches, the domain itself or the first
 * parent found walking up to its registrable domain, copied NUL-terminated
 * to out. False when none matches (or it does not fit). bc_is_disposable()
 * is a disposable match that is not allow-listed. */
BC_API bool bc_disposable_match(const bc_ctx *ctx, const char *ascii_domain, char *out, size_t outlen);
BC_API bool bc_allowlist_match(const bc_ctx *ctx, const char *ascii_domain, char *out, size_t outlen);
/* The registrable domain of ascii_domain (public suffix plus one label, by
 * libpsl's built-in list) into out; false for a public suffix itself. */
BC_API bool bc_registrable_domain(const char *ascii_domain, char *out, size_t outlen);
/* Whether ascii_domain receives mail, asking the DNS servers dns_servers
 * ("IP[:PORT][,...]", NULL: /etc/resolv.conf), blocking: 1 when it has MX
 * records other than a null MX (RFC 7505) or, without MX, an A or AAAA
 * record (RFC 5321 implicit MX); 0 when it has none or does not exist; -1
 * when DNS could not tell (a message in errbuf). */
BC_API int bc_domain_has_mx(const char *ascii_domain, const char *dns_servers, char *errbuf, size_t errlen);
/* Checks that the DNS servers dns_servers ("IP[:PORT][,...]", NULL:
 * /etc/resolv.conf) can be believed when they say that a domain does not
 * exist, blocking: the root zone's NS set must resolve, and a random name
 * that cannot exist ("bouncecheck-nx-<random>.com") must be NXDOMAIN.
 * timeout_ms per try (0: 2000; each server gets two tries, the second
 * twice as long). Returns 1 when it passes, 0 when it fails (captive
 * portals, filtering proxies and sandboxes answer NXDOMAIN to every name,
 * SERVFAIL, nothing, or invent addresses), -1 when the check could not
 * run (a bad server list); msg gets one line naming the resolver
 * address(es) and what it answered, e.g. "resolver 10.0.0.1 answers
 * NXDOMAIN for the root zone's NS". */
BC_API int bc_resolver_check(const char *dns_servers, int timeout_ms, char *msg, size_t msglen);
/* `bouncecheck disposable` for one input (a domain or an address): a JSON
 * object (caller frees) with input, domain, unicode_domain, disposable,
 * matched, list, allowlisted, allow_matched, registrable_domain, has_mx
 * (null when offline or DNS could not tell, then with dns_error), or
 * {input, error} when the input is neither. NULL on ENOMEM. */
BC_API char *bc_disposable_check(const bc_ctx *ctx, const char *input, bool offline, const char *dns_servers);

/* Downloads the source packages from an npm registry (default
 * https://registry.npmjs.org), checks each tarball against the registry's
 * published integrity hash, normalises the lists and writes them atomically
 * into `data_dir`. `pinned` true fetches the versions this release was built
 * from; false the latest. Progress lines go to `log` when not NULL. */
typedef struct bc_update_options {
    const char *data_dir; /* required */
    const char *registry; /* NULL for the default */
    bool pinned;
    void (*log)(void *arg, const char *line);
    void *log_arg;
} bc_update_options;
BC_API bc_error bc_lists_update(const bc_update_options *opts, char *errbuf, size_t errlen);

/* ---------------------------------------------------------------------------
 * Verification results.
 * ------------------------------------------------------------------------- */
typedef enum bc_verdict_status {
    BC_STATUS_UNKNOWN = 0,
    BC_STATUS_DELIVERABLE,
    BC_STATUS_UNDELIVERABLE,
    BC_STATUS_RISKY,
} bc_verdict_status;

/* "deliverable", "undeliverable", "risky", "unknown". */
BC_API const char *bc_verdict_status_name(bc_verdict_status st);

typedef struct bc_result bc_result; /* opaque */

/* Offline verification: syntax and domain data, no network. `email` is the
 * input exactly as given (len bytes). *out is owned by the caller
 * (bc_result_free). */
BC_API bc_error bc_verify_offline(bc_ctx *ctx, const char *email, size_t len, bc_result **out);

BC_API void bc_result_free(bc_result *r);

BC_API bc_verdict_status bc_result_status(const bc_result *r);
BC_API const char *bc_result_reason(const bc_result *r); /* stable snake_case, owned by r */
BC_API int bc_result_score(const bc_result *r);          /* 0..100 */
BC_API const bc_addr *bc_result_addr(const bc_result *r);

/* A fact that may not have been established. */
typedef enum bc_tristate { BC_UNKNOWN = -1, BC_NO = 0, BC_YES = 1 } bc_tristate;
BC_API bc_tristate bc_result_disposable(const bc_result *r);
BC_API bc_tristate bc_result_free_provider(const bc_result *r);
BC_API bc_tristate bc_result_role(const bc_result *r);
BC_API bc_tristate bc_result_accept_all(const bc_result *r);
/* Role category or NULL; owned by the context that made r. */
BC_API const char *bc_result_role_category(const bc_result *r);
/* The whole corrected address (typo suggestion) or NULL; owned by r. */
BC_API const char *bc_result_suggestion(const bc_result *r);
/* The mail server that answered the probe, else the preferred MX host, else
 * NULL; owned by r. */
BC_API const char *bc_result_mx_host(const bc_result *r);
/* The SMTP reply code that decided the verdict (0: none) and its text (NULL:
 * none); owned by r. */
BC_API int bc_result_smtp_code(const bc_result *r);
BC_API const char *bc_result_smtp_message(const bc_result *r);
/* The name of the reply rule that read that reply ("5xx.mailbox.x11", ...;
 * the table is in src/lib/smtp/smtp_rules.c), or NULL; static. */
BC_API const char *bc_result_smtp_rule(const bc_result *r);
/* Our address on the connection that decided, or NULL; owned by r. */
BC_API const char *bc_result_smtp_source(const bc_result *r);
/* The provider recognised from the MX host names ("google", ...), or NULL;
 * static or owned by the context. */
BC_API const char *bc_result_provider(const bc_result *r);
/* What the sender can do about this result (blocked client, refused MAIL
 * FROM), one sentence with a lookup URL, or NULL; owned by r. */
BC_API const char *bc_result_hint(const bc_result *r);
/* When DNS could not tell (reason dns_error or dns_unreliable), or no mail
 * server did because the session ended without a reply that says (a
 * timeout, a reset, a session out of step: protocol_error, timeout,
 * temporary_failure, ...): what went wrong, one line ("MX example.com: CNAME
 * loop: ...", "mx.example.com: out of step: 220 is no reply to ehlo"), or
 * NULL; owned by r. */
BC_API const char *bc_result_detail(const bc_result *r);

/* ---------------------------------------------------------------------------
 * Online verification: DNS and the SMTP probe, on a libevent loop.
 * ------------------------------------------------------------------------- */
struct event_base;

#define BC_MAX_SOURCE_IPS 16
#define BC_MAX_GREYLIST_WAITS 8
#define BC_RCPTS_START 50 /* rcpts_per_connection 0: each host starts at this many */

typedef struct bc_verify_options {
    const char *dns_servers;                     /* "IP[:PORT][,...]"; NULL: /etc/resolv.conf */
    const char *helo;                            /* EHLO name; NULL: this host's FQDN */
    const char *mail_from;                       /* MAIL FROM; NULL: verify@<helo name> */
    int timeout_ms;                              /* deadline per address; 0: 60000 */
    int connect_timeout_ms;                      /* 0: 10000 */
    int greeting_timeout_ms;                     /* 0: 30000 */
    int command_timeout_ms;                      /* 0: 30000 */
    int mx_connections;                          /* concurrent connections per MX host; 0: 2 */
    int rcpts_per_connection;                    /* most addresses asked per connection; 0: adaptive */
    int domain_rate_per_min;                     /* new connections per domain per minute; 0: 60 */
    int greylist_waits_s[BC_MAX_GREYLIST_WAITS]; /* waits before each recheck; all 0: 60, 300 */
    int n_greylist_waits;
    const char *source_ips[BC_MAX_SOURCE_IPS]; /* local addresses, round robin; none: the OS picks */
    int n_source_ips;
    const char *proxy;  /* "socks5://[USER:PASS@]IP:PORT": SMTP probes go through this SOCKS5
                                    * proxy (user and password percent-encoded; the MX is still resolved
                                    * here and checked as without it); NULL: direct */
    int smtp_port;      /* 0: 25 */
    bool allow_private; /* contact loopback/private/reserved MX addresses too */
    bool no_catch_all;  /* skip the catch-all test */
    bool no_starttls;   /* never try STARTTLS */
    bool trace;         /* keep the SMTP transcript in each result */
} bc_verify_options;

typedef struct bc_verifier bc_verifier; /* opaque */

/* Creates a verifier on `base` (the caller runs the loop). It shares `ctx`
 * (which must outlive it) and keeps a DNS cache, per-host connection limits
 * and catch-all facts for its lifetime. *out is owned by the caller. */
BC_API bc_error bc_verifier_new(bc_verifier **out, bc_ctx *ctx, struct event_base *base,
                                const bc_verify_options *opts, char *errbuf, size_t errlen);

/* Called exactly once per submitted address, from the loop, with a result
 * the callee owns (bc_result_free). */
typedef void (*bc_verify_cb)(void *arg, bc_result *r);

/* Queues one address (len bytes, exactly as given). Addresses submitted in
 * the same loop turn are grouped by domain and share connections. */
BC_API bc_error bc_verifier_submit(bc_verifier *v, const char *email, size_t len, bc_verify_cb cb, void *arg);
/* The same with this address's own deadline (timeout_ms > 0; 0: the
 * verifier's timeout_ms), e.g. an API caller's "timeout". */
BC_API bc_error bc_verifier_submit_timeout(bc_verifier *v, const char *email, size_t len, int timeout_ms,
                                           bc_verify_cb cb, void *arg);

/* The HELO name and MAIL FROM in use. Owned by v. */
BC_API const char *bc_verifier_helo(const bc_verifier *v);
BC_API const char *bc_verifier_mail_from(const bc_verifier *v);
/* NULL when a connection to `sa` is safe by default (a global unicast
 * address); else the name of the range it is in ("loopback", "private",
 * ...): what the verifier refuses without allow_private. For other
 * outgoing connections a user controls (webhooks). */
struct sockaddr;
BC_API const char *bc_netsafe_check(const struct sockaddr *sa);
/* BC_OK when url is a proxy bc_verify_options.proxy accepts; else BC_EINVAL
 * with the reason in errbuf (which never quotes the password). For
 * checking settings before a verifier is made. */
BC_API bc_error bc_proxy_check(const char *url, char *errbuf, size_t errlen);

/* Facts shared between verifiers (workers on several machines verifying
 * one list): whether ascii_domain accepts every recipient, as v knows it
 * now. BC_YES or BC_NO, with how long ago it was tested in *age_ms (may be
 * NULL); BC_UNKNOWN when v has not tested it or the fact has expired (an
 * hour). */
BC_API bc_tristate bc_verifier_accept_all(bc_verifier *v, const char *ascii_domain, int64_t *age_ms);
/* Tells v what another verifier found age_ms ago, so that v does not test
 * the domain again. Ignored when accept_all is BC_UNKNOWN, when the fact
 * is older than its lifetime, or when v has a fresher fact or a test under
 * way. */
BC_API void bc_verifier_learn_accept_all(bc_verifier *v, const char *ascii_domain, bc_tristate accept_all,
                                         int64_t age_ms);

/* Whether the verifier's DNS resolver can be believed when it says that a
 * domain does not exist (see bc_resolver_check): BC_YES or BC_NO as the
 * last check found, with how long ago it ended in *age_ms (may be NULL)
 * and its one-line message in msg (may be NULL: "resolver 10.0.0.1 answers
 * NXDOMAIN for the root zone's NS"); BC_UNKNOWN before any check has
 * ended. The verifier runs the check itself, when a DNS answer would make
 * an address undeliverable (NXDOMAIN, no mail server, null MX) and the
 * last outcome is older than 5 minutes (1 minute after a failure); those
 * answers wait for it, and while it fails they give status unknown,
 * reason "dns_unreliable". Call from the loop's thread. */
BC_API bc_tristate bc_verifier_resolver_ok(bc_verifier *v, int64_t *age_ms, char *msg, size_t msglen);
/* Starts a resolver check now, unless one is under way (a server's
 * periodic check); its outcome is read with bc_verifier_resolver_ok. */
BC_API void bc_verifier_check_resolver(bc_verifier *v);

/* SMTP connections the verifier has started so far (for metrics). */
BC_API uint64_t bc_verifier_connections(const bc_verifier *v);

/* What a mail server (one address) has shown it takes; 0: no limit seen.
 * The verifier learns them from the server's answers: "452 4.5.3 Too many
 * recipients" past some recipients of a transaction or of a connection, a
 * connection dropped with recipients unanswered (Postfix's error limit),
 * replies slowed down on purpose past some recipients (a tarpit). */
typedef struct bc_host_limits {
    int rcpts_per_connection;  /* recipients asked in one connection */
    int rcpts_per_transaction; /* recipients in one MAIL transaction */
} bc_host_limits;

/* A connection gate shared with other processes, so that the per-host cap
 * (mx_connections) holds across every verifier that uses the same gate, e.g.
 * the workers of one database. The verifier asks it before each connection
 * and keeps its own per-host count as well; every call comes from the loop.
 *  take:    one connection to `host` (an IP address in text form) while at
 *           most `cap` are open over all processes, held for at most
 *           hold_ms (the connection is closed by then, whatever happens, so
 *           a process that dies cannot keep the slot). Returns 1 and a slot
 *           number in *slot when taken, 0 when the host has `cap` open now
 *           (the verifier asks again a little later), -1 on an error (taken
 *           as 0). May fill *shared with limits other processes learned of
 *           the host (left zero when none).
 *  give:    the connection taken as `slot` is closed.
 *  learned: the verifier lowered its limits of `host` (may be NULL). */
typedef struct bc_host_gate {
    int (*take)(void *arg, const char *host, int cap, int64_t hold_ms, int *slot, bc_host_limits *shared);
    void (*give)(void *arg, const char *host, int slot);
    void (*learned)(void *arg, const char *host, const bc_host_limits *limits);
    void *arg;
} bc_host_gate;

/* Puts every new connection of v through gate (copied; gate->arg must
 * outlive v), or none with NULL. Set it before the first submission. */
BC_API void bc_verifier_set_host_gate(bc_verifier *v, const bc_host_gate *gate);

/* The limits v learned of the mail server at IP address `host`, and whether
 * it knows the host at all (false: *out zeroed). */
BC_API bool bc_verifier_host_limits(const bc_verifier *v, const char *host, bc_host_limits *out);

/* Frees the verifier. Addresses still pending get their callback first,
 * with status unknown and reason "cancelled". Connections still open are
 * cancelled and release their memory on the loop's next turn: run
 * event_base_loop(base, EVLOOP_NONBLOCK) before freeing the base. Accepts
 * NULL. */
BC_API void bc_verifier_free(bc_verifier *v);

/* The SMTP transcript of a result verified with trace on: n lines, each with
 * dir 'C' (sent), 'S' (received) or '*' (event). Owned by r. */
BC_API size_t bc_result_transcript_len(const bc_result *r);
BC_API const char *bc_result_transcript_line(const bc_result *r, size_t i, char *dir);
/* Forgets r's transcript (its JSON then has none). Accepts NULL. */
BC_API void bc_result_drop_transcript(bc_result *r);

/* The result as one line of JSON (no newline), with every field the CLI and
 * the API document; NULL on allocation failure. Caller frees with free(). */
BC_API char *bc_result_json(const bc_result *r);
/* The same with one more boolean member at the end (the API's "cached"). */
BC_API char *bc_result_json_with(const bc_result *r, const char *key, bool value);

/* ---------------------------------------------------------------------------
 * SMTP server test (`bouncecheck smtp-test`): one host, blocking.
 * ------------------------------------------------------------------------- */
typedef struct bc_smtp_test_options {
    const char *helo;       /* EHLO name; NULL: this host's FQDN */
    int port;               /* 0: 25, 587, 465, 2525 in turn (465 is implicit TLS) */
    bool allow_private;     /* test loopback/private/reserved addresses too */
    int connect_timeout_ms; /* 0: 10000 */
    int command_timeout_ms; /* per reply; 0: 30000 */
} bc_smtp_test_options;

/* Connects to each port of `host` (a name or an IP address) and reports the
 * connect time, banner, EHLO extensions, TLS (STARTTLS, or implicit on 465)
 * and its certificate, whether the banner names the address's reverse DNS
 * and whether the server is an open relay (asked up to RCPT, never DATA).
 * *json_out receives the report as JSON (see src/lib/health/smtptest.h), owned by
 * the caller (free()). BC_OK whenever the test ran, even if no port
 * answered; BC_EINVAL for unusable arguments or a private address without
 * allow_private; BC_ENOTFOUND when the host does not resolve. o may be
 * NULL (all defaults). */
BC_API bc_error bc_smtp_test(const char *host, const bc_smtp_test_options *o, char **json_out, char *errbuf,
                             size_t errlen);

/* ---------------------------------------------------------------------------
 * SPF (`bouncecheck spf`): RFC 7208 check_host() over DNS, blocking.
 * ------------------------------------------------------------------------- */
/* Evaluates the SPF policy of sender's domain (an empty sender: the HELO
 * name's, as postmaster@helo) for client address ip, asking the DNS servers
 * dns_servers ("IP[:PORT][,...]", NULL: /etc/resolv.conf). *json_out gets
 * {"result": "pass"|"fail"|"softfail"|"neutral"|"none"|"temperror"|
 * "permerror", "explanation": str|null, "ip", "sender", "helo", "domain",
 * "trace": [...the terms evaluated...], "lookups", "void_lookups"}, owned
 * by the caller (free()). BC_OK whatever the result; BC_EINVAL for a bad
 * ip (or no sender and no helo); BC_ENET when the resolver cannot be set
 * up. */
BC_API bc_error bc_spf_check(const char *dns_servers, const char *ip, const char *sender, const char *helo,
                             char **json_out, char *errbuf, size_t errlen);

/* ---------------------------------------------------------------------------
 * Domain health: `bouncecheck dns` (MX, SPF, DMARC, DKIM, blocklists,
 * MTA-STS, TLS-RPT, BIMI, DNSSEC).
 * ------------------------------------------------------------------------- */
typedef struct bc_health_options {
    const char *dns_servers;           /* "IP[:PORT],..."; NULL: /etc/resolv.conf */
    const char *const *dkim_selectors; /* checked besides the common ones */
    size_t n_dkim_selectors;
    const char *const *ips; /* sending addresses to check on the IP blocklists */
    size_t n_ips;
    const char *ip_blocklists;     /* "zone,zone"; NULL: the defaults */
    const char *domain_blocklists; /* "zone,zone"; NULL: the defaults */
    bool allow_private;            /* connect to private/loopback addresses too */
    bool no_smtp;                  /* skip the STARTTLS test of the MX hosts */
    const char *ca_file;           /* extra CAs for the MTA-STS policy fetch */
    const char *helo;              /* EHLO name; NULL: this host's FQDN */
    int timeout_ms;                /* per connection and reply; 0: 10000 */
} bc_health_options;

/* The report on `domain` as JSON (caller frees *json_out): sections mx,
 * spf, dmarc, dkim, blocklists, mta_sts, tls_rpt, bimi, dnssec, each
 * {status, records, findings [{severity, code, message, fix}], ...} (fix:
 * what to change, on warn and fail findings; null otherwise), with a
 * grade (A-F) and a score. BC_EINVAL for a bad domain or DNS setup (errbuf). */
BC_API bc_error bc_health_check(const char *domain, const bc_health_options *o, char **json_out, char *errbuf,
                                size_t errlen);

/* ---------------------------------------------------------------------------
 * Doctor (`bouncecheck doctor`, GET /v1/doctor): the sending host audits
 * itself before it probes anyone, blocking.
 * ------------------------------------------------------------------------- */
typedef struct bc_doctor_options {
    /* The identity and network settings the verifier would use, read the
     * same way: helo (NULL: this host's FQDN), mail_from (NULL:
     * verify@<helo>), source_ips (none: the address the OS picks towards
     * the MX of `domain`, found without sending a packet; with a proxy,
     * the proxy's outgoing address, which only the caller knows),
     * dns_servers, smtp_port (0: 25), allow_private, proxy (port 25 is
     * tested through it), connect_timeout_ms and greeting_timeout_ms (0:
     * 10000 each here). NULL: all defaults. */
    const bc_verify_options *verify;
    /* Whose MX the port 25 test connects to; NULL: the registrable domain
     * of the HELO name. */
    const char *domain;
    /* IP blocklist zones "zone,zone"; NULL: those of bc_health_check. */
    const char *ip_blocklists;
} bc_doctor_options;

/* Audits this host as a sender, the way receivers will see it, and writes
 * the report to *json_out (caller frees with free()):
 *   {"ok": bool, "checks": [{"name", "status", "detail", "fix", ["subject"]}]}
 * name is one of "ptr" (one per source address: a PTR that resolves back,
 * FCrDNS), "helo_resolves" (the HELO name is a FQDN whose A/AAAA records
 * are the source addresses), "helo_domain" and "from_domain" (not a
 * free-mail or big provider's domain), "port25" (an MX of the domain
 * greets with 220 on the SMTP port), "blocklist" (one per source address:
 * not listed on the IP blocklists; refusals are warnings, not listings);
 * status "pass", "warn" or "fail"; detail one line saying what was found;
 * fix one line saying what to change (null on pass); subject the source
 * address a ptr or blocklist check is about. ok is true when no check
 * failed. BC_OK whenever the report was made, whatever it found;
 * BC_EINVAL for unusable options (a source address that is not an IP
 * address, a bad DNS server list); BC_ENET when the DNS cannot be used
 * (the resolver check of bc_resolver_check fails: errbuf says what the
 * resolver answered). ctx gives the free-mail list and the provider rules
 * (NULL: the built-in rules, no free-mail list); o may be NULL. */
BC_API bc_error bc_doctor_check(bc_ctx *ctx, const bc_doctor_options *o, char **json_out, char *errbuf,
                                size_t errlen);

/* ---------------------------------------------------------------------------
 * Extraction: addresses found in text and files (`bouncecheck extract`).
 * ------------------------------------------------------------------------- */
typedef struct bc_extract_hit {
    const char *address; /* normalised: local@domain, domain lower case in U-labels (IDN) */
    const char *ascii;   /* the same with an A-label domain (what `verify` takes) */
    const char *file;    /* the source's name as set with bc_scanner_source ("-" for stdin) */
    unsigned long line;  /* 1-based line in the (decoded) text of that source */
    const char *kind;    /* where it was found: "text", "html", "mailto", "header", "body",
                           * "csv", "json", "pdf", "docx", "xlsx", "odt", "obfuscated" */
} bc_extract_hit;

/* Called for every address found, in order (duplicates included: the
 * caller deduplicates). Strings are valid during the call only. */
typedef void (*bc_extract_cb)(void *arg, const bc_extract_hit *hit);

/* The limits of one source (one bc_extract_file, or what is fed between two
 * bc_scanner_source calls), by default: 10 s of CPU time, and 256 MiB
 * decoded at any stage (the text fed to the scanner; what a decoder
 * inflates or holds on the way: zip members unpacked, an HTML file read
 * whole, one email message, a PDF decoder's memory beyond 512 MiB). What a
 * person writes stays far below both (256 MiB is also what the decoders
 * held at most before: an HTML or PDF file, a zip member); a decompression
 * bomb or a pathological document reaches one within seconds. */
#define BC_EXTRACT_MAX_SECONDS 10.0
#define BC_EXTRACT_MAX_BYTES ((int64_t)256 << 20)
/* Email messages and mbox files: a longer line or header (with its folded
 * lines, at most 4096) is cut there, and a header block at 4 times this or
 * 16384 fields, so that a message's memory stays a small multiple of it
 * whatever the input (bc_extract_stats.lines_cut). */
#define BC_EXTRACT_LINE_MAX ((size_t)1 << 20)

typedef struct bc_extract_options {
    bool obfuscated;    /* also decode "john [at] example [dot] com" and the like */
    double max_seconds; /* CPU seconds per source: 0 BC_EXTRACT_MAX_SECONDS, < 0 no limit */
    int64_t max_bytes;  /* bytes decoded per source: 0 BC_EXTRACT_MAX_BYTES, < 0 no limit */
} bc_extract_options;

/* Which limit stopped a source. */
typedef enum bc_extract_limit {
    BC_EXTRACT_LIMIT_NONE = 0,
    BC_EXTRACT_LIMIT_SECONDS, /* max_seconds of CPU time were spent */
    BC_EXTRACT_LIMIT_BYTES,   /* max_bytes were decoded */
} bc_extract_limit;

/* What the current source (or the last one, once it has ended) cost. */
typedef struct bc_extract_stats {
    bc_extract_limit limit;  /* the limit that stopped it (the rest was not read), or NONE */
    double seconds;          /* CPU seconds spent on it (a decoding process's included) */
    uint64_t bytes;          /* text bytes fed to the scanner */
    unsigned long lines_cut; /* lines over BC_EXTRACT_LINE_MAX cut (email, mbox) */
    unsigned long first_cut; /* the input line of the first of them (1-based), or 0 */
} bc_extract_stats;

typedef struct bc_scanner bc_scanner; /* opaque */

/* A streaming scanner: feed it text in chunks of any size (an address cut
 * between two chunks is still found); memory stays bounded whatever the
 * input size. NULL on ENOMEM. */
BC_API bc_scanner *bc_scanner_new(const bc_extract_options *o, bc_extract_cb cb, void *arg);
/* Starts a new source: ends the previous one (as bc_scanner_end), sets the
 * file name and kind reported with hits, and restarts the line count. */
BC_API void bc_scanner_source(bc_scanner *s, const char *file, const char *kind);
/* Sets the kind of what is fed next without ending the source or the
 * line count (a decoder switching between headers and body). */
BC_API void bc_scanner_kind(bc_scanner *s, const char *kind);
BC_API void bc_scanner_feed(bc_scanner *s, const char *buf, size_t len);
/* Flushes what is held back at the end of the current source. */
BC_API void bc_scanner_end(bc_scanner *s);
BC_API void bc_scanner_free(bc_scanner *s); /* accepts NULL */
/* The limits apply from bc_scanner_source on: once one is reached, what is
 * fed is dropped until the next source (an address cut by the stop is not
 * reported). bc_scanner_stats says what the source cost and why it stopped. */
BC_API void bc_scanner_stats(const bc_scanner *s, bc_extract_stats *out);

/* Scans one file (path, or "-" for standard input) of any supported format
 * (plain text, HTML, email messages and mbox, CSV/TSV, JSON, PDF, DOCX,
 * XLSX, ODT), detected from its content: decodes it and feeds the scanner
 * (setting the source). BC_OK, or an error with a message in errbuf
 * (binary or unreadable file, damaged or encrypted document, a bound
 * exceeded); hits found before the error stand. BC_ELIMIT when one of the
 * scanner's limits stopped it (bc_scanner_stats says which): the time limit
 * is looked at inside every decoder's loops, so it ends within a fraction
 * of a second of the limit. */
BC_API bc_error bc_extract_file(bc_scanner *s, const char *path, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* BOUNCECHECK_H */
