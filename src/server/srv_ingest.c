/*
 * srv_ingest.c - POST /api/v1/ingest: from a request body to durable rows.
 *
 *   1. options: ?table= (default table for native NDJSON), ?format=, and the
 *      Content-Encoding header; unknown values are a 400 (415 for encodings);
 *   2. vg_ingest_body (srv_body.c) decodes the body into a batch set whose
 *      sink collects full batches (moved, not copied) - nothing is written
 *      yet, so a request that fails here leaves no trace;
 *   3. every rejected record goes to the store's dead-letter area with its
 *      line and reason;
 *   4. ONE vg_store_append of all the batches: when it returns VG_OK the
 *      rows are in the fsync()ed WAL, and only then is the answer 200
 *      {"accepted":N,"rejected":[{"line":L,"error":"..."}],"rejected_total":M}.
 *      Any store failure is a 503 and nothing of the request is acknowledged
 *      (a dead-letter entry may then be repeated when the client retries).
 *   4b. ?device=&seq= (endpoint agents, srv_agents.c): before anything is
 *      decoded, a batch whose seq is at or below the device's last
 *      acknowledged seq is answered 200 {"accepted":0,"duplicate":true} and
 *      not stored (the agent resent a batch whose answer it never got); a
 *      device token's batch naming another device is a 400. The seq is
 *      recorded only after the store append succeeded, so a crash in
 *      between makes the agent's resend count as new: stored twice rather
 *      than lost (at-least-once; the agent resends only unacknowledged
 *      batches, so that window is one batch). While a batch is being stored,
 *      the same (device, seq) arriving again (a resend after a client
 *      timeout) is a 503 with Retry-After, not a second copy.
 *   5. the request's alerts (now durable) go to the incident engine, so the
 *      200 also means "incidents updated"; if that fails the alerts are still
 *      stored, and the reconcile pass at the next start correlates them.
 *
 * Every request also leaves an audit line naming the token (id and name,
 * never the secret) and its outcome.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/vg_log.h"
#include "vg_srv_int.h"

/* Batches collected from the batch set's sink, owned by the request. */
typedef struct collect {
    vg_batch **v;
    size_t n, cap;
} collect;

static vg_err collect_push(collect *c, vg_batch *b)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        vg_batch **v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return VG_ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = b;
    return VG_OK;
}

/*
 * The sink: takes the full batch's contents and leaves a fresh empty batch
 * of the same table in its place (the batch set resets it afterwards).
 */
static vg_err collect_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    collect *c = ctx;
    vg_batch *nb = malloc(sizeof *nb);
    if (!nb)
        return vg_diag_set(d, VG_ENOMEM, "out of memory collecting a batch");
    *nb = *b;
    vg_err e = vg_batch_init(b, nb->table, nb->cap, NULL, nb->has_raw);
    if (e == VG_OK)
        e = collect_push(c, nb);
    if (e) {
        vg_batch_free(b);
        *b = *nb;
        free(nb);
        return vg_diag_set(d, VG_ENOMEM, "out of memory collecting a batch");
    }
    return VG_OK;
}

/* Moves the set's partly filled batches into c (no re-allocation). */
static vg_err collect_rest(collect *c, vg_batchset *set)
{
    for (size_t t = 0; t < vg_schema_ntables; t++) {
        vg_batch *b = &set->by_table[t];
        if (!b->table || !b->nrows)
            continue;
        vg_batch *nb = malloc(sizeof *nb);
        if (!nb || collect_push(c, nb)) {
            free(nb);
            return VG_ENOMEM;
        }
        *nb = *b;
        memset(b, 0, sizeof *b);   /* vg_batchset_free skips it now */
    }
    return VG_OK;
}

static void collect_free(collect *c)
{
    for (size_t i = 0; i < c->n; i++) {
        vg_batch_free(c->v[i]);
        free(c->v[i]);
    }
    free(c->v);
}

/* A reason cut to at most max bytes on a UTF-8 boundary. */
static vg_str cut_utf8(vg_str s, size_t max)
{
    if (s.n <= max)
        return s;
    size_t n = max;
    while (n && ((unsigned char)s.p[n] & 0xC0) == 0x80)
        n--;
    return vg_str_make(s.p, n);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (!len || len > n || (len == 2 && c < 0xC2) || (len == 4 && c > 0xF4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)))
        return 0;   /* overlong, or a UTF-16 surrogate */
    if (len == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)))
        return 0;
    return len;
}

/*
 * A reason as a JSON string that is valid UTF-8 whatever the input held
 * (reasons may quote bytes of the bad record): invalid bytes become U+FFFD.
 */
static void put_reason(vg_buf *o, vg_str s)
{
    vg_buf clean;
    vg_buf_init(&clean, 0);
    const unsigned char *p = (const unsigned char *)s.p;
    for (size_t i = 0; i < s.n;) {
        size_t k = utf8_seq(p + i, s.n - i);
        if (k) {
            vg_buf_put(&clean, p + i, k);
            i += k;
        } else {
            vg_buf_put(&clean, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    vg_buf_put_json_str(o, vg_str_make(clean.p, clean.n));
    vg_buf_free(&clean);
}

static void answer(vg_req *rq, uint64_t accepted, const vg_rejects *rej)
{
    vg_buf *o = &rq->out;
    rq->status = 200;
    rq->content_type = "application/json";
    vg_buf_printf(o, "{\"accepted\":%llu,\"rejected\":[", (unsigned long long)accepted);
    size_t shown = rej->n < VG_SRV_MAX_REJECT_LIST ? rej->n : VG_SRV_MAX_REJECT_LIST;
    for (size_t i = 0; i < shown; i++) {
        vg_buf_printf(o, "%s{\"line\":%llu,\"error\":", i ? "," : "",
                      (unsigned long long)rej->v[i].line);
        put_reason(o, cut_utf8(rej->v[i].reason, VG_SRV_MAX_REASON));
        vg_buf_putc(o, '}');
    }
    vg_buf_printf(o, "],\"rejected_total\":%llu", (unsigned long long)rej->n);
    if (shown < rej->n)
        vg_buf_puts(o, ",\"rejected_truncated\":true");
    vg_buf_puts(o, "}\n");
}

static int status_for(vg_err e)
{
    switch (e) {
    case VG_ELIMIT: return 413;
    case VG_EPARSE:
    case VG_EINVAL:
    case VG_EUNSUPPORTED:
    case VG_ETYPE: return 400;
    case VG_ENOMEM:
    case VG_EIO:
    case VG_EBUSY: return 503;
    default: return 500;
    }
}

void vg_h_ingest(vg_req *rq)
{
    vg_srv *s = rq->srv;
    vg_diag d;
    vg_diag_clear(&d);
    vg_ingest_opts o = { .format = VG_FMT_AUTO, .table = NULL, .keep_raw = true };
    const char *targ = vg_req_arg(rq, "table");
    const char *farg = vg_req_arg(rq, "format");
    const char *rarg = vg_req_arg(rq, "evtx_recover");
    const char *earg = vg_req_header(rq, "Content-Encoding");
    const char *darg = vg_req_arg(rq, "device");
    const char *sarg = vg_req_arg(rq, "seq");
    int64_t seq = 0;   /* > 0: record it once the rows are durable */
    bool seq_held = false;   /* (device, seq) held in flight: release at the end */
    collect c = { 0 };
    vg_batchset set;
    bool set_ok = false;
    vg_buf decoded;
    vg_buf_init(&decoded, 0);
    vg_rejects rej;
    vg_rejects_init(&rej);
    vg_ingest_result res;
    memset(&res, 0, sizeof res);
    uint64_t accepted = 0, nalerts = 0;
    vg_err e;

    if (targ && *targ) {
        if (strlen(targ) > VG_SRV_MAX_QUERY_ARG || !(o.table = vg_schema_table(vg_str_c(targ)))) {
            vg_req_json_error(rq, 400, "unknown table '%.64s'", targ);
            goto out;
        }
    }
    if (farg && *farg && vg_format_parse(farg, &o.format) != VG_OK) {
        vg_req_json_error(rq, 400, "unknown format '%.64s' (auto, ndjson, evtx-json, "
                          "winlogbeat, evtx)", farg);
        goto out;
    }
    if (rarg && *rarg) {
        if (strcmp(rarg, "1") != 0 && strcmp(rarg, "0") != 0) {
            vg_req_json_error(rq, 400, "evtx_recover: want 0 or 1, not '%.64s'", rarg);
            goto out;
        }
        o.evtx_recover = rarg[0] == '1';
    }
    if ((darg && *darg) || (sarg && *sarg)) {
        bool dup = false;
        if (!vg_srv_agents_seq_check(rq, darg, sarg, &seq, &dup, &seq_held))
            goto out;
        if (dup) {
            rq->status = 200;
            vg_buf_printf(&rq->out, "{\"accepted\":0,\"duplicate\":true,\"seq\":%lld,"
                          "\"rejected\":[],\"rejected_total\":0}\n", (long long)seq);
            goto out;
        }
    }
    vg_encoding enc;
    if (vg_encoding_parse(earg, &enc) != VG_OK) {
        vg_req_json_error(rq, 415, "unsupported Content-Encoding '%.64s' (gzip, deflate, zstd)",
                          earg);
        goto out;
    }
    if ((e = vg_batchset_init(&set, 0, collect_sink, &c))) {
        vg_req_json_error(rq, 503, "out of memory");
        goto out;
    }
    set_ok = true;
    e = vg_ingest_body(enc, vg_str_make(rq->body.p, rq->body.n), (size_t)s->cfg->max_decoded,
                       &o, &set, &decoded, &rej, &res, &d);
    /* the raw body is no longer needed once decoded (identity bodies are the text) */
    if (e == VG_OK && enc != VG_ENC_IDENTITY)
        vg_buf_free(&rq->body);
    if (e == VG_OK && collect_rest(&c, &set))
        e = vg_diag_set(&d, VG_ENOMEM, "out of memory collecting batches");
    if (e) {
        vg_req_json_error(rq, status_for(e), "%s", d.msg[0] ? d.msg : vg_strerror(e));
        goto out;
    }
    /* bad records: durable in the dead-letter area before anything is acknowledged */
    char source[96];
    snprintf(source, sizeof source, "http:%s", rq->who.name);
    {
        /* one write and one fsync for all of this request's dead letters */
        vg_deadletters dl;
        vg_deadletters_init(&dl);
        for (size_t i = 0; i < rej.n; i++)
            vg_deadletters_add(&dl, source, rej.v[i].line, rej.v[i].reason, rej.v[i].record);
        e = vg_store_deadletters_write(s->store, &dl, &d);
        vg_deadletters_free(&dl);
        if (e) {
            vg_log(VG_LOG_ERROR, "dead-letter write failed", VG_LS("error", d.msg));
            vg_req_json_error(rq, 503, "store unavailable (dead-letter): %s", d.msg);
            goto out;
        }
    }
    for (size_t i = 0; i < c.n; i++)
        accepted += c.v[i]->nrows;
    /* detection: alert rows join the same append, durable with their events */
    if (c.n && s->detect) {
        collect ca = { 0 };
        vg_batchset aset;
        if (vg_batchset_init(&aset, 0, collect_sink, &ca) == VG_OK) {
            vg_srv_detect_run(s, c.v, c.n, &aset, &nalerts);
            bool ok = collect_rest(&ca, &aset) == VG_OK;
            vg_batchset_free(&aset);
            for (size_t i = 0; i < ca.n; i++) {
                if (ok && collect_push(&c, ca.v[i]) == VG_OK)
                    continue;
                ok = false;
                vg_batch_free(ca.v[i]);
                free(ca.v[i]);
            }
            free(ca.v);
            if (!ok)
                vg_log(VG_LOG_ERROR, "out of memory collecting alerts; the events are stored without them");
        }
    }
    if (c.n && (e = vg_store_append(s->store, c.v, c.n, &d))) {
        vg_log(VG_LOG_ERROR, "append failed", VG_LS("error", d.msg), VG_LI("rows", accepted));
        vg_req_json_error(rq, 503, "store unavailable, nothing acknowledged: %s", d.msg);
        accepted = 0;
        goto out;
    }
    /* the alerts are durable: correlate them into incidents before answering,
     * so a client that sees 200 finds its incidents updated */
    if (nalerts)
        vg_srv_incidents_alerts(s, c.v, c.n);
    /* the rows are durable (or there were none): only now is the seq acknowledged */
    if (seq > 0)
        vg_srv_agents_seq_commit(rq, darg, seq);
    for (size_t i = 0; i < c.n; i++)
        vg_metrics_ingest_rows(c.v[i]->table, c.v[i]->nrows);
    for (size_t i = 0; i < rej.n; i++)
        vg_metrics_ingest_rejected(o.table, rej.v[i].kind, 1);
    answer(rq, accepted, &rej);
out:
    if (seq_held)
        vg_srv_agents_seq_release(rq, darg, seq);
    vg_log(VG_LOG_INFO, "audit", VG_LS("action", "ingest"), VG_LI("req", rq->id),
           VG_LI("token_id", rq->who.id), VG_LS("token", rq->who.name),
           VG_LS("role", vg_role_name(rq->who.role)), VG_LS("table", o.table ? o.table->name : ""),
           VG_LS("format", vg_format_name(o.format)), VG_LI("status", rq->status),
           VG_LI("accepted", accepted), VG_LI("rejected", rej.n), VG_LI("alerts", nalerts));
    vg_metrics_ingest_request(rq->status, rq->body_len, vg_mono_ns() - rq->t0_ns);
    collect_free(&c);
    if (set_ok)
        vg_batchset_free(&set);
    vg_rejects_free(&rej);
    vg_buf_free(&decoded);
}
