/*
 * ag_parse_diag.c - the network sensor's parsers: NETLINK_SOCK_DIAG inet_diag
 * replies into ag_sock records, Defender's IP address types, and the
 * DeviceNetworkEvents members of one socket.
 *
 * Pure functions (see ag_sensors_int.h); ag_net.c owns the netlink socket,
 * the poll loop and the seen-socket table.
 */
#include "ag_sensors_int.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

static bool v4_mapped(const uint8_t *a)
{
    static const uint8_t pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(a, pre, 12) == 0;
}

static const char *v4_type(const uint8_t *a)
{
    if (a[0] == 127) return "Loopback";
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
        return "Private";
    if (a[0] == 169 && a[1] == 254) return "LinkLocal";
    if (a[0] >= 224 && a[0] <= 239) return "Multicast";
    if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) return "Broadcast";
    /* this network, shared address space (CGNAT), documentation, benchmarking, class E */
    if (a[0] == 0 || (a[0] == 100 && (a[1] & 0xc0) == 64) || (a[0] == 192 && a[1] == 0 && a[2] == 2) ||
        (a[0] == 198 && (a[1] & 0xfe) == 18) || (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
        (a[0] == 203 && a[1] == 0 && a[2] == 113) || a[0] >= 240)
        return "Reserved";
    return "Public";
}

const char *ag_ip_type(int family, const uint8_t *a)
{
    if (family == AF_INET) return v4_type(a);
    if (v4_mapped(a)) return v4_type(a + 12);
    static const uint8_t loop[16] = { [15] = 1 }, any[16] = { 0 };
    if (memcmp(a, loop, 16) == 0) return "Loopback";
    if (memcmp(a, any, 16) == 0) return "Reserved";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return "LinkLocal";
    if ((a[0] & 0xfe) == 0xfc) return "Private";                    /* fc00::/7 unique local */
    if (a[0] == 0xff) return "Multicast";
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) return "Teredo";   /* 2001::/32 */
    if (a[0] == 0x20 && a[1] == 0x02) return "FourToSixMapping";                     /* 6to4 */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) return "Reserved";
    return "Public";
}

void ag_ip_format(int family, const uint8_t *addr, char *out, size_t cap)
{
    if (family == AF_INET6 && v4_mapped(addr)) {
        family = AF_INET;
        addr += 12;
    }
    if (!inet_ntop(family, addr, out, (socklen_t)cap) && cap) out[0] = '\0';
}

vg_err ag_diag_parse(const void *buf, size_t len, int proto, ag_sock *out, size_t cap,
                     size_t *n, size_t *over, bool *done, vg_diag *d)
{
    const unsigned char *p = buf;
    size_t off = 0;
    while (off + sizeof(struct nlmsghdr) <= len) {
        struct nlmsghdr h;
        memcpy(&h, p + off, sizeof h);
        if (h.nlmsg_len < sizeof h || h.nlmsg_len > len - off)
            return vg_diag_set(d, VG_EPARSE,
                               "sock_diag reply: message at byte %zu claims %u bytes, %zu left", off,
                               h.nlmsg_len, len - off);
        const unsigned char *body = p + off + NLMSG_HDRLEN;
        size_t body_len = h.nlmsg_len - NLMSG_HDRLEN;
        if (h.nlmsg_type == NLMSG_DONE) {
            *done = true;
            return VG_OK;
        }
        if (h.nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr e = { 0 };
            memcpy(&e, body, body_len < sizeof e ? body_len : sizeof e);
            return vg_diag_set(d, VG_EIO, "sock_diag reply: kernel error %d (%s)", -e.error,
                               strerror(-e.error));
        }
        if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            if (body_len < sizeof(struct inet_diag_msg))
                return vg_diag_set(d, VG_EPARSE,
                                   "sock_diag reply: inet_diag_msg at byte %zu has %zu bytes, needs %zu",
                                   off, body_len, sizeof(struct inet_diag_msg));
            struct inet_diag_msg m;
            memcpy(&m, body, sizeof m);
            if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
                return vg_diag_set(d, VG_EPARSE, "sock_diag reply: address family %u is not inet",
                                   m.idiag_family);
            if (*n < cap) {
                ag_sock *s = &out[(*n)++];
                memset(s, 0, sizeof *s);
                s->family = m.idiag_family;
                s->proto = proto;
                s->state = m.idiag_state;
                size_t alen = m.idiag_family == AF_INET ? 4 : 16;
                memcpy(s->src, m.id.idiag_src, alen);
                memcpy(s->dst, m.id.idiag_dst, alen);
                s->sport = ntohs(m.id.idiag_sport);
                s->dport = ntohs(m.id.idiag_dport);
                s->uid = m.idiag_uid;
                s->inode = m.idiag_inode;
            } else {
                (*over)++;
            }
        }
        off += NLMSG_ALIGN(h.nlmsg_len);
    }
    if (off < len)
        return vg_diag_set(d, VG_EPARSE, "sock_diag reply: %zu trailing bytes after the last message",
                           len - off);
    return VG_OK;
}

const char *ag_sock_action(const ag_sock *s, ag_listener_fn is_listener, void *ctx)
{
    if (s->state == TCP_LISTEN) return "ListeningConnectionCreated";
    if (s->proto == IPPROTO_UDP && s->state == TCP_CLOSE)
        return s->sport ? "ListeningConnectionCreated" : NULL;
    if (s->state != TCP_ESTABLISHED) return NULL;
    if (is_listener && is_listener(ctx, s->proto, s->sport)) return "InboundConnectionAccepted";
    return "ConnectionSuccess";
}

static void member_str(vg_buf *b, const char *name, const char *v)
{
    vg_buf_putc(b, ',');
    vg_buf_put_json_str(b, vg_str_c(name));
    vg_buf_putc(b, ':');
    vg_buf_put_json_str(b, vg_str_c(v));
}

void ag_net_members(const ag_sock *s, const char *action, vg_buf *row)
{
    char ip[64];
    member_str(row, "ActionType", action);
    ag_ip_format(s->family, s->src, ip, sizeof ip);
    member_str(row, "LocalIP", ip);
    vg_buf_printf(row, ",\"LocalPort\":%u", s->sport);
    member_str(row, "LocalIPType", ag_ip_type(s->family, s->src));
    bool listening = strcmp(action, "ListeningConnectionCreated") == 0;
    if (!listening) {
        ag_ip_format(s->family, s->dst, ip, sizeof ip);
        member_str(row, "RemoteIP", ip);
        vg_buf_printf(row, ",\"RemotePort\":%u", s->dport);
        member_str(row, "RemoteIPType", ag_ip_type(s->family, s->dst));
    }
    member_str(row, "Protocol", s->proto == IPPROTO_UDP ? "Udp" : "Tcp");
}
