/*
 * srv_hunt.c - advanced hunting over HTTP: POST /api/advancedhunting/run
 * (Defender's shape: {"Stats","Schema","Results"}) and POST
 * /api/v1/security/runHuntingQuery (Graph's: {"schema","results"}); both take
 * {"Query": "..."} (any case of the key) and answer 400 with the message
 * and position when the query is wrong.
 *
 * Limits, as Defender's API has them: results capped at 100,000 rows (a
 * smaller "MaxRows" may be asked for) with an explicit truncation flag, a
 * per-query timeout and memory cap, and at most --hunt-concurrency queries
 * at once (others get 429 with Retry-After: 1), so hunting cannot starve
 * ingestion or take the server down. `?format=ndjson|ndjson-schema|csv|table`
 * returns the other renderings (used by `vigil hunt --server`).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../core/vg_json.h"
#include "../core/vg_log.h"
#include "../kql/vg_kql.h"
#include "vg_srv_int.h"

static atomic_int running;

static void hunt(vg_req *rq, vg_kql_format deflt)
{
    vg_arena a;
    vg_arena_init(&a, 0, (size_t)4 << 20);
    vg_json *root = NULL;
    vg_diag d;
    vg_diag_clear(&d);
    vg_kql_result *res = NULL;
    bool counted = false;
    vg_kql_format fmt = deflt;
    bool with_schema = false;
    const char *farg = vg_req_arg(rq, "format");
    if (farg && *farg) {
        if (!strcmp(farg, "ndjson"))
            fmt = VG_KQL_FMT_NDJSON;
        else if (!strcmp(farg, "ndjson-schema"))
            fmt = VG_KQL_FMT_NDJSON, with_schema = true;
        else if (!strcmp(farg, "csv"))
            fmt = VG_KQL_FMT_CSV;
        else if (!strcmp(farg, "table"))
            fmt = VG_KQL_FMT_TABLE;
        else if (!strcmp(farg, "defender"))
            fmt = VG_KQL_FMT_DEFENDER;
        else if (!strcmp(farg, "graph"))
            fmt = VG_KQL_FMT_GRAPH;
        else {
            vg_req_json_error(rq, 400, "format: ndjson, ndjson-schema, csv, table, defender or graph, "
                                       "not '%.32s'", farg);
            goto out;
        }
    }
    if (vg_json_parse(&a, vg_str_make(rq->body.p ? rq->body.p : "", rq->body.n), &root, &d) ||
        root->kind != VG_JSON_OBJECT) {
        vg_req_json_error(rq, 400, "the body must be a JSON object {\"Query\": \"...\"}%s%s",
                          d.msg[0] ? ": " : "", d.msg);
        goto out;
    }
    const vg_json *qn = NULL, *mr = NULL;
    for (uint32_t i = 0; i < root->n; i++) {
        if (vg_str_eqc_ci(root->kids[i]->key, "query"))
            qn = root->kids[i];
        else if (vg_str_eqc_ci(root->kids[i]->key, "maxrows"))
            mr = root->kids[i];
    }
    if (!qn || qn->kind != VG_JSON_STRING) {
        vg_req_json_error(rq, 400, "missing \"Query\" (a string) in the body");
        goto out;
    }
    const vg_srv_settings *cfg = rq->srv->cfg;
    vg_kql_opts o = { .max_rows = (uint64_t)cfg->hunt_max_rows,
                      .timeout_ms = (uint64_t)cfg->hunt_timeout * 1000,
                      .max_memory = (size_t)cfg->hunt_max_memory, .geo = rq->srv->geo };
    if (mr) {
        int64_t v;
        if (mr->kind != VG_JSON_NUMBER || vg_str_to_i64(mr->str, &v) || v < 1 ||
            v > cfg->hunt_max_rows) {
            vg_req_json_error(rq, 400, "MaxRows: a number from 1 to %lld", (long long)cfg->hunt_max_rows);
            goto out;
        }
        o.max_rows = (uint64_t)v;
    }
    if (atomic_fetch_add(&running, 1) >= cfg->hunt_concurrency) {
        atomic_fetch_sub(&running, 1);
        rq->retry_after = "1";
        vg_req_json_error(rq, 429, "too many hunting queries are running (at most %lld at once); "
                                   "retry shortly", (long long)cfg->hunt_concurrency);
        goto out;
    }
    counted = true;
    vg_err e = vg_kql_run(rq->srv->store, qn->str, &o, &res, &d);
    if (e) {
        int status = e == VG_ELIMIT ? 422 : e == VG_ENOMEM ? 503 : e == VG_EIO ? 500 : 400;
        vg_log(VG_LOG_INFO, "hunting query failed", VG_LS("who", rq->who.name),
               VG_LS("error", d.msg));
        vg_req_json_error(rq, status, "%s", d.msg[0] ? d.msg : vg_strerror(e));
        goto out;
    }
    vg_kql_stats st;
    vg_kql_result_stats(res, &st);
    vg_log(VG_LOG_INFO, "hunting query", VG_LS("who", rq->who.name),
           VG_LI("rows", vg_kql_result_nrows(res)), VG_LI("ms", (int64_t)st.elapsed_ms),
           VG_LI("query_bytes", qn->str.n));
    rq->status = 200;
    rq->content_type = fmt == VG_KQL_FMT_CSV ? "text/csv"
                       : fmt == VG_KQL_FMT_TABLE ? "text/plain; charset=utf-8"
                       : fmt == VG_KQL_FMT_NDJSON ? "application/x-ndjson"
                                                  : "application/json";
    vg_kql_result_write(res, fmt, with_schema, &rq->out);
out:
    if (counted)
        atomic_fetch_sub(&running, 1);
    vg_kql_result_free(res);
    vg_arena_free(&a);
}

void vg_h_hunt(vg_req *rq) { hunt(rq, VG_KQL_FMT_DEFENDER); }
void vg_h_hunt_graph(vg_req *rq) { hunt(rq, VG_KQL_FMT_GRAPH); }
