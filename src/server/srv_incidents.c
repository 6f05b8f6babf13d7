/*
 * srv_incidents.c - incidents, alerts, comments and suppression rules over
 * HTTP in the Graph security API's shapes (src/incident does the work), and
 * the hand-off of freshly stored alerts to the correlation engine.
 *
 * Routes (vg_routes_incidents): GETs for viewers and above; PATCH and
 * comments for analysts, responders and admins; suppression-rule writes for
 * analysts and admins. Single objects carry an ETag (W/"<version>"); a PATCH
 * with If-Match (W/"N", "N", N or *) is refused with 412 when the object has
 * changed since. Query options: $filter, $orderby, $top, $skip, $count,
 * $expand=alerts (incidents).
 *
 * Errors of the incident module map to HTTP here: VG_EINVAL/VG_EPARSE/
 * VG_ELIMIT 400, VG_ENOTFOUND 404, VG_ECONFLICT 412, anything else 500.
 * The audit rows of changes are written by src/incident in the change's own
 * transaction; the per-request audit row is the HTTP layer's.
 */
#include <stdio.h>
#include <string.h>

#include "../core/vg_log.h"
#include "../incident/vg_incident.h"
#include "vg_srv_int.h"

#define INC_BASE "/api/v1/security/"

/* ---- request helpers ---- */

static int http_status(vg_err e)
{
    switch (e) {
    case VG_EINVAL:
    case VG_EPARSE:
    case VG_ELIMIT:
    case VG_ETYPE:
        return 400;
    case VG_ENOTFOUND:
        return 404;
    case VG_ECONFLICT:
        return 412;
    default:
        return 500;
    }
}

static void fail(vg_req *rq, vg_err e, const vg_diag *d)
{
    vg_req_json_error(rq, http_status(e), "%s", d->msg[0] ? d->msg : vg_strerror(e));
}

/* False (and 503 answered) when the engine is not running. */
static bool ready(vg_req *rq)
{
    if (rq->srv->inc)
        return true;
    vg_req_json_error(rq, 503, "incidents are not available (the engine did not start)");
    return false;
}

static void answer(vg_req *rq, int status, vg_buf *b, int64_t version)
{
    rq->status = status;
    /* a write that succeeded wrote its own audit row (with the fields it
     * changed) in the engine's transaction: no second, generic one */
    if (strcmp(rq->method, "GET") != 0)
        rq->audited = true;
    vg_buf_put(&rq->out, b->p, b->n);
    vg_buf_putc(&rq->out, '\n');
    if (version > 0)
        snprintf(rq->etag, sizeof rq->etag, "W/\"%lld\"", (long long)version);
}

static vg_str body_of(vg_req *rq) { return vg_str_make(rq->body.p ? rq->body.p : "", rq->body.n); }


static void actor_of(vg_req *rq, vg_inc_actor *a, char *remote, size_t cap)
{
    vg_req_remote(rq, remote, cap);
    a->id = rq->who.id;
    a->name = rq->who.name;
    a->role = vg_role_name(rq->who.role);
    a->remote = remote;
}

/* Reads the OData query options into q; false (400 answered) when malformed. */
static bool list_args(vg_req *rq, bool incidents, vg_inc_list *q)
{
    memset(q, 0, sizeof *q);
    q->filter = vg_req_arg(rq, "$filter");
    q->orderby = vg_req_arg(rq, "$orderby");
    q->base_url = incidents ? INC_BASE "incidents" : INC_BASE "alerts_v2";
    const char *top = vg_req_arg(rq, "$top"), *skip = vg_req_arg(rq, "$skip");
    const char *count = vg_req_arg(rq, "$count"), *expand = vg_req_arg(rq, "$expand");
    if (top && (vg_str_to_i64(vg_str_c(top), &q->top) != VG_OK || q->top < 1 ||
                q->top > VG_INC_MAX_TOP)) {
        vg_req_json_error(rq, 400, "$top: expected a number from 1 to %d, not '%.32s'",
                          VG_INC_MAX_TOP, top);
        return false;
    }
    if (skip && (vg_str_to_i64(vg_str_c(skip), &q->skip) != VG_OK || q->skip < 0)) {
        vg_req_json_error(rq, 400, "$skip: expected a number of at least 0, not '%.32s'", skip);
        return false;
    }
    if (count) {
        if (!strcmp(count, "true"))
            q->count = true;
        else if (strcmp(count, "false")) {
            vg_req_json_error(rq, 400, "$count: expected true or false, not '%.32s'", count);
            return false;
        }
    }
    if (expand) {
        if (incidents && !strcmp(expand, "alerts"))
            q->expand_alerts = true;
        else {
            vg_req_json_error(rq, 400, "$expand: only 'alerts', on incidents, not '%.32s'",
                              expand);
            return false;
        }
    }
    return true;
}

/* ---- incidents ---- */

static void h_incidents_list(vg_req *rq)
{
    vg_inc_list q;
    if (!ready(rq) || !list_args(rq, true, &q))
        return;
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_incidents_list(rq->srv->inc, &q, &b, &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 200, &b, 0);
    vg_buf_free(&b);
}

static void h_incident_get(vg_req *rq)
{
    int64_t id, ver = 0;
    if (!ready(rq) || !vg_req_id(rq, "incident", &id))
        return;
    const char *expand = vg_req_arg(rq, "$expand");
    if (expand && strcmp(expand, "alerts")) {
        vg_req_json_error(rq, 400, "$expand: only 'alerts', not '%.32s'", expand);
        return;
    }
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_incident_get(rq->srv->inc, id, expand != NULL, &b, &ver, &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 200, &b, ver);
    vg_buf_free(&b);
}

static void h_incident_patch(vg_req *rq)
{
    int64_t id, match, ver = 0;
    if (!ready(rq) || !vg_req_id(rq, "incident", &id) || !vg_req_if_match(rq, &match))
        return;
    vg_inc_actor who;
    char remote[80];
    actor_of(rq, &who, remote, sizeof remote);
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_incident_patch(rq->srv->inc, id, body_of(rq), match, &who, &b, &ver, &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 200, &b, ver);
    vg_buf_free(&b);
}

/* ---- alerts ---- */

static void h_alerts_list(vg_req *rq)
{
    vg_inc_list q;
    if (!ready(rq) || !list_args(rq, false, &q))
        return;
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_alerts_list(rq->srv->inc, &q, &b, &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 200, &b, 0);
    vg_buf_free(&b);
}

static void h_alert_get(vg_req *rq)
{
    if (!ready(rq))
        return;
    int64_t ver = 0;
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_alert_get(rq->srv->inc, vg_str_c(rq->params[0]), &b, &ver, &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 200, &b, ver);
    vg_buf_free(&b);
}

static void h_alert_patch(vg_req *rq)
{
    int64_t match, ver = 0;
    if (!ready(rq) || !vg_req_if_match(rq, &match))
        return;
    vg_inc_actor who;
    char remote[80];
    actor_of(rq, &who, remote, sizeof remote);
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_alert_patch(rq->srv->inc, vg_str_c(rq->params[0]), body_of(rq), match,
                                  &who, &b, &ver, &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 200, &b, ver);
    vg_buf_free(&b);
}

/* ---- comments ---- */

static void comments(vg_req *rq, bool on_incident, bool add)
{
    if (!ready(rq))
        return;
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_str id = vg_str_c(rq->params[0]);
    vg_err e;
    if (add) {
        vg_inc_actor who;
        char remote[80];
        actor_of(rq, &who, remote, sizeof remote);
        e = vg_inc_comment_add(rq->srv->inc, on_incident, id, body_of(rq), &who, &b, &d);
    } else {
        e = vg_inc_comments_list(rq->srv->inc, on_incident, id, &b, &d);
    }
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, add ? 201 : 200, &b, 0);
    vg_buf_free(&b);
}

static void h_incident_comments(vg_req *rq) { comments(rq, true, false); }
static void h_incident_comment_add(vg_req *rq) { comments(rq, true, true); }
static void h_alert_comments(vg_req *rq) { comments(rq, false, false); }
static void h_alert_comment_add(vg_req *rq) { comments(rq, false, true); }

static void h_incident_graph(vg_req *rq)
{
    int64_t id;
    if (!ready(rq) || !vg_req_id(rq, "incident", &id))
        return;
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_graph(rq->srv->inc, id, &b, &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 200, &b, 0);
    vg_buf_free(&b);
}

/* ---- suppression rules ---- */

static void h_supp_list(vg_req *rq)
{
    if (!ready(rq))
        return;
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_suppressions_list(rq->srv->inc, &b, &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 200, &b, 0);
    vg_buf_free(&b);
}

static void h_supp_create(vg_req *rq)
{
    if (!ready(rq))
        return;
    vg_inc_actor who;
    char remote[80];
    actor_of(rq, &who, remote, sizeof remote);
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    int64_t id = 0;
    vg_err e = vg_inc_suppression_create(rq->srv->inc, body_of(rq), &who, &b, &id, &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 201, &b, 1);
    vg_buf_free(&b);
}

static void h_supp_get(vg_req *rq)
{
    int64_t id, ver = 0;
    if (!ready(rq) || !vg_req_id(rq, "suppression rule", &id))
        return;
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_suppression_get(rq->srv->inc, id, &b, &ver, &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 200, &b, ver);
    vg_buf_free(&b);
}

static void h_supp_patch(vg_req *rq)
{
    int64_t id, match, ver = 0;
    if (!ready(rq) || !vg_req_id(rq, "suppression rule", &id) || !vg_req_if_match(rq, &match))
        return;
    vg_inc_actor who;
    char remote[80];
    actor_of(rq, &who, remote, sizeof remote);
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_suppression_patch(rq->srv->inc, id, body_of(rq), match, &who, &b, &ver,
                                        &d);
    if (e)
        fail(rq, e, &d);
    else
        answer(rq, 200, &b, ver);
    vg_buf_free(&b);
}

static void h_supp_delete(vg_req *rq)
{
    int64_t id;
    if (!ready(rq) || !vg_req_id(rq, "suppression rule", &id))
        return;
    vg_inc_actor who;
    char remote[80];
    actor_of(rq, &who, remote, sizeof remote);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_inc_suppression_delete(rq->srv->inc, id, &who, &d);
    if (e) {
        fail(rq, e, &d);
    } else {
        rq->status = 204;
        rq->audited = true;   /* the engine wrote suppression.delete */
    }
}

const vg_route vg_routes_incidents[] = {
    { "GET", INC_BASE "incidents", h_incidents_list, VG_ROLES_READERS,
      "incidents (Graph security incident): $filter, $orderby, $top (<= 1000), $skip, "
      "$count=true, $expand=alerts; viewer and above" },
    { "GET", INC_BASE "incidents/{id}", h_incident_get, VG_ROLES_READERS,
      "one incident with its ETag ($expand=alerts); viewer and above" },
    { "PATCH", INC_BASE "incidents/{id}", h_incident_patch, VG_ROLES_ANALYSTS,
      "update status, classification, determination, assignedTo, customTags, displayName, "
      "severity, description (If-Match: 412 when changed since); analyst, responder, admin" },
    { "GET", INC_BASE "incidents/{id}/comments", h_incident_comments, VG_ROLES_READERS,
      "an incident's comments; viewer and above" },
    { "POST", INC_BASE "incidents/{id}/comments", h_incident_comment_add, VG_ROLES_ANALYSTS,
      "add {\"comment\": ...} to an incident (201 with the comments); analyst, responder, admin" },
    { "GET", INC_BASE "incidents/{id}/graph", h_incident_graph, VG_ROLES_READERS,
      "the incident, its alerts and their entities as nodes and edges; viewer and above" },
    { "GET", INC_BASE "alerts_v2", h_alerts_list, VG_ROLES_READERS,
      "alerts (Graph security alert): $filter, $orderby, $top, $skip, $count=true; "
      "viewer and above" },
    { "GET", INC_BASE "alerts_v2/{id}", h_alert_get, VG_ROLES_READERS,
      "one alert with its evidence and ETag; viewer and above" },
    { "PATCH", INC_BASE "alerts_v2/{id}", h_alert_patch, VG_ROLES_ANALYSTS,
      "update status, classification, determination, assignedTo (If-Match); analyst, "
      "responder, admin" },
    { "GET", INC_BASE "alerts_v2/{id}/comments", h_alert_comments, VG_ROLES_READERS,
      "an alert's comments; viewer and above" },
    { "POST", INC_BASE "alerts_v2/{id}/comments", h_alert_comment_add, VG_ROLES_ANALYSTS,
      "add {\"comment\": ...} to an alert (201 with the comments); analyst, responder, admin" },
    { "GET", INC_BASE "suppressionRules", h_supp_list, VG_ROLES_READERS,
      "suppression rules; viewer and above" },
    { "POST", INC_BASE "suppressionRules", h_supp_create, VG_ROLES_TUNERS,
      "create {\"displayName\",\"ruleId\",\"conditions\":[{\"kind\",\"value\"}],\"action\":"
      "\"resolve\",\"enabled\"} (201); analyst, admin" },
    { "GET", INC_BASE "suppressionRules/{id}", h_supp_get, VG_ROLES_READERS,
      "one suppression rule with its ETag; viewer and above" },
    { "PATCH", INC_BASE "suppressionRules/{id}", h_supp_patch, VG_ROLES_TUNERS,
      "update a suppression rule (If-Match); analyst, admin" },
    { "DELETE", INC_BASE "suppressionRules/{id}", h_supp_delete, VG_ROLES_TUNERS,
      "delete a suppression rule (204); analyst, admin" },
    { NULL, NULL, NULL, 0, NULL },
};

/* ---- the engine's lifecycle ---- */

vg_err vg_srv_incidents_start(vg_srv *s, vg_diag *d)
{
    vg_inc_opts o = {
        .window_ms = s->cfg->incident_window * 1000,
        .max_entities = (uint32_t)s->cfg->incident_max_entities,
        .max_key_devices = (uint32_t)s->cfg->incident_key_max_devices,
    };
    vg_inc *inc = NULL;
    vg_err e = vg_inc_open(s->cfg->data, &o, &inc, d);
    if (e)
        return e;
    s->inc = inc;
    /* main_vigild.c runs vg_srv_incidents_reconcile (srv_reconcile.c) next,
     * before the listener starts */
    return VG_OK;
}

void vg_srv_incidents_stop(vg_srv *s)
{
    if (!s->inc)
        return;
    vg_inc_close(s->inc);
    s->inc = NULL;
}

void vg_srv_incidents_alerts(vg_srv *s, vg_batch *const *v, size_t n)
{
    if (!s->inc || !n)
        return;
    vg_inc_add_result res;
    memset(&res, 0, sizeof res);
    vg_diag d;
    vg_diag_clear(&d);
    /* the alerts are durable in the event store already: a failure here is
     * logged, and the reconcile pass at the next start takes them again */
    vg_err e = vg_inc_add(s->inc, (const vg_batch *const *)v, n, &res, &d);
    if (e) {
        vg_log(VG_LOG_ERROR, "incident correlation failed", VG_LS("error", d.msg),
               VG_LS("code", vg_errname(e)));
        return;
    }
    vg_log(VG_LOG_DEBUG, "alerts correlated", VG_LI("alerts", res.alerts),
           VG_LI("duplicates", res.duplicates), VG_LI("suppressed", res.suppressed),
           VG_LI("created", res.created), VG_LI("joined", res.joined),
           VG_LI("merged", res.merged));
}
