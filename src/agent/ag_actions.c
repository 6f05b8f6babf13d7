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
    /* both parts start even when the other fails; the first error is returned
     * (the core then reports the agent Degraded) */
    bool applied = false;
    vg_diag di = { "" }, db = { "" };
    vg_err ei = ag_iso_restore_state(ag_identity(a)->state_dir, &applied, &di);
    ag_set_isolation(a, applied);
    /* hash blocking needs fanotify permission events (CONFIG_FANOTIFY_ACCESS_PERMISSIONS)
     * and CAP_SYS_ADMIN */
    vg_err eb = ag_block_start(a, &db);
    if (ei != VG_OK)
        return vg_diag_set(d, ei, "re-applying isolation: %s%s%s", di.msg,
                           eb != VG_OK ? "; hash blocking unavailable: " : "",
                           eb != VG_OK ? db.msg : "");
    if (eb != VG_OK)
        return vg_diag_set(d, eb, "hash blocking unavailable: %s", db.msg);
    return VG_OK;
}

/* Isolation stays in force when the agent stops: only Unisolate lifts it. */
void ag_response_stop(ag *a)
{
    ag_block_stop();
}
