/*
 * ag_main.c - vigil-agent's core: settings, start-up (state directory,
 * credential, enrollment), the row batcher behind ag_emit, the sender thread
 * that drains the spool to vigild, and the main loop (heartbeats, response
 * actions, indicators, signals).
 *
 * Data path: a sensor builds a row (ag_row_begin ... '}') and calls ag_emit,
 * which appends it to the open batch; a batch closes at AG_BATCH_MAX_BYTES or
 * when its first row is AG_BATCH_MAX_AGE_NS old, is compressed with zstd and
 * written to the spool under the next seq. The sender posts the oldest spool
 * batch to /api/v1/ingest?format=ndjson&device=ID&seq=N and deletes it on
 * 200 (also on the server's duplicate:true), retrying with backoff and jitter
 * otherwise. So rows survive server outages and agent restarts in order,
 * and whatever a full spool refuses is counted per sensor.
 *
 * The other parts (sensors, response actions) come in through ag_parts so
 * that this file links without them (the unit tests need only the core).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/vg_arena.h"
#include "../core/vg_config.h"
#include "../core/vg_log.h"
#include "ag_int.h"

#define AG_VERSION "0.1.0"
#define AG_FILE_PATHS_DEFAULT "/etc:/usr/bin:/usr/sbin:/usr/local/bin:/tmp:/var/tmp:/home:/root"
#define STATS_MAX 16
#define ACTIONS_MAX 64
#define BATCHER_IDLE_MS 60000                           /* no rows: nothing to wake for */
#define SENDER_IDLE_MS 60000                            /* a new batch signals the sender */
#define SENDER_RETRY_MS 1000
#define AG_THREAD_STACK (256u << 10)                    /* every thread the agent starts */
#define AG_MALLOC_ARENAS 2                              /* not one heap per thread */
#define AG_MMAP_THRESHOLD (256 << 10)                   /* larger blocks go back on free */
#define AG_BATCH_HARD_BYTES (4 * AG_BATCH_MAX_BYTES)   /* the batcher is behind: emit flushes */

#define OFF(f) offsetof(ag_settings, f)
static const vg_cfg_def ag_defs[] = {
    { "server", VG_CFG_STRING, NULL, 0, 0, false, OFF(server),
      "vigild's URL (https://host:port); kept in the credential after enrollment" },
    { "enroll-token", VG_CFG_STRING, NULL, 0, 0, false, OFF(enroll_token),
      "token (role ingest or admin) for the first start; later starts reuse the credential" },
    { "state", VG_CFG_STRING, "/var/lib/vigil-agent", 0, 0, false, OFF(state),
      "state directory (0700): credential, spool, quarantine, sequence" },
    { "cacert", VG_CFG_STRING, NULL, 0, 0, false, OFF(cacert),
      "CA bundle that signs the server's certificate (default: the system's)" },
    { "insecure-skip-verify", VG_CFG_BOOL, "false", 0, 0, false, OFF(insecure_skip_verify),
      "do not verify the server's TLS certificate (tests only)" },
    { "spool-max", VG_CFG_SIZE, "256M", 1 << 20, 1LL << 40, false, OFF(spool_max),
      "bound of the on-disk spool; when full, new rows are dropped and counted" },
    { "max-exec-rate", VG_CFG_INT, "5000", 1, 1000000, false, OFF(max_exec_rate),
      "process executions handled per second; more are dropped and counted" },
    { "heartbeat-interval", VG_CFG_DURATION, "30", 1, 3600, false, OFF(heartbeat_interval),
      "seconds between heartbeats" },
    { "poll-interval", VG_CFG_DURATION, "5", 1, 3600, false, OFF(poll_interval),
      "seconds between polls for response actions and indicators" },
    { "sensors", VG_CFG_STRING, "proc,file,net,logon,inventory", 0, 0, false, OFF(sensors),
      "sensors to run, comma-separated" },
    { "drop-caps", VG_CFG_BOOL, "true", 0, 0, false, OFF(drop_caps),
      "drop the capabilities the agent does not need once started (docs/agent.md)" },
    { "log-level", VG_CFG_STRING, "info", 0, 0, false, OFF(log_level),
      "debug, info, warn or error" },
    { "log-format", VG_CFG_STRING, "logfmt", 0, 0, false, OFF(log_format), "logfmt or json" },
    { "file-paths", VG_CFG_LIST, AG_FILE_PATHS_DEFAULT, 0, 0, false, OFF(file_paths),
      "file sensor: watched paths, absolute; repeat the flag, or separate them with ':' "
      "(giving it replaces the default)" },
    { "auth-log", VG_CFG_STRING, NULL, 0, 0, false, OFF(auth_log),
      "logon sensor: the auth log (default /var/log/auth.log, or /var/log/secure where only "
      "that exists)" },
    { "wtmp", VG_CFG_STRING, "/var/log/wtmp", 0, 0, false, OFF(wtmp),
      "logon sensor: successful logins" },
    { "btmp", VG_CFG_STRING, "/var/log/btmp", 0, 0, false, OFF(btmp),
      "logon sensor: failed logins" },
    { "dpkg-status", VG_CFG_STRING, "/var/lib/dpkg/status", 0, 0, false, OFF(dpkg_status),
      "inventory sensor: dpkg's status file" },
    { "inventory-interval", VG_CFG_DURATION, "60", 1, 86400, false, OFF(inventory_interval),
      "inventory sensor: seconds between checks for a change of the package list" },
};
#undef OFF

static const vg_cfg_spec ag_spec = {
    "vigil-agent", "Vigil's Linux endpoint agent: telemetry, inventory and response actions",
    "vigil-agent --server URL --enroll-token T [--state DIR] [OPTIONS]", ag_defs,
    sizeof ag_defs / sizeof ag_defs[0],
};

struct ag {
    ag_ident id;
    ag_settings s;
    const ag_parts *parts;
    atomic_bool stop;
    ag_spool *spool;
    ag_pcache *pcache;
    ag_hash_cache *hcache;
    ag_cred cred;
    ag_http_opts http_opts;

    pthread_mutex_t mu;              /* the open batch and the counters */
    pthread_mutex_t flush_mu;        /* one flush at a time: seq order = row order */
    pthread_cond_t cv;               /* wakes the batcher (a batch is full, or stop) */
    pthread_cond_t send_cv;          /* wakes the sender (a batch is in the spool) */
    uint64_t spooled;                /* batches put in the spool so far (under mu) */
    vg_buf batch;
    uint64_t batch_first_ns;
    uint64_t batch_rows[AG_NSENSORS];
    uint64_t drops[AG_NSENSORS];
    uint64_t rows_spool_dropped;
    struct { const char *name; uint64_t n; } stats[STATS_MAX];
    atomic_uint_fast64_t report_id;
    atomic_bool isolated;
    bool degraded;

    pthread_mutex_t req_mu;          /* ag_server_request's own connection */
    ag_http *req_h;

    ag_indicator *ind;
    size_t nind;
    int64_t ind_version;
};

static const char *const sensor_names[AG_NSENSORS] = AG_SENSOR_NAMES;

static int sensor_index(const char *name)
{
    for (int i = 0; i < AG_NSENSORS - 1; i++)
        if (strcmp(sensor_names[i], name) == 0)
            return i;
    return AG_NSENSORS - 1;
}

const ag_ident *ag_identity(const ag *a) { return &a->id; }
const ag_settings *ag_settings_of(const ag *a) { return &a->s; }
bool ag_stopping(const ag *a) { return atomic_load(&a->stop); }
ag_pcache *ag_pcache_of(ag *a) { return a->pcache; }
ag_hash_cache *ag_hash_cache_of(ag *a) { return a->hcache; }
uint32_t ag_max_exec_rate(const ag *a) { return (uint32_t)a->s.max_exec_rate; }
void ag_set_isolation(ag *a, bool isolated) { atomic_store(&a->isolated, isolated); }
const char *ag_server_url(const ag *a) { return a->cred.server; }

vg_err ag_server_request(ag *a, const char *method, const char *path, const void *body,
                         size_t n, const char *ctype, long *status, vg_buf *resp, vg_diag *d)
{
    vg_buf scratch;
    vg_buf_init(&scratch, AG_HTTP_RESP_MAX);
    vg_err e = VG_OK;
    pthread_mutex_lock(&a->req_mu);
    if (!a->req_h) {
        e = ag_http_new(&a->http_opts, &a->req_h, d);
        if (e == VG_OK)
            ag_http_set_token(a->req_h, a->cred.token);
    }
    if (e == VG_OK)
        e = ag_http_do(a->req_h, method, path, body, n, ctype, NULL, status,
                       resp ? resp : &scratch, d);
    pthread_mutex_unlock(&a->req_mu);
    vg_buf_free(&scratch);
    return e;
}

void ag_count_drop(ag *a, const char *sensor, uint64_t n)
{
    pthread_mutex_lock(&a->mu);
    a->drops[sensor_index(sensor)] += n;
    pthread_mutex_unlock(&a->mu);
}

void ag_count_stat(ag *a, const char *name, uint64_t n)
{
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < STATS_MAX; i++) {
        if (!a->stats[i].name)
            a->stats[i].name = name;
        if (strcmp(a->stats[i].name, name) == 0) {
            a->stats[i].n += n;
            break;
        }
    }
    pthread_mutex_unlock(&a->mu);
}

void ag_row_begin(ag *a, vg_buf *b, const char *table, vg_time ts)
{
    char t[VG_TIME_BUFSZ];
    vg_time_format(ts, t, sizeof t);
    vg_buf_puts(b, "{\"Table\":");
    vg_buf_put_json_str(b, vg_str_c(table));
    vg_buf_printf(b, ",\"Timestamp\":\"%s\",\"DeviceId\":", t);
    vg_buf_put_json_str(b, vg_str_c(a->id.device_id));
    vg_buf_puts(b, ",\"DeviceName\":");
    vg_buf_put_json_str(b, vg_str_c(a->id.device_name));
    vg_buf_printf(b, ",\"ReportId\":%" PRIuFAST64, atomic_fetch_add(&a->report_id, 1) + 1);
}

/* Closes the open batch into the spool (when force, or when it is due). */
static void flush(ag *a, bool force)
{
    pthread_mutex_lock(&a->flush_mu);
    pthread_mutex_lock(&a->mu);
    bool due = a->batch.n > 0 &&
               (force || a->batch.n >= AG_BATCH_MAX_BYTES ||
                vg_mono_ns() - a->batch_first_ns >= AG_BATCH_MAX_AGE_NS);
    if (!due) {
        pthread_mutex_unlock(&a->mu);
        pthread_mutex_unlock(&a->flush_mu);
        return;
    }
    vg_buf rows = a->batch;
    uint64_t counts[AG_NSENSORS];
    memcpy(counts, a->batch_rows, sizeof counts);
    memset(a->batch_rows, 0, sizeof a->batch_rows);
    vg_buf_init(&a->batch, 0);
    pthread_mutex_unlock(&a->mu);

    vg_buf z;
    vg_buf_init(&z, 0);
    vg_diag d = { "" };
    uint64_t seq = 0;
    vg_err e = ag_zstd(rows.p, rows.n, &z, &d);
    if (e == VG_OK)
        e = ag_spool_put(a->spool, z.p, z.n, &seq, &d);
    if (e != VG_OK) {
        uint64_t total = 0;
        pthread_mutex_lock(&a->mu);
        for (int i = 0; i < AG_NSENSORS; i++) {
            a->drops[i] += counts[i];
            total += counts[i];
        }
        a->rows_spool_dropped += total;
        pthread_mutex_unlock(&a->mu);
        vg_log(VG_LOG_WARN, "batch dropped", VG_LS("error", d.msg), VG_LI("rows", total));
    } else {
        pthread_mutex_lock(&a->mu);
        a->spooled++;
        pthread_cond_signal(&a->send_cv);
        pthread_mutex_unlock(&a->mu);
    }
    vg_buf_free(&z);
    vg_buf_free(&rows);
    pthread_mutex_unlock(&a->flush_mu);
}

vg_err ag_emit(ag *a, const char *sensor, vg_str row)
{
    int si = sensor_index(sensor);
    if (row.n > AG_ROW_MAX_BYTES || !ag_spool_has_room(a->spool, AG_BATCH_MAX_BYTES / 16)) {
        pthread_mutex_lock(&a->mu);
        a->drops[si]++;
        if (row.n <= AG_ROW_MAX_BYTES)
            a->rows_spool_dropped++;
        pthread_mutex_unlock(&a->mu);
        return VG_ELIMIT;
    }
    pthread_mutex_lock(&a->mu);
    if (a->batch.n == 0) {
        a->batch_first_ns = vg_mono_ns();
        pthread_cond_signal(&a->cv);   /* the batcher now has a deadline */
    }
    vg_buf_putstr(&a->batch, row);
    vg_buf_putc(&a->batch, '\n');
    a->batch_rows[si]++;
    bool full = a->batch.n >= AG_BATCH_MAX_BYTES;
    bool hard = a->batch.n >= AG_BATCH_HARD_BYTES;
    bool failed = a->batch.failed;
    if (full)
        pthread_cond_signal(&a->cv);   /* the batcher closes it: no disk I/O in sensors */
    pthread_mutex_unlock(&a->mu);
    if (failed)
        return VG_ENOMEM;
    if (hard)
        flush(a, false);                /* the batcher is behind: the sensor waits (bounded memory) */
    return VG_OK;
}

static void deadline_in(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += ms * 1000000L;
    while (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The batcher: closes batches when full or a second old (compression and
 * the spool's fsyncs happen here, not in the sensors' threads). */
static void *batcher_thread(void *arg)
{
    ag *a = arg;
    while (!ag_stopping(a)) {
        /* sleep until the open batch is due (or a first row or a full batch wakes us) */
        pthread_mutex_lock(&a->mu);
        if (!ag_stopping(a) && a->batch.n < AG_BATCH_MAX_BYTES) {
            uint64_t now = vg_mono_ns(), wait_ms = BATCHER_IDLE_MS;
            if (a->batch.n > 0)
                wait_ms = now - a->batch_first_ns >= AG_BATCH_MAX_AGE_NS
                              ? 0
                              : (a->batch_first_ns + AG_BATCH_MAX_AGE_NS - now) / 1000000 + 1;
            if (wait_ms > 0) {
                struct timespec ts;
                deadline_in(&ts, (long)wait_ms);
                pthread_cond_timedwait(&a->cv, &a->mu, &ts);
            }
        }
        pthread_mutex_unlock(&a->mu);
        flush(a, false);
    }
    return NULL;
}

/* ---- the sender ---- */

static void *sender_thread(void *arg)
{
    ag *a = arg;
    ag_http *h = NULL;
    vg_diag d = { "" };
    if (ag_http_new(&a->http_opts, &h, &d) != VG_OK) {
        vg_log(VG_LOG_ERROR, "sender", VG_LS("error", d.msg));
        return NULL;
    }
    ag_http_set_token(h, a->cred.token);
    vg_buf data, resp;
    vg_buf_init(&data, 0);
    vg_buf_init(&resp, AG_HTTP_RESP_MAX);
    unsigned failures = 0;
    uint64_t next_try = 0;
    uint32_t rnd = (uint32_t)getpid() ^ (uint32_t)vg_mono_ns();
    while (!ag_stopping(a)) {
        uint64_t now = vg_mono_ns();
        uint64_t seq;
        pthread_mutex_lock(&a->mu);
        uint64_t seen = a->spooled;   /* a batch spooled after this is not waited past */
        pthread_mutex_unlock(&a->mu);
        vg_err e = now < next_try ? VG_EBUSY : ag_spool_oldest(a->spool, &seq, &data, &d);
        if (e == VG_ECORRUPT) {
            vg_log(VG_LOG_ERROR, "spool", VG_LS("error", d.msg));
            continue;
        }
        if (e != VG_OK) {
            /* backing off: sleep until the next try; nothing to send:
             * until a batch is spooled (no periodic wake-ups when idle) */
            long wait_ms = SENDER_IDLE_MS;
            if (now < next_try)
                wait_ms = (long)((next_try - now) / 1000000) + 1;
            else if (e != VG_ENOTFOUND)
                wait_ms = SENDER_RETRY_MS;   /* the spool could not be read: try again soon */
            struct timespec ts;
            deadline_in(&ts, wait_ms);
            pthread_mutex_lock(&a->mu);
            while (!ag_stopping(a) && (now < next_try || a->spooled == seen))
                if (pthread_cond_timedwait(&a->send_cv, &a->mu, &ts) == ETIMEDOUT)
                    break;
            pthread_mutex_unlock(&a->mu);
            continue;
        }
        char path[512];
        snprintf(path, sizeof path, "/api/v1/ingest?format=ndjson&device=%s&seq=%" PRIu64,
                 a->id.device_id, seq);
        long status = 0;
        e = ag_http_do(h, "POST", path, data.p, data.n, "application/x-ndjson", "zstd",
                       &status, &resp, &d);
        if (e == VG_OK && status == 200) {
            if (ag_spool_ack(a->spool, seq, &d) != VG_OK)
                vg_log(VG_LOG_ERROR, "spool ack", VG_LS("error", d.msg));
            if (failures)
                vg_log(VG_LOG_INFO, "delivery resumed", VG_LI("seq", seq));
            failures = 0;
            continue;
        }
        if (e == VG_OK && (status == 400 || status == 413 || status == 415)) {
            /* the server will never take this batch: keeping it would block all after it */
            vg_log(VG_LOG_ERROR, "batch refused by the server, removed", VG_LI("seq", seq),
                   VG_LI("status", status), VG_LS("answer", resp.p ? resp.p : ""));
            ag_count_stat(a, "batchesRefused", 1);
            ag_spool_ack(a->spool, seq, &d);
            continue;
        }
        failures++;
        rnd = rnd * 1103515245u + 12345u;
        uint64_t wait = ag_backoff_ms(failures, rnd >> 8);
        next_try = vg_mono_ns() + wait * 1000000ull;
        vg_log(failures == 1 ? VG_LOG_WARN : VG_LOG_DEBUG, "delivery failed, retrying",
               VG_LI("seq", seq), VG_LI("status", status), VG_LS("error", e ? d.msg : ""),
               VG_LI("retry_ms", wait));
    }
    vg_buf_free(&data);
    vg_buf_free(&resp);
    ag_http_free(h);
    return NULL;
}

/* ---- heartbeats, actions, indicators ---- */

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void heartbeat_body(ag *a, double cpu_pct, vg_buf *b)
{
    ag_spool_stats st;
    ag_spool_stats_get(a->spool, &st);
    pthread_mutex_lock(&a->mu);
    vg_buf_printf(b, "{\"AgentVersion\":\"%s\",\"Health\":\"%s\",\"IsolationState\":\"%s\","
                  "\"Spool\":{\"Bytes\":%" PRIu64 ",\"Batches\":%" PRIu64 ",\"Dropped\":%" PRIu64
                  ",\"Corrupt\":%" PRIu64 ",\"LastSeq\":%" PRIu64 "},\"Drops\":{",
                  AG_VERSION, a->degraded ? "Degraded" : "Active",
                  atomic_load(&a->isolated) ? "Isolated" : "NotIsolated", st.bytes, st.batches,
                  a->rows_spool_dropped, st.corrupt, st.last_seq);
    for (int i = 0; i < AG_NSENSORS; i++)
        vg_buf_printf(b, "%s\"%s\":%" PRIu64, i ? "," : "", sensor_names[i], a->drops[i]);
    vg_buf_puts(b, "},\"Counters\":{");
    for (int i = 0; i < STATS_MAX && a->stats[i].name; i++)
        vg_buf_printf(b, "%s\"%s\":%" PRIu64, i ? "," : "", a->stats[i].name, a->stats[i].n);
    pthread_mutex_unlock(&a->mu);
    vg_buf_printf(b, "},\"Cpu\":%.3f,\"RssBytes\":%" PRIu64 ",\"ProcessCache\":%zu}", cpu_pct,
                  rss_bytes(), ag_pcache_count(a->pcache));
}

typedef struct loop_state {
    ag_http *h;
    vg_buf body, resp;
    double cpu_last, wall_last;
    int64_t pending;
    int64_t server_ind_version;
} loop_state;

static void heartbeat(ag *a, loop_state *L)
{
    double cpu = cpu_seconds(), wall = (double)vg_mono_ns() / 1e9;
    double pct = wall > L->wall_last ? 100.0 * (cpu - L->cpu_last) / (wall - L->wall_last) : 0;
    L->cpu_last = cpu;
    L->wall_last = wall;
    vg_buf_clear(&L->body);
    heartbeat_body(a, pct, &L->body);
    long status;
    vg_diag d = { "" };
    if (ag_http_do(L->h, "POST", "/api/v1/agents/heartbeat", L->body.p, L->body.n,
                   "application/json", NULL, &status, &L->resp, &d) != VG_OK || status != 200) {
        vg_log(VG_LOG_DEBUG, "heartbeat not delivered", VG_LI("status", status),
               VG_LS("error", d.msg));
        return;
    }
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *root;
    if (vg_json_parse(&ar, vg_str_make(L->resp.p, L->resp.n), &root, &d) == VG_OK) {
        int64_t v;
        if (vg_str_to_i64(vg_json_text(vg_json_get(root, "pendingActions")), &v) == VG_OK)
            L->pending = v;
        if (vg_str_to_i64(vg_json_text(vg_json_get(root, "indicatorsVersion")), &v) == VG_OK)
            L->server_ind_version = v;
    }
    vg_arena_free(&ar);
}

static const ag_action *find_action(const ag *a, vg_str type)
{
    if (!a->parts->actions)
        return NULL;
    for (const ag_action *x = a->parts->actions; x->type; x++)
        if (vg_str_eqc(type, x->type))
            return x;
    return NULL;
}

static void run_action(ag *a, loop_state *L, const vg_json *act)
{
    vg_str id = vg_json_text(vg_json_get(act, "id"));
    vg_str type = vg_json_text(vg_json_get(act, "type"));
    if (id.n == 0 || id.n > 128)
        return;
    vg_buf result;
    vg_buf_init(&result, AG_HTTP_RESP_MAX);
    vg_diag d = { "" };
    const ag_action *x = find_action(a, type);
    char idc[130];
    snprintf(idc, sizeof idc, "%.*s", (int)id.n, id.p);
    /* the action sees its own id as params.ActionId (an investigation
     * package is uploaded under it; quarantine metadata records it) */
    vg_buf pj;
    vg_buf_init(&pj, AG_HTTP_RESP_MAX);
    vg_buf_puts(&pj, "{\"ActionId\":");
    vg_buf_put_json_str(&pj, id);
    const vg_json *params = vg_json_get(act, "params");
    for (uint32_t i = 0; params && params->kind == VG_JSON_OBJECT && i < params->n; i++) {
        if (vg_str_eqc(params->kids[i]->key, "ActionId"))
            continue;
        vg_buf_putc(&pj, ',');
        vg_buf_put_json_str(&pj, params->kids[i]->key);
        vg_buf_putc(&pj, ':');
        vg_json_write(&pj, params->kids[i]);
    }
    vg_buf_putc(&pj, '}');
    vg_arena pa;
    vg_arena_init(&pa, 0, 0);
    vg_json *withid = NULL;
    vg_err e;
    if (!x)
        e = vg_diag_set(&d, VG_EUNSUPPORTED, "action type '%.*s' is not supported by this agent",
                        (int)type.n, type.p);
    else if (pj.failed || vg_json_parse(&pa, vg_str_make(pj.p, pj.n), &withid, &d) != VG_OK)
        e = vg_diag_set(&d, VG_EINVAL, "action %s: its params could not be read", idc);
    else
        e = x->fn(a, withid, &result, &d);
    vg_arena_free(&pa);
    vg_buf_free(&pj);
    vg_log(e == VG_OK ? VG_LOG_INFO : VG_LOG_WARN, "response action", VG_LS("id", idc),
           VG_LS("status", e == VG_OK ? "Succeeded" : "Failed"),
           VG_LS("error", e == VG_OK ? "" : d.msg));
    vg_buf_clear(&L->body);
    vg_buf_printf(&L->body, "{\"status\":\"%s\",\"result\":", e == VG_OK ? "Succeeded" : "Failed");
    if (result.n > 0 && !result.failed)
        vg_buf_putstr(&L->body, vg_str_make(result.p, result.n));
    else
        vg_buf_puts(&L->body, "{}");
    if (e != VG_OK) {
        vg_buf_puts(&L->body, ",\"error\":");
        vg_buf_put_json_str(&L->body, vg_str_c(d.msg));
    }
    vg_buf_putc(&L->body, '}');
    char path[256];
    snprintf(path, sizeof path, "/api/v1/agents/actions/%.*s", (int)id.n, id.p);
    long status;
    if (ag_http_do(L->h, "POST", path, L->body.p, L->body.n, "application/json", NULL,
                   &status, &L->resp, &d) != VG_OK || status != 200)
        vg_log(VG_LOG_WARN, "action result not delivered", VG_LI("status", status),
               VG_LS("error", d.msg));
    vg_buf_free(&result);
}

static void poll_actions(ag *a, loop_state *L)
{
    long status;
    vg_diag d = { "" };
    if (ag_http_do(L->h, "GET", "/api/v1/agents/actions", NULL, 0, NULL, NULL, &status,
                   &L->resp, &d) != VG_OK || status != 200)
        return;
    L->pending = 0;
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *root;
    if (vg_json_parse(&ar, vg_str_make(L->resp.p, L->resp.n), &root, &d) == VG_OK) {
        const vg_json *v = vg_json_get(root, "value");
        for (uint32_t i = 0; v && v->kind == VG_JSON_ARRAY && i < v->n && i < ACTIONS_MAX; i++)
            run_action(a, L, v->kids[i]);
    } else {
        vg_log(VG_LOG_WARN, "actions answer", VG_LS("error", d.msg));
    }
    vg_arena_free(&ar);
}

static void ind_remove(ag *a, vg_str id)
{
    for (size_t i = 0; i < a->nind; i++)
        if (vg_str_eqc(id, a->ind[i].id)) {
            a->ind[i] = a->ind[--a->nind];
            return;
        }
}

static void poll_indicators(ag *a, loop_state *L)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/agents/indicators?since=%" PRId64, a->ind_version);
    long status;
    vg_diag d = { "" };
    if (ag_http_do(L->h, "GET", path, NULL, 0, NULL, NULL, &status, &L->resp, &d) != VG_OK ||
        status != 200)
        return;
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *root;
    bool changed = false;
    if (vg_json_parse(&ar, vg_str_make(L->resp.p, L->resp.n), &root, &d) != VG_OK) {
        vg_log(VG_LOG_WARN, "indicators answer", VG_LS("error", d.msg));
        goto out;
    }
    int64_t version;
    if (vg_str_to_i64(vg_json_text(vg_json_get(root, "version")), &version) != VG_OK ||
        version == a->ind_version)
        goto out;
    if (vg_str_eqc(vg_json_text(vg_json_get(root, "full")), "true")) {
        /* the whole live set: whatever is not listed is gone (expired, deleted) */
        changed = a->nind > 0;
        a->nind = 0;
    }
    const vg_json *rm = vg_json_get(root, "removed");
    for (uint32_t i = 0; rm && rm->kind == VG_JSON_ARRAY && i < rm->n; i++) {
        ind_remove(a, vg_json_text(rm->kids[i]));
        changed = true;
    }
    const vg_json *v = vg_json_get(root, "value");
    for (uint32_t i = 0; v && v->kind == VG_JSON_ARRAY && i < v->n; i++) {
        const vg_json *x = v->kids[i];
        vg_str id = vg_json_text(vg_json_get(x, "id"));
        ind_remove(a, id);
        if (a->nind == AG_INDICATORS_MAX) {
            vg_log(VG_LOG_WARN, "indicators over the limit", VG_LI("max", AG_INDICATORS_MAX));
            break;
        }
        ag_indicator *n = &a->ind[a->nind++];
        vg_str_copy_c(n->id, sizeof n->id, id);
        vg_str_copy_c(n->type, sizeof n->type, vg_json_text(vg_json_get(x, "indicatorType")));
        vg_str_copy_c(n->value, sizeof n->value, vg_json_text(vg_json_get(x, "indicatorValue")));
        vg_str_copy_c(n->action, sizeof n->action, vg_json_text(vg_json_get(x, "action")));
        changed = true;
    }
    a->ind_version = version;
    if (changed && a->parts->indicators_changed)
        a->parts->indicators_changed(a, a->ind, a->nind);
    vg_log(VG_LOG_INFO, "indicators", VG_LI("version", version), VG_LI("count", a->nind));
out:
    vg_arena_free(&ar);
}

/* ---- start-up ---- */

static vg_err prepare_state(ag *a, vg_diag *d)
{
    if (mkdir(a->s.state, 0700) != 0 && errno != EEXIST)
        return vg_diag_set(d, VG_EIO, "state directory %s: %s", a->s.state, strerror(errno));
    if (chmod(a->s.state, 0700) != 0)
        return vg_diag_set(d, VG_EIO, "state directory %s: %s", a->s.state, strerror(errno));
    snprintf(a->id.state_dir, sizeof a->id.state_dir, "%s", a->s.state);
    return VG_OK;
}

static vg_err identity(ag *a, vg_diag *d)
{
    vg_err e = ag_cred_load(a->s.state, &a->cred, d);
    if (e != VG_OK && e != VG_ENOTFOUND)
        return e;
    if (a->s.server && a->s.server[0])
        snprintf(a->cred.server, sizeof a->cred.server, "%s", a->s.server);
    if (!a->cred.server[0])
        return vg_diag_set(d, VG_EINVAL, "no server: give --server URL");
    a->http_opts = (ag_http_opts){ a->cred.server, a->s.cacert, a->s.insecure_skip_verify };
    if (e == VG_ENOTFOUND) {
        if (!a->s.enroll_token || !a->s.enroll_token[0])
            return vg_diag_set(d, VG_EAUTH, "not enrolled yet (%s/credential.json missing): give "
                                            "--enroll-token T", a->s.state);
        ag_http *h;
        e = ag_http_new(&a->http_opts, &h, d);
        if (e != VG_OK)
            return e;
        e = ag_enroll(h, a->s.enroll_token, AG_VERSION, &a->cred, d);
        ag_http_free(h);
        if (e != VG_OK)
            return e;
        e = ag_cred_save(a->s.state, &a->cred, d);
        if (e != VG_OK)
            return e;
        vg_log(VG_LOG_INFO, "enrolled", VG_LS("device", a->cred.device_id));
    } else if (a->s.server && a->s.server[0]) {
        ag_cred_save(a->s.state, &a->cred, d);   /* remember a changed server */
    }
    snprintf(a->id.device_id, sizeof a->id.device_id, "%s", a->cred.device_id);
    vg_buf tmp;
    vg_buf_init(&tmp, 1 << 20);
    if (ag_enroll_body(AG_VERSION, &tmp, a->id.device_name, sizeof a->id.device_name, d) != VG_OK)
        gethostname(a->id.device_name, sizeof a->id.device_name - 1);
    vg_buf_free(&tmp);
    return VG_OK;
}

static bool sensor_wanted(const ag *a, const char *name)
{
    vg_str list = vg_str_c(a->s.sensors);
    while (list.n > 0) {
        ptrdiff_t c = vg_str_chr(list, ',');
        vg_str item = vg_str_trim(vg_str_make(list.p, c < 0 ? list.n : (size_t)c));
        if (vg_str_eqc(item, name) || vg_str_eqc(item, "all"))
            return true;
        list = c < 0 ? vg_str_make(NULL, 0) : vg_str_make(list.p + c + 1, list.n - (size_t)c - 1);
    }
    return false;
}

#define SENSORS_MAX 16

int ag_main(int argc, char **argv, const ag_parts *parts)
{
    int rc = 1;
    vg_arena cfg_arena;
    vg_arena_init(&cfg_arena, 0, 0);
    vg_diag d = { "" };
    ag *a = calloc(1, sizeof *a);
    loop_state L = { 0 };
    void *sstate[SENSORS_MAX] = { 0 };
    const ag_sensor *started[SENSORS_MAX] = { 0 };
    size_t nstarted = 0;
    pthread_t sender, batcher;
    bool sender_on = false, batcher_on = false, response_on = false;
    vg_buf_init(&L.body, 0);
    vg_buf_init(&L.resp, AG_HTTP_RESP_MAX);
    if (!a)
        goto out;
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->flush_mu, NULL);
    pthread_mutex_init(&a->req_mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    pthread_cond_init(&a->send_cv, NULL);
    vg_buf_init(&a->batch, 0);
    a->parts = parts;

    vg_cfg_args args = { 0 };
    if (vg_cfg_parse_args(&ag_spec, argc, argv, 1, &a->s, &args, &cfg_arena, &d) != VG_OK) {
        fprintf(stderr, "vigil-agent: %s\n", d.msg);
        rc = 2;
        goto out;
    }
    if (args.help) {
        vg_cfg_help(&ag_spec, stdout);
        rc = 0;
        goto out;
    }
    if (args.npos > 0) {
        fprintf(stderr, "vigil-agent: unexpected argument '%s' (see --help)\n", args.pos[0]);
        rc = 2;
        goto out;
    }
    int lvl = vg_log_level_parse(a->s.log_level), fmt = vg_log_format_parse(a->s.log_format);
    if (lvl < 0 || fmt < 0) {
        fprintf(stderr, "vigil-agent: bad --log-level or --log-format\n");
        rc = 2;
        goto out;
    }
    vg_log_setup((vg_log_level)lvl, (vg_log_format)fmt, stderr);

    /* SIGTERM/SIGINT are taken by the main loop (sigtimedwait): every thread
     * created from here on inherits the blocked mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* idle footprint: small thread stacks (the agent's threads keep their
     * big buffers on the heap), few malloc arenas, and large blocks handed
     * back to the system when freed (a fixed mmap threshold) */
    pthread_attr_t tattr;
    if (pthread_attr_init(&tattr) == 0) {
        if (pthread_attr_setstacksize(&tattr, AG_THREAD_STACK) == 0)
            pthread_setattr_default_np(&tattr);
        pthread_attr_destroy(&tattr);
    }
    mallopt(M_ARENA_MAX, AG_MALLOC_ARENAS);
    mallopt(M_MMAP_THRESHOLD, AG_MMAP_THRESHOLD);

    char spool_dir[4200];
    if (prepare_state(a, &d) != VG_OK || identity(a, &d) != VG_OK)
        goto fail;
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", a->s.state);
    if (ag_spool_open(spool_dir, (uint64_t)a->s.spool_max, &a->spool, &d) != VG_OK)
        goto fail;
    if (ag_pcache_new("/proc", AG_PROC_CACHE_MAX, &a->pcache) != VG_OK ||
        ag_hash_cache_new(AG_HASH_CACHE_MAX, &a->hcache) != VG_OK ||
        !(a->ind = calloc(AG_INDICATORS_MAX, sizeof *a->ind))) {
        vg_diag_set(&d, VG_ENOMEM, "caches");
        goto fail;
    }
    {
        ag_spool_stats st;
        ag_spool_stats_get(a->spool, &st);
        vg_log(VG_LOG_INFO, "vigil-agent starting", VG_LS("version", AG_VERSION),
               VG_LS("device", a->id.device_id), VG_LS("server", a->cred.server),
               VG_LI("spooled_batches", st.batches), VG_LI("last_seq", st.last_seq));
    }
    if (pthread_create(&batcher, NULL, batcher_thread, a) != 0) {
        vg_diag_set(&d, VG_EIO, "batcher thread");
        goto fail;
    }
    batcher_on = true;
    if (parts->response_start) {
        if (parts->response_start(a, &d) != VG_OK) {
            vg_log(VG_LOG_ERROR, "response start", VG_LS("error", d.msg));
            a->degraded = true;
        } else {
            response_on = true;
        }
    }
    for (size_t i = 0; parts->sensors && parts->sensors[i] && nstarted < SENSORS_MAX; i++) {
        const ag_sensor *s = parts->sensors[i];
        if (!sensor_wanted(a, s->name))
            continue;
        if (s->start(a, &sstate[nstarted], &d) != VG_OK) {
            vg_log(VG_LOG_ERROR, "sensor did not start", VG_LS("sensor", s->name),
                   VG_LS("error", d.msg));
            a->degraded = true;
            continue;
        }
        started[nstarted++] = s;
        vg_log(VG_LOG_INFO, "sensor started", VG_LS("sensor", s->name));
    }
    if (a->s.drop_caps && ag_drop_caps(&d) != VG_OK)
        vg_log(VG_LOG_WARN, "capabilities not dropped", VG_LS("error", d.msg));
    if (pthread_create(&sender, NULL, sender_thread, a) != 0) {
        vg_diag_set(&d, VG_EIO, "sender thread");
        goto fail;
    }
    sender_on = true;
    if (ag_http_new(&a->http_opts, &L.h, &d) != VG_OK)
        goto fail;
    ag_http_set_token(L.h, a->cred.token);

    uint64_t next_hb = 0, next_poll = 0;
    L.cpu_last = cpu_seconds();
    L.wall_last = (double)vg_mono_ns() / 1e9;
    for (;;) {
        uint64_t now = vg_mono_ns();
        if (now >= next_hb) {
            heartbeat(a, &L);
            malloc_trim(0);   /* what bursts (a storm, a snapshot) left free goes back */
            next_hb = now + (uint64_t)a->s.heartbeat_interval * 1000000000ull;
        }
        if (now >= next_poll || L.pending > 0 || L.server_ind_version != a->ind_version) {
            poll_actions(a, &L);
            poll_indicators(a, &L);
            L.server_ind_version = a->ind_version;
            next_poll = vg_mono_ns() + (uint64_t)a->s.poll_interval * 1000000000ull;
        }
        /* asleep until the next heartbeat or poll (or a signal) */
        uint64_t next = next_hb < next_poll ? next_hb : next_poll, t = vg_mono_ns();
        uint64_t wait_ns = next > t ? next - t : 0;
        struct timespec ts = { (time_t)(wait_ns / 1000000000ull), (long)(wait_ns % 1000000000ull) };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            vg_log(VG_LOG_INFO, "stopping", VG_LS("signal", sig == SIGTERM ? "TERM" : "INT"));
            break;
        }
    }
    rc = 0;
    goto stop;
fail:
    vg_log(VG_LOG_ERROR, "vigil-agent", VG_LS("error", d.msg));
    fprintf(stderr, "vigil-agent: %s\n", d.msg);
    rc = 1;
stop:
    atomic_store(&a->stop, true);
    for (size_t i = nstarted; i-- > 0;)
        started[i]->stop(a, sstate[i]);
    if (response_on && parts->response_stop)
        parts->response_stop(a);
    pthread_mutex_lock(&a->mu);
    pthread_cond_broadcast(&a->cv);
    pthread_cond_broadcast(&a->send_cv);
    pthread_mutex_unlock(&a->mu);
    if (sender_on)
        pthread_join(sender, NULL);
    if (batcher_on)
        pthread_join(batcher, NULL);
    if (a->spool) {
        flush(a, true);   /* the open batch goes to the spool: sent on the next start */
        vg_buf_clear(&L.body);
        heartbeat_body(a, 0, &L.body);
        vg_log(VG_LOG_INFO, "stopped", VG_LS("counters", vg_buf_cstr(&L.body)));
    }
out:
    if (a) {
        ag_http_free(L.h);
        ag_http_free(a->req_h);
        ag_spool_close(a->spool);
        ag_pcache_free(a->pcache);
        ag_hash_cache_free(a->hcache);
        free(a->ind);
        vg_buf_free(&a->batch);
        free(a);
    }
    vg_buf_free(&L.body);
    vg_buf_free(&L.resp);
    vg_arena_free(&cfg_arena);
    return rc;
}
