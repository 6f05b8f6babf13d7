/*
 * detect_compile.c - from a loaded Sigma rule set to the shared matchers.
 *
 * vg_detect_build loads the rule paths (sigma_load.c), decides which rules
 * are enabled (detect_rules.c), then groups the enabled rules by logsource
 * and compiles each group: every field its rules name gets a raw-form and a
 * column-form pattern database holding the values of every item on that
 * field; items a database cannot hold are marked direct. Filters (Sigma
 * filter rules) become extra parts of the rules they target: a rule matches
 * when its own condition and every targeting filter's condition hold.
 *
 * A rule whose condition can be true when none of its pattern items hit
 * (`not selection`, a lone null or CIDR test) is "always": the scanner
 * evaluates it on every row of its group. Everything else is evaluated only
 * when one of its patterns hit - that is what keeps the cost per row nearly
 * flat in the number of rules.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect_int.h"
#include "detect_rules_int.h"

/* ---- groups ---- */

static bool ls_eq(const sg_logsource *a, const sg_logsource *b)
{
    return vg_str_eq(a->category, b->category) && vg_str_eq(a->product, b->product) &&
           vg_str_eq(a->service, b->service);
}

typedef struct gbuild {
    uint32_t fcap, icap, rcap, acap;
} gbuild;

static const char *raw_alias(const dt_route *r, vg_str field)
{
    if (!r->aliases)
        return NULL;
    for (uint32_t i = 0; r->aliases[i][0]; i++)
        if (vg_str_eq(field, vg_str_c(r->aliases[i][0])))
            return r->aliases[i][1];
    return NULL;
}

/* The group's index of a field, added on first use. */
static vg_err group_field(vg_detect *det, dt_group *g, gbuild *gb, vg_str name, uint32_t *out)
{
    for (uint32_t i = 0; i < g->nfields; i++)
        if (g->fields[i].name.p && name.p && vg_str_eq(g->fields[i].name, name)) {
            *out = i;
            return VG_OK;
        }
    if (vg_array_grow((void **)&g->fields, &gb->fcap, g->nfields + 1, sizeof *g->fields))
        return VG_ENOMEM;
    dt_field *f = &g->fields[g->nfields];
    memset(f, 0, sizeof *f);
    f->name = name;
    const char *alias = name.p ? raw_alias(&g->route, name) : NULL;
    f->raw_name = alias ? vg_str_c(alias) : name;
    f->colmap = vg_arena_zalloc(&det->arena, vg_schema_ntables * sizeof *f->colmap);
    if (!f->colmap)
        return VG_ENOMEM;
    for (size_t t = 0; t < vg_schema_ntables; t++)
        f->colmap[t] = name.p ? dt_map_field(&vg_schema_tables[t], name)
                              : (dt_colmap){ -1, -1, -1, DT_VIRT_NONE, DT_X_NONE };
    f->col_shared = true;
    if (name.p) {
        if (vg_map_put(&g->field_by_raw, f->raw_name, (void *)(uintptr_t)(g->nfields + 1)))
            return VG_ENOMEM;
    } else {
        g->has_keywords = true;
        g->kw_field = g->nfields;
    }
    *out = g->nfields++;
    return VG_OK;
}

/* The xform for the group's native table (values seen in column form). */
static dt_xform field_xform(const dt_group *g, const dt_field *f)
{
    if (g->route.table < 0)
        return DT_X_NONE;
    return f->colmap[g->route.table].xform;
}

static bool value_direct(const sg_value *v)
{
    return v->op != SG_OP_MATCH && v->op != SG_OP_RE ? true : v->timepart != SG_TIME_NONE;
}

static vg_err rule_fail(vg_detect *det, const sg_rule *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static vg_err rule_fail(vg_detect *det, const sg_rule *r, const char *fmt, ...)
{
    if (vg_array_grow((void **)&det->failures, &det->fcap, det->nfailures + 1, sizeof *det->failures))
        return VG_ENOMEM;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    det->failures[det->nfailures].file = r->file;
    det->failures[det->nfailures].reason = vg_str_dup(&det->arena, vg_str_c(buf));
    det->nfailures++;
    return VG_OK;
}

/*
 * Checks what can make a part fail before anything of it reaches a
 * database (a half-added rule would leave pattern targets behind):
 * keyword items with non-plain values, regexes PCRE2 refuses (the portable
 * path and direct items use PCRE2, whatever Hyperscan accepts), CIDRs.
 */
static vg_err validate_part(vg_detect *det, const sg_rule *r, bool *ok)
{
    for (uint32_t i = 0; i < r->nitems && *ok; i++) {
        const sg_item *si = &r->items[i];
        for (uint32_t v = 0; v < si->nvalues && *ok; v++) {
            const sg_value *sv = &si->values[v];
            if (!si->field.p && value_direct(sv)) {
                *ok = false;
                return rule_fail(det, r, "%s: keyword searches take plain values only",
                                 si->key.p && si->key.n ? si->key.p : "keywords");
            }
            if (sv->op == SG_OP_RE) {
                int ec;
                PCRE2_SIZE off;
                pcre2_code *probe = pcre2_compile((PCRE2_SPTR)sv->text.p, sv->text.n, 0, &ec, &off, NULL);
                if (!probe) {
                    PCRE2_UCHAR msg[128];
                    pcre2_get_error_message(ec, msg, sizeof msg);
                    *ok = false;
                    return rule_fail(det, r, "%s: regular expression /%s/ does not compile at offset %zu: %s",
                                     si->key.p, sv->text.p, (size_t)off, (const char *)msg);
                }
                pcre2_code_free(probe);
            }
            if (sv->op == SG_OP_CIDR) {
                dt_cidr c;
                if (!dt_cidr_parse(sv->text, &c)) {
                    *ok = false;
                    return rule_fail(det, r, "%s: '%s' is not a CIDR network", si->key.p, sv->text.p);
                }
            }
        }
    }
    return VG_OK;
}

/* Adds one part's items to the group (validate_part passed). */
static vg_err add_part(vg_detect *det, dt_group *g, gbuild *gb, const sg_rule *r, uint32_t grule,
                       bool *ok)
{
    *ok = true;
    uint32_t item0 = g->nitems;
    if (vg_array_grow((void **)&g->items, &gb->icap, g->nitems + r->nitems, sizeof *g->items))
        return VG_ENOMEM;
    for (uint32_t i = 0; i < r->nitems; i++) {
        const sg_item *si = &r->items[i];
        dt_item *it = &g->items[item0 + i];
        memset(it, 0, sizeof *it);
        it->sg = si;
        it->rule = grule;
        it->all = si->all;
        it->ngroups = si->ngroups;
        it->ref_field = DT_NONE;
        it->sigbit = DT_NONE;
        vg_err e = group_field(det, g, gb, si->field, &it->field);
        if (e)
            return e;
        for (uint32_t v = 0; v < si->nvalues; v++)
            if (value_direct(&si->values[v]))
                it->direct = true;
        if (si->nvalues && si->values[0].op == SG_OP_FIELDREF) {
            e = group_field(det, g, gb, si->values[0].text, &it->ref_field);
            if (e)
                return e;
        }
    }
    g->nitems += r->nitems;
    /* patterns; a regex the engine refuses makes its item direct */
    for (uint32_t i = 0; i < r->nitems; i++) {
        dt_item *it = &g->items[item0 + i];
        const sg_item *si = it->sg;
        if (it->direct)
            continue;
        if (it->all && it->ngroups > 1) {
            it->allbase = g->allbits;
            g->allbits += it->ngroups;
        }
        dt_field *f = &g->fields[it->field];
        dt_xform x = field_xform(g, f);
        for (uint32_t v = 0; v < si->nvalues && !it->direct; v++) {
            const sg_value *sv = &si->values[v];
            dt_target t = { item0 + i, it->all && it->ngroups > 1 ? it->allbase + sv->group : DT_NONE };
            if (sv->op == SG_OP_RE) {
                vg_err e = dt_db_add_re(&f->raw_db, &det->arena, sv->text, sv->re_flags, t, det->portable);
                if (e == VG_EUNSUPPORTED) {
                    it->direct = true;
                    break;
                }
                if (e)
                    return e;
                continue;
            }
            vg_err e = dt_db_add_glob(&f->raw_db, &det->arena, sv->text, sv->anchor, sv->cased, t);
            if (e)
                return e;
            vg_str cg = dt_xform_glob(&det->arena, x, sv->anchor, sv->text);
            if (cg.p != sv->text.p)
                f->col_shared = false;
        }
    }
    /* direct items: compile their regexes and CIDRs now, so a bad one is a
     * failure of this rule and not a surprise while scanning */
    for (uint32_t i = 0; i < r->nitems; i++) {
        dt_item *it = &g->items[item0 + i];
        const sg_item *si = it->sg;
        if (!it->direct || si->nvalues == 0)
            continue;
        if (si->values[0].op == SG_OP_RE) {
            it->re = vg_arena_zalloc(&det->arena, si->nvalues * sizeof *it->re);
            if (!it->re)
                return VG_ENOMEM;
            for (uint32_t v = 0; v < si->nvalues; v++) {
                const sg_value *sv = &si->values[v];
                int ec;
                PCRE2_SIZE off;
                uint32_t fl = (sv->re_flags & SG_RE_I ? PCRE2_CASELESS : 0) |
                              (sv->re_flags & SG_RE_M ? PCRE2_MULTILINE : 0) |
                              (sv->re_flags & SG_RE_S ? PCRE2_DOTALL : 0);
                it->re[v] = pcre2_compile((PCRE2_SPTR)sv->text.p, sv->text.n, fl, &ec, &off, NULL);
                if (!it->re[v]) {
                    PCRE2_UCHAR msg[128];
                    pcre2_get_error_message(ec, msg, sizeof msg);
                    *ok = false;
                    return rule_fail(det, r, "%s: regular expression /%s/ does not compile: %s",
                                     si->key.p, sv->text.p, (const char *)msg);
                }
                pcre2_jit_compile(it->re[v], PCRE2_JIT_COMPLETE);
            }
        } else if (si->values[0].op == SG_OP_CIDR) {
            it->cidr = vg_arena_zalloc(&det->arena, si->nvalues * sizeof *it->cidr);
            if (!it->cidr)
                return VG_ENOMEM;
            for (uint32_t v = 0; v < si->nvalues; v++)
                if (!dt_cidr_parse(si->values[v].text, &it->cidr[v])) {
                    *ok = false;
                    return rule_fail(det, r, "%s: not a CIDR network", si->values[v].text.p);
                }
        }
    }
    return VG_OK;
}

/* The column-form databases: the values again, rewritten for the column. */
static vg_err build_col_dbs(vg_detect *det, dt_group *g)
{
    for (uint32_t i = 0; i < g->nitems; i++) {
        dt_item *it = &g->items[i];
        if (it->direct)
            continue;
        dt_field *f = &g->fields[it->field];
        if (f->col_shared)
            continue;
        dt_xform x = field_xform(g, f);
        for (uint32_t v = 0; v < it->sg->nvalues; v++) {
            const sg_value *sv = &it->sg->values[v];
            dt_target t = { i, it->all && it->ngroups > 1 ? it->allbase + sv->group : DT_NONE };
            vg_err e = sv->op == SG_OP_RE
                ? dt_db_add_re(&f->col_db, &det->arena, sv->text, sv->re_flags, t, det->portable)
                : dt_db_add_glob(&f->col_db, &det->arena, dt_xform_glob(&det->arena, x, sv->anchor, sv->text),
                                 sv->anchor, sv->cased, t);
            if (e)
                return e;
        }
    }
    return VG_OK;
}

/* ---- "can be true without a pattern hit" ---- */

typedef enum tri { T_F, T_T, T_U } tri;

static tri tri_not(tri a) { return a == T_U ? T_U : a == T_T ? T_F : T_T; }
static tri tri_and(tri a, tri b) { return a == T_F || b == T_F ? T_F : a == T_T && b == T_T ? T_T : T_U; }
static tri tri_or(tri a, tri b) { return a == T_T || b == T_T ? T_T : a == T_F && b == T_F ? T_F : T_U; }

static tri search_tri(const dt_group *g, const dt_part *p, uint32_t s)
{
    const sg_search *se = &p->r->searches[s];
    tri any = T_F;
    for (uint32_t a = 0; a < se->nalts; a++) {
        tri all = T_T;
        for (uint32_t k = 0; k < se->alts[a].nitems; k++) {
            const dt_item *it = &g->items[p->item0 + se->alts[a].items[k]];
            all = tri_and(all, it->direct ? T_U : T_F);
        }
        any = tri_or(any, all);
    }
    return any;
}

static tri cond_tri(const dt_group *g, const dt_part *p, const sg_cond *c)
{
    switch (c->kind) {
    case SG_COND_SEARCH:
        return search_tri(g, p, c->search);
    case SG_COND_AND:
        return tri_and(cond_tri(g, p, c->a), cond_tri(g, p, c->b));
    case SG_COND_OR:
        return tri_or(cond_tri(g, p, c->a), cond_tri(g, p, c->b));
    case SG_COND_NOT:
        return tri_not(cond_tri(g, p, c->a));
    }
    return T_U;
}

/* ---- trigger items ----
 *
 * A rule is evaluated only when one of its trigger items hit. Triggers are
 * chosen so that the condition cannot hold unless one of them hit:
 *   search: per alternative, one pattern item (every item of an alternative
 *           must hold for it to hold); none when an alternative has only
 *           direct items;
 *   a and b: the triggers of either side (the cheaper one);
 *   a or b: the triggers of both;
 *   not a: none (it can hold with no hit at all).
 * When the whole condition has no trigger set, every pattern item is one
 * (and the rule is "always" if it can hold with no hit). Cheaper means
 * fewer items and, among items, fields that are in most rows' hits anyway
 * (image names, EventID) are avoided: `Image|endswith: \cmd.exe` is in a
 * hundred rules, `CommandLine|contains: -enc` in few.
 */

typedef struct trig {
    uint32_t *v;
    uint32_t n;
    uint32_t cost;
    bool ok;
} trig;

static uint32_t field_cost(vg_str f)
{
    static const char *const common[] = { "Image", "OriginalFileName", "ParentImage", "EventID",
                                          "Provider_Name", "Channel", "ImageLoaded", "TargetImage",
                                          "SourceImage", "Product", "Company", "Description",
                                          "ServiceName", "EventType", "Initiated" };
    if (!f.p)
        return 8;
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (vg_str_eqc(f, common[i]))
            return 16;
    return 1;
}

static trig trig_cond(const dt_group *g, const dt_part *p, const sg_cond *c, vg_arena *a, int depth)
{
    trig t = { NULL, 0, 0, false };
    if (depth > SG_MAX_COND_DEPTH * 4)
        return t;
    switch (c->kind) {
    case SG_COND_SEARCH: {
        const sg_search *se = &p->r->searches[c->search];
        if (se->nalts == 0)
            return t;
        t.v = vg_arena_alloc(a, se->nalts * sizeof *t.v);
        if (!t.v)
            return t;
        for (uint32_t al = 0; al < se->nalts; al++) {
            uint32_t best = DT_NONE, bestc = UINT32_MAX;
            for (uint32_t k = 0; k < se->alts[al].nitems; k++) {
                uint32_t idx = p->item0 + se->alts[al].items[k];
                const dt_item *it = &g->items[idx];
                if (it->direct || it->sg->nvalues == 0)
                    continue;
                uint32_t cost = field_cost(it->sg->field);
                if (cost < bestc) {
                    bestc = cost;
                    best = idx;
                }
            }
            if (best == DT_NONE)
                return (trig){ NULL, 0, 0, false };
            t.v[t.n++] = best;
            t.cost += bestc;
        }
        t.ok = true;
        return t;
    }
    case SG_COND_AND: {
        trig x = trig_cond(g, p, c->a, a, depth + 1), y = trig_cond(g, p, c->b, a, depth + 1);
        if (!x.ok)
            return y;
        if (!y.ok)
            return x;
        return x.cost <= y.cost ? x : y;
    }
    case SG_COND_OR: {
        trig x = trig_cond(g, p, c->a, a, depth + 1), y = trig_cond(g, p, c->b, a, depth + 1);
        if (!x.ok || !y.ok)
            return t;
        t.v = vg_arena_alloc(a, (x.n + y.n) * sizeof *t.v);
        if (!t.v)
            return t;
        memcpy(t.v, x.v, x.n * sizeof *t.v);
        memcpy(t.v + x.n, y.v, y.n * sizeof *t.v);
        t.n = x.n + y.n;
        t.cost = x.cost + y.cost;
        t.ok = true;
        return t;
    }
    case SG_COND_NOT:
        return t;
    }
    return t;
}

/* Marks the trigger items of a group rule (all of its parts must hold, so
 * the triggers of any one part do). */
static void set_triggers(vg_detect *det, dt_group *g, dt_grule *gr)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    trig best = { NULL, 0, 0, false };
    for (uint32_t p = 0; p < gr->nparts; p++) {
        trig t = trig_cond(g, &gr->parts[p], gr->parts[p].r->cond, &a, 0);
        if (t.ok && (!best.ok || t.cost < best.cost))
            best = t;
    }
    if (best.ok) {
        for (uint32_t i = 0; i < best.n; i++)
            g->items[best.v[i]].trigger = true;
    } else {
        for (uint32_t p = 0; p < gr->nparts; p++)
            for (uint32_t i = 0; i < gr->parts[p].r->nitems; i++)
                g->items[gr->parts[p].item0 + i].trigger = true;
    }
    vg_arena_free(&a);
    (void)det;
}

/* ---- the build ---- */

static vg_err add_rule_to_group(vg_detect *det, dt_group *g, gbuild *gb, uint32_t ri,
                                const sg_rule *const *filters, uint32_t nfilters, bool *ok)
{
    if (vg_array_grow((void **)&g->rules, &gb->rcap, g->nrules + 1, sizeof *g->rules))
        return VG_ENOMEM;
    dt_grule *gr = &g->rules[g->nrules];
    memset(gr, 0, sizeof *gr);
    gr->rule = ri;
    gr->parts = vg_arena_zalloc(&det->arena, (1 + nfilters) * sizeof *gr->parts);
    if (!gr->parts)
        return VG_ENOMEM;
    uint32_t saved_items = g->nitems, saved_bits = g->allbits;
    *ok = true;
    for (uint32_t p = 0; p <= nfilters && *ok; p++) {
        vg_err e = validate_part(det, p == 0 ? det->rules[ri].sg : filters[p - 1], ok);
        if (e || !*ok)
            return e;
    }
    for (uint32_t p = 0; p <= nfilters; p++) {
        const sg_rule *r = p == 0 ? det->rules[ri].sg : filters[p - 1];
        gr->parts[p].r = r;
        gr->parts[p].item0 = g->nitems;
        vg_err e = add_part(det, g, gb, r, g->nrules, ok);
        if (e || !*ok) {
            g->nitems = saved_items;   /* drop the half-added rule */
            g->allbits = saved_bits;
            return e;
        }
    }
    gr->nparts = 1 + nfilters;
    tri t = T_T;
    for (uint32_t p = 0; p < gr->nparts; p++)
        t = tri_and(t, cond_tri(g, &gr->parts[p], gr->parts[p].r->cond));
    gr->always = t != T_F;
    /* pure: its outcome depends only on what the row signature carries -
     * the hits, which fields are present and empty (null and exists tests)
     * and the truth of fieldref items (one comparison per row, a bit each);
     * CIDRs, numbers and regexes Hyperscan refused are read only when the
     * rule is evaluated, so their rules are not pure */
    gr->pure = true;
    for (uint32_t p = 0; p < gr->nparts; p++)
        for (uint32_t i = 0; i < gr->parts[p].r->nitems; i++) {
            dt_item *it = &g->items[gr->parts[p].item0 + i];
            if (!it->direct)
                continue;
            bool presence = true, fieldref = true;
            for (uint32_t v = 0; v < it->sg->nvalues; v++) {
                sg_op op = it->sg->values[v].op;
                presence = presence && (op == SG_OP_NULL || op == SG_OP_EXISTS);
                fieldref = fieldref && op == SG_OP_FIELDREF;
            }
            if (fieldref && it->sg->nvalues)
                it->sigbit = 0;   /* numbered in compile_groups */
            else if (!presence)
                gr->pure = false;
        }
    set_triggers(det, g, gr);
    g->nrules++;
    return VG_OK;
}

static vg_err route_put(vg_map *m, vg_arena *a, vg_str key, uint32_t gi)
{
    bool found;
    dt_glist *l = vg_map_get(m, key, &found);
    if (!found) {
        l = vg_arena_zalloc(a, sizeof *l);
        if (!l || vg_map_put(m, key, l))
            return VG_ENOMEM;
    }
    for (uint32_t i = 0; i < l->n; i++)
        if (l->g[i] == gi)
            return VG_OK;
    uint32_t *ng = vg_arena_alloc(a, (l->n + 1) * sizeof *ng);
    if (!ng)
        return VG_ENOMEM;
    if (l->n)
        memcpy(ng, l->g, l->n * sizeof *ng);
    ng[l->n++] = gi;
    l->g = ng;
    return VG_OK;
}

vg_str dt_route_key(vg_arena *a, const char *head, size_t hn, const char *tail, size_t tn)
{
    char *k = vg_arena_alloc(a, hn + 1 + tn);
    if (!k)
        return VG_STR_NULL;
    for (size_t i = 0; i < hn; i++)
        k[i] = (char)(head[i] >= 'A' && head[i] <= 'Z' ? head[i] + 32 : head[i]);
    k[hn] = 0x1f;
    memcpy(k + hn + 1, tail, tn);
    return vg_str_make(k, hn + 1 + tn);
}

static vg_err index_routes(vg_detect *det)
{
    vg_map_init(&det->win_routes, false);
    vg_map_init(&det->nat_routes, false);
    for (uint32_t gi = 0; gi < det->ngroups; gi++) {
        const dt_route *r = &det->groups[gi].route;
        for (uint32_t k = 0; k < r->nwin; k++) {
            char id[16];
            int n = r->win[k].eventid < 0 ? snprintf(id, sizeof id, "*")
                                          : snprintf(id, sizeof id, "%d", r->win[k].eventid);
            vg_str key = dt_route_key(&det->arena, r->win[k].channel, strlen(r->win[k].channel), id, (size_t)n);
            if (!key.p || route_put(&det->win_routes, &det->arena, key, gi))
                return VG_ENOMEM;
        }
        if (r->table >= 0) {
            const char *tn = vg_schema_tables[r->table].name;
            for (uint32_t k = 0; k < (r->nactions ? r->nactions : 1); k++) {
                const char *act = r->nactions ? r->actions[k] : "*";
                vg_str key = dt_route_key(&det->arena, tn, strlen(tn), act, strlen(act));
                if (!key.p || route_put(&det->nat_routes, &det->arena, key, gi))
                    return VG_ENOMEM;
            }
        }
    }
    return VG_OK;
}

/*
 * Keyword searches match any value of the event. Their patterns go into
 * every field database of the group too, so a value scanned for its field
 * is searched for keywords at no extra cost; the scanner joins and scans
 * only the values no field reads (raw members no field names, and the
 * message columns listed here per table).
 */
static vg_err spread_keywords(vg_detect *det, dt_group *g)
{
    if (!g->has_keywords)
        return VG_OK;
    for (uint32_t i = 0; i < g->nitems; i++) {
        dt_item *it = &g->items[i];
        if (it->field != g->kw_field || it->direct)
            continue;
        for (uint32_t f = 0; f < g->nfields; f++) {
            dt_field *fd = &g->fields[f];
            if (f == g->kw_field)
                continue;
            for (uint32_t v = 0; v < it->sg->nvalues; v++) {
                const sg_value *sv = &it->sg->values[v];
                dt_target t = { i, it->all && it->ngroups > 1 ? it->allbase + sv->group : DT_NONE };
                vg_err e = dt_db_add_glob(&fd->raw_db, &det->arena, sv->text, sv->anchor, sv->cased, t);
                if (!e && !fd->col_shared)
                    e = dt_db_add_glob(&fd->col_db, &det->arena, sv->text, sv->anchor, sv->cased, t);
                if (e)
                    return e;
            }
        }
    }
    g->kw_cols = vg_arena_zalloc(&det->arena, vg_schema_ntables * sizeof *g->kw_cols);
    g->nkw_cols = vg_arena_zalloc(&det->arena, vg_schema_ntables * sizeof *g->nkw_cols);
    if (!g->kw_cols || !g->nkw_cols)
        return VG_ENOMEM;
    for (size_t t = 0; t < vg_schema_ntables; t++) {
        int32_t cols[64];
        uint32_t n = dt_message_cols(&vg_schema_tables[t], cols, 64), m = 0;
        g->kw_cols[t] = vg_arena_alloc(&det->arena, (n ? n : 1) * sizeof *g->kw_cols[t]);
        if (!g->kw_cols[t])
            return VG_ENOMEM;
        for (uint32_t k = 0; k < n; k++) {
            bool read = false;
            for (uint32_t f = 0; f < g->nfields && !read; f++) {
                const dt_colmap *cm = &g->fields[f].colmap[t];
                read = f != g->kw_field && (cm->col == cols[k] || cm->col2 == cols[k] || cm->col3 == cols[k]);
            }
            if (!read)
                g->kw_cols[t][m++] = cols[k];
        }
        g->nkw_cols[t] = m;
    }
    return VG_OK;
}

/* ---- compiling the databases, on every core ---- */

typedef struct db_job {
    dt_db **dbs;
    uint32_t n;
    atomic_uint next;
    bool portable;
    const char *cache;
    vg_err err;
    vg_diag diag;
    pthread_mutex_t mu;
} db_job;

static void *db_worker(void *arg)
{
    db_job *j = arg;
    for (;;) {
        uint32_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            break;
        vg_diag d;
        vg_diag_clear(&d);
        vg_err e = dt_db_compile(j->dbs[i], j->portable, j->cache, &d);
        if (e) {
            pthread_mutex_lock(&j->mu);
            if (!j->err) {
                j->err = e;
                j->diag = d;
            }
            pthread_mutex_unlock(&j->mu);
        }
    }
    return NULL;
}

static vg_err compile_dbs(vg_detect *det, const vg_detect_opts *o, vg_diag *d)
{
    db_job j;
    memset(&j, 0, sizeof j);
    uint32_t cap = 0;
    for (uint32_t gi = 0; gi < det->ngroups; gi++)
        cap += 2 * det->groups[gi].nfields;
    j.dbs = calloc(cap ? cap : 1, sizeof *j.dbs);
    if (!j.dbs)
        return VG_ENOMEM;
    for (uint32_t gi = 0; gi < det->ngroups; gi++) {
        dt_group *g = &det->groups[gi];
        for (uint32_t f = 0; f < g->nfields; f++) {
            dt_field *fd = &g->fields[f];
            det->report.patterns += fd->raw_db.npats + fd->col_db.npats;
            if (!g->routed)
                continue;   /* no row reaches it: nothing to compile */
            if (fd->raw_db.npats)
                j.dbs[j.n++] = &fd->raw_db;
            if (fd->col_db.npats)
                j.dbs[j.n++] = &fd->col_db;
        }
    }
    det->report.databases = j.n;
    atomic_init(&j.next, 0);
    j.portable = det->portable;
    j.cache = o && o->cache_dir && o->cache_dir[0] ? o->cache_dir : NULL;
    pthread_mutex_init(&j.mu, NULL);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t nt = o && o->threads ? o->threads : (uint32_t)(ncpu > 0 ? ncpu : 1);
    if (nt > 16)
        nt = 16;
    pthread_t th[16];
    uint32_t started = 0;
    for (uint32_t t = 1; t < nt && j.n > 1; t++)
        if (pthread_create(&th[started], NULL, db_worker, &j) == 0)
            started++;
    db_worker(&j);
    for (uint32_t t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&j.mu);
    free(j.dbs);
    if (j.err) {
        if (d)
            *d = j.diag;
        return j.err;
    }
    return VG_OK;
}

static vg_err compile_groups(vg_detect *det, const vg_detect_opts *o, vg_diag *d)
{
    uint32_t gcap = 0;
    gbuild *gbs = NULL;
    vg_err e = VG_OK;
    for (uint32_t ri = 0; ri < det->nrules; ri++) {
        vg_detect_rule *dr = &det->rules[ri];
        if (dr->sg->kind != SG_KIND_RULE)
            continue;
        dt_route route;
        dr->routed = dt_route_for(&dr->sg->logsource, &route);
        if (!dr->enabled)
            continue;   /* disabled rules cost nothing: no patterns, no group */
        uint32_t gi = 0;
        while (gi < det->ngroups && !ls_eq(&det->groups[gi].ls, &dr->sg->logsource))
            gi++;
        if (gi == det->ngroups) {
            uint32_t old = gcap;
            if (vg_array_grow((void **)&det->groups, &gcap, det->ngroups + 1, sizeof *det->groups) ||
                vg_array_grow((void **)&gbs, &old, det->ngroups + 1, sizeof *gbs)) {
                e = VG_ENOMEM;
                goto out;
            }
            dt_group *g = &det->groups[det->ngroups++];
            memset(g, 0, sizeof *g);
            memset(&gbs[gi], 0, sizeof gbs[gi]);
            g->ls = dr->sg->logsource;
            g->route = route;
            g->routed = dr->routed;
            g->kw_field = DT_NONE;
            vg_map_init(&g->field_by_raw, true);
        }
        const sg_rule *filters[64];
        uint32_t nf = dt_filters_for(det, dr->sg, filters, 64);
        bool ok;
        if ((e = add_rule_to_group(det, &det->groups[gi], &gbs[gi], ri, filters, nf, &ok)))
            goto out;
        if (!ok) {
            dr->enabled = false;
            dr->routed = false;
            det->report.compiled--;
        }
    }
    for (uint32_t gi = 0; gi < det->ngroups; gi++)
        if ((e = build_col_dbs(det, &det->groups[gi])) || (e = spread_keywords(det, &det->groups[gi])))
            goto out;
    if ((e = compile_dbs(det, o, d)))
        goto out;
    for (uint32_t gi = 0; gi < det->ngroups; gi++) {
        dt_group *g = &det->groups[gi];
        uint32_t na = 0;
        for (uint32_t r = 0; r < g->nrules; r++)
            na += g->rules[r].always;
        g->always = vg_arena_alloc(&det->arena, (na ? na : 1) * sizeof *g->always);
        if (!g->always) {
            e = VG_ENOMEM;
            goto out;
        }
        for (uint32_t r = 0; r < g->nrules; r++)
            if (g->rules[r].always)
                g->always[g->nalways++] = r;
        if (g->nfields > det->max_fields)
            det->max_fields = g->nfields;
        if (g->nitems > det->max_items)
            det->max_items = g->nitems;
        if (g->nrules > det->max_items)
            det->max_items = g->nrules;
        if (g->allbits > det->max_allbits)
            det->max_allbits = g->allbits;
        uint32_t nsb = 0;
        for (uint32_t i = 0; i < g->nitems; i++)
            nsb += g->items[i].sigbit != DT_NONE;
        g->sig_items = vg_arena_alloc(&det->arena, (nsb ? nsb : 1) * sizeof *g->sig_items);
        if (!g->sig_items) {
            e = VG_ENOMEM;
            goto out;
        }
        for (uint32_t i = 0; i < g->nitems; i++)
            if (g->items[i].sigbit != DT_NONE) {
                g->items[i].sigbit = g->nsig_items;
                g->sig_items[g->nsig_items++] = i;
            }
        g->sigwords = g->nfields + (g->nsig_items + 31) / 32;
        if (g->sigwords > det->max_sigwords)
            det->max_sigwords = g->sigwords;
    }
    e = index_routes(det);
out:
    free(gbs);
    return e;
}

vg_err vg_detect_build_from(sg_ruleset *rs, const vg_detect_opts *o, vg_detect **out, vg_diag *d)
{
    *out = NULL;
    vg_detect *det = calloc(1, sizeof *det);
    if (!det)
        return VG_ENOMEM;
    atomic_init(&det->refs, 1);
    det->rs = rs;
    vg_arena_init(&det->arena, 0, 0);
#ifdef VG_HAVE_HYPERSCAN
    det->portable = o && o->portable;
#else
    det->portable = true;
#endif
    vg_err e = dt_rules_select(det, o, d);
    if (!e)
        e = compile_groups(det, o, d);
    if (e) {
        vg_detect_release(det);
        return e;
    }
    det->report.failures = det->failures;
    det->report.nfailures = det->nfailures;
    for (uint32_t i = 0; i < det->nrules; i++) {
        const vg_detect_rule *r = &det->rules[i];
        if (r->enabled)
            det->report.enabled++;
        if (r->sg->kind == SG_KIND_RULE && !r->routed && r->enabled)
            det->report.unrouted++;
    }
    *out = det;
    return VG_OK;
}

vg_err vg_detect_build(const vg_detect_opts *o, vg_detect **out, vg_diag *d)
{
    *out = NULL;
    sg_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs)
        return VG_ENOMEM;
    sg_ruleset_init(rs);
    vg_err e = VG_OK;
    if (o->placeholders && (e = sg_load_placeholders(rs, o->placeholders, d)))
        goto fail;
    for (uint32_t i = 0; i < o->npaths; i++)
        if ((e = sg_load_path(rs, o->paths[i], d)))
            goto fail;
    e = vg_detect_build_from(rs, o, out, d);
    if (e)
        return e;   /* vg_detect_build_from freed rs on failure via release */
    return VG_OK;
fail:
    sg_ruleset_free(rs);
    free(rs);
    return e;
}

vg_detect *vg_detect_retain(vg_detect *det)
{
    atomic_fetch_add(&det->refs, 1);
    return det;
}

void vg_detect_release(vg_detect *det)
{
    if (!det || atomic_fetch_sub(&det->refs, 1) != 1)
        return;
    for (uint32_t gi = 0; gi < det->ngroups; gi++) {
        dt_group *g = &det->groups[gi];
        for (uint32_t f = 0; f < g->nfields; f++) {
            dt_db_free(&g->fields[f].raw_db);
            dt_db_free(&g->fields[f].col_db);
        }
        for (uint32_t i = 0; i < g->nitems; i++)
            if (g->items[i].re)
                for (uint32_t v = 0; v < g->items[i].sg->nvalues; v++)
                    pcre2_code_free(g->items[i].re[v]);
        free(g->fields);
        free(g->items);
        free(g->rules);
        vg_map_free(&g->field_by_raw);
    }
    free(det->groups);
    free(det->rules);
    free(det->failures);
    vg_map_free(&det->rule_by_key);
    vg_map_free(&det->win_routes);
    vg_map_free(&det->nat_routes);
    if (det->rs) {
        sg_ruleset_free(det->rs);
        free(det->rs);
    }
    vg_arena_free(&det->arena);
    free(det);
}

const vg_detect_report *vg_detect_get_report(const vg_detect *det) { return &det->report; }
uint32_t vg_detect_nrules(const vg_detect *det) { return det->nrules; }
const vg_detect_rule *vg_detect_rule_at(const vg_detect *det, uint32_t i)
{
    return i < det->nrules ? &det->rules[i] : NULL;
}
const sg_ruleset *vg_detect_ruleset(const vg_detect *det) { return det->rs; }

const vg_detect_rule *vg_detect_rule_of(const vg_detect *det, const sg_rule *r)
{
    /* det->rules[i].sg == &det->rs->rules[i] (dt_rules_select keeps the order) */
    if (!det->rs || r < det->rs->rules || r >= det->rs->rules + det->rs->nrules)
        return NULL;
    return &det->rules[r - det->rs->rules];
}
const char *vg_detect_backend(const vg_detect *det) { return det->portable ? "pcre2" : "hyperscan"; }

const vg_detect_rule *vg_detect_find(const vg_detect *det, vg_str key)
{
    bool found;
    uintptr_t i = (uintptr_t)vg_map_get(&det->rule_by_key, key, &found);
    return found ? &det->rules[i - 1] : NULL;
}
