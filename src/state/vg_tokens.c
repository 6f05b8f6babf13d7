/*
 * vg_tokens.c - API tokens and roles (vg_tokens.h): creation, the constant-
 * time check, the list and revocation, over the tokens table of state.db:
 *
 *   tokens(id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
 *          hash TEXT NOT NULL UNIQUE,
 *          created INTEGER NOT NULL,            -- unix seconds
 *          revoked INTEGER NOT NULL DEFAULT 0)  -- 0, or unix seconds
 *
 * `hash` is "sha256:" + the lowercase hex SHA-256 of the whole token text. A
 * token carries 256 random bits from OpenSSL's RAND, so an unsalted hash is
 * enough: there is nothing to guess.
 *
 * Checks run against an in-memory copy of the active tokens; the copy is
 * reloaded after each change made through this vg_auth, and before a check
 * when another connection (e.g. `vigil token ... --data DIR`) has changed
 * the tokens since: PRAGMA data_version says someone committed to state.db,
 * meta.tokens_version (bumped by triggers on the tokens table) says whether
 * it was the tokens, so audit and incident writes cost no reload. Every stored hash is compared with
 * CRYPTO_memcmp, with no early exit, so timing does not depend on the secret.
 *
 * First open: when the table is empty an "admin" token is created, written
 * to DIR/admin.token (mode 0600, written before the row is committed so a
 * crash never leaves an admin token nobody knows) and handed to the caller.
 *
 * The last active admin token cannot be revoked (the check and the update
 * run in one IMMEDIATE transaction, so two revocations at once cannot both
 * pass it): without one, nobody could create or revoke tokens again.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "../core/vg_log.h"
#include "vg_state.h"
#include "vg_tokens.h"

#define TOKEN_PREFIX "vgt_"
#define TOKEN_RANDOM_BYTES 32
#define HASH_PREFIX "sha256:"
#define HASH_TEXT_MAX (sizeof HASH_PREFIX + 64)

static const char *const role_names[VG_ROLE_COUNT_] = { "admin", "ingest", "viewer", "analyst",
                                                        "responder" };

const char *vg_role_name(vg_role r) { return r < VG_ROLE_COUNT_ ? role_names[r] : "?"; }

const char *vg_role_list(void) { return "admin, ingest, viewer, analyst, responder"; }

vg_err vg_role_parse(vg_str s, vg_role *out)
{
    for (int i = 0; i < VG_ROLE_COUNT_; i++)
        if (vg_str_eqc(s, role_names[i])) {
            *out = (vg_role)i;
            return VG_OK;
        }
    return VG_EINVAL;
}

vg_err vg_token_name_check(vg_str name, vg_diag *d)
{
    if (name.n == 0)
        return vg_diag_set(d, VG_EINVAL, "token name: empty (give 1 to %d characters)",
                           VG_TOKEN_MAX_NAME);
    if (name.n > VG_TOKEN_MAX_NAME)
        return vg_diag_set(d, VG_EINVAL, "token name: %zu characters, at most %d", name.n,
                           VG_TOKEN_MAX_NAME);
    for (size_t i = 0; i < name.n; i++) {
        unsigned char c = (unsigned char)name.p[i];
        if (c < 0x20 || c > 0x7e)
            return vg_diag_set(d, VG_EINVAL, "token name: character %zu (byte 0x%02x) is not "
                               "printable ASCII", i + 1, c);
    }
    if (name.p[0] == ' ' || name.p[name.n - 1] == ' ')
        return vg_diag_set(d, VG_EINVAL, "token name: leading or trailing space");
    return VG_OK;
}

static void put_iso_s(vg_buf *b, int64_t unix_s)
{
    char iso[32];
    vg_state_iso(unix_s * 1000, iso);
    vg_buf_put_json_str(b, vg_str_c(iso));
}

void vg_token_json(vg_buf *b, const vg_token_info *t, const char *secret)
{
    vg_buf_printf(b, "{\"id\":\"%lld\",\"name\":", (long long)t->id);
    vg_buf_put_json_str(b, vg_str_c(t->name));
    vg_buf_puts(b, ",\"role\":");
    vg_buf_put_json_str(b, vg_str_c(vg_role_name(t->role)));
    vg_buf_puts(b, ",\"created\":");
    put_iso_s(b, t->created);
    vg_buf_puts(b, ",\"revoked\":");
    if (t->revoked)
        put_iso_s(b, t->revoked);
    else
        vg_buf_puts(b, "null");
    if (secret) {
        vg_buf_puts(b, ",\"token\":");
        vg_buf_put_json_str(b, vg_str_c(secret));
    }
    vg_buf_putc(b, '}');
}

typedef struct tok {
    int64_t id;
    char name[VG_TOKEN_MAX_NAME + 1];
    vg_role role;
    unsigned char hash[32];
} tok;

struct vg_auth {
    sqlite3 *db;
    pthread_mutex_t mu;
    tok *v;               /* the active tokens */
    size_t n;
    int64_t data_version; /* of db when v was last checked */
    int64_t tokens_version; /* meta.tokens_version when v was loaded */
};

static void sha256(const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex1(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool parse_hash(const char *s, unsigned char out[32])
{
    size_t pl = strlen(HASH_PREFIX);
    if (!s || strncmp(s, HASH_PREFIX, pl) != 0 || strlen(s) != pl + 64)
        return false;
    s += pl;
    for (int i = 0; i < 32; i++) {
        int hi = unhex1(s[2 * i]), lo = unhex1(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

static void hash_text(const unsigned char h[32], char out[HASH_TEXT_MAX])
{
    memcpy(out, HASH_PREFIX, strlen(HASH_PREFIX));
    hex(h, 32, out + strlen(HASH_PREFIX));
}

static vg_err db_err(vg_auth *a, vg_diag *d, const char *what)
{
    return vg_diag_set(d, VG_EIO, "state.db: %s: %s", what, sqlite3_errmsg(a->db));
}

/* meta.tokens_version: bumped by triggers on every change of tokens. */
static int64_t tokens_version(sqlite3 *db)
{
    return vg_state_int(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key='tokens_version'");
}

static int64_t data_version(sqlite3 *db) { return vg_state_int(db, "PRAGMA data_version"); }

/* Reloads the active tokens; the caller holds mu (or is the only user). */
static vg_err reload(vg_auth *a, vg_diag *d)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(a->db, "SELECT id, name, role, hash FROM tokens WHERE revoked = 0",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(a, d, "reading tokens");
    tok *v = NULL;
    size_t n = 0, cap = 0;
    vg_err e = VG_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        tok t;
        memset(&t, 0, sizeof t);
        t.id = sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *role = (const char *)sqlite3_column_text(st, 2);
        const char *hash = (const char *)sqlite3_column_text(st, 3);
        vg_str_copy_c(t.name, sizeof t.name, vg_str_c(name));
        if (!role || vg_role_parse(vg_str_c(role), &t.role) || !parse_hash(hash, t.hash)) {
            vg_log(VG_LOG_WARN, "token ignored: bad role or hash in state.db",
                   VG_LI("token_id", t.id));
            continue;
        }
        if (n == cap) {
            if (cap >= VG_TOKEN_MAX_ACTIVE) {
                e = vg_diag_set(d, VG_ELIMIT, "state.db: more than %d active tokens",
                                VG_TOKEN_MAX_ACTIVE);
                break;
            }
            cap = cap ? cap * 2 : 16;
            tok *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                e = vg_diag_set(d, VG_ENOMEM, "out of memory loading tokens");
                break;
            }
            v = nv;
        }
        v[n++] = t;
    }
    if (e == VG_OK && rc != SQLITE_DONE)
        e = db_err(a, d, "reading tokens");
    sqlite3_finalize(st);
    if (e) {
        if (v)
            OPENSSL_cleanse(v, n * sizeof *v);
        free(v);
        return e;
    }
    if (a->v)
        OPENSSL_cleanse(a->v, a->n * sizeof *a->v);
    free(a->v);
    a->v = v;
    a->n = n;
    a->data_version = data_version(a->db);
    a->tokens_version = tokens_version(a->db);
    return VG_OK;
}

static vg_err new_secret(char **out, unsigned char hash[32], vg_diag *d)
{
    unsigned char rnd[TOKEN_RANDOM_BYTES];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return vg_diag_set(d, VG_EIO, "no randomness for a token");
    size_t pl = strlen(TOKEN_PREFIX);
    char *s = malloc(pl + 2 * sizeof rnd + 1);
    if (!s)
        return vg_diag_set(d, VG_ENOMEM, "out of memory creating a token");
    memcpy(s, TOKEN_PREFIX, pl);
    hex(rnd, sizeof rnd, s + pl);
    OPENSSL_cleanse(rnd, sizeof rnd);
    sha256(s, strlen(s), hash);
    *out = s;
    return VG_OK;
}

static void free_secret(char **secret)
{
    if (!*secret)
        return;
    OPENSSL_cleanse(*secret, strlen(*secret));
    free(*secret);
    *secret = NULL;
}

/* A row of SELECT id, name, role, created, revoked into *info. */
static void row_info(sqlite3_stmt *st, vg_token_info *info)
{
    memset(info, 0, sizeof *info);
    info->id = sqlite3_column_int64(st, 0);
    vg_str_copy_c(info->name, sizeof info->name,
                  vg_str_c((const char *)sqlite3_column_text(st, 1)));
    const char *role = (const char *)sqlite3_column_text(st, 2);
    if (!role || vg_role_parse(vg_str_c(role), &info->role))
        info->role = VG_ROLE_COUNT_;   /* shown as "?" */
    info->created = sqlite3_column_int64(st, 3);
    info->revoked = sqlite3_column_int64(st, 4);
}

/* The row of token id; VG_ENOTFOUND when there is none. The caller holds mu. */
static vg_err get_info(vg_auth *a, int64_t id, vg_token_info *info, vg_diag *d)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(a->db, "SELECT id, name, role, created, revoked FROM tokens "
                                  "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_err(a, d, "reading a token");
    sqlite3_bind_int64(st, 1, id);
    vg_err e = VG_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_info(st, info);
    else if (rc == SQLITE_DONE)
        e = vg_diag_set(d, VG_ENOTFOUND, "no token with id %lld", (long long)id);
    else
        e = db_err(a, d, "reading a token");
    sqlite3_finalize(st);
    return e;
}

vg_err vg_auth_create(vg_auth *a, const char *name, vg_role role, char **secret,
                      vg_token_info *info, vg_diag *d)
{
    *secret = NULL;
    vg_err e = vg_token_name_check(vg_str_c(name), d);
    if (e)
        return e;
    if ((unsigned)role >= VG_ROLE_COUNT_)
        return vg_diag_set(d, VG_EINVAL, "role: expected one of %s", vg_role_list());
    unsigned char h[32];
    char hh[HASH_TEXT_MAX];
    if ((e = new_secret(secret, h, d)))
        return e;
    hash_text(h, hh);
    pthread_mutex_lock(&a->mu);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO tokens(name, role, hash, created, revoked) "
                           "VALUES(?, ?, ?, ?, 0)",
                           -1, &st, NULL) != SQLITE_OK) {
        e = db_err(a, d, "adding a token");
        goto out;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, vg_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hh, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
    if (sqlite3_step(st) != SQLITE_DONE) {
        e = db_err(a, d, "adding a token");
        goto out;
    }
    int64_t id = sqlite3_last_insert_rowid(a->db);
    if ((e = reload(a, d)))
        goto out;
    if (info)
        e = get_info(a, id, info, d);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&a->mu);
    OPENSSL_cleanse(h, sizeof h);
    if (e)
        free_secret(secret);
    return e;
}

vg_err vg_auth_check(vg_auth *a, vg_str token, vg_principal *who)
{
    if (token.n == 0 || token.n > VG_TOKEN_MAX_SECRET)
        return VG_EAUTH;
    unsigned char h[32];
    sha256(token.p, token.n, h);
    pthread_mutex_lock(&a->mu);
    /* someone wrote to state.db: reload only when it was the tokens (the
     * audit log and incidents write all the time) */
    int64_t dv = data_version(a->db);
    if (dv != a->data_version) {
        a->data_version = dv;
        int64_t tv = tokens_version(a->db);
        if (tv < 0 || tv != a->tokens_version) {
            vg_diag d;
            if (reload(a, &d))
                vg_log(VG_LOG_ERROR, "cannot reload tokens", VG_LS("error", d.msg));
        }
    }
    const tok *found = NULL;
    for (size_t i = 0; i < a->n; i++) {
        int eq = CRYPTO_memcmp(h, a->v[i].hash, sizeof h) == 0;
        if (eq && !found)
            found = &a->v[i];
    }
    if (found) {
        who->id = found->id;
        memcpy(who->name, found->name, sizeof who->name);
        who->role = found->role;
    }
    pthread_mutex_unlock(&a->mu);
    OPENSSL_cleanse(h, sizeof h);
    return found ? VG_OK : VG_EAUTH;
}

vg_err vg_auth_list(vg_auth *a, vg_token_info **out, size_t *nout, vg_diag *d)
{
    *out = NULL;
    *nout = 0;
    vg_token_info *v = NULL;
    size_t n = 0, cap = 0;
    vg_err e = VG_OK;
    pthread_mutex_lock(&a->mu);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(a->db, "SELECT id, name, role, created, revoked FROM tokens "
                                  "ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
        e = db_err(a, d, "listing tokens");
        goto out;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            vg_token_info *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                e = vg_diag_set(d, VG_ENOMEM, "out of memory listing tokens");
                goto out;
            }
            v = nv;
        }
        row_info(st, &v[n++]);
    }
    if (rc != SQLITE_DONE)
        e = db_err(a, d, "listing tokens");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&a->mu);
    if (e) {
        free(v);
        return e;
    }
    *out = v;
    *nout = n;
    return VG_OK;
}

/* Runs a statement that returns one integer (binding p1 to its '?', if it
 * has one); -1 on failure. */
static int64_t query_int(sqlite3 *db, const char *sql, int64_t p1)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (strchr(sql, '?'))
        sqlite3_bind_int64(st, 1, p1);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

vg_err vg_auth_revoke(vg_auth *a, int64_t id, vg_token_info *info, vg_diag *d)
{
    vg_token_info cur;
    vg_err e = VG_OK;
    bool in_tx = false;
    pthread_mutex_lock(&a->mu);
    /* IMMEDIATE: the last-admin check and the update see the same table */
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        e = db_err(a, d, "revoking a token");
        goto out;
    }
    in_tx = true;
    if ((e = get_info(a, id, &cur, d)))
        goto out;
    if (cur.revoked == 0) {
        if (cur.role == VG_ROLE_ADMIN) {
            int64_t admins = query_int(a->db, "SELECT count(*) FROM tokens "
                                              "WHERE role = 'admin' AND revoked = 0", 0);
            if (admins < 0) {
                e = db_err(a, d, "counting admin tokens");
                goto out;
            }
            if (admins <= 1) {
                e = vg_diag_set(d, VG_ECONFLICT, "token %lld ('%s') is the last active admin "
                                "token; create another admin token before revoking it",
                                (long long)id, cur.name);
                goto out;
            }
        }
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(a->db, "UPDATE tokens SET revoked = ? WHERE id = ?", -1, &st,
                               NULL) != SQLITE_OK) {
            e = db_err(a, d, "revoking a token");
            goto out;
        }
        sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
        sqlite3_bind_int64(st, 2, id);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            e = db_err(a, d, "revoking a token");
            goto out;
        }
        if ((e = get_info(a, id, &cur, d)))
            goto out;
    }
    if (sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        e = db_err(a, d, "revoking a token");
        goto out;
    }
    in_tx = false;
    /* at once: the next request with this token must be refused */
    e = reload(a, d);
    if (info && e == VG_OK)
        *info = cur;
out:
    if (in_tx)
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&a->mu);
    return e;
}

/* Writes the admin token to DIR/admin.token (0600) durably. */
static vg_err write_token_file(const char *dir, const char *secret, vg_diag *d)
{
    char path[4096], tmp[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/admin.token", dir) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/admin.token.tmp", dir) >= sizeof tmp)
        return vg_diag_set(d, VG_ELIMIT, "data directory path too long");
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: %s", tmp, strerror(errno));
    vg_err e = VG_OK;
    size_t n = strlen(secret);
    if (fchmod(fd, 0600) != 0 || write(fd, secret, n) != (ssize_t)n || write(fd, "\n", 1) != 1 ||
        fsync(fd) != 0)
        e = vg_diag_set(d, VG_EIO, "%s: %s", tmp, strerror(errno));
    close(fd);
    if (e == VG_OK && rename(tmp, path) != 0)
        e = vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
    if (e == VG_OK) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    } else {
        unlink(tmp);
    }
    return e;
}

/* First open: the admin token, in DIR/admin.token before it counts. */
static vg_err bootstrap_admin(vg_auth *a, const char *dir, char **new_admin_token, vg_diag *d)
{
    char *secret = NULL;
    unsigned char h[32];
    char hh[HASH_TEXT_MAX];
    sqlite3_stmt *st = NULL;
    vg_err e = new_secret(&secret, h, d);
    if (e)
        return e;
    if ((e = write_token_file(dir, secret, d)))
        goto out;
    hash_text(h, hh);
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO tokens(name, role, hash, created, revoked) "
                           "VALUES('admin', 'admin', ?, ?, 0)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, hh, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, (int64_t)time(NULL)) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE) {
        e = db_err(a, d, "adding the admin token");
        goto out;
    }
    if ((e = reload(a, d)))
        goto out;
    *new_admin_token = secret;
    secret = NULL;
out:
    sqlite3_finalize(st);
    OPENSSL_cleanse(h, sizeof h);
    free_secret(&secret);
    return e;
}

vg_err vg_auth_open(const char *dir, vg_auth **out, char **new_admin_token, vg_diag *d)
{
    *out = NULL;
    *new_admin_token = NULL;
    vg_auth *a = calloc(1, sizeof *a);
    if (!a)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    pthread_mutex_init(&a->mu, NULL);
    a->data_version = -1;
    vg_err e = vg_state_open(dir, &a->db, d);   /* 0600, WAL, migrations */
    if (e)
        goto fail;
    /* a token change must survive a power loss too */
    sqlite3_exec(a->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    if ((e = reload(a, d)))
        goto fail;
    int64_t n = query_int(a->db, "SELECT count(*) FROM tokens", 0);
    if (n < 0) {
        e = db_err(a, d, "counting tokens");
        goto fail;
    }
    if (n == 0 && (e = bootstrap_admin(a, dir, new_admin_token, d)))
        goto fail;
    *out = a;
    return VG_OK;
fail:
    vg_auth_close(a);
    return e;
}

void vg_auth_close(vg_auth *a)
{
    if (!a)
        return;
    if (a->db)
        sqlite3_close(a->db);
    if (a->v)
        OPENSSL_cleanse(a->v, a->n * sizeof *a->v);
    free(a->v);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
