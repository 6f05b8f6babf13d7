/*
 * ag_spool.c - the agent's on-disk spool of telemetry batches.
 *
 * Every batch (zstd-compressed NDJSON rows) becomes one file DIR/<seq>.batch
 * with a small header (magic, seq, length, XXH64 of the payload), written to
 * a temporary name, fsync'ed and renamed, so a file either exists whole or
 * not at all. The sender reads the oldest, sends it and deletes it only when
 * the server acknowledged it, so a server outage or an agent restart loses
 * nothing while the spool has room. The seq of each batch is taken from
 * DIR/seq, which is rewritten (fsync'ed) before the batch file exists: a seq
 * is never handed out twice, even when every batch was acknowledged. The
 * total size is bounded; a batch that does not fit is refused and counted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "ag_int.h"

#define SPOOL_MAGIC "VGSPOOL1"
#define SPOOL_HDR 32u               /* magic, seq, length, xxh64 */
#define SPOOL_PATH_MAX (4096 + 320)
#define SPOOL_FILES_MAX (1u << 20)  /* batches on disk (at 1 s each: 12 days) */

struct ag_spool {
    pthread_mutex_t put_mu;         /* one writer at a time: seqs on disk in order */
    pthread_mutex_t mu;             /* the in-memory list; never held across I/O */
    char dir[4096];
    uint64_t max_bytes;
    uint64_t *seqs;                 /* sorted ascending: the batches on disk */
    uint64_t *sizes;
    size_t n, cap;
    uint64_t bytes;
    uint64_t last_seq;
    uint64_t dropped, corrupt;
};

static void batch_path(const ag_spool *s, uint64_t seq, const char *ext, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%020" PRIu64 ".%s", s->dir, seq, ext);
}

static vg_err fsync_dir(const char *dir, vg_diag *d)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: %s", dir, strerror(errno));
    int r = fsync(fd);
    close(fd);
    return r == 0 ? VG_OK : vg_diag_set(d, VG_EIO, "fsync %s: %s", dir, strerror(errno));
}

/* Writes all of p into a new file at tmp, fsyncs it and renames it to path. */
static vg_err write_durable(const char *tmp, const char *path, const void *h, size_t hn,
                            const void *p, size_t n, vg_diag *d)
{
    vg_err e = VG_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: %s", tmp, strerror(errno));
    const struct { const void *p; size_t n; } parts[2] = { { h, hn }, { p, n } };
    for (int i = 0; i < 2; i++) {
        const char *c = parts[i].p;
        size_t left = parts[i].n;
        while (left > 0) {
            ssize_t w = write(fd, c, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                e = vg_diag_set(d, VG_EIO, "write %s: %s", tmp, strerror(errno));
                goto out;
            }
            c += w;
            left -= (size_t)w;
        }
    }
    if (fsync(fd) != 0) {
        e = vg_diag_set(d, VG_EIO, "fsync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0)
        e = vg_diag_set(d, VG_EIO, "rename %s: %s", tmp, strerror(errno));
out:
    close(fd);
    if (e != VG_OK)
        unlink(tmp);
    return e;
}

static vg_err save_seq(ag_spool *s, uint64_t seq, vg_diag *d)
{
    char tmp[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX], text[32];
    snprintf(tmp, sizeof tmp, "%s/seq.tmp", s->dir);
    snprintf(path, sizeof path, "%s/seq", s->dir);
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", seq);
    vg_err e = write_durable(tmp, path, text, (size_t)n, NULL, 0, d);
    return e != VG_OK ? e : fsync_dir(s->dir, d);
}

static vg_err load_seq(ag_spool *s, vg_diag *d)
{
    char path[SPOOL_PATH_MAX], text[32];
    snprintf(path, sizeof path, "%s/seq", s->dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? VG_OK : vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    uint64_t v = 0;
    if (vg_str_to_u64(vg_str_trim(vg_str_make(text, n)), &v) != VG_OK)
        return vg_diag_set(d, VG_ECORRUPT, "%s: not a sequence number", path);
    if (v > s->last_seq)
        s->last_seq = v;
    return VG_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool push_file(ag_spool *s, uint64_t seq, uint64_t size)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        if (nc > SPOOL_FILES_MAX)
            return false;
        uint64_t *ns = realloc(s->seqs, nc * sizeof *ns);
        if (!ns)
            return false;
        s->seqs = ns;
        uint64_t *nz = realloc(s->sizes, nc * sizeof *nz);
        if (!nz)
            return false;
        s->sizes = nz;
        s->cap = nc;
    }
    s->seqs[s->n] = seq;
    s->sizes[s->n] = size;
    s->n++;
    s->bytes += size;
    return true;
}

static vg_err scan(ag_spool *s, vg_diag *d)
{
    DIR *dh = opendir(s->dir);
    if (!dh)
        return vg_diag_set(d, VG_EIO, "%s: %s", s->dir, strerror(errno));
    vg_err e = VG_OK;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        vg_str name = vg_str_c(de->d_name);
        char path[SPOOL_PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", s->dir, de->d_name);
        if (vg_str_ends_ci(name, vg_str_c(".tmp"))) {
            unlink(path);   /* a write that never finished: its batch was never sent */
            continue;
        }
        if (!vg_str_ends_ci(name, vg_str_c(".batch")))
            continue;
        uint64_t seq;
        struct stat st;
        if (vg_str_to_u64(vg_str_make(name.p, name.n - 6), &seq) != VG_OK ||
            stat(path, &st) != 0)
            continue;
        if (!push_file(s, seq, (uint64_t)st.st_size)) {
            e = vg_diag_set(d, VG_ELIMIT, "%s: more than %u batches", s->dir, SPOOL_FILES_MAX);
            break;
        }
        if (seq > s->last_seq)
            s->last_seq = seq;
    }
    closedir(dh);
    if (e == VG_OK && s->n > 1) {
        /* sort seqs and sizes together: sort pairs through a temporary */
        uint64_t (*pairs)[2] = malloc(s->n * sizeof *pairs);
        if (!pairs)
            return vg_diag_set(d, VG_ENOMEM, "spool scan");
        for (size_t i = 0; i < s->n; i++) {
            pairs[i][0] = s->seqs[i];
            pairs[i][1] = s->sizes[i];
        }
        qsort(pairs, s->n, sizeof *pairs, cmp_u64);   /* compares the first member */
        for (size_t i = 0; i < s->n; i++) {
            s->seqs[i] = pairs[i][0];
            s->sizes[i] = pairs[i][1];
        }
        free(pairs);
    }
    return e;
}

vg_err ag_spool_open(const char *dir, uint64_t max_bytes, ag_spool **out, vg_diag *d)
{
    *out = NULL;
    if (strlen(dir) >= sizeof ((ag_spool *)0)->dir - 32)
        return vg_diag_set(d, VG_EINVAL, "spool directory name too long");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return vg_diag_set(d, VG_EIO, "mkdir %s: %s", dir, strerror(errno));
    ag_spool *s = calloc(1, sizeof *s);
    if (!s)
        return vg_diag_set(d, VG_ENOMEM, "spool");
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->put_mu, NULL);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->max_bytes = max_bytes;
    vg_err e = scan(s, d);
    if (e == VG_OK)
        e = load_seq(s, d);
    if (e != VG_OK) {
        ag_spool_close(s);
        return e;
    }
    *out = s;
    return VG_OK;
}

void ag_spool_close(ag_spool *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->put_mu);
    free(s->seqs);
    free(s->sizes);
    free(s);
}

bool ag_spool_has_room(ag_spool *s, uint64_t n)
{
    pthread_mutex_lock(&s->mu);
    bool ok = s->bytes + n + SPOOL_HDR <= s->max_bytes;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

vg_err ag_spool_put(ag_spool *s, const void *p, size_t n, uint64_t *seq, vg_diag *d)
{
    vg_err e = VG_OK;
    pthread_mutex_lock(&s->put_mu);
    pthread_mutex_lock(&s->mu);
    bool fits = n <= AG_SPOOL_FILE_MAX && s->bytes + n + SPOOL_HDR <= s->max_bytes;
    if (!fits)
        s->dropped++;
    uint64_t used = s->bytes, next = s->last_seq + 1;
    pthread_mutex_unlock(&s->mu);
    if (!fits) {
        e = vg_diag_set(d, VG_ELIMIT, "spool full (%" PRIu64 " of %" PRIu64 " bytes used)",
                        used, s->max_bytes);
        goto out;
    }
    /* the seq is taken (durably) before the batch exists; the fsyncs run
     * without s->mu so that ag_spool_has_room never waits on the disk */
    e = save_seq(s, next, d);
    if (e != VG_OK)
        goto out;
    unsigned char h[SPOOL_HDR];
    memcpy(h, SPOOL_MAGIC, 8);
    uint64_t fields[3] = { next, (uint64_t)n, XXH64(p, n, 0) };
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 8; b++)
            h[8 + i * 8 + b] = (unsigned char)(fields[i] >> (8 * b));
    char tmp[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX];
    batch_path(s, next, "tmp", tmp, sizeof tmp);
    batch_path(s, next, "batch", path, sizeof path);
    e = write_durable(tmp, path, h, sizeof h, p, n, d);
    if (e == VG_OK)
        e = fsync_dir(s->dir, d);
    pthread_mutex_lock(&s->mu);
    s->last_seq = next;
    if (e == VG_OK && !push_file(s, next, n + SPOOL_HDR))
        e = vg_diag_set(d, VG_ELIMIT, "spool: more than %u batches", SPOOL_FILES_MAX);
    pthread_mutex_unlock(&s->mu);
    if (e == VG_OK)
        *seq = next;
out:
    pthread_mutex_unlock(&s->put_mu);
    return e;
}

/* Forgets the first entry (the oldest). Caller holds the lock. */
static void pop_front(ag_spool *s)
{
    s->bytes -= s->sizes[0];
    memmove(s->seqs, s->seqs + 1, (s->n - 1) * sizeof *s->seqs);
    memmove(s->sizes, s->sizes + 1, (s->n - 1) * sizeof *s->sizes);
    s->n--;
}

static vg_err read_batch(const char *path, uint64_t want, vg_buf *out, vg_diag *d)
{
    vg_err e = VG_OK;
    FILE *f = fopen(path, "rbe");
    if (!f)
        return vg_diag_set(d, VG_ECORRUPT, "%s: %s", path, strerror(errno));
    unsigned char h[SPOOL_HDR];
    if (fread(h, 1, sizeof h, f) != sizeof h || memcmp(h, SPOOL_MAGIC, 8) != 0) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: no spool header", path);
        goto out;
    }
    uint64_t fields[3] = { 0, 0, 0 };
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 8; b++)
            fields[i] |= (uint64_t)h[8 + i * 8 + b] << (8 * b);
    if (fields[0] != want || fields[1] > AG_SPOOL_FILE_MAX) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: header names seq %" PRIu64 " length %" PRIu64,
                        path, fields[0], fields[1]);
        goto out;
    }
    vg_buf_clear(out);
    if (!vg_buf_reserve(out, fields[1])) {
        e = vg_diag_set(d, VG_ENOMEM, "%s: %" PRIu64 " bytes", path, fields[1]);
        goto out;
    }
    if (fread(out->p, 1, fields[1], f) != fields[1] || fgetc(f) != EOF) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: length differs from its header", path);
        goto out;
    }
    out->n = fields[1];
    if (XXH64(out->p, out->n, 0) != fields[2])
        e = vg_diag_set(d, VG_ECORRUPT, "%s: checksum mismatch", path);
out:
    fclose(f);
    return e;
}

vg_err ag_spool_oldest(ag_spool *s, uint64_t *seq, vg_buf *out, vg_diag *d)
{
    vg_err e;
    pthread_mutex_lock(&s->mu);
    if (s->n == 0) {
        e = VG_ENOTFOUND;
        goto out;
    }
    char path[SPOOL_PATH_MAX];
    batch_path(s, s->seqs[0], "batch", path, sizeof path);
    e = read_batch(path, s->seqs[0], out, d);
    if (e == VG_ECORRUPT) {
        /* skipped for good: it cannot be sent, and it must not block the rest */
        unlink(path);
        pop_front(s);
        s->corrupt++;
        vg_diag_prefix(d, "damaged spool file skipped: ");
        goto out;
    }
    if (e == VG_OK)
        *seq = s->seqs[0];
out:
    pthread_mutex_unlock(&s->mu);
    return e;
}

vg_err ag_spool_ack(ag_spool *s, uint64_t seq, vg_diag *d)
{
    vg_err e = VG_OK;
    pthread_mutex_lock(&s->mu);
    size_t i = 0;
    while (i < s->n && s->seqs[i] != seq)
        i++;
    if (i == s->n) {
        e = vg_diag_set(d, VG_ENOTFOUND, "spool: no batch %" PRIu64, seq);
        goto out;
    }
    char path[SPOOL_PATH_MAX];
    batch_path(s, seq, "batch", path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT) {
        e = vg_diag_set(d, VG_EIO, "unlink %s: %s", path, strerror(errno));
        goto out;
    }
    s->bytes -= s->sizes[i];
    memmove(s->seqs + i, s->seqs + i + 1, (s->n - i - 1) * sizeof *s->seqs);
    memmove(s->sizes + i, s->sizes + i + 1, (s->n - i - 1) * sizeof *s->sizes);
    s->n--;
out:
    pthread_mutex_unlock(&s->mu);
    return e;
}

void ag_spool_stats_get(ag_spool *s, ag_spool_stats *st)
{
    pthread_mutex_lock(&s->mu);
    st->bytes = s->bytes;
    st->batches = s->n;
    st->dropped_batches = s->dropped;
    st->corrupt = s->corrupt;
    st->last_seq = s->last_seq;
    pthread_mutex_unlock(&s->mu);
}
