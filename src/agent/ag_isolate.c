/*
 * ag_isolate.c - the Isolate and Unisolate actions: network containment with
 * nftables (libnftables).
 *
 * Isolation is one table, `inet vigil_isolation`, with input, output and
 * forward base chains of policy drop at priority AG_ISO_PRIORITY (after
 * conntrack so `ct state` is known, before mangle, NAT and filter). It lets
 * through loopback and TCP to and from the Vigil server's address(es) and
 * port, nothing else: DNS is not allowed, the server's addresses are resolved
 * once when isolating and pinned. A drop verdict in any table ends a packet,
 * so other tables' accepts cannot open a hole, and the agent never touches
 * another table: releasing deletes exactly this table, which restores the
 * ruleset as it was. The pinned target is kept in STATE/isolation.json so that
 * ag_response_start re-applies it after a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <nftables/libnftables.h>

#include "ag_response_int.h"
#include "../core/vg_arena.h"

#define ISO_STATE_FILE "isolation.json"
#define ISO_STATE_MAX (64u << 10)

/* ---- the server target ---- */

static void target_add(ag_iso_target *t, const char *text, bool v6)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->addr[i], text) == 0)
            return;
    if (t->n >= AG_ISO_MAX_ADDRS)
        return;
    vg_str_copy_c(t->addr[t->n], sizeof t->addr[t->n], vg_str_c(text));
    t->v6[t->n] = v6;
    t->n++;
}

vg_err ag_iso_resolve(const char *url, ag_iso_target *t, vg_diag *d)
{
    memset(t, 0, sizeof *t);
    if (!url || !*url)
        return vg_diag_set(d, VG_EINVAL, "isolate: the agent has no server URL");
    vg_str u = vg_str_c(url);
    uint16_t port;
    const char *rest;
    if (vg_str_starts_ci(u, vg_str_c("https://"))) {
        port = 443;
        rest = url + 8;
    } else if (vg_str_starts_ci(u, vg_str_c("http://"))) {
        port = 80;
        rest = url + 7;
    } else {
        return vg_diag_set(d, VG_EINVAL, "isolate: server URL '%s' is not http:// or https://", url);
    }
    size_t hl = strcspn(rest, "/?#");
    vg_str auth = vg_str_make(rest, hl);
    ptrdiff_t at = vg_str_rchr(auth, '@');
    if (at >= 0)
        auth = vg_str_make(auth.p + at + 1, auth.n - (size_t)at - 1);
    char host[256];
    vg_str portpart = { 0 };
    if (auth.n && auth.p[0] == '[') {
        ptrdiff_t close = vg_str_chr(auth, ']');
        if (close < 0)
            return vg_diag_set(d, VG_EINVAL, "isolate: server URL '%s': unterminated [IPv6]", url);
        if ((size_t)close - 1 >= sizeof host)
            return vg_diag_set(d, VG_ELIMIT, "isolate: server URL host too long");
        vg_str_copy_c(host, sizeof host, vg_str_make(auth.p + 1, (size_t)close - 1));
        if ((size_t)close + 1 < auth.n && auth.p[close + 1] == ':')
            portpart = vg_str_make(auth.p + close + 2, auth.n - (size_t)close - 2);
    } else {
        ptrdiff_t colon = vg_str_rchr(auth, ':');
        size_t n = colon >= 0 ? (size_t)colon : auth.n;
        if (n == 0 || n >= sizeof host)
            return vg_diag_set(d, VG_EINVAL, "isolate: server URL '%s' has no usable host", url);
        vg_str_copy_c(host, sizeof host, vg_str_make(auth.p, n));
        if (colon >= 0)
            portpart = vg_str_make(auth.p + colon + 1, auth.n - (size_t)colon - 1);
    }
    if (portpart.n) {
        uint64_t p;
        if (vg_str_to_u64(portpart, &p) != VG_OK || p == 0 || p > 65535)
            return vg_diag_set(d, VG_EINVAL, "isolate: server URL '%s': bad port", url);
        port = (uint16_t)p;
    }
    t->port = port;

    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0)
        return vg_diag_set(d, VG_ENOTFOUND, "isolate: cannot resolve server host '%s': %s", host,
                           gai_strerror(rc));
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char text[64];
        if (ai->ai_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, text, sizeof text);
            target_add(t, text, false);
        } else if (ai->ai_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, text, sizeof text);
            target_add(t, text, true);
        }
    }
    freeaddrinfo(res);
    if (t->n == 0)
        return vg_diag_set(d, VG_ENOTFOUND, "isolate: server host '%s' has no IP address", host);
    return VG_OK;
}

/* ---- the ruleset ---- */

void ag_iso_ruleset(const ag_iso_target *t, vg_buf *out)
{
    /* add + delete + define in one transaction: replaces an older copy of
     * our table atomically and works when there is none. */
    vg_buf_printf(out, "add table inet %s\ndelete table inet %s\n", AG_ISO_TABLE, AG_ISO_TABLE);
    vg_buf_printf(out, "table inet %s {\n", AG_ISO_TABLE);
    static const char *const chains[] = { "input", "output", "forward" };
    for (size_t c = 0; c < 3; c++) {
        vg_buf_printf(out, "  chain %s {\n    type filter hook %s priority %d; policy drop;\n",
                      chains[c], chains[c], AG_ISO_PRIORITY);
        if (c == 0)
            vg_buf_puts(out, "    iif \"lo\" accept\n");
        else if (c == 1)
            vg_buf_puts(out, "    oif \"lo\" accept\n");
        for (int i = 0; c < 2 && i < t->n; i++) {
            const char *fam = t->v6[i] ? "ip6" : "ip";
            if (c == 0)
                vg_buf_printf(out, "    %s saddr %s tcp sport %u ct state established accept\n",
                              fam, t->addr[i], t->port);
            else
                vg_buf_printf(out,
                              "    %s daddr %s tcp dport %u ct state new,established accept\n",
                              fam, t->addr[i], t->port);
        }
        vg_buf_puts(out, "  }\n");
    }
    vg_buf_puts(out, "}\n");
}

static vg_err nft_run(const char *cmd, bool quiet_err, vg_buf *output, vg_diag *d)
{
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft)
        return vg_diag_set(d, VG_ENOMEM, "nftables: cannot create a context");
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    vg_err e = VG_OK;
    if (nft_run_cmd_from_buffer(nft, cmd) != 0) {
        const char *err = nft_ctx_get_error_buffer(nft);
        e = quiet_err ? VG_ENOTFOUND
                      : vg_diag_set(d, VG_EIO, "nftables: %s", err && *err ? err : "command failed");
    } else if (output) {
        const char *o = nft_ctx_get_output_buffer(nft);
        vg_buf_puts(output, o ? o : "");
    }
    nft_ctx_free(nft);
    return e;
}

bool ag_iso_present(void)
{
    return nft_run("list table inet " AG_ISO_TABLE, true, NULL, NULL) == VG_OK;
}

vg_err ag_iso_apply(const ag_iso_target *t, vg_diag *d)
{
    vg_buf script;
    vg_buf_init(&script, 1u << 20);
    ag_iso_ruleset(t, &script);
    vg_err e = script.failed ? vg_diag_set(d, VG_ENOMEM, "isolate: ruleset too large")
                             : nft_run(vg_buf_cstr(&script), false, NULL, d);
    if (e == VG_OK && !ag_iso_present())
        e = vg_diag_set(d, VG_EIO, "isolate: table inet %s is missing after applying it",
                        AG_ISO_TABLE);
    vg_buf_free(&script);
    return e;
}

vg_err ag_iso_release(vg_diag *d)
{
    if (ag_iso_present()) {
        vg_err e = nft_run("delete table inet " AG_ISO_TABLE, false, NULL, d);
        if (e != VG_OK)
            return e;
    }
    if (ag_iso_present())
        return vg_diag_set(d, VG_EIO, "unisolate: table inet %s still present after deleting it",
                           AG_ISO_TABLE);
    return VG_OK;
}

/* ---- the state file ---- */

static void state_path(const char *state_dir, char *out, size_t cap, const char *suffix)
{
    ag_resp_pathf(out, cap, "%s/%s%s", state_dir, ISO_STATE_FILE, suffix);
}

static void target_json(const ag_iso_target *t, vg_buf *b)
{
    vg_buf_puts(b, "{\"Table\":\"inet " AG_ISO_TABLE "\",\"Chains\":[\"input\",\"output\",\"forward\"],"
                   "\"Policy\":\"drop\",\"Priority\":");
    vg_buf_printf(b, "%d,\"Loopback\":true,\"ServerAddresses\":[", AG_ISO_PRIORITY);
    for (int i = 0; i < t->n; i++) {
        if (i)
            vg_buf_putc(b, ',');
        vg_buf_put_json_str(b, vg_str_c(t->addr[i]));
    }
    vg_buf_printf(b, "],\"ServerPort\":%u}", t->port);
}

static vg_err write_atomic(const char *path, const char *tmp, vg_str data, vg_diag *d)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: %s", tmp, strerror(errno));
    bool ok = write(fd, data.p, data.n) == (ssize_t)data.n && fsync(fd) == 0;
    int err = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(ok ? errno : err));
    }
    return VG_OK;
}

static vg_err read_state(const char *path, ag_iso_target *t, bool *found, vg_diag *d)
{
    *found = false;
    memset(t, 0, sizeof *t);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? VG_OK : vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
    char *buf = malloc(ISO_STATE_MAX);
    ssize_t n = buf ? read(fd, buf, ISO_STATE_MAX) : -1;
    close(fd);
    vg_err e = VG_OK;
    vg_arena ar;
    vg_arena_init(&ar, 0, 1u << 20);
    vg_json *root = NULL;
    if (n < 0) {
        e = vg_diag_set(d, VG_EIO, "%s: cannot read", path);
        goto out;
    }
    if ((e = vg_json_parse(&ar, vg_str_make(buf, (size_t)n), &root, d)) != VG_OK) {
        vg_diag_prefix(d, "%s: ", path);
        goto out;
    }
    const vg_json *addrs = vg_json_get(root, "ServerAddresses");
    const vg_json *port = vg_json_get(root, "ServerPort");
    uint64_t p = 0;
    if (!addrs || addrs->kind != VG_JSON_ARRAY || !port ||
        vg_str_to_u64(vg_json_text(port), &p) != VG_OK || p == 0 || p > 65535) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: no ServerAddresses/ServerPort", path);
        goto out;
    }
    t->port = (uint16_t)p;
    for (uint32_t i = 0; i < addrs->n; i++) {
        char text[64];
        vg_str_copy_c(text, sizeof text, vg_json_text(addrs->kids[i]));
        unsigned char bin[16];
        if (inet_pton(AF_INET, text, bin) == 1)
            target_add(t, text, false);
        else if (inet_pton(AF_INET6, text, bin) == 1)
            target_add(t, text, true);
        else {
            e = vg_diag_set(d, VG_ECORRUPT, "%s: '%s' is not an IP address", path, text);
            goto out;
        }
    }
    if (t->n == 0) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: no server address", path);
        goto out;
    }
    *found = true;
out:
    vg_arena_free(&ar);
    free(buf);
    return e;
}

vg_err ag_iso_isolate_with(const char *state_dir, const char *server_url, vg_buf *result,
                           vg_diag *d)
{
    ag_iso_target t;
    vg_err e = ag_iso_resolve(server_url, &t, d);
    if (e != VG_OK)
        return e;
    char path[4200], tmp[4200];
    state_path(state_dir, path, sizeof path, "");
    state_path(state_dir, tmp, sizeof tmp, ".tmp");
    vg_buf js;
    vg_buf_init(&js, 1u << 16);
    target_json(&t, &js);
    /* the state first: an agent killed between the two re-applies at start */
    if ((e = write_atomic(path, tmp, vg_str_make(js.p, js.n), d)) == VG_OK &&
        (e = ag_iso_apply(&t, d)) == VG_OK)
        vg_buf_putstr(result, vg_str_make(js.p, js.n));
    if (e != VG_OK && !ag_iso_present())
        unlink(path);
    vg_buf_free(&js);
    return e;
}

vg_err ag_iso_release_with(const char *state_dir, vg_buf *result, vg_diag *d)
{
    bool was = ag_iso_present();
    vg_err e = ag_iso_release(d);
    if (e != VG_OK)
        return e;
    char path[4200];
    state_path(state_dir, path, sizeof path, "");
    if (unlink(path) != 0 && errno != ENOENT)
        return vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
    vg_buf_printf(result, "{\"Table\":\"inet " AG_ISO_TABLE "\",\"Deleted\":%s,\"Verified\":true}",
                  was ? "true" : "false");
    return VG_OK;
}

vg_err ag_iso_restore_state(const char *state_dir, bool *applied, vg_diag *d)
{
    *applied = false;
    char path[4200];
    state_path(state_dir, path, sizeof path, "");
    ag_iso_target t;
    bool found;
    vg_err e = read_state(path, &t, &found, d);
    if (e != VG_OK || !found)
        return e;
    if ((e = ag_iso_apply(&t, d)) == VG_OK)
        *applied = true;
    return e;
}

/* ---- the actions ---- */

vg_err ag_act_isolate(ag *a, const vg_json *params, vg_buf *result, vg_diag *d)
{
    const vg_json *type = params ? vg_json_get(params, "IsolationType") : NULL;
    if (type && !vg_str_eqc_ci(vg_json_text(type), "Full"))
        return vg_diag_set(d, VG_EUNSUPPORTED,
                           "isolate: IsolationType '%.*s' is not supported (only Full)",
                           (int)vg_json_text(type).n, vg_json_text(type).p);
    vg_err e = ag_iso_isolate_with(ag_identity(a)->state_dir, ag_server_url(a), result, d);
    if (e == VG_OK)
        ag_set_isolation(a, true);
    return e;
}

vg_err ag_act_unisolate(ag *a, const vg_json *params, vg_buf *result, vg_diag *d)
{
    vg_err e = ag_iso_release_with(ag_identity(a)->state_dir, result, d);
    if (e == VG_OK)
        ag_set_isolation(a, false);
    return e;
}
