/*
 * cmd_incidents_util.c - what the incidents, alerts, detections and
 * suppressions commands share (cmd_incidents_int.h): the subcommand
 * dispatcher and connection checks, requests with the server's errors
 * turned into messages, argument checks, aligned tables, and list calls
 * that follow "@odata.nextLink".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_incidents_int.h"

static void group_usage(const char *group, const char *summary, const ic_sub *subs, size_t n,
                        FILE *f)
{
    fprintf(f, "vigil %s - %s\n\nUsage: vigil %s SUBCOMMAND [OPTIONS] [ARGS]\n"
               "       vigil %s SUBCOMMAND --help\n\nSubcommands:\n",
            group, summary, group, group);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-8s %s\n", subs[i].name, subs[i].spec->summary);
    fputs("\nConnection: --server URL --token T (or VIGIL_SERVER, VIGIL_TOKEN); https servers are\n"
          "verified against the system's CA store or --cacert FILE.\n"
          "Exit status: 0 ok, 1 the server refused or could not be reached, 2 usage error.\n",
          f);
}

int ic_dispatch(const char *group, const char *summary, const ic_sub *subs, size_t nsubs, int argc,
                char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        group_usage(group, summary, subs, nsubs, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const ic_sub *sub = NULL;
    for (size_t i = 0; i < nsubs; i++)
        if (!strcmp(subs[i].name, argv[1]))
            sub = &subs[i];
    if (!sub) {
        fprintf(stderr, "vigil %s: unknown subcommand '%s'\n\n", group, argv[1]);
        group_usage(group, summary, subs, nsubs, stderr);
        return CLI_USAGE;
    }
    ic_ctx c;
    memset(&c, 0, sizeof c);
    /* fields a subcommand's table does not list read as "" */
    const char **strs[] = { &c.s.server, &c.s.token, &c.s.cacert, &c.s.format, &c.s.filter,
                            &c.s.status, &c.s.severity, &c.s.assigned_to, &c.s.orderby,
                            &c.s.classification, &c.s.determination, &c.s.assign, &c.s.name,
                            &c.s.comment, &c.s.if_match, &c.s.description, &c.s.query,
                            &c.s.query_file, &c.s.period, &c.s.title, &c.s.category,
                            &c.s.actions, &c.s.rule, &c.s.action };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        *strs[i] = "";
    snprintf(c.name, sizeof c.name, "%s %s", group, sub->name);
    c.cmd = c.name;
    vg_arena_init(&c.a, 0, 0);
    vg_arena_init(&c.ans, 0, 0);
    vg_buf_init(&c.answer, CLI_API_MAX_ANSWER);
    vg_buf_init(&c.etag, 0);
    int rc = cli_parse(sub->spec, argc - 1, argv + 1, &c.s, &c.args, &c.a);
    if (rc >= 0)
        goto out;
    rc = CLI_USAGE;
    if (!strcmp(c.s.format, "json"))
        c.json = true;
    else if (strcmp(c.s.format, "table")) {
        ic_err(&c, "--format: expected table or json, got '%s'", c.s.format);
        goto out;
    }
    cli_api_opts o = { c.s.server, c.s.token, c.s.cacert, (long)c.s.timeout };
    if (!o.server[0])
        o.server = getenv("VIGIL_SERVER");
    if (!o.server || !o.server[0]) {
        ic_err(&c, "needs --server URL (or VIGIL_SERVER in the environment)");
        goto out;
    }
    if (!o.token[0])
        o.token = getenv("VIGIL_TOKEN");
    vg_diag d;
    vg_diag_clear(&d);
    if (cli_api_open(&o, &c.api, &d)) {
        ic_err(&c, "%s", d.msg);
        goto out;
    }
    rc = sub->fn(&c);
out:
    cli_api_close(c.api);
    vg_buf_free(&c.answer);
    vg_buf_free(&c.etag);
    vg_arena_free(&c.ans);
    vg_arena_free(&c.a);
    return rc;
}

void ic_err(const ic_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vigil %s: ", c->cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- requests ---- */

int ic_request(ic_ctx *c, const char *method, const char *path, const vg_buf *body,
               const char *if_match)
{
    vg_diag d;
    vg_diag_clear(&d);
    if (cli_api_call(c->api, method, path, body, if_match, &c->status, &c->answer, &c->etag, &d)) {
        ic_err(c, "%s", d.msg);
        return CLI_ERR;
    }
    return CLI_OK;
}

int ic_parse_answer(ic_ctx *c, const vg_json **out)
{
    vg_diag d;
    vg_diag_clear(&d);
    /* the DOM may point into its text: keep a copy beside it */
    vg_str text = vg_str_dup(&c->ans, vg_str_make(c->answer.p ? c->answer.p : "", c->answer.n));
    vg_json *j = NULL;
    if (!text.p || vg_json_parse(&c->ans, text, &j, &d)) {
        ic_err(c, "the server's answer is not JSON (%s): %.*s", d.msg[0] ? d.msg : "out of memory",
               (int)(c->answer.n > 300 ? 300 : c->answer.n), c->answer.p ? c->answer.p : "");
        return CLI_ERR;
    }
    *out = j;
    return CLI_OK;
}

void ic_print_server_error(ic_ctx *c, const char *what)
{
    vg_str msg = vg_str_make(c->answer.p ? c->answer.p : "", c->answer.n);
    vg_json *j = NULL;
    vg_str text = vg_str_dup(&c->ans, msg);
    if (text.p && vg_json_parse(&c->ans, text, &j, NULL) == VG_OK && j->kind == VG_JSON_OBJECT) {
        const vg_json *e = vg_json_get(j, "error");
        /* {"error":"..."}, or Graph's {"error":{"code","message"}} */
        if (e && e->kind == VG_JSON_OBJECT)
            e = vg_json_get(e, "message");
        if (e && e->kind == VG_JSON_STRING)
            msg = e->str;
    }
    msg = vg_str_trim(msg);
    if (msg.n > 2000)
        msg.n = 2000;
    const char *hint = c->status == 401 ? " (is the token right?)"
                       : c->status == 403 ? " (the token's role does not allow this)"
                                          : "";
    ic_err(c, "%s: the server answered %ld: %.*s%s", what, c->status, VG_STR_FMT(msg), hint);
}

int ic_call(ic_ctx *c, const char *method, const char *path, const vg_buf *body,
            const char *if_match, const vg_json **out)
{
    int rc = ic_request(c, method, path, body, if_match);
    if (rc)
        return rc;
    if (c->status < 200 || c->status > 299) {
        char what[300];
        size_t pl = strcspn(path, "?");
        snprintf(what, sizeof what, "%s %.*s", method, (int)(pl > 200 ? 200 : pl), path);
        ic_print_server_error(c, what);
        return CLI_ERR;
    }
    return out ? ic_parse_answer(c, out) : CLI_OK;
}

int64_t ic_etag_version(const vg_json *obj, const vg_buf *header)
{
    vg_str t = VG_STR_NULL;
    const vg_json *e = obj ? vg_json_get(obj, "@odata.etag") : NULL;
    if (e && e->kind == VG_JSON_STRING)
        t = e->str;
    else if (header && header->n)
        t = vg_str_make(header->p, header->n);
    if (t.n >= 2 && (t.p[0] == 'W' || t.p[0] == 'w') && t.p[1] == '/') {
        t.p += 2;
        t.n -= 2;
    }
    if (t.n >= 2 && t.p[0] == '"' && t.p[t.n - 1] == '"') {
        t.p++;
        t.n -= 2;
    }
    int64_t v;
    return t.n && vg_str_to_i64(t, &v) == VG_OK && v >= 0 ? v : -1;
}

/* ---- validation ---- */

bool ic_check_enum(const ic_ctx *c, const char *opt, const char *v, const char *const *vals,
                   const char **canon)
{
    for (size_t i = 0; vals[i]; i++)
        if (vg_str_eqc_ci(vg_str_c(v), vals[i])) {
            *canon = vals[i];
            return true;
        }
    char list[1024];
    size_t k = 0;
    for (size_t i = 0; vals[i] && k < sizeof list; i++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", vals[i]);
    ic_err(c, "%s: '%s' is not one of %s", opt, v, list);
    return false;
}

bool ic_check_text(const ic_ctx *c, const char *opt, const char *v, size_t max, bool allow_empty)
{
    size_t n = strlen(v);
    if (!n && !allow_empty) {
        ic_err(c, "%s: must not be empty", opt);
        return false;
    }
    if (n > max) {
        ic_err(c, "%s: %zu bytes, at most %zu are allowed", opt, n, max);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if ((ch < ' ' && ch != '\n' && ch != '\t') || ch == 0x7f) {
            ic_err(c, "%s: control character 0x%02x at byte %zu", opt, ch, i + 1);
            return false;
        }
    }
    return true;
}

bool ic_check_num_id(const ic_ctx *c, const char *what, const char *v)
{
    int64_t id;
    if (vg_str_to_i64(vg_str_c(v), &id) != VG_OK || id <= 0) {
        ic_err(c, "%s: expected a positive number, got '%s'", what, v);
        return false;
    }
    return true;
}

bool ic_check_npos(const ic_ctx *c, int n, const char *usage)
{
    if (c->args.npos == n)
        return true;
    ic_err(c, "%s (see vigil %s --help)", usage, c->cmd);
    return false;
}

bool ic_read_file(const ic_ctx *c, const char *opt, const char *path, size_t max, vg_buf *b)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        ic_err(c, "%s: cannot open %s: %s", opt, path, strerror(errno));
        return false;
    }
    char buf[65536];
    size_t n;
    bool ok = true;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (b->n + n > max) {
            ic_err(c, "%s: %s is larger than %zu bytes", opt, path, max);
            ok = false;
            break;
        }
        vg_buf_put(b, buf, n);
    }
    if (ok && ferror(f)) {
        ic_err(c, "%s: cannot read %s: %s", opt, path, strerror(errno));
        ok = false;
    }
    if (f != stdin)
        fclose(f);
    return ok;
}

/* ---- output ---- */

void ic_print_json(vg_str text)
{
    fwrite(text.p, 1, text.n, stdout);
    if (!text.n || text.p[text.n - 1] != '\n')
        fputc('\n', stdout);
}

vg_str ic_get(const vg_json *obj, const char *key)
{
    const vg_json *v = obj ? vg_json_get(obj, key) : NULL;
    if (!v || v->kind == VG_JSON_OBJECT || v->kind == VG_JSON_ARRAY)
        return vg_str_make("", 0);
    return vg_json_text(v);
}

vg_str ic_join(ic_ctx *c, const vg_json *obj, const char *key)
{
    const vg_json *v = obj ? vg_json_get(obj, key) : NULL;
    if (!v || v->kind != VG_JSON_ARRAY)
        return ic_get(obj, key);
    vg_buf b;
    vg_buf_init(&b, 0);
    for (uint32_t i = 0; i < v->n; i++) {
        if (i)
            vg_buf_puts(&b, ", ");
        const vg_json *k = v->kids[i];
        if (k->kind == VG_JSON_OBJECT || k->kind == VG_JSON_ARRAY)
            vg_json_write(&b, k);
        else
            vg_buf_putstr(&b, vg_json_text(k));
    }
    vg_str r = vg_str_dup(&c->ans, vg_str_make(b.p ? b.p : "", b.n));
    vg_buf_free(&b);
    return r.p ? r : vg_str_make("", 0);
}

void ic_table_init(ic_table *t, const char *const *head, size_t ncols, size_t max_width, vg_arena *a)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->head = head;
    t->max_width = max_width;
    t->width = vg_arena_zalloc(a, ncols * sizeof *t->width);
    for (size_t i = 0; t->width && i < ncols; i++)
        t->width[i] = strlen(head[i]);
    vg_buf_init(&t->cells, 0);
}

/* Display width of UTF-8 text: code points, not bytes. */
static size_t text_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

void ic_table_row(ic_table *t, const vg_str *cells)
{
    if (!t->width)
        return;
    for (size_t i = 0; i < t->ncols; i++) {
        vg_str v = cells[i];
        size_t n = v.n;
        bool cut = false;
        if (i > 0 && i + 1 < t->ncols && text_width(v.p, v.n) > t->max_width) {
            /* keep max_width - 1 code points and mark the cut with '~' */
            size_t w = 0;
            for (n = 0; n < v.n; n++) {
                if (((unsigned char)v.p[n] & 0xC0) != 0x80 && w++ == t->max_width - 1)
                    break;
            }
            cut = true;
        }
        size_t start = t->cells.n;
        /* one line per row: newlines and tabs become spaces */
        for (size_t k = 0; k < n; k++)
            vg_buf_putc(&t->cells, (unsigned char)v.p[k] < ' ' ? ' ' : v.p[k]);
        if (cut)
            vg_buf_putc(&t->cells, '~');
        size_t tw = text_width(t->cells.p + start, t->cells.n - start);
        if (tw > t->width[i])
            t->width[i] = tw;
        vg_buf_putc(&t->cells, '\0');
    }
    t->nrows++;
}

void ic_table_print(ic_table *t)
{
    if (!t->width)
        return;
    for (size_t i = 0; i < t->ncols; i++)
        if (i + 1 < t->ncols)
            printf("%-*s  ", (int)t->width[i], t->head[i]);
        else
            printf("%s\n", t->head[i]);
    const char *p = t->cells.p;
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++) {
            size_t n = strlen(p);
            fputs(p, stdout);
            if (i + 1 < t->ncols)
                printf("%*s", (int)(t->width[i] - text_width(p, n) + 2), "");
            p += n + 1;
        }
        fputc('\n', stdout);
    }
}

void ic_table_free(ic_table *t) { vg_buf_free(&t->cells); }

void ic_print_fields(const vg_json *obj, const char *indent)
{
    if (!obj || obj->kind != VG_JSON_OBJECT)
        return;
    for (uint32_t i = 0; i < obj->n; i++) {
        const vg_json *k = obj->kids[i];
        if (k->kind == VG_JSON_OBJECT || k->kind == VG_JSON_ARRAY) {
            vg_buf b;
            vg_buf_init(&b, 0);
            vg_json_write(&b, k);
            printf("%s%.*s: %.*s\n", indent, VG_STR_FMT(k->key), (int)b.n, b.p ? b.p : "");
            vg_buf_free(&b);
        } else {
            vg_str v = vg_json_text(k);
            printf("%s%.*s: %.*s\n", indent, VG_STR_FMT(k->key), VG_STR_FMT(v));
        }
    }
}

int ic_list(ic_ctx *c, const char *path, bool all, ic_table *t, ic_row_fn row)
{
    vg_buf p, collected, count;
    vg_buf_init(&p, 0);
    vg_buf_init(&collected, CLI_API_MAX_ANSWER);
    vg_buf_init(&count, 0);
    vg_buf_puts(&p, path);
    vg_buf_cstr(&p);
    vg_buf_puts(&collected, "{\"value\":[");
    uint64_t items = 0;
    bool more = false;
    int rc = CLI_ERR;
    for (uint32_t page = 0;; page++) {
        if (page >= IC_MAX_PAGES) {
            ic_err(c, "--all: stopped after %u pages", IC_MAX_PAGES);
            goto out;
        }
        vg_arena_reset(&c->ans);
        const vg_json *doc;
        if ((rc = ic_call(c, "GET", p.p, NULL, NULL, &doc)))
            goto out;
        rc = CLI_ERR;
        const vg_json *v = doc->kind == VG_JSON_OBJECT ? vg_json_get(doc, "value") : NULL;
        if (!v || v->kind != VG_JSON_ARRAY) {
            ic_err(c, "the server's answer has no \"value\" list: %.*s",
                   (int)(c->answer.n > 300 ? 300 : c->answer.n), c->answer.p);
            goto out;
        }
        if (page == 0) {
            const vg_json *n = vg_json_get(doc, "@odata.count");
            if (n && n->kind == VG_JSON_NUMBER)
                vg_buf_putstr(&count, n->str);
        }
        const vg_json *next = vg_json_get(doc, "@odata.nextLink");
        more = next && next->kind == VG_JSON_STRING && next->str.n;
        if (c->json && !all) {
            ic_print_json(vg_str_make(c->answer.p, c->answer.n));
            rc = CLI_OK;
            goto out;
        }
        for (uint32_t i = 0; i < v->n; i++) {
            if (c->json) {
                if (items)
                    vg_buf_putc(&collected, ',');
                vg_json_write(&collected, v->kids[i]);
            } else if (v->kids[i]->kind == VG_JSON_OBJECT) {
                row(c, t, v->kids[i]);
            }
            items++;
        }
        if (collected.failed) {
            ic_err(c, "--all: the results are larger than %u MiB; use --filter or --top",
                   CLI_API_MAX_ANSWER >> 20);
            goto out;
        }
        if (!all || !more)
            break;
        vg_diag d;
        vg_diag_clear(&d);
        if (cli_api_next_path(c->api, next->str, &p, &d)) {
            ic_err(c, "%s", d.msg);
            goto out;
        }
    }
    if (c->json) {
        vg_buf_puts(&collected, "]");
        if (count.n) {
            vg_buf_puts(&collected, ",\"@odata.count\":");
            vg_buf_put(&collected, count.p, count.n);
        }
        vg_buf_puts(&collected, "}");
        ic_print_json(vg_str_make(collected.p, collected.n));
    } else {
        ic_table_print(t);
        if (count.n)
            printf("(%llu shown of %.*s)\n", (unsigned long long)items, (int)count.n, count.p);
        if (more && !all)
            fprintf(stderr, "vigil %s: more results: add --all, or --skip %llu\n", c->cmd,
                    (unsigned long long)(c->s.skip + (int64_t)items));
    }
    rc = CLI_OK;
out:
    vg_buf_free(&p);
    vg_buf_free(&collected);
    vg_buf_free(&count);
    return rc;
}
