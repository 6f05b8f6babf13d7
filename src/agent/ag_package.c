/*
 * ag_package.c - the CollectInvestigationPackage action: a tar.gz of what an
 * analyst looks at first on a Linux machine, built in-process (a small ustar
 * writer over zlib's gz* stream, no shelling out).
 *
 * Contents: processes (a ps-like listing from /proc), network connections
 * (/proc/net/tcp, tcp6, udp, udp6 decoded), logons (the last wtmp entries),
 * persistence (enabled systemd units, cron, shell profiles, authorized_keys of
 * the users in /etc/passwd), /etc/passwd, /etc/group, the installed packages
 * (dpkg status) and manifest.json naming every entry and everything skipped.
 * The content is bounded by AG_PACKAGE_MAX_BYTES (the server's upload limit);
 * what does not fit is listed as skipped. The core uploads the file
 * (ag_package_build is its entry point).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmp.h>
#include <arpa/inet.h>

#include <zlib.h>

#include "ag_response_int.h"

#define PKG_WTMP_LAST 500         /* logon entries listed */
#define PKG_DIR_DEPTH 6           /* directory walks (cron, systemd) */
#define PKG_USERS_MAX 4096        /* /etc/passwd entries visited */

/* ---- the ustar writer ---- */

struct ag_tar {
    gzFile gz;
    char path[PATH_MAX];
    uint64_t content, max;
};

vg_err ag_tar_open(const char *path, uint64_t max, ag_tar **out, vg_diag *d)
{
    ag_tar *t = calloc(1, sizeof *t);
    if (!t)
        return vg_diag_set(d, VG_ENOMEM, "package: out of memory");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(t->gz = gzdopen(fd, "wb6"))) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        free(t);
        return vg_diag_set(d, VG_EIO, "package: %s: %s", path, strerror(err));
    }
    vg_str_copy_c(t->path, sizeof t->path, vg_str_c(path));
    t->max = max;
    *out = t;
    return VG_OK;
}

static void octal(char *field, size_t width, uint64_t v)
{
    /* width-1 octal digits, NUL-terminated */
    field[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0;) {
        field[i] = (char)('0' + (v & 7));
        v >>= 3;
    }
}

vg_err ag_tar_add(ag_tar *t, const char *name, const void *data, size_t n, uint32_t mode,
                  int64_t mtime, vg_diag *d)
{
    if (t->content + n > t->max)
        return vg_diag_set(d, VG_ELIMIT, "package: %s would pass the %llu-byte limit", name,
                           (unsigned long long)t->max);
    unsigned char h[512];
    memset(h, 0, sizeof h);
    size_t len = strlen(name);
    if (len == 0 || len > 255)
        return vg_diag_set(d, VG_ELIMIT, "package: entry name of %zu bytes", len);
    if (len <= 100) {
        memcpy(h, name, len);
    } else {
        /* split at a '/' so that prefix <= 155 and name <= 100 */
        size_t cut = 0;
        for (size_t i = 0; i < len; i++)
            if (name[i] == '/' && i <= 155 && len - i - 1 <= 100 && len - i - 1 > 0)
                cut = i;
        if (!cut)
            return vg_diag_set(d, VG_ELIMIT, "package: entry name '%s' does not fit ustar", name);
        memcpy(h + 345, name, cut);
        memcpy(h, name + cut + 1, len - cut - 1);
    }
    octal((char *)h + 100, 8, mode & 07777);
    octal((char *)h + 108, 8, 0);
    octal((char *)h + 116, 8, 0);
    octal((char *)h + 124, 12, n);
    octal((char *)h + 136, 12, mtime > 0 ? (uint64_t)mtime : 0);
    memset(h + 148, ' ', 8);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memcpy(h + 265, "root", 4);
    memcpy(h + 297, "root", 4);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof h; i++)
        sum += h[i];
    octal((char *)h + 148, 7, sum);
    h[155] = ' ';
    static const unsigned char zero[512];
    size_t pad = (512 - n % 512) % 512;
    if (gzwrite(t->gz, h, sizeof h) != (int)sizeof h ||
        (n && gzwrite(t->gz, data, (unsigned)n) != (int)n) ||
        (pad && gzwrite(t->gz, zero, (unsigned)pad) != (int)pad))
        return vg_diag_set(d, VG_EIO, "package: %s: write failed", t->path);
    t->content += n;
    return VG_OK;
}

vg_err ag_tar_close(ag_tar *t, uint64_t *bytes, vg_diag *d)
{
    static const unsigned char zero[1024];
    vg_err e = VG_OK;
    if (gzwrite(t->gz, zero, sizeof zero) != (int)sizeof zero)
        e = vg_diag_set(d, VG_EIO, "package: %s: write failed", t->path);
    if (gzclose(t->gz) != Z_OK && e == VG_OK)
        e = vg_diag_set(d, VG_EIO, "package: %s: close failed", t->path);
    struct stat st;
    if (bytes)
        *bytes = stat(t->path, &st) == 0 ? (uint64_t)st.st_size : 0;
    free(t);
    return e;
}

/* ---- collecting ---- */

typedef struct pkg {
    ag_tar *tar;
    vg_buf entries, skipped;     /* manifest arrays' members */
    bool truncated;
    vg_err fatal;                /* an I/O error on the archive itself */
    vg_diag *d;
} pkg;

static void note_skip(pkg *p, const char *path, const char *why)
{
    vg_buf_puts(&p->skipped, p->skipped.n ? ",{\"Path\":" : "{\"Path\":");
    vg_buf_put_json_str(&p->skipped, vg_str_c(path));
    vg_buf_puts(&p->skipped, ",\"Reason\":");
    vg_buf_put_json_str(&p->skipped, vg_str_c(why));
    vg_buf_putc(&p->skipped, '}');
}

static void add_mem(pkg *p, const char *name, const char *source, const void *data, size_t n,
                    uint32_t mode, int64_t mtime)
{
    if (p->fatal != VG_OK)
        return;
    vg_diag d;
    vg_err e = ag_tar_add(p->tar, name, data, n, mode, mtime, &d);
    if (e == VG_ELIMIT) {
        p->truncated = true;
        note_skip(p, source, d.msg);
        return;
    }
    if (e != VG_OK) {
        p->fatal = vg_diag_set(p->d, e, "%s", d.msg);
        return;
    }
    vg_buf_puts(&p->entries, p->entries.n ? ",{\"Name\":" : "{\"Name\":");
    vg_buf_put_json_str(&p->entries, vg_str_c(name));
    vg_buf_puts(&p->entries, ",\"Source\":");
    vg_buf_put_json_str(&p->entries, vg_str_c(source));
    vg_buf_printf(&p->entries, ",\"Bytes\":%zu}", n);
}

static void add_file(pkg *p, const char *path, const char *name)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    if (fd < 0) {
        if (errno != ENOENT)
            note_skip(p, path, strerror(errno));
        return;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    size_t want = (size_t)st.st_size > AG_PACKAGE_FILE_MAX ? AG_PACKAGE_FILE_MAX : (size_t)st.st_size;
    char *buf = malloc(want ? want : 1);
    size_t got = 0;
    while (buf && got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf) {
        note_skip(p, path, "out of memory");
        return;
    }
    if ((uint64_t)st.st_size > AG_PACKAGE_FILE_MAX)
        note_skip(p, path, "truncated to the per-file limit");
    add_mem(p, name, path, buf, got, st.st_mode & 0777, st.st_mtim.tv_sec);
    free(buf);
}

/* Regular files under dir (symlinks listed into links, not followed). */
static void add_tree(pkg *p, const char *dir, const char *prefix, int depth, vg_buf *links)
{
    if (depth > PKG_DIR_DEPTH)
        return;
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL && p->fatal == VG_OK) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[PATH_MAX], name[PATH_MAX];
        ag_resp_pathf(path, sizeof path, "%s/%s", dir, de->d_name);
        ag_resp_pathf(name, sizeof name, "%s/%s", prefix, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlink(path, target, sizeof target - 1);
            if (n > 0 && links) {
                target[n] = '\0';
                vg_buf_printf(links, "%s -> %s\n", path, target);
            }
        } else if (S_ISDIR(st.st_mode)) {
            add_tree(p, path, name, depth + 1, links);
        } else if (S_ISREG(st.st_mode)) {
            add_file(p, path, name);
        }
    }
    closedir(dh);
}

static void collect_processes(pkg *p)
{
    vg_buf b;
    vg_buf_init(&b, 16u << 20);
    vg_buf_puts(&b, "PID\tPPID\tUID\tSTATE\tSTART_TICKS\tNAME\tEXE\tCMDLINE\n");
    DIR *dh = opendir("/proc");
    struct dirent *de;
    while (dh && (de = readdir(dh)) != NULL) {
        uint64_t pid;
        if (vg_str_to_u64(vg_str_c(de->d_name), &pid) != VG_OK)
            continue;
        char path[64], sbuf[2048], exe[PATH_MAX] = "", cmd[4096];
        ag_resp_pathf(path, sizeof path, "/proc/%llu/stat", (unsigned long long)pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, sbuf, sizeof sbuf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n <= 0)
            continue;
        sbuf[n] = '\0';
        char *lp = strchr(sbuf, '('), *rp = strrchr(sbuf, ')');
        if (!lp || !rp || rp < lp || rp[1] == '\0')
            continue;
        *rp = '\0';
        char state = rp[2];
        unsigned long long ppid = 0, start = 0;
        const char *f = rp + 2;
        for (int field = 3; field <= 22 && f; field++) {
            if (field == 4)
                ppid = strtoull(f, NULL, 10);
            if (field == 22)
                start = strtoull(f, NULL, 10);
            f = strchr(f, ' ');
            if (f)
                f++;
        }
        ag_resp_pathf(path, sizeof path, "/proc/%llu/exe", (unsigned long long)pid);
        ssize_t el = readlink(path, exe, sizeof exe - 1);
        exe[el > 0 ? el : 0] = '\0';
        ag_resp_pathf(path, sizeof path, "/proc/%llu/cmdline", (unsigned long long)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t cl = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : 0;
        if (fd >= 0)
            close(fd);
        cl = cl > 0 ? cl : 0;
        for (ssize_t i = 0; i < cl; i++)
            if (cmd[i] == '\0' || cmd[i] == '\t' || cmd[i] == '\n')
                cmd[i] = ' ';
        cmd[cl] = '\0';
        struct stat st;
        ag_resp_pathf(path, sizeof path, "/proc/%llu", (unsigned long long)pid);
        unsigned uid = stat(path, &st) == 0 ? (unsigned)st.st_uid : 0;
        vg_buf_printf(&b, "%llu\t%llu\t%u\t%c\t%llu\t%s\t%s\t%s\n", (unsigned long long)pid, ppid,
                      uid, state, start, lp + 1, exe, cmd);
    }
    if (dh)
        closedir(dh);
    add_mem(p, "processes.tsv", "/proc", b.p, b.n, 0644, vg_time_now() / VG_TICKS_PER_SEC);
    vg_buf_free(&b);
}

static const char *tcp_state(unsigned s)
{
    static const char *const names[] = { "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
                                         "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT",
                                         "LAST_ACK", "LISTEN", "CLOSING" };
    return s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* "0100007F:1F90" (or 32 hex digits for IPv6) -> "127.0.0.1:8080" */
static void decode_addr(const char *hex, bool v6, char *out, size_t cap)
{
    unsigned char a[16];
    size_t nb = v6 ? 16 : 4;
    const char *colon = strchr(hex, ':');
    if (!colon || (size_t)(colon - hex) != nb * 2) {
        vg_str_copy_c(out, cap, vg_str_c("?"));
        return;
    }
    /* the kernel prints each 32-bit word in host order */
    for (size_t w = 0; w < nb / 4; w++) {
        uint32_t v = (uint32_t)strtoul((char[9]){ hex[w * 8], hex[w * 8 + 1], hex[w * 8 + 2],
                                                  hex[w * 8 + 3], hex[w * 8 + 4], hex[w * 8 + 5],
                                                  hex[w * 8 + 6], hex[w * 8 + 7], 0 },
                                       NULL, 16);
        memcpy(a + w * 4, &v, 4);
    }
    char ip[64];
    inet_ntop(v6 ? AF_INET6 : AF_INET, a, ip, sizeof ip);
    unsigned port = (unsigned)strtoul(colon + 1, NULL, 16);
    ag_resp_pathf(out, cap, v6 ? "[%s]:%u" : "%s:%u", ip, port);
}

static void collect_network(pkg *p)
{
    static const struct { const char *file, *proto; bool v6, tcp; } srcs[] = {
        { "/proc/net/tcp", "tcp", false, true },  { "/proc/net/tcp6", "tcp6", true, true },
        { "/proc/net/udp", "udp", false, false }, { "/proc/net/udp6", "udp6", true, false },
    };
    vg_buf b;
    vg_buf_init(&b, 16u << 20);
    vg_buf_puts(&b, "PROTO\tLOCAL\tREMOTE\tSTATE\tUID\tINODE\n");
    for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++) {
        FILE *f = fopen(srcs[i].file, "re");
        char line[512];
        if (!f)
            continue;
        if (!fgets(line, sizeof line, f)) {   /* header */
            fclose(f);
            continue;
        }
        while (fgets(line, sizeof line, f)) {
            char local[80], remote[80], l[128], r[128];
            unsigned st, uid;
            unsigned long inode;
            if (sscanf(line, " %*u: %79s %79s %x %*s %*s %*s %u %*d %lu", local, remote, &st, &uid,
                       &inode) != 5)
                continue;
            decode_addr(local, srcs[i].v6, l, sizeof l);
            decode_addr(remote, srcs[i].v6, r, sizeof r);
            vg_buf_printf(&b, "%s\t%s\t%s\t%s\t%u\t%lu\n", srcs[i].proto, l, r,
                          srcs[i].tcp ? tcp_state(st) : (st == 7 ? "UNCONN" : "ESTABLISHED"), uid,
                          inode);
        }
        fclose(f);
    }
    add_mem(p, "network.tsv", "/proc/net", b.p, b.n, 0644, vg_time_now() / VG_TICKS_PER_SEC);
    vg_buf_free(&b);
}

static void collect_logons(pkg *p)
{
    int fd = open("/var/log/wtmp", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        note_skip(p, "/var/log/wtmp", strerror(errno));
        return;
    }
    struct stat st;
    vg_buf b;
    vg_buf_init(&b, 4u << 20);
    vg_buf_puts(&b, "TIME\tTYPE\tUSER\tLINE\tHOST\tPID\n");
    if (fstat(fd, &st) == 0) {
        off_t count = st.st_size / (off_t)sizeof(struct utmp);
        off_t first = count > PKG_WTMP_LAST ? count - PKG_WTMP_LAST : 0;
        for (off_t i = first; i < count; i++) {
            struct utmp u;
            if (pread(fd, &u, sizeof u, i * (off_t)sizeof u) != (ssize_t)sizeof u)
                break;
            static const char *const types[] = { "EMPTY", "RUN_LVL", "BOOT_TIME", "NEW_TIME",
                                                 "OLD_TIME", "INIT_PROCESS", "LOGIN_PROCESS",
                                                 "USER_PROCESS", "DEAD_PROCESS", "ACCOUNTING" };
            char ts[40];
            vg_time_format(vg_time_from_unix(u.ut_tv.tv_sec, (int64_t)u.ut_tv.tv_usec * 1000), ts,
                           sizeof ts);
            vg_buf_printf(&b, "%s\t%s\t%.*s\t%.*s\t%.*s\t%d\n", ts,
                          u.ut_type >= 0 && u.ut_type <= 9 ? types[u.ut_type] : "?",
                          (int)strnlen(u.ut_user, sizeof u.ut_user), u.ut_user,
                          (int)strnlen(u.ut_line, sizeof u.ut_line), u.ut_line,
                          (int)strnlen(u.ut_host, sizeof u.ut_host), u.ut_host, (int)u.ut_pid);
        }
    }
    close(fd);
    add_mem(p, "logons.tsv", "/var/log/wtmp", b.p, b.n, 0644, vg_time_now() / VG_TICKS_PER_SEC);
    vg_buf_free(&b);
}

static void collect_packages(pkg *p)
{
    FILE *f = fopen("/var/lib/dpkg/status", "re");
    if (!f) {
        note_skip(p, "/var/lib/dpkg/status", strerror(errno));
        return;
    }
    vg_buf b;
    vg_buf_init(&b, 16u << 20);
    vg_buf_puts(&b, "PACKAGE\tVERSION\tARCHITECTURE\n");
    char line[4096], name[256] = "", ver[256] = "", arch[64] = "";
    bool installed = false;
    for (;;) {
        char *got = fgets(line, sizeof line, f);
        if (!got || line[0] == '\n') {
            if (installed && name[0])
                vg_buf_printf(&b, "%s\t%s\t%s\n", name, ver, arch);
            name[0] = ver[0] = arch[0] = '\0';
            installed = false;
            if (!got)
                break;
            continue;
        }
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "Package: ", 9) == 0)
            vg_str_copy_c(name, sizeof name, vg_str_c(line + 9));
        else if (strncmp(line, "Version: ", 9) == 0)
            vg_str_copy_c(ver, sizeof ver, vg_str_c(line + 9));
        else if (strncmp(line, "Architecture: ", 14) == 0)
            vg_str_copy_c(arch, sizeof arch, vg_str_c(line + 14));
        else if (strncmp(line, "Status: ", 8) == 0)
            installed = strstr(line, " installed") != NULL;
    }
    fclose(f);
    add_mem(p, "packages.tsv", "/var/lib/dpkg/status", b.p, b.n, 0644,
            vg_time_now() / VG_TICKS_PER_SEC);
    vg_buf_free(&b);
}

static void collect_systemd(pkg *p)
{
    /* /etc/systemd/system holds the admin's units and the enablement links
     * (*.wants/); a link's target under /lib is the enabled vendor unit */
    vg_buf links;
    vg_buf_init(&links, 4u << 20);
    add_tree(p, "/etc/systemd/system", "persistence/systemd/etc", 0, &links);
    add_mem(p, "persistence/systemd/enabled-links.txt", "/etc/systemd/system", links.p, links.n, 0644,
            vg_time_now() / VG_TICKS_PER_SEC);
    const char *s = vg_buf_cstr(&links);
    while (s && *s) {
        const char *nl = strchr(s, '\n');
        const char *arrow = strstr(s, " -> ");
        if (!nl)
            break;
        if (arrow && arrow < nl) {
            char target[PATH_MAX], name[PATH_MAX];
            vg_str_copy_c(target, sizeof target, vg_str_make(arrow + 4, (size_t)(nl - arrow - 4)));
            const char *base = strrchr(target, '/');
            if (target[0] == '/' && base && strncmp(target, "/etc/", 5) != 0 && base[1]) {
                ag_resp_pathf(name, sizeof name, "persistence/systemd/enabled/%s", base + 1);
                add_file(p, target, name);
            }
        }
        s = nl + 1;
    }
    vg_buf_free(&links);
}

static void collect_users(pkg *p)
{
    static const char *const files[] = { ".bashrc", ".bash_profile", ".bash_login", ".profile",
                                         ".zshrc", ".zprofile", ".bash_logout",
                                         ".ssh/authorized_keys", ".ssh/authorized_keys2" };
    FILE *f = fopen("/etc/passwd", "re");
    if (!f)
        return;
    char line[2048];
    for (int users = 0; users < PKG_USERS_MAX && fgets(line, sizeof line, f); users++) {
        /* name:x:uid:gid:gecos:home:shell */
        char *fields[7] = { 0 };
        char *s = line;
        int nf = 0;
        for (; nf < 7 && s; nf++) {
            fields[nf] = s;
            s = strchr(s, ':');
            if (s)
                *s++ = '\0';
        }
        if (nf < 6 || fields[5][0] != '/' || strchr(fields[0], '/'))
            continue;
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            char path[PATH_MAX], name[PATH_MAX];
            ag_resp_pathf(path, sizeof path, "%s/%s", fields[5], files[i]);
            ag_resp_pathf(name, sizeof name, "persistence/users/%s/%s", fields[0], files[i]);
            add_file(p, path, name);
        }
    }
    fclose(f);
}

vg_err ag_package_build(ag *a, const char *out_path, vg_diag *d)
{
    pkg p = { .d = d, .fatal = VG_OK };
    vg_err e = ag_tar_open(out_path, AG_PACKAGE_MAX_BYTES - (1u << 20), &p.tar, d);
    if (e != VG_OK)
        return e;
    vg_buf_init(&p.entries, 8u << 20);
    vg_buf_init(&p.skipped, 8u << 20);
    collect_processes(&p);
    collect_network(&p);
    collect_logons(&p);
    add_file(&p, "/etc/passwd", "etc/passwd");
    add_file(&p, "/etc/group", "etc/group");
    collect_packages(&p);
    collect_systemd(&p);
    add_file(&p, "/etc/crontab", "persistence/cron/etc/crontab");
    static const char *const cron_dirs[][2] = {
        { "/etc/cron.d", "persistence/cron/etc/cron.d" },
        { "/etc/cron.hourly", "persistence/cron/etc/cron.hourly" },
        { "/etc/cron.daily", "persistence/cron/etc/cron.daily" },
        { "/etc/cron.weekly", "persistence/cron/etc/cron.weekly" },
        { "/etc/cron.monthly", "persistence/cron/etc/cron.monthly" },
        { "/var/spool/cron", "persistence/cron/spool" },
        { "/etc/profile.d", "persistence/profile/etc/profile.d" },
    };
    for (size_t i = 0; i < sizeof cron_dirs / sizeof cron_dirs[0]; i++)
        add_tree(&p, cron_dirs[i][0], cron_dirs[i][1], 0, NULL);
    add_file(&p, "/etc/profile", "persistence/profile/etc/profile");
    add_file(&p, "/etc/bash.bashrc", "persistence/profile/etc/bash.bashrc");
    add_file(&p, "/etc/environment", "persistence/profile/etc/environment");
    add_file(&p, "/etc/ld.so.preload", "persistence/etc/ld.so.preload");
    add_file(&p, "/root/.ssh/authorized_keys", "persistence/users/root-home/.ssh/authorized_keys");
    collect_users(&p);

    /* the manifest last: it lists everything above */
    const ag_ident *id = ag_identity(a);
    char ts[40];
    vg_time_format(vg_time_now(), ts, sizeof ts);
    vg_buf m;
    vg_buf_init(&m, 20u << 20);
    vg_buf_puts(&m, "{\"DeviceId\":");
    vg_buf_put_json_str(&m, vg_str_c(id ? id->device_id : ""));
    vg_buf_puts(&m, ",\"DeviceName\":");
    vg_buf_put_json_str(&m, vg_str_c(id ? id->device_name : ""));
    vg_buf_printf(&m, ",\"Created\":\"%s\",\"Truncated\":%s,\"Entries\":[", ts,
                  p.truncated ? "true" : "false");
    vg_buf_put(&m, p.entries.p, p.entries.n);
    vg_buf_puts(&m, "],\"Skipped\":[");
    vg_buf_put(&m, p.skipped.p, p.skipped.n);
    vg_buf_puts(&m, "]}");
    /* the manifest has room: the content limit kept 1 MiB below the total */
    p.tar->max += 1u << 20;
    if (p.fatal == VG_OK && (m.failed || p.entries.failed || p.skipped.failed))
        p.fatal = vg_diag_set(d, VG_ELIMIT, "package: manifest too large");
    if (p.fatal == VG_OK)
        p.fatal = ag_tar_add(p.tar, "manifest.json", m.p, m.n, 0644, vg_time_now() / VG_TICKS_PER_SEC,
                             d);
    vg_buf_free(&m);
    vg_buf_free(&p.entries);
    vg_buf_free(&p.skipped);
    e = ag_tar_close(p.tar, NULL, p.fatal == VG_OK ? d : NULL);
    if (p.fatal != VG_OK)
        e = p.fatal;
    if (e != VG_OK)
        unlink(out_path);
    return e;
}

/* POST /api/v1/agents/actions/{id}/package with the file as the body. */
static vg_err upload(ag *a, const char *path, const char *action_id, vg_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return vg_diag_set(d, VG_EIO, "package: %s: %s", path, strerror(errno));
    }
    if ((uint64_t)st.st_size > AG_PACKAGE_MAX_BYTES) {
        close(fd);
        return vg_diag_set(d, VG_ELIMIT, "package: %lld bytes over the upload limit",
                           (long long)st.st_size);
    }
    char *body = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (body && got < (size_t)st.st_size) {
        ssize_t r = read(fd, body + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    vg_err e = VG_OK;
    if (!body || got != (size_t)st.st_size) {
        e = vg_diag_set(d, VG_EIO, "package: %s: short read", path);
        goto out;
    }
    char route[160];
    ag_resp_pathf(route, sizeof route, "/api/v1/agents/actions/%s/package", action_id);
    long status = 0;
    vg_buf resp;
    vg_buf_init(&resp, 1u << 16);
    e = ag_server_request(a, "POST", route, body, got, "application/gzip", &status, &resp, d);
    if (e == VG_OK && status != 200)
        e = vg_diag_set(d, VG_EIO, "package upload: HTTP %ld: %.200s", status, vg_buf_cstr(&resp));
    vg_buf_free(&resp);
out:
    free(body);
    return e;
}

vg_err ag_act_package(ag *a, const vg_json *params, vg_buf *result, vg_diag *d)
{
    const char *state = ag_identity(a)->state_dir;
    char dir[PATH_MAX], path[PATH_MAX + 128], name[80];
    ag_resp_pathf(dir, sizeof dir, "%s/packages", state);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return vg_diag_set(d, VG_EIO, "package: %s: %s", dir, strerror(errno));
    const vg_json *idj = params ? vg_json_get(params, "ActionId") : NULL;
    vg_str id = idj ? vg_json_text(idj) : (vg_str){ 0 };
    bool id_ok = id.n > 0 && id.n < 64;
    for (size_t i = 0; id_ok && i < id.n; i++)
        id_ok = (id.p[i] >= '0' && id.p[i] <= '9') || (id.p[i] >= 'a' && id.p[i] <= 'z') ||
                (id.p[i] >= 'A' && id.p[i] <= 'Z') || id.p[i] == '-';
    if (id_ok)
        vg_str_copy_c(name, sizeof name, id);
    else
        ag_resp_pathf(name, sizeof name, "package-%lld", (long long)(vg_time_now() / VG_TICKS_PER_SEC));
    ag_resp_pathf(path, sizeof path, "%s/%s.tar.gz", dir, name);
    vg_err e = ag_package_build(a, path, d);
    if (e != VG_OK)
        return e;
    struct stat st;
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : 0LL;
    bool uploaded = false;
    if (id_ok) {
        /* the action's id is known: upload here, before the core acknowledges */
        if ((e = upload(a, path, name, d)) != VG_OK)
            return e;
        uploaded = true;
        unlink(path);
    }
    vg_buf_puts(result, "{\"package\":");
    vg_buf_put_json_str(result, vg_str_c(path));
    vg_buf_printf(result, ",\"bytes\":%lld,\"uploaded\":%s}", bytes, uploaded ? "true" : "false");
    return VG_OK;
}
