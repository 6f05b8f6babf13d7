/*
 * store_int.h - private interfaces shared by the files of the event store.
 *
 * The store is split by responsibility:
 *   store_io.c     file I/O with fault injection, paths, atomic small files,
 *                  quarantine, directory fsync
 *   store_terms.c  Kusto `has` terms: tokenizer, term hashes, bloom filters
 *   store_wal.c    the batch payload codec (WAL and in-memory tail) and the
 *                  WAL record framing (write, scan, replay)
 *   store_segw.c   the segment writer (sealing a tail into columnar blocks)
 *   store_segr.c   the segment reader (footer parsing, block decoding)
 *   store.c        the vg_store object: open/recovery, append, seal,
 *                  retention, dead letters, stats
 *   store_scan.c   scans over a snapshot of segments and tail chunks
 *
 * The byte formats are described in docs/store.md. Everything here is
 * internal: only vg_store.h is the module's API. The reader entry points
 * (seg_meta_parse, seg_block_decode, wal_buf_scan, wal_payload_decode) are
 * exposed so that fuzz targets can feed them arbitrary bytes.
 */
#ifndef VG_STORE_INT_H
#define VG_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/vg_str.h"
#include "vg_store.h"

/* ---- limits (every input length is checked against one of these) ---- */
#define ST_MAX_PAYLOAD (1ull << 30)      /* uncompressed WAL payload / blob */
#define ST_MAX_FOOTER (256u << 20)       /* uncompressed segment footer */
#define ST_MAX_COLS 4096                 /* columns in a payload or segment */
#define ST_MAX_ROWS (1u << 26)           /* rows in a payload or segment */
#define ST_MAX_NAME 256                  /* column / table name bytes */
#define ST_WAL_FILE_MAX (64ull << 20)    /* roll the WAL file past this size */
#define ST_WAL_FORCE_SEAL (512ull << 20) /* WAL bytes that force the oldest tail to seal */
#define ST_TAIL_MAX_BYTES (64ull << 20) /* seal a table's tail past this many bytes */
#define ST_DEFAULT_SEAL_ROWS (1u << 20)
#define ST_DEFAULT_BLOCK_ROWS 8192u
#define ST_BLOOM_MAX_BITS (1u << 20)
#define ST_DICT_MAX 65535u

/* The raw-record vector travels as an extra column of this name. */
#define ST_RAW_NAME "_Raw"

/* ---- checksums ---- */
uint64_t st_hash(const void *p, size_t n);

/* snprintf into a fixed buffer (paths, reasons); truncates, always terminated. */
void st_fmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- I/O with fault injection (store_io.c) ---- */
/* Each returns VG_OK or VG_EIO with a message naming the path. */
vg_err st_write_all(int fd, const void *p, size_t n, const char *path, vg_diag *d);
vg_err st_pwrite_all(int fd, const void *p, size_t n, uint64_t off, const char *path, vg_diag *d);
struct iovec;
vg_err st_pwritev_all(int fd, struct iovec *iov, int n, uint64_t off, const char *path,
                      vg_diag *d);
vg_err st_fsync(int fd, bool really, const char *path, vg_diag *d);
vg_err st_rename(const char *from, const char *to, vg_diag *d);
vg_err st_fsync_dir(const char *dir, bool really, vg_diag *d);
vg_err st_mkdir(const char *path, vg_diag *d);
/* Reads a whole (small) file into out. */
vg_err st_read_file(const char *path, vg_buf *out, size_t limit, vg_diag *d);
vg_err st_pread_all(int fd, void *p, size_t n, uint64_t off, const char *path, vg_diag *d);
/* Writes data to path atomically: tmp, fsync, rename, fsync dir. */
vg_err st_write_atomic(const char *dir, const char *name, const void *p, size_t n, bool sync,
                       vg_diag *d);
/* Moves path into qdir (renaming it uniquely) and writes NAME.reason. */
vg_err st_quarantine_file(const char *qdir, const char *path, const char *reason, vg_diag *d);
/* Writes bytes as a new file in qdir with a .reason beside it. */
vg_err st_quarantine_bytes(const char *qdir, const char *base, const void *p, size_t n,
                           const char *reason, vg_diag *d);
/* Removes a directory tree (retention); best effort, VG_EIO on failure. */
vg_err st_rmtree(const char *path, vg_diag *d);

/* ---- terms and blooms (store_terms.c) ---- */
/* Calls fn for the hash of every term (maximal ASCII alnum run, lowercased). */
typedef void (*st_term_fn)(void *ctx, uint64_t h);
void st_terms(vg_str s, st_term_fn fn, void *ctx);
/* Number of terms of s, and their hashes into out (up to cap). */
size_t st_term_hashes(vg_str s, uint64_t *out, size_t cap);

/* A set of 64-bit term hashes used while sealing one block. */
typedef struct st_hset {
    uint64_t *slots;
    size_t cap;
    uint64_t *list;
    size_t n, list_cap;
    bool has_zero;
} st_hset;
void st_hset_clear(st_hset *h);
bool st_hset_add(st_hset *h, uint64_t v);   /* false on allocation failure */
void st_hset_free(st_hset *h);

/* Bloom: nbits (power of two) bits; k probes; built from a hash list. */
uint32_t st_bloom_bits_for(size_t nterms);
void st_bloom_build(uint8_t *bits, uint32_t nbits, unsigned k, const uint64_t *h, size_t n);
bool st_bloom_test(const uint8_t *bits, uint32_t nbits, unsigned k, uint64_t h);
#define ST_BLOOM_K 4

/* ---- batch payload codec and WAL framing (store_wal.c) ---- */

/*
 * A tail chunk: one appended batch, immutable once published. Its vectors
 * point into mem (the uncompressed WAL payload) and strs; scans hold
 * references (refs) so sealing can drop it from the tail while a scan reads.
 */
typedef struct st_chunk {
    atomic_int refs;
    uint64_t lsn;
    int64_t ingest_day;
    int64_t min_ts, max_ts;   /* over non-null Timestamps; min > max when none */
    size_t bytes;             /* memory held */
    vg_batch b;               /* view: cols/raw point into mem and strs */
    void *mem;
    vg_str *strs;
} st_chunk;

/* Serializes batch b (uncompressed payload) into out. */
void wal_payload_encode(const vg_batch *b, vg_buf *out);
/*
 * Decodes a payload; takes ownership of mem (malloc'ed, n bytes) on success
 * and on failure frees it. *table is the table named by the payload.
 */
vg_err wal_payload_decode(void *mem, size_t n, st_chunk **out, vg_diag *d);
void st_chunk_unref(st_chunk *c);
static inline void st_chunk_ref(st_chunk *c) { atomic_fetch_add(&c->refs, 1); }

#define WAL_FILE_MAGIC "VGWAL001"
#define WAL_FILE_HDR 24
#define WAL_REC_MAGIC 0x52574756u   /* "VGWR" */
#define WAL_REC_HDR 48
enum { WAL_CODEC_NONE = 0, WAL_CODEC_LZ4 = 1, WAL_CODEC_ZSTD = 2 };
#define WAL_LZ4_ACCEL 4

/* A record encoded for writing (header filled in when the LSN is known). */
typedef struct wal_enc {
    vg_buf payload;       /* uncompressed payload (becomes the tail chunk) */
    vg_buf rec;           /* header + compressed payload */
} wal_enc;
vg_err wal_enc_make(wal_enc *e, const vg_batch *b, vg_diag *d);
void wal_enc_set_lsn(wal_enc *e, uint64_t lsn, int64_t time);
void wal_file_header(uint8_t out[WAL_FILE_HDR], uint64_t seq);

/* What wal_buf_scan found at one position of a WAL file. */
typedef enum wal_ev { WAL_EV_RECORD, WAL_EV_BAD, WAL_EV_TORN } wal_ev;
typedef struct wal_item {
    wal_ev ev;
    uint64_t off, len;        /* bytes of the record (or damaged region) */
    uint64_t lsn;
    int64_t time;
    void *payload;            /* RECORD: malloc'ed uncompressed payload (callee takes it) */
    size_t payload_len;
    const char *why;          /* BAD/TORN: reason */
} wal_item;
typedef vg_err (*wal_item_fn)(void *ctx, wal_item *it, vg_diag *d);
/*
 * Walks the records of one WAL file image (header included). Damaged
 * records are reported as WAL_EV_BAD (and skipped by resynchronizing on the
 * next valid header); a partial last record as WAL_EV_TORN (end of scan).
 * Returns the callback's error, VG_ECORRUPT for a bad file header.
 */
vg_err wal_buf_scan(const uint8_t *p, size_t n, wal_item_fn fn, void *ctx, vg_diag *d);

/* ---- segments (store_segw.c, store_segr.c) ---- */

#define SEG_MAGIC "VGSEG001"
#define SEG_TRAILER_MAGIC "VGSEGEND"
#define SEG_HDR 32
#define SEG_TRAILER 48
enum { BLOB_RAW = 0, BLOB_ZSTD = 1 };
enum { ENC_NULL = 0, ENC_PLAIN = 1, ENC_DICT = 2 };

typedef struct seg_blob {
    uint64_t off, len, raw_len, hash;
    uint8_t codec;
} seg_blob;

typedef struct seg_cblock {
    uint8_t enc;
    uint32_t nvalid;
    seg_blob data;
    bool has_minmax;
    int64_t imin, imax;
    double fmin, fmax;
    seg_blob bloom;           /* len 0: none */
    uint32_t bloom_bits;
    uint8_t bloom_k;
    seg_blob dict;            /* ENC_DICT only */
    uint32_t ndict;
} seg_cblock;

typedef struct seg_col {
    char name[ST_MAX_NAME + 1];
    vg_type type;
    bool is_raw;
} seg_col;

typedef struct seg_meta {
    char table[ST_MAX_NAME + 1];
    uint32_t ncols;
    seg_col *cols;
    uint32_t nrows, block_rows, nblocks;
    int64_t day;
    uint64_t seq, min_lsn, max_lsn;
    int64_t min_ts, max_ts;   /* min > max: no timestamps */
    seg_cblock *blocks;       /* nblocks * ncols, block-major */
    uint64_t file_size;
} seg_meta;

static inline const seg_cblock *seg_cb(const seg_meta *m, uint32_t blk, uint32_t col)
{
    return &m->blocks[(size_t)blk * m->ncols + col];
}
static inline uint32_t seg_block_nrows(const seg_meta *m, uint32_t blk)
{
    uint32_t r0 = blk * m->block_rows;
    return m->nrows - r0 < m->block_rows ? m->nrows - r0 : m->block_rows;
}

/* A source of segment bytes: an open file or a memory image (fuzzing). */
typedef struct seg_src {
    int fd;
    const uint8_t *mem;
    uint64_t size;
    const char *path;
} seg_src;

vg_err seg_meta_read(const seg_src *src, seg_meta **out, vg_diag *d);
void seg_meta_free(seg_meta *m);
/* Reads, verifies and decompresses a blob into out. */
vg_err seg_blob_read(const seg_src *src, const seg_blob *b, vg_buf *tmp, vg_buf *out, vg_diag *d);

/* One decoded column of one block; strings point into the data/dict buffers. */
typedef struct seg_colbuf {
    vg_buf data, dict, tmp;
    uint64_t *valid;
    union {
        int64_t *i64;
        double *f64;
        uint8_t *b;
        vg_str *s;
    } v;
    vg_str *dictv;
    uint32_t cap, dict_cap;
    /* dictionary-coded string blocks: the code of every row (0xFFFF: null)
     * and the dictionary size; has_codes false for other blocks */
    uint16_t *codes;
    uint32_t codes_cap, ndict;
    bool has_codes;
    bool codes_only;          /* set by the scan: with codes, leave v.s unbuilt */
} seg_colbuf;
void seg_colbuf_free(seg_colbuf *cb);
/* Reads and decodes column col of block blk into cb (nrows rows). */
vg_err seg_block_decode(const seg_src *src, const seg_meta *m, uint32_t blk, uint32_t col,
                        seg_colbuf *cb, vg_diag *d);
/* Reads a dict blob into cb->dictv (for pruning). */
vg_err seg_dict_load(const seg_src *src, const seg_cblock *c, seg_colbuf *cb, vg_diag *d);

/* Gather source for the writer: runs of rows of tail chunks. */
typedef struct seg_run {
    const st_chunk *c;
    uint32_t r0, n;
} seg_run;

typedef struct seg_writer seg_writer;
vg_err seg_writer_new(int zstd_level, seg_writer **out);
void seg_writer_free(seg_writer *w);
/*
 * Writes a segment of the given rows (nrows in runs) of table t to
 * dir/name (via dir/name.tmp, fsync, rename). The directory is not fsynced.
 */
vg_err seg_write(seg_writer *w, const vg_table_def *t, const seg_run *runs, size_t nruns,
                 uint32_t nrows, uint32_t block_rows, int64_t day, uint64_t seq, bool sync,
                 const char *dir, const char *name, vg_diag *d);

/* ---- the store object (store.c) shared with store_scan.c ---- */

typedef struct st_seg {
    atomic_int refs;
    int fd;
    char *path;
    seg_meta *m;
    int *map;          /* table column -> segment column, or -1; [ncols] = raw */
    uint64_t bytes;
    atomic_bool damaged;
} st_seg;
void st_seg_unref(st_seg *g);

typedef struct st_table {
    const vg_table_def *def;
    uint64_t sealed_lsn;
    uint64_t next_seq;
    st_seg **segs;
    size_t nsegs, segs_cap;
    st_chunk **tail;
    size_t ntail, tail_cap;
    uint64_t tail_rows, tail_bytes;
    uint64_t seg_rows;
    bool dir_made;
} st_table;

typedef struct st_walfile {
    uint64_t seq;
    uint64_t max_lsn;
    uint64_t bytes;
} st_walfile;

struct vg_store {
    vg_store_opts o;
    char *dir;
    int lock_fd;
    pthread_mutex_t mu;          /* tables, tails, segment lists, WAL */
    pthread_mutex_t dl_mu;       /* dead letters */
    st_table *tables;            /* by table id */
    size_t ntables;
    /* WAL writer */
    int wal_fd;
    uint64_t wal_seq;            /* current file's sequence */
    uint64_t wal_off;            /* bytes in current file */
    st_walfile *walfiles;
    size_t nwalfiles, walfiles_cap;
    uint64_t next_lsn;
    bool wal_broken;             /* current file must be rolled before use */
    seg_writer *sw;
    /* stats */
    atomic_uint_fast64_t quarantined;
    atomic_uint_fast64_t deadletters;
    uint64_t wal_bytes;
    vg_buf scratch;
};

/* Quarantines a segment found damaged by a scan (takes the lock). */
void st_store_seg_damaged(vg_store *s, st_seg *g, const char *why);

#endif
