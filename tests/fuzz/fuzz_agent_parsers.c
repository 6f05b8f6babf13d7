/*
 * fuzz_agent_parsers.c - the agent sensors' parsers (src/agent/ag_parse_*.c)
 * on any input: the first byte chooses the parser (0 syslog line + auth
 * message, 1 dpkg status, 2 rpm -qa output, 3 sock_diag reply, 4 fanotify
 * buffer, 5 utmpx record), the rest is its input. None may crash or read out
 * of bounds; what they accept must build a row that is valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utmpx.h>

#include "agent/ag_sensors_int.h"
#include "core/vg_json.h"

static void check_row(vg_buf *b)
{
    vg_buf_putc(b, '}');
    vg_arena a;
    vg_arena_init(&a, 0, 64u << 20);
    vg_json *j;
    if (!b->failed && vg_json_parse(&a, vg_str_make(b->p, b->n), &j, NULL) != VG_OK)
        abort();
    vg_arena_free(&a);
}

static bool on_pkg(void *ctx, const ag_pkg *p)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_puts(&b, "{\"x\":0");
    ag_pkg_members(p, "12", "x64", &b);
    check_row(&b);
    vg_buf_free(&b);
    return ++*(size_t *)ctx < 1000;
}

static void on_fan(void *ctx, const ag_fan_rec *r)
{
    (void)ctx;
    if (r->name.n && memchr(r->name.p, '\0', r->name.n))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0] % 6;
    /* a copy of exactly the input, so that reading past it is caught */
    size_t n = size - 1;
    char *in = malloc(n ? n : 1);
    if (!in)
        return 0;
    memcpy(in, data + 1, n);
    vg_str s = vg_str_make(in, n);
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_puts(&b, "{\"x\":0");
    size_t count = 0;
    switch (sel) {
    case 0: {
        ag_syslog sl;
        ag_logon_ev ev;
        bool got = false;
        if (ag_syslog_parse(s, 0, 0, &sl, NULL) == VG_OK)
            got = ag_auth_parse(sl.prog, sl.msg, &ev);
        else
            got = ag_auth_parse(VG_STR_LIT("sshd"), s, &ev);
        if (got) {
            ag_logon_members(&ev, "host", &b);
            check_row(&b);
        }
        break;
    }
    case 1:
        ag_dpkg_parse(s, on_pkg, &count, NULL);
        break;
    case 2:
        ag_rpm_parse(s, on_pkg, &count, NULL);
        break;
    case 3: {
        ag_sock socks[64];
        size_t k = 0, over = 0;
        bool done = false;
        if (ag_diag_parse(in, n, 6, socks, 64, &k, &over, &done, NULL) == VG_OK && k) {
            ag_net_members(&socks[0], "ConnectionSuccess", &b);
            check_row(&b);
        }
        break;
    }
    case 4:
        ag_fan_decode(in, n, on_fan, NULL, NULL);
        break;
    case 5: {
        ag_logon_ev ev;
        if (n == sizeof(struct utmpx) && ag_utmp_parse(in, n, data[0] & 0x80, &ev)) {
            ag_logon_members(&ev, "host", &b);
            check_row(&b);
        }
        break;
    }
    }
    vg_buf_free(&b);
    free(in);
    return 0;
}
