/*
 * cmd_rules.c - `vigil rules`: manage and test Sigma rules offline.
 *
 *   vigil rules check [--format text|json] [--rules PATH ...] [PATH ...]
 *       load and compile; report every file that failed and why
 *       (json: {"total":N,"compiled":M,"failed":[{"file":..,"reason":..}], ...})
 *   vigil rules list [--rules PATH ...] [--enable SEL ...] [--format text|json]
 *       the rules, with id, level, status, whether enabled and routed
 *   vigil rules test DIR [--rules PATH ...] [--input evtx|json|both] [--format text|json]
 *       a regression suite in SigmaHQ's layout (info.yml files under DIR naming the
 *       rule id, the sample files and the expected match_count): every sample
 *       must fire its rule that many times (at least once when no count is
 *       given), with every rule of the rule paths loaded together
 */
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "../core/vg_time.h"
#include "../ingest/vg_ingest.h"
#include "cli_detect.h"
#include "cli_int.h"

#define RULES_MAX_TESTS 100000
#define RULES_MAX_DEPTH 32

typedef struct rules_settings {
    cli_rule_settings r;
    const char *format;
    const char *input;
} rules_settings;

#define OFF(f) offsetof(rules_settings, f)
static const vg_cfg_def rules_defs[] = {
    CLI_RULE_DEFS(rules_settings, r),
    { "format", VG_CFG_STRING, "text", 0, 0, false, OFF(format), "output: text or json" },
    { "input", VG_CFG_STRING, "both", 0, 0, false, OFF(input),
      "rules test: which samples to run: evtx, json or both" },
};
#undef OFF

static const vg_cfg_spec rules_spec = {
    "vigil rules", "check, list and test Sigma rules",
    "vigil rules check|list|test [--rules PATH ...] [--format text|json] [ARGS]",
    rules_defs, sizeof rules_defs / sizeof rules_defs[0],
};

static void json_str(FILE *f, vg_str s)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_put_json_str(&b, s);
    fwrite(b.p ? b.p : "\"\"", 1, b.p ? b.n : 2, f);
    vg_buf_free(&b);
}

/* ---- check ---- */

static int rules_check(const rules_settings *s, vg_detect *det, double ms)
{
    const vg_detect_report *r = vg_detect_get_report(det);
    if (!strcmp(s->format, "json")) {
        vg_buf o;
        vg_buf_init(&o, 0);
        vg_buf_printf(&o, "{\"total\":%u,\"compiled\":%u,\"failed\":", r->total, r->compiled);
        vg_detect_failures_json(r, &o);
        fwrite(o.p ? o.p : "", 1, o.n, stdout);
        vg_buf_free(&o);
        printf(",\"files\":%u,\"enabled\":%u,\"unrouted\":%u,\"correlations\":%u,\"filters\":%u,"
               "\"patterns\":%u,\"databases\":%u,\"backend\":\"%s\",\"build_ms\":%.0f}\n",
               r->files, r->enabled, r->unrouted, r->correlations, r->filters, r->patterns,
               r->databases, vg_detect_backend(det), ms);
    } else {
        for (uint32_t i = 0; i < r->nfailures; i++)
            printf("FAILED %.*s: %.*s\n", (int)r->failures[i].file.n, r->failures[i].file.p,
                   (int)r->failures[i].reason.n, r->failures[i].reason.p);
        printf("%u rule files, %u rules: %u compiled (%.2f%%), %u failed; %u enabled; %u with a "
               "logsource no Vigil source reaches yet; %u correlations, %u filters; %u patterns in "
               "%u %s databases; built in %.0f ms\n",
               r->files, r->total, r->compiled, r->total ? 100.0 * r->compiled / r->total : 100.0,
               r->total - r->compiled, r->enabled, r->unrouted, r->correlations, r->filters,
               r->patterns, r->databases, vg_detect_backend(det), ms);
    }
    return r->nfailures ? CLI_REJECTED : CLI_OK;
}

/* ---- list ---- */

static int rules_list(const rules_settings *s, vg_detect *det)
{
    bool json = !strcmp(s->format, "json");
    for (uint32_t i = 0; i < vg_detect_nrules(det); i++) {
        const vg_detect_rule *dr = vg_detect_rule_at(det, i);
        const sg_rule *r = dr->sg;
        const char *kind = r->kind == SG_KIND_CORRELATION ? "correlation"
                         : r->kind == SG_KIND_FILTER ? "filter" : "rule";
        if (json) {
            vg_buf o;
            vg_buf_init(&o, 0);
            vg_detect_rule_json(dr, &o);
            vg_buf_putc(&o, '\n');
            fwrite(o.p ? o.p : "", 1, o.n, stdout);
            vg_buf_free(&o);
        } else {
            printf("%-36.*s %-8s %-12s %-8s %-3s %.*s\n", (int)r->id.n, r->id.p ? r->id.p : "",
                   sg_level_name(r->level), sg_status_name(r->status),
                   dr->enabled ? (dr->routed ? "on" : "no-src") : "off",
                   r->kind == SG_KIND_RULE ? "" : kind, (int)r->title.n, r->title.p);
        }
    }
    return CLI_OK;
}

/* ---- test ---- */

typedef struct reg_test {
    char *info;         /* info.yml path */
    char *rule_id;
    char *sample;       /* evtx path (the json one is next to it) */
    long expect;        /* -1: at least one */
} reg_test;

typedef struct reg_list {
    reg_test *t;
    size_t n, cap;
    size_t skipped;     /* info.yml files without EVTX samples */
} reg_list;

static const yaml_node_t *ymap_get(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static const char *yscalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Reads one info.yml into tests (one per regression_tests_info entry). */
static void read_info(const char *dir, const char *path, reg_list *L, int *bad)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "vigil rules test: %s: cannot open\n", path);
        (*bad)++;
        return;
    }
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    if (!yaml_parser_load(&p, &doc)) {
        fprintf(stderr, "vigil rules test: %s: line %zu: %s\n", path, p.problem_mark.line + 1,
                p.problem ? p.problem : "invalid YAML");
        (*bad)++;
        yaml_parser_delete(&p);
        fclose(f);
        return;
    }
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    const yaml_node_t *meta = ymap_get(&doc, root, "rule_metadata");
    const yaml_node_t *info = ymap_get(&doc, root, "regression_tests_info");
    const char *id = NULL;
    if (meta && meta->type == YAML_SEQUENCE_NODE && meta->data.sequence.items.top > meta->data.sequence.items.start)
        id = yscalar(ymap_get(&doc, yaml_document_get_node(&doc, *meta->data.sequence.items.start), "id"));
    if (!id) {
        fprintf(stderr, "vigil rules test: %s: expected rule_metadata[0].id\n", path);
        (*bad)++;
    } else if (!info || info->type != YAML_SEQUENCE_NODE) {
        L->skipped++;   /* no samples (SigmaHQ comments out the ones it cannot run) */
    } else {
        for (yaml_node_item_t *it = info->data.sequence.items.start; it < info->data.sequence.items.top; it++) {
            const yaml_node_t *t = yaml_document_get_node(&doc, *it);
            const char *type = yscalar(ymap_get(&doc, t, "type"));
            const char *sp = yscalar(ymap_get(&doc, t, "path"));
            const char *mc = yscalar(ymap_get(&doc, t, "match_count"));
            if (!type || strcmp(type, "evtx") != 0 || !sp) {
                L->skipped++;   /* only EVTX samples (with their JSON dumps) are run */
                continue;
            }
            if (L->n == L->cap) {
                size_t nc = L->cap ? L->cap * 2 : 256;
                reg_test *nt = realloc(L->t, nc * sizeof *nt);
                if (!nt)
                    break;
                L->t = nt;
                L->cap = nc;
            }
            const char *base = strrchr(sp, '/');
            reg_test *rt = &L->t[L->n++];
            rt->info = strdup(path);
            rt->rule_id = strdup(id);
            rt->sample = join(dir, base ? base + 1 : sp);
            rt->expect = mc ? strtol(mc, NULL, 10) : -1;
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    fclose(f);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void walk(const char *dir, reg_list *L, int *bad, int depth)
{
    if (depth > RULES_MAX_DEPTH || L->n >= RULES_MAX_TESTS)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *p = join(dir, names[i]);
        struct stat st;
        if (p && stat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                walk(p, L, bad, depth + 1);
            else if (!strcmp(names[i], "info.yml"))
                read_info(dir, p, L, bad);
        }
        free(p);
        free(names[i]);
    }
    free(names);
}

typedef struct count_ctx {
    const char *id;
    long n;
    uint64_t rows;
} count_ctx;

static void on_match(void *ctx, const vg_detect_rule *r, const vg_batch *b, uint32_t row)
{
    count_ctx *c = ctx;
    if (vg_str_eqc(r->sg->id, c->id))
        c->n++;
}

typedef struct scan_ctx {
    vg_detect_scanner *sc;
    count_ctx *cc;
} scan_ctx;

static vg_err on_batch(void *ctx, vg_batch *b, vg_diag *d)
{
    scan_ctx *s = ctx;
    s->cc->rows += b->nrows;
    return vg_detect_scan(s->sc, b, on_match, s->cc, d);
}

/* Runs one sample file; *count the rule's matches. */
static vg_err run_sample(vg_detect_scanner *sc, const char *path, vg_format fmt, count_ctx *cc,
                         vg_diag *d)
{
    cli_input in;
    vg_err e = cli_input_open(&in, path, d);
    if (e)
        return e;
    vg_batchset set;
    scan_ctx s = { sc, cc };
    vg_ingest_opts o = { fmt, NULL, true, false };
    vg_ingest_result res = { 0 };
    e = vg_batchset_init(&set, VG_BATCH_ROWS, on_batch, &s);
    if (!e) {
        e = vg_ingest_buffer(&set, &o, in.data, NULL, NULL, &res, d);
        if (!e)
            e = vg_batchset_flush(&set, d);
        vg_batchset_free(&set);
        if (!e && res.rejected)
            e = vg_diag_set(d, VG_EPARSE, "%llu of %llu records could not be decoded",
                            (unsigned long long)res.rejected, (unsigned long long)res.records);
    }
    cli_input_close(&in);
    return e;
}

/* Why a rule cannot have fired, when the build knows. */
static void why_not(vg_detect *det, const char *id, vg_buf *o)
{
    const vg_detect_rule *r = vg_detect_find(det, vg_str_c(id));
    if (!r) {
        vg_buf_puts(o, "; the rule is not among the loaded rules");
        return;
    }
    const vg_detect_report *rep = vg_detect_get_report(det);
    for (uint32_t i = 0; i < rep->nfailures; i++)
        if (vg_str_eq(rep->failures[i].file, r->sg->file)) {
            vg_buf_printf(o, "; the rule failed to compile: %.*s", (int)rep->failures[i].reason.n,
                          rep->failures[i].reason.p);
            return;
        }
    if (!r->enabled)
        vg_buf_puts(o, "; the rule is disabled");
    else if (!r->routed)
        vg_buf_printf(o, "; no route for its logsource (category %s, product %s, service %s)",
                      r->sg->logsource.category.p ? r->sg->logsource.category.p : "-",
                      r->sg->logsource.product.p ? r->sg->logsource.product.p : "-",
                      r->sg->logsource.service.p ? r->sg->logsource.service.p : "-");
}

static int rules_test(const rules_settings *s, vg_detect *det, const char *dir)
{
    reg_list L = { 0 };
    int bad = 0;
    walk(dir, &L, &bad, 0);
    if (L.n == 0) {
        cli_err("rules", "test: no info.yml with EVTX samples under %s", dir);
        return CLI_ERR;
    }
    vg_detect_scanner *sc;
    vg_diag d;
    vg_diag_clear(&d);
    if (vg_detect_scanner_new(det, &sc, &d)) {
        cli_err("rules", "%s", d.msg);
        return CLI_ERR;
    }
    bool json = !strcmp(s->format, "json");
    size_t passed = 0, failed = 0, extra = 0;
    uint64_t rows = 0;
    for (size_t i = 0; i < L.n; i++) {
        reg_test *t = &L.t[i];
        for (int k = 0; k < 2; k++) {
            const char *kind = k == 0 ? "evtx" : "json";
            if (strcmp(s->input, "both") && strcmp(s->input, kind))
                continue;
            char *path = strdup(t->sample);
            size_t pl = path ? strlen(path) : 0;
            if (k == 1 && pl > 5)
                memcpy(path + pl - 4, "json", 4);   /* .evtx -> .json (same length) */
            count_ctx cc = { t->rule_id, 0, 0 };
            vg_diag_clear(&d);
            vg_err e = run_sample(sc, path, k == 0 ? VG_FMT_EVTX : VG_FMT_AUTO, &cc, &d);
            rows += cc.rows;
            /* match_count is a floor, as in SigmaHQ's own runner: fewer
             * matches fail, more are reported (the sample has more events
             * the rule rightly matches than info.yml counts) */
            bool ok = !e && (t->expect < 0 ? cc.n > 0 : cc.n >= t->expect);
            bool more = ok && t->expect >= 0 && cc.n > t->expect;
            if (more)
                extra++;
            vg_buf why;
            vg_buf_init(&why, 0);
            if (e)
                vg_buf_printf(&why, "cannot read the sample: %s", d.msg);
            else if (!ok) {
                if (t->expect < 0)
                    vg_buf_printf(&why, "expected at least 1 match, got 0");
                else
                    vg_buf_printf(&why, "expected %ld matches, got %ld", t->expect, cc.n);
                vg_buf_printf(&why, " over %llu events", (unsigned long long)cc.rows);
                if (cc.n == 0)
                    why_not(det, t->rule_id, &why);
            }
            if (ok)
                passed++;
            else
                failed++;
            if (json) {
                printf("{\"rule\":\"%s\",\"sample\":", t->rule_id);
                json_str(stdout, vg_str_c(path));
                printf(",\"input\":\"%s\",\"expected\":%ld,\"matches\":%ld,\"passed\":%s", kind,
                       t->expect, cc.n, ok ? "true" : "false");
                if (!ok) {
                    printf(",\"reason\":");
                    json_str(stdout, vg_str_make(why.p ? why.p : "", why.n));
                }
                printf("}\n");
            } else if (!ok) {
                printf("FAIL %s [%s] rule %s: %.*s\n", path, kind, t->rule_id, (int)why.n,
                       why.p ? why.p : "");
            } else if (more) {
                printf("note %s [%s] rule %s: %ld matches, info.yml says %ld\n", path, kind,
                       t->rule_id, cc.n, t->expect);
            }
            vg_buf_free(&why);
            free(path);
        }
    }
    if (!json)
        printf("%zu passed, %zu failed of %zu samples (%zu rules, %llu events; %zu with more "
               "matches than match_count; %zu info.yml entries without EVTX samples skipped)%s\n",
               passed, failed, passed + failed, L.n, (unsigned long long)rows, extra, L.skipped,
               bad ? "; some info.yml files could not be read" : "");
    for (size_t i = 0; i < L.n; i++) {
        free(L.t[i].info);
        free(L.t[i].rule_id);
        free(L.t[i].sample);
    }
    free(L.t);
    vg_detect_scanner_free(sc);
    return failed || bad ? CLI_ERR : CLI_OK;
}

int cmd_rules(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "check") && strcmp(argv[1], "list") && strcmp(argv[1], "test") &&
                     strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))) {
        cli_err("rules", "expected check, list or test (usage: %s)", rules_spec.usage);
        return CLI_USAGE;
    }
    const char *sub = argv[1];
    bool help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
    rules_settings s;
    vg_cfg_args args;
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    /* `vigil rules --help` and `vigil rules SUB --help` print the same help */
    int rc = help ? cli_parse(&rules_spec, argc, argv, &s, &args, &a)
                  : cli_parse(&rules_spec, argc - 1, argv + 1, &s, &args, &a);
    if (rc < 0 && help)
        rc = CLI_OK;
    if (rc >= 0)
        goto done;
    rc = CLI_USAGE;
    if (strcmp(s.format, "text") && strcmp(s.format, "json")) {
        cli_err("rules", "--format: expected text or json, got '%s'", s.format);
        goto done;
    }
    if (strcmp(s.input, "evtx") && strcmp(s.input, "json") && strcmp(s.input, "both")) {
        cli_err("rules", "--input: expected evtx, json or both, got '%s'", s.input);
        goto done;
    }
    const char *test_dir = NULL;
    if (!strcmp(sub, "test")) {
        if (args.npos != 1) {
            cli_err("rules", "test: give one regression directory (with info.yml files)");
            goto done;
        }
        test_dir = args.pos[0];
    } else {
        /* positionals of check and list are rule paths too */
        for (int i = 0; i < args.npos && s.r.rules.n < VG_CFG_LIST_MAX; i++)
            s.r.rules.v[s.r.rules.n++] = args.pos[i];
    }
    bool quiet = !strcmp(sub, "check");
    vg_detect *det = NULL;
    uint64_t t0 = vg_mono_ns();
    rc = cli_rules_build(&s.r, "rules", quiet, &det);
    if (rc != CLI_OK)
        goto done;
    double ms = (double)(vg_mono_ns() - t0) / 1e6;
    if (!strcmp(sub, "check"))
        rc = rules_check(&s, det, ms);
    else if (!strcmp(sub, "list"))
        rc = rules_list(&s, det);
    else
        rc = rules_test(&s, det, test_dir);
    vg_detect_release(det);
done:
    vg_arena_free(&a);
    return rc;
}
