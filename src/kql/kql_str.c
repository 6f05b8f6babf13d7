/*
 * kql_str.c - Kusto's string predicates (has, hasprefix, hassuffix,
 * contains, startswith, endswith and their _cs forms) and the per-query
 * cache of compiled regular expressions.
 *
 * Terms are maximal runs of ASCII alphanumerics and bytes >= 0x80 (so a
 * UTF-8 word stays one term). "has" is a match of the needle that starts and
 * ends on term boundaries: the byte before the match may not continue the
 * needle's first term, the byte after may not continue its last one. A
 * needle that starts or ends with a separator ("-b", "a-") has no boundary
 * to respect on that side. hasprefix only checks the start, hassuffix the end.
 * An empty needle matches everything, as contains "" does.
 *
 * contains is the hot path of most hunting queries (a needle over millions
 * of command lines): candidates are found 16 bytes at a time by comparing
 * the first and the last byte of the needle (case folded with | 0x20, which
 * only adds false candidates for non-letters) and then verified.
 *
 * Regexes: Kusto's dialect is RE2; PCRE2 accepts every RE2 construct that
 * matters in practice and more (backreferences, lookaround, possessive
 * quantifiers) which Kusto would reject. RE2 runs in linear time; PCRE2
 * backtracks, so every match has a match limit and a depth limit and a
 * catastrophic pattern stops the query with an error instead of hanging.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "kql/kql_val.h"

/* Patterns cached per query; past it the cache is emptied and refilled
 * (patterns built per row would otherwise grow it without bound). So a
 * kql_regex pointer stays valid only until the next kql_regex_get of another
 * pattern on the same ctx: callers match right after getting it. The cache
 * and its match data belong to one ctx, hence to one thread. */
#define KQL_REGEX_CACHE_MAX 256
/* Longest pattern accepted. */
#define KQL_REGEX_MAX_PATTERN 8192
/* Backtracking bounds of one match (PCRE2 match and depth limits). */
#define KQL_REGEX_MATCH_LIMIT 10000000u
#define KQL_REGEX_DEPTH_LIMIT 100000u
/* JIT stack of one compiled pattern. */
#define KQL_REGEX_JIT_STACK (1024 * 1024)

static const unsigned char lower_tab[256] = {
#define L4(i) ((unsigned char)((i) >= 'A' && (i) <= 'Z' ? (i) + 32 : (i)))
#define R4(i) L4(i), L4(i + 1), L4(i + 2), L4(i + 3)
#define R16(i) R4(i), R4(i + 4), R4(i + 8), R4(i + 12)
#define R64(i) R16(i), R16(i + 16), R16(i + 32), R16(i + 48)
    R64(0), R64(64), R64(128), R64(192)
#undef R64
#undef R16
#undef R4
#undef L4
};

static inline bool is_term(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static inline bool eq_ci(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower_tab[a[i]] != lower_tab[b[i]])
            return false;
    return true;
}

/* First position >= from where needle occurs (ASCII case-insensitive), or -1.
 * needle.n >= 1. */
static ptrdiff_t find_ci(vg_str hay, vg_str needle, size_t from)
{
    const unsigned char *h = (const unsigned char *)hay.p;
    const unsigned char *nd = (const unsigned char *)needle.p;
    size_t m = needle.n;
    if (hay.n < m || from > hay.n - m)
        return -1;
    size_t last = hay.n - m;   /* last possible start */
    size_t i = from;
#ifdef __SSE2__
    const __m128i fold = _mm_set1_epi8(0x20);
    const __m128i first = _mm_set1_epi8((char)(nd[0] | 0x20));
    const __m128i lastc = _mm_set1_epi8((char)(nd[m - 1] | 0x20));
    while (i + 16 <= last + 1) {
        __m128i a = _mm_or_si128(_mm_loadu_si128((const __m128i *)(h + i)), fold);
        __m128i b = _mm_or_si128(_mm_loadu_si128((const __m128i *)(h + i + m - 1)), fold);
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, lastc)));
        while (mask) {
            unsigned bit = (unsigned)__builtin_ctz(mask);
            if (eq_ci(h + i + bit, nd, m))
                return (ptrdiff_t)(i + bit);
            mask &= mask - 1;
        }
        i += 16;
    }
#endif
    unsigned char f = lower_tab[nd[0]], l = lower_tab[nd[m - 1]];
    for (; i <= last; i++)
        if (lower_tab[h[i]] == f && lower_tab[h[i + m - 1]] == l &&
            (m <= 2 || eq_ci(h + i + 1, nd + 1, m - 2)))
            return (ptrdiff_t)i;
    return -1;
}

static ptrdiff_t find_cs(vg_str hay, vg_str needle, size_t from)
{
    if (hay.n < needle.n || from > hay.n - needle.n)
        return -1;
    const char *p = memmem(hay.p + from, hay.n - from, needle.p, needle.n);
    return p ? p - hay.p : -1;
}

static inline ptrdiff_t find(vg_str hay, vg_str needle, size_t from, bool cs)
{
    return cs ? find_cs(hay, needle, from) : find_ci(hay, needle, from);
}

bool kql_str_contains(vg_str hay, vg_str needle, bool cs)
{
    if (needle.n == 0)
        return true;
    return find(hay, needle, 0, cs) >= 0;
}

bool kql_str_startswith(vg_str hay, vg_str needle, bool cs)
{
    if (needle.n > hay.n)
        return false;
    if (needle.n == 0)
        return true;
    return cs ? memcmp(hay.p, needle.p, needle.n) == 0
              : eq_ci((const unsigned char *)hay.p, (const unsigned char *)needle.p, needle.n);
}

bool kql_str_endswith(vg_str hay, vg_str needle, bool cs)
{
    if (needle.n > hay.n)
        return false;
    if (needle.n == 0)
        return true;
    const char *t = hay.p + hay.n - needle.n;
    return cs ? memcmp(t, needle.p, needle.n) == 0
              : eq_ci((const unsigned char *)t, (const unsigned char *)needle.p, needle.n);
}

/* Term-aligned search: a match at pos is accepted when (check_start) the
 * needle's first byte is a separator or the byte before pos is not a term
 * byte, and likewise (check_end) at the end. */
static bool term_find(vg_str hay, vg_str needle, bool cs, bool check_start, bool check_end)
{
    if (needle.n == 0)
        return true;
    const unsigned char *h = (const unsigned char *)hay.p;
    bool need_start = check_start && is_term((unsigned char)needle.p[0]);
    bool need_end = check_end && is_term((unsigned char)needle.p[needle.n - 1]);
    size_t from = 0;
    for (;;) {
        ptrdiff_t pos = find(hay, needle, from, cs);
        if (pos < 0)
            return false;
        size_t s = (size_t)pos, e = s + needle.n;
        bool ok_start = !need_start || s == 0 || !is_term(h[s - 1]);
        bool ok_end = !need_end || e == hay.n || !is_term(h[e]);
        if (ok_start && ok_end)
            return true;
        from = s + 1;
        if (need_start && !ok_start) {
            /* skip to the end of the term we landed in: no aligned start before it */
            while (from < hay.n && is_term(h[from]))
                from++;
        }
    }
}

bool kql_str_has(vg_str hay, vg_str needle, bool cs) { return term_find(hay, needle, cs, true, true); }
bool kql_str_hasprefix(vg_str hay, vg_str needle, bool cs) { return term_find(hay, needle, cs, true, false); }
bool kql_str_hassuffix(vg_str hay, vg_str needle, bool cs) { return term_find(hay, needle, cs, false, true); }

/* ---- regex cache ---- */

struct kql_regex {
    kql_regex *next;
    char *pattern;               /* malloc'd copy, the cache key */
    size_t pattern_n;
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    kql_ctx *ctx;                /* for errors raised while matching */
};

struct kql_regex_cache {
    kql_regex *head;
    unsigned count;
};

static void regex_free(kql_regex *re)
{
    if (re->md)
        pcre2_match_data_free(re->md);
    if (re->mctx)
        pcre2_match_context_free(re->mctx);
    if (re->jit_stack)
        pcre2_jit_stack_free(re->jit_stack);
    if (re->code)
        pcre2_code_free(re->code);
    free(re->pattern);
    free(re);
}

static void cache_clear(struct kql_regex_cache *c)
{
    kql_regex *re = c->head;
    while (re) {
        kql_regex *next = re->next;
        regex_free(re);
        re = next;
    }
    c->head = NULL;
    c->count = 0;
}

void kql_ctx_free_regexes(kql_ctx *ctx)
{
    if (!ctx || !ctx->regexes)
        return;
    cache_clear(ctx->regexes);
    free(ctx->regexes);
    ctx->regexes = NULL;
}

/* Records the first error of the query. */
static void set_err(kql_ctx *ctx, vg_err e)
{
    if (ctx->err == VG_OK)
        ctx->err = e;
}

#define PAT_FMT(x) (int)((x).n > 200 ? 200 : (x).n), ((x).p ? (x).p : "")

kql_regex *kql_regex_get(kql_ctx *ctx, vg_str pattern)
{
    if (!ctx->regexes) {
        ctx->regexes = calloc(1, sizeof *ctx->regexes);
        if (!ctx->regexes) {
            set_err(ctx, vg_diag_set(ctx->diag, VG_ENOMEM, "out of memory compiling a regular expression"));
            return NULL;
        }
    }
    struct kql_regex_cache *c = ctx->regexes;
    for (kql_regex *re = c->head; re; re = re->next)
        if (re->pattern_n == pattern.n && (pattern.n == 0 || memcmp(re->pattern, pattern.p, pattern.n) == 0)) {
            re->ctx = ctx;
            return re;
        }
    if (pattern.n > KQL_REGEX_MAX_PATTERN)
    {
        if (ctx->err == VG_OK)
            vg_diag_set(ctx->diag, VG_ELIMIT, "regular expression '%.*s...' is longer than %zu bytes",
                        PAT_FMT(pattern), (size_t)KQL_REGEX_MAX_PATTERN);
        set_err(ctx, VG_ELIMIT);
        return NULL;
    }
    if (c->count >= KQL_REGEX_CACHE_MAX)
        cache_clear(c);

    kql_regex *re = calloc(1, sizeof *re);
    if (!re || !(re->pattern = malloc(pattern.n + 1))) {
        free(re);
        set_err(ctx, vg_diag_set(ctx->diag, VG_ENOMEM, "out of memory compiling a regular expression"));
        return NULL;
    }
    if (pattern.n)
        memcpy(re->pattern, pattern.p, pattern.n);
    re->pattern[pattern.n] = '\0';
    re->pattern_n = pattern.n;
    re->ctx = ctx;

    int errcode;
    PCRE2_SIZE erroff;
    re->code = pcre2_compile((PCRE2_SPTR)re->pattern, pattern.n, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                             &errcode, &erroff, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(errcode, msg, sizeof msg) < 0)
            memcpy(msg, "unknown error", sizeof "unknown error");
        if (ctx->err == VG_OK)
            vg_diag_set(ctx->diag, VG_EPARSE, "invalid regular expression '%.*s': %s at offset %zu",
                        PAT_FMT(pattern), (const char *)msg, (size_t)erroff);
        set_err(ctx, VG_EPARSE);
        regex_free(re);
        return NULL;
    }
    if (pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0) {
        re->jit_stack = pcre2_jit_stack_create(32 * 1024, KQL_REGEX_JIT_STACK, NULL);
    }
    re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
    re->mctx = pcre2_match_context_create(NULL);
    if (!re->md || !re->mctx) {
        regex_free(re);
        set_err(ctx, vg_diag_set(ctx->diag, VG_ENOMEM, "out of memory compiling a regular expression"));
        return NULL;
    }
    pcre2_set_match_limit(re->mctx, KQL_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(re->mctx, KQL_REGEX_DEPTH_LIMIT);
    if (re->jit_stack)
        pcre2_jit_stack_assign(re->mctx, NULL, re->jit_stack);
    re->next = c->head;
    c->head = re;
    c->count++;
    return re;
}

int kql_regex_match(kql_regex *re, vg_str subject, size_t start, size_t *ovec, int max_groups)
{
    if (!re)
        return -1;
    if (start > subject.n)
        return 0;
    const char *p = subject.p ? subject.p : "";
    int rc = pcre2_match(re->code, (PCRE2_SPTR)p, subject.n, start, 0, re->md, re->mctx);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
            memcpy(msg, "unknown error", sizeof "unknown error");
        kql_ctx *ctx = re->ctx;
        if (ctx && ctx->err == VG_OK) {
            ctx->err = VG_ELIMIT;
            vg_diag_set(ctx->diag, VG_ELIMIT, "regular expression '%.*s' could not be matched: %s",
                        (int)(re->pattern_n > 200 ? 200 : re->pattern_n), re->pattern, (const char *)msg);
        }
        return -1;
    }
    if (rc == 0)
        rc = (int)pcre2_get_ovector_count(re->md);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    int n = rc < max_groups ? rc : max_groups;
    for (int g = 0; g < n; g++) {
        /* unset groups read as (SIZE_MAX, SIZE_MAX) */
        ovec[2 * g] = ov[2 * g] == PCRE2_UNSET ? (size_t)-1 : (size_t)ov[2 * g];
        ovec[2 * g + 1] = ov[2 * g + 1] == PCRE2_UNSET ? (size_t)-1 : (size_t)ov[2 * g + 1];
    }
    return n > 0 ? n : 1;
}

int kql_regex_groups(const kql_regex *re)
{
    uint32_t n = 0;
    if (re && pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &n) != 0)
        return 0;
    return (int)n;
}
