/*
 * vg_err.h - the one error enum of Vigil.
 *
 * Every function that can fail returns a vg_err; results come back through
 * out-parameters. The list is an X-macro so that the enum and vg_strerror()
 * cannot drift apart. Details that a user needs (file, line, column, field)
 * travel in a vg_diag the caller passes in; library code never prints.
 */
#ifndef VG_ERR_H
#define VG_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define VG_ERRORS(X)                                                  \
    X(VG_OK, "ok")                                                    \
    X(VG_ENOMEM, "out of memory")                                     \
    X(VG_EINVAL, "invalid argument")                                  \
    X(VG_EPARSE, "parse error")                                       \
    X(VG_ELIMIT, "limit exceeded")                                    \
    X(VG_EIO, "input/output error")                                   \
    X(VG_ENOTFOUND, "not found")                                      \
    X(VG_EEXIST, "already exists")                                    \
    X(VG_ECORRUPT, "data is damaged")                                 \
    X(VG_EUNSUPPORTED, "not supported")                               \
    X(VG_EAUTH, "not authorized")                                     \
    X(VG_ETYPE, "type mismatch")                                      \
    X(VG_EBUSY, "resource busy")                                      \
    X(VG_ECONFLICT, "changed by someone else (version conflict)")    \
    X(VG_EEOF, "end of input")

typedef enum vg_err {
#define VG_ERR_ENUM_(name, text) name,
    VG_ERRORS(VG_ERR_ENUM_)
#undef VG_ERR_ENUM_
    VG_ERR_COUNT_
} vg_err;

/* Human text for an error code; never NULL. */
const char *vg_strerror(vg_err e);

/* The symbolic name ("VG_EPARSE") of an error code; never NULL. */
const char *vg_errname(vg_err e);

/*
 * A diagnostic: the context of the last error, written by the callee.
 * Callers may pass NULL when they do not care about details.
 */
#define VG_DIAG_MAX 512
typedef struct vg_diag {
    char msg[VG_DIAG_MAX];
} vg_diag;

/* Writes a formatted message into d (if non-NULL) and returns e. */
vg_err vg_diag_set(vg_diag *d, vg_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
vg_err vg_diag_vset(vg_diag *d, vg_err e, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Prefixes the message already in d with a context ("file.evtx: "). */
void vg_diag_prefix(vg_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears a diagnostic. */
static inline void vg_diag_clear(vg_diag *d) { if (d) d->msg[0] = '\0'; }

#endif
