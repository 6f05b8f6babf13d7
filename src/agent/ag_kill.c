/*
 * ag_kill.c - the KillProcess action: SIGKILL one process named by its pid
 * and start time, or every process whose executable has a given SHA256.
 *
 * A pid alone is not an identity (pids are recycled), so a pid is killed only
 * when /proc/PID/stat's start time matches the requested ProcessStartTime
 * within AG_KILL_START_TOLERANCE_SEC. The check and the kill go through one
 * pidfd, so the process checked is the process signalled. The agent never
 * kills itself or pid 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ag_response_int.h"

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_kill_(int pidfd)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
}

static bool read_small(const char *path, char *buf, size_t cap, size_t *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t r = read(fd, buf, cap - 1);
    close(fd);
    if (r < 0)
        return false;
    buf[r] = '\0';
    *n = (size_t)r;
    return true;
}

static bool boot_time(int64_t *sec)
{
    char buf[8192];
    size_t n;
    if (!read_small("/proc/stat", buf, sizeof buf, &n))
        return false;
    const char *p = strstr(buf, "\nbtime ");
    if (!p)
        return false;
    p += 7;
    vg_str s = vg_str_make(p, strcspn(p, "\n"));
    return vg_str_to_i64(s, sec) == VG_OK;
}

bool ag_kill_start_time(pid_t pid, vg_time *start, uint64_t *ticks)
{
    char path[64], buf[2048];
    size_t n;
    ag_resp_pathf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!read_small(path, buf, sizeof buf, &n))
        return false;
    const char *p = strrchr(buf, ')');
    if (!p)
        return false;
    p++;
    /* fields after ")": 3 state ... 22 starttime */
    for (int field = 3; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return false;
    }
    p++;
    uint64_t t;
    if (vg_str_to_u64(vg_str_make(p, strcspn(p, " ")), &t) != VG_OK)
        return false;
    int64_t btime;
    long hz = sysconf(_SC_CLK_TCK);
    if (!boot_time(&btime) || hz <= 0)
        return false;
    if (ticks)
        *ticks = t;
    *start = vg_time_from_unix(btime, 0) + (vg_time)(t * (VG_TICKS_PER_SEC / (uint64_t)hz));
    return true;
}

vg_err ag_kill_checked(pid_t pid, vg_time want, vg_diag *d)
{
    if (pid <= 1 || pid == getpid())
        return vg_diag_set(d, VG_EINVAL, "kill: refusing pid %d (init or the agent)", (int)pid);
    int pfd = pidfd_open_(pid);
    if (pfd < 0)
        return vg_diag_set(d, VG_ENOTFOUND, "kill: pid %d: %s", (int)pid, strerror(errno));
    vg_err e = VG_OK;
    vg_time start;
    /* checked after the pidfd is held: if pid was recycled before, the start
     * differs; after, the pidfd still names the process we checked */
    if (!ag_kill_start_time(pid, &start, NULL)) {
        e = vg_diag_set(d, VG_ENOTFOUND, "kill: pid %d is gone", (int)pid);
        goto out;
    }
    vg_timespan diff = start > want ? start - want : want - start;
    if (diff > AG_KILL_START_TOLERANCE_SEC * VG_TICKS_PER_SEC) {
        char have[40], asked[40];
        vg_time_format(start, have, sizeof have);
        vg_time_format(want, asked, sizeof asked);
        e = vg_diag_set(d, VG_ECONFLICT,
                        "kill: pid %d started at %s, not at the requested %s (a different process); "
                        "not killed", (int)pid, have, asked);
        goto out;
    }
    if (pidfd_kill_(pfd) != 0)
        e = vg_diag_set(d, errno == ESRCH ? VG_ENOTFOUND : VG_EIO, "kill: pid %d: %s", (int)pid,
                        strerror(errno));
out:
    close(pfd);
    return e;
}

/* Every pid whose /proc/PID/exe hashes to sha256 (lowercase) is killed; the
 * killed ones are listed into result's open array. */
static vg_err kill_by_hash(ag *a, const char *sha256, bool is_sha1, vg_buf *list, int *count,
                           char *first_path, size_t cap, vg_diag *d)
{
    DIR *dir = opendir("/proc");
    if (!dir)
        return vg_diag_set(d, VG_EIO, "kill: /proc: %s", strerror(errno));
    struct dirent *de;
    pid_t self = getpid();
    while ((de = readdir(dir)) != NULL && *count < AG_KILL_MAX) {
        uint64_t v;
        if (vg_str_to_u64(vg_str_c(de->d_name), &v) != VG_OK || v <= 1 || (pid_t)v == self)
            continue;
        pid_t pid = (pid_t)v;
        int pfd = pidfd_open_(pid);
        if (pfd < 0)
            continue;
        char exe[64], sha1[41] = "", s256[65] = "", md5[33] = "", target[4096];
        ag_resp_pathf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
        ssize_t tl = readlink(exe, target, sizeof target - 1);
        if (tl > 0 && ag_file_hashes(a, exe, sha1, s256, md5) &&
            strcasecmp(is_sha1 ? sha1 : s256, sha256) == 0) {
            target[tl] = '\0';
            if (first_path && !first_path[0])
                vg_str_copy_c(first_path, cap, vg_str_c(target));
            vg_time start = 0;
            ag_kill_start_time(pid, &start, NULL);
            if (pidfd_kill_(pfd) == 0) {
                char ts[40];
                vg_time_format(start, ts, sizeof ts);
                vg_buf_printf(list, "%s{\"ProcessId\":%d,\"ProcessStartTime\":\"%s\",\"Path\":",
                              *count ? "," : "", (int)pid, ts);
                vg_buf_put_json_str(list, vg_str_c(target));
                vg_buf_putc(list, '}');
                (*count)++;
            }
        }
        close(pfd);
    }
    closedir(dir);
    return VG_OK;
}

vg_err ag_kill_hash_list(ag *a, const char *hash, vg_buf *list, int *count, char *first_path,
                         size_t cap, vg_diag *d)
{
    if (first_path && cap)
        first_path[0] = '\0';
    return kill_by_hash(a, hash, strlen(hash) == 40, list, count, first_path, cap, d);
}

vg_err ag_act_kill(ag *a, const vg_json *params, vg_buf *result, vg_diag *d)
{
    const vg_json *pidj = params ? vg_json_get(params, "ProcessId") : NULL;
    const vg_json *startj = params ? vg_json_get(params, "ProcessStartTime") : NULL;
    const vg_json *shaj = params ? vg_json_get(params, "Sha256") : NULL;
    if (pidj) {
        int64_t pid;
        vg_time want;
        if (vg_str_to_i64(vg_json_text(pidj), &pid) != VG_OK || pid <= 0 || pid > 4194304)
            return vg_diag_set(d, VG_EINVAL, "KillProcess: ProcessId '%.*s' is not a pid",
                               (int)vg_json_text(pidj).n, vg_json_text(pidj).p);
        if (!startj)
            return vg_diag_set(d, VG_EINVAL,
                               "KillProcess: ProcessStartTime is required with ProcessId "
                               "(a pid alone may have been recycled)");
        if (vg_time_parse_iso(vg_json_text(startj), &want) != VG_OK)
            return vg_diag_set(d, VG_EINVAL, "KillProcess: ProcessStartTime '%.*s' is not ISO-8601",
                               (int)vg_json_text(startj).n, vg_json_text(startj).p);
        char exe[64], target[4096] = "";
        ag_resp_pathf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
        ssize_t tl = readlink(exe, target, sizeof target - 1);
        target[tl > 0 ? tl : 0] = '\0';
        vg_err e = ag_kill_checked((pid_t)pid, want, d);
        if (e != VG_OK)
            return e;
        char ts[40];
        vg_time_format(want, ts, sizeof ts);
        vg_buf_printf(result, "{\"killed\":[{\"ProcessId\":%d,\"ProcessStartTime\":\"%s\",\"Path\":",
                      (int)pid, ts);
        vg_buf_put_json_str(result, vg_str_c(target));
        vg_buf_puts(result, "}],\"count\":1}");
        return VG_OK;
    }
    if (shaj) {
        vg_str s = vg_json_text(shaj);
        if (!ag_resp_is_hex(s, 64))
            return vg_diag_set(d, VG_EINVAL, "KillProcess: Sha256 '%.*s' is not 64 hex digits",
                               (int)s.n, s.p);
        char hash[65];
        vg_str_copy_c(hash, sizeof hash, s);
        vg_buf list;
        vg_buf_init(&list, 1u << 20);
        int count = 0;
        vg_err e = kill_by_hash(a, hash, false, &list, &count, NULL, 0, d);
        if (e == VG_OK) {
            vg_buf_puts(result, "{\"killed\":[");
            vg_buf_put(result, list.p, list.n);
            vg_buf_printf(result, "],\"count\":%d,\"Sha256\":\"%s\"}", count, hash);
        }
        vg_buf_free(&list);
        return e;
    }
    return vg_diag_set(d, VG_EINVAL,
                       "KillProcess: params need ProcessId and ProcessStartTime, or Sha256");
}
