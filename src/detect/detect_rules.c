/*
 * detect_rules.c - which loaded rules run, and what an alert says about them.
 *
 * Selection follows vg_detect_opts: enable/disable selectors (id, name, tag
 * prefix, level, status, path), a minimum level, and never deprecated or
 * unsupported rules. The MITRE ATT&CK tags (`attack.execution`,
 * `attack.t1059.001`) become the tactic names and technique ids that
 * AlertInfo carries. The CIDR helpers used by direct items live here too.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "detect_rules_int.h"

static const char *const tactics[][2] = {
    { "reconnaissance", "Reconnaissance" },
    { "resource-development", "Resource Development" },
    { "initial-access", "Initial Access" },
    { "execution", "Execution" },
    { "persistence", "Persistence" },
    { "privilege-escalation", "Privilege Escalation" },
    { "defense-evasion", "Defense Evasion" },
    /* ATT&CK v18 split Defense Evasion in two; SigmaHQ tags both */
    { "stealth", "Stealth" },
    { "defense-impairment", "Defense Impairment" },
    { "credential-access", "Credential Access" },
    { "discovery", "Discovery" },
    { "lateral-movement", "Lateral Movement" },
    { "collection", "Collection" },
    { "command-and-control", "Command and Control" },
    { "exfiltration", "Exfiltration" },
    { "impact", "Impact" },
};

static bool tag_is(vg_str tag, const char *slug)
{
    /* attack.defense-evasion or attack.defense_evasion */
    if (tag.n != 7 + strlen(slug) || strncasecmp(tag.p, "attack.", 7) != 0)
        return false;
    for (size_t i = 0; slug[i]; i++) {
        char c = tag.p[7 + i];
        c = c == '_' ? '-' : (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        if (c != slug[i])
            return false;
    }
    return true;
}

static void mitre(vg_detect *det, vg_detect_rule *dr)
{
    vg_buf ta, te;
    vg_buf_init(&ta, 4096);
    vg_buf_init(&te, 4096);
    const sg_rule *r = dr->sg;
    for (uint32_t i = 0; i < r->ntags; i++) {
        vg_str t = r->tags[i];
        for (size_t k = 0; k < sizeof tactics / sizeof tactics[0]; k++)
            if (tag_is(t, tactics[k][0])) {
                if (ta.n)
                    vg_buf_puts(&ta, ", ");
                vg_buf_puts(&ta, tactics[k][1]);
            }
        if (t.n > 8 && strncasecmp(t.p, "attack.t", 8) == 0 && t.p[8] >= '0' && t.p[8] <= '9') {
            if (te.n)
                vg_buf_puts(&te, ", ");
            vg_buf_putc(&te, 'T');
            vg_buf_put(&te, t.p + 8, t.n - 8);
        }
    }
    dr->tactics = vg_str_dup(&det->arena, vg_str_make(ta.p ? ta.p : "", ta.n));
    dr->techniques = vg_str_dup(&det->arena, vg_str_make(te.p ? te.p : "", te.n));
    vg_buf_free(&ta);
    vg_buf_free(&te);
}

static bool selected(const sg_rule *r, const char *sel)
{
    vg_str s = vg_str_c(sel);
    const char *colon = strchr(sel, ':');
    if (!colon)
        return vg_str_eq(r->id, s) || vg_str_eq(r->name, s);
    vg_str kind = vg_str_make(sel, (size_t)(colon - sel));
    vg_str v = vg_str_c(colon + 1);
    if (vg_str_eq(kind, vg_str_c("id")))
        return vg_str_eq(r->id, v);
    if (vg_str_eq(kind, vg_str_c("name")))
        return vg_str_eq(r->name, v);
    if (vg_str_eq(kind, vg_str_c("tag"))) {
        for (uint32_t i = 0; i < r->ntags; i++)
            if (r->tags[i].n >= v.n && strncasecmp(r->tags[i].p, v.p, v.n) == 0 &&
                (r->tags[i].n == v.n || r->tags[i].p[v.n] == '.'))
                return true;
        return false;
    }
    if (vg_str_eq(kind, vg_str_c("level")))
        return strcasecmp(sg_level_name(r->level), v.p) == 0;
    if (vg_str_eq(kind, vg_str_c("status")))
        return strcasecmp(sg_status_name(r->status), v.p) == 0;
    if (vg_str_eq(kind, vg_str_c("path")))
        return r->file.p && strstr(r->file.p, v.p) != NULL;
    return false;
}

static vg_err check_selector(const char *sel, vg_diag *d)
{
    const char *colon = strchr(sel, ':');
    if (!colon)
        return VG_OK;
    static const char *const kinds[] = { "id", "name", "tag", "level", "status", "path" };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if ((size_t)(colon - sel) == strlen(kinds[i]) && strncmp(sel, kinds[i], strlen(kinds[i])) == 0)
            return VG_OK;
    return vg_diag_set(d, VG_EINVAL,
                       "rule selector '%s': expected id:, name:, tag:, level:, status: or path:", sel);
}

vg_err dt_rules_select(vg_detect *det, const vg_detect_opts *o, vg_diag *d)
{
    sg_ruleset *rs = det->rs;
    static const vg_detect_opts none;
    if (!o)
        o = &none;
    for (uint32_t i = 0; i < o->nenable; i++)
        if (check_selector(o->enable[i], d))
            return VG_EINVAL;
    for (uint32_t i = 0; i < o->ndisable; i++)
        if (check_selector(o->disable[i], d))
            return VG_EINVAL;
    det->rules = calloc(rs->nrules ? rs->nrules : 1, sizeof *det->rules);
    det->failures = calloc(rs->nfailures + 16, sizeof *det->failures);
    if (!det->rules || !det->failures)
        return VG_ENOMEM;
    det->fcap = rs->nfailures + 16;
    for (uint32_t i = 0; i < rs->nfailures; i++) {
        const sg_failure *f = &rs->failures[i];
        char buf[640];
        if (f->line)
            snprintf(buf, sizeof buf, "line %u, column %u: %.*s", f->line, f->col, (int)f->reason.n,
                     f->reason.p);
        else
            snprintf(buf, sizeof buf, "%.*s", (int)f->reason.n, f->reason.p);
        det->failures[det->nfailures].file = f->file;
        det->failures[det->nfailures].reason = vg_str_dup(&det->arena, vg_str_c(buf));
        det->nfailures++;
    }
    det->report.files = rs->files;
    det->report.total = rs->nrules + rs->nfailures;
    det->report.compiled = rs->nrules;
    vg_map_init(&det->rule_by_key, false);
    for (uint32_t i = 0; i < rs->nrules; i++) {
        vg_detect_rule *dr = &det->rules[det->nrules];
        const sg_rule *r = &rs->rules[i];
        dr->sg = r;
        dr->index = det->nrules++;
        bool on = r->status != SG_STATUS_DEPRECATED && r->status != SG_STATUS_UNSUPPORTED &&
                  (r->kind != SG_KIND_RULE || r->level >= o->min_level);
        if (on && o->nenable) {
            on = false;
            for (uint32_t k = 0; k < o->nenable && !on; k++)
                on = selected(r, o->enable[k]);
        }
        for (uint32_t k = 0; k < o->ndisable && on; k++)
            on = !selected(r, o->disable[k]);
        dr->enabled = on;
        dr->alerts = true;
        dr->routed = r->kind != SG_KIND_RULE;
        mitre(det, dr);
        if (r->kind == SG_KIND_CORRELATION)
            det->report.correlations++;
        if (r->kind == SG_KIND_FILTER)
            det->report.filters++;
        if (r->id.p) {
            bool dup;
            uintptr_t prev = (uintptr_t)vg_map_get(&det->rule_by_key, r->id, &dup);
            if (dup) {
                /* the same rule reached twice (a file and its directory, two
                 * packs): it runs once; the later copy is reported */
                const sg_rule *first = det->rules[prev - 1].sg;
                char buf[640];
                snprintf(buf, sizeof buf, "duplicate rule id %.*s: already loaded from %.*s; this copy is not run",
                         (int)r->id.n, r->id.p, (int)first->file.n, first->file.p);
                if (vg_array_grow((void **)&det->failures, &det->fcap, det->nfailures + 1,
                                  sizeof *det->failures))
                    return VG_ENOMEM;
                det->failures[det->nfailures].file = r->file;
                det->failures[det->nfailures].reason = vg_str_dup(&det->arena, vg_str_c(buf));
                det->nfailures++;
                det->report.compiled--;
                dr->enabled = false;
                dr->duplicate = true;
                continue;
            }
            if (vg_map_put(&det->rule_by_key, r->id, (void *)(uintptr_t)(dr->index + 1)))
                return VG_ENOMEM;
        }
        if (r->name.p && vg_map_put(&det->rule_by_key, r->name, (void *)(uintptr_t)(dr->index + 1)))
            return VG_ENOMEM;
    }
    if (o->limit) {
        uint32_t on = 0;
        for (uint32_t i = 0; i < det->nrules; i++)
            on += det->rules[i].enabled && det->rules[i].sg->kind == SG_KIND_RULE;
        /* keep every k-th enabled rule, k = on / limit, at most limit of them */
        uint32_t kept = 0, seen = 0;
        for (uint32_t i = 0; i < det->nrules; i++) {
            vg_detect_rule *dr = &det->rules[i];
            if (!dr->enabled || dr->sg->kind != SG_KIND_RULE)
                continue;
            uint64_t want = (uint64_t)(seen++) * o->limit / (on ? on : 1);
            bool keep = want >= kept && kept < o->limit;
            if (keep)
                kept++;
            dr->enabled = keep;
        }
    }
    /* rules that feed a correlation with generate: false alert only through it */
    for (uint32_t i = 0; i < det->nrules; i++) {
        const sg_rule *c = det->rules[i].sg;
        if (c->kind != SG_KIND_CORRELATION || !det->rules[i].enabled || c->corr.generate)
            continue;
        for (uint32_t k = 0; k < c->corr.nrules; k++) {
            const vg_detect_rule *b = vg_detect_find(det, c->corr.rules[k]);
            if (b)
                det->rules[b->index].alerts = false;
        }
    }
    return VG_OK;
}

uint32_t dt_filters_for(const vg_detect *det, const sg_rule *r, const sg_rule **out, uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < det->nrules && n < max; i++) {
        const vg_detect_rule *f = &det->rules[i];
        if (f->sg->kind != SG_KIND_FILTER || !f->enabled)
            continue;
        for (uint32_t k = 0; k < f->sg->filter.nrules; k++)
            if ((r->id.p && vg_str_eq(f->sg->filter.rules[k], r->id)) ||
                (r->name.p && vg_str_eq(f->sg->filter.rules[k], r->name))) {
                out[n++] = f->sg;
                break;
            }
    }
    return n;
}

/* ---- CIDR ---- */

static bool parse_ip(vg_str s, uint8_t *fam, uint8_t out[16])
{
    char buf[64];
    if (s.n == 0 || s.n >= sizeof buf)
        return false;
    memcpy(buf, s.p, s.n);
    buf[s.n] = 0;
    memset(out, 0, 16);
    if (inet_pton(AF_INET, buf, out) == 1) {
        *fam = 4;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out) == 1) {
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (memcmp(out, mapped, 12) == 0) {
            memmove(out, out + 12, 4);
            memset(out + 4, 0, 12);
            *fam = 4;
        } else {
            *fam = 6;
        }
        return true;
    }
    return false;
}

bool dt_cidr_parse(vg_str s, dt_cidr *c)
{
    memset(c, 0, sizeof *c);
    const char *slash = memchr(s.p, '/', s.n);
    vg_str addr = slash ? vg_str_make(s.p, (size_t)(slash - s.p)) : s;
    if (!parse_ip(addr, &c->family, c->net))
        return false;
    uint64_t pre = c->family == 4 ? 32 : 128;
    bool mapped = c->family == 4 && memchr(addr.p, ':', addr.n) != NULL;   /* ::ffff:a.b.c.d */
    if (slash) {
        if (vg_str_to_u64(vg_str_make(slash + 1, s.n - (size_t)(slash - s.p) - 1), &pre))
            return false;
        if (mapped) {
            if (pre < 96 || pre > 128)
                return false;
            pre -= 96;
        }
        if (pre > (c->family == 4 ? 32u : 128u))
            return false;
    }
    c->prefix = (uint8_t)pre;
    c->ok = true;
    return true;
}

bool dt_cidr_contains(const dt_cidr *c, vg_str v)
{
    uint8_t fam, a[16];
    if (!c->ok || !parse_ip(vg_str_trim(v), &fam, a) || fam != c->family)
        return false;
    uint32_t full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(a, c->net, full) != 0)
        return false;
    if (rest) {
        uint8_t m = (uint8_t)(0xff << (8 - rest));
        if ((a[full] & m) != (c->net[full] & m))
            return false;
    }
    return true;
}

/* ---- the default pack ---- */

uint32_t vg_detect_default_paths(const char **out, uint32_t max)
{
    static char env[4096];
    uint32_t n = 0;
    const char *e = getenv("VIGIL_RULES");
    if (e && e[0]) {
        snprintf(env, sizeof env, "%s", e);
        for (char *p = env; p && *p && n < max;) {
            char *colon = strchr(p, ':');
            if (colon)
                *colon = 0;
            if (*p)
                out[n++] = p;
            p = colon ? colon + 1 : NULL;
        }
        return n;
    }
    static const char *const dirs[] = { "/usr/share/vigil/rules", "rules" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && n < max; i++) {
        struct stat st;
        if (stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            out[n++] = dirs[i];
            break;
        }
    }
    return n;
}

const char *vg_detect_default_cache(char *buf, size_t cap)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0]) {
        mkdir(xdg, 0700);
        snprintf(buf, cap, "%s/vigil", xdg);
        return buf;
    }
    if (home && home[0]) {
        snprintf(buf, cap, "%s/.cache", home);
        mkdir(buf, 0700);
        snprintf(buf, cap, "%s/.cache/vigil", home);
        return buf;
    }
    return NULL;
}

/* ---- JSON forms ---- */

void vg_detect_rule_json(const vg_detect_rule *dr, vg_buf *o)
{
    const sg_rule *r = dr->sg;
    const char *kind = r->kind == SG_KIND_CORRELATION ? "correlation"
                     : r->kind == SG_KIND_FILTER ? "filter" : "rule";
    vg_buf_puts(o, "{\"id\":");
    vg_buf_put_json_str(o, r->id);
    vg_buf_puts(o, ",\"title\":");
    vg_buf_put_json_str(o, r->title);
    vg_buf_printf(o, ",\"level\":\"%s\",\"status\":\"%s\",\"enabled\":%s,"
                     "\"routed\":%s,\"tactics\":",
                  sg_level_name(r->level), sg_status_name(r->status),
                  dr->enabled ? "true" : "false", dr->routed ? "true" : "false");
    vg_buf_put_json_str(o, dr->tactics);
    vg_buf_puts(o, ",\"techniques\":");
    vg_buf_put_json_str(o, dr->techniques);
    vg_buf_puts(o, ",\"file\":");
    vg_buf_put_json_str(o, r->file);
    vg_buf_printf(o, ",\"kind\":\"%s\"}", kind);
}

void vg_detect_failures_json(const vg_detect_report *rep, vg_buf *o)
{
    vg_buf_putc(o, '[');
    for (uint32_t i = 0; i < rep->nfailures; i++) {
        vg_buf_puts(o, i ? ",{\"file\":" : "{\"file\":");
        vg_buf_put_json_str(o, rep->failures[i].file);
        vg_buf_puts(o, ",\"reason\":");
        vg_buf_put_json_str(o, rep->failures[i].reason);
        vg_buf_putc(o, '}');
    }
    vg_buf_putc(o, ']');
}
