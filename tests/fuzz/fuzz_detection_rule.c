/*
 * fuzz_detection_rule.c - reading a custom detection rule body
 * (vg_cd_rule_parse, the JSON of POST .../detectionRules) and walking its
 * query's syntax tree (vg_cd_query_shape) must never crash or grow without
 * bound. A refusal has a message; an accepted rule has the required fields.
 * The body is read twice: as a new rule, and as a PATCH over the first.
 */
#include <stdint.h>
#include <stdlib.h>

#include "detect/vg_custom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_str body = vg_str_make((const char *)data, size);
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_cd_rule r, p;
    vg_err e = vg_cd_rule_parse(&a, body, NULL, &r, &d);
    if (e) {
        if (!d.msg[0])
            abort();
    } else {
        if (!r.name.p || !r.query.p)
            abort();
        vg_cd_shape sh;
        vg_diag_clear(&d);
        if (vg_cd_query_shape(&a, r.query, &sh, &d) && !d.msg[0])
            abort();
        vg_diag_clear(&d);
        if (vg_cd_rule_parse(&a, body, &r, &p, &d) && !d.msg[0])
            abort();
    }
    vg_arena_free(&a);
    return 0;
}
