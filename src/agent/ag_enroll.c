/*
 * ag_enroll.c - who this machine is, enrollment with vigild and the agent's
 * credential.
 *
 * Enrollment posts the machine's facts (machine id, OS, kernel, addresses)
 * with an enroll token and gets back the device id and a device token
 * (see the agent contract). The pair is kept in STATE/credential.json, mode
 * 0600, written atomically; later starts reuse it and need no enroll token.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../core/vg_arena.h"
#include "ag_int.h"

#define CRED_FILE "credential.json"
#define CRED_MAX 16384
#define IFACES_MAX 64
#define IF_ADDRS_MAX 16

static vg_err read_small(const char *path, char *buf, size_t cap, size_t *n)
{
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? VG_ENOTFOUND : VG_EIO;
    ssize_t r = read(fd, buf, cap - 1);
    close(fd);
    if (r < 0)
        return VG_EIO;
    buf[r] = '\0';
    *n = (size_t)r;
    return VG_OK;
}

vg_err ag_cred_load(const char *state_dir, ag_cred *c, vg_diag *d)
{
    memset(c, 0, sizeof *c);
    char path[4200], text[CRED_MAX];
    size_t n;
    snprintf(path, sizeof path, "%s/%s", state_dir, CRED_FILE);
    vg_err e = read_small(path, text, sizeof text, &n);
    if (e == VG_ENOTFOUND)
        return e;
    if (e != VG_OK)
        return vg_diag_set(d, e, "%s: %s", path, strerror(errno));
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_json *root;
    e = vg_json_parse(&ar, vg_str_make(text, n), &root, d);
    if (e != VG_OK) {
        vg_diag_prefix(d, "%s: ", path);
        goto out;
    }
    vg_str id = vg_json_text(vg_json_get(root, "deviceId"));
    vg_str tok = vg_json_text(vg_json_get(root, "token"));
    if (id.n == 0 || tok.n == 0 || id.n >= sizeof c->device_id || tok.n >= sizeof c->token) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: needs deviceId and token", path);
        goto out;
    }
    vg_str_copy_c(c->device_id, sizeof c->device_id, id);
    vg_str_copy_c(c->token, sizeof c->token, tok);
    vg_str_copy_c(c->server, sizeof c->server, vg_json_text(vg_json_get(root, "server")));
out:
    explicit_bzero(text, sizeof text);
    vg_arena_free(&ar);
    return e;
}

vg_err ag_cred_save(const char *state_dir, const ag_cred *c, vg_diag *d)
{
    char path[4200], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", state_dir, CRED_FILE);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", state_dir, CRED_FILE);
    vg_buf b;
    vg_buf_init(&b, CRED_MAX);
    vg_buf_puts(&b, "{\"deviceId\":");
    vg_buf_put_json_str(&b, vg_str_c(c->device_id));
    vg_buf_puts(&b, ",\"token\":");
    vg_buf_put_json_str(&b, vg_str_c(c->token));
    vg_buf_puts(&b, ",\"server\":");
    vg_buf_put_json_str(&b, vg_str_c(c->server));
    vg_buf_puts(&b, "}\n");
    vg_err e = VG_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        e = vg_diag_set(d, VG_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (b.failed || write(fd, b.p, b.n) != (ssize_t)b.n || fchmod(fd, 0600) != 0 ||
        fsync(fd) != 0) {
        e = vg_diag_set(d, VG_EIO, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path) != 0)
        e = vg_diag_set(d, VG_EIO, "rename %s: %s", path, strerror(errno));
out:
    if (b.p)
        explicit_bzero(b.p, b.cap);
    vg_buf_free(&b);
    return e;
}

/* A value of /etc/os-release (quotes removed), or "". */
static void os_release(const char *text, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    size_t kn = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, kn) != 0 || l[kn] != '=')
            continue;
        const char *v = l + kn + 1, *e = strchr(v, '\n');
        size_t n = e ? (size_t)(e - v) : strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v++;
            n -= 2;
        }
        vg_str_copy_c(out, cap, vg_str_make(v, n));
        return;
    }
}

static const char *addr_type(int fam, const void *a)
{
    if (fam == AF_INET) {
        uint32_t x = ntohl(((const struct in_addr *)a)->s_addr);
        if ((x >> 24) == 127)
            return "Loopback";
        if ((x >> 24) == 10 || (x >> 20) == 0xac1 || (x >> 16) == 0xc0a8 || (x >> 16) == 0xa9fe)
            return "Private";
        return "Public";
    }
    const unsigned char *b = ((const struct in6_addr *)a)->s6_addr;
    if (IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)a))
        return "Loopback";
    if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
        return "Private";
    return "Public";
}

typedef struct iface {
    char name[IF_NAMESIZE];
    char mac[18];
    char ips[IF_ADDRS_MAX][INET6_ADDRSTRLEN];
    const char *types[IF_ADDRS_MAX];
    int nips;
} iface;

static void read_mac(const char *name, char mac[18])
{
    char path[128], text[64];
    size_t n;
    mac[0] = '\0';
    snprintf(path, sizeof path, "/sys/class/net/%s/address", name);
    if (read_small(path, text, sizeof text, &n) == VG_OK && n >= 17) {
        vg_str_copy_c(mac, 18, vg_str_make(text, 17));
        return;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return;
    struct ifreq r;
    memset(&r, 0, sizeof r);
    vg_str_copy_c(r.ifr_name, sizeof r.ifr_name, vg_str_c(name));
    if (ioctl(s, SIOCGIFHWADDR, &r) == 0) {
        const unsigned char *m = (const unsigned char *)r.ifr_hwaddr.sa_data;
        snprintf(mac, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    }
    close(s);
}

static int collect_ifaces(iface *v, int max)
{
    struct ifaddrs *all = NULL;
    int n = 0;
    if (getifaddrs(&all) != 0)
        return 0;
    for (struct ifaddrs *i = all; i; i = i->ifa_next) {
        int k = 0;
        while (k < n && strcmp(v[k].name, i->ifa_name) != 0)
            k++;
        if (k == n) {
            if (n == max)
                continue;
            memset(&v[n], 0, sizeof v[n]);
            vg_str_copy_c(v[n].name, sizeof v[n].name, vg_str_c(i->ifa_name));
            read_mac(v[n].name, v[n].mac);
            n++;
        }
        if (!i->ifa_addr || v[k].nips == IF_ADDRS_MAX)
            continue;
        int fam = i->ifa_addr->sa_family;
        const void *a = fam == AF_INET ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
                        : fam == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr
                                          : NULL;
        if (!a || !inet_ntop(fam, a, v[k].ips[v[k].nips], INET6_ADDRSTRLEN))
            continue;
        v[k].types[v[k].nips++] = addr_type(fam, a);
    }
    freeifaddrs(all);
    return n;
}

vg_err ag_enroll_body(const char *agent_version, vg_buf *b, char *device_name, size_t cap,
                      vg_diag *d)
{
    char mid[256], osr[8192];
    size_t n;
    if (read_small("/etc/machine-id", mid, sizeof mid, &n) != VG_OK || n < 16)
        return vg_diag_set(d, VG_ENOTFOUND, "/etc/machine-id: missing or empty (the device "
                                            "identity is derived from it)");
    vg_str machine = vg_str_trim(vg_str_make(mid, n));
    if (read_small("/etc/os-release", osr, sizeof osr, &n) != VG_OK)
        osr[0] = '\0';
    char distro[256], version[128];
    os_release(osr, "NAME", distro, sizeof distro);
    os_release(osr, "VERSION_ID", version, sizeof version);
    struct utsname u;
    if (uname(&u) != 0)
        return vg_diag_set(d, VG_EIO, "uname: %s", strerror(errno));
    vg_str_copy_c(device_name, cap, vg_str_c(u.nodename));

    iface *ifs = calloc(IFACES_MAX, sizeof *ifs);
    if (!ifs)
        return vg_diag_set(d, VG_ENOMEM, "interfaces");
    int nif = collect_ifaces(ifs, IFACES_MAX);
    vg_buf_clear(b);
    vg_buf_puts(b, "{\"DeviceName\":");
    vg_buf_put_json_str(b, vg_str_c(u.nodename));
    vg_buf_puts(b, ",\"MachineId\":");
    vg_buf_put_json_str(b, machine);
    vg_buf_puts(b, ",\"OSPlatform\":\"Linux\",\"OSDistribution\":");
    vg_buf_put_json_str(b, vg_str_c(distro));
    vg_buf_puts(b, ",\"OSVersion\":");
    vg_buf_put_json_str(b, vg_str_c(version));
    vg_buf_puts(b, ",\"KernelVersion\":");
    vg_buf_put_json_str(b, vg_str_c(u.release));
    vg_buf_puts(b, ",\"OSArchitecture\":");
    vg_buf_put_json_str(b, vg_str_c(u.machine));
    vg_buf_puts(b, ",\"AgentVersion\":");
    vg_buf_put_json_str(b, vg_str_c(agent_version));
    vg_buf_puts(b, ",\"IPAddresses\":[");
    bool first = true;
    for (int i = 0; i < nif; i++)
        for (int k = 0; k < ifs[i].nips; k++) {
            vg_buf_puts(b, first ? "{\"IPAddress\":" : ",{\"IPAddress\":");
            first = false;
            vg_buf_put_json_str(b, vg_str_c(ifs[i].ips[k]));
            vg_buf_printf(b, ",\"AddressType\":\"%s\"}", ifs[i].types[k]);
        }
    vg_buf_puts(b, "],\"MacAddresses\":[");
    first = true;
    for (int i = 0; i < nif; i++)
        if (ifs[i].mac[0] && strcmp(ifs[i].mac, "00:00:00:00:00:00") != 0) {
            if (!first)
                vg_buf_putc(b, ',');
            first = false;
            vg_buf_put_json_str(b, vg_str_c(ifs[i].mac));
        }
    vg_buf_puts(b, "],\"Interfaces\":[");
    for (int i = 0; i < nif; i++) {
        vg_buf_puts(b, i ? ",{\"Name\":" : "{\"Name\":");
        vg_buf_put_json_str(b, vg_str_c(ifs[i].name));
        vg_buf_puts(b, ",\"MacAddress\":");
        vg_buf_put_json_str(b, vg_str_c(ifs[i].mac));
        vg_buf_puts(b, ",\"IPAddresses\":[");
        for (int k = 0; k < ifs[i].nips; k++) {
            if (k)
                vg_buf_putc(b, ',');
            vg_buf_put_json_str(b, vg_str_c(ifs[i].ips[k]));
        }
        vg_buf_puts(b, "]}");
    }
    vg_buf_puts(b, "]}");
    free(ifs);
    return b->failed ? vg_diag_set(d, VG_ENOMEM, "enrollment body") : VG_OK;
}

vg_err ag_enroll(ag_http *h, const char *enroll_token, const char *agent_version, ag_cred *c,
                 vg_diag *d)
{
    vg_buf body, resp;
    vg_buf_init(&body, 1 << 20);
    vg_buf_init(&resp, AG_HTTP_RESP_MAX);
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    char name[256];
    long status;
    vg_err e = ag_enroll_body(agent_version, &body, name, sizeof name, d);
    if (e != VG_OK)
        goto out;
    ag_http_set_token(h, enroll_token);
    e = ag_http_do(h, "POST", "/api/v1/agents/enroll", body.p, body.n, "application/json",
                   NULL, &status, &resp, d);
    if (e != VG_OK)
        goto out;
    if (status != 200 && status != 201) {
        e = vg_diag_set(d, status == 401 || status == 403 ? VG_EAUTH : VG_EIO,
                        "enrollment refused: HTTP %ld: %.300s", status,
                        resp.p ? resp.p : "");
        goto out;
    }
    vg_json *root;
    e = vg_json_parse(&ar, vg_str_make(resp.p, resp.n), &root, d);
    if (e != VG_OK) {
        vg_diag_prefix(d, "enrollment answer: ");
        goto out;
    }
    vg_str id = vg_json_text(vg_json_get(root, "deviceId"));
    vg_str tok = vg_json_text(vg_json_get(root, "token"));
    if (id.n == 0 || tok.n == 0 || id.n >= sizeof c->device_id || tok.n >= sizeof c->token) {
        e = vg_diag_set(d, VG_EPARSE, "enrollment answer lacks deviceId or token");
        goto out;
    }
    vg_str_copy_c(c->device_id, sizeof c->device_id, id);
    vg_str_copy_c(c->token, sizeof c->token, tok);
out:
    vg_arena_free(&ar);
    vg_buf_free(&body);
    if (resp.p)
        explicit_bzero(resp.p, resp.cap);
    vg_buf_free(&resp);
    return e;
}
