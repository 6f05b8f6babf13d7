/*
 * kql_exec.h - private to src/kql: bound expressions, relations and the
 * operator (iterator) interface of the executor.
 *
 * Stages: the binder (kql_bind.c) turns syntax nodes into kx_expr trees
 * whose column references are indexes into the input schema and whose
 * types are known; the planner (kql_plan.c) turns a pipeline into a chain
 * of kx_op iterators, pushing predicates, time ranges and the projection
 * into the store scan; kql_eval.c evaluates an expression over a whole
 * chunk at once (vectorized); the operators live in kql_op_*.c.
 *
 * Ownership: everything bound or planned lives in the query arena (q->a).
 * An operator's output chunk lives in that operator's own arena and is
 * valid until the operator's next call to next(); a consumer that keeps
 * rows (sort, summarize, join, materialize) copies them into a kx_rel.
 */
#ifndef KQL_EXEC_H
#define KQL_EXEC_H

#include <pthread.h>

#include "kql/kql_val.h"
#include "kql/vg_kql.h"
#include "store/vg_store.h"

/* Most columns in a relation, arguments in a call, groups in a summarize
 * ... : the named limits of the executor. */
#define KX_MAX_COLS 4096
#define KX_MAX_ARGS 64
#define KX_CHUNK 4096          /* rows per chunk produced by operators */

typedef struct kx_query kx_query;

/* A relation's columns: names and types. */
typedef struct kx_schema {
    uint32_t n;
    vg_str *names;
    vg_type *types;
} kx_schema;

int kx_schema_find(const kx_schema *s, vg_str name);

/* ---- bound expressions ---- */

typedef enum kx_ek {
    KX_CONST,      /* k */
    KX_COL,        /* col: index into the input chunk */
    KX_CALL,       /* fn(args) */
    KX_BIN,        /* op (vg_kql_tok) on args[0], args[1] */
    KX_NEG,        /* -args[0] */
    KX_AND, KX_OR, /* args[0], args[1] (three-valued as Kusto: null and false = false) */
    KX_IN,         /* op IN/NIN/IN_CI/NIN_CI/HAS_ANY/HAS_ALL; args[0] value; set: constants */
    KX_BETWEEN,    /* op BETWEEN/NBETWEEN; args: value, low, high */
    KX_MEMBER,     /* args[0] dynamic, name */
    KX_INDEX,      /* args[0] dynamic, args[1] index (long) or key (string) */
    KX_ROWFN,      /* row_number(), prev(), next() in serialized input: op kind */
    KX_CAST,       /* convert args[0] to type */
} kx_ek;

typedef struct kx_expr kx_expr;
struct kx_expr {
    kx_ek k;
    vg_type type;
    int op;
    uint32_t n;
    kx_expr **args;
    kql_val kv;               /* KX_CONST */
    int col;                  /* KX_COL */
    const kql_fn_def *fn;     /* KX_CALL */
    vg_str name;              /* KX_MEMBER; a printable name */
    kql_val *set;             /* KX_IN: constant items */
    uint32_t nset;
    struct kx_inset *hset;    /* KX_IN: hash set for long lists (NULL = linear) */
    vg_kql_pos pos;
};

/* A vector result: a column, or one constant value for every row. */
typedef struct kx_vec {
    bool konst;
    kql_val k;
    kql_col c;
} kx_vec;

static inline kql_val kx_vec_get(const kx_vec *v, uint32_t r)
{
    return v->konst ? v->k : kql_col_get(&v->c, r);
}

/* Copies row r of s into row k of d (a freshly allocated column, all null);
 * the same as kql_col_set(d, k, kql_col_get(s, r)) without building a value. */
static inline void kx_cell_copy(kql_col *d, uint32_t k, const kql_col *s, uint32_t r)
{
    if (d->type != s->type) {
        kql_col_set(d, k, kql_col_get(s, r));
        return;
    }
    bool ok = !s->valid || ((s->valid[r >> 6] >> (r & 63)) & 1);
    switch (d->type) {
    case VG_T_STRING: {
        vg_str v = kql_col_str(s, r);
        if (v.n)
            d->v.s[k] = v;
        return;
    }
    case VG_T_BOOL: d->v.b[k] = ok && s->v.b[r]; break;
    case VG_T_REAL: d->v.f64[k] = ok ? s->v.f64[r] : 0; break;
    case VG_T_DYNAMIC: d->v.d[k] = ok ? s->v.d[r] : NULL; break;
    default: d->v.i64[k] = ok ? s->v.i64[r] : 0; break;
    }
    if (ok && d->valid)
        d->valid[k >> 6] |= 1ull << (k & 63);
}

/* ---- chunks and relations ---- */

typedef struct kx_chunk {
    uint32_t n;
    kql_col *cols;           /* schema.n columns */
} kx_chunk;

/* A materialized relation: chunks whose data live in arena. */
typedef struct kx_rel {
    kx_schema sch;
    kx_chunk *chunks;
    uint32_t nchunks, cap;
    uint64_t rows;
    vg_arena arena;
} kx_rel;

vg_err kx_rel_init(kx_query *q, kx_rel *r, const kx_schema *sch);
/* A relation owned by the query (freed when the query ends). */
kx_rel *kx_rel_new(kx_query *q, const kx_schema *sch);
/* Group and distinct keys (summarize, distinct, make-series, pivot): nulls
 * equal each other, numbers compare by value, strings bytewise; the hash
 * agrees with the equality. */
bool kx_key_eq(kql_val a, kql_val b);
uint64_t kx_key_hash(kql_val v);
/* A deep copy of a value's payload (strings, dynamic trees) into a. */
kql_val kx_val_copy(vg_arena *a, kql_val v);

/* Copies rows [sel] (or all rows when sel is NULL) of c into the relation. */
vg_err kx_rel_append(kx_query *q, kx_rel *r, const kx_chunk *c, const uint32_t *sel, uint32_t nsel);
/* Frees the data; safe to call twice. */
void kx_rel_free(kx_rel *r);
/* Row i of the relation: chunk and row within it. */
static inline void kx_rel_locate(const kx_rel *r, uint64_t i, uint32_t *ci, uint32_t *ri)
{
    (void)r;
    *ci = (uint32_t)(i / KX_CHUNK);
    *ri = (uint32_t)(i % KX_CHUNK);
}

/* ---- operators ---- */

typedef struct kx_op kx_op;
struct kx_op {
    kx_schema sch;
    kx_query *q;
    vg_err (*next)(kx_op *op, kx_chunk **out);   /* VG_EEOF at the end */
    void (*close)(kx_op *op);
    vg_arena arena;          /* the current output chunk's data */
    kx_op *child;
    bool serialized;         /* rows have an order (after sort, serialize, top, ...) */
    kql_ctx *ctx;            /* parallel fragments: the thread's context; NULL = q->ctx */
    bool closed;             /* kx_op_close ran (it may be called twice) */
};

/* Common setup: arena and links. */
void kx_op_init(kx_query *q, kx_op *op, kx_op *child);
void kx_op_close(kx_op *op);
/* Drains op into a relation (row cap: max_rows, 0 = none; *truncated set). */
vg_err kx_drain(kx_op *op, kx_rel *out, uint64_t max_rows, bool *truncated);

/* ---- the query ---- */

/* A let binding: a scalar (constant expression), a tabular expression
 * (node, bound lazily each time it is used), a materialized relation, or a
 * user function. */
typedef struct kx_let {
    vg_str name;
    int kind;                           /* KX_LET_* */
    kx_expr *scalar;
    const vg_kql_node *node;            /* tabular expression or function */
    struct kx_scope *scope;             /* where the binding was made */
    kx_rel *rel;                        /* materialized */
} kx_let;
enum { KX_LET_SCALAR, KX_LET_TABULAR, KX_LET_FUNC, KX_LET_REL };

typedef struct kx_scope {
    struct kx_scope *up;
    kx_let *lets;
    uint32_t n, cap;
} kx_scope;

/* The operators that will consume a sub-pipeline (a join's right side):
 * they bound which of its columns can be read. */
typedef struct kx_need {
    const vg_kql_node *const *ops;   /* the operators after the join */
    uint32_t nops;
    const vg_kql_node *const *keys;  /* the join's on-conditions */
    uint32_t nkeys;
} kx_need;

struct kx_query {
    vg_arena *a;             /* binding and plan */
    vg_store *store;
    vg_diag *d;
    vg_err err;
    kql_ctx ctx;             /* now, regex cache, geo */
    uint64_t deadline_ns;    /* vg_mono_ns() deadline; 0 = none */
    size_t mem_cap;          /* bytes across materializing arenas */
    size_t mem_used;
    uint64_t rows_scanned;
    vg_scan_stats scan;      /* summed over scans */
    int64_t time_min, time_max; /* vg_kql_opts' window; INT64_MIN/MAX when unbounded */
    unsigned depth;          /* nesting of functions/sub-queries */
    vg_str render;           /* render kind, when the query ends in render */
    int *cancel;             /* set non-zero from outside to stop */
    const kx_need *need;     /* set while planning a join's right side */
    kx_rel **rels;           /* every relation made by kx_rel_new; freed at the end */
    uint32_t nrels, caprels;
    pthread_mutex_t mu;      /* err and d, when parallel fragments fail at once */
    uint32_t threads;        /* parallel fragments per scan (1 = none) */
    uint64_t par_min_rows;   /* fewest table rows for a parallel plan */
    uint32_t part, nparts;   /* set while planning one fragment: its scan's part */
    bool part_pending;       /* the next table scan planned takes part/nparts */
};

/* Fails the query with a message at pos (line:col). Returns VG_EPARSE-ish e. */
vg_err kx_fail(kx_query *q, vg_kql_pos pos, vg_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Records e as the query's error (first one wins; thread-safe) and returns it. */
vg_err kx_seterr(kx_query *q, vg_err e);
/* VG_ELIMIT when the deadline passed, the memory cap is exceeded or the
 * query was cancelled. Called by operators once per chunk. */
vg_err kx_check(kx_query *q);
/* Charges n bytes of materialized data to the query. */
vg_err kx_charge(kx_query *q, size_t n);

/* Runs the statements of a QUERY node (lets, then the last tabular
 * statement planned into *out). */
vg_err kx_run_query_node(kx_query *q, kx_scope *sc, const vg_kql_node *query, kx_op **out);
struct vg_kql_result;
const kx_rel *kx_result_rel(const struct vg_kql_result *r);

/* kql_bind.c */
typedef struct kx_bind {
    kx_query *q;
    kx_scope *scope;
    const kx_schema *in;         /* the input row's columns */
    const kx_schema *right;      /* join on: $right's schema (in is $left) */
    const kx_schema *agg_in;     /* summarize: the input of aggregate arguments */
    bool allow_rowfn;            /* serialized input: row_number/prev/next */
    /* summarize: aggregate calls found while binding an output expression */
    struct kx_aggs *aggs;
    uint32_t agg_base;           /* summarize: index of the first aggregate slot in the mid row */
    const vg_str *by_names;      /* summarize: the by-columns (arg_max(T, *) leaves them out) */
    uint32_t nby;
} kx_bind;

kx_expr *kx_bind_expr(kx_bind *b, const vg_kql_node *n);
/* A constant expression's value (binds and folds); err when not constant. */
vg_err kx_bind_const(kx_bind *b, const vg_kql_node *n, kql_val *out);
/* A default output name for an expression ("Column1" when it has none). */
vg_str kx_expr_name(kx_query *q, const vg_kql_node *n, uint32_t *auto_counter);
kx_expr *kx_const_expr(kx_query *q, kql_val v);
kx_let *kx_scope_find(kx_scope *s, vg_str name);
kx_let *kx_scope_add(kx_query *q, kx_scope *s, vg_str name, int kind);
/* The common type of two types for iff/case/union (KQL_T_ANY when none). */
vg_type kx_common_type(vg_type a, vg_type b);
/* Converts a syntax DYNAMIC/ARRAY/BAG literal into a vg_json tree. */
const vg_json *kx_dyn_literal(kx_query *q, const vg_kql_node *n);

/* prev()/next(): the serialized relation the evaluated rows belong to. */
struct kx_rowwin {
    const kx_rel *rel;
};

/* kql_eval.c */
typedef struct kx_evalctx {
    kx_query *q;
    kql_ctx *ctx;             /* functions' context (regex cache); NULL = q->ctx */
    vg_arena *arena;          /* where results go */
    const kx_chunk *in;
    const kx_chunk *right;    /* join: the right row chunk (unused in v1) */
    uint64_t row_base;        /* row_number of row 0 of in (serialized) */
    const struct kx_rowwin *win; /* prev/next: neighbours across chunks */
} kx_evalctx;
vg_err kx_eval(kx_evalctx *e, const kx_expr *x, kx_vec *out);
/* A predicate into a selection vector: rows where x is true. */
vg_err kx_eval_sel(kx_evalctx *e, const kx_expr *x, uint32_t *sel, uint32_t *nsel);
/* Materializes a vector as a column of n rows (constants broadcast). */
vg_err kx_vec_col(vg_arena *a, const kx_vec *v, vg_type t, uint32_t n, kql_col *out);

/* kql_plan.c */
/* Plans a tabular syntax node (PIPELINE, TABLE, DATATABLE, PRINT, ...). */
kx_op *kx_plan(kx_query *q, kx_scope *sc, const vg_kql_node *n);
/* Plans a tabular node and drains it into a relation (let materialize, joins). */
vg_err kx_plan_rel(kx_query *q, kx_scope *sc, const vg_kql_node *n, kx_rel **out);

/* Plans operators ops[0..n) on top of src. */
kx_op *kx_plan_pipes(kx_query *q, kx_scope *sc, kx_op *src, const vg_kql_node *const *ops,
                     uint32_t nops);
/* Operators planned in kql_plan_more.c (mv-expand, mv-apply, parse,
 * parse-where, make-series, evaluate); NULL with q->err on failure. */
kx_op *kx_plan_more(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n);
kx_op *kx_plan_union(kx_query *q, kx_scope *sc, kx_op *lead, const vg_kql_node *n, uint32_t first);
kx_op *kx_plan_user_tabular(kx_query *q, kx_scope *sc, kx_let *fn, const vg_kql_node *call,
                            kx_op *piped);
kx_schema kx_schema_alloc(kx_query *q, uint32_t n);
kx_expr *kx_col_expr(kx_query *q, const kx_schema *s, int c);

/* kql_op_*.c: constructors (the planner calls them). */
kx_op *kx_op_rel(kx_query *q, const kx_rel *r);                    /* scans a relation */
kx_op *kx_op_scan(kx_query *q, const vg_table_def *t, const vg_scan_spec *spec, const bool *cols);
kx_op *kx_op_filter(kx_query *q, kx_op *child, kx_expr *pred);
/* A filter right after a scan: columns outside live (the scan's projection)
 * are never read downstream and are passed on without gathering. */
kx_op *kx_op_filter_live(kx_query *q, kx_op *child, kx_expr *pred, const bool *live);
/* Evaluates exprs into a new schema (project/extend/rename...). */
kx_op *kx_op_project(kx_query *q, kx_op *child, const kx_schema *sch, kx_expr **exprs);
kx_op *kx_op_take(kx_query *q, kx_op *child, uint64_t n);
kx_op *kx_op_count(kx_query *q, kx_op *child, vg_str name);
kx_op *kx_op_sort(kx_query *q, kx_op *child, kx_expr **keys, const int *flags, uint32_t nkeys,
                  uint64_t limit);
/* Parallel summarize: reads a summarize operator's whole input into its
 * groups (the part each thread does), and folds src's groups into dst with
 * the aggregations' merge functions (after the threads are joined). */
vg_err kx_agg_consume_all(kx_op *op);
vg_err kx_agg_absorb(kx_op *dst, kx_op *src);
/* Runs n summarize fragments (each over its own part of a scan) on n
 * threads, then merges them; emits like frags[0]. */
kx_op *kx_op_par_agg(kx_query *q, kx_op **frags, uint32_t n);
kx_op *kx_op_distinct(kx_query *q, kx_op *child, kx_expr **keys, const kx_schema *sch);
kx_op *kx_op_union(kx_query *q, kx_op **kids, uint32_t n, const kx_schema *sch, int **maps,
                   vg_str source_col, vg_str *source_names);
kx_op *kx_op_serialize(kx_query *q, kx_op *child);
/* The relation behind a serialize or relation-scan operator, else NULL. */
const kx_rel *kx_op_serialized_rel(kx_op *op);
/* Copies rows sel[0..nsel) of in into out (columns allocated in a); with
 * live, only the columns it flags (others are passed on unchanged). */
vg_err kx_chunk_gather_live(vg_arena *a, const kx_schema *sch, const kx_chunk *in,
                            const uint32_t *sel, uint32_t nsel, const bool *live, kx_chunk *out);
vg_err kx_chunk_gather(vg_arena *a, const kx_schema *sch, const kx_chunk *in, const uint32_t *sel,
                       uint32_t nsel, kx_chunk *out);

/* summarize: by keys and aggregate calls; post computes the final
 * columns from [keys..., agg outputs...]. */
typedef struct kx_aggcall {
    const kql_agg_def *def;
    kx_expr **args;
    uint32_t nargs;
    uint32_t nout;
    uint32_t out0;          /* first output slot in the [keys, aggs] row */
    vg_type *out_types;
} kx_aggcall;
typedef struct kx_aggs {
    kx_aggcall *calls;
    uint32_t n, cap;
    uint32_t nslots;        /* total outputs */
    vg_str *slot_names;
} kx_aggs;
kx_op *kx_op_summarize(kx_query *q, kx_op *child, kx_expr **keys, uint32_t nkeys,
                       const kx_aggs *aggs, const kx_schema *mid, const kx_schema *out,
                       kx_expr **post);

/* join: kind as Kusto's names; keys evaluated on each side. */
typedef enum kx_join_kind {
    KX_J_INNERUNIQUE, KX_J_INNER, KX_J_LEFTOUTER, KX_J_RIGHTOUTER, KX_J_FULLOUTER,
    KX_J_LEFTANTI, KX_J_RIGHTANTI, KX_J_LEFTSEMI, KX_J_RIGHTSEMI,
} kx_join_kind;
kx_op *kx_op_join(kx_query *q, kx_op *left, kx_rel *right, kx_join_kind kind,
                  kx_expr **lkeys, kx_expr **rkeys, uint32_t nkeys, const kx_schema *out,
                  const int *lmap, const int *rmap);

/* ---- kql_op_more.c / kql_plan_more.c: mv-expand, parse (appended) ---- */

/* mv-expand: the items expand in parallel (the shorter padded with null). */
typedef struct kx_mvx_spec {
    uint32_t nitems;
    kx_expr **items;        /* the values to expand */
    int *outcol;            /* output column of each item */
    vg_type *to;            /* "to typeof(T)" per item; VG_T_DYNAMIC when absent */
    bool bag_as_array;      /* kind=array: a bag member becomes [key, value] */
    int idxcol;             /* with_itemindex column, -1 = none */
    uint64_t limit;         /* rows per input row, 0 = no limit */
    int *srcmap;            /* output column → input column, -1 = produced here */
} kx_mvx_spec;
kx_op *kx_op_mvexpand(kx_query *q, kx_op *child, const kx_schema *out, const kx_mvx_spec *spec);
/* A dynamic element as type `to` (a cast, not a parse: "5" is no long). */
kql_val kx_dyn_to_type(vg_arena *a, const vg_json *el, vg_type to);

/* parse / parse-where: the pattern compiled into one regular expression. */
typedef struct kx_parse_spec {
    kx_expr *src;           /* the parsed expression (converted to string) */
    kql_regex *re;
    uint32_t ngroups;       /* capture groups of re */
    uint32_t ncols;
    int *outcol;            /* output column of each extracted column */
    int *group;             /* its capture group */
    vg_type *types;
    bool relaxed;           /* kind=relaxed: a value that does not convert is null */
    bool where;             /* parse-where: drop rows that do not match */
    int *srcmap;            /* output column → input column, -1 = produced here */
} kx_parse_spec;
kx_op *kx_op_parse(kx_query *q, kx_op *child, const kx_schema *out, const kx_parse_spec *spec);

/* kql_plan_more.c: a type name ("long", "date", ...); false when unknown. */
bool kx_type_from_name(vg_str tn, vg_type *out);
/* The OPTION `name` of an opts LIST, or NULL. */
const vg_kql_node *kx_opt_find(const vg_kql_node *opts, const char *name);
/* kql_op_more_tab.c: make-series and the evaluate plugins (bag_unpack,
 * pivot); both materialize their input while planning (the output schema
 * of the plugins depends on the data). */
kx_op *kx_plan_make_series(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n);
kx_op *kx_plan_evaluate(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n);

#endif
