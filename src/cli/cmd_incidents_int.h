/*
 * cmd_incidents_int.h - private to the server-side work commands of `vigil`
 * (incidents, alerts, detections, suppressions), which talk to a vigild's
 * /api/v1/security routes through cli_api.h.
 *
 * Each command is a group of subcommands {name, settings table, fn}; the
 * group's dispatcher (ic_dispatch, cmd_incidents.c) parses the
 * subcommand's options from its own table (so `vigil incidents list
 * --help` matches what it accepts), checks the connection options, and
 * runs it. Subcommands validate every argument before their first request.
 * One settings struct serves every table: a table lists only the fields its
 * subcommand reads.
 *
 * Output: --format table prints readable text built from the parsed answer;
 * --format json prints the server's JSON (one document per command run).
 * Exit codes: CLI_OK, CLI_ERR (the server said no, or could not be
 * reached), CLI_USAGE (bad arguments, before any request).
 */
#ifndef VG_CMD_INCIDENTS_INT_H
#define VG_CMD_INCIDENTS_INT_H

#include <stddef.h>

#include "../core/vg_json.h"
#include "cli_api.h"
#include "cli_int.h"

#define IC_MAX_TEXT 30000      /* characters of a comment or description (Graph's limit) */
#define IC_MAX_NAME 256        /* display names, titles, assignees */
#define IC_MAX_TAG 128
#define IC_MAX_FILTER 4096     /* the server's $filter limit */
#define IC_MAX_TOP 1000        /* the server's $top limit */
#define IC_MAX_QUERY (1u << 20)
#define IC_MAX_ID 128          /* characters of an alert id */
#define IC_MAX_PAGES 100000    /* --all: pages followed at most */

typedef struct ic_settings {
    /* connection and output: every subcommand */
    const char *server, *token, *cacert, *format;
    int64_t timeout;
    /* list */
    const char *filter, *status, *severity, *assigned_to, *orderby;
    int64_t top, skip;
    bool all, count;
    /* show */
    bool alerts, graph, runs;
    /* update */
    const char *classification, *determination, *assign, *name, *comment, *if_match,
        *description;
    bool unassign;
    vg_cfg_list tag, untag;
    /* detections */
    const char *query, *query_file, *period, *title, *category, *actions;
    vg_cfg_list technique, device_column, user_column, mailbox_column;
    bool disabled;
    /* suppressions */
    const char *rule, *action;
    vg_cfg_list device, user, file, ip, url, mailbox;
} ic_settings;

/* One run of a subcommand. */
typedef struct ic_ctx {
    const char *cmd;          /* "incidents list": prefix of messages */
    ic_settings s;
    vg_cfg_args args;
    bool json;
    cli_api *api;
    char name[64];            /* storage of cmd */
    vg_arena a;               /* the settings: lives for the whole run */
    vg_arena ans;             /* parsed answers and text made from them; list pages reset it */
    vg_buf answer;            /* the last answer's body */
    vg_buf etag;              /* the last answer's ETag header */
    long status;              /* the last answer's HTTP status */
} ic_ctx;

typedef int (*ic_fn)(ic_ctx *c);

typedef struct ic_sub {
    const char *name;
    const vg_cfg_spec *spec;
    ic_fn fn;
} ic_sub;

/* Runs `vigil GROUP SUB ...` (argv[0] is GROUP). */
int ic_dispatch(const char *group, const char *summary, const ic_sub *subs, size_t nsubs, int argc,
                char **argv);

/* "vigil incidents list: ..." on stderr. */
void ic_err(const ic_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * One request. Transport failures are printed and give CLI_ERR; else
 * CLI_OK with c->status and c->answer set, whatever the status.
 */
int ic_request(ic_ctx *c, const char *method, const char *path, const vg_buf *body,
               const char *if_match);
/*
 * A request that must succeed (2xx): otherwise prints "the server answered
 * N: its error message" and gives CLI_ERR. When out is non-NULL the answer
 * is parsed (a non-JSON answer is an error).
 */
int ic_call(ic_ctx *c, const char *method, const char *path, const vg_buf *body,
            const char *if_match, const vg_json **out);
/* Parses c->answer into the arena; CLI_ERR (printed) when it is not JSON. */
int ic_parse_answer(ic_ctx *c, const vg_json **out);
/* Prints the server's error ({"error":"..."} or the raw text) for c->status. */
void ic_print_server_error(ic_ctx *c, const char *what);

/* "W/\"7\"" (body member "@odata.etag" or the header) -> 7; -1 when absent. */
int64_t ic_etag_version(const vg_json *obj, const vg_buf *header);

/* ---- validation (messages name the option) ---- */

/* One of vals (case-insensitive); *canon gets the canonical spelling. */
bool ic_check_enum(const ic_ctx *c, const char *opt, const char *v, const char *const *vals,
                   const char **canon);
/* Non-empty (unless allow_empty), at most max bytes, no control characters. */
bool ic_check_text(const ic_ctx *c, const char *opt, const char *v, size_t max, bool allow_empty);
/* A positive decimal id (incidents, detections, suppressions). */
bool ic_check_num_id(const ic_ctx *c, const char *what, const char *v);
/* Exactly n positionals. */
bool ic_check_npos(const ic_ctx *c, int n, const char *usage);
/* Reads a whole file (at most max bytes) into b. */
bool ic_read_file(const ic_ctx *c, const char *opt, const char *path, size_t max, vg_buf *b);

/* ---- output ---- */

/* Writes JSON text and a newline to stdout. */
void ic_print_json(vg_str text);
/* The text of member key of obj ("" when absent or null). */
vg_str ic_get(const vg_json *obj, const char *key);
/* An array member joined with ", " into the arena ("" when absent). */
vg_str ic_join(ic_ctx *c, const vg_json *obj, const char *key);

/* A text table: columns, then rows of cells; printed aligned. */
typedef struct ic_table {
    size_t ncols;
    const char *const *head;
    size_t *width;
    size_t max_width;         /* cells are cut to this (not the first column, an id, nor the last) */
    vg_buf cells;             /* rows of ncols NUL-terminated cells */
    size_t nrows;
} ic_table;
void ic_table_init(ic_table *t, const char *const *head, size_t ncols, size_t max_width, vg_arena *a);
/* Adds one row of ncols cells. */
void ic_table_row(ic_table *t, const vg_str *cells);
void ic_table_print(ic_table *t);
void ic_table_free(ic_table *t);

/* Prints the scalar members of obj as "  Key: value" lines. */
void ic_print_fields(const vg_json *obj, const char *indent);

/*
 * A list call with paging: GETs path (which carries the query), prints each
 * page's "value" items with row() (table mode) or collects them (json mode,
 * printed as one {"value":[...]} document), and follows "@odata.nextLink"
 * when all is set.
 */
typedef void (*ic_row_fn)(ic_ctx *c, ic_table *t, const vg_json *item);
int ic_list(ic_ctx *c, const char *path, bool all, ic_table *t, ic_row_fn row);

/* ---- settings tables ---- */

#define IC_OFF(f) offsetof(ic_settings, f)
/* The connection and output options every subcommand takes. */
#define IC_CONN_DEFS                                                                              \
    { "server", VG_CFG_STRING, "", 0, 0, false, IC_OFF(server),                                  \
      "vigild to talk to (http://host:port or https://host:port); default $VIGIL_SERVER" },       \
    { "token", VG_CFG_STRING, "", 0, 0, false, IC_OFF(token),                                    \
      "bearer token (vigil token, or DATA/admin.token); default $VIGIL_TOKEN" },                  \
    { "cacert", VG_CFG_STRING, "", 0, 0, false, IC_OFF(cacert),                                  \
      "https: PEM CA certificate(s) to verify the server with (default: the system's store); "   \
      "verification is always on" },                                                             \
    { "format", VG_CFG_STRING, "table", 0, 0, false, IC_OFF(format),                             \
      "output: table (readable text) or json (the server's JSON)" },                             \
    { "timeout", VG_CFG_DURATION, "5m", 1, 86400, false, IC_OFF(timeout),                        \
      "give up on a request after this long" }
#define IC_NDEFS(defs) (sizeof defs / sizeof defs[0])

#endif
