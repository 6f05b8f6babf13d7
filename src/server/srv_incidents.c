/*
 * srv_incidents.c - incidents and alerts over HTTP (Graph security shapes),
 * and the hand-off of freshly stored alerts to the correlation engine.
 */
#include "vg_srv_int.h"

const vg_route vg_routes_incidents[] = {
    { NULL, NULL, NULL, 0, NULL },
};

vg_err vg_srv_incidents_start(vg_srv *s, vg_diag *d) { (void)s; (void)d; return VG_OK; }
void vg_srv_incidents_stop(vg_srv *s) { (void)s; }
void vg_srv_incidents_alerts(vg_srv *s, vg_batch *const *v, size_t n) { (void)s; (void)v; (void)n; }
