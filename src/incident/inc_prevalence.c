/*
 * inc_prevalence.c - artifacts common across devices stop gluing incidents.
 *
 * A file hash, address, URL or domain seen in the alerts of many devices is
 * almost never the thread of one attack: it is a DLL every Office install
 * loads, the update server, the intranet portal - and one noisy rule on it
 * would put every device into one incident. The engine keeps, for each such
 * artifact key, the distinct devices it appeared with in alerts (up to
 * max_key_devices + 1 of them); once an artifact has been seen on more than
 * max_key_devices devices it is "common" and no longer a correlation key.
 * The alert still records it (evidence, alert_entities, incident_entities),
 * so hunting and the incident graph still show it.
 *
 * Devices, accounts and mailboxes are never common: the entity limit
 * (max_entities) bounds what identities can glue. Counts grow while vigild
 * runs and are rebuilt at open from the alerts of the last window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/vg_map.h"
#include "inc_engine_int.h"

#define PREV_MAX_DEVICES 64           /* devices remembered per key (max_key_devices <= this) */
#define PREV_MAX_KEYS 1000000         /* artifact keys tracked; past this, new ones are not */

typedef struct prev {
    uint32_t n;                       /* distinct devices seen (capped at limit + 1) */
    uint64_t dev[];                   /* their hashes */
} prev;

static bool artifact(inc_kind k)
{
    return k == INC_K_FILE || k == INC_K_IP || k == INC_K_URL || k == INC_K_DOMAIN;
}

static vg_str key_of(char *buf, size_t cap, inc_kind k, vg_str v)
{
    int n = snprintf(buf, cap, "%d:%.*s", (int)k, (int)(v.n < cap - 16 ? v.n : cap - 16), v.p);
    return vg_str_make(buf, n > 0 ? (size_t)n : 0);
}

static uint32_t limit(const vg_inc *inc)
{
    uint32_t l = inc->o.max_key_devices;
    return l > PREV_MAX_DEVICES - 1 ? PREV_MAX_DEVICES - 1 : l;
}

/* The device of an alert: the hash of its smallest device key (a device is
 * keyed by id and by name; the smallest is the same choice the load at open
 * makes, by its ORDER BY); 0: none. */
static uint64_t device_of(const inc_alert *al)
{
    const vg_str *best = NULL;
    for (uint32_t i = 0; i < al->nents; i++) {
        const vg_str *v = &al->ents[i].value;
        if (al->ents[i].kind != INC_K_DEVICE)
            continue;
        if (!best) {
            best = v;
            continue;
        }
        size_t n = v->n < best->n ? v->n : best->n;
        int c = memcmp(v->p, best->p, n);
        if (c < 0 || (c == 0 && v->n < best->n))
            best = v;
    }
    return best ? vg_hash(best->p, best->n) | 1 : 0;
}

static void note(vg_inc *inc, inc_kind k, vg_str value, uint64_t dev)
{
    struct inc_engine *g = inc->eng;
    char buf[512];
    vg_str key = key_of(buf, sizeof buf, k, value);
    bool found;
    prev *p = vg_map_get(&g->prev, key, &found);
    uint32_t lim = limit(inc);
    if (!p) {
        if (g->nprev >= PREV_MAX_KEYS)
            return;
        p = vg_arena_alloc(&g->prev_arena, sizeof *p + (lim + 1) * sizeof p->dev[0]);
        if (!p || vg_map_put(&g->prev, vg_str_dup(&g->prev_arena, key), p))
            return;   /* out of memory: the key simply stays a correlation key */
        p->n = 0;
        g->nprev++;
    }
    if (p->n > lim)
        return;       /* common already */
    for (uint32_t i = 0; i < p->n; i++)
        if (p->dev[i] == dev)
            return;
    p->dev[p->n++] = dev;
}

void inc_prev_note(vg_inc *inc, const inc_alert *al)
{
    if (!inc->o.max_key_devices)
        return;
    uint64_t dev = device_of(al);
    if (!dev)
        return;
    for (uint32_t i = 0; i < al->nents; i++)
        if (artifact(al->ents[i].kind))
            note(inc, al->ents[i].kind, al->ents[i].value, dev);
}

bool inc_prev_common(vg_inc *inc, const inc_entity *en)
{
    if (!inc->o.max_key_devices || !artifact(en->kind))
        return false;
    char buf[512];
    bool found;
    prev *p = vg_map_get(&inc->eng->prev, key_of(buf, sizeof buf, en->kind, en->value), &found);
    return p && p->n > limit(inc);
}

void inc_prev_free(vg_inc *inc)
{
    struct inc_engine *g = inc->eng;
    vg_map_free(&g->prev);
    vg_arena_free(&g->prev_arena);
    g->nprev = 0;
}

/* Fills the (empty, initialised) map from the alerts of state.db. */
vg_err inc_prev_load(vg_inc *inc, int64_t since_ms, vg_diag *d)
{
    if (!inc->o.max_key_devices)
        return VG_OK;
    /* each alert of the window: its first device, then its artifacts */
    static const char sql[] =
        "SELECT e.alert_id, e.kind, e.value FROM alerts a JOIN alert_entities e ON e.alert_id = a.id"
        " WHERE a.last_activity >= ?1 AND a.incident_id != 0"
        " AND e.kind IN ('device','file','ip','url','domain')"
        " ORDER BY e.alert_id, e.kind = 'device' DESC, e.value";
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(inc->db, sql, -1, &s, NULL) != SQLITE_OK)
        return inc_db_err(inc, "loading artifact prevalence", d);
    sqlite3_bind_int64(s, 1, since_ms);
    char cur[256] = "";
    uint64_t dev = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *aid = (const char *)sqlite3_column_text(s, 0);
        const char *kind = (const char *)sqlite3_column_text(s, 1);
        const unsigned char *val = sqlite3_column_text(s, 2);
        int vn = sqlite3_column_bytes(s, 2);
        if (!aid || !kind || !val)
            continue;
        if (strncmp(cur, aid, sizeof cur - 1) != 0) {
            snprintf(cur, sizeof cur, "%s", aid);
            dev = 0;
        }
        inc_kind k;
        if (!inc_kind_parse(vg_str_c(kind), &k))
            continue;
        vg_str v = vg_str_make((const char *)val, (size_t)vn);
        if (k == INC_K_DEVICE) {
            if (!dev)
                dev = vg_hash(v.p, v.n) | 1;
        } else if (dev) {
            note(inc, k, v, dev);
        }
    }
    vg_err e = rc == SQLITE_DONE ? VG_OK : inc_db_err(inc, "loading artifact prevalence", d);
    sqlite3_finalize(s);
    return e;
}
