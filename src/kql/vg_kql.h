/*
 * vg_kql.h - the first layer of Vigil's KQL engine: lexer, parser and AST.
 *
 * A query text goes through vg_kql_parse() into an immutable syntax tree
 * allocated in the caller's arena (one arena per query). The binder, planner
 * and executor consume this tree; they never see tokens. Every node carries
 * the line:column where it starts, so that later stages can report errors
 * like "line 3, column 9: Failed to resolve column 'X'".
 *
 * The tree is deliberately uniform: a node has a kind, an operator or flag
 * word, an optional name / text, optional numeric payload and an ordered list
 * of children whose meaning per kind is documented next to vg_kql_kind. The
 * parser never rewrites or resolves names: `Device*` stays a table pattern,
 * `$left.DeviceId` a member access on the name `$left`.
 *
 * Differences from Microsoft's parser (tests/kql/fidelity.mjs checks the
 * golden and invalid cases, tests/kql/differential.mjs generated ones):
 * refused with VG_EUNSUPPORTED: externaldata, cluster()/database()
 * references, declare/alias/restrict/pattern statements, and the operators
 * top-nested, top-hitters, partition, fork, facet, search, find, scan,
 * make-graph; not parsed: slices (x[1:2]), method-style calls (x.f()), an
 * empty time(); an empty query is an error. `not` is a function, as in
 * Kusto: not(x). A few odd operator mixes that Microsoft's error-tolerant
 * parser accepts ("a =~ b - c <= 1d !~ d") are errors here.
 *
 * Lifetime: tokens and nodes live until the arena is reset or freed. After
 * vg_kql_parse returns, nothing writes to the tree; several threads may read
 * it at once. Limits (input size, nesting depth) are named below; hitting
 * one is an error with a readable message, never a crash.
 */
#ifndef VG_KQL_H
#define VG_KQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vg_arena.h"
#include "core/vg_err.h"
#include "core/vg_str.h"

/* Longest query text accepted (bytes). */
#define VG_KQL_MAX_INPUT (1u << 20)
/* Deepest nesting of expressions, sub-queries and dynamic values. */
#define VG_KQL_MAX_DEPTH 100
/* Tallest syntax tree: left-associative chains (a + b + c ..., x or y or ...)
 * are parsed by loops, not recursion, but they still make a tree as tall as
 * the chain is long; this bounds it, so that later stages may walk the tree
 * recursively. */
#define VG_KQL_MAX_HEIGHT 1000
/* Most tokens in one query (bounds the token array). */
#define VG_KQL_MAX_TOKENS 200000u

/* ---- tokens ---- */

#define VG_KQL_TOKENS(X)                                   \
    X(EOF, "end of input")                                 \
    X(IDENT, "identifier")                                 \
    X(STRING, "string literal")                            \
    X(LONG, "integer literal")                             \
    X(REAL, "real literal")                                \
    X(TIMESPAN, "timespan literal")                        \
    X(DATETIME, "datetime literal")                        \
    X(GUID, "guid literal")                                \
    X(EQEQ, "'=='") X(NEQ, "'!='") X(EQTILDE, "'=~'")      \
    X(NTILDE, "'!~'") X(LT, "'<'") X(LE, "'<='")           \
    X(GT, "'>'") X(GE, "'>='") X(LTGT, "'<>'")             \
    X(PLUS, "'+'") X(MINUS, "'-'") X(STAR, "'*'")          \
    X(SLASH, "'/'") X(PERCENT, "'%'") X(PIPE, "'|'")       \
    X(DOT, "'.'") X(DOTDOT, "'..'") X(EQ, "'='")           \
    X(ARROW, "'=>'") X(SEMI, "';'") X(LPAREN, "'('")       \
    X(RPAREN, "')'") X(LBRACK, "'['") X(RBRACK, "']'")     \
    X(LBRACE, "'{'") X(RBRACE, "'}'") X(COMMA, "','")      \
    X(COLON, "':'") X(QUESTION, "'?'")                     \
    X(AND, "'and'") X(OR, "'or'")                          \
    X(HAS, "'has'") X(NHAS, "'!has'")                      \
    X(HAS_CS, "'has_cs'") X(NHAS_CS, "'!has_cs'")          \
    X(HASPREFIX, "'hasprefix'") X(NHASPREFIX, "'!hasprefix'") \
    X(HASPREFIX_CS, "'hasprefix_cs'") X(NHASPREFIX_CS, "'!hasprefix_cs'") \
    X(HASSUFFIX, "'hassuffix'") X(NHASSUFFIX, "'!hassuffix'") \
    X(HASSUFFIX_CS, "'hassuffix_cs'") X(NHASSUFFIX_CS, "'!hassuffix_cs'") \
    X(CONTAINS, "'contains'") X(NCONTAINS, "'!contains'")  \
    X(CONTAINS_CS, "'contains_cs'") X(NCONTAINS_CS, "'!contains_cs'") \
    X(STARTSWITH, "'startswith'") X(NSTARTSWITH, "'!startswith'") \
    X(STARTSWITH_CS, "'startswith_cs'") X(NSTARTSWITH_CS, "'!startswith_cs'") \
    X(ENDSWITH, "'endswith'") X(NENDSWITH, "'!endswith'")  \
    X(ENDSWITH_CS, "'endswith_cs'") X(NENDSWITH_CS, "'!endswith_cs'") \
    X(IN, "'in'") X(NIN, "'!in'") X(IN_CI, "'in~'") X(NIN_CI, "'!in~'") \
    X(HAS_ANY, "'has_any'") X(HAS_ALL, "'has_all'")        \
    X(MATCHES_REGEX, "'matches regex'")                    \
    X(BETWEEN, "'between'") X(NBETWEEN, "'!between'")

typedef enum vg_kql_tok {
#define VG_KQL_TOK_ENUM_(name, text) VG_KQL_T_##name,
    VG_KQL_TOKENS(VG_KQL_TOK_ENUM_)
#undef VG_KQL_TOK_ENUM_
    VG_KQL_T_COUNT_
} vg_kql_tok;

/* "'=='", "identifier", ...: how messages name a token kind. */
const char *vg_kql_tok_name(vg_kql_tok t);
/* The operator's spelling ("==", "!has_cs", "matches regex"); NULL for non-operators. */
const char *vg_kql_tok_op(vg_kql_tok t);

typedef struct vg_kql_pos {
    uint32_t line;    /* 1-based */
    uint32_t col;     /* 1-based, in bytes */
    uint32_t offset;  /* 0-based byte offset into the query text */
} vg_kql_pos;

#define VG_KQL_TOKF_SPACE_BEFORE 1u  /* whitespace or a comment precedes the token */
#define VG_KQL_TOKF_BRACKETED 2u     /* IDENT written as ['name'] or ["name"] */
#define VG_KQL_TOKF_VERBATIM 4u      /* STRING written @'..' or ```..``` */
#define VG_KQL_TOKF_OBFUSCATED 8u    /* STRING written h'..' */

typedef struct vg_kql_token {
    vg_kql_tok kind;
    uint32_t flags;
    vg_kql_pos pos;
    vg_str text;   /* the raw source span */
    vg_str value;  /* IDENT: the name; STRING: decoded; DATETIME/GUID: text inside (...) */
    int64_t i;     /* LONG: value; TIMESPAN: ticks */
    double r;      /* REAL: value */
} vg_kql_token;

/*
 * Splits src into tokens (the last one is VG_KQL_T_EOF). Errors are VG_EPARSE
 * ("line 1, column 7: unterminated string literal") or VG_ELIMIT.
 */
vg_err vg_kql_lex(vg_arena *a, vg_str src, vg_kql_token **toks, size_t *ntoks, vg_diag *d);

/* ---- the syntax tree ----
 * Child layouts ("kids") per kind. LIST is an ordered list of anything.
 * "opts" is a LIST of OPTION nodes (name = value, e.g. kind=leftouter).
 */
#define VG_KQL_KINDS(X)                                                        \
    /* statements */                                                           \
    X(QUERY, "query")         /* kids: statements; the result last (may be absent: let-only query) */ \
    X(LET, "let")             /* name; kids[0]: value (scalar or tabular) */   \
    X(LET_FUNC, "let-fn")     /* name; kids[0]: LIST of PARAM, kids[1]: body QUERY */ \
    X(PARAM, "param")         /* name; text: type ("string", "(*)", "(a:string)"), optional in parse patterns; kids[0]: default, optional */ \
    X(SET, "set")             /* name; kids[0]: value, optional (accepted, ignored) */ \
    /* tabular */                                                              \
    X(PIPELINE, "pipe")       /* kids[0]: source, kids[1..]: operators in order */ \
    X(TABLE, "table")         /* name: table or let-bound name; '*' patterns only in union */ \
    X(DATATABLE, "datatable") /* kids[0]: LIST of PARAM (schema), kids[1]: LIST of values */ \
    X(PRINT, "print")         /* kids: expressions or ASSIGN */                \
    X(RANGE, "range")         /* name: column; kids: from, to, step */         \
    X(UNION, "union")         /* kids[0]: opts, kids[1..]: tables (TABLE, PIPELINE) */ \
    X(EXTERNALDATA, "externaldata") /* kids[0]: LIST of PARAM, kids[1]: LIST of URLs; refused (VG_EUNSUPPORTED) */ \
    /* tabular operators (after '|') */                                        \
    X(WHERE, "where")         /* kids[0]: predicate */                         \
    X(PROJECT, "project")     /* kids: expressions or ASSIGN */                \
    X(PROJECT_AWAY, "project-away")       /* kids: NAME (may contain '*') */   \
    X(PROJECT_KEEP, "project-keep")       /* kids: NAME (may contain '*') */   \
    X(PROJECT_RENAME, "project-rename")   /* kids: ASSIGN new = NAME old */    \
    X(PROJECT_REORDER, "project-reorder") /* kids: SORT_KEY (op: direction) or NAME */ \
    X(EXTEND, "extend")       /* kids: expressions or ASSIGN */                \
    X(SUMMARIZE, "summarize") /* kids[0]: opts, kids[1]: LIST aggregates, kids[2]: LIST by */ \
    X(COUNT, "count")         /* name: column name of `count as Name`, optional */ \
    X(TAKE, "take")           /* kids[0]: row count */                         \
    X(TOP, "top")             /* kids[0]: row count, kids[1]: SORT_KEY */      \
    X(SORT, "sort")           /* kids: SORT_KEY */                             \
    X(DISTINCT, "distinct")   /* kids: expressions or STAR */                  \
    X(JOIN, "join")           /* kids[0]: opts, kids[1]: right side, kids[2]: LIST on-conditions */ \
    X(LOOKUP, "lookup")       /* same layout as JOIN */                        \
    X(UNION_OP, "union-op")   /* kids[0]: opts, kids[1..]: tables */           \
    X(MV_EXPAND, "mv-expand") /* kids[0]: opts, kids[1..]: MV_ITEM */          \
    X(MV_APPLY, "mv-apply")   /* kids[0]: opts, kids[1]: LIST MV_ITEM, kids[2]: LIST of operators run on each row's sub-table */ \
    X(MV_ITEM, "item")        /* kids[0]: expression or ASSIGN; text: "to typeof" type, optional */ \
    X(PARSE, "parse")         /* kids[0]: opts, kids[1]: source expr, kids[2]: LIST pattern (STRING, PARAM, STAR) */ \
    X(PARSE_WHERE, "parse-where") /* same layout as PARSE */                   \
    X(MAKE_SERIES, "make-series") /* kids[0]: opts, [1]: LIST aggs (ASSIGN/expr, maybe in DEFAULT), [2]: axis, [3]: LIST of OPTION from/to/step, or one CALL range(a, b, step), [4]: LIST by */ \
    X(EVALUATE, "evaluate")   /* kids[0]: opts, kids[1]: plugin CALL */        \
    X(AS, "as")               /* name; kids[0]: opts */                        \
    X(SERIALIZE, "serialize") /* kids: ASSIGN or expressions */                \
    X(GETSCHEMA, "getschema") /* no kids */                                    \
    X(RENDER, "render")       /* name: chart kind; kids[0]: opts (with(...) properties) */ \
    X(INVOKE, "invoke")       /* kids[0]: CALL */                              \
    X(SAMPLE, "sample")       /* kids[0]: row count */                         \
    X(SAMPLE_DISTINCT, "sample-distinct") /* kids[0]: count, kids[1]: column */ \
    /* scalar expressions */                                                   \
    X(NAME, "name")           /* name (columns, variables, $left, ...) */      \
    X(STAR, "*")              /* '*' in arg_max(T, *), distinct *, where * has "x", parse patterns */ \
    X(BOOL, "bool")           /* i: 0 or 1 */                                  \
    X(LONG, "long")           /* i */                                          \
    X(INT, "int")             /* i (int(5)) */                                 \
    X(REAL, "real")           /* r; text: the spelling */                      \
    X(STRING, "string")       /* name: decoded value */                        \
    X(DATETIME, "datetime")   /* text: inside datetime(...), unparsed */       \
    X(TIMESPAN, "timespan")   /* i: ticks (100 ns); text: spelling */          \
    X(GUID, "guid")           /* text */                                       \
    X(TYPED_NULL, "null")     /* text: type name (long(null), dynamic(null)) */ \
    X(DYNAMIC, "dynamic")     /* kids[0]: the value: literal, ARRAY or BAG */  \
    X(ARRAY, "array")         /* kids: values (in dynamic) */                  \
    X(BAG, "bag")             /* kids: PAIR (in dynamic) */                    \
    X(PAIR, "pair")           /* name: key; kids[0]: value */                  \
    X(UNARY, "unary")         /* op: VG_KQL_T_MINUS / PLUS; kids[0] */         \
    X(BINARY, "binary")       /* op: the vg_kql_tok of the operator; kids[0], kids[1] */ \
    X(BETWEEN, "between")     /* op: BETWEEN / NBETWEEN; kids: value, low, high */ \
    X(IN, "in")               /* op: IN / NIN / IN_CI / NIN_CI / HAS_ANY / HAS_ALL; kids[0]: value, kids[1..]: list items or one sub-query */ \
    X(CALL, "call")           /* name: function; kids: arguments (NAMED_ARG for name=value) */ \
    X(NAMED_ARG, "arg")       /* name; kids[0] */                              \
    X(MEMBER, "member")       /* name: field; kids[0]: object  (x.y) */        \
    X(INDEX, "index")         /* kids[0]: object, kids[1]: index  (x[0], x['y']) */ \
    X(ASSIGN, "=")            /* kids[0]: target (NAME or LIST of NAME), kids[1]: value */ \
    X(SORT_KEY, "key")        /* kids[0]: expression; op: VG_KQL_SORT_* flags */ \
    X(OPTION, "opt")          /* name; kids[0]: value */                       \
    X(DEFAULT, "default")     /* kids[0]: aggregate, kids[1]: default value (make-series) */ \
    X(LIST, "list")           /* kids: anything */

typedef enum vg_kql_kind {
#define VG_KQL_KIND_ENUM_(name, text) VG_KQL_##name,
    VG_KQL_KINDS(VG_KQL_KIND_ENUM_)
#undef VG_KQL_KIND_ENUM_
    VG_KQL_KIND_COUNT_
} vg_kql_kind;

/* SORT_KEY flags: direction and null placement, as written. */
#define VG_KQL_SORT_DESC 1       /* desc (also Kusto's default for sort/top) */
#define VG_KQL_SORT_ASC 2        /* asc written */
#define VG_KQL_SORT_NULLS_FIRST 4
#define VG_KQL_SORT_NULLS_LAST 8

typedef struct vg_kql_node vg_kql_node;
struct vg_kql_node {
    vg_kql_kind kind;
    int op;                      /* operator token or flags, per kind */
    vg_kql_pos pos;              /* where the node starts */
    vg_str name;                 /* per kind (see VG_KQL_KINDS) */
    vg_str text;                 /* per kind */
    int64_t i;
    double r;
    uint32_t height;             /* 1 + the tallest child's; at most VG_KQL_MAX_HEIGHT */
    uint32_t n;                  /* number of children */
    const vg_kql_node *const *kids;
};

/* "where", "pipe", ...: the dump's name of a kind. */
const char *vg_kql_kind_name(vg_kql_kind k);

/*
 * Parses a whole query (statements separated by ';', the last one tabular)
 * into *out. Errors:
 *   VG_EPARSE        "line L, column C: expected X, found Y"
 *   VG_ELIMIT        input too long, nested too deeply, tree too tall, too many tokens
 *   VG_ENOMEM        the arena ran out (or hit its cap)
 *   VG_EUNSUPPORTED  the query uses a construct Vigil refuses (externaldata);
 *                    *out is still set to the complete tree
 */
vg_err vg_kql_parse(vg_arena *a, vg_str src, const vg_kql_node **out, vg_diag *d);

/* ---- running queries (kql_query.c) ---- */

struct vg_store;

/* Defaults of the limits (Defender's API caps results at 100,000 rows). */
#define VG_KQL_DEFAULT_MAX_ROWS 100000u
#define VG_KQL_DEFAULT_TIMEOUT_MS 600000u
#define VG_KQL_DEFAULT_MAX_MEMORY ((size_t)2 << 30)

typedef struct vg_kql_opts {
    uint64_t max_rows;         /* result rows kept (0 = VG_KQL_DEFAULT_MAX_ROWS); more set truncated */
    uint64_t timeout_ms;       /* 0 = VG_KQL_DEFAULT_TIMEOUT_MS */
    size_t max_memory;         /* bytes of materialized data (0 = VG_KQL_DEFAULT_MAX_MEMORY) */
    int64_t now;               /* now() in vg_time ticks; 0 = the clock */
    void *geo;                 /* MMDB_s * for geo_info_from_ip_address, or NULL */
    int *cancel;               /* when non-NULL and set non-zero, the query stops (VG_ELIMIT) */
    uint32_t threads;          /* scans split into this many parallel parts (0 = the cores, at most 8) */
    uint64_t par_min_rows;     /* fewest table rows for a parallel plan (0 = 200,000) */
    /* A time window over the data (custom detections' lookback): every table
     * scan sees only rows whose Timestamp is in [time_min, time_max] (vg_time
     * ticks; 0 = unbounded on that side). Tables without a Timestamp column
     * are read whole. */
    int64_t time_min, time_max;
} vg_kql_opts;

typedef struct vg_kql_stats {
    double elapsed_ms;
    uint64_t rows_scanned;     /* rows returned by store scans */
    uint64_t segments_total, segments_skipped, blocks_total, blocks_skipped;
    size_t peak_memory;
} vg_kql_stats;

typedef struct vg_kql_result vg_kql_result;

/*
 * Parses, binds, plans and runs query over store (which may be NULL: then
 * only datatable/print/range sources work). Errors are VG_EPARSE (syntax and
 * binding: "line L, column C: Failed to resolve column 'X'"), VG_ETYPE,
 * VG_EUNSUPPORTED, VG_ELIMIT (timeout, memory) with the message in d.
 */
vg_err vg_kql_run(struct vg_store *store, vg_str query, const vg_kql_opts *opts,
                  vg_kql_result **out, vg_diag *d);
void vg_kql_result_free(vg_kql_result *r);

uint32_t vg_kql_result_ncols(const vg_kql_result *r);
vg_str vg_kql_result_col_name(const vg_kql_result *r, uint32_t c);
/* Kusto's type name ("string", "datetime", ...). */
const char *vg_kql_result_col_type(const vg_kql_result *r, uint32_t c);
uint64_t vg_kql_result_nrows(const vg_kql_result *r);
bool vg_kql_result_truncated(const vg_kql_result *r);
/* The chart kind of a trailing `render`, or an empty string. */
vg_str vg_kql_result_render(const vg_kql_result *r);
void vg_kql_result_stats(const vg_kql_result *r, vg_kql_stats *out);

typedef enum vg_kql_format {
    VG_KQL_FMT_DEFENDER,  /* {"Stats":{..},"Schema":[{"Name":..,"Type":..}],"Results":[{..}]} */
    VG_KQL_FMT_GRAPH,     /* {"schema":[{"name":..,"type":..}],"results":[{..}]} */
    VG_KQL_FMT_NDJSON,    /* one JSON object per row */
    VG_KQL_FMT_CSV,       /* header line then RFC 4180 rows */
    VG_KQL_FMT_TABLE,     /* aligned text for terminals */
} vg_kql_format;

/* Writes the whole result in a format (the schema line first for
 * NDJSON when with_schema). */
void vg_kql_result_write(const vg_kql_result *r, vg_kql_format f, bool with_schema, vg_buf *out);

/* Dump flags: VG_KQL_DUMP_POS adds "@line:col" after each node's kind. */
#define VG_KQL_DUMP_POS 1u

/* Appends a compact S-expression of the tree (one line, no trailing newline). */
void vg_kql_ast_dump(vg_buf *b, const vg_kql_node *n, unsigned flags);

#endif
