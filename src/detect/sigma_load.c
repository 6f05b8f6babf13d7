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
 * with the next document and the next file. This file holds the YAML
 * reading, the ruleset, the walk over paths (sorted, recursive) and the
 * |expand placeholder file; sigma_load_doc.c turns one tree into one rule.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "../core/vg_map.h"
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
    if (rs->nfailures >= SG_LOAD_MAX_RULES ||
        vg_array_grow((void **)&rs->failures, &rs->fcap, rs->nfailures + 1, sizeof *rs->failures))
        return VG_ENOMEM;
    vg_str fn = vg_str_dup(&rs->arena, file);
    vg_str rn = vg_str_dup(&rs->arena, vg_str_c(reason));
    if (!fn.p || !rn.p)
        return VG_ENOMEM;
    rs->failures[rs->nfailures++] = (sg_failure){ fn, line, col, rn };
    return VG_OK;
}

static sg_rule *add_rule(sg_ruleset *rs)
{
    if (rs->nrules >= SG_LOAD_MAX_RULES ||
        vg_array_grow((void **)&rs->rules, &rs->cap, rs->nrules + 1, sizeof *rs->rules))
        return NULL;
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

/* The first key of a map that repeats an earlier one, or NULL (also NULL
 * when the map cannot be built: the caller's other limits apply). Linear. */
const sn_node *sn_dup_key(const sn_node *map)
{
    if (!map || map->kind != SN_MAP || map->n < 2)
        return NULL;
    vg_map seen;
    vg_map_init(&seen, false);
    const sn_node *dup = NULL;
    for (uint32_t i = 0; i < map->n && !dup; i++) {
        const sn_node *k = map->kids[2 * i];
        if (k->kind != SN_SCALAR)
            continue;
        bool found;
        vg_map_get(&seen, k->text, &found);
        if (found)
            dup = k;
        else if (vg_map_put(&seen, k->text, NULL))
            break;
    }
    vg_map_free(&seen);
    return dup;
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
                /* an explicit tag (!!str 1) reads like a quoted scalar */
                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                           ev.data.scalar.plain_implicit;
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

/* ---- text, file, path ---- */

vg_err sg_load_text(sg_ruleset *rs, vg_str file, vg_str text)
{
    if (text.n > SG_MAX_FILE)
        return add_failure(rs, file, 0, 0, "text larger than SG_MAX_FILE (4 MiB)") ? VG_ENOMEM
                                                                                  : VG_OK;
    vg_arena tmp;
    vg_arena_init(&tmp, 0, SG_LOAD_TREE_CAP);
    sn_reader *rd = calloc(1, sizeof(*rd));
    if (!rd) {
        vg_arena_free(&tmp);
        return VG_ENOMEM;
    }
    vg_err ret = VG_OK;
    uint32_t rules0 = rs->nrules, failures0 = rs->nfailures;
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
        vg_err e = r->file.p ? sg_doc_build(&c, rd->root) : sg_nomem(&c, rd->root);
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
    if (ret == VG_OK && rs->nrules == rules0 && rs->nfailures == failures0)
        ret = add_failure(rs, file, 0, 0, "no Sigma document in the file") ? VG_ENOMEM : VG_OK;
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
    /* room for the file's size as stat says, at most the limit plus one
     * byte to notice a larger file */
    struct stat st;
    size_t want = SG_MAX_FILE + 1;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < want)
        want = (size_t)st.st_size + 1;
    char *buf = malloc(want);
    if (!buf) {
        fclose(f);
        return VG_ENOMEM;
    }
    size_t n = fread(buf, 1, want, f);   /* a file that grew meanwhile is cut at want */
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
    vg_map index;   /* placeholder name -> its index + 1 */
    vg_map_init(&index, false);
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
    const sn_node *dup = sn_dup_key(m);
    if (dup) {
        e = vg_diag_set(d, VG_EPARSE, "%s:%u:%u: %s: duplicate placeholder", path, dup->line,
                        dup->col, dup->text.p);
        goto out;
    }
    sg_placeholders *ph = &rs->placeholders;
    for (uint32_t j = 0; j < ph->n; j++)
        if (vg_map_put(&index, ph->names[j], (void *)(uintptr_t)(j + 1))) {
            e = VG_ENOMEM;
            goto out;
        }
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
    /* the new arrays hold the old entries and room for every new one: they
     * stand in for the old at once, so ph stays whole if a value fails */
    ph->names = names;
    ph->values = values;
    ph->nvalues = nv;
    sg_ctx c = { .rs = rs, .a = &rs->arena, .tmp = &tmp, .file = vg_str_c(path) };
    for (uint32_t i = 0; i < m->n; i++) {
        const sn_node *k = m->kids[2 * i], *v = m->kids[2 * i + 1];
        if (k->kind != SN_SCALAR) {
            e = vg_diag_set(d, VG_EPARSE, "%s:%u:%u: a placeholder name must be a string", path,
                            k->line, k->col);
            goto out;
        }
        /* a name loaded before (from another file) is replaced */
        bool found;
        uintptr_t at1 = (uintptr_t)vg_map_get(&index, k->text, &found);
        uint32_t at = found ? (uint32_t)(at1 - 1) : ph->n;
        names[at] = vg_str_dup(&rs->arena, k->text);
        if (sg_get_list(&c, v, "placeholder", &values[at], &nv[at])) {
            e = c.nomem ? VG_ENOMEM
                        : vg_diag_set(d, VG_EPARSE, "%s:%u:%u: %s: %s", path, c.line, c.col,
                                      k->text.p, c.reason);
            goto out;
        }
        if (!names[at].p) {
            e = VG_ENOMEM;
            goto out;
        }
        if (at == ph->n) {
            if (vg_map_put(&index, names[at], (void *)(uintptr_t)(at + 1))) {
                e = VG_ENOMEM;
                goto out;
            }
            ph->n++;
        }
    }
out:
    vg_map_free(&index);
    free(rd);
    free(buf);
    vg_arena_free(&tmp);
    return e;
}
