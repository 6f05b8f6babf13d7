/*
 * fuzz_odata.c - the OData $filter and $orderby compilers (inc_odata.c) must
 * never crash, recurse or allocate without bound on any input. Properties
 * checked as well: a refusal has a message; an accepted filter compiles to
 * SQL that SQLite accepts against the real schema (an in-memory state.db)
 * with exactly its bound arguments, so no input can change the statement's
 * shape. The first input byte picks incidents or alerts and filter or
 * orderby.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "incident/inc_api_int.h"
#include "state/vg_state.h"

static sqlite3 *schema_db(void)
{
    static sqlite3 *db;
    static char dir[] = "/tmp/vg-fuzz-odata-XXXXXX";
    if (db)
        return db;
    vg_diag d;
    if (!mkdtemp(dir) || vg_state_open(dir, &db, &d))
        abort();
    return db;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    inc_obj o = (data[0] & 1) ? INC_OBJ_ALERT : INC_OBJ_INCIDENT;
    bool orderby = data[0] & 2;
    vg_str in = vg_str_make((const char *)data + 1, size - 1);
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    inc_sql q;
    inc_sql_init(&q);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = orderby ? inc_odata_orderby(o, in, &q, &d) : inc_odata_filter(o, in, &a, &q, &d);
    if (e) {
        if (!d.msg[0])
            abort();
    } else {
        vg_buf sql;
        vg_buf_init(&sql, 0);
        vg_buf_printf(&sql, "SELECT id FROM %s", o == INC_OBJ_ALERT ? "alerts" : "incidents");
        if (q.where.n)
            vg_buf_printf(&sql, " WHERE %.*s", (int)q.where.n, q.where.p);
        if (q.order.n)
            vg_buf_printf(&sql, " ORDER BY %.*s", (int)q.order.n, q.order.p);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(schema_db(), vg_buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK)
            abort();
        if (sqlite3_bind_parameter_count(st) != q.nargs)
            abort();
        if (inc_sql_bind(st, &q, &d))
            abort();
        while (sqlite3_step(st) == SQLITE_ROW)
            ;
        sqlite3_finalize(st);
        vg_buf_free(&sql);
    }
    inc_sql_free(&q);
    vg_arena_free(&a);
    return 0;
}
