/*
 * kql_plan_more.c - planning of the reshaping operators: mv-expand,
 * mv-apply, parse, parse-where, make-series and evaluate (bag_unpack,
 * pivot). Each is planned against the schema produced so far, like the
 * operators of kql_plan_ops.c.
 *
 * mv-expand and parse become streaming operators (kql_op_more.c). mv-apply
 * runs its sub-query once per input row: the row's items are expanded by
 * the mv-expand operator over a one-row relation and the sub-query is
 * planned on top of that, in a scratch arena reset after each row so that
 * planning a million rows does not grow the query's arena. make-series and
 * the plugins live in kql_op_more_tab.c.
 */
#include <string.h>

#include "kql/kql_exec.h"

bool kx_type_from_name(vg_str tn, vg_type *out)
{
    static const struct { const char *n; vg_type t; } types[] = {
        { "bool", VG_T_BOOL }, { "boolean", VG_T_BOOL }, { "int", VG_T_INT },
        { "long", VG_T_LONG }, { "real", VG_T_REAL }, { "double", VG_T_REAL },
        { "decimal", VG_T_REAL }, { "datetime", VG_T_DATETIME }, { "date", VG_T_DATETIME },
        { "timespan", VG_T_TIMESPAN }, { "time", VG_T_TIMESPAN }, { "string", VG_T_STRING },
        { "dynamic", VG_T_DYNAMIC }, { "guid", VG_T_STRING },
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (vg_str_eqc(tn, types[i].n)) {
            *out = types[i].t;
            return true;
        }
    return false;
}

/* The option `name` of an opts LIST, or NULL. */
const vg_kql_node *kx_opt_find(const vg_kql_node *opts, const char *name)
{
    for (uint32_t i = 0; opts && opts->kind == VG_KQL_LIST && i < opts->n; i++)
        if (opts->kids[i]->kind == VG_KQL_OPTION && vg_str_eqc(opts->kids[i]->name, name))
            return opts->kids[i];
    return NULL;
}

/* An option's value as a word (kind=array, with_itemindex=Name). */
static vg_str opt_word(const vg_kql_node *o)
{
    if (!o || o->n == 0)
        return (vg_str){ "", 0 };
    const vg_kql_node *v = o->kids[0];
    return v->name.n ? v->name : v->text;
}

static const kx_schema empty_schema = { 0 };

/* ---- mv-expand (and the expansion step of mv-apply) ---- */

typedef struct mv_plan {
    kx_schema sch;
    kx_mvx_spec sp;
} mv_plan;

/* Plans the items of an mv-expand / mv-apply against `in`. With keep_input
 * the output holds the input columns (an item of the same name replaces
 * one in place); without, only the items and the index column. */
static vg_err plan_mv_items(kx_query *q, kx_scope *sc, const kx_schema *in, const vg_kql_node *opts,
                            const vg_kql_node *const *items, uint32_t nitems, bool keep_input,
                            mv_plan *mp)
{
    memset(mp, 0, sizeof *mp);
    uint32_t cap = (keep_input ? in->n : 0) + nitems + 1;
    mp->sch = kx_schema_alloc(q, cap);
    mp->sp.srcmap = vg_arena_alloc(q->a, cap * sizeof(int));
    mp->sp.items = vg_arena_alloc(q->a, (nitems ? nitems : 1) * sizeof(kx_expr *));
    mp->sp.outcol = vg_arena_alloc(q->a, (nitems ? nitems : 1) * sizeof(int));
    mp->sp.to = vg_arena_alloc(q->a, (nitems ? nitems : 1) * sizeof(vg_type));
    if (q->err || !mp->sp.srcmap || !mp->sp.items || !mp->sp.outcol || !mp->sp.to)
        return q->err ? q->err : kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    mp->sch.n = 0;
    if (keep_input)
        for (uint32_t c = 0; c < in->n; c++) {
            mp->sch.names[mp->sch.n] = in->names[c];
            mp->sch.types[mp->sch.n] = in->types[c];
            mp->sp.srcmap[mp->sch.n++] = (int)c;
        }
    mp->sp.idxcol = -1;
    for (uint32_t i = 0; opts && opts->kind == VG_KQL_LIST && i < opts->n; i++) {
        const vg_kql_node *o = opts->kids[i];
        vg_str w = opt_word(o);
        if (vg_str_eqc(o->name, "kind") || vg_str_eqc(o->name, "bagexpansion")) {
            if (vg_str_eqc(w, "array"))
                mp->sp.bag_as_array = true;
            else if (!vg_str_eqc(w, "bag"))
                return kx_fail(q, o->pos, VG_EPARSE, "%.*s: expected bag or array, not '%.*s'",
                               (int)o->name.n, o->name.p, (int)w.n, w.p);
        } else if (vg_str_eqc(o->name, "limit")) {
            kx_bind b = { .q = q, .scope = sc, .in = &empty_schema };
            kql_val v;
            vg_err e = kx_bind_const(&b, o->kids[0], &v);
            if (e)
                return e;
            if (v.null || !vg_type_is_i64(v.t) || v.u.i < 0)
                return kx_fail(q, o->pos, VG_EPARSE, "limit: a non-negative integer is expected");
            mp->sp.limit = (uint64_t)v.u.i;
            if (mp->sp.limit == 0)
                mp->sp.limit = 1;   /* limit 0 keeps nothing: treated as one row per input row */
        } else if (!vg_str_eqc(o->name, "with_itemindex") && !(o->name.n > 5 && memcmp(o->name.p, "hint.", 5) == 0)) {
            return kx_fail(q, o->pos, VG_EPARSE, "unknown option '%.*s'", (int)o->name.n, o->name.p);
        }
    }
    uint32_t counter = 0;
    for (uint32_t i = 0; i < nitems; i++) {
        const vg_kql_node *it = items[i], *e = it;
        vg_str tname = { "", 0 };
        if (it->kind == VG_KQL_MV_ITEM) {
            e = it->kids[0];
            tname = it->text;
        }
        vg_str name;
        if (e->kind == VG_KQL_ASSIGN) {
            if (e->kids[0]->kind != VG_KQL_NAME)
                return kx_fail(q, e->pos, VG_EUNSUPPORTED, "(a, b) = ... assignments are not supported");
            name = e->kids[0]->name;
            e = e->kids[1];
        } else if (e->kind == VG_KQL_NAME) {
            name = e->name;
        } else {
            name = kx_expr_name(q, e, &counter);
        }
        kx_bind b = { .q = q, .scope = sc, .in = in };
        kx_expr *x = kx_bind_expr(&b, e);
        if (!x)
            return q->err ? q->err : VG_EPARSE;
        vg_type to = VG_T_DYNAMIC;
        if (tname.n && !kx_type_from_name(tname, &to))
            return kx_fail(q, it->pos, VG_EPARSE, "unknown type '%.*s'", (int)tname.n, tname.p);
        int at = kx_schema_find(&mp->sch, name);
        if (at < 0) {
            at = (int)mp->sch.n++;
            mp->sch.names[at] = name;
        } else {
            for (uint32_t j = 0; j < i; j++)
                if (mp->sp.outcol[j] == at)
                    return kx_fail(q, it->pos, VG_EPARSE, "column '%.*s' is expanded twice", (int)name.n,
                                   name.p);
        }
        mp->sch.types[at] = to;
        mp->sp.srcmap[at] = -1;
        mp->sp.items[i] = x;
        mp->sp.outcol[i] = at;
        mp->sp.to[i] = to;
    }
    mp->sp.nitems = nitems;
    const vg_kql_node *wi = kx_opt_find(opts, "with_itemindex");
    if (wi) {
        vg_str nm = opt_word(wi);
        if (kx_schema_find(&mp->sch, nm) >= 0)
            return kx_fail(q, wi->pos, VG_EPARSE, "with_itemindex: column '%.*s' already exists", (int)nm.n,
                           nm.p);
        int at = (int)mp->sch.n++;
        mp->sch.names[at] = nm;
        mp->sch.types[at] = VG_T_LONG;
        mp->sp.srcmap[at] = -1;
        mp->sp.idxcol = at;
    }
    return VG_OK;
}

static kx_op *plan_mvexpand(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    if (n->n < 2) {
        kx_fail(q, n->pos, VG_EPARSE, "mv-expand: expected a column to expand");
        return NULL;
    }
    mv_plan mp;
    if (plan_mv_items(q, sc, &in->sch, n->kids[0], n->kids + 1, n->n - 1, true, &mp))
        return NULL;
    return kx_op_mvexpand(q, in, &mp.sch, &mp.sp);
}

/* ---- parse / parse-where ---- */

/* Appends s to b with every ASCII punctuation escaped (a literal in a regex). */
static void re_escape(vg_buf *b, vg_str s)
{
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          c == ' ' || c == '\n' || c == '\t' || c == '\r'))
            vg_buf_putc(b, '\\');
        vg_buf_putc(b, (char)c);
    }
}

static kx_op *plan_parse(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n, bool where)
{
    const vg_kql_node *opts = n->kids[0], *srcn = n->kids[1], *pat = n->kids[2];
    enum { K_SIMPLE, K_REGEX, K_RELAXED } kind = K_SIMPLE;
    vg_str flags = { "", 0 };
    for (uint32_t i = 0; opts && opts->kind == VG_KQL_LIST && i < opts->n; i++) {
        const vg_kql_node *o = opts->kids[i];
        vg_str w = opt_word(o);
        if (vg_str_eqc(o->name, "kind")) {
            if (vg_str_eqc(w, "simple"))
                kind = K_SIMPLE;
            else if (vg_str_eqc(w, "regex"))
                kind = K_REGEX;
            else if (vg_str_eqc(w, "relaxed"))
                kind = K_RELAXED;
            else {
                kx_fail(q, o->pos, VG_EPARSE, "parse: unknown kind '%.*s' (simple, regex, relaxed)", (int)w.n,
                        w.p);
                return NULL;
            }
        } else if (vg_str_eqc(o->name, "flags")) {
            flags = w;
            for (size_t k = 0; k < w.n; k++)
                if (!strchr("imsUx", w.p[k])) {
                    kx_fail(q, o->pos, VG_EPARSE, "parse: unknown regex flag '%c' (i, m, s, U, x)", w.p[k]);
                    return NULL;
                }
        } else {
            kx_fail(q, o->pos, VG_EPARSE, "parse: unknown option '%.*s'", (int)o->name.n, o->name.p);
            return NULL;
        }
    }
    if (flags.n && kind != K_REGEX) {
        kx_fail(q, n->pos, VG_EPARSE, "parse: flags= needs kind=regex");
        return NULL;
    }
    kx_bind b = { .q = q, .scope = sc, .in = &in->sch, .allow_rowfn = in->serialized };
    kx_parse_spec sp = { .relaxed = kind == K_RELAXED, .where = where };
    if (!(sp.src = kx_bind_expr(&b, srcn)))
        return NULL;
    uint32_t np = pat ? pat->n : 0;
    uint32_t cap = in->sch.n + np + 1;
    kx_schema s = kx_schema_alloc(q, cap);
    sp.srcmap = vg_arena_alloc(q->a, cap * sizeof(int));
    sp.outcol = vg_arena_alloc(q->a, (np ? np : 1) * sizeof(int));
    sp.group = vg_arena_alloc(q->a, (np ? np : 1) * sizeof(int));
    sp.types = vg_arena_alloc(q->a, (np ? np : 1) * sizeof(vg_type));
    if (q->err || !sp.srcmap || !sp.outcol || !sp.group || !sp.types)
        return NULL;
    for (uint32_t c = 0; c < in->sch.n; c++) {
        s.names[c] = in->sch.names[c];
        s.types[c] = in->sch.types[c];
        sp.srcmap[c] = (int)c;
    }
    s.n = in->sch.n;
    vg_buf re;
    vg_buf_init(&re, 0);
    if (flags.n) {
        vg_buf_puts(&re, "(?");
        vg_buf_putstr(&re, flags);
        vg_buf_putc(&re, ')');
    }
    vg_buf_puts(&re, "\\A");
    int groups = 0;
    kx_op *res = NULL;
    for (uint32_t i = 0; i < np; i++) {
        const vg_kql_node *e = pat->kids[i];
        bool last = i + 1 == np;
        if (e->kind == VG_KQL_STRING) {
            if (kind == K_REGEX) {
                kql_regex *part = kql_regex_get(&q->ctx, e->name);
                if (!part) {
                    q->ctx.err = VG_OK;
                    kx_fail(q, e->pos, VG_EPARSE, "parse: invalid regular expression '%.*s'", (int)e->name.n,
                            e->name.p);
                    goto out;
                }
                groups += kql_regex_groups(part);
                vg_buf_puts(&re, "(?:");
                vg_buf_putstr(&re, e->name);
                vg_buf_putc(&re, ')');
            } else {
                re_escape(&re, e->name);
            }
        } else if (e->kind == VG_KQL_STAR) {
            vg_buf_puts(&re, last ? ".*" : ".*?");
        } else if (e->kind == VG_KQL_PARAM) {
            vg_type t = VG_T_STRING;
            if (e->text.n && !kx_type_from_name(e->text, &t)) {
                kx_fail(q, e->pos, VG_EPARSE, "parse: unknown type '%.*s'", (int)e->text.n, e->text.p);
                goto out;
            }
            const char *g = last ? "(.*)" : "(.*?)";
            if (kind != K_RELAXED) {
                if (t == VG_T_LONG || t == VG_T_INT)
                    g = "(-?\\d+)";
                else if (t == VG_T_REAL)
                    g = "(-?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?)";
                else if (t == VG_T_BOOL)
                    g = "((?i:true|false))";
            }
            vg_buf_puts(&re, g);
            groups++;
            int at = kx_schema_find(&s, e->name);
            if (at < 0) {
                at = (int)s.n++;
                s.names[at] = e->name;
            }
            s.types[at] = t;
            sp.srcmap[at] = -1;
            sp.outcol[sp.ncols] = at;
            sp.group[sp.ncols] = groups;
            sp.types[sp.ncols++] = t;
        } else {
            kx_fail(q, e->pos, VG_EPARSE, "parse: unexpected %s in the pattern", vg_kql_kind_name(e->kind));
            goto out;
        }
    }
    char *text = vg_arena_alloc(q->a, re.n + 1);
    if (!text)
        goto out;
    memcpy(text, re.p, re.n);
    text[re.n] = 0;
    sp.re = kql_regex_get(&q->ctx, vg_str_make(text, re.n));
    if (!sp.re) {
        q->ctx.err = VG_OK;
        kx_fail(q, n->pos, VG_EPARSE, "parse: the pattern does not make a valid regular expression (%s)", text);
        goto out;
    }
    sp.ngroups = (uint32_t)kql_regex_groups(sp.re);
    if (sp.ngroups < (uint32_t)groups) {
        kx_fail(q, n->pos, VG_EPARSE, "parse: the pattern's groups do not add up (%s)", text);
        goto out;
    }
    res = kx_op_parse(q, in, &s, &sp);
out:
    vg_buf_free(&re);
    return res;
}

/* ---- mv-apply ---- */

/* Saves what per-row planning may change in the query, so that it can be
 * undone (relations made by the sub-query are freed after each row). */
typedef struct q_save {
    vg_arena *a;
    kx_rel **rels;
    uint32_t nrels, caprels;
} q_save;

static void q_restore(kx_query *q, const q_save *s)
{
    for (uint32_t i = s->nrels; i < q->nrels; i++)
        kx_rel_free(q->rels[i]);
    if (q->rels != s->rels && s->rels && s->nrels)
        memcpy(s->rels, q->rels, s->nrels * sizeof *s->rels);
    q->rels = s->rels;
    q->nrels = s->nrels;
    q->caprels = s->caprels;
    q->a = s->a;
}

/* The sub-query over one expanded row: its operator (planned in q->a). */
static kx_op *mvapply_sub(kx_query *q, kx_scope *sc, const kx_rel *row, const mv_plan *mp,
                          const vg_kql_node *ops)
{
    kx_op *src = kx_op_rel(q, row);
    if (!src)
        return NULL;
    kx_op *x = kx_op_mvexpand(q, src, &mp->sch, &mp->sp);
    if (!x)
        return NULL;
    kx_scope *sub = vg_arena_zalloc(q->a, sizeof *sub);
    if (!sub)
        return NULL;
    sub->up = sc;
    return ops && ops->n ? kx_plan_pipes(q, sub, x, ops->kids, ops->n) : x;
}

static kx_op *plan_mvapply(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    const vg_kql_node *opts = n->kids[0], *items = n->kids[1], *ops = n->n > 2 ? n->kids[2] : NULL;
    if (!items || items->n == 0) {
        kx_fail(q, n->pos, VG_EPARSE, "mv-apply: expected a column to expand");
        return NULL;
    }
    mv_plan mp;
    if (plan_mv_items(q, sc, &in->sch, opts, items->kids, items->n, false, &mp))
        return NULL;
    /* the sub-query's schema, from a plan over an empty row relation */
    kx_rel *none = kx_rel_new(q, &in->sch);
    if (!none)
        return NULL;
    kx_op *probe = mvapply_sub(q, sc, none, &mp, ops);
    if (!probe)
        return NULL;
    kx_schema subs = probe->sch;
    kx_op_close(probe);
    /* output: the input columns not expanded, then the sub-query's */
    kx_schema out = kx_schema_alloc(q, in->sch.n + subs.n);
    int *lmap = vg_arena_alloc(q->a, (in->sch.n + subs.n + 1) * sizeof(int));
    if (q->err || !lmap)
        return NULL;
    out.n = 0;
    for (uint32_t c = 0; c < in->sch.n; c++) {
        bool expanded = false;
        for (uint32_t i = 0; i < mp.sp.nitems; i++)
            if (vg_str_eq(mp.sch.names[mp.sp.outcol[i]], in->sch.names[c]))
                expanded = true;
        if (expanded || kx_schema_find(&subs, in->sch.names[c]) >= 0)
            continue;
        out.names[out.n] = in->sch.names[c];
        out.types[out.n] = in->sch.types[c];
        lmap[out.n++] = (int)c;
    }
    uint32_t nleft = out.n;
    for (uint32_t c = 0; c < subs.n; c++) {
        out.names[out.n] = subs.names[c];
        out.types[out.n++] = subs.types[c];
    }
    kx_rel *res = kx_rel_new(q, &out);
    if (!res)
        return NULL;
    vg_arena scratch, rowa, outa;
    vg_arena_init(&scratch, 256 << 10, 0);
    vg_arena_init(&rowa, 64 << 10, 0);
    vg_arena_init(&outa, 64 << 10, 0);
    kx_chunk one, outc;
    outc.cols = vg_arena_alloc(q->a, (out.n ? out.n : 1) * sizeof(kql_col));
    kx_rel row;
    kx_rel_init(q, &row, &in->sch);
    row.chunks = &one;
    row.nchunks = row.cap = 1;
    row.rows = 1;
    vg_err e = outc.cols ? VG_OK : VG_ENOMEM;
    for (;;) {
        if (e)
            break;
        kx_chunk *c;
        e = in->next(in, &c);
        if (e == VG_EEOF) {
            e = VG_OK;
            break;
        }
        if (e)
            break;
        for (uint32_t r = 0; r < c->n && !e; r++) {
            vg_arena_reset(&rowa);
            if ((e = kx_chunk_gather(&rowa, &in->sch, c, &r, 1, &one)))
                break;
            q_save sv = { q->a, q->rels, q->nrels, q->caprels };
            vg_arena_reset(&scratch);
            q->a = &scratch;
            kx_op *sub = mvapply_sub(q, sc, &row, &mp, ops);
            if (!sub) {
                e = q->err ? q->err : VG_ENOMEM;
                q_restore(q, &sv);
                break;
            }
            if (sub->sch.n != subs.n) {
                e = kx_fail(q, n->pos, VG_EUNSUPPORTED, "mv-apply: the sub-query's columns change from row to row");
            }
            for (;;) {
                if (e)
                    break;
                kx_chunk *sc2;
                e = sub->next(sub, &sc2);
                if (e == VG_EEOF) {
                    e = VG_OK;
                    break;
                }
                if (e)
                    break;
                vg_arena_reset(&outa);
                outc.n = sc2->n;
                for (uint32_t k = 0; k < nleft && !e; k++) {
                    if (kql_col_alloc(&outa, out.types[k], sc2->n, &outc.cols[k])) {
                        e = VG_ENOMEM;
                        break;
                    }
                    kql_val v = kql_col_get(&c->cols[lmap[k]], r);
                    for (uint32_t j = 0; j < sc2->n; j++)
                        kql_col_set(&outc.cols[k], j, v);
                }
                for (uint32_t k = 0; k < subs.n; k++)
                    outc.cols[nleft + k] = sc2->cols[k];
                if (!e)
                    e = kx_rel_append(q, res, &outc, NULL, 0);
                if (!e)
                    e = kx_check(q);
            }
            kx_op_close(sub);
            q_restore(q, &sv);
        }
    }
    vg_arena_free(&scratch);
    vg_arena_free(&rowa);
    vg_arena_free(&outa);
    if (e) {
        if (!q->err)
            kx_fail(q, n->pos, e, "mv-apply: %s", vg_strerror(e));
        return NULL;
    }
    kx_op_close(in);
    return kx_op_rel(q, res);
}

kx_op *kx_plan_more(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    switch (n->kind) {
    case VG_KQL_MV_EXPAND:
        return plan_mvexpand(q, sc, in, n);
    case VG_KQL_MV_APPLY:
        return plan_mvapply(q, sc, in, n);
    case VG_KQL_PARSE:
        return plan_parse(q, sc, in, n, false);
    case VG_KQL_PARSE_WHERE:
        return plan_parse(q, sc, in, n, true);
    case VG_KQL_MAKE_SERIES:
        return kx_plan_make_series(q, sc, in, n);
    case VG_KQL_EVALUATE:
        return kx_plan_evaluate(q, sc, in, n);
    default:
        kx_fail(q, n->pos, VG_EUNSUPPORTED, "the %s operator is not supported", vg_kql_kind_name(n->kind));
        return NULL;
    }
}
