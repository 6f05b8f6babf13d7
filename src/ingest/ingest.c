/*
 * ingest.c - batch sets, the decoder registry and the buffer driver that
 * splits input into records and routes them to a decoder.
 *
 * Record framing: line formats are NDJSON (one record per line, '\r\n'
 * tolerated, blank lines skipped). evtx-json and winlogbeat also come as
 * pretty-printed documents, one after the other or inside a top-level array;
 * the driver recognizes that when the first line does not hold a whole value
 * and then reads a stream of JSON values, resynchronizing on the next line
 * that starts with '{' after a bad document.
 */
#include "vg_ingest.h"

#include <stdlib.h>
#include <string.h>

#include "../core/vg_json.h"

/* ---- batch sets ---- */

vg_err vg_batchset_init(vg_batchset *s, uint32_t rows, vg_sink_fn sink, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->by_table = calloc(vg_schema_ntables, sizeof *s->by_table);
    if (!s->by_table)
        return VG_ENOMEM;
    s->rows = rows ? rows : VG_BATCH_ROWS;
    s->sink = sink;
    s->sink_ctx = ctx;
    return VG_OK;
}

void vg_batchset_free(vg_batchset *s)
{
    if (s->by_table)
        for (size_t t = 0; t < vg_schema_ntables; t++)
            if (s->by_table[t].table)
                vg_batch_free(&s->by_table[t]);
    free(s->by_table);
    free(s->native_cache);
    memset(s, 0, sizeof *s);
}

static vg_err emit(vg_batchset *s, vg_batch *b, vg_diag *d)
{
    if (!b->nrows)
        return VG_OK;
    vg_err e = s->sink ? s->sink(s->sink_ctx, b, d) : VG_OK;
    vg_batch_reset(b);
    return e;
}

vg_err vg_batchset_row(vg_batchset *s, const vg_table_def *t, vg_batch **b, uint32_t *row,
                       vg_diag *d)
{
    vg_batch *bt = &s->by_table[t->id];
    if (!bt->table) {
        vg_err e = vg_batch_init(bt, t, s->rows, NULL, true);
        if (e)
            return vg_diag_set(d, e, "cannot allocate a batch for %s", t->name);
    }
    if (vg_batch_full(bt)) {
        vg_err e = emit(s, bt, d);
        if (e)
            return e;
    }
    *row = (uint32_t)vg_batch_add_row(bt);
    *b = bt;
    s->rows_added++;
    return VG_OK;
}

vg_err vg_batchset_flush(vg_batchset *s, vg_diag *d)
{
    for (size_t t = 0; t < vg_schema_ntables; t++) {
        if (!s->by_table[t].table)
            continue;
        vg_err e = emit(s, &s->by_table[t], d);
        if (e)
            return e;
    }
    return VG_OK;
}

/* ---- registry ---- */

const vg_decoder vg_decoders[] = {
    { VG_FMT_NDJSON, "ndjson",
      "native NDJSON: one object per line whose members are Defender columns; the table comes "
      "from --table/?table= or a \"Table\" member; other members are kept as source fields",
      vg_decode_native },
    { VG_FMT_EVTX, "evtx", "Windows event log files (.evtx)", NULL },
    { VG_FMT_EVTX_JSON, "evtx-json",
      "Windows events in the evtx JSON convention (Event.System, Event.EventData, #attributes)",
      vg_decode_evtx_json },
    { VG_FMT_WINLOGBEAT, "winlogbeat",
      "Winlogbeat / Elastic Common Schema JSON (winlog.event_id, winlog.event_data.*)",
      vg_decode_winlogbeat },
};
const size_t vg_ndecoders = sizeof vg_decoders / sizeof vg_decoders[0];

const vg_decoder *vg_decoder_for(vg_format f)
{
    for (size_t i = 0; i < vg_ndecoders; i++)
        if (vg_decoders[i].format == f)
            return &vg_decoders[i];
    return NULL;
}

const char *vg_format_name(vg_format f)
{
    if (f == VG_FMT_AUTO)
        return "auto";
    const vg_decoder *dec = vg_decoder_for(f);
    return dec ? dec->name : "?";
}

vg_err vg_format_parse(const char *name, vg_format *out)
{
    if (strcmp(name, "auto") == 0) {
        *out = VG_FMT_AUTO;
        return VG_OK;
    }
    for (size_t i = 0; i < vg_ndecoders; i++)
        if (strcmp(name, vg_decoders[i].name) == 0) {
            *out = vg_decoders[i].format;
            return VG_OK;
        }
    return VG_EINVAL;
}

/* First record's top-level keys decide between the JSON formats. */
vg_format vg_format_detect(vg_str head)
{
    if (head.n >= 8 && memcmp(head.p, "ElfFile", 8) == 0)
        return VG_FMT_EVTX;
    vg_str s = vg_str_trim(head);
    if (s.n && s.p[0] == '[') {
        s.p++;
        s.n--;
        s = vg_str_trim(s);
    }
    /* look for the markers near the start; keys are quoted */
    size_t scan = s.n < 4096 ? s.n : 4096;
    vg_str win = vg_str_make(s.p, scan);
    if (vg_str_find_ci(win, VG_STR_LIT("\"winlog\"")) >= 0)
        return VG_FMT_WINLOGBEAT;
    if (vg_str_find_ci(win, VG_STR_LIT("\"Event\"")) >= 0 &&
        vg_str_find_ci(win, VG_STR_LIT("\"System\"")) >= 0)
        return VG_FMT_EVTX_JSON;
    return VG_FMT_NDJSON;
}

/* ---- buffer driver ---- */

static uint64_t line_of(vg_str data, const char *p)
{
    uint64_t line = 1;
    for (const char *q = data.p; q < p; q++)
        if (*q == '\n')
            line++;
    return line;
}

static vg_err run_record(vg_batchset *set, const vg_ingest_opts *o, vg_decode_record_fn fn,
                         vg_str rec, uint64_t line, vg_reject_fn reject, void *rctx,
                         vg_ingest_result *res, vg_diag *d)
{
    vg_diag rd;
    rd.msg[0] = '\0';
    res->records++;
    vg_err e;
    if (rec.n > VG_INGEST_MAX_RECORD)
        e = vg_diag_set(&rd, VG_ELIMIT, "record longer than %u bytes", VG_INGEST_MAX_RECORD);
    else
        e = fn(set, o, rec, &rd);
    if (e == VG_OK) {
        res->accepted++;
        return VG_OK;
    }
    if (e == VG_ENOMEM || e == VG_EIO) {
        /* a sink or memory failure is not the record's fault: stop */
        if (d)
            memcpy(d->msg, rd.msg, sizeof d->msg);
        return e;
    }
    res->rejected++;
    if (reject) {
        if (!rd.msg[0])
            vg_diag_set(&rd, e, "%s", vg_strerror(e));
        reject(rctx, line, vg_str_c(rd.msg), rec);
    }
    return VG_OK;
}

/* Pretty-printed documents, or a top-level array of them. */
static vg_err run_documents(vg_batchset *set, const vg_ingest_opts *o, vg_decode_record_fn fn,
                            vg_str data, vg_reject_fn reject, void *rctx, vg_ingest_result *res,
                            vg_diag *d)
{
    vg_json_pull j;
    vg_json_pull_init(&j, data, NULL, NULL);
    const char *p = data.p, *end = data.p + data.n;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    bool array = p < end && *p == '[';
    if (array)
        p++;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' ||
                           (array && (*p == ',' || *p == ']'))))
            p++;
        if (p >= end)
            break;
        j.p = p;
        vg_json_val v;
        vg_diag pd;
        pd.msg[0] = '\0';
        j.diag = &pd;
        vg_err e = vg_json_pull_value(&j, &v);
        if (e == VG_OK && v.kind != VG_JSON_OBJECT)
            e = vg_diag_set(&pd, VG_EPARSE, "expected a JSON object");
        if (e) {
            /* report and resynchronize at the next line starting with '{' */
            res->records++;
            res->rejected++;
            const char *q = p + 1;
            while (q < end && !(q[-1] == '\n' && *q == '{'))
                q++;
            if (reject)
                reject(rctx, line_of(data, p), vg_str_c(pd.msg),
                       vg_str_make(p, (size_t)(q - p) > 4096 ? 4096 : (size_t)(q - p)));
            p = q;
            continue;
        }
        e = run_record(set, o, fn, v.str, line_of(data, p), reject, rctx, res, d);
        if (e)
            return e;
        p = j.p;
    }
    return VG_OK;
}

vg_err vg_ingest_buffer(vg_batchset *set, const vg_ingest_opts *o, vg_str data,
                        vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                        vg_diag *d)
{
    vg_ingest_opts opts = *o;
    if (opts.format == VG_FMT_AUTO)
        opts.format = vg_format_detect(data);
    if (opts.format == VG_FMT_EVTX)
        return vg_decode_evtx_file(set, &opts, data, reject, reject_ctx, res, d);
    const vg_decoder *dec = vg_decoder_for(opts.format);
    if (!dec || !dec->record)
        return vg_diag_set(d, VG_EINVAL, "no record decoder for format %d", (int)opts.format);

    /* a first line that is not a whole value means pretty-printed documents */
    const char *p = data.p, *end = data.p + data.n;
    {
        const char *nl = memchr(p, '\n', data.n);
        vg_str first = vg_str_trim(vg_str_make(p, nl ? (size_t)(nl - p) : data.n));
        if (first.n && (first.p[0] == '[' ||
                        (first.p[0] == '{' && first.p[first.n - 1] != '}')))
            return run_documents(set, &opts, dec->record, data, reject, reject_ctx, res, d);
    }
    uint64_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        vg_str rec = vg_str_make(p, (size_t)(le - p));
        if (rec.n && rec.p[rec.n - 1] == '\r')
            rec.n--;
        p = nl ? nl + 1 : end;
        /* skip blank lines */
        size_t k = 0;
        while (k < rec.n && (rec.p[k] == ' ' || rec.p[k] == '\t'))
            k++;
        if (k == rec.n)
            continue;
        vg_err e = run_record(set, &opts, dec->record, rec, line, reject, reject_ctx, res, d);
        if (e)
            return e;
    }
    return VG_OK;
}
