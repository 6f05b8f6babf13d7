/*
 * sigma_corr_build.c - compiles the correlation rules of a ruleset into a
 * sg_corr_engine, once: resolves the referenced rules (by name or id), the
 * field each group-by name reads for each referenced rule (aliases), checks
 * the chain of correlations on correlations for cycles and depth, and builds
 * the dispatch table from a rule's index in rs->rules to the (correlation,
 * rule slot) pairs that want its matches. All of it lives in the engine's
 * arena; sg_corr_free() also releases the run-time state.
 */
#include "sigma_corr.h"

#include <stdlib.h>
#include <string.h>

#include "../core/vg_map.h"
#include "sigma_corr_int.h"

static bool rule_is(const sg_rule *r, vg_str ref)
{
    return (r->name.n && vg_str_eq(r->name, ref)) || (r->id.n && vg_str_eq(r->id, ref));
}

/* ---- compiling the correlations ---- */

/* The field read for `name` in events of rule r (aliases resolved). */
static vg_str alias_field(const sg_corr *c, const sg_rule *r, vg_str name)
{
    for (uint32_t a = 0; a < c->naliases; a++) {
        const sg_alias *al = &c->aliases[a];
        if (!vg_str_eq(al->name, name))
            continue;
        for (uint32_t i = 0; i < al->n; i++)
            if (rule_is(r, al->rules[i]))
                return al->fields[i];
    }
    return name;
}

/* printf-safe text of a counted string that may be {NULL, 0}. */
#define CR_FMT(s) (int)(s).n, ((s).p ? (s).p : "")

static vg_err corr_diag(vg_diag *d, vg_err err, const sg_rule *r, const char *what, vg_str arg)
{
    if (!arg.p)
        return vg_diag_set(d, err, "correlation '%.*s' (%.*s): %s", CR_FMT(r->title),
                           CR_FMT(r->file), what);
    return vg_diag_set(d, err, "correlation '%.*s' (%.*s): %s '%.*s'", CR_FMT(r->title),
                       CR_FMT(r->file), what, CR_FMT(arg));
}

static vg_err corr_setup(sg_corr_engine *e, cr_corr *cc, const sg_rule *r, const vg_map *byname,
                         const vg_map *byid, vg_diag *d)
{
    const sg_corr *c = &r->corr;
    cc->rule = r;
    cc->c = c;
    cc->next_due = INT64_MAX;
    vg_buf_init(&cc->key, 0);
    if (c->timespan <= 0)
        return corr_diag(d, VG_EINVAL, r, "timespan must be positive", VG_STR_NULL);
    if (!c->nrules)
        return corr_diag(d, VG_EINVAL, r, "no rules referenced", VG_STR_NULL);
    bool temporal = c->type == SG_CORR_TEMPORAL || c->type == SG_CORR_TEMPORAL_ORDERED;
    if (!temporal && !c->nbounds)
        return corr_diag(d, VG_EINVAL, r, "condition needed for this type", VG_STR_NULL);
    if (!temporal && c->type != SG_CORR_EVENT_COUNT && !c->field.n)
        return corr_diag(d, VG_EINVAL, r, "condition field needed for this type", VG_STR_NULL);
    cc->eager = true;
    for (uint32_t i = 0; i < c->nbounds; i++)
        if (c->bounds[i].cmp != SG_CMP_GT && c->bounds[i].cmp != SG_CMP_GTE)
            cc->eager = false;
    cc->uniq = vg_arena_alloc(&e->arena, c->nrules * sizeof *cc->uniq);
    cc->seq = vg_arena_alloc(&e->arena, c->nrules * sizeof *cc->seq);
    if (!cc->uniq || !cc->seq)
        return VG_ENOMEM;
    for (uint32_t i = 0; i < c->nrules; i++) {
        bool found;
        const sg_rule *t = vg_map_get(byname, c->rules[i], &found);
        if (!found)
            t = vg_map_get(byid, c->rules[i], &found);
        if (!found)
            return corr_diag(d, VG_ENOTFOUND, r, "unknown rule", c->rules[i]);
        if (t->kind == SG_KIND_FILTER)
            return corr_diag(d, VG_EINVAL, r, "refers to a filter", c->rules[i]);
        if (t == r)
            return corr_diag(d, VG_EINVAL, r, "refers to itself", c->rules[i]);
        uint32_t u = 0;
        while (u < cc->nuniq && cc->uniq[u] != t)
            u++;
        if (u == cc->nuniq)
            cc->uniq[cc->nuniq++] = t;
        cc->seq[i] = u;
    }
    size_t ng = c->ngroup_by;
    cc->gfield = vg_arena_alloc(&e->arena, (cc->nuniq * ng + 1) * sizeof(vg_str));
    cc->vfield = vg_arena_alloc(&e->arena, cc->nuniq * sizeof(vg_str));
    if (!cc->gfield || !cc->vfield)
        return VG_ENOMEM;
    for (uint32_t u = 0; u < cc->nuniq; u++) {
        for (size_t k = 0; k < ng; k++)
            cc->gfield[u * ng + k] = alias_field(c, cc->uniq[u], c->group_by[k]);
        cc->vfield[u] = alias_field(c, cc->uniq[u], c->field);
    }
    return VG_OK;
}

/* Depth of the correlation stack on top of base rules; cycles are errors.
 * state: 0 unvisited, 1 on the path, 2 done (depth in depth[]). */
static vg_err chain_depth(sg_corr_engine *e, uint32_t ci, unsigned char *state, uint32_t *depth,
                          uint32_t level, vg_diag *d)
{
    const cr_corr *cc = &e->corrs[ci];
    if (state[ci] == 2)
        return VG_OK;
    if (state[ci] == 1)
        return corr_diag(d, VG_EINVAL, cc->rule, "correlation cycle through", cc->rule->title);
    if (level > SG_CORR_MAX_CHAIN)
        return corr_diag(d, VG_ELIMIT, cc->rule, "correlations stacked deeper than SG_CORR_MAX_CHAIN",
                         VG_STR_NULL);
    state[ci] = 1;
    uint32_t best = 0;
    for (uint32_t u = 0; u < cc->nuniq; u++) {
        uint32_t ri;
        if (!cr_rule_index(e, cc->uniq[u], &ri) || e->corr_of[ri] == UINT32_MAX)
            continue;
        vg_err err = chain_depth(e, e->corr_of[ri], state, depth, level + 1, d);
        if (err)
            return err;
        if (depth[e->corr_of[ri]] > best)
            best = depth[e->corr_of[ri]];
    }
    depth[ci] = best + 1;
    state[ci] = 2;
    if (depth[ci] > SG_CORR_MAX_CHAIN)
        return corr_diag(d, VG_ELIMIT, cc->rule, "correlations stacked deeper than SG_CORR_MAX_CHAIN",
                         VG_STR_NULL);
    return VG_OK;
}

static vg_err build_dispatch(sg_corr_engine *e)
{
    uint32_t nr = e->rs->nrules;
    e->disp_start = vg_arena_zalloc(&e->arena, ((size_t)nr + 1) * sizeof *e->disp_start);
    if (!e->disp_start)
        return VG_ENOMEM;
    size_t total = 0;
    for (uint32_t i = 0; i < e->ncorrs; i++)
        for (uint32_t u = 0; u < e->corrs[i].nuniq; u++) {
            uint32_t ri;
            if (cr_rule_index(e, e->corrs[i].uniq[u], &ri))
                e->disp_start[ri + 1]++;
            total++;
        }
    for (uint32_t ri = 0; ri < nr; ri++)
        e->disp_start[ri + 1] += e->disp_start[ri];
    e->disp = vg_arena_alloc(&e->arena, (total + 1) * sizeof *e->disp);
    uint32_t *fill = calloc((size_t)nr + 1, sizeof *fill);
    if (!e->disp || !fill) {
        free(fill);
        return VG_ENOMEM;
    }
    for (uint32_t i = 0; i < e->ncorrs; i++)
        for (uint32_t u = 0; u < e->corrs[i].nuniq; u++) {
            uint32_t ri;
            if (cr_rule_index(e, e->corrs[i].uniq[u], &ri))
                e->disp[e->disp_start[ri] + fill[ri]++] = (cr_disp){ i, u };
        }
    free(fill);
    return VG_OK;
}

vg_err sg_corr_new(const sg_ruleset *rs, const sg_corr_opts *o, sg_corr_engine **out, vg_diag *d)
{
    vg_err err = VG_OK;
    vg_map byname, byid;
    vg_map_init(&byname, false);
    vg_map_init(&byid, false);
    unsigned char *state = NULL;
    uint32_t *depth = NULL;
    if (!out || !rs)
        return vg_diag_set(d, VG_EINVAL, "sg_corr_new: no ruleset");
    *out = NULL;
    if (o && o->lateness < 0)
        return vg_diag_set(d, VG_EINVAL, "sg_corr_new: negative lateness");
    sg_corr_engine *e = calloc(1, sizeof *e);
    if (!e)
        return vg_diag_set(d, VG_ENOMEM, "sg_corr_new: out of memory");
    vg_arena_init(&e->arena, 0, 0);
    e->rs = rs;
    e->lateness = o ? o->lateness : SG_CORR_LATENESS_DEFAULT;
    e->max_groups = o && o->max_groups ? o->max_groups : SG_CORR_MAX_GROUPS_DEFAULT;
    e->max_events = o && o->max_events ? o->max_events : SG_CORR_MAX_EVENTS_DEFAULT;

    e->corr_of = vg_arena_alloc(&e->arena, ((size_t)rs->nrules + 1) * sizeof *e->corr_of);
    if (!e->corr_of)
        goto nomem;
    for (uint32_t i = 0; i < rs->nrules; i++) {
        const sg_rule *r = &rs->rules[i];
        e->corr_of[i] = UINT32_MAX;
        if (r->kind == SG_KIND_CORRELATION)
            e->corr_of[i] = e->ncorrs++;
        bool found = true;
        /* The first rule of a name or id wins. */
        if (r->name.n)
            vg_map_get(&byname, r->name, &found);
        if (!found && vg_map_put(&byname, r->name, (void *)r))
            goto nomem;
        found = true;
        if (r->id.n)
            vg_map_get(&byid, r->id, &found);
        if (!found && vg_map_put(&byid, r->id, (void *)r))
            goto nomem;
    }
    e->corrs = vg_arena_zalloc(&e->arena, ((size_t)e->ncorrs + 1) * sizeof *e->corrs);
    if (!e->corrs)
        goto nomem;
    for (uint32_t i = 0, ci = 0; i < rs->nrules; i++) {
        if (rs->rules[i].kind != SG_KIND_CORRELATION)
            continue;
        if ((err = corr_setup(e, &e->corrs[ci++], &rs->rules[i], &byname, &byid, d))) {
            e->ncorrs = ci;   /* free only what was set up */
            goto out;
        }
    }
    state = calloc((size_t)e->ncorrs + 1, 1);
    depth = calloc((size_t)e->ncorrs + 1, sizeof *depth);
    if (!state || !depth)
        goto nomem;
    for (uint32_t i = 0; i < e->ncorrs; i++)
        if ((err = chain_depth(e, i, state, depth, 1, d)))
            goto out;
    if ((err = build_dispatch(e)))
        goto nomem;
    goto out;
nomem:
    err = vg_diag_set(d, VG_ENOMEM, "sg_corr_new: out of memory");
out:
    free(state);
    free(depth);
    vg_map_free(&byname);
    vg_map_free(&byid);
    if (err)
        sg_corr_free(e);
    else
        *out = e;
    return err;
}

void sg_corr_free(sg_corr_engine *e)
{
    if (!e)
        return;
    for (uint32_t i = 0; e->corrs && i < e->ncorrs; i++) {
        cr_corr *cc = &e->corrs[i];
        while (cc->lru_head)
            cr_group_free(cc, cc->lru_head);
        free(cc->slots);
        free(cc->scratch);
        vg_buf_free(&cc->key);
    }
    vg_arena_free(&e->arena);
    free(e);
}
