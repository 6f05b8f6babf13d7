/*
 * vg_str.c - counted string helpers, growable buffers and binary readers.
 */
#include "vg_str.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static inline unsigned char lc(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

bool vg_str_eq(vg_str a, vg_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool vg_str_eq_ci(vg_str a, vg_str b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (lc((unsigned char)a.p[i]) != lc((unsigned char)b.p[i]))
            return false;
    return true;
}

bool vg_str_eqc(vg_str a, const char *b) { return vg_str_eq(a, vg_str_c(b)); }
bool vg_str_eqc_ci(vg_str a, const char *b) { return vg_str_eq_ci(a, vg_str_c(b)); }

bool vg_str_starts_ci(vg_str s, vg_str prefix)
{
    return s.n >= prefix.n && vg_str_eq_ci(vg_str_make(s.p, prefix.n), prefix);
}

bool vg_str_ends_ci(vg_str s, vg_str suffix)
{
    return s.n >= suffix.n && vg_str_eq_ci(vg_str_make(s.p + s.n - suffix.n, suffix.n), suffix);
}

int vg_str_cmp(vg_str a, vg_str b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c)
        return c;
    return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

/* Iterative with one backtrack point: linear enough for names. */
bool vg_str_wild_match(vg_str pat, vg_str s)
{
    size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
    while (si < s.n) {
        if (pi < pat.n && pat.p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < pat.n && pat.p[pi] == s.p[si]) {
            pi++;
            si++;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < pat.n && pat.p[pi] == '*')
        pi++;
    return pi == pat.n;
}

vg_str vg_str_trim(vg_str s)
{
    while (s.n && isspace((unsigned char)s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && isspace((unsigned char)s.p[s.n - 1]))
        s.n--;
    return s;
}

ptrdiff_t vg_str_chr(vg_str s, char c)
{
    const char *q = s.n ? memchr(s.p, c, s.n) : NULL;
    return q ? q - s.p : -1;
}

ptrdiff_t vg_str_rchr(vg_str s, char c)
{
    for (size_t i = s.n; i > 0; i--)
        if (s.p[i - 1] == c)
            return (ptrdiff_t)(i - 1);
    return -1;
}

ptrdiff_t vg_str_find_ci(vg_str hay, vg_str needle)
{
    if (needle.n == 0)
        return 0;
    if (needle.n > hay.n)
        return -1;
    unsigned char f = lc((unsigned char)needle.p[0]);
    for (size_t i = 0; i + needle.n <= hay.n; i++) {
        if (lc((unsigned char)hay.p[i]) != f)
            continue;
        if (vg_str_eq_ci(vg_str_make(hay.p + i, needle.n), needle))
            return (ptrdiff_t)i;
    }
    return -1;
}

vg_err vg_str_to_u64(vg_str s, uint64_t *out)
{
    uint64_t v = 0;
    if (s.n == 0)
        return VG_EPARSE;
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return VG_EPARSE;
        if (v > (UINT64_MAX - d) / 10)
            return VG_ELIMIT;
        v = v * 10 + d;
    }
    *out = v;
    return VG_OK;
}

vg_err vg_str_to_i64(vg_str s, int64_t *out)
{
    bool neg = false;
    uint64_t v;
    if (s.n && (s.p[0] == '-' || s.p[0] == '+')) {
        neg = s.p[0] == '-';
        s.p++;
        s.n--;
    }
    vg_err e = vg_str_to_u64(s, &v);
    if (e)
        return e;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return VG_ELIMIT;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX)
            return VG_ELIMIT;
        *out = (int64_t)v;
    }
    return VG_OK;
}

vg_err vg_str_to_hex_u64(vg_str s, uint64_t *out)
{
    uint64_t v = 0;
    if (s.n >= 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
        s.p += 2;
        s.n -= 2;
    }
    if (s.n == 0)
        return VG_EPARSE;
    if (s.n > 16)
        return VG_ELIMIT;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (lc(c) >= 'a' && lc(c) <= 'f')
            d = lc(c) - 'a' + 10;
        else
            return VG_EPARSE;
        v = (v << 4) | d;
    }
    *out = v;
    return VG_OK;
}

vg_err vg_str_to_double(vg_str s, double *out)
{
    char tmp[64];
    if (s.n == 0 || s.n >= sizeof tmp)
        return s.n ? VG_ELIMIT : VG_EPARSE;
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + s.n || isspace((unsigned char)tmp[0]))
        return VG_EPARSE;
    if (errno == ERANGE && isinf(v))
        return VG_ELIMIT;
    *out = v;
    return VG_OK;
}

vg_str vg_str_dup(vg_arena *a, vg_str s)
{
    char *p = vg_arena_memdup(a, s.p, s.n);
    return p ? vg_str_make(p, s.n) : VG_STR_NULL;
}

vg_str vg_str_lower(vg_arena *a, vg_str s)
{
    char *p = vg_arena_alloc(a, s.n + 1);
    if (!p)
        return VG_STR_NULL;
    for (size_t i = 0; i < s.n; i++)
        p[i] = (char)lc((unsigned char)s.p[i]);
    p[s.n] = '\0';
    return vg_str_make(p, s.n);
}

void vg_str_copy_c(char *dst, size_t cap, vg_str s)
{
    if (!cap)
        return;
    size_t n = s.n < cap - 1 ? s.n : cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

/* ---- buffers ---- */

void vg_buf_init(vg_buf *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

void vg_buf_free(vg_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

bool vg_buf_reserve(vg_buf *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->cap - b->n > n)
        return true;
    size_t want = b->n + n + 1;
    if (want < b->n || (b->limit && want > b->limit + 1)) {
        b->failed = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    if (b->limit && cap > b->limit + 1)
        cap = b->limit + 1;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void vg_buf_put(vg_buf *b, const void *p, size_t n)
{
    if (!n || !vg_buf_reserve(b, n))
        return;
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

void vg_buf_putc(vg_buf *b, char c)
{
    if (!vg_buf_reserve(b, 1))
        return;
    b->p[b->n++] = c;
}

void vg_buf_printf(vg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof tmp) {
        vg_buf_put(b, tmp, (size_t)n);
    } else if (vg_buf_reserve(b, (size_t)n + 1)) {
        vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap2);
        b->n += (size_t)n;
    }
    va_end(ap2);
}

/* Length of a valid UTF-8 sequence at p (n bytes left), or 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    uint32_t cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void vg_buf_put_json_str(vg_buf *b, vg_str s)
{
    static const char hex[] = "0123456789abcdef";
    vg_buf_reserve(b, s.n + 2);
    vg_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x80) {
            /* valid UTF-8 passes through; a stray byte becomes U+FFFD, so the
             * output is always valid JSON whatever the stored bytes are */
            size_t k = utf8_len((const unsigned char *)s.p + i, s.n - i);
            if (k) {
                i += k - 1;
                continue;
            }
            vg_buf_put(b, s.p + run, i - run);
            run = i + 1;
            vg_buf_put(b, "\xEF\xBF\xBD", 3);   /* U+FFFD as UTF-8 */
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        vg_buf_put(b, s.p + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': vg_buf_put(b, "\\\"", 2); break;
        case '\\': vg_buf_put(b, "\\\\", 2); break;
        case '\n': vg_buf_put(b, "\\n", 2); break;
        case '\r': vg_buf_put(b, "\\r", 2); break;
        case '\t': vg_buf_put(b, "\\t", 2); break;
        default: {
            char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            vg_buf_put(b, e, 6);
        }
        }
    }
    if (s.n > run)   /* s.p may be NULL when s is empty: no pointer arithmetic on it */
        vg_buf_put(b, s.p + run, s.n - run);
    vg_buf_putc(b, '"');
}

void vg_buf_put_u32le(vg_buf *b, uint32_t v)
{
    unsigned char t[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24) };
    vg_buf_put(b, t, 4);
}

void vg_buf_put_u64le(vg_buf *b, uint64_t v)
{
    vg_buf_put_u32le(b, (uint32_t)v);
    vg_buf_put_u32le(b, (uint32_t)(v >> 32));
}

void vg_buf_put_varint(vg_buf *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        t[n++] = c | (v ? 0x80 : 0);
    } while (v);
    vg_buf_put(b, t, n);
}

const char *vg_buf_cstr(vg_buf *b)
{
    if (!vg_buf_reserve(b, 1))
        return b->p ? b->p : "";
    b->p[b->n] = '\0';
    return b->p;
}

bool vg_read_u32le(vg_reader *r, uint32_t *v)
{
    if (r->n - r->off < 4)
        return false;
    const unsigned char *p = r->p + r->off;
    *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    r->off += 4;
    return true;
}

bool vg_read_u64le(vg_reader *r, uint64_t *v)
{
    uint32_t lo, hi;
    if (r->n - r->off < 8)
        return false;
    vg_read_u32le(r, &lo);
    vg_read_u32le(r, &hi);
    *v = (uint64_t)hi << 32 | lo;
    return true;
}

bool vg_read_varint(vg_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->off >= r->n)
            return false;
        unsigned char c = r->p[r->off++];
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

bool vg_read_bytes(vg_reader *r, size_t n, const void **p)
{
    if (r->n - r->off < n)
        return false;
    *p = r->p + r->off;
    r->off += n;
    return true;
}
