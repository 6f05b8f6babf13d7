/*
 * srv_agents_util.c - pieces the endpoint-agent routes share (srv_agents.c,
 * srv_machines.c, srv_indicators.c): request body and field checks, JSON
 * output of state.db columns, the small OData $filter/$top of the lists,
 * and the DeviceInfo / DeviceNetworkInfo rows written through the event
 * store (at enrollment, on heartbeat changes, at least hourly).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/vg_log.h"
#include "../state/vg_state.h"
#include "srv_agents_int.h"

/* ---- shared helpers ---- */

bool ag_body_object(vg_req *rq, vg_arena *a, const vg_json **out)
{
    if (rq->body.n > AG_MAX_BODY) {
        vg_req_json_error(rq, 413, "body of %zu bytes is larger than %d", rq->body.n, AG_MAX_BODY);
        return false;
    }
    vg_json *root = NULL;
    vg_diag jd;
    vg_diag_clear(&jd);
    if (vg_json_parse(a, vg_str_make(rq->body.p, rq->body.n), &root, &jd) != VG_OK) {
        vg_req_json_error(rq, 400, "body: %s", jd.msg[0] ? jd.msg : "not valid JSON");
        return false;
    }
    if (root->kind != VG_JSON_OBJECT) {
        vg_req_json_error(rq, 400, "body: expected a JSON object");
        return false;
    }
    *out = root;
    return true;
}

bool ag_str_field(vg_req *rq, const vg_json *o, const char *key, size_t max, bool required,
                  vg_str *out)
{
    *out = vg_str_make(NULL, 0);
    const vg_json *v = vg_json_get(o, key);
    if (!v || v->kind == VG_JSON_NULL) {
        if (required) {
            vg_req_json_error(rq, 400, "%s: required", key);
            return false;
        }
        return true;
    }
    if (v->kind != VG_JSON_STRING) {
        vg_req_json_error(rq, 400, "%s: expected a string", key);
        return false;
    }
    if (v->str.n > max) {
        vg_req_json_error(rq, 400, "%s: longer than %zu bytes", key, max);
        return false;
    }
    if (required && !vg_str_trim(v->str).n) {
        vg_req_json_error(rq, 400, "%s: must not be empty", key);
        return false;
    }
    *out = v->str;
    return true;
}

void ag_put_time(vg_buf *b, int64_t ms)
{
    if (ms <= 0) {
        vg_buf_puts(b, "null");
        return;
    }
    char iso[32];
    vg_state_iso(ms, iso);
    vg_buf_printf(b, "\"%s\"", iso);
}

void ag_put_col(vg_buf *b, sqlite3_stmt *st, int col)
{
    const char *p = (const char *)sqlite3_column_text(st, col);
    vg_buf_put_json_str(b, vg_str_make(p ? p : "", p ? (size_t)sqlite3_column_bytes(st, col) : 0));
}

bool ag_is_hex(vg_str s, size_t n)
{
    if (s.n != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

bool ag_action_param(vg_req *rq, char id[AG_ACTION_ID_LEN + 1])
{
    const char *p = rq->nparams > 0 ? rq->params[0] : "";
    size_t n = strlen(p);
    bool ok = n == AG_ACTION_ID_LEN;
    for (size_t i = 0; ok && i < n; i++) {
        char c = p[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        ok = dash ? c == '-' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
    if (!ok) {
        vg_req_json_error(rq, 404, "no machine action '%.64s' (ids are lower-case uuids)", p);
        return false;
    }
    memcpy(id, p, n + 1);
    return true;
}

void ag_db_error(vg_req *rq, sqlite3 *db, const char *what)
{
    vg_log(VG_LOG_ERROR, "state.db", VG_LS("what", what), VG_LS("error", sqlite3_errmsg(db)));
    vg_req_json_error(rq, 503, "state store unavailable (%s): %s", what, sqlite3_errmsg(db));
}

/* ---- DeviceInfo / DeviceNetworkInfo rows ---- */

static vg_err report_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    (void)ctx;
    (void)b;
    return vg_diag_set(d, VG_ELIMIT, "too many device rows for one batch");
}

typedef struct report_rej {
    uint64_t n;
    char first[256];
} report_rej;

static void report_reject(void *ctx, uint64_t line, vg_str reason, vg_str record)
{
    (void)record;
    report_rej *r = ctx;
    if (!r->n++)
        snprintf(r->first, sizeof r->first, "line %llu: %.*s", (unsigned long long)line,
                 (int)(reason.n > 200 ? 200 : reason.n), reason.p);
}

/* Appends the NDJSON rows in text to the store. */
static vg_err append_rows(vg_srv *s, vg_str text, vg_diag *d)
{
    vg_batchset set;
    vg_err e = vg_batchset_init(&set, 0, report_sink, NULL);
    if (e)
        return vg_diag_set(d, e, "out of memory");
    vg_ingest_opts o = { .format = VG_FMT_NDJSON, .table = NULL, .keep_raw = true };
    vg_ingest_result res;
    memset(&res, 0, sizeof res);
    report_rej rej = { 0 };
    vg_batch *v[8];
    size_t n = 0;
    e = vg_ingest_buffer(&set, &o, text, report_reject, &rej, &res, d);
    if (!e && rej.n)
        e = vg_diag_set(d, VG_EINVAL, "device row refused: %s", rej.first);
    for (size_t t = 0; !e && t < vg_schema_ntables; t++)
        if (set.by_table[t].table && set.by_table[t].nrows && n < sizeof v / sizeof v[0])
            v[n++] = &set.by_table[t];
    if (!e && n)
        e = vg_store_append(s->store, v, n, d);
    if (!e)
        for (size_t i = 0; i < n; i++)
            vg_metrics_ingest_rows(v[i]->table, v[i]->nrows);
    vg_batchset_free(&set);
    return e;
}

/* "Active", "Inactive" or "Impaired Communication" (DeviceInfo.SensorHealthState). */
static const char *sensor_state(int64_t last_seen, const char *health, int64_t now)
{
    if (now - last_seen > AG_ACTIVE_MS)
        return "Inactive";
    return strcmp(health, "Active") == 0 ? "Active" : "Impaired Communication";
}

static void put_member(vg_buf *b, const char *key, const char *val)
{
    vg_buf_printf(b, ",\"%s\":", key);
    vg_buf_put_json_str(b, vg_str_c(val ? val : ""));
}

/* One DeviceNetworkInfo row per interface of the enrollment info. */
static void network_rows(vg_buf *b, const char *ts, const char *dev, const char *name,
                         int64_t report_id, const char *info)
{
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *root = NULL;
    vg_diag jd;
    vg_diag_clear(&jd);
    if (vg_json_parse(&ar, vg_str_c(info), &root, &jd) != VG_OK)
        goto out;
    const vg_json *ifs = vg_json_get(root, "Interfaces");
    if (!ifs || ifs->kind != VG_JSON_ARRAY)
        goto out;
    vg_buf ips;
    vg_buf_init(&ips, 0);
    for (uint32_t i = 0; i < ifs->n; i++) {
        const vg_json *it = ifs->kids[i];
        if (it->kind != VG_JSON_OBJECT)
            continue;
        const vg_json *nm = vg_json_get(it, "Name"), *mac = vg_json_get(it, "MacAddress");
        const vg_json *addrs = vg_json_get(it, "IPAddresses");
        vg_buf_clear(&ips);
        vg_buf_putc(&ips, '[');
        for (uint32_t k = 0; addrs && addrs->kind == VG_JSON_ARRAY && k < addrs->n; k++) {
            const vg_json *ad = addrs->kids[k];
            if (k)
                vg_buf_putc(&ips, ',');
            if (ad->kind == VG_JSON_STRING) {
                vg_buf_puts(&ips, "{\"IPAddress\":");
                vg_buf_put_json_str(&ips, ad->str);
                vg_buf_putc(&ips, '}');
            } else {
                vg_json_write(&ips, ad);
            }
        }
        vg_buf_putc(&ips, ']');
        vg_buf_printf(b, "{\"Table\":\"DeviceNetworkInfo\",\"Timestamp\":\"%s\"", ts);
        put_member(b, "DeviceId", dev);
        put_member(b, "DeviceName", name);
        vg_buf_puts(b, ",\"NetworkAdapterName\":");
        vg_buf_put_json_str(b, nm && nm->kind == VG_JSON_STRING ? nm->str : vg_str_c(""));
        vg_buf_puts(b, ",\"MacAddress\":");
        vg_buf_put_json_str(b, mac && mac->kind == VG_JSON_STRING ? mac->str : vg_str_c(""));
        vg_buf_puts(b, ",\"NetworkAdapterStatus\":\"Up\",\"NetworkAdapterType\":\"Ethernet\"");
        vg_buf_puts(b, ",\"IPAddresses\":");
        vg_buf_put_json_str(b, vg_str_make(ips.p, ips.n));
        vg_buf_printf(b, ",\"ReportId\":%lld}\n", (long long)report_id);
    }
    vg_buf_free(&ips);
out:
    vg_arena_free(&ar);
}

/* The first address of AddressType Public in the enrollment info, or "". */
static void public_ip(const char *info, char *out, size_t cap)
{
    out[0] = '\0';
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *root = NULL;
    vg_diag jd;
    vg_diag_clear(&jd);
    if (vg_json_parse(&ar, vg_str_c(info), &root, &jd) == VG_OK) {
        const vg_json *ips = vg_json_get(root, "IPAddresses");
        for (uint32_t i = 0; ips && ips->kind == VG_JSON_ARRAY && i < ips->n; i++) {
            const vg_json *t = vg_json_get(ips->kids[i], "AddressType");
            const vg_json *ip = vg_json_get(ips->kids[i], "IPAddress");
            if (t && ip && ip->kind == VG_JSON_STRING && vg_str_eqc(vg_json_text(t), "Public")) {
                vg_str_copy_c(out, cap, ip->str);
                break;
            }
        }
    }
    vg_arena_free(&ar);
}

vg_err ag_report_device(vg_srv *s, const char *device, bool network, vg_diag *d)
{
    struct vg_srv_agents *a = s->agents;
    vg_buf b;
    vg_buf_init(&b, 0);
    sqlite3_stmt *st = NULL;
    vg_err e = VG_OK;
    int64_t now = vg_state_now_ms();
    char ts[32];
    vg_state_iso(now, ts);
    pthread_mutex_lock(&a->mu);
    if (sqlite3_prepare_v2(a->db, "SELECT name, os_platform, os_version, os_distribution, "
                                  "kernel_version, agent_version, last_seen, health, "
                                  "isolation_state, info FROM devices WHERE device_id = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        e = vg_diag_set(d, VG_EIO, "state.db: %s", sqlite3_errmsg(a->db));
        goto unlock;
    }
    sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        e = vg_diag_set(d, VG_ENOTFOUND, "no device '%s'", device);
        goto unlock;
    }
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *info = (const char *)sqlite3_column_text(st, 9);
    char pub[64];
    public_ip(info ? info : "{}", pub, sizeof pub);
    vg_buf_printf(&b, "{\"Table\":\"DeviceInfo\",\"Timestamp\":\"%s\"", ts);
    put_member(&b, "DeviceId", device);
    put_member(&b, "DeviceName", name);
    put_member(&b, "OSPlatform", (const char *)sqlite3_column_text(st, 1));
    put_member(&b, "OSVersion", (const char *)sqlite3_column_text(st, 2));
    put_member(&b, "OSDistribution", (const char *)sqlite3_column_text(st, 3));
    put_member(&b, "ClientVersion", (const char *)sqlite3_column_text(st, 5));
    if (pub[0])
        put_member(&b, "PublicIP", pub);
    put_member(&b, "SensorHealthState",
               sensor_state(sqlite3_column_int64(st, 6), (const char *)sqlite3_column_text(st, 7),
                            now));
    vg_buf_puts(&b, ",\"MachineGroup\":\"UnassignedGroup\",\"IsInternetFacing\":false,"
                    "\"OnboardingStatus\":\"Onboarded\",\"DeviceCategory\":\"Endpoint\","
                    "\"DeviceType\":\"Server\",\"IsExcluded\":false");
    vg_buf_printf(&b, ",\"ReportId\":%lld,\"AdditionalFields\":", (long long)now);
    {
        vg_buf af;
        vg_buf_init(&af, 0);
        vg_buf_puts(&af, "{\"KernelVersion\":");
        vg_buf_put_json_str(&af, vg_str_c((const char *)sqlite3_column_text(st, 4)));
        vg_buf_puts(&af, ",\"IsolationState\":");
        vg_buf_put_json_str(&af, vg_str_c((const char *)sqlite3_column_text(st, 8)));
        vg_buf_putc(&af, '}');
        vg_buf_put_json_str(&b, vg_str_make(af.p, af.n));
        vg_buf_free(&af);
    }
    vg_buf_puts(&b, "}\n");
    if (network)
        network_rows(&b, ts, device, name, now, info ? info : "{}");
unlock:
    sqlite3_finalize(st);
    st = NULL;
    pthread_mutex_unlock(&a->mu);
    if (e)
        goto out;
    if (b.failed) {
        e = vg_diag_set(d, VG_ENOMEM, "out of memory");
        goto out;
    }
    /* the store append runs without the lock: it fsyncs */
    if ((e = append_rows(s, vg_str_make(b.p, b.n), d)))
        goto out;
    pthread_mutex_lock(&a->mu);
    if (sqlite3_prepare_v2(a->db, "UPDATE devices SET info_reported = ?2 WHERE device_id = ?1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&a->mu);
out:
    vg_buf_free(&b);
    return e;
}

/* ---- $filter: "field eq 'value' [and ...]" over a table of fields ---- */

bool ag_parse_filter(vg_req *rq, const ag_filter_field *fields, ag_filter *f, int first_param)
{
    const char *arg = vg_req_arg(rq, "$filter");
    f->n = 0;
    if (!arg || !*arg)
        return true;
    vg_str s = vg_str_c(arg);
    if (s.n > AG_MAX_FILTER) {
        vg_req_json_error(rq, 400, "$filter: longer than %d bytes", AG_MAX_FILTER);
        return false;
    }
    size_t i = 0;
    for (;;) {
        while (i < s.n && s.p[i] == ' ')
            i++;
        size_t k = i;
        while (i < s.n && s.p[i] != ' ')
            i++;
        vg_str name = vg_str_make(s.p + k, i - k);
        const ag_filter_field *ff = NULL;
        for (const ag_filter_field *x = fields; x->name; x++)
            if (vg_str_eqc(name, x->name))
                ff = x;
        if (!ff) {
            vg_buf names;
            vg_buf_init(&names, 0);
            for (const ag_filter_field *x = fields; x->name; x++)
                vg_buf_printf(&names, "%s%s", x == fields ? "" : ", ", x->name);
            vg_req_json_error(rq, 400, "$filter: unknown field '%.*s' at %zu (%s)",
                              (int)(name.n > 64 ? 64 : name.n), name.p, k + 1,
                              vg_buf_cstr(&names));
            vg_buf_free(&names);
            return false;
        }
        while (i < s.n && s.p[i] == ' ')
            i++;
        if (i + 2 > s.n || strncmp(s.p + i, "eq", 2) != 0) {
            vg_req_json_error(rq, 400, "$filter: expected 'eq' at %zu (only eq and and are "
                              "supported)", i + 1);
            return false;
        }
        i += 2;
        while (i < s.n && s.p[i] == ' ')
            i++;
        if (i >= s.n || s.p[i] != '\'') {
            vg_req_json_error(rq, 400, "$filter: expected a quoted 'value' at %zu", i + 1);
            return false;
        }
        i++;
        if (f->n == AG_MAX_FILTER_TERMS) {
            vg_req_json_error(rq, 400, "$filter: more than %d terms", AG_MAX_FILTER_TERMS);
            return false;
        }
        size_t vn = 0;
        bool closed = false;
        while (i < s.n) {
            if (s.p[i] == '\'') {
                if (i + 1 < s.n && s.p[i + 1] == '\'') {
                    i++;   /* '' is a quote */
                } else {
                    closed = true;
                    i++;
                    break;
                }
            }
            if (vn + 1 < AG_MAX_FIELD)
                f->vals[f->n][vn++] = s.p[i];
            i++;
        }
        if (!closed) {
            vg_req_json_error(rq, 400, "$filter: unterminated string");
            return false;
        }
        f->vals[f->n][vn] = '\0';
        vg_buf_printf(&f->where, " AND %s = ?%d", ff->sql, first_param + f->n);
        f->n++;
        while (i < s.n && s.p[i] == ' ')
            i++;
        if (i >= s.n)
            return true;
        if (i + 3 > s.n || strncmp(s.p + i, "and", 3) != 0) {
            vg_req_json_error(rq, 400, "$filter: expected 'and' at %zu", i + 1);
            return false;
        }
        i += 3;
    }
}

bool ag_parse_top(vg_req *rq, int64_t *top)
{
    const char *t = vg_req_arg(rq, "$top");
    *top = AG_DEFAULT_TOP;
    if (t && *t && (vg_str_to_i64(vg_str_c(t), top) != VG_OK || *top < 1 || *top > AG_MAX_TOP)) {
        vg_req_json_error(rq, 400, "$top: 1 to %d, not '%.32s'", AG_MAX_TOP, t);
        return false;
    }
    return true;
}
