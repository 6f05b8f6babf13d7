/*
 * win_json.c - the two JSON forms of a Windows event, read into a win_event.
 *
 * evtx JSON (vg_decode_evtx_json) is the convention of the evtx/evtx_dump
 * tools and of SigmaHQ's regression data: {"Event": {"System": {...},
 * "EventData": {...} | "UserData": {...}}}, with XML attributes under
 * "#attributes" and element text under "#text". Winlogbeat/ECS
 * (vg_decode_winlogbeat) puts the System fields under "winlog" (7.x and
 * later; 6.x wrote them at the top level, which is accepted too) and the data
 * under winlog.event_data / winlog.user_data.
 *
 * Both parse the record with the JSON DOM into a per-record arena, collect
 * System and data items as text, and hand the event to win_map_event().
 * Scalars become their text (numbers as written, null as ""); a nested
 * object of UserData is flattened to its leaves, and an array gives one item
 * per element, exactly as the XML reader does with repeated elements.
 */
#include <string.h>

#include "../core/vg_json.h"
#include "win_event.h"

/* Text of a scalar node; NULL node -> absent. */
static vg_str text_of(const vg_json *v)
{
    if (!v)
        return VG_STR_NULL;
    if (v->kind == VG_JSON_OBJECT) {
        const vg_json *t = vg_json_get(v, "#text");
        return t ? text_of(t) : VG_STR_NULL;
    }
    if (v->kind == VG_JSON_ARRAY)
        return VG_STR_NULL;
    vg_str s = vg_json_text(v);
    return s.p ? s : VG_STR_LIT("");
}

static vg_str attr(const vg_json *el, const char *name)
{
    const vg_json *a = el ? vg_json_get(el, "#attributes") : NULL;
    return a ? text_of(vg_json_get(a, name)) : VG_STR_NULL;
}

static vg_err add_leaves(win_event *ev, vg_str name, const vg_json *v, int depth, vg_diag *d);

/* A named value: scalar -> one item; array -> one per element; object -> its #text or leaves. */
static vg_err add_value(win_event *ev, vg_str name, const vg_json *v, int depth, vg_diag *d)
{
    if (depth > WIN_MAX_DEPTH)
        return vg_diag_set(d, VG_ELIMIT, "data item %.*s nested deeper than %d",
                           (int)(name.n > 64 ? 64 : name.n), name.p, WIN_MAX_DEPTH);
    if (v->kind == VG_JSON_ARRAY) {
        for (uint32_t i = 0; i < v->n; i++) {
            vg_err e = add_value(ev, name, v->kids[i], depth + 1, d);
            if (e)
                return e;
        }
        return VG_OK;
    }
    if (v->kind == VG_JSON_OBJECT) {
        const vg_json *t = vg_json_get(v, "#text");
        if (t)
            return add_value(ev, name, t, depth + 1, d);
        bool leaf = true;
        for (uint32_t i = 0; i < v->n && leaf; i++)
            leaf = vg_str_eqc(v->kids[i]->key, "#attributes");
        if (leaf) /* an element with attributes only: an empty item, as in XML */
            return win_event_add(ev, name, VG_STR_LIT(""), d);
        return add_leaves(ev, name, v, depth + 1, d);
    }
    return win_event_add(ev, name, text_of(v), d);
}

/* The members of a container element, each by its own name. */
static vg_err add_leaves(win_event *ev, vg_str name, const vg_json *obj, int depth, vg_diag *d)
{
    (void)name;
    for (uint32_t i = 0; i < obj->n; i++) {
        const vg_json *k = obj->kids[i];
        if (vg_str_eqc(k->key, "#attributes") || vg_str_eqc(k->key, "xml_name"))
            continue;
        vg_err e = add_value(ev, k->key, k, depth, d);
        if (e)
            return e;
    }
    return VG_OK;
}

/* Unnamed <Data> items: "Data": "x" | ["x", "y"] | {"#text": ...}. */
static vg_err add_params(win_event *ev, const vg_json *v, int depth, vg_diag *d)
{
    if (depth > WIN_MAX_DEPTH)
        return vg_diag_set(d, VG_ELIMIT, "EventData.Data nested deeper than %d", WIN_MAX_DEPTH);
    if (v->kind == VG_JSON_ARRAY) {
        for (uint32_t i = 0; i < v->n; i++) {
            vg_err e = add_params(ev, v->kids[i], depth + 1, d);
            if (e)
                return e;
        }
        return VG_OK;
    }
    if (v->kind == VG_JSON_OBJECT) {
        const vg_json *t = vg_json_get(v, "#text");
        if (t)
            return add_params(ev, t, depth + 1, d);
        vg_str nm = attr(v, "Name");
        if (nm.n)
            return win_event_add(ev, nm, VG_STR_LIT(""), d);
        return win_event_add_param(ev, VG_STR_LIT(""), d);
    }
    return win_event_add_param(ev, text_of(v), d);
}

static vg_err read_event_data(win_event *ev, const vg_json *ed, vg_diag *d)
{
    if (!ed || ed->kind != VG_JSON_OBJECT)
        return VG_OK;
    for (uint32_t i = 0; i < ed->n; i++) {
        const vg_json *k = ed->kids[i];
        vg_err e;
        if (vg_str_eqc(k->key, "#attributes"))
            continue;
        if (vg_str_eqc(k->key, "Data") || vg_str_eqc(k->key, "#text"))
            e = add_params(ev, k, 0, d);
        else
            e = add_value(ev, k->key, k, 0, d);
        if (e)
            return e;
    }
    return VG_OK;
}

static vg_err read_user_data(win_event *ev, const vg_json *ud, vg_diag *d)
{
    if (!ud || ud->kind != VG_JSON_OBJECT)
        return VG_OK;
    ev->user_data = true;
    /* UserData holds one element named after the event template; its leaves are the data */
    for (uint32_t i = 0; i < ud->n; i++) {
        const vg_json *k = ud->kids[i];
        if (vg_str_eqc(k->key, "#attributes"))
            continue;
        vg_err e = k->kind == VG_JSON_OBJECT ? add_leaves(ev, k->key, k, 1, d)
                                              : add_value(ev, k->key, k, 1, d);
        if (e)
            return e;
    }
    return VG_OK;
}

static vg_err parse_record(vg_arena *a, vg_str rec, vg_json **root, vg_diag *d)
{
    vg_err e = vg_json_parse(a, rec, root, d);
    if (e)
        return e;
    if ((*root)->kind != VG_JSON_OBJECT)
        return vg_diag_set(d, VG_EPARSE, "expected a JSON object");
    return VG_OK;
}

vg_err vg_decode_evtx_json(vg_batchset *set, const vg_ingest_opts *o, vg_str rec, vg_diag *d)
{
    vg_arena a;
    vg_arena_init(&a, 16384, 8u * VG_INGEST_MAX_RECORD);
    vg_json *root;
    win_event ev;
    win_event_init(&ev, &a);
    vg_err e = parse_record(&a, rec, &root, d);
    if (e)
        goto out;
    const vg_json *event = vg_json_get(root, "Event");
    if (!event)
        event = root; /* the Event element itself */
    const vg_json *sys = vg_json_get(event, "System");
    if (!sys || sys->kind != VG_JSON_OBJECT) {
        e = vg_diag_set(d, VG_EPARSE, "no Event.System object");
        goto out;
    }
    const vg_json *prov = vg_json_get(sys, "Provider");
    ev.provider = attr(prov, "Name");
    if (!ev.provider.p)
        ev.provider = attr(prov, "EventSourceName");
    ev.provider_guid = attr(prov, "Guid");
    const vg_json *eid = vg_json_get(sys, "EventID");
    ev.event_id = text_of(eid);
    ev.qualifiers = attr(eid, "Qualifiers");
    ev.version = text_of(vg_json_get(sys, "Version"));
    ev.level = text_of(vg_json_get(sys, "Level"));
    ev.task = text_of(vg_json_get(sys, "Task"));
    ev.opcode = text_of(vg_json_get(sys, "Opcode"));
    ev.keywords = text_of(vg_json_get(sys, "Keywords"));
    ev.time_created = attr(vg_json_get(sys, "TimeCreated"), "SystemTime");
    ev.record_id = text_of(vg_json_get(sys, "EventRecordID"));
    ev.activity_id = attr(vg_json_get(sys, "Correlation"), "ActivityID");
    const vg_json *exe = vg_json_get(sys, "Execution");
    ev.pid = attr(exe, "ProcessID");
    ev.tid = attr(exe, "ThreadID");
    ev.channel = text_of(vg_json_get(sys, "Channel"));
    ev.computer = text_of(vg_json_get(sys, "Computer"));
    ev.user_sid = attr(vg_json_get(sys, "Security"), "UserID");
    if (!ev.event_id.n) {
        e = vg_diag_set(d, VG_EPARSE, "Event.System.EventID is missing");
        goto out;
    }
    if ((e = read_event_data(&ev, vg_json_get(event, "EventData"), d)))
        goto out;
    if ((e = read_user_data(&ev, vg_json_get(event, "UserData"), d)))
        goto out;
    e = win_map_event(set, o, &ev, d);
out:
    vg_arena_free(&a);
    return e;
}

/* A member by dotted path, trying the 7.x "winlog." form first, then 6.x. */
static const vg_json *wl(const vg_json *root, const char *path7, const char *path6)
{
    const vg_json *v = path7 ? vg_json_path(root, path7) : NULL;
    if ((!v || v->kind == VG_JSON_NULL) && path6)
        v = vg_json_path(root, path6);
    return v;
}

/* keywords: ["Audit Success"] -> "Audit Success" (several joined by ", ") */
static vg_str keywords_text(vg_arena *a, const vg_json *k)
{
    if (!k || k->kind != VG_JSON_ARRAY)
        return text_of(k);
    vg_buf b;
    vg_buf_init(&b, 4096);
    for (uint32_t i = 0; i < k->n; i++) {
        if (i)
            vg_buf_puts(&b, ", ");
        vg_buf_putstr(&b, text_of(k->kids[i]));
    }
    vg_str out = b.failed ? VG_STR_NULL : vg_str_dup(a, vg_str_make(b.p ? b.p : "", b.n));
    vg_buf_free(&b);
    return out;
}

vg_err vg_decode_winlogbeat(vg_batchset *set, const vg_ingest_opts *o, vg_str rec, vg_diag *d)
{
    vg_arena a;
    vg_arena_init(&a, 16384, 8u * VG_INGEST_MAX_RECORD);
    vg_json *root;
    win_event ev;
    win_event_init(&ev, &a);
    vg_err e = parse_record(&a, rec, &root, d);
    if (e)
        goto out;
    ev.event_id = text_of(wl(root, "winlog.event_id", "event_id"));
    if (!ev.event_id.n)
        ev.event_id = text_of(vg_json_path(root, "event.code"));
    if (!ev.event_id.n) {
        e = vg_diag_set(d, VG_EPARSE, "no winlog.event_id (nor event_id, event.code)");
        goto out;
    }
    ev.provider = text_of(wl(root, "winlog.provider_name", "source_name"));
    if (!ev.provider.p)
        ev.provider = text_of(vg_json_path(root, "event.provider"));
    ev.provider_guid = text_of(wl(root, "winlog.provider_guid", "provider_guid"));
    ev.channel = text_of(wl(root, "winlog.channel", "log_name"));
    ev.computer = text_of(wl(root, "winlog.computer_name", "computer_name"));
    if (!ev.computer.p)
        ev.computer = text_of(vg_json_path(root, "host.name"));
    ev.record_id = text_of(wl(root, "winlog.record_id", "record_number"));
    ev.version = text_of(wl(root, "winlog.version", "version"));
    ev.level = text_of(wl(root, "log.level", "level"));
    ev.task = text_of(wl(root, "winlog.task", "task"));
    ev.opcode = text_of(wl(root, "winlog.opcode", "opcode"));
    ev.keywords = keywords_text(&a, wl(root, "winlog.keywords", "keywords"));
    ev.activity_id = text_of(wl(root, "winlog.activity_id", "activity_id"));
    ev.pid = text_of(wl(root, "winlog.process.pid", "process_id"));
    ev.tid = text_of(wl(root, "winlog.process.thread.id", "thread_id"));
    ev.user_sid = text_of(wl(root, "winlog.user.identifier", "user.identifier"));
    ev.time_created = text_of(wl(root, "winlog.time_created", "@timestamp"));
    if (!ev.time_created.p)
        ev.time_created = text_of(vg_json_path(root, "@timestamp"));
    if ((e = read_event_data(&ev, wl(root, "winlog.event_data", "event_data"), d)))
        goto out;
    const vg_json *ud = wl(root, "winlog.user_data", "user_data");
    if (ud && ud->kind == VG_JSON_OBJECT) {
        /* Winlogbeat already flattened UserData's element: its members are the data */
        ev.user_data = true;
        if ((e = add_leaves(&ev, VG_STR_NULL, ud, 1, d)))
            goto out;
    }
    e = win_map_event(set, o, &ev, d);
out:
    vg_arena_free(&a);
    return e;
}
