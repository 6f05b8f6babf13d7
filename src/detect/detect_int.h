/*
 * detect_int.h - the compiled form of a Sigma rule set (private to
 * src/detect/detect_*.c).
 *
 * Rules are grouped by logsource: a dt_group holds every enabled rule with
 * the same logsource, the fields those rules name, and per field one pattern
 * database (dt_db) with every value of every item on that field. A row is
 * routed to its groups by its source key - (channel, EventID) for Windows
 * events (rows whose raw record carries a Channel), (table, ActionType) for
 * the others - through the two route maps of vg_detect.
 *
 * A field can be read two ways, and each has its own database because rule
 * values are rewritten for Defender's spelling of a column (registry hives,
 * DWORD values, EventType names): the raw form (the source field of that
 * name in the row's raw record) and the column form (the Defender column the
 * Sigma→Defender mapping names for the row's table, or a column of that very
 * name, or a virtual column composed of several, such as Hashes).
 *
 * Items whose values a database cannot hold (CIDR, numeric comparisons,
 * exists, null, fieldref, regexes the pattern engine rejects) are "direct":
 * evaluated in code when a rule's condition asks for them.
 */
#ifndef VG_DETECT_INT_H
#define VG_DETECT_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "../core/vg_map.h"
#include "vg_detect.h"

#define DT_MAX_ROUTE_WIN 16     /* (channel, EventID) pairs of one logsource */
#define DT_MAX_ROUTE_ACT 6      /* ActionTypes of one native route */
#define DT_MAX_RAW_MEMBERS 1024 /* raw record members read for one row */
#define DT_NONE UINT32_MAX

/* ---- routing (detect_route.c) ---- */

typedef struct dt_win_key {
    const char *channel;         /* exact Windows channel, compared case-insensitively */
    int32_t eventid;             /* -1: any */
    const char *cond_field;      /* optional raw field that must equal cond_value */
    const char *cond_value;
} dt_win_key;

typedef struct dt_route {
    dt_win_key win[DT_MAX_ROUTE_WIN];
    uint32_t nwin;
    int32_t table;               /* native rows: table id, -1 none */
    const char *actions[DT_MAX_ROUTE_ACT];   /* ActionType values; none = any */
    uint32_t nactions;
    const char *const (*aliases)[2];          /* Sigma field -> raw field, NULL-terminated */
} dt_route;

/* Fills r for a logsource; false when no source Vigil reads reaches it. */
bool dt_route_for(const sg_logsource *ls, dt_route *r);

/* How a column form value is made. */
typedef enum dt_virt {
    DT_VIRT_NONE,        /* one column as is */
    DT_VIRT_HASHES,      /* "SHA1=..,MD5=..,SHA256=.." from SHA1, MD5, SHA256 */
    DT_VIRT_ACCOUNT,     /* "DOMAIN\name" from a domain and a name column */
    DT_VIRT_REGPATH,     /* RegistryKey + "\" + RegistryValueName */
} dt_virt;

/* How rule values are rewritten for the column form. */
typedef enum dt_xform {
    DT_X_NONE,
    DT_X_REGKEY,         /* HKLM\ -> HKEY_LOCAL_MACHINE\ ... */
    DT_X_REGDATA,        /* DWORD (0x00000001) -> 1 */
    DT_X_EVENTTYPE,      /* SetValue -> RegistryValueSet ... */
} dt_xform;

typedef struct dt_colmap {
    int32_t col;         /* -1: no column form */
    int32_t col2;        /* second column of a virtual form (ACCOUNT: name; REGPATH: value name) */
    int32_t col3;        /* HASHES: SHA256 */
    dt_virt virt;
    dt_xform xform;
} dt_colmap;

/* The column form of a Sigma field in a table. */
dt_colmap dt_map_field(const vg_table_def *t, vg_str field);

/* The string columns of t that the Sigma->Defender mapping reads (what
 * keyword searches see of a row without a source record); at most max. */
uint32_t dt_message_cols(const vg_table_def *t, int32_t *out, uint32_t max);

/* Rewrites a canonical glob for a column form; returns the input when unchanged. */
vg_str dt_xform_glob(vg_arena *a, dt_xform x, sg_anchor anchor, vg_str glob);

/* ---- pattern databases (detect_match.c) ---- */

/* Where a pattern hit goes: an item, and for |all items the group's bit. */
typedef struct dt_target {
    uint32_t item;       /* group item index */
    uint32_t bit;        /* DT_NONE, or the bit (in the scanner's all-bitmap) of its value group */
} dt_target;

typedef struct dt_pat {
    char *regex;         /* NUL-terminated, for the engine */
    uint32_t flags;      /* DT_PF_* */
    dt_target *targets;
    uint32_t ntargets, tcap;
} dt_pat;

#define DT_PF_CASELESS 1u
#define DT_PF_DOTALL 2u
#define DT_PF_MULTILINE 4u
#define DT_PF_EMPTY 8u       /* matches the empty value (handled without the engine) */
#define DT_PF_NONEMPTY 16u   /* may also match non-empty values */

typedef struct dt_db {
    dt_pat *pats;
    uint32_t npats, cap;
    vg_map index;            /* "flags:regex" -> pattern index + 1, while building */
    uint32_t *empty;         /* patterns with DT_PF_EMPTY */
    uint32_t nempty;
    void *hs;                /* hs_database_t*, or NULL (portable) */
    pcre2_code **re;         /* portable: one per pattern */
    bool portable;
} dt_db;

/* Adds a pattern made from a glob (MATCH) or a regex (RE); VG_EUNSUPPORTED
 * when the engine cannot take it (the caller evaluates it directly). */
vg_err dt_db_add_glob(dt_db *db, vg_arena *a, vg_str glob, sg_anchor anchor, bool cased,
                      dt_target t);
vg_err dt_db_add_re(dt_db *db, vg_arena *a, vg_str re, uint32_t re_flags, dt_target t,
                    bool portable);
/* Compiles the patterns; d names the pattern that failed. With cache_dir,
 * a database compiled before (same patterns, same Hyperscan) is loaded from
 * there, and a new one is saved there. */
vg_err dt_db_compile(dt_db *db, bool portable, const char *cache_dir, vg_diag *d);
void dt_db_free(dt_db *db);

/* Per-thread scratch for the engine. */
typedef struct dt_hs_scratch dt_hs_scratch;
typedef void (*dt_hit_fn)(void *ctx, const dt_pat *p);
/* Scans one value; calls fn once per pattern that matches. */
vg_err dt_db_scan(const dt_db *db, void *scratch, pcre2_match_data *md, vg_str v, dt_hit_fn fn,
                  void *ctx);
/* Grows *scratch (hs_scratch_t*) to serve db. */
vg_err dt_db_scratch(const dt_db *db, void **scratch);
void dt_scratch_free(void *scratch);

/* The glob as a regex (PCRE and Hyperscan syntax) into b. */
void dt_glob_regex(vg_buf *b, vg_str glob, sg_anchor anchor);
/* Direct glob matching (the portable path for direct items). */
bool dt_glob_match(vg_str glob, sg_anchor anchor, bool cased, vg_str v);

/* ---- compiled groups (detect_compile.c) ---- */

typedef struct dt_field {
    vg_str name;            /* Sigma field name; {NULL,0}: the keyword pseudo-field */
    vg_str raw_name;        /* source field read in the raw record (route alias or name) */
    dt_db raw_db, col_db;   /* col_db.npats == 0 and col_shared: raw_db serves both */
    bool col_shared;
    dt_colmap *colmap;      /* per table id */
} dt_field;

typedef struct dt_item {
    const sg_item *sg;
    uint32_t field;         /* group field index; DT_NONE for keywords */
    uint32_t ref_field;     /* fieldref: the other field's index */
    bool direct;
    bool trigger;           /* a hit on it makes the scanner evaluate the rule (see
                               detect_compile.c: trigger items) */
    bool all;
    uint32_t ngroups;
    uint32_t allbase;       /* first bit of the item's groups in the all-bitmap */
    uint32_t rule;          /* group rule index */
    pcre2_code **re;        /* direct RE values, one per value (NULL for others) */
    struct dt_cidr *cidr;   /* direct CIDR values, one per value */
    uint32_t sigbit;        /* fieldref items: its bit in the row signature, else DT_NONE */
} dt_item;

/* A parsed CIDR value: family 4 or 6, network bytes, prefix length. */
typedef struct dt_cidr {
    uint8_t family;
    uint8_t prefix;
    uint8_t net[16];
    bool ok;
} dt_cidr;

/* Parses "a.b.c.d/n", "v6/n" or a bare address; false when not one. */
bool dt_cidr_parse(vg_str s, dt_cidr *out);
/* The address text v (v4, v6, ::ffff:v4) is inside c. */
bool dt_cidr_contains(const dt_cidr *c, vg_str v);

/* A rule inside a group: its own detection and the filters that target it. */
typedef struct dt_part {
    const sg_rule *r;
    uint32_t item0;         /* group index of r->items[0] */
} dt_part;

typedef struct dt_grule {
    uint32_t rule;          /* vg_detect rule index */
    dt_part *parts;         /* parts[0] is the rule; then its filters */
    uint32_t nparts;
    bool always;            /* may be true with no pattern hit: evaluate on every row */
    bool pure;              /* no direct items: its result is a function of the hits alone */
} dt_grule;

typedef struct dt_group {
    sg_logsource ls;
    dt_route route;
    bool routed;            /* some source reaches it (else its databases stay uncompiled) */
    dt_field *fields;
    uint32_t nfields;
    vg_map field_by_raw;    /* raw field name (case-insensitive) -> field index + 1 */
    bool has_keywords;
    int32_t **kw_cols;      /* per table: message columns no field of the group reads (keyword
                               patterns are in every field's databases; these are joined) */
    uint32_t *nkw_cols;
    uint32_t kw_field;      /* the keyword pseudo-field's index, DT_NONE */
    dt_item *items;
    uint32_t nitems;
    dt_grule *rules;
    uint32_t nrules;
    uint32_t *always;
    uint32_t nalways;
    uint32_t allbits;
    uint32_t *sig_items;    /* fieldref items: their truth joins the row signature */
    uint32_t nsig_items;
    uint32_t sigwords;      /* nfields + ceil(nsig_items / 32): signature length in words */
} dt_group;

typedef struct dt_glist {
    uint32_t *g;
    uint32_t n;
} dt_glist;

struct vg_detect {
    atomic_int refs;
    sg_ruleset *rs;
    vg_detect_rule *rules;
    uint32_t nrules;
    vg_map rule_by_key;         /* id and name -> rule index + 1 */
    dt_group *groups;
    uint32_t ngroups;
    vg_map win_routes;          /* "channel\x1fEventID" (lower case) -> dt_glist* */
    vg_map nat_routes;          /* "table\x1fActionType" -> dt_glist* */
    uint32_t max_fields, max_items, max_allbits, max_sigwords;
    bool portable;
    vg_detect_failure *failures;
    uint32_t nfailures, fcap;
    vg_detect_report report;
    vg_arena arena;
};

/* ---- scanning (detect_scan.c) ---- */

/* One row's readable values for one group's field. */
typedef struct dt_val {
    vg_str v;
    bool present;
    bool raw;               /* from the raw record (else a column form) */
    bool array;             /* v is a JSON array text of values */
} dt_val;

#endif
