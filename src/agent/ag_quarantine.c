/*
 * ag_quarantine.c - the StopAndQuarantineFile and RestoreQuarantinedFile
 * actions: a file store under STATE/quarantine.
 *
 * A quarantined file lives at STATE/quarantine/<sha256> (mode 0400, the
 * directory 0700) beside <sha256>.json, its metadata: where it was, its mode,
 * owner, mtime, size and hashes, when and by which action. The move is a
 * rename when the store is on the same filesystem, else a copy from the
 * descriptor that was hashed, fsync, then unlink of the original. Restoring
 * puts the file back with its metadata, and refuses to overwrite anything.
 * Paths under /proc, /sys, /dev and the agent's own files are refused.
 * Processes running the file are killed first (ag_kill_hash_list).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ag_response_int.h"
#include "../core/vg_arena.h"

#define QUAR_DIR "quarantine"
#define QUAR_META_MAX (64u << 10)

bool ag_hash_fd(int fd, char sha1[41], char sha256[65])
{
    EVP_MD_CTX *c1 = EVP_MD_CTX_new(), *c2 = EVP_MD_CTX_new();
    bool ok = c1 && c2 && EVP_DigestInit_ex(c1, EVP_sha1(), NULL) &&
              EVP_DigestInit_ex(c2, EVP_sha256(), NULL);
    static _Thread_local unsigned char buf[1 << 16];
    off_t off = 0;
    while (ok) {
        ssize_t n = pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ok = false;
            break;
        }
        if (n == 0)
            break;
        ok = EVP_DigestUpdate(c1, buf, (size_t)n) && EVP_DigestUpdate(c2, buf, (size_t)n);
        off += n;
    }
    unsigned char h1[EVP_MAX_MD_SIZE], h2[EVP_MAX_MD_SIZE];
    unsigned int l1 = 0, l2 = 0;
    if (ok)
        ok = EVP_DigestFinal_ex(c1, h1, &l1) && EVP_DigestFinal_ex(c2, h2, &l2) && l1 == 20 &&
             l2 == 32;
    EVP_MD_CTX_free(c1);
    EVP_MD_CTX_free(c2);
    if (!ok)
        return false;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 20; i++) {
        sha1[2 * i] = hex[h1[i] >> 4];
        sha1[2 * i + 1] = hex[h1[i] & 15];
    }
    sha1[40] = '\0';
    for (unsigned i = 0; i < 32; i++) {
        sha256[2 * i] = hex[h2[i] >> 4];
        sha256[2 * i + 1] = hex[h2[i] & 15];
    }
    sha256[64] = '\0';
    return true;
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

vg_err ag_quar_path_ok(const char *state_dir, const char *path, vg_diag *d)
{
    static const char *const refused[] = { "/proc", "/sys", "/dev" };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (under(path, refused[i]))
            return vg_diag_set(d, VG_EINVAL, "quarantine: refusing %s (under %s)", path, refused[i]);
    char real_state[PATH_MAX];
    if (realpath(state_dir, real_state) && under(path, real_state))
        return vg_diag_set(d, VG_EINVAL, "quarantine: refusing %s (the agent's state)", path);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        if (strcmp(self, path) == 0)
            return vg_diag_set(d, VG_EINVAL, "quarantine: refusing %s (the agent itself)", path);
    }
    return VG_OK;
}

static vg_err write_file(const char *path, vg_str data, mode_t mode, vg_diag *d)
{
    char tmp[PATH_MAX + 8];
    ag_resp_pathf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: %s", tmp, strerror(errno));
    bool ok = write(fd, data.p, data.n) == (ssize_t)data.n && fsync(fd) == 0;
    int err = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(ok ? errno : err));
    }
    return VG_OK;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static void dir_of(const char *path, char *out, size_t cap)
{
    vg_str s = vg_str_c(path);
    ptrdiff_t slash = vg_str_rchr(s, '/');
    vg_str_copy_c(out, cap, slash > 0 ? vg_str_make(path, (size_t)slash) : vg_str_c("/"));
}

/* Copies src_fd's content into dst (new, mode 0400), fsynced. */
static vg_err copy_fd(int src_fd, const char *dst, uint64_t size, vg_diag *d)
{
    if (size > AG_QUAR_MAX_BYTES)
        return vg_diag_set(d, VG_ELIMIT, "quarantine: file of %llu bytes over the copy limit",
                           (unsigned long long)size);
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
    if (out < 0)
        return vg_diag_set(d, VG_EIO, "%s: %s", dst, strerror(errno));
    static _Thread_local char buf[1 << 16];
    off_t off = 0;
    vg_err e = VG_OK;
    for (;;) {
        ssize_t n = pread(src_fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                e = vg_diag_set(d, VG_EIO, "quarantine: read: %s", strerror(errno));
            break;
        }
        if (write(out, buf, (size_t)n) != n) {
            e = vg_diag_set(d, VG_EIO, "%s: %s", dst, strerror(errno));
            break;
        }
        off += n;
    }
    if (e == VG_OK && fsync(out) != 0)
        e = vg_diag_set(d, VG_EIO, "%s: fsync: %s", dst, strerror(errno));
    close(out);
    if (e != VG_OK)
        unlink(dst);
    return e;
}

/* rename, or across filesystems copy + fsync + unlink. */
static vg_err move_file(int src_fd, const char *src, const char *dst, uint64_t size, vg_diag *d)
{
    if (rename(src, dst) == 0)
        return VG_OK;
    if (errno != EXDEV)
        return vg_diag_set(d, VG_EIO, "move %s -> %s: %s", src, dst, strerror(errno));
    char tmp[PATH_MAX + 8];
    ag_resp_pathf(tmp, sizeof tmp, "%s.part", dst);
    unlink(tmp);
    vg_err e = copy_fd(src_fd, tmp, size, d);
    if (e != VG_OK)
        return e;
    if (rename(tmp, dst) != 0) {
        e = vg_diag_set(d, VG_EIO, "%s: %s", dst, strerror(errno));
        unlink(tmp);
        return e;
    }
    if (unlink(src) != 0) {
        e = vg_diag_set(d, VG_EIO, "%s: copied but not removed: %s", src, strerror(errno));
        unlink(dst);
        return e;
    }
    return VG_OK;
}

vg_err ag_quar_file(const char *state_dir, const char *path, const char *action_id,
                    const char *want_sha1, const char *want_sha256, vg_buf *result, vg_diag *d)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return vg_diag_set(d, VG_ENOTFOUND, "quarantine: %s: %s", path, strerror(errno));
    vg_err e = ag_quar_path_ok(state_dir, real, d);
    if (e != VG_OK)
        return e;
    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "quarantine: %s: %s", real, strerror(errno));
    struct stat st, now;
    char sha1[41], sha256[65];
    vg_buf meta;
    vg_buf_init(&meta, QUAR_META_MAX);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        e = vg_diag_set(d, VG_EINVAL, "quarantine: %s is not a regular file", real);
        goto out;
    }
    if (!ag_hash_fd(fd, sha1, sha256)) {
        e = vg_diag_set(d, VG_EIO, "quarantine: %s: cannot read to hash it", real);
        goto out;
    }
    if ((want_sha1 && *want_sha1 && strcasecmp(want_sha1, sha1) != 0) ||
        (want_sha256 && *want_sha256 && strcasecmp(want_sha256, sha256) != 0)) {
        e = vg_diag_set(d, VG_ECONFLICT, "quarantine: %s has SHA256 %s, not the requested hash", real,
                        sha256);
        goto out;
    }
    /* the name still names the file we hashed */
    if (lstat(real, &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
        e = vg_diag_set(d, VG_ECONFLICT, "quarantine: %s changed while being hashed", real);
        goto out;
    }
    char qdir[PATH_MAX], dst[PATH_MAX + 80], mpath[PATH_MAX + 80];
    if (!ag_resp_pathf(qdir, sizeof qdir, "%s/" QUAR_DIR, state_dir)) {
        e = vg_diag_set(d, VG_ELIMIT, "quarantine: state dir path too long");
        goto out;
    }
    if (mkdir(qdir, 0700) != 0 && errno != EEXIST) {
        e = vg_diag_set(d, VG_EIO, "%s: %s", qdir, strerror(errno));
        goto out;
    }
    ag_resp_pathf(dst, sizeof dst, "%s/%s", qdir, sha256);
    ag_resp_pathf(mpath, sizeof mpath, "%s/%s.json", qdir, sha256);
    bool already = access(dst, F_OK) == 0;
    if (already) {
        /* the same content is held already: this copy only goes away */
        if (unlink(real) != 0) {
            e = vg_diag_set(d, VG_EIO, "quarantine: %s: %s", real, strerror(errno));
            goto out;
        }
    } else {
        if ((e = move_file(fd, real, dst, (uint64_t)st.st_size, d)) != VG_OK)
            goto out;
        chmod(dst, 0400);
        char ts[40], mt[40];
        vg_time_format(vg_time_now(), ts, sizeof ts);
        vg_time_format(vg_time_from_unix(st.st_mtim.tv_sec, st.st_mtim.tv_nsec), mt, sizeof mt);
        vg_buf_puts(&meta, "{\"OriginalPath\":");
        vg_buf_put_json_str(&meta, vg_str_c(real));
        vg_buf_printf(&meta,
                      ",\"Mode\":%u,\"Uid\":%u,\"Gid\":%u,\"MTime\":\"%s\",\"MTimeSec\":%lld,"
                      "\"MTimeNsec\":%ld,\"Size\":%lld,\"Sha1\":\"%s\",\"Sha256\":\"%s\","
                      "\"QuarantineTime\":\"%s\",\"ActionId\":",
                      (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid, mt,
                      (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec,
                      (long long)st.st_size, sha1, sha256, ts);
        vg_buf_put_json_str(&meta, vg_str_c(action_id ? action_id : ""));
        vg_buf_putc(&meta, '}');
        if ((e = write_file(mpath, vg_str_make(meta.p, meta.n), 0600, d)) != VG_OK) {
            /* without metadata the file cannot be restored: put it back */
            rename(dst, real);
            goto out;
        }
        fsync_dir(qdir);
    }
    char odir[PATH_MAX];
    dir_of(real, odir, sizeof odir);
    fsync_dir(odir);
    vg_buf_puts(result, "{\"Path\":");
    vg_buf_put_json_str(result, vg_str_c(real));
    vg_buf_printf(result, ",\"Sha1\":\"%s\",\"Sha256\":\"%s\",\"Size\":%lld,\"QuarantinePath\":",
                  sha1, sha256, (long long)st.st_size);
    vg_buf_put_json_str(result, vg_str_c(dst));
    vg_buf_printf(result, ",\"AlreadyQuarantined\":%s}", already ? "true" : "false");
out:
    vg_buf_free(&meta);
    close(fd);
    return e;
}

vg_err ag_quar_restore(const char *state_dir, const char *sha256, vg_buf *result, vg_diag *d)
{
    if (!ag_resp_is_hex(vg_str_c(sha256), 64))
        return vg_diag_set(d, VG_EINVAL, "restore: Sha256 '%s' is not 64 hex digits", sha256);
    char lower[65];
    for (int i = 0; i < 64; i++)
        lower[i] = (char)(sha256[i] >= 'A' && sha256[i] <= 'F' ? sha256[i] + 32 : sha256[i]);
    lower[64] = '\0';
    char src[PATH_MAX], mpath[PATH_MAX];
    if (!ag_resp_pathf(src, sizeof src, "%s/" QUAR_DIR "/%s", state_dir, lower) ||
        !ag_resp_pathf(mpath, sizeof mpath, "%s/" QUAR_DIR "/%s.json", state_dir, lower))
        return vg_diag_set(d, VG_ELIMIT, "restore: state dir path too long");
    vg_arena ar;
    vg_arena_init(&ar, 0, 1u << 20);
    char *buf = NULL;
    int fd = -1, mfd = open(mpath, O_RDONLY | O_CLOEXEC);
    vg_err e = VG_OK;
    if (mfd < 0) {
        e = vg_diag_set(d, VG_ENOTFOUND, "restore: %s is not in quarantine", lower);
        goto out;
    }
    buf = malloc(QUAR_META_MAX);
    ssize_t n = buf ? read(mfd, buf, QUAR_META_MAX) : -1;
    if (n < 0) {
        e = vg_diag_set(d, VG_EIO, "%s: cannot read", mpath);
        goto out;
    }
    vg_json *m = NULL;
    if ((e = vg_json_parse(&ar, vg_str_make(buf, (size_t)n), &m, d)) != VG_OK) {
        vg_diag_prefix(d, "%s: ", mpath);
        goto out;
    }
    char orig[PATH_MAX];
    const vg_json *op = vg_json_get(m, "OriginalPath");
    int64_t mode = 0, uid = -1, gid = -1, msec = 0, mnsec = 0, size = -1;
    if (!op || vg_json_text(op).n == 0 || vg_json_text(op).n >= sizeof orig ||
        vg_str_to_i64(vg_json_text(vg_json_get(m, "Mode")), &mode) != VG_OK ||
        vg_str_to_i64(vg_json_text(vg_json_get(m, "Uid")), &uid) != VG_OK ||
        vg_str_to_i64(vg_json_text(vg_json_get(m, "Gid")), &gid) != VG_OK ||
        vg_str_to_i64(vg_json_text(vg_json_get(m, "MTimeSec")), &msec) != VG_OK ||
        vg_str_to_i64(vg_json_text(vg_json_get(m, "MTimeNsec")), &mnsec) != VG_OK ||
        vg_str_to_i64(vg_json_text(vg_json_get(m, "Size")), &size) != VG_OK) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: metadata incomplete", mpath);
        goto out;
    }
    vg_str_copy_c(orig, sizeof orig, vg_json_text(op));
    if (access(orig, F_OK) == 0 || errno != ENOENT) {
        e = vg_diag_set(d, VG_EEXIST, "restore: %s exists; not overwritten", orig);
        goto out;
    }
    fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char sha1[41], s256[65];
    if (fd < 0 || !ag_hash_fd(fd, sha1, s256) || strcmp(s256, lower) != 0) {
        e = vg_diag_set(d, VG_ECORRUPT, "restore: the quarantined file %s is missing or altered", src);
        goto out;
    }
    if ((e = move_file(fd, src, orig, (uint64_t)size, d)) != VG_OK)
        goto out;
    struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = msec, .tv_nsec = mnsec } };
    bool meta_ok = chown(orig, (uid_t)uid, (gid_t)gid) == 0;
    meta_ok = chmod(orig, (mode_t)mode) == 0 && meta_ok;   /* after chown: it clears setuid */
    meta_ok = utimensat(AT_FDCWD, orig, times, 0) == 0 && meta_ok;
    unlink(mpath);
    char odir[PATH_MAX];
    dir_of(orig, odir, sizeof odir);
    fsync_dir(odir);
    vg_buf_puts(result, "{\"Path\":");
    vg_buf_put_json_str(result, vg_str_c(orig));
    vg_buf_printf(result, ",\"Sha1\":\"%s\",\"Sha256\":\"%s\",\"Mode\":%lld,\"Uid\":%lld,"
                          "\"Gid\":%lld,\"MetadataRestored\":%s}",
                  sha1, s256, (long long)mode, (long long)uid, (long long)gid,
                  meta_ok ? "true" : "false");
out:
    if (fd >= 0)
        close(fd);
    if (mfd >= 0)
        close(mfd);
    free(buf);
    vg_arena_free(&ar);
    return e;
}

static vg_str param(const vg_json *params, const char *key)
{
    const vg_json *v = params ? vg_json_get(params, key) : NULL;
    return v ? vg_json_text(v) : (vg_str){ 0 };
}

vg_err ag_act_quarantine(ag *a, const vg_json *params, vg_buf *result, vg_diag *d)
{
    vg_str s1 = param(params, "Sha1"), s256 = param(params, "Sha256"), p = param(params, "Path");
    vg_str id = param(params, "ActionId");
    if (s1.n && !ag_resp_is_hex(s1, 40))
        return vg_diag_set(d, VG_EINVAL, "StopAndQuarantineFile: Sha1 '%.*s' is not 40 hex digits",
                           (int)s1.n, s1.p);
    if (s256.n && !ag_resp_is_hex(s256, 64))
        return vg_diag_set(d, VG_EINVAL,
                           "StopAndQuarantineFile: Sha256 '%.*s' is not 64 hex digits", (int)s256.n,
                           s256.p);
    if (!s1.n && !s256.n && !p.n)
        return vg_diag_set(d, VG_EINVAL, "StopAndQuarantineFile: params need Sha1, Sha256 or Path");
    if (p.n >= PATH_MAX || (p.n && p.p[0] != '/'))
        return vg_diag_set(d, VG_EINVAL, "StopAndQuarantineFile: Path must be absolute");
    char sha1[41] = "", sha256[65] = "", path[PATH_MAX] = "", idc[64] = "";
    vg_str_copy_c(sha1, sizeof sha1, s1);
    vg_str_copy_c(sha256, sizeof sha256, s256);
    vg_str_copy_c(path, sizeof path, p);
    vg_str_copy_c(idc, sizeof idc, id);
    const char *state = ag_identity(a)->state_dir;
    vg_err e;
    if (path[0]) {
        /* the path's own hash names its processes; checked against any hash given */
        char r[PATH_MAX];
        if (!realpath(path, r))
            return vg_diag_set(d, VG_ENOTFOUND, "StopAndQuarantineFile: %s: %s", path,
                               strerror(errno));
        if ((e = ag_quar_path_ok(state, r, d)) != VG_OK)
            return e;
        int fd = open(r, O_RDONLY | O_CLOEXEC);
        char h1[41], h256[65];
        bool ok = fd >= 0 && ag_hash_fd(fd, h1, h256);
        if (fd >= 0)
            close(fd);
        if (!ok)
            return vg_diag_set(d, VG_EIO, "StopAndQuarantineFile: %s: cannot read", r);
        if ((sha1[0] && strcasecmp(sha1, h1) != 0) || (sha256[0] && strcasecmp(sha256, h256) != 0))
            return vg_diag_set(d, VG_ECONFLICT,
                               "StopAndQuarantineFile: %s has SHA256 %s, not the requested hash", r,
                               h256);
        memcpy(sha256, h256, sizeof sha256);
    }
    vg_buf killed;
    vg_buf_init(&killed, 1u << 20);
    int count = 0;
    char exe_path[PATH_MAX] = "";
    e = ag_kill_hash_list(a, sha256[0] ? sha256 : sha1, &killed, &count, exe_path, sizeof exe_path,
                          d);
    if (e != VG_OK)
        goto out;
    if (!path[0]) {
        if (!exe_path[0] || strstr(exe_path, " (deleted)")) {
            e = vg_diag_set(d, VG_ENOTFOUND,
                            "StopAndQuarantineFile: no running process has this hash%s; give Path",
                            exe_path[0] ? " on disk (its file was deleted)" : "");
            goto out;
        }
        vg_str_copy_c(path, sizeof path, vg_str_c(exe_path));
    }
    vg_buf one;
    vg_buf_init(&one, 1u << 20);
    e = ag_quar_file(state, path, idc, sha1, sha256, &one, d);
    if (e == VG_OK && one.n > 1) {
        vg_buf_put(result, one.p, one.n - 1);   /* without its closing brace */
        vg_buf_puts(result, ",\"killed\":[");
        vg_buf_put(result, killed.p, killed.n);
        vg_buf_printf(result, "],\"killedCount\":%d}", count);
    }
    vg_buf_free(&one);
out:
    vg_buf_free(&killed);
    return e;
}

vg_err ag_act_restore(ag *a, const vg_json *params, vg_buf *result, vg_diag *d)
{
    vg_str s = param(params, "Sha256");
    if (!ag_resp_is_hex(s, 64))
        return vg_diag_set(d, VG_EINVAL, "RestoreQuarantinedFile: Sha256 (64 hex digits) required");
    char sha[65];
    vg_str_copy_c(sha, sizeof sha, s);
    return ag_quar_restore(ag_identity(a)->state_dir, sha, result, d);
}
