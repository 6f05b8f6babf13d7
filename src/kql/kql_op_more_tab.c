/*
 * kql_op_more_tab.c - make-series and the evaluate plugins bag_unpack and
 * pivot.
 *
 * All three consume their whole input while the query is planned: the
 * plugins' output columns depend on the data (one column per bag key or per
 * pivot value), and make-series needs the axis range before it can bin.
 * The input is drained into a relation charged to the query; groups are
 * kept in a small hash table (gtab) of copied key values; the result is a
 * relation scanned by kx_op_rel. Aggregations come from the registry
 * (kql_agg.c) through the binder, exactly as summarize binds them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/vg_map.h"
#include "kql/kql_exec.h"

/* Kusto's cap on a make-series array (2^20 values). */
#define MS_MAX_BINS (1u << 20)

static const kx_schema empty_schema = { 0 };

/* ---- a table of distinct key tuples, in first-seen order ---- */

typedef struct gtab {
    uint32_t nk;
    vg_arena a;             /* copied key values */
    kql_val *keys;          /* n * nk */
    uint64_t *hash;
    uint32_t n, cap;
    uint32_t *slots;        /* index + 1; 0 = empty */
    uint64_t mask;
} gtab;

static void gtab_init(gtab *g, uint32_t nk)
{
    memset(g, 0, sizeof *g);
    g->nk = nk;
    vg_arena_init(&g->a, 256 << 10, 0);
}

static void gtab_free(gtab *g)
{
    free(g->keys);
    free(g->hash);
    free(g->slots);
    vg_arena_free(&g->a);
    memset(g, 0, sizeof *g);
}

/* The index of keys in the table, added when new; -1 on error (q->err). */
static int64_t gtab_get(kx_query *q, gtab *g, const kql_val *keys)
{
    uint64_t h = 0;
    for (uint32_t k = 0; k < g->nk; k++)
        h = h * 0x100000001b3ull ^ kx_key_hash(keys[k]);
    if (g->slots) {
        for (uint64_t i = h & g->mask; g->slots[i]; i = (i + 1) & g->mask) {
            uint32_t at = g->slots[i] - 1;
            if (g->hash[at] != h)
                continue;
            bool eq = true;
            for (uint32_t k = 0; k < g->nk && eq; k++)
                eq = kx_key_eq(g->keys[(size_t)at * g->nk + k], keys[k]);
            if (eq)
                return at;
        }
    }
    if (g->n == g->cap) {
        uint32_t nc = g->cap ? g->cap * 2 : 64;
        if (nc >= UINT32_MAX / 2) {
            kx_fail(q, (vg_kql_pos){ 0 }, VG_ELIMIT, "too many groups");
            return -1;
        }
        kql_val *nk = realloc(g->keys, (size_t)nc * (g->nk ? g->nk : 1) * sizeof *nk);
        if (nk)
            g->keys = nk;
        uint64_t *nh = realloc(g->hash, (size_t)nc * sizeof *nh);
        if (nh)
            g->hash = nh;
        if (!nk || !nh || kx_charge(q, (size_t)(nc - g->cap) * ((g->nk ? g->nk : 1) * sizeof *nk + 8))) {
            if (!q->err)
                kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
            return -1;
        }
        g->cap = nc;
    }
    if (((uint64_t)g->n + 1) * 2 > g->mask + 1 || !g->slots) {
        uint64_t ns = g->slots ? (g->mask + 1) * 2 : 128;
        uint32_t *t = calloc(ns, sizeof *t);
        if (!t || kx_charge(q, ns * sizeof *t)) {
            free(t);
            if (!q->err)
                kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
            return -1;
        }
        for (uint32_t i = 0; i < g->n; i++) {
            uint64_t j = g->hash[i] & (ns - 1);
            while (t[j])
                j = (j + 1) & (ns - 1);
            t[j] = i + 1;
        }
        free(g->slots);
        g->slots = t;
        g->mask = ns - 1;
    }
    size_t before = g->a.reserved;
    uint32_t at = g->n++;
    g->hash[at] = h;
    for (uint32_t k = 0; k < g->nk; k++)
        g->keys[(size_t)at * g->nk + k] = kx_val_copy(&g->a, keys[k]);
    uint64_t i = h & g->mask;
    while (g->slots[i])
        i = (i + 1) & g->mask;
    g->slots[i] = at + 1;
    if (g->a.reserved != before && kx_charge(q, g->a.reserved - before))
        return -1;
    return at;
}

/* ---- helpers ---- */

/* Drains op into a new relation (closing op). */
static kx_rel *materialize(kx_query *q, kx_op *op)
{
    kx_rel *r = kx_rel_new(q, &op->sch);
    if (!r || kx_drain(op, r, 0, NULL))
        return NULL;
    kx_op_close(op);
    return r;
}

/* Appends rows to a relation through a staging chunk of KX_CHUNK rows. */
typedef struct stage {
    kx_query *q;
    kx_rel *r;
    vg_arena a;
    kx_chunk ch;
    uint32_t n;
} stage;

static vg_err stage_init(kx_query *q, stage *s, kx_rel *r)
{
    memset(s, 0, sizeof *s);
    s->q = q;
    s->r = r;
    vg_arena_init(&s->a, 1 << 20, 0);
    s->ch.cols = vg_arena_alloc(q->a, (r->sch.n ? r->sch.n : 1) * sizeof(kql_col));
    return s->ch.cols ? VG_OK : kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
}

static vg_err stage_flush(stage *s)
{
    if (s->n == 0)
        return VG_OK;
    s->ch.n = s->n;
    for (uint32_t c = 0; c < s->r->sch.n; c++)
        s->ch.cols[c].n = s->n;
    vg_err e = kx_rel_append(s->q, s->r, &s->ch, NULL, 0);
    s->n = 0;
    vg_arena_reset(&s->a);
    return e ? e : kx_check(s->q);
}

/* The next row to fill (columns all null); its values go into s->a. */
static vg_err stage_row(stage *s, uint32_t *row)
{
    if (s->n == KX_CHUNK) {
        vg_err e = stage_flush(s);
        if (e)
            return e;
    }
    if (s->n == 0)
        for (uint32_t c = 0; c < s->r->sch.n; c++)
            if (kql_col_alloc(&s->a, s->r->sch.types[c], KX_CHUNK, &s->ch.cols[c]))
                return kx_fail(s->q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    *row = s->n++;
    return VG_OK;
}

static void stage_free(stage *s)
{
    vg_arena_free(&s->a);
}

/* Binds one aggregation call (count(), avg(x), ...) the way summarize
 * does; fails when e is not a single aggregation with one output. */
static const kx_aggcall *bind_agg(kx_query *q, kx_scope *sc, const kx_schema *in, const vg_kql_node *e,
                                  const char *who)
{
    kx_aggs *A = vg_arena_zalloc(q->a, sizeof *A);
    if (!A)
        return NULL;
    kx_bind b = { .q = q, .scope = sc, .in = &empty_schema, .aggs = A, .agg_in = in };
    kx_expr *x = kx_bind_expr(&b, e);
    if (!x)
        return NULL;
    if (A->n != 1 || x->k != KX_COL || A->calls[0].nout != 1) {
        kx_fail(q, e->pos, VG_EUNSUPPORTED, "%s: expected one aggregation call such as count() or avg(x)", who);
        return NULL;
    }
    return &A->calls[0];
}

static vg_str agg_name(const kx_aggcall *c, kx_query *q)
{
    (void)q;
    return c->def ? vg_str_c(c->def->name) : vg_str_c("Column1");
}

/* One aggregation state in a. */
static void *agg_state(vg_arena *a, const kql_agg_def *d)
{
    void *s = vg_arena_zalloc(a, d->state_size ? d->state_size : 8);
    if (s)
        d->init(s);
    return s;
}

/* ---- make-series ---- */

typedef struct ms_agg {
    const kx_aggcall *c;
    vg_str name;
    const vg_json *dflt;
} ms_agg;

static vg_err ms_const(kx_query *q, kx_scope *sc, const vg_kql_node *n, kql_val *out)
{
    kx_bind b = { .q = q, .scope = sc, .in = &empty_schema };
    return kx_bind_const(&b, n, out);
}

kx_op *kx_plan_make_series(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    const vg_kql_node *opts = n->kids[0], *aggs = n->kids[1], *axisn = n->kids[2];
    const vg_kql_node *rng = n->n > 3 ? n->kids[3] : NULL, *by = n->n > 4 ? n->kids[4] : NULL;
    bool nonempty = false;
    for (uint32_t i = 0; opts && opts->kind == VG_KQL_LIST && i < opts->n; i++) {
        const vg_kql_node *o = opts->kids[i];
        if (vg_str_eqc(o->name, "kind") && o->n && vg_str_eqc(o->kids[0]->name, "nonempty"))
            nonempty = true;
        else if (!(o->name.n > 5 && memcmp(o->name.p, "hint.", 5) == 0)) {
            kx_fail(q, o->pos, VG_EPARSE, "make-series: unknown option '%.*s'", (int)o->name.n, o->name.p);
            return NULL;
        }
    }
    /* by keys */
    uint32_t nkeys = by ? by->n : 0, counter = 0;
    if (nkeys > KX_MAX_ARGS) {
        kx_fail(q, n->pos, VG_ELIMIT, "make-series: at most %d by-columns", KX_MAX_ARGS);
        return NULL;
    }
    kx_expr *keys[KX_MAX_ARGS];
    vg_str knames[KX_MAX_ARGS];
    for (uint32_t k = 0; k < nkeys; k++) {
        const vg_kql_node *e = by->kids[k];
        vg_str nm = { NULL, 0 };
        if (e->kind == VG_KQL_ASSIGN) {
            nm = e->kids[0]->name;
            e = e->kids[1];
        }
        kx_bind b = { .q = q, .scope = sc, .in = &in->sch };
        if (!(keys[k] = kx_bind_expr(&b, e)))
            return NULL;
        knames[k] = nm.p ? nm : e->kind == VG_KQL_NAME ? e->name : kx_expr_name(q, e, &counter);
    }
    /* the axis */
    kx_bind ab = { .q = q, .scope = sc, .in = &in->sch };
    kx_expr *axis = kx_bind_expr(&ab, axisn);
    if (!axis)
        return NULL;
    vg_type at = axis->type;
    if (!kql_type_numeric(at) && at != VG_T_DATETIME && at != VG_T_TIMESPAN) {
        kx_fail(q, axisn->pos, VG_ETYPE, "make-series: the axis must be a datetime, timespan or number, not %s",
                vg_type_name(at));
        return NULL;
    }
    bool real = at == VG_T_REAL;
    vg_str axname = axisn->kind == VG_KQL_NAME ? axisn->name : kx_expr_name(q, axisn, &counter);
    /* aggregations */
    uint32_t na = aggs ? aggs->n : 0;
    ms_agg *A = vg_arena_zalloc(q->a, (na ? na : 1) * sizeof *A);
    if (!A || na == 0) {
        if (A)
            kx_fail(q, n->pos, VG_EPARSE, "make-series: expected an aggregation");
        return NULL;
    }
    for (uint32_t i = 0; i < na; i++) {
        const vg_kql_node *e = aggs->kids[i], *dn = NULL;
        if (e->kind == VG_KQL_DEFAULT) {
            dn = e->kids[1];
            e = e->kids[0];
        }
        vg_str nm = { NULL, 0 };
        if (e->kind == VG_KQL_ASSIGN) {
            nm = e->kids[0]->name;
            e = e->kids[1];
        }
        if (!(A[i].c = bind_agg(q, sc, &in->sch, e, "make-series")))
            return NULL;
        A[i].name = nm.p ? nm : kx_expr_name(q, e, &counter);
        if (!nm.p && e->kind == VG_KQL_CALL) {
            /* summarize's names: count_, avg_x */
            const vg_kql_node *a0 = e->n ? e->kids[0] : NULL;
            char *s = a0 && a0->kind == VG_KQL_NAME
                          ? vg_arena_printf(q->a, "%s_%.*s", agg_name(A[i].c, q).p, (int)a0->name.n, a0->name.p)
                          : vg_arena_printf(q->a, "%s_", agg_name(A[i].c, q).p);
            if (s)
                A[i].name = vg_str_c(s);
        }
        kql_val dv = kql_long(0);
        if (dn && ms_const(q, sc, dn, &dv))
            return NULL;
        A[i].dflt = kql_dyn_from(q->a, dv);
    }
    /* from / to / step */
    const vg_kql_node *fromn = NULL, *ton = NULL, *stepn = NULL;
    bool inclusive = false;
    if (rng && rng->kind == VG_KQL_LIST && rng->n == 1 && rng->kids[0]->kind == VG_KQL_CALL &&
        vg_str_eqc(rng->kids[0]->name, "range") && rng->kids[0]->n == 3) {
        fromn = rng->kids[0]->kids[0];
        ton = rng->kids[0]->kids[1];
        stepn = rng->kids[0]->kids[2];
        inclusive = true;
    } else {
        for (uint32_t i = 0; rng && i < rng->n; i++) {
            const vg_kql_node *o = rng->kids[i];
            if (o->kind != VG_KQL_OPTION || o->n == 0)
                continue;
            if (vg_str_eqc(o->name, "from"))
                fromn = o->kids[0];
            else if (vg_str_eqc(o->name, "to"))
                ton = o->kids[0];
            else if (vg_str_eqc(o->name, "step"))
                stepn = o->kids[0];
        }
    }
    if (!stepn) {
        kx_fail(q, n->pos, VG_EPARSE, "make-series: 'step' is required");
        return NULL;
    }
    kql_val fv = kql_null(at), tv = kql_null(at), sv;
    if ((fromn && ms_const(q, sc, fromn, &fv)) || (ton && ms_const(q, sc, ton, &tv)) || ms_const(q, sc, stepn, &sv))
        return NULL;
    fv = kql_cast(q->a, fv, at);
    tv = kql_cast(q->a, tv, at);
    sv = kql_cast(q->a, sv, real ? VG_T_REAL : (at == VG_T_DATETIME ? VG_T_TIMESPAN : at == VG_T_INT ? VG_T_LONG : at));
    if (sv.null || (real ? !(sv.u.r > 0) : sv.u.i <= 0)) {
        kx_fail(q, stepn->pos, VG_EPARSE, "make-series: the step must be a positive %s",
                at == VG_T_DATETIME || at == VG_T_TIMESPAN ? "timespan" : "number");
        return NULL;
    }
    /* the input */
    kx_rel *rel = materialize(q, in);
    if (!rel)
        return NULL;
    vg_arena scratch;
    vg_arena_init(&scratch, 1 << 20, 0);
    gtab G;
    gtab_init(&G, nkeys);
    stage st = { 0 };
    kx_rel *res = NULL;
    void ***states = NULL;     /* per group: nbins * na states (NULL = empty bin) */
    uint32_t scap = 0;
    vg_arena sarena;
    vg_arena_init(&sarena, 1 << 20, 0);
    vg_err e = VG_OK;
    /* the range when from/to are missing: the data's min and max */
    if (fv.null || tv.null) {
        kql_val mn = kql_null(at), mx = kql_null(at);
        for (uint32_t ci = 0; ci < rel->nchunks && !e; ci++) {
            vg_arena_reset(&scratch);
            kx_evalctx ec = { .q = q, .arena = &scratch, .in = &rel->chunks[ci] };
            kx_vec v;
            if ((e = kx_eval(&ec, axis, &v)))
                break;
            for (uint32_t r = 0; r < rel->chunks[ci].n; r++) {
                kql_val x = kx_vec_get(&v, r);
                if (x.null || (real && x.u.r != x.u.r))
                    continue;
                if (mn.null || kql_val_cmp(x, mn) < 0)
                    mn = x;
                if (mx.null || kql_val_cmp(x, mx) > 0)
                    mx = x;
            }
        }
        const kql_fn_def *bin = kql_fn_find(vg_str_c("bin"));
        if (!e && !mn.null && bin) {
            kql_ctx cx = q->ctx;
            cx.arena = q->a;
            kql_val args[2] = { mn, sv };
            if (fv.null)
                fv = kql_cast(q->a, bin->fn(&cx, args, 2), at);
            /* to: just past the last bin (counted from `from`) that holds data */
            if (tv.null && !fv.null) {
                tv = fv;
                if (real && mx.u.r >= fv.u.r)
                    tv.u.r = fv.u.r + (floor((mx.u.r - fv.u.r) / sv.u.r) + 1) * sv.u.r;
                else if (!real && mx.u.i >= fv.u.i)
                    tv.u.i = fv.u.i + (int64_t)((uint64_t)(mx.u.i - fv.u.i) / (uint64_t)sv.u.i + 1) * sv.u.i;
                inclusive = false;
            }
        }
    }
    uint64_t nbins = 0;
    if (!e && !fv.null && !tv.null) {
        double span = real ? (tv.u.r - fv.u.r) / sv.u.r : ((double)tv.u.i - (double)fv.u.i) / (double)sv.u.i;
        if (span > (double)MS_MAX_BINS + 1) {
            e = kx_fail(q, n->pos, VG_ELIMIT,
                        "make-series: the range makes more than %u bins (Kusto's limit); use a larger step",
                        MS_MAX_BINS);
        } else if (span >= 0) {
            if (real)
                nbins = inclusive ? (uint64_t)span + 1 : (uint64_t)span + ((double)(uint64_t)span < span);
            else {
                uint64_t d = (uint64_t)(tv.u.i - fv.u.i), s = (uint64_t)sv.u.i;
                nbins = inclusive ? d / s + 1 : (d + s - 1) / s;
            }
            if (nbins > MS_MAX_BINS)
                e = kx_fail(q, n->pos, VG_ELIMIT, "make-series: the range makes more than %u bins (Kusto's limit)",
                            MS_MAX_BINS);
        }
    }
    /* aggregate every row into its group's bin */
    for (uint32_t ci = 0; ci < rel->nchunks && !e; ci++) {
        const kx_chunk *ch = &rel->chunks[ci];
        vg_arena_reset(&scratch);
        kx_evalctx ec = { .q = q, .arena = &scratch, .in = ch };
        kx_vec kv[KX_MAX_ARGS], av;
        for (uint32_t k = 0; k < nkeys && !e; k++)
            e = kx_eval(&ec, keys[k], &kv[k]);
        if (!e)
            e = kx_eval(&ec, axis, &av);
        uint32_t totargs = 0;
        for (uint32_t a = 0; a < na; a++)
            totargs += A[a].c->nargs;
        kx_vec *argv = vg_arena_alloc(&scratch, (totargs ? totargs : 1) * sizeof *argv);
        if (!argv && !e)
            e = kx_fail(q, n->pos, VG_ENOMEM, "out of memory");
        uint32_t at2 = 0;
        for (uint32_t a = 0; a < na && !e; a++)
            for (uint32_t j = 0; j < A[a].c->nargs && !e; j++)
                e = kx_eval(&ec, A[a].c->args[j], &argv[at2++]);
        for (uint32_t r = 0; r < ch->n && !e; r++) {
            kql_val x = kx_vec_get(&av, r);
            if (x.null || !nbins)
                continue;
            uint64_t bi;
            if (real) {
                if (!(x.u.r >= fv.u.r))
                    continue;
                double d = (x.u.r - fv.u.r) / sv.u.r;
                if (d >= (double)nbins)
                    continue;
                bi = (uint64_t)d;
            } else {
                if (x.u.i < fv.u.i)
                    continue;
                bi = (uint64_t)(x.u.i - fv.u.i) / (uint64_t)sv.u.i;
                if (bi >= nbins)
                    continue;
            }
            kql_val kvals[KX_MAX_ARGS];
            for (uint32_t k = 0; k < nkeys; k++)
                kvals[k] = kx_vec_get(&kv[k], r);
            int64_t g = gtab_get(q, &G, kvals);
            if (g < 0) {
                e = q->err ? q->err : VG_ENOMEM;
                break;
            }
            if ((uint32_t)g >= scap) {
                uint32_t nc = scap ? scap * 2 : 64;
                void ***ns = realloc(states, nc * sizeof *ns);
                if (!ns) {
                    e = kx_fail(q, n->pos, VG_ENOMEM, "out of memory");
                    break;
                }
                memset(ns + scap, 0, (nc - scap) * sizeof *ns);
                states = ns;
                scap = nc;
            }
            if (!states[g] && nbins) {
                size_t before = sarena.reserved;
                states[g] = vg_arena_zalloc(&sarena, nbins * na * sizeof(void *));
                if (!states[g] || kx_charge(q, sarena.reserved - before)) {
                    e = q->err ? q->err : kx_fail(q, n->pos, VG_ENOMEM, "out of memory");
                    break;
                }
            }
            size_t before = sarena.reserved;
            at2 = 0;
            for (uint32_t a = 0; a < na; a++) {
                const kx_aggcall *c = A[a].c;
                void **slot = &states[g][bi * na + a];
                if (!*slot && !(*slot = agg_state(&sarena, c->def))) {
                    e = kx_fail(q, n->pos, VG_ENOMEM, "out of memory");
                    break;
                }
                kql_val args[KX_MAX_ARGS];
                for (uint32_t j = 0; j < c->nargs && j < KX_MAX_ARGS; j++)
                    args[j] = kx_vec_get(&argv[at2 + j], r);
                c->def->add(&sarena, *slot, args, c->nargs);
                at2 += c->nargs;
            }
            if (!e && sarena.reserved != before)
                e = kx_charge(q, sarena.reserved - before);
        }
    }
    /* kind=nonempty: an empty input still gives one row of defaults */
    if (!e && G.n == 0 && nonempty) {
        kql_val nk[KX_MAX_ARGS];
        for (uint32_t k = 0; k < nkeys; k++)
            nk[k] = kql_null(keys[k]->type);
        if (gtab_get(q, &G, nk) < 0)
            e = q->err ? q->err : VG_ENOMEM;
    }
    /* the result: by keys, one array per aggregation, the axis array */
    if (!e) {
        kx_schema out = kx_schema_alloc(q, nkeys + na + 1);
        if (q->err) {
            e = q->err;
            goto out;
        }
        for (uint32_t k = 0; k < nkeys; k++) {
            out.names[k] = knames[k];
            out.types[k] = keys[k]->type;
        }
        for (uint32_t a = 0; a < na; a++) {
            out.names[nkeys + a] = A[a].name;
            out.types[nkeys + a] = VG_T_DYNAMIC;
        }
        out.names[nkeys + na] = axname;
        out.types[nkeys + na] = VG_T_DYNAMIC;
        if (!(res = kx_rel_new(q, &out)) || stage_init(q, &st, res)) {
            e = q->err ? q->err : VG_ENOMEM;
            goto out;
        }
        for (uint32_t g = 0; g < G.n && !e; g++) {
            uint32_t row;
            if ((e = stage_row(&st, &row)))
                break;
            for (uint32_t k = 0; k < nkeys; k++)
                kql_col_set(&st.ch.cols[k], row, G.keys[(size_t)g * nkeys + k]);
            for (uint32_t a = 0; a < na && !e; a++) {
                vg_json *arr = kql_dyn_array(&st.a, (uint32_t)nbins);
                if (!arr) {
                    e = kx_fail(q, n->pos, VG_ENOMEM, "out of memory");
                    break;
                }
                for (uint64_t bi = 0; bi < nbins; bi++) {
                    void *s = g < scap && states[g] ? states[g][bi * na + a] : NULL;
                    const vg_json *el = A[a].dflt;
                    if (s) {
                        kql_val o = kql_null(A[a].c->out_types[0]);
                        A[a].c->def->finish(&st.a, s, &o, 1);
                        el = kql_dyn_from(&st.a, o);
                    }
                    kql_dyn_push(arr, el);
                }
                kql_col_set(&st.ch.cols[nkeys + a], row, kql_dynamic(arr));
            }
            vg_json *ax = kql_dyn_array(&st.a, (uint32_t)nbins);
            if (!ax && !e)
                e = kx_fail(q, n->pos, VG_ENOMEM, "out of memory");
            for (uint64_t bi = 0; bi < nbins && !e; bi++) {
                kql_val v = fv;
                if (real)
                    v.u.r = fv.u.r + (double)bi * sv.u.r;
                else
                    v.u.i = fv.u.i + (int64_t)bi * sv.u.i;
                kql_dyn_push(ax, kql_dyn_from(&st.a, v));
            }
            if (!e)
                kql_col_set(&st.ch.cols[nkeys + na], row, kql_dynamic(ax));
            if (!e && st.a.reserved > ((size_t)256 << 20))
                e = stage_flush(&st);
        }
        if (!e)
            e = stage_flush(&st);
    }
out:
    stage_free(&st);
    free(states);
    vg_arena_free(&sarena);
    vg_arena_free(&scratch);
    gtab_free(&G);
    kx_rel_free(rel);
    if (e) {
        if (!q->err)
            kx_fail(q, n->pos, e, "make-series: %s", vg_strerror(e));
        return NULL;
    }
    return kx_op_rel(q, res);
}

/* ---- evaluate bag_unpack(column [, prefix [, columnsConflict [, ignoredProperties]]]) ---- */

static int cmp_str(const void *a, const void *b)
{
    const vg_str *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = n ? memcmp(x->p, y->p, n) : 0;
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The positional or named argument i / name of a plugin call. */
static const vg_kql_node *plugin_arg(const vg_kql_node *call, uint32_t i, const char *name)
{
    for (uint32_t k = 0; k < call->n; k++)
        if (call->kids[k]->kind == VG_KQL_NAMED_ARG && vg_str_eqc(call->kids[k]->name, name))
            return call->kids[k]->kids[0];
    return i < call->n && call->kids[i]->kind != VG_KQL_NAMED_ARG ? call->kids[i] : NULL;
}

static kx_op *plan_bag_unpack(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *call)
{
    const vg_kql_node *coln = plugin_arg(call, 0, "column"), *pren = plugin_arg(call, 1, "OutputColumnPrefix");
    const vg_kql_node *conn = plugin_arg(call, 2, "columnsConflict"), *ignn = plugin_arg(call, 3, "ignoredProperties");
    if (!coln) {
        kx_fail(q, call->pos, VG_EPARSE, "bag_unpack: expected the column to unpack");
        return NULL;
    }
    kx_bind b = { .q = q, .scope = sc, .in = &in->sch };
    kx_expr *col = kx_bind_expr(&b, coln);
    if (!col)
        return NULL;
    vg_str prefix = { "", 0 };
    int conflict = 0;   /* 0 error, 1 replace_source, 2 keep_source */
    const vg_json *ignored = NULL;
    kql_val v;
    if (pren) {
        if (ms_const(q, sc, pren, &v))
            return NULL;
        prefix = v.t == VG_T_STRING ? v.u.s : kql_to_string(q->a, v);
    }
    if (conn) {
        if (ms_const(q, sc, conn, &v))
            return NULL;
        if (v.t == VG_T_STRING && vg_str_eqc(v.u.s, "replace_source"))
            conflict = 1;
        else if (v.t == VG_T_STRING && vg_str_eqc(v.u.s, "keep_source"))
            conflict = 2;
        else if (!(v.t == VG_T_STRING && vg_str_eqc(v.u.s, "error"))) {
            kx_fail(q, conn->pos, VG_EPARSE, "bag_unpack: columnsConflict is error, replace_source or keep_source");
            return NULL;
        }
    }
    if (ignn) {
        if (ms_const(q, sc, ignn, &v))
            return NULL;
        ignored = v.t == VG_T_DYNAMIC ? v.u.d : NULL;
    }
    int srccol = col->k == KX_COL ? col->col : -1;
    kx_rel *rel = materialize(q, in);
    if (!rel)
        return NULL;
    gtab K;
    gtab_init(&K, 1);
    vg_type *kt = NULL;
    uint32_t ktcap = 0;
    vg_arena scratch;
    vg_arena_init(&scratch, 1 << 20, 0);
    vg_err e = VG_OK;
    kx_op *res = NULL;
    stage st = { 0 };
    /* pass 1: the keys and their types */
    for (uint32_t ci = 0; ci < rel->nchunks && !e; ci++) {
        vg_arena_reset(&scratch);
        kx_evalctx ec = { .q = q, .arena = &scratch, .in = &rel->chunks[ci] };
        kx_vec bv;
        if ((e = kx_eval(&ec, col, &bv)))
            break;
        for (uint32_t r = 0; r < rel->chunks[ci].n && !e; r++) {
            kql_val x = kx_vec_get(&bv, r);
            if (x.t != VG_T_DYNAMIC || x.null || !x.u.d || x.u.d->kind != VG_JSON_OBJECT)
                continue;
            for (uint32_t m = 0; m < x.u.d->n; m++) {
                const vg_json *kid = x.u.d->kids[m];
                bool skip = false;
                for (uint32_t j = 0; ignored && ignored->kind == VG_JSON_ARRAY && j < ignored->n; j++)
                    if (ignored->kids[j]->kind == VG_JSON_STRING && vg_str_eq(ignored->kids[j]->str, kid->key))
                        skip = true;
                if (skip)
                    continue;
                kql_val kk = kql_string(kid->key);
                uint32_t before = K.n;
                int64_t g = gtab_get(q, &K, &kk);
                if (g < 0) {
                    e = q->err ? q->err : VG_ENOMEM;
                    break;
                }
                if (K.n > KX_MAX_COLS) {
                    e = kx_fail(q, call->pos, VG_ELIMIT, "bag_unpack: more than %d distinct keys", KX_MAX_COLS);
                    break;
                }
                if (K.n > ktcap) {
                    uint32_t nc = ktcap ? ktcap * 2 : 64;
                    vg_type *nt = realloc(kt, nc * sizeof *nt);
                    if (!nt) {
                        e = kx_fail(q, call->pos, VG_ENOMEM, "out of memory");
                        break;
                    }
                    kt = nt;
                    ktcap = nc;
                }
                if (K.n != before)
                    kt[g] = VG_T_COUNT_;   /* no value seen yet */
                if (kid->kind == VG_JSON_NULL)
                    continue;
                vg_type t = kql_dyn_scalar(kid).t;
                if (kt[g] == VG_T_COUNT_)
                    kt[g] = t;
                else if (kt[g] != t)
                    kt[g] = VG_T_DYNAMIC;
            }
        }
    }
    if (e)
        goto out;
    /* the output schema: the input without the bag column, then the keys in order */
    vg_str *names = malloc((K.n ? K.n : 1) * sizeof *names);
    uint32_t *order = malloc((K.n ? K.n : 1) * sizeof *order);
    if (!names || !order) {
        free(names);
        free(order);
        e = kx_fail(q, call->pos, VG_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < K.n; i++)
        names[i] = K.keys[i].u.s;
    qsort(names, K.n, sizeof *names, cmp_str);
    for (uint32_t i = 0; i < K.n; i++) {
        kql_val kk = kql_string(names[i]);
        order[i] = (uint32_t)gtab_get(q, &K, &kk);
    }
    free(names);
    kx_schema out = kx_schema_alloc(q, rel->sch.n + K.n);
    int *src = vg_arena_alloc(q->a, (rel->sch.n + K.n + 1) * sizeof(int));
    int *keyof = vg_arena_alloc(q->a, (rel->sch.n + K.n + 1) * sizeof(int));
    if (q->err || !src || !keyof) {
        free(order);
        e = q->err ? q->err : VG_ENOMEM;
        goto out;
    }
    out.n = 0;
    for (uint32_t c = 0; c < rel->sch.n; c++) {
        if ((int)c == srccol)
            continue;
        out.names[out.n] = rel->sch.names[c];
        out.types[out.n] = rel->sch.types[c];
        keyof[out.n] = -1;
        src[out.n++] = (int)c;
    }
    for (uint32_t i = 0; i < K.n; i++) {
        uint32_t g = order[i];
        vg_str nm = K.keys[g].u.s;
        if (prefix.n) {
            char *s = vg_arena_printf(q->a, "%.*s%.*s", (int)prefix.n, prefix.p, (int)nm.n, nm.p);
            nm = s ? vg_str_c(s) : nm;
        } else {
            nm = vg_str_dup(q->a, nm);
        }
        int dup = kx_schema_find(&out, nm);
        if (dup >= 0) {
            if (conflict == 2)
                continue;
            if (conflict == 0) {
                free(order);
                e = kx_fail(q, call->pos, VG_EPARSE,
                            "bag_unpack: the key '%.*s' conflicts with an existing column (use columnsConflict)",
                            (int)nm.n, nm.p);
                goto out;
            }
            out.types[dup] = kt[g] == VG_T_COUNT_ ? VG_T_DYNAMIC : kt[g];
            keyof[dup] = (int)g;
            src[dup] = -1;
            continue;
        }
        out.names[out.n] = nm;
        out.types[out.n] = kt[g] == VG_T_COUNT_ ? VG_T_DYNAMIC : kt[g];
        keyof[out.n] = (int)g;
        src[out.n++] = -1;
    }
    free(order);
    /* pass 2: the rows */
    kx_rel *rr = kx_rel_new(q, &out);
    if (!rr || stage_init(q, &st, rr)) {
        e = q->err ? q->err : VG_ENOMEM;
        goto out;
    }
    int *colof = malloc((K.n ? K.n : 1) * sizeof *colof);
    if (!colof) {
        e = kx_fail(q, call->pos, VG_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < K.n; i++)
        colof[i] = -1;
    for (uint32_t c = 0; c < out.n; c++)
        if (keyof[c] >= 0)
            colof[keyof[c]] = (int)c;
    for (uint32_t ci = 0; ci < rel->nchunks && !e; ci++) {
        const kx_chunk *ch = &rel->chunks[ci];
        vg_arena_reset(&scratch);
        kx_evalctx ec = { .q = q, .arena = &scratch, .in = ch };
        kx_vec bv;
        if ((e = kx_eval(&ec, col, &bv)))
            break;
        if ((e = stage_flush(&st)))
            break;
        for (uint32_t r = 0; r < ch->n && !e; r++) {
            uint32_t row;
            if ((e = stage_row(&st, &row)))
                break;
            for (uint32_t c = 0; c < out.n; c++)
                if (src[c] >= 0)
                    kql_col_set(&st.ch.cols[c], row, kql_col_get(&ch->cols[src[c]], r));
            kql_val x = kx_vec_get(&bv, r);
            if (x.t != VG_T_DYNAMIC || x.null || !x.u.d || x.u.d->kind != VG_JSON_OBJECT)
                continue;
            for (uint32_t m = 0; m < x.u.d->n; m++) {
                const vg_json *kid = x.u.d->kids[m];
                kql_val kk = kql_string(kid->key);
                uint32_t before = K.n;
                int64_t g = gtab_get(q, &K, &kk);
                if (g < 0 || K.n != before || colof[g] < 0)
                    continue;   /* an ignored key */
                int c = colof[g];
                kql_col_set(&st.ch.cols[c], row, kx_dyn_to_type(&st.a, kid, out.types[c]));
            }
        }
        /* the input chunk's values are referenced until appended */
        if (!e)
            e = stage_flush(&st);
    }
    free(colof);
    if (!e)
        e = stage_flush(&st);
    if (!e)
        res = kx_op_rel(q, rr);
out:
    stage_free(&st);
    free(kt);
    gtab_free(&K);
    vg_arena_free(&scratch);
    kx_rel_free(rel);
    if (e && !q->err)
        kx_fail(q, call->pos, e, "bag_unpack: %s", vg_strerror(e));
    return e ? NULL : res;
}

/* ---- evaluate pivot(column [, aggregation] [, by columns ...]) ---- */

static void names_in(const vg_kql_node *n, const kx_schema *s, bool *used)
{
    if (!n)
        return;
    if (n->kind == VG_KQL_NAME) {
        int c = kx_schema_find(s, n->name);
        if (c >= 0)
            used[c] = true;
    }
    for (uint32_t i = 0; i < n->n; i++)
        names_in(n->kids[i], s, used);
}

static kx_op *plan_pivot(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *call)
{
    if (call->n < 1 || call->kids[0]->kind != VG_KQL_NAME) {
        kx_fail(q, call->pos, VG_EPARSE, "pivot: expected the pivot column");
        return NULL;
    }
    int pc = kx_schema_find(&in->sch, call->kids[0]->name);
    if (pc < 0) {
        kx_fail(q, call->kids[0]->pos, VG_EPARSE, "Failed to resolve column '%.*s'", (int)call->kids[0]->name.n,
                call->kids[0]->name.p);
        return NULL;
    }
    const vg_kql_node *aggn = NULL;
    uint32_t first_by = 1;
    if (call->n > 1 && call->kids[1]->kind == VG_KQL_CALL && kql_agg_find(call->kids[1]->name)) {
        aggn = call->kids[1];
        first_by = 2;
    }
    static const vg_kql_node count_call = { .kind = VG_KQL_CALL, .name = { "count", 5 } };
    const kx_aggcall *ac = bind_agg(q, sc, &in->sch, aggn ? aggn : &count_call, "pivot");
    if (!ac)
        return NULL;
    bool *used = vg_arena_zalloc(q->a, (in->sch.n ? in->sch.n : 1) * sizeof(bool));
    int *bycols = vg_arena_alloc(q->a, (in->sch.n + call->n + 1) * sizeof(int));
    if (!used || !bycols)
        return NULL;
    uint32_t nby = 0;
    if (call->n > first_by) {
        for (uint32_t i = first_by; i < call->n; i++) {
            const vg_kql_node *k = call->kids[i];
            int c = k->kind == VG_KQL_NAME ? kx_schema_find(&in->sch, k->name) : -1;
            if (c < 0) {
                kx_fail(q, k->pos, VG_EPARSE, "pivot: expected a column name");
                return NULL;
            }
            bycols[nby++] = c;
        }
    } else {
        used[pc] = true;
        names_in(aggn, &in->sch, used);
        for (uint32_t c = 0; c < in->sch.n; c++)
            if (!used[c])
                bycols[nby++] = (int)c;
    }
    if (nby > KX_MAX_ARGS) {
        kx_fail(q, call->pos, VG_ELIMIT, "pivot: at most %d group columns", KX_MAX_ARGS);
        return NULL;
    }
    kx_rel *rel = materialize(q, in);
    if (!rel)
        return NULL;
    gtab G, P, C;
    gtab_init(&G, nby);
    gtab_init(&P, 1);
    gtab_init(&C, 2);
    void **cells = NULL;
    uint32_t ccap = 0;
    vg_arena sarena, scratch;
    vg_arena_init(&sarena, 1 << 20, 0);
    vg_arena_init(&scratch, 1 << 20, 0);
    stage st = { 0 };
    kx_op *res = NULL;
    vg_err e = VG_OK;
    for (uint32_t ci = 0; ci < rel->nchunks && !e; ci++) {
        const kx_chunk *ch = &rel->chunks[ci];
        vg_arena_reset(&scratch);
        kx_evalctx ec = { .q = q, .arena = &scratch, .in = ch };
        kx_vec argv[KX_MAX_ARGS];
        for (uint32_t j = 0; j < ac->nargs && j < KX_MAX_ARGS && !e; j++)
            e = kx_eval(&ec, ac->args[j], &argv[j]);
        for (uint32_t r = 0; r < ch->n && !e; r++) {
            kql_val keys[KX_MAX_ARGS];
            for (uint32_t k = 0; k < nby; k++)
                keys[k] = kql_col_get(&ch->cols[bycols[k]], r);
            kql_val pv = kql_col_get(&ch->cols[pc], r);
            kql_val ps = kql_string(pv.t == VG_T_STRING ? pv.u.s : kql_to_string(&scratch, pv));
            int64_t g = gtab_get(q, &G, keys), p = g < 0 ? -1 : gtab_get(q, &P, &ps);
            if (p > KX_MAX_COLS) {
                e = kx_fail(q, call->pos, VG_ELIMIT, "pivot: more than %d distinct values", KX_MAX_COLS);
                break;
            }
            kql_val ck[2] = { kql_long(g), kql_long(p) };
            uint32_t before = C.n;
            int64_t cell = p < 0 ? -1 : gtab_get(q, &C, ck);
            if (cell < 0) {
                e = q->err ? q->err : VG_ENOMEM;
                break;
            }
            if (C.n > ccap) {
                uint32_t nc = ccap ? ccap * 2 : 256;
                void **ncs = realloc(cells, nc * sizeof *ncs);
                if (!ncs) {
                    e = kx_fail(q, call->pos, VG_ENOMEM, "out of memory");
                    break;
                }
                cells = ncs;
                ccap = nc;
            }
            size_t sb = sarena.reserved;
            if (C.n != before && !(cells[cell] = agg_state(&sarena, ac->def))) {
                e = kx_fail(q, call->pos, VG_ENOMEM, "out of memory");
                break;
            }
            kql_val args[KX_MAX_ARGS];
            for (uint32_t j = 0; j < ac->nargs && j < KX_MAX_ARGS; j++)
                args[j] = kx_vec_get(&argv[j], r);
            ac->def->add(&sarena, cells[cell], args, ac->nargs);
            if (sarena.reserved != sb)
                e = kx_charge(q, sarena.reserved - sb);
        }
    }
    if (e)
        goto out;
    kx_schema out = kx_schema_alloc(q, nby + P.n);
    if (q->err) {
        e = q->err;
        goto out;
    }
    for (uint32_t k = 0; k < nby; k++) {
        out.names[k] = rel->sch.names[bycols[k]];
        out.types[k] = rel->sch.types[bycols[k]];
    }
    for (uint32_t p = 0; p < P.n; p++) {
        out.names[nby + p] = vg_str_dup(q->a, P.keys[p].u.s);
        out.types[nby + p] = ac->out_types[0];
    }
    kx_rel *rr = kx_rel_new(q, &out);
    if (!rr || stage_init(q, &st, rr)) {
        e = q->err ? q->err : VG_ENOMEM;
        goto out;
    }
    for (uint32_t g = 0; g < G.n && !e; g++) {
        uint32_t row;
        if ((e = stage_row(&st, &row)))
            break;
        for (uint32_t k = 0; k < nby; k++)
            kql_col_set(&st.ch.cols[k], row, G.keys[(size_t)g * nby + k]);
        for (uint32_t p = 0; p < P.n && !e; p++) {
            kql_val ck[2] = { kql_long(g), kql_long(p) };
            uint32_t before = C.n;
            int64_t cell = gtab_get(q, &C, ck);
            void *s;
            if (cell < 0) {
                e = q->err ? q->err : VG_ENOMEM;
                break;
            }
            if (C.n != before)
                s = agg_state(&st.a, ac->def);   /* an empty cell: the aggregation of no rows */
            else
                s = cells[cell];
            if (!s) {
                e = kx_fail(q, call->pos, VG_ENOMEM, "out of memory");
                break;
            }
            kql_val o = kql_null(ac->out_types[0]);
            ac->def->finish(&st.a, s, &o, 1);
            kql_col_set(&st.ch.cols[nby + p], row, o.t == out.types[nby + p] ? o : kql_cast(&st.a, o, out.types[nby + p]));
        }
    }
    if (!e)
        e = stage_flush(&st);
    if (!e)
        res = kx_op_rel(q, rr);
out:
    stage_free(&st);
    free(cells);
    gtab_free(&G);
    gtab_free(&P);
    gtab_free(&C);
    vg_arena_free(&sarena);
    vg_arena_free(&scratch);
    kx_rel_free(rel);
    if (e && !q->err)
        kx_fail(q, call->pos, e, "pivot: %s", vg_strerror(e));
    return e ? NULL : res;
}

kx_op *kx_plan_evaluate(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    const vg_kql_node *call = n->n > 1 ? n->kids[1] : NULL;
    if (!call || call->kind != VG_KQL_CALL) {
        kx_fail(q, n->pos, VG_EPARSE, "evaluate: expected a plugin call");
        return NULL;
    }
    if (vg_str_eqc(call->name, "bag_unpack"))
        return plan_bag_unpack(q, sc, in, call);
    if (vg_str_eqc(call->name, "pivot"))
        return plan_pivot(q, sc, in, call);
    kx_fail(q, call->pos, VG_EUNSUPPORTED, "evaluate plugin '%.*s' is not supported", (int)call->name.n,
            call->name.p);
    return NULL;
}
