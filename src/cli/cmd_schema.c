/*
 * cmd_schema.c - `vigil schema [TABLE]`: the tables of the schema (name and
 * column count) or one table's columns and Kusto types, as text or JSON.
 */
#include <stddef.h>
#include <string.h>

#include "../schema/vg_schema.h"
#include "cli_int.h"

typedef struct schema_settings {
    const char *format;
} schema_settings;

static const vg_cfg_def schema_defs[] = {
    { "format", VG_CFG_STRING, "text", 0, 0, false, offsetof(schema_settings, format),
      "output format: text or json" },
};

static const vg_cfg_spec schema_spec = {
    "vigil schema",
    "list the tables of the schema, or one table's columns and types",
    "vigil schema [--format text|json] [TABLE]",
    schema_defs,
    sizeof schema_defs / sizeof schema_defs[0],
};

static void json_str(const char *s)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_put_json_str(&b, vg_str_c(s));
    fwrite(b.p, 1, b.n, stdout);
    vg_buf_free(&b);
}

int cmd_schema(int argc, char **argv)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    schema_settings s;
    vg_cfg_args args;
    int rc = cli_parse(&schema_spec, argc, argv, &s, &args, &a);
    if (rc >= 0)
        goto out;
    rc = CLI_USAGE;
    bool json = strcmp(s.format, "json") == 0;
    if (!json && strcmp(s.format, "text") != 0) {
        cli_err("schema", "--format: expected text or json, got '%s'", s.format);
        goto out;
    }
    if (args.npos > 1) {
        cli_err("schema", "give at most one table name");
        goto out;
    }
    if (args.npos == 0) {
        if (json)
            fputc('[', stdout);
        for (size_t i = 0; i < vg_schema_ntables; i++) {
            const vg_table_def *t = &vg_schema_tables[i];
            if (json) {
                fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
                json_str(t->name);
                printf(",\"columns\":%u}", t->ncols);
            } else {
                printf("%-40s %3u columns\n", t->name, t->ncols);
            }
        }
        if (json)
            fputs("]\n", stdout);
        rc = CLI_OK;
        goto out;
    }
    const vg_table_def *t = vg_schema_table(vg_str_c(args.pos[0]));
    if (!t) {
        cli_err("schema", "unknown table '%s' (vigil schema lists them)", args.pos[0]);
        rc = CLI_ERR;
        goto out;
    }
    if (json) {
        fputs("{\"name\":", stdout);
        json_str(t->name);
        fputs(",\"columns\":[", stdout);
    } else {
        printf("%s (%u columns)\n", t->name, t->ncols);
    }
    for (int c = 0; c < t->ncols; c++) {
        if (json) {
            fputs(c ? ",{\"name\":" : "{\"name\":", stdout);
            json_str(t->cols[c].name);
            printf(",\"type\":\"%s\"}", vg_type_name(t->cols[c].type));
        } else {
            printf("  %-48s %s\n", t->cols[c].name, vg_type_name(t->cols[c].type));
        }
    }
    if (json)
        fputs("]}\n", stdout);
    rc = CLI_OK;
out:
    vg_arena_free(&a);
    return rc;
}
