/*
 * test_kql_lexer.c - unit tests of the KQL lexer: token kinds, decoded values
 * and line:column positions, Kusto's lexical quirks, and lexical errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kql/vg_kql.h"

typedef struct lexed {
    vg_arena a;
    vg_kql_token *t;
    size_t n;
    vg_diag d;
    vg_err e;
} lexed;

static void lex(lexed *L, const char *q)
{
    vg_arena_init(&L->a, 0, 0);
    vg_diag_clear(&L->d);
    L->t = NULL;
    L->n = 0;
    L->e = vg_kql_lex(&L->a, vg_str_c(q), &L->t, &L->n, &L->d);
}

static void done(lexed *L) { vg_arena_free(&L->a); }

/* Asserts the kinds of all tokens, EOF included. */
static void kinds(const char *q, const vg_kql_tok *want, size_t nwant)
{
    lexed L;
    lex(&L, q);
    assert_int_equal(L.e, VG_OK);
    if (L.n != nwant) {
        for (size_t i = 0; i < L.n; i++) print_error("tok %zu: %s\n", i, vg_kql_tok_name(L.t[i].kind));
    }
    assert_int_equal(L.n, nwant);
    for (size_t i = 0; i < nwant; i++) {
        if (L.t[i].kind != want[i]) print_error("%s: token %zu is %s, want %s\n", q, i,
                                                vg_kql_tok_name(L.t[i].kind), vg_kql_tok_name(want[i]));
        assert_int_equal(L.t[i].kind, want[i]);
    }
    done(&L);
}

#define KINDS(q, ...) do { \
    const vg_kql_tok w_[] = { __VA_ARGS__, VG_KQL_T_EOF }; \
    kinds(q, w_, sizeof w_ / sizeof w_[0]); } while (0)

static void test_positions(void **state)
{
    lexed L;
    lex(&L, "DeviceProcessEvents\n| where  FileName == 'x' // comment\n\t| take 10");
    assert_int_equal(L.e, VG_OK);
    assert_int_equal(L.n, 10);
    const struct { vg_kql_tok k; unsigned line, col; const char *text; } want[] = {
        { VG_KQL_T_IDENT, 1, 1, "DeviceProcessEvents" }, { VG_KQL_T_PIPE, 2, 1, "|" },
        { VG_KQL_T_IDENT, 2, 3, "where" }, { VG_KQL_T_IDENT, 2, 10, "FileName" },
        { VG_KQL_T_EQEQ, 2, 19, "==" }, { VG_KQL_T_STRING, 2, 22, "'x'" },
        { VG_KQL_T_PIPE, 3, 2, "|" }, { VG_KQL_T_IDENT, 3, 4, "take" },
        { VG_KQL_T_LONG, 3, 9, "10" }, { VG_KQL_T_EOF, 3, 11, "" },
    };
    for (size_t i = 0; i < L.n; i++) {
        assert_int_equal(L.t[i].kind, want[i].k);
        assert_int_equal(L.t[i].pos.line, want[i].line);
        assert_int_equal(L.t[i].pos.col, want[i].col);
        assert_true(vg_str_eqc(L.t[i].text, want[i].text));
    }
    assert_int_equal(L.t[8].i, 10);
    assert_true(L.t[2].flags & VG_KQL_TOKF_SPACE_BEFORE);
    assert_int_equal(L.t[5].pos.offset, 41);
    done(&L);
}

static void test_punctuation(void **state)
{
    KINDS("== != =~ !~ < <= > >= <> + - * / % | . .. = => ; ( ) [ ] { } , : ?",
          VG_KQL_T_EQEQ, VG_KQL_T_NEQ, VG_KQL_T_EQTILDE, VG_KQL_T_NTILDE, VG_KQL_T_LT, VG_KQL_T_LE,
          VG_KQL_T_GT, VG_KQL_T_GE, VG_KQL_T_LTGT, VG_KQL_T_PLUS, VG_KQL_T_MINUS, VG_KQL_T_STAR,
          VG_KQL_T_SLASH, VG_KQL_T_PERCENT, VG_KQL_T_PIPE, VG_KQL_T_DOT, VG_KQL_T_DOTDOT, VG_KQL_T_EQ,
          VG_KQL_T_ARROW, VG_KQL_T_SEMI, VG_KQL_T_LPAREN, VG_KQL_T_RPAREN, VG_KQL_T_LBRACK,
          VG_KQL_T_RBRACK, VG_KQL_T_LBRACE, VG_KQL_T_RBRACE, VG_KQL_T_COMMA, VG_KQL_T_COLON,
          VG_KQL_T_QUESTION);
    /* no spaces needed */
    KINDS("a==b!=c", VG_KQL_T_IDENT, VG_KQL_T_EQEQ, VG_KQL_T_IDENT, VG_KQL_T_NEQ, VG_KQL_T_IDENT);
    KINDS("1..10", VG_KQL_T_LONG, VG_KQL_T_DOTDOT, VG_KQL_T_LONG);
}

static void test_word_operators(void **state)
{
    KINDS("a has b !has c has_cs d !has_cs e", VG_KQL_T_IDENT, VG_KQL_T_HAS, VG_KQL_T_IDENT,
          VG_KQL_T_NHAS, VG_KQL_T_IDENT, VG_KQL_T_HAS_CS, VG_KQL_T_IDENT, VG_KQL_T_NHAS_CS, VG_KQL_T_IDENT);
    KINDS("hasprefix !hasprefix hasprefix_cs !hasprefix_cs hassuffix !hassuffix hassuffix_cs !hassuffix_cs",
          VG_KQL_T_HASPREFIX, VG_KQL_T_NHASPREFIX, VG_KQL_T_HASPREFIX_CS, VG_KQL_T_NHASPREFIX_CS,
          VG_KQL_T_HASSUFFIX, VG_KQL_T_NHASSUFFIX, VG_KQL_T_HASSUFFIX_CS, VG_KQL_T_NHASSUFFIX_CS);
    KINDS("contains !contains contains_cs !contains_cs startswith !startswith startswith_cs !startswith_cs",
          VG_KQL_T_CONTAINS, VG_KQL_T_NCONTAINS, VG_KQL_T_CONTAINS_CS, VG_KQL_T_NCONTAINS_CS,
          VG_KQL_T_STARTSWITH, VG_KQL_T_NSTARTSWITH, VG_KQL_T_STARTSWITH_CS, VG_KQL_T_NSTARTSWITH_CS);
    KINDS("endswith !endswith endswith_cs !endswith_cs", VG_KQL_T_ENDSWITH, VG_KQL_T_NENDSWITH,
          VG_KQL_T_ENDSWITH_CS, VG_KQL_T_NENDSWITH_CS);
    KINDS("x in (1) !in (2) in~ ('a') !in~ ('b')", VG_KQL_T_IDENT, VG_KQL_T_IN, VG_KQL_T_LPAREN,
          VG_KQL_T_LONG, VG_KQL_T_RPAREN, VG_KQL_T_NIN, VG_KQL_T_LPAREN, VG_KQL_T_LONG, VG_KQL_T_RPAREN,
          VG_KQL_T_IN_CI, VG_KQL_T_LPAREN, VG_KQL_T_STRING, VG_KQL_T_RPAREN, VG_KQL_T_NIN_CI,
          VG_KQL_T_LPAREN, VG_KQL_T_STRING, VG_KQL_T_RPAREN);
    KINDS("has_any has_all between !between and or", VG_KQL_T_HAS_ANY, VG_KQL_T_HAS_ALL,
          VG_KQL_T_BETWEEN, VG_KQL_T_NBETWEEN, VG_KQL_T_AND, VG_KQL_T_OR);
    KINDS("x matches  regex 'a'", VG_KQL_T_IDENT, VG_KQL_T_MATCHES_REGEX, VG_KQL_T_STRING);
    /* 'matches' alone and longer words stay identifiers */
    KINDS("matches hasx in_range android", VG_KQL_T_IDENT, VG_KQL_T_IDENT, VG_KQL_T_IDENT, VG_KQL_T_IDENT);
    /* not is a function in Kusto */
    KINDS("not(x)", VG_KQL_T_IDENT, VG_KQL_T_LPAREN, VG_KQL_T_IDENT, VG_KQL_T_RPAREN);
    assert_string_equal(vg_kql_tok_op(VG_KQL_T_NIN_CI), "!in~");
    assert_string_equal(vg_kql_tok_op(VG_KQL_T_MATCHES_REGEX), "matches regex");
    assert_null(vg_kql_tok_op(VG_KQL_T_IDENT));
}

static void test_identifiers(void **state)
{
    lexed L;
    lex(&L, "T | project-away a-b, $left.x | mv-expand y | project ['Col name'], [\"q\"] | extend z = w['k']");
    assert_int_equal(L.e, VG_OK);
    const char *want[] = { "T", "|", "project-away", "a", "-", "b", ",", "$left", ".", "x", "|",
                           "mv-expand", "y", "|", "project", "['Col name']", ",", "[\"q\"]", "|",
                           "extend", "z", "=", "w", "[", "'k'", "]", "" };
    assert_int_equal(L.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < L.n; i++) assert_true(vg_str_eqc(L.t[i].text, want[i]));
    assert_int_equal(L.t[2].kind, VG_KQL_T_IDENT);
    assert_int_equal(L.t[4].kind, VG_KQL_T_MINUS);
    assert_int_equal(L.t[7].kind, VG_KQL_T_IDENT);
    assert_int_equal(L.t[15].kind, VG_KQL_T_IDENT);
    assert_true(L.t[15].flags & VG_KQL_TOKF_BRACKETED);
    assert_true(vg_str_eqc(L.t[15].value, "Col name"));
    assert_true(vg_str_eqc(L.t[17].value, "q"));
    assert_int_equal(L.t[23].kind, VG_KQL_T_LBRACK);   /* w['k'] is an index */
    assert_int_equal(L.t[24].kind, VG_KQL_T_STRING);
    done(&L);
}

static void test_strings(void **state)
{
    lexed L;
    lex(&L, "'a\\'b\\n' \"c\\\"d\\\\\" @'e''f\\' @\"g\"\"h\" h'secret' H@\"s2\" ```x\ny``` 'z'");
    assert_int_equal(L.e, VG_OK);
    assert_int_equal(L.n, 9);
    const char *vals[] = { "a'b\n", "c\"d\\", "e'f\\", "g\"h", "secret", "s2", "x\ny", "z" };
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(L.t[i].kind, VG_KQL_T_STRING);
        assert_true(vg_str_eqc(L.t[i].value, vals[i]));
    }
    assert_true(L.t[2].flags & VG_KQL_TOKF_VERBATIM);
    assert_true(L.t[4].flags & VG_KQL_TOKF_OBFUSCATED);
    assert_true(L.t[5].flags & VG_KQL_TOKF_OBFUSCATED);
    assert_true(L.t[6].flags & VG_KQL_TOKF_VERBATIM);
    /* the multi-line string moves the line count on */
    assert_int_equal(L.t[7].pos.line, 2);
    assert_int_equal(L.t[7].pos.col, 6);
    done(&L);
}

static void test_numbers_and_timespans(void **state)
{
    lexed L;
    lex(&L, "42 1.5 1e3 2.5E-2 0x1F 9223372036854775808 1d 2h 30m 10s 100ms 1.5d 3microseconds 7tick 1.");
    assert_int_equal(L.e, VG_OK);
    assert_int_equal(L.t[0].kind, VG_KQL_T_LONG);
    assert_int_equal(L.t[0].i, 42);
    assert_int_equal(L.t[1].kind, VG_KQL_T_REAL);
    assert_true(L.t[1].r == 1.5);
    assert_int_equal(L.t[2].kind, VG_KQL_T_REAL);
    assert_true(L.t[2].r == 1000.0);
    assert_true(L.t[3].r == 0.025);
    assert_int_equal(L.t[4].kind, VG_KQL_T_LONG);
    assert_int_equal(L.t[4].i, 31);
    assert_int_equal(L.t[5].kind, VG_KQL_T_REAL);   /* too big for long */
    const int64_t ticks[] = { 864000000000LL, 72000000000LL, 18000000000LL, 100000000LL, 1000000LL,
                              1296000000000LL, 30LL, 7LL };
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(L.t[6 + i].kind, VG_KQL_T_TIMESPAN);
        assert_int_equal(L.t[6 + i].i, ticks[i]);
    }
    assert_int_equal(L.t[14].kind, VG_KQL_T_REAL);
    done(&L);
}

static void test_raw_literals(void **state)
{
    lexed L;
    lex(&L, "datetime(2024-01-02 03:04:05.123Z) time(1.02:03:04) time(02:30) timespan(2d) time(null) "
            "guid(74be27de-1e4e-49d9-b579-fe0b331d3642) datetime_diff('day', a, b) dynamic([1])");
    assert_int_equal(L.e, VG_OK);
    assert_int_equal(L.t[0].kind, VG_KQL_T_DATETIME);
    assert_true(vg_str_eqc(L.t[0].value, "2024-01-02 03:04:05.123Z"));
    assert_int_equal(L.t[1].kind, VG_KQL_T_TIMESPAN);
    assert_int_equal(L.t[1].i, 864000000000LL + (2 * 3600 + 3 * 60 + 4) * 10000000LL);
    assert_int_equal(L.t[2].i, (2 * 3600 + 30 * 60) * 10000000LL);
    assert_int_equal(L.t[3].i, 2 * 864000000000LL);
    assert_true(vg_str_eqc(L.t[4].value, "null"));
    assert_int_equal(L.t[5].kind, VG_KQL_T_GUID);
    assert_true(vg_str_eqc(L.t[5].value, "74be27de-1e4e-49d9-b579-fe0b331d3642"));
    assert_int_equal(L.t[6].kind, VG_KQL_T_IDENT);   /* datetime_diff is a function */
    assert_true(vg_str_eqc(L.t[6].text, "datetime_diff"));
    assert_int_equal(L.t[7].kind, VG_KQL_T_LPAREN);
    done(&L);
}

static void lex_error(const char *q, vg_err e, const char *msg)
{
    lexed L;
    lex(&L, q);
    if (L.e != e || strcmp(L.d.msg, msg) != 0) print_error("%s: got %s '%s'\n", q, vg_errname(L.e), L.d.msg);
    assert_int_equal(L.e, e);
    assert_string_equal(L.d.msg, msg);
    done(&L);
}

static void test_errors(void **state)
{
    lex_error("T\n| where x == 'abc", VG_EPARSE, "line 2, column 14: unterminated string literal");
    lex_error("'a\nb'", VG_EPARSE, "line 1, column 1: unterminated string literal");
    lex_error("x == '\\q'", VG_EPARSE, "line 1, column 7: unknown escape sequence in string literal");
    lex_error("T | where x # 1", VG_EPARSE, "line 1, column 13: unexpected character '#'");
    lex_error("a\n  \xc2\xa7", VG_EPARSE, "line 2, column 3: unexpected character '\xc2\xa7'");
    lex_error("ago(1x)", VG_EPARSE,
              "line 1, column 5: invalid number: unknown timespan unit or letters after digits");
    lex_error("time(abc)", VG_EPARSE,
              "line 1, column 1: invalid timespan literal (expected e.g. time(1d), time(1.02:03:04))");
    lex_error("datetime(2024-01-01", VG_EPARSE, "line 1, column 1: expected ')' to close the literal");
    lex_error("```abc", VG_EPARSE, "line 1, column 1: unterminated ``` string literal");
    lex_error("x != !y", VG_EPARSE, "line 1, column 6: unexpected character '!'");
}

static void test_limits(void **state)
{
    size_t n = (size_t)VG_KQL_MAX_INPUT + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[n] = '\0';
    lexed L;
    lex(&L, big);
    assert_int_equal(L.e, VG_ELIMIT);
    assert_non_null(strstr(L.d.msg, "limit"));
    done(&L);
    /* within the limit: whitespace only gives EOF */
    big[VG_KQL_MAX_INPUT] = '\0';
    lex(&L, big);
    assert_int_equal(L.e, VG_OK);
    assert_int_equal(L.n, 1);
    done(&L);
    free(big);
    /* an arena cap makes the lexer fail cleanly */
    vg_arena a;
    vg_arena_init(&a, 4096, 4096);
    vg_kql_token *t;
    size_t nt;
    vg_diag d;
    char q[20000];
    for (size_t i = 0; i + 2 < sizeof q; i += 2) { q[i] = 'a'; q[i + 1] = ' '; }
    q[sizeof q - 2] = '\0';
    assert_int_equal(vg_kql_lex(&a, vg_str_c(q), &t, &nt, &d), VG_ENOMEM);
    vg_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_punctuation),
        cmocka_unit_test(test_word_operators),
        cmocka_unit_test(test_identifiers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers_and_timespans),
        cmocka_unit_test(test_raw_literals),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
