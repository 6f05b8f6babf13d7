/*
 * store_io.c - the store's file I/O: every write, fsync and rename of the
 * store goes through these wrappers, so that fault injection
 * (vg_store_fault_inject) can fail the Nth one of a kind, and so that every
 * failure comes back as VG_EIO with a message naming the file. Also: atomic
 * small-file replacement, directory fsync, quarantine, and tree removal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include "../core/vg_time.h"
#include "store_int.h"

uint64_t st_hash(const void *p, size_t n) { return XXH3_64bits(p, n); }

void st_fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

/* ---- fault injection ---- */

static atomic_uint_fast64_t fault_nth[3];

void vg_store_fault_inject(vg_fault_op op, uint64_t nth)
{
    if ((unsigned)op < 3)
        atomic_store(&fault_nth[op], nth);
}

/* True when this operation is the one chosen to fail. */
static bool fault_hit(vg_fault_op op)
{
    uint_fast64_t cur = atomic_load(&fault_nth[op]);
    while (cur) {
        if (atomic_compare_exchange_weak(&fault_nth[op], &cur, cur - 1))
            return cur == 1;
    }
    return false;
}

vg_err st_write_all(int fd, const void *p, size_t n, const char *path, vg_diag *d)
{
    if (fault_hit(VG_FAULT_WRITE)) {
        /* simulate a short write: half the bytes reach the file */
        if (n > 1 && write(fd, p, n / 2) < 0) {
            /* ignored: the injected failure is what we report */
        }
        return vg_diag_set(d, VG_EIO, "%s: write failed: injected fault", path);
    }
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return vg_diag_set(d, VG_EIO, "%s: write failed: %s", path, strerror(errno));
        }
        c += w;
        n -= (size_t)w;
    }
    return VG_OK;
}

vg_err st_pwrite_all(int fd, const void *p, size_t n, uint64_t off, const char *path, vg_diag *d)
{
    if (fault_hit(VG_FAULT_WRITE))
        return vg_diag_set(d, VG_EIO, "%s: write at offset %llu failed: injected fault", path,
                           (unsigned long long)off);
    const char *c = p;
    while (n) {
        ssize_t w = pwrite(fd, c, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return vg_diag_set(d, VG_EIO, "%s: write at offset %llu failed: %s", path,
                               (unsigned long long)off, strerror(errno));
        }
        c += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return VG_OK;
}

vg_err st_pwritev_all(int fd, struct iovec *iov, int n, uint64_t off, const char *path,
                      vg_diag *d)
{
    if (fault_hit(VG_FAULT_WRITE))
        return vg_diag_set(d, VG_EIO, "%s: write at offset %llu failed: injected fault", path,
                           (unsigned long long)off);
    while (n > 0) {
        ssize_t w = pwritev(fd, iov, n > IOV_MAX ? IOV_MAX : n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return vg_diag_set(d, VG_EIO, "%s: write at offset %llu failed: %s", path,
                               (unsigned long long)off, strerror(errno));
        }
        off += (uint64_t)w;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return VG_OK;
}

vg_err st_fsync(int fd, bool really, const char *path, vg_diag *d)
{
    if (fault_hit(VG_FAULT_FSYNC))
        return vg_diag_set(d, VG_EIO, "%s: fsync failed: injected fault", path);
    if (really && fdatasync(fd) != 0)
        return vg_diag_set(d, VG_EIO, "%s: fsync failed: %s", path, strerror(errno));
    return VG_OK;
}

vg_err st_rename(const char *from, const char *to, vg_diag *d)
{
    if (fault_hit(VG_FAULT_RENAME))
        return vg_diag_set(d, VG_EIO, "rename %s -> %s failed: injected fault", from, to);
    if (rename(from, to) != 0)
        return vg_diag_set(d, VG_EIO, "rename %s -> %s failed: %s", from, to, strerror(errno));
    return VG_OK;
}

vg_err st_fsync_dir(const char *dir, bool really, vg_diag *d)
{
    if (fault_hit(VG_FAULT_FSYNC))
        return vg_diag_set(d, VG_EIO, "%s: directory fsync failed: injected fault", dir);
    if (!really)
        return VG_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0)
        return vg_diag_set(d, VG_EIO, "%s: directory fsync failed: %s", dir, strerror(err));
    return VG_OK;
}

vg_err st_mkdir(const char *path, vg_diag *d)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return vg_diag_set(d, VG_EIO, "%s: cannot create directory: %s", path, strerror(errno));
    return VG_OK;
}

vg_err st_read_file(const char *path, vg_buf *out, size_t limit, vg_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vg_diag_set(d, errno == ENOENT ? VG_ENOTFOUND : VG_EIO, "%s: cannot open: %s",
                           path, strerror(errno));
    vg_err e = VG_OK;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        e = vg_diag_set(d, VG_EIO, "%s: stat failed: %s", path, strerror(errno));
        goto out;
    }
    if ((uint64_t)st.st_size > limit) {
        e = vg_diag_set(d, VG_ELIMIT, "%s: file of %lld bytes is over the limit of %zu", path,
                        (long long)st.st_size, limit);
        goto out;
    }
    out->n = 0;
    if (!vg_buf_reserve(out, (size_t)st.st_size + 1)) {
        e = vg_diag_set(d, VG_ENOMEM, "%s: out of memory reading %lld bytes", path,
                        (long long)st.st_size);
        goto out;
    }
    e = st_pread_all(fd, out->p, (size_t)st.st_size, 0, path, d);
    if (!e)
        out->n = (size_t)st.st_size;
out:
    close(fd);
    return e;
}

vg_err st_pread_all(int fd, void *p, size_t n, uint64_t off, const char *path, vg_diag *d)
{
    char *c = p;
    while (n) {
        ssize_t r = pread(fd, c, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return vg_diag_set(d, VG_EIO, "%s: read at offset %llu failed: %s", path,
                               (unsigned long long)off, strerror(errno));
        }
        if (r == 0)
            return vg_diag_set(d, VG_ECORRUPT, "%s: unexpected end of file at offset %llu", path,
                               (unsigned long long)off);
        c += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return VG_OK;
}

vg_err st_write_atomic(const char *dir, const char *name, const void *p, size_t n, bool sync,
                       vg_diag *d)
{
    char tmp[4096], dst[4096];
    st_fmt(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    st_fmt(dst, sizeof dst, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    vg_err e = st_write_all(fd, p, n, tmp, d);
    if (!e)
        e = st_fsync(fd, sync, tmp, d);
    close(fd);
    if (!e)
        e = st_rename(tmp, dst, d);
    if (!e)
        e = st_fsync_dir(dir, sync, d);
    if (e)
        unlink(tmp);
    return e;
}

static void write_reason(const char *qpath, const char *reason)
{
    char rp[4200];
    st_fmt(rp, sizeof rp, "%s.reason", qpath);
    int fd = open(rp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    char ts[VG_TIME_BUFSZ];
    vg_time_format(vg_time_now(), ts, sizeof ts);
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_printf(&b, "time: %s\nreason: %s\n", ts, reason);
    if (!b.failed && write(fd, b.p, b.n) < 0) {
        /* best effort: the log line carries the reason too */
    }
    vg_buf_free(&b);
    fsync(fd);
    close(fd);
}

static void unique_qpath(const char *qdir, const char *base, char *out, size_t cap)
{
    static atomic_uint qcounter;
    unsigned k = atomic_fetch_add(&qcounter, 1);
    st_fmt(out, cap, "%s/%lld-%u-%s", qdir, (long long)(vg_time_now() / VG_TICKS_PER_SEC), k,
             base);
}

vg_err st_quarantine_file(const char *qdir, const char *path, const char *reason, vg_diag *d)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char q[4096];
    unique_qpath(qdir, base, q, sizeof q);
    if (mkdir(qdir, 0755) != 0 && errno != EEXIST)
        return vg_diag_set(d, VG_EIO, "%s: cannot create: %s", qdir, strerror(errno));
    if (rename(path, q) != 0)
        return vg_diag_set(d, VG_EIO, "cannot quarantine %s: %s", path, strerror(errno));
    write_reason(q, reason);
    return VG_OK;
}

vg_err st_quarantine_bytes(const char *qdir, const char *base, const void *p, size_t n,
                           const char *reason, vg_diag *d)
{
    char q[4096];
    unique_qpath(qdir, base, q, sizeof q);
    if (mkdir(qdir, 0755) != 0 && errno != EEXIST)
        return vg_diag_set(d, VG_EIO, "%s: cannot create: %s", qdir, strerror(errno));
    int fd = open(q, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: cannot create: %s", q, strerror(errno));
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        c += w;
        n -= (size_t)w;
    }
    fsync(fd);
    close(fd);
    write_reason(q, reason);
    return VG_OK;
}

vg_err st_rmtree(const char *path, vg_diag *d)
{
    DIR *dh = opendir(path);
    if (!dh) {
        if (errno == ENOENT)
            return VG_OK;
        if (unlink(path) == 0)
            return VG_OK;
        return vg_diag_set(d, VG_EIO, "%s: cannot remove: %s", path, strerror(errno));
    }
    vg_err e = VG_OK;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[4096];
        st_fmt(p, sizeof p, "%s/%s", path, de->d_name);
        if (de->d_type == DT_DIR) {
            vg_err e2 = st_rmtree(p, d);
            if (e2 && !e)
                e = e2;
        } else if (unlink(p) != 0 && !e) {
            e = vg_diag_set(d, VG_EIO, "%s: cannot remove: %s", p, strerror(errno));
        }
    }
    closedir(dh);
    if (rmdir(path) != 0 && !e)
        e = vg_diag_set(d, VG_EIO, "%s: cannot remove: %s", path, strerror(errno));
    return e;
}
