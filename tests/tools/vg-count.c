/*
 * vg-count - test tool: opens a data directory read-only and counts the rows
 * of one table with the scan API (vg_scan), so integration tests can check
 * what vigild made durable without going through the server.
 *
 *   vg-count DIR TABLE                 prints the row count
 *   vg-count --values COL DIR TABLE    prints COL of every row, one per line
 *                                      (null as "-"), then nothing else
 *   vg-count --stats DIR               prints the store's stats as key=value
 *
 * Exit status: 0 on success, 1 when the store or the scan fails (a damaged
 * segment, for example), 2 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/vg_store.h"

static int usage(void)
{
    fprintf(stderr, "usage: vg-count [--values COL] DIR TABLE | vg-count --stats DIR\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *col = NULL;
    bool stats = false;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--values") == 0 && i + 1 < argc)
            col = argv[++i];
        else if (strcmp(argv[i], "--stats") == 0)
            stats = true;
        else
            return usage();
    }
    if (argc - i != (stats ? 1 : 2))
        return usage();
    const char *dir = argv[i];
    const vg_table_def *t = NULL;
    int c = -1;
    if (!stats) {
        t = vg_schema_table(vg_str_c(argv[i + 1]));
        if (!t) {
            fprintf(stderr, "vg-count: unknown table %s\n", argv[i + 1]);
            return 2;
        }
        if (col && (c = vg_schema_col(t, vg_str_c(col))) < 0) {
            fprintf(stderr, "vg-count: %s has no column %s\n", t->name, col);
            return 2;
        }
    }
    vg_diag d;
    vg_diag_clear(&d);
    vg_store_opts o = { .dir = dir, .read_only = true };
    vg_store *s = NULL;
    if (vg_store_open(&o, &s, &d)) {
        fprintf(stderr, "vg-count: %s: %s\n", dir, d.msg);
        return 1;
    }
    int rc = 0;
    if (stats) {
        vg_store_stats st;
        memset(&st, 0, sizeof st);
        vg_store_stats_get(s, &st);
        printf("rows_total=%llu\nwal_bytes=%llu\nsegments=%llu\nsegment_bytes=%llu\n"
               "quarantined=%llu\ntail_rows=%llu\ndeadletters=%llu\n",
               (unsigned long long)st.rows_total, (unsigned long long)st.wal_bytes,
               (unsigned long long)st.segments, (unsigned long long)st.segment_bytes,
               (unsigned long long)st.quarantined, (unsigned long long)st.tail_rows,
               (unsigned long long)st.deadletters);
        goto out;
    }
    bool *mask = calloc(t->ncols, sizeof *mask);
    if (!mask) {
        rc = 1;
        goto out;
    }
    if (c >= 0)
        mask[c] = true;
    else if (t->ts_col >= 0)
        mask[t->ts_col] = true;
    else
        mask[0] = true;
    vg_scan_spec spec = { .table = t, .cols = mask, .tmin = INT64_MIN, .tmax = INT64_MAX };
    vg_scan *sc = NULL;
    if (vg_scan_open(s, &spec, &sc, &d)) {
        fprintf(stderr, "vg-count: scan: %s\n", d.msg);
        free(mask);
        rc = 1;
        goto out;
    }
    uint64_t n = 0;
    vg_buf v;
    vg_buf_init(&v, 0);
    const vg_batch *b;
    vg_err e;
    while ((e = vg_scan_next(sc, &b, &d)) == VG_OK) {
        n += b->nrows;
        if (c < 0)
            continue;
        for (uint32_t r = 0; r < b->nrows; r++) {
            vg_buf_clear(&v);
            if (vg_batch_value_text(b, c, r, &v))
                printf("%.*s\n", (int)v.n, v.p);
            else
                puts("-");
        }
    }
    if (e != VG_EEOF) {
        fprintf(stderr, "vg-count: scan: %s\n", d.msg);
        rc = 1;
    } else if (c < 0) {
        printf("%llu\n", (unsigned long long)n);
    }
    vg_buf_free(&v);
    vg_scan_close(sc);
    free(mask);
out:
    vg_diag_clear(&d);
    if (vg_store_close(s, &d)) {
        fprintf(stderr, "vg-count: close: %s\n", d.msg);
        rc = 1;
    }
    return rc;
}
