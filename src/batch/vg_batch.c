/*
 * vg_batch.c - batch allocation, typed setters and row rendering.
 */
#include "vg_batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/vg_json.h"
#include "../core/vg_time.h"

static size_t bitmap_words(uint32_t cap) { return ((size_t)cap + 63) / 64; }

static size_t elem_size(vg_type t)
{
    if (vg_type_is_i64(t))
        return sizeof(int64_t);
    if (t == VG_T_REAL)
        return sizeof(double);
    if (t == VG_T_BOOL)
        return 1;
    return sizeof(vg_str);
}

vg_err vg_batch_init(vg_batch *b, const vg_table_def *t, uint32_t cap, const bool *cols_mask,
                     bool with_raw)
{
    memset(b, 0, sizeof *b);
    b->table = t;
    b->cap = cap;
    vg_arena_init(&b->arena, 256 * 1024, 0);
    b->cols = calloc(t->ncols, sizeof *b->cols);
    if (!b->cols)
        return VG_ENOMEM;
    for (int c = 0; c < t->ncols; c++) {
        vg_colvec *v = &b->cols[c];
        v->type = t->cols[c].type;
        if (cols_mask && !cols_mask[c])
            continue;
        v->present = true;
        v->v.i64 = malloc(elem_size(v->type) * cap);
        v->valid = calloc(bitmap_words(cap), sizeof(uint64_t));
        if (!v->v.i64 || !v->valid) {
            vg_batch_free(b);
            return VG_ENOMEM;
        }
    }
    if (with_raw) {
        b->raw = calloc(cap, sizeof *b->raw);
        if (!b->raw) {
            vg_batch_free(b);
            return VG_ENOMEM;
        }
        b->has_raw = true;
    }
    return VG_OK;
}

void vg_batch_free(vg_batch *b)
{
    if (b->cols) {
        for (int c = 0; c < b->table->ncols; c++) {
            free(b->cols[c].v.i64);
            free(b->cols[c].valid);
        }
        free(b->cols);
    }
    free(b->raw);
    vg_arena_free(&b->arena);
    memset(b, 0, sizeof *b);
}

void vg_batch_reset(vg_batch *b)
{
    size_t words = bitmap_words(b->nrows);
    for (int c = 0; c < b->table->ncols; c++)
        if (b->cols[c].present)
            memset(b->cols[c].valid, 0, words * sizeof(uint64_t));
    b->nrows = 0;
    vg_arena_reset(&b->arena);
}

void vg_batch_drop_last(vg_batch *b)
{
    if (!b->nrows)
        return;
    uint32_t r = --b->nrows;
    for (int c = 0; c < b->table->ncols; c++)
        if (b->cols[c].present)
            vg_bit_clear(b->cols[c].valid, r);
}

vg_err vg_batch_set_str(vg_batch *b, int c, uint32_t r, vg_str v)
{
    vg_str copy = v.n ? vg_str_dup(&b->arena, v) : VG_STR_LIT("");
    if (v.n && !copy.p)
        return VG_ENOMEM;
    vg_batch_set_str_ref(b, c, r, copy);
    return VG_OK;
}

vg_err vg_batch_set_raw(vg_batch *b, uint32_t r, vg_str raw)
{
    if (!b->has_raw)
        return VG_OK;
    vg_str copy = vg_str_dup(&b->arena, raw);
    if (raw.n && !copy.p)
        return VG_ENOMEM;
    b->raw[r] = copy;
    return VG_OK;
}

vg_err vg_batch_set_text(vg_batch *b, int c, uint32_t r, vg_str text, vg_diag *d)
{
    const vg_column_def *cd = &b->table->cols[c];
    switch (cd->type) {
    case VG_T_STRING:
    case VG_T_DYNAMIC:
        return vg_batch_set_str(b, c, r, text);
    case VG_T_BOOL: {
        if (vg_str_eqc_ci(text, "true") || vg_str_eqc(text, "1"))
            vg_batch_set_bool(b, c, r, true);
        else if (vg_str_eqc_ci(text, "false") || vg_str_eqc(text, "0"))
            vg_batch_set_bool(b, c, r, false);
        else
            return vg_diag_set(d, VG_ETYPE, "column %s (bool): cannot read '%.*s'", cd->name,
                               (int)(text.n > 64 ? 64 : text.n), text.p);
        return VG_OK;
    }
    case VG_T_INT:
    case VG_T_LONG: {
        int64_t v;
        vg_err e = vg_str_to_i64(vg_str_trim(text), &v);
        if (e == VG_EPARSE) {
            /* accept hex (Windows writes "0x1f4") and integral floats */
            uint64_t u;
            double dv;
            if (text.n > 2 && text.p[0] == '0' && (text.p[1] == 'x' || text.p[1] == 'X') &&
                vg_str_to_hex_u64(text, &u) == VG_OK) {
                v = (int64_t)u;
                e = VG_OK;
            } else if (vg_str_to_double(text, &dv) == VG_OK && dv == floor(dv) &&
                       fabs(dv) < 9.2e18) {
                v = (int64_t)dv;
                e = VG_OK;
            }
        }
        if (!e && cd->type == VG_T_INT && (v < INT32_MIN || v > INT32_MAX) &&
            !(v > 0 && v <= (int64_t)UINT32_MAX))
            e = VG_ELIMIT;
        if (e)
            return vg_diag_set(d, VG_ETYPE, "column %s (%s): cannot read '%.*s'", cd->name,
                               vg_type_name(cd->type), (int)(text.n > 64 ? 64 : text.n), text.p);
        if (cd->type == VG_T_INT && v > INT32_MAX)
            v = (int32_t)(uint32_t)v; /* unsigned 32-bit values wrap as in Kusto's int */
        vg_batch_set_i64(b, c, r, v);
        return VG_OK;
    }
    case VG_T_REAL: {
        double v;
        if (vg_str_to_double(vg_str_trim(text), &v))
            return vg_diag_set(d, VG_ETYPE, "column %s (real): cannot read '%.*s'", cd->name,
                               (int)(text.n > 64 ? 64 : text.n), text.p);
        vg_batch_set_f64(b, c, r, v);
        return VG_OK;
    }
    case VG_T_DATETIME: {
        vg_time t;
        if (vg_time_parse_any(text, &t) || t < VG_TIME_MIN || t > VG_TIME_MAX)
            return vg_diag_set(d, VG_ETYPE, "column %s (datetime): cannot read '%.*s'", cd->name,
                               (int)(text.n > 64 ? 64 : text.n), text.p);
        vg_batch_set_i64(b, c, r, t);
        return VG_OK;
    }
    case VG_T_TIMESPAN: {
        /* ticks as a number, or [-][d.]hh:mm:ss[.fffffff] */
        int64_t v;
        if (vg_str_to_i64(text, &v) == VG_OK) {
            vg_batch_set_i64(b, c, r, v);
            return VG_OK;
        }
        int days = 0, h, m, s;
        long frac = 0;
        char tmp[48];
        vg_str_copy_c(tmp, sizeof tmp, text);
        int neg = tmp[0] == '-';
        const char *p = tmp + neg;
        char fs[16] = "";
        if (sscanf(p, "%d.%d:%d:%d.%15[0-9]", &days, &h, &m, &s, fs) >= 4 ||
            (days = 0, sscanf(p, "%d:%d:%d.%15[0-9]", &h, &m, &s, fs) >= 3)) {
            for (int i = 0; i < 7; i++)
                frac = frac * 10 + (fs[i] && i < (int)strlen(fs) ? fs[i] - '0' : 0);
            v = (((int64_t)days * 24 + h) * 3600 + m * 60 + s) * VG_TICKS_PER_SEC + frac;
            vg_batch_set_i64(b, c, r, neg ? -v : v);
            return VG_OK;
        }
        return vg_diag_set(d, VG_ETYPE, "column %s (timespan): cannot read '%.*s'", cd->name,
                           (int)(text.n > 64 ? 64 : text.n), text.p);
    }
    default:
        return VG_EINVAL;
    }
}

vg_err vg_batch_copy_row(vg_batch *dst, const vg_batch *src, uint32_t r)
{
    int64_t nr = vg_batch_add_row(dst);
    if (nr < 0)
        return VG_ELIMIT;
    for (int c = 0; c < src->table->ncols; c++) {
        if (!dst->cols[c].present || vg_batch_is_null(src, c, r))
            continue;
        const vg_colvec *v = &src->cols[c];
        if (vg_type_is_i64(v->type))
            vg_batch_set_i64(dst, c, (uint32_t)nr, v->v.i64[r]);
        else if (v->type == VG_T_REAL)
            vg_batch_set_f64(dst, c, (uint32_t)nr, v->v.f64[r]);
        else if (v->type == VG_T_BOOL)
            vg_batch_set_bool(dst, c, (uint32_t)nr, v->v.b[r]);
        else if (vg_batch_set_str(dst, c, (uint32_t)nr, v->v.s[r]))
            return VG_ENOMEM;
    }
    if (src->has_raw && src->raw[r].n)
        return vg_batch_set_raw(dst, (uint32_t)nr, src->raw[r]);
    return VG_OK;
}

static void format_timespan(int64_t t, vg_buf *out)
{
    uint64_t a = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
    uint64_t ticks = a % VG_TICKS_PER_SEC, s = a / VG_TICKS_PER_SEC;
    uint64_t d = s / 86400;
    if (t < 0)
        vg_buf_putc(out, '-');
    if (d)
        vg_buf_printf(out, "%llu.", (unsigned long long)d);
    vg_buf_printf(out, "%02llu:%02llu:%02llu", (unsigned long long)(s / 3600 % 24),
                  (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
    if (ticks)
        vg_buf_printf(out, ".%07llu", (unsigned long long)ticks);
}

bool vg_batch_value_text(const vg_batch *b, int c, uint32_t r, vg_buf *out)
{
    if (vg_batch_is_null(b, c, r))
        return false;
    const vg_colvec *v = &b->cols[c];
    switch (v->type) {
    case VG_T_BOOL: vg_buf_puts(out, v->v.b[r] ? "true" : "false"); break;
    case VG_T_INT:
    case VG_T_LONG: vg_buf_printf(out, "%lld", (long long)v->v.i64[r]); break;
    case VG_T_REAL: {
        double x = v->v.f64[r];
        if (isnan(x) || isinf(x))
            vg_buf_puts(out, isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
        else
            vg_buf_printf(out, "%.17g", x);
        break;
    }
    case VG_T_DATETIME: {
        char ts[VG_TIME_BUFSZ];
        vg_time_format(v->v.i64[r], ts, sizeof ts);
        vg_buf_puts(out, ts);
        break;
    }
    case VG_T_TIMESPAN: format_timespan(v->v.i64[r], out); break;
    default: vg_buf_putstr(out, v->v.s[r]); break;
    }
    return true;
}

vg_err vg_batch_field(const vg_batch *b, uint32_t r, vg_str name, vg_arena *a, vg_str *out)
{
    int c = vg_schema_col(b->table, name);
    if (c >= 0 && b->cols[c].present) {
        if (vg_batch_is_null(b, c, r))
            return VG_ENOTFOUND;
        if (vg_type_is_str(b->cols[c].type)) {
            *out = b->cols[c].v.s[r];
            return VG_OK;
        }
        vg_buf tmp;
        vg_buf_init(&tmp, 256);
        vg_batch_value_text(b, c, r, &tmp);
        *out = vg_str_dup(a, vg_str_make(tmp.p ? tmp.p : "", tmp.n));
        vg_buf_free(&tmp);
        return out->p ? VG_OK : VG_ENOMEM;
    }
    if (!b->has_raw || !b->raw[r].n)
        return VG_ENOTFOUND;
    vg_json_val v;
    vg_err e = vg_json_lookup(b->raw[r], name, a, &v);
    if (e)
        return e == VG_EPARSE ? VG_ENOTFOUND : e;
    if (v.kind == VG_JSON_NULL)
        return VG_ENOTFOUND;
    *out = v.str;
    return VG_OK;
}

void vg_batch_row_json(const vg_batch *b, uint32_t r, vg_buf *out)
{
    bool first = true;
    vg_buf_putc(out, '{');
    for (int c = 0; c < b->table->ncols; c++) {
        if (vg_batch_is_null(b, c, r))
            continue;
        const vg_colvec *v = &b->cols[c];
        if (!first)
            vg_buf_putc(out, ',');
        first = false;
        vg_buf_put_json_str(out, vg_str_c(b->table->cols[c].name));
        vg_buf_putc(out, ':');
        switch (v->type) {
        case VG_T_STRING: vg_buf_put_json_str(out, v->v.s[r]); break;
        case VG_T_DYNAMIC:
            /* dynamic values hold JSON text; anything else is quoted */
            if (v->v.s[r].n && (v->v.s[r].p[0] == '{' || v->v.s[r].p[0] == '['))
                vg_buf_putstr(out, v->v.s[r]);
            else
                vg_buf_put_json_str(out, v->v.s[r]);
            break;
        case VG_T_DATETIME:
        case VG_T_TIMESPAN:
            vg_buf_putc(out, '"');
            vg_batch_value_text(b, c, r, out);
            vg_buf_putc(out, '"');
            break;
        case VG_T_REAL:
            if (isnan(v->v.f64[r]) || isinf(v->v.f64[r])) {
                vg_buf_putc(out, '"');
                vg_batch_value_text(b, c, r, out);
                vg_buf_putc(out, '"');
                break;
            }
            /* fallthrough */
        default: vg_batch_value_text(b, c, r, out); break;
        }
    }
    if (b->has_raw && b->raw[r].n) {
        if (!first)
            vg_buf_putc(out, ',');
        vg_buf_puts(out, "\"_Raw\":");
        vg_buf_putstr(out, b->raw[r]);
    }
    vg_buf_putc(out, '}');
}
