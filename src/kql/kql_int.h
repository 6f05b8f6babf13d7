/*
 * kql_int.h - private to src/kql: the parser state shared by the statement
 * and operator parser (kql_parse.c) and the scalar expression parser
 * (kql_expr.c). Nodes are built mutable here and handed out const.
 */
#ifndef VG_KQL_INT_H
#define VG_KQL_INT_H

#include <stdio.h>

#include "core/vg_time.h"
#include "kql/vg_kql.h"

typedef struct kql_parser {
    vg_arena *a;
    vg_diag *d;
    const vg_kql_token *t;   /* tokens, ending with EOF */
    size_t n, i;
    unsigned depth;
    vg_err err;              /* first error; parsing stops at it */
    const vg_kql_node *refused;  /* first construct Vigil refuses (externaldata) */
} kql_parser;

/* A node under construction: children gathered in a growable arena array. */
typedef struct kql_nb {
    vg_kql_node *node;
    vg_kql_node **kids;
    uint32_t cap;
} kql_nb;

static inline const vg_kql_token *kql_peek(const kql_parser *P) { return &P->t[P->i]; }
static inline const vg_kql_token *kql_peek_at(const kql_parser *P, size_t k)
{
    return P->i + k < P->n ? &P->t[P->i + k] : &P->t[P->n - 1];
}
static inline bool kql_is(const kql_parser *P, vg_kql_tok k) { return P->t[P->i].kind == k; }
static inline const vg_kql_token *kql_next(kql_parser *P)
{
    const vg_kql_token *t = &P->t[P->i];
    if (P->i + 1 < P->n) P->i++;
    return t;
}

/* The identifier `w` (case-sensitive, as Kusto keywords are), not bracketed. */
bool kql_is_word(const kql_parser *P, const char *w);
bool kql_accept(kql_parser *P, vg_kql_tok k);
bool kql_accept_word(kql_parser *P, const char *w);
/* Consumes k or fails with "expected <what>, found <token>". */
bool kql_expect(kql_parser *P, vg_kql_tok k, const char *what);
bool kql_expect_word(kql_parser *P, const char *w);
/* Records a VG_EPARSE "line L, column C: expected <what>, found <token>" at the current token. */
void kql_fail_expected(kql_parser *P, const char *what);
void kql_fail_at(kql_parser *P, const vg_kql_token *t, vg_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Depth guard: false (and an error) when nesting passes VG_KQL_MAX_DEPTH. */
bool kql_enter(kql_parser *P);
static inline void kql_leave(kql_parser *P) { P->depth--; }

vg_kql_node *kql_node(kql_parser *P, vg_kql_kind k, const vg_kql_token *at);
bool kql_nb_start(kql_parser *P, kql_nb *b, vg_kql_kind k, const vg_kql_token *at);
bool kql_nb_add(kql_parser *P, kql_nb *b, const vg_kql_node *kid);
const vg_kql_node *kql_nb_done(kql_nb *b);
/* A node with up to three children (NULLs are skipped). */
vg_kql_node *kql_node3(kql_parser *P, vg_kql_kind k, const vg_kql_token *at, const vg_kql_node *a,
                       const vg_kql_node *b, const vg_kql_node *c);

/* kql_expr.c */
const vg_kql_node *kql_parse_expr(kql_parser *P);
/* An additive-level expression: no comparison, in, between, and, or. */
const vg_kql_node *kql_parse_operand(kql_parser *P);
/* An expression, or `name = expression` as ASSIGN; `(a, b) = expr` too. */
const vg_kql_node *kql_parse_named_expr(kql_parser *P);
/* Comma-separated kql_parse_named_expr into b until a token that is not ','. */
bool kql_parse_expr_list(kql_parser *P, kql_nb *b);
/* A name: identifier or bracketed identifier (keywords allowed). */
const vg_kql_node *kql_parse_name(kql_parser *P, const char *what);
/* dynamic(...) content (after the '(' ). */
const vg_kql_node *kql_parse_dynamic_value(kql_parser *P);

/* kql_parse.c */
/* A tabular expression: a source then '| operator' steps. */
const vg_kql_node *kql_parse_tabular(kql_parser *P);
/* True when the next tokens start datatable, externaldata, print, range or union. */
bool kql_at_tabular_source(const kql_parser *P);
/* Continues a pipeline whose source has been parsed already. */
const vg_kql_node *kql_parse_pipes(kql_parser *P, const vg_kql_node *source);

#endif
