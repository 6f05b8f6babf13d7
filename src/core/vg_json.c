/*
 * vg_json.c - pull parser and DOM (see vg_json.h).
 *
 * The scanner is byte-oriented: strings are scanned for '"' and '\\' with
 * memchr-style loops, and only strings with escapes are copied. UTF-8 is
 * passed through unvalidated (events carry what their sources wrote);
 * \u escapes, including surrogate pairs, are decoded to UTF-8.
 */
#include "vg_json.h"

#include <string.h>

static vg_err jerr(vg_json_pull *j, const char *what)
{
    return vg_diag_set(j->diag, VG_EPARSE, "invalid JSON at byte %zu: %s",
                       (size_t)(j->p - j->start), what);
}

static inline void skip_ws(vg_json_pull *j)
{
    while (j->p < j->end) {
        char c = *j->p;
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        j->p++;
    }
}

void vg_json_pull_init(vg_json_pull *j, vg_str text, vg_arena *arena, vg_diag *d)
{
    j->start = j->p = text.p;
    j->end = text.p + text.n;
    j->arena = arena;
    j->diag = d;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Fast skipping over the plain bytes of a string: the offset of the first
 * '"', '\\' or control byte (< 0x20) in the block at p, or the block size
 * when there is none. SSE2 on x86-64 (16 bytes), else 8-byte SWAR on
 * little-endian machines; the has-zero/has-less tests only misreport bytes
 * above the first real match, so the lowest flagged byte is exact.
 */
#if defined(__SSE2__)
#include <emmintrin.h>
#define SCAN_BLOCK 16
static inline unsigned block_stop(const char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v));
    unsigned mask = (unsigned)_mm_movemask_epi8(m);
    return mask ? (unsigned)__builtin_ctz(mask) : SCAN_BLOCK;
}
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SCAN_BLOCK 8
static inline unsigned block_stop(const char *p)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t z = (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) & highs;
    return z ? (unsigned)__builtin_ctzll(z) >> 3 : SCAN_BLOCK;
}
#else
#define SCAN_BLOCK 1
static inline unsigned block_stop(const char *p)
{
    unsigned char c = (unsigned char)*p;
    return c == '"' || c == '\\' || c < 0x20 ? 0 : 1;
}
#endif

/*
 * Scans a string starting after the opening quote. With out != NULL the
 * unescaped value is produced (a slice when there are no escapes).
 */
static vg_err scan_string(vg_json_pull *j, vg_str *out)
{
    const char *s = j->p;
    const char *q = s;
    bool esc = false;
    while (q < j->end) {
        if ((size_t)(j->end - q) >= SCAN_BLOCK) {
            unsigned k = block_stop(q);
            q += k;
            if (k == SCAN_BLOCK)
                continue;
        }
        unsigned char c = (unsigned char)*q;
        if (c == '"')
            break;
        if (c == '\\') {
            esc = true;
            q += 2;
            continue;
        }
        if (c < 0x20) {
            j->p = q;
            return jerr(j, "control character in string");
        }
        q++;
    }
    if (q >= j->end) {
        j->p = j->end;
        return jerr(j, "unterminated string");
    }
    j->p = q + 1;
    if (!esc) {
        if (out)
            *out = vg_str_make(s, (size_t)(q - s));
        return VG_OK;
    }
    /* unescape */
    char *o = out && j->arena ? vg_arena_alloc(j->arena, (size_t)(q - s) + 1) : NULL;
    if (out && !o)
        return vg_diag_set(j->diag, VG_ENOMEM, "out of memory unescaping a JSON string");
    size_t n = 0;
    for (const char *r = s; r < q;) {
        if ((size_t)(q - r) >= SCAN_BLOCK) {
            /* a run of plain bytes (no '"' can be inside: q is the first) */
            unsigned k = block_stop(r);
            if (k) {
                if (o)
                    memcpy(o + n, r, k);
                n += k;
                r += k;
                continue;
            }
        }
        if (*r != '\\') {
            if (o)
                o[n] = *r;
            n++;
            r++;
            continue;
        }
        r++;
        char e = *r++;
        char ch;
        switch (e) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            if (q - r < 4 || read_hex4(r) < 0) {
                j->p = r;
                return jerr(j, "bad \\u escape");
            }
            uint32_t cp = (uint32_t)read_hex4(r);
            r += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && q - r >= 6 && r[0] == '\\' && r[1] == 'u') {
                int lo = read_hex4(r + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                    r += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD; /* lone surrogate */
            char tmp[4];
            size_t k = put_utf8(tmp, cp);
            /* the escape is >= 6 bytes, its UTF-8 at most 4: it always fits */
            if (o)
                memcpy(o + n, tmp, k);
            n += k;
            continue;
        }
        default:
            j->p = r - 1;
            return jerr(j, "bad escape");
        }
        if (o)
            o[n] = ch;
        n++;
    }
    if (out) {
        o[n] = '\0';
        *out = vg_str_make(o, n);
    }
    return VG_OK;
}

static vg_err scan_number(vg_json_pull *j, vg_str *out)
{
    const char *s = j->p, *q = s;
    if (q < j->end && *q == '-')
        q++;
    if (q >= j->end || (unsigned)(*q - '0') > 9) {
        j->p = q;
        return jerr(j, "expected a value");
    }
    if (*q == '0')
        q++;
    else
        while (q < j->end && (unsigned)(*q - '0') <= 9)
            q++;
    if (q < j->end && *q == '.') {
        q++;
        if (q >= j->end || (unsigned)(*q - '0') > 9) {
            j->p = q;
            return jerr(j, "expected digits after '.'");
        }
        while (q < j->end && (unsigned)(*q - '0') <= 9)
            q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < j->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= j->end || (unsigned)(*q - '0') > 9) {
            j->p = q;
            return jerr(j, "expected exponent digits");
        }
        while (q < j->end && (unsigned)(*q - '0') <= 9)
            q++;
    }
    *out = vg_str_make(s, (size_t)(q - s));
    j->p = q;
    return VG_OK;
}

static vg_err expect_lit(vg_json_pull *j, const char *lit, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return jerr(j, "expected a value");
    j->p += n;
    return VG_OK;
}

/* Skips (validates) a container; j->p is at '{' or '['. Iterative, bounded. */
static vg_err skip_container(vg_json_pull *j)
{
    char stack[VG_JSON_MAX_DEPTH];
    int depth = 0;
    /* state: after open or comma we expect a value (or key in objects) */
    for (;;) {
        skip_ws(j);
        if (j->p >= j->end)
            return jerr(j, "unexpected end of input");
        char c = *j->p;
        if (c == '{' || c == '[') {
            if (depth >= VG_JSON_MAX_DEPTH)
                return vg_diag_set(j->diag, VG_ELIMIT, "JSON nested deeper than %d at byte %zu",
                                   VG_JSON_MAX_DEPTH, (size_t)(j->p - j->start));
            stack[depth++] = c;
            j->p++;
            skip_ws(j);
            if (j->p < j->end && (*j->p == (c == '{' ? '}' : ']'))) {
                j->p++;
                depth--;
                goto after_value;
            }
            if (c == '{')
                goto want_key;
            continue; /* want a value */
        }
        if (c == '"') {
            j->p++;
            vg_err e = scan_string(j, NULL);
            if (e)
                return e;
        } else if (c == 't') {
            if (expect_lit(j, "true", 4))
                return VG_EPARSE;
        } else if (c == 'f') {
            if (expect_lit(j, "false", 5))
                return VG_EPARSE;
        } else if (c == 'n') {
            if (expect_lit(j, "null", 4))
                return VG_EPARSE;
        } else {
            vg_str num;
            vg_err e = scan_number(j, &num);
            if (e)
                return e;
        }
    after_value:
        if (depth == 0)
            return VG_OK;
        skip_ws(j);
        if (j->p >= j->end)
            return jerr(j, "unexpected end of input");
        if (*j->p == ',') {
            j->p++;
            if (stack[depth - 1] == '{')
                goto want_key;
            continue;
        }
        if (*j->p == (stack[depth - 1] == '{' ? '}' : ']')) {
            j->p++;
            depth--;
            goto after_value;
        }
        return jerr(j, stack[depth - 1] == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
    want_key:
        skip_ws(j);
        if (j->p >= j->end || *j->p != '"')
            return jerr(j, "expected a member name");
        j->p++;
        {
            vg_err e = scan_string(j, NULL);
            if (e)
                return e;
        }
        skip_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return jerr(j, "expected ':'");
        j->p++;
    }
}

vg_err vg_json_pull_obj_begin(vg_json_pull *j)
{
    skip_ws(j);
    if (j->p >= j->end || *j->p != '{')
        return jerr(j, "expected an object");
    j->p++;
    j->first = true;
    skip_ws(j);
    return VG_OK;
}

vg_err vg_json_pull_obj_key(vg_json_pull *j, vg_str *key, bool *done)
{
    skip_ws(j);
    if (j->p >= j->end)
        return jerr(j, "unexpected end of input in object");
    if (*j->p == '}') {
        j->p++;
        *done = true;
        return VG_OK;
    }
    if (!j->first) {
        if (*j->p != ',')
            return jerr(j, "expected ',' or '}'");
        j->p++;
        skip_ws(j);
    }
    if (j->p >= j->end || *j->p != '"')
        return jerr(j, "expected a member name");
    j->first = false;
    j->p++;
    *done = false;
    vg_err e = scan_string(j, key);
    if (e)
        return e;
    skip_ws(j);
    if (j->p >= j->end || *j->p != ':')
        return jerr(j, "expected ':'");
    j->p++;
    return VG_OK;
}

vg_err vg_json_pull_value(vg_json_pull *j, vg_json_val *v)
{
    skip_ws(j);
    if (j->p >= j->end)
        return jerr(j, "expected a value");
    const char *s = j->p;
    switch (*j->p) {
    case '"':
        j->p++;
        v->kind = VG_JSON_STRING;
        return scan_string(j, &v->str);
    case '{':
    case '[': {
        v->kind = *j->p == '{' ? VG_JSON_OBJECT : VG_JSON_ARRAY;
        vg_err e = skip_container(j);
        if (e)
            return e;
        v->str = vg_str_make(s, (size_t)(j->p - s));
        return VG_OK;
    }
    case 't':
        v->kind = VG_JSON_TRUE;
        v->str = VG_STR_LIT("true");
        return expect_lit(j, "true", 4);
    case 'f':
        v->kind = VG_JSON_FALSE;
        v->str = VG_STR_LIT("false");
        return expect_lit(j, "false", 5);
    case 'n':
        v->kind = VG_JSON_NULL;
        v->str = VG_STR_NULL;
        return expect_lit(j, "null", 4);
    default:
        v->kind = VG_JSON_NUMBER;
        return scan_number(j, &v->str);
    }
}

vg_err vg_json_pull_end(vg_json_pull *j)
{
    skip_ws(j);
    if (j->p != j->end)
        return jerr(j, "unexpected data after the value");
    return VG_OK;
}

/* ---- DOM ---- */

typedef struct dom_ctx {
    vg_json_pull j;
    vg_arena *a;
    size_t nodes;
} dom_ctx;

static vg_err dom_value(dom_ctx *c, vg_json *node, int depth);

static vg_err dom_children(dom_ctx *c, vg_json *node, int depth, bool obj)
{
    /* children are collected in a temporary growable array in the arena */
    uint32_t cap = 8, n = 0;
    vg_json **kids = vg_arena_alloc(c->a, cap * sizeof *kids);
    if (!kids)
        return VG_ENOMEM;
    c->j.p++; /* past '{' or '[' */
    for (;;) {
        skip_ws(&c->j);
        if (c->j.p >= c->j.end)
            return jerr(&c->j, "unexpected end of input");
        if (*c->j.p == (obj ? '}' : ']')) {
            c->j.p++;
            break;
        }
        if (n) {
            if (*c->j.p != ',')
                return jerr(&c->j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
            c->j.p++;
            skip_ws(&c->j);
        }
        if (++c->nodes > VG_JSON_MAX_NODES)
            return vg_diag_set(c->j.diag, VG_ELIMIT, "JSON has more than %u values",
                               VG_JSON_MAX_NODES);
        vg_json *kid = vg_arena_zalloc(c->a, sizeof *kid);
        if (!kid)
            return VG_ENOMEM;
        if (obj) {
            if (c->j.p >= c->j.end || *c->j.p != '"')
                return jerr(&c->j, "expected a member name");
            c->j.p++;
            vg_err e = scan_string(&c->j, &kid->key);
            if (e)
                return e;
            skip_ws(&c->j);
            if (c->j.p >= c->j.end || *c->j.p != ':')
                return jerr(&c->j, "expected ':'");
            c->j.p++;
        }
        vg_err e = dom_value(c, kid, depth + 1);
        if (e)
            return e;
        if (n == cap) {
            vg_json **nk = vg_arena_alloc(c->a, cap * 2 * sizeof *nk);
            if (!nk)
                return VG_ENOMEM;
            memcpy(nk, kids, n * sizeof *nk);
            kids = nk;
            cap *= 2;
        }
        kids[n++] = kid;
    }
    node->kids = kids;
    node->n = n;
    return VG_OK;
}

static vg_err dom_value(dom_ctx *c, vg_json *node, int depth)
{
    skip_ws(&c->j);
    if (c->j.p >= c->j.end)
        return jerr(&c->j, "expected a value");
    char ch = *c->j.p;
    if (ch == '{' || ch == '[') {
        if (depth >= VG_JSON_MAX_DEPTH)
            return vg_diag_set(c->j.diag, VG_ELIMIT, "JSON nested deeper than %d at byte %zu",
                               VG_JSON_MAX_DEPTH, vg_json_pull_offset(&c->j));
        node->kind = ch == '{' ? VG_JSON_OBJECT : VG_JSON_ARRAY;
        return dom_children(c, node, depth, ch == '{');
    }
    vg_json_val v;
    vg_err e = vg_json_pull_value(&c->j, &v);
    if (e)
        return e;
    node->kind = v.kind;
    node->str = v.str;
    return VG_OK;
}

vg_err vg_json_parse(vg_arena *a, vg_str text, vg_json **out, vg_diag *d)
{
    dom_ctx c;
    vg_json_pull_init(&c.j, text, a, d);
    c.a = a;
    c.nodes = 1;
    vg_json *root = vg_arena_zalloc(a, sizeof *root);
    if (!root)
        return VG_ENOMEM;
    vg_err e = dom_value(&c, root, 0);
    if (!e)
        e = vg_json_pull_end(&c.j);
    if (!e)
        *out = root;
    return e;
}

const vg_json *vg_json_get(const vg_json *obj, const char *key)
{
    if (!obj || obj->kind != VG_JSON_OBJECT)
        return NULL;
    vg_str k = vg_str_c(key);
    for (uint32_t i = 0; i < obj->n; i++)
        if (vg_str_eq(obj->kids[i]->key, k))
            return obj->kids[i];
    return NULL;
}

const vg_json *vg_json_path(const vg_json *root, const char *path)
{
    const vg_json *cur = root;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        const vg_json *next = NULL;
        if (cur->kind == VG_JSON_OBJECT)
            for (uint32_t i = 0; i < cur->n; i++)
                if (vg_str_eq(cur->kids[i]->key, vg_str_make(p, n))) {
                    next = cur->kids[i];
                    break;
                }
        cur = next;
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

vg_str vg_json_text(const vg_json *v)
{
    if (!v)
        return VG_STR_NULL;
    switch (v->kind) {
    case VG_JSON_STRING:
    case VG_JSON_NUMBER: return v->str;
    case VG_JSON_TRUE: return VG_STR_LIT("true");
    case VG_JSON_FALSE: return VG_STR_LIT("false");
    default: return VG_STR_NULL;
    }
}

void vg_json_write(vg_buf *b, const vg_json *v)
{
    switch (v->kind) {
    case VG_JSON_NULL: vg_buf_puts(b, "null"); break;
    case VG_JSON_TRUE: vg_buf_puts(b, "true"); break;
    case VG_JSON_FALSE: vg_buf_puts(b, "false"); break;
    case VG_JSON_NUMBER: vg_buf_putstr(b, v->str); break;
    case VG_JSON_STRING: vg_buf_put_json_str(b, v->str); break;
    case VG_JSON_OBJECT:
    case VG_JSON_ARRAY:
        vg_buf_putc(b, v->kind == VG_JSON_OBJECT ? '{' : '[');
        for (uint32_t i = 0; i < v->n; i++) {
            if (i)
                vg_buf_putc(b, ',');
            if (v->kind == VG_JSON_OBJECT) {
                vg_buf_put_json_str(b, v->kids[i]->key);
                vg_buf_putc(b, ':');
            }
            vg_json_write(b, v->kids[i]);
        }
        vg_buf_putc(b, v->kind == VG_JSON_OBJECT ? '}' : ']');
        break;
    }
}

vg_err vg_json_lookup(vg_str obj_text, vg_str key, vg_arena *a, vg_json_val *out)
{
    vg_json_pull j;
    vg_json_pull_init(&j, obj_text, a, NULL);
    vg_err e = vg_json_pull_obj_begin(&j);
    if (e)
        return e;
    for (;;) {
        vg_str k;
        bool done;
        if ((e = vg_json_pull_obj_key(&j, &k, &done)))
            return e;
        if (done)
            return VG_ENOTFOUND;
        if ((e = vg_json_pull_value(&j, out)))
            return e;
        if (vg_str_eq(k, key))
            return VG_OK;
    }
}
