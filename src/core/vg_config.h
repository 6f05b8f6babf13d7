/*
 * vg_config.h - one declarative table per program for its settings.
 *
 * A program declares an array of vg_cfg_def {name, type, default, bounds,
 * reloadable, doc, offset} describing the fields of its own settings struct.
 * From that table alone come the defaults, the config-file parser
 * (`name = value` lines, '#' comments), the command-line parser
 * (`--name value`, `--name=value`, `--flag`, `--no-flag`), `--help` and the
 * Markdown reference in docs/. Precedence: defaults < file < flags.
 *
 * Strings are copied into the arena passed in; they live as long as it does.
 */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vg_arena.h"
#include "vg_err.h"

typedef enum vg_cfg_type {
    VG_CFG_STRING,   /* const char * */
    VG_CFG_INT,      /* int64_t, bounded by min/max */
    VG_CFG_BOOL,     /* bool */
    VG_CFG_SIZE,     /* int64_t bytes; accepts K, M, G suffixes */
    VG_CFG_DURATION, /* int64_t seconds; accepts s, m, h, d suffixes */
    VG_CFG_LIST,     /* vg_cfg_list: each occurrence adds a value; the default is
                        one value (or none when empty); a later source (file, then
                        flags) replaces the earlier one's values */
} vg_cfg_type;

/* Limit on the values of one list setting. */
#define VG_CFG_LIST_MAX 64

typedef struct vg_cfg_list {
    const char *v[VG_CFG_LIST_MAX];
    uint32_t n;
    uint8_t source;      /* internal: which source set the current values */
} vg_cfg_list;

typedef struct vg_cfg_def {
    const char *name;
    vg_cfg_type type;
    const char *def;     /* default as text; NULL = empty string / 0 */
    int64_t min, max;    /* bounds for numeric types (ignored when min == max == 0) */
    bool reloadable;     /* may change without a restart */
    size_t offset;       /* offsetof(settings struct, field) */
    const char *doc;
} vg_cfg_def;

typedef struct vg_cfg_spec {
    const char *prog;      /* "vigild" */
    const char *summary;   /* one line for --help */
    const char *usage;     /* "vigild [OPTIONS]" */
    const vg_cfg_def *defs;
    size_t ndefs;
} vg_cfg_spec;

/* Outcome of argument parsing besides errors. */
typedef struct vg_cfg_args {
    bool help;            /* --help was given */
    int npos;             /* positional arguments, in order */
    char **pos;
} vg_cfg_args;

vg_err vg_cfg_defaults(const vg_cfg_spec *spec, void *out, vg_arena *a, vg_diag *d);
/* Sets one setting from text, checking type and bounds. */
vg_err vg_cfg_set(const vg_cfg_spec *spec, void *out, const char *name, const char *value,
                  vg_arena *a, vg_diag *d);
vg_err vg_cfg_load_file(const vg_cfg_spec *spec, const char *path, void *out, vg_arena *a,
                        vg_diag *d);
/*
 * Parses argv[first..argc): applies defaults, then `--config FILE` if present,
 * then the flags. Positionals land in args->pos (pointers into argv).
 */
vg_err vg_cfg_parse_args(const vg_cfg_spec *spec, int argc, char **argv, int first, void *out,
                         vg_cfg_args *args, vg_arena *a, vg_diag *d);
void vg_cfg_help(const vg_cfg_spec *spec, FILE *f);
void vg_cfg_markdown(const vg_cfg_spec *spec, FILE *f);

#endif
