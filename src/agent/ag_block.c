/*
 * ag_block.c - blocking execution by hash: a fanotify FAN_CLASS_CONTENT group
 * with FAN_OPEN_EXEC_PERM on every local filesystem answers FAN_DENY when the
 * executable's SHA256 (or SHA1) is a Block indicator, FAN_ALLOW otherwise.
 *
 * Every exec on the machine waits for this thread's answer, so the hot path is
 * a lookup: hashes are cached by (dev, ino, mtime, size) in a direct-mapped
 * table owned by the one fanotify thread, and the block set is a sorted array
 * swapped whole under a rwlock by ag_indicators_changed. The agent's own
 * execs are never blocked. Any internal error answers FAN_ALLOW (fail open)
 * and is counted. A deny is counted and reported as a DeviceEvents row with
 * ActionType "AppControlExecutionBlocked" (Defender's App Control name for a
 * blocked execution). The filesystems are marked only while at least one
 * Block indicator exists (and marked again at each change from none to some),
 * so an agent with nothing to block never stands in the way of an exec;
 * filesystems mounted while marked are covered from the next such change.
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
#include <unistd.h>

#include "ag_response_int.h"

#define BLOCK_SET_MAX 100000          /* Block indicators kept */
#define BLOCK_MARKS_MAX 256           /* filesystems marked */
#define BLOCK_EVENT_BUF 8192

typedef struct block_entry {
    char hash[65];                    /* lowercase hex: 40 (SHA1) or 64 (SHA256) */
    char id[64];
} block_entry;

typedef struct block_set {
    size_t n;
    block_entry *v;                   /* sorted by hash */
} block_set;

typedef struct cache_entry {
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    off_t size;
    bool used;
    char sha1[41], sha256[65];
} cache_entry;

static struct {
    pthread_rwlock_t lock;
    block_set *set;                   /* NULL or n == 0: nothing blocked */
    ag *agent;
    int fan_fd, stop_fd;
    bool running;
    pthread_t thread;
    pthread_mutex_t mark_mu;          /* marking and unmarking */
    bool marked;
    uint64_t mark_errors;
    cache_entry *cache;
    _Atomic uint64_t checked, denied, failed_open;
} g = { .lock = PTHREAD_RWLOCK_INITIALIZER, .mark_mu = PTHREAD_MUTEX_INITIALIZER, .fan_fd = -1,
        .stop_fd = -1 };

static vg_err mark_all(vg_diag *d);
static void unmark_all(void);

static int entry_cmp(const void *x, const void *y)
{
    return strcmp(((const block_entry *)x)->hash, ((const block_entry *)y)->hash);
}

void ag_indicators_changed(ag *a, const ag_indicator *v, size_t n)
{
    block_set *s = calloc(1, sizeof *s);
    if (!s)
        return;   /* keeps the previous set: a stale set beats none */
    size_t want = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].action, "Block") == 0 &&
            (strcmp(v[i].type, "FileSha256") == 0 || strcmp(v[i].type, "FileSha1") == 0))
            want++;
    if (want > BLOCK_SET_MAX)
        want = BLOCK_SET_MAX;
    s->v = want ? calloc(want, sizeof *s->v) : NULL;
    if (want && !s->v) {
        free(s);
        return;
    }
    for (size_t i = 0; i < n && s->n < want; i++) {
        if (strcmp(v[i].action, "Block") != 0)
            continue;
        size_t len = strcmp(v[i].type, "FileSha256") == 0 ? 64
                     : strcmp(v[i].type, "FileSha1") == 0 ? 40 : 0;
        if (!len || !ag_resp_is_hex(vg_str_c(v[i].value), len))
            continue;
        block_entry *e = &s->v[s->n++];
        for (size_t k = 0; k < len; k++) {
            char c = v[i].value[k];
            e->hash[k] = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
        }
        e->hash[len] = '\0';
        vg_str_copy_c(e->id, sizeof e->id, vg_str_c(v[i].id));
    }
    if (s->n)
        qsort(s->v, s->n, sizeof *s->v, entry_cmp);
    /* marks first, then the set: an exec between the two is answered with the old set */
    pthread_mutex_lock(&g.mark_mu);
    if (g.running && s->n && !g.marked) {
        vg_diag d;
        if (mark_all(&d) == VG_OK)
            g.marked = true;
        else
            g.mark_errors++;
    }
    pthread_mutex_unlock(&g.mark_mu);
    pthread_rwlock_wrlock(&g.lock);
    block_set *old = g.set;
    g.set = s;
    pthread_rwlock_unlock(&g.lock);
    if (old) {
        free(old->v);
        free(old);
    }
    pthread_mutex_lock(&g.mark_mu);
    if (g.running && s->n == 0 && g.marked) {
        unmark_all();
        g.marked = false;
    }
    pthread_mutex_unlock(&g.mark_mu);
}

bool ag_block_marked(void)
{
    pthread_mutex_lock(&g.mark_mu);
    bool m = g.marked;
    pthread_mutex_unlock(&g.mark_mu);
    return m;
}

static bool lookup_locked(const char *hash, char id_out[64])
{
    if (!g.set || g.set->n == 0)
        return false;
    block_entry key;
    vg_str_copy_c(key.hash, sizeof key.hash, vg_str_c(hash));
    const block_entry *e = bsearch(&key, g.set->v, g.set->n, sizeof key, entry_cmp);
    if (e && id_out)
        vg_str_copy_c(id_out, 64, vg_str_c(e->id));
    return e != NULL;
}

bool ag_block_lookup(const char *hash, char id_out[64])
{
    char lower[65];
    size_t n = strlen(hash);
    if (n != 40 && n != 64)
        return false;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)(hash[i] >= 'A' && hash[i] <= 'F' ? hash[i] + 32 : hash[i]);
    pthread_rwlock_rdlock(&g.lock);
    bool found = lookup_locked(lower, id_out);
    pthread_rwlock_unlock(&g.lock);
    return found;
}

static bool set_empty(void)
{
    pthread_rwlock_rdlock(&g.lock);
    bool empty = !g.set || g.set->n == 0;
    pthread_rwlock_unlock(&g.lock);
    return empty;
}

void ag_block_counts(uint64_t *checked, uint64_t *denied, uint64_t *failed_open)
{
    *checked = atomic_load(&g.checked);
    *denied = atomic_load(&g.denied);
    *failed_open = atomic_load(&g.failed_open);
}

/* Hashes of the file behind fd, through the cache; false on an error. */
static bool hashes_of(int fd, const struct stat *st, char sha1[41], char sha256[65])
{
    size_t slot = (size_t)((st->st_ino * 2654435761u) ^ (uint64_t)st->st_dev) % AG_BLOCK_CACHE;
    cache_entry *c = &g.cache[slot];
    if (c->used && c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
        c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec) {
        memcpy(sha1, c->sha1, 41);
        memcpy(sha256, c->sha256, 65);
        return true;
    }
    if (!ag_hash_fd(fd, sha1, sha256))
        return false;
    *c = (cache_entry){ .dev = st->st_dev, .ino = st->st_ino, .mtime = st->st_mtim,
                        .size = st->st_size, .used = true };
    memcpy(c->sha1, sha1, 41);
    memcpy(c->sha256, sha256, 65);
    return true;
}

static void report_block(int fd, pid_t pid, const char *sha1, const char *sha256, off_t size,
                         const char *id)
{
    char link[64], path[PATH_MAX];
    ag_resp_pathf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
    vg_str p = vg_str_c(path);
    ptrdiff_t slash = vg_str_rchr(p, '/');
    vg_buf b;
    vg_buf_init(&b, 1u << 20);
    ag_row_begin(g.agent, &b, "DeviceEvents", vg_time_now());
    vg_buf_puts(&b, ",\"ActionType\":\"AppControlExecutionBlocked\",\"FileName\":");
    vg_buf_put_json_str(&b, slash >= 0 ? vg_str_make(path + slash + 1, p.n - (size_t)slash - 1) : p);
    vg_buf_puts(&b, ",\"FolderPath\":");
    vg_buf_put_json_str(&b, p);
    vg_buf_printf(&b, ",\"SHA1\":\"%s\",\"SHA256\":\"%s\",\"FileSize\":%lld", sha1, sha256,
                  (long long)size);
    ag_proc_initiating(g.agent, pid, &b);
    vg_buf_puts(&b, ",\"AdditionalFields\":{\"IndicatorId\":");
    vg_buf_put_json_str(&b, vg_str_c(id));
    vg_buf_printf(&b, ",\"ProcessId\":%d}}", (int)pid);
    if (!b.failed)
        ag_emit(g.agent, "block", vg_str_make(b.p, b.n));
    vg_buf_free(&b);
}

/* Answers one permission event; the descriptor is closed by the caller. */
static void answer(const struct fanotify_event_metadata *m)
{
    atomic_fetch_add(&g.checked, 1);
    struct fanotify_response r = { .fd = m->fd, .response = FAN_ALLOW };
    char sha1[41] = "", sha256[65] = "", id[64] = "";
    struct stat st = { 0 };
    bool deny = false;
    if (m->pid != getpid() && !set_empty()) {
        if (fstat(m->fd, &st) != 0 || !hashes_of(m->fd, &st, sha1, sha256)) {
            atomic_fetch_add(&g.failed_open, 1);
        } else {
            pthread_rwlock_rdlock(&g.lock);
            deny = lookup_locked(sha256, id) || lookup_locked(sha1, id);
            pthread_rwlock_unlock(&g.lock);
        }
    }
    if (deny)
        r.response = FAN_DENY;
    if (write(g.fan_fd, &r, sizeof r) != (ssize_t)sizeof r)
        atomic_fetch_add(&g.failed_open, 1);   /* the kernel allows on our close */
    if (deny) {
        atomic_fetch_add(&g.denied, 1);
        report_block(m->fd, m->pid, sha1, sha256, st.st_size, id);
    }
}

static void *block_thread(void *arg)
{
    static _Thread_local char buf[BLOCK_EVENT_BUF]
        __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
    struct pollfd pf[2] = { { .fd = g.fan_fd, .events = POLLIN }, { .fd = g.stop_fd, .events = POLLIN } };
    for (;;) {
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[1].revents)
            break;
        ssize_t n = read(g.fan_fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            break;
        }
        const struct fanotify_event_metadata *m = (const void *)buf;
        for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
            if (m->vers != FANOTIFY_METADATA_VERSION)
                break;
            if (m->fd < 0)
                continue;
            if (m->mask & FAN_OPEN_EXEC_PERM)
                answer(m);
            close(m->fd);
        }
    }
    return NULL;
}

static bool skip_fstype(const char *t)
{
    static const char *const pseudo[] = { "proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue",
                                          "debugfs", "tracefs", "securityfs", "pstore", "bpf",
                                          "configfs", "fusectl", "hugetlbfs", "autofs",
                                          "binfmt_misc", "nsfs", "efivarfs", "rpc_pipefs" };
    for (size_t i = 0; i < sizeof pseudo / sizeof pseudo[0]; i++)
        if (strcmp(t, pseudo[i]) == 0)
            return true;
    return false;
}

/* Marks "/" and every other real filesystem in mountinfo (once per st_dev). */
static vg_err mark_all(vg_diag *d)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return vg_diag_set(d, VG_EIO, "/proc/self/mountinfo: %s", strerror(errno));
    dev_t seen[BLOCK_MARKS_MAX];
    size_t nseen = 0;
    char line[8192];
    vg_err e = VG_OK;
    bool root_marked = false;
    while (fgets(line, sizeof line, f) && nseen < BLOCK_MARKS_MAX) {
        /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
        char *save = NULL, *fields[6] = { 0 };
        char *tok = line;
        int nf = 0;
        for (char *sp; nf < 5 && (sp = strchr(tok, ' ')) != NULL; tok = sp + 1) {
            *sp = '\0';
            fields[nf++] = tok;
        }
        (void)save;
        char *dash = strstr(tok, " - ");
        if (nf < 5 || !dash)
            continue;
        char *fstype = dash + 3;
        char *end = strchr(fstype, ' ');
        if (end)
            *end = '\0';
        const char *mnt = fields[4];
        if (skip_fstype(fstype) || strchr(mnt, '\\'))   /* escaped names: skipped */
            continue;
        struct stat st;
        if (stat(mnt, &st) != 0)
            continue;
        bool dup = false;
        for (size_t i = 0; i < nseen; i++)
            dup = dup || seen[i] == st.st_dev;
        if (dup)
            continue;
        int rc = fanotify_mark(g.fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM,
                               AT_FDCWD, mnt);
        if (rc != 0)
            rc = fanotify_mark(g.fan_fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC_PERM,
                               AT_FDCWD, mnt);
        if (rc == 0) {
            seen[nseen++] = st.st_dev;
            root_marked = root_marked || strcmp(mnt, "/") == 0;
        } else if (strcmp(mnt, "/") == 0) {
            e = vg_diag_set(d, VG_EUNSUPPORTED, "fanotify_mark / FAN_OPEN_EXEC_PERM: %s",
                            strerror(errno));
            break;
        }
    }
    fclose(f);
    if (e == VG_OK && !root_marked)
        e = vg_diag_set(d, VG_EUNSUPPORTED, "fanotify: / could not be marked");
    return e;
}

static void unmark_all(void)
{
    fanotify_mark(g.fan_fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, "/");
    fanotify_mark(g.fan_fd, FAN_MARK_FLUSH | FAN_MARK_MOUNT, 0, AT_FDCWD, "/");
}

vg_err ag_block_start(ag *a, vg_diag *d)
{
    /* held throughout: an indicator change waits until the group is complete */
    pthread_mutex_lock(&g.mark_mu);
    vg_err e = VG_OK;
    if (g.running)
        goto out;
    g.agent = a;
    g.cache = calloc(AG_BLOCK_CACHE, sizeof *g.cache);
    if (!g.cache) {
        e = vg_diag_set(d, VG_ENOMEM, "hash blocking: cache");
        goto out;
    }
    g.fan_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
                             O_RDONLY | O_LARGEFILE | O_CLOEXEC);
    if (g.fan_fd < 0) {
        e = vg_diag_set(d, VG_EUNSUPPORTED, "fanotify_init(FAN_CLASS_CONTENT): %s%s", strerror(errno),
                        errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
        goto out;
    }
    /* marking once proves the kernel can; the marks stay only while something is blocked */
    if ((e = mark_all(d)) != VG_OK)
        goto out;
    pthread_rwlock_rdlock(&g.lock);
    bool blocking = g.set && g.set->n > 0;
    pthread_rwlock_unlock(&g.lock);
    if (!blocking)
        unmark_all();
    g.marked = blocking;
    g.stop_fd = eventfd(0, EFD_CLOEXEC);
    if (g.stop_fd < 0) {
        e = vg_diag_set(d, VG_EIO, "eventfd: %s", strerror(errno));
        goto out;
    }
    if (pthread_create(&g.thread, NULL, block_thread, NULL) != 0) {
        e = vg_diag_set(d, VG_EIO, "hash blocking: cannot start its thread");
        goto out;
    }
    g.running = true;
out:
    if (e != VG_OK) {
        if (g.fan_fd >= 0)
            close(g.fan_fd);
        if (g.stop_fd >= 0)
            close(g.stop_fd);
        g.fan_fd = g.stop_fd = -1;
        g.marked = false;
        free(g.cache);
        g.cache = NULL;
    }
    pthread_mutex_unlock(&g.mark_mu);
    return e;
}

void ag_block_stop(void)
{
    if (!g.running)
        return;
    uint64_t one = 1;
    if (write(g.stop_fd, &one, sizeof one) != (ssize_t)sizeof one) {
        /* the thread still ends when the group is closed below */
    }
    pthread_join(g.thread, NULL);
    pthread_mutex_lock(&g.mark_mu);
    g.marked = false;
    pthread_mutex_unlock(&g.mark_mu);
    close(g.fan_fd);   /* pending permission events are allowed by the kernel */
    close(g.stop_fd);
    g.fan_fd = g.stop_fd = -1;
    free(g.cache);
    g.cache = NULL;
    g.running = false;
}
