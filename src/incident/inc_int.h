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

/* ---- engine internals (inc_engine*.c, inc_entity.c); the API half need not
 * use them ---- */

/* Kinds of strong entities: the correlation keys (incident_entities.kind). */
typedef enum inc_kind {
    INC_K_DEVICE,
    INC_K_ACCOUNT,
    INC_K_FILE,
    INC_K_IP,
    INC_K_URL,
    INC_K_DOMAIN,
    INC_K_MAILBOX,
    INC_K_MAILMESSAGE,
    INC_K_PROCESS,
    INC_K_COUNT_
} inc_kind;

/* Whether keys of kind k count toward an incident's entity limit: processes
 * and mail messages are one per event, so they would fill an incident with
 * keys no other incident can share; the limit is about shared
 * infrastructure (devices, accounts, files, addresses, mailboxes). */
static inline bool inc_kind_counted(int k) { return k != INC_K_PROCESS && k != INC_K_MAILMESSAGE; }

const char *inc_kind_name(inc_kind k);
/* "device", ... (also "user" for account); false when unknown. */
bool inc_kind_parse(vg_str s, inc_kind *out);

typedef struct inc_entity {
    inc_kind kind;
    vg_str value;              /* normalised key: lower case, canonical IP, ... */
    vg_str display;            /* as the evidence spelled it (summaries) */
    vg_str roles;              /* JSON array of Graph evidence roles */
} inc_entity;

#define INC_MAX_TECHNIQUES 128 /* techniques kept per alert and per incident */
#define INC_MAX_SUMMARY 50     /* devices/users/mailboxes names kept per incident */

/* One alert as the engine reads it from AlertInfo + AlertEvidence rows;
 * strings live in the call's arena or in the batches. */
typedef struct inc_alert {
    vg_str id, title, category, severity, service_source, detection_source, rule_id;
    int64_t ts_ms;
    uint32_t tactics;          /* bit i: inc_tactic_name(i) (kill-chain order) */
    vg_str techniques[INC_MAX_TECHNIQUES];
    uint32_t ntechniques;
    inc_entity ents[VG_INC_MAX_ENTITIES_PER_ALERT];
    uint32_t nents;
    uint32_t dropped;          /* entities past VG_INC_MAX_ENTITIES_PER_ALERT */
    vg_str evidence;           /* Graph alertEvidence JSON array */
} inc_alert;

/* One evidence row of an alert. */
typedef struct inc_evref {
    const vg_batch *b;
    uint32_t row;
} inc_evref;

/*
 * Reads AlertInfo row `row` of info and its evidence rows into *out
 * (inc_entity.c): normalised strong entities (well-known accounts and
 * private addresses left out), tactics, techniques and the evidence JSON.
 * now_ms stamps the evidence's createdDateTime.
 */
vg_err inc_alert_read(const vg_batch *info, uint32_t row, const inc_evref *ev, uint32_t nev,
                      int64_t now_ms, vg_arena *a, inc_alert *out, vg_diag *d);

/* Tactics in ATT&CK kill-chain order. */
#define INC_NTACTICS 14
/* Bit index of a tactic named "CredentialAccess", "credential_access",
 * "Credential Access"...; -1 when not an ATT&CK tactic. */
int inc_tactic_parse(vg_str s);
const char *inc_tactic_name(int i);     /* Graph/Defender category: "CredentialAccess" */
const char *inc_tactic_label(int i);    /* Defender's incident names: "Credential access" */
/* Graph severity rank: unknown 0, informational 1, low 2, medium 3, high 4. */
int inc_severity_rank(vg_str s);

#endif
