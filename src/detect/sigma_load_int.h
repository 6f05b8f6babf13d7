/*
 * sigma_load_int.h - what the four files of the Sigma loader share, and
 * nothing else includes: the YAML node tree (sigma_load.c builds it from
 * libyaml events, with the line and column of every node), the document
 * context that carries the first failure of a document, and the entry points
 * of the document converter (sigma_load_doc.c), the condition parser
 * (sigma_cond.c) and the value modifiers (sigma_value.c).
 *
 * Ownership: tree nodes live in a per-file scratch arena (sg_ctx.tmp) that
 * dies with the file; everything reachable from an sg_rule is copied into
 * the ruleset's arena (sg_ctx.a).
 */
#ifndef VG_SIGMA_LOAD_INT_H
#define VG_SIGMA_LOAD_INT_H

#include "sigma.h"

/* Loader limits that sigma.h does not name (hitting one is a failure of the
 * document, or VG_ENOMEM for the ruleset arena). */
#define SG_LOAD_TREE_CAP (64u << 20)          /* scratch arena of one file's YAML tree */
#define SG_LOAD_ARENA_CAP ((size_t)2 << 30)   /* the ruleset arena */
#define SG_LOAD_RULE_BYTES (16u << 20)        /* value bytes of one rule after expansion */
#define SG_LOAD_MAX_REASON 512                /* bytes of a failure reason */
#define SG_LOAD_MAX_DIR_DEPTH 32              /* directory nesting under sg_load_path */
#define SG_LOAD_MAX_RULES (1u << 20)          /* rules (and failures) in one ruleset */

typedef enum sn_kind { SN_SCALAR, SN_SEQ, SN_MAP } sn_kind;

/* One YAML node. A map's kids are key, value, key, value... (n pairs). */
typedef struct sn_node {
    sn_kind kind;
    bool plain;              /* scalar written without quotes: null, booleans resolve */
    uint32_t line, col;      /* 1-based */
    vg_str text;             /* scalar text (NUL-terminated) */
    struct sn_node **kids;
    uint32_t n;              /* seq: items; map: pairs */
} sn_node;

/* The conversion of one document into one sg_rule. */
typedef struct sg_ctx {
    sg_ruleset *rs;
    vg_arena *a;             /* rs->arena: what the rule keeps */
    vg_arena *tmp;           /* scratch, freed with the file */
    vg_str file;
    sg_rule *rule;           /* being built */
    const char *section;     /* "detection" or "filter", for messages */
    uint64_t value_bytes;    /* against SG_LOAD_RULE_BYTES */
    uint32_t nvalues;        /* against SG_MAX_VALUES */
    bool failed;
    bool nomem;              /* the ruleset arena ran out: the load stops */
    uint32_t line, col;
    char reason[SG_LOAD_MAX_REASON];
} sg_ctx;

/* Records the first failure of the document (at node n, which may be NULL)
 * and returns VG_EPARSE. */
vg_err sg_fail(sg_ctx *c, const sn_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records running out of the ruleset arena; returns VG_ENOMEM. */
vg_err sg_nomem(sg_ctx *c, const sn_node *n);

/* Node helpers. */
bool sn_is_null(const sn_node *n);                 /* absent, ~, null, empty plain scalar */
const sn_node *sn_get(const sn_node *map, const char *key);
bool sn_bool(const sn_node *n, bool *out);         /* true/false/yes/no (plain, any case) */
const sn_node *sn_dup_key(const sn_node *map);     /* a repeated key, or NULL */

/* sigma_load_doc.c: one document's tree (root) into c->rule. */
vg_err sg_doc_build(sg_ctx *c, const sn_node *root);
/* A list of strings (a single scalar is a list of one) into c->a. */
vg_err sg_get_list(sg_ctx *c, const sn_node *n, const char *path, vg_str **out, uint32_t *nout);

/* sigma_value.c: the values of one item. key is the whole key node
 * ("Field|mod|mod"), val its value node; path names the search for messages. */
vg_err sg_item_build(sg_ctx *c, vg_str path, const sn_node *key, const sn_node *val,
                     sg_item *out);
/* A keyword item from a list of scalars (or one scalar). */
vg_err sg_keywords_build(sg_ctx *c, vg_str path, const sn_node *const *vals, uint32_t n,
                         const sn_node *at, sg_item *out);

/* Sigma string -> canonical glob (see sg_value.text). */
vg_str sg_glob_canon(vg_arena *a, vg_str raw);

/* sigma_cond.c: the condition node (string or list of strings) of a rule
 * whose searches are already built. */
vg_err sg_cond_build(sg_ctx *c, const sn_node *cond, sg_cond **out);

#endif
