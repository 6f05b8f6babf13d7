/*
 * vg_gen.h - synthetic Defender telemetry for demos, tests and benchmarks.
 *
 * The generator writes NDJSON lines in the native format (Defender's Advanced
 * Hunting columns plus a "Table" member first), as a fleet of Windows devices
 * would report them: process trees (explorer.exe -> cmd.exe/powershell.exe ->
 * tools; services.exe -> svchost.exe -> workers), network connections to
 * common services, logons, file, registry and image-load events, and one
 * DeviceInfo snapshot per device and day. Binaries keep the same path,
 * hashes and version info everywhere; devices keep their users and SIDs.
 * A small share of episodes is suspicious (encoded PowerShell, certutil
 * downloads, LSASS dumps, Run-key persistence, discovery from Office) so
 * that detections and hunting benchmarks have needles to find.
 *
 * Determinism: the output depends only on the options (its own PRNG,
 * xoshiro256** seeded through splitmix64; no clock, no libc rand). Same
 * options, same bytes, on every platform.
 *
 * Ownership: a vg_gen is a heap object owned by the caller; it allocates
 * nothing per row. Not thread-safe (one generator per thread).
 */
#ifndef VG_GEN_H
#define VG_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/vg_err.h"
#include "../core/vg_str.h"
#include "../core/vg_time.h"

/* Tables the generator can write (bits of vg_gen_opts.tables). */
#define VG_GEN_TABLES(X)                          \
    X(VG_GEN_PROCESS, "DeviceProcessEvents")      \
    X(VG_GEN_NETWORK, "DeviceNetworkEvents")      \
    X(VG_GEN_LOGON, "DeviceLogonEvents")          \
    X(VG_GEN_FILE, "DeviceFileEvents")            \
    X(VG_GEN_REGISTRY, "DeviceRegistryEvents")    \
    X(VG_GEN_IMAGELOAD, "DeviceImageLoadEvents")  \
    X(VG_GEN_INFO, "DeviceInfo")

typedef enum vg_gen_table {
#define VG_GEN_ENUM_(id, name) id,
    VG_GEN_TABLES(VG_GEN_ENUM_)
#undef VG_GEN_ENUM_
    VG_GEN_NTABLES
} vg_gen_table;

/* Limits on options. */
#define VG_GEN_MAX_DEVICES 100000u
#define VG_GEN_MAX_DAYS 3650u
/* Rows per device and day when no row count is given. */
#define VG_GEN_ROWS_PER_DEVICE_DAY 2000u
/* By default one episode in this many is suspicious (a needle). */
#define VG_GEN_NEEDLE_ODDS 2000u

typedef struct vg_gen_opts {
    uint64_t seed;
    uint32_t devices;     /* 1..VG_GEN_MAX_DEVICES */
    uint32_t days;        /* 1..VG_GEN_MAX_DAYS: the span the rows cover */
    uint64_t rows;        /* exact number of rows; 0 = devices*days*ROWS_PER_DEVICE_DAY */
    vg_time start;        /* time of the first row's day start */
    uint32_t tables;      /* bit (1u << vg_gen_table) per table to write; 0 = all */
    uint32_t needle_odds; /* one episode in N is suspicious; 0 = VG_GEN_NEEDLE_ODDS */
} vg_gen_opts;

typedef struct vg_gen vg_gen;

/* The table name of a vg_gen_table. */
const char *vg_gen_table_name(vg_gen_table t);
/*
 * Parses a comma-separated list of table names into a mask for
 * vg_gen_opts.tables. VG_EINVAL (with the bad name in d) on unknown names.
 */
vg_err vg_gen_parse_tables(vg_str list, uint32_t *mask, vg_diag *d);

vg_err vg_gen_open(const vg_gen_opts *o, vg_gen **out, vg_diag *d);
void vg_gen_close(vg_gen *g);

/*
 * Appends whole NDJSON lines ('\n'-terminated) to out until at least `want`
 * bytes were added or every row was written; *done is set once the last row
 * is in out. VG_ENOMEM when out cannot grow.
 */
vg_err vg_gen_fill(vg_gen *g, vg_buf *out, size_t want, bool *done);

/* Rows written so far, the total that will be written, and rows per table. */
uint64_t vg_gen_rows_done(const vg_gen *g);
uint64_t vg_gen_rows_total(const vg_gen *g);
uint64_t vg_gen_rows_in(const vg_gen *g, vg_gen_table t);

#endif
