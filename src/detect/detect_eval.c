/*
 * detect_eval.c - conditions and direct items: a rule's condition over the
 * scanner's item marks, and the items no pattern database holds (CIDR,
 * numeric and time-part comparisons, null, exists, fieldref, regexes
 * Hyperscan refused), read from the row's values when a condition asks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_scan_int.h"

/* ---- direct items ---- */

static bool num_of(vg_str v, double *out)
{
    v = vg_str_trim(v);
    if (v.n > 2 && v.p[0] == '0' && (v.p[1] == 'x' || v.p[1] == 'X')) {
        uint64_t u;
        if (vg_str_to_hex_u64(v, &u))
            return false;
        *out = (double)u;
        return true;
    }
    return vg_str_to_double(v, out) == VG_OK;
}

static int64_t time_part(vg_time t, sg_timepart p)
{
    int y, mo, d, h, mi, se, ti;
    vg_time_civil(t, &y, &mo, &d, &h, &mi, &se, &ti);
    switch (p) {
    case SG_TIME_MINUTE: return mi;
    case SG_TIME_HOUR: return h;
    case SG_TIME_DAY: return d;
    case SG_TIME_MONTH: return mo;
    case SG_TIME_YEAR: return y;
    case SG_TIME_WEEK: {
        /* ISO week number */
        int64_t days = vg_time_day(t);
        int wd = (int)(((days + 3) % 7 + 7) % 7);   /* 0 = Monday */
        int64_t thursday = days - wd + 3;
        int ty, tm, td, x;
        vg_time_civil(thursday * 864000000000LL, &ty, &tm, &td, &x, &x, &x, &x);
        int64_t jan1 = vg_time_day(vg_time_from_civil(ty, 1, 1, 0, 0, 0, 0));
        return (thursday - jan1) / 7 + 1;
    }
    case SG_TIME_NONE: break;
    }
    return -1;
}

static bool value_hit(const vg_detect_scanner *s, const dt_item *it, uint32_t vi, vg_str v)
{
    const sg_value *sv = &it->sg->values[vi];
    double x;
    switch (sv->op) {
    case SG_OP_MATCH:
        if (sv->timepart != SG_TIME_NONE) {
            vg_time t;
            double want;
            return vg_time_parse_any(v, &t) == VG_OK && num_of(sv->text, &want) &&
                   time_part(t, sv->timepart) == (int64_t)want;
        }
        return dt_glob_match(sv->text, sv->anchor, sv->cased, v);
    case SG_OP_RE:
        return it->re && pcre2_match(it->re[vi], (PCRE2_SPTR)(v.p ? v.p : ""), v.n, 0, 0, s->md, NULL) >= 0;
    case SG_OP_CIDR:
        return it->cidr && dt_cidr_contains(&it->cidr[vi], v);
    case SG_OP_LT:
    case SG_OP_LTE:
    case SG_OP_GT:
    case SG_OP_GTE:
        if (sv->timepart != SG_TIME_NONE) {
            /* |hour|gte: 22 compares that part of a timestamp */
            vg_time t;
            if (vg_time_parse_any(v, &t) != VG_OK)
                return false;
            x = (double)time_part(t, sv->timepart);
        } else if (!num_of(v, &x)) {
            return false;
        }
        return sv->op == SG_OP_LT ? x < sv->num
             : sv->op == SG_OP_LTE ? x <= sv->num
             : sv->op == SG_OP_GT ? x > sv->num : x >= sv->num;
    case SG_OP_FIELDREF: {
        const dt_val *o = &s->vals[it->ref_field];
        if (!o->present)
            return false;
        vg_str other = o->v;
        switch (sv->anchor) {
        case SG_ANCHOR_EXACT: return vg_str_eq_ci(v, other);
        case SG_ANCHOR_STARTSWITH: return v.n >= other.n && vg_str_eq_ci(vg_str_make(v.p, other.n), other);
        case SG_ANCHOR_ENDSWITH:
            return v.n >= other.n && vg_str_eq_ci(vg_str_make(v.p + v.n - other.n, other.n), other);
        case SG_ANCHOR_CONTAINS:
            for (size_t i = 0; i + other.n <= v.n; i++)
                if (vg_str_eq_ci(vg_str_make(v.p + i, other.n), other))
                    return true;
            return false;
        }
        return false;
    }
    case SG_OP_EXISTS:
    case SG_OP_NULL:
        return false;   /* decided on presence, in dt_direct_item */
    }
    return false;
}

/* One value (or array element) against an item; grp marks satisfied groups. */
bool dt_direct_item(vg_detect_scanner *s, const dt_item *it)
{
    const sg_item *si = it->sg;
    const dt_val *v = &s->vals[it->field];
    if (si->nvalues == 0)
        return false;
    sg_op op0 = si->values[0].op;
    if (op0 == SG_OP_NULL)
        return !v->present || v->v.n == 0;
    if (op0 == SG_OP_EXISTS)
        return v->present == (si->values[0].num != 0);
    if (!v->present)
        return false;
    uint8_t seen_small[64];
    uint8_t *seen = it->ngroups <= sizeof seen_small ? seen_small
                                                     : vg_arena_zalloc(&s->row_arena, it->ngroups);
    if (!seen)
        return false;
    memset(seen, 0, it->ngroups <= sizeof seen_small ? sizeof seen_small : it->ngroups);
    uint32_t nseen = 0;
    vg_str elems[64];
    uint32_t ne = 0;
    if (v->array) {
        vg_json_pull j;
        vg_json_pull_init(&j, v->v, &s->row_arena, NULL);
        j.p++;
        while (ne < 64) {
            while (j.p < j.end && (*j.p == ' ' || *j.p == ','))
                j.p++;
            if (j.p >= j.end || *j.p == ']')
                break;
            vg_json_val e;
            if (vg_json_pull_value(&j, &e))
                break;
            elems[ne++] = e.str;
        }
    } else {
        elems[ne++] = v->v;
    }
    for (uint32_t vi = 0; vi < si->nvalues; vi++) {
        uint32_t grp = si->values[vi].group;
        if (grp < it->ngroups && seen[grp])
            continue;
        for (uint32_t k = 0; k < ne; k++)
            if (value_hit(s, it, vi, elems[k])) {
                if (!it->all)
                    return true;
                if (grp < it->ngroups && !seen[grp]) {
                    seen[grp] = 1;
                    nseen++;
                }
                break;
            }
    }
    return it->all && nseen == it->ngroups;
}

/* ---- conditions ---- */

static bool item_true(vg_detect_scanner *s, const dt_item *it, uint32_t idx)
{
    return it->direct ? dt_direct_item(s, it) : s->item_true[idx];
}

static bool search_true(vg_detect_scanner *s, const dt_group *g, const dt_part *p, uint32_t si)
{
    const sg_search *se = &p->r->searches[si];
    for (uint32_t a = 0; a < se->nalts; a++) {
        bool all = true;
        for (uint32_t k = 0; k < se->alts[a].nitems && all; k++) {
            uint32_t idx = p->item0 + se->alts[a].items[k];
            all = item_true(s, &g->items[idx], idx);
        }
        if (all)
            return true;
    }
    return false;
}

static bool cond_true(vg_detect_scanner *s, const dt_group *g, const dt_part *p, const sg_cond *c)
{
    switch (c->kind) {
    case SG_COND_SEARCH: return search_true(s, g, p, c->search);
    case SG_COND_AND: return cond_true(s, g, p, c->a) && cond_true(s, g, p, c->b);
    case SG_COND_OR: return cond_true(s, g, p, c->a) || cond_true(s, g, p, c->b);
    case SG_COND_NOT: return !cond_true(s, g, p, c->a);
    }
    return false;
}

bool dt_rule_true(vg_detect_scanner *s, const dt_group *g, const dt_grule *gr)
{
    s->stats.rule_evals++;
    for (uint32_t p = 0; p < gr->nparts; p++)
        if (!cond_true(s, g, &gr->parts[p], gr->parts[p].r->cond))
            return false;
    return true;
}

/* ---- groups ---- */

