/*
 * inc_api_int.h - private to the API half of src/incident (inc_api*.c,
 * inc_odata.c, inc_json.c): the OData compiler's output and the JSON
 * writers of incident, alert and comment rows.
 *
 * The OData compiler turns $filter and $orderby into SQL text that holds no
 * byte of the input: every literal becomes a numbered parameter (?N) whose
 * value is kept in inc_sql.args and bound with inc_sql_bind. Field names map
 * to fixed column expressions from a table, so nothing the user typed ever
 * reaches SQLite's parser.
 *
 * Every function here expects the caller to hold inc->mu when it touches
 * the database.
 */
#ifndef INC_API_INT_H
#define INC_API_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "../core/vg_arena.h"
#include "../core/vg_json.h"
#include "../core/vg_str.h"
#include "inc_int.h"

#define INC_ODATA_MAX_DEPTH 32      /* nesting of parentheses and `not` in $filter */
#define INC_ODATA_MAX_ARGS 512      /* literals in one $filter */
#define INC_ODATA_MAX_ORDER 8       /* keys in one $orderby */
#define INC_ODATA_MAX_ORDERBY 512   /* bytes of a $orderby expression */

typedef enum inc_obj { INC_OBJ_INCIDENT, INC_OBJ_ALERT } inc_obj;

typedef enum inc_arg_kind { INC_ARG_INT, INC_ARG_TEXT } inc_arg_kind;

typedef struct inc_arg {
    inc_arg_kind kind;
    int64_t i;
    vg_str s;                 /* in the caller's arena */
} inc_arg;

/* A compiled $filter/$orderby: SQL text with ?1..?nargs and their values. */
typedef struct inc_sql {
    vg_buf where;             /* a boolean SQL expression; empty when no $filter */
    vg_buf order;             /* "a DESC, b ASC, id DESC" (never empty after orderby) */
    inc_arg args[INC_ODATA_MAX_ARGS];
    int nargs;
} inc_sql;

void inc_sql_init(inc_sql *q);
void inc_sql_free(inc_sql *q);

/* Compiles a $filter (NULL/empty: no condition) into q->where; literals are
 * copied into a. Errors (VG_EPARSE, VG_ELIMIT) name the column:
 * "$filter: column 14: unknown field 'foo' (filterable: ...)". */
vg_err inc_odata_filter(inc_obj o, vg_str filter, vg_arena *a, inc_sql *q, vg_diag *d);
/* Compiles a $orderby (NULL/empty: the default order) into q->order, always
 * ending with the id as the last tie-breaker. */
vg_err inc_odata_orderby(inc_obj o, vg_str orderby, inc_sql *q, vg_diag *d);
/* Binds q's arguments as ?1..?nargs. */
vg_err inc_sql_bind(sqlite3_stmt *st, const inc_sql *q, vg_diag *d);

/* The SQL expression of a severity's rank (informational 1 .. high 4). */
#define INC_SEV_RANK_SQL(col)                                                          \
    "(CASE " col " WHEN 'informational' THEN 1 WHEN 'low' THEN 2 WHEN 'medium' THEN 3 " \
    "WHEN 'high' THEN 4 ELSE 0 END)"

/* ---- Graph names of stored values (inc_json.c) ---- */

/* One stored value and its Graph spelling. */
typedef struct inc_name_map {
    const char *stored;
    const char *graph;
} inc_name_map;

extern const inc_name_map inc_service_sources[];     /* NULL-terminated */
extern const inc_name_map inc_detection_sources[];   /* NULL-terminated */
#define INC_SERVICE_SOURCE_OTHER "microsoft365Defender"

/* Graph's serviceSource of a stored AlertInfo.ServiceSource. */
const char *inc_graph_service_source(vg_str stored);
/* Graph's detectionSource of a stored AlertInfo.DetectionSource (unmapped
 * values, e.g. customDetection, are returned as they are). */
vg_str inc_graph_detection_source(vg_str stored);

/* ---- rows to JSON (inc_json.c) ---- */

/* The column lists the writers expect, in this order. */
#define INC_INCIDENT_COLS                                                               \
    "id, display_name, description, status, severity, classification, determination, "  \
    "assigned_to, redirect_id, custom_tags, system_tags, tactics, techniques, devices, " \
    "users, mailboxes, sources, alert_count, first_activity, last_activity, created, "   \
    "updated, resolved, version"
#define INC_ALERT_COLS                                                                  \
    "id, incident_id, title, description, recommended_actions, category, severity, "     \
    "status, classification, determination, assigned_to, service_source, "              \
    "detection_source, detector_id, tactics, techniques, evidence, suppressed_by, "      \
    "first_activity, last_activity, created, updated, resolved, version"

/* Column positions of INC_INCIDENT_COLS / INC_ALERT_COLS that callers read. */
enum { INC_IC_ID = 0, INC_IC_STATUS = 3, INC_IC_VERSION = 23 };
enum { INC_AC_ID = 0, INC_AC_INCIDENT = 1, INC_AC_VERSION = 23 };

/* Writes the incident of a row selected with INC_INCIDENT_COLS (and its
 * comments, and with expand_alerts its alerts). */
vg_err inc_json_incident(vg_inc *inc, sqlite3_stmt *row, bool expand_alerts, vg_buf *out,
                         vg_diag *d);
/* Writes the alert of a row selected with INC_ALERT_COLS. */
vg_err inc_json_alert(vg_inc *inc, sqlite3_stmt *row, vg_buf *out, vg_diag *d);
/* Writes the JSON array of the comments of an incident (iid) or an alert (aid). */
vg_err inc_json_comments(vg_inc *inc, bool on_incident, int64_t iid, vg_str aid, vg_buf *out,
                         vg_diag *d);
/* Appends a stored JSON array column as is, or [] when it is not an array. */
void inc_json_put_array(vg_buf *out, sqlite3_stmt *row, int col);
/* Appends an ISO-8601 time (or null for a NULL column). */
void inc_json_put_time(vg_buf *out, sqlite3_stmt *row, int col);
/* Appends a text column as a JSON string (or null). */
void inc_json_put_text(vg_buf *out, sqlite3_stmt *row, int col);

/* ---- shared by inc_api*.c ---- */

/* Prepares sql on inc->db; VG_EIO with SQLite's message. */
vg_err inc_prepare(vg_inc *inc, const char *sql, sqlite3_stmt **st, vg_diag *d);
/* Runs BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
vg_err inc_begin(vg_inc *inc, vg_diag *d);
vg_err inc_commit(vg_inc *inc, vg_diag *d);
void inc_rollback(vg_inc *inc);
/* Parses a request body into a JSON object (VG_EPARSE/VG_EINVAL otherwise). */
vg_err inc_body_object(vg_arena *a, vg_str body, const vg_json **out, vg_diag *d);
/* The actor's name for audit and createdBy fields ("vigil" when none). */
const char *inc_actor_name(const vg_inc_actor *who);

#endif
