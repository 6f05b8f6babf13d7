/*
 * native.c - the native NDJSON decoder: the ingest hot path.
 *
 * Each line is one object whose members are columns of the target table.
 * Values are converted to the column's type straight into the batch; members
 * that are not columns are kept, in order, as the row's raw source record.
 *
 * Producers write keys in the same order line after line, so the decoder
 * remembers, per table, which column the i-th key named last time and checks
 * that guess with one memcmp before falling back to the hash index.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/vg_json.h"
#include "vg_ingest.h"

#define NATIVE_CACHE_KEYS 128

typedef struct key_guess {
    const char *name;   /* column name (static, from the schema) */
    uint32_t len;
    int col;
} key_guess;

typedef struct native_cache {
    key_guess keys[NATIVE_CACHE_KEYS];
    const vg_table_def *table;
} native_cache;

static int lookup_col(native_cache *cache, const vg_table_def *t, size_t idx, vg_str key)
{
    if (cache && idx < NATIVE_CACHE_KEYS) {
        key_guess *g = &cache->keys[idx];
        if (g->name && g->len == key.n && memcmp(g->name, key.p, key.n) == 0)
            return g->col;
    }
    int c = vg_schema_col(t, key);
    if (cache && idx < NATIVE_CACHE_KEYS && c >= 0) {
        cache->keys[idx].name = t->cols[c].name;
        cache->keys[idx].len = (uint32_t)key.n;
        cache->keys[idx].col = c;
    }
    return c;
}

static native_cache *cache_for(vg_batchset *set, const vg_table_def *t)
{
    native_cache *caches = set->native_cache;
    if (!caches) {
        caches = calloc(vg_schema_ntables, sizeof *caches);
        if (!caches)
            return NULL;
        set->native_cache = caches;
    }
    return &caches[t->id];
}

static vg_err set_value(vg_batch *b, int c, uint32_t r, const vg_json_val *v, vg_diag *d)
{
    const vg_column_def *cd = &b->table->cols[c];
    switch (v->kind) {
    case VG_JSON_NULL:
        return VG_OK;
    case VG_JSON_TRUE:
    case VG_JSON_FALSE:
        if (cd->type == VG_T_BOOL) {
            vg_batch_set_bool(b, c, r, v->kind == VG_JSON_TRUE);
            return VG_OK;
        }
        if (vg_type_is_i64(cd->type) && cd->type != VG_T_DATETIME) {
            vg_batch_set_i64(b, c, r, v->kind == VG_JSON_TRUE);
            return VG_OK;
        }
        break;
    case VG_JSON_NUMBER:
        if (cd->type == VG_T_LONG || cd->type == VG_T_INT) {
            int64_t x;
            if (vg_str_to_i64(v->str, &x) == VG_OK &&
                (cd->type == VG_T_LONG || (x >= INT32_MIN && x <= INT32_MAX))) {
                vg_batch_set_i64(b, c, r, x);
                return VG_OK;
            }
        } else if (cd->type == VG_T_REAL) {
            double x;
            if (vg_str_to_double(v->str, &x) == VG_OK) {
                vg_batch_set_f64(b, c, r, x);
                return VG_OK;
            }
        }
        break;
    case VG_JSON_OBJECT:
    case VG_JSON_ARRAY:
        if (vg_type_is_str(cd->type))
            return vg_batch_set_str(b, c, r, v->str);
        return vg_diag_set(d, VG_ETYPE, "column %s (%s): got a JSON %s", cd->name,
                           vg_type_name(cd->type), v->kind == VG_JSON_OBJECT ? "object" : "array");
    case VG_JSON_STRING:
        break;
    }
    return vg_batch_set_text(b, c, r, v->str, d);
}

static const vg_table_def *record_table(const vg_ingest_opts *o, vg_str rec, vg_arena *tmp,
                                        vg_diag *d, vg_err *err)
{
    vg_json_val tv;
    vg_err e = vg_json_lookup(rec, VG_STR_LIT("Table"), tmp, &tv);
    *err = VG_OK;
    if (e == VG_OK && tv.kind == VG_JSON_STRING) {
        const vg_table_def *t = vg_schema_table(tv.str);
        if (!t)
            *err = vg_diag_set(d, VG_EINVAL, "unknown table '%.*s'",
                               (int)(tv.str.n > 64 ? 64 : tv.str.n), tv.str.p);
        return t;
    }
    if (e == VG_EPARSE) {
        if (o->table)
            return o->table;   /* the strict parse below words the error */
        /* no table to parse into: word the JSON error here */
        vg_json *doc;
        vg_err pe = vg_json_parse(tmp, rec, &doc, d);
        *err = pe ? pe : vg_diag_set(d, VG_EPARSE, "invalid JSON");
        return NULL;
    }
    if (!o->table)
        *err = vg_diag_set(d, VG_EINVAL,
                           "no table: give one (--table, ?table=) or a \"Table\" member");
    return o->table;
}

/*
 * The common case, settled without a parse: the line starts with
 * {"Table":"Name" (no escapes) naming a known table. NULL otherwise, and the
 * general path below decides (and words any error).
 */
static const vg_table_def *leading_table(vg_str rec)
{
    static const char pre[] = "{\"Table\":\"";
    const size_t pn = sizeof pre - 1;
    if (rec.n <= pn || memcmp(rec.p, pre, pn) != 0)
        return NULL;
    const char *s = rec.p + pn;
    size_t room = rec.n - pn < 128 ? rec.n - pn : 128;
    const char *q = memchr(s, '"', room);
    if (!q || memchr(s, '\\', (size_t)(q - s)))
        return NULL;
    return vg_schema_table(vg_str_make(s, (size_t)(q - s)));
}

vg_err vg_decode_native(vg_batchset *set, const vg_ingest_opts *o, vg_str rec, vg_diag *d)
{
    vg_err e;
    const vg_table_def *t = leading_table(rec);
    vg_arena tmp;
    bool tmp_used = false;
    /* the "Table" member wins when present; it is usually the first key */
    if (t) {
        /* settled by leading_table */
    } else if (!(t = o->table) || (rec.n > 10 && memcmp(rec.p, "{\"Table\":", 9) == 0) ||
        vg_str_find_ci(vg_str_make(rec.p, rec.n < 256 ? rec.n : 256), VG_STR_LIT("\"Table\"")) >= 0) {
        vg_arena_init(&tmp, 4096, 0);
        tmp_used = true;
        t = record_table(o, rec, &tmp, d, &e);
        if (e) {
            vg_arena_free(&tmp);
            return e;
        }
        if (!t) {
            vg_arena_free(&tmp);
            return vg_diag_set(d, VG_EINVAL, "no table for this record");
        }
    }
    vg_batch *b;
    uint32_t r;
    if ((e = vg_batchset_row(set, t, &b, &r, d)))
        goto out;
    native_cache *cache = cache_for(set, t);
    vg_json_pull j;
    vg_json_pull_init(&j, rec, &b->arena, d);
    vg_buf raw;
    vg_buf_init(&raw, VG_INGEST_MAX_RECORD);
    bool raw_any = false;
    if ((e = vg_json_pull_obj_begin(&j)))
        goto fail;
    for (size_t idx = 0;; idx++) {
        vg_str key;
        bool done;
        if ((e = vg_json_pull_obj_key(&j, &key, &done)))
            goto fail;
        if (done)
            break;
        vg_json_val v;
        if ((e = vg_json_pull_value(&j, &v)))
            goto fail;
        int c = lookup_col(cache, t, idx, key);
        if (c >= 0) {
            if ((e = set_value(b, c, r, &v, d)))
                goto fail;
            continue;
        }
        if (vg_str_eqc(key, "Table"))
            continue;
        if (!o->keep_raw)
            continue;
        if (vg_str_eqc(key, "_Raw") && v.kind == VG_JSON_OBJECT && !raw_any) {
            /* a dumped row coming back: its raw record as is */
            if ((e = vg_batch_set_raw(b, r, v.str)))
                goto fail;
            continue;
        }
        vg_buf_putc(&raw, raw_any ? ',' : '{');
        raw_any = true;
        vg_buf_put_json_str(&raw, key);
        vg_buf_putc(&raw, ':');
        if (v.kind == VG_JSON_STRING)
            vg_buf_put_json_str(&raw, v.str);
        else if (v.kind == VG_JSON_NULL)
            vg_buf_puts(&raw, "null");
        else
            vg_buf_putstr(&raw, v.str);
    }
    if ((e = vg_json_pull_end(&j)))
        goto fail;
    if (raw_any) {
        vg_buf_putc(&raw, '}');
        if (raw.failed) {
            e = vg_diag_set(d, VG_ELIMIT, "record too large");
            goto fail;
        }
        if ((e = vg_batch_set_raw(b, r, vg_str_make(raw.p, raw.n))))
            goto fail;
    }
    vg_buf_free(&raw);
    goto out;
fail:
    vg_buf_free(&raw);
    vg_batch_drop_last(b);
    set->rows_added--;
out:
    if (tmp_used)
        vg_arena_free(&tmp);
    return e;
}
