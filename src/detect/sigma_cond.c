/*
 * sigma_cond.c - the Sigma condition: parser, evaluator and printer.
 *
 * The parser is recursive descent over a tiny lexer, with the usual Sigma
 * precedence (not > and > or) and the quantifiers `1 of X`, `any of X` and
 * `all of X` (X a search name, a pattern with `*`, or `them`) expanded on
 * the spot into OR / AND trees over the rule's searches, so that the
 * compiler only sees SG_COND_SEARCH/AND/OR/NOT. Depth is bounded by
 * SG_MAX_COND_DEPTH (parentheses and `not`), the text by SG_MAX_COND, and
 * the nodes by SG_LOAD_MAX_COND_NODES. A list of conditions is OR'ed.
 * Pipe aggregations (`| count() > 5`) are refused: correlation rules replace
 * them in Sigma v2.
 */
#include <stdio.h>
#include <string.h>

#include "sigma_load_int.h"

#define SG_LOAD_MAX_COND_NODES 65536   /* nodes of one rule's condition tree */

typedef enum tok_kind { T_END, T_LP, T_RP, T_PIPE, T_WORD } tok_kind;

typedef struct cparse {
    sg_ctx *c;
    const sn_node *at;       /* the condition's node, for positions */
    vg_str s;
    size_t pos;
    tok_kind tok;
    vg_str word;             /* T_WORD */
    size_t tok_pos;
    unsigned depth;
    uint32_t nodes;
} cparse;

static bool is_word_char(char ch)
{
    return ch != '(' && ch != ')' && ch != '|' && ch != ' ' && ch != '\t' && ch != '\n' &&
           ch != '\r' && ch != '\f' && ch != '\v';
}

static void next(cparse *p)
{
    while (p->pos < p->s.n && !is_word_char(p->s.p[p->pos]) && p->s.p[p->pos] != '(' &&
           p->s.p[p->pos] != ')' && p->s.p[p->pos] != '|')
        p->pos++;
    p->tok_pos = p->pos;
    if (p->pos >= p->s.n) {
        p->tok = T_END;
        return;
    }
    char ch = p->s.p[p->pos];
    if (ch == '(' || ch == ')' || ch == '|') {
        p->tok = ch == '(' ? T_LP : ch == ')' ? T_RP : T_PIPE;
        p->pos++;
        return;
    }
    size_t b = p->pos;
    while (p->pos < p->s.n && is_word_char(p->s.p[p->pos]))
        p->pos++;
    p->tok = T_WORD;
    p->word = vg_str_make(p->s.p + b, p->pos - b);
}

static bool is_kw(const cparse *p, const char *kw)
{
    return p->tok == T_WORD && vg_str_eqc_ci(p->word, kw);
}

static vg_err cfail(cparse *p, const char *what, vg_str name)
{
    if (name.p)
        return sg_fail(p->c, p->at, "condition: %s '%.*s' (line %u)", what,
                       (int)(name.n > 100 ? 100 : name.n), name.p, p->at->line);
    return sg_fail(p->c, p->at, "condition: %s at offset %zu (line %u)", what, p->tok_pos,
                   p->at->line);
}

static sg_cond *node(cparse *p, sg_cond_kind k, uint32_t search, sg_cond *a, sg_cond *b)
{
    if (p->nodes >= SG_LOAD_MAX_COND_NODES) {
        cfail(p, "too many nodes after expanding quantifiers", VG_STR_NULL);
        return NULL;
    }
    sg_cond *n = vg_arena_alloc(p->c->a, sizeof(*n));
    if (!n) {
        sg_nomem(p->c, p->at);
        return NULL;
    }
    p->nodes++;
    *n = (sg_cond){ k, search, a, b };
    return n;
}

/* A balanced tree of kind over the searches in idx[0..n). */
static sg_cond *tree(cparse *p, sg_cond_kind k, const uint32_t *idx, uint32_t n)
{
    if (n == 1)
        return node(p, SG_COND_SEARCH, idx[0], NULL, NULL);
    sg_cond *a = tree(p, k, idx, n / 2);
    sg_cond *b = a ? tree(p, k, idx + n / 2, n - n / 2) : NULL;
    return b ? node(p, k, 0, a, b) : NULL;
}

static sg_cond *quantifier(cparse *p, bool all)
{
    next(p);   /* the quantifier word */
    if (!is_kw(p, "of")) {
        cfail(p, all ? "expected 'of' after 'all'" : "expected 'of' after '1' / 'any'", VG_STR_NULL);
        return NULL;
    }
    next(p);
    if (p->tok != T_WORD) {
        cfail(p, "expected a search name, a pattern or 'them' after 'of'", VG_STR_NULL);
        return NULL;
    }
    const sg_rule *r = p->c->rule;
    bool them = is_kw(p, "them");
    vg_str pat = p->word;
    uint32_t idx[SG_MAX_SEARCHES], n = 0;
    for (uint32_t i = 0; i < r->nsearches && n < SG_MAX_SEARCHES; i++) {
        vg_str name = r->searches[i].name;
        if (them ? (name.n == 0 || name.p[0] != '_') : vg_str_wild_match(pat, name))
            idx[n++] = i;
    }
    if (n == 0) {
        cfail(p, them ? "'them' but the rule has no searches" : "no search matches", them ? VG_STR_NULL : pat);
        return NULL;
    }
    next(p);
    return tree(p, all ? SG_COND_AND : SG_COND_OR, idx, n);
}

static sg_cond *parse_or(cparse *p);

static sg_cond *parse_primary(cparse *p)
{
    if (p->tok == T_LP) {
        if (++p->depth > SG_MAX_COND_DEPTH) {
            cfail(p, "nesting deeper than SG_MAX_COND_DEPTH (64)", VG_STR_NULL);
            return NULL;
        }
        next(p);
        sg_cond *e = parse_or(p);
        if (!e)
            return NULL;
        if (p->tok != T_RP) {
            cfail(p, "expected ')'", VG_STR_NULL);
            return NULL;
        }
        p->depth--;
        next(p);
        return e;
    }
    if (p->tok == T_PIPE) {
        sg_fail(p->c, p->at, "condition: deprecated aggregation in condition; use a correlation "
                "rule (line %u)", p->at->line);
        return NULL;
    }
    if (p->tok != T_WORD) {
        cfail(p, p->tok == T_END ? "unexpected end" : "unexpected ')'", VG_STR_NULL);
        return NULL;
    }
    /* a quantifier, when the next word is `of` */
    if (vg_str_eqc(p->word, "1") || vg_str_eqc_ci(p->word, "any") || vg_str_eqc_ci(p->word, "all")) {
        size_t save = p->pos;
        vg_str w = p->word;
        cparse peek = *p;
        next(&peek);
        if (is_kw(&peek, "of")) {
            (void)save;
            return quantifier(p, vg_str_eqc_ci(w, "all"));
        }
    }
    if (is_kw(p, "and") || is_kw(p, "or") || is_kw(p, "of") || is_kw(p, "them")) {
        cfail(p, "unexpected keyword", p->word);
        return NULL;
    }
    const sg_rule *r = p->c->rule;
    for (uint32_t i = 0; i < r->nsearches; i++)
        if (vg_str_eq(r->searches[i].name, p->word)) {
            next(p);
            return node(p, SG_COND_SEARCH, i, NULL, NULL);
        }
    cfail(p, "unknown search", p->word);
    return NULL;
}

static sg_cond *parse_not(cparse *p)
{
    unsigned nots = 0;
    while (is_kw(p, "not")) {
        if (++p->depth > SG_MAX_COND_DEPTH) {
            cfail(p, "nesting deeper than SG_MAX_COND_DEPTH (64)", VG_STR_NULL);
            return NULL;
        }
        nots++;
        next(p);
    }
    sg_cond *e = parse_primary(p);
    for (; e && nots; nots--) {
        p->depth--;
        e = node(p, SG_COND_NOT, 0, e, NULL);
    }
    return e;
}

static sg_cond *parse_and(cparse *p)
{
    sg_cond *e = parse_not(p);
    while (e && is_kw(p, "and")) {
        next(p);
        sg_cond *b = parse_not(p);
        e = b ? node(p, SG_COND_AND, 0, e, b) : NULL;
    }
    return e;
}

static sg_cond *parse_or(cparse *p)
{
    sg_cond *e = parse_and(p);
    while (e && is_kw(p, "or")) {
        next(p);
        sg_cond *b = parse_and(p);
        e = b ? node(p, SG_COND_OR, 0, e, b) : NULL;
    }
    return e;
}

static vg_err parse_one(sg_ctx *c, const sn_node *n, uint32_t *nodes, sg_cond **out)
{
    if (n->kind != SN_SCALAR || sn_is_null(n))
        return sg_fail(c, n, "condition: must be a string or a list of strings");
    if (n->text.n > SG_MAX_COND)
        return sg_fail(c, n, "condition: longer than SG_MAX_COND (%d bytes)", SG_MAX_COND);
    cparse p = { .c = c, .at = n, .s = n->text, .nodes = *nodes };
    next(&p);
    if (p.tok == T_END)
        return sg_fail(c, n, "condition: empty");
    sg_cond *e = parse_or(&p);
    if (!e)
        return c->nomem ? VG_ENOMEM : VG_EPARSE;
    if (p.tok == T_PIPE)
        return sg_fail(c, n, "condition: deprecated aggregation in condition; use a correlation "
                       "rule (line %u)", n->line);
    if (p.tok != T_END) {
        cfail(&p, p.tok == T_RP ? "unbalanced ')'" : "expected 'and', 'or' or the end",
              p.tok == T_WORD ? p.word : VG_STR_NULL);
        return VG_EPARSE;
    }
    *nodes = p.nodes;
    *out = e;
    return VG_OK;
}

vg_err sg_cond_build(sg_ctx *c, const sn_node *cond, sg_cond **out)
{
    *out = NULL;
    uint32_t nodes = 0;
    if (cond->kind != SN_SEQ)
        return parse_one(c, cond, &nodes, out);
    if (cond->n == 0)
        return sg_fail(c, cond, "condition: empty list");
    for (uint32_t i = 0; i < cond->n; i++) {
        sg_cond *e;
        vg_err err = parse_one(c, cond->kids[i], &nodes, &e);
        if (err)
            return err;
        if (*out) {
            cparse p = { .c = c, .at = cond, .nodes = nodes };
            e = node(&p, SG_COND_OR, 0, *out, e);
            nodes = p.nodes;
            if (!e)
                return c->nomem ? VG_ENOMEM : VG_EPARSE;
        }
        *out = e;
    }
    return VG_OK;
}

bool sg_cond_eval(const sg_cond *c, const bool *search_true)
{
    /* the right operand recurses; chains (left-deep from the parser) loop */
    for (;;) {
        switch (c->kind) {
        case SG_COND_SEARCH:
            return search_true[c->search];
        case SG_COND_NOT:
            return !sg_cond_eval(c->a, search_true);
        case SG_COND_AND:
            if (!sg_cond_eval(c->b, search_true))
                return false;
            c = c->a;
            break;
        case SG_COND_OR:
            if (sg_cond_eval(c->b, search_true))
                return true;
            c = c->a;
            break;
        default:
            return false;
        }
    }
}

void sg_cond_format(const sg_rule *r, const sg_cond *c, vg_buf *out)
{
    if (!c) {
        vg_buf_puts(out, "?");
        return;
    }
    switch (c->kind) {
    case SG_COND_SEARCH:
        if (c->search < r->nsearches)
            vg_buf_putstr(out, r->searches[c->search].name);
        else
            vg_buf_printf(out, "#%u", c->search);
        return;
    case SG_COND_NOT:
        vg_buf_puts(out, "not ");
        sg_cond_format(r, c->a, out);
        return;
    case SG_COND_AND:
    case SG_COND_OR:
        vg_buf_putc(out, '(');
        sg_cond_format(r, c->a, out);
        vg_buf_puts(out, c->kind == SG_COND_AND ? " and " : " or ");
        sg_cond_format(r, c->b, out);
        vg_buf_putc(out, ')');
        return;
    }
}
