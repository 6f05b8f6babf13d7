/*
 * vg_state.h - the state store: one SQLite database (DIR/state.db, WAL mode,
 * mode 0600) for everything that is not an event: API tokens, the audit log,
 * alerts, incidents and their entities, comments, suppression rules, custom
 * detection rules and their run history.
 *
 * Every component opens its own connection with vg_state_open (SQLite
 * serialises writers across connections; readers never block in WAL mode).
 * The first open of a process applies the schema migrations in order; the
 * applied version is PRAGMA user_version, so an older state.db is brought
 * forward in place and a newer one (from a later Vigil) is refused rather
 * than misread.
 *
 * Times in state.db are unix milliseconds (INTEGER) unless a column says
 * otherwise; JSON columns hold UTF-8 JSON text.
 */
#ifndef VG_STATE_H
#define VG_STATE_H

#include <stdint.h>

#include <sqlite3.h>

#include "../core/vg_err.h"

/* The schema version this build writes (the number of migrations). */
int vg_state_version(void);

/*
 * Opens DIR/state.db (created mode 0600 when missing), sets WAL mode, the
 * busy timeout and foreign keys, and applies any pending migrations in one
 * transaction each. *out is a connection the caller owns (sqlite3_close).
 * Errors: VG_EIO (cannot open/write), VG_EUNSUPPORTED (state.db is from a
 * newer Vigil), with the path in d.
 */
vg_err vg_state_open(const char *dir, sqlite3 **out, vg_diag *d);

/*
 * The checkpointer: a thread with its own connection that copies state.db's
 * WAL back into the database (PRAGMA wal_checkpoint(PASSIVE)) every
 * VG_STATE_CKPT_MS when something was committed. Without it, the connection
 * whose commit pushes the WAL past the auto-checkpoint size pays for the
 * checkpoint (and its fsync) inside its transaction - a request or an alert
 * waiting tens of milliseconds. Connections from vg_state_open auto-checkpoint
 * only at VG_STATE_AUTOCKPT_PAGES, a safety net when no checkpointer runs.
 */
#define VG_STATE_CKPT_MS 100
#define VG_STATE_AUTOCKPT_PAGES 20000
typedef struct vg_state_ckpt vg_state_ckpt;
vg_err vg_state_ckpt_start(const char *dir, vg_state_ckpt **out, vg_diag *d);
void vg_state_ckpt_stop(vg_state_ckpt *c);

/* The first column of the first row of sql (a PRAGMA or a one-value
 * SELECT) as an integer; -1 when it fails or gives no row. */
int64_t vg_state_int(sqlite3 *db, const char *sql);

/* Unix milliseconds now (the clock the state tables use). */
int64_t vg_state_now_ms(void);

/* Formats unix ms as ISO-8601 UTC with milliseconds ("2026-11-30T01:02:03.456Z"). */
void vg_state_iso(int64_t ms, char out[32]);

#endif
