/*
 * srv_http.c - vigild's HTTP layer on libmicrohttpd: the route table, the
 * per-request lifecycle, authentication and role checks, and the one log
 * line per request.
 *
 * Threads: libmicrohttpd runs a bounded pool of `threads` polling threads
 * (MHD_OPTION_THREAD_POOL_SIZE); a handler runs to completion on the thread
 * that owns the connection, so a slow fsync holds one pool thread only.
 * Connections are capped by max-connections and dropped after
 * request-timeout seconds of inactivity.
 *
 * Lifecycle of a request (libmicrohttpd calls on_request several times):
 *   1st call   route lookup, Authorization check, Content-Length vs
 *              max-body; early answers (401, 403, 404, 405, 413) go out here
 *              without reading the body;
 *   body calls bytes appended to rq->body up to max-body (the rest is
 *              counted and dropped: the answer will be 413);
 *   last call  the route's handler fills rq->status/out; we queue it.
 *   completed  on_completed logs the request and frees it.
 *
 * Shutdown (vg_http_stop): stop listening, let in-flight requests finish
 * (up to shutdown-timeout), then stop the pool. Answers carry
 * "Connection: close" once stopping, so keep-alive clients go away.
 *
 * Tokens: the Authorization header is read here and nowhere else; only the
 * token's id and name ever reach logs and the audit log.
 *
 * After authentication each token's requests go through its rate-limit
 * bucket (vg_srv_rate_admit, srv_admin.c: 429 with Retry-After). Every
 * request that is not a GET or HEAD (a write, or an attempted one, refused
 * or not) leaves one audit row when it completes (vg_srv_audit), unless its
 * handler wrote a more specific one itself.
 *
 * TLS: with tls-cert and tls-key set, the listener speaks HTTPS only
 * (libmicrohttpd over GnuTLS); the PEM files are read and checked at start
 * with OpenSSL, so a bad file is named instead of a bare "cannot listen".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../core/vg_log.h"
#include "vg_srv_int.h"

#define TLS_MAX_PEM (1 << 20)   /* bytes of a tls-cert or tls-key file */

static void h_healthz(vg_req *rq)
{
    rq->status = 200;
    vg_buf_puts(&rq->out, "{\"status\":\"ok\"}\n");
}

/* The route table: every endpoint of vigild, with who may call it. */
const vg_route vg_routes_core[] = {
    { "GET", "/", vg_h_console, VG_ROLES_PUBLIC,
      "the web console (a page that holds no data; what it shows needs a token)" },
    { "GET", "/healthz", h_healthz, VG_ROLES_PUBLIC,
      "liveness probe: 200 {\"status\":\"ok\"}; no token needed" },
    { "GET", "/metrics", vg_h_metrics, VG_ROLES_READERS,
      "Prometheus metrics (text format 0.0.4); viewer, analyst, responder or admin" },
    { "GET", "/api/v1/tables", vg_h_tables, VG_ROLES_READERS,
      "tables that hold data with their row counts: {\"tables\":[{\"table\":T,\"rows\":N}]}; "
      "viewer, analyst, responder or admin" },
    { "POST", "/api/v1/ingest", vg_h_ingest, VG_ROLES_INGEST,
      "NDJSON events (?table=T, ?format=auto|ndjson|evtx-json|winlogbeat|evtx; "
      "Content-Encoding gzip, deflate or zstd); answers once rows are durable; "
      "ingest or admin" },
    { "POST", "/api/advancedhunting/run", vg_h_hunt, VG_ROLES_READERS,
      "advanced hunting: {\"Query\": KQL} -> {\"Stats\",\"Schema\",\"Results\"} as Defender's API; "
      "400 with line:column on errors; viewer, analyst, responder or admin" },
    { "POST", "/api/v1/security/runHuntingQuery", vg_h_hunt_graph, VG_ROLES_READERS,
      "advanced hunting in Graph's shape: {\"Query\": KQL} -> {\"schema\",\"results\"}; "
      "viewer, analyst, responder or admin" },
    { "GET", "/api/v1/rules", vg_h_rules, VG_ROLES_READERS,
      "the Sigma rule set: build report, rule files that failed and why, every rule with its "
      "level, status and state; viewer, analyst, responder or admin" },
    { "POST", "/api/v1/rules/reload", vg_h_rules_reload, VG_ROLE_BIT(VG_ROLE_ADMIN),
      "recompile the rules (paths, selectors) and swap them in without stopping ingest; admin" },
    { NULL, NULL, NULL, 0, NULL },
};

const vg_route *const vg_route_tables[] = { vg_routes_core, vg_routes_incidents,
                                            vg_routes_detections, vg_routes_admin,
                                            vg_routes_agents, vg_routes_machines, NULL };

void vg_http_print_routes(FILE *f)
{
    fprintf(f, "\nEndpoints:\n");
    for (const vg_route *const *t = vg_route_tables; *t; t++)
        for (const vg_route *r = *t; r->method; r++) {
            char left[80];
            snprintf(left, sizeof left, "%s %s", r->method, r->path);
            fprintf(f, "  %-44s %s\n", left, r->doc);
        }
}

void vg_http_print_routes_json(FILE *f)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    for (const vg_route *const *t = vg_route_tables; *t; t++)
        for (const vg_route *r = *t; r->method; r++) {
            vg_buf_clear(&b);
            vg_buf_puts(&b, "{\"method\":");
            vg_buf_put_json_str(&b, vg_str_c(r->method));
            vg_buf_puts(&b, ",\"path\":");
            vg_buf_put_json_str(&b, vg_str_c(r->path));
            vg_buf_puts(&b, ",\"roles\":[");
            int n = 0;
            for (int i = 0; i < VG_ROLE_COUNT_; i++)
                if (r->roles & VG_ROLE_BIT(i))
                    vg_buf_printf(&b, "%s\"%s\"", n++ ? "," : "", vg_role_name((vg_role)i));
            vg_buf_printf(&b, "],\"public\":%s}\n",
                          r->roles == VG_ROLES_PUBLIC ? "true" : "false");
            fwrite(b.p, 1, b.n, f);
        }
    vg_buf_free(&b);
}

/* ---- answers ---- */

void vg_req_json_error(vg_req *rq, int status, const char *fmt, ...)
{
    char msg[VG_DIAG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rq->status = status;
    rq->content_type = "application/json";
    vg_buf_clear(&rq->out);
    vg_buf_puts(&rq->out, "{\"error\":");
    vg_buf_put_json_str(&rq->out, vg_str_c(msg));
    vg_buf_puts(&rq->out, "}\n");
}

const char *vg_req_arg(vg_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *vg_req_header(vg_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

bool vg_req_id(vg_req *rq, const char *what, int64_t *id)
{
    if (rq->nparams > 0 && vg_str_to_i64(vg_str_c(rq->params[0]), id) == VG_OK && *id > 0)
        return true;
    vg_req_json_error(rq, 404, "no %s '%.64s' (ids are numbers)", what,
                      rq->nparams > 0 ? rq->params[0] : "");
    return false;
}

bool vg_req_if_match(vg_req *rq, int64_t *version)
{
    *version = -1;
    const char *h = vg_req_header(rq, "If-Match");
    if (!h)
        return true;
    vg_str s = vg_str_trim(vg_str_c(h));
    if (vg_str_eqc(s, "*"))
        return true;
    if (s.n >= 2 && (s.p[0] == 'W' || s.p[0] == 'w') && s.p[1] == '/')
        s = vg_str_make(s.p + 2, s.n - 2);
    if (s.n >= 2 && s.p[0] == '"' && s.p[s.n - 1] == '"')
        s = vg_str_make(s.p + 1, s.n - 2);
    int64_t v;
    if (vg_str_to_i64(s, &v) != VG_OK || v < 0) {
        vg_req_json_error(rq, 400, "If-Match: expected W/\"<version>\" as the ETag gave, "
                          "\"<version>\", <version> or *, not '%.64s'", h);
        return false;
    }
    *version = v;
    return true;
}

void vg_req_remote(const vg_req *rq, char *buf, size_t cap)
{
    snprintf(buf, cap, "?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof host))
            snprintf(buf, cap, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host))
            snprintf(buf, cap, "[%s]:%u", host, ntohs(in6->sin6_port));
    }
}

static enum MHD_Result send_answer(vg_req *rq)
{
    if (!rq->content_type)
        rq->content_type = "application/json";
    if (rq->out.failed)
        vg_req_json_error(rq, 500, "out of memory building the answer");
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(rq->out.n, rq->out.p ? rq->out.p : (void *)"",
                                        MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rq->content_type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    char rid[24];
    snprintf(rid, sizeof rid, "%llu", (unsigned long long)rq->id);
    MHD_add_response_header(resp, "X-Request-Id", rid);   /* the req= of the log lines */
    if (rq->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"vigil\"");
    if (rq->status == 405 && rq->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rq->allow);
    if (rq->retry_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, rq->retry_after);
    if (rq->etag[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, rq->etag);
    if (atomic_load(&rq->srv->stopping) || rq->status == 413)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(rq->conn, (unsigned)rq->status, resp);
    MHD_destroy_response(resp);
    rq->answered = true;
    return r;
}

/* ---- auth ---- */

/* The bearer token of the request; false when there is none. */
static bool bearer(vg_req *rq, vg_str *tok)
{
    const char *h = vg_req_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h)
        return false;
    vg_str s = vg_str_trim(vg_str_c(h));
    if (s.n < 7 || strncasecmp(s.p, "Bearer ", 7) != 0)
        return false;
    *tok = vg_str_trim(vg_str_make(s.p + 7, s.n - 7));
    return tok->n > 0;
}

/* ---- the request lifecycle ---- */

/*
 * Matches path against a route pattern; {name} segments match one non-empty
 * segment and are copied into params (when non-NULL). A value longer than
 * VG_SRV_MAX_PARAM does not match.
 */
static bool path_match(const char *pat, const char *path, char (*params)[VG_SRV_MAX_PARAM],
                       int *nparams)
{
    int np = 0;
    while (*pat && *path) {
        if (*pat == '{') {
            const char *close = strchr(pat, '}');
            const char *end = strchr(path, '/');
            size_t n = end ? (size_t)(end - path) : strlen(path);
            if (!close || n == 0 || n >= VG_SRV_MAX_PARAM || np >= VG_SRV_MAX_PARAMS)
                return false;
            if (params) {
                memcpy(params[np], path, n);
                params[np][n] = '\0';
            }
            np++;
            pat = close + 1;
            path += n;
            continue;
        }
        if (*pat != *path)
            return false;
        pat++;
        path++;
    }
    if (*pat || *path)
        return false;
    if (nparams)
        *nparams = np;
    return true;
}

static const vg_route *find_route(vg_req *rq, char *allow, size_t allow_cap, bool *path_known,
                                  bool *public_path)
{
    allow[0] = '\0';
    *path_known = false;
    *public_path = false;
    const vg_route *found = NULL;
    for (const vg_route *const *t = vg_route_tables; *t; t++)
        for (const vg_route *r = *t; r->method; r++) {
            if (!path_match(r->path, rq->path, NULL, NULL))
                continue;
            *path_known = true;
            size_t n = strlen(allow);
            snprintf(allow + n, allow_cap - n, "%s%s", n ? ", " : "", r->method);
            if (r->roles == VG_ROLES_PUBLIC)
                *public_path = true;
            if (!found && strcmp(r->method, rq->method) == 0) {
                found = r;
                path_match(r->path, rq->path, rq->params, &rq->nparams);
            }
        }
    return found;
}

/* First call: everything that can be decided before the body is read. */
static bool admit(vg_req *rq, const vg_route **route_out)
{
    vg_srv *s = rq->srv;
    bool known, public_path;
    const vg_route *route =
        find_route(rq, rq->allow_buf, sizeof rq->allow_buf, &known, &public_path);
    *route_out = route;
    if (route)
        rq->route = route->path;   /* for the log and the audit row, even when refused */
    if (!(route && route->roles == VG_ROLES_PUBLIC) && !public_path) {
        vg_str tok;
        if (!bearer(rq, &tok)) {
            vg_req_json_error(rq, 401, "missing bearer token (Authorization: Bearer <token>)");
            return false;
        }
        if (vg_auth_check(s->auth, tok, &rq->who) != VG_OK) {
            vg_req_json_error(rq, 401, "invalid or revoked token");
            return false;
        }
        rq->authed = true;
        if (!vg_srv_rate_admit(s, rq)) {
            vg_req_json_error(rq, 429, "rate limit: token '%s' is over %lld requests/s "
                              "(burst %lld); retry in %s s", rq->who.name,
                              (long long)s->cfg->rate_limit, (long long)s->cfg->rate_burst,
                              rq->retry_after ? rq->retry_after : "1");
            return false;
        }
    }
    if (!known) {
        vg_req_json_error(rq, 404, "no such endpoint: %s", rq->path);
        return false;
    }
    if (!route) {
        rq->allow = rq->allow_buf;
        vg_req_json_error(rq, 405, "method %s not allowed on %s", rq->method, rq->path);
        return false;
    }
    if (route->roles && !(route->roles & VG_ROLE_BIT(rq->who.role))) {
        vg_req_json_error(rq, 403, "role %s may not call %s %s", vg_role_name(rq->who.role),
                          route->method, route->path);
        return false;
    }
    const char *cl = vg_req_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        uint64_t n;
        if (vg_str_to_u64(vg_str_trim(vg_str_c(cl)), &n) == VG_OK) {
            if (n > (uint64_t)s->cfg->max_body) {
                rq->body_too_large = true;
                vg_req_json_error(rq, 413, "request body of %llu bytes is larger than max-body "
                                  "(%lld bytes)", (unsigned long long)n,
                                  (long long)s->cfg->max_body);
                return false;
            }
            vg_buf_reserve(&rq->body, (size_t)n);
        }
    }
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    vg_srv *s = cls;
    vg_req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->srv = s;
        rq->conn = conn;
        rq->method = method;
        rq->path = url;
        rq->t0_ns = vg_mono_ns();
        rq->id = atomic_fetch_add(&s->next_req_id, 1) + 1;
        rq->who.id = -1;
        rq->who.role = VG_ROLE_COUNT_;   /* no role until a token says so */
        vg_buf_init(&rq->body, (size_t)s->cfg->max_body);
        vg_buf_init(&rq->out, 0);
        *con_cls = rq;
        atomic_fetch_add(&s->inflight, 1);
        const vg_route *route;
        if (!admit(rq, &route))
            return send_answer(rq);
        rq->handler = route->fn;
        return MHD_YES;
    }
    if (rq->answered) {
        *upload_data_size = 0;   /* an early answer is queued; drop the rest */
        return MHD_YES;
    }
    if (*upload_data_size) {
        rq->body_len += *upload_data_size;
        if (!rq->body_too_large) {
            vg_buf_put(&rq->body, upload_data, *upload_data_size);
            if (rq->body.failed)
                rq->body_too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->body_too_large) {
        vg_buf_free(&rq->body);
        vg_req_json_error(rq, 413, "request body larger than max-body (%lld bytes)",
                          (long long)s->cfg->max_body);
    } else {
        rq->handler(rq);
        if (!rq->status)
            vg_req_json_error(rq, 500, "handler gave no answer");
    }
    return send_answer(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    vg_srv *s = cls;
    vg_req *rq = *con_cls;
    if (!rq)
        return;
    *con_cls = NULL;
    uint64_t us = (vg_mono_ns() - rq->t0_ns) / 1000;
    char remote[80];
    vg_req_remote(rq, remote, sizeof remote);
    vg_metrics_http_request(rq->status);
    /* every write, or attempted write, is audited; reads are not */
    if (!rq->audited && strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)
        vg_srv_audit(s, rq, NULL, NULL, NULL, vg_str_make(NULL, 0));
    vg_log_level lvl = rq->status >= 500 ? VG_LOG_ERROR : VG_LOG_INFO;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        vg_log(lvl, "request", VG_LI("req", rq->id), VG_LS("method", rq->method),
               VG_LS("path", rq->path), VG_LI("status", rq->status),
               VG_LI("bytes_in", rq->body_len), VG_LI("bytes_out", rq->out.n),
               VG_LI("dur_us", us), VG_LI("token_id", rq->who.id),
               VG_LS("token", rq->authed ? rq->who.name : ""), VG_LS("remote", remote));
    else
        vg_log(VG_LOG_WARN, "request aborted", VG_LI("req", rq->id),
               VG_LS("method", rq->method), VG_LS("path", rq->path),
               VG_LI("status", rq->status), VG_LI("termination", (int)toe),
               VG_LI("bytes_in", rq->body_len), VG_LI("dur_us", us),
               VG_LI("token_id", rq->who.id), VG_LS("remote", remote));
    vg_buf_free(&rq->body);
    vg_buf_free(&rq->out);
    free(rq);
    atomic_fetch_sub(&s->inflight, 1);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    vg_log(VG_LOG_WARN, "http", VG_LS("detail", msg));
}
#pragma GCC diagnostic pop

/* "host:port", "[v6]:port", ":port" or "port" into a socket address. */
static vg_err parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
                           vg_diag *d)
{
    char host[256] = "", port[16] = "";
    vg_str l = vg_str_c(listen);
    if (l.n && l.p[0] == '[') {
        ptrdiff_t close = vg_str_chr(l, ']');
        if (close < 0 || (size_t)close + 1 >= l.n || l.p[close + 1] != ':')
            return vg_diag_set(d, VG_EINVAL, "listen '%s': expected [v6addr]:port", listen);
        vg_str_copy_c(host, sizeof host, vg_str_make(l.p + 1, (size_t)close - 1));
        vg_str_copy_c(port, sizeof port, vg_str_make(l.p + close + 2, l.n - (size_t)close - 2));
    } else {
        ptrdiff_t colon = vg_str_rchr(l, ':');
        if (colon < 0) {
            vg_str_copy_c(port, sizeof port, l);
        } else {
            vg_str_copy_c(host, sizeof host, vg_str_make(l.p, (size_t)colon));
            vg_str_copy_c(port, sizeof port, vg_str_make(l.p + colon + 1, l.n - (size_t)colon - 1));
        }
    }
    uint64_t pn;
    if (vg_str_to_u64(vg_str_c(port), &pn) != VG_OK || pn > 65535)
        return vg_diag_set(d, VG_EINVAL, "listen '%s': bad port", listen);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 || !res)
        return vg_diag_set(d, VG_EINVAL, "listen '%s': %s", listen, gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return VG_OK;
}

/* Reads a whole PEM file (at most TLS_MAX_PEM bytes) into *out (malloc'd, NUL-terminated). */
static vg_err read_pem(const char *setting, const char *path, char **out, vg_diag *d)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return vg_diag_set(d, VG_EIO, "%s: cannot read %s: %s", setting, path, strerror(errno));
    vg_buf b;
    vg_buf_init(&b, TLS_MAX_PEM);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        vg_buf_put(&b, chunk, n);
    bool err = ferror(f);
    fclose(f);
    OPENSSL_cleanse(chunk, sizeof chunk);
    vg_err e = VG_OK;
    if (err)
        e = vg_diag_set(d, VG_EIO, "%s: cannot read %s", setting, path);
    else if (b.failed)
        e = vg_diag_set(d, VG_ELIMIT, "%s: %s is larger than %d bytes (not a PEM file?)",
                        setting, path, TLS_MAX_PEM);
    else if (b.n == 0)
        e = vg_diag_set(d, VG_EINVAL, "%s: %s is empty", setting, path);
    if (e == VG_OK) {
        const char *text = vg_buf_cstr(&b);
        if (!text)
            e = vg_diag_set(d, VG_ENOMEM, "%s: out of memory reading %s", setting, path);
        else if (!(*out = strdup(text)))
            e = vg_diag_set(d, VG_ENOMEM, "%s: out of memory reading %s", setting, path);
    }
    if (b.p)
        OPENSSL_cleanse(b.p, b.n);
    vg_buf_free(&b);
    return e;
}

/* Parses the certificate and the key, and checks that they belong together. */
static vg_err check_pem(const vg_srv_settings *cfg, const char *cert, const char *key, vg_diag *d)
{
    vg_err e = VG_OK;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    BIO *bc = BIO_new_mem_buf(cert, -1), *bk = BIO_new_mem_buf(key, -1);
    if (!bc || !bk) {
        e = vg_diag_set(d, VG_ENOMEM, "out of memory checking the TLS files");
        goto out;
    }
    if (!(x = PEM_read_bio_X509(bc, NULL, NULL, NULL))) {
        e = vg_diag_set(d, VG_EINVAL, "tls-cert: %s holds no PEM certificate", cfg->tls_cert);
        goto out;
    }
    if (!(k = PEM_read_bio_PrivateKey(bk, NULL, NULL, NULL))) {
        e = vg_diag_set(d, VG_EINVAL, "tls-key: %s holds no PEM private key (or it is "
                        "encrypted; vigild needs it unencrypted)", cfg->tls_key);
        goto out;
    }
    if (X509_check_private_key(x, k) != 1)
        e = vg_diag_set(d, VG_EINVAL, "tls-key: %s is not the key of the certificate in "
                        "tls-cert %s", cfg->tls_key, cfg->tls_cert);
out:
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(bc);
    BIO_free(bk);
    return e;
}

static void tls_free(vg_srv *s)
{
    free(s->tls_cert_pem);
    if (s->tls_key_pem) {
        OPENSSL_cleanse(s->tls_key_pem, strlen(s->tls_key_pem));
        free(s->tls_key_pem);
    }
    s->tls_cert_pem = s->tls_key_pem = NULL;
}

/* With tls-cert and tls-key: reads and checks both into s; neither: plain HTTP. */
static vg_err tls_load(vg_srv *s, bool *on, vg_diag *d)
{
    const vg_srv_settings *cfg = s->cfg;
    bool has_cert = cfg->tls_cert && cfg->tls_cert[0], has_key = cfg->tls_key && cfg->tls_key[0];
    *on = false;
    if (!has_cert && !has_key)
        return VG_OK;
    if (!has_key)
        return vg_diag_set(d, VG_EINVAL, "tls-cert is set (%s) but tls-key is not: give both "
                           "for HTTPS, or neither", cfg->tls_cert);
    if (!has_cert)
        return vg_diag_set(d, VG_EINVAL, "tls-key is set (%s) but tls-cert is not: give both "
                           "for HTTPS, or neither", cfg->tls_key);
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return vg_diag_set(d, VG_EUNSUPPORTED, "tls-cert/tls-key: this libmicrohttpd was built "
                           "without TLS support");
    vg_err e = read_pem("tls-cert", cfg->tls_cert, &s->tls_cert_pem, d);
    if (!e)
        e = read_pem("tls-key", cfg->tls_key, &s->tls_key_pem, d);
    if (!e)
        e = check_pem(cfg, s->tls_cert_pem, s->tls_key_pem, d);
    if (e)
        tls_free(s);
    *on = e == VG_OK;
    return e;
}

vg_err vg_http_start(vg_srv *s, int *port, vg_diag *d)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    vg_err e = parse_listen(s->cfg->listen, &ss, &sslen, d);
    if (e)
        return e;
    bool tls;
    if ((e = tls_load(s, &tls, d)))
        return e;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;
    unsigned pool = (unsigned)s->cfg->threads;
    /* the TLS options come last: without TLS they are left out (MHD_OPTION_END) */
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,   /* first, so MHD logs through it */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, pool > 1 ? pool : 0u,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->cfg->request_timeout,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->tls_cert_pem,
        MHD_OPTION_HTTPS_MEM_KEY, s->tls_key_pem,
        MHD_OPTION_END);
    if (!s->mhd) {
        tls_free(s);
        if (tls)
            return vg_diag_set(d, VG_EIO, "cannot listen on %s with TLS (address in use, no "
                               "permission, or GnuTLS refused tls-cert %s / tls-key %s)",
                               s->cfg->listen, s->cfg->tls_cert, s->cfg->tls_key);
        return vg_diag_set(d, VG_EIO, "cannot listen on %s (address in use, or no permission)",
                           s->cfg->listen);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? (int)di->port : 0;
    return VG_OK;
}

void vg_http_stop(vg_srv *s, int64_t timeout_s)
{
    if (!s->mhd)
        return;
    atomic_store(&s->stopping, true);
    MHD_socket lfd = MHD_quiesce_daemon(s->mhd);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    uint64_t deadline = vg_mono_ns() + (uint64_t)timeout_s * 1000000000ull;
    int n;
    while ((n = atomic_load(&s->inflight)) > 0 && vg_mono_ns() < deadline) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (n > 0)
        vg_log(VG_LOG_WARN, "shutdown: giving up on in-flight requests", VG_LI("inflight", n));
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    tls_free(s);
}
