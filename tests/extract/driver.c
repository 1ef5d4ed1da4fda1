/*
 * driver.c - a tiny front end to bc_extract_file for the format tests
 * (tests/test_extract_formats.sh): prints every address found in the files
 * named on the command line, one per line; with -k each line is
 * "address<TAB>kind", with -l "address<TAB>line". Errors go to standard error as "FILE: message" and
 * make the exit status 1 (the other files are still read).
 */
#include <stdio.h>
#include <string.h>

#include "bouncecheck.h"

static void on_hit(void *arg, const bc_extract_hit *hit)
{
    const int *mode = arg;
    if (*mode == 'k')
        printf("%s\t%s\n", hit->address, hit->kind);
    else if (*mode == 'l')
        printf("%s\t%lu\n", hit->address, hit->line);
    else
        printf("%s\n", hit->address);
}

int main(int argc, char **argv)
{
    int mode = 0, i = 1, rc = 0;
    if (i < argc && (strcmp(argv[i], "-k") == 0 || strcmp(argv[i], "-l") == 0)) {
        mode = argv[i][1];
        i++;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: %s [-k|-l] FILE...|-\n", argv[0]);
        return 2;
    }
    bc_extract_options o = { .obfuscated = false };
    bc_scanner *s = bc_scanner_new(&o, on_hit, &mode);
    if (!s) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (; i < argc; i++) {
        char err[512] = "";
        if (bc_extract_file(s, argv[i], err, sizeof err) != BC_OK) {
            fprintf(stderr, "%s\n", err);
            rc = 1;
        }
        fflush(stdout);
    }
    bc_scanner_free(s);
    return rc;
}
