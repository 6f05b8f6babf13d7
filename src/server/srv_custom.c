/*
 * srv_custom.c - custom detection rules: KQL on a schedule, alerts into the
 * incident engine.
 */
#include "vg_srv_int.h"

const vg_route vg_routes_detections[] = {
    { NULL, NULL, NULL, 0, NULL },
};

vg_err vg_srv_custom_start(vg_srv *s, vg_diag *d) { (void)s; (void)d; return VG_OK; }
void vg_srv_custom_stop(vg_srv *s) { (void)s; }
