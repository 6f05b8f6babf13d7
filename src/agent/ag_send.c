/*
 * ag_send.c - the agent's HTTP client to vigild (libcurl) and what delivery
 * needs around it: zstd compression of batches and the retry backoff.
 *
 * One ag_http per thread (a CURL handle is not shared). TLS verification is
 * on unless the operator asked otherwise (--insecure-skip-verify); --cacert
 * names the CA bundle for a private server certificate. The token is sent as
 * a bearer header and never logged.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ag_int.h"

#define HTTP_URL_MAX 2048
#define HTTP_CONNECT_TIMEOUT_S 10L
#define HTTP_TIMEOUT_S 60L
#define ZSTD_LEVEL 3
#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 60000u

struct ag_http {
    CURL *c;
    char server[1024];
    char auth[300];            /* "Authorization: Bearer ..." */
    char cacert[4096];
    bool insecure;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

vg_err ag_http_new(const ag_http_opts *o, ag_http **out, vg_diag *d)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    if (!o->server || strncmp(o->server, "http", 4) != 0)
        return vg_diag_set(d, VG_EINVAL, "server '%s': give a URL (https://host:port)",
                           o->server ? o->server : "");
    ag_http *h = calloc(1, sizeof *h);
    if (!h)
        return vg_diag_set(d, VG_ENOMEM, "http");
    h->c = curl_easy_init();
    if (!h->c) {
        free(h);
        return vg_diag_set(d, VG_ENOMEM, "curl_easy_init");
    }
    snprintf(h->server, sizeof h->server, "%s", o->server);
    size_t n = strlen(h->server);
    while (n > 0 && h->server[n - 1] == '/')
        h->server[--n] = '\0';
    if (o->cacert)
        snprintf(h->cacert, sizeof h->cacert, "%s", o->cacert);
    h->insecure = o->insecure;
    *out = h;
    return VG_OK;
}

void ag_http_free(ag_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->c);
    explicit_bzero(h->auth, sizeof h->auth);
    free(h);
}

void ag_http_set_token(ag_http *h, const char *token)
{
    snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %s", token);
}

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
    vg_buf *b = ud;
    size_t n = sz * nm;
    vg_buf_put(b, p, n);
    return b->failed ? 0 : n;
}

vg_err ag_http_do(ag_http *h, const char *method, const char *path, const void *body,
                  size_t n, const char *ctype, const char *encoding, long *status,
                  vg_buf *resp, vg_diag *d)
{
    *status = 0;
    vg_buf_clear(resp);
    char url[HTTP_URL_MAX], hct[128], henc[64];
    snprintf(url, sizeof url, "%s%s", h->server, path);
    CURL *c = h->c;
    curl_easy_reset(c);
    struct curl_slist *hd = NULL;
    if (h->auth[0])
        hd = curl_slist_append(hd, h->auth);
    if (body) {
        snprintf(hct, sizeof hct, "Content-Type: %s", ctype ? ctype : "application/json");
        hd = curl_slist_append(hd, hct);
    }
    if (encoding) {
        snprintf(henc, sizeof henc, "Content-Encoding: %s", encoding);
        hd = curl_slist_append(hd, henc);
    }
    hd = curl_slist_append(hd, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, HTTP_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (h->cacert[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
    if (h->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? n : 0));
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    resp->limit = AG_HTTP_RESP_MAX;
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hd);
    if (rc != CURLE_OK)
        return vg_diag_set(d, VG_EIO, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    vg_buf_cstr(resp);
    return VG_OK;
}

vg_err ag_zstd(const void *p, size_t n, vg_buf *out, vg_diag *d)
{
    vg_buf_clear(out);
    size_t bound = ZSTD_compressBound(n);
    if (!vg_buf_reserve(out, bound))
        return vg_diag_set(d, VG_ENOMEM, "zstd: %zu bytes", bound);
    size_t r = ZSTD_compress(out->p, bound, p, n, ZSTD_LEVEL);
    if (ZSTD_isError(r))
        return vg_diag_set(d, VG_EIO, "zstd: %s", ZSTD_getErrorName(r));
    out->n = r;
    return VG_OK;
}

uint64_t ag_backoff_ms(unsigned failures, uint32_t rnd)
{
    uint64_t ms = BACKOFF_MIN_MS;
    for (unsigned i = 1; i < failures && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    /* +-25% jitter so that agents that lost the server together do not return together */
    uint64_t span = ms / 2;
    ms = ms - ms / 4 + (span ? rnd % span : 0);
    return ms;
}
