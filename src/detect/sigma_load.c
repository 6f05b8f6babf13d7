/*
 * sigma_load.c - reads Sigma rule files into sg_rule records (sigma.h).
 *
 * Two steps per YAML document: libyaml's event stream becomes a small node
 * tree that keeps the line and column of every node (bounded nesting, a
 * capped scratch arena, no aliases), then the tree becomes one sg_rule in
 * the ruleset's arena: top-level keys, logsource, detection (searches and
 * items, values through sigma_value.c; condition through sigma_cond.c),
 * correlation and filter sections. A document that does not convert adds
 * one sg_failure naming the construct and the reason, and loading goes on
 * with the next document and the next file. Paths are walked here too
 * (sorted, recursive), and the |expand placeholder file is read here.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "sigma_load_int.h"

/* ---- names ---- */

static const char *const level_names[] = { "informational", "low", "medium", "high", "critical" };
static const char *const status_names[] = { "", "stable", "test", "experimental", "deprecated",
                                            "unsupported" };
#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

const char *sg_level_name(sg_level l)
{
    return (unsigned)l < NELEM(level_names) ? level_names[l] : "?";
}

const char *sg_status_name(sg_status s)
{
    return (unsigned)s < NELEM(status_names) ? status_names[s] : "?";
}

bool sg_level_parse(vg_str s, sg_level *out)
{
    for (unsigned i = 0; i < NELEM(level_names); i++)
        if (vg_str_eqc_ci(s, level_names[i])) {
            *out = (sg_level)i;
            return true;
        }
    return false;
}

bool sg_status_parse(vg_str s, sg_status *out)
{
    for (unsigned i = 1; i < NELEM(status_names); i++)
        if (vg_str_eqc_ci(s, status_names[i])) {
            *out = (sg_status)i;
            return true;
        }
    return false;
}

/* ---- ruleset ---- */

void sg_ruleset_init(sg_ruleset *rs)
{
    memset(rs, 0, sizeof(*rs));
    vg_arena_init(&rs->arena, 0, SG_LOAD_ARENA_CAP);
}

void sg_ruleset_free(sg_ruleset *rs)
{
    free(rs->rules);
    free(rs->failures);
    vg_arena_free(&rs->arena);
    memset(rs, 0, sizeof(*rs));
}

/* Adds a failure; VG_ENOMEM when it cannot be stored. */
static vg_err add_failure(sg_ruleset *rs, vg_str file, uint32_t line, uint32_t col,
                          const char *reason)
{
    if (rs->nfailures == rs->fcap) {
        if (rs->fcap >= SG_LOAD_MAX_RULES)
            return VG_ENOMEM;
        uint32_t cap = rs->fcap ? rs->fcap * 2 : 16;
        sg_failure *f = realloc(rs->failures, cap * sizeof(*f));
        if (!f)
            return VG_ENOMEM;
        rs->failures = f;
        rs->fcap = cap;
    }
    vg_str fn = vg_str_dup(&rs->arena, file);
    vg_str rn = vg_str_dup(&rs->arena, vg_str_c(reason));
    if (!fn.p || !rn.p)
        return VG_ENOMEM;
    rs->failures[rs->nfailures++] = (sg_failure){ fn, line, col, rn };
    return VG_OK;
}

static sg_rule *add_rule(sg_ruleset *rs)
{
    if (rs->nrules == rs->cap) {
        if (rs->cap >= SG_LOAD_MAX_RULES)
            return NULL;
        uint32_t cap = rs->cap ? rs->cap * 2 : 64;
        sg_rule *r = realloc(rs->rules, cap * sizeof(*r));
        if (!r)
            return NULL;
        rs->rules = r;
        rs->cap = cap;
    }
    return &rs->rules[rs->nrules];
}

/* ---- context helpers shared with sigma_cond.c and sigma_value.c ---- */

vg_err sg_fail(sg_ctx *c, const sn_node *n, const char *fmt, ...)
{
    if (!c->failed) {
        c->failed = true;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
        va_end(ap);
        if (!c->reason[0])
            vg_str_copy_c(c->reason, sizeof(c->reason), VG_STR_LIT("invalid rule"));
        c->line = n ? n->line : 0;
        c->col = n ? n->col : 0;
    }
    return VG_EPARSE;
}

vg_err sg_nomem(sg_ctx *c, const sn_node *n)
{
    sg_fail(c, n, "out of memory (the ruleset arena is capped at %zu MiB)",
            (size_t)(SG_LOAD_ARENA_CAP >> 20));
    c->nomem = true;
    return VG_ENOMEM;
}

bool sn_is_null(const sn_node *n)
{
    if (!n)
        return true;
    if (n->kind != SN_SCALAR || !n->plain)
        return false;
    return n->text.n == 0 || vg_str_eqc(n->text, "~") || vg_str_eqc(n->text, "null") ||
           vg_str_eqc(n->text, "Null") || vg_str_eqc(n->text, "NULL");
}

const sn_node *sn_get(const sn_node *map, const char *key)
{
    if (!map || map->kind != SN_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->n; i++) {
        const sn_node *k = map->kids[2 * i];
        if (k->kind == SN_SCALAR && vg_str_eqc(k->text, key))
            return map->kids[2 * i + 1];
    }
    return NULL;
}

bool sn_bool(const sn_node *n, bool *out)
{
    if (!n || n->kind != SN_SCALAR || !n->plain)
        return false;
    static const char *const t[] = { "true", "yes", "on" }, *const f[] = { "false", "no", "off" };
    for (unsigned i = 0; i < 3; i++) {
        if (vg_str_eqc_ci(n->text, t[i])) {
            *out = true;
            return true;
        }
        if (vg_str_eqc_ci(n->text, f[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* ---- YAML -> node tree ---- */

typedef struct sn_frame {
    sn_node *node;
    sn_node **kids;
    uint32_t n, cap;
} sn_frame;

typedef struct sn_reader {
    yaml_parser_t p;
    vg_arena *tmp;
    sn_frame stack[SG_MAX_DEPTH + 1];
    uint32_t depth;
    sn_node *root;
    /* an error: reason and position */
    char reason[SG_LOAD_MAX_REASON];
    uint32_t line, col;
} sn_reader;

static sn_node *sn_new(sn_reader *r, sn_kind k, const yaml_mark_t *m)
{
    sn_node *n = vg_arena_zalloc(r->tmp, sizeof(*n));
    if (n) {
        n->kind = k;
        n->line = (uint32_t)m->line + 1;
        n->col = (uint32_t)m->column + 1;
    }
    return n;
}

static bool sn_append(sn_reader *r, sn_node *n)
{
    if (r->depth == 0) {
        r->root = n;
        return true;
    }
    sn_frame *f = &r->stack[r->depth - 1];
    if (f->n == f->cap) {
        uint32_t cap = f->cap ? f->cap * 2 : 8;
        sn_node **k = vg_arena_alloc(r->tmp, cap * sizeof(*k));
        if (!k)
            return false;
        if (f->n)
            memcpy(k, f->kids, f->n * sizeof(*k));
        f->kids = k;
        f->cap = cap;
    }
    f->kids[f->n++] = n;
    return true;
}

static void sn_error(sn_reader *r, const yaml_mark_t *m, const char *what)
{
    snprintf(r->reason, sizeof(r->reason), "%s", what);
    r->line = m ? (uint32_t)m->line + 1 : 0;
    r->col = m ? (uint32_t)m->column + 1 : 0;
}

/* Reads events up to the end of the next document. *done on stream end. */
static bool sn_read_doc(sn_reader *r, bool *done, bool *got_doc)
{
    *done = false;
    *got_doc = false;
    r->root = NULL;
    r->depth = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&r->p, &ev)) {
            char msg[SG_LOAD_MAX_REASON];
            snprintf(msg, sizeof(msg), "YAML syntax error: %s%s%s (line %zu)",
                     r->p.problem ? r->p.problem : "unknown problem",
                     r->p.context ? " " : "", r->p.context ? r->p.context : "",
                     r->p.problem_mark.line + 1);
            sn_error(r, &r->p.problem_mark, msg);
            *got_doc = true;
            return false;
        }
        bool ok = true;
        sn_node *n;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            *done = true;
            yaml_event_delete(&ev);
            return true;
        case YAML_DOCUMENT_START_EVENT:
            *got_doc = true;
            break;
        case YAML_DOCUMENT_END_EVENT:
            yaml_event_delete(&ev);
            return true;
        case YAML_ALIAS_EVENT:
            sn_error(r, &ev.start_mark, "YAML aliases (*name) are not supported in Sigma rules");
            ok = false;
            break;
        case YAML_SCALAR_EVENT:
            n = sn_new(r, SN_SCALAR, &ev.start_mark);
            if (n) {
                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                n->text = vg_str_dup(r->tmp, vg_str_make((const char *)ev.data.scalar.value,
                                                         ev.data.scalar.length));
                if (!n->text.p)
                    n = NULL;
            }
            if (!n || !sn_append(r, n)) {
                sn_error(r, &ev.start_mark, "YAML document too large (scratch memory is capped)");
                ok = false;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (r->depth >= SG_MAX_DEPTH) {
                char msg[96];
                snprintf(msg, sizeof(msg), "YAML nesting deeper than %d", SG_MAX_DEPTH);
                sn_error(r, &ev.start_mark, msg);
                ok = false;
                break;
            }
            n = sn_new(r, ev.type == YAML_SEQUENCE_START_EVENT ? SN_SEQ : SN_MAP, &ev.start_mark);
            if (!n) {
                sn_error(r, &ev.start_mark, "YAML document too large (scratch memory is capped)");
                ok = false;
                break;
            }
            r->stack[r->depth++] = (sn_frame){ n, NULL, 0, 0 };
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            sn_frame *f = &r->stack[--r->depth];
            f->node->kids = f->kids;
            f->node->n = f->node->kind == SN_MAP ? f->n / 2 : f->n;
            if (!sn_append(r, f->node)) {
                sn_error(r, &ev.start_mark, "YAML document too large (scratch memory is capped)");
                ok = false;
            }
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (!ok)
            return false;
    }
}

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
static vg_err get_list(sg_ctx *c, const sn_node *n, const char *path, vg_str **out, uint32_t *nout)
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
    if ((e = get_list(c, rules, "correlation.rules", &k->rules, &k->nrules)))
        return e;
    if (k->nrules == 0)
        return sg_fail(c, rules ? rules : n, "correlation.rules: missing");
    if ((e = get_list(c, sn_get(n, "group-by"), "correlation.group-by", &k->group_by,
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

static vg_err doc_build(sg_ctx *c, const sn_node *root)
{
    sg_rule *r = c->rule;
    if (root->kind != SN_MAP)
        return sg_fail(c, root, "document: a Sigma rule must be a YAML map");
    for (uint32_t i = 0; i < root->n; i++) {
        const sn_node *k = root->kids[2 * i];
        if (k->kind != SN_SCALAR)
            return sg_fail(c, k, "document: keys must be strings");
        for (uint32_t j = 0; j < i; j++)
            if (root->kids[2 * j]->kind == SN_SCALAR && vg_str_eq(root->kids[2 * j]->text, k->text))
                return sg_fail(c, k, "%s: duplicate key", k->text.p);
    }
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
        (e = get_list(c, sn_get(root, "tags"), "tags", &r->tags, &r->ntags)) ||
        (e = get_list(c, sn_get(root, "references"), "references", &r->references, &r->nreferences)) ||
        (e = get_list(c, sn_get(root, "falsepositives"), "falsepositives", &r->falsepositives,
                      &r->nfalsepositives)) ||
        (e = get_list(c, sn_get(root, "fields"), "fields", &r->fields, &r->nfields)))
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
        if ((e = get_list(c, rules, "filter.rules", &r->filter.rules, &r->filter.nrules)))
            return e;
        if (r->filter.nrules == 0)
            return sg_fail(c, rules ? rules : filter, "filter.rules: missing");
        return detection_build(c, filter, "filter", "rules");
    }
    r->kind = SG_KIND_RULE;
    return detection_build(c, sn_get(root, "detection"), "detection", NULL);
}

/* ---- text, file, path ---- */

vg_err sg_load_text(sg_ruleset *rs, vg_str file, vg_str text)
{
    vg_arena tmp;
    vg_arena_init(&tmp, 0, SG_LOAD_TREE_CAP);
    sn_reader *rd = calloc(1, sizeof(*rd));
    if (!rd) {
        vg_arena_free(&tmp);
        return VG_ENOMEM;
    }
    vg_err ret = VG_OK;
    rd->tmp = &tmp;
    if (!yaml_parser_initialize(&rd->p)) {
        free(rd);
        vg_arena_free(&tmp);
        return VG_ENOMEM;
    }
    yaml_parser_set_input_string(&rd->p, (const unsigned char *)(text.p ? text.p : ""), text.n);
    for (uint32_t doc = 0;; doc++) {
        bool done, got;
        vg_arena_reset(&tmp);
        bool ok = sn_read_doc(rd, &done, &got);
        if (!ok) {
            ret = add_failure(rs, file, rd->line, rd->col, rd->reason);
            break;
        }
        if (done)
            break;
        if (!rd->root || sn_is_null(rd->root))
            continue;   /* an empty document (a trailing ---) */
        sg_rule *r = add_rule(rs);
        if (!r) {
            ret = add_failure(rs, file, 0, 0, "too many rules");
            if (ret == VG_OK)
                ret = VG_ENOMEM;
            break;
        }
        memset(r, 0, sizeof(*r));
        sg_ctx c = { .rs = rs, .a = &rs->arena, .tmp = &tmp, .file = file, .rule = r };
        r->file = vg_str_dup(&rs->arena, file);
        r->doc = doc;
        vg_err e = r->file.p ? doc_build(&c, rd->root) : sg_nomem(&c, rd->root);
        if (e == VG_OK && !c.failed) {
            rs->nrules++;
            continue;
        }
        if (!c.failed)
            sg_fail(&c, rd->root, "invalid rule");
        vg_err fe = add_failure(rs, file, c.line, c.col, c.reason);
        if (c.nomem || fe) {
            ret = VG_ENOMEM;
            break;
        }
    }
    yaml_parser_delete(&rd->p);
    free(rd);
    vg_arena_free(&tmp);
    return ret;
}

vg_err sg_load_file(sg_ruleset *rs, const char *path, vg_diag *d)
{
    vg_str file = vg_str_c(path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
        return add_failure(rs, file, 0, 0, strerror(errno)) ? VG_ENOMEM : VG_EIO;
    }
    rs->files++;
    char *buf = malloc(SG_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        return VG_ENOMEM;
    }
    size_t n = fread(buf, 1, SG_MAX_FILE + 1, f);
    bool err = ferror(f);
    fclose(f);
    vg_err e = VG_OK;
    if (err) {
        vg_diag_set(d, VG_EIO, "%s: read error", path);
        e = add_failure(rs, file, 0, 0, "read error") ? VG_ENOMEM : VG_EIO;
    } else if (n > SG_MAX_FILE) {
        vg_diag_set(d, VG_ELIMIT, "%s: larger than %u bytes", path, SG_MAX_FILE);
        e = add_failure(rs, file, 0, 0, "file larger than SG_MAX_FILE (4 MiB)") ? VG_ENOMEM
                                                                                 : VG_ELIMIT;
    } else {
        e = sg_load_text(rs, file, vg_str_make(buf, n));
        if (e)
            vg_diag_set(d, e, "%s: %s", path, vg_strerror(e));
    }
    free(buf);
    return e;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_rule_file(const char *name)
{
    vg_str s = vg_str_c(name);
    return vg_str_ends_ci(s, VG_STR_LIT(".yml")) || vg_str_ends_ci(s, VG_STR_LIT(".yaml"));
}

static vg_err walk(sg_ruleset *rs, const char *dir, unsigned depth, vg_diag *d)
{
    if (depth > SG_LOAD_MAX_DIR_DEPTH)
        return add_failure(rs, vg_str_c(dir), 0, 0, "directory nesting deeper than 32") ? VG_ENOMEM
                                                                                        : VG_OK;
    DIR *dp = opendir(dir);
    if (!dp)
        return add_failure(rs, vg_str_c(dir), 0, 0, strerror(errno)) ? VG_ENOMEM : VG_OK;
    char **names = NULL;
    size_t n = 0, cap = 0;
    vg_err e = VG_OK;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.')
            continue;   /* ., .., hidden files and directories */
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof(*nn));
            if (!nn) {
                e = VG_ENOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            e = VG_ENOMEM;
            break;
        }
        n++;
    }
    closedir(dp);
    if (n)
        qsort(names, n, sizeof(*names), name_cmp);
    vg_buf p;
    vg_buf_init(&p, 0);
    for (size_t i = 0; i < n && e == VG_OK; i++) {
        vg_buf_clear(&p);
        vg_buf_printf(&p, "%s/%s", dir, names[i]);
        const char *full = vg_buf_cstr(&p);
        if (p.failed) {
            e = VG_ENOMEM;
            break;
        }
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            e = walk(rs, full, depth + 1, d);
        } else if (S_ISREG(st.st_mode) && is_rule_file(names[i])) {
            e = sg_load_file(rs, full, d);
            if (e == VG_EIO || e == VG_ELIMIT)
                e = VG_OK;   /* recorded as a failure; go on */
        }
    }
    vg_buf_free(&p);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return e;
}

vg_err sg_load_path(sg_ruleset *rs, const char *path, vg_diag *d)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sg_load_file(rs, path, d);
    vg_err e = walk(rs, path, 0, d);
    if (e)
        vg_diag_set(d, e, "%s: %s", path, vg_strerror(e));
    return e;
}

/* ---- placeholders ---- */

vg_err sg_load_placeholders(sg_ruleset *rs, const char *path, vg_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
    char *buf = malloc(SG_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        return VG_ENOMEM;
    }
    size_t n = fread(buf, 1, SG_MAX_FILE + 1, f);
    fclose(f);
    vg_err e = VG_OK;
    vg_arena tmp;
    vg_arena_init(&tmp, 0, SG_LOAD_TREE_CAP);
    sn_reader *rd = calloc(1, sizeof(*rd));
    if (n > SG_MAX_FILE) {
        e = vg_diag_set(d, VG_ELIMIT, "%s: larger than %u bytes", path, SG_MAX_FILE);
        goto out;
    }
    if (!rd || !yaml_parser_initialize(&rd->p)) {
        e = VG_ENOMEM;
        goto out;
    }
    rd->tmp = &tmp;
    yaml_parser_set_input_string(&rd->p, (const unsigned char *)buf, n);
    bool done, got;
    bool ok = sn_read_doc(rd, &done, &got);
    yaml_parser_delete(&rd->p);
    if (!ok) {
        e = vg_diag_set(d, VG_EPARSE, "%s:%u:%u: %s", path, rd->line, rd->col, rd->reason);
        goto out;
    }
    const sn_node *m = rd->root;
    if (!m || m->kind != SN_MAP) {
        e = vg_diag_set(d, VG_EPARSE, "%s: placeholders must be a YAML map name -> values", path);
        goto out;
    }
    sg_placeholders *ph = &rs->placeholders;
    uint32_t total = ph->n + m->n;
    vg_str *names = vg_arena_alloc(&rs->arena, (total + 1) * sizeof(*names));
    vg_str **values = vg_arena_alloc(&rs->arena, (total + 1) * sizeof(*values));
    uint32_t *nv = vg_arena_alloc(&rs->arena, (total + 1) * sizeof(*nv));
    if (!names || !values || !nv) {
        e = VG_ENOMEM;
        goto out;
    }
    if (ph->n) {
        memcpy(names, ph->names, ph->n * sizeof(*names));
        memcpy(values, ph->values, ph->n * sizeof(*values));
        memcpy(nv, ph->nvalues, ph->n * sizeof(*nv));
    }
    sg_ctx c = { .rs = rs, .a = &rs->arena, .tmp = &tmp, .file = vg_str_c(path) };
    for (uint32_t i = 0; i < m->n; i++) {
        const sn_node *k = m->kids[2 * i], *v = m->kids[2 * i + 1];
        if (k->kind != SN_SCALAR) {
            e = vg_diag_set(d, VG_EPARSE, "%s:%u:%u: a placeholder name must be a string", path,
                            k->line, k->col);
            goto out;
        }
        uint32_t at = ph->n;
        for (uint32_t j = 0; j < ph->n; j++)
            if (vg_str_eq(names[j], k->text))
                at = j;   /* a later definition replaces an earlier one */
        names[at] = vg_str_dup(&rs->arena, k->text);
        if (get_list(&c, v, "placeholder", &values[at], &nv[at])) {
            e = c.nomem ? VG_ENOMEM
                        : vg_diag_set(d, VG_EPARSE, "%s:%u:%u: %s: %s", path, c.line, c.col,
                                      k->text.p, c.reason);
            goto out;
        }
        if (!names[at].p) {
            e = VG_ENOMEM;
            goto out;
        }
        if (at == ph->n)
            ph->n++;
        ph->names = names;
        ph->values = values;
        ph->nvalues = nv;
    }
    ph->names = names;
    ph->values = values;
    ph->nvalues = nv;
out:
    free(rd);
    free(buf);
    vg_arena_free(&tmp);
    return e;
}
