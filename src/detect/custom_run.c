/*
 * custom_run.c - one run of a custom detection rule, and which scheduled
 * runs are due.
 *
 * A run is the rule's query over the event store with now() = the run's
 * scheduled time and every table scan limited to the run's window
 * (vg_kql_opts time_min/time_max), so a rerun of the same scheduled time
 * sees the same rows whatever arrived since. Each result row becomes one
 * alert unless its hash - rule id, Timestamp, ReportId and the values of the
 * entity columns - is already known (detection_hits, and earlier rows of the
 * same run): overlapping lookbacks, reruns and restarts never alert a row
 * twice. At most VG_CD_MAX_ALERTS_PER_RUN alerts are made; further new rows
 * are counted as dropped and the run is truncated, as Defender does.
 *
 * The alert rows follow alert_rows.c's columns: AlertInfo (Title, Category,
 * Severity as Defender capitalises it, ServiceSource of the single source
 * table, DetectionSource "Custom detection", AttackTechniques, RuleId
 * "custom:<id>") and one AlertEvidence row per entity the result row names
 * (Machine, User, Mailbox, MailMessage, File, Ip, Url). An entity read from
 * a column an impacted asset names is "Impacted", the others "Related". The
 * first evidence row's AdditionalFields holds the whole result row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../core/vg_json.h"
#include "../kql/vg_kql.h"
#include "../schema/vg_schema.h"
#include "../store/vg_store.h"
#include "vg_alert.h"
#include "vg_custom.h"

#define TICKS_PER_MS 10000LL
#define MAX_MAP 5

/* ---- AlertIds ---- */

void vg_cd_row_hash(int64_t rule_id, vg_str timestamp, vg_str report_id, const vg_str *entities,
                    uint32_t n, vg_cd_hit *out)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_printf(&b, "cd:%lld", (long long)rule_id);
    vg_buf_putc(&b, 0);
    /* each value with its length, so ("ab","c") and ("a","bc") differ */
    vg_str parts[2] = { timestamp, report_id };
    for (uint32_t i = 0; i < 2 + n; i++) {
        vg_str v = i < 2 ? parts[i] : entities[i - 2];
        vg_buf_put_u64le(&b, v.n);
        if (v.n)
            vg_buf_put(&b, v.p, v.n);
    }
    XXH128_hash_t h = XXH3_128bits(b.p ? b.p : "", b.n);
    vg_buf_free(&b);
    snprintf(out->hit, sizeof out->hit, "%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
    snprintf(out->alert_id, sizeof out->alert_id, "cd%s", out->hit);
}

/* ---- scheduling ---- */

void vg_cd_due(int64_t last_ms, int64_t period_ms, int64_t lookback_ms, int64_t now_ms,
               int64_t *out, uint32_t cap, uint32_t *n, uint64_t *skipped)
{
    *n = 0;
    *skipped = 0;
    if (period_ms <= 0 || cap == 0)
        return;
    if (last_ms <= 0) {
        out[(*n)++] = now_ms;   /* a new rule runs at once over its whole lookback */
        return;
    }
    if (now_ms < last_ms + period_ms)
        return;
    uint64_t due = (uint64_t)((now_ms - last_ms) / period_ms);
    uint64_t keep = (uint64_t)(lookback_ms / period_ms);
    if (keep < 1)
        keep = 1;
    if (keep > cap)
        keep = cap;
    uint64_t first = 1;
    if (due > keep) {
        *skipped = due - keep;
        first = due - keep + 1;
    }
    for (uint64_t k = first; k <= due; k++)
        out[(*n)++] = last_ms + (int64_t)k * period_ms;
}

/* ---- evidence ---- */

typedef struct ev_spec {
    const char *type;                     /* EntityType */
    struct {
        const char *dst;                  /* AlertEvidence column */
        const char *src[2];               /* result columns, first present wins */
        bool key;                         /* a value here makes the entity */
    } map[MAX_MAP];
} ev_spec;

static const ev_spec specs[] = {
    { "Machine", { { "DeviceName", { "DeviceName" }, true }, { "DeviceId", { "DeviceId" }, true },
                   { "LocalIP", { "LocalIP" }, false } } },
    { "Machine", { { "DeviceName", { "RemoteDeviceName" }, true } } },
    { "User", { { "AccountName", { "AccountName" }, true },
                { "AccountDomain", { "AccountDomain" }, false },
                { "AccountSid", { "AccountSid" }, true },
                { "AccountUpn", { "AccountUpn" }, true },
                { "AccountObjectId", { "AccountObjectId" }, true } } },
    { "User", { { "AccountName", { "InitiatingProcessAccountName" }, true },
                { "AccountDomain", { "InitiatingProcessAccountDomain" }, false },
                { "AccountSid", { "InitiatingProcessAccountSid" }, true },
                { "AccountUpn", { "InitiatingProcessAccountUpn" }, true },
                { "AccountObjectId", { "InitiatingProcessAccountObjectId" }, true } } },
    { "User", { { "AccountObjectId", { "RecipientObjectId" }, true } } },
    { "Mailbox", { { "AccountUpn", { "RecipientEmailAddress" }, true } } },
    { "Mailbox", { { "AccountUpn", { "SenderFromAddress", "SenderMailFromAddress" }, true } } },
    { "MailMessage", { { "NetworkMessageId", { "NetworkMessageId" }, true },
                       { "EmailSubject", { "Subject" }, false } } },
    { "File", { { "SHA256", { "SHA256" }, true }, { "SHA1", { "SHA1" }, true },
                { "FileName", { "FileName" }, false }, { "FolderPath", { "FolderPath" }, false } } },
    { "Ip", { { "RemoteIP", { "RemoteIP", "IPAddress" }, true } } },
    { "Url", { { "RemoteUrl", { "RemoteUrl", "Url" }, true } } },
};

/* A result row's value of a column as text; {NULL,0} when absent, null or "". */
static vg_str row_text(const vg_json *row, const char *col)
{
    const vg_json *v = vg_json_get(row, col);
    if (!v || v->kind == VG_JSON_NULL || v->kind == VG_JSON_OBJECT || v->kind == VG_JSON_ARRAY)
        return VG_STR_NULL;
    vg_str s = vg_json_text(v);
    return s.n ? s : VG_STR_NULL;
}

static vg_err put(vg_batch *b, uint32_t r, const char *col, vg_str v, vg_diag *d)
{
    int c = vg_schema_col(b->table, vg_str_c(col));
    if (c < 0 || !v.p)
        return VG_OK;
    return vg_batch_set_text(b, c, r, v, d);
}

static const char *severity_cap(vg_str s)
{
    if (vg_str_eqc_ci(s, "high")) return "High";
    if (vg_str_eqc_ci(s, "medium")) return "Medium";
    if (vg_str_eqc_ci(s, "low")) return "Low";
    return "Informational";
}

typedef struct alert_ctx {
    const vg_cd_runspec *rs;
    vg_str rule_id, service, severity, categories;
    vg_str alert_id;
    int64_t ts;
} alert_ctx;

static vg_err common(vg_batch *b, uint32_t r, const alert_ctx *c, vg_diag *d)
{
    if (b->table->ts_col >= 0)
        vg_batch_set_i64(b, b->table->ts_col, r, c->ts);
    vg_err e = put(b, r, "AlertId", c->alert_id, d);
    if (!e) e = put(b, r, "Title", c->rs->title, d);
    if (!e) e = put(b, r, "Severity", c->severity, d);
    if (!e) e = put(b, r, "ServiceSource", c->service, d);
    if (!e) e = put(b, r, "DetectionSource", vg_str_c("Custom detection"), d);
    if (!e) e = put(b, r, "AttackTechniques", c->rs->techniques_json, d);
    return e;
}

static bool impacted(const vg_cd_runspec *rs, const char *col)
{
    for (uint32_t i = 0; i < rs->nimpacted; i++)
        if (vg_str_eqc(rs->impacted[i], col))
            return true;
    return false;
}

/* One alert for one result row: an AlertInfo row and its evidence rows. */
static vg_err write_alert(vg_cd_outcome *o, alert_ctx *c, const vg_json *row, vg_str line,
                          vg_diag *d)
{
    uint32_t r = (uint32_t)vg_batch_add_row(&o->info);
    vg_err e = common(&o->info, r, c, d);
    if (!e) e = put(&o->info, r, "Category", c->rs->category, d);
    if (!e) e = put(&o->info, r, "RuleId", c->rule_id, d);
    if (!e) e = put(&o->info, r, "Tactics", c->rs->category, d);
    if (!e) e = put(&o->info, r, "RuleAuthor", c->rs->author, d);
    if (!e) e = put(&o->info, r, "RuleReferences", vg_str_c("[]"), d);
    bool first = true;
    for (size_t k = 0; k < sizeof specs / sizeof specs[0] && !e; k++) {
        const ev_spec *s = &specs[k];
        vg_str vals[MAX_MAP] = { 0 };
        bool any = false, imp = false;
        for (int m = 0; m < MAX_MAP && s->map[m].dst; m++)
            for (int q = 0; q < 2 && s->map[m].src[q] && !vals[m].p; q++) {
                vals[m] = row_text(row, s->map[m].src[q]);
                if (vals[m].p) {
                    any |= s->map[m].key;
                    imp |= impacted(c->rs, s->map[m].src[q]);
                }
            }
        if (!any)
            continue;
        if (o->evidence.nrows >= o->evidence.cap)
            return vg_diag_set(d, VG_ELIMIT, "too many evidence rows in one run");
        uint32_t er = (uint32_t)vg_batch_add_row(&o->evidence);
        e = common(&o->evidence, er, c, d);
        if (!e) e = put(&o->evidence, er, "Categories", c->categories, d);
        if (!e) e = put(&o->evidence, er, "EntityType", vg_str_c(s->type), d);
        if (!e) e = put(&o->evidence, er, "EvidenceRole", vg_str_c(imp ? "Impacted" : "Related"), d);
        for (int m = 0; m < MAX_MAP && s->map[m].dst && !e; m++)
            e = put(&o->evidence, er, s->map[m].dst, vals[m], d);
        if (!e && first) {
            e = put(&o->evidence, er, "AdditionalFields", line, d);
            first = false;
        }
    }
    return e;
}

/* ---- the run ---- */

void vg_cd_outcome_free(vg_cd_outcome *o)
{
    if (o->info.table)
        vg_batch_free(&o->info);
    if (o->evidence.table)
        vg_batch_free(&o->evidence);
    memset(o, 0, sizeof *o);
}

vg_err vg_cd_run(struct vg_store *store, const vg_cd_runspec *rs, vg_cd_known_fn known, void *kctx,
                 vg_cd_outcome *out, vg_diag *d)
{
    memset(out, 0, sizeof *out);
    const vg_table_def *ti = vg_schema_table(vg_str_c("AlertInfo"));
    const vg_table_def *te = vg_schema_table(vg_str_c("AlertEvidence"));
    if (!ti || !te)
        return vg_diag_set(d, VG_EINVAL, "schema: AlertInfo/AlertEvidence missing");
    vg_kql_opts ko = {
        .max_rows = rs->max_rows, .timeout_ms = rs->timeout_ms, .max_memory = rs->max_memory,
        .now = rs->time_max_ms * TICKS_PER_MS, .geo = rs->geo, .cancel = rs->cancel,
        .time_min = rs->time_min_ms > 0 ? rs->time_min_ms * TICKS_PER_MS : 1,
        .time_max = rs->time_max_ms * TICKS_PER_MS,
    };
    vg_kql_result *res = NULL;
    vg_buf nd;
    vg_buf_init(&nd, rs->max_memory ? rs->max_memory : ((size_t)1 << 30));
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    char rid[40];
    snprintf(rid, sizeof rid, "custom:%lld", (long long)rs->id);
    alert_ctx c = { .rs = rs, .rule_id = vg_str_c(rid),
                    .service = vg_str_c(rs->table ? vg_alert_service(vg_schema_table(vg_str_c(rs->table)))
                                                  : "Vigil"),
                    .severity = vg_str_c(severity_cap(rs->severity)) };
    vg_err e = vg_kql_run(store, rs->query, &ko, &res, d);
    if (e)
        goto out;
    out->truncated = vg_kql_result_truncated(res);
    vg_kql_result_write(res, VG_KQL_FMT_NDJSON, false, &nd);
    if (nd.failed) {
        e = vg_diag_set(d, VG_ELIMIT, "the result does not fit in %zu bytes", rs->max_memory);
        goto out;
    }
    vg_buf cats;
    vg_buf_init(&cats, 4096);
    vg_buf_putc(&cats, '[');
    vg_buf_put_json_str(&cats, rs->category);
    vg_buf_putc(&cats, ']');
    char catbuf[512];
    vg_str_copy_c(catbuf, sizeof catbuf, vg_str_make(cats.p ? cats.p : "[]", cats.n));
    vg_buf_free(&cats);
    c.categories = vg_str_c(catbuf);

    size_t pos = 0;
    while (pos < nd.n) {
        const char *nl = memchr(nd.p + pos, '\n', nd.n - pos);
        size_t end = nl ? (size_t)(nl - nd.p) : nd.n;
        vg_str line = vg_str_make(nd.p + pos, end - pos);
        pos = end + 1;
        if (!line.n)
            continue;
        out->rows++;
        vg_arena_reset(&a);
        vg_json *row;
        if ((e = vg_json_parse(&a, line, &row, d)))
            goto out;
        vg_str ts = row_text(row, "Timestamp"), rep = row_text(row, "ReportId");
        vg_str ents[32];
        uint32_t ne = 0;
        for (const char *const *col = vg_cd_entity_columns; *col && ne < 32; col++)
            ents[ne++] = row_text(row, *col);
        vg_cd_hit h;
        vg_cd_row_hash(rs->id, ts, rep, ents, ne, &h);
        bool dup = false;
        for (uint32_t i = 0; i < out->alerts && !dup; i++)
            dup = !strcmp(out->hits[i].hit, h.hit);
        if (dup || (known && known(kctx, vg_str_c(h.hit)))) {
            out->known++;
            continue;
        }
        if (out->alerts >= VG_CD_MAX_ALERTS_PER_RUN) {
            out->dropped++;
            out->truncated = true;
            continue;
        }
        if (!out->info.table) {
            if ((e = vg_batch_init(&out->info, ti, VG_CD_MAX_ALERTS_PER_RUN, NULL, false)))
                goto out;
            if ((e = vg_batch_init(&out->evidence, te,
                                   VG_CD_MAX_ALERTS_PER_RUN * VG_CD_EVIDENCE_PER_ALERT, NULL, false)))
                goto out;
        }
        vg_time t;
        if (!ts.p || vg_time_parse_any(ts, &t)) {
            e = vg_diag_set(d, VG_ETYPE, "result row %llu: Timestamp '%.*s' is not a datetime",
                            (unsigned long long)out->rows, VG_STR_FMT(ts));
            goto out;
        }
        c.ts = t;
        c.alert_id = vg_str_c(h.alert_id);
        if ((e = write_alert(out, &c, row, line, d)))
            goto out;
        out->hits[out->alerts++] = h;
    }
out:
    vg_kql_result_free(res);
    vg_buf_free(&nd);
    vg_arena_free(&a);
    return e;
}
