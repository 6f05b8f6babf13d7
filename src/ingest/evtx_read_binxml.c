/*
 * evtx_read_binxml.c - the binary XML half of Vigil's EVTX reader: one
 * record's tokens, templates and substitution values, interpreted straight
 * into a win_event. No XML text is rendered and no expat runs: the element,
 * attribute and text events drive the same small state machine win_evtx.c
 * runs on expat's callbacks, so both paths fill the win_event identically.
 *
 * Format facts relied on (little-endian; offsets are chunk offsets):
 *  - Tokens (the 0x40 bit means "has attributes" / "more follows"):
 *    00 end of fragment, 01 open start element (dependency id u16, size u32,
 *    name offset u32, [attribute list size u32]), 02 close start tag, 03
 *    close empty element, 04 end element, 05 value text (type u8, UTF-16
 *    count u16, chars), 06 attribute (name offset), 07 CDATA, 08 character
 *    reference (u16), 09 entity reference (name offset), 0a PI target (name
 *    offset), 0b PI data, 0c template instance (u8, id u32, definition
 *    offset u32), 0d/0e normal/optional substitution (index u16, type u8),
 *    0f fragment header (3 bytes).
 *  - A name is next u32, hash u16, UTF-16 count u16, chars, NUL; when its
 *    offset equals the current position it is inline and is skipped over.
 *    A template definition is next u32, GUID, body size u32, body; inline
 *    when its offset is right after the instance header. Definitions are
 *    remembered per chunk by offset.
 *  - After an instance: value count u32, (size u16, type u8, pad u8) per
 *    value, then the values back to back. Type 0x21 is a nested BinXml
 *    fragment (UserData and similar); the 0x80 bit marks arrays.
 * Values are written as libevtx writes them (hex32/hex64/size_t padded
 * "0x%08x"/"0x%016x", binary as upper-case hex), except GUIDs (upper case,
 * no braces, as the JSON dumps) and times (FILETIME with 7 fraction digits;
 * win_event_normalize brings TimeCreated to the dumps' 6); reals are
 * "%.6e" with a 3-digit exponent, as libevtx writes them. An element whose
 * whole content is one array value is repeated once per item (as libevtx
 * and Windows render it); elsewhere (attributes, mixed text) items are
 * joined with ",". An optional substitution whose value is null removes the
 * attribute it forms, as libevtx does (the element stays, empty).
 * Bounds: every read is checked against its region (record, template body
 * or value); recursion follows element depth (EVTX_MAX_DEPTH) and template/
 * BinXml nesting (EVTX_MAX_NEST); EVTX_MAX_TOKENS bounds the work of one
 * record whatever its templates do.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evtx_read_int.h"

#define EVTX_MAX_NAME_CHARS 1024u   /* UTF-16 units in one element/attribute name */

/* ---- arena-backed text buffer ---- */

static bool sb_grow(sbuf *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->n + more <= b->cap)
        return true;
    if (b->n + more > EVTX_MAX_TEXT) {
        b->failed = true;
        return false;
    }
    size_t ncap = b->cap ? b->cap * 2 : 256;
    while (ncap < b->n + more)
        ncap *= 2;
    char *np = vg_arena_alloc(b->a, ncap);
    if (!np) {
        b->failed = true;
        return false;
    }
    if (b->n)
        memcpy(np, b->p, b->n);
    b->p = np;
    b->cap = ncap;
    return true;
}

static void sb_put(sbuf *b, const void *p, size_t n)
{
    if (n && sb_grow(b, n)) {
        memcpy(b->p + b->n, p, n);
        b->n += n;
    }
}

static void sb_putc(sbuf *b, char c)
{
    if (sb_grow(b, 1))
        b->p[b->n++] = c;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0)
        sb_put(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

static void sb_put_cp(sbuf *b, uint32_t cp)
{
    char u[4];
    size_t k;
    if (cp < 0x80) {
        u[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    sb_put(b, u, k);
}

/*
 * UTF-16LE units -> UTF-8, up to the first NUL. A lone surrogate becomes one
 * U+FFFD and the unit after it is kept (as the evtx JSON dumps decode it;
 * libevtx swallows that next unit too).
 */
static void sb_put_utf16(sbuf *b, const uint8_t *p, size_t units)
{
    if (units == 0 || !sb_grow(b, units * 3))   /* a unit takes at most 3 bytes (a pair 4) */
        return;
    char *o = b->p + b->n;
    for (size_t i = 0; i < units; i++) {
        uint32_t u = (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
        if (u == 0)
            break;
        if (u < 0x80) {
            *o++ = (char)u;
            continue;
        }
        if (u >= 0xD800 && u < 0xDC00 && i + 1 < units) {
            uint32_t l = (uint32_t)p[2 * i + 2] | (uint32_t)p[2 * i + 3] << 8;
            if (l >= 0xDC00 && l < 0xE000) {
                uint32_t cp = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
                *o++ = (char)(0xF0 | (cp >> 18));
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
                i++;
                continue;
            }
        }
        if (u >= 0xD800 && u < 0xE000)
            u = 0xFFFD;
        if (u < 0x800) {
            *o++ = (char)(0xC0 | (u >> 6));
            *o++ = (char)(0x80 | (u & 0x3F));
        } else {
            *o++ = (char)(0xE0 | (u >> 12));
            *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
            *o++ = (char)(0x80 | (u & 0x3F));
        }
    }
    b->n = (size_t)(o - b->p);
}

/* ---- binary XML types ---- */

typedef struct bx_val {
    uint32_t off;   /* chunk offset of the value */
    uint16_t size;
    uint8_t type;
} bx_val;

typedef struct bx_subs {
    const bx_val *v;
    uint32_t n;
} bx_subs;

typedef struct bx_attr {
    vg_str name, value;   /* value.p == NULL: attribute removed (null optional value) */
} bx_attr;

typedef struct cur {
    uint32_t pos, end;    /* chunk offsets; end is exclusive */
} cur;

vg_err evtx_bad(rd *r, vg_err e, uint32_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vg_diag_vset(r->d, e, fmt, ap);
    va_end(ap);
    vg_diag_prefix(r->d, "chunk %" PRIu32 ", record id %" PRIu64 ", offset %" PRIu64 ": ",
                   r->chunk_no, r->record_id, r->chunk_off + pos);
    return e;
}

static inline bool need(const cur *c, uint32_t n) { return c->pos <= c->end && c->end - c->pos >= n; }

static vg_str sb_dup(rd *r, const sbuf *b)
{
    char *s = vg_arena_memdup(r->a, b->p ? b->p : "", b->n);
    return s ? vg_str_make(s, b->n) : VG_STR_NULL;
}

/* ---- the win_event state machine (same rules as win_evtx.c on expat) ---- */

static vg_str attr_get(const bx_attr *at, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (at[i].value.p && vg_str_eqc(at[i].name, name))
            return at[i].value;
    return VG_STR_NULL;
}

static void system_attrs(win_event *ev, vg_str name, const bx_attr *at, uint32_t n)
{
    if (vg_str_eqc(name, "Provider")) {
        ev->provider = attr_get(at, n, "Name");
        if (!ev->provider.p)
            ev->provider = attr_get(at, n, "EventSourceName");
        ev->provider_guid = attr_get(at, n, "Guid");
    } else if (vg_str_eqc(name, "TimeCreated")) {
        ev->time_created = attr_get(at, n, "SystemTime");
    } else if (vg_str_eqc(name, "Execution")) {
        ev->pid = attr_get(at, n, "ProcessID");
        ev->tid = attr_get(at, n, "ThreadID");
    } else if (vg_str_eqc(name, "Security")) {
        ev->user_sid = attr_get(at, n, "UserID");
    } else if (vg_str_eqc(name, "Correlation")) {
        ev->activity_id = attr_get(at, n, "ActivityID");
    } else if (vg_str_eqc(name, "EventID")) {
        ev->qualifiers = attr_get(at, n, "Qualifiers");
    }
}

static vg_err sink_start(rd *r, vg_str name, const bx_attr *at, uint32_t nat, uint32_t pos)
{
    if (r->depth >= EVTX_MAX_DEPTH)
        return evtx_bad(r, VG_ELIMIT, pos, "XML nested deeper than %d", EVTX_MAX_DEPTH);
    r->has_child[r->depth] = true;
    r->depth++;
    r->has_child[r->depth] = false;
    r->el[r->depth] = VG_STR_NULL;
    r->text.n = 0;
    if (r->depth == 2) {
        r->sec = vg_str_eqc(name, "System")      ? SEC_SYSTEM
                 : vg_str_eqc(name, "EventData") ? SEC_EVENTDATA
                 : vg_str_eqc(name, "UserData")  ? SEC_USERDATA
                                                 : SEC_OTHER;
        if (r->sec == SEC_USERDATA)
            r->ev->user_data = true;
        return VG_OK;
    }
    if (r->depth < 3)
        return VG_OK;
    if (r->sec == SEC_SYSTEM && r->depth == 3)
        system_attrs(r->ev, name, at, nat);
    else if (r->sec == SEC_EVENTDATA && r->depth == 3)
        r->data_name = vg_str_eqc(name, "Data") ? attr_get(at, nat, "Name") : name;
    if (r->sec == SEC_SYSTEM || r->sec == SEC_USERDATA)
        r->el[r->depth] = name;
    return VG_OK;
}

static vg_err sink_end(rd *r, uint32_t pos)
{
    bool leaf = !r->has_child[r->depth];
    vg_str v = VG_STR_NULL;
    if (r->text.failed)
        return evtx_bad(r, VG_ELIMIT, pos, "a value is larger than %u bytes", EVTX_MAX_TEXT);
    if (leaf && r->depth >= 3 && r->sec != SEC_OTHER) {
        v = sb_dup(r, &r->text);
        if (!v.p)
            return evtx_bad(r, VG_ELIMIT, pos, "record needs more memory than its cap");
    }
    vg_err e = VG_OK;
    if (r->depth == 3 && r->sec == SEC_SYSTEM && leaf) {
        win_event_set_system(r->ev, r->el[3], v);
    } else if (r->depth == 3 && r->sec == SEC_EVENTDATA) {
        if (!leaf)
            v = VG_STR_LIT("");
        e = r->data_name.p ? win_event_add(r->ev, r->data_name, v, r->d)
                           : win_event_add_param(r->ev, v, r->d);
    } else if (r->depth >= 4 && r->sec == SEC_USERDATA && leaf) {
        e = win_event_add(r->ev, r->el[r->depth], v, r->d);
    }
    if (e) {
        char m[VG_DIAG_MAX + 128];
        vg_str_copy_c(m, sizeof m, vg_str_c(r->d ? r->d->msg : ""));
        return evtx_bad(r, e, pos, "%s", m);
    }
    r->text.n = 0;
    r->depth--;
    return VG_OK;
}

/* ---- values ---- */

static const char *type_name(uint8_t t)
{
    static const char *const names[] = {
        "null", "string", "ansi string", "int8", "uint8", "int16", "uint16", "int32",
        "uint32", "int64", "uint64", "real32", "real64", "bool", "binary", "GUID",
        "size_t", "FILETIME", "SYSTEMTIME", "SID", "hex32", "hex64",
    };
    return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* Width in bytes of a fixed-size type, 0 for variable ones. */
static uint32_t type_width(uint8_t t)
{
    switch (t) {
    case 0x03: case 0x04: return 1;
    case 0x05: case 0x06: return 2;
    case 0x07: case 0x08: case 0x0b: case 0x0d: case 0x14: return 4;
    case 0x09: case 0x0a: case 0x0c: case 0x11: case 0x15: return 8;
    case 0x0f: case 0x12: return 16;
    default: return 0;
    }
}

/* libevtx's form of reals: "%.6e" with a 3-digit exponent ("1.500000e+000"). */
static void put_real(sbuf *out, double v)
{
    char tmp[64];
    int k = snprintf(tmp, sizeof tmp, "%.6e", v);
    if (k <= 0 || (size_t)k >= sizeof tmp)
        return;
    char *e = strchr(tmp, 'e');
    if (e && (e[1] == '+' || e[1] == '-') && strlen(e + 2) == 2) {
        sb_put(out, tmp, (size_t)(e + 2 - tmp));
        sb_putc(out, '0');
        sb_put(out, e + 2, 2);
        return;
    }
    sb_put(out, tmp, (size_t)k);
}

static void put_filetime(sbuf *out, uint64_t ft)
{
    if (ft > (uint64_t)(VG_TIME_MAX + VG_FILETIME_EPOCH_DIFF)) {
        /* past year 9999: the two halves, as libevtx writes them */
        sb_printf(out, "(0x%08" PRIx32 " 0x%08" PRIx32 ")", (uint32_t)(ft >> 32), (uint32_t)ft);
        return;
    }
    char tmp[VG_TIME_BUFSZ];
    size_t k = vg_time_format(vg_time_from_filetime(ft), tmp, sizeof tmp);
    sb_put(out, tmp, k);
}

/* One fixed-width value (size == type_width(t)). */
static void put_fixed(sbuf *out, uint8_t t, const uint8_t *p)
{
    switch (t) {
    case 0x03: sb_printf(out, "%d", (int)(int8_t)p[0]); break;
    case 0x04: sb_printf(out, "%u", (unsigned)p[0]); break;
    case 0x05: sb_printf(out, "%d", (int)(int16_t)rd16(p)); break;
    case 0x06: sb_printf(out, "%u", (unsigned)rd16(p)); break;
    case 0x07: sb_printf(out, "%" PRId32, (int32_t)rd32(p)); break;
    case 0x08: sb_printf(out, "%" PRIu32, rd32(p)); break;
    case 0x09: sb_printf(out, "%" PRId64, (int64_t)rd64(p)); break;
    case 0x0a: sb_printf(out, "%" PRIu64, rd64(p)); break;
    case 0x0b: {
        uint32_t u = rd32(p);
        float f;
        memcpy(&f, &u, sizeof f);
        put_real(out, f);
        break;
    }
    case 0x0c: {
        uint64_t u = rd64(p);
        double f;
        memcpy(&f, &u, sizeof f);
        put_real(out, f);
        break;
    }
    case 0x0d: sb_printf(out, "%s", rd32(p) ? "true" : "false"); break;
    case 0x0f:
        sb_printf(out, "%08" PRIX32 "-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", rd32(p),
                  (unsigned)rd16(p + 4), (unsigned)rd16(p + 6), p[8], p[9], p[10], p[11], p[12],
                  p[13], p[14], p[15]);
        break;
    case 0x11: put_filetime(out, rd64(p)); break;
    case 0x12:
        sb_printf(out, "%04u-%02u-%02uT%02u:%02u:%02u.%03u0000Z", (unsigned)rd16(p),
                  (unsigned)rd16(p + 2), (unsigned)rd16(p + 6), (unsigned)rd16(p + 8),
                  (unsigned)rd16(p + 10), (unsigned)rd16(p + 12), (unsigned)rd16(p + 14));
        break;
    case 0x14: sb_printf(out, "0x%08" PRIx32, rd32(p)); break;
    case 0x15: sb_printf(out, "0x%016" PRIx64, rd64(p)); break;
    default: break;
    }
}

/* A SID; returns its length in bytes, 0 when it does not fit in n. */
static uint32_t put_sid(sbuf *out, const uint8_t *p, uint32_t n)
{
    if (n < 8 || n < 8u + 4u * p[1])
        return 0;
    uint64_t auth = 0;
    for (int i = 2; i < 8; i++)
        auth = auth << 8 | p[i];
    if (auth >> 32)
        sb_printf(out, "S-%u-0x%012" PRIX64, (unsigned)p[0], auth);
    else
        sb_printf(out, "S-%u-%" PRIu64, (unsigned)p[0], auth);
    for (uint32_t i = 0; i < p[1]; i++)
        sb_printf(out, "-%" PRIu32, rd32(p + 8 + 4 * i));
    return 8u + 4u * p[1];
}

/* ANSI strings are Windows-1252 (as libevtx reads them): its 0x80..0x9F; the rest is Latin-1. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

/* One value of base type t (no array bit) at chunk offset off, n bytes. */
static vg_err put_scalar(rd *r, uint8_t t, uint32_t off, uint32_t n, sbuf *out)
{
    const uint8_t *p = r->c + off;
    uint32_t w = type_width(t);
    if (w) {
        if (n != w)
            return evtx_bad(r, VG_ECORRUPT, off, "%s value of %" PRIu32 " bytes", type_name(t), n);
        put_fixed(out, t, p);
        return VG_OK;
    }
    switch (t) {
    case 0x00:
        return VG_OK;
    case 0x01:
    case 0x23:   /* EvtXml: UTF-16 text */
        sb_put_utf16(out, p, n / 2);
        return VG_OK;
    case 0x02:
        for (uint32_t i = 0; i < n && p[i]; i++)
            sb_put_cp(out, p[i] >= 0x80 && p[i] < 0xA0 ? cp1252_c1[p[i] - 0x80] : p[i]);
        return VG_OK;
    case 0x0e:
        for (uint32_t i = 0; i < n; i++) {
            static const char hex[] = "0123456789ABCDEF";
            char two[2] = { hex[p[i] >> 4], hex[p[i] & 15] };
            sb_put(out, two, 2);
        }
        return VG_OK;
    case 0x10:
        if (n == 4)
            sb_printf(out, "0x%08" PRIx32, rd32(p));
        else if (n == 8)
            sb_printf(out, "0x%016" PRIx64, rd64(p));
        else
            return evtx_bad(r, VG_ECORRUPT, off, "size_t value of %" PRIu32 " bytes", n);
        return VG_OK;
    case 0x13:
        if (!put_sid(out, p, n))
            return evtx_bad(r, VG_ECORRUPT, off, "SID value of %" PRIu32 " bytes", n);
        return VG_OK;
    default:
        return evtx_bad(r, VG_EUNSUPPORTED, off, "value type 0x%02x is not supported", t);
    }
}

/*
 * The next item of array value v from *pos: [*ioff, *ioff + *ilen) in chunk
 * offsets. Strings are NUL-separated (the last terminator ends the array),
 * SIDs carry their own length, fixed-width types are cut by width (size_t:
 * 8 bytes unless the size says 4); anything else is one item.
 */
static bool array_next(rd *r, const bx_val *v, uint32_t *pos, uint32_t *ioff, uint32_t *ilen)
{
    const uint8_t *p = r->c + v->off;
    uint32_t n = v->size, i = *pos;
    uint8_t t = v->type & 0x7f;
    if (i >= n)
        return false;
    uint32_t len = n - i, next = n;
    if (t == 0x01 || t == 0x23) {
        uint32_t k = i;
        while (k + 1 < n && rd16(p + k) != 0)
            k += 2;
        len = k - i;
        next = k + 2;
        if (k + 1 >= n)   /* no terminator: the rest (an odd byte dropped) */
            len = n - i, next = n;
    } else if (t == 0x02) {
        uint32_t k = i;
        while (k < n && p[k])
            k++;
        len = k - i;
        next = k + 1;
    } else if (t == 0x13) {
        if (len >= 8 && 8u + 4u * p[i + 1] <= len)
            len = 8u + 4u * p[i + 1];
        next = i + len;
    } else {
        uint32_t w = t == 0x10 ? (n % 8 == 0 ? 8 : 4) : type_width(t);
        if (w && len >= w)
            len = w;
        next = i + len;
    }
    *ioff = v->off + i;
    *ilen = len;
    *pos = next;
    return true;
}

/* Renders one substitution value (not BinXml) as text into out; array items joined by ",". */
static vg_err put_value(rd *r, const bx_val *v, sbuf *out)
{
    if (!(v->type & 0x80))
        return put_scalar(r, v->type, v->off, v->size, out);
    uint32_t pos = 0, ioff, ilen;
    vg_err e = VG_OK;
    for (bool first = true; !e && array_next(r, v, &pos, &ioff, &ilen); first = false) {
        if (!first)
            sb_putc(out, ',');
        e = put_scalar(r, v->type & 0x7f, ioff, ilen, out);
    }
    return e;
}

/* ---- binary XML ---- */

static vg_err parse_content(rd *r, cur *c, const bx_subs *s, bool in_elem);

/* Reads a name reference at c (skipping an inline name) and decodes it. */
static vg_err read_name(rd *r, cur *c, vg_str *out)
{
    if (!need(c, 4))
        return evtx_bad(r, VG_ECORRUPT, c->pos, "truncated name reference");
    uint32_t off = rd32(r->c + c->pos);
    c->pos += 4;
    if (off > EVTX_CHUNK_SIZE - 10)
        return evtx_bad(r, VG_ECORRUPT, c->pos - 4, "name offset %" PRIu32 " outside the chunk", off);
    uint32_t units = rd16(r->c + off + 6);
    if (units > EVTX_MAX_NAME_CHARS || off + 10u + 2u * units > EVTX_CHUNK_SIZE)
        return evtx_bad(r, VG_ECORRUPT, off, "name of %" PRIu32 " characters does not fit", units);
    if (off == c->pos) {
        uint32_t len = 10u + 2u * units;
        if (!need(c, len))
            return evtx_bad(r, VG_ECORRUPT, c->pos, "truncated inline name");
        c->pos += len;
    }
    sbuf b = { .a = r->a };
    sb_put_utf16(&b, r->c + off + 8, units);
    if (b.failed)
        return evtx_bad(r, VG_ELIMIT, off, "record needs more memory than its cap");
    *out = vg_str_make(b.p ? b.p : "", b.n);
    return VG_OK;
}

/* UTF-16 text with a u16 unit count at c. */
static vg_err read_text(rd *r, cur *c, sbuf *out)
{
    if (!need(c, 2))
        return evtx_bad(r, VG_ECORRUPT, c->pos, "truncated text");
    uint32_t units = rd16(r->c + c->pos);
    if (!need(c, 2u + 2u * units))
        return evtx_bad(r, VG_ECORRUPT, c->pos, "text of %" PRIu32 " characters runs past its end",
                   units);
    if (out)
        sb_put_utf16(out, r->c + c->pos + 2, units);
    c->pos += 2u + 2u * units;
    return VG_OK;
}

static vg_err entity(rd *r, cur *c, sbuf *out)
{
    static const struct {
        const char *name;
        char ch;
    } ents[] = { { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' } };
    uint32_t at = c->pos;
    vg_str name;
    vg_err e = read_name(r, c, &name);
    if (e)
        return e;
    for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++)
        if (vg_str_eqc(name, ents[i].name)) {
            sb_putc(out, ents[i].ch);
            return VG_OK;
        }
    return evtx_bad(r, VG_ECORRUPT, at, "unknown entity &%.*s;", VG_STR_FMT(name));
}

static vg_err template_instance(rd *r, cur *c, uint32_t at)
{
    if (!need(c, 9))
        return evtx_bad(r, VG_ECORRUPT, at, "truncated template instance");
    uint32_t def = rd32(r->c + c->pos + 5);
    c->pos += 9;
    if (def > EVTX_CHUNK_SIZE - 24)
        return evtx_bad(r, VG_ECORRUPT, at, "template offset %" PRIu32 " outside the chunk", def);
    uint32_t dsize = rd32(r->c + def + 20);
    if (dsize > EVTX_CHUNK_SIZE - 24 - def)
        return evtx_bad(r, VG_ECORRUPT, def, "template of %" PRIu32 " bytes runs past the chunk",
                   dsize);
    if (def == c->pos) {
        if (!need(c, 24 + dsize))
            return evtx_bad(r, VG_ECORRUPT, def, "inline template runs past its record");
        c->pos += 24 + dsize;
    }
    uint32_t i = 0;
    while (i < r->ntmpl && r->tmpl[i] != def)
        i++;
    if (i == r->ntmpl) {
        if (def < EVTX_CHUNK_HEADER)
            return evtx_bad(r, VG_ECORRUPT, at, "template offset %" PRIu32 " inside the chunk header",
                       def);
        if (r->ntmpl >= EVTX_MAX_TEMPLATES)
            return evtx_bad(r, VG_ELIMIT, at, "more than %u templates in one chunk",
                       EVTX_MAX_TEMPLATES);
        r->tmpl[r->ntmpl++] = def;
    }
    /* the values */
    if (!need(c, 4))
        return evtx_bad(r, VG_ECORRUPT, c->pos, "truncated substitution count");
    uint32_t n = rd32(r->c + c->pos);
    c->pos += 4;
    if (n > EVTX_MAX_SUBS)
        return evtx_bad(r, VG_ELIMIT, c->pos - 4, "%" PRIu32 " substitution values (limit %u)", n,
                   EVTX_MAX_SUBS);
    if (!need(c, 4 * n))
        return evtx_bad(r, VG_ECORRUPT, c->pos, "truncated substitution descriptors");
    bx_val *v = n ? vg_arena_alloc(r->a, n * sizeof *v) : NULL;
    if (n && !v)
        return evtx_bad(r, VG_ELIMIT, c->pos, "record needs more memory than its cap");
    uint32_t off = c->pos + 4 * n;
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *dp = r->c + c->pos + 4 * k;
        v[k] = (bx_val){ .off = off, .size = rd16(dp), .type = dp[2] };
        if (v[k].size > c->end - off)
            return evtx_bad(r, VG_ECORRUPT, c->pos + 4 * k,
                       "substitution %" PRIu32 " of %u bytes runs past its record", k, v[k].size);
        off += v[k].size;
    }
    c->pos = off;
    if (r->nest >= EVTX_MAX_NEST)
        return evtx_bad(r, VG_ELIMIT, at, "templates nested deeper than %d", EVTX_MAX_NEST);
    bx_subs s = { v, n };
    cur body = { def + 24, def + 24 + dsize };
    r->nest++;
    vg_err e = parse_content(r, &body, &s, false);
    r->nest--;
    return e;
}

/* A substitution token's value: into out (an attribute) or the element content. */
static vg_err substitution(rd *r, cur *c, const bx_subs *s, bool optional, uint32_t at,
                           sbuf *out, bool *null)
{
    if (!need(c, 3))
        return evtx_bad(r, VG_ECORRUPT, at, "truncated substitution");
    uint16_t idx = rd16(r->c + c->pos);
    c->pos += 3;
    *null = true;
    if (!s || idx >= s->n) {
        if (optional)
            return VG_OK;
        return evtx_bad(r, VG_ECORRUPT, at, "substitution %u of %" PRIu32 " values", (unsigned)idx,
                   s ? s->n : 0);
    }
    const bx_val *v = &s->v[idx];
    if (v->type == 0x00 || v->size == 0)
        return VG_OK;
    *null = false;
    if (v->type != 0x21)
        return put_value(r, v, out ? out : &r->text);
    if (out)
        return evtx_bad(r, VG_ECORRUPT, at, "BinXml value inside an attribute");
    if (r->nest >= EVTX_MAX_NEST)
        return evtx_bad(r, VG_ELIMIT, at, "BinXml nested deeper than %d", EVTX_MAX_NEST);
    cur sub = { v->off, v->off + v->size };
    r->nest++;
    vg_err e = parse_content(r, &sub, NULL, false);
    r->nest--;
    return e;
}

/* An attribute's value tokens, up to the next attribute or the close of the start tag. */
static vg_err attr_value(rd *r, cur *c, const bx_subs *s, bx_attr *a)
{
    sbuf b = { .a = r->a };
    bool all_null = true, any = false;
    vg_err e = VG_OK;
    while (!e && need(c, 1)) {
        uint8_t tok = r->c[c->pos];
        uint32_t at = c->pos;
        if (++r->tokens > EVTX_MAX_TOKENS)
            return evtx_bad(r, VG_ELIMIT, at, "more than %u binary XML tokens", EVTX_MAX_TOKENS);
        bool null = false;
        switch (tok & 0xbf) {
        case 0x05:
            c->pos++;
            if (!need(c, 1))
                return evtx_bad(r, VG_ECORRUPT, at, "truncated value");
            c->pos++;
            e = read_text(r, c, &b);
            break;
        case 0x08:
            c->pos++;
            if (!need(c, 2))
                return evtx_bad(r, VG_ECORRUPT, at, "truncated character reference");
            sb_put_cp(&b, rd16(r->c + c->pos));
            c->pos += 2;
            break;
        case 0x09:
            c->pos++;
            e = entity(r, c, &b);
            break;
        case 0x0d:
        case 0x0e:
            c->pos++;
            e = substitution(r, c, s, tok == 0x0e, at, &b, &null);
            if (!e && null && tok == 0x0d)
                null = false;
            break;
        default:
            goto done;
        }
        any = true;
        all_null = all_null && null;
    }
done:
    if (e)
        return e;
    if (b.failed)
        return evtx_bad(r, VG_ELIMIT, c->pos, "an attribute value is larger than %u bytes",
                   EVTX_MAX_TEXT);
    if (any && all_null) {
        a->value = VG_STR_NULL;
        return VG_OK;
    }
    /* XML attribute-value normalization, as expat applies it to libevtx's text */
    for (size_t i = 0; i < b.n; i++)
        if (b.p[i] == '\t' || b.p[i] == '\n')
            b.p[i] = ' ';
    char *v = vg_arena_memdup(r->a, b.p ? b.p : "", b.n);
    if (!v)
        return evtx_bad(r, VG_ELIMIT, c->pos, "record needs more memory than its cap");
    a->value = vg_str_make(v, b.n);
    return VG_OK;
}

static vg_err element(rd *r, cur *c, const bx_subs *s, uint8_t tok, uint32_t at)
{
    if (!need(c, 6))
        return evtx_bad(r, VG_ECORRUPT, at, "truncated element");
    c->pos += 6;   /* dependency id, data size */
    vg_str name;
    vg_err e = read_name(r, c, &name);
    if (e)
        return e;
    bx_attr at_[EVTX_MAX_ATTRS];
    uint32_t nat = 0;
    if (tok & 0x40) {
        if (!need(c, 4))
            return evtx_bad(r, VG_ECORRUPT, c->pos, "truncated attribute list");
        c->pos += 4;
        while (need(c, 1) && (r->c[c->pos] & 0xbf) == 0x06) {
            if (nat >= EVTX_MAX_ATTRS)
                return evtx_bad(r, VG_ELIMIT, c->pos, "more than %u attributes", EVTX_MAX_ATTRS);
            c->pos++;
            if ((e = read_name(r, c, &at_[nat].name)) || (e = attr_value(r, c, s, &at_[nat])))
                return e;
            nat++;
        }
    }
    if (!need(c, 1))
        return evtx_bad(r, VG_ECORRUPT, c->pos, "element <%.*s> not closed", VG_STR_FMT(name));
    uint8_t close = r->c[c->pos];
    if (close != 0x02 && close != 0x03)
        return evtx_bad(r, VG_ECORRUPT, c->pos, "token 0x%02x where <%.*s> should close", close,
                   VG_STR_FMT(name));
    c->pos++;
    /* an element whose whole content is one array value is repeated per item, as libevtx does */
    if (close == 0x02 && s && need(c, 5) && (r->c[c->pos] == 0x0d || r->c[c->pos] == 0x0e) &&
        r->c[c->pos + 4] == 0x04) {
        uint16_t idx = rd16(r->c + c->pos + 1);
        const bx_val *v = idx < s->n ? &s->v[idx] : NULL;
        if (v && (v->type & 0x80) && v->type != (0x80 | 0x21) && v->size > 0) {
            c->pos += 5;
            uint32_t pos = 0, ioff, ilen;
            while (array_next(r, v, &pos, &ioff, &ilen)) {
                if (++r->tokens > EVTX_MAX_TOKENS)
                    return evtx_bad(r, VG_ELIMIT, at, "more than %u binary XML tokens",
                                    EVTX_MAX_TOKENS);
                if ((e = sink_start(r, name, at_, nat, at)) ||
                    (e = put_scalar(r, v->type & 0x7f, ioff, ilen, &r->text)) ||
                    (e = sink_end(r, c->pos)))
                    return e;
            }
            return VG_OK;
        }
    }
    if ((e = sink_start(r, name, at_, nat, at)))
        return e;
    if (close == 0x02 && (e = parse_content(r, c, s, true)))
        return e;
    return sink_end(r, c->pos);
}

/*
 * Tokens up to the end of the fragment (in_elem false: end-of-fragment token
 * or the end of c) or of the current element (in_elem: its end token).
 */
static vg_err parse_content(rd *r, cur *c, const bx_subs *s, bool in_elem)
{
    vg_err e = VG_OK;
    while (!e) {
        if (!need(c, 1)) {
            if (in_elem)
                return evtx_bad(r, VG_ECORRUPT, c->pos, "element not closed before the end of data");
            return VG_OK;
        }
        uint32_t at = c->pos;
        uint8_t tok = r->c[c->pos++];
        if (++r->tokens > EVTX_MAX_TOKENS)
            return evtx_bad(r, VG_ELIMIT, at, "more than %u binary XML tokens", EVTX_MAX_TOKENS);
        bool null;
        switch (tok) {
        case 0x00:
            if (in_elem)
                return evtx_bad(r, VG_ECORRUPT, at, "end of fragment inside an element");
            return VG_OK;
        case 0x01:
        case 0x41:
            e = element(r, c, s, tok, at);
            break;
        case 0x04:
            if (!in_elem)
                return evtx_bad(r, VG_ECORRUPT, at, "end element outside any element");
            return VG_OK;
        case 0x05:
        case 0x45:
            if (!need(c, 1))
                return evtx_bad(r, VG_ECORRUPT, at, "truncated value");
            c->pos++;
            e = read_text(r, c, &r->text);
            break;
        case 0x07:
        case 0x47:
            e = read_text(r, c, &r->text);
            break;
        case 0x08:
        case 0x48:
            if (!need(c, 2))
                return evtx_bad(r, VG_ECORRUPT, at, "truncated character reference");
            sb_put_cp(&r->text, rd16(r->c + c->pos));
            c->pos += 2;
            break;
        case 0x09:
        case 0x49:
            e = entity(r, c, &r->text);
            break;
        case 0x0a: {
            vg_str target;
            e = read_name(r, c, &target);   /* processing instructions carry no event data */
            break;
        }
        case 0x0b:
            e = read_text(r, c, NULL);
            break;
        case 0x0c:
            e = template_instance(r, c, at);
            break;
        case 0x0d:
        case 0x0e:
            e = substitution(r, c, s, tok == 0x0e, at, NULL, &null);
            break;
        case 0x0f:
            if (!need(c, 3))
                return evtx_bad(r, VG_ECORRUPT, at, "truncated fragment header");
            c->pos += 3;
            break;
        default:
            return evtx_bad(r, VG_ECORRUPT, at, "unexpected binary XML token 0x%02x", tok);
        }
    }
    return e;
}

/* Decodes one record's binary XML [start, end) into ev. */
vg_err evtx_decode_record(rd *r, uint32_t start, uint32_t end, win_event *ev)
{
    vg_arena_reset(r->a);
    win_event_init(ev, r->a);
    r->ev = ev;
    r->depth = 0;
    r->sec = SEC_NONE;
    r->data_name = VG_STR_NULL;
    r->tokens = 0;
    r->nest = 0;
    r->text = (sbuf){ .a = r->a };
    cur c = { start, end };
    vg_err e = parse_content(r, &c, NULL, false);
    if (!e && r->depth != 0)
        e = evtx_bad(r, VG_ECORRUPT, c.pos, "elements left open");
    if (!e && !ev->event_id.n)
        e = evtx_bad(r, VG_EPARSE, start, "no System/EventID");
    return e;
}