/*
 * test_win_map.c - the Windows decoders' helpers and mapping: hash lists,
 * paths, accounts, registry hives and value details, IP classes, logon types,
 * the cross-source normalizations, the raw record, and that every entry of
 * the mapping tables names only columns its table has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/vg_ingest.h"
#include "ingest/win_event.h"
#include "ingest/win_map.h"

static void assert_str(vg_str s, const char *want)
{
    if (!want) {
        assert_null(s.p);
        return;
    }
    assert_non_null(s.p);
    char buf[512];
    vg_str_copy_c(buf, sizeof buf, s);
    assert_string_equal(buf, want);
}

static void test_hashes(void **state)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_str md5, sha1, sha256;
    win_split_hashes(&a,
                     VG_STR_LIT("SHA1=5E4F2C531C549BB72A658ED9DD16D491EDDBB286,MD5=FAB4B30C1C4F0A92"
                                "02A7B42DCF1729DC,SHA256=1B48A4F8D20026E6C56E3AB4CC4788FA6425C8A75F"
                                "8D91C2869FA533DE6B209E,IMPHASH=C324AAAC01F0F75C811E1F80C41B860C"),
                     &md5, &sha1, &sha256);
    assert_str(md5, "fab4b30c1c4f0a9202a7b42dcf1729dc");
    assert_str(sha1, "5e4f2c531c549bb72a658ed9dd16d491eddbb286");
    assert_str(sha256, "1b48a4f8d20026e6c56e3ab4cc4788fa6425c8a75f8d91c2869fa533de6b209e");
    /* only IMPHASH, a wrong length, junk: nothing */
    win_split_hashes(&a, VG_STR_LIT("IMPHASH=C324AAAC01F0F75C811E1F80C41B860C,MD5=ABC,SHA1=zz"),
                     &md5, &sha1, &sha256);
    assert_null(md5.p);
    assert_null(sha1.p);
    assert_null(sha256.p);
    /* bare values typed by length, and the ALGO|value form */
    win_split_hashes(&a, VG_STR_LIT(" 7353F60B1739074EB17C5F4DDDEFE239 , sha1|6CBCE4A295C163791B60FC23D285E6D84F28EE4C"),
                     &md5, &sha1, &sha256);
    assert_str(md5, "7353f60b1739074eb17c5f4dddefe239");
    assert_str(sha1, "6cbce4a295c163791b60fc23d285e6d84f28ee4c");
    vg_arena_free(&a);
}

static void test_paths_accounts(void **state)
{
    assert_str(win_path_file(VG_STR_LIT("C:\\Windows\\System32\\cmd.exe")), "cmd.exe");
    assert_str(win_path_file(VG_STR_LIT("/usr/bin/curl")), "curl");
    assert_str(win_path_file(VG_STR_LIT("System")), "System");
    assert_str(win_path_file(VG_STR_LIT("C:\\dir\\")), "");
    vg_str dom, name;
    win_split_account(VG_STR_LIT("NT AUTHORITY\\SYSTEM"), &dom, &name);
    assert_str(dom, "NT AUTHORITY");
    assert_str(name, "SYSTEM");
    win_split_account(VG_STR_LIT("alice@CORP.LOCAL"), &dom, &name);
    assert_str(dom, "CORP.LOCAL");
    assert_str(name, "alice");
    win_split_account(VG_STR_LIT("bob"), &dom, &name);
    assert_null(dom.p);
    assert_str(name, "bob");
}

static void test_registry(void **state)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    assert_str(win_norm_regkey(&a, VG_STR_LIT("HKLM\\SOFTWARE\\Run")), "HKEY_LOCAL_MACHINE\\SOFTWARE\\Run");
    assert_str(win_norm_regkey(&a, VG_STR_LIT("HKU\\S-1-5-18\\x")), "HKEY_USERS\\S-1-5-18\\x");
    assert_str(win_norm_regkey(&a, VG_STR_LIT("hkcr\\.exe")), "HKEY_CLASSES_ROOT\\.exe");
    assert_str(win_norm_regkey(&a, VG_STR_LIT("HKCU")), "HKEY_CURRENT_USER");
    assert_str(win_norm_regkey(&a, VG_STR_LIT("\\REGISTRY\\MACHINE\\SYSTEM")), "HKEY_LOCAL_MACHINE\\SYSTEM");
    /* not a hive abbreviation: untouched */
    assert_str(win_norm_regkey(&a, VG_STR_LIT("HKLMX\\a")), "HKLMX\\a");
    assert_str(win_norm_regkey(&a, VG_STR_LIT("HKEY_LOCAL_MACHINE\\a")), "HKEY_LOCAL_MACHINE\\a");
    const char *type;
    vg_str data;
    win_reg_details(&a, VG_STR_LIT("DWORD (0x00000004)"), &type, &data);
    assert_string_equal(type, "Dword");
    assert_str(data, "4");
    win_reg_details(&a, VG_STR_LIT("QWORD (0x00000001-0x00000002)"), &type, &data);
    assert_string_equal(type, "Qword");
    assert_str(data, "4294967298");
    win_reg_details(&a, VG_STR_LIT("Binary Data"), &type, &data);
    assert_string_equal(type, "Binary");
    assert_null(data.p);
    win_reg_details(&a, VG_STR_LIT("(Empty)"), &type, &data);
    assert_null(type);
    assert_str(data, "");
    win_reg_details(&a, VG_STR_LIT("C:\\x.exe"), &type, &data);
    assert_null(type);
    assert_str(data, "C:\\x.exe");
    win_reg_details(&a, VG_STR_LIT("DWORD (junk)"), &type, &data);
    assert_null(type);
    vg_arena_free(&a);
}

static void test_ip_logon(void **state)
{
    assert_string_equal(win_ip_type(VG_STR_LIT("10.0.0.1")), "Private");
    assert_string_equal(win_ip_type(VG_STR_LIT("172.31.1.1")), "Private");
    assert_string_equal(win_ip_type(VG_STR_LIT("172.32.1.1")), "Public");
    assert_string_equal(win_ip_type(VG_STR_LIT("127.0.0.1")), "Loopback");
    assert_string_equal(win_ip_type(VG_STR_LIT("169.254.3.4")), "LinkLocal");
    assert_string_equal(win_ip_type(VG_STR_LIT("224.0.0.251")), "Multicast");
    assert_string_equal(win_ip_type(VG_STR_LIT("255.255.255.255")), "Broadcast");
    assert_string_equal(win_ip_type(VG_STR_LIT("8.8.8.8")), "Public");
    assert_string_equal(win_ip_type(VG_STR_LIT("::1")), "Loopback");
    assert_string_equal(win_ip_type(VG_STR_LIT("fe80::1%12")), "LinkLocal");
    assert_string_equal(win_ip_type(VG_STR_LIT("fd00::5")), "Private");
    assert_string_equal(win_ip_type(VG_STR_LIT("::ffff:1.2.3.4")), "FourToSixMapping");
    assert_string_equal(win_ip_type(VG_STR_LIT("2001:db8::1")), "Public");
    assert_null(win_ip_type(VG_STR_LIT("-")));
    assert_null(win_ip_type(VG_STR_LIT("not-an-ip")));
    assert_str(win_norm_ip(VG_STR_LIT("::ffff:10.1.2.3")), "10.1.2.3");
    assert_str(win_norm_ip(VG_STR_LIT("::ffff:abcd")), "::ffff:abcd");
    assert_null(win_norm_ip(VG_STR_LIT(" - ")).p);
    assert_string_equal(win_logon_type_name(VG_STR_LIT("10")), "RemoteInteractive");
    assert_string_equal(win_logon_type_name(VG_STR_LIT("3")), "Network");
    assert_null(win_logon_type_name(VG_STR_LIT("6")));
    assert_null(win_logon_type_name(VG_STR_LIT("99")));
    assert_null(win_logon_type_name(VG_STR_LIT("x")));
    assert_string_equal(win_integrity_name(VG_STR_LIT("S-1-16-12288")), "High");
    assert_null(win_integrity_name(VG_STR_LIT("S-1-5-18")));
}

static void test_normalize(void **state)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    assert_str(win_strip_guid_braces(VG_STR_LIT("{5770385F-C22A-43E0-BF4C-06F5698FFBD9}")),
               "5770385F-C22A-43E0-BF4C-06F5698FFBD9");
    assert_str(win_strip_guid_braces(VG_STR_LIT("{not-a-guid-but-38-characters-long-xx}")),
               "{not-a-guid-but-38-characters-long-xx}");
    assert_str(win_norm_hex(&a, VG_STR_LIT("0x001fffff")), "0x1fffff");
    assert_str(win_norm_hex(&a, VG_STR_LIT("0x0000000000000000")), "0x0");
    assert_str(win_norm_hex(&a, VG_STR_LIT("0x8000000000000000")), "0x8000000000000000");
    assert_str(win_norm_hex(&a, VG_STR_LIT("0x00zz")), "0x00zz");
    vg_time t1, t2;
    assert_str(win_norm_systime(&a, VG_STR_LIT("2026-07-02T02:05:27.438557600Z"), &t1),
               "2026-07-02T02:05:27.438557Z");
    assert_str(win_norm_systime(&a, VG_STR_LIT("2026-07-02T02:05:27.438557Z"), &t2),
               "2026-07-02T02:05:27.438557Z");
    assert_int_equal(t1, t2);
    assert_str(win_norm_systime(&a, VG_STR_LIT("garbage"), NULL), "garbage");

    win_event ev;
    win_event_init(&ev, &a);
    ev.event_id = VG_STR_LIT(" 7 ");
    ev.provider_guid = VG_STR_LIT("{5770385F-C22A-43E0-BF4C-06F5698FFBD9}");
    assert_int_equal(win_event_add(&ev, VG_STR_LIT("CommandLine"), VG_STR_LIT("\"cmd.exe\" "), NULL), VG_OK);
    assert_int_equal(win_event_add(&ev, VG_STR_LIT("GrantedAccess"), VG_STR_LIT("0x001fffff"), NULL), VG_OK);
    assert_int_equal(win_event_add(&ev, VG_STR_LIT("Empty"), VG_STR_NULL, NULL), VG_OK);
    assert_int_equal(win_event_add(&ev, VG_STR_LIT(""), VG_STR_LIT("x"), NULL), VG_EPARSE);
    win_event_normalize(&ev);
    assert_str(ev.event_id, "7");
    assert_str(ev.provider_guid, "5770385F-C22A-43E0-BF4C-06F5698FFBD9");
    assert_str(win_event_get(&ev, "CommandLine"), "\"cmd.exe\"");
    assert_str(win_event_get(&ev, "GrantedAccess"), "0x1fffff");
    assert_str(win_event_get(&ev, "Empty"), "");
    assert_null(win_event_get(&ev, "Missing").p);
    vg_arena_free(&a);
}

static void test_raw_record(void **state)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    win_event ev;
    win_event_init(&ev, &a);
    ev.event_id = VG_STR_LIT("4624");
    ev.channel = VG_STR_LIT("Security");
    ev.record_id = VG_STR_LIT("0012"); /* not a plain number: stays a string */
    ev.version = VG_STR_LIT("2");
    win_event_add(&ev, VG_STR_LIT("A"), VG_STR_LIT("1"), NULL);
    win_event_add(&ev, VG_STR_LIT("B"), VG_STR_LIT("x\"y"), NULL);
    win_event_add(&ev, VG_STR_LIT("A"), VG_STR_LIT("2"), NULL);
    win_event_add(&ev, VG_STR_LIT("Version"), VG_STR_LIT("data wins"), NULL);
    vg_buf b;
    vg_buf_init(&b, 0);
    win_raw_json(&ev, &b);
    assert_string_equal(vg_buf_cstr(&b),
                        "{\"A\":[\"1\",\"2\"],\"B\":\"x\\\"y\",\"Version\":\"data wins\","
                        "\"EventID\":4624,\"Channel\":\"Security\",\"EventRecordID\":\"0012\"}");
    vg_buf_clear(&b);
    win_data_json(&ev, &b);
    assert_string_equal(vg_buf_cstr(&b),
                        "{\"A\":[\"1\",\"2\"],\"B\":\"x\\\"y\",\"Version\":\"data wins\"}");
    vg_buf_free(&b);
    /* the per-event limit */
    for (int i = 0; i < WIN_MAX_DATA; i++)
        win_event_add(&ev, VG_STR_LIT("k"), VG_STR_LIT("v"), NULL);
    vg_diag d;
    assert_int_equal(win_event_add(&ev, VG_STR_LIT("k"), VG_STR_LIT("v"), &d), VG_ELIMIT);
    vg_arena_free(&a);
}

/* Maps one synthetic event of every table entry: no column may be unknown. */
static vg_err drop_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    (*(int *)ctx) += (int)b->nrows;
    return VG_OK;
}

static void map_all(const win_mapping *m, size_t n, const char *provider)
{
    static const char *fields[] = {
        "UtcTime", "Image", "ProcessId", "User", "CommandLine", "Hashes", "Hash", "ParentImage",
        "ParentProcessId", "ParentCommandLine", "ParentUser", "ImageLoaded", "TargetFilename",
        "TargetObject", "Details", "NewName", "SourceImage", "TargetImage", "SourceProcessId",
        "TargetProcessId", "SourceUser", "TargetUser", "GrantedAccess", "PipeName", "QueryName",
        "QueryStatus", "QueryResults", "SourceIp", "DestinationIp", "SourcePort",
        "DestinationPort", "Protocol", "DestinationHostname", "Contents", "Type", "TargetUserName",
        "TargetDomainName", "TargetUserSid", "TargetSid", "SubjectUserName", "SubjectDomainName",
        "SubjectUserSid", "SubjectLogonId", "TargetLogonId", "LogonType", "IpAddress", "IpPort",
        "WorkstationName", "Workstation", "ProcessName", "NewProcessName", "NewProcessId",
        "ParentProcessName", "MandatoryLabel", "TokenElevationType", "Status", "SubStatus",
        "ServiceName", "MemberName", "MemberSid", "PrivilegeList", "UserPrincipalName",
        "DisplayName", "IntegrityLevel", "Company", "Product", "FileVersion", "Description",
        "OriginalFileName", "TerminalSessionId", "LogonId", "EventType", "TargetServerName",
    };
    static const char *values[] = { "10.0.0.1", "C:\\a\\b.exe", "0x10", "DOM\\user", "CN=x,DC=y",
                                    "HKLM\\SOFTWARE\\x", "DWORD (0x00000001)", "2025-01-01 00:00:00.000",
                                    "MD5=7353F60B1739074EB17C5F4DDDEFE239", "%%1937", "S-1-16-8192",
                                    "0xc000006a", "3" };
    for (size_t i = 0; i < n; i++) {
        vg_arena a;
        vg_arena_init(&a, 0, 0);
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
            win_event ev;
            win_event_init(&ev, &a);
            char id[16];
            snprintf(id, sizeof id, "%d", m[i].event_id);
            ev.event_id = vg_str_dup(&a, vg_str_c(id));
            ev.provider = vg_str_c(provider);
            ev.computer = VG_STR_LIT("host");
            ev.record_id = VG_STR_LIT("1");
            ev.time_created = VG_STR_LIT("2025-01-01T00:00:00Z");
            for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
                assert_int_equal(win_event_add(&ev, vg_str_c(fields[f]), vg_str_c(values[v]), NULL), VG_OK);
            int rows = 0;
            vg_batchset set;
            vg_ingest_opts o = { .format = VG_FMT_EVTX_JSON, .keep_raw = true };
            vg_diag d;
            assert_int_equal(vg_batchset_init(&set, 4, drop_sink, &rows), VG_OK);
            assert_int_equal(win_map_event(&set, &o, &ev, &d), VG_OK);
            assert_int_equal(vg_batchset_flush(&set, &d), VG_OK);
            assert_int_equal(rows, 1);
            vg_batchset_free(&set);
        }
        vg_arena_free(&a);
        assert_non_null(vg_schema_table(vg_str_c(m[i].table)));
    }
}

static void test_tables_name_real_columns(void **state)
{
    win_map_unknown_cols = 0;
    map_all(win_sysmon_map, win_sysmon_nmap, "Microsoft-Windows-Sysmon");
    map_all(win_security_map, win_security_nmap, "Microsoft-Windows-Security-Auditing");
    assert_int_equal(win_map_unknown_cols, 0);
    /* and the generic table */
    assert_non_null(vg_schema_table(VG_STR_LIT("WindowsEvent")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_paths_accounts),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_ip_logon),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_raw_record),
        cmocka_unit_test(test_tables_name_real_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
