/*
 * win_map_sysmon.c - Sysmon events (Microsoft-Windows-Sysmon/Operational, and
 * Sysmon for Linux, which uses the same IDs and field names) to Defender
 * tables: one entry per EventID in win_sysmon_map[] and its fill function.
 *
 * Conventions, as Defender writes its tables: FolderPath is the full path
 * and FileName its last part; the process an event is about goes in the
 * unprefixed columns and the process that caused it in InitiatingProcess*;
 * hashes are lower-case hex; Sysmon's "DOMAIN\user" is split in two columns.
 * docs/formats.md has the same tables in prose; keep them in step.
 */
#include <string.h>

#include "win_map.h"

/* Image/ProcessId/User: the process that caused the event. */
static void initiator(win_row *w)
{
    win_put_path(w, "InitiatingProcess", win_src(w, "Image"));
    win_put_src(w, "InitiatingProcessId", "ProcessId");
    win_put_account(w, "InitiatingProcess", win_src(w, "User"));
}

static void fill_process_create(win_row *w)
{
    win_put_path(w, "", win_src(w, "Image"));
    win_put_src(w, "ProcessId", "ProcessId");
    win_put_src(w, "ProcessCommandLine", "CommandLine");
    win_put_src(w, "ProcessVersionInfoCompanyName", "Company");
    win_put_src(w, "ProcessVersionInfoProductName", "Product");
    win_put_src(w, "ProcessVersionInfoProductVersion", "FileVersion");
    win_put_src(w, "ProcessVersionInfoOriginalFileName", "OriginalFileName");
    win_put_src(w, "ProcessVersionInfoFileDescription", "Description");
    win_put_src(w, "ProcessIntegrityLevel", "IntegrityLevel");
    win_put_src(w, "ProcessCreationTime", "UtcTime");
    win_put_src(w, "CreatedProcessSessionId", "TerminalSessionId");
    win_put_account(w, "", win_src(w, "User"));
    win_put_src(w, "LogonId", "LogonId");
    win_put_hashes(w, "", win_src(w, "Hashes"));
    win_put_src(w, "InitiatingProcessId", "ParentProcessId");
    win_put_path(w, "InitiatingProcess", win_src(w, "ParentImage"));
    win_put_src(w, "InitiatingProcessCommandLine", "ParentCommandLine");
    win_put_account(w, "InitiatingProcess", win_src(w, "ParentUser"));
}

/* "tcp" -> "Tcp", as Defender spells Protocol */
static vg_str protocol_name(vg_arena *a, vg_str p)
{
    p = vg_str_trim(p);
    if (!p.n)
        return p;
    vg_str l = vg_str_lower(a, p);
    if (!l.p)
        return p;
    char *s = (char *)l.p;
    if (s[0] >= 'a' && s[0] <= 'z')
        s[0] = (char)(s[0] - 'a' + 'A');
    return l;
}

static void fill_network(win_row *w)
{
    bool inbound = vg_str_eqc_ci(vg_str_trim(win_src(w, "Initiated")), "false");
    vg_str src_ip = win_norm_ip(win_src(w, "SourceIp"));
    vg_str dst_ip = win_norm_ip(win_src(w, "DestinationIp"));
    vg_str local_ip = inbound ? dst_ip : src_ip, remote_ip = inbound ? src_ip : dst_ip;
    win_put(w, "LocalIP", local_ip);
    win_put(w, "RemoteIP", remote_ip);
    win_put_src(w, "LocalPort", inbound ? "DestinationPort" : "SourcePort");
    win_put_src(w, "RemotePort", inbound ? "SourcePort" : "DestinationPort");
    win_put_c(w, "LocalIPType", win_ip_type(local_ip));
    win_put_c(w, "RemoteIPType", win_ip_type(remote_ip));
    if (!inbound)
        win_put_src(w, "RemoteUrl", "DestinationHostname");
    win_put(w, "Protocol", protocol_name(w->a, win_src(w, "Protocol")));
    if (inbound)
        w->action = "InboundConnectionAccepted";
    initiator(w);
}

static void fill_process_terminate(win_row *w)
{
    win_put_path(w, "", win_src(w, "Image"));
    win_put_src(w, "ProcessId", "ProcessId");
    initiator(w);
}

static void fill_image_load(win_row *w)
{
    win_put_path(w, "", win_src(w, "ImageLoaded"));
    win_put_hashes(w, "", win_src(w, "Hashes"));
    initiator(w);
}

/* Sysmon 8 and 10: Source* did something to Target*. */
static void source_target(win_row *w)
{
    win_put_path(w, "InitiatingProcess", win_src(w, "SourceImage"));
    win_put_src(w, "InitiatingProcessId", "SourceProcessId");
    win_put_account(w, "InitiatingProcess", win_src(w, "SourceUser"));
    win_put_path(w, "", win_src(w, "TargetImage"));
    win_put_src(w, "ProcessId", "TargetProcessId");
    win_put_account(w, "", win_src(w, "TargetUser"));
}

static void fill_remote_thread(win_row *w)
{
    source_target(w);
    win_extra(w, "StartAddress", win_src(w, "StartAddress"));
    win_extra(w, "StartModule", win_src(w, "StartModule"));
    win_extra(w, "StartFunction", win_src(w, "StartFunction"));
    win_extra(w, "NewThreadId", win_src(w, "NewThreadId"));
}

static void fill_process_access(win_row *w)
{
    source_target(w);
    uint64_t access;
    if (vg_str_to_hex_u64(vg_str_trim(win_src(w, "GrantedAccess")), &access) == VG_OK) {
        char *num = vg_arena_printf(w->a, "%llu", (unsigned long long)access);
        if (num)
            win_extra_raw(w, "DesiredAccess", vg_str_c(num));
    }
}

static void fill_file_create(win_row *w)
{
    win_put_path(w, "", win_src(w, "TargetFilename"));
    initiator(w);
}

static void fill_file_delete(win_row *w)
{
    win_put_path(w, "", win_src(w, "TargetFilename"));
    win_put_hashes(w, "", win_src(w, "Hashes"));
    initiator(w);
    win_extra(w, "IsExecutable", win_src(w, "IsExecutable"));
    win_extra(w, "Archived", win_src(w, "Archived"));
}

/* The value of "Key=value" in a Zone.Identifier text; Sysmon writes its
 * lines separated by CR LF or, once rendered, by spaces. */
static vg_str ini_value(vg_str text, const char *key)
{
    vg_str k = vg_str_c(key);
    for (size_t i = 0; i + k.n < text.n; i++) {
        if (i > 0 && text.p[i - 1] != ' ' && text.p[i - 1] != '\n' && text.p[i - 1] != '\r' &&
            text.p[i - 1] != '\t')
            continue;
        if (!vg_str_starts_ci(vg_str_make(text.p + i, text.n - i), k) || text.p[i + k.n] != '=')
            continue;
        size_t b = i + k.n + 1, e = b;
        while (e < text.n && text.p[e] != ' ' && text.p[e] != '\n' && text.p[e] != '\r' &&
               text.p[e] != '\t')
            e++;
        return vg_str_make(text.p + b, e - b);
    }
    return VG_STR_NULL;
}

static void fill_stream_hash(win_row *w)
{
    vg_str path = vg_str_trim(win_src(w, "TargetFilename"));
    win_put_path(w, "", path);
    win_put_hashes(w, "", win_src(w, "Hash"));
    initiator(w);
    vg_str file = win_path_file(path);
    ptrdiff_t colon = vg_str_chr(file, ':');
    if (colon >= 0)
        win_extra(w, "StreamName", vg_str_make(file.p + colon + 1, file.n - (size_t)colon - 1));
    vg_str contents = win_src(w, "Contents");
    win_put(w, "FileOriginUrl", ini_value(contents, "HostUrl"));
    win_put(w, "FileOriginReferrerUrl", ini_value(contents, "ReferrerUrl"));
}

/* Sysmon TargetObject "HKLM\...\Key\Value" -> key and value name. */
static void split_value(vg_str target, vg_str *key, vg_str *value)
{
    ptrdiff_t bs = vg_str_rchr(target, '\\');
    if (bs < 0) {
        *key = target;
        *value = VG_STR_NULL;
        return;
    }
    *key = vg_str_make(target.p, (size_t)bs);
    *value = vg_str_make(target.p + bs + 1, target.n - (size_t)bs - 1);
}

static void fill_registry(win_row *w)
{
    vg_str type = vg_str_trim(win_src(w, "EventType"));
    vg_str target = vg_str_trim(win_src(w, "TargetObject"));
    bool value_op = false;
    if (vg_str_eqc_ci(type, "CreateKey")) {
        w->action = "RegistryKeyCreated";
    } else if (vg_str_eqc_ci(type, "DeleteKey")) {
        w->action = "RegistryKeyDeleted";
    } else if (vg_str_eqc_ci(type, "DeleteValue")) {
        w->action = "RegistryValueDeleted";
        value_op = true;
    } else if (vg_str_eqc_ci(type, "SetValue")) {
        w->action = "RegistryValueSet";
        value_op = true;
    } else if (vg_str_eqc_ci(type, "RenameKey")) {
        w->action = "RegistryKeyRenamed";
    } else {
        value_op = strcmp(w->action, "RegistryValueSet") == 0;
    }
    if (strcmp(w->action, "RegistryKeyRenamed") == 0) {
        vg_str nn = vg_str_trim(win_src(w, "NewName"));
        win_put(w, "PreviousRegistryKey", win_norm_regkey(w->a, target));
        if (vg_str_chr(nn, '\\') < 0 && nn.n) {
            vg_str parent, old;
            split_value(target, &parent, &old);
            char *full = vg_arena_printf(w->a, "%.*s\\%.*s", VG_STR_FMT(parent), VG_STR_FMT(nn));
            if (full)
                nn = vg_str_c(full);
        }
        win_put(w, "RegistryKey", win_norm_regkey(w->a, nn));
    } else if (value_op) {
        vg_str key, value;
        split_value(target, &key, &value);
        win_put(w, "RegistryKey", win_norm_regkey(w->a, key));
        win_put(w, "RegistryValueName", value);
    } else {
        win_put(w, "RegistryKey", win_norm_regkey(w->a, target));
    }
    vg_str details = win_src(w, "Details");
    if (details.p) {
        const char *vtype;
        vg_str data;
        win_reg_details(w->a, details, &vtype, &data);
        win_put_c(w, "RegistryValueType", vtype);
        if (data.p && data.n == 0) {
            int c = vg_schema_col(w->b->table, VG_STR_LIT("RegistryValueData"));
            if (c >= 0)
                vg_batch_set_str(w->b, c, w->r, data);
        } else {
            win_put(w, "RegistryValueData", data);
        }
    }
    initiator(w);
}

static void fill_pipe(win_row *w)
{
    bool created = strcmp(w->action, "NamedPipeEvent") == 0 &&
                   vg_str_eqc(vg_str_trim(w->ev->event_id), "17");
    initiator(w);
    win_extra(w, "PipeName", win_src(w, "PipeName"));
    win_extra(w, "FileOperation", created ? VG_STR_LIT("File created") : VG_STR_LIT("File opened"));
    win_extra(w, "NamedPipeEnd", created ? VG_STR_LIT("Server") : VG_STR_LIT("Client"));
}

static void fill_dns(win_row *w)
{
    initiator(w);
    win_put_src(w, "RemoteUrl", "QueryName");
    win_extra(w, "DnsQueryString", win_src(w, "QueryName"));
    win_extra(w, "DnsQueryStatus", win_src(w, "QueryStatus"));
    win_extra(w, "DnsQueryResult", win_src(w, "QueryResults"));
}

static void fill_tampering(win_row *w)
{
    win_put_path(w, "", win_src(w, "Image"));
    win_put_src(w, "ProcessId", "ProcessId");
    initiator(w);
    win_extra(w, "TamperingType", win_src(w, "Type"));
}

const win_mapping win_sysmon_map[] = {
    { WIN_PROV_SYSMON, 1, "DeviceProcessEvents", "ProcessCreated", fill_process_create,
      "process creation" },
    { WIN_PROV_SYSMON, 3, "DeviceNetworkEvents", "ConnectionSuccess", fill_network,
      "network connection (InboundConnectionAccepted when Initiated is false)" },
    { WIN_PROV_SYSMON, 5, "DeviceEvents", "ProcessTerminated", fill_process_terminate,
      "process terminated" },
    { WIN_PROV_SYSMON, 7, "DeviceImageLoadEvents", "ImageLoaded", fill_image_load, "image loaded" },
    { WIN_PROV_SYSMON, 8, "DeviceEvents", "CreateRemoteThreadApiCall", fill_remote_thread,
      "CreateRemoteThread" },
    { WIN_PROV_SYSMON, 10, "DeviceEvents", "OpenProcessApiCall", fill_process_access,
      "process accessed" },
    { WIN_PROV_SYSMON, 11, "DeviceFileEvents", "FileCreated", fill_file_create, "file created" },
    { WIN_PROV_SYSMON, 12, "DeviceRegistryEvents", "RegistryKeyCreated", fill_registry,
      "registry key or value created or deleted (by EventType)" },
    { WIN_PROV_SYSMON, 13, "DeviceRegistryEvents", "RegistryValueSet", fill_registry,
      "registry value set" },
    { WIN_PROV_SYSMON, 14, "DeviceRegistryEvents", "RegistryKeyRenamed", fill_registry,
      "registry key renamed" },
    { WIN_PROV_SYSMON, 15, "DeviceFileEvents", "FileCreated", fill_stream_hash,
      "alternate data stream created" },
    { WIN_PROV_SYSMON, 17, "DeviceEvents", "NamedPipeEvent", fill_pipe, "pipe created" },
    { WIN_PROV_SYSMON, 18, "DeviceEvents", "NamedPipeEvent", fill_pipe, "pipe connected" },
    { WIN_PROV_SYSMON, 22, "DeviceEvents", "DnsQueryResponse", fill_dns, "DNS query" },
    { WIN_PROV_SYSMON, 23, "DeviceFileEvents", "FileDeleted", fill_file_delete,
      "file deleted (archived)" },
    { WIN_PROV_SYSMON, 25, "DeviceEvents", "ProcessTampering", fill_tampering,
      "process image tampering" },
    { WIN_PROV_SYSMON, 26, "DeviceFileEvents", "FileDeleted", fill_file_delete,
      "file delete detected (not archived)" },
};
const size_t win_sysmon_nmap = sizeof win_sysmon_map / sizeof win_sysmon_map[0];
