/*
 * ag_actions.c - the registry of response actions (ag_actions[]) the core
 * runs for each action the server hands out, and the start and stop of the
 * response side: isolation re-applied from the state dir (it survives agent
 * restarts) and the hash-blocking fanotify group.
 *
 * Each action lives in its own file; a new action is one row here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ag_response_int.h"

const ag_action ag_actions[] = {
    { "Isolate", ag_act_isolate },
    { "Unisolate", ag_act_unisolate },
    { "KillProcess", ag_act_kill },
    { "StopAndQuarantineFile", ag_act_quarantine },
    { "RestoreQuarantinedFile", ag_act_restore },
    { "CollectInvestigationPackage", ag_act_package },
    { "RunYaraScan", ag_act_yara },
    { NULL, NULL },
};

bool ag_resp_pathf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

bool ag_resp_is_hex(vg_str s, size_t n)
{
    if (s.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s.p[i] >= '0' && s.p[i] <= '9') || (s.p[i] >= 'a' && s.p[i] <= 'f') ||
              (s.p[i] >= 'A' && s.p[i] <= 'F')))
            return false;
    return true;
}

vg_err ag_response_start(ag *a, vg_diag *d)
{
    bool applied = false;
    vg_err e = ag_iso_restore_state(ag_identity(a)->state_dir, &applied, d);
    if (e != VG_OK) {
        vg_diag_prefix(d, "re-applying isolation: ");
        return e;
    }
    ag_set_isolation(a, applied);
    /* hash blocking needs fanotify permission events (CONFIG_FANOTIFY_ACCESS_PERMISSIONS
     * and CAP_SYS_ADMIN); without them the agent runs and the failure is the caller's to report */
    e = ag_block_start(a, d);
    if (e != VG_OK)
        vg_diag_prefix(d, "hash blocking unavailable: ");
    return e;
}

void ag_response_stop(ag *a)
{
    ag_block_stop();
}
