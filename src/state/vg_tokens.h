/*
 * vg_tokens.h - API tokens and roles: who may call vigild, and as what.
 *
 * A token is "vgt_" + 64 hex digits (256 random bits). state.db keeps only
 * "sha256:" + the hex SHA-256 of the whole token text (table tokens, see
 * vg_state.c); the secret is handed to the caller once, at creation, and is
 * never stored, logged or kept in memory after a check.
 *
 * Both vigild (checks on every request, the token API) and `vigil token
 * --data DIR` (offline, beside a running vigild) use this module: each opens
 * its own connection, and a vg_auth notices commits made by another
 * connection before its next check (PRAGMA data_version), so a revocation
 * made anywhere takes effect at the next request.
 *
 * Threads: every vg_auth_* call may be made from any thread; one mutex
 * guards the connection and the in-memory copy of the active tokens.
 */
#ifndef VG_TOKENS_H
#define VG_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/vg_err.h"
#include "../core/vg_str.h"

#define VG_TOKEN_MAX_SECRET 256   /* bytes of a presented token; longer is refused unread */
#define VG_TOKEN_MAX_NAME 64      /* bytes of a token's name */
#define VG_TOKEN_MAX_ACTIVE 100000/* active tokens kept in memory */

typedef enum vg_role {
    VG_ROLE_ADMIN,
    VG_ROLE_INGEST,
    VG_ROLE_VIEWER,
    VG_ROLE_ANALYST,
    VG_ROLE_RESPONDER,
    VG_ROLE_COUNT_
} vg_role;

#define VG_ROLE_BIT(r) (1u << (r))

/* "admin", "ingest", ...; "?" for a value out of range. */
const char *vg_role_name(vg_role r);
/* Exact, lower-case role name; VG_EINVAL else (vg_role_list names them). */
vg_err vg_role_parse(vg_str s, vg_role *out);
/* "admin, ingest, viewer, analyst, responder" (for messages and --help). */
const char *vg_role_list(void);

/* A token name: 1..VG_TOKEN_MAX_NAME printable ASCII characters, no leading
 * or trailing space. VG_EINVAL with the reason in d. */
vg_err vg_token_name_check(vg_str name, vg_diag *d);

/* Who a request authenticated as; never holds the secret. */
typedef struct vg_principal {
    int64_t id;
    char name[VG_TOKEN_MAX_NAME + 1];
    vg_role role;
} vg_principal;

/* One row of the token list; never the hash. */
typedef struct vg_token_info {
    int64_t id;
    char name[VG_TOKEN_MAX_NAME + 1];
    vg_role role;
    int64_t created;   /* unix seconds */
    int64_t revoked;   /* 0 (active), or unix seconds */
} vg_token_info;

/* The JSON form of a token, as the API and `vigil token --format json` give
 * it: {"id":"7","name":..,"role":..,"created":ISO,"revoked":ISO|null}, with
 * "token":secret added when secret is non-NULL (only at creation). */
void vg_token_json(vg_buf *b, const vg_token_info *t, const char *secret);

typedef struct vg_auth vg_auth;

/*
 * Opens (creating when needed) DIR/state.db. On the first open, when no
 * token exists, creates an "admin" token, writes it to DIR/admin.token (mode
 * 0600) and returns it in *new_admin_token (malloc'd; the caller shows it
 * once, or says where it is, and frees it); otherwise *new_admin_token is NULL.
 */
vg_err vg_auth_open(const char *dir, vg_auth **out, char **new_admin_token, vg_diag *d);
void vg_auth_close(vg_auth *a);

/* Creates a token (name checked by vg_token_name_check); *secret (malloc'd)
 * is the only copy of the secret; *info (optional) the new row. */
vg_err vg_auth_create(vg_auth *a, const char *name, vg_role role, char **secret,
                      vg_token_info *info, vg_diag *d);

/* Checks a presented token in constant time; VG_EAUTH when unknown or revoked. */
vg_err vg_auth_check(vg_auth *a, vg_str token, vg_principal *who);

/* Every token, active and revoked, by id: *out is malloc'd (free it). */
vg_err vg_auth_list(vg_auth *a, vg_token_info **out, size_t *n, vg_diag *d);

/*
 * Revokes token id; *info (optional) receives its row afterwards. Revoking a
 * revoked token changes nothing and succeeds. Errors: VG_ENOTFOUND (no such
 * token), VG_ECONFLICT (it is the last active admin token: nobody could
 * manage tokens afterwards), VG_EIO.
 */
vg_err vg_auth_revoke(vg_auth *a, int64_t id, vg_token_info *info, vg_diag *d);

#endif
