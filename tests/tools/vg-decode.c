/*
 * vg-decode - test tool: decodes input files with Vigil's decoders and prints
 * every normalized row as one JSON line, prefixed by its table:
 *
 *   {"Table":"DeviceProcessEvents", ...columns..., "_Raw":{...}}
 *
 * Rejected records go to stderr as "reject line N: reason". No store is
 * involved, so golden tests of decoders depend on decoders alone.
 *
 * Usage: vg-decode [--format F] [--table T] FILE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/vg_ingest.h"

static vg_err print_batch(void *ctx, vg_batch *b, vg_diag *d)
{
    vg_buf out;
    vg_buf_init(&out, 0);
    for (uint32_t r = 0; r < b->nrows; r++) {
        vg_buf_clear(&out);
        vg_batch_row_json(b, r, &out);
        /* splice the table name in front of the columns */
        printf("{\"Table\":\"%s\"%s%.*s\n", b->table->name, out.n > 2 ? "," : "",
               (int)(out.n - 1), out.p + 1);
    }
    vg_buf_free(&out);
    return VG_OK;
}

static void on_reject(void *ctx, uint64_t line, vg_str reason, vg_str record)
{
    fprintf(stderr, "reject %s line %llu: %.*s\n", (const char *)ctx, (unsigned long long)line,
            VG_STR_FMT(reason));
}

static int read_file(const char *path, char **out, size_t *n)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return -1;
    vg_buf b;
    vg_buf_init(&b, 0);
    char tmp[65536];
    size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
        vg_buf_put(&b, tmp, k);
    if (f != stdin)
        fclose(f);
    *out = b.p;
    *n = b.n;
    return b.failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    vg_ingest_opts o = { .format = VG_FMT_AUTO, .table = NULL, .keep_raw = true };
    int i = 1, rc = 0;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "vg-decode: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--format") == 0) {
            if (vg_format_parse(argv[i + 1], &o.format)) {
                fprintf(stderr, "vg-decode: unknown format %s\n", argv[i + 1]);
                return 2;
            }
        } else if (strcmp(argv[i], "--table") == 0) {
            o.table = vg_schema_table(vg_str_c(argv[i + 1]));
            if (!o.table) {
                fprintf(stderr, "vg-decode: unknown table %s\n", argv[i + 1]);
                return 2;
            }
        } else {
            fprintf(stderr, "vg-decode: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    for (; i < argc; i++) {
        char *data;
        size_t n;
        if (read_file(argv[i], &data, &n)) {
            fprintf(stderr, "vg-decode: cannot read %s\n", argv[i]);
            return 1;
        }
        vg_batchset set;
        vg_diag d = { "" };
        vg_ingest_result res = { 0 };
        vg_err e = vg_batchset_init(&set, 0, print_batch, NULL);
        if (!e)
            e = vg_ingest_buffer(&set, &o, vg_str_make(data ? data : "", n), on_reject, argv[i],
                                 &res, &d);
        if (!e)
            e = vg_batchset_flush(&set, &d);
        if (e) {
            fprintf(stderr, "vg-decode: %s: %s: %s\n", argv[i], vg_strerror(e), d.msg);
            rc = 1;
        }
        if (res.rejected)
            rc = rc ? rc : 3;
        vg_batchset_free(&set);
        free(data);
    }
    return rc;
}
