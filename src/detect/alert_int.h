/*
 * alert_int.h - private interface between detect_alert.c (the alerter) and
 * alert_rows.c (AlertInfo/AlertEvidence rows, the JSON form of an alert).
 */
#ifndef VG_ALERT_INT_H
#define VG_ALERT_INT_H

#include "vg_alert.h"

/* The field reader handed to the correlation engine. */
typedef struct alert_field_ctx {
    vg_detect *det;
    const vg_detect_rule *rule;
    const vg_batch *b;
    uint32_t row;
    vg_arena *a;
} alert_field_ctx;

vg_err alert_field_read(void *ctx, vg_str name, vg_str *out);
void alert_corr_emit(void *ctx, const sg_corr_alert *ca);

/* Appends the AlertInfo row and the AlertEvidence rows of one alert. */
vg_err alert_write_rows(vg_batchset *out, const vg_detect *det, const vg_alert *a, vg_arena *tmp,
                        vg_diag *d);

#endif
