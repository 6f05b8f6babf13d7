/*
 * ag_int.h - private to src/agent: what the parts of vigil-agent share.
 *
 *   ag_main.c, main_agent.c  settings, enrollment, the main loop (delivery,
 *                            heartbeats, action and indicator polling)   [core]
 *   ag_spool.c, ag_send.c    the on-disk spool of batches and their delivery [core]
 *   ag_proc.c                processes: netlink proc connector, /proc, the
 *                            process cache behind every InitiatingProcess* column [core]
 *   ag_file.c                fanotify file events                      [sensors]
 *   ag_net.c                 sock_diag connections and listeners       [sensors]
 *   ag_logon.c               wtmp/btmp and the auth log: logons        [sensors]
 *   ag_inventory.c           dpkg (and rpm) software inventory         [sensors]
 *   ag_isolate.c ...         response actions (ag_actions[] below)     [response]
 *
 * Threads: each sensor runs its own thread started by the core with
 * ag_sensor_start; rows go through ag_emit (thread-safe); the process cache
 * is shared behind its own lock. Library code never exits the process.
 */
#ifndef AG_INT_H
#define AG_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/vg_config.h"
#include "../core/vg_err.h"
#include "../core/vg_json.h"
#include "../core/vg_str.h"
#include "../core/vg_time.h"

typedef struct ag ag;

/* ---- the agent (core) ---- */

/* Identity and the settings every part may read (filled before sensors start). */
typedef struct ag_ident {
    char device_id[64];
    char device_name[256];
    char state_dir[4096];      /* credential, spool, quarantine, sequence */
} ag_ident;
const ag_ident *ag_identity(const ag *a);
/* The agent's settings (ag_main.c's declarative table ag_defs: --help,
 * --config FILE and flags fill it; docs/agent.md lists them). Read-only once
 * the sensors start; strings live as long as the agent. */
typedef struct ag_settings {
    const char *server;
    const char *enroll_token;
    const char *state;
    const char *cacert;
    bool insecure_skip_verify;
    int64_t spool_max;
    int64_t max_exec_rate;
    int64_t heartbeat_interval;
    int64_t poll_interval;
    const char *sensors;
    bool drop_caps;
    const char *log_level;
    const char *log_format;
    /* the sensors' configuration */
    vg_cfg_list file_paths;    /* file: watched paths; a value may hold several, ':'-separated */
    const char *auth_log;      /* logon: "" = /var/log/auth.log, else /var/log/secure */
    const char *wtmp;          /* logon */
    const char *btmp;          /* logon */
    const char *dpkg_status;   /* inventory */
    int64_t inventory_interval;   /* inventory: seconds between checks for a change */
} ag_settings;
const ag_settings *ag_settings_of(const ag *a);
/* Whether the agent is stopping (sensor loops check it; they also get EINTR/poll wakeups). */
bool ag_stopping(const ag *a);

/*
 * Queues one telemetry row: a native NDJSON object {"Table":...,"Timestamp":...}
 * (the caller fills DeviceId/DeviceName via ag_row_begin). Thread-safe. When
 * the spool is full the row is dropped and counted under `sensor` (never
 * silently). Returns VG_ELIMIT on a drop.
 */
vg_err ag_emit(ag *a, const char *sensor, vg_str row_json);
/* Starts a row for table: {"Table":"T","Timestamp":"ISO","DeviceId":..,"DeviceName":..,"ReportId":n
 * - the ReportId is the agent's own increasing counter - leaving the object open
 * (no closing brace): append ,"Col":value members, then vg_buf_putc(b,'}'). */
void ag_row_begin(ag *a, vg_buf *b, const char *table, vg_time ts);
/* Counts a dropped event (e.g. an exec storm over budget) under sensor. */
void ag_count_drop(ag *a, const char *sensor, uint64_t n);
/* The server's base URL ("https://host:port") the agent talks to. */
const char *ag_server_url(const ag *a);
/* One request to the server with the device token (e.g. an investigation
 * package upload): path "/api/v1/...", status the HTTP status, resp the answer
 * (may be NULL). Thread-safe; VG_EIO when no answer came. */
vg_err ag_server_request(ag *a, const char *method, const char *path, const void *body,
                         size_t n, const char *ctype, long *status, vg_buf *resp, vg_diag *d);
/* The isolation state the heartbeat reports (response calls it when it changes). */
void ag_set_isolation(ag *a, bool isolated);

/* ---- the process cache (ag_proc.c, core) ---- */
typedef struct ag_proc {
    pid_t pid, ppid;
    uint64_t start_ticks;      /* /proc/PID/stat field 22: with pid, the process's identity */
    vg_time start;             /* its creation time */
    char exe[1024];
    char cmdline[4096];
    char name[256];            /* file name of exe */
    uid_t uid;
    char user[128];
    char sha1[41], sha256[65], md5[33];   /* of exe, cached by (device, inode, mtime); "" unknown */
    int64_t logon_id;          /* the session id (/proc/PID/sessionid), -1 unknown */
} ag_proc;
/* Copies the cached process (reading /proc when not cached); false when gone and unknown. */
bool ag_proc_get(ag *a, pid_t pid, ag_proc *out);
/* Appends the InitiatingProcess* members (and InitiatingProcessParent*) of pid to an open row. */
void ag_proc_initiating(ag *a, pid_t pid, vg_buf *row);
/* Hashes of a file, cached by (st_dev, st_ino, st_mtime, st_size); false when unreadable. */
bool ag_file_hashes(ag *a, const char *path, char sha1[41], char sha256[65], char md5[33]);

/* ---- sensors ---- */
typedef struct ag_sensor {
    const char *name;          /* "proc", "file", "net", "logon", "inventory" */
    vg_err (*start)(ag *a, void **state, vg_diag *d);   /* starts its thread(s) */
    void (*stop)(ag *a, void *state);                   /* wakes and joins them */
} ag_sensor;
extern const ag_sensor ag_sensor_proc, ag_sensor_file, ag_sensor_net, ag_sensor_logon,
    ag_sensor_inventory;

/* ---- response actions ---- */
/* One action: params as the server sent them; result is a JSON object text
 * written into result; errors say why (the core reports status Failed with
 * d's message). */
typedef vg_err (*ag_action_fn)(ag *a, const vg_json *params, vg_buf *result, vg_diag *d);
typedef struct ag_action {
    const char *type;          /* "Isolate", "Unisolate", "KillProcess", ... */
    ag_action_fn fn;
} ag_action;
extern const ag_action ag_actions[];   /* NULL-terminated (response) */

/* Indicators the server sent (core keeps them; response's hash blocking reads them). */
typedef struct ag_indicator {
    char id[64];
    char type[16];             /* FileSha1 FileSha256 IpAddress DomainName Url */
    char value[256];
    char action[8];            /* Alert Block Allowed */
} ag_indicator;
/* Called by the core whenever the indicator set changed (response: hash blocking). */
void ag_indicators_changed(ag *a, const ag_indicator *v, size_t n);
/* Builds the investigation package (tar.gz, at most 64 MiB) at out_path; the
 * core uploads it (response). */
vg_err ag_package_build(ag *a, const char *out_path, vg_diag *d);
/* Applied at start from the state dir (isolation survives restarts) (response). */
vg_err ag_response_start(ag *a, vg_diag *d);
void ag_response_stop(ag *a);

/* ---- core internals (ag_main.c, ag_spool.c, ag_send.c, ag_enroll.c, ag_proc.c) ---- */

/* Named limits of the core. */
#define AG_BATCH_MAX_BYTES   (1u << 20)     /* a batch is flushed at 1 MB of rows ... */
#define AG_BATCH_MAX_AGE_NS  1000000000ull  /* ... or when its first row is 1 s old */
#define AG_ROW_MAX_BYTES     (256u << 10)   /* one row; longer rows are dropped and counted */
#define AG_SPOOL_FILE_MAX    (64u << 20)    /* one spool file (compressed batch) */
#define AG_HTTP_RESP_MAX     (8u << 20)     /* one server answer */
#define AG_PROC_CACHE_MAX    65536          /* processes in the cache */
#define AG_HASH_CACHE_MAX    4096           /* files in the hash cache */
#define AG_HASH_FILE_MAX     (256ull << 20) /* larger executables are not hashed */
#define AG_INDICATORS_MAX    65536
#define AG_SENSOR_NAMES      { "proc", "file", "net", "logon", "inventory", "other" }
#define AG_NSENSORS          6

/* The spool: one file per batch, named by its seq, oldest sent first.
 * Thread-safe. The last seq handed out is persisted (seq file, fsync'ed)
 * before the batch file is written, so a seq is never reused. */
typedef struct ag_spool ag_spool;
typedef struct ag_spool_stats {
    uint64_t bytes, batches;   /* on disk now */
    uint64_t dropped_batches;  /* refused because the spool was full */
    uint64_t corrupt;          /* damaged files skipped (and removed) */
    uint64_t last_seq;         /* the last seq handed out */
} ag_spool_stats;
vg_err ag_spool_open(const char *dir, uint64_t max_bytes, ag_spool **out, vg_diag *d);
void ag_spool_close(ag_spool *s);
/* Whether n more bytes fit under the bound. */
bool ag_spool_has_room(ag_spool *s, uint64_t n);
/* Stores one compressed batch under the next seq (out: seq). VG_ELIMIT when
 * it does not fit (nothing written, counted as a dropped batch). */
vg_err ag_spool_put(ag_spool *s, const void *p, size_t n, uint64_t *seq, vg_diag *d);
/* The oldest batch: its seq and bytes. VG_ENOTFOUND when empty. A damaged
 * file is removed, counted and reported in d's message with VG_ECORRUPT (the
 * caller logs it and asks again). */
vg_err ag_spool_oldest(ag_spool *s, uint64_t *seq, vg_buf *out, vg_diag *d);
/* Deletes the batch seq (after the server acknowledged it). */
vg_err ag_spool_ack(ag_spool *s, uint64_t seq, vg_diag *d);
void ag_spool_stats_get(ag_spool *s, ag_spool_stats *st);

/* HTTP to the server (ag_send.c). One ag_http per thread. */
typedef struct ag_http ag_http;
typedef struct ag_http_opts {
    const char *server;        /* https://host:port (no trailing slash needed) */
    const char *cacert;        /* NULL: the system's */
    bool insecure;             /* skip TLS verification (tests only) */
} ag_http_opts;
vg_err ag_http_new(const ag_http_opts *o, ag_http **out, vg_diag *d);
void ag_http_free(ag_http *h);
/* Sets the bearer token used from now on (copied). */
void ag_http_set_token(ag_http *h, const char *token);
/* One request: method "GET"/"POST"; body may be NULL; encoding "zstd" or NULL.
 * status = the HTTP status (0 when no answer); resp gets the body. VG_EIO
 * when no answer came (d says why). */
vg_err ag_http_do(ag_http *h, const char *method, const char *path, const void *body,
                  size_t n, const char *ctype, const char *encoding, long *status,
                  vg_buf *resp, vg_diag *d);
/* zstd compression of a batch (level 3). */
vg_err ag_zstd(const void *p, size_t n, vg_buf *out, vg_diag *d);
/* The backoff after `failures` consecutive failures: 1 s doubling to 60 s, +-25% jitter. */
uint64_t ag_backoff_ms(unsigned failures, uint32_t rnd);

/* Enrollment and the credential (ag_enroll.c). */
typedef struct ag_cred {
    char device_id[64];
    char token[256];
    char server[1024];
} ag_cred;
/* Reads STATE/credential.json; VG_ENOTFOUND when absent. */
vg_err ag_cred_load(const char *state_dir, ag_cred *c, vg_diag *d);
/* Writes it atomically, mode 0600. */
vg_err ag_cred_save(const char *state_dir, const ag_cred *c, vg_diag *d);
/* The enrollment body (facts about this machine) into b. */
vg_err ag_enroll_body(const char *agent_version, vg_buf *b, char *device_name, size_t cap,
                      vg_diag *d);
/* POST /api/v1/agents/enroll with the enroll token; fills c. */
vg_err ag_enroll(ag_http *h, const char *enroll_token, const char *agent_version, ag_cred *c,
                 vg_diag *d);

/* /proc parsing (ag_proc.c), exposed for the tests (proc_root: "/proc" or a fixture). */
vg_err ag_proc_parse_stat(vg_str text, pid_t *ppid, uint64_t *start_ticks, char *comm,
                          size_t cap);
vg_err ag_proc_parse_status(vg_str text, uid_t *uid, pid_t *ppid);
/* NUL-separated argv into a space-joined command line (truncated to cap). */
void ag_proc_parse_cmdline(vg_str raw, char *out, size_t cap);
/* Reads one process from proc_root; VG_ENOTFOUND when gone. Hashes not filled. */
vg_err ag_proc_read(const char *proc_root, pid_t pid, ag_proc *out, vg_diag *d);

/* The file-hash cache on its own (ag_proc.c), keyed by (dev, ino, mtime, size). */
typedef struct ag_hash_cache ag_hash_cache;
vg_err ag_hash_cache_new(size_t max, ag_hash_cache **out);
void ag_hash_cache_free(ag_hash_cache *c);
/* hit says whether the answer came from the cache. False when unreadable. */
bool ag_hash_cache_get(ag_hash_cache *c, const char *path, char sha1[41], char sha256[65],
                       char md5[33], bool *hit);
size_t ag_hash_cache_count(const ag_hash_cache *c);

/* The process cache itself (ag_proc.c): pid-keyed, bounded, thread-safe. */
typedef struct ag_pcache ag_pcache;
vg_err ag_pcache_new(const char *proc_root, size_t max, ag_pcache **out);
void ag_pcache_free(ag_pcache *c);
size_t ag_pcache_count(ag_pcache *c);
/* Every process of proc_root into the cache (n: how many were read). */
vg_err ag_pcache_fill(ag_pcache *c, size_t *n);
/* Reads pid again from /proc into the cache (after an exec); VG_ENOTFOUND when gone. */
vg_err ag_pcache_refresh(ag_pcache *c, pid_t pid, ag_proc *out, vg_diag *d);
/* The cached copy only. */
bool ag_pcache_lookup(ag_pcache *c, pid_t pid, ag_proc *out);
/* Whether pid went through exec since the cache saw it fork (its exe is its own). */
bool ag_pcache_execd(ag_pcache *c, pid_t pid);
/* A fork: the child starts as a copy of its parent. */
void ag_pcache_fork(ag_pcache *c, pid_t parent, pid_t child, uint64_t start_ticks);
/* An exit: kept a few seconds for its children's rows, then freed. */
void ag_pcache_exit(ag_pcache *c, pid_t pid);
void ag_pcache_set_hashes(ag_pcache *c, pid_t pid, uint64_t start_ticks, const char *sha1,
                          const char *sha256, const char *md5);
/* A start time (ticks since boot) as a wall-clock time. */
vg_time ag_pcache_start_time(ag_pcache *c, uint64_t start_ticks);
/* The agent's caches (ag_main.c). */
ag_pcache *ag_pcache_of(ag *a);
ag_hash_cache *ag_hash_cache_of(ag *a);
/* Per-sensor counters the heartbeat reports besides drops (ag_main.c). */
void ag_count_stat(ag *a, const char *name, uint64_t n);
/* Settings the process sensor reads (ag_main.c). */
uint32_t ag_max_exec_rate(const ag *a);

/* Capabilities kept after start-up (ag_main.c). */
vg_err ag_drop_caps(vg_diag *d);

/* What the program hands the core: the other parts (main_agent.c keeps the
 * only references to them, so the unit tests link without them). */
typedef struct ag_parts {
    const ag_sensor *const *sensors;   /* NULL-terminated */
    const ag_action *actions;          /* NULL-terminated by type, or NULL */
    void (*indicators_changed)(ag *a, const ag_indicator *v, size_t n);
    vg_err (*response_start)(ag *a, vg_diag *d);
    void (*response_stop)(ag *a);
} ag_parts;
/* The program: parses argv, enrolls, runs until SIGTERM/SIGINT. Exit status. */
int ag_main(int argc, char **argv, const ag_parts *parts);

#endif
