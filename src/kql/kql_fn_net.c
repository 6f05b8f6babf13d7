/*
 * kql_fn_net.c - Kusto's network functions: IPv4 and IPv6 parsing,
 * comparison and ranges, IPv4 addresses inside text (has_ipv4 and friends),
 * parse_url, parse_urlquery, parse_path and geo_info_from_ip_address: table
 * kql_fn_net_defs, joined into the registry by kql_fn.c.
 *
 * A text that does not parse as an address gives null, never an error.
 * Dynamic results (parse_url, parse_path, geo) are property bags built in
 * ctx->arena. geo_info_from_ip_address reads the MaxMind database the query
 * was given (ctx->geo) and is null without one.
 *
 * Limits: parse_url keeps KQL_URL_MAX_PARAMS query parameters,
 * has_any_ipv4 looks for at most 64 addresses.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <maxminddb.h>

#include "kql/kql_fn_int.h"

/* Query parameters kept by parse_url (later ones are dropped). */
#define KQL_URL_MAX_PARAMS 256

/* ---- IPv4 ---- */

/* "a.b.c.d" with an optional "/prefix"; prefix 32 when absent. */
static bool ipv4_parse(vg_str s, uint32_t *ip, int *prefix)
{
    s = vg_str_trim(s);
    size_t i = 0;
    uint32_t v = 0;
    for (int oct = 0; oct < 4; oct++) {
        if (oct > 0) {
            if (i >= s.n || s.p[i] != '.')
                return false;
            i++;
        }
        size_t st = i;
        uint32_t o = 0;
        while (i < s.n && i - st < 3 && s.p[i] >= '0' && s.p[i] <= '9')
            o = o * 10 + (uint32_t)(s.p[i++] - '0');
        if (i == st || o > 255)
            return false;
        v = v << 8 | o;
    }
    int p = 32;
    if (i < s.n && s.p[i] == '/') {
        i++;
        size_t st = i;
        p = 0;
        while (i < s.n && i - st < 2 && s.p[i] >= '0' && s.p[i] <= '9')
            p = p * 10 + (s.p[i++] - '0');
        if (i == st || p > 32)
            return false;
    }
    if (i != s.n)
        return false;
    *ip = v;
    *prefix = p;
    return true;
}

static uint32_t mask_of(int prefix) { return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix); }

/* An IPv4 argument: a string (possibly CIDR) or a long. */
static bool get_ipv4(kql_val v, uint32_t *ip, int *prefix)
{
    vg_str s;
    if (kql_arg_str(v, &s))
        return ipv4_parse(s, ip, prefix);
    int64_t i;
    if ((v.t == VG_T_LONG || v.t == VG_T_INT) && kql_arg_i64(v, &i) && i >= 0 && i <= 0xffffffffLL) {
        *ip = (uint32_t)i;
        *prefix = 32;
        return true;
    }
    return false;
}

static kql_val fn_parse_ipv4(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t ip;
    int p;
    vg_str s;
    if (!kql_arg_str(a[0], &s) || !ipv4_parse(s, &ip, &p))
        return kql_null(VG_T_LONG);
    return kql_long(ip & mask_of(p));
}

static kql_val fn_parse_ipv4_mask(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t ip;
    int p;
    int64_t m;
    vg_str s;
    if (!kql_arg_str(a[0], &s) || !ipv4_parse(s, &ip, &p) || !kql_arg_i64(a[1], &m) || m < 0 || m > 32)
        return kql_null(VG_T_LONG);
    if (m < p)
        p = (int)m;
    return kql_long(ip & mask_of(p));
}

static kql_val fn_ipv4_is_private(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    static const struct { uint32_t net; int prefix; } priv[] = {
        { 0x0a000000u, 8 }, { 0xac100000u, 12 }, { 0xc0a80000u, 16 },
    };
    uint32_t ip;
    int p;
    if (!get_ipv4(a[0], &ip, &p))
        return kql_null(VG_T_BOOL);
    for (size_t i = 0; i < 3; i++)
        if (p >= priv[i].prefix && (ip & mask_of(priv[i].prefix)) == priv[i].net)
            return kql_bool(true);
    return kql_bool(false);
}

static kql_val fn_ipv4_is_in_range(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t ip, net;
    int p, rp;
    if (!get_ipv4(a[0], &ip, &p) || !get_ipv4(a[1], &net, &rp))
        return kql_null(VG_T_BOOL);
    return kql_bool((ip & mask_of(rp)) == (net & mask_of(rp)));
}

static kql_val fn_ipv4_is_in_any_range(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t ip, net;
    int p, rp;
    if (!get_ipv4(a[0], &ip, &p))
        return kql_null(VG_T_BOOL);
    for (uint32_t i = 1; i < n; i++) {
        const vg_json *arr = kql_arg_array(a[i]);
        uint32_t cnt = arr ? arr->n : 1;
        for (uint32_t j = 0; j < cnt; j++) {
            kql_val r = arr ? kql_dyn_scalar(arr->kids[j]) : a[i];
            if (get_ipv4(r, &net, &rp) && (ip & mask_of(rp)) == (net & mask_of(rp)))
                return kql_bool(true);
        }
    }
    return kql_bool(false);
}

/* ipv4_compare/ipv4_is_match: the smaller of both prefixes and the explicit one */
static bool ipv4_pair(const kql_val *a, uint32_t n, uint32_t *x, uint32_t *y)
{
    int p1, p2;
    int64_t pm = 32;
    if (!get_ipv4(a[0], x, &p1) || !get_ipv4(a[1], y, &p2) || (n > 2 && !kql_arg_i64(a[2], &pm)) ||
        pm < 0 || pm > 32)
        return false;
    int p = p1 < p2 ? p1 : p2;
    if (pm < p)
        p = (int)pm;
    *x &= mask_of(p);
    *y &= mask_of(p);
    return true;
}

static kql_val fn_ipv4_compare(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t x, y;
    if (!ipv4_pair(a, n, &x, &y))
        return kql_null(VG_T_LONG);
    return kql_long((x > y) - (x < y));
}

static kql_val fn_ipv4_is_match(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t x, y;
    if (!ipv4_pair(a, n, &x, &y))
        return kql_null(VG_T_BOOL);
    return kql_bool(x == y);
}

static kql_val ipv4_text(kql_ctx *ctx, uint32_t ip, int prefix, bool with_prefix)
{
    char *buf = vg_arena_alloc(ctx->arena, 24);
    if (!buf)
        return kql_null(VG_T_STRING);
    ip &= mask_of(prefix);
    int k = with_prefix
                ? snprintf(buf, 24, "%u.%u.%u.%u/%d", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255, prefix)
                : snprintf(buf, 24, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
    return k > 0 && k < 24 ? kql_string(vg_str_make(buf, (size_t)k)) : kql_null(VG_T_STRING);
}

static kql_val format_ipv4_impl(kql_ctx *ctx, const kql_val *a, uint32_t n, bool with_prefix)
{
    uint32_t ip;
    int p;
    int64_t m = 32;
    if (!get_ipv4(a[0], &ip, &p) || (n > 1 && !kql_arg_i64(a[1], &m)) || m < 0 || m > 32)
        return kql_null(VG_T_STRING);
    if (m < p)
        p = (int)m;
    return ipv4_text(ctx, ip, p, with_prefix);
}

static kql_val fn_format_ipv4(kql_ctx *ctx, const kql_val *a, uint32_t n) { return format_ipv4_impl(ctx, a, n, false); }
static kql_val fn_format_ipv4_mask(kql_ctx *ctx, const kql_val *a, uint32_t n) { return format_ipv4_impl(ctx, a, n, true); }

static kql_val fn_ipv4_netmask_suffix(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t ip;
    int p;
    vg_str s;
    if (!kql_arg_str(a[0], &s) || !ipv4_parse(s, &ip, &p))
        return kql_null(VG_T_INT);
    return kql_int(p);
}

/* ---- IPv6 ---- */

/* An IPv6 address with an optional "/prefix" (default 128); an IPv4
 * address reads as its IPv4-mapped form ::ffff:a.b.c.d (prefix 96 + its own). */
static bool ipv6_parse(vg_str s, uint8_t out[16], int *prefix)
{
    s = vg_str_trim(s);
    uint32_t v4;
    int p4;
    if (vg_str_chr(s, ':') < 0) {
        if (!ipv4_parse(s, &v4, &p4))
            return false;
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        out[12] = (uint8_t)(v4 >> 24);
        out[13] = (uint8_t)(v4 >> 16);
        out[14] = (uint8_t)(v4 >> 8);
        out[15] = (uint8_t)v4;
        *prefix = 96 + p4;
        return true;
    }
    int p = 128;
    ptrdiff_t slash = vg_str_chr(s, '/');
    vg_str addr = s;
    if (slash >= 0) {
        vg_str ps = vg_str_make(s.p + slash + 1, s.n - (size_t)slash - 1);
        int64_t pv;
        if (vg_str_to_i64(ps, &pv) != VG_OK || pv < 0 || pv > 128)
            return false;
        p = (int)pv;
        addr = vg_str_make(s.p, (size_t)slash);
    }
    char buf[INET6_ADDRSTRLEN + 1];
    if (addr.n == 0 || addr.n >= sizeof buf)
        return false;
    vg_str_copy_c(buf, sizeof buf, addr);
    if (inet_pton(AF_INET6, buf, out) != 1)
        return false;
    *prefix = p;
    return true;
}

static void ipv6_mask(uint8_t a[16], int prefix)
{
    for (int i = 0; i < 16; i++) {
        int bits = prefix - i * 8;
        a[i] &= bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
    }
}

static bool ipv6_pair(const kql_val *a, uint32_t n, uint8_t x[16], uint8_t y[16])
{
    vg_str s1, s2;
    int p1, p2;
    int64_t pm = 128;
    if (!kql_arg_str(a[0], &s1) || !kql_arg_str(a[1], &s2) || !ipv6_parse(s1, x, &p1) || !ipv6_parse(s2, y, &p2) ||
        (n > 2 && !kql_arg_i64(a[2], &pm)) || pm < 0 || pm > 128)
        return false;
    int p = p1 < p2 ? p1 : p2;
    if (pm < p)
        p = (int)pm;
    ipv6_mask(x, p);
    ipv6_mask(y, p);
    return true;
}

static kql_val fn_ipv6_compare(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint8_t x[16], y[16];
    if (!ipv6_pair(a, n, x, y))
        return kql_null(VG_T_LONG);
    int c = memcmp(x, y, 16);
    return kql_long((c > 0) - (c < 0));
}

static kql_val fn_ipv6_is_match(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint8_t x[16], y[16];
    if (!ipv6_pair(a, n, x, y))
        return kql_null(VG_T_BOOL);
    return kql_bool(memcmp(x, y, 16) == 0);
}

/* parse_ipv6(ip): the canonical text, eight groups of four hex digits */
static kql_val fn_parse_ipv6(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint8_t x[16];
    int p;
    vg_str s;
    if (!kql_arg_str(a[0], &s) || !ipv6_parse(s, x, &p))
        return kql_null(VG_T_STRING);
    ipv6_mask(x, p);
    char *buf = vg_arena_alloc(ctx->arena, 40);
    if (!buf)
        return kql_null(VG_T_STRING);
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i > 0 && i % 2 == 0)
            buf[k++] = ':';
        buf[k++] = hex[x[i] >> 4];
        buf[k++] = hex[x[i] & 15];
    }
    return kql_string(vg_str_make(buf, k));
}

/* ---- IPv4 addresses inside text (has_ipv4 and friends) ---- */

/* An address in text must stand alone: no letter, digit or '.' right
 * before it, and after it no letter or digit, nor a '.' followed by a digit
 * (a sentence may end with the address). Calls found() for each; stops
 * when it returns true. */
static bool scan_ipv4(vg_str t, bool (*found)(uint32_t ip, void *arg), void *arg)
{
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            continue;
        if (i > 0 && (isalnum((unsigned char)t.p[i - 1]) || t.p[i - 1] == '.'))
            continue;
        size_t j = i;
        uint32_t v = 0;
        int oct = 0;
        bool ok = true;
        for (; oct < 4; oct++) {
            if (oct > 0) {
                if (j >= t.n || t.p[j] != '.') {
                    ok = false;
                    break;
                }
                j++;
            }
            size_t st = j;
            uint32_t o = 0;
            while (j < t.n && j - st < 4 && t.p[j] >= '0' && t.p[j] <= '9')
                o = o * 10 + (uint32_t)(t.p[j++] - '0');
            if (j == st || j - st > 3 || o > 255) {
                ok = false;
                break;
            }
            v = v << 8 | o;
        }
        if (ok && j < t.n && (isalnum((unsigned char)t.p[j]) ||
                              (t.p[j] == '.' && j + 1 < t.n && isdigit((unsigned char)t.p[j + 1]))))
            ok = false;
        if (ok && found(v, arg))
            return true;
        /* skip the rest of this run of digits and dots */
        while (i + 1 < t.n && (isdigit((unsigned char)t.p[i + 1]) || t.p[i + 1] == '.'))
            i++;
    }
    return false;
}

typedef struct ip_want {
    const uint32_t *net;
    const int *prefix;
    uint32_t n;
} ip_want;

static bool ip_matches(uint32_t ip, void *arg)
{
    const ip_want *w = arg;
    for (uint32_t i = 0; i < w->n; i++)
        if ((ip & mask_of(w->prefix[i])) == (w->net[i] & mask_of(w->prefix[i])))
            return true;
    return false;
}

/* A prefix "10.1." or "10.1" (octets given) as a network and a prefix length;
 * a full address is itself. */
static bool ipv4_prefix_parse(vg_str s, uint32_t *net, int *bits)
{
    int p;
    if (ipv4_parse(s, net, &p)) {
        *bits = p;
        return true;
    }
    s = vg_str_trim(s);
    if (s.n > 0 && s.p[s.n - 1] == '.')
        s.n--;
    uint32_t v = 0;
    int oct = 0;
    size_t i = 0;
    while (oct < 3) {
        size_t st = i;
        uint32_t o = 0;
        while (i < s.n && i - st < 3 && s.p[i] >= '0' && s.p[i] <= '9')
            o = o * 10 + (uint32_t)(s.p[i++] - '0');
        if (i == st || o > 255)
            return false;
        v = v << 8 | o;
        oct++;
        if (i == s.n)
            break;
        if (s.p[i++] != '.')
            return false;
    }
    if (i != s.n)
        return false;
    *net = v << (8 * (4 - oct));
    *bits = 8 * oct;
    return true;
}

/* has_ipv4(text, ip), has_ipv4_prefix(text, prefix), has_any_ipv4(text, ip...|array),
 * has_any_ipv4_prefix(text, prefix...|array) */
static kql_val has_ipv4_impl(const kql_val *a, uint32_t n, bool prefix, bool any)
{
    vg_str text;
    if (!kql_arg_str(a[0], &text))
        return kql_null(VG_T_BOOL);
    uint32_t nets[64];
    int bits[64];
    uint32_t k = 0;
    for (uint32_t i = 1; i < n && k < 64; i++) {
        const vg_json *arr = any ? kql_arg_array(a[i]) : NULL;
        uint32_t cnt = arr ? arr->n : 1;
        for (uint32_t j = 0; j < cnt && k < 64; j++) {
            kql_val v = arr ? kql_dyn_scalar(arr->kids[j]) : a[i];
            vg_str s;
            if (!kql_arg_str(v, &s))
                continue;
            bool ok = prefix ? ipv4_prefix_parse(s, &nets[k], &bits[k]) : ipv4_parse(s, &nets[k], &bits[k]);
            if (ok) {
                if (!prefix)
                    bits[k] = 32;   /* has_ipv4 wants the exact address */
                k++;
            }
        }
    }
    if (k == 0)
        return any ? kql_bool(false) : kql_null(VG_T_BOOL);
    ip_want w = { nets, bits, k };
    return kql_bool(scan_ipv4(text, ip_matches, &w));
}

static kql_val fn_has_ipv4(kql_ctx *ctx, const kql_val *a, uint32_t n) { return has_ipv4_impl(a, n, false, false); }
static kql_val fn_has_ipv4_prefix(kql_ctx *ctx, const kql_val *a, uint32_t n) { return has_ipv4_impl(a, n, true, false); }
static kql_val fn_has_any_ipv4(kql_ctx *ctx, const kql_val *a, uint32_t n) { return has_ipv4_impl(a, n, false, true); }
static kql_val fn_has_any_ipv4_prefix(kql_ctx *ctx, const kql_val *a, uint32_t n) { return has_ipv4_impl(a, n, true, true); }

/* ---- parse_url, parse_path ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Form decoding of a query component: %XX and '+' as a space. */
static vg_str url_decode(vg_arena *a, vg_str s)
{
    char *o = vg_arena_alloc(a, s.n + 1);
    if (!o)
        return VG_STR_LIT("");
    size_t k = 0;
    for (size_t i = 0; i < s.n; i++) {
        int h1, h2;
        if (s.p[i] == '%' && i + 2 < s.n &&
            (h1 = hexval(s.p[i + 1])) >= 0 && (h2 = hexval(s.p[i + 2])) >= 0) {
            o[k++] = (char)(h1 * 16 + h2);
            i += 2;
        } else {
            o[k++] = s.p[i] == '+' ? ' ' : s.p[i];
        }
    }
    o[k] = '\0';
    return vg_str_make(o, k);
}

static vg_str sub(vg_str s, size_t from, size_t to) { return vg_str_make(s.p + from, to > from ? to - from : 0); }

static size_t find_any(vg_str s, size_t from, const char *set)
{
    for (size_t i = from; i < s.n; i++)
        if (strchr(set, s.p[i]) && s.p[i] != '\0')
            return i;
    return s.n;
}

static bool put_str(kql_ctx *ctx, vg_json *bag, const char *key, vg_str v)
{
    return kql_dyn_put(ctx->arena, bag, vg_str_c(key), kql_fn_dyn_str(ctx, v));
}

/* The bag of a query string's parameters (form-decoded; a repeated key
 * gets its values joined with ',' as .NET's ParseQueryString). */
static vg_json *query_bag(kql_ctx *ctx, vg_str query)
{
    vg_str empty = VG_STR_LIT("");
    vg_str keys[KQL_URL_MAX_PARAMS], vals[KQL_URL_MAX_PARAMS];
    uint32_t np = 0;
    for (size_t qs = 0; qs < query.n && np < KQL_URL_MAX_PARAMS;) {
        size_t qe = find_any(query, qs, "&");
        vg_str kv = sub(query, qs, qe);
        qs = qe + 1;
        if (kv.n == 0)
            continue;
        ptrdiff_t eq = vg_str_chr(kv, '=');
        vg_str k = url_decode(ctx->arena, eq >= 0 ? sub(kv, 0, (size_t)eq) : kv);
        vg_str v = eq >= 0 ? url_decode(ctx->arena, sub(kv, (size_t)eq + 1, kv.n)) : empty;
        uint32_t j = 0;
        while (j < np && !vg_str_eq(keys[j], k))
            j++;
        if (j < np) {
            char *joined = vg_arena_printf(ctx->arena, "%.*s,%.*s", VG_STR_FMT(vals[j]), VG_STR_FMT(v));
            if (joined)
                vals[j] = vg_str_c(joined);
        } else {
            keys[np] = k;
            vals[np++] = v;
        }
    }
    vg_json *qp = kql_dyn_bag(ctx->arena, np);
    if (!qp)
        return NULL;
    for (uint32_t j = 0; j < np; j++)
        kql_dyn_put(ctx->arena, qp, keys[j], kql_fn_dyn_str(ctx, vals[j]));
    return qp;
}

/* parse_urlquery(query): {"Query Parameters": {...}}; a leading '?' is skipped */
static kql_val fn_parse_urlquery(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str q;
    if (!kql_arg_str(a[0], &q))
        return kql_null(VG_T_DYNAMIC);
    if (q.n > 0 && q.p[0] == '?')
        q = sub(q, 1, q.n);
    vg_json *qp = query_bag(ctx, q);
    vg_json *bag = kql_dyn_bag(ctx->arena, 1);
    if (!qp || !bag || !kql_dyn_put(ctx->arena, bag, VG_STR_LIT("Query Parameters"), qp))
        return kql_null(VG_T_DYNAMIC);
    return kql_dynamic(bag);
}

static kql_val fn_parse_url(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s, empty = VG_STR_LIT("");
    if (!kql_arg_str(a[0], &s))
        return kql_null(VG_T_DYNAMIC);
    vg_str scheme = empty, host = empty, port = empty, path = empty, user = empty, pass = empty,
           query = empty, frag = empty;
    /* scheme "://" is required; otherwise every part is empty */
    size_t i = 0;
    while (i < s.n && (isalnum((unsigned char)s.p[i]) || s.p[i] == '+' || s.p[i] == '-' || s.p[i] == '.'))
        i++;
    bool ok = i > 0 && isalpha((unsigned char)s.p[0]) && i + 3 <= s.n && memcmp(s.p + i, "://", 3) == 0;
    if (ok) {
        scheme = sub(s, 0, i);
        size_t as = i + 3, ae = find_any(s, as, "/?#");
        vg_str auth = sub(s, as, ae);
        ptrdiff_t at = vg_str_rchr(auth, '@');
        if (at >= 0) {
            vg_str ui = sub(auth, 0, (size_t)at);
            ptrdiff_t c = vg_str_chr(ui, ':');
            user = c >= 0 ? sub(ui, 0, (size_t)c) : ui;
            pass = c >= 0 ? sub(ui, (size_t)c + 1, ui.n) : empty;
            auth = sub(auth, (size_t)at + 1, auth.n);
        }
        ptrdiff_t colon = vg_str_rchr(auth, ':');
        ptrdiff_t rb = vg_str_rchr(auth, ']');
        if (colon >= 0 && colon > rb) {
            host = sub(auth, 0, (size_t)colon);
            port = sub(auth, (size_t)colon + 1, auth.n);
        } else {
            host = auth;
        }
        size_t pe = find_any(s, ae, "?#");
        path = sub(s, ae, pe);
        if (pe < s.n && s.p[pe] == '?') {
            size_t qe = find_any(s, pe + 1, "#");
            query = sub(s, pe + 1, qe);
            pe = qe;
        }
        if (pe < s.n && s.p[pe] == '#')
            frag = sub(s, pe + 1, s.n);
    }
    vg_json *bag = kql_dyn_bag(ctx->arena, 8);
    if (!bag)
        return kql_null(VG_T_DYNAMIC);
    vg_json *qp = query_bag(ctx, query);
    if (!qp)
        return kql_null(VG_T_DYNAMIC);
    if (!put_str(ctx, bag, "Scheme", scheme) || !put_str(ctx, bag, "Host", host) ||
        !put_str(ctx, bag, "Port", port) || !put_str(ctx, bag, "Path", path) ||
        !put_str(ctx, bag, "Username", user) || !put_str(ctx, bag, "Password", pass) ||
        !kql_dyn_put(ctx->arena, bag, VG_STR_LIT("Query Parameters"), qp) ||
        !put_str(ctx, bag, "Fragment", frag))
        return kql_null(VG_T_DYNAMIC);
    return kql_dynamic(bag);
}

static bool is_sep(char c) { return c == '/' || c == '\\'; }

static kql_val fn_parse_path(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s, empty = VG_STR_LIT("");
    if (!kql_arg_str(a[0], &s))
        return kql_null(VG_T_DYNAMIC);
    vg_str scheme = empty, root = empty, dirpath = empty, dirname = empty, file = empty, ext = empty,
           ads = empty;
    vg_str p = s;
    /* scheme "x://" */
    size_t i = 0;
    while (i < p.n && isalpha((unsigned char)p.p[i]))
        i++;
    if (i > 1 && i + 3 <= p.n && memcmp(p.p + i, "://", 3) == 0) {
        scheme = sub(p, 0, i);
        p = sub(p, i + 3, p.n);
    }
    /* root: a drive letter, also after a long-path prefix \\?\ or \\.\ */
    vg_str r = p;
    if (r.n >= 4 && is_sep(r.p[0]) && is_sep(r.p[1]) && (r.p[2] == '?' || r.p[2] == '.') && is_sep(r.p[3]))
        r = sub(r, 4, r.n);
    if (r.n >= 2 && isalpha((unsigned char)r.p[0]) && r.p[1] == ':')
        root = sub(r, 0, 2);
    ptrdiff_t last = -1;
    for (size_t k = 0; k < p.n; k++)
        if (is_sep(p.p[k]))
            last = (ptrdiff_t)k;
    if (last >= 0) {
        dirpath = sub(p, 0, (size_t)last);
        file = sub(p, (size_t)last + 1, p.n);
    } else {
        file = p;
    }
    /* the directory's own name: the last component of the directory path */
    ptrdiff_t dl = -1;
    for (size_t k = 0; k < dirpath.n; k++)
        if (is_sep(dirpath.p[k]))
            dl = (ptrdiff_t)k;
    dirname = sub(dirpath, (size_t)(dl + 1), dirpath.n);
    if (root.n && vg_str_eq(dirname, root))
        dirname = empty;
    /* alternate data stream: "file.txt:stream" */
    ptrdiff_t colon = vg_str_chr(file, ':');
    if (colon >= 0) {
        ads = sub(file, (size_t)colon + 1, file.n);
        file = sub(file, 0, (size_t)colon);
    }
    ptrdiff_t dot = vg_str_rchr(file, '.');
    if (dot >= 0)
        ext = sub(file, (size_t)dot + 1, file.n);
    vg_json *bag = kql_dyn_bag(ctx->arena, 7);
    if (!bag || !put_str(ctx, bag, "Scheme", scheme) || !put_str(ctx, bag, "RootPath", root) ||
        !put_str(ctx, bag, "DirectoryPath", dirpath) || !put_str(ctx, bag, "DirectoryName", dirname) ||
        !put_str(ctx, bag, "Filename", file) || !put_str(ctx, bag, "Extension", ext) ||
        !put_str(ctx, bag, "AlternateDataStreamName", ads))
        return kql_null(VG_T_DYNAMIC);
    return kql_dynamic(bag);
}

/* ---- geo ---- */

static vg_str mmdb_text(kql_ctx *ctx, MMDB_entry_s *e, const char *const *path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING)
        return VG_STR_LIT("");
    return vg_str_dup(ctx->arena, vg_str_make(d.utf8_string, d.data_size));
}

static const vg_json *mmdb_num(kql_ctx *ctx, MMDB_entry_s *e, const char *const *path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data || d.type != MMDB_DATA_TYPE_DOUBLE)
        return kql_fn_dyn_from(ctx->arena, kql_null(VG_T_REAL));
    return kql_fn_dyn_from(ctx->arena, kql_real(d.double_value));
}

static kql_val fn_geo_info_from_ip_address(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s;
    if (!ctx->geo || !kql_arg_str(a[0], &s))
        return kql_null(VG_T_DYNAMIC);
    char ip[64];
    s = vg_str_trim(s);
    if (s.n == 0 || s.n >= sizeof ip)
        return kql_null(VG_T_DYNAMIC);
    vg_str_copy_c(ip, sizeof ip, s);
    int gai = 0, err = 0;
    MMDB_lookup_result_s res = MMDB_lookup_string((MMDB_s *)ctx->geo, ip, &gai, &err);
    if (gai != 0 || err != MMDB_SUCCESS || !res.found_entry)
        return kql_null(VG_T_DYNAMIC);
    static const char *const country[] = { "country", "names", "en", NULL };
    static const char *const state[] = { "subdivisions", "0", "names", "en", NULL };
    static const char *const city[] = { "city", "names", "en", NULL };
    static const char *const lat[] = { "location", "latitude", NULL };
    static const char *const lon[] = { "location", "longitude", NULL };
    vg_json *bag = kql_dyn_bag(ctx->arena, 5);
    if (!bag || !put_str(ctx, bag, "country", mmdb_text(ctx, &res.entry, country)) ||
        !put_str(ctx, bag, "state", mmdb_text(ctx, &res.entry, state)) ||
        !put_str(ctx, bag, "city", mmdb_text(ctx, &res.entry, city)) ||
        !kql_dyn_put(ctx->arena, bag, VG_STR_LIT("latitude"), mmdb_num(ctx, &res.entry, lat)) ||
        !kql_dyn_put(ctx->arena, bag, VG_STR_LIT("longitude"), mmdb_num(ctx, &res.entry, lon)))
        return kql_null(VG_T_DYNAMIC);
    return kql_dynamic(bag);
}

KQL_FN_SIG(parse_ipv4, VG_T_LONG, "s")
KQL_FN_SIG(parse_ipv4_mask, VG_T_LONG, "sn")
KQL_FN_SIG(ipv4_is_private, VG_T_BOOL, "s")
KQL_FN_SIG(ipv4_is_in_range, VG_T_BOOL, "ss")
KQL_FN_SIG(ipv4_is_in_any_range, VG_T_BOOL, "sa")
KQL_FN_SIG(ipv4_is_match, VG_T_BOOL, "ssn")
KQL_FN_SIG(ipv4_compare, VG_T_LONG, "ssn")
KQL_FN_SIG(ipv4_netmask_suffix, VG_T_INT, "s")
KQL_FN_SIG(format_ipv4, VG_T_STRING, "an")
KQL_FN_SIG(format_ipv4_mask, VG_T_STRING, "an")
KQL_FN_SIG(parse_url, VG_T_DYNAMIC, "s")
KQL_FN_SIG(parse_path, VG_T_DYNAMIC, "s")
KQL_FN_SIG(geo_info_from_ip_address, VG_T_DYNAMIC, "s")
KQL_FN_SIG(parse_urlquery, VG_T_DYNAMIC, "s")
KQL_FN_SIG(parse_ipv6, VG_T_STRING, "s")
KQL_FN_SIG(ipv6_compare, VG_T_LONG, "ssn")
KQL_FN_SIG(ipv6_is_match, VG_T_BOOL, "ssn")
KQL_FN_SIG(has_ipv4, VG_T_BOOL, "ss")
KQL_FN_SIG(has_ipv4_prefix, VG_T_BOOL, "ss")
KQL_FN_SIG(has_any_ipv4, VG_T_BOOL, "sa")
KQL_FN_SIG(has_any_ipv4_prefix, VG_T_BOOL, "sa")

const kql_fn_def kql_fn_net_defs[] = {
    KQL_FN_TYPED("parse_ipv4", 1, 1, sig_parse_ipv4, fn_parse_ipv4, "parse_ipv4(ip): the address as a long (masked by a /prefix)"),
    KQL_FN_TYPED("parse_ipv4_mask", 2, 2, sig_parse_ipv4_mask, fn_parse_ipv4_mask, "parse_ipv4_mask(ip, prefix)"),
    KQL_FN_TYPED("ipv4_is_private", 1, 1, sig_ipv4_is_private, fn_ipv4_is_private, "ipv4_is_private(ip): in 10/8, 172.16/12 or 192.168/16"),
    KQL_FN_TYPED("ipv4_is_in_range", 2, 2, sig_ipv4_is_in_range, fn_ipv4_is_in_range, "ipv4_is_in_range(ip, range)"),
    KQL_FN_TYPED("ipv4_is_in_any_range", 2, 64, sig_ipv4_is_in_any_range, fn_ipv4_is_in_any_range, "ipv4_is_in_any_range(ip, range1, ...) or (ip, array)"),
    KQL_FN_TYPED("ipv4_is_match", 2, 3, sig_ipv4_is_match, fn_ipv4_is_match, "ipv4_is_match(ip1, ip2[, prefix])"),
    KQL_FN_TYPED("ipv4_compare", 2, 3, sig_ipv4_compare, fn_ipv4_compare, "ipv4_compare(ip1, ip2[, prefix]): -1, 0 or 1"),
    KQL_FN_TYPED("ipv4_netmask_suffix", 1, 1, sig_ipv4_netmask_suffix, fn_ipv4_netmask_suffix, "ipv4_netmask_suffix(ip): the /prefix (32 when absent)"),
    KQL_FN_TYPED("format_ipv4", 1, 2, sig_format_ipv4, fn_format_ipv4, "format_ipv4(ip[, prefix])"),
    KQL_FN_TYPED("format_ipv4_mask", 1, 2, sig_format_ipv4_mask, fn_format_ipv4_mask, "format_ipv4_mask(ip[, prefix]): a.b.c.d/prefix"),
    KQL_FN_TYPED("parse_urlquery", 1, 1, sig_parse_urlquery, fn_parse_urlquery, "parse_urlquery(query): {\"Query Parameters\": {...}}"),
    KQL_FN_TYPED("parse_ipv6", 1, 1, sig_parse_ipv6, fn_parse_ipv6, "parse_ipv6(ip): canonical IPv6 text (IPv4 as ::ffff:a.b.c.d)"),
    KQL_FN_TYPED("ipv6_compare", 2, 3, sig_ipv6_compare, fn_ipv6_compare, "ipv6_compare(ip1, ip2[, prefix]): -1, 0 or 1 (IPv4 accepted)"),
    KQL_FN_TYPED("ipv6_is_match", 2, 3, sig_ipv6_is_match, fn_ipv6_is_match, "ipv6_is_match(ip1, ip2[, prefix])"),
    KQL_FN_TYPED("has_ipv4", 2, 2, sig_has_ipv4, fn_has_ipv4, "has_ipv4(text, ip): the address appears in the text, delimited"),
    KQL_FN_TYPED("has_ipv4_prefix", 2, 2, sig_has_ipv4_prefix, fn_has_ipv4_prefix, "has_ipv4_prefix(text, prefix): an address of the text starts with prefix"),
    KQL_FN_TYPED("has_any_ipv4", 2, 64, sig_has_any_ipv4, fn_has_any_ipv4, "has_any_ipv4(text, ip1, ...) or (text, array)"),
    KQL_FN_TYPED("has_any_ipv4_prefix", 2, 64, sig_has_any_ipv4_prefix, fn_has_any_ipv4_prefix, "has_any_ipv4_prefix(text, prefix1, ...) or (text, array)"),
    KQL_FN_TYPED("parse_url", 1, 1, sig_parse_url, fn_parse_url, "parse_url(url): Scheme, Host, Port, Path, Username, Password, Query Parameters, Fragment"),
    KQL_FN_TYPED("parse_path", 1, 1, sig_parse_path, fn_parse_path, "parse_path(path): Scheme, RootPath, DirectoryPath, DirectoryName, Filename, Extension, AlternateDataStreamName"),
    KQL_FN_TYPED("geo_info_from_ip_address", 1, 1, sig_geo_info_from_ip_address, fn_geo_info_from_ip_address,
      "geo_info_from_ip_address(ip): country, state, city, latitude, longitude (null without a GeoIP database)"),
};
const size_t kql_fn_net_ndefs = sizeof kql_fn_net_defs / sizeof kql_fn_net_defs[0];
