/*
 * kql_op_more_tab.c - make-series and the evaluate plugins bag_unpack and
 * pivot. They consume their whole input while the query is planned.
 */
#include "kql/kql_exec.h"

kx_op *kx_plan_make_series(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    (void)sc;
    (void)in;
    kx_fail(q, n->pos, VG_EUNSUPPORTED, "make-series is not supported yet");
    return NULL;
}

kx_op *kx_plan_evaluate(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    (void)sc;
    (void)in;
    kx_fail(q, n->pos, VG_EUNSUPPORTED, "evaluate is not supported yet");
    return NULL;
}
