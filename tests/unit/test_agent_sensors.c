/*
 * test_agent_sensors.c - unit tests of the agent sensors' parsers and row
 * builders (src/agent/ag_parse_*.c): syslog stamps and auth.log messages,
 * utmpx records, dpkg status and rpm output, sock_diag replies, fanotify
 * buffers and rename pairing. Input is canned (fixtures under
 * tests/unit/data/agent/, or bytes built here the way the kernel lays them out);
 * the tests run from the top of the tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/fanotify.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utmpx.h>

#include "agent/ag_sensors_int.h"
#include "core/vg_json.h"

#define DATA "tests/unit/data/agent/"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open fixture %s (run from the top of the tree)", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *n = fread(buf, 1, (1 << 20) - 1, f);
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

/* Parses the object text (members appended to "{\"x\":0") and returns member k's text. */
typedef struct row_doc {
    vg_arena arena;
    vg_json *j;
} row_doc;

static void row_parse(row_doc *r, vg_buf *b)
{
    vg_buf_putc(b, '}');
    vg_arena_init(&r->arena, 0, 0);
    vg_diag d;
    if (vg_json_parse(&r->arena, vg_str_make(b->p, b->n), &r->j, &d) != VG_OK)
        fail_msg("row is not JSON: %s: %.*s", d.msg, (int)b->n, b->p);
}

static void assert_member(row_doc *r, const char *k, const char *want)
{
    const vg_json *v = vg_json_get(r->j, k);
    if (!want) {
        if (v) fail_msg("member %s present, expected absent", k);
        return;
    }
    if (!v) fail_msg("member %s missing", k);
    vg_str t = v->kind == VG_JSON_STRING ? v->str : vg_json_text(v);
    if (!vg_str_eqc(t, want)) fail_msg("member %s is '%.*s', expected '%s'", k, VG_STR_FMT(t), want);
}

static void row_free(row_doc *r) { vg_arena_free(&r->arena); }

/* ---- syslog stamps ---- */

static void test_syslog_forms(void **st)
{
    vg_time now;
    assert_int_equal(vg_time_parse_iso(VG_STR_LIT("2026-11-30T03:00:00Z"), &now), VG_OK);
    ag_syslog s;
    vg_diag d;
    assert_int_equal(ag_syslog_parse(VG_STR_LIT("Nov 30 02:41:07 web1 sshd[1234]: Accepted x\n"), now, 0,
                                     &s, &d), VG_OK);
    char tb[VG_TIME_BUFSZ];
    vg_time_format(s.ts, tb, sizeof tb);
    assert_string_equal(tb, "2026-11-30T02:41:07.0000000Z");
    assert_true(vg_str_eqc(s.host, "web1"));
    assert_true(vg_str_eqc(s.prog, "sshd"));
    assert_int_equal(s.pid, 1234);
    assert_true(vg_str_eqc(s.msg, "Accepted x"));

    /* local time two hours ahead of UTC */
    assert_int_equal(ag_syslog_parse(VG_STR_LIT("Nov  3 04:00:00 h su: m"), now, 7200, &s, &d), VG_OK);
    vg_time_format(s.ts, tb, sizeof tb);
    assert_string_equal(tb, "2026-11-03T02:00:00.0000000Z");
    assert_int_equal(s.pid, 0);
    assert_true(vg_str_eqc(s.prog, "su"));

    /* a December stamp read on January 1st is last year's */
    vg_time jan;
    assert_int_equal(vg_time_parse_iso(VG_STR_LIT("2027-01-01T00:10:00Z"), &jan), VG_OK);
    assert_int_equal(ag_syslog_parse(VG_STR_LIT("Dec 31 23:59:58 h sshd[1]: m"), jan, 0, &s, &d), VG_OK);
    vg_time_format(s.ts, tb, sizeof tb);
    assert_string_equal(tb, "2026-12-31T23:59:58.0000000Z");

    /* RFC3339 with an offset */
    assert_int_equal(ag_syslog_parse(VG_STR_LIT("2026-11-30T02:43:20.500000+01:00 web1 sudo: msg"), now, 0,
                                     &s, &d), VG_OK);
    vg_time_format(s.ts, tb, sizeof tb);
    assert_string_equal(tb, "2026-11-30T01:43:20.5000000Z");
    assert_true(vg_str_eqc(s.prog, "sudo"));

    assert_int_equal(ag_syslog_parse(VG_STR_LIT("garbage line"), now, 0, &s, &d), VG_EPARSE);
    assert_non_null(strstr(d.msg, "time stamp"));
    assert_int_equal(ag_syslog_parse(VG_STR_LIT("2026-13-45T99:00:00Z h p: m"), now, 0, &s, &d), VG_EPARSE);
    assert_int_equal(ag_syslog_parse(VG_STR_LIT("Nov 30 02:41:07 host no tag here"), now, 0, &s, &d),
                     VG_EPARSE);
    assert_non_null(strstr(d.msg, "tag"));
}

/* ---- auth.log ---- */

typedef struct auth_case {
    bool success;
    const char *protocol, *type, *account, *ip;
    int port;
    const char *failure, *target, *command;
} auth_case;

static void test_auth_log(void **st)
{
    static const auth_case want[] = {
        { true, "ssh", "Network", "bob", "10.0.0.5", 51234, "", "", "" },
        { true, "ssh", "Network", "deploy", "2001:db8::7", 40022, "", "", "" },
        { false, "ssh", "Network", "root", "203.0.113.9", 60211, "InvalidUserNameOrPassword", "", "" },
        { false, "ssh", "Network", "admin", "198.51.100.23", 33100, "InvalidUserNameOrPassword", "", "" },
        { false, "ssh", "Network", "oracle", "45.33.32.156", 50012, "UnknownUser", "", "" },
        { true, "sudo", "Interactive", "alice", "", 0, "", "root", "/usr/bin/systemctl restart nginx" },
        { false, "sudo", "Interactive", "carol", "", 0, "InvalidUserNameOrPassword", "", "" },
        { false, "sudo", "Interactive", "dave", "", 0, "NotAuthorized", "root", "/bin/bash" },
        { true, "su", "Interactive", "root", "", 0, "", "alice", "" },
        { false, "su", "Interactive", "postgres", "", 0, "InvalidUserNameOrPassword", "mallory", "" },
        { true, "su", "Interactive", "root", "", 0, "", "alice", "" },
        { false, "su", "Interactive", "root", "", 0, "InvalidUserNameOrPassword", "eve", "" },
    };
    size_t n;
    char *text = slurp(DATA "auth.log", &n);
    vg_time now;
    assert_int_equal(vg_time_parse_iso(VG_STR_LIT("2026-11-30T03:00:00Z"), &now), VG_OK);
    size_t got = 0, lines = 0;
    for (char *line = text; line < text + n;) {
        char *nl = memchr(line, '\n', (size_t)(text + n - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(text + n - line);
        ag_syslog s;
        vg_diag d;
        lines++;
        if (ag_syslog_parse(vg_str_make(line, len), now, 0, &s, &d) != VG_OK)
            fail_msg("line %zu: %s", lines, d.msg);
        ag_logon_ev ev;
        if (ag_auth_parse(s.prog, s.msg, &ev)) {
            if (got >= sizeof want / sizeof want[0]) fail_msg("line %zu: unexpected logon", lines);
            const auth_case *w = &want[got++];
            assert_int_equal(ev.success, w->success);
            assert_string_equal(ev.protocol, w->protocol);
            assert_string_equal(ev.logon_type, w->type);
            assert_string_equal(ev.account, w->account);
            assert_string_equal(ev.remote_ip, w->ip);
            assert_int_equal(ev.remote_port, w->port);
            assert_string_equal(ev.failure, w->failure);
            assert_string_equal(ev.target, w->target);
            assert_string_equal(ev.command, w->command);
        }
        line += len + 1;
    }
    assert_int_equal(lines, 15);
    assert_int_equal(got, sizeof want / sizeof want[0]);

    /* tty of the pam failure, ssh method */
    ag_logon_ev ev;
    assert_true(ag_auth_parse(VG_STR_LIT("sshd"),
                              VG_STR_LIT("Accepted publickey for a b from 10.1.1.1 port 22 ssh2: RSA x"), &ev));
    assert_string_equal(ev.account, "a b");
    assert_string_equal(ev.method, "publickey");
    assert_false(ag_auth_parse(VG_STR_LIT("sshd"), VG_STR_LIT("Accepted password for bob"), &ev));
    assert_false(ag_auth_parse(VG_STR_LIT("sudo"), VG_STR_LIT("pam_unix(sudo:auth): authentication failure;"), &ev));
    free(text);
}

static void test_logon_members(void **st)
{
    ag_logon_ev ev;
    assert_true(ag_auth_parse(VG_STR_LIT("sshd"),
                              VG_STR_LIT("Failed password for invalid user admin from 8.8.4.4 port 33100 ssh2"), &ev));
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_puts(&b, "{\"x\":0");
    ag_logon_members(&ev, "web1", &b);
    row_doc r;
    row_parse(&r, &b);
    assert_member(&r, "ActionType", "LogonFailed");
    assert_member(&r, "LogonType", "Network");
    assert_member(&r, "AccountName", "admin");
    assert_member(&r, "AccountDomain", "web1");
    assert_member(&r, "Protocol", "ssh");
    assert_member(&r, "FailureReason", "InvalidUserNameOrPassword");
    assert_member(&r, "RemoteIP", "8.8.4.4");
    assert_member(&r, "RemoteIPType", "Public");
    assert_member(&r, "RemotePort", "33100");
    assert_member(&r, "AdditionalFields", "{\"Method\":\"password\"}");
    row_free(&r);

    vg_buf_clear(&b);
    vg_buf_puts(&b, "{\"x\":0");
    assert_true(ag_auth_parse(VG_STR_LIT("sudo"),
                              VG_STR_LIT("alice : TTY=pts/0 ; PWD=/h ; USER=root ; COMMAND=/bin/echo \"hi\""), &ev));
    ag_logon_members(&ev, "web1", &b);
    row_parse(&r, &b);
    assert_member(&r, "ActionType", "LogonSuccess");
    assert_member(&r, "FailureReason", NULL);
    assert_member(&r, "RemoteIP", NULL);
    assert_member(&r, "AdditionalFields", "{\"RunAsUser\":\"root\",\"Command\":\"/bin/echo \\\"hi\\\"\",\"Tty\":\"pts/0\"}");
    row_free(&r);
    vg_buf_free(&b);
}

/* ---- utmpx ---- */

static void test_utmp(void **st)
{
    struct utmpx u;
    memset(&u, 0, sizeof u);
    u.ut_type = USER_PROCESS;
    u.ut_pid = 4242;
    memcpy(u.ut_line, "pts/3", 5);
    memcpy(u.ut_user, "bob", 3);
    memcpy(u.ut_host, "10.9.8.7", 8);
    uint8_t v4[4] = { 10, 9, 8, 7 };
    memcpy(u.ut_addr_v6, v4, 4);
    u.ut_tv.tv_sec = 1796000000;
    u.ut_tv.tv_usec = 250000;
    ag_logon_ev ev;
    assert_true(ag_utmp_parse(&u, sizeof u, false, &ev));
    assert_true(ev.success);
    assert_string_equal(ev.account, "bob");
    assert_string_equal(ev.protocol, "ssh");
    assert_string_equal(ev.logon_type, "Network");
    assert_string_equal(ev.remote_ip, "10.9.8.7");
    assert_string_equal(ev.tty, "pts/3");
    assert_int_equal(ev.pid, 4242);
    assert_int_equal(ev.ts, vg_time_from_unix(1796000000, 250000000));

    /* a btmp record of sshd: LOGIN_PROCESS, ssh:notty, host only as text (IPv6) */
    memset(&u, 0, sizeof u);
    u.ut_type = LOGIN_PROCESS;
    memcpy(u.ut_line, "ssh:notty", 9);
    memcpy(u.ut_user, "nosuchuser", 10);
    memcpy(u.ut_host, "2001:db8::1", 11);
    assert_true(ag_utmp_parse(&u, sizeof u, true, &ev));
    assert_false(ev.success);
    assert_string_equal(ev.protocol, "ssh");
    assert_string_equal(ev.remote_ip, "2001:db8::1");
    assert_string_equal(ev.failure, "InvalidUserNameOrPassword");
    /* the same record in wtmp is not a logon */
    assert_false(ag_utmp_parse(&u, sizeof u, false, &ev));

    /* a console login */
    memset(&u, 0, sizeof u);
    u.ut_type = USER_PROCESS;
    memcpy(u.ut_line, "tty1", 4);
    memcpy(u.ut_user, "root", 4);
    assert_true(ag_utmp_parse(&u, sizeof u, false, &ev));
    assert_string_equal(ev.protocol, "login");
    assert_string_equal(ev.logon_type, "Interactive");
    assert_string_equal(ev.remote_ip, "");

    u.ut_type = BOOT_TIME;
    assert_false(ag_utmp_parse(&u, sizeof u, false, &ev));
    u.ut_type = DEAD_PROCESS;
    assert_false(ag_utmp_parse(&u, sizeof u, false, &ev));
    assert_false(ag_utmp_parse(&u, sizeof u - 1, false, &ev));
}

/* ---- dpkg and rpm ---- */

typedef struct pkgs {
    char line[16][256];
    size_t n;
    size_t stop_after;
} pkgs;

static bool collect(void *ctx, const ag_pkg *p)
{
    pkgs *c = ctx;
    if (c->n >= 16) return false;
    snprintf(c->line[c->n++], 256, "%.*s|%.*s|%.*s|%.*s", VG_STR_FMT(p->name), VG_STR_FMT(p->version),
             VG_STR_FMT(p->arch), VG_STR_FMT(p->vendor));
    return c->stop_after == 0 || c->n < c->stop_after;
}

static void test_dpkg(void **st)
{
    size_t n;
    char *text = slurp(DATA "dpkg_status", &n);
    pkgs c = { 0 };
    vg_diag d;
    assert_int_equal(ag_dpkg_parse(vg_str_make(text, n), collect, &c, &d), VG_OK);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.line[0], "libc6|2.36-9+deb12u4|amd64|GNU Libc Maintainers");
    assert_string_equal(c.line[1], "openssh-server|1:9.2p1-2+deb12u3|amd64|Debian OpenSSH Maintainers");
    assert_string_equal(c.line[2], "tzdata|2024a-0+deb12u1|all|GNU Libc Maintainers");

    /* CRLF line ends and a missing final newline are the same file */
    pkgs c2 = { 0 };
    assert_int_equal(ag_dpkg_parse(VG_STR_LIT("Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n\r\n"
                                              "Package: b\nStatus: install ok installed\nVersion: 2"),
                                   collect, &c2, &d), VG_OK);
    assert_int_equal(c2.n, 2);
    assert_string_equal(c2.line[0], "a|1||");
    assert_string_equal(c2.line[1], "b|2||");

    /* errors name the line */
    pkgs c3 = { 0 };
    assert_int_equal(ag_dpkg_parse(VG_STR_LIT("Package: a\nStatus: install ok installed\nno colon here\n"),
                                   collect, &c3, &d), VG_EPARSE);
    assert_non_null(strstr(d.msg, "line 3"));
    assert_int_equal(ag_dpkg_parse(VG_STR_LIT("\n\nVersion: 1\nStatus: install ok installed\n"), collect, &c3, &d),
                     VG_EPARSE);
    assert_non_null(strstr(d.msg, "line 3 has no Package"));
    pkgs c4 = { .stop_after = 1 };
    assert_int_equal(ag_dpkg_parse(vg_str_make(text, n), collect, &c4, &d), VG_ELIMIT);
    assert_int_equal(c4.n, 1);
    free(text);

    text = slurp(DATA "rpm_qa.txt", &n);
    pkgs r = { 0 };
    assert_int_equal(ag_rpm_parse(vg_str_make(text, n), collect, &r, &d), VG_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.line[0], "bash|5.1.8-9.el9|x86_64|Red Hat, Inc.");
    assert_string_equal(r.line[1], "gpg-pubkey|8483c65d-5ccc5b19|(none)|");
    assert_int_equal(ag_rpm_parse(VG_STR_LIT("bash 5.1\n"), collect, &r, &d), VG_EPARSE);
    assert_non_null(strstr(d.msg, "line 1"));
    free(text);
}

static void test_pkg_members(void **st)
{
    ag_pkg p = { VG_STR_LIT("libc6"), VG_STR_LIT("2.36"), VG_STR_LIT("amd64"), VG_STR_LIT("GNU \"Libc\"") };
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_puts(&b, "{\"x\":0");
    ag_pkg_members(&p, "12", "x64", &b);
    row_doc r;
    row_parse(&r, &b);
    assert_member(&r, "OSPlatform", "Linux");
    assert_member(&r, "OSVersion", "12");
    assert_member(&r, "OSArchitecture", "x64");
    assert_member(&r, "SoftwareVendor", "GNU \"Libc\"");
    assert_member(&r, "SoftwareName", "libc6");
    assert_member(&r, "SoftwareVersion", "2.36");
    assert_member(&r, "EndOfSupportStatus", "");
    assert_member(&r, "AdditionalFields", NULL);   /* no column of this table */
    row_free(&r);
    vg_buf_free(&b);
}

/* ---- sock_diag ---- */

static void put_diag(vg_buf *b, int family, int state, const char *src, int sport, const char *dst, int dport,
                     uint32_t inode)
{
    struct {
        struct nlmsghdr h;
        struct inet_diag_msg m;
    } msg;
    memset(&msg, 0, sizeof msg);
    msg.h.nlmsg_len = NLMSG_LENGTH(sizeof msg.m);
    msg.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.m.idiag_family = (uint8_t)family;
    msg.m.idiag_state = (uint8_t)state;
    msg.m.id.idiag_sport = htons((uint16_t)sport);
    msg.m.id.idiag_dport = htons((uint16_t)dport);
    inet_pton(family, src, msg.m.id.idiag_src);
    inet_pton(family, dst, msg.m.id.idiag_dst);
    msg.m.idiag_uid = 1000;
    msg.m.idiag_inode = inode;
    vg_buf_put(b, &msg, NLMSG_ALIGN(msg.h.nlmsg_len));
}

static bool port_8080(void *ctx, int proto, uint16_t port) { return proto == IPPROTO_TCP && port == 8080; }

static void test_sock_diag(void **st)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    put_diag(&b, AF_INET, TCP_ESTABLISHED, "192.168.1.20", 45000, "93.184.216.34", 443, 111);
    put_diag(&b, AF_INET6, TCP_LISTEN, "::", 8080, "::", 0, 222);
    put_diag(&b, AF_INET6, TCP_ESTABLISHED, "::ffff:127.0.0.1", 8080, "::ffff:127.0.0.1", 50000, 333);
    struct nlmsghdr done = { .nlmsg_len = NLMSG_LENGTH(4), .nlmsg_type = NLMSG_DONE };
    vg_buf_put(&b, &done, sizeof done);
    vg_buf_put(&b, "\0\0\0\0", 4);
    ag_sock s[4];
    size_t n = 0, over = 0;
    bool fin = false;
    vg_diag d;
    assert_int_equal(ag_diag_parse(b.p, b.n, IPPROTO_TCP, s, 4, &n, &over, &fin, &d), VG_OK);
    assert_true(fin);
    assert_int_equal(n, 3);
    assert_int_equal(over, 0);
    assert_int_equal(s[0].sport, 45000);
    assert_int_equal(s[0].dport, 443);
    assert_int_equal(s[0].inode, 111);
    assert_int_equal(s[0].uid, 1000);
    assert_int_equal(s[1].state, TCP_LISTEN);
    assert_int_equal(s[1].family, AF_INET6);

    assert_string_equal(ag_sock_action(&s[0], port_8080, NULL), "ConnectionSuccess");
    assert_string_equal(ag_sock_action(&s[1], port_8080, NULL), "ListeningConnectionCreated");
    assert_string_equal(ag_sock_action(&s[2], port_8080, NULL), "InboundConnectionAccepted");

    vg_buf row;
    vg_buf_init(&row, 0);
    vg_buf_puts(&row, "{\"x\":0");
    ag_net_members(&s[0], "ConnectionSuccess", &row);
    row_doc r;
    row_parse(&r, &row);
    assert_member(&r, "LocalIP", "192.168.1.20");
    assert_member(&r, "LocalPort", "45000");
    assert_member(&r, "LocalIPType", "Private");
    assert_member(&r, "RemoteIP", "93.184.216.34");
    assert_member(&r, "RemotePort", "443");
    assert_member(&r, "RemoteIPType", "Public");
    assert_member(&r, "Protocol", "Tcp");
    row_free(&r);
    vg_buf_clear(&row);
    vg_buf_puts(&row, "{\"x\":0");
    ag_net_members(&s[2], "InboundConnectionAccepted", &row);
    row_parse(&r, &row);
    assert_member(&r, "LocalIP", "127.0.0.1");
    assert_member(&r, "RemoteIPType", "Loopback");
    row_free(&r);
    vg_buf_free(&row);

    /* more sockets than room: counted, not silent */
    n = over = 0;
    fin = false;
    assert_int_equal(ag_diag_parse(b.p, b.n, IPPROTO_TCP, s, 2, &n, &over, &fin, &d), VG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(over, 1);

    /* truncated: the first message cut in the middle */
    n = over = 0;
    assert_int_equal(ag_diag_parse(b.p, 40, IPPROTO_TCP, s, 4, &n, &over, &fin, &d), VG_EPARSE);
    assert_non_null(strstr(d.msg, "claims"));

    /* an error from the kernel */
    struct {
        struct nlmsghdr h;
        struct nlmsgerr e;
    } err = { { .nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr)), .nlmsg_type = NLMSG_ERROR },
              { .error = -22 } };
    assert_int_equal(ag_diag_parse(&err, sizeof err, IPPROTO_TCP, s, 4, &n, &over, &fin, &d), VG_EIO);
    assert_non_null(strstr(d.msg, "error 22"));

    /* a UDP socket: bound and unconnected is a listener; port 0 is not reported */
    ag_sock u = { .family = AF_INET, .proto = IPPROTO_UDP, .state = TCP_CLOSE, .sport = 53 };
    assert_string_equal(ag_sock_action(&u, port_8080, NULL), "ListeningConnectionCreated");
    u.sport = 0;
    assert_null(ag_sock_action(&u, port_8080, NULL));
    ag_sock tw = { .family = AF_INET, .proto = IPPROTO_TCP, .state = TCP_TIME_WAIT };
    assert_null(ag_sock_action(&tw, port_8080, NULL));
    vg_buf_free(&b);
}

static void test_ip_type(void **st)
{
    static const struct { const char *ip, *type; } c[] = {
        { "8.8.8.8", "Public" }, { "10.1.2.3", "Private" }, { "172.16.0.1", "Private" },
        { "172.32.0.1", "Public" }, { "192.168.0.1", "Private" }, { "127.0.0.53", "Loopback" },
        { "169.254.1.1", "LinkLocal" }, { "224.0.0.251", "Multicast" }, { "255.255.255.255", "Broadcast" },
        { "100.64.0.1", "Reserved" }, { "0.0.0.0", "Reserved" }, { "::1", "Loopback" },
        { "fe80::1", "LinkLocal" }, { "fd00::1", "Private" }, { "ff02::1", "Multicast" },
        { "2001:0:4136:e378::1", "Teredo" }, { "2002:c000:204::1", "FourToSixMapping" },
        { "2a00:1450:4001::200e", "Public" }, { "::ffff:10.0.0.1", "Private" },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint8_t a[16];
        int fam = strchr(c[i].ip, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(fam, c[i].ip, a), 1);
        if (strcmp(ag_ip_type(fam, a), c[i].type) != 0)
            fail_msg("%s: %s, expected %s", c[i].ip, ag_ip_type(fam, a), c[i].type);
    }
}

/* ---- fanotify ---- */

/* Appends a DFID_NAME-style record (type) with an 8-byte handle and a name. */
static void put_fid(vg_buf *b, int type, uint64_t fsid, uint64_t handle, const char *name)
{
    size_t nl = name ? strlen(name) + 1 : 0;
    size_t len = 4 + 8 + 8 + 8 + nl;
    size_t padded = (len + 3) & ~(size_t)3;
    struct fanotify_event_info_header h = { .info_type = (uint8_t)type, .len = (uint16_t)padded };
    vg_buf_put(b, &h, sizeof h);
    vg_buf_put(b, &fsid, 8);
    uint32_t bytes = 8;
    int32_t htype = 1;
    vg_buf_put(b, &bytes, 4);
    vg_buf_put(b, &htype, 4);
    vg_buf_put(b, &handle, 8);
    if (name) vg_buf_put(b, name, nl);
    for (size_t i = len; i < padded; i++) vg_buf_putc(b, 0);
}

static size_t begin_event(vg_buf *b, uint64_t mask, int32_t pid)
{
    struct fanotify_event_metadata m = { .vers = FANOTIFY_METADATA_VERSION,
                                         .metadata_len = sizeof m, .mask = mask, .fd = FAN_NOFD, .pid = pid };
    size_t at = b->n;
    vg_buf_put(b, &m, sizeof m);
    return at;
}

static void end_event(vg_buf *b, size_t at)
{
    uint32_t len = (uint32_t)(b->n - at);
    memcpy(b->p + at, &len, 4);
}

typedef struct fan_seen {
    ag_fan_rec r[8];
    char name[8][64], old_name[8][64];
    uint64_t handle[8], old_handle[8];
    size_t n;
} fan_seen;

static void on_fan(void *ctx, const ag_fan_rec *r)
{
    fan_seen *s = ctx;
    if (s->n >= 8) return;
    s->r[s->n] = *r;
    vg_str_copy_c(s->name[s->n], 64, r->name);
    vg_str_copy_c(s->old_name[s->n], 64, r->old_name);
    if (r->dir) memcpy(&s->handle[s->n], (const char *)r->dir + 8, 8);
    if (r->old_dir) memcpy(&s->old_handle[s->n], (const char *)r->old_dir + 8, 8);
    s->n++;
}

static void test_fan_decode(void **st)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    size_t at = begin_event(&b, FAN_CREATE, 501);
    put_fid(&b, FAN_EVENT_INFO_TYPE_DFID_NAME, 0xabc, 0x1111, "dropper.sh");
    end_event(&b, at);
    at = begin_event(&b, FAN_RENAME, 502);
    put_fid(&b, FAN_EVENT_INFO_TYPE_OLD_DFID_NAME, 0xabc, 0x2222, "a.tmp");
    put_fid(&b, FAN_EVENT_INFO_TYPE_NEW_DFID_NAME, 0xabc, 0x3333, "a.conf");
    end_event(&b, at);
    at = begin_event(&b, FAN_CLOSE_WRITE, 503);
    put_fid(&b, FAN_EVENT_INFO_TYPE_DFID_NAME, 0xabc, 0x1111, "dropper.sh");
    put_fid(&b, FAN_EVENT_INFO_TYPE_FID, 0xabc, 0x4444, NULL);
    end_event(&b, at);
    at = begin_event(&b, FAN_Q_OVERFLOW, 0);
    end_event(&b, at);

    fan_seen s = { 0 };
    vg_diag d;
    assert_int_equal(ag_fan_decode(b.p, b.n, on_fan, &s, &d), VG_OK);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.r[0].mask, FAN_CREATE);
    assert_int_equal(s.r[0].pid, 501);
    assert_int_equal(s.r[0].fsid, 0xabc);
    assert_string_equal(s.name[0], "dropper.sh");
    assert_int_equal(s.handle[0], 0x1111);
    assert_null(s.r[0].old_dir);
    assert_int_equal(s.r[1].mask, FAN_RENAME);
    assert_string_equal(s.old_name[1], "a.tmp");
    assert_int_equal(s.old_handle[1], 0x2222);
    assert_string_equal(s.name[1], "a.conf");
    assert_int_equal(s.handle[1], 0x3333);
    /* the FID record (the object itself) does not replace the named directory */
    assert_string_equal(s.name[2], "dropper.sh");
    assert_int_equal(s.handle[2], 0x1111);
    assert_int_equal(s.r[3].mask, FAN_Q_OVERFLOW);
    assert_null(s.r[3].dir);

    /* malformed: cut in the middle of the second event, after the first */
    fan_seen s2 = { 0 };
    size_t first = sizeof(struct fanotify_event_metadata) + 32;
    assert_int_equal(ag_fan_decode(b.p, first + 10, on_fan, &s2, &d), VG_EPARSE);
    assert_int_equal(s2.n, 1);
    /* a name without its terminating NUL */
    vg_buf bad;
    vg_buf_init(&bad, 0);
    at = begin_event(&bad, FAN_DELETE, 1);
    struct fanotify_event_info_header h = { .info_type = FAN_EVENT_INFO_TYPE_DFID_NAME, .len = 32 };
    vg_buf_put(&bad, &h, sizeof h);
    uint64_t z = 0;
    uint32_t hb = 8;
    vg_buf_put(&bad, &z, 8);
    vg_buf_put(&bad, &hb, 4);
    vg_buf_put(&bad, &hb, 4);
    vg_buf_put(&bad, &z, 8);
    vg_buf_put(&bad, "abcd", 4);
    end_event(&bad, at);
    fan_seen s3 = { 0 };
    assert_int_equal(ag_fan_decode(bad.p, bad.n, on_fan, &s3, &d), VG_EPARSE);
    assert_non_null(strstr(d.msg, "not terminated"));
    /* a handle longer than its record */
    hb = 200;
    memcpy(bad.p + sizeof(struct fanotify_event_metadata) + 12, &hb, 4);
    assert_int_equal(ag_fan_decode(bad.p, bad.n, on_fan, &s3, &d), VG_EPARSE);
    assert_non_null(strstr(d.msg, "claims 200"));
    /* a wrong metadata version */
    bad.p[4] = 1;
    assert_int_equal(ag_fan_decode(bad.p, bad.n, on_fan, &s3, &d), VG_EPARSE);
    assert_non_null(strstr(d.msg, "version"));
    assert_int_equal(s3.n, 0);
    vg_buf_free(&bad);
    vg_buf_free(&b);
}

static void test_rename_pairing(void **st)
{
    ag_rename_pair rp = { 0 };
    char prev[4096], fl[4096];
    bool flushed;
    /* MOVED_FROM then MOVED_TO of the same pid: one rename */
    assert_int_equal(ag_rename_feed(&rp, true, true, 10, "/tmp/a", prev, sizeof prev, &flushed, fl, sizeof fl),
                     AG_PAIR_NONE);
    assert_false(flushed);
    assert_int_equal(ag_rename_feed(&rp, true, false, 10, "/etc/b", prev, sizeof prev, &flushed, fl, sizeof fl),
                     AG_PAIR_RENAME);
    assert_false(flushed);
    assert_string_equal(prev, "/tmp/a");
    /* a MOVED_FROM followed by something else: moved out of sight, a delete */
    ag_rename_feed(&rp, true, true, 10, "/tmp/c", prev, sizeof prev, &flushed, fl, sizeof fl);
    assert_int_equal(ag_rename_feed(&rp, false, false, 11, "/tmp/x", prev, sizeof prev, &flushed, fl, sizeof fl),
                     AG_PAIR_NONE);
    assert_true(flushed);
    assert_string_equal(fl, "/tmp/c");
    /* a lone MOVED_TO: moved into sight, a create */
    assert_int_equal(ag_rename_feed(&rp, true, false, 12, "/etc/d", prev, sizeof prev, &flushed, fl, sizeof fl),
                     AG_PAIR_CREATE);
    assert_false(flushed);
    /* a MOVED_TO of another pid does not pair: delete + create */
    ag_rename_feed(&rp, true, true, 20, "/tmp/e", prev, sizeof prev, &flushed, fl, sizeof fl);
    assert_int_equal(ag_rename_feed(&rp, true, false, 21, "/etc/f", prev, sizeof prev, &flushed, fl, sizeof fl),
                     AG_PAIR_CREATE);
    assert_true(flushed);
    assert_string_equal(fl, "/tmp/e");
}

static void test_file_members(void **st)
{
    ag_file_ev ev = { AG_FILE_RENAMED, "/etc/cron.d/job", "/tmp/job.tmp", NULL, NULL, NULL, -1 };
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_puts(&b, "{\"x\":0");
    ag_file_members(&ev, &b);
    row_doc r;
    row_parse(&r, &b);
    assert_member(&r, "ActionType", "FileRenamed");
    assert_member(&r, "FileName", "job");
    assert_member(&r, "FolderPath", "/etc/cron.d/job");
    assert_member(&r, "PreviousFileName", "job.tmp");
    assert_member(&r, "PreviousFolderPath", "/tmp");
    assert_member(&r, "SHA256", NULL);
    assert_member(&r, "FileSize", NULL);
    row_free(&r);

    ag_file_ev c = { AG_FILE_CREATED, "/x", NULL, "aa", "bb", "cc", 12 };
    vg_buf_clear(&b);
    vg_buf_puts(&b, "{\"x\":0");
    ag_file_members(&c, &b);
    row_parse(&r, &b);
    assert_member(&r, "FileName", "x");
    assert_member(&r, "SHA1", "aa");
    assert_member(&r, "SHA256", "bb");
    assert_member(&r, "MD5", "cc");
    assert_member(&r, "FileSize", "12");
    assert_member(&r, "PreviousFileName", NULL);
    row_free(&r);
    vg_buf_free(&b);

    const char *const pre[] = { "/etc", "/usr/bin/" };
    assert_true(ag_path_under("/etc", pre, 2));
    assert_true(ag_path_under("/etc/passwd", pre, 2));
    assert_false(ag_path_under("/etcetera/x", pre, 2));
    assert_true(ag_path_under("/usr/bin/ls", pre, 2));
    assert_false(ag_path_under("/usr/binx", pre, 2));
    const char *const root[] = { "/" };
    assert_true(ag_path_under("/anything", root, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syslog_forms), cmocka_unit_test(test_auth_log),
        cmocka_unit_test(test_logon_members), cmocka_unit_test(test_utmp),
        cmocka_unit_test(test_dpkg), cmocka_unit_test(test_pkg_members),
        cmocka_unit_test(test_sock_diag), cmocka_unit_test(test_ip_type),
        cmocka_unit_test(test_fan_decode), cmocka_unit_test(test_rename_pairing),
        cmocka_unit_test(test_file_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
