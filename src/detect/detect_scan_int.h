/*
 * detect_scan_int.h - the scanner's state (private to src/detect/): shared
 * by detect_scan.c (the row loop, the memo of scans, row signatures),
 * detect_values.c (how a row's fields are read: raw members, column forms,
 * the OS of a row) and detect_eval.c (conditions and direct items).
 */
#ifndef VG_DETECT_SCAN_INT_H
#define VG_DETECT_SCAN_INT_H

#include "../core/vg_json.h"
#include "../core/vg_time.h"
#include "detect_int.h"

typedef struct raw_member {
    vg_str key, val;
    vg_json_kind kind;
} raw_member;

#define KEYCACHE_MAX 128               /* raw members remembered by position, per group */

typedef struct keycache {
    uint32_t n;
    const char *key[KEYCACHE_MAX];
    uint32_t len[KEYCACHE_MAX];
    uint32_t field[KEYCACHE_MAX];      /* group field index + 1; 0: none */
} keycache;

struct vg_detect_scanner {
    vg_detect *det;
    void *hs_scratch;
    pcre2_match_data *md;
    dt_val *vals;
    uint8_t *item_true;
    uint32_t *item_hits;
    uint32_t *touched_items;
    uint32_t ntouched_items;
    uint8_t *rule_mark;
    uint32_t *touched_rules;
    uint32_t ntouched_rules;
    uint64_t *allbits;
    raw_member *mem;
    bool *mem_used;                    /* this row's member i is read by a field of the group */
    uint32_t nmem;
    const dt_group *g;      /* the group being scanned (for the hit callback) */
    const vg_batch *b;
    uint32_t row;
    vg_arena row_arena;
    vg_detect_stats stats;
    /* per-batch memo of database scans: telemetry repeats its values (the
     * same image paths, parents, hashes), so a value is scanned once per
     * batch and its hits replayed for the rows that repeat it */
    struct memo_slot *memo;
    uint32_t memo_used;
    vg_arena memo_arena;
    bool memo_full;
    uint32_t *hitbuf;
    uint32_t nhit, hitcap;
    bool hit_overflow;
    const dt_db *cur_db;
    /* interned hit lists and row signatures (see scan_group) */
    struct list_slot *lists;
    uint32_t lists_used, next_list_id;
    struct sig_slot *sigs;
    uint32_t sigs_used;
    const struct memo_slot **fslots;   /* per group field: this row's memo slot */
    uint32_t *fids;                    /* per group field: hit-list id, ABSENT, DT_NONE */
    uint64_t *fhash;                   /* per group field: its value's memo hash (0: none) */
    uint32_t *matched;                 /* group rules matched on this row */
    uint32_t nmatched;
    uint32_t *impure;                  /* impure group rules touched on this row */
    uint32_t nimpure;
    bool windows;                      /* this row is a Windows event (raw Channel) */
    vg_buf kwbuf;                      /* the joined values of keyword searches */
    keycache *kcache;                  /* per group */
    vg_arena kc_arena;
    /* the last route lookup, for the rows that repeat it */
    const vg_table_def *rt_table;
    char rt_key[256];
    size_t rt_keyn;
    bool rt_windows;
    const dt_glist *rt_lists[2];
};

#define MEMO_SLOTS (1u << 19)          /* power of two; half full at most */
#define LIST_SLOTS (1u << 16)
#define SIG_SLOTS (1u << 17)
#define MEMO_BYTES (256u << 20)         /* memo arena cap; full: everything starts over */
#define MEMO_MAX_VALUE 4096            /* longer values are scanned every time */
#define ABSENT (DT_NONE - 1)           /* field id of a row without the field */
#define EMPTY_BIT 0x40000000u          /* or'ed into the id of an empty value */

typedef struct memo_slot {
    uint64_t h;
    const dt_db *db;
    const char *v;
    uint32_t n;
    uint32_t nhits;
    const uint32_t *hits;
    uint32_t id;                       /* interned hit list; DT_NONE: not remembered */
} memo_slot;

typedef struct list_slot {
    uint64_t h;
    const dt_db *db;
    const uint32_t *hits;
    uint32_t n;
    uint32_t id;
} list_slot;

/* A row signature: per field of a group, the id of its hit list. Rows with
 * equal signatures hit the same items, so the same pure rules match. */
typedef struct sig_slot {
    uint64_t h;
    const dt_group *g;
    const uint32_t *ids;
    const uint32_t *matches;           /* pure group rules that matched, ascending */
    uint32_t nmatches;
    const uint32_t *impure;            /* rules with direct items it touched: evaluated each time */
    uint32_t nimpure;
    const uint32_t *items;             /* the pattern items of those rules that hit */
    uint32_t nitems;
} sig_slot;

/* ---- detect_values.c ---- */

/* A column of row r as text (numbers and times rendered into a). */
vg_str dt_col_text(vg_arena *a, const vg_batch *b, int32_t c, uint32_t r);
/* The column form of a field on row r (virtual columns composed in a). */
vg_str dt_col_form(vg_arena *a, const vg_batch *b, uint32_t r, const dt_colmap *m);
/* Reads the row's raw record members (top level) into s->mem. */
void dt_read_raw(vg_detect_scanner *s, vg_str raw);
/* A raw member by exact name, or NULL. */
const raw_member *dt_raw_get(const vg_detect_scanner *s, const char *name);
/* The name without its spaces ("Threat Name" -> "ThreatName"). */
vg_str dt_squeeze(vg_arena *a, vg_str k);
/* s->vals for group g on row r: raw members first, then column forms. */
void dt_fill_values(vg_detect_scanner *s, const dt_group *g, const vg_batch *b, uint32_t r);

enum { OS_UNKNOWN, OS_WINDOWS, OS_UNIX, OS_MACOS };
/* The OS a row without a Windows source says it is from (by its paths). */
int dt_row_os(const vg_batch *b, uint32_t r, int c1, int c2);
/* A native row of OS os may be seen by rules of this logsource product. */
bool dt_product_ok(const sg_logsource *ls, int os);

/* ---- detect_eval.c ---- */

/* A direct item (CIDR, numbers, null, exists, fieldref, PCRE2) on s->vals. */
bool dt_direct_item(vg_detect_scanner *s, const dt_item *it);
/* Every part of a group rule holds (the scanner's item marks and values). */
bool dt_rule_true(vg_detect_scanner *s, const dt_group *g, const dt_grule *gr);

#endif
