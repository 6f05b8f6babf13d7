/*
 * inc_engine_add.c - vg_inc_add: alerts in, incidents out (the design is
 * the top comment of inc_engine.c).
 *
 * One call is one transaction. The incidents a call touches are read once
 * into a `work` record (its aggregates: counts, severity, tactics,
 * techniques, device/user/mailbox names, sources), changed in memory as
 * alerts join and incidents merge, and written back once at the end with
 * their new name, so a batch of 500 alerts costs one UPDATE per incident it
 * touched rather than one per alert.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/vg_json.h"
#include "../core/vg_time.h"
#include "../state/vg_state.h"
#include "inc_engine_int.h"

typedef struct strset {
    vg_str v[INC_MAX_SUMMARY];
    uint32_t n;
    bool more;                 /* distinct values were dropped at the cap */
} strset;

typedef struct work {
    int64_t id;
    bool created;              /* inserted by this call */
    int64_t redirect_id;       /* > 0: redirected by this call */
    vg_str display_name, status, severity, classification, determination, assigned_to;
    vg_str system_tags;        /* JSON array text */
    bool name_manual, severity_manual;
    int64_t alert_count, entity_count, first, last, created_ms;
    uint32_t tactics;
    vg_str title;              /* its one alert's title, when created by this call */
    vg_str tech[INC_MAX_TECHNIQUES];
    uint32_t ntech;
    strset dev, usr, mbx;
    vg_str src[INC_MAX_SOURCES];
    uint32_t nsrc;
} work;

typedef struct call {
    vg_inc *inc;
    vg_arena a;
    inc_ihash works;           /* id -> work* */
    work **touched;
    uint32_t ntouched, cap_touched;
    vg_inc_add_result r;
    int64_t now;
    vg_buf j;                  /* scratch JSON */
} call;

/* ---- small helpers ---- */

static vg_str col_dup(call *c, sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    if (!t)
        return VG_STR_NULL;
    return vg_str_dup(&c->a, vg_str_make((const char *)t, (size_t)sqlite3_column_bytes(s, i)));
}

static void bind_str(sqlite3_stmt *s, int i, vg_str v)
{
    if (v.p)
        sqlite3_bind_text(s, i, v.n ? v.p : "", (int)v.n, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static bool set_add(strset *s, vg_str v)
{
    if (!v.n)
        return false;
    for (uint32_t i = 0; i < s->n; i++)
        if (vg_str_eq_ci(s->v[i], v))
            return false;
    if (s->n >= INC_MAX_SUMMARY) {
        s->more = true;
        return false;
    }
    s->v[s->n++] = v;
    return true;
}

static void list_add(vg_str *v, uint32_t *n, uint32_t cap, vg_str x)
{
    if (!x.n)
        return;
    for (uint32_t i = 0; i < *n; i++)
        if (vg_str_eq_ci(v[i], x))
            return;
    if (*n < cap)
        v[(*n)++] = x;
}

/* Items of a JSON array of strings (a stored column). */
static uint32_t json_items(call *c, vg_str text, vg_str *out, uint32_t cap)
{
    vg_json *j;
    uint32_t n = 0;
    if (!text.n || vg_json_parse(&c->a, text, &j, NULL) != VG_OK || j->kind != VG_JSON_ARRAY)
        return 0;
    for (uint32_t i = 0; i < j->n && n < cap; i++)
        if (j->kids[i]->kind == VG_JSON_STRING)
            out[n++] = j->kids[i]->str;
    return n;
}

static void json_list(vg_buf *o, const vg_str *v, uint32_t n)
{
    vg_buf_putc(o, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            vg_buf_putc(o, ',');
        vg_buf_put_json_str(o, v[i]);
    }
    vg_buf_putc(o, ']');
}

static void json_tactics(vg_buf *o, uint32_t mask)
{
    vg_buf_putc(o, '[');
    bool first = true;
    for (int i = 0; i < INC_NTACTICS; i++)
        if (mask >> i & 1) {
            vg_buf_printf(o, "%s\"%s\"", first ? "" : ",", inc_tactic_name(i));
            first = false;
        }
    vg_buf_putc(o, ']');
}

/* The scratch buffer's text copied into the call's arena. */
static vg_str scratch(call *c) { return vg_str_dup(&c->a, vg_str_make(c->j.p ? c->j.p : "", c->j.n)); }

static vg_err touch(call *c, work *w)
{
    for (uint32_t i = 0; i < c->ntouched; i++)
        if (c->touched[i] == w)
            return VG_OK;
    vg_err e = vg_array_grow((void **)&c->touched, &c->cap_touched, c->ntouched + 1,
                             sizeof *c->touched);
    if (!e)
        c->touched[c->ntouched++] = w;
    return e;
}

static bool is_open(vg_str status)
{
    return vg_str_eqc(status, "active") || vg_str_eqc(status, "inProgress");
}

/* ---- work records ---- */

static vg_err work_get(call *c, int64_t id, work **out, vg_diag *d)
{
    *out = inc_ihash_get(&c->works, id);
    if (*out)
        return VG_OK;
    vg_inc *inc = c->inc;
    sqlite3_stmt *s = inc_st(inc, ST_GET_INC);
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? vg_diag_set(d, VG_ENOTFOUND, "incident %lld is indexed but "
                                               "not in state.db", (long long)id)
                                 : inc_db_err(inc, "reading an incident", d);
    }
    work *w = vg_arena_zalloc(&c->a, sizeof *w);
    if (!w) {
        sqlite3_reset(s);
        return vg_diag_set(d, VG_ENOMEM, "incidents: out of memory");
    }
    w->id = id;
    w->display_name = col_dup(c, s, 0);
    w->name_manual = sqlite3_column_int(s, 1) != 0;
    w->status = col_dup(c, s, 2);
    w->severity = col_dup(c, s, 3);
    w->severity_manual = sqlite3_column_int(s, 4) != 0;
    w->classification = col_dup(c, s, 5);
    w->determination = col_dup(c, s, 6);
    w->assigned_to = col_dup(c, s, 7);
    w->system_tags = col_dup(c, s, 8);
    vg_str items[INC_MAX_TECHNIQUES];
    uint32_t n = json_items(c, col_dup(c, s, 9), items, INC_MAX_TECHNIQUES);
    for (uint32_t i = 0; i < n; i++) {
        int t = inc_tactic_parse(items[i]);
        if (t >= 0)
            w->tactics |= 1u << t;
    }
    w->ntech = json_items(c, col_dup(c, s, 10), w->tech, INC_MAX_TECHNIQUES);
    strset *sets[3] = { &w->dev, &w->usr, &w->mbx };
    for (int k = 0; k < 3; k++) {
        sets[k]->n = json_items(c, col_dup(c, s, 11 + k), sets[k]->v, INC_MAX_SUMMARY);
        sets[k]->more = sets[k]->n >= INC_MAX_SUMMARY;
    }
    w->nsrc = json_items(c, col_dup(c, s, 14), w->src, INC_MAX_SOURCES);
    w->alert_count = sqlite3_column_int64(s, 15);
    w->entity_count = sqlite3_column_int64(s, 16);
    w->first = sqlite3_column_int64(s, 17);
    w->last = sqlite3_column_int64(s, 18);
    w->created_ms = sqlite3_column_int64(s, 19);
    sqlite3_reset(s);
    vg_err e = inc_ihash_put(&c->works, id, w);
    if (e)
        return vg_diag_set(d, e, "incidents: out of memory");
    *out = w;
    return VG_OK;
}

/* held[i]: the incident knew entity i before this alert. A device, user or
 * mailbox it knew under another spelling (SID vs UPN) is not a new name. */
static void agg_alert(work *w, const inc_alert *al, const bool *held)
{
    w->alert_count++;
    if (w->alert_count == 1 || al->ts_ms < w->first)
        w->first = al->ts_ms;
    if (w->alert_count == 1 || al->ts_ms > w->last)
        w->last = al->ts_ms;
    w->tactics |= al->tactics;
    for (uint32_t i = 0; i < al->ntechniques; i++)
        list_add(w->tech, &w->ntech, INC_MAX_TECHNIQUES, al->techniques[i]);
    list_add(w->src, &w->nsrc, INC_MAX_SOURCES, al->service_source);
    if (!w->severity_manual && inc_severity_rank(al->severity) > inc_severity_rank(w->severity))
        w->severity = al->severity;
    for (uint32_t i = 0; i < al->nents; i++) {
        const inc_entity *en = &al->ents[i];
        bool known = false;
        for (uint32_t k = 0; k < al->nents && !known; k++)
            known = held[k] && al->ents[k].kind == en->kind &&
                    vg_str_eq(al->ents[k].display, en->display);
        if (known)
            continue;
        if (en->kind == INC_K_DEVICE)
            set_add(&w->dev, en->display);
        else if (en->kind == INC_K_ACCOUNT)
            set_add(&w->usr, en->display);
        else if (en->kind == INC_K_MAILBOX)
            set_add(&w->mbx, en->display);
    }
}

static void agg_merge(work *t, const work *o)
{
    t->alert_count += o->alert_count;
    if (o->alert_count && (!t->alert_count || o->first < t->first))
        t->first = o->first;
    if (o->last > t->last)
        t->last = o->last;
    t->tactics |= o->tactics;
    for (uint32_t i = 0; i < o->ntech; i++)
        list_add(t->tech, &t->ntech, INC_MAX_TECHNIQUES, o->tech[i]);
    for (uint32_t i = 0; i < o->nsrc; i++)
        list_add(t->src, &t->nsrc, INC_MAX_SOURCES, o->src[i]);
    if (!t->severity_manual && inc_severity_rank(o->severity) > inc_severity_rank(t->severity))
        t->severity = o->severity;
    const strset *from[3] = { &o->dev, &o->usr, &o->mbx };
    strset *to[3] = { &t->dev, &t->usr, &t->mbx };
    for (int k = 0; k < 3; k++) {
        for (uint32_t i = 0; i < from[k]->n; i++)
            set_add(to[k], from[k]->v[i]);
        to[k]->more |= from[k]->more;
    }
}

/* ---- naming ---- */

static void scope(vg_buf *o, const strset *s, const char *lead, const char *what)
{
    if (s->more)
        vg_buf_printf(o, " %s multiple %ss", lead, what);
    else if (s->n == 1)
        vg_buf_printf(o, " %s one %s", lead, what);
    else
        vg_buf_printf(o, " %s %u %ss", lead, s->n, what);
}

static void incident_name(const work *w, vg_buf *o)
{
    int ntactics = 0, first = -1;
    for (int i = 0; i < INC_NTACTICS; i++)
        if (w->tactics >> i & 1) {
            ntactics++;
            if (first < 0)
                first = i;
        }
    if (w->alert_count <= 1 && w->title.n) {
        vg_buf_putstr(o, w->title);
    } else if (ntactics >= 2) {
        /* Defender: "Multi-stage incident involving Execution & Credential access" */
        vg_buf_puts(o, "Multi-stage incident");
        int shown = 0;
        for (int i = 0; i < INC_NTACTICS && shown < 2; i++)
            if (w->tactics >> i & 1)
                vg_buf_printf(o, "%s%s", shown++ ? " & " : " involving ", inc_tactic_label(i));
    } else if (ntactics == 1) {
        /* Defender: "Discovery incident on one endpoint" */
        vg_buf_printf(o, "%s incident", inc_tactic_label(first));
    } else {
        vg_buf_puts(o, "Multiple alerts");
    }
    if (w->dev.n)
        scope(o, &w->dev, "on", "endpoint");
    else if (w->usr.n)
        scope(o, &w->usr, "involving", "user");
    else if (w->mbx.n)
        scope(o, &w->mbx, "involving", "mailbox");
    if (w->nsrc > 1)
        vg_buf_puts(o, " reported by multiple sources");
}

/* Writes every touched incident back (one UPDATE each). */
static vg_err flush(call *c, vg_diag *d)
{
    vg_inc *inc = c->inc;
    vg_err e = VG_OK;
    for (uint32_t i = 0; i < c->ntouched && !e; i++) {
        work *w = c->touched[i];
        sqlite3_stmt *s = inc_st(inc, ST_UPD_INC);
        sqlite3_bind_int64(s, 1, w->id);
        if (!w->name_manual) {
            vg_buf_clear(&c->j);
            incident_name(w, &c->j);
            w->display_name = scratch(c);
        }
        bind_str(s, 2, w->display_name);
        bind_str(s, 3, w->status);
        bind_str(s, 4, w->severity);
        if (w->redirect_id > 0)
            sqlite3_bind_int64(s, 5, w->redirect_id);
        bind_str(s, 6, w->system_tags.n ? w->system_tags : VG_STR_LIT("[]"));
        vg_buf_clear(&c->j);
        json_tactics(&c->j, w->tactics);
        vg_str tac = scratch(c);
        bind_str(s, 7, tac);
        vg_str lists[5];
        vg_buf_clear(&c->j);
        json_list(&c->j, w->tech, w->ntech);
        lists[0] = scratch(c);
        const strset *sets[3] = { &w->dev, &w->usr, &w->mbx };
        for (int k = 0; k < 3; k++) {
            vg_buf_clear(&c->j);
            json_list(&c->j, sets[k]->v, sets[k]->n);
            lists[1 + k] = scratch(c);
        }
        vg_buf_clear(&c->j);
        json_list(&c->j, w->src, w->nsrc);
        lists[4] = scratch(c);
        for (int k = 0; k < 5; k++)
            bind_str(s, 8 + k, lists[k]);
        sqlite3_bind_int64(s, 13, w->alert_count);
        sqlite3_bind_int64(s, 14, w->entity_count);
        sqlite3_bind_int64(s, 15, w->first);
        sqlite3_bind_int64(s, 16, w->last);
        sqlite3_bind_int64(s, 17, c->now);
        sqlite3_bind_int64(s, 18, w->created ? 0 : 1);
        if (c->j.failed)
            e = vg_diag_set(d, VG_ENOMEM, "incident %lld: out of memory", (long long)w->id);
        else
            e = inc_step_done(inc, s, "updating an incident", d);
    }
    return e;
}

/* ---- storing ---- */

static vg_err store_alert(call *c, const inc_alert *al, int64_t incident, int64_t rule, vg_diag *d)
{
    vg_inc *inc = c->inc;
    sqlite3_stmt *s = inc_st(inc, ST_INS_ALERT);
    bind_str(s, 1, al->id);
    sqlite3_bind_int64(s, 2, incident);
    bind_str(s, 3, al->title);
    bind_str(s, 4, al->category.p ? al->category : VG_STR_LIT(""));
    bind_str(s, 5, al->severity);
    sqlite3_bind_text(s, 6, rule ? "resolved" : "new", -1, SQLITE_STATIC);
    bind_str(s, 7, al->service_source);
    bind_str(s, 8, al->detection_source);
    bind_str(s, 9, al->rule_id);
    vg_buf_clear(&c->j);
    json_tactics(&c->j, al->tactics);
    vg_str tac = scratch(c);
    bind_str(s, 10, tac);
    vg_buf_clear(&c->j);
    json_list(&c->j, al->techniques, al->ntechniques);
    vg_str tech = scratch(c);
    bind_str(s, 11, tech);
    bind_str(s, 12, al->evidence);
    if (rule)
        sqlite3_bind_int64(s, 13, rule);
    sqlite3_bind_int64(s, 14, al->ts_ms);
    sqlite3_bind_int64(s, 15, c->now);
    if (rule)
        sqlite3_bind_int64(s, 16, c->now);
    vg_err e = inc_step_done(inc, s, "storing an alert", d);
    for (uint32_t i = 0; i < al->nents && !e; i++) {
        const inc_entity *en = &al->ents[i];
        s = inc_st(inc, ST_INS_ALERT_ENT);
        bind_str(s, 1, al->id);
        sqlite3_bind_text(s, 2, inc_kind_name(en->kind), -1, SQLITE_STATIC);
        bind_str(s, 3, en->value);
        bind_str(s, 4, en->display);
        bind_str(s, 5, en->roles);
        e = inc_step_done(inc, s, "storing an alert's entities", d);
    }
    return e;
}

/* Adds one key to an incident: table, index and its entity count. */
static vg_err add_key(call *c, work *w, inc_kind k, vg_str value, vg_str display, int64_t seen,
                      vg_diag *d)
{
    vg_inc *inc = c->inc;
    sqlite3_stmt *s = inc_st(inc, ST_UPSERT_ENT);
    sqlite3_bind_int64(s, 1, w->id);
    sqlite3_bind_text(s, 2, inc_kind_name(k), -1, SQLITE_STATIC);
    bind_str(s, 3, value);
    bind_str(s, 4, display);
    sqlite3_bind_int64(s, 5, seen);
    vg_err e = inc_step_done(inc, s, "storing an incident's entities", d);
    bool added;
    if (!e && (e = inc_idx_touch(inc, k, value, w->id, seen, &added)))
        vg_diag_set(d, e, "incident index: out of memory");
    if (!e && added && inc_kind_counted(k))
        w->entity_count++;
    return e;
}

static vg_err attach(call *c, work *w, const inc_alert *al, vg_diag *d)
{
    bool held[VG_INC_MAX_ENTITIES_PER_ALERT];
    for (uint32_t i = 0; i < al->nents; i++)
        held[i] = inc_idx_holds(c->inc, al->ents[i].kind, al->ents[i].value, w->id);
    vg_err e = store_alert(c, al, w->id, 0, d);
    for (uint32_t i = 0; i < al->nents && !e; i++)
        e = add_key(c, w, al->ents[i].kind, al->ents[i].value, al->ents[i].display, al->ts_ms, d);
    if (e)
        return e;
    agg_alert(w, al, held);
    inc_mem *m = inc_mem_get(c->inc, w->id);
    if (m && al->ts_ms > m->last_activity)
        m->last_activity = al->ts_ms;
    return touch(c, w);
}

static vg_err create(call *c, const inc_alert *al, work **out, vg_diag *d)
{
    vg_inc *inc = c->inc;
    sqlite3_stmt *s = inc_st(inc, ST_INS_INC);
    bind_str(s, 1, al->title);
    bind_str(s, 2, al->severity);
    sqlite3_bind_int64(s, 3, al->ts_ms);
    sqlite3_bind_int64(s, 4, c->now);
    vg_err e = inc_step_done(inc, s, "creating an incident", d);
    if (e)
        return e;
    work *w = vg_arena_zalloc(&c->a, sizeof *w);
    if (!w)
        return vg_diag_set(d, VG_ENOMEM, "incidents: out of memory");
    w->id = sqlite3_last_insert_rowid(inc->db);
    w->created = true;
    w->status = VG_STR_LIT("active");
    w->severity = al->severity;
    w->classification = w->determination = VG_STR_LIT("unknown");
    w->system_tags = VG_STR_LIT("[]");
    w->created_ms = c->now;
    w->title = al->title;
    if ((e = inc_ihash_put(&c->works, w->id, w)) ||
        (e = inc_mem_set(inc, w->id, true, al->ts_ms, NULL)))
        return vg_diag_set(d, e, "incidents: out of memory");
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)w->id);
    vg_buf_clear(&c->j);
    vg_buf_puts(&c->j, "{\"alert\":");
    vg_buf_put_json_str(&c->j, al->id);
    vg_buf_putc(&c->j, '}');
    if ((e = inc_audit(inc, NULL, "incident.create", "incident", id, vg_buf_cstr(&c->j), d)))
        return e;
    c->r.created++;
    *out = w;
    return VG_OK;
}

/* ---- merging ---- */

typedef struct ekey {
    inc_kind kind;
    vg_str value, display;
    int64_t last_seen;
} ekey;

static vg_err keys_of(call *c, int64_t id, ekey **out, uint32_t *n, vg_diag *d)
{
    vg_inc *inc = c->inc;
    sqlite3_stmt *s = inc_st(inc, ST_ENTS_OF);
    sqlite3_bind_int64(s, 1, id);
    uint32_t cap = 0;
    ekey *v = NULL;
    *n = 0;
    int rc;
    vg_err e = VG_OK;
    while (!e && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        inc_kind k;
        const unsigned char *kt = sqlite3_column_text(s, 0);
        if (!kt || !inc_kind_parse(vg_str_c((const char *)kt), &k))
            continue;
        if ((e = vg_array_grow((void **)&v, &cap, *n + 1, sizeof *v))) {
            vg_diag_set(d, e, "incidents: out of memory");
            break;
        }
        v[*n] = (ekey){ k, col_dup(c, s, 1), col_dup(c, s, 2), sqlite3_column_int64(s, 3) };
        (*n)++;
    }
    if (!e && rc != SQLITE_DONE)
        e = inc_db_err(inc, "reading an incident's entities", d);
    sqlite3_reset(s);
    if (e) {
        free(v);
        v = NULL;
    }
    *out = v;
    return e;
}

/* The alert's keys held by neither incident (b may be NULL). */
static int64_t new_keys(vg_inc *inc, const inc_alert *al, const work *a, const work *b)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < al->nents; i++) {
        const inc_entity *en = &al->ents[i];
        if (inc_kind_counted(en->kind) && !inc_idx_holds(inc, en->kind, en->value, a->id) &&
            !(b && inc_idx_holds(inc, en->kind, en->value, b->id)))
            n++;
    }
    return n;
}

static bool differ(vg_str a, vg_str b) { return !vg_str_eq(a, b); }

/* Merges o into t when the guards allow; *done tells. */
static vg_err try_merge(call *c, work *t, work *o, const inc_alert *al, bool *done, vg_diag *d)
{
    vg_inc *inc = c->inc;
    *done = false;
    if (o->assigned_to.n && t->assigned_to.n && differ(o->assigned_to, t->assigned_to))
        return VG_OK;
    if (differ(o->classification, t->classification) || differ(o->determination, t->determination))
        return VG_OK;
    ekey *keys;
    uint32_t nk;
    vg_err e = keys_of(c, o->id, &keys, &nk, d);
    if (e)
        return e;
    int64_t total = t->entity_count + new_keys(inc, al, t, o);
    for (uint32_t i = 0; i < nk; i++)
        if (inc_kind_counted(keys[i].kind) && !inc_idx_holds(inc, keys[i].kind, keys[i].value, t->id))
            total++;
    if (total > (int64_t)inc->o.max_entities)
        goto out;

    sqlite3_stmt *s = inc_st(inc, ST_MOVE_ALERTS);
    sqlite3_bind_int64(s, 1, o->id);
    sqlite3_bind_int64(s, 2, t->id);
    sqlite3_bind_int64(s, 3, c->now);
    if ((e = inc_step_done(inc, s, "moving alerts", d)))
        goto out;
    int moved = sqlite3_changes(inc->db);
    for (uint32_t i = 0; i < nk && !e; i++)
        e = add_key(c, t, keys[i].kind, keys[i].value, keys[i].display, keys[i].last_seen, d);
    if (e)
        goto out;
    agg_merge(t, o);
    o->alert_count = 0;   /* its alerts are the target's now ($expand=alerts agrees) */
    o->status = VG_STR_LIT("redirected");
    o->redirect_id = t->id;
    vg_str tags[VG_INC_MAX_TAGS];
    uint32_t ntags = json_items(c, o->system_tags, tags, VG_INC_MAX_TAGS - 1);
    list_add(tags, &ntags, VG_INC_MAX_TAGS, VG_STR_LIT("Redirected"));
    vg_buf_clear(&c->j);
    json_list(&c->j, tags, ntags);
    o->system_tags = scratch(c);
    if ((e = inc_mem_set(inc, o->id, false, 0, NULL)) ||
        (e = inc_mem_set(inc, t->id, true, t->last, NULL))) {
        vg_diag_set(d, e, "incidents: out of memory");
        goto out;
    }
    char oid[24], detail[128];
    snprintf(oid, sizeof oid, "%lld", (long long)o->id);
    snprintf(detail, sizeof detail, "{\"source\":%lld,\"target\":%lld,\"alerts\":%d}",
             (long long)o->id, (long long)t->id, moved);
    if ((e = inc_audit(inc, NULL, "incident.merge", "incident", oid, detail, d)))
        goto out;
    if (!(e = touch(c, o)) && !(e = touch(c, t))) {
        c->r.merged++;
        *done = true;
    }
out:
    free(keys);
    return e;
}

/* ---- one alert ---- */

static int by_rank(const void *pa, const void *pb)
{
    const work *a = *(work *const *)pa, *b = *(work *const *)pb;
    if (a->alert_count != b->alert_count)
        return a->alert_count > b->alert_count ? -1 : 1;
    if (a->created_ms != b->created_ms)
        return a->created_ms < b->created_ms ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static vg_err one_alert(call *c, const inc_alert *al, vg_diag *d)
{
    vg_inc *inc = c->inc;
    int64_t rule;
    vg_err e = inc_rules_match(inc, al, &c->a, &rule, d);
    if (e)
        return e;
    if (rule) {
        if ((e = store_alert(c, al, 0, rule, d)))
            return e;
        sqlite3_stmt *s = inc_st(inc, ST_SUPP_HIT);
        sqlite3_bind_int64(s, 1, rule);
        if ((e = inc_step_done(inc, s, "counting a suppression hit", d)))
            return e;
        c->r.suppressed++;
        return VG_OK;
    }

    /* candidates: open incidents holding a key, seen within the window;
     * artifacts common across devices are no keys (inc_prevalence.c) */
    inc_prev_note(inc, al);
    int64_t since = al->ts_ms - inc->o.window_ms;
    work *cand[INC_MAX_CANDIDATES];
    uint32_t nc = 0;
    for (uint32_t i = 0; i < al->nents; i++) {
        if (inc_prev_common(inc, &al->ents[i]))
            continue;
        inc_slot *sl = inc_idx_get(inc, al->ents[i].kind, al->ents[i].value);
        for (uint32_t k = 0; sl && k < sl->n;) {
            inc_ref ref = sl->v[k];
            inc_mem *m = inc_mem_get(inc, ref.id);
            if (!m || !m->open) {           /* closed since: drop the stale reference */
                sl->v[k] = sl->v[--sl->n];
                continue;
            }
            k++;
            if (ref.last_seen < since && m->last_activity < since)
                continue;
            bool seen = false;
            for (uint32_t q = 0; q < nc && !seen; q++)
                seen = cand[q]->id == ref.id;
            if (seen || nc >= INC_MAX_CANDIDATES)
                continue;
            work *w;
            if ((e = work_get(c, ref.id, &w, d)))
                return e;
            if (is_open(w->status))
                cand[nc++] = w;
        }
    }
    qsort(cand, nc, sizeof cand[0], by_rank);

    work *t = NULL;
    bool refused[INC_MAX_CANDIDATES] = { false };
    for (uint32_t i = 0; i < nc && !t; i++) {
        if (cand[i]->entity_count + new_keys(inc, al, cand[i], NULL) <= (int64_t)inc->o.max_entities)
            t = cand[i];
        else {
            refused[i] = true;
            c->r.not_merged++;
        }
    }
    for (uint32_t i = 0; t && i < nc; i++) {
        if (cand[i] == t || refused[i])
            continue;
        bool done;
        if ((e = try_merge(c, t, cand[i], al, &done, d)))
            return e;
        if (!done)
            c->r.not_merged++;
    }
    if (t)
        c->r.joined++;
    else if ((e = create(c, al, &t, d)))
        return e;
    if ((e = attach(c, t, al, d)))
        return e;
    c->r.alerts++;
    return VG_OK;
}

/* ---- the call ---- */

typedef struct pending {
    const vg_batch *b;
    uint32_t row;
    uint32_t seq;
    int64_t ts;
} pending;

typedef struct evlist {
    inc_evref *v;
    uint32_t n, cap;
} evlist;

static int by_time(const void *pa, const void *pb)
{
    const pending *a = pa, *b = pb;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static vg_str id_of(const vg_batch *b, int col, uint32_t r)
{
    if (col < 0 || vg_batch_is_null(b, col, r) || !vg_type_is_str(b->cols[col].type))
        return VG_STR_NULL;
    return vg_str_trim(b->cols[col].v.s[r]);
}

/* Alerts of the AlertInfo batches in Timestamp order; evidence by AlertId. */
static vg_err collect(call *c, const vg_batch *const *v, size_t n, pending **out, uint32_t *nout,
                      vg_map *ev, vg_diag *d)
{
    uint32_t cap = 0, np = 0;
    pending *p = NULL;
    for (size_t i = 0; i < n; i++) {
        const vg_batch *b = v[i];
        if (!b || !b->table)
            continue;
        bool info = !strcmp(b->table->name, "AlertInfo");
        bool evid = !strcmp(b->table->name, "AlertEvidence");
        if (!info && !evid)
            continue;
        int idc = vg_schema_col(b->table, VG_STR_LIT("AlertId"));
        for (uint32_t r = 0; r < b->nrows; r++) {
            vg_str id = id_of(b, idc, r);
            if (!id.n)
                continue;
            if (info) {
                if (vg_array_grow((void **)&p, &cap, np + 1, sizeof *p))
                    goto nomem;
                int tc = b->table->ts_col;
                p[np] = (pending){ b, r, np,
                                   tc >= 0 && !vg_batch_is_null(b, tc, r) ? b->cols[tc].v.i64[r] : 0 };
                np++;
                continue;
            }
            evlist *l = vg_map_get(ev, id, NULL);
            if (!l) {
                if (!(l = vg_arena_zalloc(&c->a, sizeof *l)) || vg_map_put(ev, id, l))
                    goto nomem;
            }
            if (l->n == l->cap) {
                uint32_t nc = l->cap ? l->cap * 2 : 4;
                inc_evref *nv = vg_arena_alloc(&c->a, nc * sizeof *nv);
                if (!nv)
                    goto nomem;
                if (l->n)
                    memcpy(nv, l->v, l->n * sizeof *nv);
                l->v = nv;
                l->cap = nc;
            }
            l->v[l->n++] = (inc_evref){ b, r };
        }
    }
    qsort(p, np, sizeof *p, by_time);
    *out = p;
    *nout = np;
    return VG_OK;
nomem:
    free(p);
    return vg_diag_set(d, VG_ENOMEM, "incidents: out of memory reading alerts");
}

static bool has_alert(vg_inc *inc, vg_str id)
{
    sqlite3_stmt *s = inc_st(inc, ST_HAS_ALERT);
    bind_str(s, 1, id);
    bool has = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_reset(s);
    return has;
}

vg_err vg_inc_add(vg_inc *inc, const vg_batch *const *v, size_t n, vg_inc_add_result *res,
                  vg_diag *d)
{
    uint64_t t0 = vg_mono_ns();
    if (res)
        memset(res, 0, sizeof *res);
    pthread_mutex_lock(&inc->mu);
    call c = { .inc = inc, .now = vg_state_now_ms() };
    vg_arena_init(&c.a, 1u << 20, 0);
    vg_buf_init(&c.j, 1u << 24);
    vg_map ev;
    vg_map_init(&ev, false);
    pending *p = NULL;
    uint32_t np = 0;
    bool in_tx = false;
    vg_err e = collect(&c, v, n, &p, &np, &ev, d);
    if (e || np == 0)
        goto out;
    if ((e = inc_step_done(inc, inc_st(inc, ST_BEGIN), "BEGIN", d)))
        goto out;
    in_tx = true;
    inc_alert *al = malloc(sizeof *al);
    if (!al) {
        e = vg_diag_set(d, VG_ENOMEM, "incidents: out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < np && !e; i++) {
        int idc = vg_schema_col(p[i].b->table, VG_STR_LIT("AlertId"));
        vg_str id = id_of(p[i].b, idc, p[i].row);
        if (has_alert(inc, id)) {
            c.r.duplicates++;
            continue;
        }
        evlist *l = vg_map_get(&ev, id, NULL);
        e = inc_alert_read(p[i].b, p[i].row, l ? l->v : NULL, l ? l->n : 0, c.now, &c.a, al, d);
        if (!e)
            e = one_alert(&c, al, d);
    }
    free(al);
    if (!e)
        e = flush(&c, d);
    if (!e)
        e = inc_step_done(inc, inc_st(inc, ST_COMMIT), "COMMIT", d);
out:
    if (e && in_tx) {
        /* all or nothing: the tables roll back, the caches follow them */
        inc_step_done(inc, inc_st(inc, ST_ROLLBACK), "ROLLBACK", NULL);
        inc_idx_reload(inc, NULL);
        inc_engine_suppressions_changed(inc);
    }
    if (!e) {
        vg_inc_stats *s = &inc->stats;
        s->alerts_total += c.r.alerts;
        s->duplicates_total += c.r.duplicates;
        s->suppressed_total += c.r.suppressed;
        s->incidents_created_total += c.r.created;
        s->joined_total += c.r.joined;
        s->merged_total += c.r.merged;
        s->not_merged_total += c.r.not_merged;
        if (res)
            *res = c.r;
    }
    inc->stats.add_calls++;
    inc->stats.add_ns_total += vg_mono_ns() - t0;
    pthread_mutex_unlock(&inc->mu);
    free(p);
    free(c.touched);
    inc_ihash_free(&c.works);
    vg_map_free(&ev);
    vg_buf_free(&c.j);
    vg_arena_free(&c.a);
    return e;
}
