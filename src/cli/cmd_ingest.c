/*
 * cmd_ingest.c - `vigil ingest`: files (or stdin) into a data directory
 * offline, or into a running server with --server.
 *
 * Inputs are cut into chunks of whole lines (CHUNK bytes or so): a regular
 * file is mapped and cut in place, a stream is read piece by piece. Formats
 * that are not one record per line (EVTX files, pretty-printed evtx-JSON or
 * Winlogbeat documents) are taken whole. Offline, chunks go through the
 * decoders into one batch set whose sink appends full batches to the store
 * (each append durable); rejected records go to the store's dead-letter area
 * and the first few are printed as FILE:LINE: reason. With --server, line
 * chunks are POSTed as they are (the server decodes them and dead-letters
 * what it rejects) and whole-file formats are decoded here and sent as
 * native NDJSON rows.
 *
 * Line numbers of rejects are counted lazily: only when a chunk has a
 * reject are the newlines before it counted, so a clean file costs no extra
 * pass.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/vg_time.h"
#include "../ingest/vg_ingest.h"
#include "../store/vg_store.h"
#include "../detect/vg_alert.h"
#include "cli_detect.h"
#include "cli_int.h"

#define CHUNK_DEFAULT "4M"          /* bytes of whole lines per decode/POST */
#define HEAD_BYTES (1u << 20)       /* bytes looked at to pick the format */
#define MAX_WHOLE (4ull << 30)      /* largest whole-file input read from a stream */
#define PROGRESS_MIN (16u << 20)    /* inputs smaller than this get no progress bar */
#define PROGRESS_EVERY_NS 200000000ull
#define WRITER_DEPTH 4              /* full batches waiting for the store */

typedef struct ingest_settings {
    const char *data, *format, *table, *server, *token;
    int64_t chunk, show_rejects, batch_rows;
    bool progress, no_fsync, evtx_recover, detect;
    cli_rule_settings r;
    int64_t suppress;
} ingest_settings;

#define OFF(f) offsetof(ingest_settings, f)
static const vg_cfg_def ingest_defs[] = {
    { "data", VG_CFG_STRING, "./vigil-data", 0, 0, false, OFF(data),
      "data directory to write (offline; fails if a server holds it)" },
    { "format", VG_CFG_STRING, "auto", 0, 0, false, OFF(format),
      "input format: auto, ndjson, evtx, evtx-json, winlogbeat" },
    { "table", VG_CFG_STRING, "", 0, 0, false, OFF(table),
      "table for NDJSON lines without a \"Table\" member" },
    { "server", VG_CFG_STRING, "", 0, 0, false, OFF(server),
      "send to a running vigild at this URL (http://host:port) instead of --data" },
    { "token", VG_CFG_STRING, "", 0, 0, false, OFF(token),
      "API token for --server (default: the VIGIL_TOKEN environment variable)" },
    { "chunk", VG_CFG_SIZE, CHUNK_DEFAULT, 64 * 1024, 256LL << 20, false, OFF(chunk),
      "bytes of whole lines decoded (or sent) at a time" },
    { "batch-rows", VG_CFG_INT, "0", 0, 1 << 20, false, OFF(batch_rows),
      "rows per batch appended to the store at once (0: the default, 4096)" },
    { "show-rejects", VG_CFG_INT, "10", 0, 1000000, false, OFF(show_rejects),
      "print this many rejected records (all go to the dead-letter area)" },
    { "progress", VG_CFG_BOOL, "true", 0, 0, false, OFF(progress),
      "progress bar on stderr when it is a terminal and the input is large" },
    { "evtx-recover", VG_CFG_BOOL, "false", 0, 0, false, OFF(evtx_recover),
      "EVTX files: also load deleted records found in free space (through libevtx)" },
    { "detect", VG_CFG_BOOL, "true", 0, 0, false, OFF(detect),
      "offline: run the Sigma rules on the rows and store the alerts with them, as vigild does "
      "(skipped with a note when no rule pack is found)" },
    { "suppress-window", VG_CFG_DURATION, "5m", 0, 86400 * 30, false, OFF(suppress),
      "offline detection: one alert per rule, device and account in this window" },
    CLI_RULE_DEFS(ingest_settings, r),
    { "no-fsync", VG_CFG_BOOL, "false", 0, 0, false, OFF(no_fsync),
      "TESTS ONLY: skip fsync in the store (rows may be lost on a crash)" },
};
#undef OFF

static const vg_cfg_spec ingest_spec = {
    "vigil ingest",
    "load NDJSON, EVTX, evtx-JSON or Winlogbeat files into a data directory or a server",
    "vigil ingest [--data DIR | --server URL --token T] [--format F] [--table T] FILE...|-",
    ingest_defs,
    sizeof ingest_defs / sizeof ingest_defs[0],
};

typedef struct ingest_run {
    ingest_settings *s;
    vg_ingest_opts o;
    vg_store *store;              /* offline */
    cli_writer *writer;           /* offline: appends on a second thread */
    cli_http *http;               /* --server */
    vg_alerter *al;               /* offline detection, or NULL */
    vg_batchset aset;             /* its alert rows, to the writer too */
    bool aset_ready;
    uint64_t alerts;
    vg_batchset set;
    bool set_ready;
    /* the current input and chunk */
    cli_input *in;
    const char *chunk_p;          /* mapped: start of the chunk being decoded */
    uint64_t counted_lines;       /* newlines before counted_p (mapped) or this chunk (stream) */
    const char *counted_p;
    /* local decode for --server: rows rendered as native NDJSON */
    vg_buf rows;
    vg_buf rowtmp;
    /* totals */
    uint64_t files, accepted, rejected, shown;
    uint64_t bytes_done, bytes_total;
    uint64_t t0, last_draw;
    bool progress, drawn;
    vg_err fatal;
    vg_deadletters dl;            /* this chunk's rejects, written with one fsync */
    vg_diag fd;
} ingest_run;

/* ---- progress ---- */

static void progress_draw(ingest_run *r, bool force)
{
    if (!r->progress)
        return;
    uint64_t now = vg_mono_ns();
    if (!force && now - r->last_draw < PROGRESS_EVERY_NS)
        return;
    r->last_draw = now;
    double sec = (double)(now - r->t0) / 1e9;
    char done[32], total[32], rows[32];
    char bar[32];
    int width = 24, fill = 0;
    if (r->bytes_total)
        fill = (int)((double)r->bytes_done / (double)r->bytes_total * width);
    if (fill > width)
        fill = width;
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    cli_bytes(r->bytes_done, done, sizeof done);
    if (r->bytes_total)
        cli_bytes(r->bytes_total, total, sizeof total);
    else
        snprintf(total, sizeof total, "?");
    cli_num(sec > 0 ? (uint64_t)((double)r->accepted / sec) : 0, rows, sizeof rows);
    fprintf(stderr, "\r[%s] %s / %s  %s rows/s ", r->bytes_total ? bar : "", done, total, rows);
    r->drawn = true;
}

static void progress_clear(ingest_run *r)
{
    if (r->drawn)
        fputs("\r\033[K", stderr);
    r->drawn = false;
}

/* ---- rejects ---- */

static uint64_t count_nl(const char *p, const char *end)
{
    uint64_t n = 0;
    while (p < end) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        if (!q)
            break;
        n++;
        p = q + 1;
    }
    return n;
}

/* Lines before the current chunk. */
static uint64_t line_base(ingest_run *r)
{
    if (r->in->mapped && r->chunk_p) {
        if (r->chunk_p > r->counted_p) {
            r->counted_lines += count_nl(r->counted_p, r->chunk_p);
            r->counted_p = r->chunk_p;
        }
    }
    return r->counted_lines;
}

static void show_reject(ingest_run *r, uint64_t line, vg_str reason)
{
    if (r->shown < (uint64_t)r->s->show_rejects) {
        progress_clear(r);
        fprintf(stderr, "%s:%llu: %.*s\n", r->in->name, (unsigned long long)line,
                VG_STR_FMT(reason));
        r->shown++;
    }
}

static void on_reject(void *ctx, uint64_t line, vg_str reason, vg_str record)
{
    ingest_run *r = ctx;
    uint64_t abs = line_base(r) + line;
    r->rejected++;
    show_reject(r, abs, reason);
    if (r->store && !r->fatal)
        vg_deadletters_add(&r->dl, r->in->name, abs, reason, record);
}

/* A reject listed by the server (it dead-lettered it); counted from its total. */
static void on_http_reject(void *ctx, uint64_t line, vg_str reason)
{
    ingest_run *r = ctx;
    show_reject(r, line_base(r) + line, reason);
}

/* ---- sinks ---- */

/* Offline: full batches go to the writer thread (one durable append each). */
static vg_err alert_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    ingest_run *r = ctx;
    vg_err e = cli_writer_put(r->writer, b, d);
    if (e) {
        r->fatal = e;
        return VG_EIO;
    }
    return VG_OK;
}

static vg_err store_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    ingest_run *r = ctx;
    if (r->al) {
        /* detection before the rows move to the writer; alert rows follow */
        vg_err de = vg_alerter_batch(r->al, b, &r->aset, NULL, NULL, d);
        if (de) {
            r->fatal = de;
            return VG_EIO;
        }
    }
    vg_err e = cli_writer_put(r->writer, b, d);
    if (e) {
        r->fatal = e;
        return VG_EIO;   /* stops the decoder: not the record's fault */
    }
    return VG_OK;
}

static vg_err post_rows(ingest_run *r, vg_diag *d)
{
    if (!r->rows.n)
        return VG_OK;
    uint64_t acc = 0, rej = 0;
    vg_err e = cli_http_ingest(r->http, vg_str_make(r->rows.p, r->rows.n), "ndjson", NULL, &acc,
                               &rej, NULL, NULL, d);
    vg_buf_clear(&r->rows);
    if (e)
        return e;
    r->accepted += acc;
    r->rejected += rej;
    return VG_OK;
}

/* --server with a whole-file format: rows rendered as native NDJSON and sent. */
static vg_err ndjson_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    ingest_run *r = ctx;
    for (uint32_t i = 0; i < b->nrows; i++) {
        vg_buf_clear(&r->rowtmp);
        vg_batch_row_json(b, i, &r->rowtmp);
        vg_buf_puts(&r->rows, "{\"Table\":");
        vg_buf_put_json_str(&r->rows, vg_str_c(b->table->name));
        if (r->rowtmp.n > 2)
            vg_buf_putc(&r->rows, ',');
        vg_buf_put(&r->rows, r->rowtmp.p + 1, r->rowtmp.n - 1);
        vg_buf_putc(&r->rows, '\n');
    }
    if (r->rows.failed || r->rowtmp.failed) {
        r->fatal = VG_ENOMEM;
        return vg_diag_set(d, VG_ENOMEM, "out of memory rendering rows");
    }
    if (r->rows.n >= (size_t)r->s->chunk) {
        vg_err e = post_rows(r, d);
        if (e) {
            r->fatal = e;
            return VG_EIO;
        }
    }
    return VG_OK;
}

/* ---- feeding chunks ---- */

static vg_err decode_local(ingest_run *r, vg_str text, vg_format fmt, vg_diag *d)
{
    vg_ingest_opts o = r->o;
    o.format = fmt;
    vg_ingest_result res = { 0 };
    vg_err e = vg_ingest_buffer(&r->set, &o, text, on_reject, r, &res, d);
    if (r->store)
        r->accepted += res.accepted;
    if (r->store && r->dl.n && !r->fatal) {
        vg_diag dd;
        vg_diag_clear(&dd);
        vg_err de = vg_store_deadletters_write(r->store, &r->dl, &dd);
        if (de) {
            r->fatal = de;
            memcpy(r->fd.msg, dd.msg, sizeof dd.msg);
        }
    }
    if (r->fatal) {
        memcpy(d->msg, r->fd.msg[0] ? r->fd.msg : d->msg, sizeof d->msg);
        return r->fatal;
    }
    return e;
}

/* A chunk of whole records (or a whole document/file when whole). */
static vg_err feed(ingest_run *r, vg_str text, vg_format fmt, bool whole, vg_diag *d)
{
    r->chunk_p = r->in->mapped ? text.p : NULL;
    vg_err e;
    if (r->http && !whole) {
        uint64_t acc = 0, rej = 0;
        e = cli_http_ingest(r->http, text, vg_format_name(fmt),
                            r->o.table ? r->o.table->name : NULL, &acc, &rej, on_http_reject, r,
                            d);
        r->accepted += acc;
        r->rejected += rej;
    } else {
        e = decode_local(r, text, fmt, d);
    }
    if (!r->in->mapped)
        r->counted_lines += count_nl(text.p, text.p + text.n);
    r->bytes_done += text.n;
    progress_draw(r, false);
    return e;
}

/* Which format, and whether it comes one record per line. */
static vg_format pick_format(ingest_run *r, vg_str head, bool *whole)
{
    vg_format fmt = r->o.format == VG_FMT_AUTO ? vg_format_detect(head) : r->o.format;
    *whole = false;
    if (fmt == VG_FMT_EVTX) {
        *whole = true;
        return fmt;
    }
    const char *p = head.p, *end = head.p + head.n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        vg_str line = vg_str_trim(vg_str_make(p, nl ? (size_t)(nl - p) : (size_t)(end - p)));
        if (line.n) {
            if (line.p[0] == '[' || (line.p[0] == '{' && line.p[line.n - 1] != '}'))
                *whole = nl != NULL;   /* a first line longer than head: still lines */
            break;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return fmt;
}

static vg_err ingest_mapped(ingest_run *r, cli_input *in, vg_diag *d)
{
    vg_str all = in->data;
    bool whole;
    vg_format fmt = pick_format(r, vg_str_make(all.p, all.n < HEAD_BYTES ? all.n : HEAD_BYTES),
                                &whole);
    if (whole)
        return all.n ? feed(r, all, fmt, true, d) : VG_OK;
    size_t chunk = (size_t)r->s->chunk;
    const char *p = all.p, *end = all.p + all.n;
    const char *released = all.p;   /* page-aligned: the map starts on a page */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    while (p < end) {
        const char *q = (size_t)(end - p) <= chunk ? end : p + chunk;
        if (q < end) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            q = nl ? nl + 1 : end;
        }
        vg_err e = feed(r, vg_str_make(p, (size_t)(q - p)), fmt, false, d);
        if (e)
            return e;
        p = q;
        /* decoded rows are copies: drop the pages behind us (re-read if needed) */
        const char *upto = all.p + (size_t)(q - all.p) / page * page;
        if (upto > released) {
            madvise((void *)released, (size_t)(upto - released), MADV_DONTNEED);
            released = upto;
        }
    }
    return VG_OK;
}

static vg_err ingest_stream(ingest_run *r, cli_input *in, vg_diag *d)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    size_t chunk = (size_t)r->s->chunk;
    vg_err e = cli_input_read(in, &b, chunk > HEAD_BYTES ? chunk : HEAD_BYTES, d);
    bool whole;
    vg_format fmt = VG_FMT_NDJSON;
    if (!e)
        fmt = pick_format(r, vg_str_make(b.p ? b.p : "", b.n < HEAD_BYTES ? b.n : HEAD_BYTES),
                          &whole);
    if (!e && whole) {
        while (!e && !in->eof) {
            if (b.n > MAX_WHOLE) {
                e = vg_diag_set(d, VG_ELIMIT, "%s: a whole-file input larger than %llu bytes",
                                in->name, (unsigned long long)MAX_WHOLE);
                break;
            }
            e = cli_input_read(in, &b, chunk, d);
        }
        if (!e && b.n)
            e = feed(r, vg_str_make(b.p, b.n), fmt, true, d);
        vg_buf_free(&b);
        return e;
    }
    while (!e) {
        /* feed up to the last newline; keep the partial line */
        const char *last = b.n ? memrchr(b.p, '\n', b.n) : NULL;
        if (in->eof)
            last = b.n ? b.p + b.n - 1 : NULL;
        if (last) {
            size_t n = (size_t)(last - b.p) + 1;
            e = feed(r, vg_str_make(b.p, n), fmt, false, d);
            memmove(b.p, b.p + n, b.n - n);
            b.n -= n;
        } else if (b.n > VG_INGEST_MAX_RECORD + chunk) {
            /* one line longer than any record may be: reject it as a whole */
            e = feed(r, vg_str_make(b.p, b.n), fmt, false, d);
            b.n = 0;
        }
        if (e || in->eof)
            break;
        e = cli_input_read(in, &b, chunk, d);
    }
    vg_buf_free(&b);
    return e;
}

static vg_err ingest_one(ingest_run *r, const char *path, vg_diag *d)
{
    cli_input in;
    vg_err e = cli_input_open(&in, path, d);
    if (e)
        return e;
    r->in = &in;
    r->counted_lines = 0;
    r->counted_p = in.data.p;
    r->chunk_p = NULL;
    e = in.mapped ? ingest_mapped(r, &in, d) : ingest_stream(r, &in, d);
    if (e && !strstr(d->msg, in.name))
        vg_diag_prefix(d, "%s: ", in.name);
    r->files++;
    cli_input_close(&in);
    return e;
}

int cmd_ingest(int argc, char **argv)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    ingest_settings s;
    vg_cfg_args args;
    ingest_run r;
    memset(&r, 0, sizeof r);
    vg_buf_init(&r.rows, 0);
    vg_buf_init(&r.rowtmp, 0);
    vg_diag d;
    vg_diag_clear(&d);
    int rc = cli_parse(&ingest_spec, argc, argv, &s, &args, &a);
    if (rc >= 0)
        goto out;
    rc = CLI_USAGE;
    r.s = &s;
    r.o.keep_raw = true;
    r.o.evtx_recover = s.evtx_recover;
    if (args.npos == 0) {
        cli_err("ingest", "give the files to load, or - for stdin (see vigil ingest --help)");
        goto out;
    }
    if (vg_format_parse(s.format, &r.o.format)) {
        cli_err("ingest", "--format: unknown format '%s' (auto, ndjson, evtx, evtx-json, "
                          "winlogbeat)", s.format);
        goto out;
    }
    if (s.table[0] && !(r.o.table = vg_schema_table(vg_str_c(s.table)))) {
        cli_err("ingest", "--table: unknown table '%s' (vigil schema lists them)", s.table);
        goto out;
    }
    rc = CLI_ERR;
    bool unknown = false;   /* a stream among the inputs: total size unknown */
    for (int i = 0; i < args.npos; i++) {
        struct stat st;
        if (strcmp(args.pos[i], "-") == 0 || stat(args.pos[i], &st) != 0 || !S_ISREG(st.st_mode))
            unknown = true;
        else
            r.bytes_total += (uint64_t)st.st_size;
    }
    if (unknown)
        r.bytes_total = 0;
    r.progress = s.progress && cli_stderr_tty() && (unknown || r.bytes_total >= PROGRESS_MIN);

    if (s.server[0]) {
        const char *tok = s.token[0] ? s.token : getenv("VIGIL_TOKEN");
        if (!tok || !*tok) {
            cli_err("ingest", "--server needs a token: --token T or VIGIL_TOKEN");
            rc = CLI_USAGE;
            goto out;
        }
        if (cli_http_open(s.server, tok, &r.http, &d)) {
            cli_err("ingest", "%s", d.msg);
            goto out;
        }
        if (vg_batchset_init(&r.set, 0, ndjson_sink, &r)) {
            cli_err("ingest", "out of memory");
            goto out;
        }
    } else {
        vg_store_opts so = { .dir = s.data, .no_fsync = s.no_fsync };
        vg_err e = vg_store_open(&so, &r.store, &d);
        if (e == VG_EBUSY) {
            cli_err("ingest", "%s is in use by another process (a running vigild?): stop it, or "
                              "send through it with --server URL --token T", s.data);
            goto out;
        }
        if (e) {
            cli_err("ingest", "cannot open %s: %s", s.data, d.msg[0] ? d.msg : vg_strerror(e));
            goto out;
        }
        if (cli_writer_start(r.store, WRITER_DEPTH, &r.writer, &d)) {
            cli_err("ingest", "%s", d.msg);
            goto out;
        }
        if (vg_batchset_init(&r.set, (uint32_t)s.batch_rows, store_sink, &r)) {
            cli_err("ingest", "out of memory");
            goto out;
        }
        if (s.detect) {
            vg_detect_opts dop;
            if (!s.r.rules.n && !vg_detect_default_paths(dop.paths, VG_DETECT_MAX_PATHS)) {
                fprintf(stderr, "ingest: no Sigma rule pack found (--rules, VIGIL_RULES, `make "
                                "rules`): ingesting without detection\n");
            } else {
                vg_detect *det = NULL;
                rc = cli_rules_build(&s.r, "ingest", true, &det);
                if (rc != CLI_OK)
                    goto out;
                rc = CLI_ERR;
                vg_alert_opts ao = { 0 };
                ao.suppress_window = s.suppress * VG_TICKS_PER_SEC;
                ao.corr.lateness = s.r.lateness * VG_TICKS_PER_SEC;
                vg_err ae = vg_alerter_new(det, &ao, &r.al, &d);
                vg_detect_release(det);   /* the alerter holds its own reference */
                if (ae || vg_batchset_init(&r.aset, 0, alert_sink, &r)) {
                    cli_err("ingest", "detection: %s", d.msg);
                    goto out;
                }
                r.aset_ready = true;
            }
        }
    }
    r.set_ready = true;
    r.t0 = vg_mono_ns();
    vg_err e = VG_OK;
    for (int i = 0; i < args.npos && !e; i++)
        e = ingest_one(&r, args.pos[i], &d);
    if (!e)
        e = vg_batchset_flush(&r.set, &d);
    if (!e && r.al)
        e = vg_alerter_flush(r.al, INT64_MAX / 2, &r.aset, NULL, NULL, &d);
    if (!e && r.aset_ready) {
        uint64_t before = r.aset.rows_added;
        e = vg_batchset_flush(&r.aset, &d);
        (void)before;
    }
    if (r.al) {
        vg_alert_stats ast;
        vg_alerter_stats(r.al, &ast);
        r.alerts = ast.alerts;
    }
    if (!e && r.http)
        e = post_rows(&r, &d);
    if (r.writer) {
        vg_err we = cli_writer_finish(r.writer, e ? NULL : &d);
        if (!e)
            e = we;
    }
    if (e && r.fatal && r.fd.msg[0])
        memcpy(d.msg, r.fd.msg, sizeof d.msg);
    if (!e && r.store) {
        /* seal: the timing includes making everything durable and compact */
        vg_store *st = r.store;
        r.store = NULL;
        e = vg_store_close(st, &d);
    }
    progress_draw(&r, true);
    progress_clear(&r);
    double sec = (double)(vg_mono_ns() - r.t0) / 1e9;
    if (e) {
        cli_err("ingest", "%s", d.msg[0] ? d.msg : vg_strerror(e));
        rc = CLI_ERR;
    } else {
        rc = r.rejected ? CLI_REJECTED : CLI_OK;
    }
    char acc[32], rej[32], rate[32];
    printf("ingest: %llu file%s, %s rows accepted, %s rejected, %.2f s, %s rows/s%s\n",
           (unsigned long long)r.files, r.files == 1 ? "" : "s",
           cli_num(r.accepted, acc, sizeof acc), cli_num(r.rejected, rej, sizeof rej), sec,
           cli_num(sec > 0 ? (uint64_t)((double)r.accepted / sec) : 0, rate, sizeof rate),
           r.rejected > r.shown ? " (see the dead-letter area for all rejects)" : "");
    if (r.al)
        printf("ingest: %llu alert%s raised by the Sigma rules (query AlertInfo)\n",
               (unsigned long long)r.alerts, r.alerts == 1 ? "" : "s");
    if (r.http) {
        uint64_t wire, raw;
        cli_http_sent(r.http, &wire, &raw);
        char w[32], rr[32];
        printf("ingest: sent %s as %s (zstd)\n", cli_bytes(raw, rr, sizeof rr),
               cli_bytes(wire, w, sizeof w));
    }
out:
    cli_writer_free(r.writer);   /* before the store closes */
    if (r.set_ready)
        vg_batchset_free(&r.set);
    if (r.aset_ready)
        vg_batchset_free(&r.aset);
    vg_alerter_free(r.al);
    if (r.store) {
        vg_diag cd;
        vg_store_close(r.store, &cd);
    }
    if (r.http)
        cli_http_close(r.http);
    vg_buf_free(&r.rows);
    vg_buf_free(&r.rowtmp);
    vg_deadletters_free(&r.dl);
    vg_arena_free(&a);
    return rc;
}
