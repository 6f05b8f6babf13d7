/*
 * cmd_read.c - `vigil count` and `vigil dump`: read a data directory offline
 * (opened read-only, so no writer lock is taken and nothing is replayed into
 * segments). Dump writes one NDJSON object per row, "Table" first, then the
 * columns that are not null and the raw source record under "_Raw": the
 * output is valid native input, so a dump re-ingests to the same rows.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../store/vg_store.h"
#include "cli_int.h"

#define DUMP_FLUSH (1u << 20)   /* bytes of output buffered before a write */

typedef struct read_settings {
    const char *data;
    int64_t limit;
} read_settings;

#define OFF(f) offsetof(read_settings, f)
static const vg_cfg_def count_defs[] = {
    { "data", VG_CFG_STRING, "./vigil-data", 0, 0, false, OFF(data), "data directory" },
};
static const vg_cfg_def dump_defs[] = {
    { "data", VG_CFG_STRING, "./vigil-data", 0, 0, false, OFF(data), "data directory" },
    { "limit", VG_CFG_INT, "0", 0, INT64_MAX, false, OFF(limit),
      "print at most this many rows (0: all)" },
};
#undef OFF

static const vg_cfg_spec count_spec = {
    "vigil count", "print the number of rows of a table in a data directory",
    "vigil count [--data DIR] TABLE", count_defs, sizeof count_defs / sizeof count_defs[0],
};
static const vg_cfg_spec dump_spec = {
    "vigil dump", "print the rows of a table as NDJSON (all columns and _Raw)",
    "vigil dump [--data DIR] [--limit N] TABLE", dump_defs, sizeof dump_defs / sizeof dump_defs[0],
};

/* Parses, checks the TABLE argument and opens the store read-only. */
static int open_for_read(const vg_cfg_spec *spec, const char *cmd, int argc, char **argv,
                         read_settings *s, vg_arena *a, const vg_table_def **t, vg_store **st)
{
    vg_cfg_args args;
    int rc = cli_parse(spec, argc, argv, s, &args, a);
    if (rc >= 0)
        return rc;
    if (args.npos != 1) {
        cli_err(cmd, "give one table name (see vigil %s --help)", cmd);
        return CLI_USAGE;
    }
    *t = vg_schema_table(vg_str_c(args.pos[0]));
    if (!*t) {
        cli_err(cmd, "unknown table '%s' (vigil schema lists them)", args.pos[0]);
        return CLI_USAGE;
    }
    vg_store_opts o = { .dir = s->data, .read_only = true };
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_store_open(&o, st, &d);
    if (e) {
        cli_err(cmd, "cannot open %s: %s", s->data, d.msg[0] ? d.msg : vg_strerror(e));
        return CLI_ERR;
    }
    return -1;
}

int cmd_count(int argc, char **argv)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    read_settings s;
    const vg_table_def *t = NULL;
    vg_store *st = NULL;
    int rc = open_for_read(&count_spec, "count", argc, argv, &s, &a, &t, &st);
    if (rc < 0) {
        printf("%llu\n", (unsigned long long)vg_store_table_rows(st, t));
        rc = CLI_OK;
    }
    if (st) {
        vg_diag d;
        vg_store_close(st, &d);
    }
    vg_arena_free(&a);
    return rc;
}

int cmd_dump(int argc, char **argv)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    read_settings s;
    const vg_table_def *t = NULL;
    vg_store *st = NULL;
    vg_scan *sc = NULL;
    vg_buf out, row;
    vg_buf_init(&out, 0);
    vg_buf_init(&row, 0);
    int rc = open_for_read(&dump_spec, "dump", argc, argv, &s, &a, &t, &st);
    if (rc >= 0)
        goto out;
    rc = CLI_ERR;
    vg_diag d;
    vg_diag_clear(&d);
    vg_scan_spec spec = { .table = t, .cols = NULL, .raw = true, .tmin = INT64_MIN,
                          .tmax = INT64_MAX };
    if (vg_scan_open(st, &spec, &sc, &d)) {
        cli_err("dump", "%s", d.msg);
        goto out;
    }
    uint64_t n = 0, limit = (uint64_t)s.limit;
    char head[96];
    int headn = snprintf(head, sizeof head, "{\"Table\":\"%s\"", t->name);
    for (;;) {
        const vg_batch *b;
        vg_err e = vg_scan_next(sc, &b, &d);
        if (e == VG_EEOF)
            break;
        if (e) {
            cli_err("dump", "%s", d.msg[0] ? d.msg : vg_strerror(e));
            goto out;
        }
        for (uint32_t r = 0; r < b->nrows && (!limit || n < limit); r++, n++) {
            vg_buf_clear(&row);
            vg_batch_row_json(b, r, &row);
            /* splice "Table" in front of the columns: {"Table":"T",...} */
            vg_buf_put(&out, head, (size_t)headn);
            if (row.n > 2)
                vg_buf_putc(&out, ',');
            vg_buf_put(&out, row.p + 1, row.n - 1);
            vg_buf_putc(&out, '\n');
        }
        if (out.failed || row.failed) {
            cli_err("dump", "out of memory");
            goto out;
        }
        if (out.n >= DUMP_FLUSH) {
            if (fwrite(out.p, 1, out.n, stdout) != out.n)
                goto write_fail;
            vg_buf_clear(&out);
        }
        if (limit && n >= limit)
            break;
    }
    if (out.n && fwrite(out.p, 1, out.n, stdout) != out.n)
        goto write_fail;
    if (fflush(stdout) != 0)
        goto write_fail;
    rc = CLI_OK;
    goto out;
write_fail:
    cli_err("dump", "cannot write to stdout");
out:
    if (sc)
        vg_scan_close(sc);
    if (st) {
        vg_diag cd;
        vg_store_close(st, &cd);
    }
    vg_buf_free(&out);
    vg_buf_free(&row);
    vg_arena_free(&a);
    return rc;
}
