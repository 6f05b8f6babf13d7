/*
 * cmd_detect.c - `vigil detect`: Sigma rules over event files, offline, the
 * way Hayabusa and Chainsaw are used on a collection of .evtx files.
 *
 *   vigil detect --rules PATH [--rules PATH ...] [--format table|json|csv]
 *                [--enable SEL] [--disable SEL] [--min-level L]
 *                [--suppress-window 10m] [--exclusions FILE] FILE...
 *
 * Each FILE (EVTX, evtx-JSON, Winlogbeat or native NDJSON; detected, or
 * --input-format) is decoded into batches, and every batch runs through the
 * same alerter vigild uses (vg_alert.h). json prints one alert per line
 * (vg_alert_json: RuleId, Title, Severity, Timestamp, the evidence...);
 * table and csv print one line per alert with the main columns. Rule files
 * that fail to compile are reported on stderr (file and reason) and the
 * rest run. Exit status 0 also when alerts were found.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../detect/vg_alert.h"
#include "cli_detect.h"
#include "cli_int.h"

typedef struct detect_settings {
    cli_rule_settings r;
    const char *format;
    const char *input_format;
    int64_t suppress;
    const char *exclusions;
    bool stats;
    bool quiet;
} detect_settings;

#define OFF(f) offsetof(detect_settings, f)
static const vg_cfg_def detect_defs[] = {
    CLI_RULE_DEFS(detect_settings, r),
    { "format", VG_CFG_STRING, "table", 0, 0, false, OFF(format),
      "output: table (aligned text), json (one alert per line, with the evidence), csv" },
    { "input-format", VG_CFG_STRING, "auto", 0, 0, false, OFF(input_format),
      "input: auto, evtx, evtx-json, winlogbeat or ndjson" },
    { "suppress-window", VG_CFG_DURATION, "0", 0, 86400 * 30, false, OFF(suppress),
      "raise one alert per rule, device and account in this window (0: every match)" },
    { "exclusions", VG_CFG_STRING, "", 0, 0, false, OFF(exclusions),
      "file of exclusions, one 'RULE FIELD=VALUE' per line (RULE an id, a name or *)" },
    { "stats", VG_CFG_BOOL, "false", 0, 0, false, OFF(stats),
      "print rows, matches, alerts and rates as JSON on stderr" },
    { "quiet", VG_CFG_BOOL, "false", 0, 0, false, OFF(quiet),
      "do not list rule files that failed to compile" },
};
#undef OFF

static const vg_cfg_spec detect_spec = {
    "vigil detect", "run Sigma rules over EVTX, evtx-JSON, Winlogbeat or NDJSON files",
    "vigil detect --rules PATH [--rules PATH ...] [--format table|json|csv] FILE...",
    detect_defs, sizeof detect_defs / sizeof detect_defs[0],
};

typedef struct detect_run {
    const detect_settings *s;
    vg_alerter *al;
    vg_buf out;
    uint64_t rows, alerts;
    uint64_t detect_ns;          /* in the alerter (detection, alerts) */
    vg_err err;
    vg_diag *d;
} detect_run;

static void csv_field(vg_buf *o, vg_str v)
{
    bool q = false;
    for (size_t i = 0; i < v.n && !q; i++)
        q = v.p[i] == ',' || v.p[i] == '"' || v.p[i] == '\n' || v.p[i] == '\r';
    if (!q) {
        vg_buf_putstr(o, v);
        return;
    }
    vg_buf_putc(o, '"');
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] == '"')
            vg_buf_putc(o, '"');
        vg_buf_putc(o, v.p[i]);
    }
    vg_buf_putc(o, '"');
}

/* A short text of the evidence: the device and the command line or path. */
static void summary(const vg_alert *a, vg_buf *o)
{
    if (a->corr) {
        vg_buf_printf(o, "%u events, value %.17g", a->corr->nevents, a->corr->value);
        return;
    }
    static const char *const cols[] = { "DeviceName", "Computer", "ProcessCommandLine", "FolderPath",
                                        "RegistryKey", "RemoteIP", "RemoteUrl", "AccountName" };
    bool first = true;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        int c = vg_schema_col(a->b->table, vg_str_c(cols[i]));
        if (c < 0 || vg_batch_is_null(a->b, c, a->row))
            continue;
        if (!first)
            vg_buf_puts(o, " | ");
        size_t before = o->n;
        vg_batch_value_text(a->b, c, a->row, o);
        for (size_t k = before; k < o->n; k++)
            if (o->p[k] == '\n' || o->p[k] == '\r' || o->p[k] == '\t')
                o->p[k] = ' ';
        first = false;
    }
}

static void on_alert(void *ctx, const vg_alert *a)
{
    detect_run *run = ctx;
    run->alerts++;
    vg_buf *o = &run->out;
    const char *fmt = run->s->format;
    if (!strcmp(fmt, "json")) {
        vg_alert_json(a, o);
        vg_buf_putc(o, '\n');
    } else {
        char ts[40];
        vg_time_format(a->timestamp, ts, sizeof ts);
        const sg_rule *r = a->rule->sg;
        vg_buf ev;
        vg_buf_init(&ev, 1u << 20);
        summary(a, &ev);
        vg_str evs = vg_str_make(ev.p ? ev.p : "", ev.n);
        if (!strcmp(fmt, "csv")) {
            vg_buf_puts(o, ts);
            vg_buf_putc(o, ',');
            csv_field(o, r->id.p ? r->id : r->name);
            vg_buf_putc(o, ',');
            csv_field(o, vg_str_c(sg_level_name(r->level)));
            vg_buf_putc(o, ',');
            csv_field(o, r->title);
            vg_buf_putc(o, ',');
            csv_field(o, evs);
            vg_buf_putc(o, '\n');
        } else {
            vg_buf_printf(o, "%-28s %-8s %-36.*s %.*s  [%.*s]\n", ts, sg_level_name(r->level),
                          (int)(r->id.p ? r->id.n : r->name.n), r->id.p ? r->id.p : r->name.p,
                          (int)r->title.n, r->title.p, (int)evs.n, evs.p);
        }
        vg_buf_free(&ev);
    }
    if (o->n > (1u << 20)) {
        fwrite(o->p, 1, o->n, stdout);
        vg_buf_clear(o);
    }
}

static vg_err on_batch(void *ctx, vg_batch *b, vg_diag *d)
{
    detect_run *run = ctx;
    run->rows += b->nrows;
    uint64_t t0 = vg_mono_ns();
    vg_err e = vg_alerter_batch(run->al, b, NULL, on_alert, run, d);
    run->detect_ns += vg_mono_ns() - t0;
    return e;
}

static void on_reject(void *ctx, uint64_t line, vg_str reason, vg_str record)
{
    const char *name = ctx;
    fprintf(stderr, "vigil detect: %s: record %llu: %.*s\n", name, (unsigned long long)line,
            (int)reason.n, reason.p);
}

static vg_err run_file(detect_run *run, const char *path, vg_format fmt, vg_diag *d)
{
    cli_input in;
    vg_err e = cli_input_open(&in, path, d);
    if (e)
        return e;
    vg_buf all;
    vg_buf_init(&all, 0);
    vg_str data = in.data;
    if (!in.mapped) {
        while (!in.eof && !(e = cli_input_read(&in, &all, 1u << 20, d)))
            ;
        data = vg_str_make(all.p ? all.p : "", all.n);
    }
    if (!e) {
        vg_batchset set;
        vg_ingest_opts o = { fmt, NULL, true, false };
        vg_ingest_result res = { 0 };
        e = vg_batchset_init(&set, VG_BATCH_ROWS, on_batch, run);
        if (!e) {
            e = vg_ingest_buffer(&set, &o, data, on_reject, (void *)path, &res, d);
            if (!e)
                e = vg_batchset_flush(&set, d);
            vg_batchset_free(&set);
        }
    }
    vg_buf_free(&all);
    cli_input_close(&in);
    if (e)
        vg_diag_prefix(d, "%s: ", path);
    return e;
}

int cmd_detect(int argc, char **argv)
{
    detect_settings s;
    vg_cfg_args args;
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    int rc = cli_parse(&detect_spec, argc, argv, &s, &args, &a);
    if (rc >= 0)
        goto done;
    rc = CLI_USAGE;
    if (strcmp(s.format, "table") && strcmp(s.format, "json") && strcmp(s.format, "csv")) {
        cli_err("detect", "--format: expected table, json or csv, got '%s'", s.format);
        goto done;
    }
    vg_format fmt;
    if (vg_format_parse(s.input_format, &fmt)) {
        cli_err("detect", "--input-format: unknown format '%s'", s.input_format);
        goto done;
    }
    if (args.npos == 0) {
        cli_err("detect", "no input files (usage: %s)", detect_spec.usage);
        goto done;
    }
    vg_diag d;
    vg_diag_clear(&d);
    vg_detect *det = NULL;
    rc = cli_rules_build(&s.r, "detect", s.quiet, &det);
    if (rc != CLI_OK)
        goto done;
    vg_alert_opts ao = { 0 };
    ao.suppress_window = s.suppress * VG_TICKS_PER_SEC;
    ao.corr.lateness = s.r.lateness * VG_TICKS_PER_SEC;
    if (s.exclusions[0] &&
        vg_alert_load_exclusions(s.exclusions, &a, (vg_alert_exclusion **)&ao.exclusions,
                                 &ao.nexclusions, &d)) {
        cli_err("detect", "%s", d.msg);
        rc = CLI_USAGE;
        vg_detect_release(det);
        goto done;
    }
    detect_run run = { &s, NULL, { 0 }, 0, 0, 0, VG_OK, &d };
    vg_buf_init(&run.out, 0);
    if (vg_alerter_new(det, &ao, &run.al, &d)) {
        cli_err("detect", "%s", d.msg);
        rc = CLI_ERR;
        vg_detect_release(det);
        goto done;
    }
    if (!strcmp(s.format, "csv"))
        vg_buf_puts(&run.out, "Timestamp,RuleId,Level,Title,Evidence\n");
    uint64_t t0 = vg_mono_ns();
    rc = CLI_OK;
    for (int i = 0; i < args.npos; i++)
        if (run_file(&run, args.pos[i], fmt, &d)) {
            cli_err("detect", "%s", d.msg);
            rc = CLI_ERR;
        }
    vg_alerter_flush(run.al, INT64_MAX / 2, NULL, on_alert, &run, &d);
    fwrite(run.out.p ? run.out.p : "", 1, run.out.n, stdout);
    fflush(stdout);
    if (s.stats) {
        vg_alert_stats st;
        vg_alerter_stats(run.al, &st);
        vg_detect_stats ds;
        vg_alerter_detect_stats(run.al, &ds);
        double secs = (double)(vg_mono_ns() - t0) / 1e9;
        fprintf(stderr,
                "{\"rows\":%llu,\"matches\":%llu,\"alerts\":%llu,\"suppressed\":%llu,\"excluded\":%llu,"
                "\"rules\":%u,\"scans\":%llu,\"rule_evals\":%llu,\"signatures\":{\"hit\":%llu,"
                "\"partial\":%llu,\"new\":%llu,\"uncacheable\":%llu},\"seconds\":%.3f,\"rows_per_sec\":%.0f,"
                "\"detect_seconds\":%.3f,\"detect_rows_per_sec\":%.0f,"
                "\"backend\":\"%s\"}\n",
                (unsigned long long)run.rows, (unsigned long long)st.matches,
                (unsigned long long)st.alerts, (unsigned long long)st.suppressed,
                (unsigned long long)st.excluded, vg_detect_get_report(det)->enabled,
                (unsigned long long)ds.scans, (unsigned long long)ds.rule_evals,
                (unsigned long long)ds.sig_hits, (unsigned long long)ds.sig_partial,
                (unsigned long long)ds.sig_new, (unsigned long long)ds.sig_uncacheable, secs,
                secs > 0 ? (double)run.rows / secs : 0.0, (double)run.detect_ns / 1e9,
                run.detect_ns ? (double)run.rows * 1e9 / (double)run.detect_ns : 0.0,
                vg_detect_backend(det));
    }
    vg_buf_free(&run.out);
    vg_alerter_free(run.al);
    vg_detect_release(det);
done:
    vg_arena_free(&a);
    return rc;
}
