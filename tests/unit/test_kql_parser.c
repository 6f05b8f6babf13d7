/*
 * test_kql_parser.c - unit tests of the KQL parser: operator precedence, each
 * tabular operator, statements, node positions, error messages with their
 * line:column, refused constructs and the nesting, size and memory limits.
 * Trees are compared through vg_kql_ast_dump's S-expressions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kql/vg_kql.h"

/* Parses q and compares the dump with want ("error: <msg>" for errors). */
static void check(const char *q, const char *want)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_diag d;
    vg_diag_clear(&d);
    const vg_kql_node *n;
    vg_err e = vg_kql_parse(&a, vg_str_c(q), &n, &d);
    vg_buf b;
    vg_buf_init(&b, 0);
    if (e == VG_OK) vg_kql_ast_dump(&b, n, 0);
    else vg_buf_printf(&b, "error: %s", d.msg);
    const char *got = vg_buf_cstr(&b);
    if (strcmp(got, want) != 0) print_error("query: %s\n want: %s\n  got: %s\n", q, want, got);
    assert_string_equal(got, want);
    vg_buf_free(&b);
    vg_arena_free(&a);
}

/* Checks a scalar expression through `print e`. */
static void expr(const char *e, const char *want)
{
    char q[1024], w[2048];
    snprintf(q, sizeof q, "print %s", e);
    snprintf(w, sizeof w, "(query (print %s))", want);
    check(q, w);
}

static void test_precedence(void **state)
{
    expr("1 + 2 * 3", "(+ 1 (* 2 3))");
    expr("1 * 2 + 3", "(+ (* 1 2) 3)");
    expr("1 - 2 - 3", "(- (- 1 2) 3)");
    expr("8 / 4 % 3 * 2", "(* (% (/ 8 4) 3) 2)");
    expr("-x * 2", "(* (- x) 2)");
    expr("-2 * 3", "(* -2 3)");
    expr("-(-x)", "(- (- x))");
    expr("a or b and c", "(or a (and b c))");
    expr("a and b or c and d", "(or (and a b) (and c d))");
    expr("a == 1 or b < 2 and c has 'x'", "(or (== a 1) (and (< b 2) (has c \"x\")))");
    expr("a + 1 > b * 2", "(> (+ a 1) (* b 2))");
    expr("a + 1 in (1, 2)", "(in (+ a 1) 1 2)");
    expr("x between (1 + 1 .. 10) and y", "(and (between x (+ 1 1) 10) y)");
    expr("x !between (1 .. 2)", "(!between x 1 2)");
    expr("x.y.z[0]['k'] + 1", "(+ ([] ([] (. (. x y) z) 0) \"k\") 1)");
    expr("f(x).y", "(. (call f x) y)");
    expr("(a or b) and c", "(and (or a b) c)");
    expr("not(a or b)", "(call not (or a b))");
    expr("a matches regex 'x+' and b !~ 'c'", "(and (matches regex a \"x+\") (!~ b \"c\"))");
    /* the three comparison levels of Kusto: string < relational < equality/in/between */
    expr("a has b == c has d", "(== (has a b) (has c d))");
    expr("a has b < c has d", "(< (has a b) (has c d))");
    expr("a < b == c < d", "(== (< a b) (< c d))");
    expr("a < b in (1)", "(in (< a b) 1)");
    expr("a has b has_any ('x')", "(has_any (has a b) \"x\")");
    expr("a < b between (1 .. 2)", "(between (< a b) 1 2)");
    expr("a + b has c * d", "(has (+ a b) (* c d))");
}

static void test_literals(void **state)
{
    expr("true, false, 1, 1.5, 'a', 2h, -1d", "true false 1 (real 1.5) \"a\" (timespan \"2h\" 72000000000) "
         "(timespan \"1d\" -864000000000)");
    expr("datetime(2024-01-01), guid(00000000-0000-0000-0000-000000000001)",
         "(datetime \"2024-01-01\") (guid \"00000000-0000-0000-0000-000000000001\")");
    expr("long(null), int(5), real(2), bool(true), datetime(null), dynamic(null)",
         "(null long) (int 5) (call real 2) true (null datetime) (null dynamic)");
    expr("dynamic([1, -2, 'x', {\"a\": [true, null]}, 1.5])",
         "(dynamic (array 1 -2 \"x\" (bag (pair \"a\" (array true (null dynamic)))) (real 1.5)))");
    expr("dynamic({})", "(dynamic (bag))");
    expr("'a' \"b\" @'c'", "\"abc\"");
}

static void test_calls(void **state)
{
    expr("count()", "(call count)");
    expr("arg_max(Timestamp, *)", "(call arg_max Timestamp *)");
    expr("iff(a > 1, 'x', 'y')", "(call iff (> a 1) \"x\" \"y\")");
    expr("case(a, 1, b, 2, 3)", "(call case a 1 b 2 3)");
    expr("bag_pack('k', v)", "(call bag_pack \"k\" v)");
    expr("f(x = 1, y)", "(call f (arg x 1) y)");
    expr("toscalar(T | count)", "(call toscalar (pipe (table T) (count)))");
    expr("x in (T | project y)", "(in x (pipe (table T) (project y)))");
    expr("x !in~ ('A', 'b')", "(!in~ x \"A\" \"b\")");
    expr("x has_any (list)", "(has_any x list)");
    expr("x in (datatable(a:long)[1, 2])",
         "(in x (datatable (list (param a:long)) (list 1 2)))");
}

static void test_operators(void **state)
{
    check("T | where a == 1 | filter b", "(query (pipe (table T) (where (== a 1)) (where b)))");
    check("T | project a, b = c + 1, ['x y']",
          "(query (pipe (table T) (project a (= b (+ c 1)) [\"x y\"])))");
    check("T | project-away a, b*, ['c'] | project-keep *Id",
          "(query (pipe (table T) (project-away a b* c) (project-keep *Id)))");
    check("T | project-rename A = a, B = b", "(query (pipe (table T) (project-rename (= A a) (= B b))))");
    check("T | project-reorder b, a desc, c* asc",
          "(query (pipe (table T) (project-reorder b (key a desc) (key c* asc))))");
    check("T | extend x = 1, y", "(query (pipe (table T) (extend (= x 1) y)))");
    check("T | summarize count(), n = dcount(a) by b, bin(Timestamp, 1h)",
          "(query (pipe (table T) (summarize () (list (call count) (= n (call dcount a))) "
          "(list b (call bin Timestamp (timespan \"1h\" 36000000000))))))");
    check("T | summarize by a", "(query (pipe (table T) (summarize () () (list a))))");
    check("T | summarize hint.strategy = shuffle max(a)",
          "(query (pipe (table T) (summarize (list (opt hint.strategy shuffle)) (list (call max a)) ())))");
    check("T | count", "(query (pipe (table T) (count)))");
    check("T | count as N", "(query (pipe (table T) (count N)))");
    check("T | where a in~ (dynamic(['x', 'y']), dynamic(['z']))",
          "(query (pipe (table T) (where (in~ a (dynamic (array \"x\" \"y\")) (dynamic (array \"z\"))))))");
    check("T | take 5 | limit 2", "(query (pipe (table T) (take 5) (take 2)))");
    check("T | top 3 by a desc nulls last", "(query (pipe (table T) (top 3 (key a desc nulls-last))))");
    check("T | sort by a asc nulls first, b | order by c desc",
          "(query (pipe (table T) (sort (key a asc nulls-first) (key b)) (sort (key c desc))))");
    check("T | distinct *", "(query (pipe (table T) (distinct *)))");
    check("T | distinct a, b", "(query (pipe (table T) (distinct a b)))");
    check("T | join kind=leftouter (U | where x) on a, $left.b == $right.c",
          "(query (pipe (table T) (join (list (opt kind leftouter)) (pipe (table U) (where x)) "
          "(list a (== (. $left b) (. $right c))))))");
    check("T | join U on a", "(query (pipe (table T) (join () (table U) (list a))))");
    check("T | lookup kind=inner U on a", "(query (pipe (table T) (lookup (list (opt kind inner)) (table U) (list a))))");
    check("T | union withsource=S kind=inner isfuzzy=true U, (V | take 1), W*",
          "(query (pipe (table T) (union-op (list (opt withsource S) (opt kind inner) (opt isfuzzy true)) "
          "(table U) (pipe (table V) (take 1)) (table W*))))");
    check("T | mv-expand bagexpansion=array with_itemindex=i a, b to typeof(long) limit 5",
          "(query (pipe (table T) (mv-expand (list (opt bagexpansion array) (opt with_itemindex i) (opt limit 5)) "
          "a (to b long))))");
    check("T | mv-apply v = arr to typeof(long) on (where v > 1 | summarize s = sum(v))",
          "(query (pipe (table T) (mv-apply () (list (to (= v arr) long)) "
          "(list (where (> v 1)) (summarize () (list (= s (call sum v))) ())))))");
    check("T | parse c with * 'x=' x:long ',' rest",
          "(query (pipe (table T) (parse () c (list * \"x=\" (param x:long) \",\" (param rest)))))");
    check("T | parse kind=regex c with @'(\\d+)' n:int",
          "(query (pipe (table T) (parse (list (opt kind regex)) c (list \"(\\\\d+)\" (param n:int)))))");
    check("T | parse-where c with 'a' b", "(query (pipe (table T) (parse-where () c (list \"a\" (param b)))))");
    check("T | make-series n = count() default = 0 on t in range(ago(1d), now(), 1h) by k",
          "(query (pipe (table T) (make-series () (list (default (= n (call count)) 0)) t "
          "(list (call range (call ago (timespan \"1d\" 864000000000)) (call now) (timespan \"1h\" 36000000000))) "
          "(list k))))");
    check("T | make-series avg(x) on t step 1d",
          "(query (pipe (table T) (make-series () (list (call avg x)) t "
          "(list (opt step (timespan \"1d\" 864000000000))) ())))");
    check("T | evaluate bag_unpack(d) | evaluate pivot(k, sum(v))",
          "(query (pipe (table T) (evaluate () (call bag_unpack d)) (evaluate () (call pivot k (call sum v)))))");
    check("T | as hint.materialized=true X | serialize | serialize rn = row_number()",
          "(query (pipe (table T) (as X (list (opt hint.materialized true))) (serialize) "
          "(serialize (= rn (call row_number)))))");
    check("T | getschema", "(query (pipe (table T) (getschema)))");
    check("T | render barchart", "(query (pipe (table T) (render barchart ())))");
    check("T | render timechart with (title='t', ycolumns=a, b, kind=stacked)",
          "(query (pipe (table T) (render timechart (list (opt title \"t\") (opt ycolumns (list a b)) "
          "(opt kind stacked)))))");
    check("T | invoke f(1)", "(query (pipe (table T) (invoke (call f 1))))");
    check("T | sample 10 | sample-distinct 5 of a",
          "(query (pipe (table T) (sample 10) (sample-distinct 5 a)))");
}

static void test_sources_and_statements(void **state)
{
    check("T", "(query (table T))");
    check("union Device*Events | take 1", "(query (pipe (union () (table Device*Events)) (take 1)))");
    check("T | project | summarize | project-away", "(query (pipe (table T) (project) (summarize () () ()) (project-away)))");
    check("union T, U*", "(query (union () (table T) (table U*)))");
    check("union kind=outer (T | take 1), U | count",
          "(query (pipe (union (list (opt kind outer)) (pipe (table T) (take 1)) (table U)) (count)))");
    check("print 1, x = 'a'", "(query (print 1 (= x \"a\")))");
    check("range x from 1 to 10 step 2 | where x > 3",
          "(query (pipe (range x 1 10 2) (where (> x 3))))");
    check("datatable(a:string, b:long)['x', 1, 'y', 2] | take 1",
          "(query (pipe (datatable (list (param a:string) (param b:long)) (list \"x\" 1 \"y\" 2)) (take 1)))");
    check("let x = 5; let T2 = T | where a > x; T2 | count",
          "(query (let x 5) (let T2 (pipe (table T) (where (> a x)))) (pipe (table T2) (count)))");
    check("let f = (a:string, b:long = 5) { T | where c == a | take b }; f('x')",
          "(query (let-fn f (list (param a:string) (param b:long 5)) "
          "(query (pipe (table T) (where (== c a)) (take b)))) (call f \"x\"))");
    check("let g = () { 42 }; let h = (t:(*)) { t | count }; print g()",
          "(query (let-fn g () (query 42)) (let-fn h (list (param t:(*))) (query (pipe (table t) (count)))) "
          "(print (call g)))");
    check("let m = materialize(T | take 1); m", "(query (let m (call materialize (pipe (table T) (take 1)))) (table m))");
    check("set notruncation; set query_now = datetime(2024-01-01); T",
          "(query (set notruncation) (set query_now (datetime \"2024-01-01\")) (table T))");
    check("T ;", "(query (table T))");
    check("let x = 1;", "(query (let x 1))");
    check("(T | take 1) | count", "(query (pipe (pipe (table T) (take 1)) (count)))");
    check("T\n| where x\n// trailing comment\n", "(query (pipe (table T) (where x)))");
}

static void test_positions(void **state)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    const vg_kql_node *q;
    vg_diag d;
    assert_int_equal(vg_kql_parse(&a, vg_str_c("let x = 1;\nT\n| where  a + b > x\n| project c"), &q, &d), VG_OK);
    assert_int_equal(q->kind, VG_KQL_QUERY);
    assert_int_equal(q->n, 2);
    const vg_kql_node *let = q->kids[0];
    assert_int_equal(let->kind, VG_KQL_LET);
    assert_true(vg_str_eqc(let->name, "x"));
    assert_int_equal(let->kids[0]->kind, VG_KQL_LONG);
    assert_int_equal(let->kids[0]->pos.col, 9);
    const vg_kql_node *p = q->kids[1];
    assert_int_equal(p->kind, VG_KQL_PIPELINE);
    assert_int_equal(p->n, 3);
    assert_int_equal(p->pos.line, 2);
    assert_int_equal(p->kids[0]->kind, VG_KQL_TABLE);
    const vg_kql_node *w = p->kids[1];
    assert_int_equal(w->kind, VG_KQL_WHERE);
    assert_int_equal(w->pos.line, 3);
    assert_int_equal(w->pos.col, 3);
    const vg_kql_node *gt = w->kids[0];
    assert_int_equal(gt->kind, VG_KQL_BINARY);
    assert_int_equal(gt->op, VG_KQL_T_GT);
    assert_int_equal(gt->pos.col, 10);   /* a binary node starts at its left operand */
    assert_int_equal(gt->kids[1]->pos.col, 18);
    assert_int_equal(gt->kids[0]->op, VG_KQL_T_PLUS);
    assert_int_equal(gt->kids[0]->kids[1]->pos.col, 14);
    const vg_kql_node *pr = p->kids[2];
    assert_int_equal(pr->kind, VG_KQL_PROJECT);
    assert_int_equal(pr->pos.line, 4);
    assert_int_equal(pr->kids[0]->pos.col, 11);
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_kql_ast_dump(&b, p->kids[1], VG_KQL_DUMP_POS);
    assert_string_equal(vg_buf_cstr(&b), "(where@3:3 (>@3:10 (+@3:10 a@3:10 b@3:14) x@3:18))");
    vg_buf_free(&b);
    vg_arena_free(&a);
}

static void test_errors(void **state)
{
    check("T | projectx a",
          "error: line 1, column 5: unknown operator 'projectx' (expected a tabular operator such as where, "
          "project, summarize)");
    check("T\n| where (a == 1\n| take 1", "error: line 3, column 9: expected ')', found end of input");
    check("T\n| where (a == 1\n| take 1\n| extend b = 2", "error: line 4, column 15: expected ')', found end of input");
    check("T | where", "error: line 1, column 10: expected an expression, found end of input");
    check("T | where a ==", "error: line 1, column 15: expected an expression, found end of input");
    check("T | where a == | take 1", "error: line 1, column 16: expected an expression, found '|'");
    check("T |", "error: line 1, column 4: expected a tabular operator after '|', found end of input");
    check("T | top 10 a", "error: line 1, column 12: expected 'by', found 'a'");
    check("T | join (U) a", "error: line 1, column 14: expected 'on', found 'a'");
    check("T | where a in 'x'", "error: line 1, column 16: expected '(' after the operator, found 'x'");
    check("T | where a between (1, 2)", "error: line 1, column 23: expected '..', found ','");
    check("T | project a,, b", "error: line 1, column 15: expected an expression, found ','");
    check("T | sort by a nulls middle", "error: line 1, column 21: expected 'first' or 'last' after 'nulls', found 'middle'");
    check("T | where f(a", "error: line 1, column 14: expected ',' or ')', found end of input");
    check("T | where a b", "error: line 1, column 13: expected '|', ';' or the end of the query, found 'b'");
    check("let x = ;T", "error: line 1, column 9: expected an expression, found ';'");
    check("let x = 1;;T", "error: line 1, column 11: expected an expression, found ';'");
    check(";T", "error: line 1, column 1: expected an expression, found ';'");
    check("print - -1", "error: line 1, column 9: expected an expression, found '-'");
    check("print .5", "error: line 1, column 8: expected a name after '.', found '5'");
    check("Device*", "error: line 1, column 8: expected an expression, found end of input");
    check("T | join (U*) on a", "error: line 1, column 13: expected an expression, found ')'");
    check("T | lookup U* on a",
          "error: line 1, column 12: expected a table name, found 'U*' (wildcards are allowed only in union)");
    check("print 1 == 1 == 1", "error: line 1, column 14: expected '|', ';' or the end of the query, found '=='");
    check("print a has b has c", "error: line 1, column 15: expected '|', ';' or the end of the query, found 'has'");
    check("print a < b < c", "error: line 1, column 13: expected '|', ';' or the end of the query, found '<'");
    check("print a == b in (1)", "error: line 1, column 14: expected '|', ';' or the end of the query, found 'in'");
    check("print a in (1) has b", "error: line 1, column 16: expected '|', ';' or the end of the query, found 'has'");
    check("T | where a in ()", "error: line 1, column 17: expected an expression, found ')'");
    check("let f = (a:string) { T ; f('x')",
          "error: line 1, column 32: expected '|', ';' or '}', found end of input");
    check("let f = (a) { 1 }; f(1)", "error: line 1, column 11: expected ':' and a type, found ')'");
    check("print dynamic({a: 1})", "error: line 1, column 16: expected a property name in quotes, found 'a'");
    check("print dynamic([1,])", "error: line 1, column 18: expected a dynamic value (number, string, bool, null, "
          "[array] or {bag}), found ']'");
    check("print x.", "error: line 1, column 9: expected a name after '.', found end of input");
    check("T | mv-expand a to long", "error: line 1, column 20: expected 'typeof', found 'long'");
    check("T | make-series count() on t", "error: line 1, column 29: expected 'step', found end of input");
    check("T | evaluate 1", "error: line 1, column 14: expected a plugin call such as bag_unpack(Column), found '1'");
    check("datatable(a:string)[", "error: line 1, column 21: expected an expression, found end of input");
    check("T | where x == 'a", "error: line 1, column 16: unterminated string literal");
    check("", "error: line 1, column 1: expected an expression, found end of input");
    check("T | where\n\n   )", "error: line 3, column 4: expected an expression, found ')'");
}

static void check_err(const char *q, vg_err want, const char *msg)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_diag d;
    vg_diag_clear(&d);
    const vg_kql_node *n;
    vg_err e = vg_kql_parse(&a, vg_str_c(q), &n, &d);
    if (e != want || strcmp(d.msg, msg) != 0) print_error("%s: got %s %s\n", q, vg_errname(e), d.msg);
    assert_int_equal(e, want);
    assert_string_equal(d.msg, msg);
    if (want == VG_EUNSUPPORTED && strstr(q, "externaldata")) assert_non_null(n);   /* still a full tree */
    vg_arena_free(&a);
}

static void test_refused(void **state)
{
    check_err("externaldata (a:string) ['https://x/y.csv'] | take 1", VG_EUNSUPPORTED,
              "line 1, column 1: externaldata is not supported: Vigil queries only its own event store");
    check_err("let I = externaldata (a:string) [@'https://x'] with (format='csv');\nT | where x in (I)",
              VG_EUNSUPPORTED,
              "line 1, column 9: externaldata is not supported: Vigil queries only its own event store");
    check_err("T | top-nested 3 of a by count()", VG_EUNSUPPORTED,
              "line 1, column 5: operator 'top-nested' is not supported by Vigil");
    check_err("cluster('c').database('d').T | take 1", VG_EUNSUPPORTED,
              "line 1, column 14: cluster() and database() references are not supported by Vigil "
              "(it has one database: the Advanced Hunting tables)");
    check_err("T | search 'x'", VG_EUNSUPPORTED, "line 1, column 5: operator 'search' is not supported by Vigil");
    check_err("declare query_parameters(x:long);\nT", VG_EUNSUPPORTED,
              "line 1, column 1: 'declare' statements are not supported by Vigil");
}

static char *repeat(const char *pre, const char *unit, size_t n, const char *mid, const char *unit2,
                    const char *post)
{
    size_t len = strlen(pre) + n * (strlen(unit) + strlen(unit2)) + strlen(mid) + strlen(post) + 1;
    char *s = malloc(len), *p = s;
    assert_non_null(s);
    memcpy(p, pre, strlen(pre)); p += strlen(pre);
    for (size_t i = 0; i < n; i++) { memcpy(p, unit, strlen(unit)); p += strlen(unit); }
    memcpy(p, mid, strlen(mid)); p += strlen(mid);
    for (size_t i = 0; i < n; i++) { memcpy(p, unit2, strlen(unit2)); p += strlen(unit2); }
    memcpy(p, post, strlen(post)); p += strlen(post);
    *p = '\0';
    return s;
}

static void deep(const char *pre, const char *unit, size_t n, const char *mid, const char *unit2,
                 const char *post, vg_err want)
{
    char *q = repeat(pre, unit, n, mid, unit2, post);
    vg_arena a;
    vg_arena_init(&a, 0, 64u << 20);
    vg_diag d;
    vg_diag_clear(&d);
    const vg_kql_node *out;
    vg_err e = vg_kql_parse(&a, vg_str_c(q), &out, &d);
    if (e != want) print_error("depth %zu of '%s': %s %s\n", n, unit, vg_errname(e), d.msg);
    assert_int_equal(e, want);
    if (want == VG_ELIMIT) assert_non_null(strstr(d.msg, "nested too deeply"));
    if (want == VG_OK) {
        assert_true(out->height <= VG_KQL_MAX_HEIGHT);
        vg_buf b;
        vg_buf_init(&b, 0);
        vg_kql_ast_dump(&b, out, 0);
        assert_false(b.failed);
        vg_buf_free(&b);
    }
    vg_arena_free(&a);
    free(q);
}

static void test_depth_limit(void **state)
{
    /* 10,000 nested parentheses fail cleanly, with a position */
    deep("print ", "(", 10000, "1", ")", "", VG_ELIMIT);
    char *q = repeat("print ", "(", 10000, "1", ")", "");
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_diag d;
    const vg_kql_node *out;
    assert_int_equal(vg_kql_parse(&a, vg_str_c(q), &out, &d), VG_ELIMIT);
    assert_string_equal(d.msg, "line 1, column 106: query is nested too deeply (limit 100 levels)");
    vg_arena_free(&a);
    free(q);
    /* other ways to nest */
    deep("print ", "-(", 10000, "1", ")", "", VG_ELIMIT);
    deep("print dynamic(", "[", 10000, "1", "]", ")", VG_ELIMIT);
    deep("print ", "f(", 10000, "1", ")", "", VG_ELIMIT);
    deep("", "(", 10000, "T", " | take 1)", "", VG_ELIMIT);
    deep("T", "| join (U", 10000, "", ") on a", "", VG_ELIMIT);
    deep("", "let f = () {", 10000, "1", "};1", "", VG_ELIMIT);
    /* moderate nesting is fine; chains are parsed by loops, yet make tall trees, bounded too */
    deep("print ", "(", 40, "1", ")", "", VG_OK);
    deep("print 1", " + 1", 900, "", "", "", VG_OK);
    deep("print 1", " or a", 900, "", "", "", VG_OK);
    deep("print 1", " + 1", 20000, "", "", "", VG_ELIMIT);
    deep("print 1", " and a", 20000, "", "", "", VG_ELIMIT);
    /* pipelines and lists are flat */
    deep("T", " | take 1", 20000, "", "", "", VG_OK);
    deep("print 1", ", 1", 20000, "", "", "", VG_OK);
}

static void test_memory_cap(void **state)
{
    /* a capped arena turns into VG_ENOMEM, never a crash */
    char *q = repeat("T | project ", "a, ", 5000, "b", "", "");
    for (size_t cap = 1024; cap <= (1u << 20); cap *= 4) {
        vg_arena a;
        vg_arena_init(&a, 1024, cap);
        vg_diag d;
        const vg_kql_node *out;
        vg_err e = vg_kql_parse(&a, vg_str_c(q), &out, &d);
        assert_true(e == VG_ENOMEM || e == VG_OK);
        if (e == VG_ENOMEM) assert_non_null(strstr(d.msg, "out of memory"));
        vg_arena_free(&a);
    }
    free(q);
    /* many strings, and many adjacent ones, cost memory in proportion to the query */
    const char *units[] = { "'abcdef', ", "'abcdef' " };
    for (int k = 0; k < 2; k++) {
        q = repeat("print ", units[k], 20000, "'z'", "", "");
        vg_arena a;
        vg_arena_init(&a, 0, 8u << 20);
        vg_diag d;
        const vg_kql_node *out;
        vg_err e = vg_kql_parse(&a, vg_str_c(q), &out, &d);
        if (e != VG_OK) print_error("%s\n", d.msg);
        assert_int_equal(e, VG_OK);
        assert_int_equal(out->kids[0]->n, k == 0 ? 20001 : 1);
        if (k == 1) assert_int_equal(out->kids[0]->kids[0]->name.n, 20000 * 6 + 1);
        vg_arena_free(&a);
        free(q);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_calls),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_sources_and_statements),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_memory_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
