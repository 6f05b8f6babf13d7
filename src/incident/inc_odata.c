/*
 * inc_odata.c - OData $filter and $orderby for incidents and alerts,
 * compiled into SQL with bound parameters.
 *
 * $filter grammar (Graph's subset, with `in` and the string functions):
 *
 *   or    := and ('or' and)*
 *   and   := unary ('and' unary)*
 *   unary := 'not' unary | '(' or ')' | func | cmp
 *   func  := ('startswith'|'endswith'|'contains') '(' field ',' literal ')'
 *   cmp   := field ('eq'|'ne'|'gt'|'ge'|'lt'|'le') literal
 *          | field 'in' '(' literal (',' literal)* ')'
 *   literal := 'text' ('' escapes a quote) | number | datetime
 *            | null | true | false
 *
 * Datetimes are written bare (2026-11-30T00:00:00Z) or quoted. Keywords are
 * case-insensitive, field names are not (Graph's camelCase). Fields map to
 * fixed SQL expressions from the tables below; a literal is always a ?N
 * parameter. severity compares by rank (informational < low < medium <
 * high), so `severity ge 'medium'` means medium or high. serviceSource and
 * detectionSource compare the Graph spellings (inc_json.c's maps). The
 * string functions are case-insensitive; eq/ne/in are exact.
 *
 * Limits: VG_INC_MAX_FILTER bytes, INC_ODATA_MAX_DEPTH nesting,
 * INC_ODATA_MAX_ARGS literals. Every error says the 1-based column.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/vg_time.h"
#include "inc_api_int.h"

typedef enum ftype {
    F_TEXT,      /* text column */
    F_INT,       /* integer column (ids, counts) */
    F_TIME,      /* unix ms column, compared with datetimes */
    F_SEV,       /* severity text, compared by rank */
    F_SVC,       /* service_source, compared in Graph's spelling */
    F_DET,       /* detection_source, compared in Graph's spelling */
} ftype;

typedef struct field {
    const char *name;   /* OData name */
    const char *sql;    /* column */
    ftype type;
} field;

static const field incident_fields[] = {
    { "id", "id", F_INT },
    { "status", "status", F_TEXT },
    { "severity", "severity", F_SEV },
    { "classification", "classification", F_TEXT },
    { "determination", "determination", F_TEXT },
    { "assignedTo", "assigned_to", F_TEXT },
    { "displayName", "display_name", F_TEXT },
    { "createdDateTime", "created", F_TIME },
    { "lastUpdateDateTime", "updated", F_TIME },
    { "firstActivityDateTime", "first_activity", F_TIME },
    { "lastActivityDateTime", "last_activity", F_TIME },
    { "alertCount", "alert_count", F_INT },
    { NULL, NULL, F_TEXT },
};

static const field alert_fields[] = {
    { "id", "id", F_TEXT },
    { "incidentId", "incident_id", F_INT },
    { "status", "status", F_TEXT },
    { "severity", "severity", F_SEV },
    { "classification", "classification", F_TEXT },
    { "determination", "determination", F_TEXT },
    { "assignedTo", "assigned_to", F_TEXT },
    { "title", "title", F_TEXT },
    { "category", "category", F_TEXT },
    { "serviceSource", "service_source", F_SVC },
    { "detectionSource", "detection_source", F_DET },
    { "detectorId", "detector_id", F_TEXT },
    { "createdDateTime", "created", F_TIME },
    { "lastUpdateDateTime", "updated", F_TIME },
    { NULL, NULL, F_TEXT },
};

static const field *fields_of(inc_obj o) { return o == INC_OBJ_INCIDENT ? incident_fields : alert_fields; }

static const field *field_find(inc_obj o, vg_str name)
{
    for (const field *f = fields_of(o); f->name; f++)
        if (vg_str_eqc(name, f->name))
            return f;
    return NULL;
}

/* "id, status, ..." for error messages. */
static void field_list(inc_obj o, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const field *f = fields_of(o); f->name && n < cap; f++) {
        int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", f->name);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* The SQL expression a field compares by. */
static void put_field_sql(vg_buf *b, const field *f)
{
    switch (f->type) {
    case F_SEV:
        vg_buf_puts(b, INC_SEV_RANK_SQL("severity"));
        return;
    case F_SVC:
        vg_buf_puts(b, "(CASE service_source");
        for (const inc_name_map *m = inc_service_sources; m->stored; m++)
            vg_buf_printf(b, " WHEN '%s' THEN '%s'", m->stored, m->graph);
        vg_buf_puts(b, " ELSE '" INC_SERVICE_SOURCE_OTHER "' END)");
        return;
    case F_DET:
        vg_buf_puts(b, "(CASE detection_source");
        for (const inc_name_map *m = inc_detection_sources; m->stored; m++)
            vg_buf_printf(b, " WHEN '%s' THEN '%s'", m->stored, m->graph);
        vg_buf_puts(b, " ELSE detection_source END)");
        return;
    default:
        vg_buf_puts(b, f->sql);
        return;
    }
}

/* ---- the lexer ---- */

typedef enum tok_kind {
    T_EOF,
    T_IDENT,     /* field names and keywords */
    T_STRING,    /* 'text' (unescaped in s) */
    T_NUMBER,
    T_DATETIME,  /* bare 2026-11-30T00:00:00Z */
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
} tok_kind;

typedef struct tok {
    tok_kind kind;
    vg_str s;          /* the text (STRING: unescaped, in the arena) */
    size_t col;        /* 1-based column of the first byte */
} tok;

typedef struct parser {
    inc_obj obj;
    const char *src;
    size_t n, pos;
    tok t;              /* the current token */
    vg_arena *a;
    inc_sql *q;
    vg_diag *d;
    int depth;
} parser;

static vg_err perr(parser *p, size_t col, vg_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static vg_err perr(parser *p, size_t col, vg_err e, const char *fmt, ...)
{
    char msg[VG_DIAG_MAX - 40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vg_diag_set(p->d, e, "$filter: column %zu: %s", col, msg);
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Printable form of a byte for messages. */
static const char *byte_desc(char c, char buf[8])
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x21 && u < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02x", u);
    return buf;
}

static vg_err next(parser *p)
{
    while (p->pos < p->n && (p->src[p->pos] == ' ' || p->src[p->pos] == '\t' ||
                             p->src[p->pos] == '\r' || p->src[p->pos] == '\n'))
        p->pos++;
    tok *t = &p->t;
    t->col = p->pos + 1;
    t->s = vg_str_make(p->src + p->pos, 0);
    if (p->pos >= p->n) {
        t->kind = T_EOF;
        return VG_OK;
    }
    char c = p->src[p->pos];
    size_t start = p->pos;
    if (c == '(' || c == ')' || c == ',') {
        t->kind = c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_COMMA;
        t->s.n = 1;
        p->pos++;
        return VG_OK;
    }
    if (c == '\'') {
        /* count, then unescape '' into the arena */
        size_t i = start + 1, len = 0;
        for (;;) {
            if (i >= p->n)
                return perr(p, t->col, VG_EPARSE, "unterminated string (a quote inside a "
                            "string is written '')");
            if (p->src[i] == '\'') {
                if (i + 1 < p->n && p->src[i + 1] == '\'') {
                    i += 2;
                    len++;
                    continue;
                }
                break;
            }
            i++;
            len++;
        }
        char *buf = vg_arena_alloc(p->a, len + 1);
        if (!buf)
            return vg_diag_set(p->d, VG_ENOMEM, "$filter: out of memory");
        size_t o = 0;
        for (size_t j = start + 1; j < i; j++) {
            buf[o++] = p->src[j];
            if (p->src[j] == '\'')
                j++;
        }
        buf[o] = '\0';
        t->kind = T_STRING;
        t->s = vg_str_make(buf, o);
        p->pos = i + 1;
        return VG_OK;
    }
    if (is_digit(c) || (c == '-' && p->pos + 1 < p->n && is_digit(p->src[p->pos + 1]))) {
        size_t i = start + 1;
        bool dt = false;
        while (i < p->n) {
            char k = p->src[i];
            if (is_digit(k) || k == '.' || k == ':' || k == 'T' || k == 'Z' || k == 't' ||
                k == 'z' || ((k == '-' || k == '+') && i > start))
                i++;
            else
                break;
        }
        /* 4 digits and a '-' is a date */
        if (i - start >= 10 && c != '-' && p->src[start + 4] == '-')
            dt = true;
        t->kind = dt ? T_DATETIME : T_NUMBER;
        t->s = vg_str_make(p->src + start, i - start);
        p->pos = i;
        return VG_OK;
    }
    if (is_ident_start(c)) {
        size_t i = start + 1;
        while (i < p->n && (is_ident_start(p->src[i]) || is_digit(p->src[i])))
            i++;
        t->kind = T_IDENT;
        t->s = vg_str_make(p->src + start, i - start);
        p->pos = i;
        return VG_OK;
    }
    char bd[8];
    return perr(p, t->col, VG_EPARSE, "unexpected %s", byte_desc(c, bd));
}

static bool is_kw(const tok *t, const char *kw)
{
    return t->kind == T_IDENT && vg_str_eqc_ci(t->s, kw);
}

/* What a token is, for "expected X, found Y". */
static void tok_desc(const tok *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case T_EOF: snprintf(buf, cap, "the end"); return;
    case T_STRING: snprintf(buf, cap, "a string"); return;
    case T_LPAREN: snprintf(buf, cap, "'('"); return;
    case T_RPAREN: snprintf(buf, cap, "')'"); return;
    case T_COMMA: snprintf(buf, cap, "','"); return;
    default:
        snprintf(buf, cap, "'%.*s'", (int)(t->s.n > 40 ? 40 : t->s.n), t->s.p);
        return;
    }
}

static vg_err expect(parser *p, tok_kind k, const char *what)
{
    if (p->t.kind != k) {
        char found[64];
        tok_desc(&p->t, found, sizeof found);
        return perr(p, p->t.col, VG_EPARSE, "expected %s, found %s", what, found);
    }
    return next(p);
}

/* ---- literals ---- */

typedef enum lit_kind { L_NULL, L_BOOL, L_INT, L_TEXT, L_TIME } lit_kind;

typedef struct lit {
    lit_kind kind;
    int64_t i;         /* INT, BOOL, TIME (ms) */
    vg_str s;          /* TEXT */
    size_t col;
} lit;

static vg_err read_literal(parser *p, lit *l)
{
    tok *t = &p->t;
    l->col = t->col;
    l->s = VG_STR_NULL;
    l->i = 0;
    if (t->kind == T_STRING) {
        l->kind = L_TEXT;
        l->s = t->s;
    } else if (t->kind == T_NUMBER) {
        if (vg_str_to_i64(t->s, &l->i) != VG_OK)
            return perr(p, t->col, VG_EPARSE, "'%.*s' is not an integer",
                        (int)(t->s.n > 40 ? 40 : t->s.n), t->s.p);
        l->kind = L_INT;
    } else if (t->kind == T_DATETIME) {
        vg_time tm;
        if (vg_time_parse_iso(t->s, &tm) != VG_OK)
            return perr(p, t->col, VG_EPARSE, "'%.*s' is not a datetime "
                        "(2026-11-30T00:00:00Z)", (int)(t->s.n > 40 ? 40 : t->s.n), t->s.p);
        l->kind = L_TIME;
        l->i = tm / VG_TICKS_PER_MS;
    } else if (is_kw(t, "null")) {
        l->kind = L_NULL;
    } else if (is_kw(t, "true") || is_kw(t, "false")) {
        l->kind = L_BOOL;
        l->i = is_kw(t, "true");
    } else {
        char found[64];
        tok_desc(t, found, sizeof found);
        return perr(p, t->col, VG_EPARSE, "expected a value ('text', a number, a datetime, "
                    "null, true or false), found %s", found);
    }
    return next(p);
}

static vg_err add_arg(parser *p, size_t col, inc_arg a, int *idx)
{
    if (p->q->nargs >= INC_ODATA_MAX_ARGS)
        return perr(p, col, VG_ELIMIT, "more than %d values in one $filter",
                    INC_ODATA_MAX_ARGS);
    p->q->args[p->q->nargs] = a;
    *idx = ++p->q->nargs;
    return VG_OK;
}

static const char *const type_names[] = { "text", "an integer", "a datetime", "a severity",
                                          "text", "text" };

/* Converts a literal to the field's type and adds it as a parameter. */
static vg_err bind_literal(parser *p, const field *f, const lit *l, int *idx)
{
    inc_arg a = { 0 };
    switch (f->type) {
    case F_TEXT:
    case F_SVC:
    case F_DET:
        if (l->kind != L_TEXT)
            return perr(p, l->col, VG_EPARSE, "%s is text: write the value in quotes",
                        f->name);
        a.kind = INC_ARG_TEXT;
        a.s = l->s;
        break;
    case F_INT:
        a.kind = INC_ARG_INT;
        if (l->kind == L_INT) {
            a.i = l->i;
        } else if (l->kind == L_TEXT && vg_str_to_i64(l->s, &a.i) == VG_OK) {
            /* Graph ids are strings: '42' is accepted for id 42 */
        } else {
            return perr(p, l->col, VG_EPARSE, "%s is an integer", f->name);
        }
        break;
    case F_TIME:
        a.kind = INC_ARG_INT;
        if (l->kind == L_TIME) {
            a.i = l->i;
        } else if (l->kind == L_TEXT) {
            vg_time tm;
            if (vg_time_parse_iso(l->s, &tm) != VG_OK)
                return perr(p, l->col, VG_EPARSE, "%s is a datetime: '%.*s' is not one "
                            "(2026-11-30T00:00:00Z)", f->name,
                            (int)(l->s.n > 40 ? 40 : l->s.n), l->s.p);
            a.i = tm / VG_TICKS_PER_MS;
        } else {
            return perr(p, l->col, VG_EPARSE, "%s is a datetime (2026-11-30T00:00:00Z)",
                        f->name);
        }
        break;
    case F_SEV: {
        int r = l->kind == L_TEXT ? inc_severity_rank(l->s) : 0;
        if (r <= 0)
            return perr(p, l->col, VG_EPARSE, "severity is one of 'informational', 'low', "
                        "'medium', 'high'");
        a.kind = INC_ARG_INT;
        a.i = r;
        break;
    }
    }
    return add_arg(p, l->col, a, idx);
}

/* ---- the grammar ---- */

static vg_err parse_or(parser *p);

static vg_err parse_field(parser *p, const field **out)
{
    if (p->t.kind != T_IDENT) {
        char found[64];
        tok_desc(&p->t, found, sizeof found);
        return perr(p, p->t.col, VG_EPARSE, "expected a field name, found %s", found);
    }
    const field *f = field_find(p->obj, p->t.s);
    if (!f) {
        char list[400];
        field_list(p->obj, list, sizeof list);
        return perr(p, p->t.col, VG_EPARSE, "unknown field '%.*s' (filterable: %s)",
                    (int)(p->t.s.n > 60 ? 60 : p->t.s.n), p->t.s.p, list);
    }
    *out = f;
    return next(p);
}

/* startswith(f, 'x') / endswith / contains */
static vg_err parse_func(parser *p, const char *fn)
{
    vg_err e = next(p);   /* the name */
    if (!e) e = expect(p, T_LPAREN, "'(' after the function name");
    const field *f = NULL;
    if (!e) e = parse_field(p, &f);
    if (!e) e = expect(p, T_COMMA, "','");
    if (e)
        return e;
    lit l;
    if ((e = read_literal(p, &l)))
        return e;
    if (l.kind != L_TEXT)
        return perr(p, l.col, VG_EPARSE, "%s() takes a string: write it in quotes", fn);
    if (f->type == F_INT || f->type == F_TIME || f->type == F_SEV)
        return perr(p, l.col, VG_EPARSE, "%s() needs a text field; %s is %s", fn, f->name,
                    type_names[f->type]);
    if ((e = expect(p, T_RPAREN, "')'")))
        return e;
    int idx = 0;
    if ((e = add_arg(p, l.col, (inc_arg){ INC_ARG_TEXT, 0, l.s }, &idx)))
        return e;
    vg_buf *w = &p->q->where;
    if (strcmp(fn, "contains") == 0) {
        vg_buf_puts(w, "(instr(lower(");
        put_field_sql(w, f);
        vg_buf_printf(w, "), lower(?%d)) > 0)", idx);
    } else if (strcmp(fn, "startswith") == 0) {
        vg_buf_puts(w, "(instr(lower(");
        put_field_sql(w, f);
        vg_buf_printf(w, "), lower(?%d)) = 1 OR length(?%d) = 0)", idx, idx);
    } else {
        vg_buf_printf(w, "(length(?%d) = 0 OR lower(substr(", idx);
        put_field_sql(w, f);
        vg_buf_printf(w, ", -length(?%d))) = lower(?%d))", idx, idx);
    }
    return VG_OK;
}

static const struct {
    const char *kw, *sql;
} cmp_ops[] = {
    { "eq", "=" }, { "ne", "!=" }, { "gt", ">" }, { "ge", ">=" }, { "lt", "<" }, { "le", "<=" },
};

static vg_err parse_cmp(parser *p)
{
    const field *f;
    vg_err e = parse_field(p, &f);
    if (e)
        return e;
    vg_buf *w = &p->q->where;
    if (is_kw(&p->t, "in")) {
        if ((e = next(p)) || (e = expect(p, T_LPAREN, "'(' after in")))
            return e;
        vg_buf_putc(w, '(');
        put_field_sql(w, f);
        vg_buf_puts(w, " IN (");
        for (int k = 0;; k++) {
            lit l;
            int idx = 0;
            if ((e = read_literal(p, &l)))
                return e;
            if (l.kind == L_NULL)
                return perr(p, l.col, VG_EPARSE, "null cannot be in a list: write "
                            "'%s eq null or ...'", f->name);
            if ((e = bind_literal(p, f, &l, &idx)))
                return e;
            vg_buf_printf(w, "%s?%d", k ? ", " : "", idx);
            if (p->t.kind == T_COMMA) {
                if ((e = next(p)))
                    return e;
                continue;
            }
            if ((e = expect(p, T_RPAREN, "',' or ')' in the list")))
                return e;
            break;
        }
        vg_buf_puts(w, "))");
        return VG_OK;
    }
    const char *op = NULL;
    size_t opcol = p->t.col;
    for (size_t i = 0; i < sizeof cmp_ops / sizeof cmp_ops[0]; i++)
        if (is_kw(&p->t, cmp_ops[i].kw))
            op = cmp_ops[i].kw;
    if (!op) {
        char found[64];
        tok_desc(&p->t, found, sizeof found);
        return perr(p, p->t.col, VG_EPARSE, "expected an operator (eq ne gt ge lt le in) "
                    "after %s, found %s", f->name, found);
    }
    if ((e = next(p)))
        return e;
    lit l;
    if ((e = read_literal(p, &l)))
        return e;
    if (l.kind == L_NULL) {
        if (strcmp(op, "eq") && strcmp(op, "ne"))
            return perr(p, opcol, VG_EPARSE, "null compares only with eq or ne");
        vg_buf_putc(w, '(');
        vg_buf_puts(w, f->sql);
        vg_buf_puts(w, strcmp(op, "eq") == 0 ? " IS NULL)" : " IS NOT NULL)");
        return VG_OK;
    }
    if (l.kind == L_BOOL)
        return perr(p, l.col, VG_EPARSE, "%s is %s, not a boolean", f->name,
                    type_names[f->type]);
    int idx = 0;
    if ((e = bind_literal(p, f, &l, &idx)))
        return e;
    const char *sqlop = "=";
    for (size_t i = 0; i < sizeof cmp_ops / sizeof cmp_ops[0]; i++)
        if (strcmp(op, cmp_ops[i].kw) == 0)
            sqlop = cmp_ops[i].sql;
    vg_buf_putc(w, '(');
    put_field_sql(w, f);
    vg_buf_printf(w, " %s ?%d", sqlop, idx);
    /* ne keeps rows whose column is NULL, as OData's ne does */
    if (strcmp(op, "ne") == 0 && f->type == F_TEXT)
        vg_buf_printf(w, " OR %s IS NULL", f->sql);
    vg_buf_putc(w, ')');
    return VG_OK;
}

static vg_err deeper(parser *p)
{
    if (++p->depth > INC_ODATA_MAX_DEPTH)
        return perr(p, p->t.col, VG_ELIMIT, "nested deeper than %d levels",
                    INC_ODATA_MAX_DEPTH);
    return VG_OK;
}

static vg_err parse_unary(parser *p)
{
    vg_err e;
    if (is_kw(&p->t, "not")) {
        if ((e = deeper(p)) || (e = next(p)))
            return e;
        vg_buf_puts(&p->q->where, "(NOT ");
        if ((e = parse_unary(p)))
            return e;
        vg_buf_putc(&p->q->where, ')');
        p->depth--;
        return VG_OK;
    }
    if (p->t.kind == T_LPAREN) {
        if ((e = deeper(p)) || (e = next(p)))
            return e;
        vg_buf_putc(&p->q->where, '(');
        if ((e = parse_or(p)) || (e = expect(p, T_RPAREN, "')'")))
            return e;
        vg_buf_putc(&p->q->where, ')');
        p->depth--;
        return VG_OK;
    }
    if (p->t.kind == T_IDENT) {
        static const char *const fns[] = { "startswith", "endswith", "contains" };
        for (size_t i = 0; i < 3; i++)
            if (is_kw(&p->t, fns[i]))
                return parse_func(p, fns[i]);
    }
    return parse_cmp(p);
}

static vg_err parse_and(parser *p)
{
    vg_err e = parse_unary(p);
    while (!e && is_kw(&p->t, "and")) {
        vg_buf_puts(&p->q->where, " AND ");
        if (!(e = next(p)))
            e = parse_unary(p);
    }
    return e;
}

static vg_err parse_or(parser *p)
{
    vg_err e = parse_and(p);
    while (!e && is_kw(&p->t, "or")) {
        vg_buf_puts(&p->q->where, " OR ");
        if (!(e = next(p)))
            e = parse_and(p);
    }
    return e;
}

/* ---- public ---- */

void inc_sql_init(inc_sql *q)
{
    vg_buf_init(&q->where, 0);
    vg_buf_init(&q->order, 0);
    q->nargs = 0;
}

void inc_sql_free(inc_sql *q)
{
    vg_buf_free(&q->where);
    vg_buf_free(&q->order);
    q->nargs = 0;
}

vg_err inc_odata_filter(inc_obj o, vg_str filter, vg_arena *a, inc_sql *q, vg_diag *d)
{
    vg_buf_clear(&q->where);
    q->nargs = 0;
    if (!filter.p || vg_str_trim(filter).n == 0)
        return VG_OK;
    if (filter.n > VG_INC_MAX_FILTER)
        return vg_diag_set(d, VG_ELIMIT, "$filter: %zu bytes, more than the %d allowed",
                           filter.n, VG_INC_MAX_FILTER);
    parser p = { .obj = o, .src = filter.p, .n = filter.n, .a = a, .q = q, .d = d };
    vg_err e = next(&p);
    if (!e) e = parse_or(&p);
    if (!e && p.t.kind != T_EOF) {
        char found[64];
        tok_desc(&p.t, found, sizeof found);
        e = perr(&p, p.t.col, VG_EPARSE, "expected and, or or the end, found %s", found);
    }
    if (!e && q->where.failed)
        e = vg_diag_set(d, VG_ENOMEM, "$filter: out of memory");
    if (e) {
        vg_buf_clear(&q->where);
        q->nargs = 0;
    }
    return e;
}

vg_err inc_odata_orderby(inc_obj o, vg_str ob, inc_sql *q, vg_diag *d)
{
    vg_buf *b = &q->order;
    vg_buf_clear(b);
    if (!ob.p || vg_str_trim(ob).n == 0) {
        vg_buf_puts(b, o == INC_OBJ_INCIDENT ? "updated DESC, id DESC" : "created DESC, id DESC");
        return VG_OK;
    }
    if (ob.n > INC_ODATA_MAX_ORDERBY)
        return vg_diag_set(d, VG_ELIMIT, "$orderby: %zu bytes, more than the %d allowed", ob.n,
                           INC_ODATA_MAX_ORDERBY);
    size_t i = 0;
    int keys = 0;
    bool last_desc = false, has_id = false;
    for (;;) {
        while (i < ob.n && ob.p[i] == ' ')
            i++;
        size_t c0 = i;
        while (i < ob.n && (is_ident_start(ob.p[i]) || is_digit(ob.p[i])))
            i++;
        vg_str name = vg_str_make(ob.p + c0, i - c0);
        if (!name.n) {
            char bd[8];
            vg_buf_clear(b);
            if (c0 >= ob.n)
                return vg_diag_set(d, VG_EPARSE, "$orderby: column %zu: expected a field name",
                                   c0 + 1);
            return vg_diag_set(d, VG_EPARSE, "$orderby: column %zu: expected a field name, "
                               "found %s", c0 + 1, byte_desc(ob.p[c0], bd));
        }
        const field *f = field_find(o, name);
        if (!f) {
            char list[400];
            field_list(o, list, sizeof list);
            vg_buf_clear(b);
            return vg_diag_set(d, VG_EPARSE, "$orderby: column %zu: unknown field '%.*s' "
                               "(sortable: %s)", c0 + 1, (int)(name.n > 60 ? 60 : name.n),
                               name.p, list);
        }
        if (++keys > INC_ODATA_MAX_ORDER) {
            vg_buf_clear(b);
            return vg_diag_set(d, VG_ELIMIT, "$orderby: column %zu: more than %d keys", c0 + 1,
                               INC_ODATA_MAX_ORDER);
        }
        while (i < ob.n && ob.p[i] == ' ')
            i++;
        bool desc = false;
        size_t d0 = i;
        while (i < ob.n && is_ident_start(ob.p[i]))
            i++;
        vg_str dir = vg_str_make(ob.p + d0, i - d0);
        if (dir.n) {
            if (vg_str_eqc_ci(dir, "desc"))
                desc = true;
            else if (!vg_str_eqc_ci(dir, "asc")) {
                vg_buf_clear(b);
                return vg_diag_set(d, VG_EPARSE, "$orderby: column %zu: expected asc or desc, "
                                   "found '%.*s'", d0 + 1, (int)(dir.n > 40 ? 40 : dir.n),
                                   dir.p);
            }
        }
        if (b->n)
            vg_buf_puts(b, ", ");
        put_field_sql(b, f);
        vg_buf_puts(b, desc ? " DESC" : " ASC");
        last_desc = desc;
        if (strcmp(f->name, "id") == 0)
            has_id = true;
        while (i < ob.n && ob.p[i] == ' ')
            i++;
        if (i >= ob.n)
            break;
        if (ob.p[i] != ',') {
            char bd[8];
            vg_buf_clear(b);
            return vg_diag_set(d, VG_EPARSE, "$orderby: column %zu: expected ',' or the end, "
                               "found %s", i + 1, byte_desc(ob.p[i], bd));
        }
        i++;
    }
    if (!has_id)
        vg_buf_puts(b, last_desc ? ", id DESC" : ", id ASC");
    return b->failed ? vg_diag_set(d, VG_ENOMEM, "$orderby: out of memory") : VG_OK;
}

vg_err inc_sql_bind(sqlite3_stmt *st, const inc_sql *q, vg_diag *d)
{
    for (int i = 0; i < q->nargs; i++) {
        const inc_arg *a = &q->args[i];
        int rc = a->kind == INC_ARG_INT
                     ? sqlite3_bind_int64(st, i + 1, a->i)
                     : sqlite3_bind_text(st, i + 1, a->s.p ? a->s.p : "", (int)a->s.n,
                                         SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return vg_diag_set(d, VG_EIO, "binding $filter value %d: %s", i + 1,
                               sqlite3_errstr(rc));
    }
    return VG_OK;
}
