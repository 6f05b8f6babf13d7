/*
 * inc_api.c - the incident and alert lifecycle of the Graph-shaped API:
 * lists with OData options, single gets, PATCH with version checks, and
 * comments.
 *
 * Every public function takes inc->mu for its whole transaction (the engine
 * shares the connection and its in-memory index). A change runs inside
 * BEGIN IMMEDIATE: read the row, compare the version with If-Match, write the
 * new values with version+1 and updated=now, cascade to the incident's
 * alerts, write one audit row (inc_audit, detail {"field":[old,new]}), commit;
 * then the engine hears of it (inc_engine_incident_changed) so merges respect
 * the new status, assignee and classification.
 *
 * Enumerations are Graph's; determination accepts the alias names Graph's
 * pages use (compromisedUser, clean, insufficientData,
 * confirmedUserActivity) and stores the first form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../state/vg_state.h"
#include "inc_api_int.h"

#define INC_MAX_TAG 100            /* characters of one custom tag */
#define INC_MAX_NAME 500           /* characters of a displayName */
#define INC_MAX_ASSIGNEE 256       /* characters of assignedTo */
#define INC_MAX_DESCRIPTION 30000  /* characters of a description */
#define INC_MAX_URL 12288          /* bytes of an @odata.nextLink */
#define INC_REQ_ARENA (8u << 20)   /* arena of one call (body DOM, literals) */

/* ---- helpers shared with inc_api_supp.c ---- */

vg_err inc_prepare(vg_inc *inc, const char *sql, sqlite3_stmt **st, vg_diag *d)
{
    if (sqlite3_prepare_v2(inc->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return vg_diag_set(d, VG_EIO, "state.db: %s", sqlite3_errmsg(inc->db));
    }
    return VG_OK;
}

static vg_err exec(vg_inc *inc, const char *sql, vg_diag *d)
{
    char *msg = NULL;
    if (sqlite3_exec(inc->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        vg_err e = vg_diag_set(d, VG_EIO, "state.db: %s: %s", sql,
                               msg ? msg : sqlite3_errmsg(inc->db));
        sqlite3_free(msg);
        return e;
    }
    return VG_OK;
}

vg_err inc_begin(vg_inc *inc, vg_diag *d) { return exec(inc, "BEGIN IMMEDIATE", d); }
vg_err inc_commit(vg_inc *inc, vg_diag *d) { return exec(inc, "COMMIT", d); }
void inc_rollback(vg_inc *inc) { sqlite3_exec(inc->db, "ROLLBACK", NULL, NULL, NULL); }

const char *inc_actor_name(const vg_inc_actor *who)
{
    return who && who->name && who->name[0] ? who->name : "vigil";
}

vg_err inc_body_object(vg_arena *a, vg_str body, const vg_json **out, vg_diag *d)
{
    vg_json *root = NULL;
    vg_diag jd;
    vg_diag_clear(&jd);
    if (vg_json_parse(a, body, &root, &jd) != VG_OK)
        return vg_diag_set(d, VG_EPARSE, "body: %s", jd.msg[0] ? jd.msg : "not valid JSON");
    if (root->kind != VG_JSON_OBJECT)
        return vg_diag_set(d, VG_EINVAL, "body: expected a JSON object");
    *out = root;
    return VG_OK;
}

/* UTF-8 characters of s (bytes that do not start a sequence are not counted). */
static size_t utf8_len(vg_str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

/* A column's text copied into the arena ("" for NULL; *isnull says which). */
static vg_str col_dup(vg_arena *a, sqlite3_stmt *st, int col, bool *isnull)
{
    const char *p = (const char *)sqlite3_column_text(st, col);
    if (isnull)
        *isnull = p == NULL;
    if (!p)
        return vg_str_make("", 0);
    vg_str s = vg_str_dup(a, vg_str_make(p, (size_t)sqlite3_column_bytes(st, col)));
    return s.p ? s : vg_str_make("", 0);
}

/* ---- enumerations ---- */

static const char *const incident_statuses[] = { "active", "inProgress", "resolved", NULL };
static const char *const alert_statuses[] = { "new", "inProgress", "resolved", NULL };
static const char *const classifications[] = { "unknown", "falsePositive", "truePositive",
                                               "informationalExpectedActivity", NULL };
static const char *const severities[] = { "informational", "low", "medium", "high", NULL };

/* Graph's determinations; an alias maps to the name before it. */
static const inc_name_map determinations[] = {
    { "apt", "apt" },
    { "malware", "malware" },
    { "securityPersonnel", "securityPersonnel" },
    { "securityTesting", "securityTesting" },
    { "unwantedSoftware", "unwantedSoftware" },
    { "multiStagedAttack", "multiStagedAttack" },
    { "compromisedAccount", "compromisedAccount" },
    { "compromisedUser", "compromisedAccount" },
    { "phishing", "phishing" },
    { "maliciousUserActivity", "maliciousUserActivity" },
    { "notMalicious", "notMalicious" },
    { "clean", "notMalicious" },
    { "notEnoughDataToValidate", "notEnoughDataToValidate" },
    { "insufficientData", "notEnoughDataToValidate" },
    { "confirmedActivity", "confirmedActivity" },
    { "confirmedUserActivity", "confirmedActivity" },
    { "lineOfBusinessApplication", "lineOfBusinessApplication" },
    { "other", "other" },
    { "unknown", "unknown" },
    { NULL, NULL },
};

static void list_names(const char *const *v, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (; *v && n < cap; v++) {
        int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", *v);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* A string member that must be one of v. */
static vg_err want_enum(const vg_json *m, const char *const *v, vg_str *out, vg_diag *d)
{
    char list[300];
    list_names(v, list, sizeof list);
    if (m->kind == VG_JSON_STRING)
        for (; *v; v++)
            if (vg_str_eqc(m->str, *v)) {
                *out = m->str;
                return VG_OK;
            }
    if (m->kind != VG_JSON_STRING)
        return vg_diag_set(d, VG_EINVAL, "%.*s: expected a string (one of %s)",
                           VG_STR_FMT(m->key), list);
    return vg_diag_set(d, VG_EINVAL, "%.*s: '%.*s' is not one of %s", VG_STR_FMT(m->key),
                       (int)(m->str.n > 60 ? 60 : m->str.n), m->str.p, list);
}

static vg_err want_determination(const vg_json *m, vg_str *out, vg_diag *d)
{
    if (m->kind == VG_JSON_STRING)
        for (const inc_name_map *x = determinations; x->stored; x++)
            if (vg_str_eqc(m->str, x->stored)) {
                *out = vg_str_c(x->graph);
                return VG_OK;
            }
    return vg_diag_set(d, VG_EINVAL, "determination: expected one of apt, malware, "
                       "securityPersonnel, securityTesting, unwantedSoftware, "
                       "multiStagedAttack, compromisedAccount, phishing, "
                       "maliciousUserActivity, notMalicious, notEnoughDataToValidate, "
                       "confirmedActivity, lineOfBusinessApplication, other, unknown");
}

/* A string member of at most max characters (empty refused when !empty_ok). */
static vg_err want_text(const vg_json *m, size_t max, bool empty_ok, vg_str *out, vg_diag *d)
{
    if (m->kind != VG_JSON_STRING)
        return vg_diag_set(d, VG_EINVAL, "%.*s: expected a string", VG_STR_FMT(m->key));
    if (!empty_ok && vg_str_trim(m->str).n == 0)
        return vg_diag_set(d, VG_EINVAL, "%.*s: must not be empty", VG_STR_FMT(m->key));
    size_t n = utf8_len(m->str);
    if (n > max)
        return vg_diag_set(d, VG_EINVAL, "%.*s: %zu characters, more than the %zu allowed",
                           VG_STR_FMT(m->key), n, max);
    *out = m->str;
    return VG_OK;
}

/* assignedTo: a string or null (unassigned). */
static vg_err want_assignee(const vg_json *m, vg_str *out, bool *isnull, vg_diag *d)
{
    if (m->kind == VG_JSON_NULL || (m->kind == VG_JSON_STRING && m->str.n == 0)) {
        *isnull = true;
        *out = vg_str_make("", 0);
        return VG_OK;
    }
    *isnull = false;
    return want_text(m, INC_MAX_ASSIGNEE, false, out, d);
}

/* customTags: an array of at most VG_INC_MAX_TAGS strings; *out is its JSON. */
static vg_err want_tags(const vg_json *m, vg_arena *a, vg_str *out, vg_diag *d)
{
    if (m->kind != VG_JSON_ARRAY)
        return vg_diag_set(d, VG_EINVAL, "customTags: expected an array of strings");
    if (m->n > VG_INC_MAX_TAGS)
        return vg_diag_set(d, VG_EINVAL, "customTags: %u tags, more than the %d allowed", m->n,
                           VG_INC_MAX_TAGS);
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_putc(&b, '[');
    vg_err e = VG_OK;
    for (uint32_t i = 0; i < m->n && !e; i++) {
        const vg_json *t = m->kids[i];
        if (t->kind != VG_JSON_STRING || vg_str_trim(t->str).n == 0)
            e = vg_diag_set(d, VG_EINVAL, "customTags[%u]: expected a non-empty string", i);
        else if (utf8_len(t->str) > INC_MAX_TAG)
            e = vg_diag_set(d, VG_EINVAL, "customTags[%u]: more than %d characters", i,
                            INC_MAX_TAG);
        if (i)
            vg_buf_putc(&b, ',');
        vg_buf_put_json_str(&b, t->str);
    }
    vg_buf_putc(&b, ']');
    if (!e) {
        *out = vg_str_dup(a, vg_str_make(b.p, b.n));
        if (!out->p || b.failed)
            e = vg_diag_set(d, VG_ENOMEM, "customTags: out of memory");
    }
    vg_buf_free(&b);
    return e;
}

/* Appends "field":[old,new] to an audit detail. */
static void detail_pair(vg_buf *det, const char *field, vg_str old, bool old_null, vg_str nw,
                        bool new_null, bool raw)
{
    vg_buf_puts(det, det->n > 1 ? ",\"" : "\"");
    vg_buf_puts(det, field);
    vg_buf_puts(det, "\":[");
    if (old_null)
        vg_buf_puts(det, "null");
    else if (raw)
        vg_buf_putstr(det, old);
    else
        vg_buf_put_json_str(det, old);
    vg_buf_putc(det, ',');
    if (new_null)
        vg_buf_puts(det, "null");
    else if (raw)
        vg_buf_putstr(det, nw);
    else
        vg_buf_put_json_str(det, nw);
    vg_buf_putc(det, ']');
}

static void bind_str(sqlite3_stmt *st, int i, vg_str s, bool isnull)
{
    if (isnull)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s.p ? s.p : "", (int)s.n, SQLITE_TRANSIENT);
}

/* Runs a prepared change statement to completion and finalizes it. */
static vg_err step_done(vg_inc *inc, sqlite3_stmt *st, const char *what, vg_diag *d)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return vg_diag_set(d, VG_EIO, "%s: %s", what, sqlite3_errmsg(inc->db));
    return VG_OK;
}

/* ---- single objects (mu held) ---- */

static vg_err incident_write(vg_inc *inc, int64_t id, bool expand, vg_buf *out,
                             int64_t *version, vg_diag *d)
{
    sqlite3_stmt *st;
    vg_err e = inc_prepare(inc, "SELECT " INC_INCIDENT_COLS " FROM incidents WHERE id = ?1",
                           &st, d);
    if (e)
        return e;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (version)
            *version = sqlite3_column_int64(st, INC_IC_VERSION);
        e = inc_json_incident(inc, st, expand, out, d);
    } else if (rc == SQLITE_DONE) {
        e = vg_diag_set(d, VG_ENOTFOUND, "no incident %lld", (long long)id);
    } else {
        e = vg_diag_set(d, VG_EIO, "reading incident %lld: %s", (long long)id,
                        sqlite3_errmsg(inc->db));
    }
    sqlite3_finalize(st);
    return e;
}

static vg_err alert_write(vg_inc *inc, vg_str id, vg_buf *out, int64_t *version, vg_diag *d)
{
    sqlite3_stmt *st;
    vg_err e = inc_prepare(inc, "SELECT " INC_ALERT_COLS " FROM alerts WHERE id = ?1", &st, d);
    if (e)
        return e;
    sqlite3_bind_text(st, 1, id.p ? id.p : "", (int)id.n, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (version)
            *version = sqlite3_column_int64(st, INC_AC_VERSION);
        e = inc_json_alert(inc, st, out, d);
    } else if (rc == SQLITE_DONE) {
        e = vg_diag_set(d, VG_ENOTFOUND, "no alert '%.*s'", (int)(id.n > 100 ? 100 : id.n),
                        id.p ? id.p : "");
    } else {
        e = vg_diag_set(d, VG_EIO, "reading alert: %s", sqlite3_errmsg(inc->db));
    }
    sqlite3_finalize(st);
    return e;
}

vg_err vg_inc_incident_get(vg_inc *inc, int64_t id, bool expand_alerts, vg_buf *out,
                           int64_t *version, vg_diag *d)
{
    pthread_mutex_lock(&inc->mu);
    vg_err e = incident_write(inc, id, expand_alerts, out, version, d);
    pthread_mutex_unlock(&inc->mu);
    return e;
}

vg_err vg_inc_alert_get(vg_inc *inc, vg_str id, vg_buf *out, int64_t *version, vg_diag *d)
{
    pthread_mutex_lock(&inc->mu);
    vg_err e = alert_write(inc, id, out, version, d);
    pthread_mutex_unlock(&inc->mu);
    return e;
}

/* ---- lists ---- */

static void url_arg(vg_buf *b, const char *name, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    vg_buf_putc(b, '&');
    vg_buf_puts(b, name);
    vg_buf_putc(b, '=');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            vg_buf_putc(b, (char)*p);
        } else {
            vg_buf_putc(b, '%');
            vg_buf_putc(b, hex[*p >> 4]);
            vg_buf_putc(b, hex[*p & 15]);
        }
    }
}

static vg_err list_rows(vg_inc *inc, inc_obj o, const vg_inc_list *q, vg_buf *out, vg_diag *d)
{
    int64_t top = q->top ? q->top : VG_INC_DEFAULT_TOP;
    if (top < 0 || top > VG_INC_MAX_TOP)
        return vg_diag_set(d, VG_EINVAL, "$top: %lld is outside 1..%d", (long long)q->top,
                           VG_INC_MAX_TOP);
    if (q->skip < 0)
        return vg_diag_set(d, VG_EINVAL, "$skip: %lld is negative", (long long)q->skip);
    if (q->expand_alerts && o != INC_OBJ_INCIDENT)
        return vg_diag_set(d, VG_EINVAL, "$expand: alerts can be expanded on incidents only");
    const char *table = o == INC_OBJ_INCIDENT ? "incidents" : "alerts";
    vg_arena a;
    vg_arena_init(&a, 0, INC_REQ_ARENA);
    inc_sql *sq = malloc(sizeof *sq);
    if (!sq) {
        vg_arena_free(&a);
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    }
    inc_sql_init(sq);
    vg_buf sql;
    vg_buf_init(&sql, 0);
    sqlite3_stmt *st = NULL;
    bool locked = false;
    vg_err e = inc_odata_filter(o, vg_str_c(q->filter), &a, sq, d);
    if (!e) e = inc_odata_orderby(o, vg_str_c(q->orderby), sq, d);
    if (e)
        goto out;
    const char *where = sq->where.n ? vg_buf_cstr(&sq->where) : NULL;
    pthread_mutex_lock(&inc->mu);
    locked = true;
    int64_t total = -1;
    if (q->count) {
        vg_buf_printf(&sql, "SELECT count(*) FROM %s%s%s", table, where ? " WHERE " : "",
                      where ? where : "");
        if ((e = inc_prepare(inc, vg_buf_cstr(&sql), &st, d)) || (e = inc_sql_bind(st, sq, d)))
            goto out;
        if (sqlite3_step(st) != SQLITE_ROW) {
            e = vg_diag_set(d, VG_EIO, "counting %s: %s", table, sqlite3_errmsg(inc->db));
            goto out;
        }
        total = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        st = NULL;
    }
    vg_buf_clear(&sql);
    vg_buf_printf(&sql, "SELECT %s FROM %s%s%s ORDER BY %s LIMIT ?%d OFFSET ?%d",
                  o == INC_OBJ_INCIDENT ? INC_INCIDENT_COLS : INC_ALERT_COLS, table,
                  where ? " WHERE " : "", where ? where : "", vg_buf_cstr(&sq->order),
                  sq->nargs + 1, sq->nargs + 2);
    if ((e = inc_prepare(inc, vg_buf_cstr(&sql), &st, d)) || (e = inc_sql_bind(st, sq, d)))
        goto out;
    sqlite3_bind_int64(st, sq->nargs + 1, top + 1);   /* one more: is there a next page? */
    sqlite3_bind_int64(st, sq->nargs + 2, q->skip);
    vg_buf_printf(out, "{\"@odata.context\":\"/api/v1/$metadata#security/%s\"",
                  o == INC_OBJ_INCIDENT ? "incidents" : "alerts_v2");
    if (total >= 0)
        vg_buf_printf(out, ",\"@odata.count\":%lld", (long long)total);
    vg_buf_puts(out, ",\"value\":[");
    int rc;
    int64_t k = 0;
    bool more = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == top) {
            more = true;
            break;
        }
        if (k++)
            vg_buf_putc(out, ',');
        e = o == INC_OBJ_INCIDENT ? inc_json_incident(inc, st, q->expand_alerts, out, d)
                                  : inc_json_alert(inc, st, out, d);
        if (e)
            goto out;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        e = vg_diag_set(d, VG_EIO, "listing %s: %s", table, sqlite3_errmsg(inc->db));
        goto out;
    }
    vg_buf_putc(out, ']');
    if (more) {
        vg_buf link;
        vg_buf_init(&link, INC_MAX_URL);
        vg_buf_puts(&link, q->base_url ? q->base_url : "");
        vg_buf_printf(&link, "?$top=%lld&$skip=%lld", (long long)top,
                      (long long)(q->skip + top));
        if (q->filter && q->filter[0])
            url_arg(&link, "$filter", q->filter);
        if (q->orderby && q->orderby[0])
            url_arg(&link, "$orderby", q->orderby);
        if (q->count)
            vg_buf_puts(&link, "&$count=true");
        if (q->expand_alerts)
            vg_buf_puts(&link, "&$expand=alerts");
        if (!link.failed) {
            vg_buf_puts(out, ",\"@odata.nextLink\":");
            vg_buf_put_json_str(out, vg_str_make(link.p, link.n));
        }
        vg_buf_free(&link);
    }
    vg_buf_puts(out, "}");
    if (out->failed)
        e = vg_diag_set(d, VG_ENOMEM, "out of memory writing the list");
out:
    sqlite3_finalize(st);
    if (locked)
        pthread_mutex_unlock(&inc->mu);
    vg_buf_free(&sql);
    inc_sql_free(sq);
    free(sq);
    vg_arena_free(&a);
    return e;
}

vg_err vg_inc_incidents_list(vg_inc *inc, const vg_inc_list *q, vg_buf *out, vg_diag *d)
{
    return list_rows(inc, INC_OBJ_INCIDENT, q, out, d);
}

vg_err vg_inc_alerts_list(vg_inc *inc, const vg_inc_list *q, vg_buf *out, vg_diag *d)
{
    return list_rows(inc, INC_OBJ_ALERT, q, out, d);
}

/* ---- PATCH incident ---- */

/* The patchable values of an incident: current, then merged with the body. */
typedef struct inc_vals {
    vg_str status, classification, determination, assigned, tags, name, severity, description;
    bool assigned_null;
} inc_vals;

typedef struct inc_patch {
    bool has_status, has_class, has_det, has_assigned, has_tags, has_name, has_sev, has_desc;
    vg_str resolving_comment;
    inc_vals v;
} inc_patch;

static const char *const incident_patchable =
    "status, classification, determination, assignedTo, customTags, displayName, severity, "
    "description, resolvingComment";

static vg_err incident_patch_parse(const vg_json *root, vg_arena *a, inc_patch *p, vg_diag *d)
{
    memset(p, 0, sizeof *p);
    for (uint32_t i = 0; i < root->n; i++) {
        const vg_json *m = root->kids[i];
        vg_str k = m->key;
        vg_err e = VG_OK;
        if (vg_str_eqc(k, "status")) {
            if (m->kind == VG_JSON_STRING && vg_str_eqc(m->str, "redirected"))
                return vg_diag_set(d, VG_EINVAL, "status: 'redirected' is set only by "
                                   "correlation when incidents merge");
            e = want_enum(m, incident_statuses, &p->v.status, d);
            p->has_status = true;
        } else if (vg_str_eqc(k, "classification")) {
            e = want_enum(m, classifications, &p->v.classification, d);
            p->has_class = true;
        } else if (vg_str_eqc(k, "determination")) {
            e = want_determination(m, &p->v.determination, d);
            p->has_det = true;
        } else if (vg_str_eqc(k, "assignedTo")) {
            e = want_assignee(m, &p->v.assigned, &p->v.assigned_null, d);
            p->has_assigned = true;
        } else if (vg_str_eqc(k, "customTags")) {
            e = want_tags(m, a, &p->v.tags, d);
            p->has_tags = true;
        } else if (vg_str_eqc(k, "displayName")) {
            e = want_text(m, INC_MAX_NAME, false, &p->v.name, d);
            p->has_name = true;
        } else if (vg_str_eqc(k, "severity")) {
            e = want_enum(m, severities, &p->v.severity, d);
            p->has_sev = true;
        } else if (vg_str_eqc(k, "description")) {
            e = want_text(m, INC_MAX_DESCRIPTION, true, &p->v.description, d);
            p->has_desc = true;
        } else if (vg_str_eqc(k, "resolvingComment")) {
            e = want_text(m, VG_INC_MAX_COMMENT, false, &p->resolving_comment, d);
        } else if (k.n > 7 && memcmp(k.p, "@odata.", 7) == 0) {
            /* @odata.type and the like, which Graph clients send: ignored */
        } else {
            return vg_diag_set(d, VG_EINVAL, "unknown field '%.*s' (patchable: %s)",
                               (int)(k.n > 60 ? 60 : k.n), k.p, incident_patchable);
        }
        if (e)
            return e;
    }
    return VG_OK;
}

/* Adds a comment row (caller's transaction). */
static vg_err comment_insert(vg_inc *inc, bool on_incident, int64_t iid, vg_str aid,
                             vg_str text, const vg_inc_actor *who, int64_t now, vg_diag *d)
{
    sqlite3_stmt *st;
    vg_err e = inc_prepare(inc, "INSERT INTO comments(incident_id, alert_id, comment, "
                                "created_by, created) VALUES(?1, ?2, ?3, ?4, ?5)", &st, d);
    if (e)
        return e;
    if (on_incident) {
        sqlite3_bind_int64(st, 1, iid);
        sqlite3_bind_null(st, 2);
    } else {
        sqlite3_bind_null(st, 1);
        bind_str(st, 2, aid, false);
    }
    bind_str(st, 3, text, false);
    sqlite3_bind_text(st, 4, inc_actor_name(who), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, now);
    return step_done(inc, st, "adding a comment", d);
}

/* Compares one patched value with the current one; records the change. */
static bool changed(bool has, vg_str *cur, bool *cur_null, vg_str nw, bool new_null,
                    const char *field, bool raw, vg_buf *det)
{
    if (!has)
        return false;
    bool cn = cur_null ? *cur_null : false;
    if (cn == new_null && (new_null || vg_str_eq(*cur, nw)))
        return false;
    detail_pair(det, field, *cur, cn, nw, new_null, raw);
    *cur = nw;
    if (cur_null)
        *cur_null = new_null;
    return true;
}

/* One cascade: UPDATE alerts SET <col> = value (?2), updated = now (?3) for
 * the incident's (?1) alerts that `cond` selects. */
static vg_err cascade_one(vg_inc *inc, const char *sql, int64_t id, vg_str value, bool isnull,
                          int64_t now, const char *what, vg_diag *d)
{
    sqlite3_stmt *st;
    vg_err e = inc_prepare(inc, sql, &st, d);
    if (e)
        return e;
    sqlite3_bind_int64(st, 1, id);
    bind_str(st, 2, value, isnull);
    sqlite3_bind_int64(st, 3, now);
    return step_done(inc, st, what, d);
}

/* The cascades of an incident change onto its alerts. */
static vg_err cascade(vg_inc *inc, int64_t id, const inc_patch *p, bool resolving,
                      bool assigned, bool classified, bool determined, int64_t now, vg_diag *d)
{
    vg_err e = VG_OK;
    if (resolving)
        e = cascade_one(inc, "UPDATE alerts SET status = ?2, resolved = ?3, updated = ?3, "
                             "version = version + 1 WHERE incident_id = ?1 AND status != ?2",
                        id, VG_STR_LIT("resolved"), false, now, "resolving the incident's alerts",
                        d);
    if (!e && assigned)
        e = cascade_one(inc, "UPDATE alerts SET assigned_to = ?2, updated = ?3, "
                             "version = version + 1 WHERE incident_id = ?1 AND "
                             "assigned_to IS NOT ?2",
                        id, p->v.assigned, p->v.assigned_null, now,
                        "assigning the incident's alerts", d);
    if (!e && classified)
        e = cascade_one(inc, "UPDATE alerts SET classification = ?2, updated = ?3, "
                             "version = version + 1 WHERE incident_id = ?1 AND "
                             "classification = 'unknown'",
                        id, p->v.classification, false, now, "classifying the incident's alerts",
                        d);
    if (!e && determined)
        e = cascade_one(inc, "UPDATE alerts SET determination = ?2, updated = ?3, "
                             "version = version + 1 WHERE incident_id = ?1 AND "
                             "determination = 'unknown'",
                        id, p->v.determination, false, now,
                        "setting the determination of the incident's alerts", d);
    return e;
}

vg_err vg_inc_incident_patch(vg_inc *inc, int64_t id, vg_str body, int64_t if_match,
                             const vg_inc_actor *who, vg_buf *out, int64_t *version, vg_diag *d)
{
    vg_arena a;
    vg_arena_init(&a, 0, INC_REQ_ARENA);
    vg_buf det;
    vg_buf_init(&det, 0);
    const vg_json *root;
    inc_patch p;
    bool locked = false, intx = false;
    sqlite3_stmt *st = NULL;
    vg_err e = inc_body_object(&a, body, &root, d);
    if (!e) e = incident_patch_parse(root, &a, &p, d);
    if (e)
        goto out;
    pthread_mutex_lock(&inc->mu);
    locked = true;
    if ((e = inc_begin(inc, d)))
        goto out;
    intx = true;
    if ((e = inc_prepare(inc, "SELECT status, classification, determination, assigned_to, "
                              "custom_tags, display_name, severity, description, version, "
                              "redirect_id FROM incidents WHERE id = ?1", &st, d)))
        goto out;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        e = rc == SQLITE_DONE ? vg_diag_set(d, VG_ENOTFOUND, "no incident %lld", (long long)id)
                              : vg_diag_set(d, VG_EIO, "reading incident %lld: %s",
                                            (long long)id, sqlite3_errmsg(inc->db));
        goto out;
    }
    inc_vals cur;
    cur.status = col_dup(&a, st, 0, NULL);
    cur.classification = col_dup(&a, st, 1, NULL);
    cur.determination = col_dup(&a, st, 2, NULL);
    cur.assigned = col_dup(&a, st, 3, &cur.assigned_null);
    cur.tags = col_dup(&a, st, 4, NULL);
    cur.name = col_dup(&a, st, 5, NULL);
    cur.severity = col_dup(&a, st, 6, NULL);
    cur.description = col_dup(&a, st, 7, NULL);
    int64_t ver = sqlite3_column_int64(st, 8);
    bool redirected = vg_str_eqc(cur.status, "redirected");
    int64_t redirect_to = sqlite3_column_int64(st, 9);
    sqlite3_finalize(st);
    st = NULL;
    if (if_match != -1 && if_match != ver) {
        e = vg_diag_set(d, VG_ECONFLICT, "incident %lld is at version %lld, not %lld "
                        "(If-Match): read it again and retry", (long long)id, (long long)ver,
                        (long long)if_match);
        goto out;
    }
    if (redirected && (p.has_status || p.has_class || p.has_det || p.has_assigned ||
                       p.has_name || p.has_sev || p.has_desc || p.resolving_comment.n)) {
        e = vg_diag_set(d, VG_EINVAL, "incident %lld was merged into incident %lld "
                        "(redirected); only its customTags may change: update incident %lld",
                        (long long)id, (long long)redirect_to, (long long)redirect_to);
        goto out;
    }
    vg_buf_putc(&det, '{');
    bool was_resolved = vg_str_eqc(cur.status, "resolved");
    bool any = false, assigned, classified, determined, name_set, sev_set;
    any |= changed(p.has_status, &cur.status, NULL, p.v.status, false, "status", false, &det);
    any |= classified = changed(p.has_class, &cur.classification, NULL, p.v.classification,
                                false, "classification", false, &det);
    any |= determined = changed(p.has_det, &cur.determination, NULL, p.v.determination,
                                false, "determination", false, &det);
    any |= assigned = changed(p.has_assigned, &cur.assigned, &cur.assigned_null, p.v.assigned,
                              p.v.assigned_null, "assignedTo", false, &det);
    any |= changed(p.has_tags, &cur.tags, NULL, p.v.tags, false, "customTags", true, &det);
    any |= name_set = changed(p.has_name, &cur.name, NULL, p.v.name, false, "displayName",
                              false, &det);
    any |= sev_set = changed(p.has_sev, &cur.severity, NULL, p.v.severity, false, "severity",
                             false, &det);
    any |= changed(p.has_desc, &cur.description, NULL, p.v.description, false, "description",
                   false, &det);
    bool resolved_now = vg_str_eqc(cur.status, "resolved");
    bool resolving = resolved_now && !was_resolved;
    if (p.resolving_comment.n && !resolving) {
        e = vg_diag_set(d, VG_EINVAL, "resolvingComment: only with \"status\":\"resolved\" "
                        "on an incident that is not resolved yet");
        goto out;
    }
    int64_t now = vg_state_now_ms();
    if (any) {
        if ((e = inc_prepare(inc, "UPDATE incidents SET status = ?2, classification = ?3, "
                                  "determination = ?4, assigned_to = ?5, custom_tags = ?6, "
                                  "display_name = ?7, severity = ?8, description = ?9, "
                                  "name_manual = name_manual OR ?10, "
                                  "severity_manual = severity_manual OR ?11, updated = ?12, "
                                  "resolved = CASE WHEN ?2 = 'resolved' THEN "
                                  "coalesce(resolved, ?12) ELSE NULL END, "
                                  "version = version + 1 WHERE id = ?1", &st, d)))
            goto out;
        sqlite3_bind_int64(st, 1, id);
        bind_str(st, 2, cur.status, false);
        bind_str(st, 3, cur.classification, false);
        bind_str(st, 4, cur.determination, false);
        bind_str(st, 5, cur.assigned, cur.assigned_null);
        bind_str(st, 6, cur.tags, false);
        bind_str(st, 7, cur.name, false);
        bind_str(st, 8, cur.severity, false);
        bind_str(st, 9, cur.description, false);
        sqlite3_bind_int(st, 10, name_set);
        sqlite3_bind_int(st, 11, sev_set);
        sqlite3_bind_int64(st, 12, now);
        e = step_done(inc, st, "updating the incident", d);
        st = NULL;
        if (e)
            goto out;
        if ((e = cascade(inc, id, &p, resolving, assigned,
                         classified && !vg_str_eqc(cur.classification, "unknown"),
                         determined && !vg_str_eqc(cur.determination, "unknown"), now, d)))
            goto out;
        if (p.resolving_comment.n) {
            if ((e = comment_insert(inc, true, id, VG_STR_NULL, p.resolving_comment, who, now,
                                    d)))
                goto out;
            vg_buf_puts(&det, ",\"resolvingComment\":true");
        }
        vg_buf_putc(&det, '}');
        char oid[24];
        snprintf(oid, sizeof oid, "%lld", (long long)id);
        if (det.failed) {
            e = vg_diag_set(d, VG_ENOMEM, "out of memory");
            goto out;
        }
        if ((e = inc_audit(inc, who, "incident.update", "incident", oid, vg_buf_cstr(&det), d)))
            goto out;
    }
    if ((e = inc_commit(inc, d)))
        goto out;
    intx = false;
    if (any)
        inc_engine_incident_changed(inc, id);
    e = incident_write(inc, id, false, out, version, d);
out:
    sqlite3_finalize(st);
    if (intx)
        inc_rollback(inc);
    if (locked)
        pthread_mutex_unlock(&inc->mu);
    vg_buf_free(&det);
    vg_arena_free(&a);
    return e;
}

/* ---- PATCH alert ---- */

vg_err vg_inc_alert_patch(vg_inc *inc, vg_str id, vg_str body, int64_t if_match,
                          const vg_inc_actor *who, vg_buf *out, int64_t *version, vg_diag *d)
{
    vg_arena a;
    vg_arena_init(&a, 0, INC_REQ_ARENA);
    vg_buf det;
    vg_buf_init(&det, 0);
    const vg_json *root;
    bool locked = false, intx = false;
    sqlite3_stmt *st = NULL;
    inc_patch p;
    memset(&p, 0, sizeof p);
    vg_err e = inc_body_object(&a, body, &root, d);
    for (uint32_t i = 0; !e && i < root->n; i++) {
        const vg_json *m = root->kids[i];
        if (vg_str_eqc(m->key, "status")) {
            e = want_enum(m, alert_statuses, &p.v.status, d);
            p.has_status = true;
        } else if (vg_str_eqc(m->key, "classification")) {
            e = want_enum(m, classifications, &p.v.classification, d);
            p.has_class = true;
        } else if (vg_str_eqc(m->key, "determination")) {
            e = want_determination(m, &p.v.determination, d);
            p.has_det = true;
        } else if (vg_str_eqc(m->key, "assignedTo")) {
            e = want_assignee(m, &p.v.assigned, &p.v.assigned_null, d);
            p.has_assigned = true;
        } else if (!(m->key.n > 7 && memcmp(m->key.p, "@odata.", 7) == 0)) {
            e = vg_diag_set(d, VG_EINVAL, "unknown field '%.*s' (patchable: status, "
                            "classification, determination, assignedTo)",
                            (int)(m->key.n > 60 ? 60 : m->key.n), m->key.p);
        }
    }
    if (e)
        goto out;
    pthread_mutex_lock(&inc->mu);
    locked = true;
    if ((e = inc_begin(inc, d)))
        goto out;
    intx = true;
    if ((e = inc_prepare(inc, "SELECT status, classification, determination, assigned_to, "
                              "version FROM alerts WHERE id = ?1", &st, d)))
        goto out;
    bind_str(st, 1, id, false);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        e = rc == SQLITE_DONE ? vg_diag_set(d, VG_ENOTFOUND, "no alert '%.*s'",
                                            (int)(id.n > 100 ? 100 : id.n), id.p)
                              : vg_diag_set(d, VG_EIO, "reading alert: %s",
                                            sqlite3_errmsg(inc->db));
        goto out;
    }
    inc_vals cur;
    cur.status = col_dup(&a, st, 0, NULL);
    cur.classification = col_dup(&a, st, 1, NULL);
    cur.determination = col_dup(&a, st, 2, NULL);
    cur.assigned = col_dup(&a, st, 3, &cur.assigned_null);
    int64_t ver = sqlite3_column_int64(st, 4);
    sqlite3_finalize(st);
    st = NULL;
    if (if_match != -1 && if_match != ver) {
        e = vg_diag_set(d, VG_ECONFLICT, "alert %.*s is at version %lld, not %lld (If-Match): "
                        "read it again and retry", (int)(id.n > 100 ? 100 : id.n), id.p,
                        (long long)ver, (long long)if_match);
        goto out;
    }
    vg_buf_putc(&det, '{');
    bool any = false;
    any |= changed(p.has_status, &cur.status, NULL, p.v.status, false, "status", false, &det);
    any |= changed(p.has_class, &cur.classification, NULL, p.v.classification, false,
                   "classification", false, &det);
    any |= changed(p.has_det, &cur.determination, NULL, p.v.determination, false,
                   "determination", false, &det);
    any |= changed(p.has_assigned, &cur.assigned, &cur.assigned_null, p.v.assigned,
                   p.v.assigned_null, "assignedTo", false, &det);
    vg_buf_putc(&det, '}');
    if (any) {
        int64_t now = vg_state_now_ms();
        if ((e = inc_prepare(inc, "UPDATE alerts SET status = ?2, classification = ?3, "
                                  "determination = ?4, assigned_to = ?5, updated = ?6, "
                                  "resolved = CASE WHEN ?2 = 'resolved' THEN "
                                  "coalesce(resolved, ?6) ELSE NULL END, "
                                  "version = version + 1 WHERE id = ?1", &st, d)))
            goto out;
        bind_str(st, 1, id, false);
        bind_str(st, 2, cur.status, false);
        bind_str(st, 3, cur.classification, false);
        bind_str(st, 4, cur.determination, false);
        bind_str(st, 5, cur.assigned, cur.assigned_null);
        sqlite3_bind_int64(st, 6, now);
        e = step_done(inc, st, "updating the alert", d);
        st = NULL;
        if (e)
            goto out;
        vg_str oid = vg_str_dup(&a, id);
        if (det.failed || !oid.p) {
            e = vg_diag_set(d, VG_ENOMEM, "out of memory");
            goto out;
        }
        if ((e = inc_audit(inc, who, "alert.update", "alert", oid.p, vg_buf_cstr(&det), d)))
            goto out;
    }
    if ((e = inc_commit(inc, d)))
        goto out;
    intx = false;
    e = alert_write(inc, id, out, version, d);
out:
    sqlite3_finalize(st);
    if (intx)
        inc_rollback(inc);
    if (locked)
        pthread_mutex_unlock(&inc->mu);
    vg_buf_free(&det);
    vg_arena_free(&a);
    return e;
}

/* ---- comments ---- */

/* Checks that the incident or alert exists (mu held); *iid for incidents. */
static vg_err comment_target(vg_inc *inc, bool on_incident, vg_str id, int64_t *iid,
                             vg_diag *d)
{
    sqlite3_stmt *st;
    vg_err e;
    if (on_incident) {
        if (vg_str_to_i64(id, iid) != VG_OK)
            return vg_diag_set(d, VG_ENOTFOUND, "no incident '%.*s' (ids are numbers)",
                               (int)(id.n > 60 ? 60 : id.n), id.p ? id.p : "");
        if ((e = inc_prepare(inc, "SELECT 1 FROM incidents WHERE id = ?1", &st, d)))
            return e;
        sqlite3_bind_int64(st, 1, *iid);
    } else {
        if ((e = inc_prepare(inc, "SELECT 1 FROM alerts WHERE id = ?1", &st, d)))
            return e;
        bind_str(st, 1, id, false);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return VG_OK;
    if (rc != SQLITE_DONE)
        return vg_diag_set(d, VG_EIO, "state.db: %s", sqlite3_errmsg(inc->db));
    return vg_diag_set(d, VG_ENOTFOUND, "no %s '%.*s'", on_incident ? "incident" : "alert",
                       (int)(id.n > 100 ? 100 : id.n), id.p ? id.p : "");
}

static void comments_answer(vg_buf *out, const vg_buf *list)
{
    vg_buf_puts(out, "{\"@odata.context\":\"/api/v1/$metadata#Collection(microsoft.graph."
                     "security.alertComment)\",\"value\":");
    vg_buf_put(out, list->p, list->n);
    vg_buf_putc(out, '}');
}

vg_err vg_inc_comments_list(vg_inc *inc, bool on_incident, vg_str id, vg_buf *out, vg_diag *d)
{
    vg_buf list;
    vg_buf_init(&list, 0);
    int64_t iid = 0;
    pthread_mutex_lock(&inc->mu);
    vg_err e = comment_target(inc, on_incident, id, &iid, d);
    if (!e) e = inc_json_comments(inc, on_incident, iid, id, &list, d);
    pthread_mutex_unlock(&inc->mu);
    if (!e)
        comments_answer(out, &list);
    vg_buf_free(&list);
    return e;
}

vg_err vg_inc_comment_add(vg_inc *inc, bool on_incident, vg_str id, vg_str body,
                          const vg_inc_actor *who, vg_buf *out, vg_diag *d)
{
    vg_arena a;
    vg_arena_init(&a, 0, INC_REQ_ARENA);
    vg_buf list;
    vg_buf_init(&list, 0);
    const vg_json *root;
    vg_str text = VG_STR_NULL;
    bool locked = false, intx = false;
    vg_err e = inc_body_object(&a, body, &root, d);
    for (uint32_t i = 0; !e && i < root->n; i++) {
        const vg_json *m = root->kids[i];
        if (vg_str_eqc(m->key, "comment"))
            e = want_text(m, VG_INC_MAX_COMMENT, false, &text, d);
        else if (!(m->key.n > 7 && memcmp(m->key.p, "@odata.", 7) == 0))
            e = vg_diag_set(d, VG_EINVAL, "unknown field '%.*s' (expected {\"comment\": "
                            "\"...\"})", (int)(m->key.n > 60 ? 60 : m->key.n), m->key.p);
    }
    if (!e && !text.p)
        e = vg_diag_set(d, VG_EINVAL, "comment: missing (expected {\"comment\": \"...\"})");
    if (e)
        goto out;
    pthread_mutex_lock(&inc->mu);
    locked = true;
    if ((e = inc_begin(inc, d)))
        goto out;
    intx = true;
    int64_t iid = 0, now = vg_state_now_ms();
    if ((e = comment_target(inc, on_incident, id, &iid, d)) ||
        (e = comment_insert(inc, on_incident, iid, id, text, who, now, d)))
        goto out;
    /* the object's comments changed: a new version */
    sqlite3_stmt *st;
    if ((e = inc_prepare(inc, on_incident ? "UPDATE incidents SET version = version + 1, "
                                            "updated = ?2 WHERE id = ?1"
                                          : "UPDATE alerts SET version = version + 1, "
                                            "updated = ?2 WHERE id = ?1", &st, d)))
        goto out;
    if (on_incident)
        sqlite3_bind_int64(st, 1, iid);
    else
        bind_str(st, 1, id, false);
    sqlite3_bind_int64(st, 2, now);
    if ((e = step_done(inc, st, "updating the commented object", d)))
        goto out;
    char detail[64];
    snprintf(detail, sizeof detail, "{\"commentId\":%lld,\"characters\":%zu}",
             (long long)sqlite3_last_insert_rowid(inc->db), utf8_len(text));
    vg_str oid = vg_str_dup(&a, id);
    if (!oid.p) {
        e = vg_diag_set(d, VG_ENOMEM, "out of memory");
        goto out;
    }
    if ((e = inc_audit(inc, who, on_incident ? "incident.comment" : "alert.comment",
                       on_incident ? "incident" : "alert", oid.p, detail, d)))
        goto out;
    if ((e = inc_commit(inc, d)))
        goto out;
    intx = false;
    e = inc_json_comments(inc, on_incident, iid, id, &list, d);
    if (!e)
        comments_answer(out, &list);
out:
    if (intx)
        inc_rollback(inc);
    if (locked)
        pthread_mutex_unlock(&inc->mu);
    vg_buf_free(&list);
    vg_arena_free(&a);
    return e;
}
