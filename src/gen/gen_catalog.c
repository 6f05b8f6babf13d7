/*
 * gen_catalog.c - the static world the generator draws from: Windows and
 * application binaries with real folders and version info, DLLs, network
 * destinations of common services, registry keys, names.
 *
 * Everything here is plain (unescaped) text; gen.c escapes it once at open.
 * Hashes are not listed: they are derived from the name and folder, so they
 * are stable for a binary across runs and seeds.
 */
#include "gen_int.h"

#define WIN "C:\\Windows"
#define SYS32 "C:\\Windows\\System32"
#define OSPROD "Microsoft\xc2\xae Windows\xc2\xae Operating System"
#define OSVER "10.0.19041.3636"
#define MSC "Microsoft Corporation"
#define OFFICE "C:\\Program Files\\Microsoft Office\\root\\Office16"
#define OFFVER "16.0.17126.20132"
#define DEFENDER "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.23110.3-0"
#define SENSE "C:\\Program Files\\Windows Defender Advanced Threat Protection"

#define OSBIN(n, dir, desc, orig, size) { n, dir, MSC, OSPROD, OSVER, desc, orig, size, GB_OS }

const gen_bin_def gen_bins[B_COUNT_] = {
    [B_SYSTEM_IDLE] = OSBIN("System", "", "NT Kernel & System", "ntoskrnl.exe", 0),
    [B_SMSS] = OSBIN("smss.exe", SYS32, "Windows Session Manager", "smss.exe", 155648),
    [B_WININIT] = OSBIN("wininit.exe", SYS32, "Windows Start-Up Application", "wininit.exe", 450560),
    [B_WINLOGON] = OSBIN("winlogon.exe", SYS32, "Windows Logon Application", "WINLOGON.EXE", 905216),
    [B_SERVICES] = OSBIN("services.exe", SYS32, "Services and Controller app", "services.exe", 710144),
    [B_LSASS] = OSBIN("lsass.exe", SYS32, "Local Security Authority Process", "lsass.exe", 59456),
    [B_SVCHOST] = OSBIN("svchost.exe", SYS32, "Host Process for Windows Services", "svchost.exe", 55320),
    [B_USERINIT] = OSBIN("userinit.exe", SYS32, "Userinit Logon Application", "USERINIT.EXE", 34816),
    [B_EXPLORER] = OSBIN("explorer.exe", WIN, "Windows Explorer", "EXPLORER.EXE", 5457872),
    [B_CMD] = OSBIN("cmd.exe", SYS32, "Windows Command Processor", "Cmd.Exe", 289792),
    [B_POWERSHELL] = OSBIN("powershell.exe", SYS32 "\\WindowsPowerShell\\v1.0", "Windows PowerShell",
                           "PowerShell.EXE", 452608),
    [B_CONHOST] = OSBIN("conhost.exe", SYS32, "Console Window Host", "CONHOST.EXE", 883712),
    [B_WHOAMI] = OSBIN("whoami.exe", SYS32, "whoami - displays logged on user information",
                       "whoami.exe", 73728),
    [B_IPCONFIG] = OSBIN("ipconfig.exe", SYS32, "IP Configuration Utility", "ipconfig.exe", 35840),
    [B_PING] = OSBIN("PING.EXE", SYS32, "TCP/IP Ping Command", "ping.exe", 20480),
    [B_NET] = OSBIN("net.exe", SYS32, "Net Command", "net.exe", 57344),
    [B_NET1] = OSBIN("net1.exe", SYS32, "Net Command", "net1.exe", 176128),
    [B_TASKLIST] = OSBIN("tasklist.exe", SYS32, "Lists the current running tasks", "tasklist.exe", 86528),
    [B_FINDSTR] = OSBIN("findstr.exe", SYS32, "Find String (QGREP) Utility", "findstr.exe", 36352),
    [B_REG] = OSBIN("reg.exe", SYS32, "Registry Console Tool", "reg.exe", 73728),
    [B_SCHTASKS] = OSBIN("schtasks.exe", SYS32, "Task Scheduler Configuration Tool", "schtasks.exe",
                         235008),
    [B_SC] = OSBIN("sc.exe", SYS32, "Service Control Manager Configuration Tool", "sc.exe", 69632),
    [B_TASKHOSTW] = OSBIN("taskhostw.exe", SYS32, "Host Process for Windows Tasks", "taskhostw.exe",
                          99280),
    [B_WMIPRVSE] = OSBIN("WmiPrvSE.exe", SYS32 "\\wbem", "WMI Provider Host", "Wmiprvse.exe", 496640),
    [B_RUNDLL32] = OSBIN("rundll32.exe", SYS32, "Windows host process (Rundll32)", "RUNDLL32.EXE",
                         71680),
    [B_CERTUTIL] = OSBIN("certutil.exe", SYS32, "CertUtil.exe", "CertUtil.exe", 1443840),
    [B_NOTEPAD] = OSBIN("notepad.exe", SYS32, "Notepad", "NOTEPAD.EXE", 201216),
    [B_SEARCHPROT] = OSBIN("SearchProtocolHost.exe", SYS32,
                           "Microsoft Windows Search Protocol Host", "SearchProtocolHost.exe", 425984),
    [B_RUNTIMEBROKER] = OSBIN("RuntimeBroker.exe", SYS32, "Runtime Broker", "RuntimeBroker.exe", 142136),
    [B_DLLHOST] = OSBIN("dllhost.exe", SYS32, "COM Surrogate", "dllhost.exe", 21312),
    [B_WUAUCLT] = OSBIN("wuauclt.exe", SYS32, "Windows Update", "wuauclt.exe", 145920),
    [B_TIWORKER] = OSBIN("TiWorker.exe",
                         WIN "\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_"
                             "10.0.19041.3570_none_7e1f8b1f0b3a2c8a",
                         "Windows Modules Installer Worker", "TiWorker.exe", 289896),
    [B_MSMPENG] = { "MsMpEng.exe", DEFENDER, MSC, "Microsoft\xc2\xae Windows\xc2\xae Operating System",
                    "4.18.23110.3", "Antimalware Service Executable", "MsMpEng.exe", 133464, GB_MS },
    [B_MPCMDRUN] = { "MpCmdRun.exe", DEFENDER, MSC, "Microsoft\xc2\xae Windows\xc2\xae Operating System",
                     "4.18.23110.3", "Microsoft Malware Protection Command Line Utility",
                     "MpCmdRun.exe", 1626848, GB_MS },
    [B_MSSENSE] = { "MsSense.exe", SENSE, MSC, OSPROD, "10.8560.25858.1016",
                    "Windows Defender Advanced Threat Protection Service Executable", "MsSense.exe",
                    4286504, GB_MS },
    [B_SENSECNCPROXY] = { "SenseCncProxy.exe", SENSE, MSC, OSPROD, "10.8560.25858.1016",
                          "SenseCncProxy", "SenseCncProxy.exe", 1093672, GB_MS },
    [B_GPUPDATE] = OSBIN("gpupdate.exe", SYS32, "Microsoft\xc2\xae Windows\xc2\xae Group Policy Update Utility",
                         "GPUpdate.exe", 28160),
    [B_MSIEXEC] = OSBIN("msiexec.exe", SYS32, "Windows\xc2\xae installer", "msiexec.exe", 66560),
    [B_MSHTA] = OSBIN("mshta.exe", SYS32, "Microsoft (R) HTML Application host", "MSHTA.EXE", 43520),
    [B_NLTEST] = OSBIN("nltest.exe", SYS32, "Microsoft\xc2\xae Logon Server Test Utility", "nltestrk.exe",
                       502784),
    [B_SYSTEMINFO] = OSBIN("systeminfo.exe", SYS32, "Displays system information", "sysinfo.exe",
                           91648),
    [B_CHROME] = { "chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application", "Google LLC",
                   "Google Chrome", "120.0.6099.130", "Google Chrome", "chrome.exe", 2772504, GB_APP },
    [B_MSEDGE] = { "msedge.exe", "C:\\Program Files (x86)\\Microsoft\\Edge\\Application", MSC,
                   "Microsoft Edge", "120.0.2210.91", "Microsoft Edge", "msedge.exe", 4016576, GB_MS },
    [B_WINWORD] = { "WINWORD.EXE", OFFICE, MSC, "Microsoft Office", OFFVER, "Microsoft Word",
                    "WinWord.exe", 1637264, GB_MS },
    [B_EXCEL] = { "EXCEL.EXE", OFFICE, MSC, "Microsoft Office", OFFVER, "Microsoft Excel",
                  "Excel.exe", 67017104, GB_MS },
    [B_OUTLOOK] = { "OUTLOOK.EXE", OFFICE, MSC, "Microsoft Outlook", OFFVER, "Microsoft Outlook",
                    "Outlook.exe", 43130752, GB_MS },
    [B_TEAMS] = { "Teams.exe", "AppData\\Local\\Microsoft\\Teams\\current", MSC, "Microsoft Teams",
                  "1.6.0.33567", "Microsoft Teams", "Teams.exe", 137779568, GB_PROFILE },
    [B_ONEDRIVE] = { "OneDrive.exe", "AppData\\Local\\Microsoft\\OneDrive", MSC,
                     "Microsoft OneDrive", "23.246.1127.0002", "Microsoft OneDrive", "OneDrive.exe",
                     3321216, GB_PROFILE },
    [B_VSCODE] = { "Code.exe", "AppData\\Local\\Programs\\Microsoft VS Code", MSC,
                   "Visual Studio Code", "1.85.1", "Visual Studio Code", "electron.exe", 157718368,
                   GB_PROFILE },
    [B_GIT] = { "git.exe", "C:\\Program Files\\Git\\mingw64\\bin", "The Git Development Community",
                "Git", "2.43.0.windows.1", "Git for Windows", "git.exe", 3825120, GB_APP },
    [B_PYTHON] = { "python.exe", "C:\\Program Files\\Python311", "Python Software Foundation",
                   "Python", "3.11.7", "Python", "python.exe", 103192, GB_APP },
    [B_PROCDUMP] = { "procdump64.exe", "C:\\Users\\Public", "Sysinternals - www.sysinternals.com",
                     "ProcDump", "10.11", "Sysinternals process dump utility", "procdump",
                     424856, GB_APP },
    [B_PAYLOAD] = { "upd.exe", "C:\\Users\\Public", "", "", "", "", "", 73802, GB_UNSIGNED },
};

#define DLL(n, dir, desc, size) { n, dir, MSC, OSPROD, OSVER, desc, n, size, GB_OS }
#define NET4 "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319"

const gen_bin_def gen_dlls[D_COUNT_] = {
    [D_NTDLL] = DLL("ntdll.dll", SYS32, "NT Layer DLL", 2028432),
    [D_KERNEL32] = DLL("kernel32.dll", SYS32, "Windows NT BASE API Client DLL", 774240),
    [D_KERNELBASE] = DLL("KernelBase.dll", SYS32, "Windows NT BASE API Client DLL", 2999152),
    [D_USER32] = DLL("user32.dll", SYS32, "Multi-User Windows USER API Client DLL", 1703504),
    [D_ADVAPI32] = DLL("advapi32.dll", SYS32, "Advanced Windows 32 Base API", 655208),
    [D_WS2_32] = DLL("ws2_32.dll", SYS32, "Windows Socket 2.0 32-Bit DLL", 435472),
    [D_CRYPT32] = DLL("crypt32.dll", SYS32, "Crypto API32", 1441568),
    [D_WININET] = DLL("wininet.dll", SYS32, "Internet Extensions for Win32", 4857856),
    [D_WINHTTP] = DLL("winhttp.dll", SYS32, "Windows HTTP Services", 1064960),
    [D_AMSI] = DLL("amsi.dll", SYS32, "Anti-Malware Scan Interface", 98304),
    [D_CLR] = { "clr.dll", NET4, MSC, "Microsoft\xc2\xae .NET Framework", "4.8.4690.0",
                "Microsoft .NET Runtime Common Language Runtime - WorkStation", "clr.dll", 10518448,
                GB_OS },
    [D_SMA] = { "System.Management.Automation.ni.dll",
                "C:\\Windows\\assembly\\NativeImages_v4.0.30319_64\\System.Manaa57fc8cc#\\"
                "0a1ed1d3b6b1a2d6c9b3cf0bd1e8e6c4",
                MSC, "Microsoft (R) Windows (R) Operating System", "10.0.19041.3636",
                "System.Management.Automation", "System.Management.Automation.dll", 33213952, GB_OS },
    [D_DBGHELP] = DLL("dbghelp.dll", SYS32, "Windows Image Helper", 1875456),
    [D_COMSVCS] = DLL("comsvcs.dll", SYS32, "COM+ Services", 2256896),
    [D_VAULTCLI] = DLL("vaultcli.dll", SYS32, "Credential Vault Client Library", 413696),
    [D_SAMLIB] = DLL("samlib.dll", SYS32, "SAM Library DLL", 122880),
    [D_MSO] = { "mso.dll", "C:\\Program Files\\Common Files\\Microsoft Shared\\Office16", MSC,
                "Microsoft Office", OFFVER, "Microsoft Office component", "mso.dll", 12204912, GB_MS },
    [D_VBE7] = { "VBE7.DLL", "C:\\Program Files\\Common Files\\Microsoft Shared\\VBA\\VBA7.1", MSC,
                 "Microsoft Visual Basic for Applications", "7.1.11.16", "Visual Basic for Applications",
                 "VBE7.DLL", 3624064, GB_MS },
    [D_RICHED20] = { "RICHED20.DLL", "C:\\Program Files\\Common Files\\Microsoft Shared\\Office16",
                     MSC, "Microsoft Office", OFFVER, "Rich Text Edit Control, v8.0", "RICHED20.DLL",
                     2802080, GB_MS },
    [D_CHROME_ELF] = { "chrome_elf.dll",
                       "C:\\Program Files\\Google\\Chrome\\Application\\120.0.6099.130",
                       "Google LLC", "Google Chrome", "120.0.6099.130", "Google Chrome",
                       "chrome_elf.dll", 1284376, GB_APP },
    [D_MSEDGE_DLL] = { "msedge.dll",
                       "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\120.0.2210.91", MSC,
                       "Microsoft Edge", "120.0.2210.91", "Microsoft Edge", "msedge.dll",
                       195456920, GB_MS },
    [D_MPCLIENT] = { "MpClient.dll", DEFENDER, MSC, OSPROD, "4.18.23110.3", "Client Interface",
                     "MpClient.dll", 1453952, GB_MS },
    [D_WLDAP32] = DLL("wldap32.dll", SYS32, "Win32 LDAP API DLL", 421888),
    [D_DNSAPI] = DLL("dnsapi.dll", SYS32, "DNS Client API DLL", 795648),
};

const gen_dest gen_dest_web[] = {
    { "www.google.com", "142.250.185.100", 443 },
    { "www.bing.com", "204.79.197.200", 443 },
    { "www.wikipedia.org", "185.15.59.224", 443 },
    { "github.com", "140.82.121.4", 443 },
    { "stackoverflow.com", "151.101.1.69", 443 },
    { "www.youtube.com", "142.250.186.46", 443 },
    { "fonts.gstatic.com", "142.250.185.67", 443 },
    { "www.linkedin.com", "13.107.42.14", 443 },
    { "contoso.sharepoint.com", "13.107.136.9", 443 },
    { "edge.microsoft.com", "13.107.21.239", 443 },
    { "update.googleapis.com", "142.250.184.227", 443 },
    { "www.nytimes.com", "151.101.193.164", 443 },
    { "cdn.jsdelivr.net", "151.101.65.229", 443 },
    { "docs.python.org", "151.101.0.223", 443 },
    { NULL, NULL, 0 },
};

const gen_dest gen_dest_office[] = {
    { "outlook.office365.com", "52.97.146.178", 443 },
    { "login.microsoftonline.com", "20.190.160.20", 443 },
    { "teams.microsoft.com", "52.113.194.132", 443 },
    { "officeclient.microsoft.com", "52.109.8.19", 443 },
    { "contoso-my.sharepoint.com", "13.107.136.10", 443 },
    { "substrate.office.com", "52.96.88.98", 443 },
    { "nexus.officeapps.live.com", "52.109.20.48", 443 },
    { NULL, NULL, 0 },
};

const gen_dest gen_dest_ms[] = {
    { "settings-win.data.microsoft.com", "20.42.73.26", 443 },
    { "v10.events.data.microsoft.com", "20.189.173.1", 443 },
    { "ctldl.windowsupdate.com", "93.184.221.240", 80 },
    { "fe3cr.delivery.mp.microsoft.com", "20.72.235.82", 443 },
    { "login.live.com", "20.190.159.4", 443 },
    { "time.windows.com", "168.61.215.74", 123 },
    { "", "10.0.0.10", 389 },
    { "", "10.0.0.10", 88 },
    { "", "10.0.0.10", 445 },
    { "", "10.0.0.53", 53 },
    { NULL, NULL, 0 },
};

const gen_dest gen_dest_sense[] = {
    { "winatp-gw-weu.microsoft.com", "20.50.201.195", 443 },
    { "events.data.microsoft.com", "20.42.65.92", 443 },
    { "wdcp.microsoft.com", "20.54.24.148", 443 },
    { "x.cp.wd.microsoft.com", "20.69.137.228", 443 },
    { NULL, NULL, 0 },
};

const gen_dest gen_dest_dev[] = {
    { "github.com", "140.82.121.3", 443 },
    { "pypi.org", "151.101.64.223", 443 },
    { "files.pythonhosted.org", "151.101.128.223", 443 },
    { "registry.npmjs.org", "104.16.24.35", 443 },
    { "marketplace.visualstudio.com", "13.107.42.18", 443 },
    { NULL, NULL, 0 },
};

const gen_dest gen_dest_bad[] = {
    { "update-check.duckdns.org", "185.220.101.47", 80 },
    { "cdn-static-files.top", "45.137.21.9", 443 },
    { "", "91.215.85.142", 8443 },
    { NULL, NULL, 0 },
};

const gen_regkey gen_reg_system[] = {
    { "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\bam\\State\\UserSettings", "", "Binary",
      "" },
    { "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Orchestrator",
      "LastScanTime", "String", "2023-12-20T08:15:02Z" },
    { "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates",
      "SignaturesLastUpdated", "Binary", "" },
    { "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces",
      "DhcpIPAddress", "String", "" },
    { "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache\\Tree",
      "Index", "Dword", "3" },
    { "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\WMI\\Autologger\\EventLog-System",
      "Start", "Dword", "1" },
    { NULL, NULL, NULL, NULL },
};

const gen_regkey gen_reg_user[] = {
    { "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs",
      "MRUListEx", "Binary", "" },
    { "HKEY_CURRENT_USER\\Software\\Microsoft\\Office\\16.0\\Word\\Reading Locations\\Document 0",
      "Position", "String", "0 0" },
    { "HKEY_CURRENT_USER\\Software\\Microsoft\\Office\\16.0\\Common\\Roaming\\Identities",
      "LastSwitchedIdentity", "String", "" },
    { "HKEY_CURRENT_USER\\Software\\Microsoft\\OneDrive\\Accounts\\Business1", "LastSignInTime",
      "Qword", "1703061302" },
    { "HKEY_CURRENT_USER\\Software\\Google\\Chrome\\PreferenceMACs\\Default", "homepage", "String",
      "" },
    { "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\UserAssist",
      "Count", "Binary", "" },
    { NULL, NULL, NULL, NULL },
};

const char *const gen_first_names[] = {
    "james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david",
    "elizabeth", "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah",
    "charles", "karen", "daniel", "nancy", "matthew", "lisa", "anthony", "betty", "mark", "sandra",
    "ahmed", "fatima", "wei", "yuki", "olga", "pierre", "sofia", "lars", "priya", "diego", NULL,
};

const char *const gen_last_names[] = {
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
    "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
    "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "clark", "lewis",
    "nguyen", "kim", "muller", "rossi", "dubois", "silva", "kowalski", "jensen", "sato", NULL,
};

const char *const gen_svchost_groups[] = {
    "-k netsvcs -p -s Schedule", "-k netsvcs -p -s wuauserv", "-k LocalServiceNetworkRestricted -p",
    "-k NetworkService -p -s Dnscache", "-k DcomLaunch -p", "-k netsvcs -p -s BITS",
    "-k LocalSystemNetworkRestricted -p -s SysMain", "-k netsvcs -p -s gpsvc",
    "-k UnistackSvcGroup", "-k wsappx -p -s AppXSvc", NULL,
};

const char *const gen_doc_names[] = {
    "Q4 Budget.xlsx", "Project Plan.docx", "meeting-notes.txt", "Invoice_2023_118.pdf",
    "roadmap.pptx", "report-final.docx", "customers.csv", "travel expenses.xlsx",
    "architecture.vsdx", "README.md", NULL,
};

const char *const gen_hosts_internal[] = {
    "fs01.contoso.com", "dc01.contoso.com", "print01.contoso.com", "sql01.contoso.com",
    "jump01.contoso.com", NULL,
};

size_t gen_count_dests(const gen_dest *d)
{
    size_t n = 0;
    while (d[n].ip)
        n++;
    return n;
}

size_t gen_count_strs(const char *const *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t gen_count_regs(const gen_regkey *r)
{
    size_t n = 0;
    while (r[n].key)
        n++;
    return n;
}
