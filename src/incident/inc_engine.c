/*
 * inc_engine.c - the incident correlation engine: opening the state, the
 * in-memory entity index, suppression rules, the audit log. vg_inc_add
 * itself (correlation, merges, aggregates) is in inc_engine_add.c; what an
 * alert's rows say (entities, evidence) in inc_entity.c.
 *
 * Design of the correlation
 * -------------------------
 * Keys. Each alert's AlertEvidence rows give strong entities, normalised to
 * lower case, as (kind, value): device (DeviceId and DeviceName, each a key:
 * identity telemetry names a device that endpoint telemetry also gives an
 * id), account (AccountObjectId, AccountSid, AccountUpn and DOMAIN\name,
 * each form present a key; SYSTEM, LOCAL SERVICE, NETWORK SERVICE, S-1-5-18/19/20 and NT
 * AUTHORITY\* are not), file (SHA256, SHA1 of File evidence; a process
 * image's hash is not a key, or every PowerShell alert would meet), ip
 * (RemoteIP when public: not RFC 1918, loopback, link-local, CGNAT,
 * 0.0.0.0/8, multicast, reserved/broadcast, ::1, fe80::/10, fc00::/7,
 * ff00::/8; canonical text), url (RemoteUrl) and domain (its host, or a bare
 * domain), mailbox (the recipient address; also an account key, as the
 * owner's UPN, so mail alerts meet the user's other alerts), mailmessage (NetworkMessageId),
 * process (device | pid | creation time, from the evidence event kept in
 * AdditionalFields). At most VG_INC_MAX_ENTITIES_PER_ALERT per alert. File
 * names, paths and command lines are weak: they are shown in the alert's
 * evidence, never used as keys.
 *
 * Common artifacts (inc_prevalence.c). A file, ip, url or domain key seen
 * in the alerts of more than max_key_devices devices is not used to find
 * candidates: a DLL every device loads must not glue every device together.
 *
 * Window. An open incident (active or inProgress) is a candidate for an
 * alert when it holds one of the alert's keys and either that key or the
 * incident was last seen no more than window_ms (default 24 h) before the
 * alert's Timestamp. Resolved and redirected incidents are never candidates.
 * The index (key -> incidents holding it, with last seen) lives in memory,
 * loaded at open from incident_entities of open incidents and kept current
 * on every change, so a lookup never scans a table.
 *
 * Joining and merging. Candidates are ranked by alert count (then the
 * oldest). The target is the first that can take the alert without passing
 * max_entities (default 200) distinct keys (process and mail-message keys,
 * one per event, do not count: inc_kind_counted); a candidate that cannot is left
 * alone and counted as not_merged. The other candidates merge into the
 * target unless both have different non-empty assignees, different
 * classifications or determinations, or the union would pass max_entities
 * (again not_merged). A merge moves the source's alerts and entities to the
 * target; the source becomes status redirected with redirect_id = target,
 * system tag "Redirected" and alert_count 0; both versions go up; an audit row
 * 'incident.merge' {"source","target","alerts"} is written. No candidate, or
 * none that can take the alert: a new incident (status active,
 * classification unknown, audit 'incident.create'). The entity limit is what
 * stops shared infrastructure (a domain controller, a mail gateway) from
 * gluing everything into one incident: once an incident is full, the next
 * alert on the shared device starts a new one.
 *
 * Naming (unless renamed by a user). One alert: its title plus the scope
 * ("... on one endpoint", "... on 3 endpoints", else "... involving one
 * user" / "N users", else mailboxes). Several of one tactic: "Discovery
 * incident on one endpoint". Several tactics: "Multi-stage incident
 * involving Execution & Credential access on 3 endpoints" - the first two
 * tactics in ATT&CK kill-chain order in Defender's spelling. Plus
 * " reported by multiple sources" when more than one serviceSource
 * contributed. Severity is the highest of its alerts' unless set by a user.
 *
 * Suppression. Enabled rules (table suppressions) whose rule_id is the
 * alert's RuleId or '*' and whose every condition {"kind","value"} matches
 * one of the alert's entities (value or display, case-insensitive, '*'
 * wildcards; kind "user" means account) suppress it: the alert is stored
 * resolved, suppressed_by = the rule, incident_id = 0 (it belongs to no
 * incident and touches no incident), and the rule's hits go up (hits is a
 * counter, not an edit: the rule's version is unchanged). Rules are cached
 * and reloaded after inc_engine_suppressions_changed.
 *
 * Every vg_inc_add is one transaction under inc->mu; when it fails, it is
 * rolled back and the index is rebuilt from the tables.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/vg_json.h"
#include "../core/vg_time.h"
#include "../state/vg_state.h"
#include "inc_engine_int.h"

static const char *const sql[ST_COUNT_] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_HAS_ALERT] = "SELECT 1 FROM alerts WHERE id=?1",
    [ST_INS_ALERT] =
        "INSERT INTO alerts(id, incident_id, title, category, severity, status, service_source,"
        " detection_source, detector_id, tactics, techniques, evidence, suppressed_by,"
        " first_activity, last_activity, created, updated, resolved)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?14,?15,?15,?16)",
    [ST_INS_ALERT_ENT] = "INSERT OR IGNORE INTO alert_entities(alert_id, kind, value, display, roles)"
                         " VALUES(?1,?2,?3,?4,?5)",
    [ST_INS_INC] = "INSERT INTO incidents(display_name, severity, first_activity, last_activity,"
                   " created, updated) VALUES(?1,?2,?3,?3,?4,?4)",
    [ST_GET_INC] =
        "SELECT display_name, name_manual, status, severity, severity_manual, classification,"
        " determination, assigned_to, system_tags, tactics, techniques, devices, users, mailboxes,"
        " sources, alert_count, entity_count, first_activity, last_activity, created"
        " FROM incidents WHERE id=?1",
    [ST_UPD_INC] =
        "UPDATE incidents SET display_name=?2, status=?3, severity=?4, redirect_id=?5,"
        " system_tags=?6, tactics=?7, techniques=?8, devices=?9, users=?10, mailboxes=?11,"
        " sources=?12, alert_count=?13, entity_count=?14, first_activity=?15,"
        " last_activity=?16, updated=?17, version=version+?18 WHERE id=?1",
    [ST_INC_STATUS] = "SELECT status, last_activity FROM incidents WHERE id=?1",
    [ST_UPSERT_ENT] = "INSERT INTO incident_entities(incident_id, kind, value, display, last_seen)"
                      " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(incident_id, kind, value)"
                      " DO UPDATE SET last_seen=max(last_seen, excluded.last_seen)",
    [ST_ENTS_OF] = "SELECT kind, value, display, last_seen FROM incident_entities"
                   " WHERE incident_id=?1",
    [ST_MOVE_ALERTS] = "UPDATE alerts SET incident_id=?2, updated=?3, version=version+1"
                       " WHERE incident_id=?1",
    [ST_SUPP_LOAD] = "SELECT id, rule_id, conditions FROM suppressions WHERE enabled=1 ORDER BY id",
    [ST_SUPP_HIT] = "UPDATE suppressions SET hits=hits+1 WHERE id=?1",
    [ST_AUDIT] = "INSERT INTO audit(time, actor_id, actor, role, action, object_type, object_id,"
                 " remote, detail) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [ST_LOAD_OPEN] = "SELECT id, last_activity FROM incidents"
                     " WHERE status IN ('active','inProgress')",
    [ST_LOAD_ENTS] = "SELECT e.incident_id, e.kind, e.value, e.last_seen FROM incident_entities e"
                     " JOIN incidents i ON i.id=e.incident_id"
                     " WHERE i.status IN ('active','inProgress')",
};

sqlite3_stmt *inc_st(vg_inc *inc, enum inc_stmt i)
{
    sqlite3_stmt *s = inc->eng->st[i];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

vg_err inc_db_err(vg_inc *inc, const char *what, vg_diag *d)
{
    return vg_diag_set(d, VG_EIO, "state.db: %s: %s", what, sqlite3_errmsg(inc->db));
}

vg_err inc_step_done(vg_inc *inc, sqlite3_stmt *s, const char *what, vg_diag *d)
{
    int rc = sqlite3_step(s);
    vg_err e = rc == SQLITE_DONE ? VG_OK : inc_db_err(inc, what, d);
    sqlite3_reset(s);
    return e;
}

/* ---- int64 hash ---- */

static size_t ih_pos(const inc_ihash *h, int64_t k)
{
    uint64_t x = (uint64_t)k * 0x9e3779b97f4a7c15ull;
    return (size_t)(x ^ (x >> 29)) & (h->cap - 1);
}

void *inc_ihash_get(const inc_ihash *h, int64_t k)
{
    if (!h->cap)
        return NULL;
    for (size_t i = ih_pos(h, k);; i = (i + 1) & (h->cap - 1)) {
        if (h->keys[i] == k)
            return h->vals[i];
        if (h->keys[i] == 0)
            return NULL;
    }
}

vg_err inc_ihash_put(inc_ihash *h, int64_t k, void *v)
{
    if ((h->len + 1) * 2 > h->cap) {
        inc_ihash n = { .cap = h->cap ? h->cap * 2 : 64 };
        n.keys = calloc(n.cap, sizeof *n.keys);
        n.vals = calloc(n.cap, sizeof *n.vals);
        if (!n.keys || !n.vals) {
            free(n.keys);
            free(n.vals);
            return VG_ENOMEM;
        }
        for (size_t i = 0; i < h->cap; i++)
            if (h->keys[i]) {
                size_t p = ih_pos(&n, h->keys[i]);
                while (n.keys[p])
                    p = (p + 1) & (n.cap - 1);
                n.keys[p] = h->keys[i];
                n.vals[p] = h->vals[i];
            }
        n.len = h->len;
        inc_ihash_free(h);
        *h = n;
    }
    size_t i = ih_pos(h, k);
    while (h->keys[i] && h->keys[i] != k)
        i = (i + 1) & (h->cap - 1);
    if (!h->keys[i])
        h->len++;
    h->keys[i] = k;
    h->vals[i] = v;
    return VG_OK;
}

void inc_ihash_free(inc_ihash *h)
{
    free(h->keys);
    free(h->vals);
    memset(h, 0, sizeof *h);
}

/* ---- the index ---- */

/* "kind:value" into buf; the kind never holds ':' so keys cannot collide. */
static vg_str idx_key(char *buf, size_t cap, inc_kind k, vg_str value, bool *fits)
{
    const char *kn = inc_kind_name(k);
    size_t kl = strlen(kn);
    *fits = kl + 1 + value.n <= cap;
    if (!*fits)
        return VG_STR_NULL;
    memcpy(buf, kn, kl);
    buf[kl] = ':';
    memcpy(buf + kl + 1, value.p, value.n);
    return vg_str_make(buf, kl + 1 + value.n);
}

#define IDX_KEY_STACK 512

inc_slot *inc_idx_get(vg_inc *inc, inc_kind k, vg_str value)
{
    char stack[IDX_KEY_STACK];
    bool fits;
    vg_str key = idx_key(stack, sizeof stack, k, value, &fits);
    char *heap = NULL;
    if (!fits) {
        heap = malloc(strlen(inc_kind_name(k)) + 1 + value.n);
        if (!heap)
            return NULL;
        key = idx_key(heap, strlen(inc_kind_name(k)) + 1 + value.n, k, value, &fits);
    }
    inc_slot *s = vg_map_get(&inc->eng->idx, key, NULL);
    free(heap);
    return s;
}

bool inc_idx_holds(vg_inc *inc, inc_kind k, vg_str value, int64_t id)
{
    inc_slot *s = inc_idx_get(inc, k, value);
    for (uint32_t i = 0; s && i < s->n; i++)
        if (s->v[i].id == id)
            return true;
    return false;
}

vg_err inc_idx_touch(vg_inc *inc, inc_kind k, vg_str value, int64_t id, int64_t seen, bool *added)
{
    struct inc_engine *g = inc->eng;
    *added = false;
    inc_slot *s = inc_idx_get(inc, k, value);
    if (!s) {
        size_t kl = strlen(inc_kind_name(k)) + 1 + value.n;
        char *kb = vg_arena_alloc(&g->idx_arena, kl);
        s = vg_arena_zalloc(&g->idx_arena, sizeof *s);
        if (!kb || !s)
            return VG_ENOMEM;
        bool fits;
        vg_str key = idx_key(kb, kl, k, value, &fits);
        s->v = &s->one;
        s->cap = 1;
        vg_err e = vg_map_put(&g->idx, key, s);
        if (e)
            return e;
    }
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i].id == id) {
            if (seen > s->v[i].last_seen)
                s->v[i].last_seen = seen;
            return VG_OK;
        }
    if (s->n == s->cap) {
        uint32_t nc = s->cap * 2;
        inc_ref *nv = malloc(nc * sizeof *nv);
        if (!nv)
            return VG_ENOMEM;
        memcpy(nv, s->v, s->n * sizeof *nv);
        if (s->v != &s->one)
            free(s->v);
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = (inc_ref){ id, seen };
    *added = true;
    return VG_OK;
}

inc_mem *inc_mem_get(vg_inc *inc, int64_t id) { return inc_ihash_get(&inc->eng->mem, id); }

vg_err inc_mem_set(vg_inc *inc, int64_t id, bool open, int64_t last_activity, inc_mem **out)
{
    struct inc_engine *g = inc->eng;
    inc_mem *m = inc_ihash_get(&g->mem, id);
    if (!m) {
        if (!(m = vg_arena_zalloc(&g->idx_arena, sizeof *m)))
            return VG_ENOMEM;
        m->id = id;
        vg_err e = inc_ihash_put(&g->mem, id, m);
        if (e)
            return e;
    }
    if (open && !m->open)
        g->nopen++;
    else if (!open && m->open)
        g->nopen--;
    m->open = open;
    if (last_activity > m->last_activity)
        m->last_activity = last_activity;
    if (out)
        *out = m;
    return VG_OK;
}

static void idx_free(struct inc_engine *g)
{
    size_t pos = 0;
    vg_str k;
    void *v;
    while (vg_map_next(&g->idx, &pos, &k, &v)) {
        inc_slot *s = v;
        if (s->v != &s->one)
            free(s->v);
    }
    vg_map_free(&g->idx);
    inc_ihash_free(&g->mem);
    vg_arena_free(&g->idx_arena);
    g->nopen = 0;
}

static bool kind_of(const unsigned char *t, inc_kind *k)
{
    return t && inc_kind_parse(vg_str_c((const char *)t), k);
}

/* Adds the keys of one incident (or, id 0, of every open one) from the table. */
static vg_err idx_load_ents(vg_inc *inc, int64_t id, vg_diag *d)
{
    sqlite3_stmt *s = id ? inc_st(inc, ST_ENTS_OF) : inc_st(inc, ST_LOAD_ENTS);
    if (id)
        sqlite3_bind_int64(s, 1, id);
    int c0 = id ? -1 : 0, rc;
    vg_err e = VG_OK;
    while (!e && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        inc_kind k;
        if (!kind_of(sqlite3_column_text(s, c0 + 1), &k))
            continue;   /* a kind this build does not know: not a key */
        const char *v = (const char *)sqlite3_column_text(s, c0 + 2);
        vg_str value = vg_str_make(v ? v : "", (size_t)sqlite3_column_bytes(s, c0 + 2));
        int64_t seen = sqlite3_column_int64(s, 3);
        bool added;
        e = inc_idx_touch(inc, k, value, id ? id : sqlite3_column_int64(s, 0), seen, &added);
        if (e)
            vg_diag_set(d, e, "incident index: out of memory");
    }
    if (!e && rc != SQLITE_DONE)
        e = inc_db_err(inc, "loading incident entities", d);
    sqlite3_reset(s);
    return e;
}

vg_err inc_idx_reload(vg_inc *inc, vg_diag *d)
{
    struct inc_engine *g = inc->eng;
    idx_free(g);
    vg_map_init(&g->idx, false);
    vg_arena_init(&g->idx_arena, 1u << 20, 0);
    sqlite3_stmt *s = inc_st(inc, ST_LOAD_OPEN);
    int rc;
    vg_err e = VG_OK;
    while (!e && (rc = sqlite3_step(s)) == SQLITE_ROW)
        e = inc_mem_set(inc, sqlite3_column_int64(s, 0), true, sqlite3_column_int64(s, 1), NULL);
    if (e)
        vg_diag_set(d, e, "incident index: out of memory");
    else if (rc != SQLITE_DONE)
        e = inc_db_err(inc, "loading open incidents", d);
    sqlite3_reset(s);
    return e ? e : idx_load_ents(inc, 0, d);
}

/* ---- suppression rules ---- */

static vg_err rules_load(vg_inc *inc, vg_diag *d)
{
    struct inc_engine *g = inc->eng;
    vg_arena_reset(&g->rules_arena);
    free(g->rules);
    g->rules = NULL;
    g->nrules = 0;
    uint32_t cap = 0;
    sqlite3_stmt *s = inc_st(inc, ST_SUPP_LOAD);
    int rc;
    vg_err e = VG_OK;
    while (!e && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((e = vg_array_grow((void **)&g->rules, &cap, g->nrules + 1, sizeof *g->rules)))
            break;
        inc_rule *r = &g->rules[g->nrules++];
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(s, 0);
        r->valid = true;
        const char *rid = (const char *)sqlite3_column_text(s, 1);
        r->rule_id = vg_str_dup(&g->rules_arena, vg_str_c(rid ? rid : "*"));
        const char *ct = (const char *)sqlite3_column_text(s, 2);
        vg_json *j = NULL;
        if (!ct || vg_json_parse(&g->rules_arena, vg_str_c(ct), &j, NULL) != VG_OK ||
            j->kind != VG_JSON_ARRAY || j->n > INC_MAX_CONDITIONS) {
            r->valid = false;   /* unreadable conditions: the rule matches nothing */
            continue;
        }
        for (uint32_t i = 0; i < j->n; i++) {
            const vg_json *kn = vg_json_get(j->kids[i], "kind");
            const vg_json *vv = vg_json_get(j->kids[i], "value");
            inc_cond *c = &r->cond[r->ncond];
            if (!kn || !vv || !inc_kind_parse(vg_json_text(kn), &c->kind)) {
                r->valid = false;
                break;
            }
            c->pat = vg_str_lower(&g->rules_arena, vg_str_trim(vg_json_text(vv)));
            r->ncond++;
        }
    }
    if (!e && rc != SQLITE_DONE)
        e = inc_db_err(inc, "loading suppression rules", d);
    else if (e)
        vg_diag_set(d, e, "suppression rules: out of memory");
    sqlite3_reset(s);
    if (!e)
        g->rules_stale = false;
    return e;
}

static bool cond_holds(const inc_cond *c, const inc_alert *al, vg_arena *a)
{
    for (uint32_t i = 0; i < al->nents; i++) {
        const inc_entity *en = &al->ents[i];
        if (en->kind != c->kind)
            continue;
        if (vg_str_wild_match(c->pat, en->value) ||
            vg_str_wild_match(c->pat, vg_str_lower(a, en->display)))
            return true;
    }
    return false;
}

vg_err inc_rules_match(vg_inc *inc, const inc_alert *al, vg_arena *a, int64_t *rule, vg_diag *d)
{
    struct inc_engine *g = inc->eng;
    *rule = 0;
    if (g->rules_stale) {
        vg_err e = rules_load(inc, d);
        if (e)
            return e;
    }
    for (uint32_t i = 0; i < g->nrules; i++) {
        const inc_rule *r = &g->rules[i];
        if (!r->valid)
            continue;
        if (!vg_str_eqc(r->rule_id, "*") && !(al->rule_id.p && vg_str_eq_ci(r->rule_id, al->rule_id)))
            continue;
        bool all = true;
        for (uint32_t c = 0; c < r->ncond && all; c++)
            all = cond_holds(&r->cond[c], al, a);
        if (all) {
            *rule = r->id;
            return VG_OK;
        }
    }
    return VG_OK;
}

void inc_engine_suppressions_changed(vg_inc *inc) { inc->eng->rules_stale = true; }

/* The API changed an incident's status (or assignee, classification): the
 * index follows its status; the rest is read from the row when needed. */
void inc_engine_incident_changed(vg_inc *inc, int64_t incident_id)
{
    sqlite3_stmt *s = inc_st(inc, ST_INC_STATUS);
    sqlite3_bind_int64(s, 1, incident_id);
    bool open = false;
    int64_t last = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *st = (const char *)sqlite3_column_text(s, 0);
        open = st && (!strcmp(st, "active") || !strcmp(st, "inProgress"));
        last = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    inc_mem *m = inc_mem_get(inc, incident_id);
    bool was = m && m->open;
    if (inc_mem_set(inc, incident_id, open, last, NULL) != VG_OK ||
        (open && !was && idx_load_ents(inc, incident_id, NULL) != VG_OK))
        inc_idx_reload(inc, NULL);   /* out of memory: start over from the tables */
}

/* ---- audit ---- */

vg_err inc_audit(vg_inc *inc, const vg_inc_actor *who, const char *action,
                 const char *object_type, const char *object_id, const char *detail_json,
                 vg_diag *d)
{
    sqlite3_stmt *s = inc_st(inc, ST_AUDIT);
    sqlite3_bind_int64(s, 1, vg_state_now_ms());
    if (who && who->id >= 0)
        sqlite3_bind_int64(s, 2, who->id);
    sqlite3_bind_text(s, 3, who && who->name ? who->name : "vigil-correlation", -1, SQLITE_STATIC);
    if (who && who->role)
        sqlite3_bind_text(s, 4, who->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, action, -1, SQLITE_STATIC);
    if (object_type)
        sqlite3_bind_text(s, 6, object_type, -1, SQLITE_STATIC);
    if (object_id)
        sqlite3_bind_text(s, 7, object_id, -1, SQLITE_STATIC);
    if (who && who->remote)
        sqlite3_bind_text(s, 8, who->remote, -1, SQLITE_STATIC);
    if (detail_json)
        sqlite3_bind_text(s, 9, detail_json, -1, SQLITE_STATIC);
    return inc_step_done(inc, s, "writing the audit log", d);
}

/* ---- open, close, stats ---- */

#define INC_DEFAULT_WINDOW_MS (24LL * 3600 * 1000)
#define INC_DEFAULT_MAX_ENTITIES 200
#define INC_CACHE_KIB "131072"   /* SQLite page cache of the connection: 128 MiB */

vg_err vg_inc_open(const char *dir, const vg_inc_opts *o, vg_inc **out, vg_diag *d)
{
    *out = NULL;
    vg_inc *inc = calloc(1, sizeof *inc);
    struct inc_engine *g = calloc(1, sizeof *g);
    if (!inc || !g) {
        free(inc);
        free(g);
        return vg_diag_set(d, VG_ENOMEM, "incidents: out of memory");
    }
    inc->eng = g;
    if (o)
        inc->o = *o;
    if (inc->o.window_ms <= 0)
        inc->o.window_ms = INC_DEFAULT_WINDOW_MS;
    if (inc->o.max_entities == 0)
        inc->o.max_entities = INC_DEFAULT_MAX_ENTITIES;
    pthread_mutex_init(&inc->mu, NULL);
    vg_map_init(&g->idx, false);
    vg_arena_init(&g->idx_arena, 1u << 20, 0);
    vg_arena_init(&g->rules_arena, 0, 0);
    vg_map_init(&g->prev, false);
    vg_arena_init(&g->prev_arena, 1u << 20, 0);
    g->rules_stale = true;
    vg_err e = vg_state_open(dir, &inc->db, d);
    /* the engine's working set (incidents, their entities, the alerts'
     * primary key) stays in this connection's page cache */
    if (!e && sqlite3_exec(inc->db, "PRAGMA cache_size=-" INC_CACHE_KIB, NULL, NULL, NULL) !=
        SQLITE_OK)
        e = inc_db_err(inc, "setting the cache size", d);
    for (int i = 0; !e && i < ST_COUNT_; i++)
        if (sqlite3_prepare_v3(inc->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &g->st[i], NULL) !=
            SQLITE_OK)
            e = vg_diag_set(d, VG_EIO, "state.db: preparing statement %d: %s", i,
                            sqlite3_errmsg(inc->db));
    if (!e)
        e = inc_idx_reload(inc, d);
    if (!e)
        e = inc_prev_load(inc, vg_state_now_ms() - inc->o.window_ms, d);
    /* checkpoints off the committing path: see vg_state.h */
    if (!e)
        e = vg_state_ckpt_start(dir, &g->ckpt, d);
    if (e) {
        vg_inc_close(inc);
        return e;
    }
    *out = inc;
    return VG_OK;
}

void vg_inc_close(vg_inc *inc)
{
    if (!inc)
        return;
    struct inc_engine *g = inc->eng;
    if (g) {
        vg_state_ckpt_stop(g->ckpt);
        inc_prev_free(inc);
        for (int i = 0; i < ST_COUNT_; i++)
            sqlite3_finalize(g->st[i]);
        idx_free(g);
        free(g->rules);
        vg_arena_free(&g->rules_arena);
        free(g);
    }
    sqlite3_close(inc->db);
    pthread_mutex_destroy(&inc->mu);
    free(inc);
}

bool vg_inc_has_alert(vg_inc *inc, vg_str alert_id)
{
    pthread_mutex_lock(&inc->mu);
    sqlite3_stmt *s = inc_st(inc, ST_HAS_ALERT);
    sqlite3_bind_text(s, 1, alert_id.p ? alert_id.p : "", (int)alert_id.n, SQLITE_STATIC);
    bool has = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_reset(s);
    pthread_mutex_unlock(&inc->mu);
    return has;
}

void vg_inc_get_stats(vg_inc *inc, vg_inc_stats *out)
{
    pthread_mutex_lock(&inc->mu);
    *out = inc->stats;
    out->incidents_open = inc->eng->nopen;
    pthread_mutex_unlock(&inc->mu);
}
