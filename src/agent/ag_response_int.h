/*
 * ag_response_int.h - private to the agent's response parts (ag_isolate.c,
 * ag_kill.c, ag_quarantine.c, ag_block.c, ag_package.c, ag_yara.c,
 * ag_actions.c): the pieces below the action functions, exposed so that
 * the unit tests can drive them without a running agent. The action
 * functions themselves are reached through ag_actions[] (ag_int.h).
 */
#ifndef AG_RESPONSE_INT_H
#define AG_RESPONSE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ag_int.h"

/* ---- named limits ---- */
#define AG_ISO_MAX_ADDRS 16                /* server addresses pinned by isolation */
#define AG_ISO_TABLE "vigil_isolation"      /* the one nftables table isolation owns */
#define AG_ISO_PRIORITY (-190)              /* after conntrack (-200), before mangle and filter */
#define AG_KILL_START_TOLERANCE_SEC 2       /* /proc/stat btime has 1 s precision */
#define AG_KILL_MAX 4096                    /* processes killed by one hash action */
#define AG_QUAR_MAX_BYTES (1ull << 30)      /* a file copied across filesystems */
#define AG_PACKAGE_MAX_BYTES (64u << 20)    /* investigation package, uncompressed */
#define AG_PACKAGE_FILE_MAX (4u << 20)      /* one file copied into the package */
#define AG_YARA_MAX_FILE (64u << 20)        /* files larger are skipped by a scan */
#define AG_YARA_MAX_FILES 1000000           /* files one scan visits */
#define AG_YARA_MAX_MATCHES 10000           /* matches reported by one scan */
#define AG_YARA_MAX_DEPTH 64                /* directory recursion */
#define AG_YARA_RULES_MAX (1u << 20)        /* rule text */
#define AG_BLOCK_CACHE 8192                 /* (dev, ino, mtime, size) -> hashes */

/* ---- actions (ag_actions[]) ---- */
vg_err ag_act_isolate(ag *a, const vg_json *params, vg_buf *result, vg_diag *d);
vg_err ag_act_unisolate(ag *a, const vg_json *params, vg_buf *result, vg_diag *d);
vg_err ag_act_kill(ag *a, const vg_json *params, vg_buf *result, vg_diag *d);
vg_err ag_act_quarantine(ag *a, const vg_json *params, vg_buf *result, vg_diag *d);
vg_err ag_act_restore(ag *a, const vg_json *params, vg_buf *result, vg_diag *d);
vg_err ag_act_package(ag *a, const vg_json *params, vg_buf *result, vg_diag *d);
vg_err ag_act_yara(ag *a, const vg_json *params, vg_buf *result, vg_diag *d);

/* ---- isolation (ag_isolate.c) ---- */
typedef struct ag_iso_target {
    int n;
    char addr[AG_ISO_MAX_ADDRS][64];       /* numeric IPv4 or IPv6 text */
    bool v6[AG_ISO_MAX_ADDRS];
    uint16_t port;
} ag_iso_target;
/* Resolves the server URL's host (numeric or by name, once) and port. */
vg_err ag_iso_resolve(const char *url, ag_iso_target *t, vg_diag *d);
/* The nft script that (re)creates the isolation table in one transaction. */
void ag_iso_ruleset(const ag_iso_target *t, vg_buf *out);
/* Applies / deletes the table with libnftables; delete verifies it is gone. */
vg_err ag_iso_apply(const ag_iso_target *t, vg_diag *d);
vg_err ag_iso_release(vg_diag *d);
/* Whether the table exists now. */
bool ag_iso_present(void);
/* Re-applies the isolation recorded in state_dir (no-op when none). */
vg_err ag_iso_restore_state(const char *state_dir, bool *applied, vg_diag *d);
/* Isolates / releases with the state file in state_dir (what the actions do). */
vg_err ag_iso_isolate_with(const char *state_dir, const char *server_url, vg_buf *result,
                           vg_diag *d);
vg_err ag_iso_release_with(const char *state_dir, vg_buf *result, vg_diag *d);

/* ---- kill (ag_kill.c) ---- */
/* Start time of pid from /proc/PID/stat and /proc/stat btime; false when gone. */
bool ag_kill_start_time(pid_t pid, vg_time *start, uint64_t *ticks);
/* SIGKILLs pid only when its start time is want (within tolerance): pidfd-based, no race. */
vg_err ag_kill_checked(pid_t pid, vg_time want, vg_diag *d);
/* SIGKILLs every process whose exe has hash (40 hex: SHA1, 64: SHA256); the
 * killed ones as JSON objects (comma-separated) into list; the first one's
 * exe path into first_path. */
vg_err ag_kill_hash_list(ag *a, const char *hash, vg_buf *list, int *count, char *first_path,
                         size_t cap, vg_diag *d);
/* snprintf into a path buffer; false when it did not fit (ag_actions.c). */
bool ag_resp_pathf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether s is exactly n hex digits (ag_actions.c). */
bool ag_resp_is_hex(vg_str s, size_t n);

/* ---- quarantine (ag_quarantine.c) ---- */
/* Moves path into STATE/quarantine/<sha256> with <sha256>.json metadata; sha256 out. */
vg_err ag_quar_file(const char *state_dir, const char *path, const char *action_id,
                    const char *sha1, const char *sha256, vg_buf *result, vg_diag *d);
/* Puts the quarantined file back where it was, with its mode, owner and mtime. */
vg_err ag_quar_restore(const char *state_dir, const char *sha256, vg_buf *result, vg_diag *d);
/* Whether path may be quarantined (not /proc, /sys, /dev, not the agent's own files). */
vg_err ag_quar_path_ok(const char *state_dir, const char *path, vg_diag *d);
/* SHA1 and SHA256 of a file by its descriptor (lowercase hex); false on a read error. */
bool ag_hash_fd(int fd, char sha1[41], char sha256[65]);

/* ---- hash blocking (ag_block.c) ---- */
vg_err ag_block_start(ag *a, vg_diag *d);
void ag_block_stop(void);
/* Counters since start: execs answered, denied, allowed on an internal error. */
void ag_block_counts(uint64_t *checked, uint64_t *denied, uint64_t *failed_open);
/* Whether the filesystems are marked now (only while something is blocked). */
bool ag_block_marked(void);
/* Whether the hash (40 or 64 hex, any case) is in the block set; its indicator id out. */
bool ag_block_lookup(const char *hash, char id_out[64]);

/* ---- investigation package (ag_package.c) ---- */
typedef struct ag_tar ag_tar;
/* A ustar writer over a gzip file; bounded to max bytes of content. */
vg_err ag_tar_open(const char *path, uint64_t max, ag_tar **out, vg_diag *d);
vg_err ag_tar_add(ag_tar *t, const char *name, const void *data, size_t n, uint32_t mode,
                  int64_t mtime, vg_diag *d);
vg_err ag_tar_close(ag_tar *t, uint64_t *bytes, vg_diag *d);

/* ---- YARA (ag_yara.c) ---- */
typedef struct ag_yara_match {
    char path[4096];
    char rule[128], ns[128], tags[512];   /* tags: JSON array text */
} ag_yara_match;
typedef void (*ag_yara_cb)(void *ctx, const ag_yara_match *m);
/* Compiles rules (errors carry line numbers) and scans root recursively. */
vg_err ag_yara_scan(vg_str rules, const char *root, ag_yara_cb cb, void *ctx, uint64_t *scanned,
                    uint64_t *matches, vg_diag *d);

#endif
