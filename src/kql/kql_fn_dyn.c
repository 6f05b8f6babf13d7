/*
 * kql_fn_dyn.c - Kusto's dynamic-value functions: todynamic, gettype,
 * arrays, sets, property bags (bag_pack, pack_array, ...), array_iff, zip,
 * the element-wise series_* and range/repeat: table kql_fn_dyn_defs, joined
 * into the registry by kql_fn.c.
 *
 * Array and set functions return null when an argument is not an array.
 * Results are built in ctx->arena with the kql_dyn_* helpers; a datetime
 * outside 0001..9999 reaching a dynamic is taken as null.
 *
 * Limits: arrays built here hold at most KQL_FN_MAX_ELEMS elements (range()
 * truncates at 2^20 as Kusto).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kql/kql_fn_int.h"

/* Largest array a set/array function builds (matches the DOM node bound). */
#define KQL_FN_MAX_ELEMS VG_JSON_MAX_NODES

/* ---- dynamic values, arrays, sets, bags ---- */

static kql_val fn_todynamic(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (a[0].t == VG_T_STRING)
        return kql_fn_dyn_result(kql_dyn_parse(ctx->arena, a[0].u.s));
    if (a[0].t == VG_T_DYNAMIC)
        return a[0];
    return a[0].null ? kql_null(VG_T_DYNAMIC) : kql_fn_dyn_result(kql_fn_dyn_from(ctx->arena, a[0]));
}

static kql_val fn_gettype(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const char *s;
    if (a[0].t == VG_T_DYNAMIC) {
        const vg_json *d = a[0].u.d;
        if (!d || d->kind == VG_JSON_NULL)
            s = "null";
        else if (d->kind == VG_JSON_ARRAY)
            s = "array";
        else if (d->kind == VG_JSON_OBJECT)
            s = "dictionary";
        else
            s = vg_type_name(kql_dyn_scalar(d).t);
    } else {
        s = vg_type_name(a[0].t);
    }
    return kql_string(vg_str_c(s));
}

static kql_val fn_array_length(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = kql_arg_array(a[0]);
    return arr ? kql_long(arr->n) : kql_null(VG_T_LONG);
}

static kql_val fn_array_concat(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const vg_json *arr = kql_arg_array(a[i]);
        if (!arr)
            return kql_null(VG_T_DYNAMIC);
        total += arr->n;
    }
    if (total > KQL_FN_MAX_ELEMS)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, (uint32_t)total);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < a[i].u.d->n; j++)
            kql_dyn_push(out, a[i].u.d->kids[j]);
    return kql_dynamic(out);
}

static kql_val fn_array_slice(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = kql_arg_array(a[0]);
    int64_t s, e;
    if (!arr || !kql_arg_i64(a[1], &s) || !kql_arg_i64(a[2], &e))
        return kql_null(VG_T_DYNAMIC);
    int64_t len = arr->n;
    if (s < 0)
        s += len;
    if (e < 0)
        e += len;
    if (s < 0)
        s = 0;
    if (e >= len)
        e = len - 1;
    uint32_t cnt = s <= e ? (uint32_t)(e - s + 1) : 0;
    vg_json *out = kql_dyn_array(ctx->arena, cnt);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < cnt; i++)
        kql_dyn_push(out, arr->kids[s + i]);
    return kql_dynamic(out);
}

static kql_val fn_array_reverse(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = kql_arg_array(a[0]);
    if (!arr)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, arr->n);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = arr->n; i > 0; i--)
        kql_dyn_push(out, arr->kids[i - 1]);
    return kql_dynamic(out);
}

static bool elem_eq(const vg_json *el, kql_val v)
{
    kql_val e = kql_dyn_scalar(el);
    if (v.t == VG_T_DYNAMIC && !v.null)
        v = kql_dyn_scalar(v.u.d);
    return kql_val_eq(e, v);
}

/* array_index_of(array, value[, start[, length[, occurrence]]]): -1 when
 * absent; null for occurrence < 0 or length < -1 (length -1 = unlimited);
 * a negative start counts from the end. */
static kql_val fn_array_index_of(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = kql_arg_array(a[0]);
    if (!arr)
        return kql_null(VG_T_LONG);
    int64_t len = arr->n, start = 0, cnt = -1, occ = 1;
    if ((n > 2 && !kql_arg_i64(a[2], &start)) || (n > 3 && !kql_arg_i64(a[3], &cnt)) ||
        (n > 4 && !kql_arg_i64(a[4], &occ)) || occ < 0 || cnt < -1)
        return kql_null(VG_T_LONG);
    if (start < 0)
        start = start + len < 0 ? 0 : start + len;
    if (start >= len || occ == 0)
        return kql_long(-1);
    int64_t end = cnt < 0 || cnt > len - start ? len : start + cnt;
    for (int64_t i = start; i < end; i++)
        if (elem_eq(arr->kids[i], a[1]) && --occ == 0)
            return kql_long(i);
    return kql_long(-1);
}

static kql_val fn_array_sum(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = kql_arg_array(a[0]);
    if (!arr)
        return kql_null(VG_T_REAL);
    double s = 0;
    for (uint32_t i = 0; i < arr->n; i++) {
        double x;
        if (!kql_arg_real(kql_dyn_scalar(arr->kids[i]), &x))
            return kql_null(VG_T_REAL);
        s += x;
    }
    return kql_real(s);
}

/* An open-addressing set of elements (by kql_val_eq/hash of the scalar; JSON nulls by a flag). */
typedef struct jset {
    const vg_json **slot;
    uint32_t mask;
    bool has_null;
} jset;

static bool jset_init(vg_arena *a, jset *s, uint32_t n)
{
    uint32_t cap = 16;
    while (cap < n * 2u && cap < (1u << 22))
        cap <<= 1;
    s->slot = vg_arena_zalloc(a, cap * sizeof *s->slot);
    s->mask = cap - 1;
    s->has_null = false;
    return s->slot != NULL;
}

/* Inserts el when add; returns true when el was already present. */
static bool jset_find(jset *s, const vg_json *el, bool add)
{
    kql_val v = kql_dyn_scalar(el);
    if (v.null) {
        bool had = s->has_null;
        if (add)
            s->has_null = true;
        return had;
    }
    uint64_t h = kql_val_hash(v);
    for (uint32_t i = 0; i <= s->mask; i++) {
        uint32_t k = (uint32_t)(h + i) & s->mask;
        if (!s->slot[k]) {
            if (add)
                s->slot[k] = el;
            return false;
        }
        if (kql_val_eq(kql_dyn_scalar(s->slot[k]), v))
            return true;
    }
    return false;
}

static kql_val fn_set_has_element(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = kql_arg_array(a[0]);
    if (!arr)
        return kql_null(VG_T_BOOL);
    for (uint32_t i = 0; i < arr->n; i++)
        if (elem_eq(arr->kids[i], a[1]))
            return kql_bool(true);
    return kql_bool(false);
}

typedef enum { SET_UNION, SET_INTERSECT, SET_DIFFERENCE } set_op;

static kql_val set_fn(kql_ctx *ctx, const kql_val *a, uint32_t n, set_op op)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const vg_json *arr = kql_arg_array(a[i]);
        if (!arr)
            return kql_null(VG_T_DYNAMIC);
        total += arr->n;
    }
    if (total > KQL_FN_MAX_ELEMS)
        return kql_null(VG_T_DYNAMIC);
    uint32_t cap = op == SET_UNION ? (uint32_t)total : a[0].u.d->n;
    vg_json *out = kql_dyn_array(ctx->arena, cap);
    jset seen;
    if (!out || !jset_init(ctx->arena, &seen, cap))
        return kql_null(VG_T_DYNAMIC);
    if (op == SET_UNION) {
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < a[i].u.d->n; j++)
                if (!jset_find(&seen, a[i].u.d->kids[j], true))
                    kql_dyn_push(out, a[i].u.d->kids[j]);
        return kql_dynamic(out);
    }
    /* one set per other array, built once */
    jset *others = vg_arena_alloc(ctx->arena, (n ? n : 1) * sizeof *others);
    if (!others)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 1; i < n; i++) {
        if (!jset_init(ctx->arena, &others[i], a[i].u.d->n))
            return kql_null(VG_T_DYNAMIC);
        for (uint32_t j = 0; j < a[i].u.d->n; j++)
            jset_find(&others[i], a[i].u.d->kids[j], true);
    }
    const vg_json *first = a[0].u.d;
    for (uint32_t j = 0; j < first->n; j++) {
        const vg_json *el = first->kids[j];
        if (jset_find(&seen, el, true))
            continue;
        bool keep = true;
        for (uint32_t i = 1; i < n && keep; i++) {
            bool in = jset_find(&others[i], el, false);
            keep = op == SET_INTERSECT ? in : !in;
        }
        if (keep)
            kql_dyn_push(out, el);
    }
    return kql_dynamic(out);
}

static kql_val fn_set_union(kql_ctx *ctx, const kql_val *a, uint32_t n) { return set_fn(ctx, a, n, SET_UNION); }
static kql_val fn_set_intersect(kql_ctx *ctx, const kql_val *a, uint32_t n) { return set_fn(ctx, a, n, SET_INTERSECT); }
static kql_val fn_set_difference(kql_ctx *ctx, const kql_val *a, uint32_t n) { return set_fn(ctx, a, n, SET_DIFFERENCE); }

typedef struct sort_item {
    kql_val v;
    const vg_json *el;
    uint32_t pos;
} sort_item;

static int cmp_asc(const void *x, const void *y)
{
    const sort_item *a = x, *b = y;
    int c = kql_val_cmp(a->v, b->v);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

static kql_val array_sort(kql_ctx *ctx, const kql_val *a, uint32_t n, bool desc)
{
    const vg_json *arr = kql_arg_array(a[0]);
    if (!arr)
        return kql_null(VG_T_DYNAMIC);
    bool nulls_last = true;
    if (n > 1) {
        if (a[1].t != VG_T_BOOL || a[1].null)
            return kql_null(VG_T_DYNAMIC);
        nulls_last = a[1].u.i != 0;
    }
    uint32_t cnt = arr->n;
    sort_item *items = vg_arena_alloc(ctx->arena, (cnt ? cnt : 1) * sizeof *items);
    vg_json *out = kql_dyn_array(ctx->arena, cnt);
    if (!items || !out)
        return kql_null(VG_T_DYNAMIC);
    uint32_t k = 0, nulls = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        kql_val v = kql_dyn_scalar(arr->kids[i]);
        if (v.null) {
            nulls++;
            continue;
        }
        items[k++] = (sort_item){ v, arr->kids[i], i };
    }
    qsort(items, k, sizeof *items, cmp_asc);
    const vg_json *null_el = kql_fn_dyn_from(ctx->arena, kql_null(VG_T_DYNAMIC));
    if (!nulls_last)
        for (uint32_t i = 0; i < nulls; i++)
            kql_dyn_push(out, null_el);
    for (uint32_t i = 0; i < k; i++)
        kql_dyn_push(out, items[desc ? k - 1 - i : i].el);
    if (nulls_last)
        for (uint32_t i = 0; i < nulls; i++)
            kql_dyn_push(out, null_el);
    return kql_dynamic(out);
}

static kql_val fn_array_sort_asc(kql_ctx *ctx, const kql_val *a, uint32_t n) { return array_sort(ctx, a, n, false); }
static kql_val fn_array_sort_desc(kql_ctx *ctx, const kql_val *a, uint32_t n) { return array_sort(ctx, a, n, true); }

static kql_val fn_pack_array(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_json *out = kql_dyn_array(ctx->arena, n);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < n; i++) {
        const vg_json *el = a[i].t == VG_T_DYNAMIC ? a[i].u.d : NULL;
        if (!el)
            el = kql_fn_dyn_from(ctx->arena, a[i]);
        if (!el)
            return kql_null(VG_T_DYNAMIC);
        kql_dyn_push(out, el);
    }
    return kql_dynamic(out);
}

static vg_type bag_pack_type(const vg_type *t, uint32_t n, vg_diag *d)
{
    if (n % 2 != 0) {
        vg_diag_set(d, VG_EINVAL, "bag_pack(): expects key/value pairs (an even number of arguments)");
        return VG_T_COUNT_;
    }
    return VG_T_DYNAMIC;
}

static kql_val fn_bag_pack(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_json *out = kql_dyn_bag(ctx->arena, n / 2);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i + 1 < n; i += 2) {
        vg_str key;
        if (!kql_arg_str(a[i], &key))
            key = kql_fn_text(ctx->arena, a[i]);
        const vg_json *el = a[i + 1].t == VG_T_DYNAMIC ? a[i + 1].u.d : kql_fn_dyn_from(ctx->arena, a[i + 1]);
        if (!kql_dyn_put(ctx->arena, out, key, el))
            return kql_null(VG_T_DYNAMIC);
    }
    return kql_dynamic(out);
}

static kql_val fn_bag_keys(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *bag = kql_arg_bag(a[0]);
    if (!bag)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, bag->n);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < bag->n; i++)
        kql_dyn_push(out, kql_fn_dyn_str(ctx, bag->kids[i]->key));
    return kql_dynamic(out);
}

static kql_val fn_bag_has_key(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *bag = kql_arg_bag(a[0]);
    vg_str key;
    if (!bag || !kql_arg_str(a[1], &key))
        return kql_null(VG_T_BOOL);
    return kql_bool(kql_dyn_member(bag, key) != NULL);
}

static kql_val fn_bag_remove_keys(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *bag = kql_arg_bag(a[0]);
    const vg_json *keys = kql_arg_array(a[1]);
    if (!bag || !keys)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_bag(ctx->arena, bag->n);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < bag->n; i++) {
        bool drop = false;
        for (uint32_t j = 0; j < keys->n && !drop; j++)
            drop = keys->kids[j]->kind == VG_JSON_STRING && vg_str_eq(keys->kids[j]->str, bag->kids[i]->key);
        if (!drop)
            kql_dyn_push(out, bag->kids[i]);
    }
    return kql_dynamic(out);
}

static kql_val fn_bag_merge(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!kql_arg_bag(a[i]))
            return kql_null(VG_T_DYNAMIC);
        total += a[i].u.d->n;
    }
    if (total > KQL_FN_MAX_ELEMS)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_bag(ctx->arena, (uint32_t)total);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    /* on a duplicate key the first bag wins */
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < a[i].u.d->n; j++)
            if (!kql_dyn_member(out, a[i].u.d->kids[j]->key))
                kql_dyn_push(out, a[i].u.d->kids[j]);
    return kql_dynamic(out);
}

/* range(start, stop[, step]): numbers, datetimes or timespans (step 1, or 1h
 * for times); stop inclusive; truncated at KQL_FN_MAX_RANGE elements (2^20)
 * as Kusto. */
#define KQL_FN_MAX_RANGE 1048576
static kql_val fn_range(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (a[0].null || a[1].null || (n > 2 && a[2].null))
        return kql_null(VG_T_DYNAMIC);
    bool real = a[0].t == VG_T_REAL || a[1].t == VG_T_REAL || (n > 2 && a[2].t == VG_T_REAL);
    vg_json *out = NULL;
    if (!real && (vg_type_is_i64(a[0].t) || a[0].t == VG_T_DYNAMIC)) {
        int64_t st, en, step = 1;
        bool timeish = a[0].t == VG_T_DATETIME || a[0].t == VG_T_TIMESPAN;
        if (timeish) {
            if (a[1].t != a[0].t || (n > 2 && a[2].t != VG_T_TIMESPAN))
                return kql_null(VG_T_DYNAMIC);
            st = a[0].u.i;
            en = a[1].u.i;
            if (n > 2)
                step = a[2].u.i;
            else
                step = 3600 * VG_TICKS_PER_SEC;
        } else if (!kql_arg_i64(a[0], &st) || !kql_arg_i64(a[1], &en) || (n > 2 && !kql_arg_i64(a[2], &step))) {
            return kql_null(VG_T_DYNAMIC);
        }
        if (step == 0)
            return kql_null(VG_T_DYNAMIC);
        /* count = floor((en - st) / step) + 1, in 128-bit to avoid overflow */
        __int128 diff = (__int128)en - st;
        __int128 cnt = (diff >= 0) == (step > 0) || diff == 0 ? diff / step + 1 : 0;
        if (cnt < 0)
            cnt = 0;
        if (cnt > KQL_FN_MAX_RANGE)
            cnt = KQL_FN_MAX_RANGE;
        out = kql_dyn_array(ctx->arena, (uint32_t)cnt);
        if (!out)
            return kql_null(VG_T_DYNAMIC);
        for (int64_t i = 0; i < (int64_t)cnt; i++) {
            int64_t v = (int64_t)((__int128)st + (__int128)i * step);
            kql_val x = a[0].t == VG_T_DATETIME ? kql_datetime(v) : a[0].t == VG_T_TIMESPAN ? kql_timespan(v) : kql_long(v);
            const vg_json *el = kql_fn_dyn_from(ctx->arena, x);
            if (!el)
                return kql_null(VG_T_DYNAMIC);
            kql_dyn_push(out, el);
        }
        return kql_dynamic(out);
    }
    double st, en, step = 1;
    if (!kql_arg_real(a[0], &st) || !kql_arg_real(a[1], &en) || (n > 2 && !kql_arg_real(a[2], &step)) || step == 0 ||
        !isfinite(st) || !isfinite(en) || !isfinite(step))
        return kql_null(VG_T_DYNAMIC);
    double cnt = floor((en - st) / step) + 1;
    if (!(cnt >= 0))
        cnt = 0;
    if (cnt > KQL_FN_MAX_RANGE)
        cnt = KQL_FN_MAX_RANGE;
    out = kql_dyn_array(ctx->arena, (uint32_t)cnt);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < (uint32_t)cnt; i++) {
        const vg_json *el = kql_fn_dyn_from(ctx->arena, kql_real(st + i * step));
        if (!el)
            return kql_null(VG_T_DYNAMIC);
        kql_dyn_push(out, el);
    }
    return kql_dynamic(out);
}

/* repeat(value, count): an array of count copies (empty when count <= 0) */
static kql_val fn_repeat(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int64_t cnt;
    if (!kql_arg_i64(a[1], &cnt))
        return kql_null(VG_T_DYNAMIC);
    if (cnt < 0)
        cnt = 0;
    if (cnt > KQL_FN_MAX_RANGE)
        return kql_null(VG_T_DYNAMIC);
    const vg_json *el = a[0].t == VG_T_DYNAMIC && a[0].u.d ? a[0].u.d : kql_fn_dyn_from(ctx->arena, a[0]);
    vg_json *out = kql_dyn_array(ctx->arena, (uint32_t)cnt);
    if (!el || !out)
        return kql_null(VG_T_DYNAMIC);
    for (int64_t i = 0; i < cnt; i++)
        kql_dyn_push(out, el);
    return kql_dynamic(out);
}

/* array_iff(conditions, ifTrue, ifFalse): element-wise; a condition is a
 * bool or a number (non-zero = true); ifTrue/ifFalse are arrays (read at the
 * same index) or scalars; any other condition, or a missing element, gives
 * null. */
static kql_val fn_array_iff(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *cond = kql_arg_array(a[0]);
    if (!cond)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, cond->n);
    const vg_json *null_el = kql_fn_dyn_from(ctx->arena, kql_null(VG_T_DYNAMIC));
    if (!out || !null_el)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < cond->n; i++) {
        const vg_json *c = cond->kids[i], *el = null_el;
        double num;
        int truth = c->kind == VG_JSON_TRUE ? 1 : c->kind == VG_JSON_FALSE ? 0 : -1;
        if (truth < 0 && kql_arg_real(kql_dyn_scalar(c), &num))
            truth = num != 0;   /* numbers: non-zero is true */
        if (truth >= 0) {
            kql_val pick = a[truth ? 1 : 2];
            const vg_json *arr = kql_arg_array(pick);
            if (arr)
                el = i < arr->n ? arr->kids[i] : null_el;
            else if (pick.t == VG_T_DYNAMIC)
                el = pick.u.d ? pick.u.d : null_el;
            else
                el = kql_fn_dyn_from(ctx->arena, pick);
        }
        if (!el)
            return kql_null(VG_T_DYNAMIC);
        kql_dyn_push(out, el);
    }
    return kql_dynamic(out);
}

/* zip(array1, array2, ...): an array of arrays, the i-th holding the i-th
 * element of each input; shorter inputs give null. */
static kql_val fn_zip(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t len = 0;
    for (uint32_t i = 0; i < n; i++) {
        const vg_json *arr = kql_arg_array(a[i]);
        if (!arr)
            return kql_null(VG_T_DYNAMIC);
        if (arr->n > len)
            len = arr->n;
    }
    if ((uint64_t)len * (n + 1) > KQL_FN_MAX_ELEMS)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, len);
    const vg_json *null_el = kql_fn_dyn_from(ctx->arena, kql_null(VG_T_DYNAMIC));
    if (!out || !null_el)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t r = 0; r < len; r++) {
        vg_json *tuple = kql_dyn_array(ctx->arena, n);
        if (!tuple)
            return kql_null(VG_T_DYNAMIC);
        for (uint32_t i = 0; i < n; i++)
            kql_dyn_push(tuple, r < a[i].u.d->n ? a[i].u.d->kids[r] : null_el);
        kql_dyn_push(out, tuple);
    }
    return kql_dynamic(out);
}

/* series_add/subtract/multiply/divide: element-wise over arrays (a number
 * stands for a constant series); the result has the longer length, and a
 * missing or non-numeric element gives null. Integers stay integers but for
 * divide. */
typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV } series_op;

static bool series_elem(kql_val v, uint32_t i, kql_val *out)
{
    const vg_json *arr = kql_arg_array(v);
    if (arr) {
        if (i >= arr->n)
            return false;
        *out = kql_dyn_scalar(arr->kids[i]);
    } else {
        *out = v;
    }
    return !out->null && (out->t == VG_T_LONG || out->t == VG_T_INT || out->t == VG_T_REAL);
}

static kql_val series_fn(kql_ctx *ctx, const kql_val *a, series_op op)
{
    const vg_json *x = kql_arg_array(a[0]), *y = kql_arg_array(a[1]);
    if (!x && !y)
        return kql_null(VG_T_DYNAMIC);
    double d;
    if ((!x && !kql_arg_real(a[0], &d)) || (!y && !kql_arg_real(a[1], &d)))
        return kql_null(VG_T_DYNAMIC);
    uint32_t len = x ? x->n : 0;
    if (y && y->n > len)
        len = y->n;
    vg_json *out = kql_dyn_array(ctx->arena, len);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < len; i++) {
        kql_val p, q, r = kql_null(VG_T_DYNAMIC);
        if (series_elem(a[0], i, &p) && series_elem(a[1], i, &q)) {
            bool ints = p.t != VG_T_REAL && q.t != VG_T_REAL && op != OP_DIV;
            int64_t ri;
            if (ints) {
                bool ovf = op == OP_ADD ? __builtin_add_overflow(p.u.i, q.u.i, &ri)
                           : op == OP_SUB ? __builtin_sub_overflow(p.u.i, q.u.i, &ri)
                                          : __builtin_mul_overflow(p.u.i, q.u.i, &ri);
                r = ovf ? kql_null(VG_T_LONG) : kql_long(ri);
            } else {
                double pa = p.t == VG_T_REAL ? p.u.r : (double)p.u.i;
                double qa = q.t == VG_T_REAL ? q.u.r : (double)q.u.i;
                double res = op == OP_ADD ? pa + qa : op == OP_SUB ? pa - qa : op == OP_MUL ? pa * qa : pa / qa;
                r = kql_real(res);
            }
        }
        const vg_json *el = kql_fn_dyn_from(ctx->arena, r);
        if (!el)
            return kql_null(VG_T_DYNAMIC);
        kql_dyn_push(out, el);
    }
    return kql_dynamic(out);
}

static kql_val fn_series_add(kql_ctx *ctx, const kql_val *a, uint32_t n) { return series_fn(ctx, a, OP_ADD); }
static kql_val fn_series_subtract(kql_ctx *ctx, const kql_val *a, uint32_t n) { return series_fn(ctx, a, OP_SUB); }
static kql_val fn_series_multiply(kql_ctx *ctx, const kql_val *a, uint32_t n) { return series_fn(ctx, a, OP_MUL); }
static kql_val fn_series_divide(kql_ctx *ctx, const kql_val *a, uint32_t n) { return series_fn(ctx, a, OP_DIV); }

KQL_FN_SIG(array_length, VG_T_LONG, "y")
KQL_FN_SIG(array_concat, VG_T_DYNAMIC, "y")
KQL_FN_SIG(array_slice, VG_T_DYNAMIC, "ynn")
KQL_FN_SIG(array_reverse, VG_T_DYNAMIC, "y")
KQL_FN_SIG(array_index_of, VG_T_LONG, "yann")
KQL_FN_SIG(array_sum, VG_T_REAL, "y")
KQL_FN_SIG(array_sort_asc, VG_T_DYNAMIC, "yb")
KQL_FN_SIG(array_sort_desc, VG_T_DYNAMIC, "yb")
KQL_FN_SIG(set_has_element, VG_T_BOOL, "ya")
KQL_FN_SIG(set_union, VG_T_DYNAMIC, "y")
KQL_FN_SIG(set_intersect, VG_T_DYNAMIC, "y")
KQL_FN_SIG(set_difference, VG_T_DYNAMIC, "y")
KQL_FN_SIG(bag_keys, VG_T_DYNAMIC, "y")
KQL_FN_SIG(bag_has_key, VG_T_BOOL, "ys")
KQL_FN_SIG(bag_remove_keys, VG_T_DYNAMIC, "yy")
KQL_FN_SIG(bag_merge, VG_T_DYNAMIC, "y")
KQL_FN_SIG(zip, VG_T_DYNAMIC, "y")
KQL_FN_SIG(array_iff, VG_T_DYNAMIC, "yaa")
KQL_FN_SIG(repeat, VG_T_DYNAMIC, "an")

const kql_fn_def kql_fn_dyn_defs[] = {
    KQL_FN_ROW("todynamic", 1, 1, VG_T_DYNAMIC, fn_todynamic, "todynamic(json): text that is not JSON becomes a dynamic string"),
    KQL_FN_ROW("gettype", 1, 1, VG_T_STRING, fn_gettype, "gettype(value): long, real, string, datetime, ..., array, dictionary, null"),
    KQL_FN_TYPED("array_length", 1, 1, sig_array_length, fn_array_length, "array_length(array): null when not an array"),
    KQL_FN_TYPED("array_concat", 1, 64, sig_array_concat, fn_array_concat, "array_concat(array1, ...)"),
    KQL_FN_TYPED("array_slice", 3, 3, sig_array_slice, fn_array_slice, "array_slice(array, start, end): end inclusive; negatives count from the end"),
    KQL_FN_TYPED("array_reverse", 1, 1, sig_array_reverse, fn_array_reverse, "array_reverse(array)"),
    KQL_FN_TYPED("array_index_of", 2, 5, sig_array_index_of, fn_array_index_of, "array_index_of(array, value[, start[, length[, occurrence]]]): -1 when absent"),
    KQL_FN_TYPED("array_sum", 1, 1, sig_array_sum, fn_array_sum, "array_sum(array)"),
    KQL_FN_TYPED("array_sort_asc", 1, 2, sig_array_sort_asc, fn_array_sort_asc, "array_sort_asc(array[, nulls_last])"),
    KQL_FN_TYPED("array_sort_desc", 1, 2, sig_array_sort_desc, fn_array_sort_desc, "array_sort_desc(array[, nulls_last])"),
    KQL_FN_TYPED("set_has_element", 2, 2, sig_set_has_element, fn_set_has_element, "set_has_element(array, value)"),
    KQL_FN_TYPED("set_union", 2, 64, sig_set_union, fn_set_union, "set_union(array1, array2, ...): distinct values of all arrays"),
    KQL_FN_TYPED("set_intersect", 2, 64, sig_set_intersect, fn_set_intersect, "set_intersect(array1, array2, ...): distinct values in every array"),
    KQL_FN_TYPED("set_difference", 2, 64, sig_set_difference, fn_set_difference, "set_difference(array1, array2, ...): distinct values of array1 in no other"),
    KQL_FN_ROW("pack_array", 1, 255, VG_T_DYNAMIC, fn_pack_array, "pack_array(v1, v2, ...)"),
    KQL_FN_TYPED("bag_pack", 0, 254, bag_pack_type, fn_bag_pack, "bag_pack(key1, value1, ...): a property bag"),
    KQL_FN_TYPED("bag_keys", 1, 1, sig_bag_keys, fn_bag_keys, "bag_keys(bag): the keys"),
    KQL_FN_TYPED("bag_has_key", 2, 2, sig_bag_has_key, fn_bag_has_key, "bag_has_key(bag, key)"),
    KQL_FN_TYPED("bag_remove_keys", 2, 2, sig_bag_remove_keys, fn_bag_remove_keys, "bag_remove_keys(bag, keysArray)"),
    KQL_FN_TYPED("bag_merge", 2, 64, sig_bag_merge, fn_bag_merge, "bag_merge(bag1, bag2, ...): on duplicate keys the first wins"),
    KQL_FN_TYPED("array_iff", 3, 3, sig_array_iff, fn_array_iff, "array_iff(conditions, ifTrue, ifFalse): element-wise iff"),
    KQL_FN_TYPED("zip", 2, 16, sig_zip, fn_zip, "zip(array1, array2, ...): an array of arrays pairing the elements (null past the end)"),
    KQL_FN_ROW("series_add", 2, 2, VG_T_DYNAMIC, fn_series_add, "series_add(series1, series2): element-wise"),
    KQL_FN_ROW("series_subtract", 2, 2, VG_T_DYNAMIC, fn_series_subtract, "series_subtract(series1, series2): element-wise"),
    KQL_FN_ROW("series_multiply", 2, 2, VG_T_DYNAMIC, fn_series_multiply, "series_multiply(series1, series2): element-wise"),
    KQL_FN_ROW("series_divide", 2, 2, VG_T_DYNAMIC, fn_series_divide, "series_divide(series1, series2): element-wise, real"),
    KQL_FN_ROW("range", 2, 3, VG_T_DYNAMIC, fn_range, "range(start, stop[, step]): an array from start to stop inclusive"),
    KQL_FN_TYPED("repeat", 2, 2, sig_repeat, fn_repeat, "repeat(value, count): an array of count copies of value"),
};
const size_t kql_fn_dyn_ndefs = sizeof kql_fn_dyn_defs / sizeof kql_fn_dyn_defs[0];
