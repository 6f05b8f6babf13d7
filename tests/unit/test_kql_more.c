/*
 * test_kql_more.c - end-to-end tests of the reshaping operators planned in
 * kql_plan_more.c (mv-expand, mv-apply, parse, parse-where, make-series,
 * evaluate bag_unpack/pivot): each case is a query over datatable/range
 * (no store) and the exact NDJSON rows it must give, or the error text it
 * must fail with. The expectations follow Kusto's documented behaviour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kql/vg_kql.h"

typedef struct kcase {
    const char *q;
    const char *want;     /* NDJSON rows, or "!text" for an error containing text */
} kcase;

#define DT_ARR "datatable(a:dynamic, b:long)[dynamic([1,2,3]), 1, dynamic([]), 2, dynamic(null), 3, " \
               "dynamic({\"x\":1,\"y\":\"z\"}), 4]"
#define DT_TS "datatable(Ts:datetime, Dev:string, v:long)[datetime(2024-01-01 00:10), \"a\", 5, " \
              "datetime(2024-01-01 00:20), \"a\", 7, datetime(2024-01-01 02:30), \"a\", 1, " \
              "datetime(2024-01-01 01:05), \"b\", 3]"
#define DT_PV "datatable(State:string, EventType:string, D:long)[\"AL\",\"Wind\",1,\"AK\",\"Wind\",2," \
              "\"AL\",\"Hail\",3,\"AL\",\"Wind\",4]"

static const kcase cases[] = {
    /* mv-expand: empty arrays drop the row, null gives one null row, bags one-pair bags */
    { DT_ARR " | mv-expand with_itemindex=I a",
      "{\"a\":1,\"b\":1,\"I\":0}\n{\"a\":2,\"b\":1,\"I\":1}\n{\"a\":3,\"b\":1,\"I\":2}\n"
      "{\"a\":null,\"b\":3,\"I\":0}\n{\"a\":{\"x\":1},\"b\":4,\"I\":0}\n{\"a\":{\"y\":\"z\"},\"b\":4,\"I\":1}\n" },
    /* kind=array, parallel expansion padded with null, to typeof, limit */
    { "datatable(a:dynamic, c:dynamic)[dynamic({\"x\":1,\"y\":\"z\"}), dynamic([\"p\"])] "
      "| mv-expand kind=array a, c to typeof(string), e=pack_array(1,2,3) to typeof(long) limit 2",
      "{\"a\":[\"x\",1],\"c\":\"p\",\"e\":1}\n{\"a\":[\"y\",\"z\"],\"c\":\"\",\"e\":2}\n" },
    { "print a=dynamic([\"1\", 2]) | mv-expand a to typeof(long)", "{\"a\":null}\n{\"a\":2}\n" },
    { "range i from 1 to 5000 step 1 | extend a = pack_array(i, i, i) | mv-expand a | count", "{\"Count\":15000}\n" },
    /* mv-apply: the sub-query runs on each row's items */
    { "datatable(id:long, a:dynamic)[1, dynamic([5,1,3]), 3, dynamic([7])] "
      "| mv-apply a to typeof(long) on (summarize s=sum(a), n=count())",
      "{\"id\":1,\"s\":9,\"n\":3}\n{\"id\":3,\"s\":7,\"n\":1}\n" },
    { "datatable(id:long, a:dynamic)[1, dynamic([5,1,3]), 2, dynamic([2,9])] "
      "| mv-apply with_itemindex=i x=a to typeof(long) on (top 1 by x)",
      "{\"id\":1,\"a\":[5,1,3],\"x\":5,\"i\":0}\n{\"id\":2,\"a\":[2,9],\"x\":9,\"i\":1}\n" },
    /* parse: simple, typed, last column takes the rest */
    { "print s=\"id=12 user=bob rest of it\" | parse s with \"id=\" id:long \" user=\" user \" \" rest",
      "{\"s\":\"id=12 user=bob rest of it\",\"id\":12,\"user\":\"bob\",\"rest\":\"rest of it\"}\n" },
    { "datatable(s:string)[\"a=1,b=x\",\"junk\",\"a=zz,b=y\"] | parse s with \"a=\" a:long \",b=\" b",
      "{\"s\":\"a=1,b=x\",\"a\":1,\"b\":\"x\"}\n{\"s\":\"junk\",\"a\":null,\"b\":\"\"}\n"
      "{\"s\":\"a=zz,b=y\",\"a\":null,\"b\":\"\"}\n" },
    { "datatable(s:string)[\"a=1,b=x\",\"junk\",\"a=zz,b=y\"] | parse-where s with \"a=\" a:long \",b=\" b",
      "{\"s\":\"a=1,b=x\",\"a\":1,\"b\":\"x\"}\n" },
    { "datatable(s:string)[\"a=1,b=x\",\"a=zz,b=y\"] | parse kind=relaxed s with \"a=\" a:long \",b=\" b",
      "{\"s\":\"a=1,b=x\",\"a\":1,\"b\":\"x\"}\n{\"s\":\"a=zz,b=y\",\"a\":null,\"b\":\"y\"}\n" },
    { "print s=\"Key: 123 Val: abc\" | parse kind=regex flags=i s with \"key: \" k:long \"\\\\s+val:\\\\s*\" v",
      "{\"s\":\"Key: 123 Val: abc\",\"k\":123,\"v\":\"abc\"}\n" },
    { "print s=\"x (1) y\" | parse s with * \"(\" n:int \")\" *", "{\"s\":\"x (1) y\",\"n\":1}\n" },
    /* make-series */
    { DT_TS " | make-series n=count(), avg(v) default=-1 on Ts from datetime(2024-01-01) "
            "to datetime(2024-01-01 03:00) step 1h by Dev",
      "{\"Dev\":\"a\",\"n\":[2,0,1],\"avg_v\":[6,-1,1],\"Ts\":[\"2024-01-01T00:00:00Z\",\"2024-01-01T01:00:00Z\","
      "\"2024-01-01T02:00:00Z\"]}\n"
      "{\"Dev\":\"b\",\"n\":[0,1,0],\"avg_v\":[-1,3,-1],\"Ts\":[\"2024-01-01T00:00:00Z\",\"2024-01-01T01:00:00Z\","
      "\"2024-01-01T02:00:00Z\"]}\n" },
    { DT_TS " | make-series sum(v) on Ts step 1h",
      "{\"sum_v\":[12,3,1],\"Ts\":[\"2024-01-01T00:00:00Z\",\"2024-01-01T01:00:00Z\",\"2024-01-01T02:00:00Z\"]}\n" },
    { "range x from 1 to 10 step 1 | make-series c=count() on x from 0 to 10 step 3",
      "{\"c\":[2,3,3,2],\"x\":[0,3,6,9]}\n" },
    { "range x from 1 to 10 step 1 | make-series c=count() on x in range(2, 4, 1)",
      "{\"c\":[1,1,1],\"x\":[2,3,4]}\n" },
    { DT_TS " | make-series sum(v) on Ts from datetime(2024-01-01) to datetime(2030-01-01) step 1s",
      "!more than 1048576 bins" },
    /* evaluate */
    { "datatable(id:long, d:dynamic)[1, dynamic({\"Name\":\"John\",\"Age\":20}), 2, dynamic({\"Name\":\"Dave\"})] "
      "| evaluate bag_unpack(d)",
      "{\"id\":1,\"Age\":20,\"Name\":\"John\"}\n{\"id\":2,\"Age\":null,\"Name\":\"Dave\"}\n" },
    { "datatable(id:long, d:dynamic)[1, dynamic({\"id\":20})] | evaluate bag_unpack(d)", "!conflicts" },
    { "datatable(id:long, d:dynamic)[1, dynamic({\"id\":20})] | evaluate bag_unpack(d, 'p_')",
      "{\"id\":1,\"p_id\":20}\n" },
    { DT_PV " | project State, EventType | evaluate pivot(State)",
      "{\"EventType\":\"Wind\",\"AL\":2,\"AK\":1}\n{\"EventType\":\"Hail\",\"AL\":1,\"AK\":0}\n" },
    { DT_PV " | evaluate pivot(State, sum(D))",
      "{\"EventType\":\"Wind\",\"AL\":5,\"AK\":2}\n{\"EventType\":\"Hail\",\"AL\":3,\"AK\":0}\n" },
    { DT_PV " | evaluate autocluster()", "!evaluate plugin 'autocluster' is not supported" },
    /* errors on every path free what they made */
    { "print s='a' | parse kind=regex s with \"(\" x", "!invalid regular expression" },
    { "print a=dynamic([1]) | mv-apply a on (where nosuch > 1)", "!nosuch" },
    { "print a=dynamic([1]) | mv-expand kind=list a", "!expected bag or array" },
    { "print a=dynamic([1]) | make-series count() on a step 1", "!the axis must be" },
    { DT_PV " | evaluate pivot(Nope)", "!Nope" },
    { "print a=dynamic([1,2]), b=dynamic({\"k\":[1,2]}) | mv-apply a to typeof(long) on "
      "(extend c = a * 2) | evaluate bag_unpack(b) | mv-expand k",
      "{\"a\":1,\"c\":2,\"k\":1}\n{\"a\":1,\"c\":2,\"k\":2}\n{\"a\":2,\"c\":4,\"k\":1}\n"
      "{\"a\":2,\"c\":4,\"k\":2}\n" },
};

static void test_cases(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vg_kql_result *r = NULL;
        vg_diag d = { 0 };
        vg_err e = vg_kql_run(NULL, vg_str_c(cases[i].q), NULL, &r, &d);
        const char *want = cases[i].want;
        if (want[0] == '!') {
            if (e == VG_OK || !strstr(d.msg, want + 1)) {
                fprintf(stderr, "case %zu: %s\n  want error containing: %s\n  got: %s\n", i, cases[i].q,
                        want + 1, e ? d.msg : "success");
                bad++;
            }
            vg_kql_result_free(r);
            continue;
        }
        if (e) {
            fprintf(stderr, "case %zu: %s\n  error: %s\n", i, cases[i].q, d.msg);
            bad++;
            continue;
        }
        vg_buf b;
        vg_buf_init(&b, 0);
        vg_kql_result_write(r, VG_KQL_FMT_NDJSON, false, &b);
        if (b.n != strlen(want) || memcmp(b.p, want, b.n) != 0) {
            fprintf(stderr, "case %zu: %s\n  want: %s  got:  %.*s\n", i, cases[i].q, want, (int)b.n,
                    (const char *)b.p);
            bad++;
        }
        vg_buf_free(&b);
        vg_kql_result_free(r);
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
