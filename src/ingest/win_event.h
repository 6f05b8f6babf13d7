/*
 * win_event.h - the intermediate "Windows event" shared by the Windows
 * decoders (private to src/ingest/win_*.c and their tests).
 *
 * Every source form (evtx JSON, Winlogbeat/ECS JSON, the XML that libevtx
 * renders from .evtx files) is first read into one win_event: the System
 * fields as text, exactly as the source wrote them, plus the ordered list of
 * EventData (or flattened UserData) name/value pairs. Then one mapping module
 * (win_map.c, with the per-provider tables in win_map_sysmon.c and
 * win_map_security.c) turns it into a row of the right table. Because the
 * readers only collect and the mapper alone decides, the EVTX and JSON forms
 * of the same event give the same row; win_event_normalize() irons out the
 * few spelling differences between the forms (GUID braces, padded hex,
 * surrounding white space, fractions of a second, JSON null).
 *
 * Ownership: every vg_str of a win_event points into the event's arena (or
 * into input text the caller keeps alive until win_map_event returns).
 */
#ifndef VG_WIN_EVENT_H
#define VG_WIN_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/vg_arena.h"
#include "../core/vg_err.h"
#include "../core/vg_str.h"
#include "../core/vg_time.h"
#include "vg_ingest.h"

/* Limits on one event. */
#define WIN_MAX_DATA 1024      /* EventData/UserData pairs */
#define WIN_MAX_NAME 256       /* bytes in a data item's name */
#define WIN_MAX_DEPTH 32       /* XML / UserData nesting */

typedef struct win_pair {
    vg_str name;
    vg_str value;
} win_pair;

typedef struct win_event {
    /* System, as text; .p == NULL when absent */
    vg_str provider, provider_guid, event_id, qualifiers, version, level, task, opcode;
    vg_str keywords, time_created, record_id, activity_id, pid, tid, channel, computer;
    vg_str user_sid;
    /* EventData / UserData in document order; names may repeat */
    win_pair *data;
    uint32_t ndata, cap;
    uint32_t nparam;       /* unnamed <Data> items seen (named param1, param2...) */
    bool user_data;        /* the pairs came from UserData */
    vg_arena *arena;
} win_event;

void win_event_init(win_event *ev, vg_arena *a);
/* Appends a pair (the strings are not copied). VG_ELIMIT past WIN_MAX_DATA. */
vg_err win_event_add(win_event *ev, vg_str name, vg_str value, vg_diag *d);
/* Appends an unnamed data item as "param<N>", as Winlogbeat names them. */
vg_err win_event_add_param(win_event *ev, vg_str value, vg_diag *d);
/* Value of the first pair with this name (exact), or {NULL,0}. */
vg_str win_event_get(const win_event *ev, const char *name);
/* Sets the System field named by a leaf element (EventID, Level, Channel, ...);
 * other names are ignored. Shared by the XML and binary-XML readers. */
void win_event_set_system(win_event *ev, vg_str name, vg_str v);
/* Applies the cross-source normalizations (see docs/formats.md). */
void win_event_normalize(win_event *ev);

/*
 * Decodes an .evtx image; with recover, also the deleted records libevtx
 * finds in free space (vg_decode_evtx_file reads live records only, as
 * Event Viewer and the JSON dumps do).
 */
vg_err win_decode_evtx(vg_batchset *set, const vg_ingest_opts *o, vg_str file, bool recover,
                       vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res, vg_diag *d);

/* Maps a read event into a row of the right table (or WindowsEvent). */
vg_err win_map_event(vg_batchset *set, const vg_ingest_opts *o, win_event *ev, vg_diag *d);

/* Writes the raw record: data pairs by their own names, then System fields. */
void win_raw_json(const win_event *ev, vg_buf *out);
/* Writes the data pairs as one JSON object (repeated names become arrays). */
void win_data_json(const win_event *ev, vg_buf *out);

/* ---- helpers, exported for the unit tests ---- */

/* "{GUID}" -> "GUID" when s is exactly a braced GUID; else s. */
vg_str win_strip_guid_braces(vg_str s);
/* "0x001fffff" -> "0x1fffff" (libevtx pads hex integers; Windows and the dumps do not). */
vg_str win_norm_hex(vg_arena *a, vg_str s);
/* Parses a TimeCreated value and rewrites it with 6 fraction digits. */
vg_str win_norm_systime(vg_arena *a, vg_str s, vg_time *t);
/* Sysmon "SHA1=..,MD5=..,SHA256=..,IMPHASH=.." -> lower-case hex; missing ones {NULL,0}. */
void win_split_hashes(vg_arena *a, vg_str hashes, vg_str *md5, vg_str *sha1, vg_str *sha256);
/* "C:\dir\file.exe" -> file "file.exe" (the full path stays the FolderPath). */
vg_str win_path_file(vg_str path);
/* "DOMAIN\user" -> domain, name; "user@dom" -> name "user", domain "dom"; "user" -> name. */
void win_split_account(vg_str acct, vg_str *domain, vg_str *name);
/* "HKLM\..." -> "HKEY_LOCAL_MACHINE\..." and the other hive abbreviations. */
vg_str win_norm_regkey(vg_arena *a, vg_str key);
/* Defender's LocalIPType/RemoteIPType of an address, or NULL when not an IP. */
const char *win_ip_type(vg_str ip);
/* "::ffff:1.2.3.4" -> "1.2.3.4"; "-" and "" -> {NULL,0}. */
vg_str win_norm_ip(vg_str ip);
/* Logon type number -> Defender's name ("RemoteInteractive"), or NULL. */
const char *win_logon_type_name(vg_str num);
/* Integrity label SID (S-1-16-12288) -> "High" etc., or NULL. */
const char *win_integrity_name(vg_str sid);
/* Sysmon registry Details -> value type ("Dword") and data ("1"). */
void win_reg_details(vg_arena *a, vg_str details, const char **type, vg_str *data);

#endif
