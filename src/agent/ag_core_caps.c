/*
 * ag_core_caps.c - the capabilities vigil-agent keeps once it has started.
 *
 * The agent starts as root; after its sensors and the response part have
 * opened what needs full root, it keeps only what later work needs and drops
 * the rest from its effective, permitted, inheritable and bounding sets:
 *
 *   CAP_NET_ADMIN        isolation (nftables) at any time; the proc connector
 *   CAP_SYS_ADMIN        fanotify marks and permission events (hash blocking)
 *   CAP_SYS_PTRACE       /proc/PID/exe and /proc/PID/fd of every user's processes
 *   CAP_DAC_READ_SEARCH  hashing and scanning files of any owner; auth logs
 *   CAP_DAC_OVERRIDE     quarantine and restore: moving files of any owner
 *   CAP_FOWNER, CAP_CHOWN  restoring a quarantined file's owner and mode
 *   CAP_KILL             the KillProcess action
 *   CAP_SYS_RESOURCE     fanotify queues and marks over the default limits
 *   CAP_AUDIT_READ       the kernel audit stream (logons) where used
 *
 * Everything else (CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SETUID, CAP_MKNOD, ...)
 * goes. Not root (tests, a developer): nothing to drop, nothing done.
 */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ag_int.h"

static const int kept[] = {
    CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE,
    CAP_FOWNER, CAP_CHOWN, CAP_KILL, CAP_SYS_RESOURCE, CAP_AUDIT_READ,
};

static bool is_kept(int cap)
{
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        if (kept[i] == cap)
            return true;
    return false;
}

vg_err ag_drop_caps(vg_diag *d)
{
    if (geteuid() != 0)
        return VG_OK;
    /* the bounding set first: dropping from it needs CAP_SETPCAP, which goes next */
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
        if (!is_kept(cap) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
            return vg_diag_set(d, VG_EIO, "dropping capability %d from the bounding set: %s",
                               cap, strerror(errno));
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct have[_LINUX_CAPABILITY_U32S_3], data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &hdr, have) != 0)
        return vg_diag_set(d, VG_EIO, "capget: %s", strerror(errno));
    memset(data, 0, sizeof data);
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        int c = kept[i];
        /* only what we hold: a container may not grant all of them */
        uint32_t bit = (1u << (c % 32)) & have[c / 32].permitted;
        data[c / 32].effective |= bit;
        data[c / 32].permitted |= bit;
    }
    if (syscall(SYS_capset, &hdr, data) != 0)
        return vg_diag_set(d, VG_EIO, "capset: %s", strerror(errno));
    return VG_OK;
}
