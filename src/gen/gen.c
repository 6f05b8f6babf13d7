/*
 * gen.c - the generator's state, PRNG, world building and row writers.
 *
 * A run is a sequence of episodes (gen_episodes.c): one user or system
 * activity on one device that writes a few related rows (a process tree and
 * the network, file, registry and image-load events of its processes).
 * Row i of N is stamped near start + i * span / N, so rows come out in time
 * order and a bounded run still covers every day.
 *
 * Rows are written straight into the caller's vg_buf through a bounds-checked
 * cursor (gw); every catalog string is escaped once at open. The writer never
 * allocates per row; the only per-episode memory is a fixed scratch area for
 * command lines and file paths.
 */
#include "gen_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG: xoshiro256** seeded by splitmix64 ---- */

uint64_t gen_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t hash_text(const char *a, const char *b, uint64_t salt)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ salt;
    for (const char *p = a; p && *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    h = (h ^ '|') * 0x100000001b3ULL;
    for (const char *p = b; p && *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    return h;
}

void gen_hex(uint64_t seed, char *out, size_t nhex)
{
    static const char hx[] = "0123456789abcdef";
    uint64_t x = seed, v = 0;
    for (size_t i = 0; i < nhex; i++) {
        if (i % 16 == 0)
            v = gen_splitmix(&x);
        out[i] = hx[v & 15];
        v >>= 4;
    }
    out[nhex] = '\0';
}

/* ---- strings ---- */

/* JSON-escapes s (n bytes) into the arena. */
static gs esc_dup(vg_arena *a, const char *s, size_t n)
{
    size_t extra = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\\' || s[i] == '"')
            extra++;
    char *o = vg_arena_alloc(a, n + extra + 1);
    if (!o)
        return (gs){ NULL, 0 };
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' || s[i] == '"')
            o[k++] = '\\';
        o[k++] = s[i];
    }
    o[k] = '\0';
    return (gs){ o, (uint32_t)k };
}

static gs esc_c(vg_arena *a, const char *s) { return esc_dup(a, s ? s : "", s ? strlen(s) : 0); }

gs gen_fmt(vg_gen *g, const char *fmt, ...)
{
    char tmp[GEN_MAX_TEXT];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof tmp)
        n = (int)sizeof tmp - 1;
    /* escaped form into the episode scratch */
    size_t need = (size_t)n * 2 + 1;
    if (g->scratch_n + need > sizeof g->scratch) {
        g->over = true;
        return (gs){ "", 0 };
    }
    char *o = g->scratch + g->scratch_n;
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (tmp[i] == '\\' || tmp[i] == '"')
            o[k++] = '\\';
        o[k++] = tmp[i];
    }
    o[k] = '\0';
    g->scratch_n += k + 1;
    return (gs){ o, (uint32_t)k };
}

/* ---- the row writer ---- */

static inline void w_put(vg_gen *g, const char *s, size_t n)
{
    if ((size_t)(g->wend - g->w) < n) {
        g->over = true;
        return;
    }
    memcpy(g->w, s, n);
    g->w += n;
}

void gen_w_lit(vg_gen *g, const char *s, size_t n) { w_put(g, s, n); }

void gen_w_str(vg_gen *g, const char *key, size_t keyn, gs v)
{
    w_put(g, key, keyn);
    w_put(g, v.p, v.n);
    w_put(g, "\"", 1);
}

void gen_w_i64(vg_gen *g, const char *key, size_t keyn, int64_t v)
{
    char tmp[24];
    size_t k = sizeof tmp;
    bool neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        tmp[--k] = '-';
    w_put(g, key, keyn);
    w_put(g, tmp + k, sizeof tmp - k);
}

void gen_w_bool(vg_gen *g, const char *key, size_t keyn, bool v)
{
    w_put(g, key, keyn);
    if (v)
        w_put(g, "true", 4);
    else
        w_put(g, "false", 5);
}

/* "2025-01-06T12:34:56.1234567Z"; the date part is cached per day. */
void gen_w_time(vg_gen *g, const char *key, size_t keyn, vg_time t)
{
    int64_t day = vg_time_day(t);
    if (day != g->day_cached) {
        g->day_cached = day;
        vg_day_format(day, g->day_str, sizeof g->day_str);
    }
    int64_t tod = t - day * VG_TICKS_PER_DAY;
    int64_t sec = tod / VG_TICKS_PER_SEC, frac = tod % VG_TICKS_PER_SEC;
    char b[40];
    memcpy(b, g->day_str, 10);
    b[10] = 'T';
    int hh = (int)(sec / 3600), mm = (int)(sec / 60 % 60), ss = (int)(sec % 60);
    b[11] = (char)('0' + hh / 10);
    b[12] = (char)('0' + hh % 10);
    b[13] = ':';
    b[14] = (char)('0' + mm / 10);
    b[15] = (char)('0' + mm % 10);
    b[16] = ':';
    b[17] = (char)('0' + ss / 10);
    b[18] = (char)('0' + ss % 10);
    b[19] = '.';
    for (int i = 26; i >= 20; i--) {
        b[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    b[27] = 'Z';
    b[28] = '"';
    w_put(g, key, keyn);
    w_put(g, b, 29);
}

bool gen_row_begin(vg_gen *g, vg_gen_table t)
{
    if (g->done >= g->total || !(g->mask & (1u << t)) || g->over)
        return false;
    if (!vg_buf_reserve(g->out, GEN_ROW_MAX)) {
        g->nomem = true;
        return false;
    }
    g->w = g->out->p + g->out->n;
    g->wend = g->out->p + g->out->cap;
    /* time moves a little inside an episode, but not past the next row's slot */
    g->t += (vg_time)(1 + gen_rn(g, 900)) * VG_TICKS_PER_MS + gen_rn(g, 10000);
    return true;
}

void gen_row_end(vg_gen *g, vg_gen_table t)
{
    w_put(g, "}\n", 2);
    if (g->over)
        return;
    g->out->n = (size_t)(g->w - g->out->p);
    g->done++;
    g->per_table[t]++;
    g->report_id++;
}

/* ---- world ---- */

static const char *const integ_names[] = { "System", "High", "Medium", "Low" };
static const char *const elev_names[] = { "TokenElevationTypeDefault", "TokenElevationTypeFull",
                                          "TokenElevationTypeLimited", "TokenElevationTypeDefault" };

static vg_err build_bin(vg_gen *g, gbin *b, const gen_bin_def *d)
{
    vg_arena *a = &g->arena;
    b->d = d;
    b->name = esc_c(a, d->name);
    b->dir = esc_c(a, d->dir);
    char full[512];
    snprintf(full, sizeof full, "%s\\%s", d->dir, d->name);
    b->path = esc_c(a, d->dir[0] ? full : "");
    b->company = esc_c(a, d->company);
    b->product = esc_c(a, d->product);
    b->version = esc_c(a, d->version);
    b->desc = esc_c(a, d->desc);
    b->orig = esc_c(a, d->orig);
    uint64_t h = hash_text(d->name, d->dir, 0x5eed);
    gen_hex(h, b->sha1, 40);
    gen_hex(h ^ 0x256, b->sha256, 64);
    gen_hex(h ^ 0x5, b->md5, 32);
    b->sha1s = (gs){ b->sha1, 40 };
    b->sha256s = (gs){ b->sha256, 64 };
    b->md5s = (gs){ b->md5, 32 };
    b->profile = d->kind == GB_PROFILE;
    static const char *const signer[] = { "OsVendor", "Microsoft", "ThirdParty", "ThirdParty",
                                          "Unknown" };
    b->signer = esc_c(a, signer[d->kind]);
    b->sigstatus = esc_c(a, d->kind == GB_UNSIGNED ? "Unsigned" : "Valid");
    if (!b->name.p || !b->path.p || !b->sigstatus.p)
        return VG_ENOMEM;
    return VG_OK;
}

static vg_err build_acct(vg_gen *g, gacct *ac, const char *domain, const char *name,
                         const char *sid, bool upn)
{
    vg_arena *a = &g->arena;
    ac->domain = esc_c(a, domain);
    ac->name = esc_c(a, name);
    ac->sid = esc_c(a, sid);
    if (upn) {
        char tmp[128], guid[33];
        snprintf(tmp, sizeof tmp, "%s@contoso.com", name);
        ac->upn = esc_c(a, tmp);
        gen_hex(hash_text(name, sid, g->o.seed), guid, 32);
        snprintf(tmp, sizeof tmp, "%.8s-%.4s-%.4s-%.4s-%.12s", guid, guid + 8, guid + 12,
                 guid + 16, guid + 20);
        ac->objid = esc_c(a, tmp);
    } else {
        ac->upn = esc_c(a, "");
        ac->objid = esc_c(a, "");
    }
    return ac->objid.p ? VG_OK : VG_ENOMEM;
}

void gen_set_proc(gproc *p, const gbin *b, const gacct *ac, const gproc *parent, int64_t pid,
                     vg_time created, gs cmd, int integ, int64_t logon)
{
    p->bin = b;
    p->acct = ac;
    p->parent = parent;
    p->pid = pid;
    p->created = created;
    p->cmd = cmd;
    p->integ = (uint8_t)integ;
    p->logon_id = logon;
    p->session = integ == GI_SYSTEM ? 0 : 1;
}

static gs sdup(vg_gen *g, const char *s) { return esc_c(&g->arena, s); }

static vg_err build_device(vg_gen *g, uint32_t i)
{
    gdev *d = &g->devs[i];
    vg_arena *a = &g->arena;
    char tmp[256], hex[41];
    gen_hex(hash_text("device", NULL, g->o.seed + i), hex, 40);
    memcpy(d->id, hex, 41);
    d->ids = (gs){ d->id, 40 };
    d->server = gen_rn(g, 100) < 8;
    if (d->server) {
        static const char *const roles[] = { "app", "sql", "web", "file", "rds" };
        snprintf(tmp, sizeof tmp, "srv-%s%02u.contoso.com", roles[i % 5], i / 5 % 100);
        d->os = 2;
    } else {
        static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        char suf[8];
        for (int k = 0; k < 7; k++)
            suf[k] = alnum[gen_rn(g, 36)];
        suf[7] = '\0';
        snprintf(tmp, sizeof tmp, "desktop-%s.contoso.com", suf);
        d->os = gen_rn(g, 100) < 60 ? 0 : 1;
    }
    d->name = esc_c(a, tmp);
    snprintf(tmp, sizeof tmp, "10.%u.%u.%u", 20 + i / 62500 % 200, i / 250 % 250, i % 250 + 2);
    d->ip = esc_c(a, tmp);
    snprintf(tmp, sizeof tmp, "%u.%u.%u.%u", 20 + gen_rn(g, 3) * 50, 40 + gen_rn(g, 8),
             gen_rn(g, 250) + 1, gen_rn(g, 250) + 1);
    d->pubip = esc_c(a, tmp);
    gen_hex(hash_text("aad", NULL, g->o.seed + i), hex, 32);
    snprintf(tmp, sizeof tmp, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
    d->aadid = esc_c(a, tmp);
    d->user = &g->users[i % g->nusers];
    d->next_pid = 1000 + 4 * (int64_t)gen_rn(g, 500);
    d->user_logon = 100000 + (int64_t)gen_rn(g, 9000000);
    if (!d->name.p || !d->aadid.p)
        return VG_ENOMEM;

    /* the long-lived processes: boot a few days before the run */
    vg_time boot = g->o.start - (vg_time)(1 + gen_rn(g, 5 * 86400)) * VG_TICKS_PER_SEC;
    gs none = sdup(g, "");
    gen_set_proc(&d->system, &g->bins[B_SYSTEM_IDLE], &g->sys, NULL, 4, boot, none, GI_SYSTEM, 999);
    gen_set_proc(&d->wininit, &g->bins[B_WININIT], &g->sys, &d->system, 500 + 4 * gen_rn(g, 60),
             boot + 3 * VG_TICKS_PER_SEC, sdup(g, "wininit.exe"), GI_SYSTEM, 999);
    gen_set_proc(&d->winlogon, &g->bins[B_WINLOGON], &g->sys, &d->system, 600 + 4 * gen_rn(g, 60),
             boot + 3 * VG_TICKS_PER_SEC, sdup(g, "winlogon.exe"), GI_SYSTEM, 999);
    gen_set_proc(&d->services, &g->bins[B_SERVICES], &g->sys, &d->wininit, 700 + 4 * gen_rn(g, 30),
             boot + 4 * VG_TICKS_PER_SEC, sdup(g, "C:\\Windows\\system32\\services.exe"),
             GI_SYSTEM, 999);
    gen_set_proc(&d->lsass, &g->bins[B_LSASS], &g->sys, &d->wininit, 820 + 4 * gen_rn(g, 30),
             boot + 4 * VG_TICKS_PER_SEC, sdup(g, "C:\\Windows\\system32\\lsass.exe"), GI_SYSTEM,
             999);
    gen_set_proc(&d->userinit, &g->bins[B_USERINIT], d->user, &d->winlogon, 4000 + 4 * gen_rn(g, 500),
             boot + 65 * VG_TICKS_PER_SEC, sdup(g, "C:\\Windows\\system32\\userinit.exe"),
             GI_MEDIUM, d->user_logon);
    gen_set_proc(&d->explorer, &g->bins[B_EXPLORER], d->user, &d->userinit, 6000 + 4 * gen_rn(g, 500),
             boot + 66 * VG_TICKS_PER_SEC, sdup(g, "C:\\Windows\\Explorer.EXE"), GI_MEDIUM,
             d->user_logon);
    size_t ngroups = gen_count_strs(gen_svchost_groups);
    for (int k = 0; k < GEN_SVCHOSTS; k++) {
        snprintf(tmp, sizeof tmp, "C:\\Windows\\system32\\svchost.exe %s",
                 gen_svchost_groups[k % ngroups]);
        gen_set_proc(&d->svchost[k], &g->bins[B_SVCHOST], k % 3 == 2 ? &g->netsvc : &g->sys,
                 &d->services, 900 + 8 * k + 4 * gen_rn(g, 400),
                 boot + (6 + k) * VG_TICKS_PER_SEC, sdup(g, tmp), GI_SYSTEM,
                 k % 3 == 2 ? 996 : 999);
    }
    gen_set_proc(&d->mssense, &g->bins[B_MSSENSE], &g->sys, &d->services, 3000 + 4 * gen_rn(g, 200),
             boot + 9 * VG_TICKS_PER_SEC,
             sdup(g, "\"C:\\Program Files\\Windows Defender Advanced Threat Protection\\MsSense.exe\""),
             GI_SYSTEM, 999);
    gen_set_proc(&d->msmpeng, &g->bins[B_MSMPENG], &g->sys, &d->services, 3600 + 4 * gen_rn(g, 200),
             boot + 8 * VG_TICKS_PER_SEC,
             sdup(g, "\"C:\\ProgramData\\Microsoft\\Windows Defender\\platform\\4.18.23110.3-0\\MsMpEng.exe\""),
             GI_SYSTEM, 999);
    return g->over ? VG_ENOMEM : VG_OK;
}

/* ---- the common InitiatingProcess* block ---- */

void gen_w_path(vg_gen *g, const char *key, size_t keyn, const gbin *b, const gacct *ac)
{
    w_put(g, key, keyn);
    if (b->profile) {
        w_put(g, "C:\\\\Users\\\\", 11);
        w_put(g, ac->name.p, ac->name.n);
        w_put(g, "\\\\", 2);
        w_put(g, b->dir.p, b->dir.n);
        w_put(g, "\\\\", 2);
        w_put(g, b->name.p, b->name.n);
    } else {
        w_put(g, b->path.p, b->path.n);
    }
    w_put(g, "\"", 1);
}

void gen_w_initiating(vg_gen *g, const gproc *p)
{
    const gbin *b = p->bin;
    const gacct *ac = p->acct;
    const gproc *pp = p->parent;
    WS(g, "InitiatingProcessAccountDomain", ac->domain);
    WS(g, "InitiatingProcessAccountName", ac->name);
    WS(g, "InitiatingProcessAccountSid", ac->sid);
    WS(g, "InitiatingProcessAccountUpn", ac->upn);
    WS(g, "InitiatingProcessAccountObjectId", ac->objid);
    WS(g, "InitiatingProcessIntegrityLevel", GS_C(integ_names[p->integ]));
    WS(g, "InitiatingProcessTokenElevation", GS_C(elev_names[p->integ]));
    WS(g, "InitiatingProcessSHA1", b->sha1s);
    WS(g, "InitiatingProcessSHA256", b->sha256s);
    WS(g, "InitiatingProcessMD5", b->md5s);
    WS(g, "InitiatingProcessFileName", b->name);
    WI(g, "InitiatingProcessFileSize", b->d->size);
    WS(g, "InitiatingProcessVersionInfoCompanyName", b->company);
    WS(g, "InitiatingProcessVersionInfoProductName", b->product);
    WS(g, "InitiatingProcessVersionInfoProductVersion", b->version);
    WS(g, "InitiatingProcessVersionInfoInternalFileName", b->orig);
    WS(g, "InitiatingProcessVersionInfoOriginalFileName", b->orig);
    WS(g, "InitiatingProcessVersionInfoFileDescription", b->desc);
    WI(g, "InitiatingProcessId", p->pid);
    WS(g, "InitiatingProcessCommandLine", p->cmd);
    WT(g, "InitiatingProcessCreationTime", p->created);
    WP(g, "InitiatingProcessFolderPath", b, ac);
    WI(g, "InitiatingProcessParentId", pp ? pp->pid : 0);
    WS(g, "InitiatingProcessParentFileName", pp ? pp->bin->name : GS_C(""));
    WT(g, "InitiatingProcessParentCreationTime", pp ? pp->created : p->created);
}

void gen_w_tail(vg_gen *g, const gproc *p)
{
    WI(g, "ReportId", (int64_t)g->report_id);
    WI(g, "InitiatingProcessSessionId", p->session);
    WB(g, "IsInitiatingProcessRemoteSession", false);
}

void gen_w_head(vg_gen *g, const char *table, size_t tablen, const gdev *d, const char *action)
{
    w_put(g, "{\"Table\":\"", 10);
    w_put(g, table, tablen);
    w_put(g, "\"", 1);
    WT(g, "Timestamp", g->t);
    WS(g, "DeviceId", d->ids);
    WS(g, "DeviceName", d->name);
    WS(g, "ActionType", GS_C(action));
}

const char *gen_integ_name(int i) { return integ_names[i]; }
const char *gen_elev_name(int i) { return elev_names[i]; }

/* ---- public API ---- */

const char *vg_gen_table_name(vg_gen_table t)
{
    static const char *const names[] = {
#define VG_GEN_NAME_(id, name) name,
        VG_GEN_TABLES(VG_GEN_NAME_)
#undef VG_GEN_NAME_
    };
    return (unsigned)t < VG_GEN_NTABLES ? names[t] : "?";
}

vg_err vg_gen_parse_tables(vg_str list, uint32_t *mask, vg_diag *d)
{
    *mask = 0;
    while (list.n) {
        ptrdiff_t c = vg_str_chr(list, ',');
        vg_str item = vg_str_trim(vg_str_make(list.p, c < 0 ? list.n : (size_t)c));
        list = c < 0 ? VG_STR_NULL : vg_str_make(list.p + c + 1, list.n - (size_t)c - 1);
        if (!item.n)
            continue;
        int found = -1;
        for (int t = 0; t < VG_GEN_NTABLES; t++)
            if (vg_str_eqc_ci(item, vg_gen_table_name((vg_gen_table)t)))
                found = t;
        if (found < 0)
            return vg_diag_set(d, VG_EINVAL,
                               "unknown table '%.*s' for gen (DeviceProcessEvents, "
                               "DeviceNetworkEvents, DeviceLogonEvents, DeviceFileEvents, "
                               "DeviceRegistryEvents, DeviceImageLoadEvents, DeviceInfo)",
                               VG_STR_FMT(item));
        *mask |= 1u << found;
    }
    return VG_OK;
}

vg_err vg_gen_open(const vg_gen_opts *o, vg_gen **out, vg_diag *d)
{
    *out = NULL;
    if (o->devices < 1 || o->devices > VG_GEN_MAX_DEVICES)
        return vg_diag_set(d, VG_EINVAL, "devices must be 1..%u", VG_GEN_MAX_DEVICES);
    if (o->days < 1 || o->days > VG_GEN_MAX_DAYS)
        return vg_diag_set(d, VG_EINVAL, "days must be 1..%u", VG_GEN_MAX_DAYS);
    if (o->start < 0 || o->start > VG_TIME_MAX - (vg_time)VG_GEN_MAX_DAYS * VG_TICKS_PER_DAY)
        return vg_diag_set(d, VG_EINVAL, "start time out of range");
    vg_gen *g = calloc(1, sizeof *g);
    if (!g)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    vg_err e = VG_OK;
    g->o = *o;
    g->mask = o->tables ? o->tables : (1u << VG_GEN_NTABLES) - 1;
    g->total = o->rows ? o->rows
                       : (uint64_t)o->devices * o->days * VG_GEN_ROWS_PER_DEVICE_DAY;
    g->span = (vg_time)o->days * VG_TICKS_PER_DAY;
    g->day_cached = INT64_MIN;
    g->report_id = 1 + (o->seed % 1000) * 1000;
    uint64_t sm = o->seed;
    for (int i = 0; i < 4; i++)
        g->s[i] = gen_splitmix(&sm);
    vg_arena_init(&g->arena, 1 << 20, 0);
    for (int i = 0; i < B_COUNT_; i++)
        if ((e = build_bin(g, &g->bins[i], &gen_bins[i])))
            goto fail;
    for (int i = 0; i < D_COUNT_; i++)
        if ((e = build_bin(g, &g->dlls[i], &gen_dlls[i])))
            goto fail;
    if ((e = build_acct(g, &g->sys, "nt authority", "system", "S-1-5-18", false)) ||
        (e = build_acct(g, &g->locsvc, "nt authority", "local service", "S-1-5-19", false)) ||
        (e = build_acct(g, &g->netsvc, "nt authority", "network service", "S-1-5-20", false)))
        goto fail;
    /* users: one per device (at least a few), in one domain */
    uint32_t dom[3] = { 1000000000u + (uint32_t)gen_rn(g, 1000000000u),
                        1000000000u + (uint32_t)gen_rn(g, 1000000000u),
                        100000000u + (uint32_t)gen_rn(g, 900000000u) };
    g->nusers = o->devices < 4 ? 4 : o->devices;
    g->users = calloc(g->nusers, sizeof *g->users);
    g->devs = calloc(o->devices, sizeof *g->devs);
    if (!g->users || !g->devs) {
        e = VG_ENOMEM;
        goto fail;
    }
    size_t nf = gen_count_strs(gen_first_names), nl = gen_count_strs(gen_last_names);
    for (uint32_t i = 0; i < g->nusers; i++) {
        char name[64], sid[96];
        size_t f = (i * 7 + (size_t)(o->seed % nf)) % nf, l = (i / nf + i * 3) % nl;
        uint32_t rep = (uint32_t)(i / (nf * nl));
        if (rep)
            snprintf(name, sizeof name, "%s.%s%u", gen_first_names[f], gen_last_names[l], rep);
        else
            snprintf(name, sizeof name, "%s.%s", gen_first_names[f], gen_last_names[l]);
        snprintf(sid, sizeof sid, "S-1-5-21-%u-%u-%u-%u", dom[0], dom[1], dom[2], 1104 + i);
        if ((e = build_acct(g, &g->users[i], "contoso", name, sid, true)))
            goto fail;
    }
    for (uint32_t i = 0; i < o->devices; i++)
        if ((e = build_device(g, i)))
            goto fail;
    if ((e = gen_episodes_init(g)))
        goto fail;
    g->t = o->start;
    *out = g;
    return VG_OK;
fail:
    vg_gen_close(g);
    return vg_diag_set(d, e, "cannot set up the generator: %s", vg_strerror(e));
}

void vg_gen_close(vg_gen *g)
{
    if (!g)
        return;
    vg_arena_free(&g->arena);
    free(g->users);
    free(g->devs);
    free(g);
}

vg_err vg_gen_fill(vg_gen *g, vg_buf *out, size_t want, bool *done)
{
    size_t start = out->n;
    g->out = out;
    while (g->done < g->total && out->n - start < want) {
        /* each episode starts at its slot on the timeline */
        vg_time base = g->o.start + (vg_time)((unsigned __int128)g->done * (uint64_t)g->span /
                                              g->total);
        g->t = base;
        g->scratch_n = 0;
        uint64_t before = g->done;
        gen_episode(g);
        if (g->nomem)
            return VG_ENOMEM;
        if (g->over)
            return VG_ELIMIT;   /* a row outgrew GEN_ROW_MAX: a bug in the catalog */
        if (g->done == before)
            g->idle++;
        else
            g->idle = 0;
        if (g->idle > 100000)
            return VG_EINVAL;   /* the table mask selects nothing the episodes write */
    }
    *done = g->done >= g->total;
    return VG_OK;
}

uint64_t vg_gen_rows_done(const vg_gen *g) { return g->done; }
uint64_t vg_gen_rows_total(const vg_gen *g) { return g->total; }
uint64_t vg_gen_rows_in(const vg_gen *g, vg_gen_table t)
{
    return (unsigned)t < VG_GEN_NTABLES ? g->per_table[t] : 0;
}
