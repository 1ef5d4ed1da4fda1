/*
 * taglist.c - the DKIM-style tag-list splitter (RFC 6376 3.2) of the DMARC
 * and DKIM record parsers (see taglist.h).
 */
#include <stdio.h>
#include <string.h>

#include "core/taglist.h"

/* See taglist.h. */
size_t bc_tag_item(const char *s, size_t len, size_t i, char sep, size_t *a, size_t *b)
{
    size_t end = i;
    while (end < len && s[end] != sep)
        end++;
    *a = i;
    *b = end;
    while (*a < *b && bc_tag_wsp(s[*a]))
        (*a)++;
    while (*b > *a && bc_tag_wsp(s[*b - 1]))
        (*b)--;
    return end;
}

char *bc_tag_quote(char *dst, size_t cap, const char *s, size_t n)
{
    if (cap == 0)
        return dst;
    size_t limit = n > 60 ? 57 : n, j = 0;
    for (size_t i = 0; i < limit && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n > limit)
        for (int k = 0; k < 3 && j + 1 < cap; k++)
            dst[j++] = '.';
    dst[j] = '\0';
    return dst;
}

bool bc_taglist_split(const char *text, size_t len, bc_taglist *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\t') || c >= 0x7f) {
            snprintf(err, errlen, "byte 0x%02x at offset %zu is not printable ASCII", c, i);
            return false;
        }
    }
    size_t i = 0;
    for (;;) {
        size_t a, b, end = bc_tag_item(text, len, i, ';', &a, &b);
        if (a == b) {
            if (end < len)
                out->nempty++;
        } else {
            char q[80];
            size_t k = a;
            if (!bc_tag_alpha(text[k])) {
                snprintf(err, errlen, "'%s' does not start with a tag name",
                         bc_tag_quote(q, sizeof q, text + a, b - a));
                return false;
            }
            while (k < b && (bc_tag_alpha(text[k]) || bc_tag_digit(text[k]) || text[k] == '_'))
                k++;
            size_t name_end = k;
            while (k < b && bc_tag_wsp(text[k]))
                k++;
            if (k >= b || text[k] != '=') {
                snprintf(err, errlen, "'%s' is not tag=value", bc_tag_quote(q, sizeof q, text + a, b - a));
                return false;
            }
            k++;
            while (k < b && bc_tag_wsp(text[k]))
                k++;
            if (out->n == BC_TAGS_MAX) {
                snprintf(err, errlen, "more than %d tags", BC_TAGS_MAX);
                return false;
            }
            bc_tag *t = &out->tags[out->n++];
            t->name_off = a;
            t->name_len = name_end - a;
            t->value_off = k;
            t->value_len = b - k;
        }
        if (end >= len)
            break;
        i = end + 1;
    }
    return true;
}
