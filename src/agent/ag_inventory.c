/*
 * ag_inventory.c - the software inventory sensor: installed packages from
 * the dpkg status file (and from `rpm -qa` where an rpm database exists) as
 * DeviceTvmSoftwareInventory rows.
 *
 * Defender's table is a snapshot, not a change log: at start, and whenever
 * the package database changed (its size, mtime or inode, checked every
 * inventory-interval seconds, default 60), the sensor sends the whole inventory again, every row of
 * one snapshot with the same Timestamp. A package removed is one that is
 * absent from the latest snapshot. Rows the spool refuses are counted by
 * ag_emit under "inventory".
 *
 * Settings (ag_settings_of; tests, unusual layouts): dpkg-status (default
 * /var/lib/dpkg/status), inventory-interval (the check interval).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/vg_log.h"
#include "ag_int.h"
#include "ag_sensors_int.h"

#define AG_INV_FILE_MAX (64u << 20)     /* a dpkg status file or rpm output read whole */
#define RPM_BIN "/usr/bin/rpm"
#define RPM_DB "/var/lib/rpm"

extern char **environ;

typedef struct inv {
    ag *a;
    pthread_t th;
    int wake;                  /* eventfd: stop */
    char dpkg[4096];
    int interval_sec;
    char os_version[64];
    char os_arch[32];
    uint64_t dpkg_sig, rpm_sig;   /* what the last snapshot was taken of, 0 none */
} inv;

/* size, mtime and inode of a file folded into one value; 0 when absent */
static uint64_t file_sig(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    uint64_t h = (uint64_t)st.st_size * 0x9e3779b97f4a7c15ULL;
    h ^= (uint64_t)st.st_mtim.tv_sec * 1000000007ULL + (uint64_t)st.st_mtim.tv_nsec;
    h ^= (uint64_t)st.st_ino << 17;
    return h ? h : 1;
}

/* the rpm database changed: the signature of its directory and of its main files */
static uint64_t rpm_sig(void)
{
    if (access(RPM_DB, F_OK) != 0 || access(RPM_BIN, X_OK) != 0)
        return 0;
    static const char *const files[] = { RPM_DB, RPM_DB "/rpmdb.sqlite", RPM_DB "/Packages",
                                         RPM_DB "/Packages.db" };
    uint64_t h = 1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        h = h * 31 + file_sig(files[i]);
    return h;
}

static vg_err read_file(const char *path, vg_buf *out, vg_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
    vg_err e = VG_OK;
    for (;;) {
        /* up to 64 KiB a read, less near the buffer's limit; none left: too large */
        size_t chunk = 65536;
        if (out->limit && out->limit - out->n < chunk)
            chunk = out->limit - out->n;
        if (chunk == 0 || !vg_buf_reserve(out, chunk)) {
            e = vg_diag_set(d, VG_ELIMIT, "%s: larger than %zu bytes", path, out->limit);
            goto out;
        }
        ssize_t r = read(fd, out->p + out->n, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        out->n += (size_t)r;
    }
out:
    close(fd);
    return e;
}

/* rpm -qa with a fixed argv, no shell; its output into out */
static vg_err run_rpm(vg_buf *out, vg_diag *d)
{
    char *const argv[] = { RPM_BIN, "-qa", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\n",
                           NULL };
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return vg_diag_set(d, VG_EIO, "rpm: pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, RPM_BIN, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    vg_err e = VG_OK;
    if (rc != 0) {
        close(p[0]);
        return vg_diag_set(d, VG_EIO, "rpm: cannot run %s: %s", RPM_BIN, strerror(rc));
    }
    for (;;) {
        size_t chunk = 65536;
        if (out->limit && out->limit - out->n < chunk)
            chunk = out->limit - out->n;
        if (chunk == 0 || !vg_buf_reserve(out, chunk)) {
            e = vg_diag_set(d, VG_ELIMIT, "rpm -qa: output larger than %zu bytes", out->limit);
            break;
        }
        ssize_t r = read(p[0], out->p + out->n, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        out->n += (size_t)r;
    }
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (e == VG_OK && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        e = vg_diag_set(d, VG_EIO, "rpm -qa failed (status %d)", status);
    return e;
}

typedef struct snap {
    inv *s;
    vg_time ts;
    vg_buf row;
    size_t rows, dropped;
} snap;

static bool emit_pkg(void *ctx, const ag_pkg *p)
{
    snap *sn = ctx;
    if (sn->rows >= AG_INV_MAX_PACKAGES)
        return false;
    vg_buf_clear(&sn->row);
    ag_row_begin(sn->s->a, &sn->row, "DeviceTvmSoftwareInventory", sn->ts);
    ag_pkg_members(p, sn->s->os_version, sn->s->os_arch, &sn->row);
    vg_buf_putc(&sn->row, '}');
    if (ag_emit(sn->s->a, "inventory", vg_str_make(sn->row.p, sn->row.n)) != VG_OK)
        sn->dropped++;
    sn->rows++;
    return true;
}

/* One snapshot of every source whose signature is set. */
static void snapshot(inv *s, bool dpkg, bool rpm)
{
    snap sn = { s, vg_time_now(), { 0 }, 0, 0 };
    vg_buf_init(&sn.row, 0);
    vg_buf text;
    vg_buf_init(&text, AG_INV_FILE_MAX);
    vg_diag d = { "" };
    vg_err e = VG_OK;
    if (dpkg) {
        e = read_file(s->dpkg, &text, &d);
        if (e == VG_OK)
            e = ag_dpkg_parse(vg_str_make(text.p, text.n), emit_pkg, &sn, &d);
        if (e != VG_OK)
            vg_log(VG_LOG_WARN, "inventory: dpkg status", VG_LS("error", d.msg));
    }
    if (rpm) {
        vg_buf_clear(&text);
        e = run_rpm(&text, &d);
        if (e == VG_OK)
            e = ag_rpm_parse(vg_str_make(text.p, text.n), emit_pkg, &sn, &d);
        if (e != VG_OK)
            vg_log(VG_LOG_WARN, "inventory: rpm", VG_LS("error", d.msg));
    }
    if (sn.rows >= AG_INV_MAX_PACKAGES)
        vg_log(VG_LOG_WARN, "inventory: snapshot cut", VG_LI("packages", AG_INV_MAX_PACKAGES));
    ag_count_stat(s->a, "inventoryRows", sn.rows);
    vg_log(VG_LOG_INFO, "inventory snapshot", VG_LI("packages", (int64_t)sn.rows),
           VG_LI("dropped", (int64_t)sn.dropped));
    vg_buf_free(&text);
    vg_buf_free(&sn.row);
}

static void *inv_thread(void *arg)
{
    inv *s = arg;
    while (!ag_stopping(s->a)) {
        uint64_t ds = file_sig(s->dpkg), rs = rpm_sig();
        if (ds != s->dpkg_sig || rs != s->rpm_sig) {
            s->dpkg_sig = ds;
            s->rpm_sig = rs;
            if (ds || rs)
                snapshot(s, ds != 0, rs != 0);
        }
        struct pollfd p = { s->wake, POLLIN, 0 };
        if (poll(&p, 1, s->interval_sec * 1000) > 0)
            break;
    }
    return NULL;
}

/* VERSION_ID of /etc/os-release ("12", "22.04"), else "" */
static void os_version(char *out, size_t cap)
{
    out[0] = '\0';
    vg_buf t;
    vg_buf_init(&t, 1 << 16);
    if (read_file("/etc/os-release", &t, NULL) == VG_OK) {
        vg_str s = vg_str_make(t.p, t.n);
        while (s.n) {
            ptrdiff_t nl = vg_str_chr(s, '\n');
            vg_str line = vg_str_make(s.p, nl < 0 ? s.n : (size_t)nl);
            s.p += line.n + (nl >= 0);
            s.n -= line.n + (nl >= 0);
            if (line.n > 11 && memcmp(line.p, "VERSION_ID=", 11) == 0) {
                vg_str v = vg_str_make(line.p + 11, line.n - 11);
                if (v.n >= 2 && v.p[0] == '"' && v.p[v.n - 1] == '"')
                    v = vg_str_make(v.p + 1, v.n - 2);
                vg_str_copy_c(out, cap, v);
            }
        }
    }
    vg_buf_free(&t);
}

/* Defender's OSArchitecture names: x64, x86, arm64, arm */
static void os_arch(char *out, size_t cap)
{
    struct utsname u;
    const char *m = uname(&u) == 0 ? u.machine : "";
    const char *v = strcmp(m, "x86_64") == 0 ? "x64"
                    : (strcmp(m, "aarch64") == 0 || strcmp(m, "arm64") == 0) ? "arm64"
                    : (m[0] == 'i' && strcmp(m + 2, "86") == 0) ? "x86"
                    : strncmp(m, "arm", 3) == 0 ? "arm" : m;
    vg_str_copy_c(out, cap, vg_str_c(v));
}

static vg_err inv_start(ag *a, void **state, vg_diag *d)
{
    inv *s = calloc(1, sizeof *s);
    if (!s)
        return vg_diag_set(d, VG_ENOMEM, "inventory sensor: out of memory");
    s->a = a;
    const ag_settings *cfg = ag_settings_of(a);
    snprintf(s->dpkg, sizeof s->dpkg, "%s", cfg->dpkg_status);
    s->interval_sec = (int)cfg->inventory_interval;   /* bounded by ag_defs: 1 s .. 1 day */
    os_version(s->os_version, sizeof s->os_version);
    os_arch(s->os_arch, sizeof s->os_arch);
    s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake < 0) {
        free(s);
        return vg_diag_set(d, VG_EIO, "inventory sensor: eventfd: %s", strerror(errno));
    }
    int rc = pthread_create(&s->th, NULL, inv_thread, s);
    if (rc != 0) {
        close(s->wake);
        free(s);
        return vg_diag_set(d, VG_EIO, "inventory sensor: thread: %s", strerror(rc));
    }
    *state = s;
    return VG_OK;
}

static void inv_stop(ag *a, void *state)
{
    inv *s = state;
    if (!s)
        return;
    uint64_t one = 1;
    if (write(s->wake, &one, sizeof one) < 0) {
        /* the thread also sees ag_stopping within one interval */
    }
    pthread_join(s->th, NULL);
    close(s->wake);
    free(s);
}

const ag_sensor ag_sensor_inventory = { "inventory", inv_start, inv_stop };
