/*
 * utf8.h - UTF-8 well-formedness, shared by the modules that must keep
 * foreign text (server replies, user input) valid for JSON and terminals.
 */
#ifndef BC_UTF8_H
#define BC_UTF8_H

#include <stddef.h>

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0 when it
 * is not one (overlong, surrogate, above U+10FFFF, truncated). n >= 1. Pure. */
size_t bc_utf8_seq_len(const unsigned char *s, size_t n);

#endif
