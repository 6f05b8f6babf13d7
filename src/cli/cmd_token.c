/*
 * cmd_token.c - `vigil token`: create, list and revoke API tokens, either
 * through a server's token API (admin token needed) or offline, directly in
 * a data directory's state.db (vigild may be running: SQLite serialises the
 * writers, and vigild sees a revocation before its next request).
 *
 *   vigil token create --name N --role R   [--server URL --token T | --data DIR]
 *   vigil token list                       [...]
 *   vigil token revoke ID                  [...]
 *
 * --server/--token default to $VIGIL_SERVER/$VIGIL_TOKEN. Output is a table,
 * or with --format json one JSON object per token (the API's form). The
 * secret of a new token is printed once and is not kept anywhere.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/vg_json.h"
#include "../core/vg_time.h"
#include "../state/vg_state.h"
#include "../state/vg_tokens.h"
#include "cli_api.h"
#include "cli_int.h"

typedef struct token_settings {
    const char *server;
    const char *token;
    const char *cacert;
    const char *data;
    const char *name;
    const char *role;
    const char *format;
    int64_t timeout;
} token_settings;

#define OFF(f) offsetof(token_settings, f)
static const vg_cfg_def token_defs[] = {
    { "server", VG_CFG_STRING, "", 0, 0, false, OFF(server),
      "manage the tokens of a vigild at this URL (http(s)://host:port); default $VIGIL_SERVER" },
    { "token", VG_CFG_STRING, "", 0, 0, false, OFF(token),
      "admin bearer token for --server; default $VIGIL_TOKEN" },
    { "cacert", VG_CFG_STRING, "", 0, 0, false, OFF(cacert),
      "PEM CA bundle to verify an https:// server with (default: the system's)" },
    { "data", VG_CFG_STRING, "", 0, 0, false, OFF(data),
      "manage the tokens of this data directory directly in its state.db (offline; no server "
      "or token needed)" },
    { "name", VG_CFG_STRING, "", 0, 0, false, OFF(name),
      "create: the token's name (1-64 printable characters), e.g. the agent or person using it" },
    { "role", VG_CFG_STRING, "", 0, 0, false, OFF(role),
      "create: admin, ingest, viewer, analyst or responder" },
    { "format", VG_CFG_STRING, "table", 0, 0, false, OFF(format),
      "output: table, or json (one object per token)" },
    { "timeout", VG_CFG_DURATION, "30s", 1, 3600, false, OFF(timeout),
      "--server: give up on a request after this long" },
};
#undef OFF

static const vg_cfg_spec token_spec = {
    "vigil token", "create, list and revoke API tokens (through a server, or offline)",
    "vigil token create --name N --role R | list | revoke ID  "
    "[--server URL --token T | --data DIR] [--format table|json]",
    token_defs, sizeof token_defs / sizeof token_defs[0],
};

#define CMD "token"

/* ---- output ---- */

static void iso_s(int64_t unix_s, char out[32])
{
    if (!unix_s) {
        snprintf(out, 32, "-");
        return;
    }
    vg_state_iso(unix_s * 1000, out);
}

static void print_tokens(const vg_token_info *v, size_t n, bool json, const char *secret)
{
    if (json) {
        vg_buf b;
        vg_buf_init(&b, 0);
        for (size_t i = 0; i < n; i++) {
            vg_buf_clear(&b);
            vg_token_json(&b, &v[i], secret);
            vg_buf_putc(&b, '\n');
            fwrite(b.p, 1, b.n, stdout);
        }
        vg_buf_free(&b);
        return;
    }
    int wid = 2, wname = 4, wrole = 4;
    for (size_t i = 0; i < n; i++) {
        char id[24];
        int k = snprintf(id, sizeof id, "%lld", (long long)v[i].id);
        int nl = (int)strlen(v[i].name), rl = (int)strlen(vg_role_name(v[i].role));
        wid = k > wid ? k : wid;
        wname = nl > wname ? nl : wname;
        wrole = rl > wrole ? rl : wrole;
    }
    printf("%-*s  %-*s  %-*s  %-24s  %s\n", wid, "ID", wname, "NAME", wrole, "ROLE", "CREATED",
           "REVOKED");
    for (size_t i = 0; i < n; i++) {
        char c[32], r[32];
        iso_s(v[i].created, c);
        iso_s(v[i].revoked, r);
        printf("%-*lld  %-*s  %-*s  %-24s  %s\n", wid, (long long)v[i].id, wname, v[i].name,
               wrole, vg_role_name(v[i].role), c, r);
    }
    if (secret)
        printf("\ntoken (shown only now; store it safely): %s\n", secret);
}

/* ---- the server's answers back into vg_token_info ---- */

static vg_err parse_iso_s(const vg_json *v, int64_t *out, vg_diag *d)
{
    *out = 0;
    if (!v || v->kind == VG_JSON_NULL)
        return VG_OK;
    vg_time t;
    if (v->kind != VG_JSON_STRING || vg_time_parse_iso(v->str, &t))
        return vg_diag_set(d, VG_EPARSE, "the server's answer has a bad time");
    *out = t / VG_TICKS_PER_SEC;
    return VG_OK;
}

static vg_err parse_token(const vg_json *o, vg_token_info *t, vg_diag *d)
{
    memset(t, 0, sizeof *t);
    const vg_json *id = vg_json_get(o, "id"), *name = vg_json_get(o, "name"),
                  *role = vg_json_get(o, "role");
    if (o->kind != VG_JSON_OBJECT || !id || !name || !role ||
        vg_str_to_i64(vg_json_text(id), &t->id) || name->kind != VG_JSON_STRING)
        return vg_diag_set(d, VG_EPARSE, "the server's answer is not a token");
    vg_str_copy_c(t->name, sizeof t->name, name->str);
    if (vg_role_parse(vg_json_text(role), &t->role))
        t->role = VG_ROLE_COUNT_;
    vg_err e = parse_iso_s(vg_json_get(o, "created"), &t->created, d);
    if (!e)
        e = parse_iso_s(vg_json_get(o, "revoked"), &t->revoked, d);
    return e;
}

/* ---- the two ways of doing it ---- */

typedef enum { OP_CREATE, OP_LIST, OP_REVOKE } token_op;

typedef struct token_job {
    token_op op;
    const char *name;
    vg_role role;
    int64_t id;
} token_job;

static int run_offline(const token_settings *s, const token_job *j, bool json)
{
    vg_diag d;
    vg_diag_clear(&d);
    vg_auth *a = NULL;
    char *bootstrap = NULL, *secret = NULL;
    vg_token_info *list = NULL, one;
    size_t n = 0;
    int rc = CLI_ERR;
    if (vg_auth_open(s->data, &a, &bootstrap, &d)) {
        cli_err(CMD, "%s", d.msg);
        goto out;
    }
    if (bootstrap)
        fprintf(stderr, "vigil token: %s had no tokens: an admin token was created and written "
                "to %s/admin.token (mode 0600)\n", s->data, s->data);
    vg_err e;
    if (j->op == OP_CREATE)
        e = vg_auth_create(a, j->name, j->role, &secret, &one, &d);
    else if (j->op == OP_REVOKE)
        e = vg_auth_revoke(a, j->id, &one, &d);
    else
        e = vg_auth_list(a, &list, &n, &d);
    if (e) {
        cli_err(CMD, "%s", d.msg);
        goto out;
    }
    if (j->op == OP_LIST)
        print_tokens(list, n, json, NULL);
    else
        print_tokens(&one, 1, json, secret);
    rc = CLI_OK;
out:
    if (secret) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
    if (bootstrap) {
        memset(bootstrap, 0, strlen(bootstrap));
        free(bootstrap);
    }
    free(list);
    vg_auth_close(a);
    return rc;
}

static int run_server(const token_settings *s, const char *server, const char *tok,
                      const token_job *j, bool json)
{
    vg_diag d;
    vg_diag_clear(&d);
    cli_api_opts o = { server, tok, s->cacert, (long)s->timeout };
    cli_api *api = NULL;
    vg_buf body, answer;
    vg_buf_init(&body, 0);
    vg_buf_init(&answer, 0);
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_token_info *list = NULL;
    int rc = CLI_ERR;
    if (cli_api_open(&o, &api, &d)) {
        cli_err(CMD, "%s", d.msg);
        rc = CLI_USAGE;
        goto out;
    }
    char path[64];
    const char *method = "GET";
    long expect = 200;
    snprintf(path, sizeof path, "/api/v1/tokens");
    if (j->op == OP_CREATE) {
        method = "POST";
        expect = 201;
        vg_buf_puts(&body, "{\"name\":");
        vg_buf_put_json_str(&body, vg_str_c(j->name));
        vg_buf_puts(&body, ",\"role\":");
        vg_buf_put_json_str(&body, vg_str_c(vg_role_name(j->role)));
        vg_buf_putc(&body, '}');
    } else if (j->op == OP_REVOKE) {
        method = "DELETE";
        snprintf(path, sizeof path, "/api/v1/tokens/%lld", (long long)j->id);
    }
    long status;
    if (cli_api_call(api, method, path, j->op == OP_CREATE ? &body : NULL, NULL, &status,
                     &answer, NULL, &d)) {
        cli_err(CMD, "%s", d.msg);
        goto out;
    }
    vg_str text = vg_str_make(answer.p ? answer.p : "", answer.n);
    vg_json *root = NULL;
    vg_err pe = vg_json_parse(&ar, text, &root, &d);
    if (status != expect) {
        const vg_json *err = pe ? NULL : vg_json_get(root, "error");
        vg_str msg = err ? vg_json_text(err) : vg_str_trim(text);
        cli_err(CMD, "the server answered %ld: %.*s", status, (int)(msg.n > 2000 ? 2000 : msg.n),
                msg.p);
        goto out;
    }
    if (pe) {
        cli_err(CMD, "the server's answer is not JSON: %s", d.msg);
        goto out;
    }
    if (j->op == OP_LIST) {
        const vg_json *v = vg_json_get(root, "value");
        if (!v || v->kind != VG_JSON_ARRAY) {
            cli_err(CMD, "the server's answer has no \"value\" list");
            goto out;
        }
        list = calloc(v->n ? v->n : 1, sizeof *list);
        if (!list) {
            cli_err(CMD, "out of memory");
            goto out;
        }
        for (uint32_t i = 0; i < v->n; i++)
            if (parse_token(v->kids[i], &list[i], &d)) {
                cli_err(CMD, "%s", d.msg);
                goto out;
            }
        print_tokens(list, v->n, json, NULL);
    } else {
        vg_token_info one;
        if (parse_token(root, &one, &d)) {
            cli_err(CMD, "%s", d.msg);
            goto out;
        }
        const vg_json *secret = vg_json_get(root, "token");
        if (j->op == OP_CREATE && (!secret || secret->kind != VG_JSON_STRING)) {
            cli_err(CMD, "the server created token %lld but sent no secret",
                    (long long)one.id);
            goto out;
        }
        char sec[VG_TOKEN_MAX_SECRET + 1] = "";
        if (j->op == OP_CREATE)
            vg_str_copy_c(sec, sizeof sec, secret->str);
        print_tokens(&one, 1, json, j->op == OP_CREATE ? sec : NULL);
        memset(sec, 0, sizeof sec);
    }
    rc = CLI_OK;
out:
    if (answer.p)
        memset(answer.p, 0, answer.n);   /* it may hold a new secret */
    vg_buf_free(&answer);
    vg_buf_free(&body);
    vg_arena_free(&ar);
    free(list);
    cli_api_close(api);
    return rc;
}

int cmd_token(int argc, char **argv)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    token_settings s;
    vg_cfg_args args;
    token_job j = { OP_LIST, NULL, VG_ROLE_COUNT_, 0 };
    int rc = cli_parse(&token_spec, argc, argv, &s, &args, &a);
    if (rc >= 0)
        goto out;
    rc = CLI_USAGE;
    const char *sub = args.npos ? args.pos[0] : "";
    bool json = strcmp(s.format, "json") == 0;
    if (!json && strcmp(s.format, "table") != 0) {
        cli_err(CMD, "--format: expected table or json, got '%s'", s.format);
        goto out;
    }
    if (!strcmp(sub, "create")) {
        j.op = OP_CREATE;
        vg_diag d;
        if (args.npos != 1) {
            cli_err(CMD, "create takes no argument besides --name N --role R");
            goto out;
        }
        if (vg_token_name_check(vg_str_c(s.name), &d)) {
            cli_err(CMD, "--name: %s", d.msg);
            goto out;
        }
        if (vg_role_parse(vg_str_c(s.role), &j.role)) {
            cli_err(CMD, "--role: expected one of %s, got '%s'", vg_role_list(), s.role);
            goto out;
        }
        j.name = s.name;
    } else if (!strcmp(sub, "list")) {
        if (args.npos != 1) {
            cli_err(CMD, "list takes no argument");
            goto out;
        }
    } else if (!strcmp(sub, "revoke")) {
        j.op = OP_REVOKE;
        if (args.npos != 2 || vg_str_to_i64(vg_str_c(args.pos[1]), &j.id) || j.id <= 0) {
            cli_err(CMD, "revoke takes one token id (a positive integer; see vigil token list)");
            goto out;
        }
    } else {
        cli_err(CMD, "expected create, list or revoke (see vigil token --help)");
        goto out;
    }
    if ((j.op != OP_CREATE) && (s.name[0] || s.role[0])) {
        cli_err(CMD, "--name and --role are for create");
        goto out;
    }
    const char *server = s.server[0] ? s.server : getenv("VIGIL_SERVER");
    const char *tok = s.token[0] ? s.token : getenv("VIGIL_TOKEN");
    if (s.data[0] && s.server[0]) {
        cli_err(CMD, "give either --data DIR (offline) or --server URL, not both");
        goto out;
    }
    if (s.data[0])
        rc = run_offline(&s, &j, json);
    else if (server && server[0])
        rc = run_server(&s, server, tok, &j, json);
    else
        cli_err(CMD, "give --server URL --token T (or VIGIL_SERVER and VIGIL_TOKEN), or "
                "--data DIR to work on a data directory offline");
out:
    vg_arena_free(&a);
    return rc;
}
