/*
 * detect_route.c - which rows a Sigma logsource means, and how a Sigma field
 * is read from a row of a Defender table.
 *
 * Windows events (rows whose raw record has a Channel, whatever table the
 * mapping put them in) are routed the way SigmaHQ's own THOR/Sysmon
 * configuration does (../shared/data/sigma/tests/thor.yml): a category is a
 * channel plus EventIDs (process_creation = Sysmon 1 or Security 4688), a
 * service is a channel. Every other row (the Linux agent, Defender-shaped
 * NDJSON) is routed by its table and ActionType, the homes the
 * Sigma→Defender mapping gives the categories
 * (../shared/reference/sigma-defender-mapping.md, with the DeviceEvents
 * candidates for process_access, pipe_created, dns_query ...).
 *
 * The field table follows the same reference: the table-specific mapping
 * first, then the generic one. Where Defender spells a value differently
 * from the source (registry hives, DWORD data, registry EventType, split
 * hashes and accounts) the column form is a virtual column or the rule
 * value is rewritten (dt_xform_glob).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "detect_int.h"

#define SYSMON "Microsoft-Windows-Sysmon/Operational"
#define LSYSMON "Linux-Sysmon/Operational"
#define PS_OP "Microsoft-Windows-PowerShell/Operational"
#define PS_CORE "PowerShellCore/Operational"
#define PS_CLASSIC "Windows PowerShell"

/* ---- categories ---- */

typedef struct cat_route {
    const char *category;
    const char *product;         /* NULL: any product */
    dt_win_key win[DT_MAX_ROUTE_WIN];
    const char *table;           /* native home, or NULL */
    const char *actions[DT_MAX_ROUTE_ACT];
} cat_route;

static const char *const av_aliases[][2] = {
    { "Signature", "ThreatName" },
    { "Filename", "Path" },
    { NULL, NULL },
};

static const cat_route cat_routes[] = {
    { "process_creation", "windows",
      { { SYSMON, 1, NULL, NULL }, { "Security", 4688, NULL, NULL } },
      "DeviceProcessEvents", { NULL } },
    { "process_creation", "linux", { { LSYSMON, 1, NULL, NULL } }, "DeviceProcessEvents", { NULL } },
    { "process_creation", "macos", { { NULL, 0, NULL, NULL } }, "DeviceProcessEvents", { NULL } },
    { "process_creation", NULL,
      { { SYSMON, 1, NULL, NULL }, { "Security", 4688, NULL, NULL }, { LSYSMON, 1, NULL, NULL } },
      "DeviceProcessEvents", { NULL } },
    { "network_connection", "linux", { { LSYSMON, 3, NULL, NULL } }, "DeviceNetworkEvents", { NULL } },
    { "network_connection", "macos", { { NULL, 0, NULL, NULL } }, "DeviceNetworkEvents", { NULL } },
    { "network_connection", NULL, { { SYSMON, 3, NULL, NULL } }, "DeviceNetworkEvents", { NULL } },
    { "file_change", NULL, { { SYSMON, 2, NULL, NULL } }, "DeviceFileEvents", { "FileModified" } },
    { "sysmon_status", NULL, { { SYSMON, 4, NULL, NULL }, { SYSMON, 16, NULL, NULL } }, NULL, { NULL } },
    { "process_termination", NULL, { { SYSMON, 5, NULL, NULL } }, "DeviceEvents", { "ProcessTerminated" } },
    { "driver_load", NULL, { { SYSMON, 6, NULL, NULL } }, "DeviceEvents", { "DriverLoad" } },
    { "image_load", NULL, { { SYSMON, 7, NULL, NULL } }, "DeviceImageLoadEvents", { NULL } },
    { "create_remote_thread", NULL, { { SYSMON, 8, NULL, NULL } }, "DeviceEvents",
      { "CreateRemoteThreadApiCall" } },
    { "raw_access_thread", NULL, { { SYSMON, 9, NULL, NULL } }, NULL, { NULL } },
    { "process_access", NULL, { { SYSMON, 10, NULL, NULL } }, "DeviceEvents", { "OpenProcessApiCall" } },
    { "file_event", "linux", { { LSYSMON, 11, NULL, NULL } }, "DeviceFileEvents", { "FileCreated" } },
    { "file_event", "macos", { { NULL, 0, NULL, NULL } }, "DeviceFileEvents", { "FileCreated" } },
    { "file_event", NULL, { { SYSMON, 11, NULL, NULL } }, "DeviceFileEvents", { "FileCreated" } },
    { "registry_event", NULL,
      { { SYSMON, 12, NULL, NULL }, { SYSMON, 13, NULL, NULL }, { SYSMON, 14, NULL, NULL } },
      "DeviceRegistryEvents", { NULL } },
    { "registry_add", NULL, { { SYSMON, 12, "EventType", "CreateKey" } }, "DeviceRegistryEvents",
      { "RegistryKeyCreated" } },
    { "registry_delete", NULL,
      { { SYSMON, 12, "EventType", "DeleteKey" }, { SYSMON, 12, "EventType", "DeleteValue" } },
      "DeviceRegistryEvents", { "RegistryKeyDeleted", "RegistryValueDeleted" } },
    { "registry_set", NULL, { { SYSMON, 13, NULL, NULL } }, "DeviceRegistryEvents",
      { "RegistryValueSet" } },
    { "registry_rename", NULL, { { SYSMON, 14, NULL, NULL } }, "DeviceRegistryEvents",
      { "RegistryKeyRenamed" } },
    { "create_stream_hash", NULL, { { SYSMON, 15, NULL, NULL } }, NULL, { NULL } },
    { "pipe_created", NULL, { { SYSMON, 17, NULL, NULL }, { SYSMON, 18, NULL, NULL } }, "DeviceEvents",
      { "NamedPipeEvent" } },
    { "wmi_event", NULL,
      { { SYSMON, 19, NULL, NULL }, { SYSMON, 20, NULL, NULL }, { SYSMON, 21, NULL, NULL } }, NULL,
      { NULL } },
    { "dns_query", NULL, { { SYSMON, 22, NULL, NULL } }, "DeviceEvents", { "DnsQueryResponse" } },
    { "file_delete", NULL, { { SYSMON, 23, NULL, NULL }, { SYSMON, 26, NULL, NULL } }, "DeviceFileEvents",
      { "FileDeleted" } },
    { "clipboard_change", NULL, { { SYSMON, 24, NULL, NULL } }, NULL, { NULL } },
    { "process_tampering", NULL, { { SYSMON, 25, NULL, NULL } }, "DeviceEvents", { "ProcessTampering" } },
    { "file_delete_detected", NULL, { { SYSMON, 26, NULL, NULL } }, NULL, { NULL } },
    { "file_block_executable", NULL, { { SYSMON, 27, NULL, NULL } }, NULL, { NULL } },
    { "file_block_shredding", NULL, { { SYSMON, 28, NULL, NULL } }, NULL, { NULL } },
    { "file_executable_detected", NULL, { { SYSMON, 29, NULL, NULL } }, NULL, { NULL } },
    { "sysmon_error", NULL, { { SYSMON, 255, NULL, NULL } }, NULL, { NULL } },
    { "ps_module", NULL, { { PS_OP, 4103, NULL, NULL }, { PS_CORE, 4103, NULL, NULL } }, NULL, { NULL } },
    { "ps_script", NULL, { { PS_OP, 4104, NULL, NULL }, { PS_CORE, 4104, NULL, NULL } }, NULL, { NULL } },
    { "ps_classic_start", NULL, { { PS_CLASSIC, 400, NULL, NULL } }, NULL, { NULL } },
    { "ps_classic_provider_start", NULL, { { PS_CLASSIC, 600, NULL, NULL } }, NULL, { NULL } },
    { "ps_classic_script", NULL, { { PS_CLASSIC, 800, NULL, NULL } }, NULL, { NULL } },
};

#define WD "Microsoft-Windows-Windows Defender/Operational"
static const int32_t av_ids[] = { 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1017, 1018, 1019, 1115, 1116 };

/* ---- Windows services -> channels ---- */

typedef struct svc_route {
    const char *service;
    const char *channels[4];
} svc_route;

static const svc_route svc_routes[] = {
    { "security", { "Security" } },
    { "system", { "System" } },
    { "application", { "Application" } },
    { "sysmon", { SYSMON } },
    { "powershell", { PS_OP, PS_CORE } },
    { "powershell-classic", { PS_CLASSIC } },
    { "ntlm", { "Microsoft-Windows-NTLM/Operational" } },
    { "taskscheduler", { "Microsoft-Windows-TaskScheduler/Operational" } },
    { "wmi", { "Microsoft-Windows-WMI-Activity/Operational" } },
    { "dhcp", { "Microsoft-Windows-DHCP-Server/Operational" } },
    { "printservice-admin", { "Microsoft-Windows-PrintService/Admin" } },
    { "printservice-operational", { "Microsoft-Windows-PrintService/Operational" } },
    { "smbclient-security", { "Microsoft-Windows-SmbClient/Security" } },
    { "smbclient-connectivity", { "Microsoft-Windows-SmbClient/Connectivity" } },
    { "smbserver-connectivity", { "Microsoft-Windows-SMBServer/Connectivity" } },
    { "terminalservices-localsessionmanager",
      { "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational" } },
    { "codeintegrity-operational", { "Microsoft-Windows-CodeIntegrity/Operational" } },
    { "applocker",
      { "Microsoft-Windows-AppLocker/MSI and Script", "Microsoft-Windows-AppLocker/EXE and DLL",
        "Microsoft-Windows-AppLocker/Packaged app-Deployment",
        "Microsoft-Windows-AppLocker/Packaged app-Execution" } },
    { "msexchange-management", { "MSExchange Management" } },
    { "windefend", { WD } },
    { "firewall-as", { "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall" } },
    { "bits-client", { "Microsoft-Windows-Bits-Client/Operational" } },
    { "security-mitigations",
      { "Microsoft-Windows-Security-Mitigations/Kernel Mode",
        "Microsoft-Windows-Security-Mitigations/User Mode" } },
    { "diagnosis-scripted", { "Microsoft-Windows-Diagnosis-Scripted/Operational" } },
    { "shell-core", { "Microsoft-Windows-Shell-Core/Operational" } },
    { "openssh", { "OpenSSH/Operational" } },
    { "ldap", { "Microsoft-Windows-LDAP-Client/Debug" } },
    { "bitlocker", { "Microsoft-Windows-BitLocker/BitLocker Management" } },
    { "vhdmp", { "Microsoft-Windows-VHDMP/Operational" } },
    { "appxdeployment-server", { "Microsoft-Windows-AppXDeploymentServer/Operational" } },
    { "lsa-server", { "Microsoft-Windows-LSA/Operational" } },
    { "appxpackaging-om", { "Microsoft-Windows-AppxPackaging/Operational" } },
    { "dns-client", { "Microsoft-Windows-DNS Client Events/Operational" } },
    { "appmodel-runtime", { "Microsoft-Windows-AppModel-Runtime/Admin" } },
    { "capi2", { "Microsoft-Windows-CAPI2/Operational" } },
    { "certificateservicesclient-lifecycle-system",
      { "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational" } },
    { "kernel-shimengine",
      { "Microsoft-Windows-Kernel-ShimEngine/Operational", "Microsoft-Windows-Kernel-ShimEngine/Diagnostic" } },
    { "application-experience",
      { "Microsoft-Windows-Application-Experience/Program-Telemetry",
        "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant" } },
    { "ntfs", { "Microsoft-Windows-Ntfs/Operational" } },
    { "hyper-v-worker", { "Microsoft-Windows-Hyper-V-Worker" } },
    { "kernel-event-tracing", { "Microsoft-Windows-Kernel-EventTracing" } },
    { "sense", { "Microsoft-Windows-SENSE/Operational" } },
    { "servicebus-client",
      { "Microsoft-ServiceBus-Client/Admin", "Microsoft-ServiceBus-Client/Operational" } },
    { "iis-configuration", { "Microsoft-IIS-Configuration/Operational" } },
    /* channels SigmaHQ rules name that thor.yml does not list */
    { "dns-server", { "DNS Server" } },
    { "dns-server-analytic", { "Microsoft-Windows-DNSServer/Analytical" } },
    { "driver-framework", { "Microsoft-Windows-DriverFrameworks-UserMode/Operational" } },
    { "microsoft-servicebus-client",
      { "Microsoft-ServiceBus-Client/Admin", "Microsoft-ServiceBus-Client/Operational" } },
    { "smbclient-ntlm", { "Microsoft-Windows-SmbClient/Security" } },
    { "appxdeployment", { "Microsoft-Windows-AppXDeployment/Operational" } },
    { "terminalservices-remoteconnectionmanager",
      { "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational" } },
    { "rdp", { "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational" } },
    { "kerberos", { "Microsoft-Windows-Kerberos/Operational" } },
    { "ldap-client", { "Microsoft-Windows-LDAP-Client/Debug" } },
    { "time-service", { "Microsoft-Windows-Time-Service/Operational" } },
    { "wmi-activity", { "Microsoft-Windows-WMI-Activity/Operational" } },
    { "hyper-v-vmms", { "Microsoft-Windows-Hyper-V-VMMS-Admin" } },
};

static bool eq(vg_str a, const char *b)
{
    return a.p && strlen(b) == a.n && strncasecmp(a.p, b, a.n) == 0;
}

static void add_win(dt_route *r, const char *channel, int32_t id, const char *cf, const char *cv)
{
    if (channel && r->nwin < DT_MAX_ROUTE_WIN)
        r->win[r->nwin++] = (dt_win_key){ channel, id, cf, cv };
}

bool dt_route_for(const sg_logsource *ls, dt_route *r)
{
    memset(r, 0, sizeof *r);
    r->table = -1;
    bool windows_ok = !ls->product.p || eq(ls->product, "windows");
    if (ls->category.p) {
        if (eq(ls->category, "antivirus") && windows_ok) {
            for (size_t i = 0; i < sizeof av_ids / sizeof av_ids[0]; i++)
                add_win(r, WD, av_ids[i], NULL, NULL);
            r->aliases = av_aliases;
            return true;
        }
        for (size_t i = 0; i < sizeof cat_routes / sizeof cat_routes[0]; i++) {
            const cat_route *c = &cat_routes[i];
            if (!eq(ls->category, c->category))
                continue;
            if (c->product ? !eq(ls->product, c->product) : !windows_ok)
                continue;
            for (uint32_t k = 0; k < DT_MAX_ROUTE_WIN && c->win[k].channel; k++)
                add_win(r, c->win[k].channel, c->win[k].eventid, c->win[k].cond_field,
                        c->win[k].cond_value);
            if (c->table) {
                const vg_table_def *t = vg_schema_table(vg_str_c(c->table));
                r->table = t ? t->id : -1;
                for (uint32_t k = 0; k < DT_MAX_ROUTE_ACT && c->actions[k]; k++)
                    r->actions[r->nactions++] = c->actions[k];
            }
            return r->nwin > 0 || r->table >= 0;
        }
        return false;
    }
    if (ls->service.p && windows_ok) {
        for (size_t i = 0; i < sizeof svc_routes / sizeof svc_routes[0]; i++) {
            if (!eq(ls->service, svc_routes[i].service))
                continue;
            for (uint32_t k = 0; k < 4 && svc_routes[i].channels[k]; k++)
                add_win(r, svc_routes[i].channels[k], -1, NULL, NULL);
            return true;
        }
    }
    return false;
}

/* ---- fields ---- */

typedef struct field_map {
    const char *table;      /* NULL: every table (the generic mapping) */
    const char *field;
    const char *col, *col2, *col3;
    dt_virt virt;
    dt_xform xform;
} field_map;

#define ACC(dom, name) dom, name, NULL, DT_VIRT_ACCOUNT, DT_X_NONE
#define HASHES "SHA1", "MD5", "SHA256", DT_VIRT_HASHES, DT_X_NONE
#define COL(c) c, NULL, NULL, DT_VIRT_NONE, DT_X_NONE

static const field_map field_maps[] = {
    { "DeviceProcessEvents", "Image", COL("FolderPath") },
    { "DeviceProcessEvents", "CommandLine", COL("ProcessCommandLine") },
    { "DeviceProcessEvents", "OriginalFileName", COL("ProcessVersionInfoOriginalFileName") },
    { "DeviceProcessEvents", "Description", COL("ProcessVersionInfoFileDescription") },
    { "DeviceProcessEvents", "Product", COL("ProcessVersionInfoProductName") },
    { "DeviceProcessEvents", "Company", COL("ProcessVersionInfoCompanyName") },
    { "DeviceProcessEvents", "FileVersion", COL("ProcessVersionInfoProductVersion") },
    { "DeviceProcessEvents", "ProcessId", COL("ProcessId") },
    { "DeviceProcessEvents", "User", ACC("AccountDomain", "AccountName") },
    { "DeviceProcessEvents", "LogonId", COL("LogonId") },
    { "DeviceProcessEvents", "IntegrityLevel", COL("ProcessIntegrityLevel") },
    { "DeviceProcessEvents", "md5", COL("MD5") },
    { "DeviceProcessEvents", "sha1", COL("SHA1") },
    { "DeviceProcessEvents", "sha256", COL("SHA256") },
    { "DeviceProcessEvents", "Hashes", HASHES },
    { "DeviceProcessEvents", "ParentProcessId", COL("InitiatingProcessId") },
    { "DeviceProcessEvents", "ParentImage", COL("InitiatingProcessFolderPath") },
    { "DeviceProcessEvents", "ParentCommandLine", COL("InitiatingProcessCommandLine") },
    { "DeviceProcessEvents", "ParentUser",
      ACC("InitiatingProcessAccountDomain", "InitiatingProcessAccountName") },
    { "DeviceProcessEvents", "GrandParentImage", COL("InitiatingProcessParentFileName") },
    { "DeviceImageLoadEvents", "ImageLoaded", COL("FolderPath") },
    { "DeviceImageLoadEvents", "md5", COL("MD5") },
    { "DeviceImageLoadEvents", "sha1", COL("SHA1") },
    { "DeviceImageLoadEvents", "sha256", COL("SHA256") },
    { "DeviceImageLoadEvents", "Hashes", HASHES },
    { "DeviceFileEvents", "TargetFilename", COL("FolderPath") },
    { "DeviceFileEvents", "ObjectName", COL("FolderPath") },
    { "DeviceFileEvents", "IntegrityLevel", COL("InitiatingProcessIntegrityLevel") },
    { "DeviceFileEvents", "md5", COL("MD5") },
    { "DeviceFileEvents", "sha1", COL("SHA1") },
    { "DeviceFileEvents", "sha256", COL("SHA256") },
    { "DeviceFileEvents", "Hashes", HASHES },
    { "DeviceNetworkEvents", "Protocol", COL("Protocol") },
    { "DeviceNetworkEvents", "SourceIp", COL("LocalIP") },
    { "DeviceNetworkEvents", "SourcePort", COL("LocalPort") },
    { "DeviceNetworkEvents", "SourceHostname", COL("DeviceName") },
    { "DeviceNetworkEvents", "DestinationIp", COL("RemoteIP") },
    { "DeviceNetworkEvents", "DestinationPort", COL("RemotePort") },
    { "DeviceNetworkEvents", "DestinationHostname", COL("RemoteUrl") },
    { "DeviceRegistryEvents", "TargetObject", "RegistryKey", "RegistryValueName", NULL,
      DT_VIRT_REGPATH, DT_X_REGKEY },
    { "DeviceRegistryEvents", "ObjectName", "RegistryKey", "RegistryValueName", NULL,
      DT_VIRT_REGPATH, DT_X_REGKEY },
    { "DeviceRegistryEvents", "Details", "RegistryValueData", NULL, NULL, DT_VIRT_NONE, DT_X_REGDATA },
    { "DeviceRegistryEvents", "NewName", COL("RegistryKey") },
    { "DeviceEvents", "TargetImage", COL("FolderPath") },
    { "DeviceEvents", "TargetProcessId", COL("ProcessId") },
    { "DeviceEvents", "SourceProcessId", COL("InitiatingProcessId") },
    { "DeviceEvents", "QueryName", COL("RemoteUrl") },
    { "DeviceEvents", "ImageLoaded", COL("FolderPath") },
    { "WindowsEvent", "EventID", COL("EventID") },
    { "WindowsEvent", "Channel", COL("Channel") },
    { "WindowsEvent", "Provider_Name", COL("Provider") },
    { "WindowsEvent", "Computer", COL("Computer") },
    /* generic */
    { NULL, "EventType", "ActionType", NULL, NULL, DT_VIRT_NONE, DT_X_EVENTTYPE },
    { NULL, "User", ACC("InitiatingProcessAccountDomain", "InitiatingProcessAccountName") },
    { NULL, "CommandLine", COL("InitiatingProcessCommandLine") },
    { NULL, "Image", COL("InitiatingProcessFolderPath") },
    { NULL, "SourceImage", COL("InitiatingProcessFolderPath") },
    { NULL, "ProcessName", COL("InitiatingProcessFolderPath") },
    { NULL, "ProcessId", COL("InitiatingProcessId") },
    { NULL, "md5", COL("InitiatingProcessMD5") },
    { NULL, "sha1", COL("InitiatingProcessSHA1") },
    { NULL, "sha256", COL("InitiatingProcessSHA256") },
    { NULL, "ParentProcessId", COL("InitiatingProcessParentId") },
    { NULL, "Company", COL("InitiatingProcessVersionInfoCompanyName") },
    { NULL, "Description", COL("InitiatingProcessVersionInfoFileDescription") },
    { NULL, "OriginalFileName", COL("InitiatingProcessVersionInfoOriginalFileName") },
    { NULL, "Product", COL("InitiatingProcessVersionInfoProductName") },
    { NULL, "ParentImage", COL("InitiatingProcessParentFileName") },
    { NULL, "Computer", COL("DeviceName") },
};

static int32_t col_of(const vg_table_def *t, const char *name)
{
    return name ? vg_schema_col(t, vg_str_c(name)) : -1;
}

dt_colmap dt_map_field(const vg_table_def *t, vg_str field)
{
    dt_colmap m = { -1, -1, -1, DT_VIRT_NONE, DT_X_NONE };
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof field_maps / sizeof field_maps[0]; i++) {
            const field_map *f = &field_maps[i];
            if (pass == 0 ? !f->table || strcmp(f->table, t->name) != 0 : f->table != NULL)
                continue;
            if (!eq(field, f->field))
                continue;
            m.col = col_of(t, f->col);
            m.col2 = col_of(t, f->col2);
            m.col3 = col_of(t, f->col3);
            m.virt = f->virt;
            m.xform = f->xform;
            if (m.col < 0 || (f->col2 && m.col2 < 0) || (f->col3 && m.col3 < 0))
                break;   /* the table lacks a column the mapping names: try the next one */
            return m;
        }
        m = (dt_colmap){ -1, -1, -1, DT_VIRT_NONE, DT_X_NONE };
    }
    /* a Defender column named in the rule itself */
    m.col = vg_schema_col(t, field);
    return m;
}

/* ---- value rewrites for column forms ---- */

static const char *const hives[][2] = {
    { "HKLM\\", "HKEY_LOCAL_MACHINE\\" },
    { "HKU\\", "HKEY_USERS\\" },
    { "HKCU\\", "HKEY_CURRENT_USER\\" },
    { "HKCR\\", "HKEY_CLASSES_ROOT\\" },
    { "HKCC\\", "HKEY_CURRENT_CONFIG\\" },
    { "\\REGISTRY\\MACHINE\\", "HKEY_LOCAL_MACHINE\\" },
    { "\\REGISTRY\\USER\\", "HKEY_USERS\\" },
};

static const char *const event_types[][2] = {
    { "CreateKey", "RegistryKeyCreated" },
    { "DeleteKey", "RegistryKeyDeleted" },
    { "DeleteValue", "RegistryValueDeleted" },
    { "SetValue", "RegistryValueSet" },
    { "RenameKey", "RegistryKeyRenamed" },
};

/* Glob text of a literal C string (no wildcards in these). */
static vg_str concat(vg_arena *a, const char *head, vg_str tail)
{
    size_t hn = strlen(head);
    char *p = vg_arena_alloc(a, hn + tail.n + 1);
    if (!p)
        return VG_STR_NULL;
    memcpy(p, head, hn);
    memcpy(p + hn, tail.p, tail.n);
    p[hn + tail.n] = 0;
    return vg_str_make(p, hn + tail.n);
}

vg_str dt_xform_glob(vg_arena *a, dt_xform x, sg_anchor anchor, vg_str glob)
{
    switch (x) {
    case DT_X_NONE:
        return glob;
    case DT_X_REGKEY:
        if (anchor != SG_ANCHOR_EXACT && anchor != SG_ANCHOR_STARTSWITH)
            return glob;
        for (size_t i = 0; i < sizeof hives / sizeof hives[0]; i++) {
            /* the glob escapes a backslash only before a wildcard or another
             * backslash, so the hive prefix appears as written */
            size_t hn = strlen(hives[i][0]);
            if (glob.n >= hn && strncasecmp(glob.p, hives[i][0], hn) == 0) {
                vg_str r = concat(a, hives[i][1], vg_str_make(glob.p + hn, glob.n - hn));
                return r.p ? r : glob;
            }
        }
        return glob;
    case DT_X_REGDATA: {
        /* DWORD (0x00000001) -> 1 ; QWORD (0x00000000-0x00000001) -> decimal */
        if (anchor != SG_ANCHOR_EXACT)
            return glob;
        uint64_t v = 0;
        /* "DWORD (0x00000001)": 9 + 8 + 1 bytes; "QWORD (0xHHHHHHHH-0xLLLLLLLL)": 9 + 8 + 3 + 8 + 1 */
        if (glob.n == 18 && strncasecmp(glob.p, "DWORD (0x", 9) == 0 && glob.p[17] == ')') {
            if (vg_str_to_hex_u64(vg_str_make(glob.p + 9, 8), &v) != VG_OK)
                return glob;
        } else if (glob.n == 29 && strncasecmp(glob.p, "QWORD (0x", 9) == 0 && glob.p[28] == ')' &&
                   glob.p[17] == '-' && glob.p[18] == '0' && (glob.p[19] == 'x' || glob.p[19] == 'X')) {
            uint64_t hi, lo;
            if (vg_str_to_hex_u64(vg_str_make(glob.p + 9, 8), &hi) != VG_OK ||
                vg_str_to_hex_u64(vg_str_make(glob.p + 20, 8), &lo) != VG_OK)
                return glob;
            v = hi << 32 | lo;
        } else {
            return glob;
        }
        char num[24];
        int n = snprintf(num, sizeof num, "%llu", (unsigned long long)v);
        return vg_str_dup(a, vg_str_make(num, (size_t)n));
    }
    case DT_X_EVENTTYPE:
        if (anchor != SG_ANCHOR_EXACT)
            return glob;
        for (size_t i = 0; i < sizeof event_types / sizeof event_types[0]; i++)
            if (eq(glob, event_types[i][0]))
                return vg_str_c(event_types[i][1]);
        return glob;
    }
    return glob;
}

uint32_t dt_message_cols(const vg_table_def *t, int32_t *out, uint32_t max)
{
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof field_maps / sizeof field_maps[0]; i++) {
        const field_map *f = &field_maps[i];
        if (f->table && strcmp(f->table, t->name) != 0)
            continue;
        const char *cols[3] = { f->col, f->col2, f->col3 };
        for (int k = 0; k < 3; k++) {
            int32_t c = col_of(t, cols[k]);
            if (c < 0 || !vg_type_is_str(t->cols[c].type))
                continue;
            bool dup = false;
            for (uint32_t j = 0; j < n && !dup; j++)
                dup = out[j] == c;
            if (!dup && n < max)
                out[n++] = c;
        }
    }
    return n;
}
