/*
 * vg-kql-parse - parses a KQL query and prints its syntax tree, for the
 * golden tests (tests/golden/kql) and by hand when working on the parser.
 *
 *   vg-kql-parse [--pos] FILE|-     query from a file or stdin
 *   vg-kql-parse [--pos] -e 'QUERY'
 *
 * Prints the S-expression of vg_kql_ast_dump and exits 0, or prints
 * "error: <VG_NAME>: <message>" on stdout and exits 1 (2 on usage errors).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kql/vg_kql.h"

static int usage(void)
{
    fprintf(stderr, "usage: vg-kql-parse [--pos] FILE|-\n       vg-kql-parse [--pos] -e QUERY\n");
    return 2;
}

int main(int argc, char **argv)
{
    unsigned flags = 0;
    const char *expr = NULL, *file = NULL;
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--pos") == 0) flags |= VG_KQL_DUMP_POS;
        else if (strcmp(argv[k], "-e") == 0 && k + 1 < argc) expr = argv[++k];
        else if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) { usage(); return 0; }
        else if (!file) file = argv[k];
        else return usage();
    }
    if (!expr && !file) return usage();
    vg_buf in;
    vg_buf_init(&in, (size_t)VG_KQL_MAX_INPUT + 1);
    if (expr) {
        vg_buf_puts(&in, expr);
    } else {
        FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
        if (!f) { perror(file); return 2; }
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && !in.failed) vg_buf_put(&in, chunk, got);
        if (f != stdin) fclose(f);
    }
    vg_arena a;
    vg_arena_init(&a, 0, 256u << 20);
    vg_diag d;
    vg_diag_clear(&d);
    const vg_kql_node *q;
    vg_err e = in.failed ? vg_diag_set(&d, VG_ELIMIT, "query is longer than %u bytes", VG_KQL_MAX_INPUT)
                         : vg_kql_parse(&a, vg_str_make(in.p ? in.p : "", in.n), &q, &d);
    int rc = 0;
    if (e == VG_OK) {
        vg_buf out;
        vg_buf_init(&out, 0);
        vg_kql_ast_dump(&out, q, flags);
        fwrite(out.p, 1, out.n, stdout);
        putchar('\n');
        vg_buf_free(&out);
    } else {
        printf("error: %s: %s\n", vg_errname(e), d.msg);
        rc = 1;
    }
    vg_arena_free(&a);
    vg_buf_free(&in);
    return rc;
}
