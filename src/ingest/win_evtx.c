/*
 * win_evtx.c - .evtx files through libevtx: libevtx reads the file and
 * renders each record as XML; expat parses that XML into a win_event, which
 * win_map_event() turns into a row like any other source form.
 *
 * vg_decode_evtx_file uses Vigil's own reader (evtx_read.c: faster, bounded,
 * fuzzed, and it reads files libevtx refuses). This libevtx path stays as
 * win_decode_evtx: the differential oracle of test_evtx_read (both must give
 * identical rows on every regression sample) and the only path that also
 * recovers deleted records from free space (recover=true).
 *
 * libevtx is given the file through a memfd (Linux) or, failing that, an
 * unlinked temporary file: its memory-range I/O handle lives in libbfio,
 * which the build does not link. vg_decode_evtx_file reads the live records,
 * as Event Viewer does. win_decode_evtx(recover=true) then adds the deleted
 * records libevtx finds in free space whose EventRecordID was not already
 * seen (free space often still holds copies of live records). With
 * vg_ingest_opts.evtx_recover, vg_decode_evtx_file does the same on top of
 * the native reader: the native reader loads the live records, then libevtx
 * adds only the recovered ones whose EventRecordID neither the native reader
 * nor libevtx's own live records had (numbered after the native ordinals).
 * A recovered fragment libevtx cannot read is skipped, not rejected: the
 * file never claimed it as a record.
 *
 * A record libevtx or expat cannot read is reported through the reject
 * callback (line = the record's ordinal, 1-based; recovered records follow
 * the live ones) and the others still load. A buffer libevtx cannot open at
 * all is one reject at line 0.
 *
 * XML caveat: libevtx writes control characters (CR in multi-line values, or
 * worse) as raw bytes. XML forbids most of them and expat folds CR LF into
 * LF, so before parsing they are swapped for private-use code points
 * U+10FFC0+c and swapped back in every value, keeping the data byte-exact.
 */
#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <stddef.h>
#include <libevtx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "evtx_read.h"
#include "win_event.h"

#define WIN_EVTX_MAX_XML VG_INGEST_MAX_RECORD   /* bytes of XML in one record */
#define WIN_EVTX_MAX_RECORDS (1 << 24)          /* records in one file */

/* ---- XML to win_event ---- */

typedef enum section { SEC_NONE, SEC_SYSTEM, SEC_EVENTDATA, SEC_USERDATA, SEC_OTHER } section;

typedef struct xml_ctx {
    XML_Parser p;
    win_event *ev;
    vg_diag *d;
    vg_err err;
    int depth;
    section sec;
    bool has_child[WIN_MAX_DEPTH + 2];
    vg_str el[WIN_MAX_DEPTH + 2];     /* element names on the path */
    vg_str data_name;                 /* Name="" of the current EventData item */
    vg_buf text;
} xml_ctx;

/* Copies s into the arena, undoing the control-character swap. */
static vg_str unswap(vg_arena *a, const char *s, size_t n)
{
    char *out = vg_arena_alloc(a, n + 1);
    if (!out)
        return VG_STR_NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *u = (const unsigned char *)s + i;
        if (u[0] == 0xF4 && i + 3 < n && u[1] == 0x8F && u[2] == 0xBF && u[3] >= 0x80 &&
            u[3] < 0xA0) {
            out[o++] = (char)(u[3] - 0x80);
            i += 3;
            continue;
        }
        out[o++] = s[i];
    }
    out[o] = '\0';
    return vg_str_make(out, o);
}

static void fail(xml_ctx *x, vg_err e)
{
    if (!x->err)
        x->err = e;
    XML_StopParser(x->p, XML_FALSE);
}

static vg_str attr(xml_ctx *x, const XML_Char **atts, const char *name)
{
    for (int i = 0; atts[i]; i += 2)
        if (strcmp(atts[i], name) == 0)
            return unswap(x->ev->arena, atts[i + 1], strlen(atts[i + 1]));
    return VG_STR_NULL;
}

static void system_attrs(xml_ctx *x, const char *name, const XML_Char **atts)
{
    win_event *ev = x->ev;
    if (strcmp(name, "Provider") == 0) {
        ev->provider = attr(x, atts, "Name");
        if (!ev->provider.p)
            ev->provider = attr(x, atts, "EventSourceName");
        ev->provider_guid = attr(x, atts, "Guid");
    } else if (strcmp(name, "TimeCreated") == 0) {
        ev->time_created = attr(x, atts, "SystemTime");
    } else if (strcmp(name, "Execution") == 0) {
        ev->pid = attr(x, atts, "ProcessID");
        ev->tid = attr(x, atts, "ThreadID");
    } else if (strcmp(name, "Security") == 0) {
        ev->user_sid = attr(x, atts, "UserID");
    } else if (strcmp(name, "Correlation") == 0) {
        ev->activity_id = attr(x, atts, "ActivityID");
    } else if (strcmp(name, "EventID") == 0) {
        ev->qualifiers = attr(x, atts, "Qualifiers");
    }
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    xml_ctx *x = ud;
    if (x->depth >= WIN_MAX_DEPTH) {
        vg_diag_set(x->d, VG_ELIMIT, "XML nested deeper than %d", WIN_MAX_DEPTH);
        fail(x, VG_ELIMIT);
        return;
    }
    x->has_child[x->depth] = true;
    x->depth++;
    x->has_child[x->depth] = false;
    x->el[x->depth] = VG_STR_NULL;
    vg_buf_clear(&x->text);
    if (x->depth == 2) {
        x->sec = strcmp(name, "System") == 0      ? SEC_SYSTEM
                 : strcmp(name, "EventData") == 0 ? SEC_EVENTDATA
                 : strcmp(name, "UserData") == 0  ? SEC_USERDATA
                                                  : SEC_OTHER;
        if (x->sec == SEC_USERDATA)
            x->ev->user_data = true;
        return;
    }
    if (x->depth < 3)
        return;
    if (x->sec == SEC_SYSTEM && x->depth == 3) {
        system_attrs(x, name, atts);
    } else if (x->sec == SEC_EVENTDATA && x->depth == 3) {
        x->data_name = strcmp(name, "Data") == 0 ? attr(x, atts, "Name")
                                                 : vg_str_dup(x->ev->arena, vg_str_c(name));
    }
    if (x->sec == SEC_SYSTEM || x->sec == SEC_USERDATA)
        x->el[x->depth] = vg_str_dup(x->ev->arena, vg_str_c(name));
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    xml_ctx *x = ud;
    (void)name;
    if (x->err)
        return;
    bool leaf = !x->has_child[x->depth];
    vg_str v = VG_STR_NULL;
    if (leaf && x->depth >= 3 && x->sec != SEC_OTHER) {
        v = unswap(x->ev->arena, x->text.p ? x->text.p : "", x->text.n);
        if (!v.p) {
            vg_diag_set(x->d, VG_ENOMEM, "out of memory");
            fail(x, VG_ENOMEM);
            return;
        }
    }
    vg_err e = VG_OK;
    if (x->depth == 3 && x->sec == SEC_SYSTEM && leaf) {
        win_event_set_system(x->ev, x->el[3], v);
    } else if (x->depth == 3 && x->sec == SEC_EVENTDATA) {
        if (!leaf)
            v = VG_STR_LIT("");
        e = x->data_name.p ? win_event_add(x->ev, x->data_name, v, x->d)
                           : win_event_add_param(x->ev, v, x->d);
    } else if (x->depth >= 4 && x->sec == SEC_USERDATA && leaf) {
        e = win_event_add(x->ev, x->el[x->depth], v, x->d);
    }
    if (e)
        fail(x, e);
    vg_buf_clear(&x->text);
    x->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    xml_ctx *x = ud;
    vg_buf_put(&x->text, s, (size_t)len);
}

/* Swaps C0 controls other than TAB and LF for U+10FFC0+c (see the top). */
static bool swap_controls(vg_buf *out, const char *xml, size_t n)
{
    vg_buf_clear(out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)xml[i];
        if (c < 0x20 && c != '\t' && c != '\n') {
            char seq[4] = { (char)0xF4, (char)0x8F, (char)0xBF, (char)(0x80 + c) };
            vg_buf_put(out, seq, 4);
        } else {
            vg_buf_putc(out, (char)c);
        }
    }
    return !out->failed;
}

/* Parses one record's XML into ev. */
static vg_err parse_xml(win_event *ev, const char *xml, size_t n, vg_buf *scratch, vg_diag *d)
{
    if (!swap_controls(scratch, xml, n))
        return vg_diag_set(d, VG_ELIMIT, "record XML larger than %u bytes", WIN_EVTX_MAX_XML);
    xml_ctx x = { .ev = ev, .d = d };
    vg_buf_init(&x.text, WIN_EVTX_MAX_XML);
    x.p = XML_ParserCreate("UTF-8");
    if (!x.p) {
        vg_buf_free(&x.text);
        return vg_diag_set(d, VG_ENOMEM, "cannot create an XML parser");
    }
    XML_SetUserData(x.p, &x);
    XML_SetElementHandler(x.p, on_start, on_end);
    XML_SetCharacterDataHandler(x.p, on_text);
    vg_err e = VG_OK;
    if (XML_Parse(x.p, scratch->p ? scratch->p : "", (int)scratch->n, XML_TRUE) ==
        XML_STATUS_ERROR) {
        e = x.err;
        if (!e)
            e = vg_diag_set(d, VG_EPARSE, "XML: %s at line %lu, column %lu",
                            XML_ErrorString(XML_GetErrorCode(x.p)),
                            (unsigned long)XML_GetCurrentLineNumber(x.p),
                            (unsigned long)XML_GetCurrentColumnNumber(x.p));
    } else if (x.err) {
        e = x.err;
    } else if (x.text.failed) {
        e = vg_diag_set(d, VG_ELIMIT, "a value is larger than %u bytes", WIN_EVTX_MAX_XML);
    }
    XML_ParserFree(x.p);
    vg_buf_free(&x.text);
    if (!e && !ev->event_id.n)
        e = vg_diag_set(d, VG_EPARSE, "no System/EventID");
    return e;
}

/* ---- libevtx ---- */

static void evtx_errmsg(libevtx_error_t *err, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (err) {
        libevtx_error_sprint(err, buf, cap);
        libevtx_error_free(&err);
    }
    /* libevtx stacks messages one per line; keep them on one */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ';';
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == ';' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (!buf[0])
        vg_str_copy_c(buf, cap, VG_STR_LIT("unknown libevtx error"));
}

/* Gives libevtx a path to the bytes: a memfd, else an unlinked temp file. */
static int open_image(vg_str file, char *path, size_t cap)
{
    int fd = memfd_create("vigil-evtx", MFD_CLOEXEC);
    if (fd < 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, cap, "%s/vigil-evtx-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        fd = mkstemp(path);
        if (fd < 0)
            return -1;
        unlink(path);
    }
    size_t off = 0;
    while (off < file.n) {
        ssize_t k = write(fd, file.p + off, file.n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)k;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

typedef struct evtx_run {
    vg_batchset *set;
    const vg_ingest_opts *o;
    vg_reject_fn reject;
    void *rctx;
    vg_ingest_result *res;
    vg_buf xml, scratch;
} evtx_run;

/* One record: XML -> event -> row. Returns only fatal errors (memory, sink). */
static vg_err do_record(evtx_run *run, libevtx_record_t *rec, uint64_t line, const char *what,
                        vg_diag *d)
{
    vg_diag rd = { "" };
    libevtx_error_t *err = NULL;
    size_t sz = 0;
    vg_err e = VG_OK;
    run->res->records++;
    if (libevtx_record_get_utf8_xml_string_size(rec, &sz, &err) != 1) {
        char m[256];
        evtx_errmsg(err, m, sizeof m);
        e = vg_diag_set(&rd, VG_ECORRUPT, "%s: libevtx: %s", what, m);
    } else if (sz == 0 || sz > WIN_EVTX_MAX_XML) {
        e = vg_diag_set(&rd, VG_ELIMIT, "%s: XML of %zu bytes (limit %u)", what, sz,
                        WIN_EVTX_MAX_XML);
    } else if (vg_buf_clear(&run->xml), !vg_buf_reserve(&run->xml, sz)) {
        return vg_diag_set(d, VG_ENOMEM, "out of memory for a record's XML");
    } else if (libevtx_record_get_utf8_xml_string(rec, (uint8_t *)run->xml.p, sz, &err) != 1) {
        char m[256];
        evtx_errmsg(err, m, sizeof m);
        e = vg_diag_set(&rd, VG_ECORRUPT, "%s: libevtx: %s", what, m);
    } else {
        size_t n = strnlen(run->xml.p, sz);
        vg_arena a;
        vg_arena_init(&a, 16384, 8u * VG_INGEST_MAX_RECORD);
        win_event ev;
        win_event_init(&ev, &a);
        e = parse_xml(&ev, run->xml.p, n, &run->scratch, &rd);
        if (!e)
            e = win_map_event(run->set, run->o, &ev, &rd);
        vg_arena_free(&a);
        if (e && e != VG_ENOMEM && e != VG_EIO)
            vg_diag_prefix(&rd, "%s: ", what);
    }
    if (!e) {
        run->res->accepted++;
        return VG_OK;
    }
    if (e == VG_ENOMEM || e == VG_EIO) {
        if (d)
            memcpy(d->msg, rd.msg, sizeof d->msg);
        return e;
    }
    run->res->rejected++;
    if (run->reject)
        run->reject(run->rctx, line, vg_str_c(rd.msg), VG_STR_NULL);
    return VG_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void reject_file(evtx_run *run, const char *msg)
{
    run->res->records++;
    run->res->rejected++;
    if (run->reject)
        run->reject(run->rctx, 0, vg_str_c(msg), VG_STR_NULL);
}

/*
 * The libevtx pass. live: decode the live records (win_decode_evtx);
 * otherwise only note their ids. recover: then add the recovered records
 * whose id is neither a live one nor in seen[0..nseen), numbered from
 * line_base + 1 (live: after libevtx's live records). Recovery alone
 * (!live) reports nothing for a buffer the native reader already rejected
 * as a whole (no ElfFile header).
 */
static vg_err libevtx_decode(vg_batchset *set, const vg_ingest_opts *o, vg_str file, bool live,
                             bool recover, const uint64_t *seen, size_t nseen, uint64_t line_base,
                             vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                             vg_diag *d);

vg_err vg_decode_evtx_file(vg_batchset *set, const vg_ingest_opts *o, vg_str file,
                           vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                           vg_diag *d)
{
    if (!o->evtx_recover)
        return win_decode_evtx_native(set, o, file, reject, reject_ctx, res, d);
    uint64_t *ids = NULL, ordinals = 0;
    size_t nids = 0;
    vg_err e = win_decode_evtx_native_ids(set, o, file, reject, reject_ctx, res, &ids, &nids,
                                          &ordinals, d);
    if (!e)
        e = libevtx_decode(set, o, file, false, true, ids, nids, ordinals, reject, reject_ctx,
                           res, d);
    free(ids);
    return e;
}

vg_err win_decode_evtx(vg_batchset *set, const vg_ingest_opts *o, vg_str file, bool recover,
                       vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res, vg_diag *d)
{
    return libevtx_decode(set, o, file, true, recover, NULL, 0, 0, reject, reject_ctx, res, d);
}

static vg_err libevtx_decode(vg_batchset *set, const vg_ingest_opts *o, vg_str file, bool live,
                             bool recover, const uint64_t *seen, size_t nseen, uint64_t line_base,
                             vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                             vg_diag *d)
{
    evtx_run run = { .set = set, .o = o, .reject = reject, .rctx = reject_ctx, .res = res };
    libevtx_file_t *f = NULL;
    libevtx_error_t *err = NULL;
    uint64_t *ids = NULL;
    char path[512], msg[VG_DIAG_MAX];
    vg_err e = VG_OK;
    int fd = -1, n = 0;
    size_t nrec = 0;
    vg_buf_init(&run.xml, WIN_EVTX_MAX_XML + 1);
    vg_buf_init(&run.scratch, 4u * WIN_EVTX_MAX_XML);
    if (file.n < 4096 || memcmp(file.p, "ElfFile", 8) != 0) {
        if (live)
            reject_file(&run, "not an EVTX file (no ElfFile header)");
        goto out;
    }
    if ((fd = open_image(file, path, sizeof path)) < 0) {
        e = vg_diag_set(d, VG_EIO, "cannot stage the EVTX file for libevtx: %s", strerror(errno));
        goto out;
    }
    if (libevtx_file_initialize(&f, &err) != 1) {
        libevtx_error_free(&err);
        e = vg_diag_set(d, VG_ENOMEM, "libevtx: cannot initialize");
        goto out;
    }
    if (libevtx_file_open(f, path, LIBEVTX_OPEN_READ, &err) != 1) {
        char m[256];
        evtx_errmsg(err, m, sizeof m);
        snprintf(msg, sizeof msg, "EVTX file cannot be opened%s: %s",
                 live ? "" : " by libevtx for recovery", m);
        reject_file(&run, msg);
        libevtx_file_free(&f, NULL);
        f = NULL;
        goto out;
    }
    if (libevtx_file_get_number_of_records(f, &n, &err) != 1 || n < 0)
        n = 0;
    libevtx_error_free(&err);
    if (n > WIN_EVTX_MAX_RECORDS) {
        if (!live)
            goto out;   /* the native reader read them; libevtx cannot note them all */
        snprintf(msg, sizeof msg, "EVTX file: %d records, only the first %d are read", n,
                 WIN_EVTX_MAX_RECORDS);
        reject_file(&run, msg);
        n = WIN_EVTX_MAX_RECORDS;
    }
    ids = calloc((size_t)n + nseen + 1, sizeof *ids);
    if (!ids) {
        e = vg_diag_set(d, VG_ENOMEM, "out of memory for %zu record ids", (size_t)n + nseen);
        goto out;
    }
    if (nseen)
        memcpy(ids, seen, nseen * sizeof *ids);
    nrec = nseen;
    for (int i = 0; i < n && !live && !e; i++) {
        libevtx_record_t *rec = NULL;
        uint64_t id;
        if (libevtx_file_get_record_by_index(f, i, &rec, &err) != 1) {
            libevtx_error_free(&err);
            continue;
        }
        if (libevtx_record_get_identifier(rec, &id, NULL) == 1)
            ids[nrec++] = id;
        libevtx_record_free(&rec, NULL);
    }
    for (int i = 0; i < n && live && !e; i++) {
        libevtx_record_t *rec = NULL;
        char what[64];
        snprintf(what, sizeof what, "record %d", i + 1);
        if (libevtx_file_get_record_by_index(f, i, &rec, &err) != 1) {
            char m[256];
            evtx_errmsg(err, m, sizeof m);
            err = NULL;
            run.res->records++;
            run.res->rejected++;
            snprintf(msg, sizeof msg, "%s: libevtx: %s", what, m);
            if (reject)
                reject(reject_ctx, (uint64_t)i + 1, vg_str_c(msg), VG_STR_NULL);
            continue;
        }
        uint64_t id;
        if (libevtx_record_get_identifier(rec, &id, NULL) == 1)
            ids[nrec++] = id;
        e = do_record(&run, rec, (uint64_t)i + 1, what, d);
        libevtx_record_free(&rec, NULL);
    }
    qsort(ids, nrec, sizeof *ids, cmp_u64);
    int nrecov = 0;
    if (!e && recover && libevtx_file_get_number_of_recovered_records(f, &nrecov, &err) != 1)
        nrecov = 0;
    libevtx_error_free(&err);
    for (int i = 0; i < nrecov && i < WIN_EVTX_MAX_RECORDS && !e; i++) {
        libevtx_record_t *rec = NULL;
        if (libevtx_file_get_recovered_record_by_index(f, i, &rec, &err) != 1) {
            /* libevtx's recovery scans free space heuristically and often finds
             * fragments; only the records the file claims are owed a reject */
            libevtx_error_free(&err);
            continue;
        }
        uint64_t id;
        if (libevtx_record_get_identifier(rec, &id, NULL) == 1 &&
            bsearch(&id, ids, nrec, sizeof *ids, cmp_u64)) {
            libevtx_record_free(&rec, NULL);
            continue;
        }
        char what[64];
        snprintf(what, sizeof what, "recovered record %d", i + 1);
        e = do_record(&run, rec, (live ? (uint64_t)n : line_base) + (uint64_t)i + 1, what, d);
        libevtx_record_free(&rec, NULL);
    }
out:
    if (f) {
        libevtx_file_close(f, NULL);
        libevtx_file_free(&f, NULL);
    }
    if (fd >= 0)
        close(fd);
    free(ids);
    vg_buf_free(&run.xml);
    vg_buf_free(&run.scratch);
    return e;
}
