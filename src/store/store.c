/*
 * store.c - the vg_store object: opening a data directory (recovery),
 * appending batches durably, sealing tails into segments, retention, dead
 * letters and statistics.
 *
 * Invariants (see docs/store.md for the protocol):
 *  - a table's tail holds exactly its WAL records with LSN > sealed_lsn, in
 *    LSN order; sealing writes every tail row into segments, then commits by
 *    replacing tables/T/sealed.lsn, then drops the tail;
 *  - segments with seq >= the committed next_seq are orphans of an
 *    interrupted seal and are deleted on open;
 *  - a WAL file is deleted only when every record in it is sealed, i.e. its
 *    highest LSN is below the lowest LSN still in any tail.
 * One mutex (mu) guards tables, tails, segment lists and the WAL writer;
 * scans take references under it and then read without it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include "../core/vg_log.h"
#include "../core/vg_time.h"
#include "store_int.h"

#define LSN_MAGIC "VGLSN001"
#define LSN_FILE_SIZE 32

static bool syncing(const vg_store *s) { return !s->o.no_fsync; }

static void path_join(char *out, size_t cap, const char *a, const char *b)
{
    st_fmt(out, cap, "%s/%s", a, b);
}

static void table_dir(const vg_store *s, const vg_table_def *t, char *out, size_t cap)
{
    st_fmt(out, cap, "%s/tables/%s", s->dir, t->name);
}

static void day_dir(const vg_store *s, const vg_table_def *t, int64_t day, char *out, size_t cap)
{
    char ds[16];
    vg_day_format(day, ds, sizeof ds);
    st_fmt(out, cap, "%s/tables/%s/%s", s->dir, t->name, ds);
}

static void qdir(const vg_store *s, char *out, size_t cap) { path_join(out, cap, s->dir, "quarantine"); }

static void note_quarantine(vg_store *s, const char *what, const char *why)
{
    atomic_fetch_add(&s->quarantined, 1);
    vg_log(VG_LOG_WARN, "store: damaged data quarantined", VG_LS("what", what), VG_LS("reason", why));
}

/* ---- segments ---- */

void st_seg_unref(st_seg *g)
{
    if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
        return;
    if (g->fd >= 0)
        close(g->fd);
    seg_meta_free(g->m);
    free(g->map);
    free(g->path);
    free(g);
}

static vg_err verify_blobs(const seg_src *src, const seg_meta *m, vg_diag *d)
{
    vg_buf a, b;
    vg_buf_init(&a, 0);
    vg_buf_init(&b, 0);
    vg_err e = VG_OK;
    for (size_t i = 0; i < (size_t)m->nblocks * m->ncols && !e; i++) {
        const seg_cblock *c = &m->blocks[i];
        if (c->enc == ENC_NULL)
            continue;
        e = seg_blob_read(src, &c->data, &a, &b, d);
        if (!e && c->bloom.len)
            e = seg_blob_read(src, &c->bloom, &a, &b, d);
        if (!e && c->enc == ENC_DICT)
            e = seg_blob_read(src, &c->dict, &a, &b, d);
    }
    vg_buf_free(&a);
    vg_buf_free(&b);
    return e;
}

/* Opens a segment file and maps its columns onto the table's. */
static vg_err seg_open(const char *path, const vg_table_def *t, bool verify, st_seg **out,
                       vg_diag *d)
{
    st_seg *g = calloc(1, sizeof *g);
    if (!g)
        return VG_ENOMEM;
    atomic_init(&g->refs, 1);
    g->fd = open(path, O_RDONLY | O_CLOEXEC);
    g->path = strdup(path);
    vg_err e = VG_OK;
    struct stat st;
    if (g->fd < 0 || !g->path || fstat(g->fd, &st) != 0) {
        e = vg_diag_set(d, VG_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    g->bytes = (uint64_t)st.st_size;
    seg_src src = { g->fd, NULL, (uint64_t)st.st_size, g->path };
    if ((e = seg_meta_read(&src, &g->m, d)))
        goto out;
    if (strcmp(g->m->table, t->name) != 0) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: segment of table %s in the directory of %s", path,
                        g->m->table, t->name);
        goto out;
    }
    if (verify && (e = verify_blobs(&src, g->m, d)))
        goto out;
    g->map = malloc(((size_t)t->ncols + 1) * sizeof *g->map);
    if (!g->map) {
        e = VG_ENOMEM;
        goto out;
    }
    for (int c = 0; c <= t->ncols; c++)
        g->map[c] = -1;
    for (uint32_t k = 0; k < g->m->ncols; k++) {
        const seg_col *sc = &g->m->cols[k];
        if (sc->is_raw) {
            g->map[t->ncols] = (int)k;
            continue;
        }
        int c = vg_schema_col(t, vg_str_c(sc->name));
        if (c >= 0 && t->cols[c].type == sc->type && g->map[c] < 0)
            g->map[c] = (int)k;
    }
out:
    if (e) {
        st_seg_unref(g);
        return e;
    }
    *out = g;
    return VG_OK;
}

static vg_err table_add_seg(st_table *T, st_seg *g)
{
    if (T->nsegs == T->segs_cap) {
        size_t nc = T->segs_cap ? T->segs_cap * 2 : 16;
        st_seg **n = realloc(T->segs, nc * sizeof *n);
        if (!n)
            return VG_ENOMEM;
        T->segs = n;
        T->segs_cap = nc;
    }
    T->segs[T->nsegs++] = g;
    T->seg_rows += g->m->nrows;
    return VG_OK;
}

static void table_remove_seg(st_table *T, size_t i)
{
    st_seg *g = T->segs[i];
    T->seg_rows -= g->m->nrows;
    memmove(&T->segs[i], &T->segs[i + 1], (T->nsegs - i - 1) * sizeof *T->segs);
    T->nsegs--;
    st_seg_unref(g);
}

void st_store_seg_damaged(vg_store *s, st_seg *g, const char *why)
{
    pthread_mutex_lock(&s->mu);
    bool was = atomic_exchange(&g->damaged, true);
    if (!was) {
        for (size_t t = 0; t < s->ntables; t++) {
            st_table *T = &s->tables[t];
            for (size_t i = 0; i < T->nsegs; i++)
                if (T->segs[i] == g) {
                    table_remove_seg(T, i);
                    break;
                }
        }
        char q[4096];
        qdir(s, q, sizeof q);
        vg_diag qd;
        if (!s->o.read_only && st_quarantine_file(q, g->path, why, &qd))
            vg_log(VG_LOG_ERROR, "store: cannot quarantine", VG_LS("path", g->path),
                   VG_LS("error", qd.msg));
        note_quarantine(s, g->path, why);
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- sealed.lsn ---- */

static void lsn_encode(uint8_t out[LSN_FILE_SIZE], uint64_t lsn, uint64_t next_seq)
{
    memcpy(out, LSN_MAGIC, 8);
    for (int i = 0; i < 8; i++) {
        out[8 + i] = (uint8_t)(lsn >> (8 * i));
        out[16 + i] = (uint8_t)(next_seq >> (8 * i));
    }
    uint64_t h = st_hash(out, 24);
    for (int i = 0; i < 8; i++)
        out[24 + i] = (uint8_t)(h >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- loading a table ---- */

static bool parse_day(const char *name, int64_t *day)
{
    int y, m, dd;
    char extra;
    if (strlen(name) != 10 || sscanf(name, "%4d-%2d-%2d%c", &y, &m, &dd, &extra) != 3)
        return false;
    if (m < 1 || m > 12 || dd < 1 || dd > 31)
        return false;
    *day = vg_time_day(vg_time_from_civil(y, m, dd, 0, 0, 0, 0));
    return true;
}

static bool parse_seq(const char *name, uint64_t *seq)
{
    size_t n = strlen(name);
    if (n <= 4 || strcmp(name + n - 4, ".seg") != 0)
        return false;
    return vg_str_to_u64(vg_str_make(name, n - 4), seq) == VG_OK;
}

static int cmp_seg(const void *a, const void *b)
{
    const st_seg *x = *(st_seg *const *)a, *y = *(st_seg *const *)b;
    if (x->m->day != y->m->day)
        return x->m->day < y->m->day ? -1 : 1;
    return x->m->seq < y->m->seq ? -1 : x->m->seq > y->m->seq;
}

static vg_err load_table(vg_store *s, st_table *T, vg_diag *d)
{
    char tdir[4096], p[4096], q[4096];
    table_dir(s, T->def, tdir, sizeof tdir);
    qdir(s, q, sizeof q);
    T->next_seq = 1;
    DIR *dh = opendir(tdir);
    if (!dh)
        return VG_OK;
    T->dir_made = true;
    bool derive = false;
    vg_buf lb;
    vg_buf_init(&lb, 0);
    path_join(p, sizeof p, tdir, "sealed.lsn");
    vg_err e = st_read_file(p, &lb, 4096, d);
    if (e == VG_OK) {
        const uint8_t *b = (const uint8_t *)lb.p;
        if (lb.n == LSN_FILE_SIZE && !memcmp(b, LSN_MAGIC, 8) && get64(b + 24) == st_hash(b, 24)) {
            T->sealed_lsn = get64(b + 8);
            T->next_seq = get64(b + 16);
        } else {
            derive = true;
            if (!s->o.read_only)
                st_quarantine_file(q, p, "sealed.lsn checksum mismatch", d);
            note_quarantine(s, p, "sealed.lsn checksum mismatch; derived from segment footers");
        }
    } else if (e != VG_ENOTFOUND) {
        vg_buf_free(&lb);
        closedir(dh);
        return e;
    }
    vg_buf_free(&lb);
    e = VG_OK;
    struct dirent *de;
    while ((de = readdir(dh)) && !e) {
        int64_t day;
        if (!parse_day(de->d_name, &day))
            continue;
        char dd[4096];
        path_join(dd, sizeof dd, tdir, de->d_name);
        DIR *sh = opendir(dd);
        if (!sh)
            continue;
        struct dirent *fe;
        while ((fe = readdir(sh))) {
            uint64_t seq;
            path_join(p, sizeof p, dd, fe->d_name);
            size_t fl = strlen(fe->d_name);
            if (fl > 4 && !strcmp(fe->d_name + fl - 4, ".tmp")) {
                if (!s->o.read_only)
                    unlink(p);
                continue;
            }
            if (!parse_seq(fe->d_name, &seq))
                continue;
            if (!derive && seq >= T->next_seq) {
                /* orphan of an interrupted seal: its rows are still in the WAL */
                if (!s->o.read_only) {
                    unlink(p);
                    vg_log(VG_LOG_INFO, "store: removed orphan segment", VG_LS("path", p));
                }
                continue;
            }
            st_seg *g;
            vg_diag sd;
            vg_err se = seg_open(p, T->def, s->o.verify, &g, &sd);
            if (se == VG_ENOMEM) {
                e = se;
                break;
            }
            if (se) {
                if (!s->o.read_only)
                    st_quarantine_file(q, p, sd.msg, NULL);
                note_quarantine(s, p, sd.msg);
                continue;
            }
            if ((e = table_add_seg(T, g))) {
                st_seg_unref(g);
                break;
            }
            if (derive) {
                if (g->m->max_lsn > T->sealed_lsn)
                    T->sealed_lsn = g->m->max_lsn;
                if (g->m->seq >= T->next_seq)
                    T->next_seq = g->m->seq + 1;
            }
        }
        closedir(sh);
    }
    closedir(dh);
    if (T->nsegs)
        qsort(T->segs, T->nsegs, sizeof *T->segs, cmp_seg);
    return e;
}

/* ---- tails ---- */

static vg_err tail_push(st_table *T, st_chunk *c)
{
    if (T->ntail == T->tail_cap) {
        size_t nc = T->tail_cap ? T->tail_cap * 2 : 64;
        st_chunk **n = realloc(T->tail, nc * sizeof *n);
        if (!n)
            return VG_ENOMEM;
        T->tail = n;
        T->tail_cap = nc;
    }
    T->tail[T->ntail++] = c;
    T->tail_rows += c->b.nrows;
    T->tail_bytes += c->bytes;
    return VG_OK;
}

/* ---- WAL files ---- */

static void wal_path(const vg_store *s, uint64_t seq, char *out, size_t cap)
{
    st_fmt(out, cap, "%s/wal/%08llu.wal", s->dir, (unsigned long long)seq);
}

static st_walfile *walfile_add(vg_store *s, uint64_t seq)
{
    if (s->nwalfiles == s->walfiles_cap) {
        size_t nc = s->walfiles_cap ? s->walfiles_cap * 2 : 16;
        st_walfile *n = realloc(s->walfiles, nc * sizeof *n);
        if (!n)
            return NULL;
        s->walfiles = n;
        s->walfiles_cap = nc;
    }
    st_walfile *w = &s->walfiles[s->nwalfiles++];
    memset(w, 0, sizeof *w);
    w->seq = seq;
    return w;
}

typedef struct replay_ctx {
    vg_store *s;
    st_walfile *wf;
    const char *path;
    uint64_t truncate_at;   /* UINT64_MAX: keep */
    const uint8_t *file;
} replay_ctx;

static vg_err replay_item(void *ctx, wal_item *it, vg_diag *d)
{
    replay_ctx *rc = ctx;
    vg_store *s = rc->s;
    char q[4096], why[512];
    qdir(s, q, sizeof q);
    if (it->ev == WAL_EV_TORN) {
        rc->truncate_at = it->off;
        vg_log(VG_LOG_INFO, "store: truncating torn WAL tail", VG_LS("path", rc->path),
               VG_LI("offset", it->off), VG_LI("bytes", it->len));
        return VG_OK;
    }
    if (it->ev == WAL_EV_BAD) {
        st_fmt(why, sizeof why, "%s: %s at offset %llu (%llu bytes)", rc->path, it->why,
                 (unsigned long long)it->off, (unsigned long long)it->len);
        if (!s->o.read_only) {
            const char *base = strrchr(rc->path, '/');
            st_quarantine_bytes(q, base ? base + 1 : rc->path, rc->file + it->off, it->len, why,
                                NULL);
        }
        note_quarantine(s, rc->path, why);
        return VG_OK;
    }
    if (it->lsn > rc->wf->max_lsn)
        rc->wf->max_lsn = it->lsn;
    if (it->lsn >= s->next_lsn)
        s->next_lsn = it->lsn + 1;
    st_chunk *c;
    vg_diag pd;
    vg_err e = wal_payload_decode(it->payload, it->payload_len, &c, &pd);
    it->payload = NULL;   /* taken */
    if (e == VG_ENOMEM)
        return vg_diag_set(d, e, "%s: out of memory replaying offset %llu", rc->path,
                           (unsigned long long)it->off);
    if (e) {
        st_fmt(why, sizeof why, "%s: record at offset %llu: %s", rc->path,
                 (unsigned long long)it->off, pd.msg);
        if (!s->o.read_only)
            st_quarantine_bytes(q, "wal-record", rc->file + it->off, it->len, why, NULL);
        note_quarantine(s, rc->path, why);
        return VG_OK;
    }
    st_table *T = &s->tables[c->b.table->id];
    if (it->lsn <= T->sealed_lsn || (T->ntail && it->lsn <= T->tail[T->ntail - 1]->lsn)) {
        st_chunk_unref(c);
        return VG_OK;
    }
    c->lsn = it->lsn;
    c->ingest_day = vg_time_day(it->time);
    if ((e = tail_push(T, c))) {
        st_chunk_unref(c);
        return vg_diag_set(d, e, "out of memory replaying the WAL");
    }
    return VG_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static vg_err replay_wal(vg_store *s, vg_diag *d)
{
    char wdir[4096], p[4096], q[4096];
    path_join(wdir, sizeof wdir, s->dir, "wal");
    qdir(s, q, sizeof q);
    DIR *dh = opendir(wdir);
    if (!dh)
        return s->o.read_only ? VG_OK
                              : vg_diag_set(d, VG_EIO, "%s: cannot open: %s", wdir, strerror(errno));
    uint64_t *seqs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t l = strlen(de->d_name);
        uint64_t seq;
        if (l <= 4 || strcmp(de->d_name + l - 4, ".wal") ||
            vg_str_to_u64(vg_str_make(de->d_name, l - 4), &seq))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *ns = realloc(seqs, cap * sizeof *ns);
            if (!ns) {
                free(seqs);
                closedir(dh);
                return VG_ENOMEM;
            }
            seqs = ns;
        }
        seqs[n++] = seq;
    }
    closedir(dh);
    if (n)
        qsort(seqs, n, sizeof *seqs, cmp_u64);
    vg_err e = VG_OK;
    vg_buf fb;
    vg_buf_init(&fb, 0);
    for (size_t i = 0; i < n && !e; i++) {
        wal_path(s, seqs[i], p, sizeof p);
        s->wal_seq = seqs[i];
        vg_diag fd;
        e = st_read_file(p, &fb, SIZE_MAX / 2, &fd);
        if (e) {
            vg_diag_set(d, e, "%s", fd.msg);
            break;
        }
        st_walfile *wf = walfile_add(s, seqs[i]);
        if (!wf) {
            e = VG_ENOMEM;
            break;
        }
        wf->bytes = fb.n;
        replay_ctx rc = { s, wf, p, UINT64_MAX, (const uint8_t *)fb.p };
        e = wal_buf_scan((const uint8_t *)fb.p, fb.n, replay_item, &rc, &fd);
        if (e == VG_ECORRUPT) {
            /* the file header itself is damaged: nothing in it can be trusted */
            e = VG_OK;
            s->nwalfiles--;
            if (!s->o.read_only)
                st_quarantine_file(q, p, fd.msg, NULL);
            note_quarantine(s, p, fd.msg);
            continue;
        }
        if (e) {
            vg_diag_set(d, e, "%s", fd.msg);
            break;
        }
        if (rc.truncate_at != UINT64_MAX && !s->o.read_only) {
            if (truncate(p, (off_t)rc.truncate_at) != 0) {
                e = vg_diag_set(d, VG_EIO, "%s: cannot truncate the torn tail at offset %llu: %s",
                                p, (unsigned long long)rc.truncate_at, strerror(errno));
                break;
            }
            wf->bytes = rc.truncate_at;
        }
        s->wal_bytes += wf->bytes;
    }
    vg_buf_free(&fb);
    free(seqs);
    return e;
}

static vg_err wal_open_new(vg_store *s, vg_diag *d)
{
    char p[4096], wdir[4096];
    path_join(wdir, sizeof wdir, s->dir, "wal");
    uint64_t seq = s->wal_seq + 1;
    wal_path(s, seq, p, sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: cannot create: %s", p, strerror(errno));
    uint8_t h[WAL_FILE_HDR];
    wal_file_header(h, seq);
    vg_err e = st_write_all(fd, h, sizeof h, p, d);
    if (!e)
        e = st_fsync(fd, syncing(s), p, d);
    if (!e)
        e = st_fsync_dir(wdir, syncing(s), d);
    if (!e && !walfile_add(s, seq))
        e = VG_ENOMEM;
    if (e) {
        close(fd);
        unlink(p);
        return e;
    }
    s->wal_seq = seq;
    s->wal_fd = fd;
    s->wal_off = WAL_FILE_HDR;
    s->walfiles[s->nwalfiles - 1].bytes = WAL_FILE_HDR;
    s->wal_bytes += WAL_FILE_HDR;
    s->wal_broken = false;
    return VG_OK;
}

static void wal_close_current(vg_store *s)
{
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    s->wal_fd = -1;
}

/* Deletes WAL files whose records are all sealed. */
static void wal_gc(vg_store *s)
{
    uint64_t min_unsealed = UINT64_MAX;
    for (size_t t = 0; t < s->ntables; t++)
        if (s->tables[t].ntail && s->tables[t].tail[0]->lsn < min_unsealed)
            min_unsealed = s->tables[t].tail[0]->lsn;
    size_t keep = 0;
    for (size_t i = 0; i < s->nwalfiles; i++) {
        st_walfile *w = &s->walfiles[i];
        bool current = s->wal_fd >= 0 && w->seq == s->wal_seq;
        if (current && w->max_lsn < min_unsealed && s->wal_off >= ST_WAL_FILE_MAX / 8) {
            wal_close_current(s);
            current = false;
        }
        if (!current && w->max_lsn < min_unsealed && !s->o.read_only) {
            char p[4096];
            wal_path(s, w->seq, p, sizeof p);
            if (unlink(p) == 0 || errno == ENOENT) {
                s->wal_bytes -= w->bytes;
                continue;
            }
        }
        s->walfiles[keep++] = *w;
    }
    s->nwalfiles = keep;
}

/* ---- sealing ---- */

typedef struct dayrun {
    int64_t day;
    seg_run r;
} dayrun;

static int64_t row_day(const st_chunk *c, int ts, uint32_t r)
{
    const vg_colvec *v = &c->b.cols[ts];
    if (!vg_bit_get(v->valid, r))
        return c->ingest_day;
    int64_t t = v->v.i64[r];
    if (t < VG_TIME_MIN || t > VG_TIME_MAX)
        return c->ingest_day;
    return vg_time_day(t);
}

static bool push_dayrun(dayrun **a, size_t *n, size_t *cap, dayrun x)
{
    if (*n && (*a)[*n - 1].day == x.day && (*a)[*n - 1].r.c == x.r.c &&
        (*a)[*n - 1].r.r0 + (*a)[*n - 1].r.n == x.r.r0) {
        (*a)[*n - 1].r.n += x.r.n;
        return true;
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        dayrun *na = realloc(*a, nc * sizeof *na);
        if (!na)
            return false;
        *a = na;
        *cap = nc;
    }
    (*a)[(*n)++] = x;
    return true;
}

static vg_err ensure_dir(vg_store *s, const char *dir, const char *parent, vg_diag *d)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return VG_OK;
    vg_err e = st_mkdir(dir, d);
    if (!e)
        e = st_fsync_dir(parent, syncing(s), d);
    return e;
}

typedef struct written {
    char path[4096];
} written;

static vg_err seal_table(vg_store *s, st_table *T, vg_diag *d)
{
    if (!T->ntail)
        return VG_OK;
    const vg_table_def *t = T->def;
    char tdir[4096], tables[4096];
    table_dir(s, t, tdir, sizeof tdir);
    path_join(tables, sizeof tables, s->dir, "tables");
    vg_err e = ensure_dir(s, tdir, tables, d);
    if (e)
        return e;
    dayrun *runs = NULL;
    size_t nruns = 0, cap = 0;
    int64_t *days = NULL;
    size_t ndays = 0;
    seg_run *sr = NULL;
    written *wr = NULL;
    size_t nwr = 0, wr_cap = 0;
    uint64_t seq = T->next_seq;
    for (size_t i = 0; i < T->ntail; i++) {
        const st_chunk *c = T->tail[i];
        int ts = t->ts_col;
        bool by_row = ts >= 0 && c->b.cols[ts].present;
        if (by_row && c->min_ts <= c->max_ts && c->min_ts >= VG_TIME_MIN &&
            c->max_ts <= VG_TIME_MAX && vg_time_day(c->min_ts) == vg_time_day(c->max_ts)) {
            /* all rows of one day unless some are null */
            bool nulls = false;
            for (uint32_t r = 0; r < c->b.nrows && !nulls; r++)
                nulls = !vg_bit_get(c->b.cols[ts].valid, r);
            by_row = nulls;
            if (!nulls && !push_dayrun(&runs, &nruns, &cap,
                                       (dayrun){ vg_time_day(c->min_ts), { c, 0, c->b.nrows } }))
                goto nomem;
            if (!nulls)
                continue;
        }
        if (!by_row) {
            if (!push_dayrun(&runs, &nruns, &cap, (dayrun){ c->ingest_day, { c, 0, c->b.nrows } }))
                goto nomem;
            continue;
        }
        for (uint32_t r = 0; r < c->b.nrows; r++)
            if (!push_dayrun(&runs, &nruns, &cap, (dayrun){ row_day(c, ts, r), { c, r, 1 } }))
                goto nomem;
    }
    days = malloc(nruns * sizeof *days);
    sr = malloc((nruns + 1) * sizeof *sr);
    if (!days || !sr)
        goto nomem;
    for (size_t i = 0; i < nruns; i++) {
        size_t k = 0;
        while (k < ndays && days[k] != runs[i].day)
            k++;
        if (k == ndays)
            days[ndays++] = runs[i].day;
    }
    qsort(days, ndays, sizeof *days, cmp_i64);
    uint32_t seal_rows = s->o.seal_rows;
    for (size_t k = 0; k < ndays; k++) {
        char dd[4096];
        day_dir(s, t, days[k], dd, sizeof dd);
        if ((e = ensure_dir(s, dd, tdir, d)))
            goto out;
        size_t nsr = 0;
        uint32_t rows = 0;
        for (size_t i = 0; i <= nruns; i++) {
            bool last = i == nruns;
            seg_run cur = last ? (seg_run){ 0 } : runs[i].r;
            if (!last && runs[i].day != days[k])
                continue;
            while (last ? rows > 0 : cur.n > 0) {
                uint32_t take = last ? 0 : (seal_rows - rows < cur.n ? seal_rows - rows : cur.n);
                if (take) {
                    sr[nsr++] = (seg_run){ cur.c, cur.r0, take };
                    rows += take;
                    cur.r0 += take;
                    cur.n -= take;
                }
                if (rows == seal_rows || (last && rows)) {
                    if (nwr == wr_cap) {
                        size_t nc = wr_cap ? wr_cap * 2 : 8;
                        written *nw = realloc(wr, nc * sizeof *nw);
                        if (!nw)
                            goto nomem;
                        wr = nw;
                        wr_cap = nc;
                    }
                    char name[64];
                    st_fmt(name, sizeof name, "%012llu.seg", (unsigned long long)seq);
                    e = seg_write(s->sw, t, sr, nsr, rows, s->o.block_rows, days[k], seq,
                                  syncing(s), dd, name, d);
                    if (e)
                        goto out;
                    path_join(wr[nwr++].path, sizeof wr->path, dd, name);
                    seq++;
                    nsr = 0;
                    rows = 0;
                }
                if (last)
                    break;
            }
        }
        if ((e = st_fsync_dir(dd, syncing(s), d)))
            goto out;
    }
    /* commit */
    {
        uint8_t lf[LSN_FILE_SIZE];
        uint64_t sealed = T->tail[T->ntail - 1]->lsn;
        lsn_encode(lf, sealed, seq);
        if ((e = st_write_atomic(tdir, "sealed.lsn", lf, sizeof lf, syncing(s), d)))
            goto out;
        T->sealed_lsn = sealed;
        T->next_seq = seq;
    }
    for (size_t i = 0; i < nwr; i++) {
        st_seg *g;
        vg_diag od;
        vg_err oe = seg_open(wr[i].path, t, false, &g, &od);
        if (!oe && (oe = table_add_seg(T, g)))
            st_seg_unref(g);
        if (oe)
            vg_log(VG_LOG_ERROR, "store: cannot open a segment just sealed",
                   VG_LS("path", wr[i].path), VG_LS("error", od.msg));
    }
    if (T->nsegs)
        qsort(T->segs, T->nsegs, sizeof *T->segs, cmp_seg);
    for (size_t i = 0; i < T->ntail; i++)
        st_chunk_unref(T->tail[i]);
    T->ntail = 0;
    T->tail_rows = T->tail_bytes = 0;
    nwr = 0;
    goto out;
nomem:
    e = vg_diag_set(d, VG_ENOMEM, "sealing %s: out of memory", t->name);
out:
    /* an uncommitted seal leaves no segment behind (they would be orphans) */
    for (size_t i = 0; i < nwr; i++)
        unlink(wr[i].path);
    free(runs);
    free(days);
    free(sr);
    free(wr);
    return e;
}

static vg_err seal_all(vg_store *s, vg_diag *d)
{
    vg_err first = VG_OK;
    for (size_t t = 0; t < s->ntables; t++) {
        vg_diag td;
        vg_err e = seal_table(s, &s->tables[t], &td);
        if (e && !first) {
            first = e;
            vg_diag_set(d, e, "%s", td.msg);
        }
    }
    wal_gc(s);
    return first;
}

/* ---- open / close ---- */

vg_err vg_store_open(const vg_store_opts *opts, vg_store **out, vg_diag *d)
{
    if (!opts || !opts->dir || !*opts->dir)
        return vg_diag_set(d, VG_EINVAL, "store: no data directory given");
    vg_store *s = calloc(1, sizeof *s);
    if (!s)
        return VG_ENOMEM;
    s->o = *opts;
    s->dir = strdup(opts->dir);
    s->o.dir = s->dir;
    s->lock_fd = -1;
    s->wal_fd = -1;
    s->next_lsn = 1;
    if (!s->o.seal_rows)
        s->o.seal_rows = ST_DEFAULT_SEAL_ROWS;
    if (!s->o.block_rows)
        s->o.block_rows = ST_DEFAULT_BLOCK_ROWS;
    if (s->o.seal_rows > ST_MAX_ROWS)
        s->o.seal_rows = ST_MAX_ROWS;
    if (s->o.block_rows > s->o.seal_rows)
        s->o.block_rows = s->o.seal_rows;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->dl_mu, NULL);
    vg_buf_init(&s->scratch, 0);
    vg_err e = VG_OK;
    if (!s->dir) {
        e = VG_ENOMEM;
        goto fail;
    }
    if (!s->o.read_only) {
        static const char *sub[] = { "wal", "tables", "quarantine", "deadletter" };
        char p[4096];
        if ((e = st_mkdir(s->dir, d)))
            goto fail;
        for (size_t i = 0; i < 4; i++) {
            path_join(p, sizeof p, s->dir, sub[i]);
            if ((e = st_mkdir(p, d)))
                goto fail;
        }
        path_join(p, sizeof p, s->dir, "LOCK");
        s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (s->lock_fd < 0) {
            e = vg_diag_set(d, VG_EIO, "%s: cannot open: %s", p, strerror(errno));
            goto fail;
        }
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            e = vg_diag_set(d, VG_EBUSY, "%s: the data directory is in use by another process",
                            s->dir);
            goto fail;
        }
    } else {
        struct stat st;
        if (stat(s->dir, &st) != 0) {
            e = vg_diag_set(d, VG_ENOTFOUND, "%s: no such data directory", s->dir);
            goto fail;
        }
    }
    s->ntables = vg_schema_ntables;
    s->tables = calloc(s->ntables ? s->ntables : 1, sizeof *s->tables);
    if (!s->tables) {
        e = VG_ENOMEM;
        goto fail;
    }
    if ((e = seg_writer_new(s->o.zstd_level, &s->sw)))
        goto fail;
    for (size_t t = 0; t < s->ntables; t++) {
        s->tables[t].def = &vg_schema_tables[t];
        if ((e = load_table(s, &s->tables[t], d)))
            goto fail;
        if (s->tables[t].sealed_lsn >= s->next_lsn)
            s->next_lsn = s->tables[t].sealed_lsn + 1;
    }
    if ((e = replay_wal(s, d)))
        goto fail;
    if (!s->o.read_only)
        wal_gc(s);
    if (s->o.retention_days > 0 && !s->o.read_only) {
        int dropped;
        vg_diag rd;
        if (vg_store_retention(s, s->o.retention_days, vg_time_now(), &dropped, &rd))
            vg_log(VG_LOG_WARN, "store: retention failed", VG_LS("error", rd.msg));
    }
    *out = s;
    return VG_OK;
fail:
    vg_diag_prefix(d, "opening store %s: ", opts->dir);
    s->o.read_only = true;   /* close without sealing */
    vg_store_close(s, NULL);
    return e;
}

vg_err vg_store_close(vg_store *s, vg_diag *d)
{
    if (!s)
        return VG_OK;
    vg_err e = VG_OK;
    pthread_mutex_lock(&s->mu);
    if (!s->o.read_only && s->tables) {
        e = seal_all(s, d);
        wal_close_current(s);
        if (!e)
            wal_gc(s);   /* now also the last file, which is no longer written */
    }
    pthread_mutex_unlock(&s->mu);
    wal_close_current(s);
    if (s->tables) {
        for (size_t t = 0; t < s->ntables; t++) {
            st_table *T = &s->tables[t];
            for (size_t i = 0; i < T->nsegs; i++)
                st_seg_unref(T->segs[i]);
            for (size_t i = 0; i < T->ntail; i++)
                st_chunk_unref(T->tail[i]);
            free(T->segs);
            free(T->tail);
        }
        free(s->tables);
    }
    seg_writer_free(s->sw);
    free(s->walfiles);
    vg_buf_free(&s->scratch);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->dl_mu);
    free(s->dir);
    free(s);
    return e;
}

/* ---- append ---- */

vg_err vg_store_append(vg_store *s, vg_batch *const *batches, size_t n, vg_diag *d)
{
    if (s->o.read_only)
        return vg_diag_set(d, VG_EINVAL, "%s: store opened read-only", s->dir);
    vg_err e = VG_OK;
    wal_enc *enc = calloc(n ? n : 1, sizeof *enc);
    st_chunk **ch = calloc(n ? n : 1, sizeof *ch);
    if (!enc || !ch) {
        free(enc);
        free(ch);
        return VG_ENOMEM;
    }
    /* encode and decode outside the lock: nothing durable can fail after the fsync */
    for (size_t i = 0; i < n && !e; i++) {
        if (!batches[i] || !batches[i]->nrows)
            continue;
        if (batches[i]->table->id >= s->ntables ||
            &vg_schema_tables[batches[i]->table->id] != batches[i]->table) {
            e = vg_diag_set(d, VG_EINVAL, "append: batch of an unregistered table");
            break;
        }
        if ((e = wal_enc_make(&enc[i], batches[i], d)))
            break;
        void *mem = enc[i].payload.p;
        size_t len = enc[i].payload.n;
        vg_buf_init(&enc[i].payload, 0);
        enc[i].payload.n = len;   /* kept for the header's raw length */
        e = wal_payload_decode(mem, len, &ch[i], d);
    }
    if (e)
        goto out;
    pthread_mutex_lock(&s->mu);
    if (s->wal_broken || (s->wal_fd >= 0 && s->wal_off >= ST_WAL_FILE_MAX))
        wal_close_current(s);
    if (s->wal_fd < 0 && (e = wal_open_new(s, d))) {
        pthread_mutex_unlock(&s->mu);
        goto out;
    }
    int64_t now = vg_time_now();
    uint64_t start = s->wal_off, first_lsn = s->next_lsn;
    char p[4096];
    wal_path(s, s->wal_seq, p, sizeof p);
    /* one write for the whole call: records gathered with pwritev */
    size_t nio = 0, tot = 0;
    struct iovec *iov = calloc(n ? n : 1, sizeof *iov);
    if (!iov)
        e = vg_diag_set(d, VG_ENOMEM, "append: out of memory");
    for (size_t i = 0; i < n && !e; i++) {
        if (!ch[i])
            continue;
        uint64_t lsn = s->next_lsn++;
        wal_enc_set_lsn(&enc[i], lsn, now);
        ch[i]->lsn = lsn;
        ch[i]->ingest_day = vg_time_day(now);
        iov[nio++] = (struct iovec){ enc[i].rec.p, enc[i].rec.n };
        tot += enc[i].rec.n;
    }
    if (!e && tot)
        e = st_pwritev_all(s->wal_fd, iov, (int)nio, s->wal_off, p, d);
    free(iov);
    if (!e && tot)
        e = st_fsync(s->wal_fd, syncing(s), p, d);
    if (e) {
        /* nothing of this call is acknowledged: cut it off and start a new file */
        if (ftruncate(s->wal_fd, (off_t)start) != 0)
            vg_log(VG_LOG_ERROR, "store: cannot truncate the WAL after a failed append",
                   VG_LS("path", p));
        s->wal_broken = true;
        pthread_mutex_unlock(&s->mu);
        goto out;
    }
    s->wal_off += tot;
    s->wal_bytes += tot;
    st_walfile *wf = &s->walfiles[s->nwalfiles - 1];
    wf->bytes += tot;
    if (s->next_lsn > first_lsn)
        wf->max_lsn = s->next_lsn - 1;
    /* durable: publish to the tails (acknowledged from here on) */
    for (size_t i = 0; i < n; i++) {
        if (!ch[i])
            continue;
        st_table *T = &s->tables[ch[i]->b.table->id];
        if (tail_push(T, ch[i]) != VG_OK) {
            /* durable but not visible until replay: keep it, log it */
            vg_log(VG_LOG_ERROR, "store: out of memory publishing a batch; it will be replayed");
            st_chunk_unref(ch[i]);
        }
        ch[i] = NULL;
    }
    /* seal what is full; failures here do not undo the acknowledgement */
    for (size_t t = 0; t < s->ntables; t++) {
        st_table *T = &s->tables[t];
        if (T->ntail && (T->tail_rows >= s->o.seal_rows || T->tail_bytes >= ST_TAIL_MAX_BYTES)) {
            vg_diag sd;
            if (seal_table(s, T, &sd))
                vg_log(VG_LOG_WARN, "store: seal failed; rows stay in the WAL",
                       VG_LS("table", T->def->name), VG_LS("error", sd.msg));
        }
    }
    if (s->wal_bytes > ST_WAL_FORCE_SEAL) {
        /* a quiet table's tail pins old WAL files: seal the oldest */
        st_table *old = NULL;
        for (size_t t = 0; t < s->ntables; t++) {
            st_table *T = &s->tables[t];
            if (T->ntail && (!old || T->tail[0]->lsn < old->tail[0]->lsn))
                old = T;
        }
        vg_diag sd;
        if (old && seal_table(s, old, &sd))
            vg_log(VG_LOG_WARN, "store: seal failed", VG_LS("error", sd.msg));
    }
    wal_gc(s);
    pthread_mutex_unlock(&s->mu);
out:
    for (size_t i = 0; i < n; i++) {
        st_chunk_unref(ch[i]);
        vg_buf_free(&enc[i].payload);
        vg_buf_free(&enc[i].rec);
    }
    free(enc);
    free(ch);
    return e;
}

vg_err vg_store_flush(vg_store *s, vg_diag *d)
{
    if (s->o.read_only)
        return VG_OK;
    pthread_mutex_lock(&s->mu);
    vg_err e = seal_all(s, d);
    pthread_mutex_unlock(&s->mu);
    return e;
}

/* ---- retention ---- */

vg_err vg_store_retention(vg_store *s, int64_t keep_days, vg_time now, int *dropped, vg_diag *d)
{
    if (dropped)
        *dropped = 0;
    if (keep_days <= 0 || s->o.read_only)
        return VG_OK;
    vg_err first = VG_OK;
    pthread_mutex_lock(&s->mu);
    for (size_t t = 0; t < s->ntables; t++) {
        st_table *T = &s->tables[t];
        char tdir[4096];
        table_dir(s, T->def, tdir, sizeof tdir);
        DIR *dh = opendir(tdir);
        if (!dh)
            continue;
        struct dirent *de;
        while ((de = readdir(dh))) {
            int64_t day;
            if (!parse_day(de->d_name, &day))
                continue;
            /* the partition is older than keep_days when its last tick is */
            if ((day + 1) * VG_TICKS_PER_DAY > now - keep_days * VG_TICKS_PER_DAY)
                continue;
            for (size_t i = T->nsegs; i-- > 0;)
                if (T->segs[i]->m->day == day)
                    table_remove_seg(T, i);
            char p[4096];
            path_join(p, sizeof p, tdir, de->d_name);
            vg_diag rd;
            vg_err e = st_rmtree(p, &rd);
            if (e && !first)
                first = vg_diag_set(d, e, "%s", rd.msg);
            if (!e && dropped)
                (*dropped)++;
            vg_log(VG_LOG_INFO, "store: retention dropped a partition", VG_LS("path", p));
        }
        closedir(dh);
        st_fsync_dir(tdir, syncing(s), NULL);
    }
    pthread_mutex_unlock(&s->mu);
    return first;
}

/* ---- dead letters ---- */

void vg_deadletters_init(vg_deadletters *dl)
{
    vg_buf_init(&dl->buf, 0);
    dl->n = 0;
}

void vg_deadletters_free(vg_deadletters *dl)
{
    vg_buf_free(&dl->buf);
    dl->n = 0;
}

void vg_deadletters_add(vg_deadletters *dl, const char *source, uint64_t line, vg_str reason,
                        vg_str record)
{
    char ts[VG_TIME_BUFSZ];
    vg_time_format(vg_time_now(), ts, sizeof ts);
    vg_buf *b = &dl->buf;
    vg_buf_puts(b, "{\"time\":\"");
    vg_buf_puts(b, ts);
    vg_buf_puts(b, "\",\"source\":");
    vg_buf_put_json_str(b, vg_str_c(source ? source : ""));
    vg_buf_printf(b, ",\"line\":%llu,\"reason\":", (unsigned long long)line);
    vg_buf_put_json_str(b, reason);
    vg_buf_puts(b, ",\"record\":");
    vg_buf_put_json_str(b, record);
    vg_buf_puts(b, "}\n");
    dl->n++;
}

vg_err vg_store_deadletters_write(vg_store *s, vg_deadletters *dl, vg_diag *d)
{
    if (!dl->n)
        return VG_OK;
    if (s->o.read_only)
        return vg_diag_set(d, VG_EINVAL, "%s: store opened read-only", s->dir);
    if (dl->buf.failed)
        return vg_diag_set(d, VG_ENOMEM, "dead letters: out of memory");
    char day[16], p[4096];
    vg_day_format(vg_time_day(vg_time_now()), day, sizeof day);
    st_fmt(p, sizeof p, "%s/deadletter/%s.ndjson", s->dir, day);
    pthread_mutex_lock(&s->dl_mu);
    vg_err e = VG_OK;
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = vg_diag_set(d, VG_EIO, "%s: cannot open: %s", p, strerror(errno));
    } else {
        /* on failure cut back what this call wrote, so a retry does not
         * leave the same dead letters twice */
        struct stat sb;
        off_t before = fstat(fd, &sb) == 0 ? sb.st_size : -1;
        e = st_write_all(fd, dl->buf.p, dl->buf.n, p, d);
        if (!e)
            e = st_fsync(fd, syncing(s), p, d);
        if (e && before >= 0 && ftruncate(fd, before) != 0)
            vg_log(VG_LOG_WARN, "store: cannot cut back a failed dead-letter write",
                   VG_LS("path", p));
        close(fd);
    }
    if (!e) {
        atomic_fetch_add(&s->deadletters, dl->n);
        vg_buf_clear(&dl->buf);
        dl->n = 0;
    }
    pthread_mutex_unlock(&s->dl_mu);
    return e;
}

vg_err vg_store_deadletter(vg_store *s, const char *source, uint64_t line, vg_str reason,
                           vg_str record, vg_diag *d)
{
    vg_deadletters dl;
    vg_deadletters_init(&dl);
    vg_deadletters_add(&dl, source, line, reason, record);
    vg_err e = vg_store_deadletters_write(s, &dl, d);
    vg_deadletters_free(&dl);
    return e;
}

/* ---- stats ---- */

void vg_store_stats_get(vg_store *s, vg_store_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    for (size_t t = 0; t < s->ntables; t++) {
        st_table *T = &s->tables[t];
        out->rows_total += T->seg_rows + T->tail_rows;
        out->tail_rows += T->tail_rows;
        out->segments += T->nsegs;
        for (size_t i = 0; i < T->nsegs; i++)
            out->segment_bytes += T->segs[i]->bytes;
    }
    out->wal_bytes = s->wal_bytes;
    pthread_mutex_unlock(&s->mu);
    out->quarantined = atomic_load(&s->quarantined);
    out->deadletters = atomic_load(&s->deadletters);
}

uint64_t vg_store_table_rows(vg_store *s, const vg_table_def *t)
{
    if (!t || t->id >= s->ntables)
        return 0;
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->tables[t->id].seg_rows + s->tables[t->id].tail_rows;
    pthread_mutex_unlock(&s->mu);
    return n;
}
