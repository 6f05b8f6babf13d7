/*
 * vg_time.h - Kusto-precision time: datetime and timespan as 100 ns ticks.
 *
 * A datetime is the number of 100-nanosecond ticks since 1970-01-01T00:00:00Z
 * (Kusto's precision, with the Unix epoch as origin so that arithmetic with
 * epoch sources is cheap). A timespan is a signed count of ticks.
 * Parsers accept ISO-8601 (with 'T' or a space, fractions up to 9 digits,
 * Z or +hh:mm offsets), Windows FILETIME values, and Unix epoch numbers in
 * seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude).
 */
#ifndef VG_TIME_H
#define VG_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "vg_err.h"
#include "vg_str.h"

typedef int64_t vg_time;      /* datetime: ticks since the Unix epoch */
typedef int64_t vg_timespan;  /* ticks */

#define VG_TICKS_PER_SEC 10000000LL
#define VG_TICKS_PER_MS 10000LL
#define VG_TICKS_PER_DAY (86400LL * VG_TICKS_PER_SEC)
/* FILETIME (100 ns since 1601-01-01) minus this = vg_time */
#define VG_FILETIME_EPOCH_DIFF 116444736000000000LL
/* Bounds of a valid datetime: years 0001..9999 as in Kusto. */
#define VG_TIME_MIN (-621355968000000000LL)
#define VG_TIME_MAX (2534023007999999999LL)

/* Parses an ISO-8601 date or date-time. */
vg_err vg_time_parse_iso(vg_str s, vg_time *out);
/* Parses an epoch number (s, ms, us or ns by magnitude), possibly fractional seconds. */
vg_err vg_time_parse_epoch(vg_str s, vg_time *out);
/* ISO-8601, else an epoch number, else a FILETIME in hex ("0x01d..."). */
vg_err vg_time_parse_any(vg_str s, vg_time *out);
vg_time vg_time_from_filetime(uint64_t ft);
vg_time vg_time_from_unix(int64_t sec, int64_t nsec);

/* Current wall-clock time. */
vg_time vg_time_now(void);
/* Monotonic nanoseconds, for measuring durations. */
uint64_t vg_mono_ns(void);

/* Days since the epoch (floor), and the date parts of a time. */
int64_t vg_time_day(vg_time t);
void vg_time_civil(vg_time t, int *year, int *month, int *day, int *hour, int *min, int *sec,
                   int *ticks);
vg_time vg_time_from_civil(int year, int month, int day, int hour, int min, int sec, int ticks);

/* "2025-11-27T07:40:10.1653240Z" (Kusto's 7 fraction digits); buf >= VG_TIME_BUFSZ. */
#define VG_TIME_BUFSZ 32
size_t vg_time_format(vg_time t, char *buf, size_t cap);
/* "YYYY-MM-DD" of a day number; buf >= 11. */
void vg_day_format(int64_t day, char *buf, size_t cap);

#endif
