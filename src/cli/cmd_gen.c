/*
 * cmd_gen.c - `vigil gen` (synthetic telemetry, see src/gen/vg_gen.h) and the
 * hidden `vigil decode-bench` (the native decoder alone, file -> batches
 * with a sink that drops them, to see where ingest time goes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/vg_time.h"
#include "../gen/vg_gen.h"
#include "../ingest/vg_ingest.h"
#include "cli_int.h"

#define GEN_CHUNK (4u << 20)   /* bytes generated per write */

typedef struct gen_settings {
    int64_t devices, days, seed, rows, needles;
    const char *start, *tables, *out;
} gen_settings;

#define OFF(f) offsetof(gen_settings, f)
static const vg_cfg_def gen_defs[] = {
    { "devices", VG_CFG_INT, "10", 1, VG_GEN_MAX_DEVICES, false, OFF(devices),
      "number of devices (each with its own user, processes and IP)" },
    { "days", VG_CFG_INT, "7", 1, VG_GEN_MAX_DAYS, false, OFF(days), "days the rows cover" },
    { "seed", VG_CFG_INT, "1", 0, INT64_MAX, false, OFF(seed),
      "PRNG seed: the same options and seed give the same bytes" },
    { "rows", VG_CFG_INT, "0", 0, INT64_MAX, false, OFF(rows),
      "exact number of rows to write (0: 2000 per device and day)" },
    { "start", VG_CFG_STRING, "", 0, 0, false, OFF(start),
      "ISO date/time of the first day (default: midnight UTC, DAYS days before today; give it "
      "for byte-identical output across days)" },
    { "tables", VG_CFG_STRING, "", 0, 0, false, OFF(tables),
      "comma-separated tables to write (default all: DeviceProcessEvents, DeviceNetworkEvents, "
      "DeviceLogonEvents, DeviceFileEvents, DeviceRegistryEvents, DeviceImageLoadEvents, "
      "DeviceInfo)" },
    { "needles", VG_CFG_INT, "2000", 1, 1000000000, false, OFF(needles),
      "one episode in this many is suspicious (encoded PowerShell, certutil download, LSASS "
      "dump, Run key, discovery, mshta, password spraying)" },
    { "out", VG_CFG_STRING, "", 0, 0, false, OFF(out), "output file (default: stdout)" },
};
#undef OFF

static const vg_cfg_spec gen_spec = {
    "vigil gen",
    "generate synthetic Defender telemetry as native NDJSON (with a \"Table\" member)",
    "vigil gen [--devices N] [--days D] [--seed S] [--rows N] [--start ISO] [--tables T,...] "
    "[--out FILE]",
    gen_defs,
    sizeof gen_defs / sizeof gen_defs[0],
};

static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += k;
        n -= (size_t)k;
    }
    return true;
}

int cmd_gen(int argc, char **argv)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    gen_settings s;
    vg_cfg_args args;
    int rc = cli_parse(&gen_spec, argc, argv, &s, &args, &a);
    vg_gen *g = NULL;
    vg_buf buf;
    vg_buf_init(&buf, 0);
    int fd = STDOUT_FILENO;
    if (rc >= 0)
        goto out;
    rc = CLI_ERR;
    if (args.npos) {
        cli_err("gen", "unexpected argument '%s' (see vigil gen --help)", args.pos[0]);
        rc = CLI_USAGE;
        goto out;
    }
    vg_diag d;
    vg_diag_clear(&d);
    vg_gen_opts o = { .seed = (uint64_t)s.seed, .devices = (uint32_t)s.devices,
                      .days = (uint32_t)s.days, .rows = (uint64_t)s.rows, .needle_odds = (uint32_t)s.needles };
    if (s.start[0]) {
        if (vg_time_parse_iso(vg_str_c(s.start), &o.start)) {
            cli_err("gen", "--start: '%s' is not an ISO date or date-time", s.start);
            rc = CLI_USAGE;
            goto out;
        }
    } else {
        o.start = (vg_time_day(vg_time_now()) - s.days) * VG_TICKS_PER_DAY;
    }
    if (vg_gen_parse_tables(vg_str_c(s.tables), &o.tables, &d)) {
        cli_err("gen", "--tables: %s", d.msg);
        rc = CLI_USAGE;
        goto out;
    }
    if (vg_gen_open(&o, &g, &d)) {
        cli_err("gen", "%s", d.msg);
        goto out;
    }
    if (s.out[0] && (fd = open(s.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        cli_err("gen", "%s: %s", s.out, strerror(errno));
        goto out;
    }
    bool done = false;
    while (!done) {
        vg_buf_clear(&buf);
        vg_err e = vg_gen_fill(g, &buf, GEN_CHUNK, &done);
        if (e) {
            cli_err("gen", "generator failed: %s", vg_strerror(e));
            goto out;
        }
        if (!write_all(fd, buf.p, buf.n)) {
            cli_err("gen", "%s: write failed: %s", s.out[0] ? s.out : "stdout", strerror(errno));
            goto out;
        }
    }
    if (fd != STDOUT_FILENO && close(fd) != 0) {
        fd = STDOUT_FILENO;
        cli_err("gen", "%s: %s", s.out, strerror(errno));
        goto out;
    }
    fd = STDOUT_FILENO;
    rc = CLI_OK;
out:
    if (fd != STDOUT_FILENO)
        close(fd);
    vg_gen_close(g);
    vg_buf_free(&buf);
    vg_arena_free(&a);
    return rc;
}

/* ---- decode-bench ---- */

typedef struct bench_settings {
    const char *format, *table;
    int64_t repeat, batch_rows;
} bench_settings;

#define OFF(f) offsetof(bench_settings, f)
static const vg_cfg_def bench_defs[] = {
    { "format", VG_CFG_STRING, "auto", 0, 0, false, OFF(format),
      "input format: auto, ndjson, evtx, evtx-json, winlogbeat" },
    { "table", VG_CFG_STRING, "", 0, 0, false, OFF(table),
      "default table for NDJSON lines without a \"Table\" member" },
    { "repeat", VG_CFG_INT, "1", 1, 1000, false, OFF(repeat), "decode the input this many times" },
    { "batch-rows", VG_CFG_INT, "0", 0, 1 << 20, false, OFF(batch_rows),
      "rows per batch (0: the default)" },
};
#undef OFF

static const vg_cfg_spec bench_spec = {
    "vigil decode-bench",
    "decode a file into batches and drop them: the decoder's speed alone",
    "vigil decode-bench [--format F] [--table T] [--repeat N] FILE",
    bench_defs,
    sizeof bench_defs / sizeof bench_defs[0],
};

static vg_err null_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    *(uint64_t *)ctx += b->nrows;
    return VG_OK;
}

int cmd_decode_bench(int argc, char **argv)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    bench_settings s;
    vg_cfg_args args;
    cli_input in = { .fd = -1 };
    int rc = cli_parse(&bench_spec, argc, argv, &s, &args, &a);
    if (rc >= 0)
        goto out;
    rc = CLI_USAGE;
    vg_ingest_opts o = { .format = VG_FMT_AUTO, .keep_raw = true };
    if (args.npos != 1) {
        cli_err("decode-bench", "give one input file");
        goto out;
    }
    if (vg_format_parse(s.format, &o.format)) {
        cli_err("decode-bench", "unknown format '%s'", s.format);
        goto out;
    }
    if (s.table[0] && !(o.table = vg_schema_table(vg_str_c(s.table)))) {
        cli_err("decode-bench", "unknown table '%s'", s.table);
        goto out;
    }
    rc = CLI_ERR;
    vg_diag d;
    vg_diag_clear(&d);
    if (cli_input_open(&in, args.pos[0], &d) || !in.mapped) {
        cli_err("decode-bench", "%s", d.msg[0] ? d.msg : "needs a regular file");
        goto out;
    }
    /* touch every page first so the first pass is not a disk benchmark */
    volatile unsigned char sum = 0;
    for (size_t i = 0; i < in.data.n; i += 4096)
        sum ^= (unsigned char)in.data.p[i];
    (void)sum;
    uint64_t rows = 0;
    vg_ingest_result res = { 0 };
    uint64_t t0 = vg_mono_ns();
    for (int64_t k = 0; k < s.repeat; k++) {
        vg_batchset set;
        if (vg_batchset_init(&set, (uint32_t)s.batch_rows, null_sink, &rows)) {
            cli_err("decode-bench", "out of memory");
            goto out;
        }
        vg_err e = vg_ingest_buffer(&set, &o, in.data, NULL, NULL, &res, &d);
        if (!e)
            e = vg_batchset_flush(&set, &d);
        vg_batchset_free(&set);
        if (e) {
            cli_err("decode-bench", "%s", d.msg);
            goto out;
        }
    }
    double sec = (double)(vg_mono_ns() - t0) / 1e9;
    double mb = (double)in.data.n * (double)s.repeat / 1e6;
    char b1[32], b2[32];
    printf("decode-bench: %s rows (%s rejected) from %.1f MB in %.3f s: %.0f rows/s, %.1f MB/s\n",
           cli_num(rows, b1, sizeof b1), cli_num(res.rejected, b2, sizeof b2), mb, sec,
           sec > 0 ? (double)rows / sec : 0, sec > 0 ? mb / sec : 0);
    rc = CLI_OK;
out:
    cli_input_close(&in);
    vg_arena_free(&a);
    return rc;
}
