/*
 * cli_util.c - small helpers shared by the subcommands: messages, option
 * parsing through the settings tables, number formatting, and input files
 * (mapped whole when regular, read in pieces when a stream).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_int.h"

void cli_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vigil %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_parse(const vg_cfg_spec *spec, int argc, char **argv, void *settings, vg_cfg_args *args,
              vg_arena *a)
{
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_cfg_parse_args(spec, argc, argv, 1, settings, args, a, &d);
    if (e) {
        fprintf(stderr, "%s: %s\n", spec->prog, d.msg[0] ? d.msg : vg_strerror(e));
        return CLI_USAGE;
    }
    if (args->help) {
        vg_cfg_help(spec, stdout);
        return CLI_OK;
    }
    return -1;
}

const char *cli_num(uint64_t v, char *buf, size_t cap)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    size_t k = 0;
    for (int i = 0; i < n && k + 1 < cap; i++) {
        if (i && (n - i) % 3 == 0 && k + 2 < cap)
            buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    buf[k] = '\0';
    return buf;
}

const char *cli_bytes(uint64_t v, char *buf, size_t cap)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double x = (double)v;
    int u = 0;
    while (x >= 1024 && u < 4) {
        x /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%llu B", (unsigned long long)v);
    else
        snprintf(buf, cap, "%.1f %s", x, units[u]);
    return buf;
}

bool cli_stderr_tty(void) { return isatty(STDERR_FILENO) == 1; }

vg_err cli_input_open(cli_input *in, const char *path, vg_diag *d)
{
    memset(in, 0, sizeof *in);
    in->fd = -1;
    bool is_stdin = strcmp(path, "-") == 0;
    in->name = is_stdin ? "stdin" : path;
    in->fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (in->fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(in->fd, &st) != 0) {
        vg_err e = vg_diag_set(d, VG_EIO, "%s: %s", in->name, strerror(errno));
        cli_input_close(in);
        return e;
    }
    if (S_ISDIR(st.st_mode)) {
        cli_input_close(in);
        return vg_diag_set(d, VG_EINVAL, "%s: is a directory", path);
    }
    if (S_ISREG(st.st_mode)) {
        in->mapped = true;
        in->size = (uint64_t)st.st_size;
        if (st.st_size == 0) {
            in->data = vg_str_make("", 0);
            return VG_OK;
        }
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, in->fd, 0);
        if (m == MAP_FAILED) {
            vg_err e = vg_diag_set(d, VG_EIO, "%s: cannot map: %s", in->name, strerror(errno));
            cli_input_close(in);
            return e;
        }
        madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
        in->data = vg_str_make(m, (size_t)st.st_size);
    }
    return VG_OK;
}

vg_err cli_input_read(cli_input *in, vg_buf *b, size_t want, vg_diag *d)
{
    while (want && !in->eof) {
        if (!vg_buf_reserve(b, want))
            return vg_diag_set(d, VG_ENOMEM, "%s: out of memory reading input", in->name);
        ssize_t k = read(in->fd, b->p + b->n, want);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return vg_diag_set(d, VG_EIO, "%s: %s", in->name, strerror(errno));
        }
        if (k == 0) {
            in->eof = true;
            break;
        }
        b->n += (size_t)k;
        want -= (size_t)k;
    }
    return VG_OK;
}

void cli_input_close(cli_input *in)
{
    if (in->mapped && in->data.n)
        munmap((void *)in->data.p, in->data.n);
    if (in->fd > STDIN_FILENO)
        close(in->fd);
    in->fd = -1;
    in->data = VG_STR_NULL;
}
