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


/* ---- hand-made EVTX images ---- */

#define CHUNK EVTX_CHUNK_SIZE

typedef struct bld {
    uint8_t *c;      /* the chunk being written */
    uint32_t pos;
} bld;

static void b8(bld *b, uint32_t v) { b->c[b->pos++] = (uint8_t)v; }
static void b16(bld *b, uint32_t v) { b8(b, v & 0xff); b8(b, (v >> 8) & 0xff); }
static void b32(bld *b, uint32_t v) { b16(b, v & 0xffff); b16(b, v >> 16); }
static void b64(bld *b, uint64_t v) { b32(b, (uint32_t)v); b32(b, (uint32_t)(v >> 32)); }
static void bbytes(bld *b, const void *p, size_t n)
{
    if (n)
        memcpy(b->c + b->pos, p, n);
    b->pos += (uint32_t)n;
}
static void p32(bld *b, uint32_t at, uint32_t v)
{
    uint32_t save = b->pos;
    b->pos = at;
    b32(b, v);
    b->pos = save;
}

/* A name reference followed by the name itself (inline). */
static void bname(bld *b, const char *name)
{
    b32(b, b->pos + 4);
    b32(b, 0);
    b16(b, 0);
    b16(b, (uint32_t)strlen(name));
    for (const char *p = name; *p; p++)
        b16(b, (uint8_t)*p);
    b16(b, 0);
}

static void open_el(bld *b, const char *name, bool attrs)
{
    b8(b, attrs ? 0x41 : 0x01);
    b16(b, 0xffff);
    b32(b, 0);
    bname(b, name);
    if (attrs)
        b32(b, 0);
}

static void attr(bld *b, const char *name) { b8(b, 0x06); bname(b, name); }
static void close_start(bld *b) { b8(b, 0x02); }
static void close_empty(bld *b) { b8(b, 0x03); }
static void end_el(bld *b) { b8(b, 0x04); }
static void sub(bld *b, uint32_t idx, uint32_t type, bool optional)
{
    b8(b, optional ? 0x0e : 0x0d);
    b16(b, idx);
    b8(b, type);
}
static void text(bld *b, const char *s)
{
    b8(b, 0x05);
    b8(b, 0x01);
    b16(b, (uint32_t)strlen(s));
    for (const char *p = s; *p; p++)
        b16(b, (uint8_t)*p);
}

/* One substitution value. */
typedef struct val {
    uint8_t type;
    const void *p;
    uint16_t n;
} val;

/* Template instance header; returns where the definition's size goes (0: not inline). */
static uint32_t instance(bld *b, uint32_t def_off)
{
    b8(b, 0x0c);
    b8(b, 0x01);
    b32(b, 7);
    if (def_off) {
        b32(b, def_off);
        return 0;
    }
    b32(b, b->pos + 4);
    b32(b, 0);
    for (int i = 0; i < 16; i++)
        b8(b, (uint32_t)i);
    uint32_t at = b->pos;
    b32(b, 0);
    return at;
}

static void values(bld *b, const val *v, uint32_t n)
{
    b32(b, n);
    for (uint32_t i = 0; i < n; i++) {
        b16(b, v[i].n);
        b8(b, v[i].type);
        b8(b, 0);
    }
    for (uint32_t i = 0; i < n; i++)
        bbytes(b, v[i].p, v[i].n);
}

/* Standard System part: Provider Name=#0, EventID #1 (Qualifiers #2 optional), Computer text. */
static void system_part(bld *b)
{
    open_el(b, "System", false);
    close_start(b);
    open_el(b, "Provider", true);
    attr(b, "Name");
    sub(b, 0, 0x01, false);
    close_empty(b);
    open_el(b, "EventID", true);
    attr(b, "Qualifiers");
    sub(b, 2, 0x06, true);
    close_start(b);
    sub(b, 1, 0x06, false);
    end_el(b);
    open_el(b, "Computer", false);
    close_start(b);
    text(b, "host&");
    b8(b, 0x09);
    bname(b, "amp");
    b8(b, 0x08);
    b16(b, 0x41);
    end_el(b);
    end_el(b);
}

static const uint8_t s_prov[] = { 'P', 0, 'r', 0, 'v', 0 };
static const uint8_t s_id[] = { 0x2a, 0 };

/* Starts a record; returns where its size goes. */
static uint32_t rec_begin(bld *b, uint64_t id)
{
    b32(b, 0x2a2a);
    uint32_t at = b->pos;
    b32(b, 0);
    b64(b, id);
    b64(b, 132000000000000000ull);
    b8(b, 0x0f);
    b8(b, 1);
    b8(b, 1);
    b8(b, 0);
    return at;
}

static void rec_end(bld *b, uint32_t at)
{
    b8(b, 0x00);
    uint32_t size = b->pos - (at - 4) + 4;
    b32(b, size);
    p32(b, at, size);
}

static void chunk_begin(bld *b, uint8_t *c)
{
    memset(c, 0, CHUNK);
    memcpy(c, "ElfChnk", 8);
    b->c = c;
    b->pos = EVTX_CHUNK_HEADER;
}

static void chunk_end(bld *b)
{
    uint8_t *c = b->c;
    p32(b, 40, 128);
    p32(b, 48, b->pos);
    p32(b, 52, (uint32_t)crc32(0L, c + 512, b->pos - 512));
    uLong crc = crc32(0L, c, 120);
    crc = crc32(crc, c + 128, 384);
    p32(b, 124, (uint32_t)crc);
}

/* A file image of nchunks chunks (already written at img + 4096). */
static void file_header(uint8_t *img, uint32_t nchunks)
{
    bld b = { img, 0 };
    memset(img, 0, 4096);
    memcpy(img, "ElfFile", 8);
    p32(&b, 32, 128);
    b.pos = 36;
    b16(&b, 1);
    b16(&b, 3);
    b16(&b, 4096);
    b16(&b, nchunks);
    p32(&b, 124, (uint32_t)crc32(0L, img, 120));
}

/* ---- reading hand-made images through evtx_read ---- */

typedef struct got {
    vg_buf text;     /* per record: "ok id=.. name=value;..." or "bad <msg>" */
    int ok, bad;
} got;

static vg_err collect(void *ctx, uint64_t ordinal, win_event *ev, const char *badmsg, vg_diag *d)
{
    got *g = ctx;
    if (!ev) {
        g->bad++;
        vg_buf_printf(&g->text, "%llu bad %s\n", (unsigned long long)ordinal, badmsg);
        return VG_OK;
    }
    g->ok++;
    vg_buf_printf(&g->text, "%llu ok prov=%.*s id=%.*s q=%s%.*s comp=%.*s", (unsigned long long)ordinal,
                  VG_STR_FMT(ev->provider), VG_STR_FMT(ev->event_id), ev->qualifiers.p ? "" : "(none)",
                  VG_STR_FMT(ev->qualifiers), VG_STR_FMT(ev->computer));
    for (uint32_t i = 0; i < ev->ndata; i++)
        vg_buf_printf(&g->text, " %.*s=%.*s", VG_STR_FMT(ev->data[i].name),
                      VG_STR_FMT(ev->data[i].value));
    vg_buf_putc(&g->text, '\n');
    return VG_OK;
}

static vg_err read_img(const uint8_t *img, size_t n, got *g, evtx_stats *st)
{
    vg_arena a;
    vg_arena_init(&a, 0, EVTX_ARENA_CAP);
    vg_buf_init(&g->text, 0);
    g->ok = g->bad = 0;
    vg_diag d = { "" };
    vg_err e = evtx_read(vg_str_make((const char *)img, n), &a, collect, g, st, &d);
    if (e)
        vg_buf_printf(&g->text, "error %s\n", d.msg);
    vg_buf_cstr(&g->text);
    vg_arena_free(&a);
    return e;
}

#define IMG_SIZE(nchunks) (4096u + (nchunks) * CHUNK)

/* A record with the standard System part and one Data item per value. */
static uint32_t simple_record(bld *b, uint64_t id, const val *data, uint32_t ndata,
                              const char *const *names)
{
    uint32_t at = rec_begin(b, id);
    uint32_t sz = instance(b, 0);
    uint32_t body = b->pos;
    b8(b, 0x0f); b8(b, 1); b8(b, 1); b8(b, 0);
    open_el(b, "Event", false);
    close_start(b);
    system_part(b);
    open_el(b, "EventData", false);
    close_start(b);
    for (uint32_t i = 0; i < ndata; i++) {
        open_el(b, "Data", true);
        attr(b, "Name");
        text(b, names[i]);
        close_start(b);
        sub(b, 3 + i, data[i].type, true);
        end_el(b);
    }
    end_el(b);
    end_el(b);
    b8(b, 0x00);
    p32(b, sz, b->pos - body);
    val v[64] = { { 0x01, s_prov, sizeof s_prov }, { 0x06, s_id, 2 }, { 0x00, NULL, 0 } };
    for (uint32_t i = 0; i < ndata; i++)
        v[3 + i] = data[i];
    values(b, v, 3 + ndata);
    rec_end(b, at);
    return sz - 20;   /* the template definition's offset */
}

static void test_value_types(void **state)
{
    static const uint8_t str[] = { 'h', 0, 0xe9, 0, 'l', 0, 0x3d, 0xd8, 0x00, 0xde, 0, 0 };
    static const uint8_t ansi[] = { 'a', 'b', 0x80, 0xe9, 0 };
    static const uint8_t i8[] = { 0xfb }, u8[] = { 200 }, i16[] = { 0xd4, 0xfe },
                         u16[] = { 0xe8, 0xfd }, i32[] = { 0x90, 0xee, 0xfe, 0xff },
                         u32[] = { 0x00, 0x28, 0x6b, 0xee },
                         i64[] = { 0x00, 0x0e, 0xfa, 0xd5, 0xfe, 0xff, 0xff, 0xff },
                         u64[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
                         r32[] = { 0x00, 0x00, 0xc0, 0x3f },
                         r64[] = { 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f },
                         bo[] = { 1, 0, 0, 0 }, bin[] = { 0x01, 0xab },
                         guid[] = { 0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c,
                                    0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9 },
                         sz[] = { 0x34, 0x12, 0, 0, 0, 0, 0, 0 },
                         ft[] = { 0x00, 0x00, 0x5a, 0xf6, 0x4c, 0xf5, 0xd4, 0x01 },
                         stm[] = { 0xe4, 0x07, 1, 0, 4, 0, 2, 0, 3, 0, 4, 0, 5, 0, 0xa6, 0x02 },
                         sid[] = { 1, 3, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0 },
                         h32[] = { 0x1f, 0, 0, 0 }, h64[] = { 0, 0, 0, 0, 0, 0, 0, 0x80 },
                         sarr[] = { 'a', 0, 0, 0, 'b', 0, 0, 0 }, uarr[] = { 1, 0, 0, 0, 2, 0, 0, 0 },
                         ftbig[] = { 1, 0, 0, 0, 0, 0, 0, 0xff };
    static const val data[] = {
        { 0x01, str, sizeof str }, { 0x02, ansi, sizeof ansi }, { 0x03, i8, 1 }, { 0x04, u8, 1 },
        { 0x05, i16, 2 }, { 0x06, u16, 2 }, { 0x07, i32, 4 }, { 0x08, u32, 4 }, { 0x09, i64, 8 },
        { 0x0a, u64, 8 }, { 0x0b, r32, 4 }, { 0x0c, r64, 8 }, { 0x0d, bo, 4 }, { 0x0e, bin, 2 },
        { 0x0f, guid, 16 }, { 0x10, sz, 8 }, { 0x11, ft, 8 }, { 0x12, stm, 16 },
        { 0x13, sid, sizeof sid }, { 0x14, h32, 4 }, { 0x15, h64, 8 }, { 0x81, sarr, 8 },
        { 0x88, uarr, 8 }, { 0x11, ftbig, 8 }, { 0x00, NULL, 0 },
    };
    static const char *const names[] = {
        "str", "ansi", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "r32", "r64",
        "bool", "bin", "guid", "size", "ft", "st", "sid", "h32", "h64", "sarr", "uarr", "ftbig", "null",
    };
    static uint8_t img[IMG_SIZE(1)];
    bld b;
    chunk_begin(&b, img + 4096);
    simple_record(&b, 1, data, sizeof data / sizeof data[0], names);
    chunk_end(&b);
    file_header(img, 1);
    got g;
    evtx_stats st;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    const char *want =
        "1 ok prov=Prv id=42 q=(none) comp=host&&A str=h\xc3\xa9l\xf0\x9f\x98\x80 ansi=ab\xe2\x82\xac\xc3\xa9 i8=-5 "
        "u8=200 i16=-300 u16=65000 i32=-70000 u32=4000000000 i64=-5000000000 "
        "u64=18446744073709551615 r32=1.500000e+000 r64=1.000000e-001 bool=true bin=01AB "
        "guid=5770385F-C22A-43E0-BF4C-06F5698FFBD9 size=0x0000000000001234 "
        "ft=2019-04-17T18:40:00.0000000Z st=2020-01-02T03:04:05.6780000Z sid=S-1-5-21-1-2 "
        "h32=0x0000001f h64=0x8000000000000000 sarr=a sarr=b uarr=1 uarr=2 ftbig=(0xff000000 0x00000001) null=\n";
    assert_string_equal(g.text.p, want);
    assert_int_equal(st.chunks, 1);
    assert_int_equal(st.bad_chunks, 0);
    vg_buf_free(&g.text);
}


static const uint8_t s_one[] = { '1', 0 }, s_two[] = { '2', 0 };
static const char *const n_v[] = { "v" };

static void test_template_reuse(void **state)
{
    static uint8_t img[IMG_SIZE(1)];
    bld b;
    chunk_begin(&b, img + 4096);
    val v1 = { 0x01, s_one, 2 };
    uint32_t def = simple_record(&b, 1, &v1, 1, n_v);
    /* records 2 and 3 use the definition of record 1 by offset, with their own values */
    for (int i = 2; i <= 3; i++) {
        uint32_t at = rec_begin(&b, (uint64_t)i);
        instance(&b, def);
        val v[] = { { 0x01, s_prov, sizeof s_prov }, { 0x06, s_id, 2 },
                    { 0x06, s_id, 2 }, { 0x01, i == 2 ? s_two : s_one, 2 } };
        values(&b, v, 4);
        rec_end(&b, at);
    }
    chunk_end(&b);
    file_header(img, 1);
    got g;
    evtx_stats st;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_string_equal(g.text.p,
                        "1 ok prov=Prv id=42 q=(none) comp=host&&A v=1\n"
                        "2 ok prov=Prv id=42 q=42 comp=host&&A v=2\n"
                        "3 ok prov=Prv id=42 q=42 comp=host&&A v=1\n");
    vg_buf_free(&g.text);
}

static void test_bad_file_header(void **state)
{
    static uint8_t img[IMG_SIZE(1)];
    bld b;
    chunk_begin(&b, img + 4096);
    val v1 = { 0x01, s_one, 2 };
    simple_record(&b, 1, &v1, 1, n_v);
    chunk_end(&b);
    file_header(img, 1);
    img[3] = 'X';
    got g;
    evtx_stats st;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_ECORRUPT);
    assert_non_null(strstr(g.text.p, "not an EVTX file"));
    vg_buf_free(&g.text);
    out o;
    vg_ingest_result res;
    assert_int_equal(decode(vg_str_make((const char *)img, sizeof img), true, true, &o, &res),
                     VG_OK);
    assert_string_equal(vg_buf_cstr(&o.text),
                        "reject line 0: not an EVTX file (no ElfFile header)\n");
    vg_buf_free(&o.text);
    /* too short for a header */
    assert_int_equal(read_img(img, 100, &g, &st), VG_ECORRUPT);
    vg_buf_free(&g.text);
    /* a wrong version */
    file_header(img, 1);
    img[38] = 9;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_ECORRUPT);
    assert_non_null(strstr(g.text.p, "version 9.1"));
    vg_buf_free(&g.text);
    /* a bad header checksum is reported, and the chunks are still read */
    file_header(img, 1);
    img[24] ^= 1;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_true(st.header_crc_bad);
    assert_int_equal(g.ok, 1);
    vg_buf_free(&g.text);
    assert_int_equal(decode(vg_str_make((const char *)img, sizeof img), true, true, &o, &res),
                     VG_OK);
    assert_int_equal(o.rows, 1);
    assert_int_equal(o.rejects, 1);
    assert_non_null(strstr(vg_buf_cstr(&o.text), "reject line 0: EVTX file header checksum"));
    vg_buf_free(&o.text);
    /* a header announcing more chunks than the file holds: truncated, what is there loads */
    file_header(img, 3);
    assert_int_equal(decode(vg_str_make((const char *)img, sizeof img), true, true, &o, &res),
                     VG_OK);
    assert_int_equal(o.rows, 1);
    assert_non_null(strstr(vg_buf_cstr(&o.text), "reject line 0: EVTX file truncated: its header "
                                                 "announces 3 chunks, the file holds 1"));
    vg_buf_free(&o.text);
}

/* Recomputes a hand-made chunk's header checksum (after editing its header). */
static void fix_chunk_crc(uint8_t *c)
{
    bld b = { c, 0 };
    uLong crc = crc32(0L, c, 120);
    crc = crc32(crc, c + 128, 384);
    p32(&b, 124, (uint32_t)crc);
}

static void test_bad_chunk_crc(void **state)
{
    static uint8_t img[IMG_SIZE(3)];
    memset(img, 0, sizeof img);
    val v1 = { 0x01, s_one, 2 }, v2 = { 0x01, s_two, 2 };
    bld b;
    chunk_begin(&b, img + 4096);
    simple_record(&b, 1, &v1, 1, n_v);
    chunk_end(&b);
    chunk_begin(&b, img + 4096 + CHUNK);
    simple_record(&b, 2, &v2, 1, n_v);
    chunk_end(&b);
    /* the third chunk stays zero: an unused slot, skipped silently */
    file_header(img, 2);
    img[4096 + 8] ^= 1;   /* chunk 0's header no longer matches its checksum */
    got g;
    evtx_stats st;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_string_equal(g.text.p,
                        "1 bad chunk 0 (file offset 4096): header checksum does not match; its "
                        "records were read one by one\n"
                        "2 ok prov=Prv id=42 q=(none) comp=host&&A v=1\n"
                        "3 ok prov=Prv id=42 q=(none) comp=host&&A v=2\n");
    assert_int_equal(st.chunks, 2);
    assert_int_equal(st.bad_chunks, 0);
    assert_int_equal(st.dirty_chunks, 1);
    vg_buf_free(&g.text);
    /* the same through the decoder: the chunk's report is a reject, both rows load */
    out o;
    vg_ingest_result res;
    assert_int_equal(decode(vg_str_make((const char *)img, sizeof img), true, true, &o, &res),
                     VG_OK);
    assert_int_equal(o.rows, 2);
    assert_int_equal(o.rejects, 1);
    assert_int_equal(res.records, 3);
    assert_int_equal(res.accepted, 2);
    assert_int_equal(res.rejected, 1);
    assert_non_null(strstr(vg_buf_cstr(&o.text), "reject line 1: record 1: chunk 0 (file offset "
                                                 "4096): header checksum does not match; its "
                                                 "records were read one by one"));
    vg_buf_free(&o.text);
    /* a damaged record region under a good header: records that still parse load */
    file_header(img, 2);
    img[4096 + 8] ^= 1;
    img[4096 + CHUNK + 600] ^= 0x40;   /* inside record 2's name table */
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(g.ok + g.bad, 2);
    assert_int_equal(st.bad_chunks, 0);
    assert_int_equal(st.dirty_chunks, 0);
    vg_buf_free(&g.text);
    /* a header that checks out but whose free-space offset is nonsense: skipped */
    bld hb = { img + 4096, 0 };
    p32(&hb, 48, 70000);
    fix_chunk_crc(img + 4096);
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_non_null(strstr(g.text.p, "1 bad chunk 0 (file offset 4096): free-space offset "
                                     "outside the chunk; its records are skipped\n"));
    assert_int_equal(st.bad_chunks, 1);
    vg_buf_free(&g.text);
}

/*
 * The last chunk of a log copied while Windows had it open: its header still
 * describes an earlier state (free-space offset before the newest records,
 * checksums not updated). Every record written since loads; the free space
 * after them (zeros, or an older record that does not continue the sequence)
 * is not taken for a record.
 */
static void test_stale_chunk_header(void **state)
{
    static uint8_t img[IMG_SIZE(1)];
    memset(img, 0, sizeof img);
    val v1 = { 0x01, s_one, 2 }, v2 = { 0x01, s_two, 2 };
    bld b;
    chunk_begin(&b, img + 4096);
    simple_record(&b, 10, &v1, 1, n_v);
    chunk_end(&b);                     /* the header as it was after record 10 */
    uint32_t stale_free = b.pos;
    simple_record(&b, 11, &v2, 1, n_v);
    simple_record(&b, 12, &v1, 1, n_v);
    uint32_t end = b.pos;
    /* leftovers in the free space: a copy of record 11 (id does not follow 12) */
    memcpy(img + 4096 + end, img + 4096 + stale_free, end - stale_free);
    file_header(img, 1);
    assert_int_equal(img[4096 + 48] | img[4096 + 49] << 8, stale_free);
    got g;
    evtx_stats st;
    /* checksums of the stale header still match its own state: only record 10 */
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(g.ok, 1);
    assert_int_equal(g.bad, 0);
    vg_buf_free(&g.text);
    /* Windows wrote record 11 and 12 and some header fields, not the checksum */
    img[4096 + 24] ^= 1;               /* last record id field, now out of date */
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_string_equal(g.text.p,
                        "1 bad chunk 0 (file offset 4096): header checksum does not match; its "
                        "records were read one by one\n"
                        "2 ok prov=Prv id=42 q=(none) comp=host&&A v=1\n"
                        "3 ok prov=Prv id=42 q=(none) comp=host&&A v=2\n"
                        "4 ok prov=Prv id=42 q=(none) comp=host&&A v=1\n");
    assert_int_equal(st.dirty_chunks, 1);
    vg_buf_free(&g.text);
    out o;
    vg_ingest_result res;
    assert_int_equal(decode(vg_str_make((const char *)img, sizeof img), true, false, &o, &res),
                     VG_OK);
    assert_int_equal(o.rows, 3);
    assert_int_equal(res.accepted, 3);
    assert_int_equal(res.rejected, 1);
    vg_buf_free(&o.text);
    /* a free-space offset that is nonsense in a dirty header: walked from the start */
    bld hb = { img + 4096, 0 };
    p32(&hb, 48, 0xffffffffu);
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(g.ok, 3);
    assert_int_equal(g.bad, 1);
    vg_buf_free(&g.text);
}

/* A dirty chunk with one corrupted record: that record is rejected, the others load. */
static void test_dirty_chunk_bad_record(void **state)
{
    static uint8_t img[IMG_SIZE(1)];
    memset(img, 0, sizeof img);
    val v1 = { 0x01, s_one, 2 }, v2 = { 0x01, s_two, 2 };
    bld b;
    chunk_begin(&b, img + 4096);
    simple_record(&b, 1, &v1, 1, n_v);
    uint32_t r2 = b.pos;
    simple_record(&b, 2, &v2, 1, n_v);
    uint32_t r3 = b.pos;
    simple_record(&b, 3, &v1, 1, n_v);
    chunk_end(&b);
    file_header(img, 1);
    img[4096 + 8] ^= 1;                /* the header checksum fails */
    /* record 2: its binary XML broken (the fragment header's token) */
    assert_int_equal(img[4096 + r2 + EVTX_RECORD_HEADER], 0x0f);
    img[4096 + r2 + EVTX_RECORD_HEADER] = 0xff;
    got g;
    evtx_stats st;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(g.ok, 2);
    assert_int_equal(g.bad, 2);
    assert_non_null(strstr(g.text.p, "1 bad chunk 0 (file offset 4096): header checksum does "
                                     "not match; its records were read one by one\n"
                                     "2 ok prov=Prv id=42 q=(none) comp=host&&A v=1\n"
                                     "3 bad chunk 0, record id 2,"));
    assert_non_null(strstr(g.text.p, "4 ok prov=Prv id=42 q=(none) comp=host&&A v=1\n"));
    vg_buf_free(&g.text);
    /* record 2's size copy broken instead: rejected, record 3 still found by its size */
    img[4096 + r2 + EVTX_RECORD_HEADER] = 0x0f;
    img[4096 + r3 - 4] ^= 1;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(g.ok, 2);
    assert_int_equal(g.bad, 2);
    assert_non_null(strstr(g.text.p, "record size copy does not match"));
    vg_buf_free(&g.text);
    out o;
    vg_ingest_result res;
    assert_int_equal(decode(vg_str_make((const char *)img, sizeof img), true, false, &o, &res),
                     VG_OK);
    assert_int_equal(o.rows, 2);
    assert_int_equal(res.records, 4);
    assert_int_equal(res.rejected, 2);
    vg_buf_free(&o.text);
    /* record 2's signature broken: the chunk ends there (record 3 cannot be found) */
    img[4096 + r3 - 4] ^= 1;
    img[4096 + r2] ^= 1;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(g.ok, 1);
    assert_int_equal(g.bad, 2);
    assert_non_null(strstr(g.text.p, "no record signature"));
    vg_buf_free(&g.text);
}

/* A file header counting fewer chunks than the file holds: every chunk present is read. */
static void test_header_undercounts_chunks(void **state)
{
    static uint8_t img[IMG_SIZE(4)];
    memset(img, 0, sizeof img);
    val v1 = { 0x01, s_one, 2 }, v2 = { 0x01, s_two, 2 };
    bld b;
    for (uint32_t i = 0; i < 3; i++) {
        chunk_begin(&b, img + 4096 + i * CHUNK);
        simple_record(&b, i + 1, i % 2 ? &v2 : &v1, 1, n_v);
        chunk_end(&b);
    }
    file_header(img, 1);               /* announces 1 chunk; 3 are there, then a zero slot */
    got g;
    evtx_stats st;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(st.chunks_announced, 1);
    assert_int_equal(st.chunks, 3);
    assert_int_equal(g.ok, 3);
    assert_int_equal(g.bad, 0);
    vg_buf_free(&g.text);
    out o;
    vg_ingest_result res;
    assert_int_equal(decode(vg_str_make((const char *)img, sizeof img), true, true, &o, &res),
                     VG_OK);
    assert_int_equal(o.rows, 3);
    assert_int_equal(o.rejects, 0);
    vg_buf_free(&o.text);
    /* a slot past the count holding something else than a chunk: one report, no records */
    memset(img + 4096 + 2 * CHUNK, 0x5a, 64);
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(g.ok, 2);
    assert_int_equal(g.bad, 1);
    assert_non_null(strstr(g.text.p, "chunk 2 (file offset 135168): no ElfChnk signature"));
    vg_buf_free(&g.text);
}

static void test_truncated_record(void **state)
{
    static uint8_t img[IMG_SIZE(1)];
    val v1 = { 0x01, s_one, 2 };
    bld b;
    chunk_begin(&b, img + 4096);
    simple_record(&b, 1, &v1, 1, n_v);
    uint32_t r2 = b.pos;
    simple_record(&b, 2, &v1, 1, n_v);
    uint32_t end2 = b.pos;
    simple_record(&b, 3, &v1, 1, n_v);
    /* record 2 claims 40 bytes less: its binary XML stops inside the values */
    uint32_t size = end2 - r2 - 40;
    p32(&b, r2 + 4, size);
    p32(&b, r2 + size - 4, size);
    chunk_end(&b);
    file_header(img, 1);
    got g;
    evtx_stats st;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(g.ok, 1);
    assert_true(g.bad >= 2);
    assert_non_null(strstr(g.text.p, "2 bad chunk 0, record id 2, offset "));
    assert_non_null(strstr(g.text.p, "3 bad chunk 0, record id 0, offset "));
    assert_non_null(strstr(g.text.p, "no record signature"));
    vg_buf_free(&g.text);
    /* a record whose size runs past the chunk's used space */
    chunk_begin(&b, img + 4096);
    simple_record(&b, 1, &v1, 1, n_v);
    p32(&b, EVTX_CHUNK_HEADER + 4, 60000);
    chunk_end(&b);
    file_header(img, 1);
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(g.bad, 1);
    assert_non_null(strstr(g.text.p, "record size 60000 runs past the used space"));
    vg_buf_free(&g.text);
    /* every shorter cut of a record is an error, never a crash */
    for (uint32_t cut = 28; cut < end2 - r2 - 1; cut++) {   /* (only the end token may go) */
        chunk_begin(&b, img + 4096);
        uint32_t at = b.pos;
        simple_record(&b, 1, &v1, 1, n_v);
        p32(&b, at + 4, cut);
        p32(&b, at + cut - 4, cut);
        b.pos = at + cut;
        chunk_end(&b);
        assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
        assert_int_equal(g.ok, 0);
        assert_int_equal(g.bad, 1);
        vg_buf_free(&g.text);
    }
}

static void test_deep_nesting(void **state)
{
    static uint8_t img[IMG_SIZE(1)];
    bld b;
    chunk_begin(&b, img + 4096);
    uint32_t at = rec_begin(&b, 9);
    for (int i = 0; i < EVTX_MAX_DEPTH + 8; i++) {
        open_el(&b, "E", false);
        close_start(&b);
    }
    for (int i = 0; i < EVTX_MAX_DEPTH + 8; i++)
        end_el(&b);
    rec_end(&b, at);
    /* a template whose body instantiates itself */
    at = rec_begin(&b, 10);
    uint32_t sz = instance(&b, 0);
    uint32_t def = sz - 20, body = b.pos;
    instance(&b, def);
    b32(&b, 0);
    b8(&b, 0x00);
    p32(&b, sz, b.pos - body);
    b32(&b, 0);
    rec_end(&b, at);
    chunk_end(&b);
    file_header(img, 1);
    got g;
    evtx_stats st;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_int_equal(g.bad, 2);
    assert_non_null(strstr(g.text.p, "1 bad chunk 0, record id 9, offset "));
    assert_non_null(strstr(g.text.p, "XML nested deeper than 32"));
    assert_non_null(strstr(g.text.p, "templates nested deeper than 8"));
    vg_buf_free(&g.text);
}

static void test_userdata_binxml(void **state)
{
    static uint8_t img[IMG_SIZE(1)];
    bld b;
    chunk_begin(&b, img + 4096);
    uint32_t at = rec_begin(&b, 5);
    uint32_t sz = instance(&b, 0);
    uint32_t body = b.pos;
    b8(&b, 0x0f); b8(&b, 1); b8(&b, 1); b8(&b, 0);
    open_el(&b, "Event", false);
    close_start(&b);
    system_part(&b);
    open_el(&b, "UserData", false);
    close_start(&b);
    sub(&b, 3, 0x21, false);
    end_el(&b);
    end_el(&b);
    b8(&b, 0x00);
    p32(&b, sz, b.pos - body);
    /* outer values: 3 plain ones, then the nested fragment built in place */
    b32(&b, 4);
    b16(&b, sizeof s_prov); b8(&b, 0x01); b8(&b, 0);
    b16(&b, 2); b8(&b, 0x06); b8(&b, 0);
    b16(&b, 0); b8(&b, 0x00); b8(&b, 0);
    uint32_t nsz = b.pos;
    b16(&b, 0); b8(&b, 0x21); b8(&b, 0);
    bbytes(&b, s_prov, sizeof s_prov);
    bbytes(&b, s_id, 2);
    uint32_t nstart = b.pos;
    b8(&b, 0x0f); b8(&b, 1); b8(&b, 1); b8(&b, 0);
    uint32_t isz = instance(&b, 0);
    uint32_t ibody = b.pos;
    b8(&b, 0x0f); b8(&b, 1); b8(&b, 1); b8(&b, 0);
    open_el(&b, "Op", false);
    close_start(&b);
    open_el(&b, "Id", false);
    close_start(&b);
    sub(&b, 0, 0x01, false);
    end_el(&b);
    open_el(&b, "Empty", false);
    close_empty(&b);
    open_el(&b, "Blank", false);   /* a text token of no characters (a fuzzer find) */
    close_start(&b);
    text(&b, "");
    end_el(&b);
    end_el(&b);
    b8(&b, 0x00);
    p32(&b, isz, b.pos - ibody);
    val iv[] = { { 0x01, s_two, 2 } };
    values(&b, iv, 1);
    b8(&b, 0x00);
    uint32_t save = b.pos;
    b.pos = nsz;
    b16(&b, save - nstart);
    b.pos = save;
    rec_end(&b, at);
    chunk_end(&b);
    file_header(img, 1);
    got g;
    evtx_stats st;
    assert_int_equal(read_img(img, sizeof img, &g, &st), VG_OK);
    assert_string_equal(g.text.p, "1 ok prov=Prv id=42 q=(none) comp=host&&A Id=2 Empty= Blank=\n");
    vg_buf_free(&g.text);
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

/* ---- recovered records through vg_ingest_buffer (evtx_recover) ---- */

static vg_err ingest(vg_str img, bool recover, out *o, vg_ingest_result *res)
{
    vg_batchset set;
    vg_diag d = { "" };
    vg_ingest_opts opts = { .format = VG_FMT_AUTO, .keep_raw = true, .evtx_recover = recover };
    vg_buf_init(&o->text, 0);
    o->rows = o->rejects = 0;
    *res = (vg_ingest_result){ 0 };
    assert_int_equal(vg_batchset_init(&set, 64, sink, o), VG_OK);
    vg_err e = vg_ingest_buffer(&set, &opts, img, on_reject_msg, o, res, &d);
    if (!e)
        e = vg_batchset_flush(&set, &d);
    vg_batchset_free(&set);
    assert_int_equal(res->records, res->accepted + res->rejected);
    return e;
}

/*
 * A regression sample whose free space still holds deleted records (found by
 * decoding all 202 with win_decode_evtx, recover false and true; 4 of them
 * have some): 1 live row without the option, 4 with it (and 3 rejected
 * fragments), the same rows and rejects as libevtx's own live + recovered
 * pass; the live row is among them, unchanged.
 */
static void test_evtx_recover(void **state)
{
    static const char path[] = REGRESSION_DIR "/rules/windows/process_creation/"
                               "proc_creation_win_driverquery_recon/"
                               "9fc3072c-dc8f-4bf7-b231-18950000fadd.evtx";
    struct stat sb;
    if (stat(path, &sb) != 0) {
        printf("SKIP recover test: %s is absent\n", path);
        skip();
    }
    vg_buf img;
    vg_buf_init(&img, 0);
    assert_true(read_all(path, &img));
    vg_str s = vg_str_make(img.p, img.n);
    out live, rec, oracle;
    vg_ingest_result rl, rr, ro;
    assert_int_equal(ingest(s, false, &live, &rl), VG_OK);
    assert_int_equal(ingest(s, true, &rec, &rr), VG_OK);
    assert_int_equal(live.rows, 1);
    assert_int_equal(rl.accepted, 1);
    assert_int_equal(rl.rejected, 0);
    assert_int_equal(rec.rows, 4);
    assert_int_equal(rr.accepted, 4);
    /* 3 more fragments libevtx recovers render as broken XML: rejects, as in win_decode_evtx */
    assert_int_equal(rr.rejected, 3);
    assert_int_equal(rr.records, 7);
    assert_non_null(strstr(vg_buf_cstr(&rec.text), "reject line 6: recovered record 5: XML: "));
    assert_non_null(strstr(vg_buf_cstr(&rec.text), vg_buf_cstr(&live.text)));
    /* the same rows as libevtx's own live + recovered pass */
    vg_batchset set;
    vg_diag d = { "" };
    vg_ingest_opts opts = { .format = VG_FMT_EVTX, .keep_raw = true };
    vg_buf_init(&oracle.text, 0);
    oracle.rows = oracle.rejects = 0;
    ro = (vg_ingest_result){ 0 };
    assert_int_equal(vg_batchset_init(&set, 64, sink, &oracle), VG_OK);
    assert_int_equal(win_decode_evtx(&set, &opts, s, true, on_reject_msg, &oracle, &ro, &d), VG_OK);
    assert_int_equal(vg_batchset_flush(&set, &d), VG_OK);
    vg_batchset_free(&set);
    assert_int_equal(oracle.rows, 4);
    assert_int_equal(ro.rejected, rr.rejected);
    assert_int_equal(oracle.text.n, rec.text.n);
    assert_int_equal(memcmp(oracle.text.p, rec.text.p, rec.text.n), 0);
    vg_buf_free(&live.text);
    vg_buf_free(&rec.text);
    vg_buf_free(&oracle.text);
    /* a buffer that is not EVTX at all: one reject either way, recovery adds none */
    static const char junk[5000] = "ElfFilX";
    assert_int_equal(ingest(vg_str_make(junk, sizeof junk), true, &rec, &rr), VG_OK);
    assert_int_equal(rec.rows, 0);
    assert_int_equal(rr.records, 1);
    assert_int_equal(rr.rejected, 1);
    vg_buf_free(&rec.text);
    vg_buf_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_types),
        cmocka_unit_test(test_template_reuse),
        cmocka_unit_test(test_bad_file_header),
        cmocka_unit_test(test_bad_chunk_crc),
        cmocka_unit_test(test_stale_chunk_header),
        cmocka_unit_test(test_dirty_chunk_bad_record),
        cmocka_unit_test(test_header_undercounts_chunks),
        cmocka_unit_test(test_truncated_record),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_userdata_binxml),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_evtx_recover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
