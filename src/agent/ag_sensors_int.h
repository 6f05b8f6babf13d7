/*
 * ag_sensors_int.h - private to the agent's sensors (ag_file.c, ag_net.c,
 * ag_logon.c, ag_inventory.c): the parsers and row builders they share with
 * their unit tests.
 *
 * Everything declared here is pure: it reads bytes (a log line, a dpkg status
 * file, a netlink reply, a fanotify read buffer) and fills plain structs or
 * appends JSON members to a vg_buf. No function here touches the agent (ag_*
 * of ag_int.h), a thread, a file descriptor or the clock, so the unit tests
 * drive them with canned input. The sensors put the results into rows:
 * ag_row_begin, then the *_members function, then ag_proc_initiating.
 */
#ifndef AG_SENSORS_INT_H
#define AG_SENSORS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/vg_err.h"
#include "../core/vg_str.h"
#include "../core/vg_time.h"

/* ---- limits (all sensors) ---- */
#define AG_LOG_LINE_MAX 8192           /* longest auth.log line read; longer ones are cut */
#define AG_DPKG_FIELD_MAX 1024         /* a dpkg field kept (Version, Maintainer) */
#define AG_INV_MAX_PACKAGES 100000     /* packages in one inventory snapshot */
#define AG_NET_MAX_SOCKETS 65536       /* sockets tracked as seen */
#define AG_NET_MAX_INODES 65536        /* socket inode -> pid map entries */
#define AG_FAN_PENDING_MAX 4096        /* files created/modified awaiting their close */
#define AG_FAN_PATHS_MAX 64            /* configured watched paths */

/* ---- IP addresses (ag_parse_diag.c) ---- */
/* Defender's LocalIPType/RemoteIPType of an address: "Public", "Private",
 * "Loopback", "LinkLocal", "Multicast", "Broadcast", "Reserved", "Teredo",
 * "FourToSixMapping". addr is 4 bytes (AF_INET) or 16 (AF_INET6); an
 * IPv4-mapped IPv6 address is classed as its IPv4 address. */
const char *ag_ip_type(int family, const uint8_t *addr);
/* Text form of an address (IPv4-mapped IPv6 is written as IPv4); cap >= 64. */
void ag_ip_format(int family, const uint8_t *addr, char *out, size_t cap);

/* ---- sock_diag (ag_parse_diag.c) ---- */
typedef struct ag_sock {
    int family;                /* AF_INET, AF_INET6 */
    int proto;                 /* IPPROTO_TCP, IPPROTO_UDP */
    int state;                 /* TCP_ESTABLISHED, TCP_LISTEN, TCP_CLOSE (unconnected UDP) */
    uint8_t src[16], dst[16];  /* network order; IPv4 in the first 4 bytes */
    uint16_t sport, dport;     /* host order */
    uint32_t uid;
    uint64_t inode;            /* 0: no owner (TIME_WAIT, orphans) */
} ag_sock;
/*
 * Parses one recv() of a NETLINK_SOCK_DIAG inet_diag dump: appends every
 * SOCK_DIAG_BY_FAMILY message to out (up to cap; *n counts them, more are
 * counted in *over), sets *done on NLMSG_DONE. proto is the protocol asked
 * for (the reply does not carry it). VG_EIO with d's message on NLMSG_ERROR,
 * VG_EPARSE on a truncated or malformed message.
 */
vg_err ag_diag_parse(const void *buf, size_t len, int proto, ag_sock *out, size_t cap,
                     size_t *n, size_t *over, bool *done, vg_diag *d);
/* The ActionType of a new socket: "ListeningConnectionCreated",
 * "InboundConnectionAccepted" (established, its local port a listener of the
 * same protocol) or "ConnectionSuccess"; NULL when not reported (closed TCP). */
typedef bool (*ag_listener_fn)(void *ctx, int proto, uint16_t port);
const char *ag_sock_action(const ag_sock *s, ag_listener_fn is_listener, void *ctx);
/* Appends ,"ActionType":..,"LocalIP":..,"LocalPort":..,"RemoteIP":..,... */
void ag_net_members(const ag_sock *s, const char *action, vg_buf *row);

/* ---- logons (ag_parse_logon.c) ---- */
/* A syslog line split: RFC3164 ("Nov 30 02:41:07 host prog[pid]: msg") or
 * RFC3339 ("2026-11-30T02:41:07.123+00:00 host prog[pid]: msg"). */
typedef struct ag_syslog {
    vg_time ts;
    vg_str host, prog, msg;
    pid_t pid;                 /* 0 when absent */
} ag_syslog;
/* now and tz_off_sec (local time minus UTC, seconds) place a year-less
 * RFC3164 stamp: this year, or last year when that would be in the future. */
vg_err ag_syslog_parse(vg_str line, vg_time now, long tz_off_sec, ag_syslog *out, vg_diag *d);

typedef struct ag_logon_ev {
    vg_time ts;
    bool success;
    const char *logon_type;    /* Interactive, RemoteInteractive, Network */
    const char *protocol;      /* ssh, sudo, su, login */
    char account[128];         /* whose credentials were used */
    char remote_ip[64];        /* "" none */
    int remote_port;           /* 0 none */
    char failure[48];          /* FailureReason, "" on success */
    char method[32];           /* ssh: password, publickey, ...; -> AdditionalFields */
    char target[128];          /* sudo/su: the account switched to; -> AdditionalFields */
    char command[512];         /* sudo: the command; -> AdditionalFields */
    char tty[64];
    pid_t pid;                 /* the process that logged it, 0 unknown */
} ag_logon_ev;
/* One auth.log message (prog and msg as split by ag_syslog_parse) into an
 * event; false when the message is not a logon this parser knows. */
bool ag_auth_parse(vg_str prog, vg_str msg, ag_logon_ev *ev);
/* A utmpx record (from wtmp: successful, from btmp: failed) into an event;
 * false for records that are not logons (boot, dead process, run level).
 * rec is a struct utmpx; len must be sizeof(struct utmpx). */
bool ag_utmp_parse(const void *rec, size_t len, bool failed, ag_logon_ev *ev);
/* Appends ,"ActionType":..,"LogonType":..,"AccountName":..,"AccountDomain":domain,... */
void ag_logon_members(const ag_logon_ev *ev, const char *domain, vg_buf *row);

/* ---- software inventory (ag_parse_dpkg.c) ---- */
typedef struct ag_pkg {
    vg_str name, version, arch, vendor;   /* point into the parsed text */
} ag_pkg;
/* Calls fn for every installed package of a dpkg status file (paragraphs
 * whose Status ends in "installed"); the vendor is the Maintainer's name
 * without its mail address. fn returning false stops the walk (VG_ELIMIT). */
typedef bool (*ag_pkg_fn)(void *ctx, const ag_pkg *p);
vg_err ag_dpkg_parse(vg_str text, ag_pkg_fn fn, void *ctx, vg_diag *d);
/* The same for `rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\n'`. */
vg_err ag_rpm_parse(vg_str text, ag_pkg_fn fn, void *ctx, vg_diag *d);
/* Appends the DeviceTvmSoftwareInventory members of one package. */
void ag_pkg_members(const ag_pkg *p, const char *os_version, const char *os_arch, vg_buf *row);

/* ---- fanotify (ag_parse_fan.c) ---- */
/* One fanotify event as decoded from a FAN_REPORT_DFID_NAME group's buffer.
 * The handles point into the buffer (struct file_handle bytes). */
typedef struct ag_fan_rec {
    uint64_t mask;
    pid_t pid;
    uint64_t fsid;             /* the two words of __kernel_fsid_t */
    const void *dir;           /* struct file_handle of the directory, or NULL */
    vg_str name;               /* entry name in dir ("" or "." for the dir itself) */
    const void *old_dir;       /* FAN_RENAME: where it came from */
    vg_str old_name;
    uint64_t old_fsid;
} ag_fan_rec;
/* Decodes every event of one read(); fn is called per event in order.
 * VG_EPARSE with d's message on a malformed buffer (after calling fn for
 * the events before it). */
typedef void (*ag_fan_fn)(void *ctx, const ag_fan_rec *r);
vg_err ag_fan_decode(const void *buf, size_t len, ag_fan_fn fn, void *ctx, vg_diag *d);

/* The file events the sensor reports, after pairing and coalescing. */
typedef enum ag_file_action {
    AG_FILE_CREATED, AG_FILE_MODIFIED, AG_FILE_DELETED, AG_FILE_RENAMED
} ag_file_action;
const char *ag_file_action_name(ag_file_action act);
typedef struct ag_file_ev {
    ag_file_action action;
    const char *path;          /* full path */
    const char *prev_path;     /* renames: the old full path, else NULL */
    const char *sha1, *sha256, *md5;   /* NULL or "" when not hashed */
    int64_t size;              /* -1 unknown */
} ag_file_ev;
/* Appends ,"ActionType":..,"FileName":..,"FolderPath":.. (and Previous*, hashes, FileSize). */
void ag_file_members(const ag_file_ev *ev, vg_buf *row);
/* Whether path is at or under one of the prefixes (whole components). */
bool ag_path_under(const char *path, const char *const *prefixes, size_t n);

/*
 * Rename pairing for kernels without FAN_RENAME (before 5.17): a FAN_MOVED_FROM
 * is held until the next event; a FAN_MOVED_TO of the same pid right after it
 * makes one rename, anything else turns the held one into a delete (moved out
 * of sight) and a lone MOVED_TO into a create (moved into sight).
 */
typedef struct ag_rename_pair {
    bool held;
    pid_t pid;
    char from[4096];
} ag_rename_pair;
typedef enum ag_pair_out { AG_PAIR_NONE, AG_PAIR_RENAME, AG_PAIR_DELETE, AG_PAIR_CREATE } ag_pair_out;
/* Feeds one move half (is_from) or any other event (is_move false). Up to two
 * results: *flushed for a held MOVED_FROM given up (AG_PAIR_DELETE with
 * flushed_path), and the return value for this event (AG_PAIR_RENAME with
 * prev = the held path, AG_PAIR_CREATE, or AG_PAIR_NONE when held/not a move). */
ag_pair_out ag_rename_feed(ag_rename_pair *rp, bool is_move, bool is_from, pid_t pid,
                           const char *path, char *prev, size_t prev_cap, bool *flushed,
                           char *flushed_path, size_t flushed_cap);

#endif
