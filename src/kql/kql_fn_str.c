/*
 * kql_fn_str.c - Kusto's string scalar functions: lengths and slices, case,
 * trims, split and concatenation, replace, the regex functions (extract,
 * extract_all, replace_regex, countof), encodings (base64, URL), hashes,
 * tohex, tostring/isempty/isnotempty and parse_command_line.
 *
 * Every function follows Kusto's null rules: a string is never null (a
 * null string reads as ""), arguments of other types are converted with
 * tostring where Kusto does so, and bad input yields an empty or null result
 * rather than an error. Positions and lengths (strlen, substring, indexof,
 * reverse) count Unicode code points of the UTF-8 text; string_size counts
 * bytes. Case mapping (tolower/toupper) is ASCII only.
 *
 * Results are allocated in ctx->arena. Outputs longer than KQL_STR_MAX_OUT
 * stop the query with VG_ELIMIT.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "kql/kql_val.h"

/* Longest string a function may build. */
#define KQL_STR_MAX_OUT (64u << 20)
/* Most capture groups read from one regex match. */
#define KQL_MAX_GROUPS 32
/* Most elements of an array built by split, extract_all, parse_command_line. */
#define KQL_MAX_ARRAY (1u << 20)

/* ---- helpers ---- */

static vg_str arg_str(kql_ctx *ctx, kql_val v) { return kql_to_string(ctx->arena, v); }

/* An integer argument: false when null or not a number. */
static bool arg_long(kql_val v, int64_t *out)
{
    if (v.null)
        return false;
    if (v.t == VG_T_INT || v.t == VG_T_LONG || v.t == VG_T_BOOL) {
        *out = v.u.i;
        return true;
    }
    kql_val c = kql_cast(NULL, v, VG_T_LONG);
    if (c.null)
        return false;
    *out = c.u.i;
    return true;
}

static kql_val empty_str(void) { return kql_string(VG_STR_LIT("")); }

/* Turns a finished buffer into an arena string (and frees the buffer). */
static kql_val buf_result(kql_ctx *ctx, vg_buf *b)
{
    kql_val r = empty_str();
    if (b->failed) {
        if (ctx->err == VG_OK)
            ctx->err = vg_diag_set(ctx->diag, VG_ELIMIT, "string result longer than %u bytes",
                                   KQL_STR_MAX_OUT);
    } else if (b->n) {
        vg_str s = vg_str_dup(ctx->arena, vg_str_make(b->p, b->n));
        if (s.p)
            r = kql_string(s);
        else if (ctx->err == VG_OK)
            ctx->err = vg_diag_set(ctx->diag, VG_ENOMEM, "out of memory building a string");
    }
    vg_buf_free(b);
    return r;
}

static inline bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Number of code points of s. */
static int64_t cp_count(vg_str s)
{
    int64_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        n += !is_cont((unsigned char)s.p[i]);
    return n;
}

/* Byte offset of code point k of s (s.n when past the end). */
static size_t cp_off(vg_str s, int64_t k)
{
    size_t i = 0;
    while (k > 0 && i < s.n) {
        i++;
        while (i < s.n && is_cont((unsigned char)s.p[i]))
            i++;
        k--;
    }
    return i;
}

/* Code point index of byte offset off. */
static int64_t cp_index(vg_str s, size_t off)
{
    return cp_count(vg_str_make(s.p, off < s.n ? off : s.n));
}

/* Byte length of the code point at i (at least 1). */
static size_t cp_len_at(vg_str s, size_t i)
{
    size_t j = i + 1;
    while (j < s.n && is_cont((unsigned char)s.p[j]))
        j++;
    return j - i;
}

static vg_str slice(vg_str s, size_t a, size_t b) { return vg_str_make(s.p + a, b - a); }

static kql_val dyn_str(kql_ctx *ctx, vg_json *arr, vg_str s)
{
    const vg_json *el = kql_dyn_from(ctx->arena, kql_string(s));
    if (!el || !kql_dyn_push(arr, el))
        return kql_null(VG_T_DYNAMIC);
    return kql_dynamic(arr);
}

/* ---- lengths, slices, case ---- */

static kql_val fn_strlen(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    return kql_long(cp_count(arg_str(ctx, a[0])));
}

static kql_val fn_string_size(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    return kql_long((int64_t)arg_str(ctx, a[0]).n);
}

static kql_val fn_substring(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    int64_t start, len, total = cp_count(s);
    if (!arg_long(a[1], &start))
        return empty_str();
    if (start < 0)
        start = start + total < 0 ? 0 : start + total;
    if (start >= total)
        return empty_str();
    if (n > 2) {
        if (!arg_long(a[2], &len) || len <= 0)
            return empty_str();
    } else {
        len = total;
    }
    size_t b0 = cp_off(s, start);
    size_t b1 = len >= total - start ? s.n : b0 + cp_off(vg_str_make(s.p + b0, s.n - b0), len);
    return kql_string(slice(s, b0, b1));
}

/* Case mapping of one two-byte code point for the scripts whose upper and
 * lower cases have the same UTF-8 length (Latin-1, Greek, Cyrillic). */
static unsigned map_cp(unsigned c, bool upper)
{
    if (upper) {
        if ((c >= 0xE0 && c <= 0xFE && c != 0xF7) || (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) ||
            (c >= 0x430 && c <= 0x44F))
            return c - 0x20;
        if (c >= 0x450 && c <= 0x45F)
            return c - 0x50;
    } else {
        if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3A9) ||
            (c >= 0x410 && c <= 0x42F))
            return c + 0x20;
        if (c >= 0x400 && c <= 0x40F)
            return c + 0x50;
    }
    return c;
}

static kql_val map_case(kql_ctx *ctx, kql_val v, bool upper)
{
    vg_str s = arg_str(ctx, v);
    char *p = vg_arena_alloc(ctx->arena, s.n + 1);
    if (!p)
        return empty_str();
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (upper && c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 32);
        else if (!upper && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        else if (c >= 0xC2 && c <= 0xDF && i + 1 < s.n && ((unsigned char)s.p[i + 1] & 0xC0) == 0x80) {
            unsigned cp = (unsigned)(c & 0x1F) << 6 | ((unsigned char)s.p[i + 1] & 0x3F);
            unsigned m = map_cp(cp, upper);
            p[i] = (char)(0xC0 | m >> 6);
            p[i + 1] = (char)(0x80 | (m & 0x3F));
            i++;
            continue;
        }
        p[i] = (char)c;
    }
    p[s.n] = '\0';
    return kql_string(vg_str_make(p, s.n));
}

static kql_val fn_tolower(kql_ctx *ctx, const kql_val *a, uint32_t n) { return map_case(ctx, a[0], false); }
static kql_val fn_toupper(kql_ctx *ctx, const kql_val *a, uint32_t n) { return map_case(ctx, a[0], true); }

static kql_val fn_reverse(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    char *p = vg_arena_alloc(ctx->arena, s.n + 1);
    if (!p)
        return empty_str();
    size_t o = s.n;
    for (size_t i = 0; i < s.n;) {
        size_t l = cp_len_at(s, i);
        o -= l;
        memcpy(p + o, s.p + i, l);
        i += l;
    }
    p[s.n] = '\0';
    return kql_string(vg_str_make(p, s.n));
}

static kql_val fn_tostring(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    return kql_string(arg_str(ctx, a[0]));
}

static bool val_empty(kql_val v)
{
    if (v.t == VG_T_STRING)
        return v.u.s.n == 0;
    if (v.null)
        return true;
    if (v.t == VG_T_DYNAMIC && v.u.d->kind == VG_JSON_STRING)
        return v.u.d->str.n == 0;
    return false;
}

static kql_val fn_isempty(kql_ctx *ctx, const kql_val *a, uint32_t n) { return kql_bool(val_empty(a[0])); }
static kql_val fn_isnotempty(kql_ctx *ctx, const kql_val *a, uint32_t n) { return kql_bool(!val_empty(a[0])); }

static kql_val fn_strcmp(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int c = vg_str_cmp(arg_str(ctx, a[0]), arg_str(ctx, a[1]));
    return kql_long(c < 0 ? -1 : c > 0);
}

/* ---- concatenation and split ---- */

static kql_val fn_strcat(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_buf b;
    vg_buf_init(&b, KQL_STR_MAX_OUT);
    for (uint32_t i = 0; i < n; i++)
        kql_val_text(&b, a[i]);
    return buf_result(ctx, &b);
}

static kql_val fn_strcat_delim(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str d = arg_str(ctx, a[0]);
    vg_buf b;
    vg_buf_init(&b, KQL_STR_MAX_OUT);
    for (uint32_t i = 1; i < n; i++) {
        if (i > 1)
            vg_buf_putstr(&b, d);
        kql_val_text(&b, a[i]);
    }
    return buf_result(ctx, &b);
}

static kql_val fn_strcat_array(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (a[0].t != VG_T_DYNAMIC || a[0].null || a[0].u.d->kind != VG_JSON_ARRAY)
        return empty_str();
    vg_str d = arg_str(ctx, a[1]);
    const vg_json *arr = a[0].u.d;
    vg_buf b;
    vg_buf_init(&b, KQL_STR_MAX_OUT);
    for (uint32_t i = 0; i < arr->n; i++) {
        if (i)
            vg_buf_putstr(&b, d);
        kql_val_text(&b, kql_dynamic(arr->kids[i]));
    }
    return buf_result(ctx, &b);
}

static kql_val fn_split(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    vg_str d = arg_str(ctx, a[1]);
    int64_t want = -1;
    if (n > 2) {
        if (!arg_long(a[2], &want) || want < 0)
            return kql_dynamic(kql_dyn_array(ctx->arena, 0));
    }
    /* count the parts first to size the array */
    uint32_t parts = 1;
    if (d.n) {
        for (size_t i = 0; i + d.n <= s.n && parts < KQL_MAX_ARRAY;) {
            const char *p = memmem(s.p + i, s.n - i, d.p, d.n);
            if (!p)
                break;
            parts++;
            i = (size_t)(p - s.p) + d.n;
        }
    }
    vg_json *arr = kql_dyn_array(ctx->arena, want >= 0 ? 1 : parts);
    if (!arr)
        return kql_null(VG_T_DYNAMIC);
    size_t i = 0;
    for (uint32_t k = 0; k < parts; k++) {
        size_t end = s.n;
        if (d.n && k + 1 < parts) {
            const char *p = memmem(s.p + i, s.n - i, d.p, d.n);
            end = p ? (size_t)(p - s.p) : s.n;
        }
        if (want < 0 || (int64_t)k == want)
            dyn_str(ctx, arr, slice(s, i, end));
        i = end + d.n;
        if (i > s.n)
            i = s.n;
    }
    return kql_dynamic(arr);
}

/* ---- trims (regex based, as Kusto) ---- */

/* Removes the leading (start) and/or trailing (end) matches of regex. */
static kql_val do_trim(kql_ctx *ctx, const kql_val *a, bool start, bool end)
{
    vg_str re_text = arg_str(ctx, a[0]);
    vg_str s = arg_str(ctx, a[1]);
    if (re_text.n == 0)
        return kql_string(s);
    size_t ov[2];
    size_t b0 = 0, b1 = s.n;
    if (start) {
        char *p = vg_arena_printf(ctx->arena, "^(?:%.*s)+", VG_STR_FMT(re_text));
        kql_regex *re = p ? kql_regex_get(ctx, vg_str_c(p)) : NULL;
        if (!re)
            return empty_str();
        int rc = kql_regex_match(re, s, 0, ov, 1);
        if (rc < 0)
            return empty_str();
        if (rc > 0)
            b0 = ov[1];
    }
    if (end && b0 < b1) {
        char *p = vg_arena_printf(ctx->arena, "(?:%.*s)+$", VG_STR_FMT(re_text));
        kql_regex *re = p ? kql_regex_get(ctx, vg_str_c(p)) : NULL;
        if (!re)
            return empty_str();
        vg_str rest = slice(s, b0, b1);
        int rc = kql_regex_match(re, rest, 0, ov, 1);
        if (rc < 0)
            return empty_str();
        if (rc > 0)
            b1 = b0 + ov[0];
    }
    return kql_string(slice(s, b0, b1));
}

static kql_val fn_trim(kql_ctx *ctx, const kql_val *a, uint32_t n) { return do_trim(ctx, a, true, true); }
static kql_val fn_trim_start(kql_ctx *ctx, const kql_val *a, uint32_t n) { return do_trim(ctx, a, true, false); }
static kql_val fn_trim_end(kql_ctx *ctx, const kql_val *a, uint32_t n) { return do_trim(ctx, a, false, true); }

/* ---- replace ---- */

static kql_val fn_replace_string(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    vg_str look = arg_str(ctx, a[1]);
    vg_str with = arg_str(ctx, a[2]);
    if (look.n == 0 || look.n > s.n)
        return kql_string(s);
    vg_buf b;
    vg_buf_init(&b, KQL_STR_MAX_OUT);
    size_t i = 0;
    while (i < s.n) {
        const char *p = memmem(s.p + i, s.n - i, look.p, look.n);
        if (!p)
            break;
        size_t at = (size_t)(p - s.p);
        vg_buf_put(&b, s.p + i, at - i);
        vg_buf_putstr(&b, with);
        i = at + look.n;
    }
    vg_buf_put(&b, s.p + i, s.n - i);
    return buf_result(ctx, &b);
}

static kql_val fn_replace_regex(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    kql_regex *re = kql_regex_get(ctx, arg_str(ctx, a[1]));
    if (!re)
        return empty_str();
    vg_str with = arg_str(ctx, a[2]);
    size_t ov[2 * KQL_MAX_GROUPS];
    vg_buf b;
    vg_buf_init(&b, KQL_STR_MAX_OUT);
    size_t i = 0, copied = 0;
    for (;;) {
        if (i > s.n)
            break;
        int rc = kql_regex_match(re, s, i, ov, KQL_MAX_GROUPS);
        if (rc < 0) {
            vg_buf_free(&b);
            return empty_str();
        }
        if (rc == 0)
            break;
        vg_buf_put(&b, s.p + copied, ov[0] - copied);
        for (size_t k = 0; k < with.n; k++) {
            char c = with.p[k];
            if (c == '\\' && k + 1 < with.n && with.p[k + 1] >= '0' && with.p[k + 1] <= '9') {
                int g = with.p[++k] - '0';
                if (g < rc && ov[2 * g] != (size_t)-1)
                    vg_buf_put(&b, s.p + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
            } else if (c == '\\' && k + 1 < with.n && with.p[k + 1] == '\\') {
                vg_buf_putc(&b, '\\');
                k++;
            } else {
                vg_buf_putc(&b, c);
            }
        }
        copied = ov[1];
        if (ov[1] == ov[0]) {
            /* empty match: keep the next character and move past it */
            if (ov[1] >= s.n)
                break;
            size_t l = cp_len_at(s, ov[1]);
            vg_buf_put(&b, s.p + ov[1], l);
            copied = ov[1] + l;
            i = copied;
        } else {
            i = ov[1];
        }
        if (b.failed)
            break;
    }
    if (copied < s.n)
        vg_buf_put(&b, s.p + copied, s.n - copied);
    return buf_result(ctx, &b);
}

/* ---- regex extraction ---- */

static kql_val fn_extract(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    kql_regex *re = kql_regex_get(ctx, arg_str(ctx, a[0]));
    if (!re)
        return empty_str();
    int64_t g;
    if (!arg_long(a[1], &g) || g < 0 || g >= KQL_MAX_GROUPS || g > kql_regex_groups(re))
        return empty_str();
    vg_str s = arg_str(ctx, a[2]);
    size_t ov[2 * KQL_MAX_GROUPS];
    int rc = kql_regex_match(re, s, 0, ov, KQL_MAX_GROUPS);
    if (rc <= g || ov[2 * g] == (size_t)-1)
        return empty_str();
    return kql_string(slice(s, ov[2 * g], ov[2 * g + 1]));
}

static kql_val fn_extract_all(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    kql_regex *re = kql_regex_get(ctx, arg_str(ctx, a[0]));
    if (!re)
        return kql_null(VG_T_DYNAMIC);
    vg_str s = arg_str(ctx, a[n - 1]);
    int ng = kql_regex_groups(re);
    if (ng >= KQL_MAX_GROUPS)
        ng = KQL_MAX_GROUPS - 1;
    /* the groups to report */
    int pick[KQL_MAX_GROUPS];
    int npick = 0;
    if (n == 3) {
        const vg_json *sel = a[1].t == VG_T_DYNAMIC && !a[1].null ? a[1].u.d : NULL;
        if (!sel || sel->kind != VG_JSON_ARRAY)
            return kql_null(VG_T_DYNAMIC);
        for (uint32_t i = 0; i < sel->n && npick < KQL_MAX_GROUPS; i++) {
            kql_val gv = kql_dyn_scalar(sel->kids[i]);
            int64_t g;
            if (!arg_long(gv, &g) || g < 0 || g > ng)
                return kql_null(VG_T_DYNAMIC);
            pick[npick++] = (int)g;
        }
        if (npick == 0)
            return kql_null(VG_T_DYNAMIC);
    } else if (ng == 0) {
        pick[npick++] = 0;
    } else {
        for (int g = 1; g <= ng; g++)
            pick[npick++] = g;
    }
    bool nested = n == 3 ? npick > 1 : ng > 1;
    size_t ov[2 * KQL_MAX_GROUPS];
    /* first pass counts the matches to size the array */
    uint32_t count = 0;
    for (size_t i = 0; i <= s.n && count < KQL_MAX_ARRAY;) {
        int rc = kql_regex_match(re, s, i, ov, 1);
        if (rc <= 0) {
            if (rc < 0)
                return kql_null(VG_T_DYNAMIC);
            break;
        }
        count++;
        i = ov[1] > ov[0] ? ov[1] : ov[1] + (ov[1] < s.n ? cp_len_at(s, ov[1]) : 1);
    }
    if (count == 0)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, count);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    uint32_t got = 0;
    for (size_t i = 0; i <= s.n && got < count;) {
        int rc = kql_regex_match(re, s, i, ov, KQL_MAX_GROUPS);
        if (rc <= 0)
            break;
        got++;
        vg_json *row = nested ? kql_dyn_array(ctx->arena, (uint32_t)npick) : out;
        if (!row)
            return kql_null(VG_T_DYNAMIC);
        for (int k = 0; k < npick; k++) {
            int g = pick[k];
            vg_str v = VG_STR_LIT("");
            if (g < rc && ov[2 * g] != (size_t)-1)
                v = slice(s, ov[2 * g], ov[2 * g + 1]);
            dyn_str(ctx, row, v);
            if (!nested)
                break;
        }
        if (nested)
            kql_dyn_push(out, row);
        i = ov[1] > ov[0] ? ov[1] : ov[1] + (ov[1] < s.n ? cp_len_at(s, ov[1]) : 1);
    }
    return kql_dynamic(out);
}

static kql_val fn_countof(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    vg_str look = arg_str(ctx, a[1]);
    bool regex = false;
    if (n > 2) {
        vg_str kind = arg_str(ctx, a[2]);
        if (vg_str_eqc(kind, "regex"))
            regex = true;
        else if (kind.n && !vg_str_eqc(kind, "normal"))
            return kql_null(VG_T_LONG);
    }
    int64_t c = 0;
    if (!regex) {
        /* plain: overlapping occurrences, as countof("aaaa", "aa") == 3 */
        if (look.n == 0)
            return kql_long(0);
        for (size_t i = 0; i + look.n <= s.n;) {
            const char *p = memmem(s.p + i, s.n - i, look.p, look.n);
            if (!p)
                break;
            c++;
            i = (size_t)(p - s.p) + 1;
        }
        return kql_long(c);
    }
    kql_regex *re = kql_regex_get(ctx, look);
    if (!re)
        return kql_null(VG_T_LONG);
    size_t ov[2];
    for (size_t i = 0; i <= s.n;) {
        int rc = kql_regex_match(re, s, i, ov, 1);
        if (rc < 0)
            return kql_null(VG_T_LONG);
        if (rc == 0)
            break;
        c++;
        i = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    return kql_long(c);
}

static kql_val fn_indexof(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    vg_str look = arg_str(ctx, a[1]);
    int64_t start = 0, len = -1, occ = 1, total = cp_count(s);
    if (n > 2 && !arg_long(a[2], &start))
        return kql_null(VG_T_LONG);
    if (n > 3 && !arg_long(a[3], &len))
        return kql_null(VG_T_LONG);
    if (n > 4 && !arg_long(a[4], &occ))
        return kql_null(VG_T_LONG);
    if (start < 0)
        start = start + total < 0 ? 0 : start + total;
    if (len < -1 || occ < 0)
        return kql_null(VG_T_LONG);
    if (start > total)
        return kql_long(-1);
    /* each occurrence is looked for in a window of length characters from
     * where the search resumes, as Kusto's indexof(..., 1, 10, 2) finds 9
     * in "abcdefgabcdefg" */
    if (occ == 0)
        occ = 1;
    size_t i = cp_off(s, start);
    for (;;) {
        size_t end = s.n;
        if (len >= 0)
            end = i + cp_off(vg_str_make(s.p + i, s.n - i), len);
        if (i + look.n > end)
            break;
        const char *p = look.n ? memmem(s.p + i, end - i, look.p, look.n) : s.p + i;
        if (!p)
            break;
        size_t at = (size_t)(p - s.p);
        if (--occ == 0)
            return kql_long(cp_index(s, at));
        if (at >= s.n)
            break;
        i = at + cp_len_at(s, at);
    }
    return kql_long(-1);
}

/* ---- encodings ---- */

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static kql_val fn_base64_encode(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    size_t on = (s.n + 2) / 3 * 4;
    char *o = vg_arena_alloc(ctx->arena, on + 1);
    if (!o)
        return empty_str();
    const unsigned char *p = (const unsigned char *)s.p;
    size_t k = 0;
    for (size_t i = 0; i < s.n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < s.n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < s.n)
            v |= p[i + 2];
        o[k++] = b64_alpha[v >> 18 & 63];
        o[k++] = b64_alpha[v >> 12 & 63];
        o[k++] = i + 1 < s.n ? b64_alpha[v >> 6 & 63] : '=';
        o[k++] = i + 2 < s.n ? b64_alpha[v & 63] : '=';
    }
    o[k] = '\0';
    return kql_string(vg_str_make(o, k));
}

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

static kql_val fn_base64_decode(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    while (s.n && s.p[s.n - 1] == '=')
        s.n--;
    if (s.n % 4 == 1)
        return empty_str();
    char *o = vg_arena_alloc(ctx->arena, s.n / 4 * 3 + 3);
    if (!o)
        return empty_str();
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < s.n; i++) {
        int v = b64_val((unsigned char)s.p[i]);
        if (v < 0)
            return empty_str();   /* not base64: Kusto yields null */
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (char)(acc >> bits & 0xFF);
        }
    }
    o[k] = '\0';
    return kql_string(vg_str_make(o, k));
}

/* base64_decode_toarray(s): the decoded bytes as a dynamic array of longs. */
static kql_val fn_base64_decode_toarray(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    kql_val t = fn_base64_decode(ctx, a, n);
    if (t.u.s.n == 0 && arg_str(ctx, a[0]).n != 0)
        return kql_null(VG_T_DYNAMIC);
    vg_json *arr = kql_dyn_array(ctx->arena, (uint32_t)t.u.s.n);
    if (!arr)
        return kql_null(VG_T_DYNAMIC);
    for (size_t i = 0; i < t.u.s.n; i++)
        kql_dyn_push(arr, kql_dyn_from(ctx->arena, kql_long((unsigned char)t.u.s.p[i])));
    return kql_dynamic(arr);
}

/* strrep(value, multiplier[, delimiter]): value repeated, at most 1 MiB of output. */
static kql_val fn_strrep(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str v = kql_to_string(ctx->arena, a[0]);
    kql_val m = kql_cast(ctx->arena, a[1], VG_T_LONG);
    vg_str d = n > 2 ? kql_to_string(ctx->arena, a[2]) : (vg_str){ "", 0 };
    if (m.null || m.u.i <= 0)
        return empty_str();
    if (m.u.i > 1024 || (v.n + d.n) * (size_t)m.u.i > (1u << 20))
        return empty_str();
    size_t total = v.n * (size_t)m.u.i + d.n * (size_t)(m.u.i - 1);
    char *o = vg_arena_alloc(ctx->arena, total + 1);
    if (!o)
        return empty_str();
    size_t k = 0;
    for (int64_t i = 0; i < m.u.i; i++) {
        if (i && d.n) {
            memcpy(o + k, d.p, d.n);
            k += d.n;
        }
        if (v.n)
            memcpy(o + k, v.p, v.n);
        k += v.n;
    }
    return kql_string(vg_str_make(o, k));
}


static int hexv(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static kql_val fn_url_decode(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    char *o = vg_arena_alloc(ctx->arena, s.n + 1);
    if (!o)
        return empty_str();
    size_t k = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        int h, l;
        if (c == '%' && i + 2 < s.n && (h = hexv((unsigned char)s.p[i + 1])) >= 0 &&
            (l = hexv((unsigned char)s.p[i + 2])) >= 0) {
            o[k++] = (char)(h << 4 | l);
            i += 2;
        } else if (c == '+') {
            o[k++] = ' ';
        } else {
            o[k++] = (char)c;
        }
    }
    o[k] = '\0';
    return kql_string(vg_str_make(o, k));
}

static kql_val fn_url_encode(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    static const char hx[] = "0123456789abcdef";
    vg_str s = arg_str(ctx, a[0]);
    char *o = vg_arena_alloc(ctx->arena, s.n * 3 + 1);
    if (!o)
        return empty_str();
    size_t k = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '!' || c == '*' || c == '(' || c == ')';
        if (safe) {
            o[k++] = (char)c;
        } else if (c == ' ') {
            o[k++] = '+';
        } else {
            o[k++] = '%';
            o[k++] = hx[c >> 4];
            o[k++] = hx[c & 15];
        }
    }
    o[k] = '\0';
    return kql_string(vg_str_make(o, k));
}

/* ---- hashes and hex ---- */

static kql_val digest(kql_ctx *ctx, kql_val v, const EVP_MD *md)
{
    if (v.t != VG_T_STRING && v.null)
        return empty_str();
    vg_str s = arg_str(ctx, v);
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hn = 0;
    if (!md || !EVP_Digest(s.p ? s.p : "", s.n, h, &hn, md, NULL))
        return empty_str();
    static const char hx[] = "0123456789abcdef";
    char *o = vg_arena_alloc(ctx->arena, (size_t)hn * 2 + 1);
    if (!o)
        return empty_str();
    for (unsigned i = 0; i < hn; i++) {
        o[2 * i] = hx[h[i] >> 4];
        o[2 * i + 1] = hx[h[i] & 15];
    }
    o[2 * hn] = '\0';
    return kql_string(vg_str_make(o, (size_t)hn * 2));
}

static kql_val fn_hash_sha256(kql_ctx *ctx, const kql_val *a, uint32_t n) { return digest(ctx, a[0], EVP_sha256()); }
static kql_val fn_hash_sha1(kql_ctx *ctx, const kql_val *a, uint32_t n) { return digest(ctx, a[0], EVP_sha1()); }
static kql_val fn_hash_md5(kql_ctx *ctx, const kql_val *a, uint32_t n) { return digest(ctx, a[0], EVP_md5()); }

static kql_val fn_tohex(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int64_t v, minlen = 0;
    if (!arg_long(a[0], &v) || (a[0].t != VG_T_INT && a[0].t != VG_T_LONG))
        return empty_str();
    if (n > 1 && !arg_long(a[1], &minlen))
        minlen = 0;
    if (minlen > 64)
        minlen = 64;
    char t[96];
    int k;
    if (a[0].t == VG_T_INT)
        k = snprintf(t, sizeof t, "%0*x", (int)(minlen > 0 ? minlen : 0), (unsigned)(uint32_t)v);
    else
        k = snprintf(t, sizeof t, "%0*llx", (int)(minlen > 0 ? minlen : 0), (unsigned long long)v);
    if (k < 0)
        return empty_str();
    vg_str s = vg_str_dup(ctx->arena, vg_str_make(t, (size_t)k));
    return s.p ? kql_string(s) : empty_str();
}

/* ---- parse_command_line ---- */

/* Splits a Windows command line as CommandLineToArgvW does: the program
 * name ends at the closing quote (no escapes) or at whitespace; later
 * arguments follow the backslash rules (2n backslashes + quote = n
 * backslashes and a quote toggle; 2n+1 = n backslashes and a literal quote;
 * "" inside quotes is a literal quote). */
static kql_val fn_parse_command_line(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s = arg_str(ctx, a[0]);
    vg_str kind = arg_str(ctx, a[1]);
    if (!vg_str_eqc_ci(kind, "windows"))
        return kql_null(VG_T_DYNAMIC);
    char *tmp = vg_arena_alloc(ctx->arena, s.n + 1);
    vg_str *args = vg_arena_alloc(ctx->arena, (s.n / 2 + 2) * sizeof *args);
    if (!tmp || !args)
        return kql_null(VG_T_DYNAMIC);
    uint32_t na = 0;
    size_t i = 0, k = 0;
    /* program name */
    if (s.n) {
        size_t st = k;
        if (s.p[0] == '"') {
            i = 1;
            while (i < s.n && s.p[i] != '"')
                tmp[k++] = s.p[i++];
            if (i < s.n)
                i++;
        } else {
            while (i < s.n && s.p[i] != ' ' && s.p[i] != '\t')
                tmp[k++] = s.p[i++];
        }
        args[na++] = vg_str_make(tmp + st, k - st);
    }
    for (;;) {
        while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
            i++;
        if (i >= s.n || na >= KQL_MAX_ARRAY)
            break;
        size_t st = k;
        bool inq = false;
        while (i < s.n) {
            char c = s.p[i];
            if (!inq && (c == ' ' || c == '\t'))
                break;
            if (c == '\\') {
                size_t nb = 0;
                while (i < s.n && s.p[i] == '\\') {
                    nb++;
                    i++;
                }
                if (i < s.n && s.p[i] == '"') {
                    for (size_t b = 0; b < nb / 2; b++)
                        tmp[k++] = '\\';
                    if (nb % 2) {
                        tmp[k++] = '"';
                        i++;
                    }
                } else {
                    for (size_t b = 0; b < nb; b++)
                        tmp[k++] = '\\';
                }
                continue;
            }
            if (c == '"') {
                if (inq && i + 1 < s.n && s.p[i + 1] == '"') {
                    tmp[k++] = '"';
                    i += 2;
                    continue;
                }
                inq = !inq;
                i++;
                continue;
            }
            tmp[k++] = c;
            i++;
        }
        args[na++] = vg_str_make(tmp + st, k - st);
    }
    vg_json *arr = kql_dyn_array(ctx->arena, na);
    if (!arr)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t j = 0; j < na; j++)
        dyn_str(ctx, arr, args[j]);
    return kql_dynamic(arr);
}

/* ---- the table ---- */

#define C(i) (1u << (i))

const kql_fn_def kql_fn_str_defs[] = {
    { "strlen", 1, 1, VG_T_LONG, NULL, fn_strlen, 0,
      "strlen(source): the number of characters (Unicode code points) of a string" },
    { "string_size", 1, 1, VG_T_LONG, NULL, fn_string_size, 0,
      "string_size(source): the size of a string in bytes (UTF-8)" },
    { "substring", 2, 3, VG_T_STRING, NULL, fn_substring, 0,
      "substring(source, startingIndex [, length]): part of a string; a negative start counts from the end" },
    { "tolower", 1, 1, VG_T_STRING, NULL, fn_tolower, 0, "tolower(source): lower-case copy" },
    { "toupper", 1, 1, VG_T_STRING, NULL, fn_toupper, 0, "toupper(source): upper-case copy" },
    { "reverse", 1, 1, VG_T_STRING, NULL, fn_reverse, 0, "reverse(source): the characters in reverse order" },
    { "tostring", 1, 1, VG_T_STRING, NULL, fn_tostring, 0,
      "tostring(value): the value as a string (\"\" for null)" },
    { "isempty", 1, 1, VG_T_BOOL, NULL, fn_isempty, 0, "isempty(value): true when the value is null or \"\"" },
    { "isnotempty", 1, 1, VG_T_BOOL, NULL, fn_isnotempty, 0,
      "isnotempty(value): true when the value is neither null nor \"\"" },
    { "strcmp", 2, 2, VG_T_LONG, NULL, fn_strcmp, 0,
      "strcmp(string1, string2): -1, 0 or 1 as string1 sorts before, equal to or after string2" },
    { "strcat", 1, 64, VG_T_STRING, NULL, fn_strcat, 0,
      "strcat: concatenates its 1 to 64 arguments as strings" },
    { "strcat_delim", 2, 65, VG_T_STRING, NULL, fn_strcat_delim, 0,
      "strcat_delim(delimiter, argument1, ...): concatenates values as strings with a delimiter" },
    { "strcat_array", 2, 2, VG_T_STRING, NULL, fn_strcat_array, 0,
      "strcat_array(array, delimiter): the elements of a dynamic array joined with a delimiter" },
    { "split", 2, 3, VG_T_DYNAMIC, NULL, fn_split, 0,
      "split(source, delimiter [, requestedIndex]): the parts of a string as a dynamic array" },
    { "trim", 2, 2, VG_T_STRING, NULL, fn_trim, C(0),
      "trim(regex, source): removes the leading and trailing matches of a regex" },
    { "trim_start", 2, 2, VG_T_STRING, NULL, fn_trim_start, C(0),
      "trim_start(regex, source): removes the leading matches of a regex" },
    { "trim_end", 2, 2, VG_T_STRING, NULL, fn_trim_end, C(0),
      "trim_end(regex, source): removes the trailing matches of a regex" },
    { "replace_string", 3, 3, VG_T_STRING, NULL, fn_replace_string, 0,
      "replace_string(text, lookup, rewrite): replaces every occurrence of a string (case-sensitive)" },
    { "replace_regex", 3, 3, VG_T_STRING, NULL, fn_replace_regex, C(1),
      "replace_regex(source, lookup_regex, rewrite_pattern): replaces every regex match; \\0..\\9 in "
      "the rewrite refer to the match and its groups" },
    { "extract", 3, 4, VG_T_STRING, NULL, fn_extract, C(0),
      "extract(regex, captureGroup, source): the text of a capture group of the first match, or \"\"" },
    { "extract_all", 2, 3, VG_T_DYNAMIC, NULL, fn_extract_all, C(0),
      "extract_all(regex, [captureGroups,] source): every match as a dynamic array (arrays of "
      "groups when the regex has several)" },
    { "countof", 2, 3, VG_T_LONG, NULL, fn_countof, C(2),
      "countof(source, search [, kind]): occurrences of a string (overlapping) or, with kind "
      "\"regex\", of a regex" },
    { "indexof", 2, 5, VG_T_LONG, NULL, fn_indexof, 0,
      "indexof(string, match [, start [, length [, occurrence]]]): zero-based position of match, -1 "
      "when absent" },
    { "base64_encode_tostring", 1, 1, VG_T_STRING, NULL, fn_base64_encode, 0,
      "base64_encode_tostring(string): the string encoded as base64" },
    { "base64_encodestring", 1, 1, VG_T_STRING, NULL, fn_base64_encode, 0,
      "base64_encodestring(string): deprecated name of base64_encode_tostring" },
    { "base64_decode_toarray", 1, 1, VG_T_DYNAMIC, NULL, fn_base64_decode_toarray, 0,
      "base64_decode_toarray(s): the decoded bytes as an array of numbers" },
    { "strrep", 2, 3, VG_T_STRING, NULL, fn_strrep, 0,
      "strrep(value, multiplier[, delimiter]): value repeated multiplier times (at most 1024)" },
    { "base64_decode_tostring", 1, 1, VG_T_STRING, NULL, fn_base64_decode, 0,
      "base64_decode_tostring(base64): the decoded text of a base64 string" },
    { "base64_decodestring", 1, 1, VG_T_STRING, NULL, fn_base64_decode, 0,
      "base64_decodestring(base64): deprecated name of base64_decode_tostring" },
    { "url_decode", 1, 1, VG_T_STRING, NULL, fn_url_decode, 0,
      "url_decode(encoded_url): decodes %XX escapes and '+'" },
    { "url_encode", 1, 1, VG_T_STRING, NULL, fn_url_encode, 0,
      "url_encode(url): encodes a string for use in a URL" },
    { "url_encode_component", 1, 1, VG_T_STRING, NULL, fn_url_encode, 0,
      "url_encode_component(url): encodes a string for use in a URL" },
    { "hash_sha256", 1, 1, VG_T_STRING, NULL, fn_hash_sha256, 0,
      "hash_sha256(source): SHA-256 of the value's text, lower-case hex" },
    { "hash_sha1", 1, 1, VG_T_STRING, NULL, fn_hash_sha1, 0,
      "hash_sha1(source): SHA-1 of the value's text, lower-case hex" },
    { "hash_md5", 1, 1, VG_T_STRING, NULL, fn_hash_md5, 0,
      "hash_md5(source): MD5 of the value's text, lower-case hex" },
    { "tohex", 1, 2, VG_T_STRING, NULL, fn_tohex, 0,
      "tohex(value [, minLength]): hexadecimal text of an integer (two's complement when negative)" },
    { "parse_command_line", 2, 2, VG_T_DYNAMIC, NULL, fn_parse_command_line, C(1),
      "parse_command_line(command_line, \"windows\"): the arguments of a Windows command line as a "
      "dynamic array (CommandLineToArgvW rules)" },
};

const size_t kql_fn_str_ndefs = sizeof kql_fn_str_defs / sizeof kql_fn_str_defs[0];
