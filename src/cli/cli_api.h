/*
 * cli_api.h - the JSON-over-HTTP client the `vigil` commands use to talk to a
 * vigild's REST API (incidents, alerts, detections, suppressions, hunting):
 * one libcurl handle per command run, a bearer token, HTTPS with the
 * system's CA store or --cacert FILE and verification always on, and a
 * bounded answer (CLI_API_MAX_ANSWER) so a misbehaving server cannot make
 * the command line allocate without end.
 *
 * The library side never prints: failures come back as a vg_err with the
 * reason in the vg_diag. A request whose transport worked returns VG_OK
 * whatever the HTTP status; callers read the status and the answer.
 */
#ifndef VG_CLI_API_H
#define VG_CLI_API_H

#include <stdbool.h>

#include "../core/vg_err.h"
#include "../core/vg_str.h"

#define CLI_API_MAX_ANSWER (64u << 20)   /* bytes of one response body */
#define CLI_API_URL_MAX 4096             /* bytes of a whole request URL */
#define CLI_API_TOKEN_MAX 1024

typedef struct cli_api cli_api;

typedef struct cli_api_opts {
    const char *server;     /* http://host:port or https://host:port, trailing '/' allowed */
    const char *token;      /* bearer token */
    const char *cacert;     /* PEM CA bundle for https ("" or NULL: the system's) */
    long timeout_s;         /* whole request; 0: 300 s */
} cli_api_opts;

/* Checks the options (URL scheme, token characters, cacert readable). */
vg_err cli_api_open(const cli_api_opts *o, cli_api **out, vg_diag *d);
void cli_api_close(cli_api *c);

/* The server's base URL without a trailing '/'. */
const char *cli_api_base(const cli_api *c);

/*
 * One request. path starts with '/' (query string included, already
 * encoded). body: JSON sent with Content-Type application/json, or NULL.
 * if_match: sent as If-Match when non-NULL. The answer's body goes to
 * answer (cleared first), its status to *status, and its ETag header (if
 * any) to etag (cleared first; may be NULL).
 */
vg_err cli_api_call(cli_api *c, const char *method, const char *path, const vg_buf *body,
                    const char *if_match, long *status, vg_buf *answer, vg_buf *etag, vg_diag *d);

/* Appends s percent-encoded for a query string value (RFC 3986 unreserved kept). */
void cli_api_put_query(vg_buf *b, vg_str s);

/*
 * A path to request from an "@odata.nextLink" value: relative links
 * ("/api/...") as they are, absolute ones only when they point at this same
 * server (the token is never sent elsewhere). VG_EINVAL otherwise.
 */
vg_err cli_api_next_path(const cli_api *c, vg_str link, vg_buf *path, vg_diag *d);

#endif
