/*
 * win_util.c - the intermediate Windows event (collect, look up, normalize,
 * write back as the raw record) and the small value helpers the mapping uses:
 * hash lists, paths, accounts, registry hives, IP classes, logon types.
 *
 * The normalizations here are the whole answer to "do the EVTX and the JSON
 * forms of one event give the same row": every reader hands its pairs over
 * untouched and win_event_normalize() rewrites, in one place, the spellings
 * that differ between libevtx's XML and the evtx JSON dumps.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "win_event.h"

/* ---- the event ---- */

void win_event_init(win_event *ev, vg_arena *a)
{
    memset(ev, 0, sizeof *ev);
    ev->arena = a;
}

vg_err win_event_add(win_event *ev, vg_str name, vg_str value, vg_diag *d)
{
    if (ev->ndata >= WIN_MAX_DATA)
        return vg_diag_set(d, VG_ELIMIT, "more than %u EventData items", WIN_MAX_DATA);
    if (name.n == 0 || name.n > WIN_MAX_NAME)
        return vg_diag_set(d, VG_EPARSE, "EventData item %u: name empty or longer than %u bytes",
                           ev->ndata + 1, WIN_MAX_NAME);
    if (ev->ndata == ev->cap) {
        uint32_t ncap = ev->cap ? ev->cap * 2 : 32;
        win_pair *np = vg_arena_alloc(ev->arena, ncap * sizeof *np);
        if (!np)
            return vg_diag_set(d, VG_ENOMEM, "out of memory for EventData");
        if (ev->ndata)
            memcpy(np, ev->data, ev->ndata * sizeof *np);
        ev->data = np;
        ev->cap = ncap;
    }
    if (!value.p)
        value = VG_STR_LIT("");
    ev->data[ev->ndata++] = (win_pair){ name, value };
    return VG_OK;
}

vg_err win_event_add_param(win_event *ev, vg_str value, vg_diag *d)
{
    char *name = vg_arena_printf(ev->arena, "param%u", ev->nparam + 1);
    if (!name)
        return vg_diag_set(d, VG_ENOMEM, "out of memory for EventData");
    ev->nparam++;
    return win_event_add(ev, vg_str_c(name), value, d);
}

vg_str win_event_get(const win_event *ev, const char *name)
{
    for (uint32_t i = 0; i < ev->ndata; i++)
        if (vg_str_eqc(ev->data[i].name, name))
            return ev->data[i].value;
    return VG_STR_NULL;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

vg_str win_strip_guid_braces(vg_str s)
{
    if (s.n != 38 || s.p[0] != '{' || s.p[37] != '}')
        return s;
    for (size_t i = 1; i < 37; i++) {
        size_t k = i - 1;
        bool dash = k == 8 || k == 13 || k == 18 || k == 23;
        if (dash ? s.p[i] != '-' : !is_hex(s.p[i]))
            return s;
    }
    return vg_str_make(s.p + 1, 36);
}

vg_str win_norm_systime(vg_arena *a, vg_str s, vg_time *t)
{
    vg_time v;
    if (!s.p || vg_time_parse_iso(vg_str_trim(s), &v) != VG_OK || v < VG_TIME_MIN ||
        v > VG_TIME_MAX)
        return s;
    /* the JSON dumps keep microseconds; libevtx writes all 7 digits */
    int64_t rem = v % 10;
    if (rem < 0)
        rem += 10;
    v -= rem;
    int y, mo, d, h, mi, sec, ticks;
    vg_time_civil(v, &y, &mo, &d, &h, &mi, &sec, &ticks);
    char *out = vg_arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, mo, d, h, mi, sec,
                                ticks / 10);
    if (t)
        *t = v;
    return out ? vg_str_c(out) : s;
}

vg_str win_norm_hex(vg_arena *a, vg_str s)
{
    if (s.n < 4 || s.p[0] != '0' || (s.p[1] != 'x' && s.p[1] != 'X') || s.p[2] != '0')
        return s;
    for (size_t i = 2; i < s.n; i++)
        if (!is_hex(s.p[i]))
            return s;
    size_t z = 2;
    while (z + 1 < s.n && s.p[z] == '0')
        z++;
    char *out = vg_arena_printf(a, "0x%.*s", (int)(s.n - z), s.p + z);
    return out ? vg_str_c(out) : s;
}

static vg_str trim_ws(vg_str s)
{
    return s.p ? vg_str_trim(s) : s;
}

void win_event_normalize(win_event *ev)
{
    vg_str *sys[] = { &ev->provider, &ev->provider_guid, &ev->event_id, &ev->qualifiers,
                      &ev->version, &ev->level, &ev->task, &ev->opcode, &ev->keywords,
                      &ev->time_created, &ev->record_id, &ev->activity_id, &ev->pid,
                      &ev->tid, &ev->channel, &ev->computer, &ev->user_sid };
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
        *sys[i] = win_strip_guid_braces(trim_ws(*sys[i]));
    if (ev->time_created.p)
        ev->time_created = win_norm_systime(ev->arena, ev->time_created, NULL);
    for (uint32_t i = 0; i < ev->ndata; i++)
        ev->data[i].value = win_norm_hex(ev->arena, win_strip_guid_braces(trim_ws(ev->data[i].value)));
}

/* ---- raw record ---- */

static bool all_digits(vg_str s)
{
    if (!s.n || s.n > 18 || (s.p[0] == '0' && s.n > 1))
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

/* Writes the pairs; a name seen again is folded into an array at its first place. */
static bool write_pairs(const win_event *ev, vg_buf *out, bool first)
{
    for (uint32_t i = 0; i < ev->ndata; i++) {
        const win_pair *p = &ev->data[i];
        bool seen = false;
        for (uint32_t k = 0; k < i && !seen; k++)
            seen = vg_str_eq(ev->data[k].name, p->name);
        if (seen)
            continue;
        uint32_t count = 1;
        for (uint32_t k = i + 1; k < ev->ndata; k++)
            count += vg_str_eq(ev->data[k].name, p->name);
        if (!first)
            vg_buf_putc(out, ',');
        first = false;
        vg_buf_put_json_str(out, p->name);
        vg_buf_putc(out, ':');
        if (count == 1) {
            vg_buf_put_json_str(out, p->value);
            continue;
        }
        vg_buf_putc(out, '[');
        bool f2 = true;
        for (uint32_t k = i; k < ev->ndata; k++) {
            if (!vg_str_eq(ev->data[k].name, p->name))
                continue;
            if (!f2)
                vg_buf_putc(out, ',');
            f2 = false;
            vg_buf_put_json_str(out, ev->data[k].value);
        }
        vg_buf_putc(out, ']');
    }
    return first;
}

void win_data_json(const win_event *ev, vg_buf *out)
{
    vg_buf_putc(out, '{');
    write_pairs(ev, out, true);
    vg_buf_putc(out, '}');
}

void win_raw_json(const win_event *ev, vg_buf *out)
{
    static const struct {
        const char *name;
        size_t off;
        bool numeric;
    } sys[] = {
        { "EventID", offsetof(win_event, event_id), true },
        { "Provider_Name", offsetof(win_event, provider), false },
        { "Provider_Guid", offsetof(win_event, provider_guid), false },
        { "Channel", offsetof(win_event, channel), false },
        { "Computer", offsetof(win_event, computer), false },
        { "EventRecordID", offsetof(win_event, record_id), true },
        { "TimeCreated", offsetof(win_event, time_created), false },
        { "Level", offsetof(win_event, level), true },
        { "Task", offsetof(win_event, task), true },
        { "Opcode", offsetof(win_event, opcode), true },
        { "Keywords", offsetof(win_event, keywords), false },
        { "Version", offsetof(win_event, version), true },
        { "Qualifiers", offsetof(win_event, qualifiers), true },
        { "Correlation_ActivityID", offsetof(win_event, activity_id), false },
        { "Execution_ProcessID", offsetof(win_event, pid), true },
        { "Execution_ThreadID", offsetof(win_event, tid), true },
        { "Security_UserID", offsetof(win_event, user_sid), false },
    };
    vg_buf_putc(out, '{');
    bool first = write_pairs(ev, out, true);
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++) {
        const vg_str *v = (const vg_str *)((const char *)ev + sys[i].off);
        if (!v->p)
            continue;
        if (win_event_get(ev, sys[i].name).p)
            continue; /* the event's own data wins over a System field of the same name */
        if (!first)
            vg_buf_putc(out, ',');
        first = false;
        vg_buf_put_json_str(out, vg_str_c(sys[i].name));
        vg_buf_putc(out, ':');
        if (sys[i].numeric && all_digits(*v))
            vg_buf_putstr(out, *v);
        else
            vg_buf_put_json_str(out, *v);
    }
    vg_buf_putc(out, '}');
}

/* ---- value helpers ---- */

void win_split_hashes(vg_arena *a, vg_str hashes, vg_str *md5, vg_str *sha1, vg_str *sha256)
{
    *md5 = *sha1 = *sha256 = VG_STR_NULL;
    size_t i = 0;
    while (i < hashes.n) {
        size_t j = i;
        while (j < hashes.n && hashes.p[j] != ',')
            j++;
        vg_str item = vg_str_trim(vg_str_make(hashes.p + i, j - i));
        i = j + 1;
        ptrdiff_t eq = vg_str_chr(item, '=');
        if (eq < 0)
            eq = vg_str_chr(item, '|');
        vg_str algo = eq >= 0 ? vg_str_trim(vg_str_make(item.p, (size_t)eq)) : VG_STR_NULL;
        vg_str val = eq >= 0 ? vg_str_trim(vg_str_make(item.p + eq + 1, item.n - (size_t)eq - 1))
                             : item;
        bool hex = val.n > 0;
        for (size_t k = 0; k < val.n && hex; k++)
            hex = is_hex(val.p[k]);
        if (!hex)
            continue;
        vg_str *dst = NULL;
        if (algo.p ? vg_str_eqc_ci(algo, "MD5") : val.n == 32)
            dst = md5;
        else if (algo.p ? vg_str_eqc_ci(algo, "SHA1") : val.n == 40)
            dst = sha1;
        else if (algo.p ? vg_str_eqc_ci(algo, "SHA256") : val.n == 64)
            dst = sha256;
        size_t want = dst == md5 ? 32 : dst == sha1 ? 40 : 64;
        if (dst && !dst->p && val.n == want)
            *dst = vg_str_lower(a, val);
    }
}

vg_str win_path_file(vg_str path)
{
    if (!path.p)
        return path;
    size_t i = path.n;
    while (i > 0 && path.p[i - 1] != '\\' && path.p[i - 1] != '/')
        i--;
    return vg_str_make(path.p + i, path.n - i);
}

void win_split_account(vg_str acct, vg_str *domain, vg_str *name)
{
    *domain = VG_STR_NULL;
    *name = acct;
    if (!acct.p)
        return;
    ptrdiff_t bs = vg_str_chr(acct, '\\');
    if (bs >= 0) {
        *domain = vg_str_make(acct.p, (size_t)bs);
        *name = vg_str_make(acct.p + bs + 1, acct.n - (size_t)bs - 1);
        return;
    }
    ptrdiff_t at = vg_str_rchr(acct, '@');
    if (at > 0) {
        *name = vg_str_make(acct.p, (size_t)at);
        *domain = vg_str_make(acct.p + at + 1, acct.n - (size_t)at - 1);
    }
}

vg_str win_norm_regkey(vg_arena *a, vg_str key)
{
    static const struct {
        const char *abbr, *full;
    } hives[] = {
        { "HKLM", "HKEY_LOCAL_MACHINE" },      { "HKU", "HKEY_USERS" },
        { "HKCU", "HKEY_CURRENT_USER" },       { "HKCR", "HKEY_CLASSES_ROOT" },
        { "HKCC", "HKEY_CURRENT_CONFIG" },     { "\\REGISTRY\\MACHINE", "HKEY_LOCAL_MACHINE" },
        { "\\REGISTRY\\USER", "HKEY_USERS" },
    };
    for (size_t i = 0; i < sizeof hives / sizeof hives[0]; i++) {
        vg_str ab = vg_str_c(hives[i].abbr);
        if (key.n < ab.n || !vg_str_starts_ci(key, ab))
            continue;
        if (key.n > ab.n && key.p[ab.n] != '\\')
            continue;
        char *out = vg_arena_printf(a, "%s%.*s", hives[i].full, (int)(key.n - ab.n),
                                    key.p + ab.n);
        return out ? vg_str_c(out) : key;
    }
    return key;
}

static const char *ip4_type(const unsigned char *b)
{
    if (b[0] == 127)
        return "Loopback";
    if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168))
        return "Private";
    if (b[0] == 169 && b[1] == 254)
        return "LinkLocal";
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
        return "Broadcast";
    if ((b[0] & 0xf0) == 224)
        return "Multicast";
    if (b[0] == 0 || (b[0] & 0xf0) == 240 || (b[0] == 100 && (b[1] & 0xc0) == 64))
        return "Reserved";
    return "Public";
}

const char *win_ip_type(vg_str ip)
{
    char buf[64];
    unsigned char b[16];
    ip = vg_str_trim(ip);
    if (!ip.n || ip.n >= sizeof buf)
        return NULL;
    vg_str_copy_c(buf, sizeof buf, ip);
    char *pct = strchr(buf, '%'); /* fe80::1%12 */
    if (pct)
        *pct = '\0';
    if (inet_pton(AF_INET, buf, b) == 1)
        return ip4_type(b);
    if (inet_pton(AF_INET6, buf, b) != 1)
        return NULL;
    static const unsigned char zero[16];
    if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff)
        return "FourToSixMapping";
    if (memcmp(b, zero, 15) == 0)
        return b[15] == 1 ? "Loopback" : "Reserved";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return "LinkLocal";
    if ((b[0] & 0xfe) == 0xfc)
        return "Private";
    if (b[0] == 0xff)
        return "Multicast";
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
        return "Teredo";
    return "Public";
}

vg_str win_norm_ip(vg_str ip)
{
    ip = vg_str_trim(ip);
    if (!ip.n || vg_str_eqc(ip, "-"))
        return VG_STR_NULL;
    vg_str pre = VG_STR_LIT("::ffff:");
    if (ip.n > pre.n && vg_str_starts_ci(ip, pre) && vg_str_chr(ip, '.') > 0)
        return vg_str_make(ip.p + pre.n, ip.n - pre.n);
    return ip;
}

const char *win_logon_type_name(vg_str num)
{
    static const char *names[] = {
        [0] = "System",           [2] = "Interactive",         [3] = "Network",
        [4] = "Batch",            [5] = "Service",             [7] = "Unlock",
        [8] = "NetworkCleartext", [9] = "NewCredentials",      [10] = "RemoteInteractive",
        [11] = "CachedInteractive", [12] = "CachedRemoteInteractive", [13] = "CachedUnlock",
    };
    int64_t v;
    if (vg_str_to_i64(vg_str_trim(num), &v) || v < 0 || v >= (int64_t)(sizeof names / sizeof *names))
        return NULL;
    return names[v];
}

const char *win_integrity_name(vg_str sid)
{
    static const struct {
        const char *sid, *name;
    } labels[] = {
        { "S-1-16-0", "Untrusted" },  { "S-1-16-4096", "Low" },     { "S-1-16-8192", "Medium" },
        { "S-1-16-8448", "MediumPlus" }, { "S-1-16-12288", "High" }, { "S-1-16-16384", "System" },
        { "S-1-16-20480", "ProtectedProcess" },
    };
    sid = vg_str_trim(sid);
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (vg_str_eqc_ci(sid, labels[i].sid))
            return labels[i].name;
    return NULL;
}

void win_reg_details(vg_arena *a, vg_str details, const char **type, vg_str *data)
{
    *type = NULL;
    *data = details;
    vg_str d = vg_str_trim(details);
    uint64_t hi, lo;
    if (d.n > 8 && vg_str_starts_ci(d, VG_STR_LIT("DWORD (")) && d.p[d.n - 1] == ')') {
        if (vg_str_to_hex_u64(vg_str_make(d.p + 7, d.n - 8), &lo) == VG_OK) {
            char *s = vg_arena_printf(a, "%llu", (unsigned long long)lo);
            *type = "Dword";
            *data = s ? vg_str_c(s) : details;
        }
        return;
    }
    if (d.n > 8 && vg_str_starts_ci(d, VG_STR_LIT("QWORD (")) && d.p[d.n - 1] == ')') {
        vg_str in = vg_str_make(d.p + 7, d.n - 8);
        ptrdiff_t dash = vg_str_chr(in, '-');
        if (dash > 0 && vg_str_to_hex_u64(vg_str_make(in.p, (size_t)dash), &hi) == VG_OK &&
            vg_str_to_hex_u64(vg_str_make(in.p + dash + 1, in.n - (size_t)dash - 1), &lo) == VG_OK &&
            hi <= 0xffffffffu && lo <= 0xffffffffu) {
            char *s = vg_arena_printf(a, "%llu", (unsigned long long)(hi << 32 | lo));
            *type = "Qword";
            *data = s ? vg_str_c(s) : details;
        }
        return;
    }
    if (vg_str_eqc_ci(d, "Binary Data")) {
        *type = "Binary";
        *data = VG_STR_NULL;
        return;
    }
    if (vg_str_eqc_ci(d, "(Empty)"))
        *data = VG_STR_LIT("");
}

void win_event_set_system(win_event *ev, vg_str name, vg_str v)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        { "EventID", offsetof(win_event, event_id) },
        { "Version", offsetof(win_event, version) },
        { "Level", offsetof(win_event, level) },
        { "Task", offsetof(win_event, task) },
        { "Opcode", offsetof(win_event, opcode) },
        { "Keywords", offsetof(win_event, keywords) },
        { "EventRecordID", offsetof(win_event, record_id) },
        { "Channel", offsetof(win_event, channel) },
        { "Computer", offsetof(win_event, computer) },
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (vg_str_eqc(name, fields[i].name))
            *(vg_str *)((char *)ev + fields[i].off) = v;
}
