/*
 * sigma_load_doc.c - one YAML document (a node tree from sigma_load.c)
 * becomes one sg_rule: the top-level keys (title, id, status, level, tags...;
 * unknown keys are accepted and ignored), logsource, and one of three kinds:
 * a rule (detection: named searches and a condition), a correlation rule
 * (correlation: type, rules, group-by, timespan, condition, aliases,
 * generate) or a filter (filter: rules, searches, condition). Items and
 * values are built by sigma_value.c, conditions by sigma_cond.c. The first
 * problem found is the document's one failure (sg_fail).
 */
#include <stdio.h>
#include <string.h>

#include "sigma_load_int.h"

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

/* ---- tree -> rule: small converters ---- */

/* A scalar as a string in the ruleset arena; null gives {NULL,0}. */
static vg_err get_str(sg_ctx *c, const sn_node *n, const char *path, vg_str *out)
{
    *out = VG_STR_NULL;
    if (sn_is_null(n))
        return VG_OK;
    if (n->kind != SN_SCALAR)
        return sg_fail(c, n, "%s: must be a string", path);
    *out = vg_str_dup(c->a, n->text);
    return out->p ? VG_OK : sg_nomem(c, n);
}

static vg_err get_lower(sg_ctx *c, const sn_node *n, const char *path, vg_str *out)
{
    *out = VG_STR_NULL;
    if (sn_is_null(n))
        return VG_OK;
    if (n->kind != SN_SCALAR)
        return sg_fail(c, n, "%s: must be a string", path);
    *out = vg_str_lower(c->a, n->text);
    return out->p ? VG_OK : sg_nomem(c, n);
}

/* A list of strings (a single scalar is a list of one). */
vg_err sg_get_list(sg_ctx *c, const sn_node *n, const char *path, vg_str **out, uint32_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (sn_is_null(n))
        return VG_OK;
    const sn_node *const *items = (const sn_node *const *)&n;
    uint32_t cnt = 1;
    if (n->kind == SN_SEQ) {
        items = (const sn_node *const *)n->kids;
        cnt = n->n;
    } else if (n->kind != SN_SCALAR) {
        return sg_fail(c, n, "%s: must be a list of strings", path);
    }
    if (cnt == 0)
        return VG_OK;
    vg_str *v = vg_arena_alloc(c->a, cnt * sizeof(*v));
    if (!v)
        return sg_nomem(c, n);
    for (uint32_t i = 0; i < cnt; i++) {
        if (items[i]->kind != SN_SCALAR || sn_is_null(items[i]))
            return sg_fail(c, items[i], "%s: item %u must be a string", path, i + 1);
        v[i] = vg_str_dup(c->a, items[i]->text);
        if (!v[i].p)
            return sg_nomem(c, items[i]);
    }
    *out = v;
    *nout = cnt;
    return VG_OK;
}

static vg_err get_logsource(sg_ctx *c, const sn_node *n, sg_logsource *ls)
{
    if (!n)
        return sg_fail(c, NULL, "logsource: missing");
    if (n->kind != SN_MAP)
        return sg_fail(c, n, "logsource: must be a map");
    vg_err e;
    if ((e = get_lower(c, sn_get(n, "category"), "logsource.category", &ls->category)) ||
        (e = get_lower(c, sn_get(n, "product"), "logsource.product", &ls->product)) ||
        (e = get_lower(c, sn_get(n, "service"), "logsource.service", &ls->service)) ||
        (e = get_lower(c, sn_get(n, "definition"), "logsource.definition", &ls->definition)))
        return e;
    return VG_OK;
}

/* A growable array of items in the scratch arena, copied out at the end. */
typedef struct item_vec {
    sg_item *v;
    uint32_t n, cap;
} item_vec;

static sg_item *item_push(sg_ctx *c, item_vec *iv, const sn_node *at)
{
    if (iv->n >= SG_MAX_ITEMS) {
        sg_fail(c, at, "detection: more than %d field items", SG_MAX_ITEMS);
        return NULL;
    }
    if (iv->n == iv->cap) {
        uint32_t cap = iv->cap ? iv->cap * 2 : 16;
        sg_item *v = vg_arena_alloc(c->tmp, cap * sizeof(*v));
        if (!v) {
            sg_fail(c, at, "detection: too large");
            return NULL;
        }
        if (iv->n)
            memcpy(v, iv->v, iv->n * sizeof(*v));
        iv->v = v;
        iv->cap = cap;
    }
    sg_item *it = &iv->v[iv->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

/* One alternative over the item indices [first, last). */
static vg_err alt_make(sg_ctx *c, sg_alt *alt, uint32_t first, uint32_t last, const sn_node *at)
{
    alt->nitems = last - first;
    alt->items = vg_arena_alloc(c->a, (alt->nitems ? alt->nitems : 1) * sizeof(uint32_t));
    if (!alt->items)
        return sg_nomem(c, at);
    for (uint32_t i = 0; i < alt->nitems; i++)
        alt->items[i] = first + i;
    return VG_OK;
}

/* A map of field items: one alternative. */
static vg_err alt_from_map(sg_ctx *c, vg_str path, const sn_node *m, item_vec *iv, sg_alt *alt)
{
    if (m->n == 0)
        return sg_fail(c, m, "%s.%.*s: empty map", c->section, VG_STR_FMT(path));
    const sn_node *dup = sn_dup_key(m);
    if (dup)
        return sg_fail(c, dup, "%s.%.*s.%s: duplicate key", c->section, VG_STR_FMT(path), dup->text.p);
    uint32_t first = iv->n;
    for (uint32_t i = 0; i < m->n; i++) {
        const sn_node *k = m->kids[2 * i], *v = m->kids[2 * i + 1];
        if (k->kind != SN_SCALAR)
            return sg_fail(c, k, "%s.%.*s: a field name must be a string", c->section, VG_STR_FMT(path));
        sg_item *it = item_push(c, iv, k);
        if (!it)
            return VG_EPARSE;
        vg_err e = sg_item_build(c, path, k, v, it);
        if (e)
            return e;
    }
    return alt_make(c, alt, first, iv->n, m);
}

static vg_err alt_from_keywords(sg_ctx *c, vg_str path, const sn_node *const *vals, uint32_t n,
                                const sn_node *at, item_vec *iv, sg_alt *alt)
{
    uint32_t first = iv->n;
    sg_item *it = item_push(c, iv, at);
    if (!it)
        return VG_EPARSE;
    vg_err e = sg_keywords_build(c, path, vals, n, at, it);
    if (e)
        return e;
    return alt_make(c, alt, first, iv->n, at);
}

static vg_err search_build(sg_ctx *c, const sn_node *k, const sn_node *v, item_vec *iv,
                           sg_search *s)
{
    s->name = vg_str_dup(c->a, k->text);
    if (!s->name.p)
        return sg_nomem(c, k);
    vg_str path = s->name;
    if (sn_is_null(v))
        return sg_fail(c, k, "%s.%.*s: empty search", c->section, VG_STR_FMT(path));
    if (v->kind == SN_SCALAR || v->kind == SN_MAP) {
        s->nalts = 1;
        s->alts = vg_arena_zalloc(c->a, sizeof(sg_alt));
        if (!s->alts)
            return sg_nomem(c, v);
        if (v->kind == SN_MAP)
            return alt_from_map(c, path, v, iv, &s->alts[0]);
        return alt_from_keywords(c, path, (const sn_node *const *)&v, 1, v, iv, &s->alts[0]);
    }
    /* a list: all scalars is one keyword item; else one alternative per element */
    if (v->n == 0)
        return sg_fail(c, v, "%s.%.*s: empty list", c->section, VG_STR_FMT(path));
    bool scalars = true;
    for (uint32_t i = 0; i < v->n; i++)
        if (v->kids[i]->kind != SN_SCALAR)
            scalars = false;
    s->nalts = scalars ? 1 : v->n;
    s->alts = vg_arena_zalloc(c->a, s->nalts * sizeof(sg_alt));
    if (!s->alts)
        return sg_nomem(c, v);
    if (scalars)
        return alt_from_keywords(c, path, (const sn_node *const *)v->kids, v->n, v, iv, &s->alts[0]);
    for (uint32_t i = 0; i < v->n; i++) {
        const sn_node *el = v->kids[i];
        vg_err e;
        if (el->kind == SN_MAP)
            e = alt_from_map(c, path, el, iv, &s->alts[i]);
        else if (el->kind == SN_SCALAR)
            e = alt_from_keywords(c, path, (const sn_node *const *)&el, 1, el, iv, &s->alts[i]);
        else
            e = sg_fail(c, el, "%s.%.*s: a list inside a list", c->section, VG_STR_FMT(path));
        if (e)
            return e;
    }
    return VG_OK;
}

/* The searches and condition of a detection (or filter) map. skip names a
 * key that is not a search besides condition and timeframe (filter: rules). */
static vg_err detection_build(sg_ctx *c, const sn_node *det, const char *what, const char *skip)
{
    sg_rule *r = c->rule;
    c->section = what;
    if (!det)
        return sg_fail(c, NULL, "%s: missing", what);
    if (det->kind != SN_MAP)
        return sg_fail(c, det, "%s: must be a map", what);
    uint32_t ns = 0;
    for (uint32_t i = 0; i < det->n; i++) {
        const sn_node *k = det->kids[2 * i];
        if (k->kind != SN_SCALAR)
            return sg_fail(c, k, "%s: a search name must be a string", what);
        if (vg_str_eqc(k->text, "condition") || vg_str_eqc(k->text, "timeframe") ||
            (skip && vg_str_eqc(k->text, skip)))
            continue;
        ns++;
    }
    if (ns > SG_MAX_SEARCHES)
        return sg_fail(c, det, "%s: more than %d searches", what, SG_MAX_SEARCHES);
    r->searches = vg_arena_zalloc(c->a, (ns ? ns : 1) * sizeof(sg_search));
    if (!r->searches)
        return sg_nomem(c, det);
    item_vec iv = { 0 };
    for (uint32_t i = 0; i < det->n; i++) {
        const sn_node *k = det->kids[2 * i], *v = det->kids[2 * i + 1];
        if (vg_str_eqc(k->text, "condition") || vg_str_eqc(k->text, "timeframe") ||
            (skip && vg_str_eqc(k->text, skip)))
            continue;
        for (uint32_t j = 0; j < r->nsearches; j++)
            if (vg_str_eq(r->searches[j].name, k->text))
                return sg_fail(c, k, "%s.%s: duplicate search", what, k->text.p);
        vg_err e = search_build(c, k, v, &iv, &r->searches[r->nsearches]);
        if (e)
            return e;
        r->nsearches++;
    }
    r->nitems = iv.n;
    r->items = vg_arena_alloc(c->a, (iv.n ? iv.n : 1) * sizeof(sg_item));
    if (!r->items)
        return sg_nomem(c, det);
    if (iv.n)
        memcpy(r->items, iv.v, iv.n * sizeof(sg_item));
    const sn_node *cond = sn_get(det, "condition");
    if (!cond)
        return sg_fail(c, det, "%s: missing condition", what);
    return sg_cond_build(c, cond, &r->cond);
}

/* ---- correlation ---- */

static const struct {
    const char *name;
    sg_corr_type type;
} corr_types[] = {
    { "event_count", SG_CORR_EVENT_COUNT },
    { "value_count", SG_CORR_VALUE_COUNT },
    { "temporal", SG_CORR_TEMPORAL },
    { "temporal_ordered", SG_CORR_TEMPORAL_ORDERED },
    { "value_sum", SG_CORR_VALUE_SUM },
    { "value_avg", SG_CORR_VALUE_AVG },
    { "value_percentile", SG_CORR_VALUE_PERCENTILE },
};

static const struct {
    const char *name;
    sg_cmp cmp;
} corr_cmps[] = {
    { "gt", SG_CMP_GT }, { "gte", SG_CMP_GTE }, { "lt", SG_CMP_LT },
    { "lte", SG_CMP_LTE }, { "eq", SG_CMP_EQ }, { "neq", SG_CMP_NEQ },
};

/* Timespan units (Sigma correlation specification) in 100 ns ticks. */
static const struct {
    char unit;
    int64_t ticks;
} timespan_units[] = {
    { 's', 10000000LL },
    { 'm', 60LL * 10000000LL },
    { 'h', 3600LL * 10000000LL },
    { 'd', 86400LL * 10000000LL },
};

static vg_err get_timespan(sg_ctx *c, const sn_node *n, int64_t *out)
{
    if (!n)
        return sg_fail(c, NULL, "correlation.timespan: missing");
    if (n->kind != SN_SCALAR || n->text.n < 2)
        return sg_fail(c, n, "correlation.timespan: expected a number and a unit (s, m, h, d), like 5m");
    char u = n->text.p[n->text.n - 1];
    uint64_t num;
    if (vg_str_to_u64(vg_str_make(n->text.p, n->text.n - 1), &num) || num == 0)
        return sg_fail(c, n, "correlation.timespan: '%s' is not a positive number and a unit",
                       n->text.p);
    for (unsigned i = 0; i < NELEM(timespan_units); i++)
        if (timespan_units[i].unit == u) {
            if (num > (uint64_t)INT64_MAX / (uint64_t)timespan_units[i].ticks)
                return sg_fail(c, n, "correlation.timespan: '%s' is too long", n->text.p);
            *out = (int64_t)num * timespan_units[i].ticks;
            return VG_OK;
        }
    return sg_fail(c, n, "correlation.timespan: unknown unit '%c' (s, m, h, d)", u);
}

static vg_err get_number(sg_ctx *c, const sn_node *n, const char *path, double *out)
{
    if (!n || n->kind != SN_SCALAR || vg_str_to_double(n->text, out))
        return sg_fail(c, n, "%s: must be a number", path);
    return VG_OK;
}

static vg_err corr_condition(sg_ctx *c, const sn_node *n, sg_corr *k)
{
    if (n->kind != SN_MAP)
        return sg_fail(c, n, "correlation.condition: must be a map (gte: 10, field: ...)");
    k->bounds = vg_arena_zalloc(c->a, (n->n ? n->n : 1) * sizeof(sg_bound));
    if (!k->bounds)
        return sg_nomem(c, n);
    for (uint32_t i = 0; i < n->n; i++) {
        const sn_node *key = n->kids[2 * i], *v = n->kids[2 * i + 1];
        vg_err e;
        if (key->kind != SN_SCALAR)
            return sg_fail(c, key, "correlation.condition: keys must be strings");
        if (vg_str_eqc(key->text, "field")) {
            if ((e = get_str(c, v, "correlation.condition.field", &k->field)))
                return e;
            continue;
        }
        if (vg_str_eqc(key->text, "percentile")) {
            if ((e = get_number(c, v, "correlation.condition.percentile", &k->percentile)))
                return e;
            continue;
        }
        unsigned j = 0;
        while (j < NELEM(corr_cmps) && !vg_str_eqc(key->text, corr_cmps[j].name))
            j++;
        if (j == NELEM(corr_cmps))
            return sg_fail(c, key, "correlation.condition: unknown operator '%s' "
                           "(gt, gte, lt, lte, eq, neq, field)", key->text.p);
        char path[64];
        snprintf(path, sizeof(path), "correlation.condition.%s", corr_cmps[j].name);
        sg_bound *b = &k->bounds[k->nbounds++];
        b->cmp = corr_cmps[j].cmp;
        if ((e = get_number(c, v, path, &b->value)))
            return e;
    }
    return VG_OK;
}

static vg_err corr_aliases(sg_ctx *c, const sn_node *n, sg_corr *k)
{
    if (n->kind != SN_MAP)
        return sg_fail(c, n, "correlation.aliases: must be a map alias -> {rule: field}");
    k->aliases = vg_arena_zalloc(c->a, (n->n ? n->n : 1) * sizeof(sg_alias));
    if (!k->aliases)
        return sg_nomem(c, n);
    for (uint32_t i = 0; i < n->n; i++) {
        const sn_node *key = n->kids[2 * i], *m = n->kids[2 * i + 1];
        sg_alias *al = &k->aliases[k->naliases++];
        if (key->kind != SN_SCALAR || !m || m->kind != SN_MAP || m->n == 0)
            return sg_fail(c, key, "correlation.aliases: each alias maps rule names to fields");
        al->name = vg_str_dup(c->a, key->text);
        al->rules = vg_arena_alloc(c->a, m->n * sizeof(vg_str));
        al->fields = vg_arena_alloc(c->a, m->n * sizeof(vg_str));
        if (!al->name.p || !al->rules || !al->fields)
            return sg_nomem(c, m);
        for (uint32_t j = 0; j < m->n; j++) {
            const sn_node *rk = m->kids[2 * j], *fv = m->kids[2 * j + 1];
            if (rk->kind != SN_SCALAR || !fv || fv->kind != SN_SCALAR || sn_is_null(fv))
                return sg_fail(c, rk, "correlation.aliases.%s: each rule maps to a field name",
                               key->text.p);
            al->rules[j] = vg_str_dup(c->a, rk->text);
            al->fields[j] = vg_str_dup(c->a, fv->text);
            if (!al->rules[j].p || !al->fields[j].p)
                return sg_nomem(c, fv);
            al->n++;
        }
    }
    return VG_OK;
}

static vg_err corr_build(sg_ctx *c, const sn_node *n)
{
    sg_corr *k = &c->rule->corr;
    if (!n || n->kind != SN_MAP)
        return sg_fail(c, n, "correlation: must be a map");
    const sn_node *t = sn_get(n, "type");
    if (!t || t->kind != SN_SCALAR)
        return sg_fail(c, t ? t : n, "correlation.type: missing");
    unsigned i = 0;
    while (i < NELEM(corr_types) && !vg_str_eqc(t->text, corr_types[i].name))
        i++;
    if (i == NELEM(corr_types))
        return sg_fail(c, t, "correlation.type: unknown type '%s'", t->text.p);
    k->type = corr_types[i].type;
    vg_err e;
    const sn_node *rules = sn_get(n, "rules");
    if ((e = sg_get_list(c, rules, "correlation.rules", &k->rules, &k->nrules)))
        return e;
    if (k->nrules == 0)
        return sg_fail(c, rules ? rules : n, "correlation.rules: missing");
    if ((e = sg_get_list(c, sn_get(n, "group-by"), "correlation.group-by", &k->group_by,
                      &k->ngroup_by)))
        return e;
    if ((e = get_timespan(c, sn_get(n, "timespan"), &k->timespan)))
        return e;
    const sn_node *g = sn_get(n, "generate");
    if (g && !sn_is_null(g) && !sn_bool(g, &k->generate))
        return sg_fail(c, g, "correlation.generate: must be true or false");
    const sn_node *al = sn_get(n, "aliases");
    if (al && !sn_is_null(al) && (e = corr_aliases(c, al, k)))
        return e;
    const sn_node *cond = sn_get(n, "condition");
    bool temporal = k->type == SG_CORR_TEMPORAL || k->type == SG_CORR_TEMPORAL_ORDERED;
    if (cond && !sn_is_null(cond)) {
        if ((e = corr_condition(c, cond, k)))
            return e;
    } else if (!temporal) {
        return sg_fail(c, n, "correlation.condition: missing (required for %s)", t->text.p);
    }
    const sn_node *pct = sn_get(n, "percentile");   /* also accepted beside condition */
    if (pct && (e = get_number(c, pct, "correlation.percentile", &k->percentile)))
        return e;
    bool valued = k->type == SG_CORR_VALUE_COUNT || k->type == SG_CORR_VALUE_SUM ||
                  k->type == SG_CORR_VALUE_AVG || k->type == SG_CORR_VALUE_PERCENTILE;
    if (valued && !k->field.p)
        return sg_fail(c, cond, "correlation.condition.field: required for %s", t->text.p);
    if (!temporal && k->nbounds == 0)
        return sg_fail(c, cond, "correlation.condition: needs a bound (gt, gte, lt, lte, eq, neq)");
    if (k->type == SG_CORR_VALUE_PERCENTILE) {
        if (!(pct || sn_get(cond, "percentile")))
            return sg_fail(c, cond, "correlation.condition.percentile: required for value_percentile");
        if (!(k->percentile >= 0 && k->percentile <= 100))
            return sg_fail(c, cond, "correlation.condition.percentile: must be within 0-100");
    }
    return VG_OK;
}

/* ---- one document ---- */

vg_err sg_doc_build(sg_ctx *c, const sn_node *root)
{
    sg_rule *r = c->rule;
    if (root->kind != SN_MAP)
        return sg_fail(c, root, "document: a Sigma rule must be a YAML map");
    for (uint32_t i = 0; i < root->n; i++)
        if (root->kids[2 * i]->kind != SN_SCALAR)
            return sg_fail(c, root->kids[2 * i], "document: keys must be strings");
    const sn_node *dup = sn_dup_key(root);
    if (dup)
        return sg_fail(c, dup, "%s: duplicate key", dup->text.p);
    const sn_node *action = sn_get(root, "action");
    if (action)
        return sg_fail(c, action, "action: rule collections (action: global/reset/repeat, "
                       "Sigma v1) are not supported; write each rule as a whole document");
    const sn_node *title = sn_get(root, "title");
    vg_err e;
    if (sn_is_null(title))
        return sg_fail(c, title ? title : root, "title: missing");
    if ((e = get_str(c, title, "title", &r->title)) || (e = get_str(c, sn_get(root, "id"), "id", &r->id)) ||
        (e = get_str(c, sn_get(root, "name"), "name", &r->name)) ||
        (e = get_str(c, sn_get(root, "description"), "description", &r->description)) ||
        (e = get_str(c, sn_get(root, "author"), "author", &r->author)) ||
        (e = get_str(c, sn_get(root, "date"), "date", &r->date)) ||
        (e = get_str(c, sn_get(root, "modified"), "modified", &r->modified)) ||
        (e = get_str(c, sn_get(root, "license"), "license", &r->license)) ||
        (e = sg_get_list(c, sn_get(root, "tags"), "tags", &r->tags, &r->ntags)) ||
        (e = sg_get_list(c, sn_get(root, "references"), "references", &r->references, &r->nreferences)) ||
        (e = sg_get_list(c, sn_get(root, "falsepositives"), "falsepositives", &r->falsepositives,
                      &r->nfalsepositives)) ||
        (e = sg_get_list(c, sn_get(root, "fields"), "fields", &r->fields, &r->nfields)))
        return e;
    const sn_node *lv = sn_get(root, "level");
    if (!sn_is_null(lv)) {
        if (lv->kind != SN_SCALAR || !sg_level_parse(lv->text, &r->level))
            return sg_fail(c, lv, "level: unknown level '%s' (informational, low, medium, high, "
                           "critical)", lv->kind == SN_SCALAR ? lv->text.p : "?");
        r->has_level = true;
    }
    const sn_node *st = sn_get(root, "status");
    if (!sn_is_null(st) && (st->kind != SN_SCALAR || !sg_status_parse(st->text, &r->status)))
        return sg_fail(c, st, "status: unknown status '%s' (stable, test, experimental, "
                       "deprecated, unsupported)", st->kind == SN_SCALAR ? st->text.p : "?");

    const sn_node *corr = sn_get(root, "correlation");
    const sn_node *filter = sn_get(root, "filter");
    const sn_node *type = sn_get(root, "type");
    if (!corr && type && type->kind == SN_SCALAR && vg_str_eqc(type->text, "correlation"))
        return sg_fail(c, type, "correlation: missing (type: correlation)");
    if (corr) {
        r->kind = SG_KIND_CORRELATION;
        const sn_node *ls = sn_get(root, "logsource");
        if (ls && (e = get_logsource(c, ls, &r->logsource)))
            return e;
        return corr_build(c, corr);
    }
    if ((e = get_logsource(c, sn_get(root, "logsource"), &r->logsource)))
        return e;
    if (filter) {
        r->kind = SG_KIND_FILTER;
        if (filter->kind != SN_MAP)
            return sg_fail(c, filter, "filter: must be a map (rules, searches, condition)");
        const sn_node *rules = sn_get(filter, "rules");
        if ((e = sg_get_list(c, rules, "filter.rules", &r->filter.rules, &r->filter.nrules)))
            return e;
        if (r->filter.nrules == 0)
            return sg_fail(c, rules ? rules : filter, "filter.rules: missing");
        return detection_build(c, filter, "filter", "rules");
    }
    r->kind = SG_KIND_RULE;
    return detection_build(c, sn_get(root, "detection"), "detection", NULL);
}

