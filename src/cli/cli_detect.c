/*
 * cli_detect.c - rule options shared by `vigil detect` and `vigil rules`:
 * from settings to vg_detect_opts, and the build with its failure list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_detect.h"
#include "cli_int.h"

int cli_rules_opts(const cli_rule_settings *s, const char *cmd, vg_detect_opts *o)
{
    memset(o, 0, sizeof *o);
    if (s->rules.n) {
        for (uint32_t i = 0; i < s->rules.n && o->npaths < VG_DETECT_MAX_PATHS; i++)
            o->paths[o->npaths++] = s->rules.v[i];
    } else {
        o->npaths = vg_detect_default_paths(o->paths, VG_DETECT_MAX_PATHS);
        if (!o->npaths) {
            cli_err(cmd, "no rules: give --rules PATH, set VIGIL_RULES, or run `make rules` "
                         "to install the default pack in ./rules");
            return CLI_USAGE;
        }
    }
    for (uint32_t i = 0; i < s->enable.n; i++)
        o->enable[o->nenable++] = s->enable.v[i];
    for (uint32_t i = 0; i < s->disable.n; i++)
        o->disable[o->ndisable++] = s->disable.v[i];
    if (!sg_level_parse(vg_str_c(s->min_level), &o->min_level)) {
        cli_err(cmd, "--min-level: expected informational, low, medium, high or critical, got '%s'",
                s->min_level);
        return CLI_USAGE;
    }
    o->placeholders = s->placeholders[0] ? s->placeholders : NULL;
    o->portable = s->portable;
    static char cache[4096];
    if (!strcmp(s->cache_dir, "none"))
        o->cache_dir = NULL;
    else if (s->cache_dir[0])
        o->cache_dir = s->cache_dir;
    else
        o->cache_dir = vg_detect_default_cache(cache, sizeof cache);
    return CLI_OK;
}

int cli_rules_build(const cli_rule_settings *s, const char *cmd, bool quiet, vg_detect **out)
{
    vg_detect_opts o;
    int rc = cli_rules_opts(s, cmd, &o);
    if (rc != CLI_OK)
        return rc;
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_detect_build(&o, out, &d);
    if (e) {
        cli_err(cmd, "%s", d.msg);
        return e == VG_EINVAL ? CLI_USAGE : CLI_ERR;
    }
    const vg_detect_report *r = vg_detect_get_report(*out);
    if (!quiet)
        for (uint32_t i = 0; i < r->nfailures; i++)
            fprintf(stderr, "vigil %s: %.*s: %.*s\n", cmd, (int)r->failures[i].file.n,
                    r->failures[i].file.p, (int)r->failures[i].reason.n, r->failures[i].reason.p);
    return CLI_OK;
}
