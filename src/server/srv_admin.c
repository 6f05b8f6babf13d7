/*
 * srv_admin.c - tokens over HTTP, per-token rate limits and the audit log.
 */
#include "vg_srv_int.h"

const vg_route vg_routes_admin[] = {
    { NULL, NULL, NULL, 0, NULL },
};

vg_err vg_srv_admin_start(vg_srv *s, vg_diag *d) { (void)s; (void)d; return VG_OK; }
void vg_srv_admin_stop(vg_srv *s) { (void)s; }
bool vg_srv_rate_admit(vg_srv *s, vg_req *rq) { (void)s; (void)rq; return true; }
void vg_srv_audit(vg_srv *s, const vg_req *rq, const char *action, const char *object_type,
                  const char *object_id, vg_str detail_json)
{
    (void)s; (void)rq; (void)action; (void)object_type; (void)object_id; (void)detail_json;
}
