/*
 * detect_match.c - pattern databases: every value of every rule on one field
 * of one logsource group, folded into one multi-pattern matcher.
 *
 * Values arrive as canonical globs (sigma.h) or regexes. A glob becomes a
 * regex (`*` -> `.*`, `?` -> `.`, everything else escaped, `\A`/`\z` for
 * the anchors); identical patterns from different rules are stored once,
 * with the list of items each hit goes to. With Hyperscan the database is one
 * block-mode hs_database_t (SINGLEMATCH: a pattern reports once per value);
 * the portable path (arm64, or --portable) compiles each pattern with PCRE2
 * JIT and tries them in turn: slower, the same answers.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#ifdef VG_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

#include "detect_int.h"

/* ---- globs ---- */

static bool is_meta(unsigned char c)
{
    return strchr("\\^$.|?*+()[]{}/#- \t\n\r\f\v", c) != NULL && c != 0;
}

void dt_glob_regex(vg_buf *b, vg_str glob, sg_anchor anchor)
{
    if (anchor == SG_ANCHOR_EXACT || anchor == SG_ANCHOR_STARTSWITH)
        vg_buf_puts(b, "\\A");
    for (size_t i = 0; i < glob.n; i++) {
        unsigned char c = (unsigned char)glob.p[i];
        if (c == '\\' && i + 1 < glob.n &&
            (glob.p[i + 1] == '*' || glob.p[i + 1] == '?' || glob.p[i + 1] == '\\')) {
            c = (unsigned char)glob.p[++i];
            vg_buf_putc(b, '\\');
            vg_buf_putc(b, (char)c);
            continue;
        }
        if (c == '*') {
            vg_buf_puts(b, ".*");
        } else if (c == '?') {
            vg_buf_putc(b, '.');
        } else if (c >= 0x80 || c < 0x20) {
            vg_buf_printf(b, "\\x%02x", c);
        } else if (is_meta(c)) {
            vg_buf_putc(b, '\\');
            vg_buf_putc(b, (char)c);
        } else {
            vg_buf_putc(b, (char)c);
        }
    }
    if (anchor == SG_ANCHOR_EXACT || anchor == SG_ANCHOR_ENDSWITH)
        vg_buf_puts(b, "\\z");
}

static inline unsigned char fold(unsigned char c, bool cased)
{
    return cased || c < 'A' || c > 'Z' ? c : (unsigned char)(c + 32);
}

/* Iterative glob match with one backtrack point per star (linear-ish). */
static bool glob_here(const char *g, size_t gn, const char *s, size_t sn, bool cased, bool prefix)
{
    size_t gi = 0, si = 0, star_g = SIZE_MAX, star_s = 0;
    while (si < sn || gi < gn) {
        if (gi < gn) {
            unsigned char c = (unsigned char)g[gi];
            bool lit = false;
            size_t step = 1;
            if (c == '\\' && gi + 1 < gn &&
                (g[gi + 1] == '*' || g[gi + 1] == '?' || g[gi + 1] == '\\')) {
                c = (unsigned char)g[gi + 1];
                lit = true;
                step = 2;
            }
            if (!lit && c == '*') {
                star_g = gi++;
                star_s = si;
                continue;
            }
            if (si < sn && ((!lit && c == '?') ||
                            fold(c, cased) == fold((unsigned char)s[si], cased))) {
                gi += step;
                si++;
                continue;
            }
        } else if (prefix) {
            return true;
        }
        if (star_g == SIZE_MAX || star_s >= sn)
            return false;
        gi = star_g + 1;
        si = ++star_s;
    }
    return true;
}

bool dt_glob_match(vg_str glob, sg_anchor anchor, bool cased, vg_str v)
{
    switch (anchor) {
    case SG_ANCHOR_EXACT:
        return glob_here(glob.p, glob.n, v.p, v.n, cased, false);
    case SG_ANCHOR_STARTSWITH:
        return glob_here(glob.p, glob.n, v.p, v.n, cased, true);
    case SG_ANCHOR_ENDSWITH:
        for (size_t i = 0; i <= v.n; i++)
            if (glob_here(glob.p, glob.n, v.p + i, v.n - i, cased, false))
                return true;
        return false;
    case SG_ANCHOR_CONTAINS:
        for (size_t i = 0; i <= v.n; i++)
            if (glob_here(glob.p, glob.n, v.p + i, v.n - i, cased, true))
                return true;
        return false;
    }
    return false;
}

/* ---- building ---- */

static vg_err db_add(dt_db *db, vg_arena *a, const char *regex, size_t n, uint32_t flags,
                     dt_target t)
{
    if (!db->index.slots && db->npats == 0)
        vg_map_init(&db->index, false);
    char key[16];
    int kn = snprintf(key, sizeof key, "%u:", flags);
    char *k = vg_arena_alloc(a, (size_t)kn + n + 1);
    if (!k)
        return VG_ENOMEM;
    memcpy(k, key, (size_t)kn);
    memcpy(k + kn, regex, n);
    k[kn + n] = 0;
    bool found = false;
    uintptr_t idx = (uintptr_t)vg_map_get(&db->index, vg_str_make(k, (size_t)kn + n), &found);
    dt_pat *p;
    if (found) {
        p = &db->pats[idx - 1];
    } else {
        if (vg_array_grow((void **)&db->pats, &db->cap, db->npats + 1, sizeof *db->pats))
            return VG_ENOMEM;
        p = &db->pats[db->npats++];
        p->regex = k + kn;
        p->flags = flags;
        if (vg_map_put(&db->index, vg_str_make(k, (size_t)kn + n), (void *)(uintptr_t)db->npats))
            return VG_ENOMEM;
    }
    for (uint32_t i = 0; i < p->ntargets; i++)
        if (p->targets[i].item == t.item && p->targets[i].bit == t.bit)
            return VG_OK;
    if (vg_array_grow((void **)&p->targets, &p->tcap, p->ntargets + 1, sizeof *p->targets))
        return VG_ENOMEM;
    p->targets[p->ntargets++] = t;
    return VG_OK;
}

vg_err dt_db_add_glob(dt_db *db, vg_arena *a, vg_str glob, sg_anchor anchor, bool cased,
                      dt_target t)
{
    vg_buf b;
    vg_buf_init(&b, (size_t)SG_MAX_VALUE * 4 + 16);
    dt_glob_regex(&b, glob, anchor);
    vg_err e = b.failed ? VG_ELIMIT
                        : db_add(db, a, b.p ? b.p : "", b.n, DT_PF_DOTALL | (cased ? 0 : DT_PF_CASELESS), t);
    vg_buf_free(&b);
    return e;
}

vg_err dt_db_add_re(dt_db *db, vg_arena *a, vg_str re, uint32_t re_flags, dt_target t, bool portable)
{
    uint32_t flags = (re_flags & SG_RE_I ? DT_PF_CASELESS : 0) |
                     (re_flags & SG_RE_M ? DT_PF_MULTILINE : 0) |
                     (re_flags & SG_RE_S ? DT_PF_DOTALL : 0);
    if (memchr(re.p, 0, re.n))
        return VG_EUNSUPPORTED;
#ifdef VG_HAVE_HYPERSCAN
    if (!portable) {
        char *z = vg_arena_alloc(a, re.n + 1);
        if (!z)
            return VG_ENOMEM;
        memcpy(z, re.p, re.n);
        z[re.n] = 0;
        hs_expr_info_t *info = NULL;
        hs_compile_error_t *err = NULL;
        unsigned hf = HS_FLAG_ALLOWEMPTY | (flags & DT_PF_CASELESS ? HS_FLAG_CASELESS : 0) |
                      (flags & DT_PF_MULTILINE ? HS_FLAG_MULTILINE : 0) |
                      (flags & DT_PF_DOTALL ? HS_FLAG_DOTALL : 0);
        if (hs_expression_info(z, hf, &info, &err) != HS_SUCCESS) {
            hs_free_compile_error(err);
            return VG_EUNSUPPORTED;
        }
        free(info);
    }
#else
    (void)portable;
#endif
    return db_add(db, a, re.p, re.n, flags, t);
}

static uint32_t pcre_flags(uint32_t f)
{
    return (f & DT_PF_CASELESS ? PCRE2_CASELESS : 0) | (f & DT_PF_DOTALL ? PCRE2_DOTALL : 0) |
           (f & DT_PF_MULTILINE ? PCRE2_MULTILINE : 0);
}

static vg_err compile_portable(dt_db *db, vg_diag *d)
{
    db->re = calloc(db->npats ? db->npats : 1, sizeof *db->re);
    if (!db->re)
        return VG_ENOMEM;
    for (uint32_t i = 0; i < db->npats; i++) {
        int ec;
        PCRE2_SIZE off;
        db->re[i] = pcre2_compile((PCRE2_SPTR)db->pats[i].regex, PCRE2_ZERO_TERMINATED,
                                  pcre_flags(db->pats[i].flags), &ec, &off, NULL);
        if (!db->re[i]) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ec, msg, sizeof msg);
            return vg_diag_set(d, VG_EPARSE, "regex /%s/ at offset %zu: %s", db->pats[i].regex,
                               (size_t)off, (const char *)msg);
        }
        pcre2_jit_compile(db->re[i], PCRE2_JIT_COMPLETE);
    }
    db->portable = true;
    return VG_OK;
}

#ifdef VG_HAVE_HYPERSCAN
/* The cache file of a database: its patterns and flags hashed (XXH3-128),
 * with the Hyperscan version, so a changed set or library never loads. */
static void cache_path(const dt_db *db, const char *dir, char *out, size_t cap)
{
    XXH3_state_t *st = XXH3_createState();
    XXH3_128bits_reset(st);
    XXH3_128bits_update(st, hs_version(), strlen(hs_version()));
    for (uint32_t i = 0; i < db->npats; i++) {
        XXH3_128bits_update(st, &db->pats[i].flags, sizeof db->pats[i].flags);
        XXH3_128bits_update(st, db->pats[i].regex, strlen(db->pats[i].regex) + 1);
    }
    XXH128_hash_t h = XXH3_128bits_digest(st);
    XXH3_freeState(st);
    snprintf(out, cap, "%s/%016llx%016llx.hsdb", dir, (unsigned long long)h.high64,
             (unsigned long long)h.low64);
}

static bool cache_load(dt_db *db, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool ok = false;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && n < (1L << 31) && fseek(f, 0, SEEK_SET) == 0) {
            char *buf = malloc((size_t)n);
            hs_database_t *hdb = NULL;
            if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n &&
                hs_deserialize_database(buf, (size_t)n, &hdb) == HS_SUCCESS) {
                db->hs = hdb;
                ok = true;
            }
            free(buf);
        }
    }
    fclose(f);
    return ok;
}

static void cache_store(const dt_db *db, const char *dir, const char *path)
{
    char *bytes = NULL;
    size_t n = 0;
    if (hs_serialize_database(db->hs, &bytes, &n) != HS_SUCCESS)
        return;
    mkdir(dir, 0700);
    char tmp[PATH_MAX + 32];
    if (snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof tmp) {
        free(bytes);
        return;
    }
    FILE *f = fopen(tmp, "wb");
    if (f) {
        bool ok = fwrite(bytes, 1, n, f) == n;
        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path) != 0)
            unlink(tmp);
    }
    free(bytes);
}
#endif

vg_err dt_db_compile(dt_db *db, bool portable, const char *cache_dir, vg_diag *d)
{
    vg_map_free(&db->index);
    memset(&db->index, 0, sizeof db->index);
    if (db->npats == 0)
        return VG_OK;
#ifdef VG_HAVE_HYPERSCAN
    if (!portable) {
        char path[PATH_MAX] = "";
        if (cache_dir) {
            cache_path(db, cache_dir, path, sizeof path);
            if (cache_load(db, path))
                return VG_OK;
        }
        const char **ex = malloc(db->npats * sizeof *ex);
        unsigned *fl = malloc(db->npats * sizeof *fl);
        unsigned *ids = malloc(db->npats * sizeof *ids);
        if (!ex || !fl || !ids) {
            free(ex), free(fl), free(ids);
            return VG_ENOMEM;
        }
        for (uint32_t i = 0; i < db->npats; i++) {
            uint32_t f = db->pats[i].flags;
            ex[i] = db->pats[i].regex;
            fl[i] = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY |
                    (f & DT_PF_CASELESS ? HS_FLAG_CASELESS : 0) |
                    (f & DT_PF_DOTALL ? HS_FLAG_DOTALL : 0) |
                    (f & DT_PF_MULTILINE ? HS_FLAG_MULTILINE : 0);
            ids[i] = i;
        }
        hs_database_t *hdb = NULL;
        hs_compile_error_t *err = NULL;
        hs_error_t he = hs_compile_multi(ex, fl, ids, db->npats, HS_MODE_BLOCK, NULL, &hdb, &err);
        free(ex), free(fl), free(ids);
        if (he == HS_SUCCESS) {
            db->hs = hdb;
            if (cache_dir)
                cache_store(db, cache_dir, path);
            return VG_OK;
        }
        /* a pattern Hyperscan refused as a whole set (size, resource
         * limits): this database takes the portable path */
        hs_free_compile_error(err);
    }
#else
    (void)cache_dir;
#endif
    return compile_portable(db, d);
}

void dt_db_free(dt_db *db)
{
    for (uint32_t i = 0; i < db->npats; i++)
        free(db->pats[i].targets);
    if (db->re) {
        for (uint32_t i = 0; i < db->npats; i++)
            pcre2_code_free(db->re[i]);
        free(db->re);
    }
#ifdef VG_HAVE_HYPERSCAN
    if (db->hs)
        hs_free_database(db->hs);
#endif
    vg_map_free(&db->index);
    free(db->pats);
    free(db->empty);
    memset(db, 0, sizeof *db);
}

/* ---- scanning ---- */

vg_err dt_db_scratch(const dt_db *db, void **scratch)
{
#ifdef VG_HAVE_HYPERSCAN
    if (db->hs) {
        hs_scratch_t *s = *scratch;
        if (hs_alloc_scratch(db->hs, &s) != HS_SUCCESS)
            return VG_ENOMEM;
        *scratch = s;
    }
#else
    (void)db, (void)scratch;
#endif
    return VG_OK;
}

void dt_scratch_free(void *scratch)
{
#ifdef VG_HAVE_HYPERSCAN
    if (scratch)
        hs_free_scratch(scratch);
#else
    (void)scratch;
#endif
}

#ifdef VG_HAVE_HYPERSCAN
typedef struct hs_cb {
    const dt_db *db;
    dt_hit_fn fn;
    void *ctx;
} hs_cb;

static int on_hs(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                 void *ctx)
{
    hs_cb *c = ctx;
    c->fn(c->ctx, &c->db->pats[id]);
    return 0;
}
#endif

vg_err dt_db_scan(const dt_db *db, void *scratch, pcre2_match_data *md, vg_str v, dt_hit_fn fn,
                  void *ctx)
{
    if (db->npats == 0)
        return VG_OK;
    static const char empty[1] = "";
    const char *p = v.p ? v.p : empty;
#ifdef VG_HAVE_HYPERSCAN
    if (db->hs) {
        hs_cb c = { db, fn, ctx };
        if (v.n > UINT32_MAX)
            return VG_ELIMIT;
        hs_error_t e = hs_scan(db->hs, p, (unsigned)v.n, 0, scratch, on_hs, &c);
        return e == HS_SUCCESS ? VG_OK : VG_EINVAL;
    }
#endif
    for (uint32_t i = 0; i < db->npats; i++) {
        int rc = pcre2_match(db->re[i], (PCRE2_SPTR)p, v.n, 0, 0, md, NULL);
        if (rc >= 0)
            fn(ctx, &db->pats[i]);
    }
    return VG_OK;
}
