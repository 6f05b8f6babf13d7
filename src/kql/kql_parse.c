/*
 * kql_parse.c - statements, tabular sources and the '|' operators of KQL.
 *
 * vg_kql_parse() lexes the query, then parses statements separated by ';'
 * (let, set, and the tabular expression that produces the result). Each
 * tabular operator has one parsing function, found through the `ops` table
 * by its keyword. Scalar expressions come from kql_expr.c. The first error
 * stops the parse and is the one reported, with its line:column.
 */
#include "kql/kql_int.h"

typedef const vg_kql_node *(*op_fn)(kql_parser *P, const vg_kql_token *kw);

/* A table name, possibly with '*' wildcards glued to it (Device*, *Events). */
static const vg_kql_node *table_pattern(kql_parser *P, const char *what)
{
    const vg_kql_token *t = kql_peek(P);
    if (t->kind != VG_KQL_T_IDENT && t->kind != VG_KQL_T_STAR) { kql_fail_expected(P, what); return NULL; }
    size_t start = t->text.p - P->t[0].text.p, end = start;
    bool bracketed = t->flags & VG_KQL_TOKF_BRACKETED;
    kql_next(P);
    end = start + t->text.n;
    if (!bracketed) {
        while (1) {
            const vg_kql_token *u = kql_peek(P);
            if ((u->kind == VG_KQL_T_IDENT || u->kind == VG_KQL_T_STAR) && !(u->flags & VG_KQL_TOKF_SPACE_BEFORE) &&
                !(u->flags & VG_KQL_TOKF_BRACKETED) && (size_t)(u->text.p - P->t[0].text.p) == end &&
                (u->kind == VG_KQL_T_STAR || P->t[P->i - 1].kind == VG_KQL_T_STAR)) {
                kql_next(P);
                end += u->text.n;
            } else {
                break;
            }
        }
    }
    vg_kql_node *n = kql_node(P, VG_KQL_TABLE, t);
    if (!n) return NULL;
    n->name = bracketed ? t->value : vg_str_make(P->t[0].text.p + start, end - start);
    if (n->name.n == 1 && n->name.p[0] == '*' && !bracketed) n->name = vg_str_c("*");
    return n;
}

/* name=value options: kind=inner, withsource=T, hint.strategy=shuffle, ... */
static bool is_option_start(kql_parser *P, const char *const *names)
{
    const vg_kql_token *t = kql_peek(P);
    if (t->kind != VG_KQL_T_IDENT || (t->flags & VG_KQL_TOKF_BRACKETED)) return false;
    if (vg_str_eqc(t->value, "hint") && kql_peek_at(P, 1)->kind == VG_KQL_T_DOT) return true;
    if (kql_peek_at(P, 1)->kind != VG_KQL_T_EQ) return false;
    for (size_t k = 0; names && names[k]; k++)
        if (vg_str_eqc(t->value, names[k])) return true;
    return false;
}

static const vg_kql_node *options(kql_parser *P, const char *const *names)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, VG_KQL_LIST, kql_peek(P))) return NULL;
    while (P->err == VG_OK && is_option_start(P, names)) {
        const vg_kql_token *t = kql_next(P);
        vg_str name = t->value;
        if (kql_is(P, VG_KQL_T_DOT)) {   /* hint.xxx */
            kql_next(P);
            const vg_kql_token *u = kql_peek(P);
            if (u->kind != VG_KQL_T_IDENT) { kql_fail_expected(P, "a hint name after 'hint.'"); return NULL; }
            kql_next(P);
            name = vg_str_make(t->text.p, (size_t)(u->text.p + u->text.n - t->text.p));
        }
        if (!kql_expect(P, VG_KQL_T_EQ, "'='")) return NULL;
        const vg_kql_token *v = kql_peek(P);
        const vg_kql_node *val;
        if (v->kind == VG_KQL_T_IDENT) {   /* kind=leftouter: a bare word */
            kql_next(P);
            vg_kql_node *w = kql_node(P, VG_KQL_NAME, v);
            if (w) w->name = v->value;
            val = w;
        } else {
            val = kql_parse_expr(P);
        }
        vg_kql_node *o = kql_node3(P, VG_KQL_OPTION, t, val, NULL, NULL);
        if (!o || P->err) return NULL;
        o->name = name;
        if (!kql_nb_add(P, &b, o)) return NULL;
    }
    return P->err ? NULL : b.node;
}

/* At the end of an operator: Kusto allows empty lists there (T | project). */
static bool at_op_end(const kql_parser *P)
{
    switch (kql_peek(P)->kind) {
    case VG_KQL_T_PIPE: case VG_KQL_T_EOF: case VG_KQL_T_SEMI: case VG_KQL_T_RPAREN: case VG_KQL_T_RBRACE:
        return true;
    default:
        return false;
    }
}

static const vg_kql_node *one_kid(kql_parser *P, vg_kql_kind k, const vg_kql_token *kw,
                                  const vg_kql_node *kid)
{
    if (!kid || P->err) return NULL;
    return kql_node3(P, k, kw, kid, NULL, NULL);
}

static const vg_kql_node *op_where(kql_parser *P, const vg_kql_token *kw)
{
    return one_kid(P, VG_KQL_WHERE, kw, kql_parse_expr(P));
}

static const vg_kql_node *list_op(kql_parser *P, const vg_kql_token *kw, vg_kql_kind k)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, k, kw)) return NULL;
    if (!(k == VG_KQL_PROJECT && at_op_end(P)) && !kql_parse_expr_list(P, &b)) return NULL;
    return b.node;
}

static const vg_kql_node *op_project(kql_parser *P, const vg_kql_token *kw) { return list_op(P, kw, VG_KQL_PROJECT); }
static const vg_kql_node *op_extend(kql_parser *P, const vg_kql_token *kw) { return list_op(P, kw, VG_KQL_EXTEND); }

static const vg_kql_node *name_patterns(kql_parser *P, const vg_kql_token *kw, vg_kql_kind k, bool dirs)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, k, kw)) return NULL;
    if (at_op_end(P)) return b.node;
    do {
        const vg_kql_node *t = table_pattern(P, "a column name");
        if (!t) return NULL;
        vg_kql_node *n = (vg_kql_node *)t;
        n->kind = VG_KQL_NAME;
        if (dirs && (kql_is_word(P, "asc") || kql_is_word(P, "desc") || kql_is_word(P, "granny-asc") ||
                     kql_is_word(P, "granny-desc"))) {
            bool desc = kql_is_word(P, "desc");
            kql_next(P);
            vg_kql_node *sk = kql_node3(P, VG_KQL_SORT_KEY, kw, n, NULL, NULL);
            if (!sk) return NULL;
            sk->pos = n->pos;
            sk->op = desc ? VG_KQL_SORT_DESC : VG_KQL_SORT_ASC;
            n = sk;
        }
        if (!kql_nb_add(P, &b, n)) return NULL;
    } while (kql_accept(P, VG_KQL_T_COMMA));
    return b.node;
}

static const vg_kql_node *op_project_away(kql_parser *P, const vg_kql_token *kw) { return name_patterns(P, kw, VG_KQL_PROJECT_AWAY, false); }
static const vg_kql_node *op_project_keep(kql_parser *P, const vg_kql_token *kw) { return name_patterns(P, kw, VG_KQL_PROJECT_KEEP, false); }
static const vg_kql_node *op_project_reorder(kql_parser *P, const vg_kql_token *kw) { return name_patterns(P, kw, VG_KQL_PROJECT_REORDER, true); }

static const vg_kql_node *op_project_rename(kql_parser *P, const vg_kql_token *kw)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, VG_KQL_PROJECT_RENAME, kw)) return NULL;
    do {
        const vg_kql_token *t = kql_peek(P);
        const vg_kql_node *to = kql_parse_name(P, "a new column name");
        const vg_kql_token *eq = kql_peek(P);
        if (!to || !kql_expect(P, VG_KQL_T_EQ, "'='")) return NULL;
        const vg_kql_node *from = kql_parse_name(P, "the column to rename");
        vg_kql_node *a = kql_node3(P, VG_KQL_ASSIGN, eq, to, from, NULL);
        if (!a || P->err) return NULL;
        a->pos = t->pos;
        if (!kql_nb_add(P, &b, a)) return NULL;
    } while (kql_accept(P, VG_KQL_T_COMMA));
    return b.node;
}

static const char *const summarize_opts[] = { NULL };

static const vg_kql_node *op_summarize(kql_parser *P, const vg_kql_token *kw)
{
    const vg_kql_node *opts = options(P, summarize_opts);
    kql_nb aggs, by;
    if (!opts || !kql_nb_start(P, &aggs, VG_KQL_LIST, kql_peek(P))) return NULL;
    if (!kql_is_word(P, "by") && !at_op_end(P) && !kql_parse_expr_list(P, &aggs)) return NULL;
    if (!kql_nb_start(P, &by, VG_KQL_LIST, kql_peek(P))) return NULL;
    if (kql_accept_word(P, "by") && !kql_parse_expr_list(P, &by)) return NULL;
    return kql_node3(P, VG_KQL_SUMMARIZE, kw, opts, aggs.node, by.node);
}

static const vg_kql_node *op_count(kql_parser *P, const vg_kql_token *kw)
{
    vg_kql_node *n = kql_node(P, VG_KQL_COUNT, kw);
    if (n && kql_accept_word(P, "as")) {   /* count as Name: the result column's name */
        const vg_kql_token *t = kql_peek(P);
        if (!kql_parse_name(P, "a column name after 'as'")) return NULL;
        n->name = t->value;
    }
    return n;
}

static const vg_kql_node *op_take(kql_parser *P, const vg_kql_token *kw)
{
    return one_kid(P, VG_KQL_TAKE, kw, kql_parse_expr(P));
}

static const vg_kql_node *op_sample(kql_parser *P, const vg_kql_token *kw)
{
    return one_kid(P, VG_KQL_SAMPLE, kw, kql_parse_expr(P));
}

static const vg_kql_node *sort_key(kql_parser *P)
{
    const vg_kql_node *e = kql_parse_expr(P);
    if (!e) return NULL;
    vg_kql_node *k = kql_node3(P, VG_KQL_SORT_KEY, kql_peek(P), e, NULL, NULL);
    if (!k) return NULL;
    k->pos = e->pos;
    if (kql_accept_word(P, "asc")) k->op |= VG_KQL_SORT_ASC;
    else if (kql_accept_word(P, "desc")) k->op |= VG_KQL_SORT_DESC;
    if (kql_accept_word(P, "nulls")) {
        if (kql_accept_word(P, "first")) k->op |= VG_KQL_SORT_NULLS_FIRST;
        else if (kql_accept_word(P, "last")) k->op |= VG_KQL_SORT_NULLS_LAST;
        else { kql_fail_expected(P, "'first' or 'last' after 'nulls'"); return NULL; }
    }
    return k;
}

static const vg_kql_node *op_top(kql_parser *P, const vg_kql_token *kw)
{
    const vg_kql_node *n = kql_parse_expr(P);
    if (!n || !kql_expect_word(P, "by")) return NULL;
    const vg_kql_node *k = sort_key(P);
    if (!k) return NULL;
    return kql_node3(P, VG_KQL_TOP, kw, n, k, NULL);
}

static const vg_kql_node *op_sort(kql_parser *P, const vg_kql_token *kw)
{
    options(P, summarize_opts);
    if (!kql_expect_word(P, "by")) return NULL;
    kql_nb b;
    if (!kql_nb_start(P, &b, VG_KQL_SORT, kw)) return NULL;
    do {
        if (!kql_nb_add(P, &b, sort_key(P))) return NULL;
    } while (kql_accept(P, VG_KQL_T_COMMA));
    return b.node;
}

static const vg_kql_node *op_distinct(kql_parser *P, const vg_kql_token *kw)
{
    if (kql_is(P, VG_KQL_T_STAR)) {
        const vg_kql_token *s = kql_next(P);
        return one_kid(P, VG_KQL_DISTINCT, kw, kql_node(P, VG_KQL_STAR, s));
    }
    return list_op(P, kw, VG_KQL_DISTINCT);
}

/* The right side of join/lookup or an operand of union: (sub-query) or a
 * table name; wildcards (Device*) only in union, as in Kusto. */
static const vg_kql_node *tabular_operand(kql_parser *P, bool wildcards)
{
    if (kql_is(P, VG_KQL_T_LPAREN)) {
        const vg_kql_token *t = kql_next(P);
        if (!kql_enter(P)) return NULL;
        const vg_kql_node *q = kql_parse_tabular(P);
        kql_leave(P);
        (void)t;
        if (!q || !kql_expect(P, VG_KQL_T_RPAREN, "')'")) return NULL;
        return q;
    }
    const vg_kql_token *t = kql_peek(P);
    const vg_kql_node *n = table_pattern(P, "a table name or '(' sub-query ')'");
    if (n && !wildcards && memchr(n->name.p, '*', n->name.n) && !(t->flags & VG_KQL_TOKF_BRACKETED)) {
        kql_fail_at(P, t, VG_EPARSE, "expected a table name, found '%.*s' (wildcards are allowed only in union)",
                    VG_STR_FMT(n->name));
        return NULL;
    }
    return n;
}

static const char *const join_opts[] = { "kind", "withsource", NULL };

static const vg_kql_node *join_like(kql_parser *P, const vg_kql_token *kw, vg_kql_kind k)
{
    const vg_kql_node *opts = options(P, join_opts);
    if (!opts) return NULL;
    const vg_kql_node *right = tabular_operand(P, false);
    if (!right) return NULL;
    kql_nb on;
    if (!kql_nb_start(P, &on, VG_KQL_LIST, kql_peek(P))) return NULL;
    if (!kql_expect_word(P, "on")) return NULL;
    if (!kql_parse_expr_list(P, &on)) return NULL;
    return kql_node3(P, k, kw, opts, right, on.node);
}

static const vg_kql_node *op_join(kql_parser *P, const vg_kql_token *kw) { return join_like(P, kw, VG_KQL_JOIN); }
static const vg_kql_node *op_lookup(kql_parser *P, const vg_kql_token *kw) { return join_like(P, kw, VG_KQL_LOOKUP); }

static const char *const union_opts[] = { "kind", "withsource", "isfuzzy", NULL };

static const vg_kql_node *union_like(kql_parser *P, const vg_kql_token *kw, vg_kql_kind k)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, k, kw) || !kql_nb_add(P, &b, options(P, union_opts))) return NULL;
    do {
        if (!kql_nb_add(P, &b, tabular_operand(P, true))) return NULL;
    } while (kql_accept(P, VG_KQL_T_COMMA));
    return b.node;
}

static const vg_kql_node *op_union(kql_parser *P, const vg_kql_token *kw) { return union_like(P, kw, VG_KQL_UNION_OP); }

/* mv-expand / mv-apply items: expr [to typeof(type)] */
static bool mv_items(kql_parser *P, kql_nb *b)
{
    do {
        const vg_kql_token *t = kql_peek(P);
        const vg_kql_node *e = kql_parse_named_expr(P);
        if (!e) return false;
        vg_kql_node *it = kql_node3(P, VG_KQL_MV_ITEM, t, e, NULL, NULL);
        if (!it) return false;
        if (kql_accept_word(P, "to")) {
            if (!kql_expect_word(P, "typeof") || !kql_expect(P, VG_KQL_T_LPAREN, "'('")) return false;
            const vg_kql_token *ty = kql_peek(P);
            if (ty->kind != VG_KQL_T_IDENT) { kql_fail_expected(P, "a type name"); return false; }
            kql_next(P);
            it->text = ty->value;
            if (!kql_expect(P, VG_KQL_T_RPAREN, "')'")) return false;
        }
        if (!kql_nb_add(P, b, it)) return false;
    } while (kql_accept(P, VG_KQL_T_COMMA));
    return true;
}

static const char *const mv_opts[] = { "bagexpansion", "with_itemindex", "kind", NULL };

static const vg_kql_node *op_mv_expand(kql_parser *P, const vg_kql_token *kw)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, VG_KQL_MV_EXPAND, kw) || !kql_nb_add(P, &b, options(P, mv_opts))) return NULL;
    if (!mv_items(P, &b)) return NULL;
    if (kql_is_word(P, "limit")) {
        const vg_kql_token *t = kql_next(P);
        vg_kql_node *o = kql_node3(P, VG_KQL_OPTION, t, kql_parse_expr(P), NULL, NULL);
        if (!o || P->err) return NULL;
        o->name = vg_str_c("limit");
        vg_kql_node *opts = (vg_kql_node *)b.node->kids[0];
        kql_nb ob = { opts, (vg_kql_node **)opts->kids, opts->n };
        if (!kql_nb_add(P, &ob, o)) return NULL;
    }
    return b.node;
}

static const vg_kql_node *op_list(kql_parser *P, const vg_kql_token *at);

static const vg_kql_node *op_mv_apply(kql_parser *P, const vg_kql_token *kw)
{
    const vg_kql_node *opts = options(P, mv_opts);
    kql_nb items;
    if (!opts || !kql_nb_start(P, &items, VG_KQL_LIST, kql_peek(P)) || !mv_items(P, &items)) return NULL;
    if (!kql_expect_word(P, "on") || !kql_expect(P, VG_KQL_T_LPAREN, "'('")) return NULL;
    const vg_kql_node *sub = op_list(P, kql_peek(P));
    if (!sub || !kql_expect(P, VG_KQL_T_RPAREN, "')'")) return NULL;
    return kql_node3(P, VG_KQL_MV_APPLY, kw, opts, items.node, sub);
}

static const char *const parse_opts[] = { "kind", "flags", NULL };

static const vg_kql_node *parse_like(kql_parser *P, const vg_kql_token *kw, vg_kql_kind k)
{
    const vg_kql_node *opts = options(P, parse_opts);
    if (!opts) return NULL;
    const vg_kql_node *src = kql_parse_expr(P);
    if (!src || !kql_expect_word(P, "with")) return NULL;
    kql_nb pat;
    if (!kql_nb_start(P, &pat, VG_KQL_LIST, kql_peek(P))) return NULL;
    while (P->err == VG_OK) {
        const vg_kql_token *t = kql_peek(P);
        if (t->kind == VG_KQL_T_STRING) {
            kql_next(P);
            vg_kql_node *s = kql_node(P, VG_KQL_STRING, t);
            if (!s) return NULL;
            s->name = t->value;
            if (!kql_nb_add(P, &pat, s)) return NULL;
        } else if (t->kind == VG_KQL_T_STAR) {
            kql_next(P);
            if (!kql_nb_add(P, &pat, kql_node(P, VG_KQL_STAR, t))) return NULL;
        } else if (t->kind == VG_KQL_T_IDENT) {
            kql_next(P);
            vg_kql_node *c = kql_node(P, VG_KQL_PARAM, t);
            if (!c) return NULL;
            c->name = t->value;
            if (kql_accept(P, VG_KQL_T_COLON)) {
                const vg_kql_token *ty = kql_peek(P);
                if (ty->kind != VG_KQL_T_IDENT) { kql_fail_expected(P, "a type name after ':'"); return NULL; }
                kql_next(P);
                c->text = ty->value;
            }
            if (!kql_nb_add(P, &pat, c)) return NULL;
        } else {
            break;
        }
        kql_accept(P, VG_KQL_T_COMMA);
    }
    return kql_node3(P, k, kw, opts, src, pat.node);
}

static const vg_kql_node *op_parse(kql_parser *P, const vg_kql_token *kw) { return parse_like(P, kw, VG_KQL_PARSE); }
static const vg_kql_node *op_parse_where(kql_parser *P, const vg_kql_token *kw) { return parse_like(P, kw, VG_KQL_PARSE_WHERE); }

static const char *const make_series_opts[] = { "kind", NULL };

static const vg_kql_node *op_make_series(kql_parser *P, const vg_kql_token *kw)
{
    kql_nb b, aggs, range, by;
    if (!kql_nb_start(P, &b, VG_KQL_MAKE_SERIES, kw) || !kql_nb_add(P, &b, options(P, make_series_opts))) return NULL;
    if (!kql_nb_start(P, &aggs, VG_KQL_LIST, kql_peek(P))) return NULL;
    do {
        const vg_kql_node *e = kql_parse_named_expr(P);
        if (!e) return NULL;
        if (kql_is_word(P, "default") && kql_peek_at(P, 1)->kind == VG_KQL_T_EQ) {
            const vg_kql_token *d = kql_next(P);
            kql_next(P);
            vg_kql_node *dn = kql_node3(P, VG_KQL_DEFAULT, d, e, kql_parse_expr(P), NULL);
            if (!dn || P->err) return NULL;
            dn->pos = e->pos;
            e = dn;
        }
        if (!kql_nb_add(P, &aggs, e)) return NULL;
    } while (kql_accept(P, VG_KQL_T_COMMA));
    if (!kql_nb_add(P, &b, aggs.node) || !kql_expect_word(P, "on")) return NULL;
    /* the axis stops before 'in range(...)', so no comparison level here */
    if (!kql_nb_add(P, &b, kql_parse_operand(P))) return NULL;
    if (!kql_nb_start(P, &range, VG_KQL_LIST, kql_peek(P))) return NULL;
    if (kql_accept(P, VG_KQL_T_IN)) {
        const vg_kql_token *r = kql_peek(P);
        const vg_kql_node *call = kql_parse_expr(P);
        if (!call) return NULL;
        if (call->kind != VG_KQL_CALL || !vg_str_eqc(call->name, "range")) {
            kql_fail_at(P, r, VG_EPARSE, "expected range(start, stop, step) after 'in'");
            return NULL;
        }
        if (!kql_nb_add(P, &range, call)) return NULL;
    } else {
        static const char *const words[] = { "from", "to", "step" };
        for (int k = 0; k < 3; k++) {
            const vg_kql_token *w = kql_peek(P);
            if (!kql_accept_word(P, words[k])) {
                if (k < 2) continue;   /* from/to are optional, step is not */
                kql_expect_word(P, "step");
                return NULL;
            }
            vg_kql_node *o = kql_node3(P, VG_KQL_OPTION, w, kql_parse_expr(P), NULL, NULL);
            if (!o || P->err) return NULL;
            o->name = vg_str_c(words[k]);
            if (!kql_nb_add(P, &range, o)) return NULL;
        }
    }
    if (!kql_nb_add(P, &b, range.node) || !kql_nb_start(P, &by, VG_KQL_LIST, kql_peek(P))) return NULL;
    if (kql_accept_word(P, "by") && !kql_parse_expr_list(P, &by)) return NULL;
    if (!kql_nb_add(P, &b, by.node)) return NULL;
    return b.node;
}

static const vg_kql_node *op_evaluate(kql_parser *P, const vg_kql_token *kw)
{
    const vg_kql_node *opts = options(P, summarize_opts);
    const vg_kql_token *t = kql_peek(P);
    if (!opts) return NULL;
    if (t->kind != VG_KQL_T_IDENT || kql_peek_at(P, 1)->kind != VG_KQL_T_LPAREN) {
        kql_fail_expected(P, "a plugin call such as bag_unpack(Column)");
        return NULL;
    }
    const vg_kql_node *call = kql_parse_expr(P);
    if (!call) return NULL;
    return kql_node3(P, VG_KQL_EVALUATE, kw, opts, call, NULL);
}

static const char *const as_opts[] = { NULL };

static const vg_kql_node *op_as(kql_parser *P, const vg_kql_token *kw)
{
    const vg_kql_node *opts = options(P, as_opts);
    const vg_kql_token *t = kql_peek(P);
    if (!opts || !kql_parse_name(P, "a name after 'as'")) return NULL;
    vg_kql_node *n = kql_node3(P, VG_KQL_AS, kw, opts, NULL, NULL);
    if (n) n->name = t->value;
    return n;
}

static const vg_kql_node *op_serialize(kql_parser *P, const vg_kql_token *kw)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, VG_KQL_SERIALIZE, kw)) return NULL;
    if (kql_is(P, VG_KQL_T_IDENT) && !kql_parse_expr_list(P, &b)) return NULL;
    return b.node;
}

static const vg_kql_node *op_getschema(kql_parser *P, const vg_kql_token *kw)
{
    return kql_node(P, VG_KQL_GETSCHEMA, kw);
}

static const vg_kql_node *op_render(kql_parser *P, const vg_kql_token *kw)
{
    const vg_kql_token *t = kql_peek(P);
    if (t->kind != VG_KQL_T_IDENT) { kql_fail_expected(P, "a chart kind such as timechart"); return NULL; }
    kql_next(P);
    kql_nb props;
    if (!kql_nb_start(P, &props, VG_KQL_LIST, kql_peek(P))) return NULL;
    if (kql_accept_word(P, "with")) {
        if (!kql_expect(P, VG_KQL_T_LPAREN, "'(' after 'with'")) return NULL;
        do {
            const vg_kql_token *p = kql_peek(P);
            if (!kql_parse_name(P, "a render property") || !kql_expect(P, VG_KQL_T_EQ, "'='")) return NULL;
            kql_nb vals;
            if (!kql_nb_start(P, &vals, VG_KQL_LIST, kql_peek(P))) return NULL;
            /* ycolumns=a, b: a list continues while no 'name =' follows */
            do {
                if (!kql_nb_add(P, &vals, kql_parse_expr(P))) return NULL;
            } while (kql_is(P, VG_KQL_T_COMMA) && kql_peek_at(P, 1)->kind == VG_KQL_T_IDENT &&
                     kql_peek_at(P, 2)->kind != VG_KQL_T_EQ && kql_accept(P, VG_KQL_T_COMMA));
            vg_kql_node *o = kql_node3(P, VG_KQL_OPTION, p, vals.node->n == 1 ? vals.node->kids[0] : vals.node,
                                       NULL, NULL);
            if (!o) return NULL;
            o->name = p->value;
            if (!kql_nb_add(P, &props, o)) return NULL;
        } while (kql_accept(P, VG_KQL_T_COMMA));
        if (!kql_expect(P, VG_KQL_T_RPAREN, "',' or ')'")) return NULL;
    }
    vg_kql_node *n = kql_node3(P, VG_KQL_RENDER, kw, props.node, NULL, NULL);
    if (n) n->name = t->value;
    return n;
}

static const vg_kql_node *op_invoke(kql_parser *P, const vg_kql_token *kw)
{
    if (!kql_is(P, VG_KQL_T_IDENT) || kql_peek_at(P, 1)->kind != VG_KQL_T_LPAREN) {
        kql_fail_expected(P, "a function call after 'invoke'");
        return NULL;
    }
    return one_kid(P, VG_KQL_INVOKE, kw, kql_parse_expr(P));
}

static const vg_kql_node *op_sample_distinct(kql_parser *P, const vg_kql_token *kw)
{
    const vg_kql_node *n = kql_parse_expr(P);
    if (!n || !kql_expect_word(P, "of")) return NULL;
    const vg_kql_node *c = kql_parse_expr(P);
    if (!c) return NULL;
    return kql_node3(P, VG_KQL_SAMPLE_DISTINCT, kw, n, c, NULL);
}

static const struct { const char *name; op_fn fn; } ops[] = {
    { "where", op_where }, { "filter", op_where },
    { "project", op_project }, { "project-away", op_project_away },
    { "project-keep", op_project_keep }, { "project-rename", op_project_rename },
    { "project-reorder", op_project_reorder }, { "extend", op_extend },
    { "summarize", op_summarize }, { "count", op_count },
    { "take", op_take }, { "limit", op_take }, { "top", op_top },
    { "sort", op_sort }, { "order", op_sort }, { "distinct", op_distinct },
    { "join", op_join }, { "lookup", op_lookup }, { "union", op_union },
    { "mv-expand", op_mv_expand }, { "mv-apply", op_mv_apply },
    { "parse", op_parse }, { "parse-where", op_parse_where },
    { "make-series", op_make_series }, { "evaluate", op_evaluate },
    { "as", op_as }, { "serialize", op_serialize }, { "getschema", op_getschema },
    { "render", op_render }, { "invoke", op_invoke }, { "sample", op_sample },
    { "sample-distinct", op_sample_distinct },
};

/* Known Kusto operators that Vigil does not run. */
static const char *const refused_ops[] = {
    "top-nested", "top-hitters", "partition", "fork", "facet", "find", "search", "scan",
    "make-graph", "graph-match", "parse-kv", "project-smart", "reduce", "consume", "lookup-v2",
};

static const vg_kql_node *operator(kql_parser *P)
{
    const vg_kql_token *kw = kql_peek(P);
    if (kw->kind != VG_KQL_T_IDENT || (kw->flags & VG_KQL_TOKF_BRACKETED)) {
        kql_fail_expected(P, "a tabular operator after '|'");
        return NULL;
    }
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        if (vg_str_eqc(kw->value, ops[k].name)) {
            kql_next(P);
            if (!kql_enter(P)) return NULL;
            const vg_kql_node *n = ops[k].fn(P, kw);
            kql_leave(P);
            return P->err ? NULL : n;
        }
    }
    for (size_t k = 0; k < sizeof refused_ops / sizeof refused_ops[0]; k++) {
        if (vg_str_eqc(kw->value, refused_ops[k])) {
            kql_fail_at(P, kw, VG_EUNSUPPORTED, "operator '%s' is not supported by Vigil", refused_ops[k]);
            return NULL;
        }
    }
    kql_fail_at(P, kw, VG_EPARSE,
                "unknown operator '%.*s' (expected a tabular operator such as where, project, summarize)",
                kw->value.n > 40 ? 40 : (int)kw->value.n, kw->value.p);
    return NULL;
}

/* op ('|' op)*: the body of mv-apply's on (...) */
static const vg_kql_node *op_list(kql_parser *P, const vg_kql_token *at)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, VG_KQL_LIST, at)) return NULL;
    do {
        if (!kql_nb_add(P, &b, operator(P))) return NULL;
    } while (kql_accept(P, VG_KQL_T_PIPE));
    return b.node;
}

const vg_kql_node *kql_parse_pipes(kql_parser *P, const vg_kql_node *source)
{
    if (!source || P->err) return NULL;
    if (!kql_is(P, VG_KQL_T_PIPE)) return source;
    kql_nb b;
    /* a bare name at the head of a pipeline names a table or a let-bound tabular value */
    if (source->kind == VG_KQL_NAME) ((vg_kql_node *)source)->kind = VG_KQL_TABLE;
    if (!kql_nb_start(P, &b, VG_KQL_PIPELINE, kql_peek(P)) || !kql_nb_add(P, &b, source)) return NULL;
    b.node->pos = source->pos;
    while (kql_accept(P, VG_KQL_T_PIPE))
        if (!kql_nb_add(P, &b, operator(P))) return NULL;
    return b.node;
}

/* datatable (a:string, b:long) [ 'x', 1, ... ] */
static bool param_list(kql_parser *P, kql_nb *b, bool defaults);

static const vg_kql_node *src_datatable(kql_parser *P, const vg_kql_token *kw)
{
    kql_nb schema, vals;
    if (!kql_nb_start(P, &schema, VG_KQL_LIST, kql_peek(P))) return NULL;
    if (!kql_expect(P, VG_KQL_T_LPAREN, "'(' and the datatable schema") || !param_list(P, &schema, false))
        return NULL;
    if (!kql_nb_start(P, &vals, VG_KQL_LIST, kql_peek(P))) return NULL;
    if (!kql_expect(P, VG_KQL_T_LBRACK, "'[' and the datatable values")) return NULL;
    if (!kql_is(P, VG_KQL_T_RBRACK)) {
        do {
            if (kql_is(P, VG_KQL_T_RBRACK)) break;   /* trailing comma */
            if (!kql_nb_add(P, &vals, kql_parse_expr(P))) return NULL;
        } while (kql_accept(P, VG_KQL_T_COMMA));
    }
    if (!kql_expect(P, VG_KQL_T_RBRACK, "',' or ']'")) return NULL;
    return kql_node3(P, VG_KQL_DATATABLE, kw, schema.node, vals.node, NULL);
}

static const vg_kql_node *src_externaldata(kql_parser *P, const vg_kql_token *kw)
{
    kql_nb schema, urls;
    if (!kql_nb_start(P, &schema, VG_KQL_LIST, kql_peek(P))) return NULL;
    if (!kql_expect(P, VG_KQL_T_LPAREN, "'(' and the externaldata schema") || !param_list(P, &schema, false))
        return NULL;
    if (!kql_nb_start(P, &urls, VG_KQL_LIST, kql_peek(P))) return NULL;
    if (!kql_expect(P, VG_KQL_T_LBRACK, "'[' and the storage URLs")) return NULL;
    do {
        if (!kql_nb_add(P, &urls, kql_parse_expr(P))) return NULL;
    } while (kql_accept(P, VG_KQL_T_COMMA));
    if (!kql_expect(P, VG_KQL_T_RBRACK, "',' or ']'")) return NULL;
    if (kql_accept_word(P, "with")) {
        if (!kql_expect(P, VG_KQL_T_LPAREN, "'(' after 'with'")) return NULL;
        kql_nb props;
        if (!kql_nb_start(P, &props, VG_KQL_LIST, kql_peek(P)) || !kql_parse_expr_list(P, &props)) return NULL;
        if (!kql_expect(P, VG_KQL_T_RPAREN, "',' or ')'")) return NULL;
    }
    vg_kql_node *n = kql_node3(P, VG_KQL_EXTERNALDATA, kw, schema.node, urls.node, NULL);
    if (n && !P->refused) P->refused = n;
    return n;
}

static const vg_kql_node *src_range(kql_parser *P, const vg_kql_token *kw)
{
    const vg_kql_token *c = kql_peek(P);
    if (!kql_parse_name(P, "a column name after 'range'") || !kql_expect_word(P, "from")) return NULL;
    const vg_kql_node *from = kql_parse_expr(P);
    if (!from || !kql_expect_word(P, "to")) return NULL;
    const vg_kql_node *to = kql_parse_expr(P);
    if (!to || !kql_expect_word(P, "step")) return NULL;
    vg_kql_node *n = kql_node3(P, VG_KQL_RANGE, kw, from, to, kql_parse_expr(P));
    if (!n || P->err) return NULL;
    n->name = c->value;
    return n;
}

static const vg_kql_node *src_print(kql_parser *P, const vg_kql_token *kw)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, VG_KQL_PRINT, kw) || !kql_parse_expr_list(P, &b)) return NULL;
    return b.node;
}

bool kql_at_tabular_source(const kql_parser *P)
{
    const vg_kql_token *t = kql_peek(P), *nx = kql_peek_at(P, 1);
    if (t->kind != VG_KQL_T_IDENT || (t->flags & VG_KQL_TOKF_BRACKETED)) return false;
    return ((vg_str_eqc(t->value, "datatable") || vg_str_eqc(t->value, "externaldata")) &&
            nx->kind == VG_KQL_T_LPAREN) ||
           (vg_str_eqc(t->value, "print") && nx->kind != VG_KQL_T_PIPE && nx->kind != VG_KQL_T_EQ &&
            nx->kind != VG_KQL_T_DOT && nx->kind != VG_KQL_T_LBRACK) ||
           (vg_str_eqc(t->value, "range") && nx->kind == VG_KQL_T_IDENT) ||
           (vg_str_eqc(t->value, "union") && nx->kind != VG_KQL_T_PIPE && nx->kind != VG_KQL_T_LPAREN &&
            nx->kind != VG_KQL_T_SEMI && nx->kind != VG_KQL_T_EOF && nx->kind != VG_KQL_T_RPAREN) ||
           (vg_str_eqc(t->value, "union") && nx->kind == VG_KQL_T_LPAREN);
}

const vg_kql_node *kql_parse_tabular(kql_parser *P)
{
    if (!kql_enter(P)) return NULL;
    const vg_kql_token *t = kql_peek(P);
    const vg_kql_token *nx = kql_peek_at(P, 1);
    const vg_kql_node *src = NULL;
    bool plain = kql_at_tabular_source(P);
    if (plain && vg_str_eqc(t->value, "datatable") && nx->kind == VG_KQL_T_LPAREN) {
        kql_next(P);
        src = src_datatable(P, t);
    } else if (plain && vg_str_eqc(t->value, "externaldata") && nx->kind == VG_KQL_T_LPAREN) {
        kql_next(P);
        src = src_externaldata(P, t);
    } else if (plain && vg_str_eqc(t->value, "print")) {
        kql_next(P);
        src = src_print(P, t);
    } else if (plain && vg_str_eqc(t->value, "range") && nx->kind == VG_KQL_T_IDENT) {
        kql_next(P);
        src = src_range(P, t);
    } else if (plain && vg_str_eqc(t->value, "union")) {
        kql_next(P);
        src = union_like(P, t, VG_KQL_UNION);
    } else {
        src = kql_parse_expr(P);
        if (src && src->kind == VG_KQL_NAME) ((vg_kql_node *)src)->kind = VG_KQL_TABLE;
    }
    const vg_kql_node *res = kql_parse_pipes(P, src);
    kql_leave(P);
    return P->err ? NULL : res;
}

/* name:type [= default], ... ')' ; types are names or (*) / (a:string, ...) */
static bool param_list(kql_parser *P, kql_nb *b, bool defaults)
{
    if (kql_accept(P, VG_KQL_T_RPAREN)) return true;
    do {
        const vg_kql_token *t = kql_peek(P);
        if (!kql_parse_name(P, "a parameter or column name") || !kql_expect(P, VG_KQL_T_COLON, "':' and a type"))
            return false;
        vg_kql_node *p = kql_node(P, VG_KQL_PARAM, t);
        if (!p) return false;
        p->name = t->value;
        const vg_kql_token *ty = kql_peek(P);
        if (ty->kind == VG_KQL_T_IDENT) {
            kql_next(P);
            p->text = ty->value;
        } else if (ty->kind == VG_KQL_T_LPAREN) {
            /* tabular parameter: (*) or (col:type, ...); kept as its spelling */
            int nest = 0;
            const vg_kql_token *last = ty;
            do {
                last = kql_next(P);
                if (last->kind == VG_KQL_T_LPAREN) nest++;
                else if (last->kind == VG_KQL_T_RPAREN) nest--;
                else if (last->kind == VG_KQL_T_EOF) { kql_fail_expected(P, "')'"); return false; }
            } while (nest > 0);
            p->text = vg_str_make(ty->text.p, (size_t)(last->text.p + last->text.n - ty->text.p));
        } else {
            kql_fail_expected(P, "a type name");
            return false;
        }
        if (defaults && kql_accept(P, VG_KQL_T_EQ)) {
            const vg_kql_node *dv = kql_parse_expr(P);
            if (!dv) return false;
            vg_kql_node **k = vg_arena_alloc(P->a, sizeof *k);
            if (!k) { kql_fail_at(P, t, VG_ENOMEM, "out of memory while parsing the query"); return false; }
            k[0] = (vg_kql_node *)dv;
            p->kids = (const vg_kql_node *const *)k;
            p->n = 1;
            p->height = dv->height + 1;   /* dv is an expression: at most the limit set by its own parse */
        }
        if (!kql_nb_add(P, b, p)) return false;
    } while (kql_accept(P, VG_KQL_T_COMMA));
    return kql_expect(P, VG_KQL_T_RPAREN, "',' or ')'");
}

static const vg_kql_node *statements(kql_parser *P, const vg_kql_token *at, vg_kql_tok end);

static bool looks_like_function(const kql_parser *P)
{
    if (kql_peek(P)->kind != VG_KQL_T_LPAREN) return false;
    vg_kql_tok a = kql_peek_at(P, 1)->kind, b = kql_peek_at(P, 2)->kind;
    if (a == VG_KQL_T_IDENT && b == VG_KQL_T_COLON) return true;
    /* otherwise: a '{' right after the matching ')' (a flat scan, no recursion) */
    size_t k = 1;
    for (int nest = 1; nest > 0; k++) {
        vg_kql_tok t = kql_peek_at(P, k)->kind;
        if (t == VG_KQL_T_EOF) return false;
        if (t == VG_KQL_T_LPAREN) nest++;
        else if (t == VG_KQL_T_RPAREN) nest--;
    }
    return kql_peek_at(P, k)->kind == VG_KQL_T_LBRACE;
}

static const vg_kql_node *stmt_let(kql_parser *P, const vg_kql_token *kw)
{
    const vg_kql_token *name = kql_peek(P);
    if (!kql_parse_name(P, "a name after 'let'") || !kql_expect(P, VG_KQL_T_EQ, "'='")) return NULL;
    vg_kql_node *n;
    if (looks_like_function(P)) {
        kql_next(P);
        kql_nb params;
        if (!kql_nb_start(P, &params, VG_KQL_LIST, kql_peek(P)) || !param_list(P, &params, true)) return NULL;
        const vg_kql_token *lb = kql_peek(P);
        if (!kql_expect(P, VG_KQL_T_LBRACE, "'{' and the function body")) return NULL;
        if (!kql_enter(P)) return NULL;
        const vg_kql_node *body = statements(P, lb, VG_KQL_T_RBRACE);
        kql_leave(P);
        if (!body || !kql_expect(P, VG_KQL_T_RBRACE, "'}'")) return NULL;
        n = kql_node3(P, VG_KQL_LET_FUNC, kw, params.node, body, NULL);
    } else {
        const vg_kql_node *v = kql_at_tabular_source(P) ? kql_parse_tabular(P)
                                                        : kql_parse_pipes(P, kql_parse_expr(P));
        n = kql_node3(P, VG_KQL_LET, kw, v, NULL, NULL);
    }
    if (!n || P->err) return NULL;
    n->name = name->value;
    return n;
}

static const vg_kql_node *stmt_set(kql_parser *P, const vg_kql_token *kw)
{
    const vg_kql_token *t = kql_peek(P);
    if (t->kind != VG_KQL_T_IDENT) { kql_fail_expected(P, "an option name after 'set'"); return NULL; }
    kql_next(P);
    vg_str name = t->value;
    while (kql_is(P, VG_KQL_T_DOT) && kql_peek_at(P, 1)->kind == VG_KQL_T_IDENT) {
        kql_next(P);
        const vg_kql_token *u = kql_next(P);
        name = vg_str_make(t->text.p, (size_t)(u->text.p + u->text.n - t->text.p));
    }
    const vg_kql_node *v = NULL;
    if (kql_accept(P, VG_KQL_T_EQ) && !(v = kql_parse_expr(P))) return NULL;
    vg_kql_node *n = kql_node3(P, VG_KQL_SET, kw, v, NULL, NULL);
    if (n) n->name = name;
    return n;
}

/* Statements until `end` (EOF, or '}' of a function body). */
static const vg_kql_node *statements(kql_parser *P, const vg_kql_token *at, vg_kql_tok end)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, VG_KQL_QUERY, at)) return NULL;
    bool have_result = false;
    while (P->err == VG_OK) {
        if (kql_is(P, end) && b.node->n > 0) break;   /* after a trailing ';' */
        const vg_kql_token *t = kql_peek(P);
        const vg_kql_node *s;
        bool plain = t->kind == VG_KQL_T_IDENT && !(t->flags & VG_KQL_TOKF_BRACKETED);
        if (plain && vg_str_eqc(t->value, "let") && kql_peek_at(P, 1)->kind == VG_KQL_T_IDENT) {
            kql_next(P);
            s = stmt_let(P, t);
        } else if (plain && vg_str_eqc(t->value, "set") && kql_peek_at(P, 1)->kind == VG_KQL_T_IDENT &&
                   end == VG_KQL_T_EOF) {
            kql_next(P);
            s = stmt_set(P, t);
        } else if (plain && (vg_str_eqc(t->value, "declare") || vg_str_eqc(t->value, "alias") ||
                             vg_str_eqc(t->value, "restrict") || vg_str_eqc(t->value, "pattern")) &&
                   kql_peek_at(P, 1)->kind == VG_KQL_T_IDENT) {
            kql_fail_at(P, t, VG_EUNSUPPORTED, "'%.*s' statements are not supported by Vigil",
                        VG_STR_FMT(t->value));
            return NULL;
        } else {
            s = end == VG_KQL_T_EOF ? kql_parse_tabular(P) : kql_parse_pipes(P, kql_parse_named_expr(P));
            have_result = true;
        }
        if (!kql_nb_add(P, &b, s)) return NULL;
        if (kql_is(P, end)) break;
        if (!kql_accept(P, VG_KQL_T_SEMI)) {
            kql_fail_expected(P, end == VG_KQL_T_EOF ? "'|', ';' or the end of the query" : "'|', ';' or '}'");
            return NULL;
        }
    }
    if (P->err) return NULL;
    /* Kusto accepts a query or body made of let statements only; the binder
     * decides what such a query means. A body needs its result, though. */
    if (!have_result && end != VG_KQL_T_EOF) {
        kql_fail_expected(P, "an expression as the function's result");
        return NULL;
    }
    return b.node;
}

vg_err vg_kql_parse(vg_arena *a, vg_str src, const vg_kql_node **out, vg_diag *d)
{
    vg_kql_token *toks;
    size_t n;
    *out = NULL;
    vg_err e = vg_kql_lex(a, src, &toks, &n, d);
    if (e != VG_OK) return e;
    kql_parser P = { .a = a, .d = d, .t = toks, .n = n };
    const vg_kql_node *q = statements(&P, &toks[0], VG_KQL_T_EOF);
    if (P.err != VG_OK) return P.err;
    if (!q) return vg_diag_set(d, VG_EPARSE, "line 1, column 1: expected a query");
    *out = q;
    if (P.refused)
        return vg_diag_set(d, VG_EUNSUPPORTED,
                           "line %u, column %u: externaldata is not supported: Vigil queries only its own event store",
                           P.refused->pos.line, P.refused->pos.col);
    return VG_OK;
}
