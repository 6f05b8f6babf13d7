/*
 * inc_engine_int.h - private to the engine half (inc_engine.c,
 * inc_engine_add.c): the engine's state behind vg_inc->eng.
 *
 * Ownership: everything here belongs to the vg_inc and is touched only with
 * inc->mu held. The entity index and the open-incident table mirror the
 * tables (incident_entities of open incidents, incidents' status); every
 * change to those tables made by the engine updates them in the same call,
 * and a failed transaction rebuilds them from the tables (inc_idx_reload).
 */
#ifndef INC_ENGINE_INT_H
#define INC_ENGINE_INT_H

#include "../core/vg_map.h"
#include "../state/vg_state.h"
#include "inc_int.h"

#define INC_MAX_CANDIDATES 64  /* open incidents one alert is compared against */
#define INC_MAX_CONDITIONS 16  /* conditions of one suppression rule */
#define INC_MAX_SOURCES 16     /* distinct serviceSource values kept per incident */

/* An int64 -> pointer hash (linear probing; key 0 is "empty": ids start at 1). */
typedef struct inc_ihash {
    int64_t *keys;
    void **vals;
    size_t cap, len;
} inc_ihash;

void *inc_ihash_get(const inc_ihash *h, int64_t k);
vg_err inc_ihash_put(inc_ihash *h, int64_t k, void *v);
void inc_ihash_free(inc_ihash *h);

/* One incident holding an entity key, and when it last saw it. */
typedef struct inc_ref {
    int64_t id;
    int64_t last_seen;
} inc_ref;

/* The incidents holding one key ("kind:value"). v is &one while cap is 1. */
typedef struct inc_slot {
    uint32_t n, cap;
    inc_ref *v;
    inc_ref one;
} inc_slot;

/* What the engine remembers of each incident it has seen open. */
typedef struct inc_mem {
    int64_t id;
    int64_t last_activity;
    bool open;                 /* active or inProgress */
} inc_mem;

typedef struct inc_cond {
    inc_kind kind;
    vg_str pat;                /* lower case; '*' wildcards */
} inc_cond;

typedef struct inc_rule {
    int64_t id;
    vg_str rule_id;            /* detector id or "*" */
    inc_cond cond[INC_MAX_CONDITIONS];
    uint32_t ncond;
    bool valid;                /* false: a condition names an unknown kind (never matches) */
} inc_rule;

enum inc_stmt {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
    ST_HAS_ALERT, ST_INS_ALERT, ST_INS_ALERT_ENT,
    ST_INS_INC, ST_GET_INC, ST_UPD_INC, ST_INC_STATUS,
    ST_UPSERT_ENT, ST_ENTS_OF, ST_MOVE_ALERTS,
    ST_SUPP_LOAD, ST_SUPP_HIT, ST_AUDIT,
    ST_LOAD_OPEN, ST_LOAD_ENTS,
    ST_COUNT_
};

struct inc_engine {
    sqlite3_stmt *st[ST_COUNT_];
    vg_map idx;                /* "kind:value" -> inc_slot* (keys and slots in idx_arena) */
    vg_arena idx_arena;
    inc_ihash mem;             /* incident id -> inc_mem* (idx_arena) */
    uint64_t nopen;
    inc_rule *rules;
    uint32_t nrules;
    vg_arena rules_arena;
    bool rules_stale;
    vg_state_ckpt *ckpt;       /* state.db's checkpoint thread */
    vg_map prev;               /* artifact key -> devices it was seen on (inc_prevalence.c) */
    vg_arena prev_arena;
    uint32_t nprev;
};

/* Statement i, reset and unbound, ready to bind. */
sqlite3_stmt *inc_st(vg_inc *inc, enum inc_stmt i);
/* A step that must finish (SQLITE_DONE): VG_EIO with the SQLite message. */
vg_err inc_step_done(vg_inc *inc, sqlite3_stmt *s, const char *what, vg_diag *d);
vg_err inc_db_err(vg_inc *inc, const char *what, vg_diag *d);

/* The index (inc_engine.c). */
inc_slot *inc_idx_get(vg_inc *inc, inc_kind k, vg_str value);
/* Adds or refreshes (last_seen = max) incident id under the key; *added
 * tells whether the incident did not hold it yet. */
vg_err inc_idx_touch(vg_inc *inc, inc_kind k, vg_str value, int64_t id, int64_t seen, bool *added);
bool inc_idx_holds(vg_inc *inc, inc_kind k, vg_str value, int64_t id);
inc_mem *inc_mem_get(vg_inc *inc, int64_t id);
/* Marks an incident open (creating its record) or closed; keeps nopen. */
vg_err inc_mem_set(vg_inc *inc, int64_t id, bool open, int64_t last_activity, inc_mem **out);
vg_err inc_idx_reload(vg_inc *inc, vg_diag *d);

/* Artifact prevalence (inc_prevalence.c): artifacts (file, ip, url,
 * domain) seen on more than o.max_key_devices devices are not correlation
 * keys. */
void inc_prev_note(vg_inc *inc, const inc_alert *al);
bool inc_prev_common(vg_inc *inc, const inc_entity *en);
vg_err inc_prev_load(vg_inc *inc, int64_t since_ms, vg_diag *d);
void inc_prev_free(vg_inc *inc);

/* Suppression rules (inc_engine.c): the matching rule's id, or 0. */
vg_err inc_rules_match(vg_inc *inc, const inc_alert *al, vg_arena *a, int64_t *rule, vg_diag *d);

#endif
