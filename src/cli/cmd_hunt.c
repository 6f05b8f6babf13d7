/*
 * cmd_hunt.c - `vigil hunt`: advanced hunting in KQL from the command line,
 * offline over a data directory (opened read-only, so it runs beside a
 * live vigild) or against a server's POST /api/advancedhunting/run.
 *
 *   vigil hunt [--data DIR | --server URL --token T] [--format table|json|csv]
 *              [--schema] [--stats] [-f FILE | 'QUERY']
 *
 * json prints one JSON object per row (with --schema, a first line of
 * [name, type] pairs); --stats prints one JSON line of statistics to stderr.
 */
#include <curl/curl.h>
#include <maxminddb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kql/vg_kql.h"
#include "../store/vg_store.h"
#include "cli_int.h"

#define HUNT_MAX_QUERY (1u << 20)

typedef struct hunt_settings {
    const char *data;
    const char *server;
    const char *token;
    const char *file;
    const char *format;
    bool schema;
    bool stats;
    int64_t max_rows;
    int64_t timeout;
    const char *geoip_db;
    int64_t threads;
    int64_t par_min_rows;
} hunt_settings;

#define OFF(f) offsetof(hunt_settings, f)
static const vg_cfg_def hunt_defs[] = {
    { "data", VG_CFG_STRING, "./vigil-data", 0, 0, false, OFF(data),
      "data directory to query offline (read-only; a running vigild may own it)" },
    { "server", VG_CFG_STRING, "", 0, 0, false, OFF(server),
      "query a vigild at this URL (http://host:port) instead of a data directory" },
    { "token", VG_CFG_STRING, "", 0, 0, false, OFF(token),
      "bearer token for --server (role viewer or higher); default $VIGIL_TOKEN" },
    { "file", VG_CFG_STRING, "", 0, 0, false, OFF(file), "read the query from FILE (also -f FILE)" },
    { "format", VG_CFG_STRING, "table", 0, 0, false, OFF(format),
      "output: table (aligned text), json (one object per row), csv" },
    { "schema", VG_CFG_BOOL, "false", 0, 0, false, OFF(schema),
      "json: print the columns as [name, type] pairs on the first line" },
    { "stats", VG_CFG_BOOL, "false", 0, 0, false, OFF(stats),
      "print statistics (ElapsedMs, rows scanned, blocks skipped) as JSON on stderr" },
    { "max-rows", VG_CFG_INT, "100000", 1, INT64_MAX, false, OFF(max_rows),
      "keep at most this many result rows (the result says when it was truncated)" },
    { "timeout", VG_CFG_DURATION, "10m", 1, 86400, false, OFF(timeout),
      "stop the query after this long" },
    { "geoip-db", VG_CFG_STRING, "", 0, 0, false, OFF(geoip_db),
      "MaxMind database (.mmdb) for geo_info_from_ip_address() (offline queries)" },
    { "threads", VG_CFG_INT, "0", 0, 64, false, OFF(threads),
      "offline: scans run in this many parallel parts (0: one per core, at most 8; 1: none)" },
    { "parallel-min-rows", VG_CFG_INT, "200000", 1, INT64_MAX, false, OFF(par_min_rows),
      "offline: tables with fewer rows are scanned by one thread" },
};
#undef OFF

static const vg_cfg_spec hunt_spec = {
    "vigil hunt", "run a KQL advanced hunting query over a data directory or a server",
    "vigil hunt [--data DIR | --server URL --token T] [--format table|json|csv] [-f FILE | QUERY]",
    hunt_defs, sizeof hunt_defs / sizeof hunt_defs[0],
};

static vg_err read_file(const char *path, vg_buf *out, vg_diag *d)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return vg_diag_set(d, VG_EIO, "cannot open %s: %m", path);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (out->n + n > HUNT_MAX_QUERY) {
            if (f != stdin)
                fclose(f);
            return vg_diag_set(d, VG_ELIMIT, "%s: the query is longer than %u bytes", path,
                               HUNT_MAX_QUERY);
        }
        vg_buf_put(out, buf, n);
    }
    if (f != stdin)
        fclose(f);
    return VG_OK;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ctx)
{
    vg_buf_put(ctx, p, sz * n);
    return ((vg_buf *)ctx)->failed ? 0 : sz * n;
}

/* POST the query to the server; its answer (already in the chosen format) to out. */
static int hunt_server(const hunt_settings *s, vg_str query, vg_buf *out)
{
    const char *token = s->token[0] ? s->token : getenv("VIGIL_TOKEN");
    if (!token || !token[0]) {
        cli_err("hunt", "--server needs --token T (or VIGIL_TOKEN in the environment)");
        return CLI_USAGE;
    }
    if (strncmp(s->server, "http://", 7) && strncmp(s->server, "https://", 8)) {
        cli_err("hunt", "--server: expected http://host:port, got '%s'", s->server);
        return CLI_USAGE;
    }
    if (strlen(token) > 1024 || strpbrk(token, "\r\n")) {
        cli_err("hunt", "--token: not a valid token");
        return CLI_USAGE;
    }
    const char *fmt = !strcmp(s->format, "json") ? (s->schema ? "ndjson-schema" : "ndjson")
                                                 : s->format;
    char url[2048], auth[1100];
    size_t sl = strlen(s->server);
    snprintf(url, sizeof url, "%.*s/api/advancedhunting/run?format=%s%s", (int)(sl && s->server[sl - 1] == '/' ? sl - 1 : sl),
             s->server, fmt, s->stats ? "&stats=1" : "");
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    vg_buf body;
    vg_buf_init(&body, 0);
    vg_buf_puts(&body, "{\"Query\":");
    vg_buf_put_json_str(&body, query);
    vg_buf_printf(&body, ",\"MaxRows\":%lld}", (long long)s->max_rows);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    struct curl_slist *h2 = h ? curl_slist_append(h, "Content-Type: application/json") : NULL;
    int rc = CLI_ERR;
    if (!c || !h2) {
        cli_err("hunt", "out of memory");
        goto out;
    }
    h = h2;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.p);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.n);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)s->timeout + 30);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        cli_err("hunt", "%s: %s", s->server, curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        cli_err("hunt", "the server answered %ld: %.*s", status, (int)(out->n > 2000 ? 2000 : out->n),
                out->p ? (const char *)out->p : "");
        out->n = 0;
        goto out;
    }
    rc = CLI_OK;
out:
    curl_slist_free_all(h);
    if (c)
        curl_easy_cleanup(c);
    vg_buf_free(&body);
    return rc;
}

int cmd_hunt(int argc, char **argv)
{
    /* -f FILE is --file FILE */
    char **av = calloc((size_t)argc + 1, sizeof *av);
    if (!av)
        return CLI_ERR;
    for (int i = 0; i < argc; i++)
        av[i] = strcmp(argv[i], "-f") ? argv[i] : (char *)"--file";
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    hunt_settings s;
    vg_cfg_args args;
    vg_buf query, out;
    vg_buf_init(&query, 0);
    vg_buf_init(&out, 0);
    vg_store *st = NULL;
    vg_kql_result *res = NULL;
    MMDB_s geo;
    bool geo_open = false;
    vg_diag d;
    vg_diag_clear(&d);
    int rc = cli_parse(&hunt_spec, argc, av, &s, &args, &a);
    if (rc >= 0)
        goto out;
    rc = CLI_USAGE;
    vg_kql_format fmt;
    if (!strcmp(s.format, "table"))
        fmt = VG_KQL_FMT_TABLE;
    else if (!strcmp(s.format, "json"))
        fmt = VG_KQL_FMT_NDJSON;
    else if (!strcmp(s.format, "csv"))
        fmt = VG_KQL_FMT_CSV;
    else {
        cli_err("hunt", "--format: expected table, json or csv, got '%s'", s.format);
        goto out;
    }
    if (s.file[0]) {
        if (args.npos) {
            cli_err("hunt", "give the query either with -f FILE or as an argument, not both");
            goto out;
        }
        if (read_file(s.file, &query, &d)) {
            cli_err("hunt", "%s", d.msg);
            rc = CLI_ERR;
            goto out;
        }
    } else if (args.npos == 1) {
        vg_buf_puts(&query, args.pos[0]);
    } else {
        cli_err("hunt", "give one query (quoted) or -f FILE (see vigil hunt --help)");
        goto out;
    }
    vg_str q = vg_str_make(query.p ? (const char *)query.p : "", query.n);
    if (s.server[0]) {
        rc = hunt_server(&s, q, &out);
        if (out.n)
            fwrite(out.p, 1, out.n, stdout);
        goto out;
    }
    rc = CLI_ERR;
    vg_store_opts so = { .dir = s.data, .read_only = true };
    /* without a data directory, queries over datatable/print/range still run */
    vg_err e = access(s.data, F_OK) ? VG_OK : vg_store_open(&so, &st, &d);
    if (e) {
        cli_err("hunt", "cannot open %s: %s", s.data, d.msg[0] ? d.msg : vg_strerror(e));
        goto out;
    }
    vg_kql_opts ko = { .max_rows = (uint64_t)s.max_rows, .timeout_ms = (uint64_t)s.timeout * 1000,
                       .threads = (uint32_t)s.threads, .par_min_rows = (uint64_t)s.par_min_rows };
    if (s.geoip_db[0]) {
        int mrc = MMDB_open(s.geoip_db, MMDB_MODE_MMAP, &geo);
        if (mrc != MMDB_SUCCESS) {
            cli_err("hunt", "cannot open %s: %s", s.geoip_db, MMDB_strerror(mrc));
            goto out;
        }
        geo_open = true;
        ko.geo = &geo;
    }
    e = vg_kql_run(st, q, &ko, &res, &d);
    if (e) {
        cli_err("hunt", "%s", d.msg[0] ? d.msg : vg_strerror(e));
        goto out;
    }
    vg_kql_result_write(res, fmt, s.schema, &out);
    if (out.n)
        fwrite(out.p, 1, out.n, stdout);
    if (vg_kql_result_truncated(res))
        cli_err("hunt", "the result was truncated to %lld rows (--max-rows)", (long long)s.max_rows);
    if (s.stats) {
        vg_kql_stats ks;
        vg_kql_result_stats(res, &ks);
        fprintf(stderr,
                "{\"ElapsedMs\":%.3f,\"Rows\":%llu,\"RowsScanned\":%llu,\"SegmentsTotal\":%llu,"
                "\"SegmentsSkipped\":%llu,\"BlocksTotal\":%llu,\"BlocksSkipped\":%llu,\"Truncated\":%s}\n",
                ks.elapsed_ms, (unsigned long long)vg_kql_result_nrows(res),
                (unsigned long long)ks.rows_scanned, (unsigned long long)ks.segments_total,
                (unsigned long long)ks.segments_skipped, (unsigned long long)ks.blocks_total,
                (unsigned long long)ks.blocks_skipped, vg_kql_result_truncated(res) ? "true" : "false");
    }
    rc = CLI_OK;
out:
    vg_kql_result_free(res);
    if (geo_open)
        MMDB_close(&geo);
    if (st) {
        vg_diag d2;
        vg_store_close(st, &d2);
    }
    vg_buf_free(&query);
    vg_buf_free(&out);
    vg_arena_free(&a);
    free(av);
    return rc;
}
