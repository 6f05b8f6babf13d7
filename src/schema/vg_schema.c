/*
 * vg_schema.c - lookups over the generated registry.
 *
 * Column lookups are on the ingest hot path (one per JSON key), so each table
 * gets a hash index built once, on first use, under pthread_once.
 */
#include "vg_schema.h"

#include <pthread.h>
#include <stdlib.h>

#include "../core/vg_map.h"

static vg_map *col_index;   /* one per table: name -> index + 1 */
static vg_map table_index;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
    col_index = calloc(vg_schema_ntables, sizeof *col_index);
    vg_map_init(&table_index, false);
    for (size_t t = 0; t < vg_schema_ntables; t++) {
        const vg_table_def *td = &vg_schema_tables[t];
        vg_map_put(&table_index, vg_str_c(td->name), (void *)td);
        if (!col_index)
            continue;
        vg_map_init(&col_index[t], false);
        for (size_t c = 0; c < td->ncols; c++)
            vg_map_put(&col_index[t], vg_str_c(td->cols[c].name), (void *)(uintptr_t)(c + 1));
    }
}

const char *vg_type_name(vg_type t)
{
    static const char *names[] = { "bool", "int", "long", "real", "datetime", "timespan", "string",
                                   "dynamic" };
    return (unsigned)t < VG_T_COUNT_ ? names[t] : "?";
}

const vg_table_def *vg_schema_table(vg_str name)
{
    pthread_once(&index_once, build_index);
    const vg_table_def *t = vg_map_get(&table_index, name, NULL);
    if (t)
        return t;
    for (size_t i = 0; i < vg_schema_ntables; i++)
        if (vg_str_eqc_ci(name, vg_schema_tables[i].name))
            return &vg_schema_tables[i];
    return NULL;
}

int vg_schema_col(const vg_table_def *t, vg_str name)
{
    pthread_once(&index_once, build_index);
    if (!col_index) {
        for (int c = 0; c < t->ncols; c++)
            if (vg_str_eqc(name, t->cols[c].name))
                return c;
        return -1;
    }
    uintptr_t v = (uintptr_t)vg_map_get(&col_index[t->id], name, NULL);
    return v ? (int)v - 1 : -1;
}
