/*
 * win_map.c - the one place where a Windows event becomes a row.
 *
 * win_map_event() normalizes the event, looks its (provider, EventID) up in
 * the mapping tables (win_map_sysmon.c, win_map_security.c), opens a row in
 * the chosen Defender table, sets what every mapped row shares (Timestamp,
 * DeviceName, ReportId, ActionType, AdditionalFields) and lets the entry's
 * fill function set the rest. Events without an entry become a WindowsEvent
 * row (Vigil's generic table) so nothing is dropped. Every row carries the
 * event's own fields as its raw record (win_raw_json), so Sigma rules written
 * for Sysmon/Security field names still see them.
 */
#include <stdio.h>
#include <string.h>

#include "win_map.h"

unsigned long win_map_unknown_cols;

bool win_is_blank(vg_str v)
{
    vg_str t = vg_str_trim(v);
    return !v.p || t.n == 0 || vg_str_eqc(t, "-");
}

static int col_of(win_row *w, const char *col)
{
    int c = vg_schema_col(w->b->table, vg_str_c(col));
    if (c < 0)
        win_map_unknown_cols++;
    return c;
}

void win_put(win_row *w, const char *col, vg_str v)
{
    if (win_is_blank(v))
        return;
    int c = col_of(w, col);
    if (c < 0)
        return;
    vg_type t = w->b->table->cols[c].type;
    if (t != VG_T_STRING && t != VG_T_DYNAMIC)
        v = vg_str_trim(v);
    /* a value that does not fit the column's type leaves it null; the raw record keeps it */
    if (vg_batch_set_text(w->b, c, w->r, v, NULL) != VG_OK)
        vg_batch_set_null(w->b, c, w->r);
}

void win_put_c(win_row *w, const char *col, const char *v)
{
    if (v)
        win_put(w, col, vg_str_c(v));
}

void win_put_src(win_row *w, const char *col, const char *field)
{
    win_put(w, col, win_src(w, field));
}

static void colname(char *buf, size_t cap, const char *prefix, const char *col)
{
    snprintf(buf, cap, "%s%s", prefix, col);
}

void win_put_path(win_row *w, const char *prefix, vg_str path)
{
    char name[96];
    if (win_is_blank(path))
        return;
    path = vg_str_trim(path);
    colname(name, sizeof name, prefix, "FolderPath");
    win_put(w, name, path);
    colname(name, sizeof name, prefix, "FileName");
    win_put(w, name, win_path_file(path));
}

void win_put_hashes(win_row *w, const char *prefix, vg_str hashes)
{
    char name[96];
    vg_str md5, sha1, sha256;
    if (win_is_blank(hashes))
        return;
    win_split_hashes(w->a, hashes, &md5, &sha1, &sha256);
    colname(name, sizeof name, prefix, "MD5");
    win_put(w, name, md5);
    colname(name, sizeof name, prefix, "SHA1");
    win_put(w, name, sha1);
    colname(name, sizeof name, prefix, "SHA256");
    win_put(w, name, sha256);
}

void win_put_account(win_row *w, const char *prefix, vg_str acct)
{
    char name[96];
    vg_str dom, user;
    if (win_is_blank(acct))
        return;
    win_split_account(vg_str_trim(acct), &dom, &user);
    colname(name, sizeof name, prefix, "AccountDomain");
    win_put(w, name, dom);
    colname(name, sizeof name, prefix, "AccountName");
    win_put(w, name, user);
}

static void extra_key(win_row *w, const char *key)
{
    vg_buf_putc(&w->extra, w->extra.n ? ',' : '{');
    vg_buf_put_json_str(&w->extra, vg_str_c(key));
    vg_buf_putc(&w->extra, ':');
}

void win_extra(win_row *w, const char *key, vg_str v)
{
    if (win_is_blank(v))
        return;
    extra_key(w, key);
    vg_buf_put_json_str(&w->extra, v);
}

void win_extra_raw(win_row *w, const char *key, vg_str json)
{
    if (!json.n)
        return;
    extra_key(w, key);
    vg_buf_putstr(&w->extra, json);
}

/* ---- dispatch ---- */

static win_provider provider_of(const win_event *ev)
{
    if (vg_str_eqc_ci(ev->provider, "Microsoft-Windows-Sysmon") ||
        vg_str_eqc_ci(ev->provider, "Linux-Sysmon") ||
        (!ev->provider.p && (vg_str_eqc_ci(ev->channel, "Microsoft-Windows-Sysmon/Operational") ||
                             vg_str_eqc_ci(ev->channel, "Linux-Sysmon/Operational"))))
        return WIN_PROV_SYSMON;
    if (vg_str_eqc_ci(ev->provider, "Microsoft-Windows-Security-Auditing") ||
        (!ev->provider.p && vg_str_eqc_ci(ev->channel, "Security")))
        return WIN_PROV_SECURITY;
    return WIN_PROV_OTHER;
}

static const win_mapping *find_mapping(const win_event *ev)
{
    int64_t id;
    if (!ev->event_id.p || vg_str_to_i64(vg_str_trim(ev->event_id), &id) != VG_OK)
        return NULL;
    win_provider p = provider_of(ev);
    const win_mapping *m = p == WIN_PROV_SYSMON ? win_sysmon_map
                           : p == WIN_PROV_SECURITY ? win_security_map : NULL;
    size_t n = p == WIN_PROV_SYSMON ? win_sysmon_nmap : p == WIN_PROV_SECURITY ? win_security_nmap : 0;
    for (size_t i = 0; i < n; i++)
        if (m[i].event_id == id)
            return &m[i];
    return NULL;
}

static void put_generic(win_row *w)
{
    win_event *ev = w->ev;
    win_put(w, "Timestamp", ev->time_created);
    win_put(w, "Computer", ev->computer);
    win_put(w, "Channel", ev->channel);
    win_put(w, "Provider", ev->provider);
    win_put(w, "EventID", ev->event_id);
    win_put(w, "EventRecordId", ev->record_id);
    win_put(w, "Level", ev->level);
    win_put(w, "Task", ev->task);
    win_put(w, "Opcode", ev->opcode);
    win_put(w, "Keywords", ev->keywords);
    win_put(w, "ProcessId", ev->pid);
    win_put(w, "ThreadId", ev->tid);
    win_put(w, "UserSid", ev->user_sid);
    vg_buf data;
    vg_buf_init(&data, VG_INGEST_MAX_RECORD);
    win_data_json(ev, &data);
    if (!data.failed)
        win_put(w, "EventData", vg_str_make(data.p, data.n));
    vg_buf_free(&data);
}

vg_err win_map_event(vg_batchset *set, const vg_ingest_opts *o, win_event *ev, vg_diag *d)
{
    win_event_normalize(ev);
    int64_t id;
    if (vg_str_to_i64(ev->event_id, &id) != VG_OK || id < 0 || id > 65535)
        return vg_diag_set(d, VG_EPARSE, "EventID '%.*s' is not a number from 0 to 65535",
                           (int)(ev->event_id.n > 32 ? 32 : ev->event_id.n), ev->event_id.p);
    const win_mapping *m = find_mapping(ev);
    const vg_table_def *t = vg_schema_table(vg_str_c(m ? m->table : "WindowsEvent"));
    if (!t)
        return vg_diag_set(d, VG_ENOTFOUND, "table %s is not in the schema",
                           m ? m->table : "WindowsEvent");
    win_row w = { .ev = ev, .a = ev->arena, .action = m ? m->action : NULL };
    vg_err e = vg_batchset_row(set, t, &w.b, &w.r, d);
    if (e)
        return e;
    vg_buf_init(&w.extra, VG_INGEST_MAX_RECORD);
    vg_buf raw;
    vg_buf_init(&raw, VG_INGEST_MAX_RECORD);
    if (!m) {
        put_generic(&w);
    } else {
        bool device = strncmp(t->name, "Device", 6) == 0;
        /* Sysmon's UtcTime is when it happened; TimeCreated when it was logged */
        vg_str when = win_src(&w, "UtcTime");
        win_put(&w, "Timestamp", ev->time_created);
        if (!win_is_blank(when))
            win_put(&w, "Timestamp", when);
        if (device)
            win_put(&w, "DeviceName", ev->computer);
        win_put(&w, "ReportId", ev->record_id);
        m->fill(&w);
        win_put_c(&w, "ActionType", w.action);
        if (w.extra.n) {
            vg_buf_putc(&w.extra, '}');
            if (!w.extra.failed)
                win_put(&w, "AdditionalFields", vg_str_make(w.extra.p, w.extra.n));
        }
    }
    if (o->keep_raw) {
        win_raw_json(ev, &raw);
        if (raw.failed)
            e = vg_diag_set(d, VG_ELIMIT, "record %.*s: raw record too large",
                            VG_STR_FMT(ev->record_id));
        else
            e = vg_batch_set_raw(w.b, w.r, vg_str_make(raw.p, raw.n));
    }
    if (e) {
        vg_batch_drop_last(w.b);
        set->rows_added--;
    }
    vg_buf_free(&raw);
    vg_buf_free(&w.extra);
    return e;
}
