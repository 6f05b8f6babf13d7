/*
 * kql_plan_more.c - planning of the reshaping operators: mv-expand,
 * mv-apply, parse, parse-where, make-series and evaluate (bag_unpack,
 * pivot). Each is planned against the schema produced so far, like the
 * operators of kql_plan_ops.c.
 */
#include "kql/kql_exec.h"

kx_op *kx_plan_more(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    (void)sc;
    (void)in;
    kx_fail(q, n->pos, VG_EUNSUPPORTED, "the %s operator is not supported yet", vg_kql_kind_name(n->kind));
    return NULL;
}
