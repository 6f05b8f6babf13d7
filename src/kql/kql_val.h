/*
 * kql_val.h - private to src/kql: the executor's values, columns, and the
 * registries of scalar functions and aggregations.
 *
 * A scalar value is a kql_val: a type (the schema's vg_type) and a payload.
 * Every type but string has a null; a string is never null (Kusto reads a
 * missing string as ""). Dynamic values are vg_json trees (numbers kept as
 * their text, datetimes and timespans as strings, as Kusto serializes them).
 *
 * Columns (kql_col) are the executor's vectors: one typed array per column
 * and a validity bitmap (NULL = every row valid), the same layout as the
 * store's vg_colvec so that scanned data is read without copying.
 *
 * Scalar functions and aggregations are rows of the tables in kql_fn.c and
 * kql_agg.c (kql_agg_sketch.c): {name, arity, result type rule, implementation, doc}. A scalar
 * function is written for one row (kql_val in, kql_val out); the executor
 * loops it over a batch, or uses the function's vector form when it has one.
 *
 * Lifetime: every string, dynamic tree or array a function returns is
 * allocated in ctx->arena (the batch's arena), so results live as long as
 * the batch they belong to. Aggregation state lives in the arena passed to
 * its functions (the operator's), and must copy what it keeps.
 */
#ifndef KQL_VAL_H
#define KQL_VAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vg_arena.h"
#include "core/vg_err.h"
#include "core/vg_json.h"
#include "core/vg_str.h"
#include "core/vg_time.h"
#include "schema/vg_schema.h"

/* Type "any" in signatures (a function that takes any type). */
#define KQL_T_ANY VG_T_COUNT_

typedef struct kql_val {
    vg_type t;
    bool null;                /* never true for strings */
    union {
        int64_t i;            /* BOOL (0/1), INT, LONG, DATETIME (vg_time ticks), TIMESPAN (ticks) */
        double r;             /* REAL */
        vg_str s;             /* STRING */
        const vg_json *d;     /* DYNAMIC; NULL reads as dynamic null */
    } u;
} kql_val;

static inline kql_val kql_null(vg_type t)
{
    kql_val v = { .t = t, .null = t != VG_T_STRING };
    if (t == VG_T_STRING)
        v.u.s = (vg_str){ "", 0 };
    return v;
}
static inline kql_val kql_long(int64_t i) { return (kql_val){ .t = VG_T_LONG, .u.i = i }; }
static inline kql_val kql_int(int64_t i) { return (kql_val){ .t = VG_T_INT, .u.i = (int32_t)i }; }
static inline kql_val kql_bool(bool b) { return (kql_val){ .t = VG_T_BOOL, .u.i = b }; }
static inline kql_val kql_real(double r) { return (kql_val){ .t = VG_T_REAL, .u.r = r }; }
static inline kql_val kql_datetime(vg_time t) { return (kql_val){ .t = VG_T_DATETIME, .u.i = t }; }
static inline kql_val kql_timespan(int64_t t) { return (kql_val){ .t = VG_T_TIMESPAN, .u.i = t }; }
static inline kql_val kql_string(vg_str s) { return (kql_val){ .t = VG_T_STRING, .u.s = s }; }
static inline kql_val kql_dynamic(const vg_json *d) { return (kql_val){ .t = VG_T_DYNAMIC, .null = d == NULL || d->kind == VG_JSON_NULL, .u.d = d }; }

/* Numeric types (INT, LONG, REAL); BOOL is not numeric. */
static inline bool kql_type_numeric(vg_type t) { return t == VG_T_INT || t == VG_T_LONG || t == VG_T_REAL; }

/* ---- conversions shared by functions, operators and output ---- */

/* Kusto's rendering of a value as a string (tostring): datetimes ISO-8601
 * with 7 fractional digits trimmed ("2024-01-02T03:04:05Z", ".1234567Z"),
 * timespans "[-][d.]hh:mm:ss[.fffffff]", reals shortest round-trip, bools
 * "true"/"false", dynamic as compact JSON (a dynamic string without quotes),
 * null as "". Allocated in a. */
vg_str kql_to_string(vg_arena *a, kql_val v);
/* Appends the same text to b. */
void kql_val_text(vg_buf *b, kql_val v);
/* Appends v as a JSON value (null, true, 12, 1.5, "text", nested dynamic). */
void kql_val_json(vg_buf *b, kql_val v);
/* A timespan as Kusto prints it. */
void kql_timespan_text(vg_buf *b, int64_t ticks);
/* Parses Kusto's timespan text ("1.02:03:04.5", "02:03", "-00:00:01") or a
 * literal ("5m", "1d"); false when it is neither. */
bool kql_parse_timespan(vg_str s, int64_t *ticks);

/* tolong/todouble/tobool/todatetime/totimespan: a null of the target type
 * when the value does not convert. */
kql_val kql_cast(vg_arena *a, kql_val v, vg_type to);

/* True when a and b are equal for ==, in and join keys (numbers across
 * INT/LONG/REAL compare by value; strings case-sensitive; dynamic by JSON
 * text). Nulls are never equal to anything. */
bool kql_val_eq(kql_val a, kql_val b);
/* Total order used by sort, min/max, arg_max and top: nulls first, then by
 * value (numbers by value, strings bytewise, bools false < true). Values of
 * different types order by type. */
int kql_val_cmp(kql_val a, kql_val b);
/* Hash consistent with kql_val_eq (numbers hashed by value). */
uint64_t kql_val_hash(kql_val v);

/* ---- string predicates with Kusto's semantics (kql_str.c) ----
 * Terms are maximal runs of ASCII alphanumerics (and any byte >= 0x80);
 * has/hasprefix/hassuffix compare terms (needle may itself hold several
 * terms: "has" then means a contiguous match aligned on term boundaries at
 * both ends); _cs = case-sensitive, else ASCII case-insensitive. */
bool kql_str_has(vg_str hay, vg_str needle, bool cs);
bool kql_str_hasprefix(vg_str hay, vg_str needle, bool cs);
bool kql_str_hassuffix(vg_str hay, vg_str needle, bool cs);
bool kql_str_contains(vg_str hay, vg_str needle, bool cs);
bool kql_str_startswith(vg_str hay, vg_str needle, bool cs);
bool kql_str_endswith(vg_str hay, vg_str needle, bool cs);

/* ---- dynamic values (vg_json trees built in an arena) ---- */

/* A dynamic copy of a scalar value (string, number text, true/false,
 * datetime as ISO string, timespan as its text, dynamic as is; null → JSON null). */
const vg_json *kql_dyn_from(vg_arena *a, kql_val v);
/* A dynamic array/bag with room for cap elements; append with kql_dyn_push. */
vg_json *kql_dyn_array(vg_arena *a, uint32_t cap);
vg_json *kql_dyn_bag(vg_arena *a, uint32_t cap);
/* Appends el (a bag member: key set, copied into a). False when full. */
bool kql_dyn_push(vg_json *container, const vg_json *el);
bool kql_dyn_put(vg_arena *a, vg_json *bag, vg_str key, const vg_json *el);
/* A dynamic element read back as the most natural scalar: JSON strings as
 * STRING, integers as LONG, other numbers as REAL, true/false as BOOL, null
 * as a null dynamic, arrays and bags as DYNAMIC. */
kql_val kql_dyn_scalar(const vg_json *d);
/* Parses JSON text into a dynamic value (parse_json): text that is not JSON
 * becomes a dynamic string holding it, as in Kusto. */
const vg_json *kql_dyn_parse(vg_arena *a, vg_str text);
/* Element of an array by index (negative counts from the end) or of a bag by
 * key; NULL when absent. */
const vg_json *kql_dyn_index(const vg_json *d, int64_t i);
const vg_json *kql_dyn_member(const vg_json *d, vg_str key);

/* ---- columns ---- */

typedef struct kql_col {
    vg_type type;
    uint32_t n;                /* rows */
    union {
        int64_t *i64;          /* INT, LONG, DATETIME, TIMESPAN */
        double *f64;           /* REAL */
        uint8_t *b;            /* BOOL */
        vg_str *s;             /* STRING */
        const vg_json **d;     /* DYNAMIC */
    } v;
    uint64_t *valid;           /* bit r set: row r not null; NULL = all valid */
    /* STRING columns read from dictionary-coded store blocks (see vg_colvec):
     * v.s[r] == dict[codes[r]] for valid rows, codes[r] 0xFFFF when null.
     * Operators may use them to work per dictionary entry; NULL otherwise. */
    const vg_str *dict;
    const uint16_t *codes;
    uint32_t ndict;
} kql_col;

/* Row r of a STRING column ("" when null): through the dictionary when the
 * scan left the per-row strings unbuilt (v.s NULL, codes set). */
static inline vg_str kql_col_str(const kql_col *c, uint32_t r)
{
    if (!c->v.s) {
        uint16_t k = c->codes ? c->codes[r] : 0xFFFF;
        return k == 0xFFFF ? (vg_str){ "", 0 } : c->dict[k];
    }
    if (c->valid && !((c->valid[r >> 6] >> (r & 63)) & 1))
        return (vg_str){ "", 0 };
    return c->v.s[r].p ? c->v.s[r] : (vg_str){ "", 0 };
}

/* Row r of a column as a value (string/dynamic payloads are not copied). */
kql_val kql_col_get(const kql_col *c, uint32_t r);
/* Allocates an n-row column of type t in a, all null (strings ""). */
vg_err kql_col_alloc(vg_arena *a, vg_type t, uint32_t n, kql_col *out);
/* Sets row r (v converted to the column's type when it differs; strings and
 * dynamics are not copied: they must outlive the column). */
void kql_col_set(kql_col *c, uint32_t r, kql_val v);

/* ---- scalar functions ---- */

typedef struct kql_ctx {
    vg_arena *arena;           /* results of this batch */
    vg_time now;               /* now() for the whole query (one value per query, as Kusto) */
    vg_diag *diag;             /* for errors that stop the query (rare: most bad input yields null) */
    vg_err err;                /* set by a function to stop the query */
    void *geo;                 /* MaxMind database (MMDB_s *) or NULL */
    struct kql_regex_cache *regexes;  /* compiled patterns of this query (kql_regex_get) */
} kql_ctx;

/* Frees the compiled patterns of ctx (end of query). */
void kql_ctx_free_regexes(kql_ctx *ctx);

/* Result type: from the argument types; KQL_T_ANY args mean "unknown". Returns
 * VG_T_COUNT_ with a message in d when the arguments do not fit. */
typedef vg_type (*kql_fn_type)(const vg_type *args, uint32_t nargs, vg_diag *d);
/* One row. args has nargs values; constant arguments are the same each row. */
typedef kql_val (*kql_fn_row)(kql_ctx *ctx, const kql_val *args, uint32_t nargs);

typedef struct kql_fn_def {
    const char *name;          /* lower-case Kusto name */
    uint8_t min_args, max_args;
    vg_type ret;               /* fixed result type; KQL_T_ANY = ask typer */
    kql_fn_type typer;         /* when ret == KQL_T_ANY */
    kql_fn_row fn;
    /* Arguments that must be constants (bit i = argument i): regex patterns,
     * format strings. The binder checks it; the function may then cache a
     * compiled form in *state (per query, see cache below). */
    uint32_t const_args;
    const char *doc;           /* "extract(regex, captureGroup, source): ..." */
} kql_fn_def;

/* Each kql_fn_*.c file defines one table; kql_fn.c joins them. */
extern const kql_fn_def kql_fn_str_defs[];    /* kql_fn_str.c: strings, regex, encodings, hashes */
extern const size_t kql_fn_str_ndefs;
extern const kql_fn_def kql_fn_time_defs[];   /* kql_fn_time.c: datetime, timespan, bin, conversions */
extern const size_t kql_fn_time_ndefs;
extern const kql_fn_def kql_fn_misc_defs[];   /* kql_fn_misc.c: logic, math, binary, format_bytes, hash */
extern const size_t kql_fn_misc_ndefs;
extern const kql_fn_def kql_fn_net_defs[];    /* kql_fn_net.c: IPv4/IPv6, URLs, paths, geo */
extern const size_t kql_fn_net_ndefs;
extern const kql_fn_def kql_fn_dyn_defs[];    /* kql_fn_dyn.c: dynamic, arrays, sets, bags, series */
extern const size_t kql_fn_dyn_ndefs;

/* The registry (kql_fn.c and its sibling files): sorted by nothing, looked
 * up by name (case-sensitive, Kusto's names are lower case). */
const kql_fn_def *kql_fn_find(vg_str name);
/* Every function, for docs and the completion list. */
const kql_fn_def *const *kql_fn_all(size_t *n);

/* Per-query cache for compiled constants (regexes): keyed by the pattern
 * text; the executor frees everything at the end of the query. Functions
 * call kql_regex_get() rather than compiling per row. */
typedef struct kql_regex kql_regex;
kql_regex *kql_regex_get(kql_ctx *ctx, vg_str pattern);
/* Match: returns the number of capture groups set (0 = no match); ovec
 * receives (start, end) byte offsets for up to max_groups groups including
 * group 0. Negative = error (reported in ctx). */
int kql_regex_match(kql_regex *re, vg_str subject, size_t start, size_t *ovec, int max_groups);
/* Number of capture groups of a pattern, group 0 not counted (kql_str.c).
 * Unset groups of a match read as (SIZE_MAX, SIZE_MAX) in ovec. */
int kql_regex_groups(const kql_regex *re);

/* ---- aggregations ---- */

typedef struct kql_agg_def {
    const char *name;
    uint8_t min_args, max_args;
    vg_type ret;               /* KQL_T_ANY = ask typer */
    kql_fn_type typer;
    /* Number of output columns: 1, except arg_max/arg_min (1 + the extra
     * arguments) which the binder expands. */
    size_t state_size;
    void (*init)(void *state);
    /* One row: args has nargs values. arena is the operator's (for copies). */
    void (*add)(vg_arena *arena, void *state, const kql_val *args, uint32_t nargs);
    /* Combine src into dst (parallel partial aggregation); may be NULL. */
    void (*merge)(vg_arena *arena, void *dst, const void *src);
    /* Writes nout results (nout = 1 but for arg_max/arg_min). */
    void (*finish)(vg_arena *arena, void *state, kql_val *out, uint32_t nout);
    const char *doc;
} kql_agg_def;

const kql_agg_def *kql_agg_find(vg_str name);
const kql_agg_def *const *kql_agg_all(size_t *n);

/* Sketches of hll()/hll_merge() (kql_agg_sketch.c), for the scalar functions
 * dcount_hll(sketch) and hll_merge(s1, s2, ...): the estimate, or -1 when
 * the value is not a sketch; the merged sketch (in a), or NULL when one of
 * them is not a sketch. */
int64_t kql_hll_dcount(vg_arena *a, const vg_json *sketch);
const vg_json *kql_hll_merge(vg_arena *a, const vg_json *const *sketches, uint32_t n);

#endif
