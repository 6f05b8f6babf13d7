/*
 * detect_values.c - how the scanner reads a row: the raw record's members
 * (matched to a group's fields by position first, since sources repeat
 * their field order), the column form of a field for the row's table
 * (virtual columns such as Hashes and DOMAIN\\user composed in the row
 * arena), the OS a row without a Windows source comes from, and the public
 * one-field reader alerts and correlations use (vg_detect_field).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_scan_int.h"

vg_str dt_col_text(vg_arena *a, const vg_batch *b, int32_t c, uint32_t r)
{
    if (c < 0 || vg_batch_is_null(b, c, r))
        return VG_STR_NULL;
    const vg_colvec *cv = &b->cols[c];
    char buf[64];
    int n;
    switch (cv->type) {
    case VG_T_STRING:
    case VG_T_DYNAMIC:
        return cv->v.s[r].p ? cv->v.s[r] : vg_str_make("", 0);
    case VG_T_BOOL:
        return vg_str_c(cv->v.b[r] ? "true" : "false");
    case VG_T_REAL:
        n = snprintf(buf, sizeof buf, "%.17g", cv->v.f64[r]);
        return vg_str_dup(a, vg_str_make(buf, (size_t)n));
    case VG_T_DATETIME:
        return vg_str_dup(a, vg_str_make(buf, vg_time_format(cv->v.i64[r], buf, sizeof buf)));
    default: {
        /* decimal by hand: snprintf is a tenth of a row's cost otherwise */
        int64_t x = cv->v.i64[r];
        uint64_t u = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
        char *e = buf + sizeof buf, *p = e;
        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (x < 0)
            *--p = '-';
        (void)n;
        return vg_str_dup(a, vg_str_make(p, (size_t)(e - p)));
    }
    }
}

/* The column form of a field on row r (virtual columns composed in a). */
/* "x\\y" in a (DOMAIN\\user, key\\value name). */
static vg_str join_bs(vg_arena *a, vg_str x, vg_str y)
{
    char *p = vg_arena_alloc(a, x.n + 1 + y.n);
    if (!p)
        return VG_STR_NULL;
    memcpy(p, x.p, x.n);
    p[x.n] = '\\';
    memcpy(p + x.n + 1, y.p, y.n);
    return vg_str_make(p, x.n + 1 + y.n);
}

vg_str dt_col_form(vg_arena *a, const vg_batch *b, uint32_t r, const dt_colmap *m)
{
    if (m->col < 0)
        return VG_STR_NULL;
    vg_str v1 = dt_col_text(a, b, m->col, r);
    switch (m->virt) {
    case DT_VIRT_NONE:
        return v1;
    case DT_VIRT_ACCOUNT: {
        vg_str name = dt_col_text(a, b, m->col2, r);
        if (!name.p)
            return VG_STR_NULL;
        if (!v1.p || v1.n == 0)
            return name;
        return join_bs(a, v1, name);
    }
    case DT_VIRT_REGPATH: {
        vg_str vn = dt_col_text(a, b, m->col2, r);
        if (!v1.p || !vn.p || vn.n == 0)
            return v1;
        return join_bs(a, v1, vn);
    }
    case DT_VIRT_HASHES: {
        /* Sysmon's spelling: SHA1=..,MD5=..,SHA256=.. (upper-case hex) */
        vg_str md5 = dt_col_text(a, b, m->col2, r), sha256 = dt_col_text(a, b, m->col3, r);
        if (!v1.p && !md5.p && !sha256.p)
            return VG_STR_NULL;
        const char *names[3] = { "SHA1=", "MD5=", "SHA256=" };
        vg_str vals[3] = { v1, md5, sha256 };
        size_t need = 0;
        for (int i = 0; i < 3; i++)
            need += vals[i].p ? vals[i].n + 8 : 0;
        char *p = vg_arena_alloc(a, need);
        if (!p)
            return VG_STR_NULL;
        size_t n = 0;
        for (int i = 0; i < 3; i++) {
            if (!vals[i].p)
                continue;
            if (n)
                p[n++] = ',';
            memcpy(p + n, names[i], strlen(names[i]));
            n += strlen(names[i]);
            for (size_t k = 0; k < vals[i].n; k++) {
                char c = vals[i].p[k];
                p[n++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
            }
        }
        return vg_str_make(p, n);
    }
    }
    return VG_STR_NULL;
}

/* Reads the row's raw record members (top level). */
void dt_read_raw(vg_detect_scanner *s, vg_str raw)
{
    s->nmem = 0;
    if (!raw.p)
        return;
    vg_json_pull j;
    vg_json_pull_init(&j, raw, &s->row_arena, NULL);
    if (vg_json_pull_obj_begin(&j))
        return;
    for (;;) {
        vg_str key;
        bool done;
        vg_json_val v;
        if (vg_json_pull_obj_key(&j, &key, &done) || done || vg_json_pull_value(&j, &v))
            return;
        if (s->nmem == DT_MAX_RAW_MEMBERS)
            return;
        if (v.kind == VG_JSON_TRUE)
            v.str = vg_str_c("true");
        else if (v.kind == VG_JSON_FALSE)
            v.str = vg_str_c("false");
        s->mem[s->nmem++] = (raw_member){ key, v.str, v.kind };
    }
}

const raw_member *dt_raw_get(const vg_detect_scanner *s, const char *name)
{
    for (uint32_t i = 0; i < s->nmem; i++)
        if (vg_str_eqc(s->mem[i].key, name))
            return &s->mem[i];
    return NULL;
}

/* The name without its spaces ("Threat Name" -> "ThreatName"). */
vg_str dt_squeeze(vg_arena *a, vg_str k)
{
    char *p = vg_arena_alloc(a, k.n ? k.n : 1);
    if (!p)
        return VG_STR_NULL;
    size_t n = 0;
    for (size_t i = 0; i < k.n; i++)
        if (k.p[i] != ' ')
            p[n++] = k.p[i];
    return vg_str_make(p, n);
}

static void keycache_put(vg_detect_scanner *s, keycache *kc, uint32_t i, vg_str key, uint32_t f)
{
    if (i >= KEYCACHE_MAX || i > kc->n || key.n > 255)
        return;
    if (s->kc_arena.used > (16u << 20)) {
        /* bounded: forget every group's positions and start over */
        for (uint32_t g = 0; g < s->det->ngroups; g++)
            s->kcache[g].n = 0;
        vg_arena_reset(&s->kc_arena);
        if (i > 0)
            return;
    }
    char *k = vg_arena_alloc(&s->kc_arena, key.n ? key.n : 1);
    if (!k)
        return;
    memcpy(k, key.p, key.n);
    kc->key[i] = k;
    kc->len[i] = (uint32_t)key.n;
    kc->field[i] = f;
    if (i == kc->n)
        kc->n++;
}

void dt_fill_values(vg_detect_scanner *s, const dt_group *g, const vg_batch *b, uint32_t r)
{
    memset(s->vals, 0, g->nfields * sizeof *s->vals);
    /* sources write their fields in the same order event after event: the
     * field of the member at each position is remembered per group, and a
     * member whose name is the remembered one skips the hash lookup */
    keycache *kc = s->nmem ? &s->kcache[g - s->det->groups] : NULL;
    for (uint32_t i = 0; i < s->nmem; i++) {
        bool found;
        uintptr_t f;
        vg_str key = s->mem[i].key;
        if (i < kc->n && kc->len[i] == key.n && memcmp(kc->key[i], key.p, key.n) == 0) {
            f = kc->field[i];
            found = f != 0;
            goto have;
        }
        f = (uintptr_t)vg_map_get(&g->field_by_raw, s->mem[i].key, &found);
        if (!found && memchr(s->mem[i].key.p, ' ', s->mem[i].key.n)) {
            /* Windows Defender and a few other providers name their data
             * "Threat Name"; rules (as THOR and Hayabusa read them) say
             * ThreatName */
            vg_str k = dt_squeeze(&s->row_arena, s->mem[i].key);
            f = k.p ? (uintptr_t)vg_map_get(&g->field_by_raw, k, &found) : 0;
        }
        keycache_put(s, kc, i, key, found ? (uint32_t)f : 0);
    have:
        s->mem_used[i] = found;
        if (!found || s->vals[f - 1].present || s->mem[i].kind == VG_JSON_NULL ||
            s->mem[i].kind == VG_JSON_OBJECT)
            continue;
        s->vals[f - 1] = (dt_val){ s->mem[i].val, true, true, s->mem[i].kind == VG_JSON_ARRAY };
    }
    uint16_t t = b->table->id;
    for (uint32_t f = 0; f < g->nfields; f++) {
        if (s->vals[f].present || f == g->kw_field)
            continue;
        vg_str v = dt_col_form(&s->row_arena, b, r, &g->fields[f].colmap[t]);
        if (v.p)
            s->vals[f] = (dt_val){ v, true, false, false };
    }
}

/* What a row without a Windows source says of its OS: by the shape of its
 * paths (Defender-shaped rows carry no OS column outside DeviceInfo). */

int dt_row_os(const vg_batch *b, uint32_t r, int c1, int c2)
{
    int cols[2] = { c1, c2 };
    for (int i = 0; i < 2; i++) {
        if (cols[i] < 0 || vg_batch_is_null(b, cols[i], r))
            continue;
        vg_str p = b->cols[cols[i]].v.s[r];
        if (p.n >= 3 && p.p[1] == ':' && (p.p[2] == '\\' || p.p[2] == '/'))
            return OS_WINDOWS;
        if (p.n >= 2 && p.p[0] == '\\' && p.p[1] == '\\')
            return OS_WINDOWS;
        if (p.n >= 1 && p.p[0] == '/') {
            static const char *const mac[] = { "/Applications/", "/System/", "/Library/", "/Users/",
                                               "/private/", "/Volumes/" };
            for (size_t k = 0; k < sizeof mac / sizeof mac[0]; k++)
                if (p.n >= strlen(mac[k]) && memcmp(p.p, mac[k], strlen(mac[k])) == 0)
                    return OS_MACOS;
            return OS_UNIX;
        }
    }
    return OS_UNKNOWN;
}

/* A native row of OS os may be seen by rules of this logsource product. */
bool dt_product_ok(const sg_logsource *ls, int os)
{
    if (!ls->product.p || os == OS_UNKNOWN)
        return true;
    if (vg_str_eqc_ci(ls->product, "windows"))
        return os == OS_WINDOWS;
    if (vg_str_eqc_ci(ls->product, "linux"))
        return os == OS_UNIX;
    if (vg_str_eqc_ci(ls->product, "macos"))
        return os == OS_UNIX || os == OS_MACOS;
    return true;
}

/* ---- one field, for alerts and correlations ---- */

/* A raw member whose name, without its spaces, is name. */
static vg_err lookup_squeezed(vg_str raw, vg_str name, vg_arena *a, vg_json_val *out)
{
    vg_json_pull j;
    vg_json_pull_init(&j, raw, a, NULL);
    if (vg_json_pull_obj_begin(&j))
        return VG_ENOTFOUND;
    for (int n = 0; n < DT_MAX_RAW_MEMBERS; n++) {
        vg_str key;
        bool done;
        if (vg_json_pull_obj_key(&j, &key, &done) || done || vg_json_pull_value(&j, out))
            return VG_ENOTFOUND;
        if (memchr(key.p, ' ', key.n) && vg_str_eq(dt_squeeze(a, key), name))
            return VG_OK;
    }
    return VG_ENOTFOUND;
}

vg_err vg_detect_field(const vg_detect *det, const vg_detect_rule *rule, const vg_batch *b,
                       uint32_t row, vg_str field, vg_arena *a, vg_str *out)
{
    *out = VG_STR_NULL;
    dt_route rt;
    vg_str raw_name = field;
    if (rule && rule->sg && dt_route_for(&rule->sg->logsource, &rt) && rt.aliases)
        for (uint32_t i = 0; rt.aliases[i][0]; i++)
            if (vg_str_eqc(field, rt.aliases[i][0]))
                raw_name = vg_str_c(rt.aliases[i][1]);
    if (b->has_raw && b->raw[row].p) {
        vg_json_val v;
        vg_err le = vg_json_lookup(b->raw[row], raw_name, a, &v);
        if (le == VG_ENOTFOUND)
            le = lookup_squeezed(b->raw[row], raw_name, a, &v);
        if (le == VG_OK && v.kind != VG_JSON_NULL && v.kind != VG_JSON_OBJECT) {
            *out = v.kind == VG_JSON_TRUE ? vg_str_c("true")
                 : v.kind == VG_JSON_FALSE ? vg_str_c("false") : v.str;
            return VG_OK;
        }
    }
    dt_colmap m = dt_map_field(b->table, field);
    *out = dt_col_form(a, b, row, &m);
    (void)det;
    return out->p ? VG_OK : VG_ENOTFOUND;
}
