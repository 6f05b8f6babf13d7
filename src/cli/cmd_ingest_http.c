/*
 * cmd_ingest_http.c - the HTTP client side of `vigil ingest --server`:
 * POST /api/v1/ingest?format=&table= with a zstd-compressed body of whole
 * records and a bearer token, through libcurl; parses the server's answer
 * {"accepted":N,"rejected":[{"line":L,"error":"..."}],"rejected_total":M}.
 *
 * A request the server did not acknowledge (503, connection refused or
 * reset) is retried a few times with backoff: the server acknowledges a
 * body only once it is durable, so a retry never duplicates rows.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "../core/vg_json.h"
#include "cli_int.h"

#define HTTP_RETRIES 4
#define HTTP_ZSTD_LEVEL 3
#define HTTP_MAX_ANSWER (16u << 20)   /* bytes of a response body we keep */
#define HTTP_URL_MAX 2048

struct cli_http {
    CURL *curl;
    ZSTD_CCtx *zc;
    char base[HTTP_URL_MAX];
    struct curl_slist *headers;
    vg_buf z;            /* compressed body */
    vg_buf answer;
    uint64_t wire, raw;
};

static bool curl_ready;

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    vg_buf *b = ctx;
    vg_buf_put(b, p, size * n);
    return b->failed ? 0 : size * n;
}

vg_err cli_http_open(const char *url, const char *token, cli_http **out, vg_diag *d)
{
    *out = NULL;
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    if (n == 0 || n >= HTTP_URL_MAX - 64 ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return vg_diag_set(d, VG_EINVAL, "--server: expected http://host:port, got '%s'", url);
    if (strlen(token) > 1024 || strpbrk(token, "\r\n"))
        return vg_diag_set(d, VG_EINVAL, "--token: not a valid token");
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return vg_diag_set(d, VG_EIO, "cannot initialize libcurl");
        curl_ready = true;
    }
    cli_http *h = calloc(1, sizeof *h);
    if (!h)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    memcpy(h->base, url, n);
    h->base[n] = '\0';
    vg_buf_init(&h->z, 0);
    vg_buf_init(&h->answer, HTTP_MAX_ANSWER);
    h->curl = curl_easy_init();
    h->zc = ZSTD_createCCtx();
    char auth[1100];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    struct curl_slist *hl = NULL;
    const char *hs[] = { auth, "Content-Type: application/x-ndjson", "Content-Encoding: zstd",
                         "Expect:" };
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        struct curl_slist *nl = curl_slist_append(hl, hs[i]);
        if (!nl) {
            curl_slist_free_all(hl);
            hl = NULL;
            break;
        }
        hl = nl;
    }
    h->headers = hl;
    if (!h->curl || !h->zc || !hl) {
        cli_http_close(h);
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    }
    ZSTD_CCtx_setParameter(h->zc, ZSTD_c_compressionLevel, HTTP_ZSTD_LEVEL);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &h->answer);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 600L);
    *out = h;
    return VG_OK;
}

void cli_http_close(cli_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    ZSTD_freeCCtx(h->zc);
    vg_buf_free(&h->z);
    vg_buf_free(&h->answer);
    free(h);
}

void cli_http_sent(const cli_http *h, uint64_t *wire, uint64_t *raw)
{
    *wire = h->wire;
    *raw = h->raw;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Reads the answer of a 200. */
static vg_err parse_answer(cli_http *h, uint64_t *accepted, uint64_t *rejected,
                           cli_http_reject_fn reject, void *ctx, vg_diag *d)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_json *root;
    vg_err e = vg_json_parse(&a, vg_str_make(h->answer.p ? h->answer.p : "", h->answer.n), &root,
                             d);
    if (e || root->kind != VG_JSON_OBJECT) {
        vg_arena_free(&a);
        return vg_diag_set(d, VG_EPARSE, "the server's answer is not the expected JSON object");
    }
    const vg_json *acc = vg_json_get(root, "accepted");
    const vg_json *rej = vg_json_get(root, "rejected");
    const vg_json *tot = vg_json_get(root, "rejected_total");
    uint64_t n = 0;
    if (acc && acc->kind == VG_JSON_NUMBER)
        vg_str_to_u64(acc->str, &n);
    *accepted = n;
    uint64_t listed = 0;
    if (rej && rej->kind == VG_JSON_ARRAY) {
        for (uint32_t i = 0; i < rej->n; i++) {
            const vg_json *it = rej->kids[i];
            const vg_json *line = vg_json_get(it, "line");
            const vg_json *err = vg_json_get(it, "error");
            uint64_t ln = 0;
            if (line && line->kind == VG_JSON_NUMBER)
                vg_str_to_u64(line->str, &ln);
            if (reject)
                reject(ctx, ln, err ? vg_json_text(err) : VG_STR_LIT("rejected"));
            listed++;
        }
    }
    n = listed;
    if (tot && tot->kind == VG_JSON_NUMBER)
        vg_str_to_u64(tot->str, &n);
    *rejected = n > listed ? n : listed;
    vg_arena_free(&a);
    return VG_OK;
}

vg_err cli_http_ingest(cli_http *h, vg_str body, const char *format, const char *table,
                       uint64_t *accepted, uint64_t *rejected, cli_http_reject_fn reject,
                       void *ctx, vg_diag *d)
{
    *accepted = *rejected = 0;
    if (!body.n)
        return VG_OK;
    /* the URL: base + path + query (table names are plain identifiers) */
    char url[HTTP_URL_MAX + 256];
    if (table && table[0])
        snprintf(url, sizeof url, "%s/api/v1/ingest?format=%s&table=%s", h->base, format, table);
    else
        snprintf(url, sizeof url, "%s/api/v1/ingest?format=%s", h->base, format);
    size_t bound = ZSTD_compressBound(body.n);
    vg_buf_clear(&h->z);
    if (!vg_buf_reserve(&h->z, bound))
        return vg_diag_set(d, VG_ENOMEM, "out of memory compressing a request");
    size_t zn = ZSTD_compress2(h->zc, h->z.p, bound, body.p, body.n);
    if (ZSTD_isError(zn))
        return vg_diag_set(d, VG_EIO, "zstd: %s", ZSTD_getErrorName(zn));
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, h->z.p);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)zn);
    long wait = 250;
    for (int attempt = 0;; attempt++) {
        vg_buf_clear(&h->answer);
        CURLcode cc = curl_easy_perform(h->curl);
        long status = 0;
        if (cc == CURLE_OK)
            curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
        bool retry = cc == CURLE_COULDNT_CONNECT || cc == CURLE_SEND_ERROR ||
                     cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING || status == 503;
        if (retry && attempt < HTTP_RETRIES) {
            sleep_ms(wait);
            wait *= 2;
            continue;
        }
        if (cc != CURLE_OK)
            return vg_diag_set(d, VG_EIO, "%s: %s", h->base, curl_easy_strerror(cc));
        if (status != 200) {
            /* the server's JSON error, or the start of whatever it said */
            vg_str msg = vg_str_make(h->answer.p ? h->answer.p : "", h->answer.n);
            vg_arena a;
            vg_arena_init(&a, 0, 0);
            vg_json *root;
            const vg_json *em = NULL;
            if (vg_json_parse(&a, msg, &root, NULL) == VG_OK)
                em = vg_json_get(root, "error");
            vg_str text = em ? vg_json_text(em) : vg_str_trim(msg);
            vg_err e = vg_diag_set(d, status == 401 || status == 403 ? VG_EAUTH : VG_EIO,
                                   "%s answered %ld: %.*s", h->base, status,
                                   (int)(text.n > 300 ? 300 : text.n), text.p ? text.p : "");
            vg_arena_free(&a);
            return e;
        }
        break;
    }
    h->wire += zn;
    h->raw += body.n;
    return parse_answer(h, accepted, rejected, reject, ctx, d);
}
