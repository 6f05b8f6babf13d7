/*
 * ag_core_exec.c - the process sensor: the kernel's proc connector (netlink,
 * PROC_EVENT_FORK/EXEC/EXIT) into DeviceProcessEvents rows.
 *
 * Forks and exits only keep the process cache current; each exec of a
 * thread-group leader becomes one ProcessCreated row with the new image
 * read from /proc (path, command line, user, hashes) and the InitiatingProcess*
 * columns from its parent in the cache. A process already gone when /proc is
 * read still gives a row with what the event and the cache know, and is
 * counted (procGone). Exec storms are held to --max-exec-rate by a token
 * bucket: execs over it are dropped and counted under "proc", never
 * silently. Subscribing needs CAP_NET_ADMIN (done before capabilities drop).
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ag_int.h"

#define EXEC_RECV_BUF 8192
#define EXEC_SOCK_RCVBUF (8 << 20)   /* bursts of events wait here */
#define EXEC_POLL_MS 500
#define EXEC_ROW_MAX (64u << 10)

typedef struct exec_state {
    int fd;
    pthread_t th;
    ag *a;
    double tokens;
    uint64_t last_ns;
    uint32_t rate;
    uint64_t ns_per_tick;
} exec_state;

static vg_err subscribe(int fd, bool on, vg_diag *d)
{
    /* nlmsghdr, then cn_msg, then the operation in cn_msg's data: laid out
     * in a byte buffer (cn_msg ends in a flexible array, so it cannot sit
     * inside a struct with a member after it in ISO C) */
    enum { LEN = NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(enum proc_cn_mcast_op)) };
    _Alignas(struct nlmsghdr) unsigned char buf[NLMSG_SPACE(LEN)];
    memset(buf, 0, sizeof buf);
    struct nlmsghdr *nl = (struct nlmsghdr *)(void *)buf;
    nl->nlmsg_len = LEN;
    nl->nlmsg_type = NLMSG_DONE;
    nl->nlmsg_pid = 0;
    struct cn_msg *cn = (struct cn_msg *)NLMSG_DATA(nl);
    cn->id.idx = CN_IDX_PROC;
    cn->id.val = CN_VAL_PROC;
    cn->len = sizeof(enum proc_cn_mcast_op);
    enum proc_cn_mcast_op op = on ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE;
    memcpy(cn->data, &op, sizeof op);
    if (send(fd, buf, LEN, 0) != (ssize_t)LEN)
        return vg_diag_set(d, VG_EIO, "proc connector subscribe: %s", strerror(errno));
    return VG_OK;
}

/* The token bucket: true when one more exec may be processed. */
static bool take_token(exec_state *s)
{
    uint64_t now = vg_mono_ns();
    s->tokens += (double)(now - s->last_ns) * s->rate / 1e9;
    s->last_ns = now;
    if (s->tokens > s->rate)
        s->tokens = s->rate;
    if (s->tokens < 1.0)
        return false;
    s->tokens -= 1.0;
    return true;
}

static void put_str(vg_buf *b, const char *key, const char *v)
{
    vg_buf_printf(b, ",\"%s\":", key);
    vg_buf_put_json_str(b, vg_str_c(v));
}

static void on_exec(exec_state *s, pid_t pid, pid_t ppid_hint)
{
    ag *a = s->a;
    ag_pcache *c = ag_pcache_of(a);
    ag_proc *p = malloc(sizeof *p);
    vg_buf row;
    vg_buf_init(&row, EXEC_ROW_MAX);
    if (!p)
        goto out;
    bool known = true;
    if (ag_pcache_refresh(c, pid, p, NULL) != VG_OK) {
        /* gone before we looked: what the event and the cache know */
        ag_count_stat(a, "procGone", 1);
        known = ag_pcache_lookup(c, pid, p);
        if (known && !ag_pcache_execd(c, pid)) {
            /* the cache holds the parent's image (copied at fork): not this one */
            p->exe[0] = p->cmdline[0] = p->name[0] = '\0';
            p->sha1[0] = p->sha256[0] = p->md5[0] = '\0';
        }
        if (!known) {
            memset(p, 0, sizeof *p);
            p->pid = pid;
            p->ppid = ppid_hint;
            p->logon_id = -1;
        }
    } else {
        ag_proc_get(a, pid, p);   /* fills the hashes through the cache */
    }
    ag_row_begin(a, &row, "DeviceProcessEvents", vg_time_now());
    vg_buf_puts(&row, ",\"ActionType\":\"ProcessCreated\"");
    put_str(&row, "FileName", p->name);
    put_str(&row, "FolderPath", p->exe);
    put_str(&row, "SHA1", p->sha1);
    put_str(&row, "SHA256", p->sha256);
    put_str(&row, "MD5", p->md5);
    vg_buf_printf(&row, ",\"ProcessId\":%d", (int)pid);
    put_str(&row, "ProcessCommandLine", p->cmdline);
    if (p->start_ticks) {
        char ts[VG_TIME_BUFSZ];
        vg_time_format(p->start, ts, sizeof ts);
        put_str(&row, "ProcessCreationTime", ts);
    }
    put_str(&row, "AccountDomain", ag_identity(a)->device_name);
    put_str(&row, "AccountName", p->user);
    put_str(&row, "AccountSid", "");
    if (p->logon_id >= 0)
        vg_buf_printf(&row, ",\"LogonId\":%" PRId64, p->logon_id);
    if (p->ppid > 0)
        ag_proc_initiating(a, p->ppid, &row);
    vg_buf_putc(&row, '}');
    if (row.failed)
        ag_count_drop(a, "proc", 1);
    else
        ag_emit(a, "proc", vg_str_make(row.p, row.n));
out:
    vg_buf_free(&row);
    free(p);
}

static void handle(exec_state *s, const struct proc_event *ev)
{
    ag_pcache *c = ag_pcache_of(s->a);
    switch (ev->what) {
    case PROC_EVENT_FORK:
        if (ev->event_data.fork.child_pid != ev->event_data.fork.child_tgid)
            break;   /* a new thread, not a process */
        ag_pcache_fork(c, ev->event_data.fork.parent_tgid, ev->event_data.fork.child_tgid,
                       ev->timestamp_ns / s->ns_per_tick);
        break;
    case PROC_EVENT_EXEC:
        if (ev->event_data.exec.process_pid != ev->event_data.exec.process_tgid)
            break;
        ag_count_stat(s->a, "procExec", 1);
        if (!take_token(s)) {
            ag_count_drop(s->a, "proc", 1);
            break;
        }
        on_exec(s, ev->event_data.exec.process_tgid, 0);
        break;
    case PROC_EVENT_EXIT:
        if (ev->event_data.exit.process_pid == ev->event_data.exit.process_tgid)
            ag_pcache_exit(c, ev->event_data.exit.process_tgid);
        break;
    default:
        break;
    }
}

static void *exec_thread(void *arg)
{
    exec_state *s = arg;
    char *buf = malloc(EXEC_RECV_BUF);
    if (!buf)
        return NULL;
    while (!ag_stopping(s->a)) {
        struct pollfd pf = { s->fd, POLLIN, 0 };
        int r = poll(&pf, 1, EXEC_POLL_MS);
        if (r <= 0)
            continue;
        ssize_t n = recv(s->fd, buf, EXEC_RECV_BUF, 0);
        if (n < 0) {
            if (errno == ENOBUFS) {
                /* the kernel dropped events: how many is unknown, so count one
                 * overflow and say so */
                ag_count_stat(s->a, "procOverflow", 1);
                ag_count_drop(s->a, "proc", 1);
            }
            continue;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_NOOP)
                continue;
            struct cn_msg *cn = NLMSG_DATA(h);
            if (cn->id.idx != CN_IDX_PROC || cn->len < sizeof(struct proc_event) - sizeof(((struct proc_event *)0)->event_data))
                continue;
            /* the event sits 4 bytes off 8-byte alignment after the headers: copy it */
            struct proc_event ev;
            memset(&ev, 0, sizeof ev);
            memcpy(&ev, cn->data, cn->len < sizeof ev ? cn->len : sizeof ev);
            handle(s, &ev);
        }
    }
    free(buf);
    return NULL;
}

static vg_err exec_start(ag *a, void **state, vg_diag *d)
{
    *state = NULL;
    exec_state *s = calloc(1, sizeof *s);
    if (!s)
        return vg_diag_set(d, VG_ENOMEM, "proc sensor");
    s->a = a;
    s->rate = ag_max_exec_rate(a);
    s->tokens = s->rate;
    s->last_ns = vg_mono_ns();
    long hz = sysconf(_SC_CLK_TCK);
    s->ns_per_tick = 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
    vg_err e = VG_OK;
    /* the cache first, then the subscription: filling takes a while on a busy
     * machine, and events queued meanwhile would be read late, their
     * processes gone. A process born in between is read from /proc when
     * first asked for (ag_proc_get). */
    size_t n = 0;
    ag_pcache_fill(ag_pcache_of(a), &n);
    s->fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (s->fd < 0) {
        e = vg_diag_set(d, VG_EIO, "proc connector socket: %s", strerror(errno));
        goto out;
    }
    int rcv = EXEC_SOCK_RCVBUF;
    if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
        setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0 };
    if (bind(s->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        e = vg_diag_set(d, VG_EIO, "proc connector bind: %s (needs root)", strerror(errno));
        goto out;
    }
    e = subscribe(s->fd, true, d);
    if (e != VG_OK)
        goto out;
    if (pthread_create(&s->th, NULL, exec_thread, s) != 0) {
        e = vg_diag_set(d, VG_EIO, "proc sensor thread");
        goto out;
    }
    *state = s;
out:
    if (e != VG_OK) {
        if (s->fd >= 0)
            close(s->fd);
        free(s);
    }
    return e;
}

static void exec_stop(ag *a, void *state)
{
    exec_state *s = state;
    if (!s)
        return;
    pthread_join(s->th, NULL);   /* the thread polls ag_stopping every EXEC_POLL_MS */
    subscribe(s->fd, false, NULL);
    close(s->fd);
    free(s);
}

const ag_sensor ag_sensor_proc = { "proc", exec_start, exec_stop };
