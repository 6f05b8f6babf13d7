/*
 * evtx_bench.c - the EVTX decoders side by side: Vigil's own reader
 * (win_decode_evtx_native, what vg_decode_evtx_file uses) and the libevtx +
 * expat path (win_decode_evtx), each decoding the same file N times into
 * batches that are dropped (rows are built and mapped, nothing is stored).
 * Prints MB/s (of file bytes) and events/s for both, from the same run, and
 * the native reader alone (binary XML to win_event, without the row mapping).
 *
 * Build and run (after `make`):
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Isrc -Ibuild/gen bench/evtx_bench.c build/libvigil.a \
 *      $(make -s print-libs) -o build/evtx_bench
 *   build/evtx_bench FILE.evtx [REPEAT]
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/vg_time.h"
#include "ingest/evtx_read.h"
#include "ingest/vg_ingest.h"

static vg_err drop(void *ctx, vg_batch *b, vg_diag *d) { return VG_OK; }

static int run(const char *name, vg_str img, int repeat, bool native)
{
    vg_ingest_opts o = { .format = VG_FMT_EVTX, .keep_raw = true };
    uint64_t events = 0, rejects = 0;
    vg_batchset set;
    vg_diag d = { "" };
    if (vg_batchset_init(&set, 4096, drop, NULL))
        return 1;
    uint64_t t0 = vg_mono_ns();
    vg_err e = VG_OK;
    for (int i = 0; i < repeat && !e; i++) {
        vg_ingest_result res = { 0 };
        e = native ? win_decode_evtx_native(&set, &o, img, NULL, NULL, &res, &d)
                   : win_decode_evtx(&set, &o, img, false, NULL, NULL, &res, &d);
        events += res.accepted;
        rejects += res.rejected;
    }
    if (!e)
        e = vg_batchset_flush(&set, &d);
    vg_batchset_free(&set);
    if (e) {
        fprintf(stderr, "%s: %s\n", name, d.msg);
        return 1;
    }
    double s = (double)(vg_mono_ns() - t0) / 1e9;
    printf("%-22s %8.1f MB/s %10.0f events/s  (%llu events, %llu rejects, %.3f s)\n", name,
           (double)img.n * repeat / 1e6 / s, (double)events / s, (unsigned long long)events,
           (unsigned long long)rejects, s);
    return 0;
}

static vg_err count_event(void *ctx, uint64_t ordinal, win_event *ev, const char *bad, vg_diag *d)
{
    ++*(uint64_t *)ctx;
    return VG_OK;
}

/* The reader alone: binary XML to win_event, no mapping into rows. */
static int run_reader(vg_str img, int repeat)
{
    vg_arena a;
    vg_arena_init(&a, 65536, EVTX_ARENA_CAP);
    uint64_t events = 0;
    uint64_t t0 = vg_mono_ns();
    for (int i = 0; i < repeat; i++) {
        evtx_stats st;
        vg_diag d = { "" };
        if (evtx_read(img, &a, count_event, &events, &st, &d)) {
            fprintf(stderr, "reader: %s\n", d.msg);
            return 1;
        }
    }
    double s = (double)(vg_mono_ns() - t0) / 1e9;
    vg_arena_free(&a);
    printf("%-22s %8.1f MB/s %10.0f events/s  (%llu events, %.3f s)\n", "  reader alone",
           (double)img.n * repeat / 1e6 / s, (double)events / s, (unsigned long long)events, s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: evtx_bench FILE.evtx [REPEAT]\n");
        return 2;
    }
    int repeat = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 200;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    vg_buf b;
    vg_buf_init(&b, 0);
    char tmp[65536];
    size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
        vg_buf_put(&b, tmp, k);
    fclose(f);
    vg_str img = vg_str_make(b.p, b.n);
    printf("%s: %zu bytes x %d\n", argv[1], b.n, repeat);
    int rc = run("vigil (evtx_read.c)", img, repeat, true) | run_reader(img, repeat) |
             run("libevtx + expat", img, repeat, false);
    vg_buf_free(&b);
    return rc;
}
