/*
 * inc_entity.c - what the correlation engine reads from one alert: its
 * AlertInfo columns, the strong entities its AlertEvidence rows name (the
 * correlation keys, normalised so that two spellings of one thing meet),
 * and the Graph alertEvidence array stored with the alert.
 *
 * Strong entities only: devices, accounts, file hashes, public IPs, URLs and
 * domains, mailboxes, mail messages, processes. File names, paths and
 * command lines are weak (thousands of machines run powershell.exe) and only
 * go into the evidence JSON. Process images' hashes are weak too for the
 * same reason (every alert on PowerShell would share them): only File
 * evidence gives file keys. Well-known service accounts (SYSTEM, LOCAL
 * SERVICE, NETWORK SERVICE) and non-routable addresses name no one in
 * particular and are left out, or every alert on every machine would meet.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../core/vg_json.h"
#include "../core/vg_time.h"
#include "../state/vg_state.h"
#include "inc_int.h"

/* ---- names ---- */

static const char *const kind_names[INC_K_COUNT_] = {
    "device", "account", "file", "ip", "url", "domain", "mailbox", "mailmessage", "process",
};

const char *inc_kind_name(inc_kind k) { return k < INC_K_COUNT_ ? kind_names[k] : "unknown"; }

bool inc_kind_parse(vg_str s, inc_kind *out)
{
    for (int k = 0; k < INC_K_COUNT_; k++)
        if (vg_str_eqc_ci(s, kind_names[k])) {
            *out = (inc_kind)k;
            return true;
        }
    if (vg_str_eqc_ci(s, "user")) {
        *out = INC_K_ACCOUNT;
        return true;
    }
    return false;
}

/* ATT&CK tactics in kill-chain order: {key (letters only, lower case),
 * Graph category, Defender's spelling in incident names}. ATT&CK v18's
 * Stealth and Defense Impairment fold into Defense evasion. */
static const struct {
    const char *key, *name, *label;
} tactics[] = {
    { "reconnaissance", "Reconnaissance", "Reconnaissance" },
    { "resourcedevelopment", "ResourceDevelopment", "Resource development" },
    { "initialaccess", "InitialAccess", "Initial access" },
    { "execution", "Execution", "Execution" },
    { "persistence", "Persistence", "Persistence" },
    { "privilegeescalation", "PrivilegeEscalation", "Privilege escalation" },
    { "defenseevasion", "DefenseEvasion", "Defense evasion" },
    { "credentialaccess", "CredentialAccess", "Credential access" },
    { "discovery", "Discovery", "Discovery" },
    { "lateralmovement", "LateralMovement", "Lateral movement" },
    { "collection", "Collection", "Collection" },
    { "commandandcontrol", "CommandAndControl", "Command and control" },
    { "exfiltration", "Exfiltration", "Exfiltration" },
    { "impact", "Impact", "Impact" },
};
_Static_assert(sizeof tactics / sizeof tactics[0] == INC_NTACTICS, "INC_NTACTICS");

int inc_tactic_parse(vg_str s)
{
    char k[40];
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!isalpha(c))
            continue;
        if (n + 1 >= sizeof k)
            return -1;
        k[n++] = (char)tolower(c);
    }
    k[n] = 0;
    if (!strcmp(k, "stealth") || !strcmp(k, "defenseimpairment"))
        return 6;
    for (int i = 0; i < INC_NTACTICS; i++)
        if (!strcmp(k, tactics[i].key))
            return i;
    return -1;
}

const char *inc_tactic_name(int i) { return i >= 0 && i < INC_NTACTICS ? tactics[i].name : ""; }
const char *inc_tactic_label(int i) { return i >= 0 && i < INC_NTACTICS ? tactics[i].label : ""; }

int inc_severity_rank(vg_str s)
{
    static const char *const r[] = { "unknown", "informational", "low", "medium", "high" };
    for (int i = 0; i < 5; i++)
        if (vg_str_eqc_ci(s, r[i]))
            return i;
    return 0;
}

static vg_str graph_severity(vg_str s)
{
    static const char *const r[] = { "unknown", "informational", "low", "medium", "high" };
    if (vg_str_eqc_ci(s, "critical"))
        return vg_str_c("high");
    return vg_str_c(r[inc_severity_rank(s)]);
}

/* ---- reading columns ---- */

/* A column's value as trimmed text; NULL when absent, null, empty or "-".
 * String columns are returned in place (they live as long as the batch). */
static vg_str col_text(const vg_batch *b, uint32_t r, const char *name, vg_arena *a)
{
    int c = vg_schema_col(b->table, vg_str_c(name));
    if (c < 0 || vg_batch_is_null(b, c, r))
        return VG_STR_NULL;
    vg_str v;
    if (vg_type_is_str(b->cols[c].type)) {
        v = b->cols[c].v.s[r];
    } else {
        vg_buf t;
        vg_buf_init(&t, 4096);
        v = VG_STR_NULL;
        if (vg_batch_value_text(b, c, r, &t) && !t.failed && t.n)
            v = vg_str_dup(a, vg_str_make(t.p, t.n));
        vg_buf_free(&t);
    }
    v = vg_str_trim(v);
    if (!v.n || vg_str_eqc(v, "-"))
        return VG_STR_NULL;
    return v;
}

/* "a, b" or ["a","b"] -> items (arena); at most cap. */
static uint32_t split_list(vg_str s, vg_arena *a, vg_str *out, uint32_t cap)
{
    uint32_t n = 0;
    s = vg_str_trim(s);
    if (s.n && s.p[0] == '[') {
        vg_json *j;
        if (vg_json_parse(a, s, &j, NULL) == VG_OK && j->kind == VG_JSON_ARRAY) {
            for (uint32_t i = 0; i < j->n && n < cap; i++) {
                vg_str t = vg_str_trim(vg_json_text(j->kids[i]));
                if (t.n)
                    out[n++] = t;
            }
            return n;
        }
    }
    size_t i = 0;
    while (i < s.n && n < cap) {
        size_t k = i;
        while (k < s.n && s.p[k] != ',')
            k++;
        vg_str t = vg_str_trim(vg_str_make(s.p + i, k - i));
        if (t.n && t.p[0] == '"' && t.n >= 2)
            t = vg_str_make(t.p + 1, t.n - 2);
        if (t.n)
            out[n++] = t;
        i = k + 1;
    }
    return n;
}

/* ---- normalisation ---- */

static vg_str lower(vg_arena *a, vg_str s) { return vg_str_lower(a, vg_str_trim(s)); }

static bool well_known_account(vg_str name, vg_str domain, vg_str sid)
{
    static const char *const sids[] = { "S-1-5-18", "S-1-5-19", "S-1-5-20" };
    static const char *const names[] = { "system", "local service", "network service",
                                         "localservice", "networkservice" };
    for (size_t i = 0; i < sizeof sids / sizeof sids[0]; i++)
        if (sid.n && vg_str_eqc_ci(sid, sids[i]))
            return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name.n && vg_str_eqc_ci(name, names[i]))
            return true;
    return domain.n && vg_str_eqc_ci(domain, "nt authority");
}

/* The canonical text of a public address into out; false when the text is
 * not an address or the address is private, loopback, link-local, CGNAT,
 * "this network", multicast, reserved or broadcast. */
static bool public_ip(vg_str s, char out[INET6_ADDRSTRLEN])
{
    char tmp[INET6_ADDRSTRLEN + 8];
    if (s.n == 0 || s.n >= sizeof tmp)
        return false;
    vg_str_copy_c(tmp, sizeof tmp, s);
    unsigned char v6[16];
    unsigned char v4[4];
    if (inet_pton(AF_INET, tmp, v4) == 1) {
        /* checked below */
    } else if (inet_pton(AF_INET6, tmp, v6) == 1) {
        static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (memcmp(v6, mapped, 12) == 0) {
            memcpy(v4, v6 + 12, 4);
        } else {
            static const unsigned char zero[16];
            if (!memcmp(v6, zero, 15) && (v6[15] == 0 || v6[15] == 1))  /* :: and ::1 */
                return false;
            if (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80)                /* fe80::/10 */
                return false;
            if ((v6[0] & 0xfe) == 0xfc)                                 /* fc00::/7 */
                return false;
            if (v6[0] == 0xff)                                          /* ff00::/8 */
                return false;
            return inet_ntop(AF_INET6, v6, out, INET6_ADDRSTRLEN) != NULL;
        }
    } else {
        return false;
    }
    unsigned a0 = v4[0], a1 = v4[1];
    if (a0 == 10 || a0 == 127 || a0 == 0 || a0 >= 224 ||           /* 10/8 loopback 0/8 224/4 240/4 */
        (a0 == 172 && (a1 & 0xf0) == 16) || (a0 == 192 && a1 == 168) ||
        (a0 == 169 && a1 == 254) || (a0 == 100 && (a1 & 0xc0) == 64))
        return false;
    return inet_ntop(AF_INET, v4, out, INET6_ADDRSTRLEN) != NULL;
}

/* The host of a URL ("https://user@Evil.COM:8443/x" -> "evil.com"), or of a
 * bare domain; NULL when none. */
static vg_str url_host(vg_str u)
{
    ptrdiff_t p = vg_str_find_ci(u, VG_STR_LIT("://"));
    if (p >= 0)
        u = vg_str_make(u.p + p + 3, u.n - (size_t)p - 3);
    size_t e = 0;
    while (e < u.n && u.p[e] != '/' && u.p[e] != '?' && u.p[e] != '#')
        e++;
    u.n = e;
    ptrdiff_t at = vg_str_rchr(u, '@');
    if (at >= 0)
        u = vg_str_make(u.p + at + 1, u.n - (size_t)at - 1);
    if (u.n && u.p[0] == '[') {                         /* [v6]:port */
        ptrdiff_t rb = vg_str_chr(u, ']');
        return rb > 1 ? vg_str_make(u.p + 1, (size_t)rb - 1) : VG_STR_NULL;
    }
    ptrdiff_t colon = vg_str_chr(u, ':');
    if (colon >= 0)
        u.n = (size_t)colon;
    while (u.n && u.p[u.n - 1] == '.')
        u.n--;
    return u;
}

/* ---- the alert being read ---- */

typedef struct rd {
    inc_alert *al;
    vg_arena *a;
    vg_buf *ev;                /* the evidence array */
    int64_t now_ms;
    const vg_json *row;        /* AdditionalFields.Row of the evidence event, or NULL */
    vg_str mde_device;         /* the event's DeviceId */
} rd;

static void add_entity(rd *r, inc_kind k, vg_str value, vg_str display, const char *roles)
{
    inc_alert *al = r->al;
    if (!value.n)
        return;
    for (uint32_t i = 0; i < al->nents; i++)
        if (al->ents[i].kind == k && vg_str_eq(al->ents[i].value, value))
            return;
    if (al->nents >= VG_INC_MAX_ENTITIES_PER_ALERT) {
        al->dropped++;
        return;
    }
    inc_entity *e = &al->ents[al->nents++];
    e->kind = k;
    e->value = value;
    e->display = display.n ? display : value;
    e->roles = vg_str_c(roles);
}

static void jkv(vg_buf *o, const char *k, vg_str v)
{
    if (!v.p)
        return;
    vg_buf_printf(o, ",\"%s\":", k);
    vg_buf_put_json_str(o, v);
}

static void jnum(vg_buf *o, const char *k, vg_str v)
{
    int64_t n;
    if (!v.p || vg_str_to_i64(v, &n) != VG_OK)
        return;
    vg_buf_printf(o, ",\"%s\":%lld", k, (long long)n);
}

static vg_str row_field(const rd *r, const char *name)
{
    if (!r->row)
        return VG_STR_NULL;
    const vg_json *v = vg_json_get(r->row, name);
    if (!v || v->kind == VG_JSON_NULL)
        return VG_STR_NULL;
    vg_str t = vg_str_trim(vg_json_text(v));
    return t.n ? t : VG_STR_NULL;
}

/* Opens one evidence object: type, the base fields, roles. */
static void ev_open(rd *r, const char *type, const char *roles)
{
    vg_buf *o = r->ev;
    char iso[32];
    vg_state_iso(r->now_ms, iso);
    if (o->n > 1)
        vg_buf_putc(o, ',');
    vg_buf_printf(o, "{\"@odata.type\":\"#microsoft.graph.security.%s\",\"createdDateTime\":\"%s\","
                     "\"verdict\":\"suspicious\",\"remediationStatus\":\"none\",\"roles\":%s,"
                     "\"tags\":[]",
                  type, iso, roles);
}

/*
 * Graph roles from AlertEvidence's EvidenceRole: the impacted device, user
 * or mailbox is "compromised"; an impacted file, process, registry value or
 * message is "suspicious"; anything related is "contextual". The
 * direction, when given, adds "source" or "destination".
 */
static const char *roles_of(const vg_batch *b, uint32_t row, bool asset, vg_arena *a)
{
    vg_str role = col_text(b, row, "EvidenceRole", a);
    vg_str dir = col_text(b, row, "EvidenceDirection", a);
    const char *base = vg_str_eqc_ci(role, "Impacted") ? (asset ? "compromised" : "suspicious")
                                                       : "contextual";
    const char *d = vg_str_eqc_ci(dir, "Source") ? "source"
                    : vg_str_eqc_ci(dir, "Destination") ? "destination" : NULL;
    char *s = d ? vg_arena_printf(a, "[\"%s\",\"%s\"]", base, d) : vg_arena_printf(a, "[\"%s\"]", base);
    return s ? s : "[]";
}

static void read_machine(rd *r, const vg_batch *b, uint32_t row)
{
    vg_str id = col_text(b, row, "DeviceId", r->a), name = col_text(b, row, "DeviceName", r->a);
    const char *roles = roles_of(b, row, true, r->a);
    /* both spellings are keys: identity telemetry names a device, endpoint
     * telemetry also gives its id; the name is what summaries show */
    vg_str disp = name.p ? name : id;
    if (id.p)
        add_entity(r, INC_K_DEVICE, lower(r->a, id), disp, roles);
    if (name.p)
        add_entity(r, INC_K_DEVICE, lower(r->a, name), disp, roles);
    if (!id.p && !name.p)
        return;
    ev_open(r, "deviceEvidence", roles);
    jkv(r->ev, "deviceDnsName", name);
    jkv(r->ev, "mdeDeviceId", id);
    vg_str lip = col_text(b, row, "LocalIP", r->a);
    if (lip.p) {
        vg_buf_puts(r->ev, ",\"ipInterfaces\":[");
        vg_buf_put_json_str(r->ev, lip);
        vg_buf_putc(r->ev, ']');
    }
    vg_buf_putc(r->ev, '}');
}

static void user_account(vg_buf *o, vg_str name, vg_str dom, vg_str sid, vg_str upn, vg_str oid)
{
    vg_buf_puts(o, ",\"userAccount\":{\"accountName\":");
    vg_buf_put_json_str(o, name.p ? name : VG_STR_LIT(""));
    jkv(o, "domainName", dom);
    jkv(o, "userSid", sid);
    jkv(o, "userPrincipalName", upn);
    jkv(o, "azureAdUserId", oid);
    vg_buf_putc(o, '}');
}

static void read_user(rd *r, const vg_batch *b, uint32_t row)
{
    vg_arena *a = r->a;
    vg_str name = col_text(b, row, "AccountName", a), dom = col_text(b, row, "AccountDomain", a);
    vg_str sid = col_text(b, row, "AccountSid", a), upn = col_text(b, row, "AccountUpn", a);
    vg_str oid = col_text(b, row, "AccountObjectId", a);
    const char *roles = roles_of(b, row, true, a);
    if (!name.p && !sid.p && !upn.p && !oid.p)
        return;
    ev_open(r, "userEvidence", roles);
    user_account(r->ev, name, dom, sid, upn, oid);
    vg_buf_putc(r->ev, '}');
    if (well_known_account(name, dom, sid))
        return;
    vg_str dn = VG_STR_NULL;
    if (name.p && dom.p) {
        char *s = vg_arena_printf(a, "%.*s\\%.*s", VG_STR_FMT(dom), VG_STR_FMT(name));
        dn = vg_str_c(s);
    }
    vg_str disp = upn.p ? upn : dn.p ? dn : name.p ? name : sid.p ? sid : oid;
    /* every form is its own key: identity and cloud-app alerts often carry
     * only the directory object id, endpoint ones the SID and DOMAIN\name */
    if (oid.p)
        add_entity(r, INC_K_ACCOUNT, lower(a, oid), disp, roles);
    if (sid.p)
        add_entity(r, INC_K_ACCOUNT, lower(a, sid), disp, roles);
    if (upn.p)
        add_entity(r, INC_K_ACCOUNT, lower(a, upn), disp, roles);
    if (dn.p)
        add_entity(r, INC_K_ACCOUNT, lower(a, dn), disp, roles);
}

static void file_details(rd *r, const char *member, vg_str sha1, vg_str sha256, vg_str fname,
                         vg_str folder, vg_str size)
{
    vg_buf *o = r->ev;
    vg_buf_printf(o, ",\"%s\":{\"fileName\":", member);
    vg_buf_put_json_str(o, fname.p ? fname : VG_STR_LIT(""));
    jkv(o, "filePath", folder);
    jkv(o, "sha1", sha1);
    jkv(o, "sha256", sha256);
    jnum(o, "fileSize", size);
    vg_buf_putc(o, '}');
}

static void read_file(rd *r, const vg_batch *b, uint32_t row)
{
    vg_arena *a = r->a;
    vg_str sha1 = col_text(b, row, "SHA1", a), sha256 = col_text(b, row, "SHA256", a);
    vg_str fname = col_text(b, row, "FileName", a), folder = col_text(b, row, "FolderPath", a);
    vg_str size = col_text(b, row, "FileSize", a);
    const char *roles = roles_of(b, row, false, a);
    if (!sha1.p && !sha256.p && !fname.p)
        return;
    vg_str disp = fname.p ? fname : sha256.p ? sha256 : sha1;
    if (sha256.p)
        add_entity(r, INC_K_FILE, lower(a, sha256), disp, roles);
    if (sha1.p)
        add_entity(r, INC_K_FILE, lower(a, sha1), disp, roles);
    ev_open(r, "fileEvidence", roles);
    file_details(r, "fileDetails", sha1, sha256, fname, folder, size);
    jkv(r->ev, "mdeDeviceId", r->mde_device);
    vg_buf_putc(r->ev, '}');
}

static void read_process(rd *r, const vg_batch *b, uint32_t row)
{
    vg_arena *a = r->a;
    vg_str role = col_text(b, row, "EvidenceRole", a);
    bool own = vg_str_eqc_ci(role, "Impacted");   /* the event's process, else its initiator */
    vg_str pid = row_field(r, own ? "ProcessId" : "InitiatingProcessId");
    vg_str created = row_field(r, own ? "ProcessCreationTime" : "InitiatingProcessCreationTime");
    vg_str dev = row_field(r, "DeviceId");
    if (!dev.p)
        dev = row_field(r, "DeviceName");
    vg_str fname = col_text(b, row, "FileName", a);
    const char *roles = roles_of(b, row, false, a);
    if (pid.p && created.p && dev.p) {
        char *k = vg_arena_printf(a, "%.*s|%.*s|%.*s", VG_STR_FMT(dev), VG_STR_FMT(pid),
                                  VG_STR_FMT(created));
        char *disp = vg_arena_printf(a, "%.*s (%.*s)", VG_STR_FMT(fname.p ? fname : VG_STR_LIT("process")),
                                     VG_STR_FMT(pid));
        if (k && disp)
            add_entity(r, INC_K_PROCESS, lower(a, vg_str_c(k)), vg_str_c(disp), roles);
    }
    ev_open(r, "processEvidence", roles);
    jnum(r->ev, "processId", pid);
    jkv(r->ev, "processCommandLine", col_text(b, row, "ProcessCommandLine", a));
    jkv(r->ev, "processCreationDateTime", created);
    jkv(r->ev, "mdeDeviceId", r->mde_device);
    file_details(r, "imageFile", col_text(b, row, "SHA1", a), col_text(b, row, "SHA256", a), fname,
                 col_text(b, row, "FolderPath", a), VG_STR_NULL);
    vg_buf_putc(r->ev, '}');
}

static void read_ip(rd *r, const vg_batch *b, uint32_t row)
{
    vg_str ip = col_text(b, row, "RemoteIP", r->a);
    if (!ip.p)
        return;
    const char *roles = roles_of(b, row, false, r->a);
    char canon[INET6_ADDRSTRLEN];
    if (public_ip(ip, canon))
        add_entity(r, INC_K_IP, vg_str_dup(r->a, vg_str_c(canon)), ip, roles);
    ev_open(r, "ipEvidence", roles);
    jkv(r->ev, "ipAddress", ip);
    vg_buf_putc(r->ev, '}');
}

static void read_url(rd *r, const vg_batch *b, uint32_t row)
{
    vg_arena *a = r->a;
    vg_str u = col_text(b, row, "RemoteUrl", a);
    if (!u.p)
        return;
    const char *roles = roles_of(b, row, false, a);
    bool bare = vg_str_find_ci(u, VG_STR_LIT("://")) < 0 && vg_str_chr(u, '/') < 0;
    vg_str host = url_host(u);
    char canon[INET6_ADDRSTRLEN];
    if (!bare)
        add_entity(r, INC_K_URL, lower(a, u), u, roles);
    if (host.n) {
        vg_str h = vg_str_make(host.p, host.n);
        unsigned char tmp[16];
        char hb[INET6_ADDRSTRLEN + 8];
        vg_str_copy_c(hb, sizeof hb, h);
        bool is_ip = inet_pton(AF_INET, hb, tmp) == 1 || inet_pton(AF_INET6, hb, tmp) == 1;
        if (!is_ip)
            add_entity(r, INC_K_DOMAIN, lower(a, h), vg_str_dup(a, h), roles);
        else if (public_ip(h, canon))
            add_entity(r, INC_K_IP, vg_str_dup(a, vg_str_c(canon)), vg_str_dup(a, h), roles);
    }
    ev_open(r, "urlEvidence", roles);
    jkv(r->ev, "url", u);
    vg_buf_putc(r->ev, '}');
}

static void read_mailbox(rd *r, const vg_batch *b, uint32_t row)
{
    vg_str addr = col_text(b, row, "AccountUpn", r->a);
    if (!addr.p)
        return;
    const char *roles = roles_of(b, row, true, r->a);
    add_entity(r, INC_K_MAILBOX, lower(r->a, addr), addr, roles);
    /* the mailbox's owner: the primary address is the owner's UPN in the
     * usual directory, so a phishing alert on alice@ meets alice's endpoint
     * and identity alerts (Defender links mailboxes to their users too) */
    add_entity(r, INC_K_ACCOUNT, lower(r->a, addr), addr, roles);
    ev_open(r, "mailboxEvidence", roles);
    jkv(r->ev, "primaryAddress", addr);
    user_account(r->ev, col_text(b, row, "AccountName", r->a), VG_STR_NULL, VG_STR_NULL, addr,
                 VG_STR_NULL);
    vg_buf_putc(r->ev, '}');
}

static void read_message(rd *r, const vg_batch *b, uint32_t row)
{
    vg_str id = col_text(b, row, "NetworkMessageId", r->a);
    if (!id.p)
        return;
    const char *roles = roles_of(b, row, false, r->a);
    vg_str subj = col_text(b, row, "EmailSubject", r->a);
    add_entity(r, INC_K_MAILMESSAGE, lower(r->a, id), subj.p ? subj : id, roles);
    ev_open(r, "analyzedMessageEvidence", roles);
    jkv(r->ev, "networkMessageId", id);
    jkv(r->ev, "subject", subj);
    vg_buf_putc(r->ev, '}');
}

static void read_registry(rd *r, const vg_batch *b, uint32_t row)
{
    vg_str key = col_text(b, row, "RegistryKey", r->a);
    if (!key.p)
        return;
    ev_open(r, "registryValueEvidence", roles_of(b, row, false, r->a));
    jkv(r->ev, "registryKey", key);
    jkv(r->ev, "registryValueName", col_text(b, row, "RegistryValueName", r->a));
    jkv(r->ev, "registryValue", col_text(b, row, "RegistryValueData", r->a));
    jkv(r->ev, "mdeDeviceId", r->mde_device);
    vg_buf_putc(r->ev, '}');
}

/* EntityType -> reader; other types (Correlation, CloudApplication...) add
 * no entity and no evidence object. */
static const struct {
    const char *type;
    void (*read)(rd *r, const vg_batch *b, uint32_t row);
} readers[] = {
    { "Machine", read_machine },   { "User", read_user },     { "File", read_file },
    { "Process", read_process },   { "Ip", read_ip },         { "Url", read_url },
    { "Mailbox", read_mailbox },   { "MailMessage", read_message },
    { "RegistryValue", read_registry },
};

vg_err inc_alert_read(const vg_batch *info, uint32_t row, const inc_evref *ev, uint32_t nev,
                      int64_t now_ms, vg_arena *a, inc_alert *out, vg_diag *d)
{
    memset(out, 0, sizeof *out);
    out->id = col_text(info, row, "AlertId", a);
    if (!out->id.p)
        return vg_diag_set(d, VG_EINVAL, "AlertInfo row %u: no AlertId", row);
    int tc = info->table->ts_col;
    if (tc < 0 || vg_batch_is_null(info, tc, row))
        return vg_diag_set(d, VG_EINVAL, "AlertInfo row %u (AlertId %.*s): no Timestamp", row,
                           VG_STR_FMT(out->id));
    out->ts_ms = info->cols[tc].v.i64[row] / VG_TICKS_PER_MS;
    out->title = col_text(info, row, "Title", a);
    if (!out->title.p)
        out->title = out->id;
    out->category = col_text(info, row, "Category", a);
    out->severity = graph_severity(col_text(info, row, "Severity", a));
    out->service_source = col_text(info, row, "ServiceSource", a);
    if (!out->service_source.p)
        out->service_source = VG_STR_LIT("Vigil");
    out->detection_source = col_text(info, row, "DetectionSource", a);
    if (!out->detection_source.p)
        out->detection_source = VG_STR_LIT("Vigil");
    out->rule_id = col_text(info, row, "RuleId", a);

    vg_str items[INC_MAX_TECHNIQUES];
    uint32_t n = split_list(col_text(info, row, "Tactics", a), a, items, INC_MAX_TECHNIQUES);
    for (uint32_t i = 0; i < n; i++) {
        int t = inc_tactic_parse(items[i]);
        if (t >= 0)
            out->tactics |= 1u << t;
    }
    int ct = inc_tactic_parse(out->category);
    if (ct >= 0)
        out->tactics |= 1u << ct;
    n = split_list(col_text(info, row, "AttackTechniques", a), a, items, INC_MAX_TECHNIQUES);
    for (uint32_t i = 0; i < n; i++) {
        bool dup = false;
        for (uint32_t k = 0; k < out->ntechniques && !dup; k++)
            dup = vg_str_eq_ci(out->techniques[k], items[i]);
        if (!dup)
            out->techniques[out->ntechniques++] = items[i];
    }

    /* the evidence event (first row's AdditionalFields {"Table","Row"}) */
    rd r = { .al = out, .a = a, .now_ms = now_ms };
    for (uint32_t i = 0; i < nev && !r.row; i++) {
        vg_str af = col_text(ev[i].b, ev[i].row, "AdditionalFields", a);
        vg_json *j;
        if (af.p && af.p[0] == '{' && vg_json_parse(a, af, &j, NULL) == VG_OK) {
            const vg_json *rw = vg_json_get(j, "Row");
            if (rw && rw->kind == VG_JSON_OBJECT)
                r.row = rw;
        }
    }
    r.mde_device = row_field(&r, "DeviceId");

    vg_buf o;
    vg_buf_init(&o, 1u << 22);
    vg_buf_putc(&o, '[');
    r.ev = &o;
    for (uint32_t i = 0; i < nev; i++) {
        vg_str type = col_text(ev[i].b, ev[i].row, "EntityType", a);
        for (size_t k = 0; k < sizeof readers / sizeof readers[0]; k++)
            if (vg_str_eqc_ci(type, readers[k].type)) {
                readers[k].read(&r, ev[i].b, ev[i].row);
                break;
            }
    }
    vg_buf_putc(&o, ']');
    vg_err e = VG_OK;
    if (o.failed)
        e = vg_diag_set(d, VG_ELIMIT, "alert %.*s: evidence JSON too large", VG_STR_FMT(out->id));
    else
        out->evidence = vg_str_dup(a, vg_str_make(o.p, o.n));
    vg_buf_free(&o);
    return e;
}
