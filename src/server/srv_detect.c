/*
 * srv_detect.c - detection inside vigild: Sigma rules on every ingested
 * batch, alerts stored with the events that caused them, hot reload.
 *
 * The ingest handler hands each request's decoded batches to
 * vg_srv_detect_run before the store append; the alerter (vg_alert.h)
 * writes AlertInfo/AlertEvidence rows into a batch set whose batches join
 * the same vg_store_append, so alerts are durable exactly when the events
 * are and a client's 200 covers both. One alerter serves all requests
 * (behind a mutex): correlations and duplicate suppression need to see
 * every event, and one core detects faster than the WAL fsyncs.
 *
 * Reload (SIGHUP, or POST /api/v1/rules/reload) compiles the new rule set
 * while ingestion goes on with the old one, then swaps it in between two
 * batches: no event is ever scanned by neither. A rule set that fails to
 * build (bad path, bad option) leaves the running one in place.
 *
 * Routes: GET /api/v1/rules (viewer+): the build report, failures and every
 * rule with its state; POST /api/v1/rules/reload (admin): rebuild now.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/vg_log.h"
#include "vg_srv_int.h"

struct vg_srv_detect {
    pthread_mutex_t mu;           /* guards al and det (scans and swaps) */
    pthread_mutex_t reload_mu;    /* one rebuild at a time */
    vg_detect *det;
    vg_alerter *al;
    vg_alert_opts ao;
    vg_arena arena;               /* exclusions */
    char cache[4096];
    _Atomic uint64_t rows, matches, alerts, suppressed, excluded, errors, reloads, reload_failures;
};

static vg_err build(vg_srv *s, vg_detect **out, vg_diag *d)
{
    const vg_srv_settings *c = s->cfg;
    vg_detect_opts o;
    memset(&o, 0, sizeof o);
    for (uint32_t i = 0; i < c->detect_rules.n; i++)
        o.paths[o.npaths++] = c->detect_rules.v[i];
    if (!o.npaths)
        o.npaths = vg_detect_default_paths(o.paths, VG_DETECT_MAX_PATHS);
    for (uint32_t i = 0; i < c->detect_enable.n; i++)
        o.enable[o.nenable++] = c->detect_enable.v[i];
    for (uint32_t i = 0; i < c->detect_disable.n; i++)
        o.disable[o.ndisable++] = c->detect_disable.v[i];
    if (!sg_level_parse(vg_str_c(c->detect_min_level), &o.min_level))
        return vg_diag_set(d, VG_EINVAL, "detect-min-level: expected informational, low, medium, "
                           "high or critical, got '%s'", c->detect_min_level);
    o.placeholders = c->detect_placeholders[0] ? c->detect_placeholders : NULL;
    o.portable = c->detect_portable;
    o.cache_dir = s->detect->cache;
    if (!o.npaths) {
        /* no pack installed: run with no rules rather than refuse to start */
        vg_log(VG_LOG_WARN, "no Sigma rules found (set detect-rules, VIGIL_RULES, or run `make rules`)");
    }
    uint64_t t0 = vg_mono_ns();
    vg_err e = vg_detect_build(&o, out, d);
    if (e)
        return e;
    const vg_detect_report *r = vg_detect_get_report(*out);
    for (uint32_t i = 0; i < r->nfailures && i < 100; i++)
        vg_log(VG_LOG_WARN, "rule failed to compile", VG_LS("file", r->failures[i].file.p),
               VG_LS("reason", r->failures[i].reason.p));
    vg_log(VG_LOG_INFO, "rules loaded", VG_LI("files", r->files), VG_LI("rules", r->total),
           VG_LI("compiled", r->compiled), VG_LI("failed", r->nfailures), VG_LI("enabled", r->enabled),
           VG_LI("no_source", r->unrouted), VG_LI("patterns", r->patterns),
           VG_LS("backend", vg_detect_backend(*out)),
           VG_LI("build_ms", (int64_t)((vg_mono_ns() - t0) / 1000000)));
    return VG_OK;
}

vg_err vg_srv_detect_start(vg_srv *s, vg_diag *d)
{
    if (!s->cfg->detect)
        return VG_OK;
    struct vg_srv_detect *sd = calloc(1, sizeof *sd);
    if (!sd)
        return VG_ENOMEM;
    pthread_mutex_init(&sd->mu, NULL);
    pthread_mutex_init(&sd->reload_mu, NULL);
    vg_arena_init(&sd->arena, 0, 0);
    /* compiled databases are shared by every vigild and vigil of the user
     * (keyed by content), else kept in the data directory */
    if (s->cfg->detect_cache[0]) {
        snprintf(sd->cache, sizeof sd->cache, "%s", s->cfg->detect_cache);
    } else if (!vg_detect_default_cache(sd->cache, sizeof sd->cache)) {
        snprintf(sd->cache, sizeof sd->cache, "%s/cache", s->cfg->data);
        mkdir(sd->cache, 0700);
        snprintf(sd->cache, sizeof sd->cache, "%s/cache/hyperscan", s->cfg->data);
    }
    s->detect = sd;
    const vg_srv_settings *c = s->cfg;
    sd->ao.suppress_window = c->detect_suppress * VG_TICKS_PER_SEC;
    sd->ao.corr.lateness = c->detect_lateness * VG_TICKS_PER_SEC;
    vg_err e = VG_OK;
    if (c->detect_exclusions[0])
        e = vg_alert_load_exclusions(c->detect_exclusions, &sd->arena,
                                     (vg_alert_exclusion **)&sd->ao.exclusions, &sd->ao.nexclusions, d);
    if (!e)
        e = build(s, &sd->det, d);
    if (!e)
        e = vg_alerter_new(sd->det, &sd->ao, &sd->al, d);
    return e;
}

void vg_srv_detect_reload_refused(vg_srv *s)
{
    if (s->detect)
        s->detect->reload_failures++;
}

void vg_srv_detect_stop(vg_srv *s)
{
    struct vg_srv_detect *sd = s->detect;
    if (!sd)
        return;
    vg_alerter_free(sd->al);
    if (sd->det)
        vg_detect_release(sd->det);
    vg_arena_free(&sd->arena);
    pthread_mutex_destroy(&sd->mu);
    pthread_mutex_destroy(&sd->reload_mu);
    free(sd);
    s->detect = NULL;
}

vg_err vg_srv_detect_reload(vg_srv *s, vg_diag *d)
{
    struct vg_srv_detect *sd = s->detect;
    if (!sd)
        return vg_diag_set(d, VG_EINVAL, "detection is off (detect = false)");
    pthread_mutex_lock(&sd->reload_mu);
    vg_detect *nd = NULL;
    vg_err e = build(s, &nd, d);
    if (!e) {
        pthread_mutex_lock(&sd->mu);
        e = vg_alerter_swap(sd->al, nd, d);
        if (!e) {
            vg_detect_release(sd->det);
            sd->det = nd;
            nd = NULL;
        }
        pthread_mutex_unlock(&sd->mu);
    }
    if (nd)
        vg_detect_release(nd);
    if (e)
        sd->reload_failures++;
    else
        sd->reloads++;
    pthread_mutex_unlock(&sd->reload_mu);
    vg_log(e ? VG_LOG_ERROR : VG_LOG_INFO, e ? "rule reload failed; the running rules stay" : "rules reloaded",
           VG_LS("error", e ? d->msg : ""));
    return e;
}

vg_err vg_srv_detect_run(vg_srv *s, vg_batch *const *v, size_t n, vg_batchset *alerts,
                         uint64_t *nalerts)
{
    struct vg_srv_detect *sd = s->detect;
    *nalerts = 0;
    if (!sd)
        return VG_OK;
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = VG_OK;
    pthread_mutex_lock(&sd->mu);
    vg_alert_stats before, after;
    vg_alerter_stats(sd->al, &before);
    uint64_t rows = 0;
    for (size_t i = 0; i < n && !e; i++) {
        rows += v[i]->nrows;
        e = vg_alerter_batch(sd->al, v[i], alerts, NULL, NULL, &d);
    }
    vg_alerter_stats(sd->al, &after);
    pthread_mutex_unlock(&sd->mu);
    sd->rows += rows;
    sd->matches += after.matches - before.matches;
    sd->alerts += after.alerts - before.alerts;
    sd->suppressed += after.suppressed - before.suppressed;
    sd->excluded += after.excluded - before.excluded;
    *nalerts = after.alerts - before.alerts;
    if (e) {
        sd->errors++;
        vg_log(VG_LOG_ERROR, "detection failed on a batch; its events are stored without alerts",
               VG_LS("error", d.msg));
    }
    return e;
}

void vg_srv_detect_metrics(vg_srv *s, vg_buf *o)
{
    struct vg_srv_detect *sd = s->detect;
    if (!sd)
        return;
    pthread_mutex_lock(&sd->mu);
    const vg_detect_report *r = vg_detect_get_report(sd->det);
    uint32_t enabled = r->enabled, failed = r->nfailures;
    pthread_mutex_unlock(&sd->mu);
    static const struct {
        const char *name, *type, *doc;
        size_t off;
    } m[] = {
        { "vigil_detect_rows_total", "counter", "Rows Sigma detection has scanned.",
          offsetof(struct vg_srv_detect, rows) },
        { "vigil_detect_matches_total", "counter", "Rule matches (before suppression).",
          offsetof(struct vg_srv_detect, matches) },
        { "vigil_alerts_total", "counter", "Alerts raised and stored.",
          offsetof(struct vg_srv_detect, alerts) },
        { "vigil_alerts_suppressed_total", "counter",
          "Matches not raised: same rule and entity inside the suppression window.",
          offsetof(struct vg_srv_detect, suppressed) },
        { "vigil_alerts_excluded_total", "counter", "Matches not raised: an exclusion names them.",
          offsetof(struct vg_srv_detect, excluded) },
        { "vigil_detect_errors_total", "counter", "Batches detection failed on (stored without alerts).",
          offsetof(struct vg_srv_detect, errors) },
        { "vigil_rule_reloads_total", "counter", "Successful rule reloads.",
          offsetof(struct vg_srv_detect, reloads) },
        { "vigil_rule_reload_failures_total", "counter", "Rule reloads that failed (old rules kept).",
          offsetof(struct vg_srv_detect, reload_failures) },
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        vg_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", m[i].name, m[i].doc, m[i].name, m[i].type);
        vg_buf_printf(o, "%s %llu\n", m[i].name,
                      (unsigned long long)*(_Atomic uint64_t *)((char *)sd + m[i].off));
    }
    vg_buf_printf(o, "# HELP vigil_rules_enabled Sigma rules running.\n# TYPE vigil_rules_enabled gauge\n"
                     "vigil_rules_enabled %u\n", enabled);
    vg_buf_printf(o, "# HELP vigil_rules_failed Rule files that failed to compile.\n"
                     "# TYPE vigil_rules_failed gauge\nvigil_rules_failed %u\n", failed);
}

/* ---- routes ---- */

void vg_h_rules(vg_req *rq)
{
    struct vg_srv_detect *sd = rq->srv->detect;
    if (!sd) {
        vg_req_json_error(rq, 404, "detection is off (detect = false)");
        return;
    }
    pthread_mutex_lock(&sd->mu);
    vg_detect *det = vg_detect_retain(sd->det);
    pthread_mutex_unlock(&sd->mu);
    const vg_detect_report *r = vg_detect_get_report(det);
    vg_buf *o = &rq->out;
    vg_buf_printf(o, "{\"backend\":\"%s\",\"files\":%u,\"total\":%u,\"compiled\":%u,\"enabled\":%u,"
                     "\"unrouted\":%u,\"correlations\":%u,\"filters\":%u,\"patterns\":%u,\"failed\":",
                  vg_detect_backend(det), r->files, r->total, r->compiled, r->enabled, r->unrouted,
                  r->correlations, r->filters, r->patterns);
    vg_detect_failures_json(r, o);
    vg_buf_puts(o, ",\"rules\":[");
    for (uint32_t i = 0; i < vg_detect_nrules(det); i++) {
        if (i)
            vg_buf_putc(o, ',');
        vg_detect_rule_json(vg_detect_rule_at(det, i), o);
    }
    vg_buf_puts(o, "]}\n");
    vg_detect_release(det);
    if (o->failed) {
        vg_buf_clear(o);
        vg_req_json_error(rq, 500, "out of memory listing rules");
        return;
    }
    rq->status = 200;
}

void vg_h_rules_reload(vg_req *rq)
{
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_srv_detect_reload(rq->srv, &d);
    vg_log(VG_LOG_INFO, "audit", VG_LS("action", "rules-reload"), VG_LI("req", rq->id),
           VG_LI("token_id", rq->who.id), VG_LS("token", rq->who.name),
           VG_LS("outcome", e ? "failed" : "ok"));
    if (e) {
        vg_req_json_error(rq, e == VG_EINVAL ? 400 : 500, "%s", d.msg);
        return;
    }
    struct vg_srv_detect *sd = rq->srv->detect;
    pthread_mutex_lock(&sd->mu);
    const vg_detect_report *r = vg_detect_get_report(sd->det);
    vg_buf_printf(&rq->out, "{\"reloaded\":true,\"total\":%u,\"compiled\":%u,\"enabled\":%u,\"failed\":%u}\n",
                  r->total, r->compiled, r->enabled, r->nfailures);
    pthread_mutex_unlock(&sd->mu);
    rq->status = 200;
}
