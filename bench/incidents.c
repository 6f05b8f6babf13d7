/*
 * incidents.c - benchmark of the incident correlation engine (vg_inc_add).
 *
 * Makes a temporary state directory, opens N incidents (default 100,000:
 * one alert each, with its own device and user, added in large batches),
 * then measures
 *   (a) throughput: M new alerts (default 50,000) in batches of 500, mixed
 *       ~60% sharing a device with an existing incident, ~30% on new
 *       devices, ~10% bridging two incidents (merges);
 *   (b) latency: 2,000 single-alert vg_inc_add calls of the same mix,
 *       p50/p99/max in microseconds.
 * Prints one "name value unit" line per figure, then a summary.
 * Usage: incidents [--incidents N] [--alerts M] [--keep]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vg_time.h"
#include "incident/vg_incident.h"

#define T0_MS 1767225600000LL
#define SETUP_CHUNK 4000
#define BATCH 500
#define LATENCY_CALLS 2000

typedef struct bench {
    vg_batch info, ev;
    uint64_t rng;
    uint32_t next_dev;          /* new devices get ids past the setup's */
    uint32_t nalerts;
    uint32_t nincidents;        /* devices dev-0 .. dev-(n-1) exist */
} bench;

static uint32_t rnd(bench *b, uint32_t n)
{
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return (uint32_t)((b->rng * 0x2545f4914f6cdd1dull) >> 33) % n;
}

static int setc(vg_batch *b, uint32_t r, const char *col, const char *v)
{
    vg_diag d;
    int c = vg_schema_col(b->table, vg_str_c(col));
    if (c < 0 || vg_batch_set_text(b, c, r, vg_str_c(v), &d)) {
        fprintf(stderr, "incidents: cannot set %s.%s\n", b->table->name, col);
        return -1;
    }
    return 0;
}

static const char *const tactics[] = { "Execution", "Credential Access", "Persistence",
                                       "Lateral Movement", "Defense Evasion", "Discovery" };

/* One alert naming the given devices (1 or 2) and a user. */
static int add_alert(bench *b, int64_t ts_ms, const uint32_t *dev, int ndev, uint32_t user)
{
    char id[32], buf[64];
    snprintf(id, sizeof id, "bench-%u", b->nalerts++);
    int64_t r = vg_batch_add_row(&b->info);
    if (r < 0)
        return -1;
    vg_batch_set_i64(&b->info, b->info.table->ts_col, (uint32_t)r, ts_ms * VG_TICKS_PER_MS);
    const char *tac = tactics[b->nalerts % (sizeof tactics / sizeof tactics[0])];
    if (setc(&b->info, (uint32_t)r, "AlertId", id) ||
        setc(&b->info, (uint32_t)r, "Title", "Suspicious activity") ||
        setc(&b->info, (uint32_t)r, "Severity", b->nalerts % 3 ? "Medium" : "High") ||
        setc(&b->info, (uint32_t)r, "Category", tac) ||
        setc(&b->info, (uint32_t)r, "ServiceSource", "Vigil Endpoint") ||
        setc(&b->info, (uint32_t)r, "DetectionSource", "Sigma") ||
        setc(&b->info, (uint32_t)r, "AttackTechniques", "[\"T1059.001\"]") ||
        setc(&b->info, (uint32_t)r, "RuleId", "bench-rule") ||
        setc(&b->info, (uint32_t)r, "Tactics", tac))
        return -1;
    for (int i = 0; i < ndev; i++) {
        int64_t e = vg_batch_add_row(&b->ev);
        if (e < 0)
            return -1;
        snprintf(buf, sizeof buf, "dev-%u", dev[i]);
        if (setc(&b->ev, (uint32_t)e, "AlertId", id) ||
            setc(&b->ev, (uint32_t)e, "EntityType", "Machine") ||
            setc(&b->ev, (uint32_t)e, "EvidenceRole", i ? "Related" : "Impacted") ||
            setc(&b->ev, (uint32_t)e, "DeviceId", buf))
            return -1;
    }
    int64_t e = vg_batch_add_row(&b->ev);
    if (e < 0)
        return -1;
    snprintf(buf, sizeof buf, "user%u@bench.example", user);
    if (setc(&b->ev, (uint32_t)e, "AlertId", id) ||
        setc(&b->ev, (uint32_t)e, "EntityType", "User") ||
        setc(&b->ev, (uint32_t)e, "EvidenceRole", "Impacted") ||
        setc(&b->ev, (uint32_t)e, "AccountUpn", buf))
        return -1;
    return 0;
}

/* One alert of the measured mix. */
static int mixed_alert(bench *b, int64_t ts_ms)
{
    uint32_t dev[2];
    uint32_t p = rnd(b, 100);
    uint32_t user = 10000000 + b->nalerts;
    if (p < 60) {
        dev[0] = rnd(b, b->nincidents);
        return add_alert(b, ts_ms, dev, 1, user);
    }
    if (p < 90) {
        dev[0] = b->next_dev++;
        return add_alert(b, ts_ms, dev, 1, user);
    }
    dev[0] = rnd(b, b->nincidents);
    dev[1] = rnd(b, b->nincidents);
    return add_alert(b, ts_ms, dev, 2, user);
}

/* Hands the pending alerts to the engine; *ns (may be NULL) gets the time
 * vg_inc_add took. */
static int flush(bench *b, vg_inc *inc, vg_inc_add_result *tot, uint64_t *ns)
{
    const vg_batch *v[2] = { &b->info, &b->ev };
    vg_inc_add_result r;
    vg_diag d = { { 0 } };
    uint64_t t = vg_mono_ns();
    vg_err e = vg_inc_add(inc, v, 2, &r, &d);
    if (ns)
        *ns = vg_mono_ns() - t;
    vg_batch_reset(&b->info);
    vg_batch_reset(&b->ev);
    if (e) {
        fprintf(stderr, "incidents: vg_inc_add: %s: %s\n", vg_strerror(e), d.msg);
        return -1;
    }
    tot->alerts += r.alerts;
    tot->created += r.created;
    tot->joined += r.joined;
    tot->merged += r.merged;
    tot->not_merged += r.not_merged;
    tot->duplicates += r.duplicates;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (vg_str_to_u64(vg_str_c(s), &v) || v == 0 || v > 10000000)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t nincidents = 100000, nalerts = 50000;
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--incidents") && i + 1 < argc) {
            if (parse_u32(argv[++i], &nincidents))
                goto usage;
        } else if (!strcmp(argv[i], "--alerts") && i + 1 < argc) {
            if (parse_u32(argv[++i], &nalerts))
                goto usage;
        } else if (!strcmp(argv[i], "--keep")) {
            keep = 1;
        } else {
            goto usage;
        }
    }
    char dir[] = "/tmp/vg-bench-incidents-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("incidents: mkdtemp");
        return 1;
    }
    vg_inc *inc;
    vg_diag d = { { 0 } };
    vg_inc_opts o = { .window_ms = 24LL * 3600 * 1000, .max_entities = 200, .max_key_devices = 10 };
    if (vg_inc_open(dir, &o, &inc, &d)) {
        fprintf(stderr, "incidents: %s\n", d.msg);
        return 1;
    }
    bench b = { .rng = 0x9e3779b97f4a7c15ull, .next_dev = nincidents, .nincidents = nincidents };
    vg_batch_init(&b.info, vg_schema_table(vg_str_c("AlertInfo")), SETUP_CHUNK, NULL, false);
    vg_batch_init(&b.ev, vg_schema_table(vg_str_c("AlertEvidence")), SETUP_CHUNK * 3, NULL, false);
    int rc = 1;
    vg_inc_add_result setup = { 0 }, run = { 0 }, lat = { 0 };
    uint64_t *us = calloc(LATENCY_CALLS, sizeof *us);
    if (!us)
        goto out;

    /* setup: one incident per device */
    uint64_t t0 = vg_mono_ns();
    for (uint32_t i = 0; i < nincidents; i++) {
        uint32_t dev = i;
        if (add_alert(&b, T0_MS + i / 100, &dev, 1, i))
            goto out;
        if (b.info.nrows == SETUP_CHUNK && flush(&b, inc, &setup, NULL))
            goto out;
    }
    if (b.info.nrows && flush(&b, inc, &setup, NULL))
        goto out;
    double setup_s = (double)(vg_mono_ns() - t0) / 1e9;

    /* (a) throughput */
    int64_t ts = T0_MS + 3600 * 1000;
    t0 = vg_mono_ns();
    for (uint32_t i = 0; i < nalerts; i++) {
        if (mixed_alert(&b, ts + i))
            goto out;
        if (b.info.nrows == BATCH && flush(&b, inc, &run, NULL))
            goto out;
    }
    if (b.info.nrows && flush(&b, inc, &run, NULL))
        goto out;
    double run_s = (double)(vg_mono_ns() - t0) / 1e9;

    /* (b) latency of single-alert calls */
    for (uint32_t i = 0; i < LATENCY_CALLS; i++) {
        if (mixed_alert(&b, ts + nalerts + i))
            goto out;
        uint64_t ns;
        if (flush(&b, inc, &lat, &ns))
            goto out;
        us[i] = ns / 1000;
    }
    qsort(us, LATENCY_CALLS, sizeof *us, cmp_u64);

    vg_inc_stats st;
    vg_inc_get_stats(inc, &st);
    printf("setup_incidents %u incidents\n", setup.created);
    printf("setup_rate %.0f alerts/s\n", setup_s > 0 ? setup.alerts / setup_s : 0);
    printf("throughput %.0f alerts/s\n", run_s > 0 ? run.alerts / run_s : 0);
    printf("latency_p50 %llu us\n", (unsigned long long)us[LATENCY_CALLS / 2]);
    printf("latency_p99 %llu us\n", (unsigned long long)us[LATENCY_CALLS * 99 / 100]);
    printf("latency_max %llu us\n", (unsigned long long)us[LATENCY_CALLS - 1]);
    printf("summary: %u open incidents at start; %u alerts in batches of %d: %u joined, %u new "
           "incidents, %u merges, %u merges refused; %d single-alert calls; %llu incidents open "
           "at the end; state in %s%s\n",
           setup.created, run.alerts, BATCH, run.joined, run.created, run.merged, run.not_merged,
           LATENCY_CALLS, (unsigned long long)st.incidents_open, dir, keep ? " (kept)" : "");
    rc = 0;
out:
    free(us);
    vg_batch_free(&b.info);
    vg_batch_free(&b.ev);
    vg_inc_close(inc);
    if (!keep) {
        const char *files[] = { "state.db", "state.db-wal", "state.db-shm" };
        char p[sizeof dir + 16];
        for (size_t i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s/%s", dir, files[i]);
            unlink(p);
        }
        rmdir(dir);
    }
    return rc;
usage:
    fprintf(stderr, "usage: incidents [--incidents N] [--alerts M] [--keep]\n"
                    "  measures vg_inc_add: alerts/s in batches of %d with N open incidents "
                    "(default 100000, M default 50000 alerts), then the latency of %d "
                    "single-alert calls\n", BATCH, LATENCY_CALLS);
    return 2;
}
