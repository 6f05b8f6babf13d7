/*
 * vg_log.h - structured logging: one line per record, logfmt or JSON.
 *
 *   vg_log(VG_LOG_INFO, "ingest accepted", VG_LS("table", name), VG_LI("rows", n));
 *
 * Only programs configure the sink (vg_log_setup); library code may log but
 * must never log secrets (tokens, passwords): pass them through vg_log_redact.
 */
#ifndef VG_LOG_H
#define VG_LOG_H

#include <stdint.h>
#include <stdio.h>

typedef enum vg_log_level { VG_LOG_DEBUG, VG_LOG_INFO, VG_LOG_WARN, VG_LOG_ERROR } vg_log_level;
typedef enum vg_log_format { VG_LOG_LOGFMT, VG_LOG_JSON } vg_log_format;

typedef struct vg_logfield {
    const char *k;
    int is_int;
    const char *s;
    int64_t i;
} vg_logfield;

#define VG_LS(key, val) ((vg_logfield){ (key), 0, (val), 0 })
#define VG_LI(key, val) ((vg_logfield){ (key), 1, NULL, (int64_t)(val) })

void vg_log_setup(vg_log_level min, vg_log_format fmt, FILE *out);
/* Parses "debug|info|warn|error" and "logfmt|json"; -1 when unknown. */
int vg_log_level_parse(const char *s);
int vg_log_format_parse(const char *s);
int vg_log_enabled(vg_log_level lvl);
void vg_log_fields(vg_log_level lvl, const char *msg, const vg_logfield *f, size_t n);

#define vg_log(lvl, msg, ...)                                                        \
    do {                                                                             \
        if (vg_log_enabled(lvl)) {                                                   \
            const vg_logfield vg_lf_[] = { { 0 }, __VA_ARGS__ };                     \
            vg_log_fields((lvl), (msg), vg_lf_ + 1, sizeof vg_lf_ / sizeof vg_lf_[0] - 1); \
        }                                                                            \
    } while (0)

#endif
