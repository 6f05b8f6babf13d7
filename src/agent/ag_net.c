/*
 * ag_net.c - the network sensor: DeviceNetworkEvents from sock_diag.
 *
 * Every AG_NET_POLL_MS the sensor dumps TCP (established, listening) and UDP
 * (connected, bound) sockets of IPv4 and IPv6 through NETLINK_SOCK_DIAG and
 * compares them with the previous dump by socket inode: a socket not seen
 * before is reported once - a listener as ListeningConnectionCreated, an
 * established socket whose local port is a listener of its protocol as
 * InboundConnectionAccepted, any other as ConnectionSuccess. Sockets present
 * at start are the baseline and not reported. The owning process (the
 * InitiatingProcess* columns) comes from a socket inode -> pid map built
 * from /proc/PID/fd, rebuilt when a new socket's inode is not in it.
 *
 * Limits: a connection opened and closed between two polls is not seen
 * (eBPF would be needed for those); at most AG_NET_MAX_SOCKETS sockets are
 * tracked, new sockets past that are counted as drops under "net".
 */
#include <dirent.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/vg_log.h"
#include "ag_int.h"
#include "ag_sensors_int.h"

#define AG_NET_POLL_MS 1000
#define AG_NET_RECV_BUF 65536

/* an open-addressing set of inodes (0 = empty), with a value */
typedef struct iset {
    uint64_t *key;
    int32_t *val;
    size_t cap, n;             /* cap: power of two */
} iset;

static void iset_free(iset *s)
{
    free(s->key);
    free(s->val);
    memset(s, 0, sizeof *s);
}

static bool iset_init(iset *s, size_t want)
{
    size_t cap = 256;
    while (cap < want * 2)
        cap <<= 1;
    s->key = calloc(cap, sizeof *s->key);
    s->val = calloc(cap, sizeof *s->val);
    s->cap = cap;
    s->n = 0;
    if (!s->key || !s->val) {
        iset_free(s);
        return false;
    }
    return true;
}

static size_t iset_slot(const iset *s, uint64_t k)
{
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);
    while (s->key[i] && s->key[i] != k)
        i = (i + 1) & (s->cap - 1);
    return i;
}

static bool iset_get(const iset *s, uint64_t k, int32_t *v)
{
    if (!s->cap || !k)
        return false;
    size_t i = iset_slot(s, k);
    if (!s->key[i])
        return false;
    if (v)
        *v = s->val[i];
    return true;
}

/* false when full (kept at half its capacity) */
static bool iset_put(iset *s, uint64_t k, int32_t v)
{
    if (!s->cap || !k || (s->n + 1) * 2 > s->cap)
        return false;
    size_t i = iset_slot(s, k);
    if (!s->key[i]) {
        s->key[i] = k;
        s->n++;
    }
    s->val[i] = v;
    return true;
}

typedef struct net {
    ag *a;
    pthread_t th;
    int wake;
    int nl;                    /* NETLINK_SOCK_DIAG */
    ag_sock *socks;
    size_t nsocks, cap_socks;
    iset seen;                 /* inodes of the previous dump */
    iset owner;                /* socket inode -> pid */
    bool baseline_done;
    uint8_t listen_tcp[8192], listen_udp[8192];   /* bitmaps by port */
    unsigned char rbuf[AG_NET_RECV_BUF];
    vg_buf row;
} net;

/* One dump of family/proto into s->socks (appended). */
static vg_err dump(net *s, int family, int proto, uint32_t states, size_t *over, vg_diag *d)
{
    struct {
        struct nlmsghdr h;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = (uint8_t)family;
    req.r.sdiag_protocol = (uint8_t)proto;
    req.r.idiag_states = states;
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    if (sendto(s->nl, &req, sizeof req, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
        return vg_diag_set(d, VG_EIO, "sock_diag: send: %s", strerror(errno));
    bool done = false;
    while (!done) {
        ssize_t r = recv(s->nl, s->rbuf, sizeof s->rbuf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return vg_diag_set(d, VG_EIO, "sock_diag: receive: %s", r < 0 ? strerror(errno) : "closed");
        vg_err e = ag_diag_parse(s->rbuf, (size_t)r, proto, s->socks, s->cap_socks, &s->nsocks, over,
                                 &done, d);
        if (e)
            return e;
    }
    return VG_OK;
}

static void bit_set(uint8_t *bm, uint16_t port) { bm[port >> 3] |= (uint8_t)(1u << (port & 7)); }
static bool bit_get(const uint8_t *bm, uint16_t port) { return bm[port >> 3] & (1u << (port & 7)); }

static bool is_listener(void *ctx, int proto, uint16_t port)
{
    net *s = ctx;
    return bit_get(proto == IPPROTO_UDP ? s->listen_udp : s->listen_tcp, port);
}

/* Rebuilds the socket inode -> pid map from /proc/PID/fd. */
static void owners_scan(net *s)
{
    iset_free(&s->owner);
    if (!iset_init(&s->owner, AG_NET_MAX_INODES))
        return;
    DIR *proc = opendir("/proc");
    if (!proc)
        return;
    struct dirent *pe;
    char path[64], link[64];
    while ((pe = readdir(proc))) {
        int64_t pid;
        if (vg_str_to_i64(vg_str_c(pe->d_name), &pid) != VG_OK || pid <= 0 || pid > INT32_MAX)
            continue;
        snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
        DIR *fds = opendir(path);
        if (!fds)
            continue;
        struct dirent *fe;
        while ((fe = readdir(fds))) {
            if (fe->d_name[0] == '.')
                continue;
            char fpath[96];
            snprintf(fpath, sizeof fpath, "/proc/%d/fd/%.20s", (int)pid, fe->d_name);
            ssize_t n = readlink(fpath, link, sizeof link - 1);
            if (n < 9 || memcmp(link, "socket:[", 8) != 0)
                continue;
            uint64_t ino;
            if (vg_str_to_u64(vg_str_make(link + 8, (size_t)n - 9), &ino) != VG_OK)
                continue;
            /* the first owner found keeps it (a forked server shares its sockets) */
            if (!iset_get(&s->owner, ino, NULL))
                iset_put(&s->owner, ino, (int32_t)pid);
        }
        closedir(fds);
    }
    closedir(proc);
}

static void emit(net *s, const ag_sock *k, const char *action, vg_time ts, pid_t pid)
{
    vg_buf_clear(&s->row);
    ag_row_begin(s->a, &s->row, "DeviceNetworkEvents", ts);
    ag_net_members(k, action, &s->row);
    if (pid > 0)
        ag_proc_initiating(s->a, pid, &s->row);
    vg_buf_putc(&s->row, '}');
    ag_emit(s->a, "net", vg_str_make(s->row.p, s->row.n));   /* a refused row is counted there */
}

static void poll_once(net *s)
{
    vg_diag d = { "" };
    size_t over = 0;
    s->nsocks = 0;
    const uint32_t tcp = (1u << TCP_ESTABLISHED) | (1u << TCP_LISTEN);
    const uint32_t udp = (1u << TCP_ESTABLISHED) | (1u << TCP_CLOSE);
    vg_err e = dump(s, AF_INET, IPPROTO_TCP, tcp, &over, &d);
    if (!e) e = dump(s, AF_INET6, IPPROTO_TCP, tcp, &over, &d);
    if (!e) e = dump(s, AF_INET, IPPROTO_UDP, udp, &over, &d);
    if (!e) e = dump(s, AF_INET6, IPPROTO_UDP, udp, &over, &d);
    if (e) {
        vg_log(VG_LOG_WARN, "net sensor: dump failed", VG_LS("error", d.msg));
        return;   /* the seen set stays as it was: nothing is reported twice */
    }
    memset(s->listen_tcp, 0, sizeof s->listen_tcp);
    memset(s->listen_udp, 0, sizeof s->listen_udp);
    for (size_t i = 0; i < s->nsocks; i++) {
        const ag_sock *k = &s->socks[i];
        if (k->state == TCP_LISTEN)
            bit_set(s->listen_tcp, k->sport);
        else if (k->proto == IPPROTO_UDP && k->state == TCP_CLOSE && k->sport)
            bit_set(s->listen_udp, k->sport);
    }
    iset now;
    if (!iset_init(&now, s->nsocks + 1))
        return;
    vg_time ts = vg_time_now();
    bool rescanned = false;
    uint64_t dropped = over;
    for (size_t i = 0; i < s->nsocks; i++) {
        const ag_sock *k = &s->socks[i];
        if (!k->inode)
            continue;
        iset_put(&now, k->inode, 1);
        if (!s->baseline_done || iset_get(&s->seen, k->inode, NULL))
            continue;
        const char *action = ag_sock_action(k, is_listener, s);
        if (!action)
            continue;
        int32_t pid = 0;
        if (!iset_get(&s->owner, k->inode, &pid) && !rescanned) {
            owners_scan(s);
            rescanned = true;
            iset_get(&s->owner, k->inode, &pid);
        }
        emit(s, k, action, ts, pid);
    }
    if (dropped)
        ag_count_drop(s->a, "net", dropped);
    iset_free(&s->seen);
    s->seen = now;
    s->baseline_done = true;
}

static void *net_thread(void *arg)
{
    net *s = arg;
    while (!ag_stopping(s->a)) {
        poll_once(s);
        struct pollfd p = { s->wake, POLLIN, 0 };
        if (poll(&p, 1, AG_NET_POLL_MS) > 0)
            break;
    }
    return NULL;
}

static void net_free(net *s)
{
    if (s->nl >= 0)
        close(s->nl);
    if (s->wake >= 0)
        close(s->wake);
    iset_free(&s->seen);
    iset_free(&s->owner);
    vg_buf_free(&s->row);
    free(s->socks);
    free(s);
}

static vg_err net_start(ag *a, void **state, vg_diag *d)
{
    net *s = calloc(1, sizeof *s);
    if (!s)
        return vg_diag_set(d, VG_ENOMEM, "net sensor: out of memory");
    s->a = a;
    s->wake = -1;
    vg_buf_init(&s->row, 0);
    s->cap_socks = AG_NET_MAX_SOCKETS;
    s->socks = malloc(s->cap_socks * sizeof *s->socks);
    s->nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (!s->socks || s->nl < 0) {
        int err = errno;
        net_free(s);
        return vg_diag_set(d, VG_EIO, "net sensor: sock_diag netlink socket: %s", strerror(err));
    }
    struct timeval tv = { 5, 0 };   /* a stuck dump does not hold the thread past stop */
    setsockopt(s->nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    /* the baseline: sockets open now are not news */
    poll_once(s);
    s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = s->wake < 0 ? errno : pthread_create(&s->th, NULL, net_thread, s);
    if (rc != 0) {
        net_free(s);
        return vg_diag_set(d, VG_EIO, "net sensor: cannot start its thread: %s", strerror(rc));
    }
    *state = s;
    return VG_OK;
}

static void net_stop(ag *a, void *state)
{
    net *s = state;
    if (!s)
        return;
    uint64_t one = 1;
    if (write(s->wake, &one, sizeof one) < 0) {
        /* the loop also checks ag_stopping every poll */
    }
    pthread_join(s->th, NULL);
    net_free(s);
}

const ag_sensor ag_sensor_net = { "net", net_start, net_stop };
