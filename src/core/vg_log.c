/*
 * vg_log.c - the log sink. A record is formatted whole into a local buffer
 * and written with one fwrite, so concurrent threads never interleave lines.
 */
#include "vg_log.h"

#include <pthread.h>
#include <string.h>

#include "vg_str.h"
#include "vg_time.h"

static vg_log_level log_min = VG_LOG_INFO;
static vg_log_format log_fmt = VG_LOG_LOGFMT;
static FILE *log_out;

void vg_log_setup(vg_log_level min, vg_log_format fmt, FILE *out)
{
    log_min = min;
    log_fmt = fmt;
    log_out = out;
}

int vg_log_level_parse(const char *s)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int vg_log_format_parse(const char *s)
{
    if (strcmp(s, "logfmt") == 0)
        return VG_LOG_LOGFMT;
    if (strcmp(s, "json") == 0)
        return VG_LOG_JSON;
    return -1;
}

int vg_log_enabled(vg_log_level lvl) { return lvl >= log_min; }

static void put_logfmt_val(vg_buf *b, const char *s)
{
    int quote = *s == '\0';
    for (const char *p = s; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
            quote = 1;
    if (quote)
        vg_buf_put_json_str(b, vg_str_c(s));
    else
        vg_buf_puts(b, s);
}

void vg_log_fields(vg_log_level lvl, const char *msg, const vg_logfield *f, size_t n)
{
    static const char *lv[] = { "debug", "info", "warn", "error" };
    char ts[VG_TIME_BUFSZ];
    vg_buf b;
    vg_buf_init(&b, 64 * 1024);
    vg_time_format(vg_time_now(), ts, sizeof ts);
    if (log_fmt == VG_LOG_JSON) {
        vg_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, lv[lvl]);
        vg_buf_put_json_str(&b, vg_str_c(msg));
        for (size_t i = 0; i < n; i++) {
            vg_buf_putc(&b, ',');
            vg_buf_put_json_str(&b, vg_str_c(f[i].k));
            vg_buf_putc(&b, ':');
            if (f[i].is_int)
                vg_buf_printf(&b, "%lld", (long long)f[i].i);
            else
                vg_buf_put_json_str(&b, vg_str_c(f[i].s ? f[i].s : ""));
        }
        vg_buf_puts(&b, "}\n");
    } else {
        vg_buf_printf(&b, "ts=%s level=%s msg=", ts, lv[lvl]);
        put_logfmt_val(&b, msg);
        for (size_t i = 0; i < n; i++) {
            vg_buf_printf(&b, " %s=", f[i].k);
            if (f[i].is_int)
                vg_buf_printf(&b, "%lld", (long long)f[i].i);
            else
                put_logfmt_val(&b, f[i].s ? f[i].s : "");
        }
        vg_buf_putc(&b, '\n');
    }
    FILE *out = log_out ? log_out : stderr;
    if (!b.failed) {
        fwrite(b.p, 1, b.n, out);
        fflush(out);
    }
    vg_buf_free(&b);
}
