/*
 * vg_config.c - the settings table engine (see vg_config.h).
 */
#include "vg_config.h"

#include <stdlib.h>
#include <string.h>

#include "vg_str.h"

#define CFG_MAX_LINE 4096
#define CFG_MAX_FILE (1u << 20)

static const char *type_name(vg_cfg_type t)
{
    switch (t) {
    case VG_CFG_STRING: return "string";
    case VG_CFG_INT: return "int";
    case VG_CFG_BOOL: return "bool";
    case VG_CFG_SIZE: return "size";
    case VG_CFG_DURATION: return "duration";
    case VG_CFG_LIST: return "list";
    }
    return "?";
}

static const vg_cfg_def *find_def(const vg_cfg_spec *spec, vg_str name)
{
    for (size_t i = 0; i < spec->ndefs; i++)
        if (vg_str_eqc(name, spec->defs[i].name))
            return &spec->defs[i];
    return NULL;
}

static vg_err parse_scaled(vg_str v, vg_cfg_type t, int64_t *out)
{
    int64_t mult = 1;
    v = vg_str_trim(v);
    if (v.n && (t == VG_CFG_SIZE || t == VG_CFG_DURATION)) {
        char c = v.p[v.n - 1];
        int64_t m = 0;
        if (t == VG_CFG_SIZE)
            m = (c == 'K' || c == 'k') ? 1024 : (c == 'M' || c == 'm') ? 1024 * 1024
                : (c == 'G' || c == 'g') ? 1024LL * 1024 * 1024 : (c == 'B' || c == 'b') ? 1 : 0;
        else
            m = c == 's' ? 1 : c == 'm' ? 60 : c == 'h' ? 3600 : c == 'd' ? 86400 : 0;
        if (m) {
            mult = m;
            v.n--;
        }
    }
    int64_t x;
    vg_err e = vg_str_to_i64(v, &x);
    if (e)
        return e;
    if (mult > 1 && (x > INT64_MAX / mult || x < INT64_MIN / mult))
        return VG_ELIMIT;
    *out = x * mult;
    return VG_OK;
}

/* Which source is setting values now: list settings from a later source
 * replace those of an earlier one instead of adding to them. */
static _Thread_local uint8_t cfg_source;

static vg_err set_def(const vg_cfg_def *def, void *out, vg_str v, vg_arena *a, vg_diag *d)
{
    char *field = (char *)out + def->offset;
    switch (def->type) {
    case VG_CFG_LIST: {
        vg_cfg_list *l = (vg_cfg_list *)field;
        if (l->source != cfg_source) {
            l->n = 0;
            l->source = cfg_source;
        }
        if (v.n == 0)
            return VG_OK;
        if (l->n == VG_CFG_LIST_MAX)
            return vg_diag_set(d, VG_ELIMIT, "%s: more than %d values", def->name, VG_CFG_LIST_MAX);
        char *s = vg_arena_memdup(a, v.p, v.n);
        if (!s)
            return vg_diag_set(d, VG_ENOMEM, "out of memory setting %s", def->name);
        l->v[l->n++] = s;
        return VG_OK;
    }
    case VG_CFG_STRING: {
        char *s = vg_arena_memdup(a, v.p ? v.p : "", v.n);
        if (!s)
            return vg_diag_set(d, VG_ENOMEM, "out of memory setting %s", def->name);
        memcpy(field, &s, sizeof s);
        return VG_OK;
    }
    case VG_CFG_BOOL: {
        bool b;
        if (vg_str_eqc_ci(v, "true") || vg_str_eqc(v, "1") || vg_str_eqc_ci(v, "yes") ||
            vg_str_eqc_ci(v, "on"))
            b = true;
        else if (vg_str_eqc_ci(v, "false") || vg_str_eqc(v, "0") || vg_str_eqc_ci(v, "no") ||
                 vg_str_eqc_ci(v, "off"))
            b = false;
        else
            return vg_diag_set(d, VG_EINVAL, "%s: expected true or false, got '%.*s'", def->name,
                               VG_STR_FMT(v));
        memcpy(field, &b, sizeof b);
        return VG_OK;
    }
    case VG_CFG_INT:
    case VG_CFG_SIZE:
    case VG_CFG_DURATION: {
        int64_t x;
        if (parse_scaled(v, def->type, &x))
            return vg_diag_set(d, VG_EINVAL, "%s: expected a %s, got '%.*s'", def->name,
                               type_name(def->type), VG_STR_FMT(v));
        if ((def->min || def->max) && (x < def->min || x > def->max))
            return vg_diag_set(d, VG_EINVAL, "%s: %lld is outside %lld..%lld", def->name,
                               (long long)x, (long long)def->min, (long long)def->max);
        memcpy(field, &x, sizeof x);
        return VG_OK;
    }
    }
    return VG_EINVAL;
}

vg_err vg_cfg_defaults(const vg_cfg_spec *spec, void *out, vg_arena *a, vg_diag *d)
{
    cfg_source = 1;
    for (size_t i = 0; i < spec->ndefs; i++)
        if (spec->defs[i].type == VG_CFG_LIST)
            memset((char *)out + spec->defs[i].offset, 0, sizeof(vg_cfg_list));
    for (size_t i = 0; i < spec->ndefs; i++) {
        const vg_cfg_def *def = &spec->defs[i];
        const char *dv = def->def ? def->def : (def->type == VG_CFG_STRING ? "" : def->type == VG_CFG_BOOL ? "false" : "0");
        vg_err e = set_def(def, out, vg_str_c(dv), a, d);
        if (e)
            return e;
    }
    return VG_OK;
}

vg_err vg_cfg_set(const vg_cfg_spec *spec, void *out, const char *name, const char *value,
                  vg_arena *a, vg_diag *d)
{
    const vg_cfg_def *def = find_def(spec, vg_str_c(name));
    if (!def)
        return vg_diag_set(d, VG_ENOTFOUND, "unknown setting '%s' (see %s --help)", name,
                           spec->prog);
    return set_def(def, out, vg_str_c(value), a, d);
}

vg_err vg_cfg_load_file(const vg_cfg_spec *spec, const char *path, void *out, vg_arena *a,
                        vg_diag *d)
{
    cfg_source = 2;
    FILE *f = fopen(path, "r");
    if (!f)
        return vg_diag_set(d, VG_EIO, "%s: cannot open config file", path);
    char line[CFG_MAX_LINE];
    unsigned lineno = 0;
    size_t total = 0;
    vg_err e = VG_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        total += len;
        if (total > CFG_MAX_FILE) {
            e = vg_diag_set(d, VG_ELIMIT, "%s: larger than %u bytes", path, CFG_MAX_FILE);
            goto out;
        }
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            e = vg_diag_set(d, VG_ELIMIT, "%s:%u: line longer than %d bytes", path, lineno,
                            CFG_MAX_LINE - 2);
            goto out;
        }
        vg_str s = vg_str_trim(vg_str_make(line, len));
        if (s.n == 0 || s.p[0] == '#')
            continue;
        ptrdiff_t eq = vg_str_chr(s, '=');
        if (eq < 0) {
            e = vg_diag_set(d, VG_EPARSE, "%s:%u: expected 'name = value'", path, lineno);
            goto out;
        }
        vg_str k = vg_str_trim(vg_str_make(s.p, (size_t)eq));
        vg_str v = vg_str_trim(vg_str_make(s.p + eq + 1, s.n - (size_t)eq - 1));
        if (v.n >= 2 && v.p[0] == '"' && v.p[v.n - 1] == '"')
            v = vg_str_make(v.p + 1, v.n - 2);
        const vg_cfg_def *def = find_def(spec, k);
        if (!def) {
            e = vg_diag_set(d, VG_ENOTFOUND, "%s:%u: unknown setting '%.*s'", path, lineno,
                            VG_STR_FMT(k));
            goto out;
        }
        e = set_def(def, out, v, a, d);
        if (e) {
            vg_diag_prefix(d, "%s:%u: ", path, lineno);
            goto out;
        }
    }
out:
    fclose(f);
    return e;
}

vg_err vg_cfg_parse_args(const vg_cfg_spec *spec, int argc, char **argv, int first, void *out,
                         vg_cfg_args *args, vg_arena *a, vg_diag *d)
{
    vg_err e = vg_cfg_defaults(spec, out, a, d);
    if (e)
        return e;
    memset(args, 0, sizeof *args);
    args->pos = vg_arena_zalloc(a, sizeof(char *) * (size_t)(argc + 1));
    if (!args->pos)
        return VG_ENOMEM;
    /* --config first, so that flags override the file */
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        const char *cf = NULL;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return vg_diag_set(d, VG_EINVAL, "--config needs a file name");
            cf = argv[i + 1];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            cf = argv[i] + 9;
        }
        if (cf && (e = vg_cfg_load_file(spec, cf, out, a, d)))
            return e;
    }
    cfg_source = 3;
    bool only_pos = false;
    for (int i = first; i < argc; i++) {
        char *arg = argv[i];
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            args->pos[args->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            args->help = true;
            continue;
        }
        if (strcmp(arg, "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(arg, "--config=", 9) == 0)
            continue;
        if (arg[1] != '-')
            return vg_diag_set(d, VG_EINVAL, "unknown option '%s' (see %s --help)", arg, spec->prog);
        vg_str name = vg_str_c(arg + 2);
        const char *value = NULL;
        ptrdiff_t eq = vg_str_chr(name, '=');
        if (eq >= 0) {
            value = arg + 2 + eq + 1;
            name.n = (size_t)eq;
        }
        const vg_cfg_def *def = find_def(spec, name);
        if (!def && name.n > 3 && memcmp(name.p, "no-", 3) == 0 && !value) {
            const vg_cfg_def *bd = find_def(spec, vg_str_make(name.p + 3, name.n - 3));
            if (bd && bd->type == VG_CFG_BOOL) {
                if ((e = set_def(bd, out, vg_str_c("false"), a, d)))
                    return e;
                continue;
            }
        }
        if (!def)
            return vg_diag_set(d, VG_EINVAL, "unknown option '--%.*s' (see %s --help)",
                               VG_STR_FMT(name), spec->prog);
        if (!value) {
            if (def->type == VG_CFG_BOOL) {
                value = "true";
            } else {
                if (i + 1 >= argc)
                    return vg_diag_set(d, VG_EINVAL, "--%s needs a value", def->name);
                value = argv[++i];
            }
        }
        if ((e = set_def(def, out, vg_str_c(value), a, d)))
            return e;
    }
    return VG_OK;
}

void vg_cfg_help(const vg_cfg_spec *spec, FILE *f)
{
    fprintf(f, "%s - %s\n\nUsage: %s\n\nOptions:\n", spec->prog, spec->summary, spec->usage);
    for (size_t i = 0; i < spec->ndefs; i++) {
        const vg_cfg_def *def = &spec->defs[i];
        char left[64];
        if (def->type == VG_CFG_BOOL)
            snprintf(left, sizeof left, "--%s", def->name);
        else
            snprintf(left, sizeof left, "--%s %s", def->name, type_name(def->type));
        fprintf(f, "  %-30s %s", left, def->doc);
        if (def->def && def->def[0])
            fprintf(f, " (default: %s)", def->def);
        fputc('\n', f);
    }
    fprintf(f, "  %-30s %s\n", "--config FILE", "read settings from FILE (name = value lines)");
    fprintf(f, "  %-30s %s\n", "--help", "show this help");
}

void vg_cfg_markdown(const vg_cfg_spec *spec, FILE *f)
{
    fprintf(f, "| setting | type | default | bounds | reloadable | meaning |\n");
    fprintf(f, "| --- | --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < spec->ndefs; i++) {
        const vg_cfg_def *def = &spec->defs[i];
        fprintf(f, "| `%s` | %s | %s | ", def->name, type_name(def->type),
                def->def && def->def[0] ? def->def : "");
        if (def->min || def->max)
            fprintf(f, "%lld..%lld", (long long)def->min, (long long)def->max);
        fprintf(f, " | %s | %s |\n", def->reloadable ? "yes" : "no", def->doc);
    }
}
