/*
 * vg_err.c - text for the error enum and the diagnostic helpers.
 */
#include "vg_err.h"

#include <stdio.h>
#include <string.h>

static const char *const err_text[] = {
#define VG_ERR_TEXT_(name, text) text,
    VG_ERRORS(VG_ERR_TEXT_)
#undef VG_ERR_TEXT_
};

static const char *const err_name[] = {
#define VG_ERR_NAME_(name, text) #name,
    VG_ERRORS(VG_ERR_NAME_)
#undef VG_ERR_NAME_
};

const char *vg_strerror(vg_err e)
{
    if ((unsigned)e >= VG_ERR_COUNT_)
        return "unknown error";
    return err_text[e];
}

const char *vg_errname(vg_err e)
{
    if ((unsigned)e >= VG_ERR_COUNT_)
        return "VG_E?";
    return err_name[e];
}

vg_err vg_diag_vset(vg_diag *d, vg_err e, const char *fmt, va_list ap)
{
    if (d)
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    return e;
}

vg_err vg_diag_set(vg_diag *d, vg_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vg_diag_vset(d, e, fmt, ap);
    va_end(ap);
    return e;
}

void vg_diag_prefix(vg_diag *d, const char *fmt, ...)
{
    char pre[VG_DIAG_MAX];
    char old[VG_DIAG_MAX];
    va_list ap;
    if (!d)
        return;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, d->msg, sizeof old);
    size_t np = strlen(pre), no = strlen(old);
    if (np > sizeof d->msg - 1)
        np = sizeof d->msg - 1;
    if (no > sizeof d->msg - 1 - np)
        no = sizeof d->msg - 1 - np;
    memcpy(d->msg, pre, np);
    memcpy(d->msg + np, old, no);
    d->msg[np + no] = '\0';
}
