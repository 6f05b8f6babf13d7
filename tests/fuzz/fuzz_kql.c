/*
 * fuzz_kql.c - the KQL lexer and parser must never crash, recurse without
 * bound or allocate past the query arena's cap on any input. Properties
 * checked as well: every error names a line:column, every node's position lies
 * inside the input, and a tree that parsed dumps to an S-expression whose
 * parentheses balance.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kql/vg_kql.h"

#define FUZZ_ARENA_CAP (16u << 20)

static void walk(const vg_kql_node *n, size_t size, unsigned depth)
{
    if (!n) abort();
    if (depth >= VG_KQL_MAX_HEIGHT || n->height > VG_KQL_MAX_HEIGHT - depth) abort();   /* bounded height */
    if (n->pos.offset > size || n->pos.line == 0 || n->pos.col == 0) abort();
    if ((unsigned)n->kind >= VG_KQL_KIND_COUNT_) abort();
    for (uint32_t k = 0; k < n->n; k++) {
        if (n->kids[k]->height >= n->height) abort();
        walk(n->kids[k], size, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_arena a;
    vg_arena_init(&a, 0, FUZZ_ARENA_CAP);
    vg_str q = vg_str_make((const char *)data, size);
    const vg_kql_node *root = NULL;
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_kql_parse(&a, q, &root, &d);
    if (e != VG_OK && strncmp(d.msg, "line ", 5) != 0 && size <= VG_KQL_MAX_INPUT) abort();
    if (e == VG_OK || (e == VG_EUNSUPPORTED && root)) {
        walk(root, size, 0);
        vg_buf b;
        vg_buf_init(&b, 0);
        vg_kql_ast_dump(&b, root, VG_KQL_DUMP_POS);
        if (b.failed) abort();
        /* parentheses outside strings balance */
        long open = 0;
        bool in_str = false;
        for (size_t i = 0; i < b.n; i++) {
            char c = b.p[i];
            if (in_str) {
                if (c == '\\') i++;
                else if (c == '"') in_str = false;
            } else if (c == '"') in_str = true;
            else if (c == '(') open++;
            else if (c == ')' && --open < 0) abort();
        }
        if (open != 0 || in_str) abort();
        vg_buf_free(&b);
    }
    vg_arena_free(&a);
    return 0;
}
