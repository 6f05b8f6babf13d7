/*
 * custom_check.c - a custom detection rule checked against the KQL engine
 * before it is stored: the query must parse and bind, return Timestamp,
 * ReportId and one of Defender's entity columns, return every column its
 * impacted assets name, and - for near-real-time rules - read one table of
 * Defender's NRT list with no join, lookup, union or externaldata.
 *
 * The output columns come from running the query itself with `| take 0`
 * appended over an empty time window (vg_kql_opts time_min = time_max = 1
 * tick), so binding, typing and planning are the engine's own and no data
 * is read. The syntax tree is walked for the NRT conditions and the single
 * source table (which names the alerts' ServiceSource).
 */
#include <string.h>

#include "../kql/vg_kql.h"
#include "../schema/vg_schema.h"
#include "vg_custom.h"

/* Tables Defender runs near-real-time rules over. */
static const char *const nrt_tables[] = {
    "AlertEvidence", "CloudAppEvents", "DeviceEvents", "DeviceFileCertificateInfo",
    "DeviceFileEvents", "DeviceImageLoadEvents", "DeviceLogonEvents", "DeviceNetworkEvents",
    "DeviceNetworkInfo", "DeviceInfo", "DeviceProcessEvents", "DeviceRegistryEvents",
    "EmailAttachmentInfo", "EmailEvents", "EmailPostDeliveryEvents", "EmailUrlInfo",
    "IdentityDirectoryEvents", "IdentityLogonEvents", "IdentityQueryEvents", "UrlClickEvents",
    NULL,
};

typedef struct walk {
    const char *tables[8];
    uint32_t ntables;
    bool many;               /* more distinct tables than fit */
    const char *refused;     /* first construct NRT refuses */
    vg_kql_pos refused_pos;
} walk;

static void walk_node(walk *w, const vg_kql_node *n)
{
    if (!n)
        return;
    const char *bad = NULL;
    switch (n->kind) {
    case VG_KQL_JOIN: bad = "join"; break;
    case VG_KQL_LOOKUP: bad = "lookup"; break;
    case VG_KQL_UNION: case VG_KQL_UNION_OP: bad = "union"; break;
    case VG_KQL_EXTERNALDATA: bad = "externaldata"; break;
    case VG_KQL_TABLE: {
        const vg_table_def *t = vg_schema_table(n->name);
        if (!t)
            break;   /* a let-bound name */
        bool seen = false;
        for (uint32_t i = 0; i < w->ntables; i++)
            if (!strcmp(w->tables[i], t->name))
                seen = true;
        if (!seen) {
            if (w->ntables < sizeof w->tables / sizeof w->tables[0])
                w->tables[w->ntables++] = t->name;
            else
                w->many = true;
        }
        break;
    }
    default: break;
    }
    if (bad && !w->refused) {
        w->refused = bad;
        w->refused_pos = n->pos;
    }
    for (uint32_t i = 0; i < n->n; i++)
        walk_node(w, n->kids[i]);
}

vg_err vg_cd_query_shape(vg_arena *a, vg_str query, vg_cd_shape *out, vg_diag *d)
{
    out->table = NULL;
    out->nrt_ok = false;
    out->nrt_reason = VG_STR_NULL;
    const vg_kql_node *root = NULL;
    vg_diag pd;
    vg_diag_clear(&pd);
    vg_err e = vg_kql_parse(a, query, &root, &pd);
    if (e && !(e == VG_EUNSUPPORTED && root))
        return vg_diag_set(d, VG_EPARSE, "queryCondition.queryText: %s", pd.msg);
    walk w = { .ntables = 0 };
    walk_node(&w, root);
    if (w.ntables == 1 && !w.many && !w.refused)
        out->table = w.tables[0];
    char *why = NULL;
    if (w.refused)
        why = vg_arena_printf(a, "line %u, column %u: %s (near-real-time rules read one table, "
                              "with no join, lookup, union or externaldata)",
                              w.refused_pos.line, w.refused_pos.col, w.refused);
    else if (w.ntables != 1 || w.many)
        why = vg_arena_printf(a, "the query reads %u tables (near-real-time rules read exactly one)",
                              w.ntables);
    else {
        bool listed = false;
        for (const char *const *t = nrt_tables; *t && !listed; t++)
            listed = !strcmp(*t, w.tables[0]);
        if (!listed)
            why = vg_arena_printf(a, "table %s is not one near-real-time rules run over "
                                  "(DeviceProcessEvents, EmailEvents, IdentityLogonEvents, ...)",
                                  w.tables[0]);
    }
    if (why)
        out->nrt_reason = vg_str_c(why);
    else
        out->nrt_ok = true;
    if (e == VG_EUNSUPPORTED)
        return vg_diag_set(d, VG_EPARSE, "queryCondition.queryText: %s", pd.msg);
    return VG_OK;
}

/* The query with trailing blanks and ';' removed and `| take 0` after it. */
static vg_str bind_only(vg_arena *a, vg_str q)
{
    size_t n = q.n;
    while (n && (q.p[n - 1] == ';' || q.p[n - 1] == ' ' || q.p[n - 1] == '\t' ||
                 q.p[n - 1] == '\r' || q.p[n - 1] == '\n'))
        n--;
    char *s = vg_arena_alloc(a, n + 16);
    if (!s)
        return VG_STR_NULL;
    memcpy(s, q.p, n);
    memcpy(s + n, "\n| take 0", 9);
    return vg_str_make(s, n + 9);
}

vg_err vg_cd_check(struct vg_store *store, const vg_cd_rule *r, vg_arena *a, vg_cd_shape *out,
                   vg_diag *d)
{
    memset(out, 0, sizeof *out);
    vg_err e = vg_cd_query_shape(a, r->query, out, d);
    if (e)
        return e;
    vg_str q = bind_only(a, r->query);
    if (!q.p)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    vg_kql_opts o = { .max_rows = 1, .timeout_ms = 30000, .time_min = 1, .time_max = 1,
                      .threads = 1 };
    vg_kql_result *res = NULL;
    vg_diag kd;
    vg_diag_clear(&kd);
    if ((e = vg_kql_run(store, q, &o, &res, &kd)))
        return vg_diag_set(d, e == VG_ENOMEM ? VG_ENOMEM : VG_EPARSE, "queryCondition.queryText: %s",
                           kd.msg[0] ? kd.msg : vg_strerror(e));
    uint32_t nc = vg_kql_result_ncols(res);
    bool ts = false, rid = false, ent = false;
    const char *ts_type = NULL;
    for (uint32_t c = 0; c < nc; c++) {
        vg_str name = vg_kql_result_col_name(res, c);
        if (out->ncolumns < VG_CD_MAX_COLUMNS)
            out->columns[out->ncolumns++] = vg_str_dup(a, name);
        if (vg_str_eqc(name, "Timestamp"))
            ts = true, ts_type = vg_kql_result_col_type(res, c);
        else if (vg_str_eqc(name, "ReportId"))
            rid = true;
        else if (vg_cd_is_entity_column(name))
            ent = true;
    }
    bool ts_dt = ts_type && !strcmp(ts_type, "datetime");
    vg_kql_result_free(res);
    if (!ts)
        return vg_diag_set(d, VG_EINVAL, "queryCondition.queryText: the query must return a "
                           "Timestamp column (it returns %u columns without one)", nc);
    if (!ts_dt)
        return vg_diag_set(d, VG_EINVAL, "queryCondition.queryText: the Timestamp column must be "
                           "a datetime, not %s", ts_type);
    if (!rid)
        return vg_diag_set(d, VG_EINVAL, "queryCondition.queryText: the query must return a "
                           "ReportId column (it identifies the event each alert is for)");
    if (!ent)
        return vg_diag_set(d, VG_EINVAL, "queryCondition.queryText: the query must return an "
                           "entity column: DeviceId, DeviceName, RemoteDeviceName, "
                           "RecipientEmailAddress, SenderFromAddress, SenderMailFromAddress, "
                           "RecipientObjectId, AccountObjectId, AccountSid, AccountUpn, "
                           "InitiatingProcessAccountSid, InitiatingProcessAccountUpn or "
                           "InitiatingProcessAccountObjectId");
    for (uint32_t i = 0; i < r->nassets; i++) {
        bool found = false;
        for (uint32_t c = 0; c < out->ncolumns && !found; c++)
            found = vg_str_eqc(out->columns[c], r->assets[i]->column);
        if (!found)
            return vg_diag_set(d, VG_EINVAL, "detectionAction.alertTemplate.impactedAssets[%u]: "
                               "identifier '%s' needs the column %s, which the query does not "
                               "return", i, r->assets[i]->identifier, r->assets[i]->column);
    }
    if (r->period->period_ms == 0 && !out->nrt_ok)
        return vg_diag_set(d, VG_EINVAL, "schedule.period \"0\" (near-real-time): %.*s",
                           VG_STR_FMT(out->nrt_reason));
    return VG_OK;
}
