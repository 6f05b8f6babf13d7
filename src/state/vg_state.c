/*
 * vg_state.c - opens state.db and brings its schema forward.
 *
 * The migrations below are the whole schema, in the order it grew; each runs
 * once, inside a transaction that also sets PRAGMA user_version to its
 * number, so a crash mid-migration leaves the previous version intact. Never
 * edit a migration that has shipped: add the next one.
 *
 * Tables (see the comments in each migration for the columns' meaning):
 *   tokens            API tokens (hash only; vg_tokens.c)
 *   audit             every write: who, when, what, the outcome
 *   incidents         one row per incident (Graph security incident)
 *   incident_entities the strong entities of each incident (correlation keys)
 *   alerts            one row per alert (Graph alerts_v2), with its incident
 *   alert_entities    the entities each alert names
 *   comments          comments on incidents and alerts
 *   suppressions      tuning rules: rule id + entity conditions
 *   detections        custom (KQL) detection rules and their schedule state
 *   detection_runs    each run of a custom detection (catch-up, history)
 *   detection_hits    rows already alerted by a custom detection (no repeats)
 *   meta              small key/value facts (tokens_version: bumped by triggers
 *                     on every change of tokens; indicators_version)
 *   devices           enrolled endpoint agents (srv_agents.c)
 *   machine_actions   response actions queued for devices (srv_machines.c)
 *   indicators        IoCs the agents pull (srv_machines.c)
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vg_state.h"

static const char *const migrations[] = {
    /* 1: tokens (the table vigild created before migrations existed) */
    "CREATE TABLE IF NOT EXISTS tokens("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " role TEXT NOT NULL,"
    " hash TEXT NOT NULL UNIQUE,"
    " created INTEGER NOT NULL,"             /* unix seconds */
    " revoked INTEGER NOT NULL DEFAULT 0);", /* 0, or unix seconds */

    /* 2: the audit log; detail is JSON (fields changed: {"status":["active","resolved"]}) */
    "CREATE TABLE audit("
    " id INTEGER PRIMARY KEY,"
    " time INTEGER NOT NULL,"
    " actor_id INTEGER,"                     /* token id; NULL for vigild itself */
    " actor TEXT NOT NULL,"                  /* token name, or 'vigil-correlation' etc. */
    " role TEXT,"
    " action TEXT NOT NULL,"                 /* 'incident.update', 'token.create', 'POST /api/...' */
    " object_type TEXT,"
    " object_id TEXT,"
    " status INTEGER,"                       /* HTTP status of the request, when one */
    " remote TEXT,"
    " detail TEXT);"
    "CREATE INDEX audit_time ON audit(time);"
    "CREATE INDEX audit_object ON audit(object_type, object_id);",

    /* 3: incidents and alerts */
    "CREATE TABLE incidents("
    " id INTEGER PRIMARY KEY,"
    " display_name TEXT NOT NULL,"
    " name_manual INTEGER NOT NULL DEFAULT 0,"     /* set by PATCH: keep it */
    " description TEXT NOT NULL DEFAULT '',"
    " status TEXT NOT NULL DEFAULT 'active',"      /* active inProgress resolved redirected */
    " severity TEXT NOT NULL,"                     /* informational low medium high */
    " severity_manual INTEGER NOT NULL DEFAULT 0,"
    " classification TEXT NOT NULL DEFAULT 'unknown',"
    " determination TEXT NOT NULL DEFAULT 'unknown',"
    " assigned_to TEXT,"
    " redirect_id INTEGER,"                        /* when redirected: the incident it went into */
    " custom_tags TEXT NOT NULL DEFAULT '[]',"
    " system_tags TEXT NOT NULL DEFAULT '[]',"
    " tactics TEXT NOT NULL DEFAULT '[]',"         /* ATT&CK tactics of its alerts */
    " techniques TEXT NOT NULL DEFAULT '[]',"
    " devices TEXT NOT NULL DEFAULT '[]',"         /* summaries kept current per alert */
    " users TEXT NOT NULL DEFAULT '[]',"
    " mailboxes TEXT NOT NULL DEFAULT '[]',"
    " sources TEXT NOT NULL DEFAULT '[]',"         /* serviceSource values */
    " alert_count INTEGER NOT NULL DEFAULT 0,"
    " entity_count INTEGER NOT NULL DEFAULT 0,"
    " first_activity INTEGER,"
    " last_activity INTEGER,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " resolved INTEGER,"
    " version INTEGER NOT NULL DEFAULT 1);"        /* ETag; +1 on every change */
    "CREATE INDEX incidents_status ON incidents(status, last_activity);"
    "CREATE INDEX incidents_updated ON incidents(updated);"
    "CREATE TABLE incident_entities("
    " incident_id INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"                         /* device account file ip url domain mailbox process */
    " value TEXT NOT NULL,"                        /* normalised key (lower case etc.) */
    " display TEXT,"                               /* as the evidence spelled it */
    " last_seen INTEGER NOT NULL,"
    " PRIMARY KEY(incident_id, kind, value)) WITHOUT ROWID;"
    "CREATE INDEX incident_entities_key ON incident_entities(kind, value);"
    "CREATE TABLE alerts("
    " id TEXT PRIMARY KEY,"                        /* AlertId of AlertInfo */
    " incident_id INTEGER NOT NULL,"
    " title TEXT NOT NULL,"
    " description TEXT NOT NULL DEFAULT '',"
    " recommended_actions TEXT NOT NULL DEFAULT '',"
    " category TEXT NOT NULL DEFAULT '',"
    " severity TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'new',"         /* new inProgress resolved */
    " classification TEXT NOT NULL DEFAULT 'unknown',"
    " determination TEXT NOT NULL DEFAULT 'unknown',"
    " assigned_to TEXT,"
    " service_source TEXT NOT NULL,"
    " detection_source TEXT NOT NULL,"
    " detector_id TEXT,"                           /* Sigma rule id or custom detection id */
    " tactics TEXT NOT NULL DEFAULT '[]',"
    " techniques TEXT NOT NULL DEFAULT '[]',"
    " evidence TEXT NOT NULL DEFAULT '[]',"        /* Graph alertEvidence array */
    " suppressed_by INTEGER,"                      /* suppression rule that matched it */
    " first_activity INTEGER NOT NULL,"
    " last_activity INTEGER NOT NULL,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " resolved INTEGER,"
    " version INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX alerts_incident ON alerts(incident_id);"
    "CREATE INDEX alerts_created ON alerts(created);"
    "CREATE TABLE alert_entities("
    " alert_id TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " display TEXT,"
    " roles TEXT NOT NULL DEFAULT '[]',"
    " PRIMARY KEY(alert_id, kind, value)) WITHOUT ROWID;"
    "CREATE INDEX alert_entities_key ON alert_entities(kind, value);"
    "CREATE TABLE comments("
    " id INTEGER PRIMARY KEY,"
    " incident_id INTEGER,"
    " alert_id TEXT,"
    " comment TEXT NOT NULL,"
    " created_by TEXT NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE INDEX comments_incident ON comments(incident_id);"
    "CREATE INDEX comments_alert ON comments(alert_id);"
    "CREATE TABLE suppressions("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " rule_id TEXT NOT NULL,"                      /* detector id, or '*' */
    " conditions TEXT NOT NULL DEFAULT '[]',"      /* [{"kind":"device","value":"ws1"}...] all must hold */
    " action TEXT NOT NULL DEFAULT 'resolve',"     /* resolve: stored resolved, no incident */
    " enabled INTEGER NOT NULL DEFAULT 1,"
    " hits INTEGER NOT NULL DEFAULT 0,"
    " created_by TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1);",

    /* 4: custom detections */
    "CREATE TABLE detections("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " query TEXT NOT NULL,"
    " period TEXT NOT NULL,"                       /* '0' (NRT), '1H', '3H', '12H', '24H' */
    " lookback INTEGER NOT NULL,"                  /* seconds */
    " title TEXT NOT NULL,"
    " description TEXT NOT NULL DEFAULT '',"
    " recommended_actions TEXT NOT NULL DEFAULT '',"
    " severity TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " techniques TEXT NOT NULL DEFAULT '[]',"
    " entities TEXT NOT NULL DEFAULT '[]',"        /* [{"kind":"device","column":"DeviceName"}...] */
    " columns TEXT NOT NULL DEFAULT '[]',"         /* the query's output columns when checked */
    " enabled INTEGER NOT NULL DEFAULT 1,"
    " created_by TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1,"
    " last_run_end INTEGER,"                       /* the scheduled time of the last run done */
    " last_status TEXT,"                           /* succeeded failed partial */
    " last_error TEXT,"
    " last_alerts INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE detection_runs("
    " id INTEGER PRIMARY KEY,"
    " detection_id INTEGER NOT NULL,"
    " scheduled INTEGER NOT NULL,"                 /* the run's 'now' */
    " started INTEGER NOT NULL,"
    " finished INTEGER,"
    " status TEXT NOT NULL,"                       /* running succeeded failed */
    " rows INTEGER NOT NULL DEFAULT 0,"
    " alerts INTEGER NOT NULL DEFAULT 0,"
    " truncated INTEGER NOT NULL DEFAULT 0,"       /* more than 100 alerts: the rest dropped */
    " error TEXT);"
    "CREATE INDEX detection_runs_det ON detection_runs(detection_id, scheduled);"
    "CREATE TABLE detection_hits("
    " detection_id INTEGER NOT NULL,"
    " hit TEXT NOT NULL,"                          /* hash of the row's Timestamp, ReportId, entities */
    " alert_id TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " PRIMARY KEY(detection_id, hit)) WITHOUT ROWID;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",

    /* 5: a counter of token changes, so the servers' token caches reload
     * when tokens change, not after every write to state.db (audit rows,
     * incidents) */
    "INSERT INTO meta(key, value) VALUES('tokens_version', '1');"
    "CREATE TRIGGER tokens_ins AFTER INSERT ON tokens BEGIN"
    " UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_version'; END;"
    "CREATE TRIGGER tokens_upd AFTER UPDATE ON tokens BEGIN"
    " UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_version'; END;"
    "CREATE TRIGGER tokens_del AFTER DELETE ON tokens BEGIN"
    " UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_version'; END;",

    /* 6: endpoint agents (src/server/srv_agents.c, srv_machines.c): enrolled
     * devices, the response actions queued for them, and the indicators they
     * pull; meta.indicators_version is bumped on every indicator change so an
     * agent can ask for what changed since the version it holds */
    "CREATE TABLE devices("
    " device_id TEXT PRIMARY KEY,"                 /* 40 hex, stable per machine_id */
    " machine_id TEXT NOT NULL UNIQUE,"            /* /etc/machine-id as the agent sent it */
    " token_id INTEGER,"                           /* the device's current (ingest) token */
    " name TEXT NOT NULL,"
    " os_platform TEXT NOT NULL DEFAULT '',"
    " os_version TEXT NOT NULL DEFAULT '',"
    " os_distribution TEXT NOT NULL DEFAULT '',"
    " kernel_version TEXT NOT NULL DEFAULT '',"
    " agent_version TEXT NOT NULL DEFAULT '',"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " health TEXT NOT NULL DEFAULT 'Active',"      /* as the agent reports it: Active Degraded */
    " isolation_state TEXT NOT NULL DEFAULT 'NotIsolated'," /* Isolated NotIsolated */
    " last_seq INTEGER NOT NULL DEFAULT 0,"        /* last ingest batch seq acknowledged */
    " last_ip TEXT,"
    " info TEXT NOT NULL DEFAULT '{}',"            /* enrollment facts (IPs, MACs, interfaces) */
    " heartbeat TEXT NOT NULL DEFAULT '{}',"       /* the last heartbeat (spool, drops, cpu, rss) */
    " info_reported INTEGER NOT NULL DEFAULT 0);"  /* when the last DeviceInfo row was written */
    "CREATE INDEX devices_token ON devices(token_id);"
    "CREATE TABLE machine_actions("
    " id TEXT PRIMARY KEY,"                        /* uuid */
    " device_id TEXT NOT NULL,"
    " type TEXT NOT NULL,"                         /* Isolate Unisolate KillProcess ... */
    " status TEXT NOT NULL,"                       /* Pending InProgress Succeeded Failed Cancelled */
    " params TEXT NOT NULL DEFAULT '{}',"
    " requestor TEXT NOT NULL,"
    " comment TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " result TEXT,"                                /* JSON the agent reported */
    " error TEXT);"
    "CREATE INDEX machine_actions_device ON machine_actions(device_id, status);"
    "CREATE INDEX machine_actions_created ON machine_actions(created);"
    "CREATE TABLE indicators("
    " id INTEGER PRIMARY KEY,"
    " value TEXT NOT NULL,"
    " type TEXT NOT NULL,"                         /* FileSha1 FileSha256 IpAddress DomainName Url */
    " action TEXT NOT NULL,"                       /* Alert Block Allowed */
    " title TEXT NOT NULL,"
    " description TEXT NOT NULL DEFAULT '',"
    " severity TEXT NOT NULL DEFAULT 'Informational',"
    " expiration INTEGER,"                         /* NULL: never */
    " created_by TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " version INTEGER NOT NULL,"                   /* indicators_version of its last change */
    " deleted INTEGER);"                           /* deleted or expired (kept for removed[]) */
    "CREATE INDEX indicators_version ON indicators(version);"
    "CREATE INDEX indicators_value ON indicators(type, value);"
    "INSERT INTO meta(key, value) VALUES('indicators_version', '0');",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int vg_state_version(void) { return NMIGRATIONS; }

int64_t vg_state_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vg_state_iso(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)s * 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    if (tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        snprintf(out, 32, "%s", "0001-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, frac % 1000);
}

int64_t vg_state_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int user_version(sqlite3 *db) { return (int)vg_state_int(db, "PRAGMA user_version"); }

static vg_err migrate(sqlite3 *db, const char *path, vg_diag *d)
{
    char *msg = NULL;
    /* BEGIN IMMEDIATE: two processes opening at once migrate one after the other */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    int v = user_version(db);
    if (v < 0)
        goto fail;
    if (v > NMIGRATIONS) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return vg_diag_set(d, VG_EUNSUPPORTED, "%s: schema version %d is newer than this "
                           "Vigil's (%d); use the Vigil that wrote it", path, v, NMIGRATIONS);
    }
    for (; v < NMIGRATIONS; v++) {
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v + 1);
        if (sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK) {
            vg_err e = vg_diag_set(d, VG_EIO, "%s: migration %d: %s", path, v + 1,
                                   msg ? msg : sqlite3_errmsg(db));
            sqlite3_free(msg);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return e;
        }
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    return VG_OK;
fail:;
    vg_err e = vg_diag_set(d, VG_EIO, "%s: %s", path, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return e;
}

vg_err vg_state_open(const char *dir, sqlite3 **out, vg_diag *d)
{
    *out = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/state.db", dir) >= sizeof path)
        return vg_diag_set(d, VG_ELIMIT, "data directory path too long");
    /* create the file ourselves so that it is 0600 from the start; only when
     * it does not exist yet: closing any descriptor of a file drops every
     * POSIX lock this process holds on it, so opening and closing an
     * existing state.db would strip the locks of the connections already
     * open in this process (another process could then think itself the
     * last user, checkpoint and delete the WAL and -shm under them) */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    else if (errno != EEXIST)
        return vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        vg_err e = vg_diag_set(d, VG_EIO, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return e;
    }
    sqlite3_busy_timeout(db, 10000);
    char *msg = NULL;
    /* synchronous=NORMAL in WAL mode: a commit is atomic and survives a crash
     * of vigild; a power loss may undo the last commits, which the reconcile
     * pass at start (alerts are durable in the event store) redoes */
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
             "PRAGMA wal_autocheckpoint=%d;", VG_STATE_AUTOCKPT_PAGES);
    if (sqlite3_exec(db, pragmas,
                     NULL, NULL, &msg) != SQLITE_OK) {
        vg_err e = vg_diag_set(d, VG_EIO, "%s: %s", path, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_close(db);
        return e;
    }
    vg_err e = migrate(db, path, d);
    if (e) {
        sqlite3_close(db);
        return e;
    }
    *out = db;
    return VG_OK;
}

/* ---- the checkpointer ---- */

struct vg_state_ckpt {
    sqlite3 *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void *ckpt_main(void *arg)
{
    vg_state_ckpt *c = arg;
    int64_t seen = -1;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)VG_STATE_CKPT_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        if (c->stop)
            break;
        pthread_mutex_unlock(&c->mu);
        /* data_version moves when another connection committed */
        int64_t dv = vg_state_int(c->db, "PRAGMA data_version");
        if (dv != seen) {
            seen = dv;
            int log = 0, done = 0;
            sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        }
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

vg_err vg_state_ckpt_start(const char *dir, vg_state_ckpt **out, vg_diag *d)
{
    *out = NULL;
    vg_state_ckpt *c = calloc(1, sizeof *c);
    if (!c)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    vg_err e = vg_state_open(dir, &c->db, d);
    if (e) {
        free(c);
        return e;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
        sqlite3_close(c->db);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        free(c);
        return vg_diag_set(d, VG_EIO, "state.db: cannot start the checkpoint thread");
    }
    *out = c;
    return VG_OK;
}

void vg_state_ckpt_stop(vg_state_ckpt *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}
