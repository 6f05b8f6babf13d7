/*
 * cli_int.h - private interface of the `vigil` command line (src/cli only).
 *
 * main_vigil.c holds the subcommand table {name, fn, summary}; each cmd_*.c
 * file implements one or two subcommands, each with its own settings table
 * (vg_config.h) from which its option parsing and `--help` come. Helpers for
 * messages, option parsing, number formatting and input files live in
 * cli_util.c.
 *
 * Exit codes of every subcommand: 0 success, 1 error, 2 usage error,
 * 3 success except that some input records were rejected.
 */
#ifndef VG_CLI_INT_H
#define VG_CLI_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/vg_arena.h"
#include "../core/vg_config.h"
#include "../core/vg_err.h"
#include "../core/vg_str.h"

enum { CLI_OK = 0, CLI_ERR = 1, CLI_USAGE = 2, CLI_REJECTED = 3 };

/* A subcommand: argv[0] is its own name. */
typedef int (*cli_fn)(int argc, char **argv);

typedef struct cli_cmd {
    const char *name;
    cli_fn fn;
    const char *summary;
    bool hidden;            /* left out of `vigil --help` (benchmarks, tools) */
} cli_cmd;

int cmd_schema(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_decode_bench(int argc, char **argv);
int cmd_hunt(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_rules(int argc, char **argv);
/* cmd_incidents.c, cmd_incidents_rules.c: the incident queue of a server */
int cmd_incidents(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_detections(int argc, char **argv);
int cmd_suppressions(int argc, char **argv);
int cmd_token(int argc, char **argv);

/* "vigil CMD: message" on stderr. */
void cli_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parses a subcommand's options with its settings table. Returns -1 when
 * the command should run, else the exit code to return at once (after
 * printing --help, or a usage error).
 */
int cli_parse(const vg_cfg_spec *spec, int argc, char **argv, void *settings, vg_cfg_args *args,
              vg_arena *a);

/* 1234567 -> "1,234,567" into buf. */
const char *cli_num(uint64_t v, char *buf, size_t cap);
/* 1536 -> "1.5 KiB" into buf. */
const char *cli_bytes(uint64_t v, char *buf, size_t cap);

/* ---- input files ---- */

/*
 * An input file or stream. A regular file is mapped whole (no copy, any
 * size); "-" (stdin) and pipes are read in pieces with cli_input_read.
 */
typedef struct cli_input {
    const char *name;      /* as given; "-" is shown as "stdin" */
    int fd;
    bool mapped;
    vg_str data;           /* mapped: the whole file */
    uint64_t size;         /* mapped: file size; streams: 0 (unknown) */
    bool eof;              /* streams: no more bytes */
} cli_input;

vg_err cli_input_open(cli_input *in, const char *path, vg_diag *d);
/* Streams: appends up to `want` more bytes to b; sets in->eof at the end. */
vg_err cli_input_read(cli_input *in, vg_buf *b, size_t want, vg_diag *d);
void cli_input_close(cli_input *in);

/* True when stderr is a terminal (progress bars). */
bool cli_stderr_tty(void);

/* ---- the store writer thread of ingest (cli_writer.c) ---- */

struct vg_store;
struct vg_batch;
typedef struct cli_writer cli_writer;
/* Starts a thread appending batches to st; at most depth batches wait. */
vg_err cli_writer_start(struct vg_store *st, size_t depth, cli_writer **out, vg_diag *d);
/*
 * Hands the rows of b to the writer; b comes back empty (same table and
 * capacity) for the caller to refill. Returns an earlier append failure.
 */
vg_err cli_writer_put(cli_writer *w, struct vg_batch *b, vg_diag *d);
/* Waits for every batch to be appended; the first failure, if any. */
vg_err cli_writer_finish(cli_writer *w, vg_diag *d);
void cli_writer_free(cli_writer *w);

/* ---- ingest over HTTP (cmd_ingest_http.c) ---- */

typedef struct cli_http cli_http;
/* Called for each record the server rejected: line within the posted body. */
typedef void (*cli_http_reject_fn)(void *ctx, uint64_t line, vg_str reason);

vg_err cli_http_open(const char *url, const char *token, cli_http **out, vg_diag *d);
/*
 * POSTs one body of whole records to /api/v1/ingest?format=&table=, zstd-
 * compressed; retries while the server answers 503 or cannot be reached
 * (nothing of a failed request was acknowledged). *accepted and *rejected
 * come from the answer; reject is called for each rejection it lists.
 */
vg_err cli_http_ingest(cli_http *h, vg_str body, const char *format, const char *table,
                       uint64_t *accepted, uint64_t *rejected, cli_http_reject_fn reject,
                       void *ctx, vg_diag *d);
/* Bytes sent after compression, and before. */
void cli_http_sent(const cli_http *h, uint64_t *wire, uint64_t *raw);
void cli_http_close(cli_http *h);

#endif
