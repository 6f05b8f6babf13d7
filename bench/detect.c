/*
 * detect.c - the detection benchmark (make bench, make bench-detect): Sigma
 * detection throughput on one core over generated mixed telemetry, with 0,
 * 10, 100, 1,000 and all rules of the SigmaHQ corpus enabled, in one run;
 * the portable (PCRE2) matchers with all rules; and the whole path (NDJSON
 * and EVTX bytes -> decode -> alerts -> durable store) with all rules.
 * Published figures of Hayabusa, Zircolite and Wazuh are printed beside ours
 * (none of them can be installed here; see bench/detect.sh).
 *
 * The rows: the generator's Defender tables (vg_gen, every table) decoded by
 * the native NDJSON decoder, plus about 10% Windows rows from the EVTX
 * samples of SigmaHQ's regression suite, decoded by Vigil's EVTX reader and
 * repeated (there are only a few thousand events), so that rules routed to
 * Windows channels run too. All batches are decoded once, kept in memory,
 * and every rule set scans the same batches: a warm-up pass, then RUNS timed
 * passes (median and best reported). The process pins itself to one core
 * first, so every figure is single-core.
 *
 * Usage: detect SIGMA_DIR   (SIGMA_DIR holds rules/, rules-threat-hunting/,
 * rules-emerging-threats/ and regression_data/). Knobs (environment):
 * BENCH_DETECT_ROWS (rows scanned, default 1000000), BENCH_DETECT_RUNS
 * (timed passes, default 3), BENCH_DETECT_PATH_ROWS (rows through the whole
 * path, default the same), BENCH_DETECT_FSYNC (0: the store skips fsync;
 * default 1, durable as vigild runs), BENCH_DETECT_PORTABLE (0: skip the
 * PCRE2 line), BENCH_DETECT_TMP (where the scratch store goes, default
 * TMPDIR or /tmp). Output: a table on stdout and one line starting
 * "bench-detect-json: " with the same figures as JSON.
 *
 * Memory: the kept batches own their strings (arena per batch); everything
 * is freed before exit so that leak checkers stay quiet.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vg_time.h"
#include "detect/vg_alert.h"
#include "detect/vg_detect.h"
#include "gen/vg_gen.h"
#include "ingest/vg_ingest.h"
#include "store/vg_store.h"

#define MAX_EVTX_FILES 4096            /* regression samples we read */
#define MAX_EVTX_BYTES (256u << 20)    /* their total size */
#define MAX_WALK_DEPTH 16
#define MAX_RUNS 15
#define GEN_CHUNK (16u << 20)          /* NDJSON bytes generated per decode call */
#define WIN_SHARE 10                   /* percent of rows from the EVTX samples */
#define BATCH_ROWS 4096
#define SUPPRESS_S 300                 /* vigild's detect-suppress-window default */

/* Published anchors (see the table's notes). */
#define HAYABUSA_GB_PER_MIN 0.33
#define HAYABUSA_RULES 3900
#define HAYABUSA_CORES 4
#define ZIRCOLITE_EPS 3200.0
#define WAZUH_EPS_LO 10000.0
#define WAZUH_EPS_HI 30000.0

/* ---- small helpers ---- */

static uint64_t env_u64(const char *name, uint64_t def, uint64_t lo, uint64_t hi)
{
    const char *v = getenv(name);
    uint64_t x;
    if (!v || !*v)
        return def;
    if (vg_str_to_u64(vg_str_c(v), &x) || x < lo || x > hi) {
        fprintf(stderr, "bench-detect: %s=%s is not a number in %llu..%llu; using %llu\n", name, v,
                (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)def);
        return def;
    }
    return x;
}

static double secs(uint64_t ns) { return (double)ns / 1e9; }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int die(const char *what, vg_err e, const vg_diag *d)
{
    fprintf(stderr, "bench-detect: %s: %s%s%s\n", what, vg_strerror(e), d && d->msg[0] ? ": " : "",
            d ? d->msg : "");
    return 1;
}

/* Reads a whole file into b (appending). */
static vg_err read_file(const char *path, vg_buf *b, vg_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
    char tmp[1 << 16];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        vg_buf_put(b, tmp, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad)
        return vg_diag_set(d, VG_EIO, "%s: read error", path);
    return b->failed ? vg_diag_set(d, VG_ENOMEM, "%s: out of memory", path) : VG_OK;
}

/* ---- the EVTX samples ---- */

typedef struct evtx_set {
    vg_buf data;                   /* every file, back to back */
    size_t off[MAX_EVTX_FILES + 1];
    uint32_t n;
    uint64_t events;               /* rows one pass over every file gives */
    uint64_t rec_bytes;            /* bytes of event records in the chunks (no headers, no slack) */
} evtx_set;

/*
 * Bytes the event records of one EVTX image take: per 64 KiB chunk
 * ("ElfChnk"), its free-space offset (u32 at 48) less the 512-byte chunk
 * header. Small sample files are mostly empty chunk space, so this, not the
 * file size, is what a full production log spends per event.
 */
static uint64_t evtx_record_bytes(const char *p, size_t n)
{
    uint64_t total = 0;
    for (size_t off = 4096; off + 65536 <= n; off += 65536) {
        const unsigned char *c = (const unsigned char *)p + off;
        if (memcmp(c, "ElfChnk", 8))
            continue;
        uint32_t free_off = (uint32_t)c[48] | (uint32_t)c[49] << 8 | (uint32_t)c[50] << 16 |
                            (uint32_t)c[51] << 24;
        if (free_off > 512 && free_off <= 65536)
            total += free_off - 512;
    }
    return total;
}

static vg_err walk_evtx(evtx_set *es, const char *dir, int depth, vg_diag *d)
{
    if (depth > MAX_WALK_DEPTH)
        return VG_OK;
    DIR *dp = opendir(dir);
    if (!dp)
        return vg_diag_set(d, VG_EIO, "%s: %s", dir, strerror(errno));
    vg_err e = VG_OK;
    struct dirent *de;
    while (!e && (de = readdir(dp))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st))
            continue;
        if (S_ISDIR(st.st_mode)) {
            e = walk_evtx(es, path, depth + 1, d);
        } else if (vg_str_ends_ci(vg_str_c(de->d_name), vg_str_c(".evtx"))) {
            if (es->n == MAX_EVTX_FILES || es->data.n + (size_t)st.st_size > MAX_EVTX_BYTES) {
                e = vg_diag_set(d, VG_ELIMIT, "more than %d EVTX samples or %u bytes under %s",
                                MAX_EVTX_FILES, MAX_EVTX_BYTES, dir);
                break;
            }
            es->off[es->n] = es->data.n;
            e = read_file(path, &es->data, d);
            es->off[es->n + 1] = es->data.n;
            if (!e)
                es->rec_bytes += evtx_record_bytes(es->data.p + es->off[es->n],
                                                   es->data.n - es->off[es->n]);
            es->n++;
        }
    }
    closedir(dp);
    return e;
}

/* One pass over every sample file into set; rows added to *rows. */
static vg_err decode_evtx_all(const evtx_set *es, vg_batchset *set, uint64_t *rows, vg_diag *d)
{
    vg_ingest_opts o = { .format = VG_FMT_EVTX, .keep_raw = true };
    for (uint32_t i = 0; i < es->n; i++) {
        vg_ingest_result res = { 0 };
        vg_str img = vg_str_make(es->data.p + es->off[i], es->off[i + 1] - es->off[i]);
        vg_err e = vg_ingest_buffer(set, &o, img, NULL, NULL, &res, d);
        if (e)
            return e;
        *rows += res.accepted;
    }
    return VG_OK;
}

/* ---- the kept batches ---- */

typedef struct keep {
    vg_batch **v;
    size_t n, cap;
    uint64_t rows;
} keep;

/* Sink: takes the full batch and gives the set a fresh one of the same shape. */
static vg_err keep_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    keep *k = ctx;
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 256;
        vg_batch **nv = realloc(k->v, nc * sizeof *nv);
        if (!nv)
            return vg_diag_set(d, VG_ENOMEM, "out of memory keeping batches");
        k->v = nv;
        k->cap = nc;
    }
    vg_batch *c = malloc(sizeof *c);
    if (!c)
        return vg_diag_set(d, VG_ENOMEM, "out of memory keeping batches");
    *c = *b;
    vg_err e = vg_batch_init(b, c->table, c->cap, NULL, c->has_raw);
    if (e) {
        *b = *c;   /* the set keeps its batch; nothing is lost or freed twice */
        free(c);
        return vg_diag_set(d, e, "out of memory keeping batches");
    }
    k->v[k->n++] = c;
    k->rows += c->nrows;
    return VG_OK;
}

static void keep_free(keep *k)
{
    for (size_t i = 0; i < k->n; i++) {
        vg_batch_free(k->v[i]);
        free(k->v[i]);
    }
    free(k->v);
    memset(k, 0, sizeof *k);
}

static vg_gen_opts gen_opts(uint64_t rows)
{
    vg_gen_opts g = { .seed = 1, .devices = 200, .days = 7, .rows = rows };
    vg_time_parse_iso(vg_str_c("2025-01-06T00:00:00Z"), &g.start);
    return g;
}

/* Generates `rows` rows of every table and decodes them into set. */
static vg_err gen_decode(uint64_t rows, vg_batchset *set, uint64_t *bytes, uint64_t *dec_ns,
                         vg_diag *d)
{
    vg_gen_opts go = gen_opts(rows);
    vg_gen *g;
    vg_err e = vg_gen_open(&go, &g, d);
    if (e)
        return e;
    vg_buf buf;
    vg_buf_init(&buf, 0);
    vg_ingest_opts o = { .format = VG_FMT_NDJSON, .keep_raw = true };
    bool done = false;
    while (!e && !done) {
        vg_buf_clear(&buf);
        e = vg_gen_fill(g, &buf, GEN_CHUNK, &done);
        if (e)
            break;
        vg_ingest_result res = { 0 };
        uint64_t t0 = vg_mono_ns();
        e = vg_ingest_buffer(set, &o, vg_str_make(buf.p, buf.n), NULL, NULL, &res, d);
        *dec_ns += vg_mono_ns() - t0;
        *bytes += buf.n;
        if (!e && res.rejected)
            e = vg_diag_set(d, VG_EPARSE, "the decoder rejected %llu generated rows",
                            (unsigned long long)res.rejected);
    }
    vg_buf_free(&buf);
    vg_gen_close(g);
    return e;
}

/* ---- detection passes ---- */

typedef struct match_count {
    uint64_t matches;
    bool *hit;          /* per rule index: matched at least once */
} match_count;

static void on_match(void *ctx, const vg_detect_rule *rule, const vg_batch *b, uint32_t row)
{
    match_count *mc = ctx;
    mc->matches++;
    mc->hit[rule->index] = true;
}

typedef struct set_result {
    const char *label;
    bool portable;
    uint32_t enabled, compiled, patterns, databases;
    const char *backend;
    double build_s;
    double med_rps, best_rps;
    uint64_t matches;
    uint32_t rules_hit;
    double evals_per_row;
    int runs;
    uint64_t sample_matches;     /* on the sample (the warm-up pass) */
    double sample_rps;
} set_result;

static vg_err scan_all(vg_detect_scanner *sc, const keep *k, match_count *mc, double *rps,
                       vg_diag *d)
{
    mc->matches = 0;
    uint64_t t0 = vg_mono_ns();
    for (size_t i = 0; i < k->n; i++) {
        vg_err e = vg_detect_scan(sc, k->v[i], on_match, mc, d);
        if (e)
            return e;
    }
    double s = secs(vg_mono_ns() - t0);
    *rps = (double)k->rows / (s > 0 ? s : 1e-9);
    return VG_OK;
}

/* Every stride-th row of k, copied into batches of their own (per table). */
static vg_err make_sample(const keep *k, uint64_t stride, keep *out, vg_diag *d)
{
    vg_batch *open[64] = { 0 };   /* by table id */
    vg_err e = VG_OK;
    uint64_t g = 0;
    for (size_t i = 0; i < k->n && !e; i++) {
        const vg_batch *b = k->v[i];
        for (uint32_t r = 0; r < b->nrows && !e; r++, g++) {
            if (g % stride || b->table->id >= 64)
                continue;
            vg_batch *s = open[b->table->id];
            if (!s) {
                s = calloc(1, sizeof *s);
                if (!s || (e = vg_batch_init(s, b->table, BATCH_ROWS, NULL, true))) {
                    free(s);
                    return vg_diag_set(d, VG_ENOMEM, "out of memory sampling rows");
                }
                open[b->table->id] = s;
            }
            if ((e = vg_batch_copy_row(s, b, r)))
                break;
            if (vg_batch_full(s)) {
                e = keep_sink(out, s, d);
            }
        }
    }
    for (int t = 0; t < 64; t++) {
        if (!open[t])
            continue;
        if (!e && open[t]->nrows)
            e = keep_sink(out, open[t], d);
        vg_batch_free(open[t]);
        free(open[t]);
    }
    return e ? vg_diag_set(d, e, "sampling rows: %s", vg_strerror(e)) : VG_OK;
}

/*
 * Builds one rule set, scans the sample once (warm-up), then times `runs`
 * scans of every kept batch (none: the sample's rate is the figure).
 */
static vg_err run_set(const keep *k, const keep *sample, const vg_detect_opts *o, int runs,
                      set_result *r, vg_diag *d)
{
    vg_detect *det = NULL;
    vg_detect_scanner *sc = NULL;
    match_count mc = { 0 };
    uint64_t t0 = vg_mono_ns();
    vg_err e = vg_detect_build(o, &det, d);
    if (e)
        return e;
    r->build_s = secs(vg_mono_ns() - t0);
    const vg_detect_report *rep = vg_detect_get_report(det);
    r->enabled = rep->enabled;
    r->compiled = rep->compiled;
    r->patterns = rep->patterns;
    r->databases = rep->databases;
    r->backend = vg_detect_backend(det);
    r->portable = o->portable;
    r->runs = runs;
    mc.hit = calloc(vg_detect_nrules(det) + 1, sizeof *mc.hit);
    if (!mc.hit) {
        e = vg_diag_set(d, VG_ENOMEM, "out of memory");
        goto out;
    }
    if ((e = vg_detect_scanner_new(det, &sc, d)))
        goto out;
    /* the sample warms up (and gives the portable path its figure) */
    if ((e = scan_all(sc, sample, &mc, &r->sample_rps, d)))
        goto out;
    r->sample_matches = mc.matches;
    double rps[MAX_RUNS];
    for (int pass = 0; pass < runs; pass++) {
        if ((e = scan_all(sc, k, &mc, &rps[pass], d)))
            goto out;
        if (pass == 0)
            r->matches = mc.matches;
        else if (mc.matches != r->matches) {
            e = vg_diag_set(d, VG_EINVAL, "pass %d found %llu matches, the first %llu", pass + 1,
                            (unsigned long long)mc.matches, (unsigned long long)r->matches);
            goto out;
        }
    }
    if (!runs) {
        rps[0] = r->sample_rps;
        runs = 1;
    }
    qsort(rps, (size_t)runs, sizeof rps[0], cmp_double);
    r->med_rps = rps[runs / 2];
    r->best_rps = rps[runs - 1];
    for (uint32_t i = 0; i < vg_detect_nrules(det); i++)
        r->rules_hit += mc.hit[i];
    vg_detect_stats st;
    vg_detect_scanner_stats(sc, &st);
    r->evals_per_row = st.rows ? (double)st.rule_evals / (double)st.rows : 0;
out:
    free(mc.hit);
    vg_detect_scanner_free(sc);
    vg_detect_release(det);
    return e;
}

/* ---- the whole path: bytes -> decode -> alerts -> store ---- */

typedef struct path_run {
    vg_alerter *al;
    vg_store *st;
    vg_batchset alerts;
    uint64_t events, alert_rows, appends;
} path_run;

/* Alert rows that fill a batch on their own go to the store by themselves. */
static vg_err alert_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    path_run *p = ctx;
    p->alert_rows += b->nrows;
    p->appends++;
    return vg_store_append(p->st, &b, 1, d);
}

/* A decoded batch: detect, then one durable append of it and its alerts. */
static vg_err event_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    path_run *p = ctx;
    vg_err e = vg_alerter_batch(p->al, b, &p->alerts, NULL, NULL, d);
    if (e)
        return e;
    vg_batch *v[16];
    size_t n = 0;
    v[n++] = b;
    for (size_t t = 0; t < vg_schema_ntables && n < 16; t++) {
        vg_batch *ab = &p->alerts.by_table[t];
        if (ab->table && ab->nrows)
            v[n++] = ab;
    }
    p->appends++;
    e = vg_store_append(p->st, v, n, d);
    p->events += b->nrows;
    for (size_t i = 1; i < n; i++) {
        p->alert_rows += v[i]->nrows;
        vg_batch_reset(v[i]);
    }
    return e;
}

typedef struct path_result {
    uint64_t rows, alert_rows, bytes, evtx_bytes, appends;
    vg_alert_stats ast;
    double s, rps, mbps;
    bool fsync;
    uint32_t enabled;
} path_result;

static vg_err run_path(const vg_detect_opts *o, const vg_buf *ndjson, const evtx_set *es,
                       uint32_t evtx_passes, const char *dir, bool fsync, path_result *r,
                       vg_diag *d)
{
    vg_detect *det = NULL;
    path_run p = { 0 };
    vg_batchset events = { 0 };
    vg_err e = vg_detect_build(o, &det, d);
    if (e)
        return e;
    r->enabled = vg_detect_get_report(det)->enabled;
    /* vigild's defaults: 5 minutes of duplicate suppression, 5 minutes of lateness */
    vg_alert_opts ao = { .suppress_window = SUPPRESS_S * VG_TICKS_PER_SEC,
                         .corr = { .lateness = 300 * VG_TICKS_PER_SEC } };
    if ((e = vg_alerter_new(det, &ao, &p.al, d)))
        goto out;
    if ((e = vg_batchset_init(&p.alerts, BATCH_ROWS, alert_sink, &p)) ||
        (e = vg_batchset_init(&events, BATCH_ROWS, event_sink, &p))) {
        e = vg_diag_set(d, VG_ENOMEM, "out of memory");
        goto out;
    }
    vg_store_opts so = { .dir = dir, .no_fsync = !fsync };
    if ((e = vg_store_open(&so, &p.st, d)))
        goto out;
    r->fsync = fsync;
    uint64_t t0 = vg_mono_ns(), evrows = 0;
    vg_ingest_opts no = { .format = VG_FMT_NDJSON, .keep_raw = true };
    vg_ingest_result res = { 0 };
    e = vg_ingest_buffer(&events, &no, vg_str_make(ndjson->p, ndjson->n), NULL, NULL, &res, d);
    r->bytes = ndjson->n;
    for (uint32_t i = 0; i < evtx_passes && !e; i++) {
        e = decode_evtx_all(es, &events, &evrows, d);
        r->bytes += es->data.n;
        r->evtx_bytes += es->data.n;
    }
    if (!e)
        e = vg_batchset_flush(&events, d);
    if (!e)
        e = vg_alerter_flush(p.al, INT64_MAX, &p.alerts, NULL, NULL, d);
    if (!e)
        e = vg_batchset_flush(&p.alerts, d);
    if (!e)
        e = vg_store_flush(p.st, d);   /* sealing into segments is part of storing */
    r->s = secs(vg_mono_ns() - t0);
    r->rows = p.events;
    r->alert_rows = p.alert_rows;
    r->appends = p.appends;
    vg_alerter_stats(p.al, &r->ast);
    r->rps = (double)p.events / (r->s > 0 ? r->s : 1e-9);
    r->mbps = (double)r->bytes / 1e6 / (r->s > 0 ? r->s : 1e-9);
out:
    if (p.st) {
        vg_diag cd;
        vg_err ce = vg_store_close(p.st, &cd);
        if (!e && ce) {
            *d = cd;
            e = ce;
        }
    }
    if (events.by_table)
        vg_batchset_free(&events);
    if (p.alerts.by_table)
        vg_batchset_free(&p.alerts);
    vg_alerter_free(p.al);
    vg_detect_release(det);
    return e;
}

/* ---- output ---- */

static void fmt_rate(char *buf, size_t cap, double v)
{
    if (v >= 1e6)
        snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, cap, "%.1fk", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
}

static void rm_rf(const char *dir, int depth)
{
    DIR *dp = depth <= MAX_WALK_DEPTH ? opendir(dir) : NULL;
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path)
            continue;
        struct stat st;
        if (!lstat(path, &st) && S_ISDIR(st.st_mode))
            rm_rf(path, depth + 1);
        else
            unlink(path);
    }
    if (dp)
        closedir(dp);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: %s SIGMA_DIR\n  SIGMA_DIR holds rules/, rules-threat-hunting/, "
                        "rules-emerging-threats/, regression_data/\n  (see the header of "
                        "bench/detect.c for the BENCH_DETECT_* knobs)\n", argv[0]);
        return argc == 2 ? 0 : 2;
    }
    const char *sigma = argv[1];
    uint64_t rows = env_u64("BENCH_DETECT_ROWS", 500000, 1000, 100000000);
    int runs = (int)env_u64("BENCH_DETECT_RUNS", 3, 1, MAX_RUNS);
    uint64_t path_rows = env_u64("BENCH_DETECT_PATH_ROWS", 200000, 1000, 100000000);
    uint64_t sample_rows = env_u64("BENCH_DETECT_SAMPLE_ROWS", 2000, 100, 10000000);
    bool fsync = env_u64("BENCH_DETECT_FSYNC", 1, 0, 1);
    bool portable = env_u64("BENCH_DETECT_PORTABLE", 1, 0, 1);
    const char *tmp = getenv("BENCH_DETECT_TMP");
    if (!tmp || !*tmp)
        tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";

    /* one core: the CPU we are on */
    int cpu = sched_getcpu();
    cpu_set_t cs;
    CPU_ZERO(&cs);
    CPU_SET(cpu < 0 ? 0 : cpu, &cs);
    if (sched_setaffinity(0, sizeof cs, &cs))
        fprintf(stderr, "bench-detect: cannot pin to one core (%s); figures may use more\n",
                strerror(errno));

    int rc = 1;
    vg_diag d = { "" };
    vg_err e;
    evtx_set *es = calloc(1, sizeof *es);
    keep k = { 0 }, sample = { 0 };
    vg_batchset set = { 0 };
    vg_buf nd;
    vg_buf_init(&nd, 0);
    char paths[3][4096], regdir[4096], emptydir[4096], storedir[4096];
    emptydir[0] = storedir[0] = '\0';
    static const char *const sub[3] = { "rules", "rules-threat-hunting", "rules-emerging-threats" };
    for (int i = 0; i < 3; i++)
        snprintf(paths[i], sizeof paths[i], "%s/%s", sigma, sub[i]);
    snprintf(regdir, sizeof regdir, "%s/regression_data", sigma);
    if (!es) {
        fprintf(stderr, "bench-detect: out of memory\n");
        return 1;
    }
    vg_buf_init(&es->data, 0);

    /* 1. the EVTX samples: bytes and events per pass */
    if ((e = walk_evtx(es, regdir, 0, &d)))
        { rc = die("reading the EVTX samples", e, &d); goto out; }
    if ((e = vg_batchset_init(&set, BATCH_ROWS, NULL, NULL)))
        { rc = die("batch set", e, &d); goto out; }
    uint64_t t0 = vg_mono_ns();
    if ((e = decode_evtx_all(es, &set, &es->events, &d)))
        { rc = die("decoding the EVTX samples", e, &d); goto out; }
    double evtx_pass_s = secs(vg_mono_ns() - t0);
    vg_batchset_free(&set);
    if (!es->n || !es->events) {
        fprintf(stderr, "bench-detect: no EVTX events under %s\n", regdir);
        goto out;
    }
    double evtx_file_bpe = (double)es->data.n / (double)es->events;
    double evtx_bpe = (double)(es->rec_bytes ? es->rec_bytes : es->data.n) / (double)es->events;

    /* 2. the rows: generated tables, then the EVTX samples repeated to ~WIN_SHARE% */
    uint64_t win_want = rows * WIN_SHARE / 100;
    uint32_t passes = (uint32_t)((win_want + es->events / 2) / es->events);
    if (!passes)
        passes = 1;
    uint64_t gen_rows = rows > passes * es->events ? rows - passes * es->events : rows / 2;
    if ((e = vg_batchset_init(&set, BATCH_ROWS, keep_sink, &k)))
        { rc = die("batch set", e, &d); goto out; }
    uint64_t nd_bytes = 0, nd_ns = 0, win_rows = 0;
    fprintf(stderr, "bench-detect: generating and decoding %llu rows (%llu generated, %u passes "
                    "over %u EVTX samples)...\n", (unsigned long long)(gen_rows + passes * es->events),
            (unsigned long long)gen_rows, passes, es->n);
    if ((e = gen_decode(gen_rows, &set, &nd_bytes, &nd_ns, &d)))
        { rc = die("generating rows", e, &d); goto out; }
    for (uint32_t i = 0; i < passes; i++)
        if ((e = decode_evtx_all(es, &set, &win_rows, &d)))
            { rc = die("decoding the EVTX samples", e, &d); goto out; }
    if ((e = vg_batchset_flush(&set, &d)))
        { rc = die("flushing batches", e, &d); goto out; }
    vg_batchset_free(&set);

    /* per-table row counts, for the record */
    fprintf(stderr, "bench-detect: %llu rows in %zu batches:", (unsigned long long)k.rows, k.n);
    for (size_t t = 0; t < vg_schema_ntables; t++) {
        uint64_t n = 0;
        const char *name = NULL;
        for (size_t i = 0; i < k.n; i++)
            if (k.v[i]->table->id == t) {
                n += k.v[i]->nrows;
                name = k.v[i]->table->name;
            }
        if (n)
            fprintf(stderr, " %s %llu", name, (unsigned long long)n);
    }
    fprintf(stderr, "\n");
    uint64_t stride = k.rows / sample_rows ? k.rows / sample_rows : 1;
    if ((e = make_sample(&k, stride, &sample, &d)))
        { rc = die("sampling", e, &d); goto out; }

    /* 3. rule sets */
    snprintf(emptydir, sizeof emptydir, "%s/vigil-bench-norules.XXXXXX", tmp);
    if (!mkdtemp(emptydir)) {
        fprintf(stderr, "bench-detect: mkdtemp %s: %s\n", emptydir, strerror(errno));
        emptydir[0] = '\0';
        goto out;
    }
    static const struct { const char *label; uint32_t limit; bool none, portable; } sets[] = {
        { "0", 0, true, false },     { "10", 10, false, false },   { "100", 100, false, false },
        { "1000", 1000, false, false }, { "all", 0, false, false }, { "all (PCRE2)", 0, false, true },
    };
    enum { NSETS = sizeof sets / sizeof sets[0] };
    set_result res[NSETS];
    memset(res, 0, sizeof res);
    int nres = 0;
    /* cold compiles (no cache_dir), one compile thread: the process has one core */
    vg_detect_opts all = { .npaths = 3, .threads = 1 };
    for (int i = 0; i < 3; i++)
        all.paths[i] = paths[i];
    for (int i = 0; i < NSETS; i++) {
        if (sets[i].portable && !portable)
            continue;
        vg_detect_opts o = all;
        if (sets[i].none) {
            o.paths[0] = emptydir;
            o.npaths = 1;
        }
        o.limit = sets[i].limit;
        o.portable = sets[i].portable;
        int r = sets[i].portable ? 0 : runs;   /* the portable path is slow: the sample only */
        fprintf(stderr, "bench-detect: rules %s: building, scanning the sample, then %d passes...\n",
                sets[i].label, r);
        res[nres].label = sets[i].label;
        if ((e = run_set(&k, &sample, &o, r, &res[nres], &d))) {
            fprintf(stderr, "bench-detect: rules %s: %s: %s\n", sets[i].label, vg_strerror(e), d.msg);
            continue;
        }
        nres++;
    }
    uint64_t sample_n = sample.rows;
    keep_free(&k);   /* the whole path decodes its own */
    keep_free(&sample);

    /* 4. the whole path with all rules */
    path_result pr = { 0 };
    bool have_path = false;
    {
        uint32_t ppasses = (uint32_t)((path_rows * WIN_SHARE / 100 + es->events / 2) / es->events);
        if (!ppasses)
            ppasses = 1;
        uint64_t pgen = path_rows > ppasses * es->events ? path_rows - ppasses * es->events
                                                         : path_rows / 2;
        vg_gen_opts go = gen_opts(pgen);
        go.seed = 2;   /* other rows than the scans saw */
        vg_gen *g;
        bool done = false;
        if ((e = vg_gen_open(&go, &g, &d)))
            { rc = die("generator", e, &d); goto out; }
        while (!e && !done)
            e = vg_gen_fill(g, &nd, GEN_CHUNK, &done);
        vg_gen_close(g);
        if (e || nd.failed)
            { rc = die("generating the whole-path input", e ? e : VG_ENOMEM, &d); goto out; }
        snprintf(storedir, sizeof storedir, "%s/vigil-bench-store.XXXXXX", tmp);
        if (!mkdtemp(storedir)) {
            fprintf(stderr, "bench-detect: mkdtemp %s: %s\n", storedir, strerror(errno));
            storedir[0] = '\0';
            goto out;
        }
        fprintf(stderr, "bench-detect: whole path: %llu NDJSON rows (%.0f MB) + %u EVTX passes "
                        "-> decode -> alerts -> store %s (%s)...\n", (unsigned long long)pgen,
                (double)nd.n / 1e6, ppasses, storedir, fsync ? "fsync" : "no fsync");
        if ((e = run_path(&all, &nd, es, ppasses, storedir, fsync, &pr, &d)))
            fprintf(stderr, "bench-detect: whole path: %s: %s\n", vg_strerror(e), d.msg);
        else
            have_path = true;
    }

    /* 5. the table */
    const set_result *r10 = NULL, *rall = NULL;
    for (int i = 0; i < nres; i++) {
        if (!strcmp(res[i].label, "10"))
            r10 = &res[i];
        if (!strcmp(res[i].label, "all"))
            rall = &res[i];
    }
    char cpuname[128] = "unknown CPU";
    FILE *ci = fopen("/proc/cpuinfo", "r");
    if (ci) {
        char line[512];
        while (fgets(line, sizeof line, ci))
            if (!strncmp(line, "model name", 10)) {
                char *c = strchr(line, ':');
                if (c) {
                    c += c[1] == ' ' ? 2 : 1;
                    c[strcspn(c, "\n")] = '\0';
                    vg_str_copy_c(cpuname, sizeof cpuname, vg_str_c(c));
                }
                break;
            }
        fclose(ci);
    }
    printf("\nDetection: %llu rows (%llu generated Defender rows of %zu tables' generator + "
           "%llu Windows rows from %u EVTX samples x %u), one core (%s), "
           "median of %d timed passes after a warm-up\n",
           (unsigned long long)(gen_rows + win_rows), (unsigned long long)gen_rows,
           (size_t)VG_GEN_NTABLES, (unsigned long long)win_rows, es->n, passes, cpuname, runs);
    printf("  decode (for the record): native NDJSON %.0f rows/s, %.1f MB/s; EVTX %.0f events/s, "
           "%.1f MB/s\n\n", (double)gen_rows / secs(nd_ns ? nd_ns : 1),
           (double)nd_bytes / 1e6 / secs(nd_ns ? nd_ns : 1), (double)es->events / evtx_pass_s,
           (double)es->data.n / 1e6 / evtx_pass_s);
    printf("| rules asked | enabled | backend   | build s | rows/s (median) | rows/s (best) | matches "
           "| rules hit | evals/row | sample matches |\n");
    printf("|-------------|---------|-----------|---------|-----------------|---------------|---------"
           "|-----------|-----------|----------------|\n");
    for (int i = 0; i < nres; i++) {
        char a[32], b[32], m[32];
        fmt_rate(a, sizeof a, res[i].med_rps);
        fmt_rate(b, sizeof b, res[i].best_rps);
        snprintf(m, sizeof m, "%llu", (unsigned long long)res[i].matches);
        printf("| %-11s | %7u | %-9s | %7.2f | %15s | %13s | %7s | %9u | %9.2f | %14llu |\n",
               res[i].label, res[i].enabled, res[i].backend, res[i].build_s,
               res[i].portable ? "-" : a, res[i].portable ? b : b, res[i].portable ? "-" : m,
               res[i].rules_hit, res[i].evals_per_row, (unsigned long long)res[i].sample_matches);
    }
    printf("\nbuild s: a cold compile (no database cache), one thread.\n%llu rows scanned per pass; "
           "\"sample\": every %lluth row (%llu rows), scanned first as the warm-up.\nThe PCRE2 line (opts.portable) scanned only the sample: its rows/s is the "
           "sample's, and its sample\nmatches must equal the Hyperscan \"all\" line's.\n",
           (unsigned long long)(gen_rows + win_rows), (unsigned long long)stride,
           (unsigned long long)sample_n);
    for (int i = 0; i < nres; i++)
        if (res[i].portable && rall && res[i].sample_matches != rall->sample_matches)
            printf("*** MISMATCH: PCRE2 found %llu matches on the sample, Hyperscan %llu ***\n",
                   (unsigned long long)res[i].sample_matches,
                   (unsigned long long)rall->sample_matches);
    if (have_path)
        printf("\nWhole path, all rules (%u enabled): %llu rows from %.1f MB (%.1f MB NDJSON, %.1f MB "
               "EVTX files) -> decode\n-> detect -> alerts (%d s suppression) -> store (%s, sealed "
               "at the end) in %.2f s:\n%.0f rows/s, %.1f MB/s; %llu matches, %llu alerts (%llu "
               "suppressed), %llu alert rows, %llu appends\n",
               pr.enabled, (unsigned long long)pr.rows, (double)pr.bytes / 1e6,
               (double)(pr.bytes - pr.evtx_bytes) / 1e6, (double)pr.evtx_bytes / 1e6, SUPPRESS_S,
               pr.fsync ? "durable: fsync per append" : "no fsync", pr.s, pr.rps, pr.mbps,
               (unsigned long long)pr.ast.matches, (unsigned long long)pr.ast.alerts,
               (unsigned long long)pr.ast.suppressed, (unsigned long long)pr.alert_rows,
               (unsigned long long)pr.appends);

    /* targets and anchors */
    double ratio = r10 && rall && r10->med_rps > 0 ? rall->med_rps / r10->med_rps : 0;
    double hay_bps = HAYABUSA_GB_PER_MIN * 1e9 / 60.0;
    double hay_eps = hay_bps / evtx_bpe;
    printf("\nTargets:\n");
    if (rall)
        printf("  all rules >= 1,000,000 rows/s on one core: %.0f rows/s  %s\n", rall->med_rps,
               rall->med_rps >= 1e6 ? "PASS" : "FAIL");
    if (rall && r10)
        printf("  all rules >= 0.5 x the 10-rule rate: %.2f  %s\n", ratio,
               ratio >= 0.5 ? "PASS" : "FAIL");
    printf("\nPeers (published figures; none installable here, so not run in this process):\n");
    printf("| engine                  | rules  | cores | events/s            | events/s per core | "
           "Vigil one core, all rules, vs it |\n");
    printf("|-------------------------|--------|-------|---------------------|-------------------|"
           "----------------------------------|\n");
    double ours = rall ? rall->med_rps : 0, ourpath = have_path ? pr.rps : 0;
    char o1[32], o2[32];
    fmt_rate(o1, sizeof o1, ours);
    fmt_rate(o2, sizeof o2, ourpath);
    printf("| Vigil detect (this run) | %6u | 1     | %19s | %17s | -                                |\n",
           rall ? rall->enabled : 0, o1, o1);
    printf("| Vigil whole path        | %6u | 1     | %19s | %17s | -                                |\n",
           pr.enabled, o2, o2);
    struct { const char *name; const char *rules; int cores; double lo, hi; } peer[] = {
        { "Hayabusa (0.33 GB/min)", "~3900", HAYABUSA_CORES, hay_eps, hay_eps },
        { "Zircolite", "-", 1, ZIRCOLITE_EPS, ZIRCOLITE_EPS },
        { "Wazuh engine (new)", "-", 1, WAZUH_EPS_LO, WAZUH_EPS_HI },
    };
    for (size_t i = 0; i < sizeof peer / sizeof peer[0]; i++) {
        char lo[32], hi[32], pc[32], eps[80], vs[96];
        fmt_rate(lo, sizeof lo, peer[i].lo);
        fmt_rate(hi, sizeof hi, peer[i].hi);
        fmt_rate(pc, sizeof pc, peer[i].lo / peer[i].cores);
        if (peer[i].lo == peer[i].hi)
            snprintf(eps, sizeof eps, "%s", lo);
        else
            snprintf(eps, sizeof eps, "%s-%s", lo, hi);
        snprintf(vs, sizeof vs, "%.1fx detect, %.1fx whole path %s", ours / peer[i].hi,
                 ourpath / peer[i].hi, ours > peer[i].hi && ourpath > peer[i].hi ? "PASS" : "FAIL");
        printf("| %-23s | %6s | %-5d | %19s | %17s | %-32s |\n", peer[i].name, peer[i].rules,
               peer[i].cores, eps, pc, vs);
    }
    printf("\nNotes: Hayabusa's 0.33 GB/min of EVTX (%d cores, ~%d rules) is %.1f MB/s. The %u EVTX "
           "regression samples\ndecoded here hold %llu events in %.1f MB of files (%.0f bytes per "
           "event: small files, mostly empty chunk\nspace) but %.1f MB of event records (%.0f bytes "
           "per event: chunk free-space offsets less chunk headers);\nat %.0f bytes per event "
           "Hayabusa's figure is %.0f events/s (%.0f per core). Zircolite (~3,200 events/s)\nand "
           "Wazuh's new engine (10k-30k events/s) are their published figures; the cores they used "
           "are\nnot stated, counted here as one. Vigil, on one core, is compared with each peer's "
           "whole figure\n(for Wazuh, the top of its range); PASS needs both detect and whole path "
           "ahead.\n",
           HAYABUSA_CORES, HAYABUSA_RULES, hay_bps / 1e6, es->n, (unsigned long long)es->events,
           (double)es->data.n / 1e6, evtx_file_bpe, (double)es->rec_bytes / 1e6, evtx_bpe, evtx_bpe,
           hay_eps, hay_eps / HAYABUSA_CORES);

    /* the machine-readable line */
    vg_buf j;
    vg_buf_init(&j, 0);
    vg_buf_printf(&j, "{\"rows\":%llu,\"win_rows\":%llu,\"runs\":%d,\"cpu\":",
                  (unsigned long long)(gen_rows + win_rows), (unsigned long long)win_rows, runs);
    vg_buf_put_json_str(&j, vg_str_c(cpuname));
    vg_buf_puts(&j, ",\"sets\":[");
    for (int i = 0; i < nres; i++)
        vg_buf_printf(&j, "%s{\"rules\":\"%s\",\"enabled\":%u,\"backend\":\"%s\",\"patterns\":%u,"
                          "\"build_s\":%.3f,\"rows_per_s\":%.0f,\"best_rows_per_s\":%.0f,"
                          "\"matches\":%llu,\"sample_matches\":%llu,\"rules_hit\":%u}",
                      i ? "," : "", res[i].label, res[i].enabled, res[i].backend, res[i].patterns,
                      res[i].build_s, res[i].med_rps, res[i].best_rps,
                      (unsigned long long)res[i].matches, (unsigned long long)res[i].sample_matches,
                      res[i].rules_hit);
    vg_buf_printf(&j, "],\"all_over_10\":%.3f", ratio);
    if (have_path)
        vg_buf_printf(&j, ",\"path\":{\"rows\":%llu,\"bytes\":%llu,\"s\":%.3f,\"rows_per_s\":%.0f,"
                          "\"mb_per_s\":%.2f,\"alert_rows\":%llu,\"alerts\":%llu,\"fsync\":%s}",
                      (unsigned long long)pr.rows, (unsigned long long)pr.bytes, pr.s, pr.rps,
                      pr.mbps, (unsigned long long)pr.alert_rows, (unsigned long long)pr.ast.alerts,
                      pr.fsync ? "true" : "false");
    vg_buf_printf(&j, ",\"evtx_record_bytes_per_event\":%.1f,\"hayabusa_eps\":%.0f,\"zircolite_eps\":%.0f,"
                      "\"wazuh_eps\":[%.0f,%.0f]}",
                  evtx_bpe, hay_eps, ZIRCOLITE_EPS, WAZUH_EPS_LO, WAZUH_EPS_HI);
    printf("\nbench-detect-json: %.*s\n", (int)j.n, j.p);
    vg_buf_free(&j);
    rc = (rall && have_path) ? 0 : 1;
out:
    keep_free(&k);
    keep_free(&sample);
    if (set.by_table)
        vg_batchset_free(&set);
    vg_buf_free(&nd);
    vg_buf_free(&es->data);
    free(es);
    if (emptydir[0])
        rmdir(emptydir);
    if (storedir[0])
        rm_rf(storedir, 0);
    return rc;
}
