/*
 * sigma_value.c - Sigma value modifiers: from `Field|mod|mod: value(s)` to
 * the sg_values of one sg_item.
 *
 * The modifiers are a table (name, how it changes the item's sg_mods, docs);
 * after the key is read, the combination is checked once (re with contains,
 * cidr with base64... are failures naming both). Each written value then
 * goes through a fixed pipeline, whatever the key order where order does not
 * change the result: expand (%placeholders%) -> windash -> Sigma string to
 * canonical glob -> utf16 encoding -> base64 / base64offset -> anchor. Where
 * the order would change the result (contains before base64, base64 before
 * wide), the key is rejected, as pySigma does. Alternatives of one written
 * value share its group.
 *
 * Typed values: re (pattern as written, flags i/m/s), cidr (validated),
 * exists (boolean), fieldref (the other field's name), gt/gte/lt/lte
 * (numbers). Time parts (minute ... year) compare that part of a timestamp:
 * alone they are an exact SG_OP_MATCH on the number's text with timepart
 * set; with gt/gte/lt/lte the comparison op with timepart set.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sigma_load_int.h"

typedef enum sg_enc { ENC_NONE, ENC_UTF16LE, ENC_UTF16BE, ENC_UTF16BOM } sg_enc;
typedef enum sg_b64 { B64_NONE, B64_PLAIN, B64_OFFSET } sg_b64;

/* What the modifiers of one key ask for. */
typedef struct sg_mods {
    sg_anchor anchor;
    const char *anchor_name;
    bool all, cased, windash, expand;
    const char *typed;       /* re, cidr, exists, fieldref, gt..: the value's type */
    sg_op op;                /* with typed */
    uint8_t re_flags;
    sg_enc enc;
    sg_b64 b64;
    const char *b64_name;
    sg_timepart tp;
    const char *tp_name;
    const char *order_err;   /* an order that changes the meaning */
} sg_mods;

typedef struct sg_modifier {
    const char *name;
    /* Applies the modifier; NULL, or the reason it cannot be combined. */
    const char *(*apply)(sg_mods *m, const struct sg_modifier *self);
    int arg;
    const char *doc;
} sg_modifier;

static const char *mod_anchor(sg_mods *m, const sg_modifier *s)
{
    if (m->anchor_name)
        return m->anchor_name == s->name ? "given twice" : "conflicts with another anchor";
    m->anchor = (sg_anchor)s->arg;
    m->anchor_name = s->name;
    return NULL;
}

static const char *mod_all(sg_mods *m, const sg_modifier *s)
{
    m->all = true;
    return NULL;
}

static const char *mod_typed(sg_mods *m, const sg_modifier *s)
{
    if (m->typed)
        return "conflicts with another value type modifier";
    m->typed = s->name;
    m->op = (sg_op)s->arg;
    return NULL;
}

static const char *mod_reflag(sg_mods *m, const sg_modifier *s)
{
    if (m->op != SG_OP_RE || !m->typed)
        return "is a flag of re and must follow it";
    m->re_flags |= (uint8_t)s->arg;
    return NULL;
}

static const char *mod_enc(sg_mods *m, const sg_modifier *s)
{
    if (m->enc)
        return "conflicts with another encoding";
    if (m->b64)
        m->order_err = "an encoding (wide, utf16...) must come before base64";
    m->enc = (sg_enc)s->arg;
    return NULL;
}

static const char *mod_b64(sg_mods *m, const sg_modifier *s)
{
    if (m->b64)
        return "conflicts with another base64 modifier";
    if (m->anchor_name)
        m->order_err = "base64 of a value with wildcards (put contains/startswith/endswith after base64)";
    m->b64 = (sg_b64)s->arg;
    m->b64_name = s->name;
    return NULL;
}

static const char *mod_windash(sg_mods *m, const sg_modifier *s)
{
    m->windash = true;
    return NULL;
}

static const char *mod_expand(sg_mods *m, const sg_modifier *s)
{
    m->expand = true;
    return NULL;
}

static const char *mod_cased(sg_mods *m, const sg_modifier *s)
{
    m->cased = true;
    return NULL;
}

static const char *mod_time(sg_mods *m, const sg_modifier *s)
{
    if (m->tp)
        return "conflicts with another time part";
    m->tp = (sg_timepart)s->arg;
    m->tp_name = s->name;
    return NULL;
}

static const sg_modifier modifiers[] = {
    { "contains", mod_anchor, SG_ANCHOR_CONTAINS, "the value occurs anywhere in the field" },
    { "startswith", mod_anchor, SG_ANCHOR_STARTSWITH, "the field begins with the value" },
    { "endswith", mod_anchor, SG_ANCHOR_ENDSWITH, "the field ends with the value" },
    { "all", mod_all, 0, "every value (not any) must match" },
    { "re", mod_typed, SG_OP_RE, "the value is a regular expression" },
    { "i", mod_reflag, SG_RE_I, "re: case-insensitive" },
    { "m", mod_reflag, SG_RE_M, "re: ^ and $ match at line breaks" },
    { "s", mod_reflag, SG_RE_S, "re: . matches a line break" },
    { "cidr", mod_typed, SG_OP_CIDR, "the field is an IP address inside the network a.b.c.d/n" },
    { "exists", mod_typed, SG_OP_EXISTS, "the field is present (true) or absent (false)" },
    { "fieldref", mod_typed, SG_OP_FIELDREF, "the value names another field to compare with" },
    { "gt", mod_typed, SG_OP_GT, "numeric: greater than" },
    { "gte", mod_typed, SG_OP_GTE, "numeric: greater or equal" },
    { "lt", mod_typed, SG_OP_LT, "numeric: less than" },
    { "lte", mod_typed, SG_OP_LTE, "numeric: less or equal" },
    { "base64", mod_b64, B64_PLAIN, "the value base64-encoded" },
    { "base64offset", mod_b64, B64_OFFSET, "the value base64-encoded at the three byte offsets" },
    { "wide", mod_enc, ENC_UTF16LE, "the value as UTF-16LE (before base64)" },
    { "utf16le", mod_enc, ENC_UTF16LE, "the value as UTF-16LE" },
    { "utf16be", mod_enc, ENC_UTF16BE, "the value as UTF-16BE" },
    { "utf16", mod_enc, ENC_UTF16BOM, "the value as UTF-16LE after a byte order mark FF FE" },
    { "windash", mod_windash, 0, "- or / starting a word may also be an en, em dash or bar" },
    { "expand", mod_expand, 0, "%name% placeholders take the values of the placeholder file" },
    { "cased", mod_cased, 0, "case-sensitive match" },
    { "minute", mod_time, SG_TIME_MINUTE, "the minute of a timestamp field" },
    { "hour", mod_time, SG_TIME_HOUR, "the hour of a timestamp field" },
    { "day", mod_time, SG_TIME_DAY, "the day of month of a timestamp field" },
    { "week", mod_time, SG_TIME_WEEK, "the week of year of a timestamp field" },
    { "month", mod_time, SG_TIME_MONTH, "the month of a timestamp field" },
    { "year", mod_time, SG_TIME_YEAR, "the year of a timestamp field" },
};

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

/* Checks a combination; NULL or the reason. */
static const char *mods_check(const sg_mods *m)
{
    bool transform = m->enc || m->b64 || m->windash || m->expand;
    if (m->order_err)
        return m->order_err;
    if (!m->typed) {
        if (m->tp && (m->anchor_name || transform || m->cased))
            return "a time part compares a number and takes no other modifier";
        return NULL;
    }
    switch (m->op) {
    case SG_OP_RE:
        if (m->anchor_name || transform || m->cased)
            return "re takes no other modifier than i, m, s and all";
        return NULL;
    case SG_OP_CIDR:
    case SG_OP_EXISTS:
        if (m->anchor_name || transform || m->cased || m->tp)
            return m->op == SG_OP_CIDR ? "cidr takes no other modifier than all"
                                       : "exists takes no other modifier";
        if (m->op == SG_OP_EXISTS && m->all)
            return "exists takes no other modifier";
        return NULL;
    case SG_OP_FIELDREF:
        if (transform || m->tp)
            return "fieldref takes only contains, startswith, endswith, cased and all";
        return NULL;
    default:   /* gt, gte, lt, lte */
        if (m->anchor_name || transform || m->cased)
            return "a numeric comparison takes no other modifier than a time part";
        return NULL;
    }
}

/* ---- canonical globs ---- */

static bool is_special(char ch)
{
    return ch == '*' || ch == '?' || ch == '\\';
}

vg_str sg_glob_canon(vg_arena *a, vg_str raw)
{
    /* pySigma's SigmaString: a backslash escapes *, ? and \ ; before any
     * other byte (or at the end) it is a literal backslash. */
    char *out = vg_arena_alloc(a, raw.n * 2 + 3);
    if (!out)
        return VG_STR_NULL;
    size_t o = 0;
    bool esc = false;
    for (size_t i = 0; i < raw.n; i++) {
        char ch = raw.p[i];
        if (esc) {
            out[o++] = '\\';
            if (is_special(ch)) {
                out[o++] = ch;
            } else {
                out[o++] = '\\';
                out[o++] = ch;
            }
            esc = false;
        } else if (ch == '\\') {
            esc = true;
        } else {
            out[o++] = ch;
        }
    }
    if (esc) {
        out[o++] = '\\';
        out[o++] = '\\';
    }
    out[o] = '\0';
    return vg_str_make(out, o);
}

static bool glob_has_wild(vg_str g)
{
    for (size_t i = 0; i < g.n; i++) {
        if (g.p[i] == '\\')
            i++;
        else if (g.p[i] == '*' || g.p[i] == '?')
            return true;
    }
    return false;
}

static void buf_put_lit(vg_buf *b, unsigned char ch)
{
    if (is_special((char)ch))
        vg_buf_putc(b, '\\');
    vg_buf_putc(b, (char)ch);
}

/* The next code point of a UTF-8 literal run; an invalid byte is itself
 * (Latin-1), as a lenient reading of a rule file. */
static uint32_t utf8_next(const unsigned char *p, size_t n, size_t *i)
{
    unsigned char c0 = p[*i];
    uint32_t cp;
    size_t len;
    if (c0 < 0x80) {
        (*i)++;
        return c0;
    } else if ((c0 & 0xe0) == 0xc0) {
        cp = c0 & 0x1f;
        len = 2;
    } else if ((c0 & 0xf0) == 0xe0) {
        cp = c0 & 0x0f;
        len = 3;
    } else if ((c0 & 0xf8) == 0xf0) {
        cp = c0 & 0x07;
        len = 4;
    } else {
        (*i)++;
        return c0;
    }
    if (*i + len > n) {
        (*i)++;
        return c0;
    }
    for (size_t k = 1; k < len; k++) {
        if ((p[*i + k] & 0xc0) != 0x80) {
            (*i)++;
            return c0;
        }
        cp = (cp << 6) | (p[*i + k] & 0x3f);
    }
    *i += len;
    return cp > 0x10ffff ? 0xfffd : cp;
}

static void put_u16(vg_buf *b, uint32_t u, bool be)
{
    unsigned char lo = (unsigned char)(u & 0xff), hi = (unsigned char)(u >> 8);
    buf_put_lit(b, be ? hi : lo);
    buf_put_lit(b, be ? lo : hi);
}

/* Re-encodes the literal parts of a canonical glob as UTF-16; wildcards stay. */
static void glob_utf16(vg_str g, sg_enc enc, vg_buf *out)
{
    bool be = enc == ENC_UTF16BE;
    if (enc == ENC_UTF16BOM) {
        buf_put_lit(out, 0xff);
        buf_put_lit(out, 0xfe);
    }
    unsigned char lit[8];
    size_t i = 0;
    while (i < g.n) {
        char ch = g.p[i];
        if (ch == '*' || ch == '?') {
            vg_buf_putc(out, ch);
            i++;
            continue;
        }
        /* gather one UTF-8 sequence of literal bytes */
        size_t nl = 0;
        do {
            if (g.p[i] == '\\' && i + 1 < g.n)
                i++;
            lit[nl++] = (unsigned char)g.p[i++];
        } while (nl < 4 && i < g.n && g.p[i] != '*' && g.p[i] != '?' &&
                 ((unsigned char)(g.p[i] == '\\' && i + 1 < g.n ? g.p[i + 1] : g.p[i]) & 0xc0) == 0x80);
        size_t k = 0;
        while (k < nl) {
            uint32_t cp = utf8_next(lit, nl, &k);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                put_u16(out, 0xd800 | (cp >> 10), be);
                put_u16(out, 0xdc00 | (cp & 0x3ff), be);
            } else {
                put_u16(out, cp, be);
            }
        }
    }
}

/* The bytes a wildcard-free glob stands for. */
static void glob_unescape(vg_str g, vg_buf *out)
{
    for (size_t i = 0; i < g.n; i++) {
        if (g.p[i] == '\\' && i + 1 < g.n)
            i++;
        vg_buf_putc(out, g.p[i]);
    }
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const unsigned char *p, size_t n, vg_buf *out)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        vg_buf_putc(out, b64_alphabet[v >> 18]);
        vg_buf_putc(out, b64_alphabet[(v >> 12) & 63]);
        vg_buf_putc(out, b64_alphabet[(v >> 6) & 63]);
        vg_buf_putc(out, b64_alphabet[v & 63]);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        vg_buf_putc(out, b64_alphabet[v >> 18]);
        vg_buf_putc(out, b64_alphabet[(v >> 12) & 63]);
        vg_buf_put(out, "==", 2);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        vg_buf_putc(out, b64_alphabet[v >> 18]);
        vg_buf_putc(out, b64_alphabet[(v >> 12) & 63]);
        vg_buf_putc(out, b64_alphabet[(v >> 6) & 63]);
        vg_buf_putc(out, '=');
    }
}

/* ---- value emission ---- */

typedef struct val_vec {
    sg_value *v;
    uint32_t n, cap;
} val_vec;

typedef struct item_run {
    sg_ctx *c;
    vg_str section, path;        /* for messages: search, key */
    const sn_node *at;           /* the value being converted */
    const sg_mods *m;
    val_vec vals;
    uint32_t group;
    vg_buf scratch, scratch2;
} item_run;

static vg_err run_fail(item_run *r, const char *fmt, const char *arg)
{
    return sg_fail(r->c, r->at, "%s.%.*s.%.*s: %s%s%s%s", r->c->section, VG_STR_FMT(r->section),
                   VG_STR_FMT(r->path), fmt, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
}

static vg_err emit(item_run *r, sg_op op, vg_str text, double num)
{
    sg_ctx *c = r->c;
    if (text.n > SG_MAX_VALUE)
        return run_fail(r, "value longer than SG_MAX_VALUE (64 KiB) after the modifiers", NULL);
    if (c->nvalues >= SG_MAX_VALUES)
        return run_fail(r, "more than SG_MAX_VALUES (65536) values in the rule", NULL);
    c->value_bytes += text.n + 1;
    if (c->value_bytes > SG_LOAD_RULE_BYTES)
        return run_fail(r, "the rule's values exceed 16 MiB after the modifiers", NULL);
    if (r->vals.n == r->vals.cap) {
        uint32_t cap = r->vals.cap ? r->vals.cap * 2 : 4;
        sg_value *v = vg_arena_alloc(c->tmp, cap * sizeof(*v));
        if (!v)
            return run_fail(r, "too many values", NULL);
        if (r->vals.n)
            memcpy(v, r->vals.v, r->vals.n * sizeof(*v));
        r->vals.v = v;
        r->vals.cap = cap;
    }
    sg_value *v = &r->vals.v[r->vals.n++];
    memset(v, 0, sizeof(*v));
    v->op = op;
    v->group = r->group;
    v->num = num;
    v->timepart = r->m->tp;
    v->anchor = r->m->anchor;
    v->cased = r->m->cased;
    v->re_flags = r->m->re_flags;
    v->text = vg_str_dup(c->a, text.p ? text : VG_STR_LIT(""));
    c->nvalues++;
    return v->text.p ? VG_OK : sg_nomem(c, r->at);
}

/* One string after expand and windash: glob, encoding, base64, emit. */
static vg_err emit_match(item_run *r, vg_str raw)
{
    const sg_mods *m = r->m;
    vg_str g = sg_glob_canon(r->c->tmp, raw);
    if (!g.p)
        return run_fail(r, "too large", NULL);
    if (m->enc) {
        vg_buf_clear(&r->scratch);
        glob_utf16(g, m->enc, &r->scratch);
        if (r->scratch.failed)
            return run_fail(r, "value too long after the encoding", NULL);
        g = vg_str_make(r->scratch.p ? r->scratch.p : "", r->scratch.n);
    }
    if (!m->b64)
        return emit(r, SG_OP_MATCH, g, 0);
    if (glob_has_wild(g))
        return run_fail(r, "base64 of a value with wildcards (escape * and ? with \\)", NULL);
    vg_buf_clear(&r->scratch2);
    /* two leading zero bytes for the offsets, then the value */
    vg_buf_put(&r->scratch2, "\0\0", 2);
    glob_unescape(g, &r->scratch2);
    if (r->scratch2.failed)
        return run_fail(r, "value too long for base64", NULL);
    const unsigned char *bytes = (const unsigned char *)r->scratch2.p + 2;
    size_t n = r->scratch2.n - 2;
    vg_buf enc;
    vg_buf_init(&enc, SG_MAX_VALUE * 2);
    vg_err e = VG_OK;
    if (m->b64 == B64_PLAIN) {
        b64_encode(bytes, n, &enc);
        e = enc.failed ? run_fail(r, "value too long for base64", NULL)
                       : emit(r, SG_OP_MATCH, vg_str_make(enc.p ? enc.p : "", enc.n), 0);
    } else {
        /* pySigma's base64offset: the value after 0, 1 or 2 bytes, without
         * the characters that depend on what precedes or follows it */
        static const size_t cut_start[3] = { 0, 2, 3 }, cut_end[3] = { 0, 3, 2 };
        for (size_t i = 0; i < 3 && e == VG_OK; i++) {
            vg_buf_clear(&enc);
            b64_encode(bytes - i, n + i, &enc);
            if (enc.failed) {
                e = run_fail(r, "value too long for base64", NULL);
                break;
            }
            size_t s = cut_start[i], t = cut_end[(n + i) % 3];
            if (enc.n < s + t || enc.n - s - t == 0)
                continue;   /* too short to have an offset-free part */
            e = emit(r, SG_OP_MATCH, vg_str_make(enc.p + s, enc.n - s - t), 0);
        }
    }
    vg_buf_free(&enc);
    return e;
}

static bool is_word(unsigned char ch)
{
    return ch >= 0x80 || ch == '_' || (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
}

/* windash: pySigma's \B[-/]\b; every combination of the five dashes. */
static vg_err emit_windash(item_run *r, vg_str raw)
{
    static const char *const dashes[] = { "-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95" };
    size_t pos[32];
    uint32_t np = 0;
    for (size_t i = 0; i < raw.n; i++) {
        char ch = raw.p[i];
        if ((ch == '-' || ch == '/') && (i == 0 || !is_word((unsigned char)raw.p[i - 1])) &&
            i + 1 < raw.n && is_word((unsigned char)raw.p[i + 1])) {
            if (np == NELEM(pos))
                return run_fail(r, "windash: too many dashes in one value", NULL);
            pos[np++] = i;
        }
    }
    uint64_t combos = 1;
    for (uint32_t i = 0; i < np; i++) {
        combos *= 5;
        if (combos > SG_MAX_VALUES)
            return run_fail(r, "windash: too many alternatives", NULL);
    }
    vg_buf b;
    vg_buf_init(&b, SG_MAX_VALUE * 4);
    vg_err e = VG_OK;
    for (uint64_t k = 0; k < combos && e == VG_OK; k++) {
        vg_buf_clear(&b);
        uint64_t sel = k;
        size_t from = 0;
        for (uint32_t i = 0; i < np; i++) {
            vg_buf_put(&b, raw.p + from, pos[i] - from);
            vg_buf_puts(&b, dashes[sel % 5]);
            sel /= 5;
            from = pos[i] + 1;
        }
        vg_buf_put(&b, raw.p + from, raw.n - from);
        e = b.failed ? run_fail(r, "windash: value too long", NULL)
                     : emit_match(r, vg_str_make(b.p ? b.p : "", b.n));
    }
    vg_buf_free(&b);
    return e;
}

static vg_err emit_string(item_run *r, vg_str raw)
{
    return r->m->windash ? emit_windash(r, raw) : emit_match(r, raw);
}

static const sg_placeholders *find_ph(const sg_ruleset *rs, vg_str name, uint32_t *idx)
{
    for (uint32_t i = 0; i < rs->placeholders.n; i++)
        if (vg_str_eq(rs->placeholders.names[i], name)) {
            *idx = i;
            return &rs->placeholders;
        }
    return NULL;
}

/* expand: substitutes %name% (name: letters, digits, _; not after a
 * backslash) from the left, one
 * alternative per combination of placeholder values. An unknown placeholder
 * is a failure naming it, as sigma.h promises (a rule is not loaded with a
 * hole in it). */
static vg_err emit_expand(item_run *r, vg_str raw, size_t from, unsigned depth)
{
    for (size_t i = from; i < raw.n; i++) {
        if (raw.p[i] != '%' || (i > 0 && raw.p[i - 1] == '\\'))
            continue;   /* \% is a plain percent sign */
        size_t j = i + 1;
        while (j < raw.n && is_word((unsigned char)raw.p[j]) && (unsigned char)raw.p[j] < 0x80)
            j++;
        if (j == i + 1 || j >= raw.n || raw.p[j] != '%')
            continue;
        vg_str name = vg_str_make(raw.p + i + 1, j - i - 1);
        uint32_t idx;
        const sg_placeholders *ph = find_ph(r->c->rs, name, &idx);
        if (!ph) {
            char nm[128];
            vg_str_copy_c(nm, sizeof(nm), name);
            return run_fail(r, "expand: unknown placeholder (no placeholder file defines it)", nm);
        }
        if (depth >= 16)
            return run_fail(r, "expand: more than 16 placeholders in one value", NULL);
        vg_err e = VG_OK;
        for (uint32_t k = 0; k < ph->nvalues[idx] && e == VG_OK; k++) {
            vg_str pv = ph->values[idx][k];
            size_t n = i + pv.n + (raw.n - j - 1);
            if (n > SG_MAX_VALUE)
                return run_fail(r, "expand: value longer than SG_MAX_VALUE", NULL);
            char *s = vg_arena_alloc(r->c->tmp, n + 1);
            if (!s)
                return run_fail(r, "expand: too large", NULL);
            memcpy(s, raw.p, i);
            memcpy(s + i, pv.p, pv.n);
            memcpy(s + i + pv.n, raw.p + j + 1, raw.n - j - 1);
            s[n] = '\0';
            /* later placeholders only: continue the scan after the substitution */
            vg_str rest = vg_str_make(s, n);
            e = emit_expand(r, rest, i + pv.n, depth + 1);
        }
        return e;
    }
    return emit_string(r, raw);
}

/* ---- typed values ---- */

/* a.b.c.d[/n] or an IPv6 address[/n]. */
static bool cidr_valid(vg_str s)
{
    char addr[64];
    ptrdiff_t slash = vg_str_chr(s, '/');
    size_t alen = slash < 0 ? s.n : (size_t)slash;
    if (alen == 0 || alen >= sizeof(addr))
        return false;
    memcpy(addr, s.p, alen);
    addr[alen] = '\0';
    unsigned char bin[16];
    unsigned max;
    if (inet_pton(AF_INET, addr, bin) == 1)
        max = 32;
    else if (inet_pton(AF_INET6, addr, bin) == 1)
        max = 128;
    else
        return false;
    if (slash < 0)
        return true;
    vg_str pre = vg_str_make(s.p + slash + 1, s.n - (size_t)slash - 1);
    uint64_t n;
    if (pre.n == 0 || pre.n > 3 || vg_str_to_u64(pre, &n))
        return false;
    for (size_t i = 0; i < pre.n; i++)
        if (pre.p[i] < '0' || pre.p[i] > '9')
            return false;
    return n <= max;
}

/* One written value (scalar node v) of the item. */
static vg_err value_build(item_run *r, const sn_node *v)
{
    const sg_mods *m = r->m;
    r->at = v;
    if (v->kind != SN_SCALAR)
        return run_fail(r, "a value must be a scalar (a map or list is not a value)", NULL);
    if (m->typed && m->op == SG_OP_EXISTS) {
        bool b;
        if (!sn_bool(v, &b))
            return run_fail(r, "exists takes true or false", NULL);
        return emit(r, SG_OP_EXISTS, VG_STR_NULL, b ? 1 : 0);
    }
    if (sn_is_null(v))
        return emit(r, SG_OP_NULL, VG_STR_NULL, 0);
    if ((m->typed && m->op >= SG_OP_LT && m->op <= SG_OP_GTE) || (m->tp && !m->typed)) {
        double num;
        if (vg_str_to_double(v->text, &num))
            return run_fail(r, "not a number:", v->text.p);
        /* a time part alone: an exact match on the number (timepart set) */
        return emit(r, m->typed ? m->op : SG_OP_MATCH, v->text, num);
    }
    if (m->typed) {
        switch (m->op) {
        case SG_OP_RE:
            if (v->text.n == 0)
                return run_fail(r, "re: empty pattern", NULL);
            return emit(r, SG_OP_RE, v->text, 0);
        case SG_OP_CIDR:
            if (!cidr_valid(v->text))
                return run_fail(r, "cidr: not a network (a.b.c.d/n or an IPv6 address/n):", v->text.p);
            return emit(r, SG_OP_CIDR, v->text, 0);
        case SG_OP_FIELDREF:
            if (v->text.n == 0)
                return run_fail(r, "fieldref: empty field name", NULL);
            return emit(r, SG_OP_FIELDREF, v->text, 0);
        default:
            break;
        }
    }
    if (m->expand)
        return emit_expand(r, v->text, 0, 0);
    return emit_string(r, v->text);
}

/* Reads the modifiers of key (text after the first '|'). */
static vg_err mods_parse(item_run *r, vg_str key, sg_mods *m, vg_str *field)
{
    memset(m, 0, sizeof(*m));
    ptrdiff_t bar = vg_str_chr(key, '|');
    *field = bar < 0 ? key : vg_str_make(key.p, (size_t)bar);
    size_t i = bar < 0 ? key.n : (size_t)bar + 1;
    while (bar >= 0 && i <= key.n) {
        size_t j = i;
        while (j < key.n && key.p[j] != '|')
            j++;
        vg_str name = vg_str_make(key.p + i, j - i);
        char nm[64];
        vg_str_copy_c(nm, sizeof(nm), name);
        if (name.n == 0)
            return run_fail(r, "empty modifier", NULL);
        unsigned k = 0;
        while (k < NELEM(modifiers) && !vg_str_eqc(name, modifiers[k].name))
            k++;
        if (k == NELEM(modifiers))
            return run_fail(r, "unknown modifier", nm);
        const char *why = modifiers[k].apply(m, &modifiers[k]);
        if (why) {
            char msg[160];
            snprintf(msg, sizeof(msg), "modifier '%s' %s", nm, why);
            return run_fail(r, msg, NULL);
        }
        i = j + 1;
    }
    const char *why = mods_check(m);
    return why ? run_fail(r, why, NULL) : VG_OK;
}

static vg_err item_finish(item_run *r, sg_item *out, uint32_t ngroups)
{
    out->ngroups = ngroups;
    out->nvalues = r->vals.n;
    out->all = r->m->all;
    out->values = vg_arena_alloc(r->c->a, (r->vals.n ? r->vals.n : 1) * sizeof(sg_value));
    if (!out->values)
        return sg_nomem(r->c, r->at);
    if (r->vals.n)
        memcpy(out->values, r->vals.v, r->vals.n * sizeof(sg_value));
    return VG_OK;
}

static vg_err item_values(item_run *r, const sn_node *const *vals, uint32_t n, sg_item *out)
{
    vg_err e = VG_OK;
    for (uint32_t i = 0; i < n && e == VG_OK; i++) {
        r->group = i;
        e = value_build(r, vals[i]);
    }
    if (e == VG_OK)
        e = item_finish(r, out, n);
    vg_buf_free(&r->scratch);
    vg_buf_free(&r->scratch2);
    return e;
}

vg_err sg_item_build(sg_ctx *c, vg_str path, const sn_node *key, const sn_node *val, sg_item *out)
{
    sg_mods m;
    item_run r = { .c = c, .section = path, .path = key->text, .at = key, .m = &m };
    vg_buf_init(&r.scratch, SG_MAX_VALUE * 4);
    vg_buf_init(&r.scratch2, SG_MAX_VALUE * 4);
    vg_str field;
    vg_err e = mods_parse(&r, key->text, &m, &field);
    if (e)
        return e;
    if (field.n == 0 && !m.anchor_name)
        m.anchor = SG_ANCHOR_CONTAINS;   /* keywords ('|all': ...) match inside any field */
    out->line = key->line;
    out->col = key->col;
    out->key = vg_str_dup(c->a, key->text);
    out->field = field.n ? vg_str_dup(c->a, field) : VG_STR_NULL;
    if (!out->key.p || (field.n && !out->field.p))
        return sg_nomem(c, key);
    if (val && val->kind == SN_SEQ)
        return item_values(&r, (const sn_node *const *)val->kids, val->n, out);
    if (val && val->kind == SN_MAP)
        return run_fail(&r, "a value must be a scalar or a list (not a map)", NULL);
    /* one value; a YAML null is one SG_OP_NULL value */
    static const sn_node null_node = { .kind = SN_SCALAR, .plain = true };
    const sn_node *one = val ? val : &null_node;
    return item_values(&r, &one, 1, out);
}

vg_err sg_keywords_build(sg_ctx *c, vg_str path, const sn_node *const *vals, uint32_t n,
                         const sn_node *at, sg_item *out)
{
    sg_mods m;
    memset(&m, 0, sizeof(m));
    m.anchor = SG_ANCHOR_CONTAINS;   /* a keyword occurs anywhere in the event's fields */
    item_run r = { .c = c, .section = path, .path = VG_STR_LIT("keywords"), .at = at, .m = &m };
    vg_buf_init(&r.scratch, SG_MAX_VALUE * 4);
    vg_buf_init(&r.scratch2, SG_MAX_VALUE * 4);
    out->line = at->line;
    out->col = at->col;
    out->key = VG_STR_NULL;
    out->field = VG_STR_NULL;
    return item_values(&r, vals, n, out);
}
