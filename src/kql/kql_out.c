/*
 * kql_out.c - writing a query result: Defender's advanced hunting API shape
 * ({"Stats","Schema","Results"}), Graph's runHuntingQuery shape
 * ({"schema","results"}), NDJSON (one object per row, optionally after a
 * schema line), CSV (RFC 4180) and an aligned text table for terminals.
 * Values are rendered by kql_val_json / kql_val_text, so every interface
 * shows the same datetimes, timespans and dynamics.
 */
#include <string.h>

#include "kql/kql_exec.h"

/* .NET type names, as Defender's and Graph's schemas use them. */
static const char *dotnet_type(vg_type t)
{
    switch (t) {
    case VG_T_BOOL: return "Boolean";
    case VG_T_INT: return "Int32";
    case VG_T_LONG: return "Int64";
    case VG_T_REAL: return "Double";
    case VG_T_DATETIME: return "DateTime";
    case VG_T_TIMESPAN: return "TimeSpan";
    case VG_T_STRING: return "String";
    default: return "Object";
    }
}

static void row_json(const kx_rel *r, uint32_t ci, uint32_t ri, vg_buf *out)
{
    vg_buf_putc(out, '{');
    for (uint32_t c = 0; c < r->sch.n; c++) {
        if (c)
            vg_buf_putc(out, ',');
        vg_buf_put_json_str(out, r->sch.names[c]);
        vg_buf_putc(out, ':');
        kql_val_json(out, kql_col_get(&r->chunks[ci].cols[c], ri));
    }
    vg_buf_putc(out, '}');
}

static void rows_json(const kx_rel *r, vg_buf *out, const char *sep)
{
    bool first = true;
    for (uint32_t ci = 0; ci < r->nchunks; ci++)
        for (uint32_t ri = 0; ri < r->chunks[ci].n; ri++) {
            if (!first)
                vg_buf_puts(out, sep);
            first = false;
            row_json(r, ci, ri, out);
        }
}

static void schema_json(const kx_rel *r, vg_buf *out, const char *name, const char *type, bool dotnet)
{
    vg_buf_putc(out, '[');
    for (uint32_t c = 0; c < r->sch.n; c++) {
        if (c)
            vg_buf_putc(out, ',');
        vg_buf_printf(out, "{\"%s\":", name);
        vg_buf_put_json_str(out, r->sch.names[c]);
        vg_buf_printf(out, ",\"%s\":\"%s\"}", type,
                      dotnet ? dotnet_type(r->sch.types[c]) : vg_type_name(r->sch.types[c]));
    }
    vg_buf_putc(out, ']');
}

static void csv_field(vg_buf *out, vg_str s)
{
    bool quote = false;
    for (size_t i = 0; i < s.n && !quote; i++)
        quote = s.p[i] == ',' || s.p[i] == '"' || s.p[i] == '\n' || s.p[i] == '\r';
    if (!quote) {
        vg_buf_putstr(out, s);
        return;
    }
    vg_buf_putc(out, '"');
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == '"')
            vg_buf_putc(out, '"');
        vg_buf_putc(out, s.p[i]);
    }
    vg_buf_putc(out, '"');
}

/* Display width of UTF-8 text (code points; good enough for a terminal). */
static size_t width(vg_str s)
{
    size_t w = 0;
    for (size_t i = 0; i < s.n; i++)
        w += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return w;
}

#define TABLE_MAX_CELL 60

static void table(const kx_rel *r, vg_buf *out)
{
    uint32_t n = r->sch.n;
    size_t w[KX_MAX_COLS];
    vg_buf cell;
    vg_buf_init(&cell, 0);
    for (uint32_t c = 0; c < n && c < KX_MAX_COLS; c++)
        w[c] = width(r->sch.names[c]);
    for (uint32_t ci = 0; ci < r->nchunks; ci++)
        for (uint32_t ri = 0; ri < r->chunks[ci].n; ri++)
            for (uint32_t c = 0; c < n && c < KX_MAX_COLS; c++) {
                vg_buf_clear(&cell);
                kql_val_text(&cell, kql_col_get(&r->chunks[ci].cols[c], ri));
                size_t cw = width(vg_str_make((const char *)cell.p, cell.n));
                if (cw > TABLE_MAX_CELL)
                    cw = TABLE_MAX_CELL;
                if (cw > w[c])
                    w[c] = cw;
            }
    for (uint32_t c = 0; c < n && c < KX_MAX_COLS; c++) {
        vg_buf_putstr(out, r->sch.names[c]);
        for (size_t k = width(r->sch.names[c]); k < w[c] + 2 && c + 1 < n; k++)
            vg_buf_putc(out, ' ');
    }
    vg_buf_putc(out, '\n');
    for (uint32_t c = 0; c < n && c < KX_MAX_COLS; c++) {
        for (size_t k = 0; k < w[c]; k++)
            vg_buf_putc(out, '-');
        if (c + 1 < n)
            vg_buf_puts(out, "  ");
    }
    vg_buf_putc(out, '\n');
    for (uint32_t ci = 0; ci < r->nchunks; ci++)
        for (uint32_t ri = 0; ri < r->chunks[ci].n; ri++) {
            for (uint32_t c = 0; c < n && c < KX_MAX_COLS; c++) {
                vg_buf_clear(&cell);
                kql_val_text(&cell, kql_col_get(&r->chunks[ci].cols[c], ri));
                vg_str s = vg_str_make((const char *)cell.p, cell.n);
                size_t cw = 0, i = 0;
                for (; i < s.n; i++) {
                    if (((unsigned char)s.p[i] & 0xC0) != 0x80) {
                        if (cw == TABLE_MAX_CELL)
                            break;
                        cw++;
                    }
                    char ch = s.p[i];
                    vg_buf_putc(out, ch == '\n' || ch == '\r' || ch == '\t' ? ' ' : ch);
                }
                for (; cw < w[c] + 2 && c + 1 < n; cw++)
                    vg_buf_putc(out, ' ');
            }
            vg_buf_putc(out, '\n');
        }
    vg_buf_free(&cell);
}

void vg_kql_result_write(const vg_kql_result *res, vg_kql_format f, bool with_schema, vg_buf *out)
{
    const kx_rel *r = kx_result_rel(res);
    vg_kql_stats st;
    vg_kql_result_stats(res, &st);
    switch (f) {
    case VG_KQL_FMT_DEFENDER:
        vg_buf_printf(out, "{\"Stats\":{\"ExecutionTime\":%.6f,\"resource_usage\":{\"memory\":"
                           "{\"peak_per_node\":%zu}},\"dataset_statistics\":[{\"table_row_count\":%llu}],"
                           "\"RowsScanned\":%llu,\"Truncated\":%s",
                      st.elapsed_ms / 1000.0, st.peak_memory, (unsigned long long)r->rows,
                      (unsigned long long)st.rows_scanned, vg_kql_result_truncated(res) ? "true" : "false");
        if (vg_kql_result_render(res).n) {
            vg_buf_puts(out, ",\"Visualization\":");
            vg_buf_put_json_str(out, vg_kql_result_render(res));
        }
        vg_buf_puts(out, "},\"Schema\":");
        schema_json(r, out, "Name", "Type", true);
        vg_buf_puts(out, ",\"Results\":[");
        rows_json(r, out, ",");
        vg_buf_puts(out, "]}\n");
        break;
    case VG_KQL_FMT_GRAPH:
        vg_buf_puts(out, "{\"@odata.context\":\"$metadata#microsoft.graph.security.huntingQueryResults\","
                         "\"schema\":");
        schema_json(r, out, "name", "type", true);
        vg_buf_puts(out, ",\"results\":[");
        rows_json(r, out, ",");
        vg_buf_printf(out, "],\"truncated\":%s}\n", vg_kql_result_truncated(res) ? "true" : "false");
        break;
    case VG_KQL_FMT_NDJSON:
        if (with_schema) {
            vg_buf_putc(out, '[');
            for (uint32_t c = 0; c < r->sch.n; c++) {
                if (c)
                    vg_buf_putc(out, ',');
                vg_buf_putc(out, '[');
                vg_buf_put_json_str(out, r->sch.names[c]);
                vg_buf_printf(out, ",\"%s\"]", vg_type_name(r->sch.types[c]));
            }
            vg_buf_puts(out, "]\n");
        }
        rows_json(r, out, "\n");
        if (r->rows)
            vg_buf_putc(out, '\n');
        break;
    case VG_KQL_FMT_CSV: {
        for (uint32_t c = 0; c < r->sch.n; c++) {
            if (c)
                vg_buf_putc(out, ',');
            csv_field(out, r->sch.names[c]);
        }
        vg_buf_puts(out, "\r\n");
        vg_buf cell;
        vg_buf_init(&cell, 0);
        for (uint32_t ci = 0; ci < r->nchunks; ci++)
            for (uint32_t ri = 0; ri < r->chunks[ci].n; ri++) {
                for (uint32_t c = 0; c < r->sch.n; c++) {
                    if (c)
                        vg_buf_putc(out, ',');
                    vg_buf_clear(&cell);
                    kql_val_text(&cell, kql_col_get(&r->chunks[ci].cols[c], ri));
                    csv_field(out, vg_str_make((const char *)cell.p, cell.n));
                }
                vg_buf_puts(out, "\r\n");
            }
        vg_buf_free(&cell);
        break;
    }
    case VG_KQL_FMT_TABLE:
        table(r, out);
        break;
    }
}
