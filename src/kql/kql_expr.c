/*
 * kql_expr.c - parser helpers and the scalar expression grammar of KQL.
 *
 * Precedence, loosest first, as in Kusto: or; and; equality, in and between
 * (==, !=, =~, !~, <>, in, !in~, has_any, between, ...); relational (<, <=,
 * >, >=); string predicates (has, contains, startswith, matches regex, ...);
 * additive; multiplicative; unary minus/plus (one sign); postfix (x.y, x[i],
 * f(...)). The three comparison levels take one operator each.
 * A parenthesized expression or a call argument may be a tabular expression
 * (toscalar(T | count), x in (T | project y)): when '|' follows, the operand
 * becomes the source of a pipeline. Every level that can recurse goes
 * through kql_enter(), so nesting is bounded by VG_KQL_MAX_DEPTH.
 */
#include <stdarg.h>

#include "kql/kql_int.h"

/* ---- helpers shared with kql_parse.c ---- */

static void describe(const vg_kql_token *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case VG_KQL_T_EOF:
        snprintf(buf, cap, "end of input");
        break;
    case VG_KQL_T_IDENT: case VG_KQL_T_LONG: case VG_KQL_T_REAL: case VG_KQL_T_TIMESPAN:
    case VG_KQL_T_DATETIME: case VG_KQL_T_GUID: case VG_KQL_T_STRING: {
        int n = t->text.n > 40 ? 40 : (int)t->text.n;
        for (int k = 0; k < n; k++)
            if (t->text.p[k] == '\n') { n = k; break; }
        snprintf(buf, cap, "%s%.*s%s", t->kind == VG_KQL_T_STRING ? "" : "'", n, t->text.p,
                 t->kind == VG_KQL_T_STRING ? (n < (int)t->text.n ? "..." : "")
                 : (n < (int)t->text.n ? "...'" : "'"));
        break;
    }
    default:
        snprintf(buf, cap, "%s", vg_kql_tok_name(t->kind));
        break;
    }
}

void kql_fail_at(kql_parser *P, const vg_kql_token *t, vg_err e, const char *fmt, ...)
{
    if (P->err != VG_OK) return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    P->err = vg_diag_set(P->d, e, "line %u, column %u: %s", t->pos.line, t->pos.col, msg);
}

void kql_fail_expected(kql_parser *P, const char *what)
{
    char found[80];
    describe(kql_peek(P), found, sizeof found);
    kql_fail_at(P, kql_peek(P), VG_EPARSE, "expected %s, found %s", what, found);
}

bool kql_is_word(const kql_parser *P, const char *w)
{
    const vg_kql_token *t = kql_peek(P);
    return t->kind == VG_KQL_T_IDENT && !(t->flags & VG_KQL_TOKF_BRACKETED) && vg_str_eqc(t->value, w);
}

bool kql_accept(kql_parser *P, vg_kql_tok k)
{
    if (!kql_is(P, k)) return false;
    kql_next(P);
    return true;
}

bool kql_accept_word(kql_parser *P, const char *w)
{
    if (!kql_is_word(P, w)) return false;
    kql_next(P);
    return true;
}

bool kql_expect(kql_parser *P, vg_kql_tok k, const char *what)
{
    if (P->err != VG_OK) return false;
    if (kql_accept(P, k)) return true;
    kql_fail_expected(P, what ? what : vg_kql_tok_name(k));
    return false;
}

bool kql_expect_word(kql_parser *P, const char *w)
{
    if (P->err != VG_OK) return false;
    if (kql_accept_word(P, w)) return true;
    char what[64];
    snprintf(what, sizeof what, "'%s'", w);
    kql_fail_expected(P, what);
    return false;
}

bool kql_enter(kql_parser *P)
{
    if (P->err != VG_OK) return false;
    if (P->depth >= VG_KQL_MAX_DEPTH) {
        kql_fail_at(P, kql_peek(P), VG_ELIMIT, "query is nested too deeply (limit %d levels)",
                    VG_KQL_MAX_DEPTH);
        return false;
    }
    P->depth++;
    return true;
}

static void oom(kql_parser *P)
{
    if (P->err == VG_OK)
        P->err = vg_diag_set(P->d, VG_ENOMEM, "line %u, column %u: out of memory while parsing the query",
                             kql_peek(P)->pos.line, kql_peek(P)->pos.col);
}

vg_kql_node *kql_node(kql_parser *P, vg_kql_kind k, const vg_kql_token *at)
{
    vg_kql_node *n = vg_arena_zalloc(P->a, sizeof *n);
    if (!n) { oom(P); return NULL; }
    n->kind = k;
    n->pos = at->pos;
    n->height = 1;
    return n;
}

bool kql_nb_start(kql_parser *P, kql_nb *b, vg_kql_kind k, const vg_kql_token *at)
{
    b->kids = NULL;
    b->cap = 0;
    b->node = kql_node(P, k, at);
    return b->node != NULL;
}

bool kql_nb_add(kql_parser *P, kql_nb *b, const vg_kql_node *kid)
{
    if (!kid || !b->node) return false;
    if (b->node->n == b->cap) {
        uint32_t ncap = b->cap ? b->cap * 2 : 4;
        vg_kql_node **nk = vg_arena_alloc(P->a, ncap * sizeof *nk);
        if (!nk) { oom(P); return false; }
        if (b->node->n) memcpy(nk, b->kids, b->node->n * sizeof *nk);
        b->kids = nk;
        b->cap = ncap;
    }
    b->kids[b->node->n++] = (vg_kql_node *)kid;
    b->node->kids = (const vg_kql_node *const *)b->kids;
    if (kid->height >= b->node->height) {
        b->node->height = kid->height + 1;
        if (b->node->height > VG_KQL_MAX_HEIGHT) {
            kql_fail_at(P, kql_peek(P), VG_ELIMIT,
                        "query is nested too deeply (its syntax tree passes %d levels; "
                        "long chains of operators count too)", VG_KQL_MAX_HEIGHT);
            return false;
        }
    }
    return true;
}

const vg_kql_node *kql_nb_done(kql_nb *b) { return b->node; }

vg_kql_node *kql_node3(kql_parser *P, vg_kql_kind k, const vg_kql_token *at, const vg_kql_node *a,
                       const vg_kql_node *b, const vg_kql_node *c)
{
    kql_nb nb;
    if (!kql_nb_start(P, &nb, k, at)) return NULL;
    if (a && !kql_nb_add(P, &nb, a)) return NULL;
    if (b && !kql_nb_add(P, &nb, b)) return NULL;
    if (c && !kql_nb_add(P, &nb, c)) return NULL;
    return nb.node;
}

/* ---- expressions ---- */

const vg_kql_node *kql_parse_name(kql_parser *P, const char *what)
{
    if (P->err != VG_OK) return NULL;
    const vg_kql_token *t = kql_peek(P);
    if (t->kind != VG_KQL_T_IDENT) { kql_fail_expected(P, what); return NULL; }
    kql_next(P);
    vg_kql_node *n = kql_node(P, VG_KQL_NAME, t);
    if (n) n->name = t->value;
    return n;
}

static vg_kql_node *literal(kql_parser *P, const vg_kql_token *t)
{
    static const vg_kql_kind kinds[] = {
        [VG_KQL_T_LONG] = VG_KQL_LONG, [VG_KQL_T_REAL] = VG_KQL_REAL,
        [VG_KQL_T_STRING] = VG_KQL_STRING, [VG_KQL_T_TIMESPAN] = VG_KQL_TIMESPAN,
        [VG_KQL_T_DATETIME] = VG_KQL_DATETIME, [VG_KQL_T_GUID] = VG_KQL_GUID,
    };
    vg_kql_node *n = kql_node(P, kinds[t->kind], t);
    if (!n) return NULL;
    n->i = t->i;
    n->r = t->r;
    switch (t->kind) {
    case VG_KQL_T_STRING: n->name = t->value; break;
    case VG_KQL_T_REAL: n->text = t->text; break;
    case VG_KQL_T_TIMESPAN:
        n->text = t->text;
        if (vg_str_eqc(t->value, "null") ) { n->kind = VG_KQL_TYPED_NULL; n->text = vg_str_c("timespan"); }
        break;
    case VG_KQL_T_DATETIME:
        n->text = t->value;
        if (vg_str_eqc(t->value, "null")) { n->kind = VG_KQL_TYPED_NULL; n->text = vg_str_c("datetime"); }
        break;
    case VG_KQL_T_GUID:
        n->text = t->value;
        if (vg_str_eqc(t->value, "null")) { n->kind = VG_KQL_TYPED_NULL; n->text = vg_str_c("guid"); }
        break;
    default: break;
    }
    /* 'a' 'b' is one string in Kusto */
    if (t->kind == VG_KQL_T_STRING && kql_is(P, VG_KQL_T_STRING)) {
        size_t total = n->name.n;
        for (size_t k = 0; kql_peek_at(P, k)->kind == VG_KQL_T_STRING; k++) total += kql_peek_at(P, k)->value.n;
        char *s = vg_arena_alloc(P->a, total + 1);
        if (!s) { oom(P); return NULL; }
        memcpy(s, n->name.p, n->name.n);
        size_t at = n->name.n;
        while (kql_is(P, VG_KQL_T_STRING)) {
            const vg_kql_token *u = kql_next(P);
            memcpy(s + at, u->value.p, u->value.n);
            at += u->value.n;
        }
        s[at] = '\0';
        n->name = vg_str_make(s, at);
    }
    return n;
}

const vg_kql_node *kql_parse_dynamic_value(kql_parser *P)
{
    if (!kql_enter(P)) return NULL;
    const vg_kql_node *res = NULL;
    const vg_kql_token *t = kql_peek(P);
    switch (t->kind) {
    case VG_KQL_T_LONG: case VG_KQL_T_REAL: case VG_KQL_T_STRING: case VG_KQL_T_TIMESPAN:
    case VG_KQL_T_DATETIME: case VG_KQL_T_GUID:
        kql_next(P);
        res = literal(P, t);
        break;
    case VG_KQL_T_MINUS: case VG_KQL_T_PLUS: {
        kql_next(P);
        const vg_kql_token *u = kql_peek(P);
        if (u->kind != VG_KQL_T_LONG && u->kind != VG_KQL_T_REAL && u->kind != VG_KQL_T_TIMESPAN) {
            kql_fail_expected(P, "a number");
            break;
        }
        kql_next(P);
        vg_kql_node *n = literal(P, u);
        if (n && t->kind == VG_KQL_T_MINUS) { n->i = -n->i; n->r = -n->r; n->pos = t->pos; }
        res = n;
        break;
    }
    case VG_KQL_T_IDENT: {
        kql_next(P);
        if (t->flags & VG_KQL_TOKF_BRACKETED) {
            /* the lexer took ["a"] for a bracketed name: here it is an array of one string */
            vg_kql_node *s = kql_node(P, VG_KQL_STRING, t);
            if (!s) break;
            s->pos.col++;
            s->pos.offset++;
            s->name = t->value;
            res = kql_node3(P, VG_KQL_ARRAY, t, s, NULL, NULL);
            break;
        }
        if (vg_str_eqc(t->value, "true") || vg_str_eqc(t->value, "false")) {
            vg_kql_node *n = kql_node(P, VG_KQL_BOOL, t);
            if (n) n->i = vg_str_eqc(t->value, "true");
            res = n;
        } else if (vg_str_eqc(t->value, "null")) {
            vg_kql_node *n = kql_node(P, VG_KQL_TYPED_NULL, t);
            if (n) n->text = vg_str_c("dynamic");
            res = n;
        } else {
            P->i--;
            kql_fail_expected(P, "a dynamic value (number, string, bool, null, [array] or {bag})");
        }
        break;
    }
    case VG_KQL_T_LBRACK: {
        kql_next(P);
        kql_nb b;
        if (!kql_nb_start(P, &b, VG_KQL_ARRAY, t)) break;
        if (!kql_is(P, VG_KQL_T_RBRACK)) {
            do {
                if (!kql_nb_add(P, &b, kql_parse_dynamic_value(P))) break;
            } while (kql_accept(P, VG_KQL_T_COMMA));
        }
        if (kql_expect(P, VG_KQL_T_RBRACK, "',' or ']'")) res = b.node;
        break;
    }
    case VG_KQL_T_LBRACE: {
        kql_next(P);
        kql_nb b;
        if (!kql_nb_start(P, &b, VG_KQL_BAG, t)) break;
        if (!kql_is(P, VG_KQL_T_RBRACE)) {
            do {
                const vg_kql_token *k = kql_peek(P);
                if (k->kind != VG_KQL_T_STRING) { kql_fail_expected(P, "a property name in quotes"); break; }
                kql_next(P);
                if (!kql_expect(P, VG_KQL_T_COLON, "':'")) break;
                vg_kql_node *pair = kql_node3(P, VG_KQL_PAIR, k, kql_parse_dynamic_value(P), NULL, NULL);
                if (!pair || P->err) break;
                pair->name = k->value;
                if (!kql_nb_add(P, &b, pair)) break;
            } while (kql_accept(P, VG_KQL_T_COMMA));
        }
        if (kql_expect(P, VG_KQL_T_RBRACE, "',' or '}'")) res = b.node;
        break;
    }
    default:
        kql_fail_expected(P, "a dynamic value (number, string, bool, null, [array] or {bag})");
        break;
    }
    kql_leave(P);
    return P->err ? NULL : res;
}

/* An operand that may turn out tabular: expression, then '| op' steps. */
static const vg_kql_node *expr_or_pipeline(kql_parser *P)
{
    if (kql_at_tabular_source(P)) return kql_parse_tabular(P);
    const vg_kql_node *e = kql_parse_named_expr(P);
    if (e && kql_is(P, VG_KQL_T_PIPE)) {
        if (e->kind == VG_KQL_NAME) ((vg_kql_node *)e)->kind = VG_KQL_TABLE;
        return kql_parse_pipes(P, e);
    }
    return e;
}

static bool is_typed_literal_type(vg_str s)
{
    static const char *const types[] = { "bool", "boolean", "int", "long", "real", "double",
                                         "decimal", "string", "dynamic" };
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        if (vg_str_eqc(s, types[k])) return true;
    return false;
}

static const vg_kql_node *call_args(kql_parser *P, const vg_kql_token *name)
{
    kql_nb b;
    if (!kql_nb_start(P, &b, VG_KQL_CALL, name)) return NULL;
    b.node->name = name->value;
    kql_next(P);   /* the name */
    kql_next(P);   /* '(' */
    if (!kql_is(P, VG_KQL_T_RPAREN)) {
        do {
            const vg_kql_token *t = kql_peek(P);
            const vg_kql_node *arg;
            if (t->kind == VG_KQL_T_STAR &&
                (kql_peek_at(P, 1)->kind == VG_KQL_T_COMMA || kql_peek_at(P, 1)->kind == VG_KQL_T_RPAREN)) {
                kql_next(P);
                arg = kql_node(P, VG_KQL_STAR, t);
            } else if (t->kind == VG_KQL_T_IDENT && kql_peek_at(P, 1)->kind == VG_KQL_T_EQ) {
                kql_next(P);
                kql_next(P);
                vg_kql_node *na = kql_node3(P, VG_KQL_NAMED_ARG, t, expr_or_pipeline(P), NULL, NULL);
                if (na) na->name = t->value;
                arg = P->err ? NULL : na;
            } else {
                arg = expr_or_pipeline(P);
            }
            if (!kql_nb_add(P, &b, arg)) return NULL;
        } while (kql_accept(P, VG_KQL_T_COMMA));
    }
    if (!kql_expect(P, VG_KQL_T_RPAREN, "',' or ')'")) return NULL;
    vg_kql_node *n = b.node;
    /* long(null), int(5), real(1.5): typed literals */
    if (n->n == 1 && is_typed_literal_type(n->name)) {
        const vg_kql_node *a = n->kids[0];
        if (a->kind == VG_KQL_NAME && vg_str_eqc(a->name, "null")) {
            n->kind = VG_KQL_TYPED_NULL;
            n->text = n->name;
            n->name = VG_STR_NULL;
            n->n = 0;
            n->kids = NULL;
        } else if (a->kind == VG_KQL_LONG && vg_str_eqc(n->name, "int")) {
            n->kind = VG_KQL_INT;
            n->i = a->i;
            n->name = VG_STR_NULL;
            n->n = 0;
            n->kids = NULL;
        } else if ((a->kind == VG_KQL_LONG && vg_str_eqc(n->name, "long")) ||
                   (a->kind == VG_KQL_REAL && (vg_str_eqc(n->name, "real") || vg_str_eqc(n->name, "double"))) ||
                   (a->kind == VG_KQL_BOOL && (vg_str_eqc(n->name, "bool") || vg_str_eqc(n->name, "boolean")))) {
            vg_kql_node *lit = (vg_kql_node *)a;
            lit->pos = n->pos;
            return lit;
        }
    }
    return n;
}

static const vg_kql_node *primary(kql_parser *P)
{
    const vg_kql_token *t = kql_peek(P);
    switch (t->kind) {
    case VG_KQL_T_LONG: case VG_KQL_T_REAL: case VG_KQL_T_STRING: case VG_KQL_T_TIMESPAN:
    case VG_KQL_T_DATETIME: case VG_KQL_T_GUID:
        kql_next(P);
        return literal(P, t);
    case VG_KQL_T_IDENT: {
        const vg_kql_token *nx = kql_peek_at(P, 1);
        if (!(t->flags & VG_KQL_TOKF_BRACKETED)) {
            if (vg_str_eqc(t->value, "true") || vg_str_eqc(t->value, "false")) {
                kql_next(P);
                vg_kql_node *n = kql_node(P, VG_KQL_BOOL, t);
                if (n) n->i = vg_str_eqc(t->value, "true");
                return n;
            }
            if (vg_str_eqc(t->value, "dynamic") && nx->kind == VG_KQL_T_LPAREN) {
                kql_next(P);
                kql_next(P);
                const vg_kql_node *v = kql_parse_dynamic_value(P);
                if (!v || !kql_expect(P, VG_KQL_T_RPAREN, "')'")) return NULL;
                if (v->kind == VG_KQL_TYPED_NULL) return v;
                return kql_node3(P, VG_KQL_DYNAMIC, t, v, NULL, NULL);
            }
            if (nx->kind == VG_KQL_T_LPAREN) return call_args(P, t);
        }
        kql_next(P);
        vg_kql_node *n = kql_node(P, VG_KQL_NAME, t);
        if (n) n->name = t->value;
        return n;
    }
    case VG_KQL_T_LBRACK:
        /* ['name'] where the lexer could not tell it from an index */
        if (kql_peek_at(P, 1)->kind == VG_KQL_T_STRING && kql_peek_at(P, 2)->kind == VG_KQL_T_RBRACK) {
            const vg_kql_token *s = kql_peek_at(P, 1);
            kql_next(P); kql_next(P); kql_next(P);
            vg_kql_node *n = kql_node(P, VG_KQL_NAME, t);
            if (n) n->name = s->value;
            return n;
        }
        kql_fail_expected(P, "an expression");
        return NULL;
    case VG_KQL_T_LPAREN: {
        kql_next(P);
        const vg_kql_node *e = expr_or_pipeline(P);
        if (!e || !kql_expect(P, VG_KQL_T_RPAREN, "')'")) return NULL;
        return e;
    }
    case VG_KQL_T_STAR:
        /* where * has "term": every column */
        if (kql_peek_at(P, 1)->kind >= VG_KQL_T_HAS && kql_peek_at(P, 1)->kind <= VG_KQL_T_NENDSWITH_CS) {
            kql_next(P);
            return kql_node(P, VG_KQL_STAR, t);
        }
        kql_fail_expected(P, "an expression");
        return NULL;
    default:
        kql_fail_expected(P, "an expression");
        return NULL;
    }
}

static const vg_kql_node *postfix(kql_parser *P)
{
    const vg_kql_node *e = primary(P);
    while (e && P->err == VG_OK) {
        const vg_kql_token *t = kql_peek(P);
        if (t->kind == VG_KQL_T_DOT) {
            kql_next(P);
            const vg_kql_token *f = kql_peek(P);
            if (f->kind != VG_KQL_T_IDENT) { kql_fail_expected(P, "a name after '.'"); return NULL; }
            kql_next(P);
            if (kql_is(P, VG_KQL_T_LPAREN)) {
                /* cluster('c').database('d').T: other clusters and databases do not exist here */
                if (e->kind == VG_KQL_CALL && (vg_str_eqc(e->name, "cluster") || vg_str_eqc(e->name, "database"))) {
                    kql_fail_at(P, f, VG_EUNSUPPORTED, "cluster() and database() references are not supported "
                                "by Vigil (it has one database: the Advanced Hunting tables)");
                    return NULL;
                }
                kql_fail_expected(P, "a field name (method-style calls x.f() are not supported)");
                return NULL;
            }
            if (e->kind == VG_KQL_CALL && (vg_str_eqc(e->name, "cluster") || vg_str_eqc(e->name, "database"))) {
                kql_fail_at(P, f, VG_EUNSUPPORTED, "cluster() and database() references are not supported "
                            "by Vigil (it has one database: the Advanced Hunting tables)");
                return NULL;
            }
            vg_kql_node *m = kql_node3(P, VG_KQL_MEMBER, t, e, NULL, NULL);
            if (!m) return NULL;
            m->pos = e->pos;
            m->name = f->value;
            e = m;
        } else if (t->kind == VG_KQL_T_LBRACK) {
            kql_next(P);
            const vg_kql_node *idx = kql_parse_expr(P);
            if (!idx || !kql_expect(P, VG_KQL_T_RBRACK, "']'")) return NULL;
            vg_kql_node *m = kql_node3(P, VG_KQL_INDEX, t, e, idx, NULL);
            if (!m) return NULL;
            m->pos = e->pos;
            e = m;
        } else {
            break;
        }
    }
    return P->err ? NULL : e;
}

static const vg_kql_node *unary(kql_parser *P)
{
    const vg_kql_token *t = kql_peek(P);
    if (t->kind == VG_KQL_T_MINUS || t->kind == VG_KQL_T_PLUS) {
        if (!kql_enter(P)) return NULL;
        kql_next(P);
        /* one sign only: Kusto rejects "- -x" (write "-(-x)") */
        const vg_kql_node *x = postfix(P);
        kql_leave(P);
        if (!x) return NULL;
        /* fold -5, -1d into literals */
        if (t->kind == VG_KQL_T_MINUS && x->pos.offset == t->pos.offset + 1 &&
            (x->kind == VG_KQL_LONG || x->kind == VG_KQL_REAL || x->kind == VG_KQL_TIMESPAN) &&
            x->n == 0) {
            vg_kql_node *n = (vg_kql_node *)x;
            n->i = -n->i;
            n->r = -n->r;
            n->pos = t->pos;
            return n;
        }
        vg_kql_node *n = kql_node3(P, VG_KQL_UNARY, t, x, NULL, NULL);
        if (n) n->op = t->kind;
        return n;
    }
    return postfix(P);
}

static const vg_kql_node *binary(kql_parser *P, vg_kql_tok op, const vg_kql_node *l,
                                 const vg_kql_node *r)
{
    if (!l || !r) return NULL;
    vg_kql_node *n = kql_node3(P, VG_KQL_BINARY, kql_peek(P), l, r, NULL);
    if (!n) return NULL;
    n->pos = l->pos;
    n->op = op;
    return n;
}

static const vg_kql_node *multiplicative(kql_parser *P)
{
    const vg_kql_node *l = unary(P);
    while (l && (kql_is(P, VG_KQL_T_STAR) || kql_is(P, VG_KQL_T_SLASH) || kql_is(P, VG_KQL_T_PERCENT))) {
        vg_kql_tok op = kql_next(P)->kind;
        l = binary(P, op, l, unary(P));
    }
    return l;
}

static const vg_kql_node *additive(kql_parser *P)
{
    const vg_kql_node *l = multiplicative(P);
    while (l && (kql_is(P, VG_KQL_T_PLUS) || kql_is(P, VG_KQL_T_MINUS))) {
        vg_kql_tok op = kql_next(P)->kind;
        l = binary(P, op, l, multiplicative(P));
    }
    return l;
}

const vg_kql_node *kql_parse_operand(kql_parser *P)
{
    if (!kql_enter(P)) return NULL;
    const vg_kql_node *e = additive(P);
    kql_leave(P);
    return P->err ? NULL : e;
}

/* String predicates: has, contains, startswith, matches regex, ... (not in/has_any). */
static bool is_string_op(vg_kql_tok k)
{
    return (k >= VG_KQL_T_HAS && k <= VG_KQL_T_NENDSWITH_CS) || k == VG_KQL_T_MATCHES_REGEX;
}

static bool is_relational(vg_kql_tok k)
{
    return k == VG_KQL_T_LT || k == VG_KQL_T_LE || k == VG_KQL_T_GT || k == VG_KQL_T_GE;
}

static bool is_equality(vg_kql_tok k)
{
    return k == VG_KQL_T_EQEQ || k == VG_KQL_T_NEQ || k == VG_KQL_T_EQTILDE || k == VG_KQL_T_NTILDE ||
           k == VG_KQL_T_LTGT;
}

static bool is_in_op(vg_kql_tok k)
{
    return k == VG_KQL_T_IN || k == VG_KQL_T_NIN || k == VG_KQL_T_IN_CI || k == VG_KQL_T_NIN_CI ||
           k == VG_KQL_T_HAS_ANY || k == VG_KQL_T_HAS_ALL;
}

/*
 * The comparison levels, as Microsoft's parser has them (each takes one
 * operator at most: "a == b == c" and "a has b has c" are errors):
 *   string:     additive [has|contains|startswith|...|matches regex additive]
 *   relational: string [< <= > >= string]
 *   equality:   relational [== != =~ !~ <> relational | in (...) | between (a .. b)]
 * so "a has b == c has d" and "a < b in (1)" parse, "a == b in (1)" does not.
 */
static const vg_kql_node *string_level(kql_parser *P)
{
    const vg_kql_node *l = additive(P);
    if (l && is_string_op(kql_peek(P)->kind)) {
        vg_kql_tok op = kql_next(P)->kind;
        l = binary(P, op, l, additive(P));
    }
    return P->err ? NULL : l;
}

static const vg_kql_node *relational_level(kql_parser *P)
{
    const vg_kql_node *l = string_level(P);
    if (l && is_relational(kql_peek(P)->kind)) {
        vg_kql_tok op = kql_next(P)->kind;
        l = binary(P, op, l, string_level(P));
    }
    return P->err ? NULL : l;
}

static const vg_kql_node *comparison(kql_parser *P)
{
    const vg_kql_node *l = relational_level(P);
    if (!l || P->err) return NULL;
    const vg_kql_token *t = kql_peek(P);
    if (is_equality(t->kind)) {
        kql_next(P);
        l = binary(P, t->kind, l, relational_level(P));
    } else if (is_in_op(t->kind)) {
        kql_next(P);
        kql_nb b;
        if (!kql_nb_start(P, &b, VG_KQL_IN, t) || !kql_nb_add(P, &b, l)) return NULL;
        b.node->op = t->kind;
        b.node->pos = l->pos;
        if (!kql_expect(P, VG_KQL_T_LPAREN, "'(' after the operator")) return NULL;
        do {
            if (!kql_nb_add(P, &b, expr_or_pipeline(P))) return NULL;
        } while (kql_accept(P, VG_KQL_T_COMMA));
        if (!kql_expect(P, VG_KQL_T_RPAREN, "',' or ')'")) return NULL;
        l = b.node;
    } else if (t->kind == VG_KQL_T_BETWEEN || t->kind == VG_KQL_T_NBETWEEN) {
        kql_next(P);
        if (!kql_expect(P, VG_KQL_T_LPAREN, "'(' after between")) return NULL;
        const vg_kql_node *lo = kql_parse_expr(P);
        if (!lo || !kql_expect(P, VG_KQL_T_DOTDOT, "'..'")) return NULL;
        const vg_kql_node *hi = kql_parse_expr(P);
        if (!hi || !kql_expect(P, VG_KQL_T_RPAREN, "')'")) return NULL;
        vg_kql_node *n = kql_node3(P, VG_KQL_BETWEEN, t, l, lo, hi);
        if (!n) return NULL;
        n->op = t->kind;
        n->pos = l->pos;
        l = n;
    }
    return P->err ? NULL : l;
}

static const vg_kql_node *and_expr(kql_parser *P)
{
    const vg_kql_node *l = comparison(P);
    while (l && kql_is(P, VG_KQL_T_AND)) {
        kql_next(P);
        l = binary(P, VG_KQL_T_AND, l, comparison(P));
    }
    return l;
}

const vg_kql_node *kql_parse_expr(kql_parser *P)
{
    if (!kql_enter(P)) return NULL;
    const vg_kql_node *l = and_expr(P);
    while (l && kql_is(P, VG_KQL_T_OR)) {
        kql_next(P);
        l = binary(P, VG_KQL_T_OR, l, and_expr(P));
    }
    kql_leave(P);
    return P->err ? NULL : l;
}

const vg_kql_node *kql_parse_named_expr(kql_parser *P)
{
    const vg_kql_token *t = kql_peek(P);
    if (P->err) return NULL;
    if (t->kind == VG_KQL_T_IDENT && kql_peek_at(P, 1)->kind == VG_KQL_T_EQ) {
        kql_next(P);
        const vg_kql_token *eq = kql_next(P);
        vg_kql_node *name = kql_node(P, VG_KQL_NAME, t);
        if (!name) return NULL;
        name->name = t->value;
        vg_kql_node *n = kql_node3(P, VG_KQL_ASSIGN, eq, name, kql_parse_expr(P), NULL);
        if (n) n->pos = t->pos;
        return P->err ? NULL : n;
    }
    /* (a, b) = expr */
    if (t->kind == VG_KQL_T_LPAREN && kql_peek_at(P, 1)->kind == VG_KQL_T_IDENT) {
        size_t k = 1;
        while (kql_peek_at(P, k)->kind == VG_KQL_T_IDENT && kql_peek_at(P, k + 1)->kind == VG_KQL_T_COMMA)
            k += 2;
        if (kql_peek_at(P, k)->kind == VG_KQL_T_IDENT && kql_peek_at(P, k + 1)->kind == VG_KQL_T_RPAREN &&
            kql_peek_at(P, k + 2)->kind == VG_KQL_T_EQ) {
            kql_nb names;
            if (!kql_nb_start(P, &names, VG_KQL_LIST, t)) return NULL;
            kql_next(P);
            do {
                if (!kql_nb_add(P, &names, kql_parse_name(P, "a column name"))) return NULL;
            } while (kql_accept(P, VG_KQL_T_COMMA));
            kql_next(P);   /* ')' */
            const vg_kql_token *eq = kql_next(P);
            vg_kql_node *n = kql_node3(P, VG_KQL_ASSIGN, eq, names.node, kql_parse_expr(P), NULL);
            if (n) n->pos = t->pos;
            return P->err ? NULL : n;
        }
    }
    return kql_parse_expr(P);
}

bool kql_parse_expr_list(kql_parser *P, kql_nb *b)
{
    do {
        if (!kql_nb_add(P, b, kql_parse_named_expr(P))) return false;
    } while (kql_accept(P, VG_KQL_T_COMMA));
    return P->err == VG_OK;
}
