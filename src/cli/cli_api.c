/*
 * cli_api.c - the command line's JSON-over-HTTP client (see cli_api.h):
 * libcurl with TLS verification on, a bearer token, bounded answers, and
 * the URL pieces (query encoding, nextLink checks) the list commands need.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_api.h"

#define CLI_API_DEFAULT_TIMEOUT 300L
#define CLI_API_CONNECT_TIMEOUT 10L
#define CLI_API_ETAG_MAX 256

struct cli_api {
    CURL *curl;
    char base[CLI_API_URL_MAX];
    char auth[CLI_API_TOKEN_MAX + 32];
    char cacert[CLI_API_URL_MAX];
    long timeout_s;
};

static bool curl_ready;

typedef struct answer_ctx {
    vg_buf *body;
    vg_buf *etag;
    bool too_big;
} answer_ctx;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    answer_ctx *a = ctx;
    vg_buf_put(a->body, p, size * n);
    if (a->body->failed) {
        a->too_big = a->body->n + size * n > CLI_API_MAX_ANSWER;
        return 0;
    }
    return size * n;
}

/* Keeps the value of an "ETag:" response header. */
static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    answer_ctx *a = ctx;
    vg_str h = vg_str_make(p, size * n);
    if (a->etag && vg_str_starts_ci(h, VG_STR_LIT("etag:"))) {
        vg_str v = vg_str_trim(vg_str_make(h.p + 5, h.n - 5));
        if (v.n <= CLI_API_ETAG_MAX) {
            vg_buf_clear(a->etag);
            vg_buf_putstr(a->etag, v);
        }
    }
    return size * n;
}

vg_err cli_api_open(const cli_api_opts *o, cli_api **out, vg_diag *d)
{
    *out = NULL;
    const char *url = o->server ? o->server : "";
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    bool https = strncmp(url, "https://", 8) == 0;
    if ((!https && strncmp(url, "http://", 7) != 0) || n <= (size_t)(https ? 8 : 7))
        return vg_diag_set(d, VG_EINVAL, "--server: expected http://host:port or https://host:port, got '%s'",
                           url);
    if (n >= CLI_API_URL_MAX / 2 || strpbrk(url, " \t\r\n?#"))
        return vg_diag_set(d, VG_EINVAL, "--server: not a base URL: '%s'", url);
    const char *tok = o->token ? o->token : "";
    size_t tn = strlen(tok);
    if (tn == 0)
        return vg_diag_set(d, VG_EINVAL, "needs --token T (or VIGIL_TOKEN in the environment)");
    if (tn > CLI_API_TOKEN_MAX)
        return vg_diag_set(d, VG_EINVAL, "--token: longer than %d characters", CLI_API_TOKEN_MAX);
    for (size_t i = 0; i < tn; i++)
        if ((unsigned char)tok[i] <= ' ' || (unsigned char)tok[i] >= 0x7f)
            return vg_diag_set(d, VG_EINVAL, "--token: character %zu is not printable ASCII", i + 1);
    const char *ca = o->cacert ? o->cacert : "";
    if (ca[0]) {
        if (!https)
            return vg_diag_set(d, VG_EINVAL, "--cacert is for https:// servers (got '%s')", url);
        if (strlen(ca) >= CLI_API_URL_MAX)
            return vg_diag_set(d, VG_EINVAL, "--cacert: path too long");
        FILE *f = fopen(ca, "rb");
        if (!f)
            return vg_diag_set(d, VG_EIO, "--cacert: cannot open %s: %s", ca, strerror(errno));
        fclose(f);
    }
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return vg_diag_set(d, VG_EIO, "cannot initialize libcurl");
        curl_ready = true;
    }
    cli_api *c = calloc(1, sizeof *c);
    if (!c)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return vg_diag_set(d, VG_ENOMEM, "cannot create a libcurl handle");
    }
    memcpy(c->base, url, n);
    c->base[n] = '\0';
    snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s", tok);
    snprintf(c->cacert, sizeof c->cacert, "%s", ca);
    c->timeout_s = o->timeout_s > 0 ? o->timeout_s : CLI_API_DEFAULT_TIMEOUT;
    *out = c;
    return VG_OK;
}

void cli_api_close(cli_api *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

const char *cli_api_base(const cli_api *c) { return c->base; }

vg_err cli_api_call(cli_api *c, const char *method, const char *path, const vg_buf *body,
                    const char *if_match, long *status, vg_buf *answer, vg_buf *etag, vg_diag *d)
{
    *status = 0;
    vg_buf_clear(answer);
    answer->limit = CLI_API_MAX_ANSWER;
    if (etag)
        vg_buf_clear(etag);
    char url[CLI_API_URL_MAX], im[CLI_API_ETAG_MAX + 16];
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->base, path) >= sizeof url)
        return vg_diag_set(d, VG_ELIMIT, "the request URL is longer than %d bytes", CLI_API_URL_MAX);
    struct curl_slist *hl = NULL, *nl;
    vg_err e = VG_OK;
    const char *hs[4] = { c->auth, "Accept: application/json", NULL, NULL };
    size_t nh = 2;
    if (body)
        hs[nh++] = "Content-Type: application/json";
    if (if_match) {
        snprintf(im, sizeof im, "If-Match: %s", if_match);
        hs[nh++] = im;
    }
    for (size_t i = 0; i < nh; i++) {
        if (!(nl = curl_slist_append(hl, hs[i]))) {
            e = vg_diag_set(d, VG_ENOMEM, "out of memory");
            goto out;
        }
        hl = nl;
    }
    /* no "Expect: 100-continue" round trip for bigger bodies */
    if (!(nl = curl_slist_append(hl, "Expect:"))) {
        e = vg_diag_set(d, VG_ENOMEM, "out of memory");
        goto out;
    }
    hl = nl;
    answer_ctx ac = { answer, etag, false };
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->p ? body->p : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->n);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ac);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &ac);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CLI_API_CONNECT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->cacert[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    CURLcode cc = curl_easy_perform(h);
    if (ac.too_big) {
        e = vg_diag_set(d, VG_ELIMIT, "%s %s: the answer is larger than %u MiB", method, path,
                        CLI_API_MAX_ANSWER >> 20);
        goto out;
    }
    if (cc != CURLE_OK) {
        e = vg_diag_set(d, VG_EIO, "%s: %s", c->base, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
out:
    curl_slist_free_all(hl);
    return e;
}

void cli_api_put_query(vg_buf *b, vg_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            vg_buf_putc(b, (char)ch);
        } else {
            vg_buf_putc(b, '%');
            vg_buf_putc(b, hex[ch >> 4]);
            vg_buf_putc(b, hex[ch & 15]);
        }
    }
}

vg_err cli_api_next_path(const cli_api *c, vg_str link, vg_buf *path, vg_diag *d)
{
    vg_buf_clear(path);
    for (size_t i = 0; i < link.n; i++)
        if ((unsigned char)link.p[i] <= ' ' || (unsigned char)link.p[i] >= 0x7f)
            return vg_diag_set(d, VG_EINVAL, "@odata.nextLink: character %zu is not allowed", i + 1);
    vg_str base = vg_str_c(c->base);
    if (link.n && link.p[0] == '/') {
        vg_buf_putstr(path, link);
    } else if (link.n > base.n && memcmp(link.p, base.p, base.n) == 0 && link.p[base.n] == '/') {
        vg_buf_put(path, link.p + base.n, link.n - base.n);
    } else {
        return vg_diag_set(d, VG_EINVAL, "@odata.nextLink points away from %s: '%.*s'", c->base,
                           (int)(link.n > 200 ? 200 : link.n), link.p);
    }
    vg_buf_cstr(path);
    return path->failed ? vg_diag_set(d, VG_ENOMEM, "out of memory") : VG_OK;
}
