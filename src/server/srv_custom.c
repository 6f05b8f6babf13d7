/*
 * srv_custom.c - custom detection rules in vigild: the Graph-shaped routes
 * (/api/v1/security/rules/detectionRules), runs on demand, and the
 * scheduler thread that runs every enabled rule when it is due.
 *
 * The rules themselves (model, checks, runs, state.db) are src/detect's
 * vg_cd_ module (vg_custom.h); this file adds HTTP, threads and the order a
 * run's results are made durable in:
 *   1. the alert rows go to the event store in ONE vg_store_append (fsync);
 *   2. the incident engine gets them (vg_srv_incidents_alerts);
 *   3. one state.db transaction records the hits, the run and the rule's
 *      last_* columns.
 * A crash between 1 and 3 makes the rerun raise the same AlertIds again: the
 * event store may then hold a second AlertInfo row with that AlertId, which
 * the incident engine ignores (it knows the AlertId).
 *
 * Scheduling: one thread wakes every --detections-tick seconds (and at once
 * when a rule is created or changed). A rule with period P ran last at its
 * scheduled time L; its runs due are L + kP <= now, each with now() = its
 * scheduled time and a window of the period's lookback, in order; after
 * downtime at most lookback/P of them run (the older ones are skipped and
 * counted in the log). A new rule runs at once over its lookback. NRT rules
 * run every tick over [L - 5 min, now] (lateness of arriving events). A
 * failing run is recorded as failed with its error and the schedule moves
 * on. Runs (scheduled or on demand) are serialised by one mutex, so one rule
 * never runs twice at once and hits are checked against committed ones.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/vg_log.h"
#include "../detect/vg_custom.h"
#include "../state/vg_state.h"
#include "vg_srv_int.h"

#define CUSTOM_MAX_DUE 64           /* scheduled runs of one rule taken in one pass */
#define CUSTOM_DEFAULT_TOP 100      /* runs listed by GET .../runs */
#define CUSTOM_MAX_TOP 1000

struct vg_srv_custom {
    sqlite3 *db;
    pthread_mutex_t run_mu;         /* one run at a time */
    pthread_mutex_t mu;             /* stop, wake */
    pthread_cond_t cv;
    bool stop, wake;
    bool thread_started;
    pthread_t th;
    int cancel;                     /* set at shutdown: the running query stops */
    atomic_uint_fast64_t runs_ok, runs_failed, runs_truncated, alerts, skipped;
};

static int64_t now_ms(void) { return vg_state_now_ms(); }

/* ---- one run ---- */

typedef struct known_ctx {
    sqlite3 *db;
    int64_t id;
} known_ctx;

static bool known_hit(void *ctx, vg_str hit)
{
    known_ctx *k = ctx;
    return vg_cd_db_known(k->db, k->id, hit);
}

/*
 * Runs rule id with now = scheduled_ms over [tmin_ms, scheduled_ms] and
 * records it (a scheduled run moves the rule's last_run_end). *run_id is the
 * detection_runs row; VG_ENOTFOUND when the rule is gone; VG_EBUSY when
 * vigild is stopping (nothing recorded: the run stays due).
 */
static vg_err run_rule(vg_srv *s, int64_t id, int64_t scheduled_ms, int64_t tmin_ms, bool scheduled,
                       int64_t *run_id, vg_diag *d)
{
    struct vg_srv_custom *c = s->custom;
    const vg_srv_settings *cfg = s->cfg;
    pthread_mutex_lock(&c->run_mu);
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_cd_runspec rs;
    vg_cd_outcome o;
    memset(&o, 0, sizeof o);
    vg_err e = vg_cd_db_runspec(c->db, id, &a, &rs, d);
    if (e)
        goto out;
    rs.time_min_ms = tmin_ms;
    rs.time_max_ms = scheduled_ms;
    rs.max_rows = (uint64_t)cfg->hunt_max_rows;
    rs.timeout_ms = (uint64_t)cfg->hunt_timeout * 1000;
    rs.max_memory = (size_t)cfg->hunt_max_memory;
    rs.geo = s->geo;
    rs.cancel = &c->cancel;
    int64_t started = now_ms();
    known_ctx kc = { c->db, id };
    vg_diag rd;
    vg_diag_clear(&rd);
    vg_err re = vg_cd_run(s->store, &rs, known_hit, &kc, &o, &rd);
    if (re && __atomic_load_n(&c->cancel, __ATOMIC_RELAXED)) {
        e = vg_diag_set(d, VG_EBUSY, "vigild is stopping; the run stays due");
        goto out;
    }
    char note[VG_DIAG_MAX + 64];
    note[0] = 0;
    if (!re && o.alerts) {
        vg_batch *v[2] = { &o.info, &o.evidence };
        size_t nb = o.evidence.nrows ? 2 : 1;
        vg_diag ad;
        vg_diag_clear(&ad);
        if ((re = vg_store_append(s->store, v, nb, &ad)))
            vg_diag_set(&rd, re, "storing the alerts failed: %s", ad.msg);
        else
            vg_srv_incidents_alerts(s, v, nb);
    }
    if (re)
        snprintf(note, sizeof note, "%s", rd.msg[0] ? rd.msg : vg_strerror(re));
    else if (o.dropped)
        snprintf(note, sizeof note, "truncated: %llu more new rows were not alerted (at most %d "
                 "alerts per run)", (unsigned long long)o.dropped, VG_CD_MAX_ALERTS_PER_RUN);
    else if (o.truncated)
        snprintf(note, sizeof note, "truncated: the query returned more than %lld rows",
                 (long long)cfg->hunt_max_rows);
    vg_cd_record rec = { .id = id, .scheduled_ms = scheduled_ms, .started_ms = started,
                         .finished_ms = now_ms(), .scheduled = scheduled, .failed = re != VG_OK,
                         .error = note[0] ? note : NULL, .o = re ? NULL : &o };
    if ((e = vg_cd_db_record(c->db, &rec, run_id, d)))
        goto out;
    if (re) {
        atomic_fetch_add(&c->runs_failed, 1);
        vg_log(VG_LOG_WARN, "custom detection run failed", VG_LI("rule", id),
               VG_LI("scheduled_ms", scheduled_ms), VG_LS("error", note));
    } else {
        atomic_fetch_add(&c->runs_ok, 1);
        if (o.truncated)
            atomic_fetch_add(&c->runs_truncated, 1);
        atomic_fetch_add(&c->alerts, o.alerts);
        vg_log(o.alerts ? VG_LOG_INFO : VG_LOG_DEBUG, "custom detection run", VG_LI("rule", id),
               VG_LI("scheduled_ms", scheduled_ms), VG_LI("rows", o.rows),
               VG_LI("alerts", o.alerts), VG_LI("known", o.known), VG_LI("dropped", o.dropped));
    }
out:
    vg_cd_outcome_free(&o);
    vg_arena_free(&a);
    pthread_mutex_unlock(&c->run_mu);
    return e;
}

/* ---- the scheduler ---- */

static bool stopping(struct vg_srv_custom *c)
{
    pthread_mutex_lock(&c->mu);
    bool st = c->stop;
    pthread_mutex_unlock(&c->mu);
    return st;
}

static void run_due(vg_srv *s, const vg_cd_sched *r)
{
    struct vg_srv_custom *c = s->custom;
    vg_diag d;
    vg_diag_clear(&d);
    int64_t now = now_ms();
    if (r->period->period_ms == 0) {
        int64_t from = (r->last_run_end_ms > 0 ? r->last_run_end_ms : now) - VG_CD_NRT_LATENESS_MS;
        if (run_rule(s, r->id, now, from, true, NULL, &d) && d.msg[0])
            vg_log(VG_LOG_WARN, "custom detection: cannot record the run", VG_LI("rule", r->id),
                   VG_LS("error", d.msg));
        return;
    }
    int64_t due[CUSTOM_MAX_DUE];
    uint32_t n;
    uint64_t skipped;
    vg_cd_due(r->last_run_end_ms, r->period->period_ms, r->period->lookback_ms, now, due,
              CUSTOM_MAX_DUE, &n, &skipped);
    if (skipped) {
        atomic_fetch_add(&c->skipped, skipped);
        vg_log(VG_LOG_WARN, "custom detection: missed runs older than the lookback are skipped",
               VG_LI("rule", r->id), VG_LI("skipped", skipped), VG_LI("catch_up", n));
    }
    for (uint32_t i = 0; i < n && !stopping(c); i++) {
        vg_diag_clear(&d);
        vg_err e = run_rule(s, r->id, due[i], due[i] - r->period->lookback_ms, true, NULL, &d);
        if (e == VG_ENOTFOUND || e == VG_EBUSY)
            return;
        if (e)
            vg_log(VG_LOG_WARN, "custom detection: cannot record the run", VG_LI("rule", r->id),
                   VG_LS("error", d.msg));
    }
}

static void *scheduler(void *arg)
{
    vg_srv *s = arg;
    struct vg_srv_custom *c = s->custom;
    for (;;) {
        if (stopping(c))
            break;
        vg_cd_sched *rules = NULL;
        uint32_t n = 0;
        vg_diag d;
        vg_diag_clear(&d);
        if (vg_cd_db_schedules(c->db, &rules, &n, &d))
            vg_log(VG_LOG_ERROR, "custom detection: cannot read the rules", VG_LS("error", d.msg));
        for (uint32_t i = 0; i < n && !stopping(c); i++)
            if (rules[i].enabled)
                run_due(s, &rules[i]);
        free(rules);
        pthread_mutex_lock(&c->mu);
        if (!c->stop && !c->wake) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += s->cfg->detections_tick > 0 ? s->cfg->detections_tick : 10;
            while (!c->stop && !c->wake)
                if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
                    break;
        }
        c->wake = false;
        pthread_mutex_unlock(&c->mu);
    }
    return NULL;
}

static void wake(vg_srv *s)
{
    struct vg_srv_custom *c = s->custom;
    pthread_mutex_lock(&c->mu);
    c->wake = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

vg_err vg_srv_custom_start(vg_srv *s, vg_diag *d)
{
    struct vg_srv_custom *c = calloc(1, sizeof *c);
    if (!c)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    vg_err e = vg_state_open(s->cfg->data, &c->db, d);
    if (e) {
        free(c);
        return e;
    }
    pthread_mutex_init(&c->run_mu, NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->custom = c;
    if (!s->cfg->detections) {
        vg_log(VG_LOG_INFO, "custom detections: the scheduler is off (--detections=false); "
                            "rules can be managed and run on demand");
        return VG_OK;
    }
    if (pthread_create(&c->th, NULL, scheduler, s)) {
        s->custom = NULL;
        sqlite3_close(c->db);
        free(c);
        return vg_diag_set(d, VG_ENOMEM, "cannot start the custom detection scheduler");
    }
    c->thread_started = true;
    return VG_OK;
}

void vg_srv_custom_stop(vg_srv *s)
{
    struct vg_srv_custom *c = s->custom;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    __atomic_store_n(&c->cancel, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->thread_started)
        pthread_join(c->th, NULL);
    s->custom = NULL;
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->run_mu);
    free(c);
}

/* Rendered by srv_metrics.c into GET /metrics (the lead wires the call;
 * declared here until vg_srv_int.h names it). */
void vg_srv_custom_metrics(vg_srv *s, vg_buf *out)
{
    struct vg_srv_custom *c = s->custom;
    if (!c)
        return;
    vg_buf_printf(out,
                  "# HELP vigil_custom_detection_runs_total Custom detection runs by outcome "
                  "(truncated: succeeded, but more than 100 new rows or the row cap).\n"
                  "# TYPE vigil_custom_detection_runs_total counter\n"
                  "vigil_custom_detection_runs_total{status=\"succeeded\"} %llu\n"
                  "vigil_custom_detection_runs_total{status=\"failed\"} %llu\n"
                  "vigil_custom_detection_runs_total{status=\"truncated\"} %llu\n"
                  "# HELP vigil_custom_detection_alerts_total Alerts raised by custom detection rules.\n"
                  "# TYPE vigil_custom_detection_alerts_total counter\n"
                  "vigil_custom_detection_alerts_total %llu\n"
                  "# HELP vigil_custom_detection_skipped_runs_total Missed scheduled runs older "
                  "than a rule's lookback, skipped at catch-up.\n"
                  "# TYPE vigil_custom_detection_skipped_runs_total counter\n"
                  "vigil_custom_detection_skipped_runs_total %llu\n",
                  (unsigned long long)atomic_load(&c->runs_ok),
                  (unsigned long long)atomic_load(&c->runs_failed),
                  (unsigned long long)atomic_load(&c->runs_truncated),
                  (unsigned long long)atomic_load(&c->alerts),
                  (unsigned long long)atomic_load(&c->skipped));
}

/* ---- routes ---- */

static struct vg_srv_custom *custom_or_503(vg_req *rq)
{
    if (!rq->srv->custom)
        vg_req_json_error(rq, 503, "custom detections are not running");
    return rq->srv->custom;
}


static int status_of(vg_err e)
{
    switch (e) {
    case VG_EINVAL: case VG_EPARSE: case VG_ETYPE: case VG_ELIMIT: case VG_EUNSUPPORTED:
        return 400;
    case VG_ENOTFOUND: return 404;
    case VG_EEXIST: return 409;
    case VG_ECONFLICT: return 412;
    case VG_ENOMEM: case VG_EBUSY: return 503;
    default: return 500;
    }
}

static void audit(vg_req *rq, const char *action, int64_t id, vg_str detail)
{
    char oid[24];
    snprintf(oid, sizeof oid, "%lld", (long long)id);
    vg_srv_audit(rq->srv, rq, action, "detectionRule", id > 0 ? oid : NULL, detail);
    rq->audited = true;
}

/* The ETag header (the same W/"version" as the body's "@odata.etag"). */
static void set_etag(vg_req *rq, int64_t version)
{
    snprintf(rq->etag, sizeof rq->etag, "W/\"%lld\"", (long long)version);
}

static vg_str body_of(vg_req *rq) { return vg_str_make(rq->body.p ? rq->body.p : "", rq->body.n); }

static void h_list(vg_req *rq)
{
    struct vg_srv_custom *c = custom_or_503(rq);
    if (!c)
        return;
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_cd_db_rules_json(c->db, &rq->out, &d);
    if (e) {
        vg_req_json_error(rq, status_of(e), "%s", d.msg);
        return;
    }
    rq->status = 200;
}

static void h_get(vg_req *rq)
{
    struct vg_srv_custom *c = custom_or_503(rq);
    int64_t id;
    if (!c || !vg_req_id(rq, "detection rule", &id))
        return;
    vg_diag d;
    vg_diag_clear(&d);
    int64_t version = 0;
    vg_err e = vg_cd_db_rule_json(c->db, id, &rq->out, &version, &d);
    if (e) {
        vg_req_json_error(rq, status_of(e), "%s", d.msg);
        return;
    }
    vg_buf_putc(&rq->out, '\n');
    set_etag(rq, version);
    rq->status = 200;
}

static void h_create(vg_req *rq)
{
    struct vg_srv_custom *c = custom_or_503(rq);
    if (!c)
        return;
    vg_arena a;
    vg_arena_init(&a, 0, (size_t)64 << 20);
    vg_diag d;
    vg_diag_clear(&d);
    vg_cd_rule r;
    vg_cd_shape *sh = vg_arena_zalloc(&a, sizeof *sh);
    int64_t id = 0;
    vg_err e = sh ? VG_OK : vg_diag_set(&d, VG_ENOMEM, "out of memory");
    if (!e) e = vg_cd_rule_parse(&a, body_of(rq), NULL, &r, &d);
    if (!e) e = vg_cd_check(rq->srv->store, &r, &a, sh, &d);
    if (!e) e = vg_cd_db_insert(c->db, &r, sh, rq->who.name, &id, &d);
    int64_t version = 0;
    if (!e) e = vg_cd_db_rule_json(c->db, id, &rq->out, &version, &d);
    if (e) {
        vg_req_json_error(rq, status_of(e), "%s", d.msg);
    } else {
        vg_buf_putc(&rq->out, '\n');
        set_etag(rq, version);
        rq->status = 201;
        wake(rq->srv);   /* the first run is at creation */
    }
    vg_buf det;
    vg_buf_init(&det, 1 << 16);
    vg_buf_puts(&det, "{\"displayName\":");
    vg_buf_put_json_str(&det, e ? vg_str_c("") : r.name);
    vg_buf_putc(&det, '}');
    audit(rq, "detectionRule.create", id, vg_str_make(det.p, det.n));
    vg_buf_free(&det);
    vg_arena_free(&a);
}

static void h_patch(vg_req *rq)
{
    struct vg_srv_custom *c = custom_or_503(rq);
    int64_t id, im, version = 0;
    if (!c || !vg_req_id(rq, "detection rule", &id) || !vg_req_if_match(rq, &im))
        return;
    vg_arena a;
    vg_arena_init(&a, 0, (size_t)64 << 20);
    vg_diag d;
    vg_diag_clear(&d);
    vg_cd_rule base, r;
    vg_cd_shape *sh = vg_arena_zalloc(&a, sizeof *sh);
    vg_err e = sh ? VG_OK : vg_diag_set(&d, VG_ENOMEM, "out of memory");
    if (!e) e = vg_cd_db_load(c->db, id, &a, &base, &version, &d);
    if (!e && im >= 0 && im != version)
        e = vg_diag_set(&d, VG_ECONFLICT, "If-Match: the rule is at version %lld, not %lld",
                        (long long)version, (long long)im);
    if (!e) e = vg_cd_rule_parse(&a, body_of(rq), &base, &r, &d);
    if (!e) e = vg_cd_check(rq->srv->store, &r, &a, sh, &d);
    if (!e) e = vg_cd_db_update(c->db, id, &r, sh, im, rq->who.name, &version, &d);
    if (e) {
        vg_req_json_error(rq, status_of(e), "%s", d.msg);
    } else {
        rq->status = 200;
        wake(rq->srv);
    }
    audit(rq, "detectionRule.update", id, body_of(rq).n <= 65536 ? body_of(rq) : VG_STR_NULL);
    /* the answer reads the row after the audit record, so lastModifiedBy is current */
    if (!e) {
        vg_buf_clear(&rq->out);
        if ((e = vg_cd_db_rule_json(c->db, id, &rq->out, &version, &d)))
            vg_req_json_error(rq, status_of(e), "%s", d.msg);
        else {
            vg_buf_putc(&rq->out, '\n');
            set_etag(rq, version);
        }
    }
    vg_arena_free(&a);
}

static void h_delete(vg_req *rq)
{
    struct vg_srv_custom *c = custom_or_503(rq);
    int64_t id, im;
    if (!c || !vg_req_id(rq, "detection rule", &id) || !vg_req_if_match(rq, &im))
        return;
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_cd_db_delete(c->db, id, im, &d);
    if (e)
        vg_req_json_error(rq, status_of(e), "%s", d.msg);
    else
        rq->status = 204;
    audit(rq, "detectionRule.delete", id, VG_STR_NULL);
}

static void h_run(vg_req *rq)
{
    struct vg_srv_custom *c = custom_or_503(rq);
    int64_t id, run_id = 0;
    if (!c || !vg_req_id(rq, "detection rule", &id))
        return;
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_cd_rule r;
    vg_err e = vg_cd_db_load(c->db, id, &a, &r, NULL, &d);
    if (!e) {
        int64_t now = now_ms();
        e = run_rule(rq->srv, id, now, now - r.period->lookback_ms, false, &run_id, &d);
    }
    if (!e) e = vg_cd_db_run_json(c->db, run_id, &rq->out, &d);
    if (e)
        vg_req_json_error(rq, status_of(e), "%s", d.msg);
    else {
        vg_buf_putc(&rq->out, '\n');
        rq->status = 200;
    }
    char det[64];
    snprintf(det, sizeof det, "{\"runId\":%lld}", (long long)run_id);
    audit(rq, "detectionRule.run", id, vg_str_c(det));
    vg_arena_free(&a);
}

static void h_runs(vg_req *rq)
{
    struct vg_srv_custom *c = custom_or_503(rq);
    int64_t id, top = CUSTOM_DEFAULT_TOP;
    if (!c || !vg_req_id(rq, "detection rule", &id))
        return;
    const char *t = vg_req_arg(rq, "$top");
    if (t && (vg_str_to_i64(vg_str_c(t), &top) || top < 1 || top > CUSTOM_MAX_TOP)) {
        vg_req_json_error(rq, 400, "$top: a number from 1 to %d", CUSTOM_MAX_TOP);
        return;
    }
    vg_diag d;
    vg_diag_clear(&d);
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_cd_rule r;
    vg_err e = vg_cd_db_load(c->db, id, &a, &r, NULL, &d);
    vg_arena_free(&a);
    if (!e) e = vg_cd_db_runs_json(c->db, id, top, &rq->out, &d);
    if (e) {
        vg_req_json_error(rq, status_of(e), "%s", d.msg);
        return;
    }
    rq->status = 200;
}

#define DR "/api/v1/security/rules/detectionRules"

const vg_route vg_routes_detections[] = {
    { "GET", DR, h_list, VG_ROLES_READERS,
      "custom detection rules (Graph detectionRule): {\"value\":[rule...]}; viewer, analyst, "
      "responder or admin" },
    { "POST", DR, h_create, VG_ROLES_TUNERS,
      "create a custom detection rule (KQL + schedule.period 0|1H|3H|12H|24H + alertTemplate); "
      "400 with the reason when the query or rule is not valid, 409 on a duplicate name; "
      "analyst or admin" },
    { "GET", DR "/{id}", h_get, VG_ROLES_READERS,
      "one custom detection rule with its lastRunDetails; viewer, analyst, responder or admin" },
    { "PATCH", DR "/{id}", h_patch, VG_ROLES_TUNERS,
      "change a custom detection rule (checked again); If-Match W/\"version\" -> 412 when "
      "stale; analyst or admin" },
    { "DELETE", DR "/{id}", h_delete, VG_ROLES_TUNERS,
      "delete a custom detection rule with its run history; If-Match honoured; analyst or admin" },
    { "POST", DR "/{id}/run", h_run, VG_ROLES_TUNERS,
      "run a custom detection rule now over its lookback; answers the run record; analyst or "
      "admin" },
    { "GET", DR "/{id}/runs", h_runs, VG_ROLES_READERS,
      "a rule's runs, newest first ($top, default 100): scheduled time, status, rows, alerts, "
      "truncated, failureReason; viewer, analyst, responder or admin" },
    { NULL, NULL, NULL, 0, NULL },
};
