/*
 * gen_int.h - private types of the telemetry generator (src/gen only).
 *
 * The catalog (gen_catalog.c) holds the static world: binaries with their
 * folders and version info, DLLs, network destinations, registry keys, user
 * names. gen.c turns it into per-run state (hashes, JSON-escaped strings,
 * devices, accounts) and writes rows. Every string the row writers copy is
 * stored already JSON-escaped (a gs), so that writing a row is mostly memcpy.
 */
#ifndef VG_GEN_INT_H
#define VG_GEN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vg_gen.h"

/* A JSON-escaped string (without quotes). */
typedef struct gs {
    const char *p;
    uint32_t n;
} gs;

/* How a binary lives on disk. */
enum {
    GB_OS,        /* Windows component, signed by the OS vendor */
    GB_MS,        /* Microsoft product outside Windows (Office, Edge, Defender) */
    GB_APP,       /* third-party, signed */
    GB_PROFILE,   /* per-user install: dir is relative to C:\Users\<user> */
    GB_UNSIGNED,  /* no version info, unsigned (payloads) */
};

typedef struct gen_bin_def {
    const char *name;       /* FileName */
    const char *dir;        /* folder without the trailing backslash */
    const char *company;
    const char *product;
    const char *version;
    const char *desc;
    const char *orig;       /* OriginalFileName / InternalFileName */
    uint32_t size;
    uint8_t kind;           /* GB_* */
} gen_bin_def;

/* Binaries by role; the catalog array is indexed by these. */
enum {
    B_SYSTEM_IDLE, B_SMSS, B_WININIT, B_WINLOGON, B_SERVICES, B_LSASS, B_SVCHOST, B_USERINIT,
    B_EXPLORER, B_CMD, B_POWERSHELL, B_CONHOST, B_WHOAMI, B_IPCONFIG, B_PING, B_NET, B_NET1,
    B_TASKLIST, B_FINDSTR, B_REG, B_SCHTASKS, B_SC, B_TASKHOSTW, B_WMIPRVSE, B_RUNDLL32,
    B_CERTUTIL, B_NOTEPAD, B_SEARCHPROT, B_RUNTIMEBROKER, B_DLLHOST, B_WUAUCLT, B_TIWORKER,
    B_MSMPENG, B_MPCMDRUN, B_MSSENSE, B_SENSECNCPROXY, B_GPUPDATE, B_MSIEXEC, B_MSHTA,
    B_NLTEST, B_SYSTEMINFO, B_CHROME, B_MSEDGE, B_WINWORD, B_EXCEL, B_OUTLOOK, B_TEAMS,
    B_ONEDRIVE, B_VSCODE, B_GIT, B_PYTHON, B_PROCDUMP, B_PAYLOAD,
    B_COUNT_
};

/* DLLs for image loads. */
enum {
    D_NTDLL, D_KERNEL32, D_KERNELBASE, D_USER32, D_ADVAPI32, D_WS2_32, D_CRYPT32, D_WININET,
    D_WINHTTP, D_AMSI, D_CLR, D_SMA, D_DBGHELP, D_COMSVCS, D_VAULTCLI, D_SAMLIB, D_MSO,
    D_VBE7, D_RICHED20, D_CHROME_ELF, D_MSEDGE_DLL, D_MPCLIENT, D_WLDAP32, D_DNSAPI,
    D_COUNT_
};

typedef struct gen_dest {
    const char *url;        /* RemoteUrl ("" for none) */
    const char *ip;         /* RemoteIP */
    uint16_t port;
} gen_dest;

typedef struct gen_regkey {
    const char *key;        /* RegistryKey */
    const char *value;      /* RegistryValueName */
    const char *type;       /* RegistryValueType */
    const char *data;       /* RegistryValueData */
} gen_regkey;

extern const gen_bin_def gen_bins[B_COUNT_];
extern const gen_bin_def gen_dlls[D_COUNT_];

/* Destinations by service, each list terminated by a zero entry. */
extern const gen_dest gen_dest_web[];       /* browsers */
extern const gen_dest gen_dest_office[];    /* Office, Teams, OneDrive */
extern const gen_dest gen_dest_ms[];        /* Windows services */
extern const gen_dest gen_dest_sense[];     /* Defender for Endpoint */
extern const gen_dest gen_dest_dev[];       /* git, python */
extern const gen_dest gen_dest_bad[];       /* the needles */
extern const gen_regkey gen_reg_system[];   /* written by services */
extern const gen_regkey gen_reg_user[];     /* written by user apps */
extern const char *const gen_first_names[];
extern const char *const gen_last_names[];
extern const char *const gen_svchost_groups[];  /* "-k netsvcs -p -s Schedule" */
extern const char *const gen_doc_names[];       /* user documents */
extern const char *const gen_hosts_internal[];  /* other machines on the LAN */
extern size_t gen_count_dests(const gen_dest *d);
extern size_t gen_count_strs(const char *const *s);
extern size_t gen_count_regs(const gen_regkey *r);

/* ---- run state (gen.c, gen_episodes.c) ---- */

#include "../core/vg_arena.h"
#include "../core/vg_str.h"

#define GEN_ROW_MAX 16384      /* bytes one row may take (checked) */
#define GEN_MAX_TEXT 1024      /* bytes of one formatted command line or path */
#define GEN_SCRATCH 32768      /* escaped strings of one episode */
#define GEN_SVCHOSTS 8         /* long-lived svchost.exe instances per device */

enum { GI_SYSTEM, GI_HIGH, GI_MEDIUM, GI_LOW };

/* A binary with its derived, escaped strings. */
typedef struct gbin {
    const gen_bin_def *d;
    gs name, dir, path, company, product, version, desc, orig, signer, sigstatus;
    gs sha1s, sha256s, md5s;
    char sha1[41], sha256[65], md5[33];
    bool profile;
} gbin;

typedef struct gacct {
    gs domain, name, sid, upn, objid;
} gacct;

typedef struct gproc {
    const gbin *bin;
    const gacct *acct;
    const struct gproc *parent;
    int64_t pid, logon_id;
    vg_time created;
    gs cmd;
    uint8_t integ;     /* GI_* */
    uint8_t session;
} gproc;

typedef struct gdev {
    char id[41];
    gs ids, name, ip, pubip, aadid;
    const gacct *user;
    uint8_t os;        /* 0 Windows10, 1 Windows11, 2 WindowsServer2022 */
    bool server;
    int64_t next_pid, user_logon;
    gproc system, wininit, winlogon, services, lsass, userinit, explorer, mssense, msmpeng;
    gproc svchost[GEN_SVCHOSTS];
} gdev;

struct vg_gen {
    vg_gen_opts o;
    uint64_t s[4];                     /* xoshiro256** state */
    uint32_t mask;
    uint64_t total, done, idle, per_table[VG_GEN_NTABLES];
    uint64_t report_id, episodes;
    vg_time span, t;
    vg_arena arena;                    /* escaped catalog, accounts, devices' strings */
    gbin bins[B_COUNT_], dlls[D_COUNT_];
    gacct sys, locsvc, netsvc;
    gacct *users;
    uint32_t nusers;
    gdev *devs;
    /* DeviceInfo: one round over the devices per day */
    int64_t info_day;
    uint32_t info_next;
    /* prepared lists */
    size_t n_web, n_office, n_ms, n_sense, n_dev, n_bad, n_regsys, n_reguser, n_docs, n_hosts,
        n_groups;
    gs enc_ps[4];                      /* base64 (UTF-16LE) PowerShell payloads */
    /* writer */
    vg_buf *out;
    char *w, *wend;
    bool over, nomem;
    int64_t day_cached;
    char day_str[16];
    char scratch[GEN_SCRATCH];
    size_t scratch_n;
};

static inline uint64_t gen_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static inline uint64_t gen_rnd(vg_gen *g)
{
    uint64_t *s = g->s;
    uint64_t r = gen_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = gen_rotl(s[3], 45);
    return r;
}
/* Uniform in [0, n). */
static inline uint32_t gen_rn(vg_gen *g, uint32_t n)
{
    return (uint32_t)(((gen_rnd(g) >> 32) * (uint64_t)n) >> 32);
}

uint64_t gen_splitmix(uint64_t *x);
void gen_hex(uint64_t seed, char *out, size_t nhex);
/* printf into the episode scratch, JSON-escaped. */
gs gen_fmt(vg_gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool gen_row_begin(vg_gen *g, vg_gen_table t);
void gen_row_end(vg_gen *g, vg_gen_table t);
void gen_w_lit(vg_gen *g, const char *s, size_t n);
void gen_w_str(vg_gen *g, const char *key, size_t keyn, gs v);
void gen_w_i64(vg_gen *g, const char *key, size_t keyn, int64_t v);
void gen_w_bool(vg_gen *g, const char *key, size_t keyn, bool v);
void gen_w_time(vg_gen *g, const char *key, size_t keyn, vg_time t);
void gen_w_path(vg_gen *g, const char *key, size_t keyn, const gbin *b, const gacct *ac);
void gen_w_head(vg_gen *g, const char *table, size_t tablen, const gdev *d, const char *action);
void gen_w_initiating(vg_gen *g, const gproc *p);
void gen_w_tail(vg_gen *g, const gproc *p);
const char *gen_integ_name(int i);
const char *gen_elev_name(int i);

void gen_set_proc(gproc *p, const gbin *b, const gacct *ac, const gproc *parent, int64_t pid,
                  vg_time created, gs cmd, int integ, int64_t logon);
vg_err gen_episodes_init(vg_gen *g);
void gen_episode(vg_gen *g);

/* An already-escaped C string as a gs (a function: s is evaluated once). */
static inline gs gen_gs(const char *s) { return (gs){ s, (uint32_t)strlen(s) }; }
#define GS_C(s) gen_gs(s)
#define GEN_KEY_(k, open) ",\"" k "\":" open
#define WS(g, k, v) gen_w_str((g), GEN_KEY_(k, "\""), sizeof(GEN_KEY_(k, "\"")) - 1, (v))
#define WI(g, k, v) gen_w_i64((g), GEN_KEY_(k, ""), sizeof(GEN_KEY_(k, "")) - 1, (int64_t)(v))
#define WB(g, k, v) gen_w_bool((g), GEN_KEY_(k, ""), sizeof(GEN_KEY_(k, "")) - 1, (v))
#define WT(g, k, v) gen_w_time((g), GEN_KEY_(k, "\""), sizeof(GEN_KEY_(k, "\"")) - 1, (v))
#define WP(g, k, b, ac) gen_w_path((g), GEN_KEY_(k, "\""), sizeof(GEN_KEY_(k, "\"")) - 1, (b), (ac))
#define WHEAD(g, table, d, action) gen_w_head((g), table, sizeof(table) - 1, (d), (action))

#endif
