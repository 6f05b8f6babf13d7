/*
 * detect_alert.c - matches become alerts (vg_alert.h).
 *
 * For every match the scanner reports: offer it to the correlation engine
 * when a correlation refers to the rule; skip it when the rule only feeds
 * correlations, when an exclusion names its evidence, or when the same rule
 * already alerted on the same entity (device and account) inside the
 * suppression window; else write one AlertInfo row and the AlertEvidence
 * rows of the entities the evidence row names (alert_rows.c), and tell the
 * caller. Alert ids hash the rule, a random salt per alerter and a count
 * (XXH3-128): unique, also when the same event arrives twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <xxhash.h>

#include "../core/vg_map.h"
#include "alert_int.h"

struct vg_alerter {
    vg_detect *det;
    vg_detect_scanner *scan;
    sg_corr_engine *corr;
    vg_alert_opts o;
    vg_map suppress;            /* "rule\x1fentity" -> last alert time + 1 */
    vg_arena keys;              /* suppression keys */
    uint32_t nsuppress;
    vg_alert_stats st;
    uint64_t seq;
    uint64_t salt;              /* random per alerter: AlertIds never repeat */
    uint64_t nids;              /* AlertIds made */
    /* per batch */
    const vg_batch *b;
    vg_batchset *out;
    vg_alert_fn fn;
    void *ctx;
    vg_err err;
    vg_diag *d;
    vg_arena tmp;
};

const char *vg_alert_severity(sg_level l)
{
    switch (l) {
    case SG_LEVEL_INFORMATIONAL: return "Informational";
    case SG_LEVEL_LOW: return "Low";
    case SG_LEVEL_MEDIUM: return "Medium";
    case SG_LEVEL_HIGH:
    case SG_LEVEL_CRITICAL: return "High";
    }
    return "Medium";
}

/* ---- exclusions ---- */

vg_err vg_alert_load_exclusions(const char *path, vg_arena *a, vg_alert_exclusion **out,
                                uint32_t *n, vg_diag *d)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return vg_diag_set(d, VG_EIO, "%s: cannot open the exclusions file", path);
    vg_alert_exclusion *ex = vg_arena_zalloc(a, VG_ALERT_MAX_EXCLUSIONS * sizeof *ex);
    char line[4096];
    unsigned lineno = 0;
    vg_err e = ex ? VG_OK : VG_ENOMEM;
    while (!e && fgets(line, sizeof line, f)) {
        lineno++;
        vg_str s = vg_str_trim(vg_str_c(line));
        if (s.n == 0 || s.p[0] == '#')
            continue;
        const char *sp = memchr(s.p, ' ', s.n);
        const char *eq = memchr(s.p, '=', s.n);
        if (!sp || !eq || eq < sp || eq == sp + 1) {
            e = vg_diag_set(d, VG_EPARSE, "%s:%u: expected 'RULE FIELD=VALUE' (RULE an id, a name or *)",
                            path, lineno);
            break;
        }
        if (*n == VG_ALERT_MAX_EXCLUSIONS) {
            e = vg_diag_set(d, VG_ELIMIT, "%s:%u: more than %u exclusions", path, lineno,
                            VG_ALERT_MAX_EXCLUSIONS);
            break;
        }
        vg_str field = vg_str_trim(vg_str_make(sp + 1, (size_t)(eq - sp - 1)));
        ex[*n].rule = vg_str_dup(a, vg_str_make(s.p, (size_t)(sp - s.p))).p;
        ex[*n].field = vg_str_dup(a, field).p;
        ex[*n].value = vg_str_dup(a, vg_str_trim(vg_str_make(eq + 1, (size_t)(s.p + s.n - eq - 1)))).p;
        if (!ex[*n].rule || !ex[*n].field || !ex[*n].value)
            e = VG_ENOMEM;
        (*n)++;
    }
    fclose(f);
    if (!e)
        *out = ex;
    return e;
}

/* ---- life cycle ---- */

vg_err vg_alerter_new(vg_detect *det, const vg_alert_opts *o, vg_alerter **out, vg_diag *d)
{
    vg_alerter *al = calloc(1, sizeof *al);
    if (!al)
        return VG_ENOMEM;
    static const vg_alert_opts none;
    al->o = o ? *o : none;
    vg_map_init(&al->suppress, false);
    vg_arena_init(&al->keys, 0, 0);
    if (getrandom(&al->salt, sizeof al->salt, 0) != (ssize_t)sizeof al->salt)
        al->salt = vg_mono_ns() ^ (uint64_t)getpid() << 32;
    vg_arena_init(&al->tmp, 0, 256u << 20);
    vg_err e = vg_alerter_swap(al, det, d);
    if (e) {
        vg_alerter_free(al);
        return e;
    }
    *out = al;
    return VG_OK;
}

vg_err vg_alerter_swap(vg_alerter *al, vg_detect *det, vg_diag *d)
{
    vg_detect_scanner *scan = NULL;
    sg_corr_engine *corr = NULL;
    vg_err e = vg_detect_scanner_new(det, &scan, d);
    if (e)
        return e;
    if (vg_detect_get_report(det)->correlations) {
        e = sg_corr_new(vg_detect_ruleset(det), &al->o.corr, &corr, d);
        if (e) {
            vg_detect_scanner_free(scan);
            return e;
        }
    }
    vg_detect_scanner_free(al->scan);
    sg_corr_free(al->corr);
    if (al->det)
        vg_detect_release(al->det);
    al->det = vg_detect_retain(det);
    al->scan = scan;
    al->corr = corr;
    return VG_OK;
}

void vg_alerter_free(vg_alerter *al)
{
    if (!al)
        return;
    vg_detect_scanner_free(al->scan);
    sg_corr_free(al->corr);
    if (al->det)
        vg_detect_release(al->det);
    vg_map_free(&al->suppress);
    vg_arena_free(&al->keys);
    vg_arena_free(&al->tmp);
    free(al);
}

void vg_alerter_stats(const vg_alerter *al, vg_alert_stats *out) { *out = al->st; }
void vg_alerter_detect_stats(const vg_alerter *al, vg_detect_stats *out)
{
    vg_detect_scanner_stats(al->scan, out);
}

/* ---- one match ---- */

static vg_str field_of(vg_alerter *al, const vg_detect_rule *r, const vg_batch *b, uint32_t row,
                       const char *name)
{
    vg_str v;
    return vg_detect_field(al->det, r, b, row, vg_str_c(name), &al->tmp, &v) == VG_OK ? v : VG_STR_NULL;
}

static bool excluded(vg_alerter *al, const vg_detect_rule *r, const vg_batch *b, uint32_t row)
{
    for (uint32_t i = 0; i < al->o.nexclusions; i++) {
        const vg_alert_exclusion *x = &al->o.exclusions[i];
        if (strcmp(x->rule, "*") != 0 && !vg_str_eqc(r->sg->id, x->rule) && !vg_str_eqc(r->sg->name, x->rule))
            continue;
        vg_str v = field_of(al, r, b, row, x->field);
        if (v.p && vg_str_eqc_ci(v, x->value))
            return true;
    }
    return false;
}

/* The entity an alert is about, for suppression: device and account. */
static vg_str entity_key(vg_alerter *al, const vg_detect_rule *r, const vg_batch *b, uint32_t row)
{
    static const char *const dev[] = { "DeviceName", "Computer", "DeviceId" };
    static const char *const acc[] = { "AccountName", "InitiatingProcessAccountName", "User",
                                       "SubjectUserName", "TargetUserName" };
    vg_str dv = VG_STR_NULL, av = VG_STR_NULL;
    for (size_t i = 0; i < 3 && !dv.p; i++)
        dv = field_of(al, r, b, row, dev[i]);
    for (size_t i = 0; i < 5 && !av.p; i++)
        av = field_of(al, r, b, row, acc[i]);
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%u\x1f%.*s\x1f%.*s", r->index, (int)(dv.n > 400 ? 400 : dv.n),
                     dv.p ? dv.p : "", (int)(av.n > 400 ? 400 : av.n), av.p ? av.p : "");
    return vg_str_make(buf, (size_t)n).p ? vg_str_dup(&al->tmp, vg_str_make(buf, (size_t)n)) : VG_STR_NULL;
}

static bool suppressed(vg_alerter *al, const vg_detect_rule *r, const vg_batch *b, uint32_t row,
                       vg_time ts)
{
    if (al->o.suppress_window <= 0)
        return false;
    vg_str key = entity_key(al, r, b, row);
    if (!key.p)
        return false;
    bool found;
    uintptr_t last = (uintptr_t)vg_map_get(&al->suppress, key, &found);
    if (found) {
        /* within the window of the last alert, on either side: events can
         * arrive late, and a late one must not open a new window behind it */
        vg_time prev = (vg_time)(last - 1);
        vg_time dist = ts >= prev ? ts - prev : prev - ts;
        if (dist < al->o.suppress_window)
            return true;
        if (ts < prev)
            return false;   /* an old event outside the window: alert, keep the newer start */
    }
    if (!found) {
        if (al->nsuppress >= VG_ALERT_MAX_SUPPRESS) {
            /* bounded: forget everything and start over rather than grow */
            vg_map_free(&al->suppress);
            vg_map_init(&al->suppress, false);
            vg_arena_reset(&al->keys);
            al->nsuppress = 0;
        }
        key = vg_str_dup(&al->keys, key);
        al->nsuppress++;
    } else {
        key = vg_str_dup(&al->keys, key);   /* the map keeps the first copy; this one is spare */
    }
    vg_map_put(&al->suppress, key, (void *)(uintptr_t)(ts + 1));
    return false;
}

static vg_time row_time(const vg_batch *b, uint32_t row)
{
    int c = b->table->ts_col;
    return c >= 0 && !vg_batch_is_null(b, c, row) ? b->cols[c].v.i64[row] : 0;
}

/* A new AlertId: the rule, the alerter's random salt and its alert count,
 * hashed (XXH3-128): unique without reading the evidence again. */
static void alert_id(vg_alerter *al, const vg_detect_rule *r, char out[35])
{
    vg_str rid = r->sg->id.p ? r->sg->id : r->sg->title;
    char buf[16 + 256];
    uint64_t seed[2] = { al->salt, ++al->nids };
    size_t n = rid.n < 256 ? rid.n : 256;
    memcpy(buf, seed, sizeof seed);
    if (n)
        memcpy(buf + 16, rid.p, n);
    XXH128_hash_t h = XXH3_128bits(buf, 16 + n);
    snprintf(out, 35, "vg%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
}

/* An alert: its rows to the batch set, then to the caller. */
static void alert_raise(vg_alerter *al, const vg_alert *a)
{
    al->st.alerts++;
    if (al->out) {
        vg_err e = alert_write_rows(al->out, al->det, a, &al->tmp, al->d);
        if (e)
            al->err = e;
    }
    if (al->fn)
        al->fn(al->ctx, a);
}

static void on_match(void *ctx, const vg_detect_rule *r, const vg_batch *b, uint32_t row)
{
    vg_alerter *al = ctx;
    if (al->err)
        return;
    al->st.matches++;
    al->seq++;
    vg_time ts = row_time(b, row);
    if (al->corr && sg_corr_wants(al->corr, r->sg)) {
        alert_field_ctx fc = { al->det, r, b, row, &al->tmp };
        sg_corr_hit h = { r->sg, ts, alert_field_read, &fc, al->seq };
        vg_err e = sg_corr_offer(al->corr, &h, alert_corr_emit, al);
        if (e)
            al->err = vg_diag_set(al->d, e, "correlation: %s", vg_strerror(e));
    }
    if (!r->alerts)
        return;
    if (excluded(al, r, b, row)) {
        al->st.excluded++;
        return;
    }
    if (suppressed(al, r, b, row, ts)) {
        al->st.suppressed++;
        return;
    }
    char id[35];
    alert_id(al, r, id);
    vg_alert a = { r, vg_str_make(id, 34), ts, b, row, NULL };
    alert_raise(al, &a);
}

void alert_corr_emit(void *ctx, const sg_corr_alert *ca)
{
    vg_alerter *al = ctx;
    if (al->err)
        return;
    /* by the rule itself: a correlation needs neither an id nor a name */
    const vg_detect_rule *r = vg_detect_rule_of(al->det, ca->rule);
    if (!r || !r->enabled)
        return;
    char id[35];
    alert_id(al, r, id);
    vg_alert a = { r, vg_str_make(id, 34), ca->last_ts, NULL, 0, ca };
    al->st.correlation_alerts++;
    alert_raise(al, &a);
}

vg_err vg_alerter_batch(vg_alerter *al, const vg_batch *b, vg_batchset *out, vg_alert_fn fn,
                        void *ctx, vg_diag *d)
{
    al->b = b;
    al->out = out;
    al->fn = fn;
    al->ctx = ctx;
    al->d = d;
    al->err = VG_OK;
    vg_arena_reset(&al->tmp);
    vg_err e = vg_detect_scan(al->scan, b, on_match, al, d);
    return e ? e : al->err;
}

vg_err vg_alerter_flush(vg_alerter *al, vg_time now, vg_batchset *out, vg_alert_fn fn, void *ctx,
                        vg_diag *d)
{
    if (!al->corr)
        return VG_OK;
    al->out = out;
    al->fn = fn;
    al->ctx = ctx;
    al->d = d;
    al->err = VG_OK;
    vg_err e = sg_corr_advance(al->corr, now, alert_corr_emit, al);
    return e ? e : al->err;
}
