/*
 * win_map_security.c - Windows Security log events (provider
 * Microsoft-Windows-Security-Auditing) to Defender tables: logons on a device
 * go to DeviceLogonEvents, process creation (4688) to DeviceProcessEvents,
 * and the domain-controller events (Kerberos, NTLM validation, accounts and
 * groups) to IdentityLogonEvents / IdentityDirectoryEvents, the tables
 * Defender for Identity fills from the same events.
 *
 * Security events name the acting account Subject* and the account acted on
 * Target*; the first becomes InitiatingProcessAccount* (or ACTOR.* in
 * AdditionalFields of the identity tables), the second Account*.
 */
#include <string.h>

#include "win_map.h"

static bool has_col(win_row *w, const char *col)
{
    return vg_schema_col(w->b->table, vg_str_c(col)) >= 0;
}

/* Subject* -> InitiatingProcessAccount* (and its logon id where the table has one). */
static void subject(win_row *w)
{
    win_put_src(w, "InitiatingProcessAccountName", "SubjectUserName");
    win_put_src(w, "InitiatingProcessAccountDomain", "SubjectDomainName");
    if (!vg_str_eqc(vg_str_trim(win_src(w, "SubjectUserSid")), "S-1-0-0")) /* the NULL SID */
        win_put_src(w, "InitiatingProcessAccountSid", "SubjectUserSid");
    if (has_col(w, "InitiatingProcessLogonId"))
        win_put_src(w, "InitiatingProcessLogonId", "SubjectLogonId");
}

static void target_account(win_row *w)
{
    win_put_src(w, "AccountName", "TargetUserName");
    win_put_src(w, "AccountDomain", "TargetDomainName");
    win_put_src(w, "AccountSid", "TargetUserSid");
}

static void remote_endpoint(win_row *w)
{
    vg_str ip = win_norm_ip(win_src(w, "IpAddress"));
    win_put(w, "RemoteIP", ip);
    win_put_c(w, "RemoteIPType", win_ip_type(ip));
    vg_str port = vg_str_trim(win_src(w, "IpPort"));
    if (!vg_str_eqc(port, "0"))
        win_put(w, "RemotePort", port);
}

static void logon_process(win_row *w)
{
    win_put_path(w, "InitiatingProcess", win_src(w, "ProcessName"));
    uint64_t pid;
    vg_str v = vg_str_trim(win_src(w, "ProcessId"));
    if (vg_str_to_hex_u64(v, &pid) == VG_OK && pid != 0) /* 0x0: no process */
        win_put(w, "InitiatingProcessId", v);
}

/* NTSTATUS codes of failed logons and NTLM validations. */
static const struct {
    uint32_t code;
    const char *name;
} ntstatus_names[] = {
    { 0xC000005E, "NoLogonServers" },        { 0xC0000064, "NoSuchUser" },
    { 0xC000006A, "WrongPassword" },         { 0xC000006D, "InvalidUserNameOrPassword" },
    { 0xC000006E, "AccountRestriction" },    { 0xC000006F, "InvalidLogonHours" },
    { 0xC0000070, "InvalidWorkstation" },    { 0xC0000071, "PasswordExpired" },
    { 0xC0000072, "AccountDisabled" },       { 0xC0000133, "ClockSkew" },
    { 0xC000015B, "LogonTypeNotGranted" },   { 0xC0000192, "NetLogonNotStarted" },
    { 0xC0000193, "AccountExpired" },        { 0xC0000224, "PasswordMustChange" },
    { 0xC0000234, "AccountLocked" },         { 0xC0000413, "AuthenticationFirewallFailed" },
};

/* Kerberos error codes (RFC 4120) of 4768/4769/4771. */
static const struct {
    uint32_t code;
    const char *name;
} kerberos_names[] = {
    { 0x6, "KDC_ERR_C_PRINCIPAL_UNKNOWN" },  { 0x7, "KDC_ERR_S_PRINCIPAL_UNKNOWN" },
    { 0xC, "KDC_ERR_POLICY" },               { 0xE, "KDC_ERR_ETYPE_NOTSUPP" },
    { 0x12, "KDC_ERR_CLIENT_REVOKED" },      { 0x17, "KDC_ERR_KEY_EXPIRED" },
    { 0x18, "KDC_ERR_PREAUTH_FAILED" },      { 0x1F, "KRB_AP_ERR_BAD_INTEGRITY" },
    { 0x20, "KRB_AP_ERR_TKT_EXPIRED" },      { 0x25, "KRB_AP_ERR_SKEW" },
};

/* 0 for success, 1 for a failure code, -1 when the status is absent or unreadable. */
static int status_failed(vg_str status, uint64_t *code)
{
    status = vg_str_trim(status);
    if (!status.n || vg_str_to_hex_u64(status, code) != VG_OK)
        return -1;
    return *code != 0;
}

static void put_failure(win_row *w, vg_str status, bool kerberos)
{
    uint64_t code;
    if (status_failed(status, &code) != 1)
        return;
    const char *name = NULL;
    if (kerberos) {
        for (size_t i = 0; i < sizeof kerberos_names / sizeof *kerberos_names; i++)
            if (kerberos_names[i].code == code)
                name = kerberos_names[i].name;
    } else {
        for (size_t i = 0; i < sizeof ntstatus_names / sizeof *ntstatus_names; i++)
            if (ntstatus_names[i].code == code)
                name = ntstatus_names[i].name;
    }
    if (name)
        win_put_c(w, "FailureReason", name);
    else
        win_put(w, "FailureReason", vg_str_trim(status));
}

static void fill_logon(win_row *w)
{
    target_account(w);
    win_put_c(w, "LogonType", win_logon_type_name(win_src(w, "LogonType")));
    win_put_src(w, "Protocol", "AuthenticationPackageName");
    win_put_src(w, "LogonId", "TargetLogonId");
    win_put_src(w, "RemoteDeviceName", "WorkstationName");
    remote_endpoint(w);
    logon_process(w);
    subject(w);
    win_extra(w, "LogonProcessName", vg_str_trim(win_src(w, "LogonProcessName")));
}

static void fill_logon_failed(win_row *w)
{
    fill_logon(w);
    vg_str sub = win_src(w, "SubStatus");
    uint64_t code;
    put_failure(w, status_failed(sub, &code) == 1 ? sub : win_src(w, "Status"), false);
}

static void fill_logoff(win_row *w)
{
    target_account(w);
    win_put_c(w, "LogonType", win_logon_type_name(win_src(w, "LogonType")));
    win_put_src(w, "LogonId", "TargetLogonId");
}

static void fill_explicit(win_row *w)
{
    win_put_src(w, "AccountName", "TargetUserName");
    win_put_src(w, "AccountDomain", "TargetDomainName");
    win_put_src(w, "RemoteDeviceName", "TargetServerName");
    remote_endpoint(w);
    logon_process(w);
    subject(w);
    win_extra(w, "TargetInfo", win_src(w, "TargetInfo"));
}

static void fill_special_privileges(win_row *w)
{
    win_put_src(w, "AccountName", "SubjectUserName");
    win_put_src(w, "AccountDomain", "SubjectDomainName");
    win_put_src(w, "AccountSid", "SubjectUserSid");
    win_put_src(w, "LogonId", "SubjectLogonId");
    /* "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege" -> ["SeSecurityPrivilege","SeBackupPrivilege"] */
    vg_str list = win_src(w, "PrivilegeList");
    vg_buf arr;
    vg_buf_init(&arr, VG_INGEST_MAX_RECORD);
    for (size_t i = 0; i < list.n;) {
        while (i < list.n && (list.p[i] == ' ' || list.p[i] == '\t' || list.p[i] == '\r' ||
                              list.p[i] == '\n'))
            i++;
        size_t b = i;
        while (i < list.n && !(list.p[i] == ' ' || list.p[i] == '\t' || list.p[i] == '\r' ||
                               list.p[i] == '\n'))
            i++;
        if (i > b && !(i - b == 1 && list.p[b] == '-')) {
            vg_buf_putc(&arr, arr.n ? ',' : '[');
            vg_buf_put_json_str(&arr, vg_str_make(list.p + b, i - b));
        }
    }
    if (arr.n && !arr.failed) {
        vg_buf_putc(&arr, ']');
        win_extra_raw(w, "PrivilegeList", vg_str_make(arr.p, arr.n));
    }
    vg_buf_free(&arr);
}

static const char *token_elevation(vg_str v)
{
    v = vg_str_trim(v);
    if (vg_str_eqc(v, "%%1936"))
        return "TokenElevationTypeDefault";
    if (vg_str_eqc(v, "%%1937"))
        return "TokenElevationTypeFull";
    if (vg_str_eqc(v, "%%1938"))
        return "TokenElevationTypeLimited";
    return NULL;
}

static void fill_process_create(win_row *w)
{
    win_put_path(w, "", win_src(w, "NewProcessName"));
    win_put_src(w, "ProcessId", "NewProcessId");
    win_put_src(w, "ProcessCommandLine", "CommandLine");
    win_put_c(w, "ProcessIntegrityLevel", win_integrity_name(win_src(w, "MandatoryLabel")));
    win_put_c(w, "ProcessTokenElevation", token_elevation(win_src(w, "TokenElevationType")));
    /* the new process runs as Target* when set (4688 v2), else as the subject */
    vg_str tsid = vg_str_trim(win_src(w, "TargetUserSid"));
    if (!win_is_blank(win_src(w, "TargetUserName")) && !vg_str_eqc(tsid, "S-1-0-0")) {
        target_account(w);
        win_put_src(w, "LogonId", "TargetLogonId");
    } else {
        win_put_src(w, "AccountName", "SubjectUserName");
        win_put_src(w, "AccountDomain", "SubjectDomainName");
        win_put_src(w, "AccountSid", "SubjectUserSid");
        win_put_src(w, "LogonId", "SubjectLogonId");
    }
    win_put_src(w, "InitiatingProcessId", "ProcessId");
    win_put_path(w, "InitiatingProcess", win_src(w, "ParentProcessName"));
    subject(w);
}

/* ---- domain controller: identity tables ---- */

static void identity_common(win_row *w)
{
    win_put(w, "DestinationDeviceName", w->ev->computer);
    win_put_c(w, "Application", "Active Directory");
}

static void actor(win_row *w)
{
    vg_str dom = vg_str_trim(win_src(w, "SubjectDomainName"));
    vg_str user = vg_str_trim(win_src(w, "SubjectUserName"));
    if (win_is_blank(user))
        return;
    char *full = win_is_blank(dom) ? NULL
                                   : vg_arena_printf(w->a, "%.*s\\%.*s", VG_STR_FMT(dom),
                                                     VG_STR_FMT(user));
    win_extra(w, "ACTOR.ACCOUNT", full ? vg_str_c(full) : user);
    win_extra(w, "ACTOR.SID", win_src(w, "SubjectUserSid"));
}

static void fill_kerberos(win_row *w)
{
    identity_common(w);
    win_put_c(w, "Protocol", "Kerberos");
    /* 4769 writes the client as user@REALM */
    vg_str dom, user;
    win_split_account(vg_str_trim(win_src(w, "TargetUserName")), &dom, &user);
    win_put(w, "AccountName", user);
    if (!win_is_blank(win_src(w, "TargetDomainName")))
        dom = win_src(w, "TargetDomainName");
    win_put(w, "AccountDomain", dom);
    win_put_src(w, "AccountSid", "TargetSid");
    vg_str ip = win_norm_ip(win_src(w, "IpAddress"));
    win_put(w, "IPAddress", ip);
    vg_str port = vg_str_trim(win_src(w, "IpPort"));
    if (!vg_str_eqc(port, "0"))
        win_put(w, "Port", port);
    bool tgs = vg_str_eqc(vg_str_trim(w->ev->event_id), "4769");
    bool preauth_failed = vg_str_eqc(vg_str_trim(w->ev->event_id), "4771");
    win_put_c(w, "LogonType", tgs ? "Resource access" : "Credentials validation");
    vg_str status = win_src(w, "Status");
    if (!preauth_failed) {
        vg_str rc = win_src(w, "FailureCode"); /* some 4769 versions */
        if (!status.p)
            status = rc;
    }
    uint64_t code;
    int failed = status_failed(status, &code);
    w->action = (preauth_failed || failed == 1) ? "LogonFailed" : "LogonSuccess";
    put_failure(w, status, true);
    win_extra(w, "ServiceName", win_src(w, "ServiceName"));
    win_extra(w, "ServiceSid", win_src(w, "ServiceSid"));
    win_extra(w, "TicketEncryptionType", win_src(w, "TicketEncryptionType"));
    win_extra(w, "TicketOptions", win_src(w, "TicketOptions"));
    win_extra(w, "PreAuthType", win_src(w, "PreAuthType"));
}

static void fill_ntlm(win_row *w)
{
    identity_common(w);
    win_put_c(w, "Protocol", "NTLM");
    win_put_c(w, "LogonType", "Credentials validation");
    vg_str dom, user;
    win_split_account(vg_str_trim(win_src(w, "TargetUserName")), &dom, &user);
    win_put(w, "AccountName", user);
    win_put(w, "AccountDomain", dom);
    win_put_src(w, "DeviceName", "Workstation");
    vg_str status = win_src(w, "Status");
    uint64_t code;
    w->action = status_failed(status, &code) == 1 ? "LogonFailed" : "LogonSuccess";
    put_failure(w, status, false);
    win_extra(w, "PackageName", win_src(w, "PackageName"));
}

/* "%%1793" is Windows' "<value not set>" */
static bool unset(vg_str v)
{
    return win_is_blank(v) || vg_str_eqc(vg_str_trim(v), "%%1793");
}

static void fill_account_created(win_row *w)
{
    identity_common(w);
    win_put_src(w, "AccountName", "TargetUserName");
    win_put_src(w, "AccountDomain", "TargetDomainName");
    win_put_src(w, "AccountSid", "TargetSid");
    vg_str upn = win_src(w, "UserPrincipalName");
    if (!unset(upn))
        win_put(w, "AccountUpn", upn);
    vg_str disp = win_src(w, "DisplayName");
    if (!unset(disp))
        win_put(w, "TargetAccountDisplayName", disp);
    actor(w);
    win_extra(w, "TARGET_OBJECT.USER", win_src(w, "TargetUserName"));
    win_extra(w, "SamAccountName", win_src(w, "SamAccountName"));
}

/* "CN=John Doe,OU=Staff,DC=corp,DC=local" -> "John Doe" */
static vg_str dn_cn(vg_str dn)
{
    dn = vg_str_trim(dn);
    if (dn.n < 3 || !vg_str_starts_ci(dn, VG_STR_LIT("CN=")))
        return dn;
    size_t i = 3;
    while (i < dn.n && !(dn.p[i] == ',' && dn.p[i - 1] != '\\'))
        i++;
    return vg_str_make(dn.p + 3, i - 3);
}

static void fill_group_member_added(win_row *w)
{
    identity_common(w);
    vg_str member = win_src(w, "MemberName");
    win_put_src(w, "AccountSid", "MemberSid");
    if (!win_is_blank(member)) {
        win_put(w, "AccountName", dn_cn(member));
        win_put(w, "TargetAccountDisplayName", dn_cn(member));
    }
    win_extra(w, "TO.GROUP", win_src(w, "TargetUserName"));
    win_extra(w, "TO.GROUP.DOMAIN", win_src(w, "TargetDomainName"));
    win_extra(w, "TO.GROUP.SID", win_src(w, "TargetSid"));
    win_extra(w, "TARGET_OBJECT.USER",
              win_is_blank(member) ? win_src(w, "MemberSid") : dn_cn(member));
    actor(w);
}

const win_mapping win_security_map[] = {
    { WIN_PROV_SECURITY, 4624, "DeviceLogonEvents", "LogonSuccess", fill_logon,
      "an account logged on" },
    { WIN_PROV_SECURITY, 4625, "DeviceLogonEvents", "LogonFailed", fill_logon_failed,
      "an account failed to log on" },
    { WIN_PROV_SECURITY, 4634, "DeviceLogonEvents", "LogoffSuccess", fill_logoff,
      "an account logged off" },
    { WIN_PROV_SECURITY, 4648, "DeviceLogonEvents", "LogonAttempted", fill_explicit,
      "a logon was attempted with explicit credentials" },
    { WIN_PROV_SECURITY, 4672, "DeviceLogonEvents", "SpecialPrivilegesAssigned",
      fill_special_privileges, "special privileges assigned to a new logon" },
    { WIN_PROV_SECURITY, 4688, "DeviceProcessEvents", "ProcessCreated", fill_process_create,
      "a new process has been created" },
    { WIN_PROV_SECURITY, 4720, "IdentityDirectoryEvents", "User Account Created",
      fill_account_created, "a user account was created" },
    { WIN_PROV_SECURITY, 4728, "IdentityDirectoryEvents", "Group Membership changed",
      fill_group_member_added, "a member was added to a security-enabled global group" },
    { WIN_PROV_SECURITY, 4732, "IdentityDirectoryEvents", "Group Membership changed",
      fill_group_member_added, "a member was added to a security-enabled local group" },
    { WIN_PROV_SECURITY, 4768, "IdentityLogonEvents", NULL, fill_kerberos,
      "a Kerberos authentication ticket (TGT) was requested" },
    { WIN_PROV_SECURITY, 4769, "IdentityLogonEvents", NULL, fill_kerberos,
      "a Kerberos service ticket was requested" },
    { WIN_PROV_SECURITY, 4771, "IdentityLogonEvents", "LogonFailed", fill_kerberos,
      "Kerberos pre-authentication failed" },
    { WIN_PROV_SECURITY, 4776, "IdentityLogonEvents", NULL, fill_ntlm,
      "the domain controller attempted to validate the credentials of an account (NTLM)" },
};
const size_t win_security_nmap = sizeof win_security_map / sizeof win_security_map[0];
