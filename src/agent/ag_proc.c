/*
 * ag_proc.c - the process cache behind every InitiatingProcess* column, the
 * /proc readers that fill it and the cache of executable hashes.
 *
 * Processes are keyed by pid and start time (field 22 of /proc/PID/stat),
 * which together name one process for the life of the machine. The cache is
 * filled from /proc at start, kept current by the proc connector's fork, exec
 * and exit events (ag_core_exec.c), and bounded: exited processes stay a few
 * seconds (their children's rows still name them), and when the table is full
 * a sample of entries gives up its least recently used one (exited first).
 * Strings are allocated per entry, so memory follows the real command lines.
 *
 * Hashes (SHA1, SHA256, MD5 in one read) are cached by (st_dev, st_ino,
 * mtime, size) in a 4-way set-associative table: a binary run a thousand
 * times is read once, and a rewritten binary is hashed again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ag_int.h"

#define PROC_FILE_MAX 65536          /* bytes read of one /proc file */
#define PCACHE_SAMPLE 16             /* entries looked at to pick an eviction */
#define PCACHE_DEAD_KEEP_NS (5ull * 1000000000ull)
#define HASH_WAYS 4
#define HASH_READ_CHUNK 65536
#define UID_CACHE 64

/* ---- /proc parsing ---- */

vg_err ag_proc_parse_stat(vg_str t, pid_t *ppid, uint64_t *start_ticks, char *comm, size_t cap)
{
    /* "pid (comm) state ppid ..." where comm may hold spaces and parentheses:
     * it ends at the last ')' */
    ptrdiff_t open = vg_str_chr(t, '('), close = vg_str_rchr(t, ')');
    if (open < 0 || close < open)
        return VG_EPARSE;
    if (comm)
        vg_str_copy_c(comm, cap, vg_str_make(t.p + open + 1, (size_t)(close - open - 1)));
    const char *p = t.p + close + 1, *end = t.p + t.n;
    /* fields after comm: 3 state, 4 ppid, ..., 22 starttime */
    for (int field = 3; field <= 22; field++) {
        while (p < end && *p == ' ')
            p++;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\n')
            p++;
        if (s == p)
            return VG_EPARSE;
        uint64_t v;
        if (field == 4) {
            if (vg_str_to_u64(vg_str_make(s, (size_t)(p - s)), &v) != VG_OK)
                return VG_EPARSE;
            *ppid = (pid_t)v;
        } else if (field == 22) {
            if (vg_str_to_u64(vg_str_make(s, (size_t)(p - s)), &v) != VG_OK)
                return VG_EPARSE;
            *start_ticks = v;
        }
    }
    return VG_OK;
}

vg_err ag_proc_parse_status(vg_str t, uid_t *uid, pid_t *ppid)
{
    bool have_uid = false;
    const char *p = t.p, *end = t.p + t.n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        vg_str line = vg_str_make(p, nl ? (size_t)(nl - p) : (size_t)(end - p));
        p = nl ? nl + 1 : end;
        bool is_uid = line.n > 4 && memcmp(line.p, "Uid:", 4) == 0;
        bool is_ppid = line.n > 5 && memcmp(line.p, "PPid:", 5) == 0;
        if (!is_uid && !is_ppid)
            continue;
        vg_str rest = vg_str_trim(vg_str_make(line.p + (is_uid ? 4 : 5), line.n - (is_uid ? 4 : 5)));
        size_t k = 0;   /* first field: the real uid */
        while (k < rest.n && rest.p[k] != '\t' && rest.p[k] != ' ')
            k++;
        uint64_t v;
        if (vg_str_to_u64(vg_str_make(rest.p, k), &v) != VG_OK)
            return VG_EPARSE;
        if (is_uid) {
            *uid = (uid_t)v;
            have_uid = true;
        } else if (ppid) {
            *ppid = (pid_t)v;
        }
    }
    return have_uid ? VG_OK : VG_EPARSE;
}

void ag_proc_parse_cmdline(vg_str raw, char *out, size_t cap)
{
    size_t n = raw.n;
    while (n > 0 && raw.p[n - 1] == '\0')
        n--;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++)
        out[k++] = raw.p[i] == '\0' ? ' ' : raw.p[i];
    out[k] = '\0';
}

static vg_err read_file(const char *path, char *buf, size_t cap, size_t *n)
{
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ESRCH ? VG_ENOTFOUND : VG_EIO;
    while (*n < cap) {
        ssize_t r = read(fd, buf + *n, cap - *n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        *n += (size_t)r;
    }
    close(fd);
    return VG_OK;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

vg_err ag_proc_read(const char *root, pid_t pid, ag_proc *out, vg_diag *d)
{
    memset(out, 0, sizeof *out);
    out->pid = pid;
    out->logon_id = -1;
    char path[4200];
    char *buf = malloc(PROC_FILE_MAX);
    if (!buf)
        return vg_diag_set(d, VG_ENOMEM, "proc read");
    size_t n;
    vg_err e;
    char comm[64] = "";
    snprintf(path, sizeof path, "%s/%d/stat", root, (int)pid);
    e = read_file(path, buf, PROC_FILE_MAX, &n);
    if (e != VG_OK || n == 0) {
        e = vg_diag_set(d, VG_ENOTFOUND, "%s: process gone", path);
        goto out;
    }
    if (ag_proc_parse_stat(vg_str_make(buf, n), &out->ppid, &out->start_ticks, comm,
                           sizeof comm) != VG_OK) {
        e = vg_diag_set(d, VG_EPARSE, "%s: not a stat line", path);
        goto out;
    }
    snprintf(path, sizeof path, "%s/%d/status", root, (int)pid);
    if (read_file(path, buf, PROC_FILE_MAX, &n) == VG_OK &&
        ag_proc_parse_status(vg_str_make(buf, n), &out->uid, NULL) != VG_OK) {
        e = vg_diag_set(d, VG_EPARSE, "%s: no Uid line", path);
        goto out;
    }
    snprintf(path, sizeof path, "%s/%d/cmdline", root, (int)pid);
    if (read_file(path, buf, sizeof out->cmdline, &n) == VG_OK)
        ag_proc_parse_cmdline(vg_str_make(buf, n), out->cmdline, sizeof out->cmdline);
    snprintf(path, sizeof path, "%s/%d/exe", root, (int)pid);
    ssize_t l = readlink(path, out->exe, sizeof out->exe - 1);
    if (l > 0) {
        out->exe[l] = '\0';
        /* a replaced binary reads "/usr/bin/x (deleted)": the path is what ran */
        size_t dl = strlen(" (deleted)");
        if ((size_t)l > dl && strcmp(out->exe + l - dl, " (deleted)") == 0)
            out->exe[l - dl] = '\0';
        vg_str_copy_c(out->name, sizeof out->name, vg_str_c(base_name(out->exe)));
    } else {
        vg_str_copy_c(out->name, sizeof out->name, vg_str_c(comm));   /* kernel thread or gone */
    }
    snprintf(path, sizeof path, "%s/%d/sessionid", root, (int)pid);
    uint64_t sid;
    if (read_file(path, buf, 32, &n) == VG_OK &&
        vg_str_to_u64(vg_str_trim(vg_str_make(buf, n)), &sid) == VG_OK)
        out->logon_id = sid == 4294967295ull ? -1 : (int64_t)sid;
    e = VG_OK;
out:
    free(buf);
    return e;
}

/* ---- the hash cache ---- */

typedef struct hentry {
    uint64_t dev, ino, mtime_ns, size, used;
    char sha1[41], sha256[65], md5[33];
    bool set;
} hentry;

struct ag_hash_cache {
    pthread_mutex_t mu;
    hentry *v;
    size_t sets;
    size_t count;
    uint64_t clock;
};

vg_err ag_hash_cache_new(size_t max, ag_hash_cache **out)
{
    ag_hash_cache *c = calloc(1, sizeof *c);
    size_t sets = max / HASH_WAYS ? max / HASH_WAYS : 1;
    if (!c || !(c->v = calloc(sets * HASH_WAYS, sizeof *c->v))) {
        free(c);
        return VG_ENOMEM;
    }
    c->sets = sets;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return VG_OK;
}

void ag_hash_cache_free(ag_hash_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->v);
    free(c);
}

size_t ag_hash_cache_count(const ag_hash_cache *c) { return c->count; }

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[p[i] >> 4];
        out[2 * i + 1] = h[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool hash_fd(int fd, char sha1[41], char sha256[65], char md5[33])
{
    const EVP_MD *mds[3] = { EVP_sha1(), EVP_sha256(), EVP_md5() };
    EVP_MD_CTX *cx[3] = { EVP_MD_CTX_new(), EVP_MD_CTX_new(), EVP_MD_CTX_new() };
    unsigned char *buf = malloc(HASH_READ_CHUNK);
    bool ok = buf != NULL;
    for (int i = 0; i < 3; i++)
        ok = ok && cx[i] && EVP_DigestInit_ex(cx[i], mds[i], NULL);
    while (ok) {
        ssize_t r = read(fd, buf, HASH_READ_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            ok = false;
        if (r <= 0)
            break;
        for (int i = 0; i < 3; i++)
            ok = ok && EVP_DigestUpdate(cx[i], buf, (size_t)r);
    }
    char *outs[3] = { sha1, sha256, md5 };
    for (int i = 0; i < 3 && ok; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mn = 0;
        ok = EVP_DigestFinal_ex(cx[i], md, &mn);
        hex(md, mn, outs[i]);
    }
    for (int i = 0; i < 3; i++)
        EVP_MD_CTX_free(cx[i]);
    free(buf);
    return ok;
}

bool ag_hash_cache_get(ag_hash_cache *c, const char *path, char sha1[41], char sha256[65],
                       char md5[33], bool *hit)
{
    *hit = false;
    sha1[0] = sha256[0] = md5[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > AG_HASH_FILE_MAX) {
        close(fd);
        return false;
    }
    uint64_t mt = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
    uint64_t key = ((uint64_t)st.st_dev * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)st.st_ino * 0xff51afd7ed558ccdull);
    hentry *set = c->v + (key % c->sets) * HASH_WAYS;
    pthread_mutex_lock(&c->mu);
    for (int w = 0; w < HASH_WAYS; w++) {
        hentry *h = &set[w];
        if (h->set && h->dev == (uint64_t)st.st_dev && h->ino == (uint64_t)st.st_ino &&
            h->mtime_ns == mt && h->size == (uint64_t)st.st_size) {
            h->used = ++c->clock;
            memcpy(sha1, h->sha1, 41);
            memcpy(sha256, h->sha256, 65);
            memcpy(md5, h->md5, 33);
            pthread_mutex_unlock(&c->mu);
            close(fd);
            *hit = true;
            return true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    bool ok = hash_fd(fd, sha1, sha256, md5);   /* outside the lock: may take a while */
    close(fd);
    if (!ok)
        return false;
    pthread_mutex_lock(&c->mu);
    hentry *victim = &set[0];
    for (int w = 0; w < HASH_WAYS; w++) {
        if (!set[w].set) {
            victim = &set[w];
            break;
        }
        if (set[w].used < victim->used)
            victim = &set[w];
    }
    if (!victim->set)
        c->count++;
    *victim = (hentry){ (uint64_t)st.st_dev, (uint64_t)st.st_ino, mt, (uint64_t)st.st_size,
                        ++c->clock, "", "", "", true };
    memcpy(victim->sha1, sha1, 41);
    memcpy(victim->sha256, sha256, 65);
    memcpy(victim->md5, md5, 33);
    pthread_mutex_unlock(&c->mu);
    return true;
}

/* ---- the process cache ---- */

typedef struct pent {
    pid_t pid, ppid;
    uint64_t start_ticks;
    uid_t uid;
    int64_t logon_id;
    char *exe, *cmdline;
    char sha1[41], sha256[65], md5[33];
    bool live, dead, execd;
    uint64_t used, dead_ns;
    int32_t next;              /* hash chain, or free list */
} pent;

typedef struct dead_rec {
    pid_t pid;
    uint64_t start_ticks, ns;
} dead_rec;

struct ag_pcache {
    pthread_mutex_t mu;
    char root[256];
    pent *v;
    size_t max, count;
    int32_t *buckets;
    size_t nbuckets;           /* a power of two */
    int32_t free_head;
    size_t used_hw;            /* entries ever handed out: v[used_hw..max) never touched */
    uint64_t clock;
    size_t sample_pos;
    dead_rec *dead;            /* ring of exits, oldest first */
    size_t dead_head, dead_n;
    struct { uid_t uid; char name[64]; bool set; } users[UID_CACHE];
    uint64_t boot_ns;          /* boot time (Unix, ns) for start times */
    long hz;
};

vg_err ag_pcache_new(const char *proc_root, size_t max, ag_pcache **out)
{
    *out = NULL;
    ag_pcache *c = calloc(1, sizeof *c);
    if (!c)
        return VG_ENOMEM;
    snprintf(c->root, sizeof c->root, "%s", proc_root);
    c->max = max;
    c->nbuckets = 1;
    while (c->nbuckets < max)
        c->nbuckets <<= 1;
    c->v = calloc(max, sizeof *c->v);
    c->buckets = malloc(c->nbuckets * sizeof *c->buckets);
    c->dead = calloc(max, sizeof *c->dead);
    if (!c->v || !c->buckets || !c->dead) {
        ag_pcache_free(c);
        return VG_ENOMEM;
    }
    for (size_t i = 0; i < c->nbuckets; i++)
        c->buckets[i] = -1;
    c->free_head = -1;   /* entries past `used_hw` are untouched (not resident) until needed */
    pthread_mutex_init(&c->mu, NULL);
    c->hz = sysconf(_SC_CLK_TCK);
    if (c->hz <= 0)
        c->hz = 100;
    char path[300], buf[8192];
    size_t n;
    snprintf(path, sizeof path, "%s/stat", c->root);
    if (read_file(path, buf, sizeof buf - 1, &n) == VG_OK) {
        buf[n] = '\0';
        char *b = strstr(buf, "\nbtime ");
        uint64_t bt;
        if (b) {
            char *e = strchr(b + 7, '\n');
            if (e && vg_str_to_u64(vg_str_make(b + 7, (size_t)(e - b - 7)), &bt) == VG_OK)
                c->boot_ns = bt * 1000000000ull;
        }
    }
    *out = c;
    return VG_OK;
}

void ag_pcache_free(ag_pcache *c)
{
    if (!c)
        return;
    if (c->v) {
        for (size_t i = 0; i < c->used_hw; i++) {
            free(c->v[i].exe);
            free(c->v[i].cmdline);
        }
        pthread_mutex_destroy(&c->mu);
    }
    free(c->v);
    free(c->buckets);
    free(c->dead);
    free(c);
}

size_t ag_pcache_count(ag_pcache *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->count;
    pthread_mutex_unlock(&c->mu);
    return n;
}

vg_time ag_pcache_start_time(ag_pcache *c, uint64_t start_ticks)
{
    uint64_t ns = c->boot_ns + start_ticks * (1000000000ull / (uint64_t)c->hz);
    return vg_time_from_unix((int64_t)(ns / 1000000000ull), (int64_t)(ns % 1000000000ull));
}

static size_t bucket_of(const ag_pcache *c, pid_t pid)
{
    return ((uint32_t)pid * 2654435761u) & (c->nbuckets - 1);
}

static int32_t find(ag_pcache *c, pid_t pid)
{
    for (int32_t i = c->buckets[bucket_of(c, pid)]; i >= 0; i = c->v[i].next)
        if (c->v[i].pid == pid)
            return i;
    return -1;
}

static void unlink_entry(ag_pcache *c, int32_t idx)
{
    int32_t *pp = &c->buckets[bucket_of(c, c->v[idx].pid)];
    while (*pp != idx)
        pp = &c->v[*pp].next;
    *pp = c->v[idx].next;
    free(c->v[idx].exe);
    free(c->v[idx].cmdline);
    memset(&c->v[idx], 0, sizeof c->v[idx]);
    c->v[idx].next = c->free_head;
    c->free_head = idx;
    c->count--;
}

/* Frees exited entries older than the keep time, then, when still full,
 * the least recently used of a sample (exited ones first). */
static void make_room(ag_pcache *c)
{
    uint64_t now = vg_mono_ns();
    while (c->dead_n > 0) {
        dead_rec *r = &c->dead[c->dead_head];
        if (now - r->ns < PCACHE_DEAD_KEEP_NS && (c->free_head >= 0 || c->used_hw < c->max))
            break;
        int32_t i = find(c, r->pid);
        if (i >= 0 && c->v[i].dead && c->v[i].start_ticks == r->start_ticks)
            unlink_entry(c, i);
        c->dead_head = (c->dead_head + 1) % c->max;
        c->dead_n--;
    }
    if (c->free_head >= 0 || c->used_hw < c->max)
        return;
    int32_t victim = -1;
    for (int k = 0; k < PCACHE_SAMPLE; k++) {
        int32_t i = (int32_t)(c->sample_pos++ % c->used_hw);
        if (!c->v[i].live)
            continue;
        if (victim < 0 || (c->v[i].dead && !c->v[victim].dead) ||
            (c->v[i].dead == c->v[victim].dead && c->v[i].used < c->v[victim].used))
            victim = i;
    }
    if (victim >= 0)
        unlink_entry(c, victim);
}

/* The entry for pid, created when absent. Caller holds the lock. -1 when full. */
static int32_t slot_for(ag_pcache *c, pid_t pid)
{
    int32_t i = find(c, pid);
    if (i >= 0)
        return i;
    make_room(c);
    if (c->free_head >= 0) {
        i = c->free_head;
        c->free_head = c->v[i].next;
    } else if (c->used_hw < c->max) {
        i = (int32_t)c->used_hw++;
    } else {
        return -1;
    }
    memset(&c->v[i], 0, sizeof c->v[i]);
    c->v[i].pid = pid;
    c->v[i].live = true;
    size_t b = bucket_of(c, pid);
    c->v[i].next = c->buckets[b];
    c->buckets[b] = i;
    c->count++;
    return i;
}

static void user_name(ag_pcache *c, uid_t uid, char *out, size_t cap)
{
    size_t k = uid % UID_CACHE;
    if (!c->users[k].set || c->users[k].uid != uid) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        c->users[k].uid = uid;
        c->users[k].set = true;
        if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
            snprintf(c->users[k].name, sizeof c->users[k].name, "%s", pw.pw_name);
        else
            snprintf(c->users[k].name, sizeof c->users[k].name, "%u", (unsigned)uid);
    }
    snprintf(out, cap, "%s", c->users[k].name);
}

static void to_proc(ag_pcache *c, const pent *e, ag_proc *out)
{
    memset(out, 0, sizeof *out);
    out->pid = e->pid;
    out->ppid = e->ppid;
    out->start_ticks = e->start_ticks;
    out->start = ag_pcache_start_time(c, e->start_ticks);
    vg_str_copy_c(out->exe, sizeof out->exe, vg_str_c(e->exe));
    vg_str_copy_c(out->cmdline, sizeof out->cmdline, vg_str_c(e->cmdline));
    vg_str_copy_c(out->name, sizeof out->name, vg_str_c(base_name(e->exe ? e->exe : "")));
    out->uid = e->uid;
    user_name(c, e->uid, out->user, sizeof out->user);
    memcpy(out->sha1, e->sha1, 41);
    memcpy(out->sha256, e->sha256, 65);
    memcpy(out->md5, e->md5, 33);
    out->logon_id = e->logon_id;
}

static void from_proc(pent *e, const ag_proc *p)
{
    free(e->exe);
    free(e->cmdline);
    e->exe = strdup(p->exe[0] ? p->exe : p->name);
    e->cmdline = strdup(p->cmdline);
    e->ppid = p->ppid;
    e->start_ticks = p->start_ticks;
    e->uid = p->uid;
    e->logon_id = p->logon_id;
    e->sha1[0] = e->sha256[0] = e->md5[0] = '\0';
    e->dead = false;
}

vg_err ag_pcache_refresh(ag_pcache *c, pid_t pid, ag_proc *out, vg_diag *d)
{
    vg_err e = ag_proc_read(c->root, pid, out, d);
    if (e != VG_OK)
        return e;
    pthread_mutex_lock(&c->mu);
    int32_t i = slot_for(c, pid);
    if (i >= 0) {
        from_proc(&c->v[i], out);
        c->v[i].execd = true;
        c->v[i].used = ++c->clock;
        to_proc(c, &c->v[i], out);
    } else {
        out->start = ag_pcache_start_time(c, out->start_ticks);
        user_name(c, out->uid, out->user, sizeof out->user);
    }
    pthread_mutex_unlock(&c->mu);
    return VG_OK;
}

bool ag_pcache_lookup(ag_pcache *c, pid_t pid, ag_proc *out)
{
    pthread_mutex_lock(&c->mu);
    int32_t i = find(c, pid);
    if (i >= 0) {
        c->v[i].used = ++c->clock;
        to_proc(c, &c->v[i], out);
    }
    pthread_mutex_unlock(&c->mu);
    return i >= 0;
}

void ag_pcache_set_hashes(ag_pcache *c, pid_t pid, uint64_t start_ticks, const char *sha1,
                          const char *sha256, const char *md5)
{
    pthread_mutex_lock(&c->mu);
    int32_t i = find(c, pid);
    if (i >= 0 && c->v[i].start_ticks == start_ticks) {
        snprintf(c->v[i].sha1, sizeof c->v[i].sha1, "%s", sha1);
        snprintf(c->v[i].sha256, sizeof c->v[i].sha256, "%s", sha256);
        snprintf(c->v[i].md5, sizeof c->v[i].md5, "%s", md5);
    }
    pthread_mutex_unlock(&c->mu);
}

void ag_pcache_fork(ag_pcache *c, pid_t parent, pid_t child, uint64_t start_ticks)
{
    pthread_mutex_lock(&c->mu);
    int32_t pi = find(c, parent);
    int32_t ci = slot_for(c, child);
    pi = find(c, parent);   /* make_room may have moved nothing but may have freed it */
    if (ci >= 0) {
        pent *e = &c->v[ci];
        free(e->exe);
        free(e->cmdline);
        e->exe = e->cmdline = NULL;
        if (pi >= 0) {
            const pent *p = &c->v[pi];
            e->exe = p->exe ? strdup(p->exe) : NULL;
            e->cmdline = p->cmdline ? strdup(p->cmdline) : NULL;
            e->uid = p->uid;
            e->logon_id = p->logon_id;
            memcpy(e->sha1, p->sha1, 41);
            memcpy(e->sha256, p->sha256, 65);
            memcpy(e->md5, p->md5, 33);
        } else {
            e->logon_id = -1;
        }
        e->ppid = parent;
        e->start_ticks = start_ticks;
        e->dead = e->execd = false;
        e->used = ++c->clock;
    }
    pthread_mutex_unlock(&c->mu);
}

void ag_pcache_exit(ag_pcache *c, pid_t pid)
{
    pthread_mutex_lock(&c->mu);
    int32_t i = find(c, pid);
    if (i >= 0 && !c->v[i].dead) {
        c->v[i].dead = true;
        if (c->dead_n == c->max)
            make_room(c);
        if (c->dead_n < c->max) {
            c->dead[(c->dead_head + c->dead_n) % c->max] =
                (dead_rec){ pid, c->v[i].start_ticks, vg_mono_ns() };
            c->dead_n++;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

/* Whether the cached pid has been through exec since it was seen (its exe is its own). */
bool ag_pcache_execd(ag_pcache *c, pid_t pid)
{
    pthread_mutex_lock(&c->mu);
    int32_t i = find(c, pid);
    bool r = i >= 0 && c->v[i].execd;
    pthread_mutex_unlock(&c->mu);
    return r;
}

vg_err ag_pcache_fill(ag_pcache *c, size_t *n)
{
    *n = 0;
    DIR *dh = opendir(c->root);
    if (!dh)
        return VG_EIO;
    struct dirent *de;
    ag_proc *p = malloc(sizeof *p);
    if (!p) {
        closedir(dh);
        return VG_ENOMEM;
    }
    while ((de = readdir(dh)) != NULL) {
        uint64_t pid;
        if (vg_str_to_u64(vg_str_c(de->d_name), &pid) != VG_OK || pid == 0)
            continue;
        if (ag_pcache_refresh(c, (pid_t)pid, p, NULL) == VG_OK)
            (*n)++;
    }
    free(p);
    closedir(dh);
    return VG_OK;
}

/* ---- what the other parts call ---- */

bool ag_file_hashes(ag *a, const char *path, char sha1[41], char sha256[65], char md5[33])
{
    bool hit;
    return ag_hash_cache_get(ag_hash_cache_of(a), path, sha1, sha256, md5, &hit);
}

/* Fills the hashes of a cached process when they are not known yet. */
static void ensure_hashes(ag *a, ag_proc *p)
{
    if (p->sha256[0] || !p->exe[0])
        return;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)p->pid);
    /* /proc/PID/exe opens the very file that runs (also when deleted or in
     * another mount namespace); the path is the fallback once it is gone */
    if (!ag_file_hashes(a, path, p->sha1, p->sha256, p->md5) &&
        !ag_file_hashes(a, p->exe, p->sha1, p->sha256, p->md5))
        return;
    ag_pcache_set_hashes(ag_pcache_of(a), p->pid, p->start_ticks, p->sha1, p->sha256, p->md5);
}

bool ag_proc_get(ag *a, pid_t pid, ag_proc *out)
{
    ag_pcache *c = ag_pcache_of(a);
    if (!ag_pcache_lookup(c, pid, out) && ag_pcache_refresh(c, pid, out, NULL) != VG_OK)
        return false;
    ensure_hashes(a, out);
    return true;
}

static void put_str(vg_buf *b, const char *key, const char *v)
{
    vg_buf_printf(b, ",\"%s\":", key);
    vg_buf_put_json_str(b, vg_str_c(v));
}

static void put_time(vg_buf *b, const char *key, vg_time t)
{
    char ts[VG_TIME_BUFSZ];
    vg_time_format(t, ts, sizeof ts);
    put_str(b, key, ts);
}

void ag_proc_initiating(ag *a, pid_t pid, vg_buf *row)
{
    ag_proc *p = malloc(2 * sizeof *p);
    if (!p)
        return;
    ag_proc *pp = p + 1;
    if (ag_proc_get(a, pid, p)) {
        put_str(row, "InitiatingProcessAccountDomain", ag_identity(a)->device_name);
        put_str(row, "InitiatingProcessAccountName", p->user);
        put_str(row, "InitiatingProcessAccountSid", "");
        if (p->logon_id >= 0)
            vg_buf_printf(row, ",\"InitiatingProcessLogonId\":%" PRId64, p->logon_id);
        put_str(row, "InitiatingProcessSHA1", p->sha1);
        put_str(row, "InitiatingProcessSHA256", p->sha256);
        put_str(row, "InitiatingProcessMD5", p->md5);
        put_str(row, "InitiatingProcessFileName", p->name);
        put_str(row, "InitiatingProcessFolderPath", p->exe);
        vg_buf_printf(row, ",\"InitiatingProcessId\":%d", (int)p->pid);
        put_str(row, "InitiatingProcessCommandLine", p->cmdline);
        put_time(row, "InitiatingProcessCreationTime", p->start);
        vg_buf_printf(row, ",\"InitiatingProcessParentId\":%d", (int)p->ppid);
        if (p->ppid > 0 && ag_pcache_lookup(ag_pcache_of(a), p->ppid, pp)) {
            put_str(row, "InitiatingProcessParentFileName", pp->name);
            put_time(row, "InitiatingProcessParentCreationTime", pp->start);
        }
    } else {
        vg_buf_printf(row, ",\"InitiatingProcessId\":%d", (int)pid);
    }
    free(p);
}
