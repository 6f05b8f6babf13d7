/*
 * ag_parse_dpkg.c - the inventory sensor's parsers: the dpkg status file
 * (RFC822-style paragraphs, continuation lines) and the tab-separated output
 * of `rpm -qa --qf`, into one ag_pkg per installed package; and the
 * DeviceTvmSoftwareInventory members of one package.
 *
 * Pure functions (see ag_sensors_int.h); ag_inventory.c reads the files,
 * runs rpm and emits the snapshot.
 */
#include "ag_sensors_int.h"

#include <string.h>

/* The name part of a Maintainer "Name <mail>" (the whole value without a mail). */
static vg_str vendor_of(vg_str m)
{
    ptrdiff_t lt = vg_str_chr(m, '<');
    if (lt >= 0) m.n = (size_t)lt;
    return vg_str_trim(m);
}

/* Status: "want flag status"; installed when the last word is "installed". */
static bool installed(vg_str status)
{
    status = vg_str_trim(status);
    return status.n >= 10 && memcmp(status.p + status.n - 9, "installed", 9) == 0 &&
           status.p[status.n - 10] == ' ';
}

typedef struct dpkg_para {
    ag_pkg pkg;
    vg_str status;
    size_t line;               /* where it started, 0: no paragraph open */
} dpkg_para;

static vg_err end_para(dpkg_para *pa, ag_pkg_fn fn, void *ctx, vg_diag *d)
{
    vg_err e = VG_OK;
    if (pa->line && pa->pkg.name.n == 0)
        e = vg_diag_set(d, VG_EPARSE, "dpkg status: paragraph at line %zu has no Package", pa->line);
    else if (pa->line && installed(pa->status) && !fn(ctx, &pa->pkg))
        e = vg_diag_set(d, VG_ELIMIT, "dpkg status: stopped at package '%.*s'",
                        VG_STR_FMT(pa->pkg.name));
    memset(pa, 0, sizeof *pa);
    return e;
}

vg_err ag_dpkg_parse(vg_str text, ag_pkg_fn fn, void *ctx, vg_diag *d)
{
    dpkg_para pa = { 0 };
    size_t line_no = 0, off = 0;
    while (off < text.n) {
        size_t e = off;
        while (e < text.n && text.p[e] != '\n') e++;
        vg_str line = vg_str_make(text.p + off, e - off);
        off = e + 1;
        line_no++;
        if (line.n && line.p[line.n - 1] == '\r') line.n--;
        if (vg_str_trim(line).n == 0) {
            vg_err err = end_para(&pa, fn, ctx, d);
            if (err) return err;
            continue;
        }
        if (!pa.line) pa.line = line_no;
        if (line.p[0] == ' ' || line.p[0] == '\t')
            continue;   /* a continuation of the previous field (Description, Conffiles): not kept */
        ptrdiff_t colon = vg_str_chr(line, ':');
        if (colon <= 0)
            return vg_diag_set(d, VG_EPARSE,
                               "dpkg status: line %zu is neither 'Field: value' nor a continuation",
                               line_no);
        vg_str name = vg_str_make(line.p, (size_t)colon);
        vg_str value = vg_str_trim(vg_str_make(line.p + colon + 1, line.n - (size_t)colon - 1));
        if (value.n > AG_DPKG_FIELD_MAX) value.n = AG_DPKG_FIELD_MAX;
        if (vg_str_eqc_ci(name, "Package")) pa.pkg.name = value;
        else if (vg_str_eqc_ci(name, "Status")) pa.status = value;
        else if (vg_str_eqc_ci(name, "Version")) pa.pkg.version = value;
        else if (vg_str_eqc_ci(name, "Architecture")) pa.pkg.arch = value;
        else if (vg_str_eqc_ci(name, "Maintainer")) pa.pkg.vendor = vendor_of(value);
    }
    return end_para(&pa, fn, ctx, d);
}

vg_err ag_rpm_parse(vg_str text, ag_pkg_fn fn, void *ctx, vg_diag *d)
{
    size_t off = 0, line_no = 0;
    while (off < text.n) {
        size_t e = off;
        while (e < text.n && text.p[e] != '\n') e++;
        vg_str line = vg_str_make(text.p + off, e - off);
        off = e + 1;
        line_no++;
        if (vg_str_trim(line).n == 0) continue;
        vg_str f[4];
        size_t nf = 0, s = 0;
        for (size_t i = 0; i <= line.n && nf < 4; i++) {
            if (i == line.n || line.p[i] == '\t') {
                f[nf++] = vg_str_make(line.p + s, i - s);
                s = i + 1;
            }
        }
        if (nf != 4 || f[0].n == 0)
            return vg_diag_set(d, VG_EPARSE, "rpm -qa output: line %zu has %zu of 4 tab-separated fields",
                               line_no, nf);
        ag_pkg pkg = { f[0], f[1], f[2], f[3] };
        if (vg_str_eqc(pkg.vendor, "(none)")) pkg.vendor = VG_STR_NULL;
        if (!fn(ctx, &pkg))
            return vg_diag_set(d, VG_ELIMIT, "rpm -qa output: stopped at package '%.*s'",
                               VG_STR_FMT(pkg.name));
    }
    return VG_OK;
}

static void member(vg_buf *b, const char *name, vg_str v)
{
    if (!v.p)
        v = VG_STR_LIT("");   /* an absent field is an empty string */
    vg_buf_putc(b, ',');
    vg_buf_put_json_str(b, vg_str_c(name));
    vg_buf_putc(b, ':');
    vg_buf_put_json_str(b, v);
}

void ag_pkg_members(const ag_pkg *p, const char *os_version, const char *os_arch, vg_buf *row)
{
    member(row, "OSPlatform", VG_STR_LIT("Linux"));
    member(row, "OSVersion", vg_str_c(os_version));
    member(row, "OSArchitecture", vg_str_c(os_arch));
    member(row, "SoftwareVendor", p->vendor);
    member(row, "SoftwareName", p->name);
    member(row, "SoftwareVersion", p->version);
    member(row, "EndOfSupportStatus", VG_STR_LIT(""));
    /* the package's own architecture (amd64, all, noarch) is no column of the table: not sent */
}
