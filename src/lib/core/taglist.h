/*
 * taglist.h - the DKIM-style tag-list of DNS TXT records (RFC 6376 3.2):
 * "name=value; name=value", the splitter that the DMARC record parser
 * (health/dmarc.c) and the DKIM key record parser (health/dkim.c) share,
 * with the small pieces of syntax they both read. Pure: no I/O, no
 * allocation. Fuzzed through the DMARC parser (fuzz/fuzz_dmarc.c).
 */
#ifndef BC_TAGLIST_H
#define BC_TAGLIST_H

#include <stdbool.h>
#include <stddef.h>

#define BC_TAGS_MAX 32

typedef struct bc_tag {
    size_t name_off, name_len;   /* the tag name in the text */
    size_t value_off, value_len; /* its value, surrounding whitespace trimmed (may be empty) */
} bc_tag;

typedef struct bc_taglist {
    size_t n;
    bc_tag tags[BC_TAGS_MAX];
    size_t nempty; /* empty elements (";;") seen and skipped */
} bc_taglist;

/* Splits text[0..len) at ';' into tag=value pairs. Tag names follow RFC
 * 6376 (ALPHA *(ALPHA / DIGIT / "_")), whitespace is space and tab. Returns
 * false with a message in err for a structural error (an element without
 * '=', a bad tag name, a control or non-ASCII byte, more than BC_TAGS_MAX
 * tags); the tags before the error are kept in out. */
bool bc_taglist_split(const char *text, size_t len, bc_taglist *out, char *err, size_t errlen);

/* Copies s[0..n) into dst[0..cap) for a message: printable ASCII kept,
 * other bytes as '?', cut with "..." beyond 60 characters. Returns dst. */
char *bc_tag_quote(char *dst, size_t cap, const char *s, size_t n);

/* The item of s[0..len) that starts at i and runs to the next `sep` or the
 * end, white space around it dropped: s[*a..*b). Returns where the item
 * ends (the index of the separator, or len). The tag list's elements, and
 * the ':' and ',' lists inside DMARC values. */
size_t bc_tag_item(const char *s, size_t len, size_t i, char sep, size_t *a, size_t *b);

/* The character classes of tag lists: white space (space, tab), ASCII
 * letters, ASCII digits. */
static inline bool bc_tag_wsp(char c)
{
    return c == ' ' || c == '\t';
}

static inline bool bc_tag_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool bc_tag_digit(char c)
{
    return c >= '0' && c <= '9';
}

#endif
