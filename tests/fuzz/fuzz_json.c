/*
 * fuzz_json.c - the JSON reader: DOM parse, pull parse and lookup must never
 * crash or read out of bounds on any input, and a document the DOM accepts
 * must write back to text that parses again to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/vg_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_arena a;
    vg_arena_init(&a, 0, 64u << 20);
    vg_str text = vg_str_make((const char *)data, size);
    vg_json *root;
    vg_diag d;
    if (vg_json_parse(&a, text, &root, &d) == VG_OK) {
        vg_buf b1, b2;
        vg_buf_init(&b1, 0);
        vg_buf_init(&b2, 0);
        vg_json_write(&b1, root);
        vg_json *again;
        if (vg_json_parse(&a, vg_str_make(b1.p ? b1.p : "", b1.n), &again, &d) != VG_OK)
            abort();
        vg_json_write(&b2, again);
        if (b1.n != b2.n || (b1.n && memcmp(b1.p, b2.p, b1.n) != 0))
            abort();
        vg_buf_free(&b1);
        vg_buf_free(&b2);
    }
    vg_json_val v;
    vg_json_lookup(text, VG_STR_LIT("Table"), &a, &v);
    vg_arena_free(&a);
    return 0;
}
