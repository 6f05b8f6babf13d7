/*
 * ag_file.c - the file sensor: DeviceFileEvents (FileCreated, FileModified,
 * FileDeleted, FileRenamed) from fanotify.
 *
 * One notification group (FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME, kernel
 * 5.9 or later) with a filesystem mark on the filesystem of every watched
 * path, "/" and the executable folders. An event names its directory by file
 * handle and its entry by name; the handle is opened with open_by_handle_at
 * against a descriptor of that filesystem and read back as a path. The pid
 * in the event is the writer, whose InitiatingProcess* columns the process
 * cache fills.
 *
 * What is reported: events at or under a watched path (the setting
 * file-paths, ag_settings_of; default /etc /usr/bin /usr/sbin /usr/local/bin
 * /tmp /var/tmp /home /root) or an executable folder; and, anywhere on a marked
 * filesystem, regular files with an exec bit that are created, written or
 * renamed, and files created there and made executable within
 * AG_FAN_RECENT_SEC (FAN_ATTRIB; the dropper's `curl -o x; chmod +x x`).
 * Writes are coalesced: FAN_CREATE and FAN_MODIFY mark a file
 * pending and its FAN_CLOSE_WRITE emits one FileCreated or FileModified with
 * the file's size and hashes; a file kept open is reported at most every
 * AG_FAN_PENDING_SEC. Renames come whole from FAN_RENAME (5.17+) or are paired
 * from FAN_MOVED_FROM/FAN_MOVED_TO (ag_rename_feed). The agent's own writes
 * and its state folder are ignored.
 *
 * Nothing is dropped silently: a kernel queue overflow, an event whose
 * directory cannot be resolved any more, and a pending table that is full
 * (then the event is reported at once, without waiting for the close) are
 * counted under "file".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../core/vg_log.h"
#include "../core/vg_map.h"
#include "ag_int.h"
#include "ag_sensors_int.h"

#ifndef FAN_RENAME
#define FAN_RENAME 0x10000000
#endif

#define AG_FAN_PENDING_SEC 5
#define AG_FAN_TICK_MS 1000            /* pending writes and half moves are checked this often */
#define AG_FAN_READ_BUF (64u << 10)
#define AG_FILE_HASH_MAX (64ll << 20)   /* larger files are reported without hashes */
#define AG_FAN_DIRCACHE 512             /* directory handle -> path, direct-mapped */
#define AG_FAN_RECENT_MAX 1024          /* files created outside the watched paths, remembered ... */
#define AG_FAN_RECENT_SEC 60            /* ... this long, in case they are made executable */

static const char *const exec_paths[] = { "/usr/bin", "/usr/sbin", "/usr/local/bin",
                                          "/usr/local/sbin", "/bin", "/sbin" };

typedef struct fsmount {
    uint64_t fsid;
    int fd;
} fsmount;

typedef struct pend {
    uint64_t h;                /* vg_hash of path; 0 = free */
    char *path;
    bool created, modified;
    pid_t pid;
    uint64_t first_ns;
} pend;

typedef struct fsens {
    ag *a;
    pthread_t th;
    int wake, fan;
    pid_t self;
    bool have_rename;          /* FAN_RENAME marked, else MOVED_FROM/TO pairing */
    char *paths[AG_FAN_PATHS_MAX];
    size_t npaths;
    fsmount mounts[AG_FAN_PATHS_MAX + 8];
    size_t nmounts;
    char state_dir[4096];
    ag_rename_pair rp;
    pid_t rp_pid;
    pend pend[AG_FAN_PENDING_MAX];
    size_t npend;
    struct { uint64_t h, ns; } recent[AG_FAN_RECENT_MAX];   /* a ring */
    struct { uint64_t key; char *path; } dirs[AG_FAN_DIRCACHE];   /* cleared on any directory move */
    size_t recent_next;
    vg_buf row;
    _Alignas(struct fanotify_event_metadata) unsigned char buf[AG_FAN_READ_BUF];
} fsens;

/* ---- paths ---- */

static int mount_fd(const fsens *s, uint64_t fsid)
{
    for (size_t i = 0; i < s->nmounts; i++)
        if (s->mounts[i].fsid == fsid)
            return s->mounts[i].fd;
    return -1;
}

static void dirs_clear(fsens *s)
{
    for (size_t i = 0; i < AG_FAN_DIRCACHE; i++) {
        free(s->dirs[i].path);
        s->dirs[i].path = NULL;
        s->dirs[i].key = 0;
    }
}

/* The path of a directory handle, from the cache or open_by_handle_at + readlink. */
static const char *dir_path(fsens *s, uint64_t fsid, const void *h)
{
    int mfd = mount_fd(s, fsid);
    if (mfd < 0)
        return NULL;
    union {
        struct file_handle fh;
        unsigned char raw[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    } u;
    memcpy(&u.fh, h, sizeof(struct file_handle));
    if (u.fh.handle_bytes > MAX_HANDLE_SZ)
        return NULL;
    size_t hlen = sizeof(struct file_handle) + u.fh.handle_bytes;
    memcpy(u.raw, h, hlen);
    uint64_t key = (vg_hash(u.raw, hlen) ^ (fsid * 0x9e3779b97f4a7c15ULL)) | 1;
    size_t slot = key % AG_FAN_DIRCACHE;
    if (s->dirs[slot].key == key && s->dirs[slot].path)
        return s->dirs[slot].path;
    int fd = open_by_handle_at(mfd, &u.fh, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char lp[64], out[PATH_MAX];
    snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(lp, out, sizeof out - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    out[n] = '\0';
    static const char deleted[] = " (deleted)";
    size_t dl = sizeof deleted - 1;
    bool gone = (size_t)n > dl && strcmp(out + n - dl, deleted) == 0;
    if (gone)
        out[n - (ssize_t)dl] = '\0';
    char *copy = strdup(out);
    if (!copy)
        return NULL;
    free(s->dirs[slot].path);
    s->dirs[slot].path = copy;
    s->dirs[slot].key = gone ? 0 : key;   /* a removed directory is not kept */
    return copy;
}

/* The path of directory handle h + "/" name into out; false when it cannot be opened. */
static bool resolve(fsens *s, uint64_t fsid, const void *h, vg_str name, char *out, size_t cap)
{
    const char *dir = dir_path(s, fsid, h);
    if (!dir)
        return false;
    size_t len = strlen(dir);
    if (len + 1 > cap)
        return false;
    memcpy(out, dir, len + 1);
    if (name.n && !(name.n == 1 && name.p[0] == '.')) {
        bool slash = len > 0 && out[len - 1] == '/';
        if (len + !slash + name.n + 1 > cap)
            return false;
        if (!slash)
            out[len++] = '/';
        memcpy(out + len, name.p, name.n);
        out[len + name.n] = '\0';
    }
    return true;
}

static bool watched(const fsens *s, const char *path)
{
    return ag_path_under(path, (const char *const *)s->paths, s->npaths) ||
           ag_path_under(path, exec_paths, sizeof exec_paths / sizeof exec_paths[0]);
}

static bool is_exec_file(const char *path, int64_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    if (size)
        *size = st.st_size;
    return (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
}

/* ---- rows ---- */

static void emit(fsens *s, ag_file_action act, const char *path, const char *prev, pid_t pid)
{
    char sha1[41] = "", sha256[65] = "", md5[33] = "";
    int64_t size = -1;
    if (act == AG_FILE_CREATED || act == AG_FILE_MODIFIED) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            size = st.st_size;
            if (size <= AG_FILE_HASH_MAX && !ag_file_hashes(s->a, path, sha1, sha256, md5))
                sha1[0] = sha256[0] = md5[0] = '\0';
        }
    }
    ag_file_ev ev = { act, path, prev, sha1, sha256, md5, size };
    vg_buf_clear(&s->row);
    ag_row_begin(s->a, &s->row, "DeviceFileEvents", vg_time_now());
    ag_file_members(&ev, &s->row);
    if (pid > 0)
        ag_proc_initiating(s->a, pid, &s->row);
    vg_buf_putc(&s->row, '}');
    ag_emit(s->a, "file", vg_str_make(s->row.p, s->row.n));   /* a refused row is counted there */
}

/* ---- pending writes ---- */

static pend *pend_find(fsens *s, const char *path, uint64_t h)
{
    for (size_t i = 0; i < s->npend; i++)
        if (s->pend[i].h == h && strcmp(s->pend[i].path, path) == 0)
            return &s->pend[i];
    return NULL;
}

static void pend_remove(fsens *s, pend *p)
{
    free(p->path);
    *p = s->pend[--s->npend];
    memset(&s->pend[s->npend], 0, sizeof s->pend[0]);
}

static void pend_emit(fsens *s, pend *p)
{
    if (p->created || p->modified)
        emit(s, p->created ? AG_FILE_CREATED : AG_FILE_MODIFIED, p->path, NULL, p->pid);
    pend_remove(s, p);
}

/* A create or a write: the file becomes pending until its close. */
static void pend_touch(fsens *s, const char *path, bool created, pid_t pid)
{
    if (!watched(s, path) && !is_exec_file(path, NULL))
        return;
    uint64_t h = vg_hash(path, strlen(path));
    h = h ? h : 1;
    pend *p = pend_find(s, path, h);
    if (!p) {
        char *copy = strdup(path);
        if (s->npend >= AG_FAN_PENDING_MAX || !copy) {
            free(copy);
            /* no room to wait for the close: report it now */
            ag_count_stat(s->a, "filePendingFull", 1);
            emit(s, created ? AG_FILE_CREATED : AG_FILE_MODIFIED, path, NULL, pid);
            return;
        }
        p = &s->pend[s->npend++];
        *p = (pend){ h, copy, false, false, pid, vg_mono_ns() };
    }
    if (created)
        p->created = true;
    else
        p->modified = true;
    p->pid = pid;
}

static void pend_close(fsens *s, const char *path)
{
    uint64_t h = vg_hash(path, strlen(path));
    pend *p = pend_find(s, path, h ? h : 1);
    if (p)
        pend_emit(s, p);
}

/* Files open for longer than AG_FAN_PENDING_SEC are reported now. */
static void pend_expire(fsens *s)
{
    uint64_t now = vg_mono_ns();
    for (size_t i = 0; i < s->npend;) {
        if (now - s->pend[i].first_ns >= (uint64_t)AG_FAN_PENDING_SEC * 1000000000ull)
            pend_emit(s, &s->pend[i]);   /* moves the last entry into i */
        else
            i++;
    }
}

/* ---- files created outside, then made executable (curl -o x; chmod +x x) ---- */

static uint64_t path_hash(const char *path)
{
    uint64_t h = vg_hash(path, strlen(path));
    return h ? h : 1;
}

static void recent_add(fsens *s, const char *path)
{
    s->recent[s->recent_next].h = path_hash(path);
    s->recent[s->recent_next].ns = vg_mono_ns();
    s->recent_next = (s->recent_next + 1) % AG_FAN_RECENT_MAX;
}

/* true (and forgotten) when path was created in the last AG_FAN_RECENT_SEC */
static bool recent_take(fsens *s, const char *path)
{
    uint64_t h = path_hash(path), now = vg_mono_ns();
    for (size_t i = 0; i < AG_FAN_RECENT_MAX; i++) {
        if (s->recent[i].h == h && now - s->recent[i].ns < (uint64_t)AG_FAN_RECENT_SEC * 1000000000ull) {
            s->recent[i].h = 0;
            return true;
        }
    }
    return false;
}

/* A file's mode changed: one created recently outside the watched paths that
 * is now executable is reported as created (at its close, or at once). */
static void attrib(fsens *s, const char *path, pid_t pid)
{
    if (watched(s, path) || !is_exec_file(path, NULL) || !recent_take(s, path))
        return;
    pend_touch(s, path, true, pid);
}

/* ---- events ---- */

static void renamed(fsens *s, const char *from, const char *to, pid_t pid)
{
    uint64_t h = vg_hash(from, strlen(from));
    pend *p = pend_find(s, from, h ? h : 1);
    if (p) {
        /* a file written then renamed into place: its write is reported under the new name */
        char *copy = strdup(to);
        if (copy) {
            free(p->path);
            p->path = copy;
            uint64_t nh = vg_hash(to, strlen(to));
            p->h = nh ? nh : 1;
        }
    }
    if (watched(s, from) || watched(s, to) || is_exec_file(to, NULL))
        emit(s, AG_FILE_RENAMED, to, from, pid);
}

static void deleted(fsens *s, const char *path, pid_t pid)
{
    uint64_t h = vg_hash(path, strlen(path));
    pend *p = pend_find(s, path, h ? h : 1);
    if (p)
        pend_emit(s, p);
    if (watched(s, path))
        emit(s, AG_FILE_DELETED, path, NULL, pid);
}

/* without FAN_RENAME: moves paired by ag_rename_feed */
static void move_half(fsens *s, bool is_move, bool is_from, pid_t pid, const char *path)
{
    char prev[PATH_MAX], fl[PATH_MAX];
    bool flushed;
    pid_t held_pid = s->rp.pid;
    ag_pair_out o = ag_rename_feed(&s->rp, is_move, is_from, pid, path ? path : "", prev, sizeof prev,
                                   &flushed, fl, sizeof fl);
    if (flushed)
        deleted(s, fl, held_pid);
    if (o == AG_PAIR_RENAME)
        renamed(s, prev, path, pid);
    else if (o == AG_PAIR_CREATE && (watched(s, path) || is_exec_file(path, NULL)))
        emit(s, AG_FILE_CREATED, path, NULL, pid);
}

static void on_event(void *ctx, const ag_fan_rec *r)
{
    fsens *s = ctx;
    if (r->mask & FAN_Q_OVERFLOW) {
        ag_count_drop(s->a, "file", 1);
        vg_log(VG_LOG_WARN, "file sensor: the kernel's event queue overflowed; events were lost");
        return;
    }
    if (r->mask & FAN_ONDIR) {
        /* directories are not reported; one moved or removed makes cached paths stale */
        if (r->mask & (FAN_RENAME | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_DELETE))
            dirs_clear(s);
        return;
    }
    if (r->pid == s->self || !r->dir)
        return;
    char path[PATH_MAX];
    if (!resolve(s, r->fsid, r->dir, r->name, path, sizeof path)) {
        ag_count_drop(s->a, "file", 1);   /* its directory is gone or unreachable */
        return;
    }
    if (s->state_dir[0] && ag_path_under(path, (const char *const[]){ s->state_dir }, 1))
        return;
    uint64_t m = r->mask;
    bool move = (m & (FAN_MOVED_FROM | FAN_MOVED_TO)) != 0;
    if (!s->have_rename)
        move_half(s, move, (m & FAN_MOVED_FROM) != 0, r->pid, path);
    if ((m & FAN_CREATE) && !watched(s, path))
        recent_add(s, path);
    if (m & FAN_CREATE)
        pend_touch(s, path, true, r->pid);
    if (m & FAN_MODIFY)
        pend_touch(s, path, false, r->pid);
    if (m & FAN_ATTRIB)
        attrib(s, path, r->pid);
    if (m & FAN_CLOSE_WRITE)
        pend_close(s, path);
    if ((m & FAN_RENAME) && r->old_dir) {
        char from[PATH_MAX];
        if (resolve(s, r->old_fsid, r->old_dir, r->old_name, from, sizeof from))
            renamed(s, from, path, r->pid);
        else
            ag_count_drop(s->a, "file", 1);
    }
    if (m & FAN_DELETE)
        deleted(s, path, r->pid);
}

static void *file_thread(void *arg)
{
    fsens *s = arg;
    while (!ag_stopping(s->a)) {
        struct pollfd p[2] = { { s->fan, POLLIN, 0 }, { s->wake, POLLIN, 0 } };
        /* a timeout only while something waits for it (a pending write, half
         * a move): an idle sensor sleeps until an event or the stop */
        int n = poll(p, 2, s->npend > 0 || s->rp.held ? AG_FAN_TICK_MS : -1);
        if (n < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (n > 0 && (p[0].revents & POLLIN)) {
            ssize_t r = read(s->fan, s->buf, sizeof s->buf);
            if (r > 0) {
                vg_diag d = { "" };
                if (ag_fan_decode(s->buf, (size_t)r, on_event, s, &d) != VG_OK) {
                    ag_count_drop(s->a, "file", 1);
                    vg_log(VG_LOG_WARN, "file sensor: bad fanotify buffer", VG_LS("error", d.msg));
                }
            }
        } else if (n == 0 && s->rp.held) {
            move_half(s, false, false, 0, NULL);   /* a MOVED_FROM with no MOVED_TO: gone */
        }
        pend_expire(s);
    }
    return NULL;
}

/* ---- start and stop ---- */

static void fsens_free(fsens *s)
{
    dirs_clear(s);
    for (size_t i = 0; i < s->npend; i++)
        free(s->pend[i].path);
    for (size_t i = 0; i < s->npaths; i++)
        free(s->paths[i]);
    for (size_t i = 0; i < s->nmounts; i++)
        close(s->mounts[i].fd);
    if (s->fan >= 0)
        close(s->fan);
    if (s->wake >= 0)
        close(s->wake);
    vg_buf_free(&s->row);
    free(s);
}

static vg_err add_path(fsens *s, const char *p, size_t n, vg_diag *d)
{
    if (n == 0)
        return VG_OK;
    if (p[0] != '/')
        return vg_diag_set(d, VG_EINVAL, "file sensor: watched path '%.*s' is not absolute", (int)n, p);
    if (s->npaths >= AG_FAN_PATHS_MAX)
        return vg_diag_set(d, VG_ELIMIT, "file sensor: more than %d watched paths", AG_FAN_PATHS_MAX);
    s->paths[s->npaths] = strndup(p, n);
    if (!s->paths[s->npaths])
        return vg_diag_set(d, VG_ENOMEM, "file sensor: out of memory");
    s->npaths++;
    return VG_OK;
}

/* Marks the filesystem of path (once per filesystem). */
static vg_err mark(fsens *s, const char *path, uint64_t mask, vg_diag *d)
{
    struct statfs sf;
    if (statfs(path, &sf) != 0)
        return VG_OK;   /* absent on this host */
    uint64_t fsid;
    memcpy(&fsid, &sf.f_fsid, sizeof fsid);
    if (mount_fd(s, fsid) >= 0)
        return VG_OK;
    if (s->nmounts >= sizeof s->mounts / sizeof s->mounts[0])
        return vg_diag_set(d, VG_ELIMIT, "file sensor: too many filesystems");
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return VG_OK;
    if (fanotify_mark(s->fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, path) != 0) {
        int err = errno;
        if (err == EINVAL && (mask & FAN_RENAME) && s->nmounts == 0) {
            close(fd);
            return VG_EUNSUPPORTED;   /* no FAN_RENAME: the caller retries with moves */
        }
        /* a filesystem without file handles for marks (some overlays): the folder itself */
        if (fanotify_mark(s->fan, FAN_MARK_ADD, mask | FAN_EVENT_ON_CHILD, AT_FDCWD, path) != 0) {
            vg_log(VG_LOG_WARN, "file sensor: cannot watch", VG_LS("path", path),
                   VG_LS("error", strerror(err)));
            close(fd);
            return VG_OK;
        }
        vg_log(VG_LOG_WARN, "file sensor: no filesystem mark, watching the folder's own entries only",
               VG_LS("path", path), VG_LS("error", strerror(err)));
    }
    s->mounts[s->nmounts++] = (fsmount){ fsid, fd };
    return VG_OK;
}

static vg_err file_start(ag *a, void **state, vg_diag *d)
{
    fsens *s = calloc(1, sizeof *s);
    if (!s)
        return vg_diag_set(d, VG_ENOMEM, "file sensor: out of memory");
    s->a = a;
    s->self = getpid();
    s->wake = -1;
    vg_buf_init(&s->row, 0);
    snprintf(s->state_dir, sizeof s->state_dir, "%s", ag_identity(a)->state_dir);
    vg_err e = VG_OK;
    /* --file-paths: each value may hold several paths, ':'-separated */
    const vg_cfg_list *paths = &ag_settings_of(a)->file_paths;
    for (uint32_t i = 0; i < paths->n; i++) {
        for (const char *p = paths->v[i]; *p;) {
            const char *c = strchr(p, ':');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            if ((e = add_path(s, p, n, d)))
                goto fail;
            p += n + (c != NULL);
        }
    }
    s->fan = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_CLOEXEC | FAN_NONBLOCK,
                           O_RDONLY | O_LARGEFILE);
    if (s->fan < 0) {
        int err = errno;
        e = vg_diag_set(d, err == EINVAL ? VG_EUNSUPPORTED : VG_EIO,
                        "file sensor: fanotify_init with FAN_REPORT_DFID_NAME: %s%s", strerror(err),
                        err == EINVAL ? " (needs Linux 5.9 or later)" : err == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
        goto fail;
    }
    uint64_t base = FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_CLOSE_WRITE | FAN_ATTRIB | FAN_ONDIR;
    s->have_rename = true;
    const char *first = "/";
    e = mark(s, first, base | FAN_RENAME, d);
    if (e == VG_EUNSUPPORTED) {
        s->have_rename = false;
        e = mark(s, first, base | FAN_MOVED_FROM | FAN_MOVED_TO, d);
    }
    uint64_t mask = base | (s->have_rename ? FAN_RENAME : FAN_MOVED_FROM | FAN_MOVED_TO);
    for (size_t i = 0; !e && i < s->npaths; i++)
        e = mark(s, s->paths[i], mask, d);
    for (size_t i = 0; !e && i < sizeof exec_paths / sizeof exec_paths[0]; i++)
        e = mark(s, exec_paths[i], mask, d);
    if (e)
        goto fail;
    if (s->nmounts == 0) {
        e = vg_diag_set(d, VG_EIO, "file sensor: no watched path could be marked");
        goto fail;
    }
    s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = s->wake < 0 ? errno : pthread_create(&s->th, NULL, file_thread, s);
    if (rc != 0) {
        e = vg_diag_set(d, VG_EIO, "file sensor: cannot start its thread: %s", strerror(rc));
        goto fail;
    }
    vg_log(VG_LOG_INFO, "file sensor", VG_LI("paths", (int64_t)s->npaths),
           VG_LI("filesystems", (int64_t)s->nmounts), VG_LS("renames", s->have_rename ? "FAN_RENAME" : "paired moves"));
    *state = s;
    return VG_OK;
fail:
    fsens_free(s);
    return e;
}

static void file_stop(ag *a, void *state)
{
    fsens *s = state;
    if (!s)
        return;
    uint64_t one = 1;
    if (write(s->wake, &one, sizeof one) < 0) {
        /* cannot happen: the eventfd is ours and its counter far from full */
    }
    pthread_join(s->th, NULL);
    /* what is still waiting for its close is reported, not lost */
    while (s->npend)
        pend_emit(s, &s->pend[0]);
    fsens_free(s);
}

const ag_sensor ag_sensor_file = { "file", file_start, file_stop };
