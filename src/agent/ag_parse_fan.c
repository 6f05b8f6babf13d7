/*
 * ag_parse_fan.c - the file sensor's parsers: decoding a fanotify read buffer
 * of a FAN_REPORT_DFID_NAME group (event metadata followed by info records:
 * directory file handle + entry name, and for FAN_RENAME the old and new
 * directory + name), rename pairing for kernels without FAN_RENAME, and the
 * DeviceFileEvents members of one file event.
 *
 * Pure functions (see ag_sensors_int.h); ag_file.c owns the fanotify group,
 * resolves handles to paths (open_by_handle_at) and emits the rows.
 * FolderPath is the file's full path, as Defender writes it; PreviousFolderPath
 * is the folder the file was renamed out of, PreviousFileName its old name.
 */
#include "ag_sensors_int.h"

#include <fcntl.h>
#include <linux/fanotify.h>
#include <stdio.h>
#include <string.h>

#ifndef FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
#define FAN_EVENT_INFO_TYPE_OLD_DFID_NAME 10
#define FAN_EVENT_INFO_TYPE_NEW_DFID_NAME 12
#endif

/* struct fanotify_event_info_fid: header(4) fsid(8) file_handle{bytes(4) type(4) f_handle[]} */
#define FID_FIXED (sizeof(struct fanotify_event_info_header) + 8)
#define HANDLE_FIXED 8

static vg_err record(const unsigned char *p, size_t len, size_t at, ag_fan_rec *r, vg_diag *d)
{
    struct fanotify_event_info_header h;
    memcpy(&h, p, sizeof h);
    if (h.info_type != FAN_EVENT_INFO_TYPE_FID && h.info_type != FAN_EVENT_INFO_TYPE_DFID &&
        h.info_type != FAN_EVENT_INFO_TYPE_DFID_NAME &&
        h.info_type != FAN_EVENT_INFO_TYPE_OLD_DFID_NAME &&
        h.info_type != FAN_EVENT_INFO_TYPE_NEW_DFID_NAME)
        return VG_OK;   /* pidfd, error records: nothing the sensor uses */
    if (len < FID_FIXED + HANDLE_FIXED)
        return vg_diag_set(d, VG_EPARSE, "fanotify buffer: fid record at byte %zu has %zu bytes", at, len);
    uint64_t fsid;
    uint32_t hbytes;
    memcpy(&fsid, p + sizeof h, 8);
    memcpy(&hbytes, p + FID_FIXED, 4);
    if (hbytes > len - FID_FIXED - HANDLE_FIXED)
        return vg_diag_set(d, VG_EPARSE,
                           "fanotify buffer: file handle at byte %zu claims %u bytes, record has %zu",
                           at, hbytes, len - FID_FIXED - HANDLE_FIXED);
    const unsigned char *handle = p + FID_FIXED;
    size_t name_off = FID_FIXED + HANDLE_FIXED + hbytes;
    vg_str name = VG_STR_NULL;
    if (h.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME || h.info_type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME ||
        h.info_type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME) {
        const char *np = (const char *)p + name_off;
        size_t max = len - name_off, nl = strnlen(np, max);
        if (nl == max)
            return vg_diag_set(d, VG_EPARSE, "fanotify buffer: entry name at byte %zu is not terminated",
                               at + name_off);
        name = vg_str_make(np, nl);
    }
    switch (h.info_type) {
    case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
        r->old_dir = handle;
        r->old_name = name;
        r->old_fsid = fsid;
        break;
    case FAN_EVENT_INFO_TYPE_FID:
        /* the object itself; with a DFID_NAME record present, that one names it */
        break;
    default:
        r->dir = handle;
        r->name = name;
        r->fsid = fsid;
        break;
    }
    return VG_OK;
}

vg_err ag_fan_decode(const void *buf, size_t len, ag_fan_fn fn, void *ctx, vg_diag *d)
{
    const unsigned char *p = buf;
    size_t off = 0;
    while (off < len) {
        struct fanotify_event_metadata m;
        if (len - off < sizeof m)
            return vg_diag_set(d, VG_EPARSE, "fanotify buffer: %zu bytes at %zu, an event needs %zu",
                               len - off, off, sizeof m);
        memcpy(&m, p + off, sizeof m);
        if (m.vers != FANOTIFY_METADATA_VERSION)
            return vg_diag_set(d, VG_EPARSE, "fanotify buffer: event at byte %zu has version %u, not %u",
                               off, m.vers, FANOTIFY_METADATA_VERSION);
        if (m.metadata_len < sizeof m || m.event_len < m.metadata_len || m.event_len > len - off)
            return vg_diag_set(d, VG_EPARSE,
                               "fanotify buffer: event at byte %zu has lengths %u/%u, %zu bytes left",
                               off, m.metadata_len, m.event_len, len - off);
        ag_fan_rec r = { .mask = m.mask, .pid = m.pid };
        size_t ro = off + m.metadata_len, end = off + m.event_len;
        while (ro < end) {
            struct fanotify_event_info_header h;
            if (end - ro < sizeof h)
                return vg_diag_set(d, VG_EPARSE, "fanotify buffer: info record at byte %zu is cut", ro);
            memcpy(&h, p + ro, sizeof h);
            if (h.len < sizeof h || h.len > end - ro)
                return vg_diag_set(d, VG_EPARSE,
                                   "fanotify buffer: info record at byte %zu claims %u bytes, %zu left",
                                   ro, h.len, end - ro);
            vg_err e = record(p + ro, h.len, ro, &r, d);
            if (e) return e;
            ro += h.len;
        }
        fn(ctx, &r);
        off = end;
    }
    return VG_OK;
}

const char *ag_file_action_name(ag_file_action act)
{
    switch (act) {
    case AG_FILE_CREATED: return "FileCreated";
    case AG_FILE_MODIFIED: return "FileModified";
    case AG_FILE_DELETED: return "FileDeleted";
    case AG_FILE_RENAMED: return "FileRenamed";
    }
    return "FileModified";
}

static void member_str(vg_buf *b, const char *name, vg_str v)
{
    if (!v.p)
        v = VG_STR_LIT("");   /* an absent field is an empty string */
    vg_buf_putc(b, ',');
    vg_buf_put_json_str(b, vg_str_c(name));
    vg_buf_putc(b, ':');
    vg_buf_put_json_str(b, v);
}

/* dir and base of a path: "/a/b/c" -> "/a/b", "c"; "/c" -> "/", "c" */
static void split(const char *path, vg_str *dir, vg_str *base)
{
    vg_str s = vg_str_c(path);
    ptrdiff_t slash = vg_str_rchr(s, '/');
    if (slash < 0) {
        *dir = VG_STR_NULL;
        *base = s;
        return;
    }
    *dir = vg_str_make(s.p, slash == 0 ? 1 : (size_t)slash);
    *base = vg_str_make(s.p + slash + 1, s.n - (size_t)slash - 1);
}

void ag_file_members(const ag_file_ev *ev, vg_buf *row)
{
    vg_str dir, base;
    split(ev->path, &dir, &base);
    member_str(row, "ActionType", vg_str_c(ag_file_action_name(ev->action)));
    member_str(row, "FileName", base);
    member_str(row, "FolderPath", vg_str_c(ev->path));
    if (ev->action == AG_FILE_RENAMED && ev->prev_path) {
        vg_str pdir, pbase;
        split(ev->prev_path, &pdir, &pbase);
        member_str(row, "PreviousFileName", pbase);
        member_str(row, "PreviousFolderPath", pdir);
    }
    if (ev->sha1 && ev->sha1[0]) member_str(row, "SHA1", vg_str_c(ev->sha1));
    if (ev->sha256 && ev->sha256[0]) member_str(row, "SHA256", vg_str_c(ev->sha256));
    if (ev->md5 && ev->md5[0]) member_str(row, "MD5", vg_str_c(ev->md5));
    if (ev->size >= 0) vg_buf_printf(row, ",\"FileSize\":%lld", (long long)ev->size);
}

bool ag_path_under(const char *path, const char *const *prefixes, size_t n)
{
    size_t pl = strlen(path);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(prefixes[i]);
        while (l > 1 && prefixes[i][l - 1] == '/') l--;
        if (l == 1 && prefixes[i][0] == '/') return true;
        if (pl >= l && memcmp(path, prefixes[i], l) == 0 && (pl == l || path[l] == '/')) return true;
    }
    return false;
}

ag_pair_out ag_rename_feed(ag_rename_pair *rp, bool is_move, bool is_from, pid_t pid,
                           const char *path, char *prev, size_t prev_cap, bool *flushed,
                           char *flushed_path, size_t flushed_cap)
{
    *flushed = false;
    if (is_move && !is_from && rp->held && rp->pid == pid) {
        snprintf(prev, prev_cap, "%s", rp->from);
        rp->held = false;
        return AG_PAIR_RENAME;
    }
    if (rp->held) {
        snprintf(flushed_path, flushed_cap, "%s", rp->from);
        *flushed = true;
        rp->held = false;
    }
    if (!is_move) return AG_PAIR_NONE;
    if (is_from) {
        rp->held = true;
        rp->pid = pid;
        snprintf(rp->from, sizeof rp->from, "%s", path);
        return AG_PAIR_NONE;
    }
    return AG_PAIR_CREATE;
}
