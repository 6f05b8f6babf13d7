/*
 * inc_json.c - incident, alert and comment rows in the Graph security API's
 * JSON shapes (microsoft.graph.security.incident / .alert, alertComment).
 *
 * Graph fields come first, in Graph's names; Vigil's extras on an incident
 * (alertCount, first/lastActivityDateTime, tactics, mitreTechniques, devices,
 * users, mailboxes, serviceSources) are plainly named and documented in
 * docs/api.md. Stored JSON array columns (tags, techniques, evidence) were
 * written by Vigil and are embedded as they are, after a cheap check that
 * they are arrays. Times are ISO-8601 UTC with milliseconds.
 *
 * Stored source names are mapped to Graph's enums here, in one table each,
 * which inc_odata.c also uses so $filter compares the same spelling:
 *   serviceSource   "Vigil Endpoint" -> microsoftDefenderForEndpoint,
 *                   "Vigil Identity" -> microsoftDefenderForIdentity,
 *                   "Vigil Email" -> microsoftDefenderForOffice365,
 *                   "Vigil Cloud Apps" -> microsoftDefenderForCloudApps,
 *                   anything else -> microsoft365Defender
 *   detectionSource "Sigma" -> sigma, "Sigma correlation" -> sigmaCorrelation,
 *                   "Custom detection" -> customDetection (Graph's value),
 *                   anything else as stored
 */
#include <stdio.h>
#include <string.h>

#include "../state/vg_state.h"
#include "inc_api_int.h"

#define INC_MAX_EXPAND_ALERTS VG_INC_MAX_TOP   /* alerts embedded by $expand=alerts */
#define INC_MAX_COMMENTS 1000                  /* comments embedded in one object */

const inc_name_map inc_service_sources[] = {
    { "Vigil Endpoint", "microsoftDefenderForEndpoint" },
    { "Vigil Identity", "microsoftDefenderForIdentity" },
    { "Vigil Email", "microsoftDefenderForOffice365" },
    { "Vigil Cloud Apps", "microsoftDefenderForCloudApps" },
    { NULL, NULL },
};

const inc_name_map inc_detection_sources[] = {
    { "Sigma", "sigma" },
    { "Sigma correlation", "sigmaCorrelation" },
    { "Custom detection", "customDetection" },
    { NULL, NULL },
};

const char *inc_graph_service_source(vg_str stored)
{
    for (const inc_name_map *m = inc_service_sources; m->stored; m++)
        if (vg_str_eqc(stored, m->stored))
            return m->graph;
    return INC_SERVICE_SOURCE_OTHER;
}

vg_str inc_graph_detection_source(vg_str stored)
{
    for (const inc_name_map *m = inc_detection_sources; m->stored; m++)
        if (vg_str_eqc(stored, m->stored))
            return vg_str_c(m->graph);
    return stored;
}

static vg_str col_str(sqlite3_stmt *row, int col)
{
    const char *p = (const char *)sqlite3_column_text(row, col);
    return vg_str_make(p ? p : "", p ? (size_t)sqlite3_column_bytes(row, col) : 0);
}

void inc_json_put_text(vg_buf *out, sqlite3_stmt *row, int col)
{
    if (sqlite3_column_type(row, col) == SQLITE_NULL)
        vg_buf_puts(out, "null");
    else
        vg_buf_put_json_str(out, col_str(row, col));
}

void inc_json_put_time(vg_buf *out, sqlite3_stmt *row, int col)
{
    if (sqlite3_column_type(row, col) == SQLITE_NULL) {
        vg_buf_puts(out, "null");
        return;
    }
    char iso[32];
    vg_state_iso(sqlite3_column_int64(row, col), iso);
    vg_buf_putc(out, '"');
    vg_buf_puts(out, iso);
    vg_buf_putc(out, '"');
}

void inc_json_put_array(vg_buf *out, sqlite3_stmt *row, int col)
{
    vg_str s = vg_str_trim(col_str(row, col));
    if (s.n >= 2 && s.p[0] == '[' && s.p[s.n - 1] == ']')
        vg_buf_putstr(out, s);
    else
        vg_buf_puts(out, "[]");
}

/* ,"key": */
static void key(vg_buf *out, const char *k)
{
    vg_buf_puts(out, ",\"");
    vg_buf_puts(out, k);
    vg_buf_puts(out, "\":");
}

vg_err inc_json_comments(vg_inc *inc, bool on_incident, int64_t iid, vg_str aid, vg_buf *out,
                         vg_diag *d)
{
    sqlite3_stmt *st = NULL;
    vg_err e = inc_prepare(inc, on_incident
                                    ? "SELECT comment, created_by, created FROM comments "
                                      "WHERE incident_id = ?1 ORDER BY created, id LIMIT ?2"
                                    : "SELECT comment, created_by, created FROM comments "
                                      "WHERE alert_id = ?1 ORDER BY created, id LIMIT ?2",
                           &st, d);
    if (e)
        return e;
    if (on_incident)
        sqlite3_bind_int64(st, 1, iid);
    else
        sqlite3_bind_text(st, 1, aid.p ? aid.p : "", (int)aid.n, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, INC_MAX_COMMENTS);
    vg_buf_putc(out, '[');
    int rc, k = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vg_buf_puts(out, k++ ? ",{" : "{");
        vg_buf_puts(out, "\"@odata.type\":\"microsoft.graph.security.alertComment\"");
        key(out, "comment");
        inc_json_put_text(out, st, 0);
        key(out, "createdByDisplayName");
        inc_json_put_text(out, st, 1);
        key(out, "createdDateTime");
        inc_json_put_time(out, st, 2);
        vg_buf_putc(out, '}');
    }
    vg_buf_putc(out, ']');
    if (rc != SQLITE_DONE)
        e = vg_diag_set(d, VG_EIO, "reading comments: %s", sqlite3_errmsg(inc->db));
    sqlite3_finalize(st);
    return e;
}

/* The stored serviceSource values of an incident, in Graph's spelling. */
static void put_sources(vg_buf *out, sqlite3_stmt *row, int col)
{
    vg_arena a;
    vg_arena_init(&a, 4096, 1 << 20);
    vg_json *root = NULL;
    vg_str s = col_str(row, col);
    vg_buf_putc(out, '[');
    if (s.n && vg_json_parse(&a, s, &root, NULL) == VG_OK && root->kind == VG_JSON_ARRAY) {
        const char *seen[8];   /* more than the distinct Graph names there are */
        uint32_t nseen = 0;
        for (uint32_t i = 0; i < root->n && nseen < sizeof seen / sizeof seen[0]; i++) {
            const char *g = inc_graph_service_source(vg_json_text(root->kids[i]));
            bool dup = false;
            for (uint32_t j = 0; j < nseen; j++)
                dup |= strcmp(seen[j], g) == 0;
            if (dup)
                continue;
            seen[nseen++] = g;
            vg_buf_puts(out, nseen > 1 ? ",\"" : "\"");
            vg_buf_puts(out, g);
            vg_buf_putc(out, '"');
        }
    }
    vg_buf_putc(out, ']');
    vg_arena_free(&a);
}

vg_err inc_json_alert(vg_inc *inc, sqlite3_stmt *r, vg_buf *out, vg_diag *d)
{
    vg_str id = col_str(r, 0);
    int64_t iid = sqlite3_column_int64(r, 1);
    vg_buf_puts(out, "{\"@odata.type\":\"#microsoft.graph.security.alert\"");
    vg_buf_printf(out, ",\"@odata.etag\":\"W/\\\"%lld\\\"\"",
                  (long long)sqlite3_column_int64(r, INC_AC_VERSION));
    key(out, "id");
    vg_buf_put_json_str(out, id);
    key(out, "providerAlertId");
    vg_buf_put_json_str(out, id);
    vg_buf_printf(out, ",\"incidentId\":\"%lld\"", (long long)iid);
    key(out, "status");
    inc_json_put_text(out, r, 7);
    key(out, "severity");
    inc_json_put_text(out, r, 6);
    key(out, "classification");
    inc_json_put_text(out, r, 8);
    key(out, "determination");
    inc_json_put_text(out, r, 9);
    key(out, "serviceSource");
    vg_buf_putc(out, '"');
    vg_buf_puts(out, inc_graph_service_source(col_str(r, 11)));
    vg_buf_putc(out, '"');
    key(out, "detectionSource");
    vg_buf_put_json_str(out, inc_graph_detection_source(col_str(r, 12)));
    key(out, "detectorId");
    inc_json_put_text(out, r, 13);
    key(out, "title");
    inc_json_put_text(out, r, 2);
    key(out, "description");
    inc_json_put_text(out, r, 3);
    key(out, "recommendedActions");
    inc_json_put_text(out, r, 4);
    key(out, "category");
    inc_json_put_text(out, r, 5);
    key(out, "assignedTo");
    inc_json_put_text(out, r, 10);
    key(out, "alertWebUrl");
    vg_buf_puts(out, "\"/#/alerts/");
    /* the id is an AlertId (hex and letters); escape anyway */
    vg_buf n;
    vg_buf_init(&n, 0);
    vg_buf_put_json_str(&n, id);
    if (n.n >= 2)
        vg_buf_put(out, n.p + 1, n.n - 2);
    vg_buf_free(&n);
    vg_buf_putc(out, '"');
    vg_buf_printf(out, ",\"incidentWebUrl\":\"/#/incidents/%lld\"", (long long)iid);
    key(out, "mitreTechniques");
    inc_json_put_array(out, r, 15);
    key(out, "createdDateTime");
    inc_json_put_time(out, r, 20);
    key(out, "lastUpdateDateTime");
    inc_json_put_time(out, r, 21);
    key(out, "resolvedDateTime");
    inc_json_put_time(out, r, 22);
    key(out, "firstActivityDateTime");
    inc_json_put_time(out, r, 18);
    key(out, "lastActivityDateTime");
    inc_json_put_time(out, r, 19);
    key(out, "comments");
    vg_err e = inc_json_comments(inc, false, 0, id, out, d);
    if (e)
        return e;
    key(out, "evidence");
    inc_json_put_array(out, r, 16);
    key(out, "systemTags");
    if (sqlite3_column_type(r, 17) != SQLITE_NULL)
        vg_buf_printf(out, "[\"Suppressed\"]");
    else
        vg_buf_puts(out, "[]");
    /* Vigil extras */
    key(out, "tactics");
    inc_json_put_array(out, r, 14);
    if (sqlite3_column_type(r, 17) != SQLITE_NULL)
        vg_buf_printf(out, ",\"suppressionRuleId\":\"%lld\"",
                      (long long)sqlite3_column_int64(r, 17));
    vg_buf_putc(out, '}');
    return VG_OK;
}

static vg_err put_alerts_of(vg_inc *inc, int64_t iid, vg_buf *out, vg_diag *d)
{
    sqlite3_stmt *st = NULL;
    vg_err e = inc_prepare(inc, "SELECT " INC_ALERT_COLS " FROM alerts WHERE incident_id = ?1 "
                                "ORDER BY created, id LIMIT ?2", &st, d);
    if (e)
        return e;
    sqlite3_bind_int64(st, 1, iid);
    sqlite3_bind_int(st, 2, INC_MAX_EXPAND_ALERTS + 1);
    vg_buf_puts(out, ",\"alerts\":[");
    int rc, k = 0;
    bool more = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == INC_MAX_EXPAND_ALERTS) {
            more = true;
            break;
        }
        if (k++)
            vg_buf_putc(out, ',');
        if ((e = inc_json_alert(inc, st, out, d)))
            goto out;
    }
    vg_buf_putc(out, ']');
    if (more)
        vg_buf_puts(out, ",\"alertsTruncated\":true");
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        e = vg_diag_set(d, VG_EIO, "reading alerts of incident %lld: %s", (long long)iid,
                        sqlite3_errmsg(inc->db));
out:
    sqlite3_finalize(st);
    return e;
}

vg_err inc_json_incident(vg_inc *inc, sqlite3_stmt *r, bool expand_alerts, vg_buf *out,
                         vg_diag *d)
{
    int64_t id = sqlite3_column_int64(r, INC_IC_ID);
    vg_buf_puts(out, "{\"@odata.type\":\"#microsoft.graph.security.incident\"");
    vg_buf_printf(out, ",\"@odata.etag\":\"W/\\\"%lld\\\"\"",
                  (long long)sqlite3_column_int64(r, INC_IC_VERSION));
    vg_buf_printf(out, ",\"id\":\"%lld\",\"incidentWebUrl\":\"/#/incidents/%lld\"",
                  (long long)id, (long long)id);
    if (sqlite3_column_type(r, 8) == SQLITE_NULL)
        vg_buf_puts(out, ",\"redirectIncidentId\":null");
    else
        vg_buf_printf(out, ",\"redirectIncidentId\":\"%lld\"",
                      (long long)sqlite3_column_int64(r, 8));
    key(out, "displayName");
    inc_json_put_text(out, r, 1);
    key(out, "description");
    inc_json_put_text(out, r, 2);
    key(out, "createdDateTime");
    inc_json_put_time(out, r, 20);
    key(out, "lastUpdateDateTime");
    inc_json_put_time(out, r, 21);
    key(out, "assignedTo");
    inc_json_put_text(out, r, 7);
    key(out, "classification");
    inc_json_put_text(out, r, 5);
    key(out, "determination");
    inc_json_put_text(out, r, 6);
    key(out, "status");
    inc_json_put_text(out, r, 3);
    key(out, "severity");
    inc_json_put_text(out, r, 4);
    key(out, "customTags");
    inc_json_put_array(out, r, 9);
    key(out, "systemTags");
    inc_json_put_array(out, r, 10);
    key(out, "comments");
    vg_err e = inc_json_comments(inc, true, id, VG_STR_NULL, out, d);
    if (e)
        return e;
    /* Vigil extras */
    vg_buf_printf(out, ",\"alertCount\":%lld", (long long)sqlite3_column_int64(r, 17));
    key(out, "firstActivityDateTime");
    inc_json_put_time(out, r, 18);
    key(out, "lastActivityDateTime");
    inc_json_put_time(out, r, 19);
    key(out, "resolvedDateTime");
    inc_json_put_time(out, r, 22);
    key(out, "tactics");
    inc_json_put_array(out, r, 11);
    key(out, "mitreTechniques");
    inc_json_put_array(out, r, 12);
    key(out, "devices");
    inc_json_put_array(out, r, 13);
    key(out, "users");
    inc_json_put_array(out, r, 14);
    key(out, "mailboxes");
    inc_json_put_array(out, r, 15);
    key(out, "serviceSources");
    put_sources(out, r, 16);
    if (expand_alerts && (e = put_alerts_of(inc, id, out, d)))
        return e;
    vg_buf_putc(out, '}');
    return VG_OK;
}
