/*
 * win_map.h - private to the mapping module (win_map.c and the per-provider
 * tables in win_map_sysmon.c and win_map_security.c).
 *
 * A mapping is one row of a registry table: {provider, EventID, target
 * table, ActionType, fill function, doc}. win_map_event() finds the entry,
 * opens the row, sets the columns every table shares (Timestamp, DeviceName,
 * ReportId, ActionType) and calls the fill function, which sets the rest
 * through the win_put_* helpers below. Helpers never fail a row: a value that
 * does not fit its column leaves the column null (the raw record keeps it).
 */
#ifndef VG_WIN_MAP_H
#define VG_WIN_MAP_H

#include "win_event.h"

typedef enum win_provider {
    WIN_PROV_OTHER,
    WIN_PROV_SYSMON,     /* Microsoft-Windows-Sysmon, Linux-Sysmon */
    WIN_PROV_SECURITY,   /* Microsoft-Windows-Security-Auditing / Security channel */
} win_provider;

typedef struct win_row {
    vg_batch *b;
    uint32_t r;
    win_event *ev;
    vg_arena *a;          /* scratch for derived strings (the event's arena) */
    const char *action;   /* ActionType chosen by the table; fill may change it */
    vg_buf extra;         /* AdditionalFields members being built */
} win_row;

typedef void (*win_fill_fn)(win_row *w);

typedef struct win_mapping {
    win_provider provider;
    int event_id;
    const char *table;
    const char *action;   /* NULL: the fill function sets it */
    win_fill_fn fill;
    const char *doc;
} win_mapping;

extern const win_mapping win_sysmon_map[];
extern const size_t win_sysmon_nmap;
extern const win_mapping win_security_map[];
extern const size_t win_security_nmap;

/* Columns named by a mapping that the table does not have (a bug; tests check it is 0). */
extern unsigned long win_map_unknown_cols;

/* Data item of the event ({NULL,0} when absent). */
static inline vg_str win_src(const win_row *w, const char *field)
{
    return win_event_get(w->ev, field);
}
/* True for values Windows writes to mean "none": "", "-". */
bool win_is_blank(vg_str v);

/* Sets column col from text (converted to its type); blank values are skipped. */
void win_put(win_row *w, const char *col, vg_str v);
void win_put_c(win_row *w, const char *col, const char *v);
/* Sets column col from the event's data item field. */
void win_put_src(win_row *w, const char *col, const char *field);
/* A full path: <prefix>FolderPath = path, <prefix>FileName = its last part. */
void win_put_path(win_row *w, const char *prefix, vg_str path);
/* A Sysmon Hashes list into <prefix>MD5/SHA1/SHA256. */
void win_put_hashes(win_row *w, const char *prefix, vg_str hashes);
/* "DOMAIN\user" into <prefix>AccountDomain and <prefix>AccountName. */
void win_put_account(win_row *w, const char *prefix, vg_str acct);
/* An AdditionalFields member: a string, or (raw) JSON text as is. */
void win_extra(win_row *w, const char *key, vg_str v);
void win_extra_raw(win_row *w, const char *key, vg_str json);

#endif
