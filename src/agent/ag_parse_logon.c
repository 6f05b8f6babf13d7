/*
 * ag_parse_logon.c - the logon sensor's parsers: syslog line headers
 * (RFC3164 and RFC3339 stamps), the auth.log messages of sshd, sudo and su,
 * and utmpx records of wtmp/btmp, each into an ag_logon_ev; and the
 * DeviceLogonEvents members of one event.
 *
 * Pure functions over counted strings (see ag_sensors_int.h); ag_logon.c
 * reads the files and emits the rows. Which account a row names: the one
 * whose credentials were checked - the ssh user, sudo's invoking user (the
 * run-as user goes to AdditionalFields), su's target account (the invoking
 * user goes to AdditionalFields as ByUser).
 */
#include "ag_sensors_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <utmpx.h>

/* ---- small scanners over vg_str ---- */

static bool eat(vg_str *s, const char *lit)
{
    size_t n = strlen(lit);
    if (s->n < n || memcmp(s->p, lit, n) != 0) return false;
    s->p += n;
    s->n -= n;
    return true;
}

static vg_str word(vg_str *s)
{
    size_t i = 0;
    while (i < s->n && s->p[i] != ' ') i++;
    vg_str w = { s->p, i };
    s->p += i;
    s->n -= i;
    return w;
}

static void skip_spaces(vg_str *s)
{
    while (s->n && s->p[0] == ' ') {
        s->p++;
        s->n--;
    }
}

static ptrdiff_t find(vg_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (n == 0 || s.n < n) return -1;
    for (size_t i = 0; i + n <= s.n; i++)
        if (memcmp(s.p + i, lit, n) == 0) return (ptrdiff_t)i;
    return -1;
}

static ptrdiff_t rfind(vg_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (n == 0 || s.n < n) return -1;
    for (size_t i = s.n - n + 1; i-- > 0;)
        if (memcmp(s.p + i, lit, n) == 0) return (ptrdiff_t)i;
    return -1;
}

static int two_digits(const char *p)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* ---- syslog header ---- */

static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* "Nov 30 02:41:07" or "Nov  3 02:41:07" (15 bytes). */
static bool rfc3164_stamp(vg_str s, vg_time now, long tz_off_sec, vg_time *out)
{
    if (s.n < 16 || s.p[3] != ' ' || s.p[6] != ' ' || s.p[9] != ':' || s.p[12] != ':' ||
        s.p[15] != ' ')
        return false;
    int mon = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s.p, months[i], 3) == 0) mon = i + 1;
    char dd[2] = { s.p[4] == ' ' ? '0' : s.p[4], s.p[5] };
    int day = two_digits(dd), hh = two_digits(s.p + 7), mm = two_digits(s.p + 10),
        ss = two_digits(s.p + 13);
    if (mon < 0 || day < 1 || day > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 ||
        ss > 60)
        return false;
    int year, m_, d_, h_, mi_, s_, t_;
    vg_time_civil(now + (vg_time)tz_off_sec * VG_TICKS_PER_SEC, &year, &m_, &d_, &h_, &mi_, &s_,
                  &t_);
    vg_time t = vg_time_from_civil(year, mon, day, hh, mm, ss, 0) -
                (vg_time)tz_off_sec * VG_TICKS_PER_SEC;
    /* a stamp more than a day ahead is last year's (the log spans New Year) */
    if (t > now + VG_TICKS_PER_DAY)
        t = vg_time_from_civil(year - 1, mon, day, hh, mm, ss, 0) -
            (vg_time)tz_off_sec * VG_TICKS_PER_SEC;
    *out = t;
    return true;
}

vg_err ag_syslog_parse(vg_str line, vg_time now, long tz_off_sec, ag_syslog *out, vg_diag *d)
{
    memset(out, 0, sizeof *out);
    vg_str s = line;
    while (s.n && (s.p[s.n - 1] == '\n' || s.p[s.n - 1] == '\r')) s.n--;
    if (s.n >= 5 && s.p[4] == '-' && two_digits(s.p) >= 0) {
        vg_str stamp = word(&s);
        if (vg_time_parse_iso(stamp, &out->ts) != VG_OK)
            return vg_diag_set(d, VG_EPARSE, "syslog line: bad RFC3339 time stamp '%.*s'",
                               VG_STR_FMT(stamp));
    } else if (rfc3164_stamp(s, now, tz_off_sec, &out->ts)) {
        s.p += 15;
        s.n -= 15;
    } else {
        return vg_diag_set(d, VG_EPARSE, "syslog line: no RFC3164 or RFC3339 time stamp at its start");
    }
    skip_spaces(&s);
    out->host = word(&s);
    skip_spaces(&s);
    /* the tag: prog[pid]: or prog: */
    ptrdiff_t colon = find(s, ": ");
    if (colon < 0) {
        if (s.n && s.p[s.n - 1] == ':') colon = (ptrdiff_t)s.n - 1;
        else return vg_diag_set(d, VG_EPARSE, "syslog line: no 'program:' tag after the host");
    }
    vg_str tag = { s.p, (size_t)colon };
    ptrdiff_t br = vg_str_chr(tag, '[');
    if (br >= 0 && tag.n && tag.p[tag.n - 1] == ']') {
        int64_t pid = 0;
        if (vg_str_to_i64(vg_str_make(tag.p + br + 1, tag.n - (size_t)br - 2), &pid) == VG_OK &&
            pid > 0 && pid < INT32_MAX)
            out->pid = (pid_t)pid;
        tag.n = (size_t)br;
    }
    if (vg_str_chr(tag, ' ') >= 0)
        return vg_diag_set(d, VG_EPARSE, "syslog line: no 'program:' tag after the host");
    out->prog = tag;
    size_t skip = (size_t)colon + 1;
    if (skip < s.n) skip++;
    out->msg = vg_str_make(s.p + skip, s.n - skip);
    return VG_OK;
}

/* ---- auth.log messages ---- */

static void copy(char *dst, size_t cap, vg_str s) { vg_str_copy_c(dst, cap, s); }

static void ev_init(ag_logon_ev *ev, const char *protocol, const char *type, bool success)
{
    memset(ev, 0, sizeof *ev);
    ev->protocol = protocol;
    ev->logon_type = type;
    ev->success = success;
}

/* "<user> from <ip>[ port <port>]..." after the user's start; the user is
 * everything before the last " from " (user names may hold spaces). */
static bool user_from(vg_str s, ag_logon_ev *ev)
{
    ptrdiff_t f = rfind(s, " from ");
    if (f < 0) return false;
    copy(ev->account, sizeof ev->account, vg_str_make(s.p, (size_t)f));
    vg_str rest = vg_str_make(s.p + f + 6, s.n - (size_t)f - 6);
    vg_str ip = word(&rest);
    if (ip.n == 0) return false;
    copy(ev->remote_ip, sizeof ev->remote_ip, ip);
    skip_spaces(&rest);
    if (eat(&rest, "port ")) {
        int64_t port = 0;
        if (vg_str_to_i64(word(&rest), &port) == VG_OK && port > 0 && port < 65536)
            ev->remote_port = (int)port;
    }
    return true;
}

static bool parse_sshd(vg_str m, ag_logon_ev *ev)
{
    if (eat(&m, "Accepted ")) {
        ev_init(ev, "ssh", "Network", true);
        copy(ev->method, sizeof ev->method, word(&m));
        return eat(&m, " for ") && user_from(m, ev);
    }
    if (eat(&m, "Failed ")) {
        ev_init(ev, "ssh", "Network", false);
        vg_str method = word(&m);
        copy(ev->method, sizeof ev->method, method);
        if (!eat(&m, " for ")) return false;
        eat(&m, "invalid user ");
        bool password = vg_str_eqc(method, "password") || vg_str_eqc(method, "keyboard-interactive/pam");
        snprintf(ev->failure, sizeof ev->failure, "%s",
                 password ? "InvalidUserNameOrPassword" : "InvalidCredentials");
        return user_from(m, ev);
    }
    if (eat(&m, "Invalid user ")) {
        ev_init(ev, "ssh", "Network", false);
        snprintf(ev->failure, sizeof ev->failure, "%s", "UnknownUser");
        return user_from(m, ev);
    }
    return false;
}

/* "key=value" out of "k1=v1 k2=v2" (pam) or "K1=v1 ; K2=v2" (sudo). */
static vg_str field(vg_str s, const char *key)
{
    size_t kn = strlen(key);
    for (size_t i = 0; i + kn < s.n; i++) {
        if ((i == 0 || s.p[i - 1] == ' ' || s.p[i - 1] == ';') && memcmp(s.p + i, key, kn) == 0 &&
            s.p[i + kn] == '=') {
            size_t b = i + kn + 1, e = b;
            /* sudo's COMMAND runs to the end; the others stop at a space */
            if (strcmp(key, "COMMAND") == 0) e = s.n;
            else
                while (e < s.n && s.p[e] != ' ' && s.p[e] != ';') e++;
            return vg_str_make(s.p + b, e - b);
        }
    }
    return VG_STR_NULL;
}

static bool parse_sudo(vg_str m, ag_logon_ev *ev)
{
    skip_spaces(&m);
    if (eat(&m, "pam_unix(sudo:auth): authentication failure;")) {
        ev_init(ev, "sudo", "Interactive", false);
        vg_str u = field(m, "user");
        if (u.n == 0) u = field(m, "ruser");
        if (u.n == 0) u = field(m, "logname");
        if (u.n == 0) return false;
        copy(ev->account, sizeof ev->account, u);
        copy(ev->tty, sizeof ev->tty, field(m, "tty"));
        snprintf(ev->failure, sizeof ev->failure, "%s", "InvalidUserNameOrPassword");
        return true;
    }
    /* "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id" */
    ptrdiff_t sep = find(m, " : ");
    if (sep <= 0) return false;
    vg_str user = vg_str_trim(vg_str_make(m.p, (size_t)sep));
    vg_str rest = vg_str_make(m.p + sep + 3, m.n - (size_t)sep - 3);
    if (user.n == 0 || vg_str_chr(user, ' ') >= 0) return false;
    if (eat(&rest, "user NOT in sudoers ; ")) {
        ev_init(ev, "sudo", "Interactive", false);
        snprintf(ev->failure, sizeof ev->failure, "%s", "NotAuthorized");
    } else if (rest.n >= 4 && memcmp(rest.p, "TTY=", 4) == 0) {
        ev_init(ev, "sudo", "Interactive", true);
    } else {
        return false;   /* "3 incorrect password attempts", "command not allowed" summaries */
    }
    copy(ev->account, sizeof ev->account, user);
    copy(ev->tty, sizeof ev->tty, field(rest, "TTY"));
    copy(ev->target, sizeof ev->target, field(rest, "USER"));
    copy(ev->command, sizeof ev->command, field(rest, "COMMAND"));
    return true;
}

static bool parse_su(vg_str m, ag_logon_ev *ev)
{
    bool ok;
    /* shadow's su: "Successful su for root by alice", "FAILED su for root by alice" */
    if ((ok = eat(&m, "Successful su for ")) || eat(&m, "FAILED su for ")) {
        ev_init(ev, "su", "Interactive", ok);
        ptrdiff_t by = rfind(m, " by ");
        if (by <= 0) return false;
        copy(ev->account, sizeof ev->account, vg_str_make(m.p, (size_t)by));
        copy(ev->target, sizeof ev->target, vg_str_make(m.p + by + 4, m.n - (size_t)by - 4));
    } else if ((ok = eat(&m, "(to ")) || eat(&m, "FAILED SU (to ")) {
        /* util-linux su: "(to root) alice on pts/0", "FAILED SU (to root) alice on pts/0" */
        ev_init(ev, "su", "Interactive", ok);
        ptrdiff_t close = vg_str_chr(m, ')');
        if (close <= 0) return false;
        copy(ev->account, sizeof ev->account, vg_str_make(m.p, (size_t)close));
        vg_str rest = vg_str_make(m.p + close + 1, m.n - (size_t)close - 1);
        skip_spaces(&rest);
        copy(ev->target, sizeof ev->target, word(&rest));
        skip_spaces(&rest);
        if (eat(&rest, "on ")) copy(ev->tty, sizeof ev->tty, word(&rest));
    } else {
        return false;
    }
    if (!ok) snprintf(ev->failure, sizeof ev->failure, "%s", "InvalidUserNameOrPassword");
    return ev->account[0] != '\0';
}

bool ag_auth_parse(vg_str prog, vg_str msg, ag_logon_ev *ev)
{
    bool r = false;
    if (vg_str_eqc(prog, "sshd") || vg_str_eqc(prog, "sshd-session")) r = parse_sshd(msg, ev);
    else if (vg_str_eqc(prog, "sudo")) r = parse_sudo(msg, ev);
    else if (vg_str_eqc(prog, "su")) r = parse_su(msg, ev);
    return r && ev->account[0] != '\0';
}

/* ---- utmpx ---- */

static void field_copy(char *dst, size_t cap, const char *src, size_t max)
{
    vg_str_copy_c(dst, cap, vg_str_make(src, strnlen(src, max)));
}

bool ag_utmp_parse(const void *rec, size_t len, bool failed, ag_logon_ev *ev)
{
    if (len != sizeof(struct utmpx)) return false;
    struct utmpx u;
    memcpy(&u, rec, sizeof u);
    if (!(u.ut_type == USER_PROCESS || (failed && u.ut_type == LOGIN_PROCESS))) return false;
    if (u.ut_user[0] == '\0') return false;
    char host[sizeof u.ut_host + 1], line[sizeof u.ut_line + 1];
    field_copy(host, sizeof host, u.ut_host, sizeof u.ut_host);
    field_copy(line, sizeof line, u.ut_line, sizeof u.ut_line);
    bool remote = host[0] != '\0' || strncmp(line, "ssh:", 4) == 0;
    /* sshd writes both wtmp and btmp; a remote record is an ssh logon, as Defender reports ssh */
    ev_init(ev, remote ? "ssh" : "login", remote ? "Network" : "Interactive", !failed);
    field_copy(ev->account, sizeof ev->account, u.ut_user, sizeof u.ut_user);
    vg_str_copy_c(ev->tty, sizeof ev->tty, vg_str_c(line));
    ev->pid = u.ut_pid > 0 ? u.ut_pid : 0;
    ev->ts = vg_time_from_unix(u.ut_tv.tv_sec, (int64_t)u.ut_tv.tv_usec * 1000);
    if (failed) snprintf(ev->failure, sizeof ev->failure, "%s", "InvalidUserNameOrPassword");
    /* the address: ut_addr_v6 when set (v4 in its first word), else the host text */
    uint32_t a[4];
    memcpy(a, u.ut_addr_v6, sizeof a);
    if (a[1] == 0 && a[2] == 0 && a[3] == 0 && a[0] != 0)
        ag_ip_format(AF_INET, (const uint8_t *)a, ev->remote_ip, sizeof ev->remote_ip);
    else if (a[0] || a[1] || a[2] || a[3])
        ag_ip_format(AF_INET6, (const uint8_t *)a, ev->remote_ip, sizeof ev->remote_ip);
    else if (host[0]) {
        unsigned char buf[16];
        if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)
            vg_str_copy_c(ev->remote_ip, sizeof ev->remote_ip, vg_str_c(host));
    }
    return true;
}

/* ---- the row ---- */

static void member_str(vg_buf *b, const char *name, const char *v)
{
    vg_buf_putc(b, ',');
    vg_buf_put_json_str(b, vg_str_c(name));
    vg_buf_putc(b, ':');
    vg_buf_put_json_str(b, vg_str_c(v));
}

void ag_logon_members(const ag_logon_ev *ev, const char *domain, vg_buf *row)
{
    member_str(row, "ActionType", ev->success ? "LogonSuccess" : "LogonFailed");
    member_str(row, "LogonType", ev->logon_type);
    member_str(row, "AccountName", ev->account);
    member_str(row, "AccountDomain", domain);
    member_str(row, "Protocol", ev->protocol);
    if (!ev->success) member_str(row, "FailureReason", ev->failure);
    if (ev->remote_ip[0]) {
        member_str(row, "RemoteIP", ev->remote_ip);
        unsigned char addr[16];
        if (inet_pton(AF_INET, ev->remote_ip, addr) == 1)
            member_str(row, "RemoteIPType", ag_ip_type(AF_INET, addr));
        else if (inet_pton(AF_INET6, ev->remote_ip, addr) == 1)
            member_str(row, "RemoteIPType", ag_ip_type(AF_INET6, addr));
    }
    if (ev->remote_port) vg_buf_printf(row, ",\"RemotePort\":%d", ev->remote_port);
    /* the rest of what the source said, as Defender does, in AdditionalFields (a JSON text) */
    vg_buf add;
    vg_buf_init(&add, 0);
    vg_buf_putc(&add, '{');
    size_t start = add.n;
    struct { const char *k, *v; } kv[] = {
        { "Method", ev->method },
        { strcmp(ev->protocol, "su") == 0 ? "ByUser" : "RunAsUser", ev->target },
        { "Command", ev->command },
        { "Tty", ev->tty },
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (!kv[i].v[0]) continue;
        if (add.n > start) vg_buf_putc(&add, ',');
        vg_buf_put_json_str(&add, vg_str_c(kv[i].k));
        vg_buf_putc(&add, ':');
        vg_buf_put_json_str(&add, vg_str_c(kv[i].v));
    }
    vg_buf_putc(&add, '}');
    if (add.n > start + 1 && !add.failed) {
        vg_buf_puts(row, ",\"AdditionalFields\":");
        vg_buf_put_json_str(row, vg_str_make(add.p, add.n));
    }
    vg_buf_free(&add);
}
