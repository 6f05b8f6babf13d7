/*
 * inc_int.h - private to src/incident: the vg_inc handle both halves share.
 *
 * inc_engine.c owns opening/closing and the correlation state (engine);
 * inc_api.c, inc_odata.c and inc_json.c read and change rows through the same
 * connection. Every public function takes mu for its whole transaction, so
 * the engine's in-memory index never disagrees with the tables.
 */
#ifndef INC_INT_H
#define INC_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "vg_incident.h"

struct inc_engine;   /* inc_engine.c: entity index, cached suppression rules, statements */

struct vg_inc {
    sqlite3 *db;
    pthread_mutex_t mu;
    vg_inc_opts o;
    struct inc_engine *eng;
    vg_inc_stats stats;
};

/* Called (with mu held) by the API half after it changes suppression rules,
 * or an incident's status/assignee/classification, so the engine refreshes
 * what it caches. Implemented in inc_engine.c. */
void inc_engine_suppressions_changed(vg_inc *inc);
void inc_engine_incident_changed(vg_inc *inc, int64_t incident_id);

/* Writes one audit row in the caller's transaction (inc_engine.c). */
vg_err inc_audit(vg_inc *inc, const vg_inc_actor *who, const char *action,
                 const char *object_type, const char *object_id, const char *detail_json,
                 vg_diag *d);

#endif
