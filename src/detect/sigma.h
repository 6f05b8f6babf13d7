/*
 * sigma.h - the Sigma rule model: what the loader (sigma_load.c, libyaml)
 * makes of a rule file, and what the compiler (detect_compile.c) and the
 * correlation engine (sigma_corr.c) consume.
 *
 * The loader does all of the Sigma language that does not depend on the data:
 * it reads the YAML, checks the keys, applies the value modifiers (base64,
 * base64offset, utf16le/utf16be/wide, windash, expand) so that each value
 * reaches the compiler as a canonical glob (or a regex, a CIDR, a number...),
 * and parses the condition into a tree over the rule's named searches
 * (`1 of x*`, `all of them` already expanded). The compiler decides which
 * rows a rule sees and how each field is read.
 *
 * Ownership: everything a sg_rule points to lives in the sg_ruleset's arena,
 * which lives until sg_ruleset_free(). Strings are counted (vg_str) and also
 * NUL-terminated, so they may be passed to C APIs.
 */
#ifndef VG_SIGMA_H
#define VG_SIGMA_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/vg_arena.h"
#include "../core/vg_err.h"
#include "../core/vg_str.h"

/* Limits on one rule file (hitting one is a load error naming the limit). */
#define SG_MAX_FILE (4u << 20)     /* bytes in one rule file */
#define SG_MAX_DEPTH 16            /* YAML nesting */
#define SG_MAX_SEARCHES 256        /* named searches in one detection */
#define SG_MAX_ITEMS 4096          /* field items in one rule */
#define SG_MAX_VALUES 65536        /* values in one rule, after modifier expansion */
#define SG_MAX_COND 4096           /* bytes in a condition; nodes are bounded by it */
#define SG_MAX_COND_DEPTH 64       /* parentheses / not nesting */
#define SG_MAX_VALUE 65536         /* bytes in one value after expansion */

typedef enum sg_level {
    SG_LEVEL_INFORMATIONAL,
    SG_LEVEL_LOW,
    SG_LEVEL_MEDIUM,
    SG_LEVEL_HIGH,
    SG_LEVEL_CRITICAL,
} sg_level;

typedef enum sg_status {
    SG_STATUS_NONE,          /* absent */
    SG_STATUS_STABLE,
    SG_STATUS_TEST,
    SG_STATUS_EXPERIMENTAL,
    SG_STATUS_DEPRECATED,
    SG_STATUS_UNSUPPORTED,
} sg_status;

/* How one value compares with a field's value. */
typedef enum sg_op {
    SG_OP_MATCH,       /* glob (see sg_value.text) with an anchor; case-insensitive unless cased */
    SG_OP_RE,          /* regular expression (PCRE syntax), re_flags */
    SG_OP_CIDR,        /* the field is an IP address inside text (a.b.c.d/n or v6/n) */
    SG_OP_LT, SG_OP_LTE, SG_OP_GT, SG_OP_GTE,   /* numeric comparison with num */
    SG_OP_EXISTS,      /* field present (num != 0) or absent (num == 0) */
    SG_OP_NULL,        /* YAML null: the field is absent or empty */
    SG_OP_FIELDREF,    /* equal (with anchor) to the value of the field named by text */
} sg_op;

typedef enum sg_anchor {
    SG_ANCHOR_EXACT,       /* the whole value */
    SG_ANCHOR_CONTAINS,
    SG_ANCHOR_STARTSWITH,
    SG_ANCHOR_ENDSWITH,
} sg_anchor;

#define SG_RE_I 1u   /* |re|i  case-insensitive */
#define SG_RE_M 2u   /* |re|m  multi-line */
#define SG_RE_S 4u   /* |re|s  dot matches newline */

/* Time-part modifiers (|minute, |hour, |day, |week, |month, |year): the
 * field is a timestamp and that part of it is compared. SG_TIME_NONE else. */
typedef enum sg_timepart {
    SG_TIME_NONE,
    SG_TIME_MINUTE,
    SG_TIME_HOUR,
    SG_TIME_DAY,
    SG_TIME_WEEK,
    SG_TIME_MONTH,
    SG_TIME_YEAR,
} sg_timepart;

/*
 * One value of an item, after the modifiers.
 *
 * For SG_OP_MATCH, text is a canonical glob: `*` matches any run of bytes,
 * `?` any one byte, and `\*`, `\?`, `\\` stand for those characters
 * literally; every other byte is itself (Sigma's own escaping rules are
 * resolved by the loader: a backslash before any other character is a
 * literal backslash). Values that came from numbers or booleans in YAML are
 * their YAML text ("4624", "true").
 *
 * group: the index of the value as written in the rule. Modifiers that give
 * several alternatives for one written value (base64offset, windash, wide
 * with base64offset, expand with several placeholder values) emit one
 * sg_value per alternative with the same group; the item's `all` counts
 * groups, not alternatives.
 */
typedef struct sg_value {
    sg_op op;
    sg_anchor anchor;     /* SG_OP_MATCH, SG_OP_FIELDREF */
    bool cased;           /* SG_OP_MATCH: |cased */
    uint8_t re_flags;     /* SG_OP_RE */
    sg_timepart timepart; /* compare this part of a timestamp field (numbers) */
    uint32_t group;
    vg_str text;          /* MATCH glob, RE pattern, CIDR text, FIELDREF field name */
    double num;           /* LT..GTE, EXISTS (1/0) */
} sg_value;

/*
 * One field item: `Field|mods: value(s)`, or a keyword list (field.p NULL):
 * keywords match any field of the event (as contains, unless a modifier
 * says otherwise). The item is true when one of its values matches, or,
 * with all (|all), when every group has a matching value. An empty value
 * list (`Field: []`) is never true.
 */
typedef struct sg_item {
    vg_str field;         /* as written, without modifiers; {NULL,0} for keywords */
    vg_str key;           /* the whole key as written ("CommandLine|contains|all") */
    sg_value *values;
    uint32_t nvalues;
    uint32_t ngroups;
    bool all;
    uint32_t line, col;   /* of the key in the file (1-based) */
} sg_item;

/*
 * A named search: an OR over alternatives, each an AND over items.
 * A map is one alternative; a list of maps is one alternative per map; a
 * list of plain values is one alternative with one keyword item.
 */
typedef struct sg_alt {
    uint32_t *items;      /* indices into sg_rule.items */
    uint32_t nitems;
} sg_alt;

typedef struct sg_search {
    vg_str name;
    sg_alt *alts;
    uint32_t nalts;
} sg_search;

typedef enum sg_cond_kind {
    SG_COND_SEARCH,       /* search: index into sg_rule.searches */
    SG_COND_AND,
    SG_COND_OR,
    SG_COND_NOT,          /* a only */
} sg_cond_kind;

typedef struct sg_cond {
    sg_cond_kind kind;
    uint32_t search;
    struct sg_cond *a, *b;
} sg_cond;

typedef struct sg_logsource {
    vg_str category, product, service, definition;   /* {NULL,0} when absent; lower case */
} sg_logsource;

/* ---- correlation rules (Sigma specification v2) ---- */

typedef enum sg_corr_type {
    SG_CORR_EVENT_COUNT,
    SG_CORR_VALUE_COUNT,
    SG_CORR_TEMPORAL,
    SG_CORR_TEMPORAL_ORDERED,
    SG_CORR_VALUE_SUM,
    SG_CORR_VALUE_AVG,
    SG_CORR_VALUE_PERCENTILE,
} sg_corr_type;

typedef enum sg_cmp { SG_CMP_GT, SG_CMP_GTE, SG_CMP_LT, SG_CMP_LTE, SG_CMP_EQ, SG_CMP_NEQ } sg_cmp;

/* One bound of a correlation condition: `gte: 10`. */
typedef struct sg_bound {
    sg_cmp cmp;
    double value;
} sg_bound;

/*
 * An alias (`aliases:`): one name for a field that is spelled differently
 * in each referenced rule. fields[i] is the field in rules[i] of the alias's
 * own map, by rule name/id.
 */
typedef struct sg_alias {
    vg_str name;
    vg_str *rules;
    vg_str *fields;
    uint32_t n;
} sg_alias;

typedef struct sg_corr {
    sg_corr_type type;
    vg_str *rules;        /* referenced rules by name or id, as written, in order */
    uint32_t nrules;
    vg_str *group_by;
    uint32_t ngroup_by;
    int64_t timespan;     /* 100 ns ticks (vg_time) */
    sg_bound *bounds;     /* all must hold (`gt: 3` + `lte: 9` is a range) */
    uint32_t nbounds;
    vg_str field;         /* value_count/sum/avg/percentile: the field counted */
    double percentile;    /* value_percentile: 0-100 */
    bool generate;        /* the referenced rules also raise their own alerts */
    sg_alias *aliases;
    uint32_t naliases;
} sg_corr;

/* ---- filters (Sigma specification v2 "filters": meta rules that add a
 * condition to other rules to suppress false positives) ---- */

typedef struct sg_filter {
    vg_str *rules;        /* target rule ids or names */
    uint32_t nrules;
} sg_filter;

typedef enum sg_kind { SG_KIND_RULE, SG_KIND_CORRELATION, SG_KIND_FILTER } sg_kind;

typedef struct sg_rule {
    sg_kind kind;
    vg_str file;          /* path as given to the loader */
    uint32_t doc;         /* 0-based document index in a multi-document file */
    vg_str title, id, name, description, author, date, modified, license;
    sg_status status;
    sg_level level;
    bool has_level;
    vg_str *tags;
    uint32_t ntags;
    vg_str *references;
    uint32_t nreferences;
    vg_str *falsepositives;
    uint32_t nfalsepositives;
    vg_str *fields;       /* the rule's `fields:` list */
    uint32_t nfields;
    sg_logsource logsource;

    /* SG_KIND_RULE and SG_KIND_FILTER */
    sg_search *searches;
    uint32_t nsearches;
    sg_item *items;
    uint32_t nitems;
    sg_cond *cond;        /* several conditions (a YAML list) are OR'ed */

    sg_corr corr;         /* SG_KIND_CORRELATION */
    sg_filter filter;     /* SG_KIND_FILTER */
} sg_rule;

/* A rule file that failed: where and why (never skipped silently). */
typedef struct sg_failure {
    vg_str file;
    uint32_t line, col;   /* 0 when not known */
    vg_str reason;        /* "detection.selection: unknown modifier 'contians'" */
} sg_failure;

/* Placeholders for |expand (`%name%` -> values); from a YAML map file. */
typedef struct sg_placeholders {
    vg_str *names;
    vg_str **values;
    uint32_t *nvalues;
    uint32_t n;
} sg_placeholders;

typedef struct sg_ruleset {
    sg_rule *rules;
    uint32_t nrules, cap;
    sg_failure *failures;
    uint32_t nfailures, fcap;
    uint32_t files;           /* rule files read */
    sg_placeholders placeholders;
    vg_arena arena;
} sg_ruleset;

void sg_ruleset_init(sg_ruleset *rs);
void sg_ruleset_free(sg_ruleset *rs);

/*
 * Loads the Sigma documents in one YAML text (file names the source for
 * messages). Every document becomes a rule or a failure; a failure is
 * recorded in rs->failures (with file, position, construct and reason) and
 * loading goes on with the next document. Returns VG_ENOMEM only when
 * memory ran out; parse errors are failures, not return codes.
 */
vg_err sg_load_text(sg_ruleset *rs, vg_str file, vg_str text);

/* Reads a file (at most SG_MAX_FILE bytes) and loads it. VG_EIO with d when
 * the file cannot be read (also recorded as a failure). */
vg_err sg_load_file(sg_ruleset *rs, const char *path, vg_diag *d);

/* Loads every *.yml / *.yaml file under a directory, recursively, in sorted
 * order; or one file when path is a file. */
vg_err sg_load_path(sg_ruleset *rs, const char *path, vg_diag *d);

/* Reads a placeholder file for |expand: a YAML map name -> value or list of
 * values. Without one, a rule using |expand with an unknown placeholder is a
 * failure that names the placeholder. */
vg_err sg_load_placeholders(sg_ruleset *rs, const char *path, vg_diag *d);

/* Names for messages and output. */
const char *sg_level_name(sg_level l);          /* "high" */
const char *sg_status_name(sg_status s);        /* "test" */
/* "high" -> SG_LEVEL_HIGH; false when unknown. */
bool sg_level_parse(vg_str s, sg_level *out);
bool sg_status_parse(vg_str s, sg_status *out);

/* Evaluates a condition tree given the truth of each search (tests, and the
 * compiler's "can this rule be true with no pattern hits" analysis). */
bool sg_cond_eval(const sg_cond *c, const bool *search_true);

/* Writes a condition back as text, fully parenthesized (tests, messages). */
void sg_cond_format(const sg_rule *r, const sg_cond *c, vg_buf *out);

#endif
