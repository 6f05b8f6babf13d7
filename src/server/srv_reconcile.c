/*
 * srv_reconcile.c - at start, hands the incident engine every alert of the
 * event store it does not know yet.
 *
 * Alerts reach state.db after they are durable in the event store (the WAL
 * append comes first, then vg_inc_add). A crash or power loss between the
 * two, or a state.db commit lost with synchronous=NORMAL, leaves alerts the
 * engine never saw; so does restoring an event store next to an older
 * state.db. The pass reads the AlertId column of AlertInfo (cheap: one
 * column), and only when some id is unknown reads those alerts' AlertInfo
 * and AlertEvidence rows and correlates them, in Timestamp order like live
 * alerts. Known ids are never added twice (the engine ignores them anyway).
 */
#include <stdlib.h>
#include <string.h>

#include "../core/vg_log.h"
#include "../core/vg_map.h"
#include "../incident/vg_incident.h"
#include "vg_srv_int.h"

#define RECONCILE_MAX_ALERTS 1000000   /* unknown alerts taken in one start */

/* Rows of one table whose AlertId is in want, copied into batches. */
typedef struct rows {
    vg_batch **v;
    size_t n, cap;
} rows;

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        vg_batch_free(r->v[i]);
        free(r->v[i]);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

static vg_err rows_add(rows *r, const vg_batch *src, uint32_t row, vg_diag *d)
{
    vg_batch *b = r->n ? r->v[r->n - 1] : NULL;
    if (!b || vg_batch_full(b)) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 8;
            vg_batch **nv = realloc(r->v, cap * sizeof *nv);
            if (!nv)
                return vg_diag_set(d, VG_ENOMEM, "out of memory reconciling alerts");
            r->v = nv;
            r->cap = cap;
        }
        b = calloc(1, sizeof *b);
        if (!b || vg_batch_init(b, src->table, VG_BATCH_ROWS, NULL, src->has_raw)) {
            free(b);
            return vg_diag_set(d, VG_ENOMEM, "out of memory reconciling alerts");
        }
        r->v[r->n++] = b;
    }
    return vg_batch_copy_row(b, src, row);
}

/* Scans table t; for each row whose AlertId is unknown to the engine (pass 1,
 * want == NULL: collects the ids) or is in want (pass 2: copies the row). */
static vg_err scan(vg_srv *s, const vg_table_def *t, vg_map *want, vg_arena *a, rows *out,
                   uint64_t *unknown, vg_diag *d)
{
    int cid = vg_schema_col(t, vg_str_c("AlertId"));
    if (cid < 0)
        return vg_diag_set(d, VG_EINVAL, "schema: %s has no AlertId", t->name);
    bool *cols = NULL;
    if (!out) {
        cols = calloc(t->ncols, sizeof *cols);
        if (!cols)
            return vg_diag_set(d, VG_ENOMEM, "out of memory");
        cols[cid] = true;
    }
    vg_scan_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.table = t;
    spec.cols = cols;
    spec.raw = out != NULL;
    spec.tmin = INT64_MIN;
    spec.tmax = INT64_MAX;
    vg_scan *sc = NULL;
    vg_err e = vg_scan_open(s->store, &spec, &sc, d);
    if (e) {
        free(cols);
        return e;
    }
    const vg_batch *b;
    while ((e = vg_scan_next(sc, &b, d)) == VG_OK) {
        const vg_colvec *cv = &b->cols[cid];
        if (!cv->present)
            continue;
        for (uint32_t r = 0; r < b->nrows; r++) {
            if (!vg_bit_get(cv->valid, r))
                continue;
            vg_str id = cv->v.s[r];
            bool found = false;
            if (!out) {
                vg_map_get(want, id, &found);
                if (found || vg_inc_has_alert(s->inc, id))
                    continue;
                if (*unknown >= RECONCILE_MAX_ALERTS)
                    continue;
                if ((e = vg_map_put(want, vg_str_dup(a, id), NULL)))
                    break;
                (*unknown)++;
            } else {
                vg_map_get(want, id, &found);
                if (found && (e = rows_add(out, b, r, d)))
                    break;
            }
        }
        if (e)
            break;
    }
    if (e == VG_EEOF)
        e = VG_OK;
    vg_scan_close(sc);
    free(cols);
    return e;
}

vg_err vg_srv_incidents_reconcile(vg_srv *s, vg_diag *d)
{
    const vg_table_def *ti = vg_schema_table(vg_str_c("AlertInfo"));
    const vg_table_def *te = vg_schema_table(vg_str_c("AlertEvidence"));
    if (!s->inc || !ti || !te)
        return VG_OK;
    uint64_t t0 = vg_mono_ns(), unknown = 0;
    vg_map want;
    vg_map_init(&want, false);
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    rows info = { 0 }, ev = { 0 };
    vg_err e = scan(s, ti, &want, &a, NULL, &unknown, d);
    if (!e && unknown) {
        e = scan(s, ti, &want, &a, &info, NULL, d);
        if (!e)
            e = scan(s, te, &want, &a, &ev, NULL, d);
        if (!e) {
            size_t n = info.n + ev.n;
            vg_batch **all = calloc(n ? n : 1, sizeof *all);
            if (!all) {
                e = vg_diag_set(d, VG_ENOMEM, "out of memory reconciling alerts");
            } else {
                memcpy(all, info.v, info.n * sizeof *all);
                memcpy(all + info.n, ev.v, ev.n * sizeof *all);
                vg_inc_add_result res;
                memset(&res, 0, sizeof res);
                e = vg_inc_add(s->inc, (const vg_batch *const *)all, n, &res, d);
                free(all);
                if (!e)
                    vg_log(VG_LOG_INFO, "incidents: reconciled alerts from the event store",
                           VG_LI("alerts", res.alerts), VG_LI("incidents_created", res.created),
                           VG_LI("joined", res.joined), VG_LI("merged", res.merged));
            }
        }
    }
    if (!e)
        vg_log(VG_LOG_DEBUG, "incidents: reconcile pass", VG_LI("unknown_alerts", unknown),
               VG_LI("ms", (vg_mono_ns() - t0) / 1000000));
    rows_free(&info);
    rows_free(&ev);
    vg_map_free(&want);
    vg_arena_free(&a);
    return e;
}
