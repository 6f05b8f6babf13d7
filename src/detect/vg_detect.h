/*
 * vg_detect.h - Sigma detection: compile a rule set once into shared
 * matchers, then scan batches of rows with it from any number of threads.
 *
 * Compiling (vg_detect_build) loads rule files (sigma.h), selects the
 * enabled ones, routes each by its logsource to the rows it means, resolves
 * its fields for each table, and folds every value of every rule into one
 * pattern database per (logsource group, field) - Hyperscan when built with
 * it, PCRE2 and literal search otherwise. The result is immutable and
 * reference counted; a reload builds a new one and swaps it in while scans
 * of the old one finish.
 *
 * Scanning (vg_detect_scan) runs one batch: per row, the groups its source
 * belongs to, one database scan per field the group's rules name, then the
 * conditions of just the rules whose patterns hit (plus the few that can be
 * true without a hit). Matches are reported through a callback; alerts,
 * correlation and suppression live one level up (vg_alert.h).
 *
 * A vg_detect_scanner holds per-thread scratch; one per thread.
 */
#ifndef VG_DETECT_H
#define VG_DETECT_H

#include <stdbool.h>
#include <stdint.h>

#include "../batch/vg_batch.h"
#include "../core/vg_err.h"
#include "../core/vg_str.h"
#include "sigma.h"

#define VG_DETECT_MAX_PATHS 64      /* rule paths in one build */
#define VG_DETECT_MAX_SELECT 256    /* enable/disable selectors */

/*
 * Which rules run. A selector is "id:UUID", "name:NAME", "tag:attack.t1059"
 * (prefix match on the tag: "tag:attack.t1059" also selects t1059.001),
 * "level:high", "status:experimental", "path:SUBSTRING" (of the file), or a
 * bare UUID. Rules are enabled when they match an enable selector (or there
 * are none) and no disable selector, their level is at least min_level and
 * their status is not deprecated/unsupported.
 */
typedef struct vg_detect_opts {
    const char *paths[VG_DETECT_MAX_PATHS];   /* rule files or directories */
    uint32_t npaths;
    const char *placeholders;                 /* |expand values file, or NULL */
    const char *enable[VG_DETECT_MAX_SELECT];
    uint32_t nenable;
    const char *disable[VG_DETECT_MAX_SELECT];
    uint32_t ndisable;
    sg_level min_level;                       /* default informational */
    bool portable;                            /* PCRE2 path even when Hyperscan is built in */
    const char *cache_dir;                    /* compiled pattern databases are kept here and
                                                 reused while the rules are unchanged (NULL: none) */
    uint32_t threads;                         /* compile with this many threads (0: one per core) */
    uint32_t limit;                           /* benchmarks: enable at most this many rules,
                                                 spread evenly over the load order (0: all) */
} vg_detect_opts;

/* One rule as the rest of Vigil sees it. */
typedef struct vg_detect_rule {
    const sg_rule *sg;
    uint32_t index;             /* dense, 0..nrules-1 */
    bool enabled;
    bool alerts;                /* raises alerts of its own (false: only feeds correlations
                                   whose generate is false) */
    bool routed;                /* some data source Vigil reads reaches it */
    bool duplicate;             /* its id was already loaded from another file: not run */
    vg_str tactics;             /* comma-separated MITRE tactic names ("Execution, Persistence") */
    vg_str techniques;          /* comma-separated technique ids ("T1059.001, T1547") */
} vg_detect_rule;

typedef struct vg_detect_failure {
    vg_str file;
    vg_str reason;              /* with line:col when known */
} vg_detect_failure;

/* What a build did with the files it read (vigil rules check). */
typedef struct vg_detect_report {
    uint32_t files;             /* rule files read */
    uint32_t total;             /* rule documents */
    uint32_t compiled;          /* loaded and compiled (enabled or not) */
    uint32_t enabled;
    uint32_t unrouted;          /* compiled, but no source Vigil reads reaches the logsource */
    uint32_t correlations, filters;
    uint32_t patterns;          /* distinct patterns in the matchers */
    uint32_t databases;         /* pattern databases */
    const vg_detect_failure *failures;
    uint32_t nfailures;
} vg_detect_report;

typedef struct vg_detect vg_detect;

/*
 * Loads, selects and compiles. Rule problems are failures in the report,
 * not errors; VG_EIO/VG_ENOMEM/VG_EINVAL with d are for paths that cannot be
 * read and bad options. The report (and its strings) lives with *out.
 */
vg_err vg_detect_build(const vg_detect_opts *o, vg_detect **out, vg_diag *d);
/*
 * The default pack: the paths in $VIGIL_RULES (':'-separated) when set, else
 * the first directory of /usr/share/vigil/rules and ./rules that exists.
 * Returns how many paths it wrote (0: none found).
 */
uint32_t vg_detect_default_paths(const char **out, uint32_t max);

/*
 * The default cache directory for compiled pattern databases:
 * $XDG_CACHE_HOME/vigil, else $HOME/.cache/vigil (created); NULL when
 * neither is set. Writes into buf.
 */
const char *vg_detect_default_cache(char *buf, size_t cap);

/* Compiles an already loaded rule set (takes ownership of rs). */
vg_err vg_detect_build_from(sg_ruleset *rs, const vg_detect_opts *o, vg_detect **out, vg_diag *d);

vg_detect *vg_detect_retain(vg_detect *det);
void vg_detect_release(vg_detect *det);

const vg_detect_report *vg_detect_get_report(const vg_detect *det);
uint32_t vg_detect_nrules(const vg_detect *det);
const vg_detect_rule *vg_detect_rule_at(const vg_detect *det, uint32_t i);
/* By Sigma id or name; NULL when absent. */
const vg_detect_rule *vg_detect_find(const vg_detect *det, vg_str id_or_name);
/* The vg_detect_rule of a loaded sg_rule; NULL when it is not one of det's. */
const vg_detect_rule *vg_detect_rule_of(const vg_detect *det, const sg_rule *r);
/* The loaded rules (for the correlation engine). */
const sg_ruleset *vg_detect_ruleset(const vg_detect *det);
/* One rule as a JSON object: id, title, level, status, enabled, routed,
 * tactics, techniques, file, kind (vigil rules list, GET /api/v1/rules). */
void vg_detect_rule_json(const vg_detect_rule *r, vg_buf *out);
/* The report's failures as a JSON array of {"file","reason"}. */
void vg_detect_failures_json(const vg_detect_report *rep, vg_buf *out);
/* "hyperscan" or "pcre2" */
const char *vg_detect_backend(const vg_detect *det);

/* ---- scanning ---- */

typedef struct vg_detect_scanner vg_detect_scanner;

vg_err vg_detect_scanner_new(vg_detect *det, vg_detect_scanner **out, vg_diag *d);
void vg_detect_scanner_free(vg_detect_scanner *s);

/* Called for every (rule, row) match, in row order. */
typedef void (*vg_detect_match_fn)(void *ctx, const vg_detect_rule *rule, const vg_batch *b,
                                   uint32_t row);

/* Runs every enabled rule over every row of b. */
vg_err vg_detect_scan(vg_detect_scanner *s, const vg_batch *b, vg_detect_match_fn fn, void *ctx,
                      vg_diag *d);

/*
 * The value of a Sigma field on a row, as the rule `rule` reads it (raw
 * source field, else the mapped column, else the column of that name),
 * rendered as text into a. VG_ENOTFOUND when absent or null.
 */
vg_err vg_detect_field(const vg_detect *det, const vg_detect_rule *rule, const vg_batch *b,
                       uint32_t row, vg_str field, vg_arena *a, vg_str *out);

typedef struct vg_detect_stats {
    uint64_t rows, scans, rule_evals, matches;
    /* row signatures (per row and logsource group): answered from memory,
     * answered but for the rules that read values directly, seen for the
     * first time, not rememberable (a value too long or memory full) */
    uint64_t sig_hits, sig_partial, sig_new, sig_uncacheable;
} vg_detect_stats;
void vg_detect_scanner_stats(const vg_detect_scanner *s, vg_detect_stats *out);

#endif
