/*
 * test_agent_response.c - unit tests of the agent's response actions
 * (src/agent/ag_isolate.c, ag_kill.c, ag_quarantine.c, ag_block.c,
 * ag_package.c, ag_yara.c, ag_actions.c): the nftables ruleset text and its
 * application inside a network namespace of its own, the isolation state
 * kept across restarts, the pid + start-time guard, the quarantine round
 * trip, the ustar writer read back by tar(1), the investigation package,
 * YARA compile errors and matches, the block set and (as root) a real
 * FAN_OPEN_EXEC_PERM denial.
 *
 * The core's functions the response code calls (identity, rows, hashes, the
 * process cache) are replaced below by small test doubles: this file is the
 * only place they exist; the agent links the real ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/ag_response_int.h"
#include "core/vg_arena.h"

/* ---- doubles of the core ---- */

struct ag {
    ag_ident id;
    char server[256];
};
static struct ag g_ag;
static vg_buf g_rows;         /* every row ag_emit received, one per line */

const ag_ident *ag_identity(const ag *a) { return &a->id; }
const char *ag_server_url(const ag *a) { return a->server; }
bool ag_stopping(const ag *a) { return false; }
static int g_isolated = -1;
void ag_set_isolation(ag *a, bool isolated) { g_isolated = isolated; }
void ag_count_drop(ag *a, const char *sensor, uint64_t n) {}
vg_err ag_emit(ag *a, const char *sensor, vg_str row)
{
    vg_buf_putstr(&g_rows, row);
    vg_buf_putc(&g_rows, '\n');
    return VG_OK;
}
void ag_row_begin(ag *a, vg_buf *b, const char *table, vg_time ts)
{
    vg_buf_printf(b, "{\"Table\":\"%s\",\"DeviceId\":\"%s\"", table, a->id.device_id);
}
void ag_proc_initiating(ag *a, pid_t pid, vg_buf *row)
{
    vg_buf_printf(row, ",\"InitiatingProcessId\":%d", (int)pid);
}
bool ag_proc_get(ag *a, pid_t pid, ag_proc *out) { return false; }
static char g_upload_path[256];
static size_t g_upload_bytes;
vg_err ag_server_request(ag *a, const char *method, const char *path, const void *body, size_t n,
                         const char *ctype, long *status, vg_buf *resp, vg_diag *d)
{
    vg_str_copy_c(g_upload_path, sizeof g_upload_path, vg_str_c(path));
    g_upload_bytes = n;
    /* a gzip stream: what the server stores */
    *status = n > 2 && ((const unsigned char *)body)[0] == 0x1f &&
              ((const unsigned char *)body)[1] == 0x8b ? 200 : 400;
    return VG_OK;
}
bool ag_file_hashes(ag *a, const char *path, char sha1[41], char sha256[65], char md5[33])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = ag_hash_fd(fd, sha1, sha256);
    close(fd);
    md5[0] = '\0';
    return ok;
}

/* ---- helpers ---- */

/* snprintf without the truncation warning: test paths are short */
__attribute__((format(printf, 3, 4))) static void pf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

static char g_tmp[256];       /* scratch; the agent's state dir is g_tmp/state */
static char g_state[300];

static int setup(void **state)
{
    vg_str_copy_c(g_tmp, sizeof g_tmp, vg_str_c("/tmp/vg-agresp-XXXXXX"));
    if (!mkdtemp(g_tmp))
        return -1;
    memset(&g_ag, 0, sizeof g_ag);
    vg_str_copy_c(g_ag.id.device_id, sizeof g_ag.id.device_id, vg_str_c("dev1"));
    pf(g_state, sizeof g_state, "%s/state", g_tmp);
    if (mkdir(g_state, 0700) != 0)
        return -1;
    vg_str_copy_c(g_ag.id.state_dir, sizeof g_ag.id.state_dir, vg_str_c(g_state));
    vg_buf_init(&g_rows, 0);
    return 0;
}

static int teardown(void **state)
{
    char cmd[512];
    pf(cmd, sizeof cmd, "chmod -R u+w %s; rm -rf %s", g_tmp, g_tmp);
    if (system(cmd) != 0)
        return -1;
    vg_buf_free(&g_rows);
    return 0;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static char *slurp(const char *path)
{
    static char buf[1 << 16];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static bool have_netns(void) { return geteuid() == 0; }

/* Runs fn in a child inside a fresh network namespace; its exit code back. */
static int in_netns(int (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) != 0)
            _exit(100);
        _exit(fn());
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

/* ---- isolation ---- */

static void test_iso_resolve(void **state)
{
    ag_iso_target t;
    vg_diag d;
    assert_int_equal(ag_iso_resolve("https://127.0.0.1:8443/api", &t, &d), VG_OK);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.addr[0], "127.0.0.1");
    assert_int_equal(t.port, 8443);
    assert_int_equal(ag_iso_resolve("http://[::1]/", &t, &d), VG_OK);
    assert_string_equal(t.addr[0], "::1");
    assert_true(t.v6[0]);
    assert_int_equal(t.port, 80);
    assert_int_equal(ag_iso_resolve("https://user@10.200.0.1", &t, &d), VG_OK);
    assert_int_equal(t.port, 443);
    assert_string_equal(t.addr[0], "10.200.0.1");
    assert_int_equal(ag_iso_resolve("ftp://10.0.0.1", &t, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "not http"));
    assert_int_equal(ag_iso_resolve("http://10.0.0.1:99999/", &t, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "bad port"));
    assert_int_equal(ag_iso_resolve("", &t, &d), VG_EINVAL);
}

static void test_iso_ruleset_text(void **state)
{
    ag_iso_target t = { .n = 2, .port = 8443 };
    vg_str_copy_c(t.addr[0], sizeof t.addr[0], vg_str_c("10.200.0.1"));
    vg_str_copy_c(t.addr[1], sizeof t.addr[1], vg_str_c("fd00::1"));
    t.v6[1] = true;
    vg_buf b;
    vg_buf_init(&b, 0);
    ag_iso_ruleset(&t, &b);
    const char *s = vg_buf_cstr(&b);
    assert_non_null(strstr(s, "add table inet vigil_isolation\ndelete table inet vigil_isolation\n"));
    assert_non_null(strstr(s, "type filter hook input priority -190; policy drop;"));
    assert_non_null(strstr(s, "type filter hook output priority -190; policy drop;"));
    assert_non_null(strstr(s, "type filter hook forward priority -190; policy drop;"));
    assert_non_null(strstr(s, "iif \"lo\" accept"));
    assert_non_null(strstr(s, "oif \"lo\" accept"));
    assert_non_null(strstr(s, "ip saddr 10.200.0.1 tcp sport 8443 ct state established accept"));
    assert_non_null(strstr(s, "ip daddr 10.200.0.1 tcp dport 8443 ct state new,established accept"));
    assert_non_null(strstr(s, "ip6 daddr fd00::1 tcp dport 8443"));
    assert_null(strstr(s, "53"));            /* no DNS hole */
    assert_null(strstr(s, "udp"));
    /* the forward chain accepts nothing */
    const char *fwd = strstr(s, "chain forward");
    assert_non_null(fwd);
    assert_null(strstr(fwd, "accept"));
    vg_buf_free(&b);
}

static int netns_apply_release(void)
{
    ag_iso_target t = { .n = 1, .port = 8080 };
    vg_str_copy_c(t.addr[0], sizeof t.addr[0], vg_str_c("10.200.9.1"));
    vg_diag d;
    /* another table that must survive isolate and release untouched */
    system("nft add table ip keepme && nft add chain ip keepme c '{ type filter hook input priority 0; }'");
    if (ag_iso_present())
        return 1;
    if (ag_iso_apply(&t, &d) != VG_OK || !ag_iso_present())
        return 2;
    if (ag_iso_apply(&t, &d) != VG_OK)   /* re-applying replaces, no error */
        return 3;
    if (system("nft list table inet vigil_isolation | grep -q 'ip daddr 10.200.9.1 tcp dport 8080'") != 0)
        return 4;
    if (ag_iso_release(&d) != VG_OK || ag_iso_present())
        return 5;
    if (system("nft list ruleset | grep -q 'table ip keepme'") != 0 ||
        system("nft list ruleset | grep -q vigil") == 0)
        return 6;
    if (ag_iso_release(&d) != VG_OK)     /* releasing twice is fine */
        return 7;
    return 0;
}

static void test_iso_apply_netns(void **state)
{
    if (!have_netns())
        skip();
    assert_int_equal(in_netns(netns_apply_release), 0);
}

static int netns_state(void)
{
    vg_diag d;
    vg_buf r;
    vg_buf_init(&r, 0);
    if (ag_iso_isolate_with(g_state, "http://10.200.9.1:8080/", &r, &d) != VG_OK)
        return 1;
    if (!strstr(vg_buf_cstr(&r), "\"ServerAddresses\":[\"10.200.9.1\"],\"ServerPort\":8080"))
        return 2;
    char path[512];
    pf(path, sizeof path, "%s/isolation.json", g_state);
    if (access(path, F_OK) != 0)
        return 3;
    /* a reboot or flush loses the table; the agent's start re-applies it */
    system("nft delete table inet vigil_isolation");
    bool applied = false;
    if (ag_iso_restore_state(g_state, &applied, &d) != VG_OK || !applied || !ag_iso_present())
        return 4;
    vg_buf_clear(&r);
    if (ag_iso_release_with(g_state, &r, &d) != VG_OK || ag_iso_present() || access(path, F_OK) == 0)
        return 5;
    if (!strstr(vg_buf_cstr(&r), "\"Deleted\":true"))
        return 6;
    applied = true;
    if (ag_iso_restore_state(g_state, &applied, &d) != VG_OK || applied || ag_iso_present())
        return 7;
    /* through the actions table: the heartbeat's isolation state follows */
    vg_str_copy_c(g_ag.server, sizeof g_ag.server, vg_str_c("https://10.200.9.1:8443"));
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *p;
    if (vg_json_parse(&ar, vg_str_c("{\"IsolationType\":\"Selective\"}"), &p, &d) != VG_OK ||
        ag_actions[0].fn(&g_ag, p, &r, &d) != VG_EUNSUPPORTED || ag_iso_present())
        return 8;
    if (vg_json_parse(&ar, vg_str_c("{\"IsolationType\":\"Full\"}"), &p, &d) != VG_OK ||
        strcmp(ag_actions[0].type, "Isolate") != 0 || ag_actions[0].fn(&g_ag, p, &r, &d) != VG_OK ||
        g_isolated != 1 || !ag_iso_present())
        return 9;
    if (strcmp(ag_actions[1].type, "Unisolate") != 0 || ag_actions[1].fn(&g_ag, NULL, &r, &d) != VG_OK ||
        g_isolated != 0 || ag_iso_present())
        return 10;
    vg_arena_free(&ar);
    vg_buf_free(&r);
    return 0;
}

static void test_iso_state_netns(void **state)
{
    if (!have_netns())
        skip();
    assert_int_equal(in_netns(netns_state), 0);
}

static int netns_response_start(void)
{
    vg_diag d;
    vg_buf r;
    vg_buf_init(&r, 0);
    if (ag_iso_isolate_with(g_state, "http://10.200.9.1:8080/", &r, &d) != VG_OK)
        return 1;
    system("nft delete table inet vigil_isolation");
    g_isolated = -1;
    vg_err e = ag_response_start(&g_ag, &d);
    if (e != VG_OK && e != VG_EUNSUPPORTED)   /* no fanotify permission events: still isolated */
        return 2;
    if (!ag_iso_present() || g_isolated != 1)
        return 3;
    ag_response_stop(&g_ag);
    if (!ag_iso_present())                      /* stopping the agent does not release */
        return 4;
    vg_buf_free(&r);
    return 0;
}

static void test_response_start_netns(void **state)
{
    if (!have_netns())
        skip();
    assert_int_equal(in_netns(netns_response_start), 0);
}

/* ---- kill ---- */

static void test_kill_start_guard(void **state)
{
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    vg_time start;
    uint64_t ticks;
    assert_true(ag_kill_start_time(child, &start, &ticks));
    vg_time now = vg_time_now();
    assert_true(start <= now + VG_TICKS_PER_SEC && start > now - 60 * VG_TICKS_PER_SEC);
    vg_diag d;
    /* a different start time: a recycled pid; refused, the process lives */
    assert_int_equal(ag_kill_checked(child, start - 3600 * VG_TICKS_PER_SEC, &d), VG_ECONFLICT);
    assert_non_null(strstr(d.msg, "not killed"));
    assert_int_equal(kill(child, 0), 0);
    assert_int_equal(ag_kill_checked(1, 0, &d), VG_EINVAL);
    assert_int_equal(ag_kill_checked(getpid(), 0, &d), VG_EINVAL);
    /* the right start time (within tolerance): killed */
    assert_int_equal(ag_kill_checked(child, start + VG_TICKS_PER_SEC, &d), VG_OK);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void test_kill_action_params(void **state)
{
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *p;
    vg_diag d;
    vg_buf r;
    vg_buf_init(&r, 0);
    assert_int_equal(vg_json_parse(&ar, vg_str_c("{\"ProcessId\":1234}"), &p, &d), VG_OK);
    assert_int_equal(ag_act_kill(&g_ag, p, &r, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "ProcessStartTime is required"));
    assert_int_equal(vg_json_parse(&ar, vg_str_c("{\"Sha256\":\"abc\"}"), &p, &d), VG_OK);
    assert_int_equal(ag_act_kill(&g_ag, p, &r, &d), VG_EINVAL);
    assert_int_equal(vg_json_parse(&ar, vg_str_c("{}"), &p, &d), VG_OK);
    assert_int_equal(ag_act_kill(&g_ag, p, &r, &d), VG_EINVAL);

    /* by pid + start, through the action */
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    vg_time start;
    assert_true(ag_kill_start_time(child, &start, NULL));
    char ts[40], body[128];
    vg_time_format(start, ts, sizeof ts);
    pf(body, sizeof body, "{\"ProcessId\":%d,\"ProcessStartTime\":\"%s\"}", (int)child, ts);
    assert_int_equal(vg_json_parse(&ar, vg_str_c(body), &p, &d), VG_OK);
    assert_int_equal(ag_act_kill(&g_ag, p, &r, &d), VG_OK);
    assert_non_null(strstr(vg_buf_cstr(&r), "\"count\":1"));
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFSIGNALED(st));
    vg_buf_free(&r);
    vg_arena_free(&ar);
}

static void test_kill_by_sha256(void **state)
{
    /* a private copy of sleep(1), so that the hash names only our process */
    char exe[512], cmd[1200], sha1[41], sha256[65];
    pf(exe, sizeof exe, "%s/mysleep", g_tmp);
    pf(cmd, sizeof cmd, "cp /bin/sleep %s && printf x >> %s", exe, exe);
    assert_int_equal(system(cmd), 0);
    int fd = open(exe, O_RDONLY);
    assert_true(ag_hash_fd(fd, sha1, sha256));
    close(fd);
    pid_t child = fork();
    if (child == 0) {
        execl(exe, "mysleep", "60", (char *)NULL);
        _exit(127);
    }
    usleep(200000);
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *p;
    vg_diag d;
    vg_buf r;
    vg_buf_init(&r, 0);
    char body[128];
    pf(body, sizeof body, "{\"Sha256\":\"%s\"}", sha256);
    assert_int_equal(vg_json_parse(&ar, vg_str_c(body), &p, &d), VG_OK);
    assert_int_equal(ag_act_kill(&g_ag, p, &r, &d), VG_OK);
    assert_non_null(strstr(vg_buf_cstr(&r), "\"count\":1"));
    assert_non_null(strstr(vg_buf_cstr(&r), "mysleep"));
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    vg_buf_free(&r);
    vg_arena_free(&ar);
}

/* ---- quarantine ---- */

static void test_quarantine_round_trip(void **state)
{
    char dir[512], path[600], qpath[700], mpath[700];
    pf(dir, sizeof dir, "%s/victim", g_tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    pf(path, sizeof path, "%s/payload.sh", dir);
    write_text(path, "#!/bin/sh\necho evil\n", 0750);
    struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = 1600000000, .tv_nsec = 123456789 } };
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    char sha1[41], sha256[65];
    int fd = open(path, O_RDONLY);
    assert_true(ag_hash_fd(fd, sha1, sha256));
    close(fd);

    vg_diag d;
    vg_buf r;
    vg_buf_init(&r, 0);
    /* a wrong hash: refused, nothing moved */
    assert_int_equal(ag_quar_file(g_state, path, "a1", NULL,
                                  "0000000000000000000000000000000000000000000000000000000000000000",
                                  &r, &d), VG_ECONFLICT);
    assert_int_equal(access(path, F_OK), 0);

    assert_int_equal(ag_quar_file(g_state, path, "act-1", sha1, sha256, &r, &d), VG_OK);
    assert_int_not_equal(access(path, F_OK), 0);
    pf(qpath, sizeof qpath, "%s/quarantine/%s", g_state, sha256);
    pf(mpath, sizeof mpath, "%s/quarantine/%s.json", g_state, sha256);
    struct stat st;
    assert_int_equal(stat(qpath, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0400);
    const char *meta = slurp(mpath);
    assert_non_null(meta);
    assert_non_null(strstr(meta, "\"OriginalPath\":"));
    assert_non_null(strstr(meta, "payload.sh"));
    assert_non_null(strstr(meta, "\"Mode\":488"));      /* 0750 */
    assert_non_null(strstr(meta, "\"ActionId\":\"act-1\""));
    assert_non_null(strstr(meta, sha1));
    assert_non_null(strstr(vg_buf_cstr(&r), "\"QuarantinePath\""));

    /* restore refuses to overwrite */
    write_text(path, "new", 0644);
    vg_buf_clear(&r);
    assert_int_equal(ag_quar_restore(g_state, sha256, &r, &d), VG_EEXIST);
    unlink(path);
    assert_int_equal(ag_quar_restore(g_state, sha256, &r, &d), VG_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_mtim.tv_sec, 1600000000);
    assert_int_equal(st.st_mtim.tv_nsec, 123456789);
    assert_string_equal(slurp(path), "#!/bin/sh\necho evil\n");
    assert_int_not_equal(access(qpath, F_OK), 0);
    assert_int_not_equal(access(mpath, F_OK), 0);
    assert_int_equal(ag_quar_restore(g_state, sha256, &r, &d), VG_ENOTFOUND);
    vg_buf_free(&r);
}

static void test_quarantine_refusals(void **state)
{
    vg_diag d;
    vg_buf r;
    vg_buf_init(&r, 0);
    assert_int_equal(ag_quar_file(g_state, "/proc/self/status", NULL, NULL, NULL, &r, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "/proc"));
    assert_int_equal(ag_quar_file(g_state, "/dev/null", NULL, NULL, NULL, &r, &d), VG_EINVAL);
    char own[512];
    pf(own, sizeof own, "%s/credential", g_state);
    write_text(own, "secret", 0600);
    assert_int_equal(ag_quar_file(g_state, own, NULL, NULL, NULL, &r, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "agent's state"));
    assert_int_equal(access(own, F_OK), 0);
    assert_int_equal(ag_quar_path_ok(g_state, "/sys/kernel", &d), VG_EINVAL);
    assert_int_equal(ag_quar_file(g_state, "/nonexistent/x", NULL, NULL, NULL, &r, &d), VG_ENOTFOUND);
    vg_buf_free(&r);
}

static void test_quarantine_action_path(void **state)
{
    char path[512];
    pf(path, sizeof path, "%s/dropper", g_tmp);
    /* not under the state dir: a sibling dir */
    char dir[512];
    pf(dir, sizeof dir, "/tmp/vg-agresp-victim-%d", (int)getpid());
    mkdir(dir, 0700);
    pf(path, sizeof path, "%s/dropper", dir);
    write_text(path, "MZ fake dropper", 0644);
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *p;
    vg_diag d;
    vg_buf r;
    vg_buf_init(&r, 0);
    char body[700];
    pf(body, sizeof body, "{\"Path\":\"%s\",\"ActionId\":\"x-9\"}", path);
    assert_int_equal(vg_json_parse(&ar, vg_str_c(body), &p, &d), VG_OK);
    assert_int_equal(ag_act_quarantine(&g_ag, p, &r, &d), VG_OK);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_non_null(strstr(vg_buf_cstr(&r), "\"killedCount\":0"));
    const char *sha = strstr(vg_buf_cstr(&r), "\"Sha256\":\"");
    assert_non_null(sha);
    char body2[200];
    pf(body2, sizeof body2, "{\"Sha256\":\"%.64s\"}", sha + 10);
    assert_int_equal(vg_json_parse(&ar, vg_str_c(body2), &p, &d), VG_OK);
    vg_buf_clear(&r);
    assert_int_equal(ag_act_restore(&g_ag, p, &r, &d), VG_OK);
    assert_string_equal(slurp(path), "MZ fake dropper");
    /* a hash no process runs and no Path: a clear error */
    assert_int_equal(vg_json_parse(&ar, vg_str_c(body2), &p, &d), VG_OK);
    assert_int_equal(ag_act_quarantine(&g_ag, p, &r, &d), VG_ENOTFOUND);
    assert_non_null(strstr(d.msg, "give Path"));
    unlink(path);
    rmdir(dir);
    vg_buf_free(&r);
    vg_arena_free(&ar);
}

/* ---- ustar and the package ---- */

static void test_ustar_read_back(void **state)
{
    char path[512], cmd[1200], line[512];
    pf(path, sizeof path, "%s/t.tar.gz", g_tmp);
    ag_tar *t;
    vg_diag d;
    assert_int_equal(ag_tar_open(path, 1u << 20, &t, &d), VG_OK);
    assert_int_equal(ag_tar_add(t, "a.txt", "hello\n", 6, 0644, 1600000000, &d), VG_OK);
    char longname[200];
    pf(longname, sizeof longname, "%s/%s", "persistence/users/someone-with-a-long-name/deep/dir",
             "a-file-name-that-makes-the-whole-path-longer-than-one-hundred-bytes.txt");
    assert_true(strlen(longname) > 100);
    assert_int_equal(ag_tar_add(t, longname, "x", 1, 0600, 0, &d), VG_OK);
    assert_int_equal(ag_tar_add(t, "empty", "", 0, 0644, 0, &d), VG_OK);
    char big[2048];
    memset(big, 'b', sizeof big);
    assert_int_equal(ag_tar_add(t, "big", big, sizeof big, 0644, 0, &d), VG_OK);
    uint64_t bytes = 0;
    assert_int_equal(ag_tar_close(t, &bytes, &d), VG_OK);
    assert_true(bytes > 0);
    pf(cmd, sizeof cmd, "tar -tzf %s", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    int n = 0;
    bool saw_long = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        saw_long = saw_long || strcmp(line, longname) == 0;
        n++;
    }
    assert_int_equal(pclose(f), 0);
    assert_int_equal(n, 4);
    assert_true(saw_long);
    pf(cmd, sizeof cmd, "tar -xzOf %s a.txt | grep -qx hello", path);
    assert_int_equal(system(cmd), 0);
    pf(cmd, sizeof cmd, "test $(tar -xzOf %s big | wc -c) = 2048", path);
    assert_int_equal(system(cmd), 0);

    /* the bound */
    assert_int_equal(ag_tar_open(path, 10, &t, &d), VG_OK);
    assert_int_equal(ag_tar_add(t, "a", "0123456789", 10, 0644, 0, &d), VG_OK);
    assert_int_equal(ag_tar_add(t, "b", "x", 1, 0644, 0, &d), VG_ELIMIT);
    assert_int_equal(ag_tar_close(t, NULL, &d), VG_OK);
}

static void test_package_build(void **state)
{
    char path[512], cmd[1200];
    pf(path, sizeof path, "%s/pkg.tar.gz", g_tmp);
    vg_diag d;
    assert_int_equal(ag_package_build(&g_ag, path, &d), VG_OK);
    static const char *const want[] = { "processes.tsv", "network.tsv", "etc/passwd", "etc/group",
                                        "packages.tsv", "manifest.json",
                                        "persistence/systemd/enabled-links.txt" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        pf(cmd, sizeof cmd, "tar -tzf %s | grep -qx '%s'", path, want[i]);
        assert_int_equal(system(cmd), 0);
    }
    /* our own pid is in the process list; manifest names the device */
    pf(cmd, sizeof cmd, "tar -xzOf %s processes.tsv | grep -q '^%d\t'", path, (int)getpid());
    assert_int_equal(system(cmd), 0);
    pf(cmd, sizeof cmd, "tar -xzOf %s manifest.json | grep -q '\"DeviceId\":\"dev1\"'", path);
    assert_int_equal(system(cmd), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size < AG_PACKAGE_MAX_BYTES);

    vg_buf r;
    vg_buf_init(&r, 0);
    assert_int_equal(ag_act_package(&g_ag, NULL, &r, &d), VG_OK);
    assert_non_null(strstr(vg_buf_cstr(&r), "\"package\":"));
    assert_non_null(strstr(vg_buf_cstr(&r), "\"bytes\":"));
    assert_non_null(strstr(vg_buf_cstr(&r), "\"uploaded\":false"));
    /* with the action's id, the package goes up to the server */
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *p;
    assert_int_equal(vg_json_parse(&ar, vg_str_c("{\"ActionId\":\"0a1b-2c3d\"}"), &p, &d), VG_OK);
    vg_buf_clear(&r);
    assert_int_equal(ag_act_package(&g_ag, p, &r, &d), VG_OK);
    assert_string_equal(g_upload_path, "/api/v1/agents/actions/0a1b-2c3d/package");
    assert_true(g_upload_bytes > 100);
    assert_non_null(strstr(vg_buf_cstr(&r), "\"uploaded\":true"));
    vg_arena_free(&ar);
    vg_buf_free(&r);
}

/* ---- YARA ---- */

static void count_match(void *ctx, const ag_yara_match *m)
{
    ag_yara_match *last = ctx;
    *last = *m;
}

static void test_yara_compile_error(void **state)
{
    vg_diag d;
    uint64_t scanned = 0, matches = 0;
    ag_yara_match last;
    vg_err e = ag_yara_scan(vg_str_c("rule a {\n  strings: $a = \"x\"\n  condition: $b\n}\n"), g_tmp,
                            count_match, &last, &scanned, &matches, &d);
    assert_int_equal(e, VG_EPARSE);
    assert_non_null(strstr(d.msg, "line 4"));   /* where YARA sees the rule end */
    assert_non_null(strstr(d.msg, "undefined string \"$b\""));
    e = ag_yara_scan(vg_str_c("rule {"), g_tmp, count_match, &last, &scanned, &matches, &d);
    assert_int_equal(e, VG_EPARSE);
    assert_non_null(strstr(d.msg, "line 1"));
    assert_int_equal(ag_yara_scan(vg_str_c("rule a { condition: true }"), "/proc", count_match, &last,
                                  &scanned, &matches, &d), VG_EINVAL);
}

static void test_yara_match(void **state)
{
    char dir[512], a[600], b[600];
    pf(dir, sizeof dir, "%s/scan", g_tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    pf(a, sizeof a, "%s/evil.bin", dir);
    pf(b, sizeof b, "%s/clean.txt", dir);
    write_text(a, "prefix EVILMARKER-42 suffix", 0644);
    write_text(b, "nothing to see", 0644);
    char sub[600], c[700];
    pf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0755);
    pf(c, sizeof c, "%s/deep.bin", sub);
    write_text(c, "EVILMARKER-42", 0644);
    char body[2048];
    pf(body, sizeof body,
             "{\"Path\":\"%s\",\"Rules\":\"rule Evil : t1 t2 { strings: $a = \\\"EVILMARKER-42\\\" "
             "condition: $a }\"}", dir);
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *p;
    vg_diag d;
    vg_buf r;
    vg_buf_init(&r, 0);
    assert_int_equal(vg_json_parse(&ar, vg_str_c(body), &p, &d), VG_OK);
    vg_buf_clear(&g_rows);
    assert_int_equal(ag_act_yara(&g_ag, p, &r, &d), VG_OK);
    const char *res = vg_buf_cstr(&r);
    assert_non_null(strstr(res, "\"scanned\":3"));
    assert_non_null(strstr(res, "\"matchCount\":2"));
    assert_non_null(strstr(res, "evil.bin"));
    assert_non_null(strstr(res, "deep.bin"));
    assert_null(strstr(res, "clean.txt"));
    const char *rows = vg_buf_cstr(&g_rows);
    assert_non_null(strstr(rows, "\"Table\":\"DeviceEvents\""));
    assert_non_null(strstr(rows, "\"ActionType\":\"YaraScanMatch\""));
    assert_non_null(strstr(rows, "\"FileName\":\"evil.bin\""));
    assert_non_null(strstr(rows, "\"AdditionalFields\":{\"Rule\":\"Evil\",\"Namespace\":\"default\","
                                 "\"Tags\":[\"t1\",\"t2\"]}"));
    vg_buf_free(&r);
    vg_arena_free(&ar);
}

/* ---- hash blocking ---- */

static void test_block_set(void **state)
{
    ag_indicator v[4];
    memset(v, 0, sizeof v);
    const char *h256 = "AB000000000000000000000000000000000000000000000000000000000000CD";
    const char *h1 = "1111111111111111111111111111111111111111";
    vg_str_copy_c(v[0].id, 64, vg_str_c("i0"));
    vg_str_copy_c(v[0].type, 16, vg_str_c("FileSha256"));
    vg_str_copy_c(v[0].value, 256, vg_str_c(h256));
    vg_str_copy_c(v[0].action, 8, vg_str_c("Block"));
    vg_str_copy_c(v[1].id, 64, vg_str_c("i1"));
    vg_str_copy_c(v[1].type, 16, vg_str_c("FileSha1"));
    vg_str_copy_c(v[1].value, 256, vg_str_c(h1));
    vg_str_copy_c(v[1].action, 8, vg_str_c("Block"));
    vg_str_copy_c(v[2].id, 64, vg_str_c("i2"));
    vg_str_copy_c(v[2].type, 16, vg_str_c("FileSha256"));
    vg_str_copy_c(v[2].value, 256,
                  vg_str_c("2222222222222222222222222222222222222222222222222222222222222222"));
    vg_str_copy_c(v[2].action, 8, vg_str_c("Alert"));
    vg_str_copy_c(v[3].id, 64, vg_str_c("i3"));
    vg_str_copy_c(v[3].type, 16, vg_str_c("IpAddress"));
    vg_str_copy_c(v[3].value, 256, vg_str_c("10.0.0.1"));
    vg_str_copy_c(v[3].action, 8, vg_str_c("Block"));
    ag_indicators_changed(&g_ag, v, 4);
    char id[64];
    assert_true(ag_block_lookup("ab000000000000000000000000000000000000000000000000000000000000cd", id));
    assert_string_equal(id, "i0");
    assert_true(ag_block_lookup(h256, id));
    assert_true(ag_block_lookup(h1, id));
    assert_string_equal(id, "i1");
    assert_false(ag_block_lookup("2222222222222222222222222222222222222222222222222222222222222222", id));
    assert_false(ag_block_lookup("10.0.0.1", id));
    ag_indicators_changed(&g_ag, v + 2, 1);   /* the swap drops the old set */
    assert_false(ag_block_lookup(h256, id));
}

static int run_exec(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(path, path, (char *)NULL);
        _exit(errno == EPERM ? 126 : 127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_block_exec(void **state)
{
    if (geteuid() != 0)
        skip();
    char blocked[512], allowed[512], cmd[1200], sha1[41], sha256[65];
    pf(blocked, sizeof blocked, "%s/blocked", g_tmp);
    pf(allowed, sizeof allowed, "%s/allowed", g_tmp);
    /* both differ from /bin/true (which must keep running) and from each other */
    pf(cmd, sizeof cmd, "cp /bin/true %s && cp /bin/true %s && printf b >> %s && printf a >> %s",
       blocked, allowed, blocked, allowed);
    assert_int_equal(system(cmd), 0);
    int fd = open(blocked, O_RDONLY);
    assert_true(ag_hash_fd(fd, sha1, sha256));
    close(fd);
    vg_diag d;
    vg_err e = ag_block_start(&g_ag, &d);
    if (e == VG_EUNSUPPORTED) {
        print_message("SKIP: %s\n", d.msg);
        skip();
    }
    assert_int_equal(e, VG_OK);
    assert_false(ag_block_marked());           /* nothing to block: no marks */
    ag_indicator v = { .id = "blk-1", .type = "FileSha256", .action = "Block" };
    vg_str_copy_c(v.value, sizeof v.value, vg_str_c(sha256));
    vg_buf_clear(&g_rows);
    ag_indicators_changed(&g_ag, &v, 1);
    assert_true(ag_block_marked());
    assert_int_equal(run_exec(blocked), 126);
    assert_int_equal(run_exec(allowed), 0);
    assert_int_equal(run_exec("/bin/true"), 0);
    uint64_t checked, denied, failed;
    ag_block_counts(&checked, &denied, &failed);
    assert_int_equal(denied, 1);
    assert_true(checked >= 3);
    assert_non_null(strstr(vg_buf_cstr(&g_rows), "\"ActionType\":\"AppControlExecutionBlocked\""));
    assert_non_null(strstr(vg_buf_cstr(&g_rows), sha256));
    /* the block lifted: the same file runs */
    ag_indicators_changed(&g_ag, NULL, 0);
    assert_false(ag_block_marked());
    ag_block_counts(&checked, &denied, &failed);
    uint64_t before = checked;
    assert_int_equal(run_exec(blocked), 0);
    ag_block_counts(&checked, &denied, &failed);
    assert_int_equal(checked, before);         /* unmarked: the exec never asked us */
    /* blocking again marks again */
    ag_indicators_changed(&g_ag, &v, 1);
    assert_true(ag_block_marked());
    assert_int_equal(run_exec(blocked), 126);
    ag_indicators_changed(&g_ag, NULL, 0);
    ag_block_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_iso_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iso_ruleset_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iso_apply_netns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iso_state_netns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_start_netns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_start_guard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_action_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_by_sha256, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_action_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ustar_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_package_build, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yara_compile_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yara_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_exec, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
