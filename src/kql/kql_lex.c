/*
 * kql_lex.c - the KQL lexer: query text to a token array.
 *
 * The whole query is tokenized up front (it is bounded by VG_KQL_MAX_INPUT
 * and VG_KQL_MAX_TOKENS) so that the parser can look ahead freely; the token
 * array grows on the heap and lands in the query's arena once, at its size.
 * Besides the usual punctuation the lexer knows Kusto's lexical quirks:
 * hyphenated operator names
 * (project-away, mv-expand), word operators with '!' and '~' forms (!has_cs,
 * in~), bracketed identifiers (['Column name']), verbatim, obfuscated and
 * multi-line strings, timespan suffixes (1.5d, 100ms) and the literals whose
 * contents are not tokens (datetime(...), time(...), guid(...)).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>

#include "kql/kql_int.h"

static const char *const tok_names[] = {
#define VG_KQL_TOK_NAME_(name, text) text,
    VG_KQL_TOKENS(VG_KQL_TOK_NAME_)
#undef VG_KQL_TOK_NAME_
};

const char *vg_kql_tok_name(vg_kql_tok t)
{
    return (unsigned)t < VG_KQL_T_COUNT_ ? tok_names[t] : "token";
}

/* Word operators and their token kinds; '!' forms are looked up with the '!'. */
static const struct { const char *word; vg_kql_tok tok; } word_ops[] = {
    { "and", VG_KQL_T_AND }, { "or", VG_KQL_T_OR },
    { "has", VG_KQL_T_HAS }, { "!has", VG_KQL_T_NHAS },
    { "has_cs", VG_KQL_T_HAS_CS }, { "!has_cs", VG_KQL_T_NHAS_CS },
    { "hasprefix", VG_KQL_T_HASPREFIX }, { "!hasprefix", VG_KQL_T_NHASPREFIX },
    { "hasprefix_cs", VG_KQL_T_HASPREFIX_CS }, { "!hasprefix_cs", VG_KQL_T_NHASPREFIX_CS },
    { "hassuffix", VG_KQL_T_HASSUFFIX }, { "!hassuffix", VG_KQL_T_NHASSUFFIX },
    { "hassuffix_cs", VG_KQL_T_HASSUFFIX_CS }, { "!hassuffix_cs", VG_KQL_T_NHASSUFFIX_CS },
    { "contains", VG_KQL_T_CONTAINS }, { "!contains", VG_KQL_T_NCONTAINS },
    { "contains_cs", VG_KQL_T_CONTAINS_CS }, { "!contains_cs", VG_KQL_T_NCONTAINS_CS },
    { "startswith", VG_KQL_T_STARTSWITH }, { "!startswith", VG_KQL_T_NSTARTSWITH },
    { "startswith_cs", VG_KQL_T_STARTSWITH_CS }, { "!startswith_cs", VG_KQL_T_NSTARTSWITH_CS },
    { "endswith", VG_KQL_T_ENDSWITH }, { "!endswith", VG_KQL_T_NENDSWITH },
    { "endswith_cs", VG_KQL_T_ENDSWITH_CS }, { "!endswith_cs", VG_KQL_T_NENDSWITH_CS },
    { "in", VG_KQL_T_IN }, { "!in", VG_KQL_T_NIN },
    { "in~", VG_KQL_T_IN_CI }, { "!in~", VG_KQL_T_NIN_CI },
    { "has_any", VG_KQL_T_HAS_ANY }, { "has_all", VG_KQL_T_HAS_ALL },
    { "between", VG_KQL_T_BETWEEN }, { "!between", VG_KQL_T_NBETWEEN },
};

const char *vg_kql_tok_op(vg_kql_tok t)
{
    static const struct { vg_kql_tok t; const char *s; } sym[] = {
        { VG_KQL_T_EQEQ, "==" }, { VG_KQL_T_NEQ, "!=" }, { VG_KQL_T_EQTILDE, "=~" },
        { VG_KQL_T_NTILDE, "!~" }, { VG_KQL_T_LT, "<" }, { VG_KQL_T_LE, "<=" },
        { VG_KQL_T_GT, ">" }, { VG_KQL_T_GE, ">=" }, { VG_KQL_T_LTGT, "<>" },
        { VG_KQL_T_PLUS, "+" }, { VG_KQL_T_MINUS, "-" }, { VG_KQL_T_STAR, "*" },
        { VG_KQL_T_SLASH, "/" }, { VG_KQL_T_PERCENT, "%" },
        { VG_KQL_T_MATCHES_REGEX, "matches regex" },
    };
    for (size_t i = 0; i < sizeof sym / sizeof sym[0]; i++)
        if (sym[i].t == t) return sym[i].s;
    for (size_t i = 0; i < sizeof word_ops / sizeof word_ops[0]; i++)
        if (word_ops[i].tok == t) return word_ops[i].word;
    return NULL;
}

/* Operator names written with hyphens; the lexer keeps them one identifier. */
static const char *const hyphenated[] = {
    "project-away", "project-keep", "project-rename", "project-reorder", "project-smart",
    "mv-expand", "mv-apply", "parse-where", "parse-kv", "make-series", "make-graph",
    "top-nested", "top-hitters", "sample-distinct", "graph-match", "graph-merge",
    "graph-to-table", "scan-fork", "make-fork",
};

typedef struct lexer {
    vg_arena *a;
    const char *s;
    size_t n, i;
    uint32_t line;
    size_t line_start;
    vg_kql_token *toks;
    size_t ntoks, cap;
    vg_diag *d;
} lexer;

static bool is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_' || c == '$'; }
static bool is_ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

static vg_kql_pos pos_at(const lexer *L, size_t off)
{
    /* only called for offsets on the current line */
    return (vg_kql_pos){ L->line, (uint32_t)(off - L->line_start + 1), (uint32_t)off };
}

static vg_err lex_error(lexer *L, size_t off, const char *what)
{
    vg_kql_pos p = pos_at(L, off);
    return vg_diag_set(L->d, VG_EPARSE, "line %u, column %u: %s", p.line, p.col, what);
}

static vg_kql_token *push(lexer *L, vg_kql_tok kind, size_t start, vg_kql_pos p, uint32_t flags)
{
    if (L->ntoks == L->cap) {
        /* grown on the heap (bounded by VG_KQL_MAX_TOKENS), copied to the arena once at the end */
        size_t ncap = L->cap ? L->cap * 2 : 64;
        vg_kql_token *nt = realloc(L->toks, ncap * sizeof *nt);
        if (!nt) return NULL;
        L->toks = nt;
        L->cap = ncap;
    }
    vg_kql_token *t = &L->toks[L->ntoks++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->flags = flags;
    t->pos = p;
    t->text = vg_str_make(L->s + start, L->i - start);
    t->value = t->text;
    return t;
}

/* Reads a quoted string starting at L->i (the quote); decodes into the arena. */
static vg_err lex_quoted(lexer *L, bool verbatim, vg_str *out)
{
    char q = L->s[L->i];
    size_t start = L->i++;
    /* find the end first, so that the copy is sized to this string, not the rest of the query */
    size_t end = L->i;
    while (end < L->n) {
        char c = L->s[end];
        if (c == '\n' || c == '\r') break;
        if (c == q) {
            if (verbatim && end + 1 < L->n && L->s[end + 1] == q) { end += 2; continue; }
            break;
        }
        if (c == '\\' && !verbatim && end + 1 < L->n) end++;
        end++;
    }
    /* every input byte decodes to at most one output byte */
    size_t cap = end - L->i + 2;
    char *buf = vg_arena_alloc(L->a, cap);
    if (!buf) return vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
    size_t k = 0;
    while (L->i < L->n) {
        if (k + 2 > cap) break;   /* cannot happen (see above); never write past buf */
        char c = L->s[L->i];
        if (c == '\n' || c == '\r') break;
        if (c == q) {
            if (verbatim && L->i + 1 < L->n && L->s[L->i + 1] == q) {
                buf[k++] = q;
                L->i += 2;
                continue;
            }
            L->i++;
            buf[k] = '\0';
            *out = vg_str_make(buf, k);
            return VG_OK;
        }
        if (c == '\\' && !verbatim) {
            if (L->i + 1 >= L->n) break;
            char e = L->s[L->i + 1];
            L->i += 2;
            switch (e) {
            case 'n': buf[k++] = '\n'; break;
            case 't': buf[k++] = '\t'; break;
            case 'r': buf[k++] = '\r'; break;
            case '0': buf[k++] = '\0'; break;
            case '\\': case '\'': case '"': buf[k++] = e; break;
            case 'u': case 'x': {
                /* kept as written: the binder decodes code points if it needs them */
                buf[k++] = '\\';
                buf[k++] = e;
                break;
            }
            default:
                return lex_error(L, L->i - 2, "unknown escape sequence in string literal");
            }
            continue;
        }
        buf[k++] = c;
        L->i++;
    }
    return lex_error(L, start, "unterminated string literal");
}

/* Timespan units and their length in ticks. */
static const struct { const char *u; int64_t ticks; } units[] = {
    { "d", VG_TICKS_PER_DAY }, { "day", VG_TICKS_PER_DAY }, { "days", VG_TICKS_PER_DAY },
    { "h", 3600 * VG_TICKS_PER_SEC }, { "hr", 3600 * VG_TICKS_PER_SEC },
    { "hrs", 3600 * VG_TICKS_PER_SEC }, { "hour", 3600 * VG_TICKS_PER_SEC },
    { "hours", 3600 * VG_TICKS_PER_SEC },
    { "m", 60 * VG_TICKS_PER_SEC }, { "min", 60 * VG_TICKS_PER_SEC },
    { "minute", 60 * VG_TICKS_PER_SEC }, { "minutes", 60 * VG_TICKS_PER_SEC },
    { "s", VG_TICKS_PER_SEC }, { "sec", VG_TICKS_PER_SEC }, { "second", VG_TICKS_PER_SEC },
    { "seconds", VG_TICKS_PER_SEC },
    { "ms", VG_TICKS_PER_MS }, { "milli", VG_TICKS_PER_MS }, { "millis", VG_TICKS_PER_MS },
    { "millisecond", VG_TICKS_PER_MS }, { "milliseconds", VG_TICKS_PER_MS },
    { "microsecond", 10 }, { "microseconds", 10 }, { "tick", 1 }, { "ticks", 1 },
};

static int64_t unit_ticks(vg_str u)
{
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (vg_str_eqc_ci(u, units[k].u)) return units[k].ticks;
    return 0;
}

static vg_err lex_number(lexer *L, vg_kql_pos p, uint32_t flags)
{
    size_t start = L->i;
    bool real = false;
    if (L->s[L->i] == '0' && L->i + 1 < L->n && (L->s[L->i + 1] == 'x' || L->s[L->i + 1] == 'X')) {
        L->i += 2;
        while (L->i < L->n && isxdigit((unsigned char)L->s[L->i])) L->i++;
        uint64_t v;
        if (vg_str_to_hex_u64(vg_str_make(L->s + start, L->i - start), &v) != VG_OK)
            return lex_error(L, start, "invalid hexadecimal literal");
        vg_kql_token *t = push(L, VG_KQL_T_LONG, start, p, flags);
        if (!t) return vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
        t->i = (int64_t)v;
        return VG_OK;
    }
    while (L->i < L->n && isdigit((unsigned char)L->s[L->i])) L->i++;
    if (L->i + 1 < L->n && L->s[L->i] == '.' && isdigit((unsigned char)L->s[L->i + 1])) {
        real = true;
        L->i++;
        while (L->i < L->n && isdigit((unsigned char)L->s[L->i])) L->i++;
    } else if (L->i < L->n && L->s[L->i] == '.' &&
               !(L->i + 1 < L->n && (L->s[L->i + 1] == '.' || is_ident_start(L->s[L->i + 1])))) {
        real = true;   /* "1." */
        L->i++;
    }
    if (L->i < L->n && (L->s[L->i] == 'e' || L->s[L->i] == 'E')) {
        size_t j = L->i + 1;
        if (j < L->n && (L->s[j] == '+' || L->s[j] == '-')) j++;
        if (j < L->n && isdigit((unsigned char)L->s[j])) {
            real = true;
            L->i = j;
            while (L->i < L->n && isdigit((unsigned char)L->s[L->i])) L->i++;
        }
    }
    vg_str num = vg_str_make(L->s + start, L->i - start);
    /* a unit glued to the number makes a timespan */
    if (L->i < L->n && is_ident_start(L->s[L->i])) {
        size_t us = L->i;
        while (L->i < L->n && is_ident_char(L->s[L->i])) L->i++;
        vg_str unit = vg_str_make(L->s + us, L->i - us);
        for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
            if (!vg_str_eqc_ci(unit, units[k].u)) continue;
            double v;
            if (vg_str_to_double(num, &v) != VG_OK || v * (double)units[k].ticks > 9.2e18)
                return lex_error(L, start, "timespan literal out of range");
            vg_kql_token *t = push(L, VG_KQL_T_TIMESPAN, start, p, flags);
            if (!t) return vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
            t->i = real ? (int64_t)llround(v * (double)units[k].ticks)
                        : (int64_t)v * units[k].ticks;
            return VG_OK;
        }
        return lex_error(L, start, "invalid number: unknown timespan unit or letters after digits");
    }
    vg_kql_token *t = push(L, real ? VG_KQL_T_REAL : VG_KQL_T_LONG, start, p, flags);
    if (!t) return vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
    if (real) {
        if (vg_str_to_double(num, &t->r) != VG_OK) return lex_error(L, start, "invalid real literal");
    } else {
        vg_err e = vg_str_to_i64(num, &t->i);
        if (e != VG_OK) {   /* too large for long: Kusto makes it a real */
            t->kind = VG_KQL_T_REAL;
            if (vg_str_to_double(num, &t->r) != VG_OK) return lex_error(L, start, "invalid number");
        }
    }
    return VG_OK;
}

static int64_t unit_ticks(vg_str u);

/* The inside of time(...): "2d", "1.5h", "5" (days), "[-][d.]hh:mm[:ss[.fffffff]]". */
static vg_err parse_time_text(vg_str s, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < s.n && s.p[i] == '-') { neg = true; i++; }
    size_t ds = i;
    while (i < s.n && (isdigit((unsigned char)s.p[i]) || s.p[i] == '.')) i++;
    if (i == ds) return VG_EPARSE;
    if (i == s.n || isalpha((unsigned char)s.p[i])) {   /* number [unit] */
        double v;
        if (vg_str_to_double(vg_str_make(s.p + ds, i - ds), &v) != VG_OK) return VG_EPARSE;
        int64_t unit = i == s.n ? VG_TICKS_PER_DAY : unit_ticks(vg_str_make(s.p + i, s.n - i));
        if (!unit || v * (double)unit > 9.2e18) return VG_EPARSE;
        *out = (neg ? -1 : 1) * (int64_t)llround(v * (double)unit);
        return VG_OK;
    }
    /* [d.]hh:mm[:ss[.f]] */
    int64_t parts[3] = { 0, 0, 0 }, days = 0, frac = 0;
    int np = 0;
    i = ds;
    int64_t v = 0;
    size_t nd = 0;
    for (; i <= s.n; i++) {
        char c = i < s.n ? s.p[i] : '\0';
        if (isdigit((unsigned char)c)) {
            if (++nd > 9) return VG_EPARSE;
            v = v * 10 + (c - '0');
            continue;
        }
        if (!nd) return VG_EPARSE;
        if (c == '.' && np == 0) { days = v; }
        else if (c == ':' && np < 2) { parts[np++] = v; }
        else if (c == '.' && np == 2) {
            parts[np++] = v;
            /* fraction of a second: up to 7 digits of ticks */
            size_t fs = ++i;
            int64_t scale = 1000000;
            while (i < s.n && isdigit((unsigned char)s.p[i])) {
                if (scale) { frac += (s.p[i] - '0') * scale; scale /= 10; }
                i++;
            }
            if (i != s.n || i == fs) return VG_EPARSE;
            break;
        }
        else if (c == '\0' && np >= 1) { parts[np++] = v; break; }
        else return VG_EPARSE;
        v = 0;
        nd = 0;
    }
    if (np < 2 || parts[0] > 23 || parts[1] > 59 || parts[2] > 59 || days > 10675199) return VG_EPARSE;
    int64_t t = days * VG_TICKS_PER_DAY + (parts[0] * 3600 + parts[1] * 60 + parts[2]) * VG_TICKS_PER_SEC + frac;
    *out = neg ? -t : t;
    return VG_OK;
}

/* datetime(...), time(...), guid(...): the text inside the parentheses is raw. */
static vg_err lex_raw_literal(lexer *L, vg_kql_tok kind, size_t start, vg_kql_pos p, uint32_t flags)
{
    size_t j = L->i;
    while (j < L->n && (L->s[j] == ' ' || L->s[j] == '\t')) j++;
    j++;   /* the '(' */
    size_t in = j;
    while (j < L->n && L->s[j] != ')' && L->s[j] != '\n' && L->s[j] != '(') j++;
    if (j >= L->n || L->s[j] != ')')
        return lex_error(L, start, kind == VG_KQL_T_GUID ? "expected ')' to close guid(...)"
                                                         : "expected ')' to close the literal");
    L->i = j + 1;
    vg_kql_token *t = push(L, kind, start, p, flags);
    if (!t) return vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
    t->value = vg_str_trim(vg_str_make(L->s + in, j - in));
    if (kind == VG_KQL_T_TIMESPAN && !vg_str_eqc(t->value, "null") &&
        parse_time_text(t->value, &t->i) != VG_OK)
        return lex_error(L, start, "invalid timespan literal (expected e.g. time(1d), time(1.02:03:04))");
    return VG_OK;
}

static bool at_word(const lexer *L, size_t i, const char *w)
{
    size_t k = strlen(w);
    if (i + k > L->n || memcmp(L->s + i, w, k) != 0) return false;
    return i + k == L->n || !is_ident_char(L->s[i + k]);
}

/* Words after which '[' starts a bracketed name, not an index. */
static const char *const name_keywords[] = {
    "where", "filter", "project", "project-away", "project-keep", "project-rename",
    "project-reorder", "extend", "summarize", "by", "on", "distinct", "sort", "order", "top",
    "mv-expand", "mv-apply", "parse", "parse-where", "with", "let", "as", "serialize", "print",
    "make-series", "range", "lookup", "join", "union", "evaluate", "not", "take", "limit",
};

static bool prev_ends_operand(const lexer *L)
{
    if (!L->ntoks) return false;
    const vg_kql_token *p = &L->toks[L->ntoks - 1];
    if (p->kind == VG_KQL_T_IDENT && !(p->flags & VG_KQL_TOKF_BRACKETED))
        for (size_t k = 0; k < sizeof name_keywords / sizeof name_keywords[0]; k++)
            if (vg_str_eqc(p->value, name_keywords[k])) return false;
    switch (p->kind) {
    case VG_KQL_T_IDENT: case VG_KQL_T_STRING: case VG_KQL_T_LONG: case VG_KQL_T_REAL:
    case VG_KQL_T_TIMESPAN: case VG_KQL_T_DATETIME: case VG_KQL_T_GUID:
    case VG_KQL_T_RPAREN: case VG_KQL_T_RBRACK: case VG_KQL_T_RBRACE:
        return true;
    default:
        return false;
    }
}

static vg_err lex_ident(lexer *L, vg_kql_pos p, uint32_t flags)
{
    size_t start = L->i;
    L->i++;
    while (L->i < L->n && is_ident_char(L->s[L->i])) L->i++;
    /* hyphenated operator names */
    if (L->i < L->n && L->s[L->i] == '-') {
        for (size_t k = 0; k < sizeof hyphenated / sizeof hyphenated[0]; k++) {
            size_t len = strlen(hyphenated[k]);
            if (start + len <= L->n && memcmp(L->s + start, hyphenated[k], len) == 0 &&
                (start + len == L->n || !is_ident_char(L->s[start + len]))) {
                L->i = start + len;
                break;
            }
        }
    }
    vg_str w = vg_str_make(L->s + start, L->i - start);
    /* in~ */
    if (vg_str_eqc(w, "in") && L->i < L->n && L->s[L->i] == '~') {
        L->i++;
        return push(L, VG_KQL_T_IN_CI, start, p, flags) ? VG_OK
               : vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
    }
    /* matches regex */
    if (vg_str_eqc(w, "matches")) {
        size_t j = L->i;
        while (j < L->n && (L->s[j] == ' ' || L->s[j] == '\t')) j++;
        if (j > L->i && at_word(L, j, "regex")) {
            L->i = j + 5;
            return push(L, VG_KQL_T_MATCHES_REGEX, start, p, flags) ? VG_OK
                   : vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
        }
    }
    /* literals whose inside is not made of tokens */
    size_t j = L->i;
    while (j < L->n && (L->s[j] == ' ' || L->s[j] == '\t')) j++;
    if (j < L->n && L->s[j] == '(') {
        if (vg_str_eqc(w, "datetime")) return lex_raw_literal(L, VG_KQL_T_DATETIME, start, p, flags);
        if (vg_str_eqc(w, "time") || vg_str_eqc(w, "timespan"))
            return lex_raw_literal(L, VG_KQL_T_TIMESPAN, start, p, flags);
        if (vg_str_eqc(w, "guid")) return lex_raw_literal(L, VG_KQL_T_GUID, start, p, flags);
    }
    vg_kql_tok kind = VG_KQL_T_IDENT;
    for (size_t k = 0; k < sizeof word_ops / sizeof word_ops[0]; k++)
        if (word_ops[k].word[0] != '!' && vg_str_eqc(w, word_ops[k].word)) kind = word_ops[k].tok;
    return push(L, kind, start, p, flags) ? VG_OK
           : vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
}

/* '!' followed by a word operator: !has, !contains_cs, !in~, !between ... */
static bool lex_bang_word(lexer *L, vg_kql_pos p, uint32_t flags, vg_err *err)
{
    size_t start = L->i, j = L->i + 1;
    while (j < L->n && is_ident_char(L->s[j])) j++;
    if (j == start + 1) return false;
    bool tilde = j < L->n && L->s[j] == '~';
    for (size_t k = 0; k < sizeof word_ops / sizeof word_ops[0]; k++) {
        const char *w = word_ops[k].word;
        if (w[0] != '!') continue;
        size_t len = strlen(w);
        size_t want = j - start + (tilde ? 1 : 0);
        if (len == want && memcmp(L->s + start, w, len) == 0) {
            L->i = start + len;
            *err = push(L, word_ops[k].tok, start, p, flags) ? VG_OK
                   : vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
            return true;
        }
    }
    for (size_t k = 0; k < sizeof word_ops / sizeof word_ops[0]; k++) {
        const char *w = word_ops[k].word;
        if (w[0] == '!' && strlen(w) == j - start && memcmp(L->s + start, w, j - start) == 0) {
            L->i = j;
            *err = push(L, word_ops[k].tok, start, p, flags) ? VG_OK
                   : vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
            return true;
        }
    }
    return false;
}

static vg_err lex_one(lexer *L, uint32_t flags)
{
    size_t start = L->i;
    vg_kql_pos p = pos_at(L, start);
    const char *s = L->s;
    char c = s[L->i];
    char c1 = L->i + 1 < L->n ? s[L->i + 1] : '\0';
    vg_err e = VG_OK;
    vg_kql_token *t;

    /* strings */
    if (c == '`' && c1 == '`' && L->i + 2 < L->n && s[L->i + 2] == '`') {
        size_t j = L->i + 3;
        while (j + 2 < L->n && !(s[j] == '`' && s[j + 1] == '`' && s[j + 2] == '`')) j++;
        if (j + 2 >= L->n) return lex_error(L, start, "unterminated ``` string literal");
        size_t in = L->i + 3;
        for (size_t k = in; k < j; k++)
            if (s[k] == '\n') { L->line++; L->line_start = k + 1; }
        L->i = j + 3;
        if (!(t = push(L, VG_KQL_T_STRING, start, p, flags | VG_KQL_TOKF_VERBATIM))) goto oom;
        t->value = vg_str_make(s + in, j - in);
        return VG_OK;
    }
    bool obf = false, verb = false;
    size_t q = L->i;
    if ((c == 'h' || c == 'H') && (c1 == '\'' || c1 == '"')) { obf = true; q++; }
    else if ((c == 'h' || c == 'H') && c1 == '@' && L->i + 2 < L->n &&
             (s[L->i + 2] == '\'' || s[L->i + 2] == '"')) { obf = verb = true; q += 2; }
    else if (c == '@' && (c1 == '\'' || c1 == '"')) { verb = true; q++; }
    if (c == '\'' || c == '"' || q != L->i) {
        L->i = q;
        vg_str v;
        if ((e = lex_quoted(L, verb, &v)) != VG_OK) return e;
        if (!(t = push(L, VG_KQL_T_STRING, start, p,
                       flags | (verb ? VG_KQL_TOKF_VERBATIM : 0) | (obf ? VG_KQL_TOKF_OBFUSCATED : 0))))
            goto oom;
        t->value = v;
        return VG_OK;
    }
    /* bracketed identifier ['name'] where an operand may start */
    if (c == '[' && (c1 == '\'' || c1 == '"' || c1 == '@') && !prev_ends_operand(L)) {
        L->i++;
        bool v2 = false;
        if (s[L->i] == '@') { v2 = true; L->i++; if (L->i >= L->n) return lex_error(L, start, "unterminated identifier"); }
        if (s[L->i] == '\'' || s[L->i] == '"') {
            vg_str v;
            if ((e = lex_quoted(L, v2, &v)) != VG_OK) return e;
            size_t j = L->i;
            while (j < L->n && (s[j] == ' ' || s[j] == '\t')) j++;
            if (j < L->n && s[j] == ']') {
                L->i = j + 1;
                if (!(t = push(L, VG_KQL_T_IDENT, start, p, flags | VG_KQL_TOKF_BRACKETED))) goto oom;
                t->value = v;
                return VG_OK;
            }
        }
        L->i = start;   /* not an identifier after all: a list of strings */
    }
    if (is_ident_start(c)) return lex_ident(L, p, flags);
    if (isdigit((unsigned char)c)) return lex_number(L, p, flags);
    if (c == '!' && is_ident_start(c1) && lex_bang_word(L, p, flags, &e)) return e;

    vg_kql_tok k;
    size_t len = 1;
    switch (c) {
    case '=':
        if (c1 == '=') { k = VG_KQL_T_EQEQ; len = 2; }
        else if (c1 == '~') { k = VG_KQL_T_EQTILDE; len = 2; }
        else if (c1 == '>') { k = VG_KQL_T_ARROW; len = 2; }
        else k = VG_KQL_T_EQ;
        break;
    case '!':
        if (c1 == '=') { k = VG_KQL_T_NEQ; len = 2; }
        else if (c1 == '~') { k = VG_KQL_T_NTILDE; len = 2; }
        else return lex_error(L, start, "unexpected character '!'");
        break;
    case '<':
        if (c1 == '=') { k = VG_KQL_T_LE; len = 2; }
        else if (c1 == '>') { k = VG_KQL_T_LTGT; len = 2; }
        else k = VG_KQL_T_LT;
        break;
    case '>': if (c1 == '=') { k = VG_KQL_T_GE; len = 2; } else k = VG_KQL_T_GT; break;
    case '.': if (c1 == '.') { k = VG_KQL_T_DOTDOT; len = 2; } else k = VG_KQL_T_DOT; break;
    case '+': k = VG_KQL_T_PLUS; break;
    case '-': k = VG_KQL_T_MINUS; break;
    case '*': k = VG_KQL_T_STAR; break;
    case '/': k = VG_KQL_T_SLASH; break;
    case '%': k = VG_KQL_T_PERCENT; break;
    case '|': k = VG_KQL_T_PIPE; break;
    case ';': k = VG_KQL_T_SEMI; break;
    case '(': k = VG_KQL_T_LPAREN; break;
    case ')': k = VG_KQL_T_RPAREN; break;
    case '[': k = VG_KQL_T_LBRACK; break;
    case ']': k = VG_KQL_T_RBRACK; break;
    case '{': k = VG_KQL_T_LBRACE; break;
    case '}': k = VG_KQL_T_RBRACE; break;
    case ',': k = VG_KQL_T_COMMA; break;
    case ':': k = VG_KQL_T_COLON; break;
    case '?': k = VG_KQL_T_QUESTION; break;
    default: {
        char msg[64];
        unsigned char u = (unsigned char)c;
        size_t len8 = u >= 0xf0 ? 4 : u >= 0xe0 ? 3 : u >= 0xc0 ? 2 : 1;
        bool utf8 = u >= 0xc0 && L->i + len8 <= L->n;
        for (size_t k = 1; utf8 && k < len8; k++)
            if (((unsigned char)s[L->i + k] & 0xc0) != 0x80) utf8 = false;
        if (isprint(u)) snprintf(msg, sizeof msg, "unexpected character '%c'", c);
        else if (utf8) snprintf(msg, sizeof msg, "unexpected character '%.*s'", (int)len8, s + L->i);
        else snprintf(msg, sizeof msg, "unexpected byte 0x%02x", u);
        return lex_error(L, start, msg);
    }
    }
    L->i += len;
    if (!push(L, k, start, p, flags)) goto oom;
    return VG_OK;
oom:
    return vg_diag_set(L->d, VG_ENOMEM, "out of memory while reading the query");
}

static vg_err lex_all(lexer *L);

vg_err vg_kql_lex(vg_arena *a, vg_str src, vg_kql_token **toks, size_t *ntoks, vg_diag *d)
{
    if (src.n > VG_KQL_MAX_INPUT)
        return vg_diag_set(d, VG_ELIMIT, "query is %zu bytes long; the limit is %u", src.n,
                           (unsigned)VG_KQL_MAX_INPUT);
    lexer L = { .a = a, .s = src.p ? src.p : "", .n = src.n, .line = 1, .d = d };
    vg_err e = lex_all(&L);
    if (e == VG_OK) {
        *toks = vg_arena_alloc(a, L.ntoks * sizeof **toks);
        if (*toks) {
            memcpy(*toks, L.toks, L.ntoks * sizeof **toks);
            *ntoks = L.ntoks;
        } else {
            e = vg_diag_set(d, VG_ENOMEM, "out of memory while reading the query");
        }
    }
    free(L.toks);
    return e;
}

static vg_err lex_all(lexer *LP)
{
    lexer L = *LP;
    vg_err e = VG_OK;
    vg_diag *d = L.d;
    uint32_t flags = 0;
    while (L.i < L.n) {
        char c = L.s[L.i];
        if (c == '\n') { L.i++; L.line++; L.line_start = L.i; flags = VG_KQL_TOKF_SPACE_BEFORE; continue; }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            L.i++; flags = VG_KQL_TOKF_SPACE_BEFORE; continue;
        }
        if (c == '/' && L.i + 1 < L.n && L.s[L.i + 1] == '/') {
            while (L.i < L.n && L.s[L.i] != '\n') L.i++;
            flags = VG_KQL_TOKF_SPACE_BEFORE;
            continue;
        }
        if (L.ntoks >= VG_KQL_MAX_TOKENS) {
            e = vg_diag_set(d, VG_ELIMIT, "line %u, column %u: too many tokens in the query (limit %u)",
                            L.line, (unsigned)(L.i - L.line_start + 1), (unsigned)VG_KQL_MAX_TOKENS);
            goto out;
        }
        e = lex_one(&L, flags);
        if (e != VG_OK) goto out;
        flags = 0;
    }
    if (!push(&L, VG_KQL_T_EOF, L.i, pos_at(&L, L.i), flags))
        e = vg_diag_set(d, VG_ENOMEM, "out of memory while reading the query");
out:
    *LP = L;   /* hands the token array back, also on errors, so that it is freed */
    return e;
}
