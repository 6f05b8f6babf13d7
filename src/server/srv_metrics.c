/*
 * srv_metrics.c - vigild's counters and GET /metrics (Prometheus text
 * exposition format 0.0.4).
 *
 * Counters are process-wide relaxed atomics, bumped by request threads and
 * read by the metrics handler; a scrape sees each counter at some recent
 * value (no cross-counter snapshot, as usual for Prometheus). Per-table
 * counters are indexed by schema table id, so their label sets are bounded
 * by the schema; reject reasons are a small fixed set (vg_reject_reason),
 * never free text. Store figures come from vg_store_stats_get at scrape time.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../incident/vg_incident.h"
#include "vg_srv_int.h"

/* Upper bounds (seconds) of the ingest latency histogram buckets. */
static const double lat_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,   0.25,   0.5,   1,    2.5,   5,   10 };
#define NBUCKETS (sizeof lat_bounds / sizeof lat_bounds[0])

static const char *const reason_names[VG_RR_COUNT_] = { "json", "type", "table", "limit",
                                                        "other" };

/* HTTP status classes we count separately; anything else lands in "other". */
static const int status_codes[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409, 412, 413,
                                     415, 429, 500, 503 };
#define NSTATUS (sizeof status_codes / sizeof status_codes[0])

typedef struct metrics {
    _Atomic uint64_t *rows;       /* [ntables] */
    _Atomic uint64_t *rejected;   /* [(ntables + 1) * VG_RR_COUNT_]; last row: no table */
    _Atomic uint64_t ingest_req[NSTATUS + 1];
    _Atomic uint64_t http_req[NSTATUS + 1];
    _Atomic uint64_t ingest_bytes;
    _Atomic uint64_t lat_bucket[NBUCKETS + 1];
    _Atomic uint64_t lat_sum_ns;
    _Atomic uint64_t lat_count;
    uint64_t start_ns;
} metrics;

static metrics M;

void vg_metrics_init(void)
{
    free((void *)M.rows);
    free((void *)M.rejected);
    memset(&M, 0, sizeof M);
    M.rows = calloc(vg_schema_ntables, sizeof *M.rows);
    M.rejected = calloc((vg_schema_ntables + 1) * VG_RR_COUNT_, sizeof *M.rejected);
    M.start_ns = vg_mono_ns();
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < NSTATUS; i++)
        if (status_codes[i] == status)
            return i;
    return NSTATUS;
}

void vg_metrics_ingest_rows(const vg_table_def *t, uint64_t n)
{
    if (M.rows && t)
        atomic_fetch_add_explicit(&M.rows[t->id], n, memory_order_relaxed);
}

void vg_metrics_ingest_rejected(const vg_table_def *t, vg_reject_reason r, uint64_t n)
{
    if (!M.rejected || r >= VG_RR_COUNT_)
        return;
    size_t row = t ? t->id : vg_schema_ntables;
    atomic_fetch_add_explicit(&M.rejected[row * VG_RR_COUNT_ + r], n, memory_order_relaxed);
}

void vg_metrics_ingest_request(int status, uint64_t bytes, uint64_t ns)
{
    atomic_fetch_add_explicit(&M.ingest_req[status_slot(status)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&M.ingest_bytes, bytes, memory_order_relaxed);
    double sec = (double)ns / 1e9;
    size_t b = 0;
    while (b < NBUCKETS && sec > lat_bounds[b])
        b++;
    atomic_fetch_add_explicit(&M.lat_bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&M.lat_sum_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&M.lat_count, 1, memory_order_relaxed);
}

void vg_metrics_http_request(int status)
{
    atomic_fetch_add_explicit(&M.http_req[status_slot(status)], 1, memory_order_relaxed);
}

static uint64_t ld(_Atomic uint64_t *p) { return atomic_load_explicit(p, memory_order_relaxed); }

static void help(vg_buf *o, const char *name, const char *type, const char *doc)
{
    vg_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, doc, name, type);
}

static void by_status(vg_buf *o, const char *name, _Atomic uint64_t *v)
{
    for (size_t i = 0; i <= NSTATUS; i++) {
        uint64_t x = ld(&v[i]);
        if (!x)
            continue;
        if (i < NSTATUS)
            vg_buf_printf(o, "%s{code=\"%d\"} %llu\n", name, status_codes[i],
                          (unsigned long long)x);
        else
            vg_buf_printf(o, "%s{code=\"other\"} %llu\n", name, (unsigned long long)x);
    }
}

void vg_metrics_render(vg_store *s, vg_buf *o)
{
    help(o, "vigil_ingest_rows_total", "counter", "Rows accepted and made durable, by table.");
    bool any = false;
    for (size_t t = 0; M.rows && t < vg_schema_ntables; t++) {
        uint64_t x = ld(&M.rows[t]);
        if (!x)
            continue;
        any = true;
        vg_buf_printf(o, "vigil_ingest_rows_total{table=\"%s\"} %llu\n", vg_schema_tables[t].name,
                      (unsigned long long)x);
    }
    if (!any)
        vg_buf_puts(o, "vigil_ingest_rows_total{table=\"\"} 0\n");

    help(o, "vigil_ingest_rejected_total", "counter",
         "Records rejected (sent to the dead-letter area), by requested table and reason.");
    any = false;
    for (size_t t = 0; M.rejected && t <= vg_schema_ntables; t++)
        for (int r = 0; r < VG_RR_COUNT_; r++) {
            uint64_t x = ld(&M.rejected[t * VG_RR_COUNT_ + (size_t)r]);
            if (!x)
                continue;
            any = true;
            vg_buf_printf(o, "vigil_ingest_rejected_total{table=\"%s\",reason=\"%s\"} %llu\n",
                          t < vg_schema_ntables ? vg_schema_tables[t].name : "",
                          reason_names[r], (unsigned long long)x);
        }
    if (!any)
        vg_buf_puts(o, "vigil_ingest_rejected_total{table=\"\",reason=\"\"} 0\n");

    help(o, "vigil_ingest_requests_total", "counter", "Ingest requests, by HTTP status.");
    uint64_t nreq = 0;
    for (size_t i = 0; i <= NSTATUS; i++)
        nreq += ld(&M.ingest_req[i]);
    if (nreq)
        by_status(o, "vigil_ingest_requests_total", M.ingest_req);
    else
        vg_buf_puts(o, "vigil_ingest_requests_total{code=\"200\"} 0\n");

    help(o, "vigil_ingest_bytes_total", "counter", "Request body bytes received by ingest.");
    vg_buf_printf(o, "vigil_ingest_bytes_total %llu\n", (unsigned long long)ld(&M.ingest_bytes));

    help(o, "vigil_ingest_latency_seconds", "histogram",
         "Time from the start of an ingest request to its answer (rows durable).");
    uint64_t cum = 0;
    for (size_t b = 0; b < NBUCKETS; b++) {
        cum += ld(&M.lat_bucket[b]);
        vg_buf_printf(o, "vigil_ingest_latency_seconds_bucket{le=\"%g\"} %llu\n", lat_bounds[b],
                      (unsigned long long)cum);
    }
    cum += ld(&M.lat_bucket[NBUCKETS]);
    vg_buf_printf(o, "vigil_ingest_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)cum);
    vg_buf_printf(o, "vigil_ingest_latency_seconds_sum %.9f\n", (double)ld(&M.lat_sum_ns) / 1e9);
    vg_buf_printf(o, "vigil_ingest_latency_seconds_count %llu\n",
                  (unsigned long long)ld(&M.lat_count));

    help(o, "vigil_http_requests_total", "counter", "HTTP requests answered, by status.");
    by_status(o, "vigil_http_requests_total", M.http_req);

    if (s) {
        vg_store_stats st;
        memset(&st, 0, sizeof st);
        vg_store_stats_get(s, &st);
        help(o, "vigil_store_rows", "gauge", "Rows in the store (segments and tails).");
        vg_buf_printf(o, "vigil_store_rows %llu\n", (unsigned long long)st.rows_total);
        help(o, "vigil_store_tail_rows", "gauge", "Rows in the WAL-backed in-memory tails.");
        vg_buf_printf(o, "vigil_store_tail_rows %llu\n", (unsigned long long)st.tail_rows);
        help(o, "vigil_wal_bytes", "gauge", "Bytes in write-ahead log files.");
        vg_buf_printf(o, "vigil_wal_bytes %llu\n", (unsigned long long)st.wal_bytes);
        help(o, "vigil_segments", "gauge", "Sealed columnar segments.");
        vg_buf_printf(o, "vigil_segments %llu\n", (unsigned long long)st.segments);
        help(o, "vigil_segment_bytes", "gauge", "Bytes in sealed segments.");
        vg_buf_printf(o, "vigil_segment_bytes %llu\n", (unsigned long long)st.segment_bytes);
        help(o, "vigil_quarantined_files", "gauge", "Damaged files moved to quarantine.");
        vg_buf_printf(o, "vigil_quarantined_files %llu\n", (unsigned long long)st.quarantined);
        help(o, "vigil_deadletters", "gauge", "Records in the dead-letter area.");
        vg_buf_printf(o, "vigil_deadletters %llu\n", (unsigned long long)st.deadletters);
    }
    help(o, "vigil_uptime_seconds", "gauge", "Seconds since vigild started.");
    vg_buf_printf(o, "vigil_uptime_seconds %.3f\n", (double)(vg_mono_ns() - M.start_ns) / 1e9);
}

/* The incident engine's counters (vg_inc_get_stats). */
static void incident_metrics(vg_srv *s, vg_buf *o)
{
    if (!s->inc)
        return;
    vg_inc_stats st;
    vg_inc_get_stats(s->inc, &st);
    static const struct {
        const char *name, *doc;
        size_t off;
    } c[] = {
        { "vigil_incident_alerts_total", "Alerts taken by the incident engine.",
          offsetof(vg_inc_stats, alerts_total) },
        { "vigil_incident_alerts_duplicate_total", "Alerts the engine already had (ignored).",
          offsetof(vg_inc_stats, duplicates_total) },
        { "vigil_incident_alerts_suppressed_total", "Alerts a suppression rule resolved.",
          offsetof(vg_inc_stats, suppressed_total) },
        { "vigil_incidents_created_total", "Incidents created.",
          offsetof(vg_inc_stats, incidents_created_total) },
        { "vigil_incident_joins_total", "Alerts that joined an open incident.",
          offsetof(vg_inc_stats, joined_total) },
        { "vigil_incident_merges_total", "Incidents redirected into another by correlation.",
          offsetof(vg_inc_stats, merged_total) },
        { "vigil_incident_merges_refused_total",
          "Merges or joins refused (assignee, classification, entity limit).",
          offsetof(vg_inc_stats, not_merged_total) },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)&st + c[i].off, sizeof v);
        help(o, c[i].name, "counter", c[i].doc);
        vg_buf_printf(o, "%s %llu\n", c[i].name, (unsigned long long)v);
    }
    help(o, "vigil_incidents_open", "gauge", "Incidents active or in progress.");
    vg_buf_printf(o, "vigil_incidents_open %llu\n", (unsigned long long)st.incidents_open);
    help(o, "vigil_incident_correlation_seconds_total", "counter",
         "Time spent correlating alerts into incidents.");
    vg_buf_printf(o, "vigil_incident_correlation_seconds_total %.6f\n",
                  (double)st.add_ns_total / 1e9);
}

void vg_h_metrics(vg_req *rq)
{
    rq->status = 200;
    rq->content_type = "text/plain; version=0.0.4; charset=utf-8";
    vg_metrics_render(rq->srv->store, &rq->out);
    vg_srv_detect_metrics(rq->srv, &rq->out);
    incident_metrics(rq->srv, &rq->out);
    vg_srv_custom_metrics(rq->srv, &rq->out);
    if (rq->out.failed) {
        vg_buf_clear(&rq->out);
        vg_req_json_error(rq, 500, "out of memory rendering metrics");
    }
}
