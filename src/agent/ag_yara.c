/*
 * ag_yara.c - the RunYaraScan action: compiles the YARA rules the analyst
 * sent (libyara; errors come back with their line numbers) and scans a path
 * recursively: regular files up to AG_YARA_MAX_FILE, symlinks not followed,
 * /proc, /sys and /dev never entered. Each match is a DeviceEvents row with
 * ActionType "YaraScanMatch" (Vigil's own: Defender has no YARA action type)
 * carrying FileName, FolderPath, SHA256 and AdditionalFields {Rule, Namespace,
 * Tags}; the action's result is {"scanned": n, "matches": [...]}.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yara.h>

#include "ag_response_int.h"

#define YARA_FILE_TIMEOUT_SEC 10

typedef struct yscan {
    YR_RULES *rules;
    ag_yara_cb cb;
    void *ctx;
    uint64_t scanned, matches, errors;
    const char *path;         /* the file being scanned */
} yscan;

typedef struct ycompile {
    vg_diag *d;
    int errors;
} ycompile;

static void compile_cb(int level, const char *file, int line, const YR_RULE *rule,
                       const char *message, void *user)
{
    ycompile *c = user;
    if (level != YARA_ERROR_LEVEL_ERROR)
        return;
    if (c->errors++ == 0)
        vg_diag_set(c->d, VG_EPARSE, "YARA rules: line %d: %s", line, message);
}

static int scan_cb(YR_SCAN_CONTEXT *context, int message, void *data, void *user)
{
    yscan *s = user;
    if (message != CALLBACK_MSG_RULE_MATCHING)
        return CALLBACK_CONTINUE;
    if (s->matches >= AG_YARA_MAX_MATCHES)
        return CALLBACK_ABORT;
    const YR_RULE *rule = data;
    ag_yara_match m;
    memset(&m, 0, sizeof m);
    vg_str_copy_c(m.path, sizeof m.path, vg_str_c(s->path));
    vg_str_copy_c(m.rule, sizeof m.rule, vg_str_c(rule->identifier));
    vg_str_copy_c(m.ns, sizeof m.ns, vg_str_c(rule->ns ? rule->ns->name : ""));
    vg_buf tags;
    vg_buf_init(&tags, sizeof m.tags - 1);
    vg_buf_putc(&tags, '[');
    const char *tag;
    int nt = 0;
    yr_rule_tags_foreach(rule, tag)
    {
        if (nt++)
            vg_buf_putc(&tags, ',');
        vg_buf_put_json_str(&tags, vg_str_c(tag));
    }
    vg_buf_putc(&tags, ']');
    vg_str_copy_c(m.tags, sizeof m.tags, tags.failed ? vg_str_c("[]") : vg_str_make(tags.p, tags.n));
    vg_buf_free(&tags);
    s->matches++;
    s->cb(s->ctx, &m);
    return CALLBACK_CONTINUE;
}

static bool refused_dir(const char *path)
{
    static const char *const no[] = { "/proc", "/sys", "/dev" };
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(no[i]);
        if (strncmp(path, no[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
            return true;
    }
    return false;
}

static void scan_one(yscan *s, const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        s->errors++;
        return;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= AG_YARA_MAX_FILE) {
        s->path = path;
        s->scanned++;
        if (yr_rules_scan_fd(s->rules, fd, SCAN_FLAGS_FAST_MODE, scan_cb, s, YARA_FILE_TIMEOUT_SEC) !=
            ERROR_SUCCESS)
            s->errors++;
    }
    close(fd);
}

static void walk(yscan *s, const char *dir, int depth)
{
    if (depth > AG_YARA_MAX_DEPTH || refused_dir(dir))
        return;
    DIR *dh = opendir(dir);
    if (!dh) {
        s->errors++;
        return;
    }
    struct dirent *de;
    while ((de = readdir(dh)) != NULL && s->scanned < AG_YARA_MAX_FILES &&
           s->matches < AG_YARA_MAX_MATCHES) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[PATH_MAX];
        int n = ag_resp_pathf(path, sizeof path, "%s%s%s", dir,
                         dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            walk(s, path, depth + 1);
        else if (S_ISREG(st.st_mode))
            scan_one(s, path);
    }
    closedir(dh);
}

vg_err ag_yara_scan(vg_str rules_text, const char *root, ag_yara_cb cb, void *ctx,
                    uint64_t *scanned, uint64_t *matches, vg_diag *d)
{
    if (rules_text.n == 0)
        return vg_diag_set(d, VG_EINVAL, "RunYaraScan: Rules are empty");
    if (rules_text.n > AG_YARA_RULES_MAX)
        return vg_diag_set(d, VG_ELIMIT, "RunYaraScan: Rules over %u bytes", AG_YARA_RULES_MAX);
    if (!root || root[0] != '/')
        return vg_diag_set(d, VG_EINVAL, "RunYaraScan: Path must be absolute");
    if (refused_dir(root))
        return vg_diag_set(d, VG_EINVAL, "RunYaraScan: %s is under /proc, /sys or /dev", root);
    struct stat st;
    if (lstat(root, &st) != 0)
        return vg_diag_set(d, VG_ENOTFOUND, "RunYaraScan: %s: %s", root, strerror(errno));
    if (yr_initialize() != ERROR_SUCCESS)
        return vg_diag_set(d, VG_EIO, "RunYaraScan: libyara failed to initialize");
    vg_err e = VG_OK;
    YR_COMPILER *comp = NULL;
    yscan s = { .cb = cb, .ctx = ctx };
    char *text = malloc(rules_text.n + 1);
    if (!text || yr_compiler_create(&comp) != ERROR_SUCCESS) {
        e = vg_diag_set(d, VG_ENOMEM, "RunYaraScan: out of memory");
        goto out;
    }
    memcpy(text, rules_text.p, rules_text.n);
    text[rules_text.n] = '\0';
    ycompile cc = { .d = d };
    yr_compiler_set_callback(comp, compile_cb, &cc);
    int nerr = yr_compiler_add_string(comp, text, NULL);
    if (nerr > 0 || cc.errors > 0) {
        e = VG_EPARSE;
        if (cc.errors > 1)
            vg_diag_prefix(d, "%d errors; first: ", cc.errors);
        goto out;
    }
    if (yr_compiler_get_rules(comp, &s.rules) != ERROR_SUCCESS) {
        e = vg_diag_set(d, VG_ENOMEM, "RunYaraScan: cannot build the compiled rules");
        goto out;
    }
    if (S_ISDIR(st.st_mode))
        walk(&s, root, 0);
    else if (S_ISREG(st.st_mode))
        scan_one(&s, root);
    else
        e = vg_diag_set(d, VG_EINVAL, "RunYaraScan: %s is neither a file nor a directory", root);
    *scanned = s.scanned;
    *matches = s.matches;
out:
    if (s.rules)
        yr_rules_destroy(s.rules);
    if (comp)
        yr_compiler_destroy(comp);
    free(text);
    yr_finalize();
    return e;
}

/* ---- the action ---- */

typedef struct yact {
    ag *a;
    vg_buf *list;
    int n;
} yact;

static void act_match(void *ctx, const ag_yara_match *m)
{
    yact *y = ctx;
    char sha1[41] = "", sha256[65] = "";
    int fd = open(m->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        ag_hash_fd(fd, sha1, sha256);
        close(fd);
    }
    vg_str p = vg_str_c(m->path);
    ptrdiff_t slash = vg_str_rchr(p, '/');
    vg_str fname = slash >= 0 ? vg_str_make(m->path + slash + 1, p.n - (size_t)slash - 1) : p;
    vg_buf row;
    vg_buf_init(&row, 1u << 20);
    ag_row_begin(y->a, &row, "DeviceEvents", vg_time_now());
    vg_buf_puts(&row, ",\"ActionType\":\"YaraScanMatch\",\"FileName\":");
    vg_buf_put_json_str(&row, fname);
    vg_buf_puts(&row, ",\"FolderPath\":");
    vg_buf_put_json_str(&row, p);
    vg_buf_printf(&row, ",\"SHA1\":\"%s\",\"SHA256\":\"%s\",\"AdditionalFields\":{\"Rule\":", sha1,
                  sha256);
    vg_buf_put_json_str(&row, vg_str_c(m->rule));
    vg_buf_puts(&row, ",\"Namespace\":");
    vg_buf_put_json_str(&row, vg_str_c(m->ns));
    vg_buf_printf(&row, ",\"Tags\":%s}}", m->tags);
    if (!row.failed)
        ag_emit(y->a, "yara", vg_str_make(row.p, row.n));
    vg_buf_free(&row);

    vg_buf_puts(y->list, y->n++ ? ",{\"Path\":" : "{\"Path\":");
    vg_buf_put_json_str(y->list, p);
    vg_buf_printf(y->list, ",\"SHA256\":\"%s\",\"Rule\":", sha256);
    vg_buf_put_json_str(y->list, vg_str_c(m->rule));
    vg_buf_puts(y->list, ",\"Namespace\":");
    vg_buf_put_json_str(y->list, vg_str_c(m->ns));
    vg_buf_printf(y->list, ",\"Tags\":%s}", m->tags);
}

vg_err ag_act_yara(ag *a, const vg_json *params, vg_buf *result, vg_diag *d)
{
    const vg_json *pj = params ? vg_json_get(params, "Path") : NULL;
    const vg_json *rj = params ? vg_json_get(params, "Rules") : NULL;
    if (!pj || !rj)
        return vg_diag_set(d, VG_EINVAL, "RunYaraScan: params need Path and Rules");
    char root[PATH_MAX];
    vg_str ps = vg_json_text(pj);
    if (ps.n == 0 || ps.n >= sizeof root)
        return vg_diag_set(d, VG_EINVAL, "RunYaraScan: Path is empty or too long");
    vg_str_copy_c(root, sizeof root, ps);
    vg_buf list;
    vg_buf_init(&list, 16u << 20);
    yact y = { .a = a, .list = &list };
    uint64_t scanned = 0, matches = 0;
    vg_err e = ag_yara_scan(vg_json_text(rj), root, act_match, &y, &scanned, &matches, d);
    if (e == VG_OK) {
        vg_buf_printf(result, "{\"scanned\":%llu,\"matchCount\":%llu,\"matches\":[",
                      (unsigned long long)scanned, (unsigned long long)matches);
        vg_buf_put(result, list.p, list.n);
        vg_buf_printf(result, "],\"truncated\":%s}", list.failed ? "true" : "false");
    }
    vg_buf_free(&list);
    return e;
}
