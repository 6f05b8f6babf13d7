/*
 * ag_logon.c - the logon sensor: DeviceLogonEvents from the auth log (sshd,
 * sudo, su; successes and failures) and from wtmp/btmp (utmpx records of
 * logins and failed logins).
 *
 * Sources, followed by offset every AG_LOGON_POLL_MS and surviving rotation
 * (a new inode at the path: the old file is read to its end, then the new one
 * from its start) and truncation:
 *   - the auth log: the setting auth-log, else /var/log/auth.log, else
 *     /var/log/secure. Lines with a syslog header (RFC3164 or RFC3339) are
 *     parsed by program; a line without one is tried as an sshd message
 *     (sshd -E writes such lines) stamped with the time it was read.
 *   - wtmp (setting wtmp, default /var/log/wtmp): successful logins;
 *     btmp (setting btmp, default /var/log/btmp): failed ones.
 * sshd writes both an auth log line and a wtmp/btmp record for one login;
 * while an auth log is followed, the remote (ssh) utmp records are skipped so
 * each logon is reported once. The systemd journal is not read (libsystemd is
 * no dependency): on a journal-only host, wtmp/btmp are the source.
 *
 * Where each file was read up to is kept in STATE/logon-offsets, so lines
 * written while the agent was down are reported after its restart; a file
 * seen for the first time is read from its end (history is not replayed).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utmpx.h>

#include "../core/vg_log.h"
#include "ag_int.h"
#include "ag_sensors_int.h"

#define AG_LOGON_POLL_MS 1000
#define AG_LOGON_READ_MAX (1u << 20)    /* bytes read from one file per poll */

enum { SRC_AUTH, SRC_WTMP, SRC_BTMP, SRC_N };

typedef struct follow {
    char path[4096];
    int fd;                    /* -1: not open */
    dev_t dev;
    ino_t ino;
    off_t off;
    bool known;                /* an offset was loaded or the file was seen before */
} follow;

typedef struct logon {
    ag *a;
    pthread_t th;
    int wake;
    follow src[SRC_N];
    char offsets_path[4200];
    bool dirty;                /* offsets changed since saved */
    vg_buf buf, row;
} logon;

static const char *const src_name[SRC_N] = { "auth", "wtmp", "btmp" };

/* ---- offsets across restarts ---- */

static void offsets_load(logon *s)
{
    FILE *f = fopen(s->offsets_path, "re");
    if (!f)
        return;
    char line[4400];
    while (fgets(line, sizeof line, f)) {
        char name[16];
        unsigned long long dev, ino;
        long long off;
        if (sscanf(line, "%15s %llu %llu %lld", name, &dev, &ino, &off) != 4 || off < 0)
            continue;
        for (int i = 0; i < SRC_N; i++) {
            if (strcmp(name, src_name[i]) != 0)
                continue;
            s->src[i].dev = (dev_t)dev;
            s->src[i].ino = (ino_t)ino;
            s->src[i].off = (off_t)off;
            s->src[i].known = true;
        }
    }
    fclose(f);
}

static void offsets_save(logon *s)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", s->offsets_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char text[512];
    size_t n = 0;
    for (int i = 0; i < SRC_N; i++) {
        if (!s->src[i].known)
            continue;
        int w = snprintf(text + n, sizeof text - n, "%s %llu %llu %lld\n", src_name[i],
                         (unsigned long long)s->src[i].dev, (unsigned long long)s->src[i].ino,
                         (long long)s->src[i].off);
        if (w > 0 && (size_t)w < sizeof text - n)
            n += (size_t)w;
    }
    bool ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    if (ok && rename(tmp, s->offsets_path) == 0)
        s->dirty = false;
    else
        unlink(tmp);
}

/* ---- following a file ---- */

/* Opens the file at the path when not open: where to start is the saved
 * offset (same inode), the start (a new file after a rotation), or the end
 * (a file never seen). */
static void follow_open(follow *f)
{
    if (f->fd >= 0)
        return;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    if (f->known && f->dev == st.st_dev && f->ino == st.st_ino && f->off <= st.st_size)
        ; /* resume */
    else if (f->known)
        f->off = 0;
    else
        f->off = st.st_size;
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->known = true;
}

/* Reads what is new into buf (up to AG_LOGON_READ_MAX); the caller consumes
 * a prefix and advances f->off by it. At the end of a file that was rotated
 * away, switches to the new one. */
static void follow_read(follow *f, vg_buf *buf, bool *switched)
{
    *switched = false;
    vg_buf_clear(buf);
    follow_open(f);
    if (f->fd < 0)
        return;
    struct stat st;
    if (fstat(f->fd, &st) == 0 && st.st_size < f->off)
        f->off = 0;   /* truncated in place */
    if (!vg_buf_reserve(buf, AG_LOGON_READ_MAX))
        return;
    ssize_t r = pread(f->fd, buf->p, AG_LOGON_READ_MAX, f->off);
    if (r > 0) {
        buf->n = (size_t)r;
        return;
    }
    /* at the end: has the path moved on to another file? */
    struct stat now;
    if (stat(f->path, &now) != 0 || now.st_ino != f->ino || now.st_dev != f->dev) {
        close(f->fd);
        f->fd = -1;
        if (stat(f->path, &now) == 0) {
            f->off = 0;
            f->ino = now.st_ino;
            f->dev = now.st_dev;
            *switched = true;
        }
    }
}

/* ---- rows ---- */

static void emit(logon *s, const ag_logon_ev *ev)
{
    vg_buf_clear(&s->row);
    ag_row_begin(s->a, &s->row, "DeviceLogonEvents", ev->ts);
    ag_logon_members(ev, ag_identity(s->a)->device_name, &s->row);
    if (ev->pid > 0)
        ag_proc_initiating(s->a, ev->pid, &s->row);
    vg_buf_putc(&s->row, '}');
    ag_emit(s->a, "logon", vg_str_make(s->row.p, s->row.n));   /* a refused row is counted there */
}

static long tz_offset(void)
{
    time_t t = time(NULL);
    struct tm tm;
    return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

static void auth_line(logon *s, vg_str line, vg_time now, long tz)
{
    while (line.n && (line.p[line.n - 1] == '\r' || line.p[line.n - 1] == '\n'))
        line.n--;
    if (line.n == 0)
        return;
    ag_syslog sl;
    ag_logon_ev ev;
    if (ag_syslog_parse(line, now, tz, &sl, NULL) == VG_OK) {
        if (!ag_auth_parse(sl.prog, sl.msg, &ev))
            return;
        ev.ts = sl.ts;
        ev.pid = sl.pid;
    } else {
        /* sshd -E: bare messages */
        if (!ag_auth_parse(VG_STR_LIT("sshd"), line, &ev))
            return;
        ev.ts = now;
    }
    emit(s, &ev);
}

static void poll_auth(logon *s)
{
    follow *f = &s->src[SRC_AUTH];
    vg_time now = vg_time_now();
    long tz = tz_offset();
    for (int round = 0; round < 4; round++) {
        bool switched;
        follow_read(f, &s->buf, &switched);
        if (s->buf.n == 0) {
            if (switched) {
                s->dirty = true;
                continue;
            }
            return;
        }
        size_t used = 0;
        while (used < s->buf.n) {
            const char *p = s->buf.p + used;
            size_t left = s->buf.n - used;
            const char *nl = memchr(p, '\n', left);
            size_t len;
            if (nl) {
                len = (size_t)(nl - p) + 1;
            } else if (left >= AG_LOG_LINE_MAX) {
                len = AG_LOG_LINE_MAX;   /* an overlong line: read as cut */
                ag_count_stat(s->a, "logonLinesCut", 1);
            } else {
                break;   /* a partial line: wait for its end */
            }
            auth_line(s, vg_str_make(p, len > AG_LOG_LINE_MAX ? AG_LOG_LINE_MAX : len), now, tz);
            used += len;
        }
        if (used == 0)
            return;
        f->off += (off_t)used;
        s->dirty = true;
    }
}

static void poll_utmp(logon *s, int src)
{
    follow *f = &s->src[src];
    bool failed = src == SRC_BTMP;
    bool have_auth = s->src[SRC_AUTH].fd >= 0;
    for (int round = 0; round < 4; round++) {
        bool switched;
        follow_read(f, &s->buf, &switched);
        size_t whole = s->buf.n - s->buf.n % sizeof(struct utmpx);
        if (whole == 0) {
            if (switched) {
                s->dirty = true;
                continue;
            }
            return;
        }
        for (size_t o = 0; o < whole; o += sizeof(struct utmpx)) {
            ag_logon_ev ev;
            if (!ag_utmp_parse(s->buf.p + o, sizeof(struct utmpx), failed, &ev))
                continue;
            if (have_auth && strcmp(ev.protocol, "ssh") == 0)
                continue;   /* the auth log has it, with the port and the method */
            emit(s, &ev);
        }
        f->off += (off_t)whole;
        s->dirty = true;
    }
}

static void *logon_thread(void *arg)
{
    logon *s = arg;
    while (!ag_stopping(s->a)) {
        poll_auth(s);
        poll_utmp(s, SRC_WTMP);
        poll_utmp(s, SRC_BTMP);
        if (s->dirty)
            offsets_save(s);
        struct pollfd p = { s->wake, POLLIN, 0 };
        if (poll(&p, 1, AG_LOGON_POLL_MS) > 0)
            break;
    }
    if (s->dirty)
        offsets_save(s);
    return NULL;
}

static vg_err logon_start(ag *a, void **state, vg_diag *d)
{
    logon *s = calloc(1, sizeof *s);
    if (!s)
        return vg_diag_set(d, VG_ENOMEM, "logon sensor: out of memory");
    s->a = a;
    const ag_settings *cfg = ag_settings_of(a);
    const char *auth = cfg->auth_log;
    if (!auth || !*auth)
        auth = access("/var/log/auth.log", F_OK) == 0 || access("/var/log/secure", F_OK) != 0
                   ? "/var/log/auth.log"
                   : "/var/log/secure";
    snprintf(s->src[SRC_AUTH].path, sizeof s->src[SRC_AUTH].path, "%s", auth);
    snprintf(s->src[SRC_WTMP].path, sizeof s->src[SRC_WTMP].path, "%s", cfg->wtmp);
    snprintf(s->src[SRC_BTMP].path, sizeof s->src[SRC_BTMP].path, "%s", cfg->btmp);
    for (int i = 0; i < SRC_N; i++)
        s->src[i].fd = -1;
    snprintf(s->offsets_path, sizeof s->offsets_path, "%s/logon-offsets", ag_identity(a)->state_dir);
    offsets_load(s);
    vg_buf_init(&s->buf, 0);
    vg_buf_init(&s->row, 0);
    /* open now, so that what is written from here on is read even before the first poll */
    for (int i = 0; i < SRC_N; i++) {
        follow_open(&s->src[i]);
        s->src[i].known = true;   /* a file that appears later is read from its start */
    }
    s->dirty = true;
    s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = s->wake < 0 ? errno : pthread_create(&s->th, NULL, logon_thread, s);
    if (rc != 0) {
        if (s->wake >= 0)
            close(s->wake);
        for (int i = 0; i < SRC_N; i++)
            if (s->src[i].fd >= 0)
                close(s->src[i].fd);
        vg_buf_free(&s->buf);
        vg_buf_free(&s->row);
        free(s);
        return vg_diag_set(d, VG_EIO, "logon sensor: cannot start its thread: %s", strerror(rc));
    }
    vg_log(VG_LOG_INFO, "logon sensor", VG_LS("auth_log", s->src[SRC_AUTH].path),
           VG_LS("auth_log_present", s->src[SRC_AUTH].fd >= 0 ? "yes" : "no"),
           VG_LS("wtmp", s->src[SRC_WTMP].path), VG_LS("btmp", s->src[SRC_BTMP].path));
    *state = s;
    return VG_OK;
}

static void logon_stop(ag *a, void *state)
{
    logon *s = state;
    if (!s)
        return;
    uint64_t one = 1;
    if (write(s->wake, &one, sizeof one) < 0) {
        /* the loop also checks ag_stopping every poll */
    }
    pthread_join(s->th, NULL);
    close(s->wake);
    for (int i = 0; i < SRC_N; i++)
        if (s->src[i].fd >= 0)
            close(s->src[i].fd);
    vg_buf_free(&s->buf);
    vg_buf_free(&s->row);
    free(s);
}

const ag_sensor ag_sensor_logon = { "logon", logon_start, logon_stop };
