/*
 * kql_fn_time.c - Kusto's datetime and timespan functions, bin/bin_at, and
 * the scalar conversions (todatetime, tolong, ...): table kql_fn_time_defs,
 * joined into the registry by kql_fn.c.
 *
 * Values are vg_time ticks (100 ns since the Unix epoch). Kusto counts
 * DateTime ticks from 0001-01-01, and bin() of a datetime floors those ticks:
 * the bins are aligned on 0001-01-01 (a Monday), which for bin sizes that
 * divide a day is the same as aligning on the Unix epoch, but not for 7d
 * (Kusto's 7d bins start on Mondays, startofweek() on Sundays).
 *
 * Every function returns a null of its type on null or out-of-range input
 * (outside years 0001..9999) rather than failing the query. The argument
 * getters and the signature checker are shared (kql_fn_int.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kql/kql_fn_int.h"

/* Longest format string honoured by format_datetime/format_timespan. */
#define KQL_FMT_MAX 256

/* ---- argument helpers ---- */

static bool in_range(vg_time t) { return t >= VG_TIME_MIN && t <= VG_TIME_MAX; }

static bool get_dt(kql_val v, vg_time *o)
{
    if (v.null)
        return false;
    if (v.t == VG_T_DATETIME) {
        *o = v.u.i;
        return in_range(*o);
    }
    vg_str s;
    if (kql_arg_str(v, &s))
        return vg_time_parse_iso(vg_str_trim(s), o) == VG_OK && in_range(*o);
    return false;
}

static bool get_ts(kql_val v, int64_t *o)
{
    if (v.null)
        return false;
    if (v.t == VG_T_TIMESPAN) {
        *o = v.u.i;
        return true;
    }
    if (v.t == VG_T_STRING)
        return kql_parse_timespan(v.u.s, o);
    return false;
}

/* floor(a / b) for b > 0 */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b != 0 && a < 0)
        q--;
    return q;
}

static kql_val dt_or_null(int64_t t)
{
    return in_range(t) ? kql_datetime(t) : kql_null(VG_T_DATETIME);
}

typedef struct civil {
    int y, mo, d, h, mi, s, ticks;
} civil;

static civil to_civil(vg_time t)
{
    civil c;
    vg_time_civil(t, &c.y, &c.mo, &c.d, &c.h, &c.mi, &c.s, &c.ticks);
    return c;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m)
{
    static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : dm[m - 1];
}

static int day_of_year(const civil *c)
{
    static const int cum[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
    return cum[c->mo - 1] + c->d + (c->mo > 2 && leap(c->y));
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(vg_time t)
{
    int64_t d = vg_time_day(t);
    return (int)(((d + 4) % 7 + 7) % 7);
}

/* ISO 8601 week number (weeks start on Monday; week 1 holds the first Thursday). */
static int iso_week(vg_time t)
{
    civil c = to_civil(t);
    int wd = weekday(t);
    int iso_wd = wd == 0 ? 7 : wd;
    int w = (day_of_year(&c) - iso_wd + 10) / 7;
    if (w < 1) {
        /* last week of the previous year: 52 or 53 */
        int py = c.y - 1;
        int jan1 = weekday(vg_time_from_civil(py, 1, 1, 0, 0, 0, 0));
        return jan1 == 4 || (jan1 == 3 && leap(py)) ? 53 : 52;
    }
    if (w == 53) {
        int jan1 = weekday(vg_time_from_civil(c.y, 1, 1, 0, 0, 0, 0));
        if (!(jan1 == 4 || (jan1 == 3 && leap(c.y))))
            return 1;
    }
    return w;
}

/* ---- now, ago ---- */

static kql_val fn_ago(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int64_t ts;
    if (!get_ts(a[0], &ts))
        return kql_null(VG_T_DATETIME);
    int64_t r;
    if (__builtin_sub_overflow(ctx->now, ts, &r))
        return kql_null(VG_T_DATETIME);
    return dt_or_null(r);
}

static kql_val fn_now(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int64_t ts = 0;
    if (n > 0 && !get_ts(a[0], &ts))
        return kql_null(VG_T_DATETIME);
    int64_t r;
    if (__builtin_add_overflow(ctx->now, ts, &r))
        return kql_null(VG_T_DATETIME);
    return dt_or_null(r);
}

/* ---- bin, bin_at ---- */

static vg_type bin_type(const vg_type *t, uint32_t n, vg_diag *d)
{
    vg_type v = t[0], r = t[1];
    if (v == KQL_T_ANY)
        return r == VG_T_REAL ? VG_T_REAL : VG_T_DYNAMIC == r ? VG_T_REAL : VG_T_LONG;
    if (v == VG_T_DATETIME || v == VG_T_TIMESPAN) {
        if (r != VG_T_TIMESPAN && r != KQL_T_ANY && !kql_type_numeric(r)) {
            vg_diag_set(d, VG_ETYPE, "bin(): the bin size of a %s must be a timespan, not %s",
                        vg_type_name(v), vg_type_name(r));
            return VG_T_COUNT_;
        }
        return v;
    }
    if (kql_type_numeric(v) || v == VG_T_DYNAMIC) {
        if (r != KQL_T_ANY && !kql_type_numeric(r)) {
            vg_diag_set(d, VG_ETYPE, "bin(): the bin size of a number must be a number, not %s",
                        vg_type_name(r));
            return VG_T_COUNT_;
        }
        if (v == VG_T_REAL || r == VG_T_REAL || v == VG_T_DYNAMIC)
            return VG_T_REAL;
        return VG_T_LONG;
    }
    vg_diag_set(d, VG_ETYPE, "bin(): cannot bin a %s (expected a number, datetime or timespan)",
                vg_type_name(v));
    return VG_T_COUNT_;
}

static vg_type bin_at_type(const vg_type *t, uint32_t n, vg_diag *d)
{
    vg_type r = bin_type(t, 2, d);
    if (r == VG_T_COUNT_)
        return r;
    if (t[2] != KQL_T_ANY && t[0] != KQL_T_ANY && t[2] != t[0] &&
        !(kql_type_numeric(t[2]) && kql_type_numeric(t[0]))) {
        vg_diag_set(d, VG_ETYPE, "bin_at(): the fixed point (%s) must have the type of the value (%s)",
                    vg_type_name(t[2]), vg_type_name(t[0]));
        return VG_T_COUNT_;
    }
    return r;
}

/* A bin size in ticks from a timespan or a number of ticks. */
static bool get_span_ticks(kql_val v, int64_t *o)
{
    if (v.t == VG_T_TIMESPAN)
        return get_ts(v, o);
    return kql_arg_i64(v, o);
}

static kql_val bin_impl(kql_val v, kql_val r, kql_val *fixed)
{
    if (v.t == VG_T_DATETIME || v.t == VG_T_TIMESPAN) {
        int64_t x, size, origin = v.t == VG_T_DATETIME ? VG_TIME_MIN : 0;
        if (v.null || !get_span_ticks(r, &size) || size <= 0)
            return kql_null(v.t);
        x = v.u.i;
        if (fixed) {
            if (fixed->null || (fixed->t != v.t))
                return kql_null(v.t);
            origin = fixed->u.i;
        }
        int64_t off;
        if (__builtin_sub_overflow(x, origin, &off))
            return kql_null(v.t);
        int64_t q = floor_div(off, size), res;
        if (__builtin_mul_overflow(q, size, &res) || __builtin_add_overflow(res, origin, &res))
            return kql_null(v.t);
        return v.t == VG_T_DATETIME ? dt_or_null(res) : kql_timespan(res);
    }
    bool real = v.t == VG_T_REAL || r.t == VG_T_REAL || v.t == VG_T_DYNAMIC ||
                (fixed && fixed->t == VG_T_REAL);
    if (real) {
        double x, size, origin = 0;
        if (!kql_arg_real(v, &x) || !kql_arg_real(r, &size) || !(size > 0))
            return kql_null(VG_T_REAL);
        if (fixed && !kql_arg_real(*fixed, &origin))
            return kql_null(VG_T_REAL);
        return kql_real(floor((x - origin) / size) * size + origin);
    }
    int64_t x, size, origin = 0;
    if (!kql_arg_i64(v, &x) || !kql_arg_i64(r, &size) || size <= 0)
        return kql_null(VG_T_LONG);
    if (fixed && !kql_arg_i64(*fixed, &origin))
        return kql_null(VG_T_LONG);
    int64_t off, res;
    if (__builtin_sub_overflow(x, origin, &off))
        return kql_null(VG_T_LONG);
    if (__builtin_mul_overflow(floor_div(off, size), size, &res) ||
        __builtin_add_overflow(res, origin, &res))
        return kql_null(VG_T_LONG);
    return kql_long(res);
}

static kql_val fn_bin(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    return bin_impl(a[0], a[1], NULL);
}

static kql_val fn_bin_at(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    kql_val f = a[2];
    return bin_impl(a[0], a[1], &f);
}

/* ---- start/end of day, week, month, year ---- */

typedef enum { P_DAY, P_WEEK, P_MONTH, P_YEAR } period;

static bool start_of(vg_time t, period p, int64_t offset, vg_time *out)
{
    /* more periods than the 3.7 million days of 0001..9999 never land in range */
    if (offset > 5000000 || offset < -5000000)
        return false;
    if (p == P_DAY || p == P_WEEK) {
        int64_t day = vg_time_day(t);
        if (p == P_WEEK)
            day = day - weekday(t) + offset * 7;
        else
            day += offset;
        *out = day * VG_TICKS_PER_DAY;
        return in_range(*out);
    }
    civil c = to_civil(t);
    int64_t y = c.y, m = c.mo;
    if (p == P_YEAR) {
        y += offset;
        m = 1;
    } else {
        int64_t mm = y * 12 + (m - 1) + offset;
        y = floor_div(mm, 12);
        m = mm - y * 12 + 1;
    }
    if (y < 1 || y > 9999)
        return false;
    *out = vg_time_from_civil((int)y, (int)m, 1, 0, 0, 0, 0);
    return true;
}

static kql_val start_end(const kql_val *a, uint32_t n, period p, bool end)
{
    vg_time t, r;
    int64_t off = 0;
    if (!get_dt(a[0], &t) || (n > 1 && !kql_arg_i64(a[1], &off)))
        return kql_null(VG_T_DATETIME);
    if (!end)
        return start_of(t, p, off, &r) ? kql_datetime(r) : kql_null(VG_T_DATETIME);
    if (off >= 5000000 || off < -5000000)
        return kql_null(VG_T_DATETIME);
    if (!start_of(t, p, off + 1, &r)) {
        /* the period holding 9999-12-31 ends on the last tick */
        if (start_of(t, p, off, &r))
            return kql_datetime(VG_TIME_MAX);
        return kql_null(VG_T_DATETIME);
    }
    return dt_or_null(r - 1);
}

#define START_END(name, p, e) \
    static kql_val fn_##name(kql_ctx *ctx, const kql_val *a, uint32_t n) { return start_end(a, n, p, e); }
START_END(startofday, P_DAY, false)
START_END(startofweek, P_WEEK, false)
START_END(startofmonth, P_MONTH, false)
START_END(startofyear, P_YEAR, false)
START_END(endofday, P_DAY, true)
START_END(endofweek, P_WEEK, true)
START_END(endofmonth, P_MONTH, true)
START_END(endofyear, P_YEAR, true)

/* ---- parts of a date ---- */

static kql_val fn_dayofweek(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_time t;
    if (!get_dt(a[0], &t))
        return kql_null(VG_T_TIMESPAN);
    return kql_timespan(weekday(t) * VG_TICKS_PER_DAY);
}

typedef enum {
    PART_YEAR, PART_QUARTER, PART_MONTH, PART_WEEK, PART_DAY, PART_DAYOFYEAR, PART_HOUR,
    PART_MINUTE, PART_SECOND, PART_MS, PART_US, PART_NS, PART_BAD
} part;

static part parse_part(kql_val v)
{
    static const struct { const char *name; part p; } names[] = {
        { "year", PART_YEAR }, { "quarter", PART_QUARTER }, { "month", PART_MONTH },
        { "week", PART_WEEK }, { "week_of_year", PART_WEEK }, { "weekofyear", PART_WEEK },
        { "day", PART_DAY }, { "dayofyear", PART_DAYOFYEAR }, { "hour", PART_HOUR },
        { "minute", PART_MINUTE }, { "second", PART_SECOND }, { "millisecond", PART_MS },
        { "microsecond", PART_US }, { "nanosecond", PART_NS },
    };
    vg_str s;
    if (!kql_arg_str(v, &s))
        return PART_BAD;
    s = vg_str_trim(s);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (vg_str_eqc_ci(s, names[i].name))
            return names[i].p;
    return PART_BAD;
}

static bool part_of(vg_time t, part p, int64_t *out)
{
    civil c = to_civil(t);
    switch (p) {
    case PART_YEAR: *out = c.y; return true;
    case PART_QUARTER: *out = (c.mo - 1) / 3 + 1; return true;
    case PART_MONTH: *out = c.mo; return true;
    case PART_WEEK: *out = iso_week(t); return true;
    case PART_DAY: *out = c.d; return true;
    case PART_DAYOFYEAR: *out = day_of_year(&c); return true;
    case PART_HOUR: *out = c.h; return true;
    case PART_MINUTE: *out = c.mi; return true;
    case PART_SECOND: *out = c.s; return true;
    case PART_MS: *out = c.ticks / 10000; return true;
    case PART_US: *out = c.ticks / 10; return true;
    case PART_NS: *out = (int64_t)c.ticks * 100; return true;
    default: return false;
    }
}

static kql_val fn_datetime_part(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_time t;
    int64_t r;
    part p = parse_part(a[0]);
    if (p == PART_BAD)
        return kql_null(VG_T_INT);
    if (!get_dt(a[1], &t) || !part_of(t, p, &r))
        return kql_null(VG_T_INT);
    return kql_int(r);
}

#define PART_FN(name, p) \
    static kql_val fn_##name(kql_ctx *ctx, const kql_val *a, uint32_t n) \
    { \
        vg_time t; \
        int64_t r; \
        if (!get_dt(a[0], &t) || !part_of(t, p, &r)) \
            return kql_null(VG_T_INT); \
        return kql_int(r); \
    }
PART_FN(dayofmonth, PART_DAY)
PART_FN(dayofyear, PART_DAYOFYEAR)
PART_FN(hourofday, PART_HOUR)
PART_FN(getmonth, PART_MONTH)
PART_FN(getyear, PART_YEAR)
PART_FN(weekofyear, PART_WEEK)

/* ---- datetime_add, datetime_diff ---- */

static int64_t part_ticks(part p)
{
    switch (p) {
    case PART_WEEK: return 7 * VG_TICKS_PER_DAY;
    case PART_DAY: return VG_TICKS_PER_DAY;
    case PART_HOUR: return 3600 * VG_TICKS_PER_SEC;
    case PART_MINUTE: return 60 * VG_TICKS_PER_SEC;
    case PART_SECOND: return VG_TICKS_PER_SEC;
    case PART_MS: return VG_TICKS_PER_MS;
    case PART_US: return 10;
    default: return 0;
    }
}

static kql_val fn_datetime_add(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    part p = parse_part(a[0]);
    int64_t amount;
    vg_time t;
    if (p == PART_BAD || p == PART_DAYOFYEAR || !kql_arg_i64(a[1], &amount) || !get_dt(a[2], &t))
        return kql_null(VG_T_DATETIME);
    if (p == PART_YEAR || p == PART_QUARTER || p == PART_MONTH) {
        int64_t months = p == PART_YEAR ? 12 : p == PART_QUARTER ? 3 : 1;
        if (amount > 200000 || amount < -200000)
            return kql_null(VG_T_DATETIME);
        civil c = to_civil(t);
        int64_t mm = (int64_t)c.y * 12 + (c.mo - 1) + amount * months;
        int64_t y = floor_div(mm, 12), m = mm - y * 12 + 1;
        if (y < 1 || y > 9999)
            return kql_null(VG_T_DATETIME);
        int d = c.d, dim = month_days((int)y, (int)m);
        if (d > dim)
            d = dim;   /* like .NET AddMonths: clamp to the month's last day */
        return kql_datetime(vg_time_from_civil((int)y, (int)m, d, c.h, c.mi, c.s, c.ticks));
    }
    int64_t delta;
    if (p == PART_NS)
        delta = amount / 100;
    else if (__builtin_mul_overflow(amount, part_ticks(p), &delta))
        return kql_null(VG_T_DATETIME);
    int64_t r;
    if (__builtin_add_overflow(t, delta, &r))
        return kql_null(VG_T_DATETIME);
    return dt_or_null(r);
}

static kql_val fn_datetime_diff(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    part p = parse_part(a[0]);
    vg_time t1, t2;
    if (p == PART_BAD || p == PART_DAYOFYEAR || !get_dt(a[1], &t1) || !get_dt(a[2], &t2))
        return kql_null(VG_T_LONG);
    if (p == PART_YEAR || p == PART_QUARTER || p == PART_MONTH) {
        civil c1 = to_civil(t1), c2 = to_civil(t2);
        if (p == PART_YEAR)
            return kql_long((int64_t)c1.y - c2.y);
        if (p == PART_QUARTER)
            return kql_long(((int64_t)c1.y * 4 + (c1.mo - 1) / 3) - ((int64_t)c2.y * 4 + (c2.mo - 1) / 3));
        return kql_long(((int64_t)c1.y * 12 + c1.mo) - ((int64_t)c2.y * 12 + c2.mo));
    }
    if (p == PART_WEEK) {
        /* weeks start on Sunday: count Sunday boundaries crossed */
        int64_t w1 = vg_time_day(t1) - weekday(t1), w2 = vg_time_day(t2) - weekday(t2);
        return kql_long((w1 - w2) / 7);
    }
    if (p == PART_NS)
        return kql_long((t1 - t2) * 100);
    int64_t u = part_ticks(p);
    /* both within the valid range: offsets from VG_TIME_MIN are non-negative */
    return kql_long((t1 - VG_TIME_MIN) / u - (t2 - VG_TIME_MIN) / u);
}

/* ---- format_datetime, format_timespan ---- */

static void put_num(vg_buf *b, int64_t v, int width)
{
    char tmp[32];
    if (width > 20)
        width = 20;
    int k = snprintf(tmp, sizeof tmp, "%0*lld", width, (long long)v);
    if (k > 0)
        vg_buf_put(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* Fraction digits: f (always n digits) or F (trailing zeros trimmed; when
 * nothing is left, a '.' just before is dropped, as .NET does). */
static void put_fraction(vg_buf *b, int ticks, int n, bool upper)
{
    if (n > 7)
        n = 7;
    char digits[8];
    int k = snprintf(digits, sizeof digits, "%07d", ticks);
    if (k != 7)
        return;
    int len = n;
    if (upper) {
        while (len > 0 && digits[len - 1] == '0')
            len--;
        if (len == 0) {
            if (b->n > 0 && b->p[b->n - 1] == '.')
                b->n--;
            return;
        }
    }
    vg_buf_put(b, digits, (size_t)len);
}

static size_t run_len(vg_str f, size_t i)
{
    size_t j = i;
    while (j < f.n && f.p[j] == f.p[i])
        j++;
    return j - i;
}

static void format_dt(vg_buf *b, vg_time t, vg_str f)
{
    civil c = to_civil(t);
    for (size_t i = 0; i < f.n;) {
        char ch = f.p[i];
        size_t r = run_len(f, i);
        int w = (int)r;
        switch (ch) {
        case 'd': put_num(b, c.d, w >= 2 ? 2 : 1); break;
        case 'f': case 'F': put_fraction(b, c.ticks, w, ch == 'F'); break;
        case 'h': put_num(b, c.h % 12 == 0 ? 12 : c.h % 12, w >= 2 ? 2 : 1); break;
        case 'H': put_num(b, c.h, w >= 2 ? 2 : 1); break;
        case 'm': put_num(b, c.mi, w >= 2 ? 2 : 1); break;
        case 'M': put_num(b, c.mo, w >= 2 ? 2 : 1); break;
        case 's': put_num(b, c.s, w >= 2 ? 2 : 1); break;
        case 'y':
            if (w <= 2)
                put_num(b, c.y % 100, w);
            else
                put_num(b, c.y, w);
            break;
        case 't':
            if (w == 1)
                vg_buf_putc(b, c.h < 12 ? 'A' : 'P');
            else
                vg_buf_puts(b, c.h < 12 ? "AM" : "PM");
            break;
        default:
            vg_buf_put(b, f.p + i, r);
            break;
        }
        i += r;
    }
}

static kql_val buf_result(kql_ctx *ctx, vg_buf *b)
{
    kql_val v = kql_null(VG_T_STRING);
    if (!b->failed && b->n > 0) {
        char *p = vg_arena_memdup(ctx->arena, b->p, b->n);
        if (p)
            v = kql_string(vg_str_make(p, b->n));
    }
    vg_buf_free(b);
    return v;
}

static kql_val fn_format_datetime(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_time t;
    vg_str f;
    if (!get_dt(a[0], &t) || !kql_arg_str(a[1], &f) || f.n > KQL_FMT_MAX)
        return kql_null(VG_T_STRING);
    vg_buf b;
    vg_buf_init(&b, 4096);
    format_dt(&b, t, f);
    return buf_result(ctx, &b);
}

static kql_val fn_format_timespan(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int64_t ts;
    vg_str f;
    if (!get_ts(a[0], &ts) || !kql_arg_str(a[1], &f) || f.n > KQL_FMT_MAX)
        return kql_null(VG_T_STRING);
    vg_buf b;
    vg_buf_init(&b, 4096);
    uint64_t u = ts < 0 ? (uint64_t)0 - (uint64_t)ts : (uint64_t)ts;
    if (ts < 0)
        vg_buf_putc(&b, '-');
    int64_t days = (int64_t)(u / (uint64_t)VG_TICKS_PER_DAY);
    uint64_t rem = u % (uint64_t)VG_TICKS_PER_DAY;
    int ticks = (int)(rem % VG_TICKS_PER_SEC);
    int64_t secs = (int64_t)(rem / VG_TICKS_PER_SEC);
    for (size_t i = 0; i < f.n;) {
        char ch = f.p[i];
        size_t r = run_len(f, i);
        int w = (int)r;
        switch (ch) {
        case 'd': put_num(&b, days, w > 8 ? 8 : w); break;
        case 'f': case 'F': put_fraction(&b, ticks, w, ch == 'F'); break;
        case 'h': case 'H': put_num(&b, secs / 3600, w >= 2 ? 2 : 1); break;
        case 'm': put_num(&b, secs / 60 % 60, w >= 2 ? 2 : 1); break;
        case 's': put_num(&b, secs % 60, w >= 2 ? 2 : 1); break;
        default: vg_buf_put(&b, f.p + i, r); break;
        }
        i += r;
    }
    return buf_result(ctx, &b);
}

/* ---- make_datetime, make_timespan, unixtime_* ---- */

static kql_val fn_make_datetime(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int64_t p[5] = { 0, 0, 0, 0, 0 };
    double sec = 0;
    for (uint32_t i = 0; i < n && i < 5; i++)
        if (!kql_arg_i64(a[i], &p[i]))
            return kql_null(VG_T_DATETIME);
    if (n > 5 && !kql_arg_real(a[5], &sec))
        return kql_null(VG_T_DATETIME);
    if (p[0] < 1 || p[0] > 9999 || p[1] < 1 || p[1] > 12 || p[2] < 1 ||
        p[2] > month_days((int)p[0], (int)p[1]) || p[3] < 0 || p[3] > 23 || p[4] < 0 || p[4] > 59 ||
        !(sec >= 0 && sec < 60))
        return kql_null(VG_T_DATETIME);
    int64_t st = (int64_t)llround(sec * VG_TICKS_PER_SEC);
    vg_time t = vg_time_from_civil((int)p[0], (int)p[1], (int)p[2], (int)p[3], (int)p[4], 0, 0) + st;
    return dt_or_null(t);
}

static kql_val fn_make_timespan(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    /* make_timespan(hour, minute[, second]) or (day, hour, minute, second) */
    double p[4] = { 0, 0, 0, 0 };
    for (uint32_t i = 0; i < n && i < 4; i++)
        if (!kql_arg_real(a[i], &p[i]))
            return kql_null(VG_T_TIMESPAN);
    double secs;
    if (n == 4)
        secs = p[0] * 86400 + p[1] * 3600 + p[2] * 60 + p[3];
    else
        secs = p[0] * 3600 + p[1] * 60 + p[2];
    double ticks = secs * VG_TICKS_PER_SEC;
    if (!(ticks > -9.2e18 && ticks < 9.2e18))
        return kql_null(VG_T_TIMESPAN);
    return kql_timespan((int64_t)llround(ticks));
}

static kql_val unix_to_dt(kql_val v, double ticks_per_unit)
{
    double x;
    if (v.t == VG_T_INT || v.t == VG_T_LONG) {
        if (v.null)
            return kql_null(VG_T_DATETIME);
        if (ticks_per_unit >= 1) {
            int64_t r;
            if (__builtin_mul_overflow(v.u.i, (int64_t)ticks_per_unit, &r))
                return kql_null(VG_T_DATETIME);
            return dt_or_null(r);
        }
        return dt_or_null(floor_div(v.u.i, (int64_t)(1 / ticks_per_unit + 0.5)));
    }
    if (!kql_arg_real(v, &x))
        return kql_null(VG_T_DATETIME);
    double t = x * ticks_per_unit;
    if (!(t >= (double)VG_TIME_MIN && t <= (double)VG_TIME_MAX))
        return kql_null(VG_T_DATETIME);
    return dt_or_null((int64_t)floor(t));
}

static kql_val fn_unix_s(kql_ctx *ctx, const kql_val *a, uint32_t n) { return unix_to_dt(a[0], 1e7); }
static kql_val fn_unix_ms(kql_ctx *ctx, const kql_val *a, uint32_t n) { return unix_to_dt(a[0], 1e4); }
static kql_val fn_unix_us(kql_ctx *ctx, const kql_val *a, uint32_t n) { return unix_to_dt(a[0], 10); }
static kql_val fn_unix_ns(kql_ctx *ctx, const kql_val *a, uint32_t n) { return unix_to_dt(a[0], 0.01); }

/* ---- conversions ---- */

/* A datetime outside 0001..9999 is not a datetime: it converts to null. */
static kql_val cast_checked(kql_ctx *ctx, kql_val v, vg_type t)
{
    if (v.t == VG_T_DATETIME && !v.null && !in_range(v.u.i))
        return kql_null(t);
    return kql_cast(ctx->arena, v, t);
}

#define CAST_FN(name, t) \
    static kql_val fn_##name(kql_ctx *ctx, const kql_val *a, uint32_t n) { return cast_checked(ctx, a[0], t); }
CAST_FN(todatetime, VG_T_DATETIME)
CAST_FN(totimespan, VG_T_TIMESPAN)
CAST_FN(tolong, VG_T_LONG)
CAST_FN(toint, VG_T_INT)
CAST_FN(todouble, VG_T_REAL)
CAST_FN(tobool, VG_T_BOOL)

KQL_FN_SIG(ago, VG_T_DATETIME, "t")
KQL_FN_SIG(now, VG_T_DATETIME, "t")
KQL_FN_SIG(startofday, VG_T_DATETIME, "dn")
KQL_FN_SIG(startofweek, VG_T_DATETIME, "dn")
KQL_FN_SIG(startofmonth, VG_T_DATETIME, "dn")
KQL_FN_SIG(startofyear, VG_T_DATETIME, "dn")
KQL_FN_SIG(endofday, VG_T_DATETIME, "dn")
KQL_FN_SIG(endofweek, VG_T_DATETIME, "dn")
KQL_FN_SIG(endofmonth, VG_T_DATETIME, "dn")
KQL_FN_SIG(endofyear, VG_T_DATETIME, "dn")
KQL_FN_SIG(dayofweek, VG_T_TIMESPAN, "d")
KQL_FN_SIG(dayofmonth, VG_T_INT, "d")
KQL_FN_SIG(dayofyear, VG_T_INT, "d")
KQL_FN_SIG(hourofday, VG_T_INT, "d")
KQL_FN_SIG(getmonth, VG_T_INT, "d")
KQL_FN_SIG(monthofyear, VG_T_INT, "d")
KQL_FN_SIG(getyear, VG_T_INT, "d")
KQL_FN_SIG(weekofyear, VG_T_INT, "d")
KQL_FN_SIG(week_of_year, VG_T_INT, "d")
KQL_FN_SIG(datetime_part, VG_T_INT, "sd")
KQL_FN_SIG(datetime_add, VG_T_DATETIME, "snd")
KQL_FN_SIG(datetime_diff, VG_T_LONG, "sdd")
KQL_FN_SIG(make_datetime, VG_T_DATETIME, "n")
KQL_FN_SIG(make_timespan, VG_T_TIMESPAN, "n")
KQL_FN_SIG(unixtime_seconds_todatetime, VG_T_DATETIME, "n")
KQL_FN_SIG(unixtime_milliseconds_todatetime, VG_T_DATETIME, "n")
KQL_FN_SIG(unixtime_microseconds_todatetime, VG_T_DATETIME, "n")
KQL_FN_SIG(unixtime_nanoseconds_todatetime, VG_T_DATETIME, "n")
KQL_FN_SIG(format_datetime, VG_T_STRING, "ds")
KQL_FN_SIG(format_timespan, VG_T_STRING, "ts")

const kql_fn_def kql_fn_time_defs[] = {
    KQL_FN_TYPED("ago", 1, 1, sig_ago, fn_ago, "ago(timespan): now() minus the timespan"),
    KQL_FN_TYPED("now", 0, 1, sig_now, fn_now, "now([offset]): the query's start time plus offset"),
    { .name = "bin", .min_args = 2, .max_args = 2, .ret = KQL_T_ANY, .typer = bin_type, .fn = fn_bin,
      .doc = "bin(value, roundTo): value rounded down to a multiple of roundTo (datetimes aligned on 0001-01-01)" },
    { .name = "bin_at", .min_args = 3, .max_args = 3, .ret = KQL_T_ANY, .typer = bin_at_type,
      .fn = fn_bin_at, .doc = "bin_at(value, roundTo, fixedPoint): bin aligned so that fixedPoint is a bin start" },
    KQL_FN_TYPED("startofday", 1, 2, sig_startofday, fn_startofday, "startofday(date[, offsetDays])"),
    KQL_FN_TYPED("startofweek", 1, 2, sig_startofweek, fn_startofweek, "startofweek(date[, offsetWeeks]): weeks start on Sunday"),
    KQL_FN_TYPED("startofmonth", 1, 2, sig_startofmonth, fn_startofmonth, "startofmonth(date[, offsetMonths])"),
    KQL_FN_TYPED("startofyear", 1, 2, sig_startofyear, fn_startofyear, "startofyear(date[, offsetYears])"),
    KQL_FN_TYPED("endofday", 1, 2, sig_endofday, fn_endofday, "endofday(date[, offsetDays]): last tick of the day"),
    KQL_FN_TYPED("endofweek", 1, 2, sig_endofweek, fn_endofweek, "endofweek(date[, offsetWeeks]): last tick of Saturday"),
    KQL_FN_TYPED("endofmonth", 1, 2, sig_endofmonth, fn_endofmonth, "endofmonth(date[, offsetMonths])"),
    KQL_FN_TYPED("endofyear", 1, 2, sig_endofyear, fn_endofyear, "endofyear(date[, offsetYears])"),
    KQL_FN_TYPED("dayofweek", 1, 1, sig_dayofweek, fn_dayofweek, "dayofweek(date): days since the preceding Sunday, as a timespan"),
    KQL_FN_TYPED("dayofmonth", 1, 1, sig_dayofmonth, fn_dayofmonth, "dayofmonth(date): 1..31"),
    KQL_FN_TYPED("dayofyear", 1, 1, sig_dayofyear, fn_dayofyear, "dayofyear(date): 1..366"),
    KQL_FN_TYPED("hourofday", 1, 1, sig_hourofday, fn_hourofday, "hourofday(date): 0..23"),
    KQL_FN_TYPED("getmonth", 1, 1, sig_getmonth, fn_getmonth, "getmonth(date): 1..12"),
    KQL_FN_TYPED("monthofyear", 1, 1, sig_monthofyear, fn_getmonth, "monthofyear(date): 1..12"),
    KQL_FN_TYPED("getyear", 1, 1, sig_getyear, fn_getyear, "getyear(date): the year"),
    KQL_FN_TYPED("weekofyear", 1, 1, sig_weekofyear, fn_weekofyear, "weekofyear(date): ISO 8601 week number"),
    KQL_FN_TYPED("week_of_year", 1, 1, sig_week_of_year, fn_weekofyear, "week_of_year(date): ISO 8601 week number"),
    KQL_FN_TYPED("datetime_part", 2, 2, sig_datetime_part, fn_datetime_part,
      "datetime_part(part, date): Year, Quarter, Month, week_of_year, Day, DayOfYear, Hour, Minute, Second, Millisecond, Microsecond, Nanosecond"),
    KQL_FN_TYPED("datetime_add", 3, 3, sig_datetime_add, fn_datetime_add,
      "datetime_add(part, amount, date): calendar arithmetic (months clamp to the month's last day)"),
    KQL_FN_TYPED("datetime_diff", 3, 3, sig_datetime_diff, fn_datetime_diff,
      "datetime_diff(part, date1, date2): number of part boundaries between date2 and date1"),
    { .name = "format_datetime", .min_args = 2, .max_args = 2, .ret = KQL_T_ANY, .typer = sig_format_datetime,
      .fn = fn_format_datetime,
      .doc = "format_datetime(date, format): yyyy, yy, MM, M, dd, d, HH, H, hh, h, mm, m, ss, s, f..fffffff, F..FFFFFFF, tt" },
    { .name = "format_timespan", .min_args = 2, .max_args = 2, .ret = KQL_T_ANY, .typer = sig_format_timespan,
      .fn = fn_format_timespan,
      .doc = "format_timespan(timespan, format): d..dddddddd, hh, h, mm, m, ss, s, f..fffffff, F..FFFFFFF" },
    KQL_FN_TYPED("make_datetime", 3, 6, sig_make_datetime, fn_make_datetime,
      "make_datetime(year, month, day[, hour, minute, second])"),
    KQL_FN_TYPED("make_timespan", 2, 4, sig_make_timespan, fn_make_timespan,
      "make_timespan(hour, minute[, second]) or make_timespan(day, hour, minute, second)"),
    KQL_FN_TYPED("unixtime_seconds_todatetime", 1, 1, sig_unixtime_seconds_todatetime, fn_unix_s, "unixtime_seconds_todatetime(seconds)"),
    KQL_FN_TYPED("unixtime_milliseconds_todatetime", 1, 1, sig_unixtime_milliseconds_todatetime, fn_unix_ms, "unixtime_milliseconds_todatetime(ms)"),
    KQL_FN_TYPED("unixtime_microseconds_todatetime", 1, 1, sig_unixtime_microseconds_todatetime, fn_unix_us, "unixtime_microseconds_todatetime(us)"),
    KQL_FN_TYPED("unixtime_nanoseconds_todatetime", 1, 1, sig_unixtime_nanoseconds_todatetime, fn_unix_ns, "unixtime_nanoseconds_todatetime(ns)"),
    KQL_FN_ROW("todatetime", 1, 1, VG_T_DATETIME, fn_todatetime, "todatetime(value): null when it does not convert"),
    KQL_FN_ROW("totimespan", 1, 1, VG_T_TIMESPAN, fn_totimespan, "totimespan(value): null when it does not convert"),
    KQL_FN_ROW("tolong", 1, 1, VG_T_LONG, fn_tolong, "tolong(value): null when it does not convert"),
    KQL_FN_ROW("toint", 1, 1, VG_T_INT, fn_toint, "toint(value): null when it does not convert"),
    KQL_FN_ROW("todouble", 1, 1, VG_T_REAL, fn_todouble, "todouble(value): null when it does not convert"),
    KQL_FN_ROW("todecimal", 1, 1, VG_T_REAL, fn_todouble, "todecimal(value): as todouble (Vigil has no decimal type)"),
    KQL_FN_ROW("tobool", 1, 1, VG_T_BOOL, fn_tobool, "tobool(value): null when it does not convert"),
};
const size_t kql_fn_time_ndefs = sizeof kql_fn_time_defs / sizeof kql_fn_time_defs[0];
