/*
 * vg_time.c - parsing and formatting of datetimes (see vg_time.h).
 *
 * Civil-date conversion uses the days-from-civil algorithm for the proleptic
 * Gregorian calendar, exact for the whole Kusto range.
 */
#define _POSIX_C_SOURCE 200809L
#include "vg_time.h"

#include <stdio.h>
#include <time.h>

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

vg_time vg_time_from_civil(int year, int month, int day, int hour, int min, int sec, int ticks)
{
    int64_t days = days_from_civil(year, (unsigned)month, (unsigned)day);
    return days * VG_TICKS_PER_DAY + ((int64_t)hour * 3600 + min * 60 + sec) * VG_TICKS_PER_SEC +
           ticks;
}

int64_t vg_time_day(vg_time t)
{
    int64_t d = t / VG_TICKS_PER_DAY;
    if (t % VG_TICKS_PER_DAY < 0)
        d--;
    return d;
}

void vg_time_civil(vg_time t, int *year, int *month, int *day, int *hour, int *min, int *sec,
                   int *ticks)
{
    int64_t d = vg_time_day(t);
    int64_t rem = t - d * VG_TICKS_PER_DAY;
    civil_from_days(d, year, month, day);
    int64_t s = rem / VG_TICKS_PER_SEC;
    *ticks = (int)(rem % VG_TICKS_PER_SEC);
    *hour = (int)(s / 3600);
    *min = (int)(s / 60 % 60);
    *sec = (int)(s % 60);
}

/* reads exactly n digits */
static int digits(const char *p, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)p[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + (int)d;
    }
    *out = v;
    return 0;
}

vg_err vg_time_parse_iso(vg_str s, vg_time *out)
{
    const char *p = s.p;
    size_t n = s.n, i = 0;
    int y, mo, d, h = 0, mi = 0, se = 0, ticks = 0;
    s = vg_str_trim(s);
    p = s.p;
    n = s.n;
    if (n < 10 || digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) || p[7] != '-' ||
        digits(p + 8, 2, &d))
        return VG_EPARSE;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return VG_EPARSE;
    i = 10;
    int64_t offset = 0;
    if (i < n && (p[i] == 'T' || p[i] == 't' || p[i] == ' ')) {
        i++;
        if (n - i < 5 || digits(p + i, 2, &h) || p[i + 2] != ':' || digits(p + i + 3, 2, &mi))
            return VG_EPARSE;
        i += 5;
        if (i < n && p[i] == ':') {
            if (n - i < 3 || digits(p + i + 1, 2, &se))
                return VG_EPARSE;
            i += 3;
        }
        if (h > 23 || mi > 59 || se > 60)
            return VG_EPARSE;
        if (se == 60)
            se = 59; /* leap second: clamp */
        if (i < n && (p[i] == '.' || p[i] == ',')) {
            i++;
            size_t nd = 0;
            int scale = 1000000;
            while (i < n && p[i] >= '0' && p[i] <= '9') {
                if (nd < 7) {
                    ticks += (p[i] - '0') * scale;
                    scale /= 10;
                }
                nd++;
                i++;
            }
            if (nd == 0)
                return VG_EPARSE;
        }
        if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
            i++;
        } else if (i < n && (p[i] == '+' || p[i] == '-')) {
            int oh, om = 0;
            int sign = p[i] == '-' ? -1 : 1;
            i++;
            if (n - i < 2 || digits(p + i, 2, &oh))
                return VG_EPARSE;
            i += 2;
            if (i < n && p[i] == ':')
                i++;
            if (n - i >= 2 && !digits(p + i, 2, &om))
                i += 2;
            if (oh > 23 || om > 59)
                return VG_EPARSE;
            offset = sign * ((int64_t)oh * 3600 + om * 60) * VG_TICKS_PER_SEC;
        }
    }
    if (i != n)
        return VG_EPARSE;
    *out = vg_time_from_civil(y, mo, d, h, mi, se, ticks) - offset;
    return VG_OK;
}

vg_err vg_time_parse_epoch(vg_str s, vg_time *out)
{
    s = vg_str_trim(s);
    ptrdiff_t dot = vg_str_chr(s, '.');
    if (dot >= 0) {
        double v;
        if (vg_str_to_double(s, &v) || v < -62135596800.0 || v > 253402300799.0)
            return VG_EPARSE;
        *out = (vg_time)(v * VG_TICKS_PER_SEC);
        return VG_OK;
    }
    int64_t v;
    vg_err e = vg_str_to_i64(s, &v);
    if (e)
        return VG_EPARSE;
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (a < 100000000000ULL)            /* < 1e11: seconds (until year 5138) */
        *out = v * VG_TICKS_PER_SEC;
    else if (a < 100000000000000ULL)    /* milliseconds */
        *out = v * VG_TICKS_PER_MS;
    else if (a < 100000000000000000ULL) /* microseconds */
        *out = v * 10;
    else                               /* nanoseconds */
        *out = v / 100;
    return VG_OK;
}

vg_time vg_time_from_filetime(uint64_t ft)
{
    /* FILETIMEs past year 9999 saturate instead of overflowing */
    if (ft > (uint64_t)VG_TIME_MAX + (uint64_t)VG_FILETIME_EPOCH_DIFF)
        return VG_TIME_MAX;
    return (vg_time)(ft - (uint64_t)VG_FILETIME_EPOCH_DIFF);
}

vg_time vg_time_from_unix(int64_t sec, int64_t nsec) { return sec * VG_TICKS_PER_SEC + nsec / 100; }

vg_err vg_time_parse_any(vg_str s, vg_time *out)
{
    s = vg_str_trim(s);
    if (vg_time_parse_iso(s, out) == VG_OK)
        return VG_OK;
    if (s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
        uint64_t ft;
        if (vg_str_to_hex_u64(s, &ft) == VG_OK &&
            ft <= (uint64_t)VG_TIME_MAX + (uint64_t)VG_FILETIME_EPOCH_DIFF) {
            *out = vg_time_from_filetime(ft);
            return VG_OK;
        }
        return VG_EPARSE;
    }
    return vg_time_parse_epoch(s, out);
}

vg_time vg_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return vg_time_from_unix(ts.tv_sec, ts.tv_nsec);
}

uint64_t vg_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

size_t vg_time_format(vg_time t, char *buf, size_t cap)
{
    int y, mo, d, h, mi, s, ticks;
    vg_time_civil(t, &y, &mo, &d, &h, &mi, &s, &ticks);
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%07dZ", y, mo, d, h, mi, s, ticks);
    return n < 0 ? 0 : (size_t)n;
}

void vg_day_format(int64_t day, char *buf, size_t cap)
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(buf, cap, "%04d-%02d-%02d", y, m, d);
}
