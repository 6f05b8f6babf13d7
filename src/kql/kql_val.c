/*
 * kql_val.c - the executor's scalar values: Kusto's text rendering of every
 * type (tostring, JSON output), the conversions of tolong/todouble/tobool/
 * todatetime/totimespan/tostring, equality, ordering and hashing, dynamic
 * values built as vg_json trees in an arena, and column accessors.
 *
 * Formats follow Kusto (and .NET underneath it): datetimes ISO-8601 with the
 * fraction's trailing zeros trimmed, timespans "[-][d.]hh:mm:ss[.fffffff]",
 * reals as the shortest text that reads back to the same double, switching
 * to "1E+15" notation from exponent 15 up or below -4 as .NET's "R" does.
 */
#include "kql/kql_val.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vg_map.h"

/* Ticks between 0001-01-01 and the Unix epoch: tolong(datetime) counts from
 * 0001-01-01 as .NET's DateTime.Ticks does. */
#define KQL_TICKS_0001 (-VG_TIME_MIN)

/* ---- text ---- */

/* Shortest round-trip text of a double, .NET style; returns its length. */
static size_t real_text(double r, char *out, size_t cap)
{
    if (isnan(r))
        return (size_t)snprintf(out, cap, "NaN");
    if (isinf(r))
        return (size_t)snprintf(out, cap, r < 0 ? "-Infinity" : "Infinity");
    if (r == 0)
        return (size_t)snprintf(out, cap, "0");
    char e[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, r);
        if (strtod(e, NULL) == r)
            break;
    }
    /* e is "[-]d[.ddd]e[+-]XX" */
    char digits[24];
    size_t nd = 0;
    const char *q = e;
    bool neg = false;
    if (*q == '-') {
        neg = true;
        q++;
    }
    for (; *q && *q != 'e' && nd < sizeof digits - 1; q++)
        if (*q >= '0' && *q <= '9')
            digits[nd++] = *q;
    int ex = 0;
    if (*q == 'e')
        ex = (int)strtol(q + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    char t[64];
    size_t n = 0;
    if (neg)
        t[n++] = '-';
    if (ex >= 15 || ex < -4) {
        t[n++] = digits[0];
        if (nd > 1) {
            t[n++] = '.';
            memcpy(t + n, digits + 1, nd - 1);
            n += nd - 1;
        }
        n += (size_t)snprintf(t + n, sizeof t - n, "E%c%02d", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    } else if (ex >= 0) {
        for (int i = 0; i <= ex; i++)
            t[n++] = (size_t)i < nd ? digits[i] : '0';
        if (nd > (size_t)ex + 1) {
            t[n++] = '.';
            memcpy(t + n, digits + ex + 1, nd - (size_t)ex - 1);
            n += nd - (size_t)ex - 1;
        }
    } else {
        t[n++] = '0';
        t[n++] = '.';
        for (int i = 0; i < -ex - 1; i++)
            t[n++] = '0';
        memcpy(t + n, digits, nd);
        n += nd;
    }
    t[n] = '\0';
    return (size_t)snprintf(out, cap, "%s", t);
}

static size_t datetime_text(vg_time t, char *buf, size_t cap)
{
    char tmp[VG_TIME_BUFSZ];
    size_t n = vg_time_format(t, tmp, sizeof tmp);
    /* "....:ss.fffffffZ": trim the fraction's trailing zeros, and the dot */
    if (n >= 10 && tmp[n - 1] == 'Z' && tmp[n - 9] == '.') {
        size_t end = n - 1;
        while (end > n - 9 && tmp[end - 1] == '0')
            end--;
        if (end == n - 8)
            end--;   /* only the dot is left */
        tmp[end] = 'Z';
        n = end + 1;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return n;
}

void kql_timespan_text(vg_buf *b, int64_t ticks)
{
    uint64_t u = ticks < 0 ? (uint64_t)0 - (uint64_t)ticks : (uint64_t)ticks;
    uint64_t frac = u % (uint64_t)VG_TICKS_PER_SEC;
    uint64_t secs = u / (uint64_t)VG_TICKS_PER_SEC;
    uint64_t days = secs / 86400;
    secs %= 86400;
    char t[64];
    int n = snprintf(t, sizeof t, "%s", ticks < 0 ? "-" : "");
    if (days)
        n += snprintf(t + n, sizeof t - (size_t)n, "%llu.", (unsigned long long)days);
    n += snprintf(t + n, sizeof t - (size_t)n, "%02u:%02u:%02u", (unsigned)(secs / 3600),
                  (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
    if (frac)
        n += snprintf(t + n, sizeof t - (size_t)n, ".%07u", (unsigned)frac);
    vg_buf_put(b, t, (size_t)n);
}

void kql_val_text(vg_buf *b, kql_val v)
{
    if (v.t == VG_T_STRING) {
        if (v.u.s.n)
            vg_buf_putstr(b, v.u.s);
        return;
    }
    if (v.null)
        return;
    char t[64];
    size_t n;
    switch (v.t) {
    case VG_T_BOOL: vg_buf_puts(b, v.u.i ? "true" : "false"); break;
    case VG_T_INT:
    case VG_T_LONG:
        n = (size_t)snprintf(t, sizeof t, "%lld", (long long)v.u.i);
        vg_buf_put(b, t, n);
        break;
    case VG_T_REAL:
        n = real_text(v.u.r, t, sizeof t);
        vg_buf_put(b, t, n);
        break;
    case VG_T_DATETIME:
        n = datetime_text(v.u.i, t, sizeof t);
        vg_buf_put(b, t, n);
        break;
    case VG_T_TIMESPAN: kql_timespan_text(b, v.u.i); break;
    case VG_T_DYNAMIC:
        if (v.u.d->kind == VG_JSON_STRING) {
            vg_buf_putstr(b, v.u.d->str);
        } else if (v.u.d->kind == VG_JSON_NUMBER) {
            /* a real's JSON text ("1.50") prints as Kusto prints the real ("1.5") */
            kql_val sc = kql_dyn_scalar(v.u.d);
            if (sc.t == VG_T_REAL && !sc.null)
                kql_val_text(b, sc);
            else
                vg_buf_putstr(b, v.u.d->str);
        } else {
            vg_json_write(b, v.u.d);
        }
        break;
    default: break;
    }
}

vg_str kql_to_string(vg_arena *a, kql_val v)
{
    if (v.t == VG_T_STRING)
        return v.u.s;
    if (v.null)
        return VG_STR_LIT("");
    char t[64];
    size_t n;
    switch (v.t) {
    case VG_T_BOOL: return v.u.i ? VG_STR_LIT("true") : VG_STR_LIT("false");
    case VG_T_INT:
    case VG_T_LONG: n = (size_t)snprintf(t, sizeof t, "%lld", (long long)v.u.i); break;
    case VG_T_REAL: n = real_text(v.u.r, t, sizeof t); break;
    case VG_T_DATETIME: n = datetime_text(v.u.i, t, sizeof t); break;
    case VG_T_DYNAMIC:
        if (v.u.d->kind == VG_JSON_STRING)
            return v.u.d->str;
        if (v.u.d->kind == VG_JSON_NUMBER) {
            kql_val sc = kql_dyn_scalar(v.u.d);
            if (sc.t == VG_T_REAL && !sc.null)
                return kql_to_string(a, sc);
            return v.u.d->str;
        }
        if (v.u.d->kind == VG_JSON_TRUE)
            return VG_STR_LIT("true");
        if (v.u.d->kind == VG_JSON_FALSE)
            return VG_STR_LIT("false");
        /* containers go through a buffer */
        __attribute__((fallthrough));
    default: {
        vg_buf b;
        vg_buf_init(&b, 0);
        kql_val_text(&b, v);
        vg_str s = b.failed ? VG_STR_LIT("") : vg_str_dup(a, vg_str_make(b.p ? b.p : "", b.n));
        vg_buf_free(&b);
        return s.p ? s : VG_STR_LIT("");
    }
    }
    vg_str s = vg_str_dup(a, vg_str_make(t, n));
    return s.p ? s : VG_STR_LIT("");
}

void kql_val_json(vg_buf *b, kql_val v)
{
    if (v.t != VG_T_STRING && v.null) {
        vg_buf_puts(b, "null");
        return;
    }
    char t[64];
    size_t n;
    switch (v.t) {
    case VG_T_BOOL: vg_buf_puts(b, v.u.i ? "true" : "false"); break;
    case VG_T_INT:
    case VG_T_LONG:
        n = (size_t)snprintf(t, sizeof t, "%lld", (long long)v.u.i);
        vg_buf_put(b, t, n);
        break;
    case VG_T_REAL:
        n = real_text(v.u.r, t, sizeof t);
        if (isfinite(v.u.r)) {
            vg_buf_put(b, t, n);
        } else {
            /* JSON has no NaN/Infinity: Kusto's serializers write them as strings */
            vg_buf_put_json_str(b, vg_str_make(t, n));
        }
        break;
    case VG_T_DATETIME:
        n = datetime_text(v.u.i, t, sizeof t);
        vg_buf_put_json_str(b, vg_str_make(t, n));
        break;
    case VG_T_TIMESPAN: {
        vg_buf tb;
        vg_buf_init(&tb, 0);
        kql_timespan_text(&tb, v.u.i);
        vg_buf_put_json_str(b, vg_str_make(tb.p ? tb.p : "", tb.n));
        vg_buf_free(&tb);
        break;
    }
    case VG_T_STRING: vg_buf_put_json_str(b, v.u.s); break;
    case VG_T_DYNAMIC: vg_json_write(b, v.u.d); break;
    default: vg_buf_puts(b, "null"); break;
    }
}

/* ---- timespan parsing ---- */

static const struct {
    const char *u;
    int64_t ticks;
} ts_units[] = {
    { "d", VG_TICKS_PER_DAY }, { "day", VG_TICKS_PER_DAY }, { "days", VG_TICKS_PER_DAY },
    { "h", 3600 * VG_TICKS_PER_SEC }, { "hr", 3600 * VG_TICKS_PER_SEC },
    { "hrs", 3600 * VG_TICKS_PER_SEC }, { "hour", 3600 * VG_TICKS_PER_SEC },
    { "hours", 3600 * VG_TICKS_PER_SEC }, { "m", 60 * VG_TICKS_PER_SEC },
    { "min", 60 * VG_TICKS_PER_SEC }, { "minute", 60 * VG_TICKS_PER_SEC },
    { "minutes", 60 * VG_TICKS_PER_SEC }, { "s", VG_TICKS_PER_SEC }, { "sec", VG_TICKS_PER_SEC },
    { "second", VG_TICKS_PER_SEC }, { "seconds", VG_TICKS_PER_SEC }, { "ms", VG_TICKS_PER_MS },
    { "milli", VG_TICKS_PER_MS }, { "millis", VG_TICKS_PER_MS },
    { "millisecond", VG_TICKS_PER_MS }, { "milliseconds", VG_TICKS_PER_MS },
    { "microsecond", 10 }, { "microseconds", 10 }, { "tick", 1 }, { "ticks", 1 },
};

/* Unsigned decimal run at s[*i]; false when there is none or it overflows. */
static bool ts_num(vg_str s, size_t *i, int64_t *out, size_t *ndig)
{
    int64_t v = 0;
    size_t start = *i;
    while (*i < s.n && s.p[*i] >= '0' && s.p[*i] <= '9') {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (s.p[*i] - '0');
        (*i)++;
    }
    *out = v;
    if (ndig)
        *ndig = *i - start;
    return *i > start;
}

bool kql_parse_timespan(vg_str s, int64_t *ticks)
{
    s = vg_str_trim(s);
    bool neg = false;
    size_t i = 0;
    if (s.n && (s.p[0] == '-' || s.p[0] == '+')) {
        neg = s.p[0] == '-';
        i = 1;
    }
    if (i >= s.n)
        return false;
    bool colon = memchr(s.p, ':', s.n) != NULL;
    int64_t total;
    if (colon) {
        /* [d.]hh:mm[:ss[.fffffff]] */
        int64_t a, days = 0, h, m, sec = 0, frac = 0;
        if (!ts_num(s, &i, &a, NULL))
            return false;
        if (i < s.n && s.p[i] == '.') {
            days = a;
            i++;
            if (!ts_num(s, &i, &h, NULL))
                return false;
        } else {
            h = a;
        }
        if (i >= s.n || s.p[i] != ':')
            return false;
        i++;
        if (!ts_num(s, &i, &m, NULL))
            return false;
        if (i < s.n && s.p[i] == ':') {
            i++;
            if (!ts_num(s, &i, &sec, NULL))
                return false;
            if (i < s.n && s.p[i] == '.') {
                i++;
                size_t nd = 0;
                int64_t f = 0;
                while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') {
                    if (nd < 7) {
                        f = f * 10 + (s.p[i] - '0');
                        nd++;
                    }
                    i++;
                }
                if (nd == 0)
                    return false;
                for (; nd < 7; nd++)
                    f *= 10;
                frac = f;
            }
        }
        if (i != s.n || h > 23 || m > 59 || sec > 59 || days > 10675199)
            return false;
        total = ((days * 24 + h) * 60 + m) * 60 * VG_TICKS_PER_SEC + sec * VG_TICKS_PER_SEC + frac;
    } else {
        /* number with an optional unit (a bare number counts days) */
        size_t j = i;
        while (j < s.n && ((s.p[j] >= '0' && s.p[j] <= '9') || s.p[j] == '.'))
            j++;
        if (j == i)
            return false;
        vg_str num = vg_str_make(s.p + i, j - i);
        vg_str unit = vg_str_make(s.p + j, s.n - j);
        int64_t per = 0;
        if (unit.n == 0) {
            per = VG_TICKS_PER_DAY;
        } else {
            for (size_t k = 0; k < sizeof ts_units / sizeof ts_units[0]; k++)
                if (vg_str_eqc_ci(unit, ts_units[k].u)) {
                    per = ts_units[k].ticks;
                    break;
                }
        }
        if (!per)
            return false;
        int64_t iv;
        if (vg_str_to_i64(num, &iv) == VG_OK) {
            if (iv > INT64_MAX / per)
                return false;
            total = iv * per;
        } else {
            double d;
            if (vg_str_to_double(num, &d) != VG_OK || !(d * (double)per < 9.2e18))
                return false;
            total = (int64_t)llround(d * (double)per);
        }
    }
    *ticks = neg ? -total : total;
    return true;
}

/* ---- dynamic values ---- */

/* A container built here: the node and the room its kids array has. */
typedef struct kql_dyn_box {
    vg_json j;
    uint32_t cap;
} kql_dyn_box;

static vg_json *dyn_node(vg_arena *a, vg_json_kind k, vg_str s)
{
    vg_json *j = vg_arena_zalloc(a, sizeof *j);
    if (!j)
        return NULL;
    j->kind = k;
    j->str = s;
    return j;
}

static const vg_json dyn_null_node = { .kind = VG_JSON_NULL };
static const vg_json dyn_true_node = { .kind = VG_JSON_TRUE };
static const vg_json dyn_false_node = { .kind = VG_JSON_FALSE };

const vg_json *kql_dyn_from(vg_arena *a, kql_val v)
{
    if (v.t == VG_T_DYNAMIC)
        return v.u.d ? v.u.d : &dyn_null_node;
    if (v.null)
        return &dyn_null_node;
    switch (v.t) {
    case VG_T_BOOL: return v.u.i ? &dyn_true_node : &dyn_false_node;
    case VG_T_INT:
    case VG_T_LONG: return dyn_node(a, VG_JSON_NUMBER, kql_to_string(a, v));
    case VG_T_REAL:
        if (!isfinite(v.u.r))
            return dyn_node(a, VG_JSON_STRING, kql_to_string(a, v));
        return dyn_node(a, VG_JSON_NUMBER, kql_to_string(a, v));
    case VG_T_STRING: return dyn_node(a, VG_JSON_STRING, v.u.s);
    default: return dyn_node(a, VG_JSON_STRING, kql_to_string(a, v));
    }
}

static vg_json *dyn_container(vg_arena *a, vg_json_kind k, uint32_t cap)
{
    kql_dyn_box *b = vg_arena_zalloc(a, sizeof *b);
    if (!b)
        return NULL;
    b->j.kind = k;
    b->cap = cap;
    if (cap) {
        b->j.kids = vg_arena_alloc(a, (size_t)cap * sizeof *b->j.kids);
        if (!b->j.kids)
            return NULL;
    }
    return &b->j;
}

vg_json *kql_dyn_array(vg_arena *a, uint32_t cap) { return dyn_container(a, VG_JSON_ARRAY, cap); }
vg_json *kql_dyn_bag(vg_arena *a, uint32_t cap) { return dyn_container(a, VG_JSON_OBJECT, cap); }

bool kql_dyn_push(vg_json *container, const vg_json *el)
{
    /* only containers made by kql_dyn_array/kql_dyn_bag (they carry cap) */
    if (!container || !el)
        return false;
    kql_dyn_box *b = (kql_dyn_box *)container;
    if (container->n >= b->cap)
        return false;
    container->kids[container->n++] = (vg_json *)el;
    return true;
}

bool kql_dyn_put(vg_arena *a, vg_json *bag, vg_str key, const vg_json *el)
{
    if (!bag || bag->kind != VG_JSON_OBJECT)
        return false;
    vg_json *m = vg_arena_alloc(a, sizeof *m);
    if (!m)
        return false;
    *m = el ? *el : dyn_null_node;
    m->key = vg_str_dup(a, key);
    if (!m->key.p)
        return false;
    /* a key already present is replaced, as in a property bag */
    for (uint32_t i = 0; i < bag->n; i++)
        if (vg_str_eq(bag->kids[i]->key, key)) {
            bag->kids[i] = m;
            return true;
        }
    return kql_dyn_push(bag, m);
}

kql_val kql_dyn_scalar(const vg_json *d)
{
    if (!d)
        return kql_null(VG_T_DYNAMIC);
    switch (d->kind) {
    case VG_JSON_NULL: return kql_null(VG_T_DYNAMIC);
    case VG_JSON_TRUE: return kql_bool(true);
    case VG_JSON_FALSE: return kql_bool(false);
    case VG_JSON_STRING: return kql_string(d->str);
    case VG_JSON_NUMBER: {
        int64_t i;
        if (vg_str_to_i64(d->str, &i) == VG_OK)
            return kql_long(i);
        double r;
        if (vg_str_to_double(d->str, &r) == VG_OK)
            return kql_real(r);
        return kql_null(VG_T_REAL);
    }
    default: return kql_dynamic(d);
    }
}

const vg_json *kql_dyn_parse(vg_arena *a, vg_str text)
{
    vg_json *j = NULL;
    vg_diag d;
    if (vg_json_parse(a, text, &j, &d) == VG_OK && j)
        return j;
    return dyn_node(a, VG_JSON_STRING, text);
}

const vg_json *kql_dyn_index(const vg_json *d, int64_t i)
{
    if (!d || d->kind != VG_JSON_ARRAY)
        return NULL;
    if (i < 0)
        i += d->n;
    if (i < 0 || i >= (int64_t)d->n)
        return NULL;
    return d->kids[i];
}

const vg_json *kql_dyn_member(const vg_json *d, vg_str key)
{
    if (!d || d->kind != VG_JSON_OBJECT)
        return NULL;
    for (uint32_t i = 0; i < d->n; i++)
        if (vg_str_eq(d->kids[i]->key, key))
            return d->kids[i];
    return NULL;
}

/* ---- casts ---- */

static bool str_to_long(vg_str s, int64_t *out)
{
    s = vg_str_trim(s);
    if (s.n && s.p[0] == '+')
        s = vg_str_make(s.p + 1, s.n - 1);
    if (vg_str_to_i64(s, out) == VG_OK)
        return true;
    /* "0x1F" hex, as Kusto's tolong accepts */
    uint64_t u;
    if (s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X') &&
        vg_str_to_hex_u64(s, &u) == VG_OK && u <= INT64_MAX) {
        *out = (int64_t)u;
        return true;
    }
    return false;
}

static bool str_to_real(vg_str s, double *out)
{
    s = vg_str_trim(s);
    if (vg_str_eqc_ci(s, "nan")) {
        *out = NAN;
        return true;
    }
    if (vg_str_eqc_ci(s, "infinity") || vg_str_eqc_ci(s, "+infinity")) {
        *out = INFINITY;
        return true;
    }
    if (vg_str_eqc_ci(s, "-infinity")) {
        *out = -INFINITY;
        return true;
    }
    /* reject strtod's extras (hex floats, "inf", "nan(...)") */
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return false;
    }
    return vg_str_to_double(s, out) == VG_OK;
}

/* RFC 822 / RFC 850 dates, which todatetime accepts besides ISO 8601:
 * "Sat, 8 Nov 2014 15:05:02 GMT", "Saturday, 08-Nov-14 15:05:02 GMT",
 * "8 Nov 14 15:05 +0200". */
static bool parse_rfc_date(vg_str s, vg_time *out)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    static const struct { const char *z; int min; } zones[] = {
        { "gmt", 0 }, { "ut", 0 }, { "utc", 0 }, { "z", 0 }, { "est", -300 }, { "edt", -240 },
        { "cst", -360 }, { "cdt", -300 }, { "mst", -420 }, { "mdt", -360 }, { "pst", -480 },
        { "pdt", -420 },
    };
    size_t i = 0;
    s = vg_str_trim(s);
    /* optional weekday and comma */
    size_t w = 0;
    while (w < s.n && ((s.p[w] | 0x20) >= 'a' && (s.p[w] | 0x20) <= 'z'))
        w++;
    if (w && w < s.n && s.p[w] == ',') {
        i = w + 1;
        while (i < s.n && s.p[i] == ' ')
            i++;
    }
    int64_t day, year, h, mi, sec = 0;
    size_t nd;
    if (!ts_num(s, &i, &day, &nd) || nd > 2 || i >= s.n || (s.p[i] != ' ' && s.p[i] != '-'))
        return false;
    i++;
    if (i + 3 > s.n)
        return false;
    int mon = 0;
    for (int m = 0; m < 12; m++)
        if ((s.p[i] | 0x20) == months[3 * m] && (s.p[i + 1] | 0x20) == months[3 * m + 1] &&
            (s.p[i + 2] | 0x20) == months[3 * m + 2])
            mon = m + 1;
    if (!mon)
        return false;
    i += 3;
    while (i < s.n && ((s.p[i] | 0x20) >= 'a' && (s.p[i] | 0x20) <= 'z'))
        i++;
    if (i >= s.n || (s.p[i] != ' ' && s.p[i] != '-'))
        return false;
    i++;
    if (!ts_num(s, &i, &year, &nd) || (nd != 2 && nd != 4))
        return false;
    if (nd == 2)
        year += year < 50 ? 2000 : 1900;
    if (i >= s.n || s.p[i] != ' ')
        return false;
    i++;
    if (!ts_num(s, &i, &h, NULL) || i >= s.n || s.p[i] != ':')
        return false;
    i++;
    if (!ts_num(s, &i, &mi, NULL))
        return false;
    if (i < s.n && s.p[i] == ':') {
        i++;
        if (!ts_num(s, &i, &sec, NULL))
            return false;
    }
    int offset = 0;
    while (i < s.n && s.p[i] == ' ')
        i++;
    if (i < s.n) {
        vg_str z = vg_str_make(s.p + i, s.n - i);
        bool found = false;
        for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++)
            if (vg_str_eqc_ci(z, zones[k].z)) {
                offset = zones[k].min;
                found = true;
            }
        if (!found) {
            if (z.n != 5 || (z.p[0] != '+' && z.p[0] != '-'))
                return false;
            int64_t hhmm;
            size_t j = 1;
            if (!ts_num(z, &j, &hhmm, &nd) || nd != 4 || j != z.n)
                return false;
            offset = (int)(hhmm / 100 * 60 + hhmm % 100) * (z.p[0] == '-' ? -1 : 1);
        }
    }
    if (day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60 || year < 1 || year > 9999)
        return false;
    *out = vg_time_from_civil((int)year, mon, (int)day, (int)h, (int)mi, (int)sec, 0) -
           (int64_t)offset * 60 * VG_TICKS_PER_SEC;
    return true;
}

static bool real_to_long(double r, int64_t *out)
{
    if (!isfinite(r) || r >= 9223372036854775808.0 || r < -9223372036854775808.0)
        return false;
    *out = (int64_t)r;   /* truncation toward zero, as tolong(1.9) == 1 */
    return true;
}

kql_val kql_cast(vg_arena *a, kql_val v, vg_type to)
{
    if (v.t == to)
        return v;
    if (to == VG_T_STRING) {
        if (!a && v.t != VG_T_STRING)
            return kql_string(VG_STR_LIT(""));
        return kql_string(kql_to_string(a, v));
    }
    if (to == VG_T_DYNAMIC) {
        if (v.t == VG_T_STRING)
            return a ? kql_dynamic(kql_dyn_parse(a, v.u.s)) : kql_null(VG_T_DYNAMIC);
        if (v.null)
            return kql_null(VG_T_DYNAMIC);
        return a ? kql_dynamic(kql_dyn_from(a, v)) : kql_null(VG_T_DYNAMIC);
    }
    if (v.t == VG_T_DYNAMIC) {
        if (v.null)
            return kql_null(to);
        kql_val s = kql_dyn_scalar(v.u.d);
        if (s.t == VG_T_DYNAMIC)
            return kql_null(to);   /* arrays and bags convert to nothing */
        return kql_cast(a, s, to);
    }
    if (v.null)
        return kql_null(to);
    int64_t i;
    double r;
    switch (to) {
    case VG_T_LONG:
    case VG_T_INT:
        switch (v.t) {
        case VG_T_BOOL:
        case VG_T_INT:
        case VG_T_LONG:
        case VG_T_TIMESPAN: i = v.u.i; break;
        case VG_T_DATETIME: i = v.u.i + KQL_TICKS_0001; break;
        case VG_T_REAL:
            if (!real_to_long(v.u.r, &i))
                return kql_null(to);
            break;
        case VG_T_STRING:
            if (!str_to_long(v.u.s, &i)) {
                /* "1.5" converts through a real, as Kusto does */
                if (!str_to_real(v.u.s, &r) || !real_to_long(r, &i))
                    return kql_null(to);
            }
            break;
        default: return kql_null(to);
        }
        if (to == VG_T_INT)
            return (i >= INT32_MIN && i <= INT32_MAX) ? kql_int(i) : kql_null(VG_T_INT);
        return kql_long(i);
    case VG_T_REAL:
        switch (v.t) {
        case VG_T_BOOL:
        case VG_T_INT:
        case VG_T_LONG:
        case VG_T_TIMESPAN: return kql_real((double)v.u.i);
        case VG_T_DATETIME: return kql_real((double)(v.u.i + KQL_TICKS_0001));
        case VG_T_STRING: return str_to_real(v.u.s, &r) ? kql_real(r) : kql_null(VG_T_REAL);
        default: return kql_null(to);
        }
    case VG_T_BOOL:
        switch (v.t) {
        case VG_T_INT:
        case VG_T_LONG: return kql_bool(v.u.i != 0);
        case VG_T_REAL: return isnan(v.u.r) ? kql_null(VG_T_BOOL) : kql_bool(v.u.r != 0);
        case VG_T_STRING: {
            vg_str s = vg_str_trim(v.u.s);
            if (vg_str_eqc_ci(s, "true"))
                return kql_bool(true);
            if (vg_str_eqc_ci(s, "false"))
                return kql_bool(false);
            if (str_to_long(s, &i))
                return kql_bool(i != 0);
            return kql_null(VG_T_BOOL);
        }
        default: return kql_null(to);
        }
    case VG_T_DATETIME:
        switch (v.t) {
        case VG_T_STRING: {
            vg_time t;
            if ((vg_time_parse_any(v.u.s, &t) == VG_OK || parse_rfc_date(v.u.s, &t)) &&
                t >= VG_TIME_MIN && t <= VG_TIME_MAX)
                return kql_datetime(t);
            return kql_null(to);
        }
        case VG_T_INT:
        case VG_T_LONG:
            /* ticks since 0001-01-01, the inverse of tolong(datetime) */
            if (v.u.i < 0 || v.u.i > VG_TIME_MAX + KQL_TICKS_0001)
                return kql_null(to);
            return kql_datetime(v.u.i - KQL_TICKS_0001);
        default: return kql_null(to);
        }
    case VG_T_TIMESPAN:
        switch (v.t) {
        case VG_T_STRING: {
            int64_t t;
            return kql_parse_timespan(v.u.s, &t) ? kql_timespan(t) : kql_null(to);
        }
        case VG_T_INT:
        case VG_T_LONG: return kql_timespan(v.u.i);
        case VG_T_REAL:
            return real_to_long(v.u.r, &i) ? kql_timespan(i) : kql_null(to);
        default: return kql_null(to);
        }
    default: return kql_null(to);
    }
}

/* ---- equality, order, hash ---- */

/* A dynamic scalar read as its natural type; containers stay dynamic. */
static kql_val unwrap(kql_val v)
{
    if (v.t == VG_T_DYNAMIC && !v.null && v.u.d->kind != VG_JSON_ARRAY &&
        v.u.d->kind != VG_JSON_OBJECT)
        return kql_dyn_scalar(v.u.d);
    return v;
}

static bool json_text_eq(const vg_json *a, const vg_json *b)
{
    vg_buf x, y;
    vg_buf_init(&x, 0);
    vg_buf_init(&y, 0);
    vg_json_write(&x, a);
    vg_json_write(&y, b);
    bool eq = !x.failed && !y.failed && x.n == y.n && (x.n == 0 || memcmp(x.p, y.p, x.n) == 0);
    vg_buf_free(&x);
    vg_buf_free(&y);
    return eq;
}

/* Compares a long and a double exactly: <0, 0, >0. */
static int cmp_long_real(int64_t i, double r)
{
    if (isnan(r))
        return 1;   /* NaN orders first among reals */
    if (r >= 9223372036854775808.0)
        return -1;
    if (r < -9223372036854775808.0)
        return 1;
    double fl = floor(r);
    int64_t ri = (int64_t)fl;
    if (i != ri)
        return i < ri ? -1 : 1;
    return fl == r ? 0 : -1;
}

bool kql_val_eq(kql_val a, kql_val b)
{
    a = unwrap(a);
    b = unwrap(b);
    if (a.null || b.null)
        return false;
    if (kql_type_numeric(a.t) && kql_type_numeric(b.t)) {
        if (a.t != VG_T_REAL && b.t != VG_T_REAL)
            return a.u.i == b.u.i;
        if (a.t == VG_T_REAL && b.t == VG_T_REAL)
            return a.u.r == b.u.r;
        return a.t == VG_T_REAL ? cmp_long_real(b.u.i, a.u.r) == 0 : cmp_long_real(a.u.i, b.u.r) == 0;
    }
    if (a.t != b.t)
        return false;
    switch (a.t) {
    case VG_T_BOOL:
    case VG_T_DATETIME:
    case VG_T_TIMESPAN: return a.u.i == b.u.i;
    case VG_T_STRING: return vg_str_eq(a.u.s, b.u.s);
    case VG_T_DYNAMIC: return json_text_eq(a.u.d, b.u.d);
    default: return false;
    }
}

static int order_class(vg_type t)
{
    return kql_type_numeric(t) ? VG_T_LONG : (int)t;
}

int kql_val_cmp(kql_val a, kql_val b)
{
    a = unwrap(a);
    b = unwrap(b);
    if (a.null || b.null)
        return a.null && b.null ? 0 : a.null ? -1 : 1;
    int ca = order_class(a.t), cb = order_class(b.t);
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (kql_type_numeric(a.t)) {
        if (a.t != VG_T_REAL && b.t != VG_T_REAL)
            return a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
        if (a.t == VG_T_REAL && b.t == VG_T_REAL) {
            if (isnan(a.u.r) || isnan(b.u.r))
                return isnan(a.u.r) && isnan(b.u.r) ? 0 : isnan(a.u.r) ? -1 : 1;
            return a.u.r < b.u.r ? -1 : a.u.r > b.u.r;
        }
        return a.t == VG_T_REAL ? -cmp_long_real(b.u.i, a.u.r) : cmp_long_real(a.u.i, b.u.r);
    }
    switch (a.t) {
    case VG_T_BOOL:
    case VG_T_DATETIME:
    case VG_T_TIMESPAN: return a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
    case VG_T_STRING: {
        int c = vg_str_cmp(a.u.s, b.u.s);
        return c < 0 ? -1 : c > 0;
    }
    case VG_T_DYNAMIC: {
        vg_buf x, y;
        vg_buf_init(&x, 0);
        vg_buf_init(&y, 0);
        vg_json_write(&x, a.u.d);
        vg_json_write(&y, b.u.d);
        int c = vg_str_cmp(vg_str_make(x.p ? x.p : "", x.n), vg_str_make(y.p ? y.p : "", y.n));
        vg_buf_free(&x);
        vg_buf_free(&y);
        return c < 0 ? -1 : c > 0;
    }
    default: return 0;
    }
}

uint64_t kql_val_hash(kql_val v)
{
    v = unwrap(v);
    if (v.null)
        return 0x9e3779b97f4a7c15ULL ^ (uint64_t)v.t;
    int64_t i;
    switch (v.t) {
    case VG_T_INT:
    case VG_T_LONG:
        i = v.u.i;
        return vg_hash(&i, sizeof i);
    case VG_T_REAL: {
        double r = v.u.r;
        if (r == floor(r) && r >= -9223372036854775808.0 && r < 9223372036854775808.0) {
            i = (int64_t)r;   /* equal to a long: hash as that long */
            return vg_hash(&i, sizeof i);
        }
        return vg_hash(&r, sizeof r);
    }
    case VG_T_BOOL:
    case VG_T_DATETIME:
    case VG_T_TIMESPAN: {
        int64_t k[2] = { v.u.i, (int64_t)v.t };
        return vg_hash(k, sizeof k);
    }
    case VG_T_STRING: return vg_hash(v.u.s.p ? v.u.s.p : "", v.u.s.n);
    case VG_T_DYNAMIC: {
        vg_buf x;
        vg_buf_init(&x, 0);
        vg_json_write(&x, v.u.d);
        uint64_t h = vg_hash(x.p ? x.p : "", x.n) ^ 0x5bd1e995ULL;
        vg_buf_free(&x);
        return h;
    }
    default: return 0;
    }
}

/* ---- columns ---- */

static inline bool col_valid(const kql_col *c, uint32_t r)
{
    return !c->valid || (c->valid[r >> 6] >> (r & 63) & 1);
}

kql_val kql_col_get(const kql_col *c, uint32_t r)
{
    if (r >= c->n)
        return kql_null(c->type);
    if (c->type == VG_T_STRING)
        return kql_string(kql_col_str(c, r));
    if (!col_valid(c, r))
        return kql_null(c->type);
    switch (c->type) {
    case VG_T_BOOL: return kql_bool(c->v.b[r] != 0);
    case VG_T_INT:
    case VG_T_LONG:
    case VG_T_DATETIME:
    case VG_T_TIMESPAN: {
        kql_val v = { .t = c->type, .u.i = c->v.i64[r] };
        return v;
    }
    case VG_T_REAL: return kql_real(c->v.f64[r]);
    case VG_T_DYNAMIC: return kql_dynamic(c->v.d[r]);
    default: return kql_null(c->type);
    }
}

vg_err kql_col_alloc(vg_arena *a, vg_type t, uint32_t n, kql_col *out)
{
    memset(out, 0, sizeof *out);
    out->type = t;
    out->n = n;
    size_t el;
    switch (t) {
    case VG_T_BOOL: el = 1; break;
    case VG_T_REAL: el = sizeof(double); break;
    case VG_T_STRING: el = sizeof(vg_str); break;
    case VG_T_DYNAMIC: el = sizeof(const vg_json *); break;
    case VG_T_INT:
    case VG_T_LONG:
    case VG_T_DATETIME:
    case VG_T_TIMESPAN: el = sizeof(int64_t); break;
    default: return VG_EINVAL;
    }
    void *p = vg_arena_zalloc(a, (size_t)(n ? n : 1) * el);
    if (!p)
        return VG_ENOMEM;
    out->v.i64 = p;
    if (t == VG_T_STRING) {
        for (uint32_t r = 0; r < n; r++)
            out->v.s[r] = VG_STR_LIT("");
        return VG_OK;   /* strings are never null */
    }
    out->valid = vg_arena_zalloc(a, ((size_t)n + 63) / 64 * sizeof(uint64_t) + sizeof(uint64_t));
    return out->valid ? VG_OK : VG_ENOMEM;
}

void kql_col_set(kql_col *c, uint32_t r, kql_val v)
{
    if (r >= c->n)
        return;
    if (v.t != c->type)
        v = kql_cast(NULL, v, c->type);   /* no arena: numeric conversions only */
    if (c->valid) {
        if (v.null)
            c->valid[r >> 6] &= ~(1ULL << (r & 63));
        else
            c->valid[r >> 6] |= 1ULL << (r & 63);
    }
    switch (c->type) {
    case VG_T_BOOL: c->v.b[r] = v.null ? 0 : (uint8_t)(v.u.i != 0); break;
    case VG_T_INT:
    case VG_T_LONG:
    case VG_T_DATETIME:
    case VG_T_TIMESPAN: c->v.i64[r] = v.null ? 0 : v.u.i; break;
    case VG_T_REAL: c->v.f64[r] = v.null ? 0 : v.u.r; break;
    case VG_T_STRING: c->v.s[r] = v.u.s.p ? v.u.s : VG_STR_LIT(""); break;
    case VG_T_DYNAMIC: c->v.d[r] = v.null ? NULL : v.u.d; break;
    default: break;
    }
}
