/*
 * alert_rows.c - what an alert looks like in the schema and on the wire.
 *
 * One AlertInfo row per alert (Defender's columns plus Vigil's RuleId,
 * Tactics, RuleAuthor, RuleReferences and RuleFile, so that the Detection
 * Rule License's attribution travels with every alert), and one
 * AlertEvidence row per entity the evidence row names. Entities are found
 * by a table of specs - which evidence columns make which entity - rather
 * than per-table code: a Machine from DeviceName/Computer, Users from the
 * account columns, Processes (the event's own and its initiator), Files,
 * IPs, URLs, registry values and mail. The first evidence row carries the
 * whole evidence event in AdditionalFields ({"Table":..,"Row":{..}}).
 */
#include <stdio.h>
#include <string.h>

#include "../core/vg_json.h"
#include "alert_int.h"

vg_err alert_field_read(void *ctx, vg_str name, vg_str *out)
{
    alert_field_ctx *c = ctx;
    return vg_detect_field(c->det, c->rule, c->b, c->row, name, c->a, out);
}

/* ---- entities ---- */

#define MAX_MAP 6

typedef struct entity_spec {
    const char *type;            /* EntityType */
    const char *role;            /* EvidenceRole */
    const char *only_table;      /* NULL: any table */
    const char *not_table;
    struct {
        const char *dst;         /* AlertEvidence column */
        const char *src[3];      /* evidence columns, first present wins */
    } map[MAX_MAP];              /* map[0] is the key: no key, no entity */
} entity_spec;

static const entity_spec entities[] = {
    { "Machine", "Impacted", NULL, NULL,
      { { "DeviceName", { "DeviceName", "Computer", "DestinationDeviceName" } },
        { "DeviceId", { "DeviceId" } },
        { "LocalIP", { "LocalIP" } } } },
    { "User", "Impacted", NULL, NULL,
      { { "AccountName", { "AccountName" } },
        { "AccountDomain", { "AccountDomain" } },
        { "AccountSid", { "AccountSid" } },
        { "AccountUpn", { "AccountUpn" } },
        { "AccountObjectId", { "AccountObjectId" } } } },
    { "User", "Related", NULL, NULL,
      { { "AccountName", { "InitiatingProcessAccountName" } },
        { "AccountDomain", { "InitiatingProcessAccountDomain" } },
        { "AccountSid", { "InitiatingProcessAccountSid" } },
        { "AccountUpn", { "InitiatingProcessAccountUpn" } } } },
    { "Process", "Impacted", "DeviceProcessEvents", NULL,
      { { "FileName", { "FileName" } },
        { "FolderPath", { "FolderPath" } },
        { "ProcessCommandLine", { "ProcessCommandLine" } },
        { "SHA1", { "SHA1" } },
        { "SHA256", { "SHA256" } } } },
    { "Process", "Related", NULL, NULL,
      { { "FileName", { "InitiatingProcessFileName" } },
        { "FolderPath", { "InitiatingProcessFolderPath" } },
        { "ProcessCommandLine", { "InitiatingProcessCommandLine" } },
        { "SHA1", { "InitiatingProcessSHA1" } },
        { "SHA256", { "InitiatingProcessSHA256" } } } },
    { "File", "Impacted", NULL, "DeviceProcessEvents",
      { { "FileName", { "FileName" } },
        { "FolderPath", { "FolderPath" } },
        { "SHA1", { "SHA1" } },
        { "SHA256", { "SHA256" } },
        { "FileSize", { "FileSize" } } } },
    { "Ip", "Related", NULL, NULL,
      { { "RemoteIP", { "RemoteIP", "IPAddress" } },
        { "LocalIP", { "LocalIP" } } } },
    { "Url", "Related", NULL, NULL,
      { { "RemoteUrl", { "RemoteUrl", "Url" } } } },
    { "RegistryValue", "Impacted", NULL, NULL,
      { { "RegistryKey", { "RegistryKey" } },
        { "RegistryValueName", { "RegistryValueName" } },
        { "RegistryValueData", { "RegistryValueData" } } } },
    { "MailMessage", "Impacted", NULL, NULL,
      { { "NetworkMessageId", { "NetworkMessageId" } },
        { "EmailSubject", { "Subject" } } } },
    { "Mailbox", "Impacted", NULL, NULL,
      { { "AccountUpn", { "RecipientEmailAddress" } } } },
};

static int col(const vg_table_def *t, const char *name) { return vg_schema_col(t, vg_str_c(name)); }

static vg_err set_text(vg_batch *b, uint32_t r, const char *name, vg_str v, vg_diag *d)
{
    int c = col(b->table, name);
    if (c < 0 || !v.p)
        return VG_OK;
    return vg_batch_set_text(b, c, r, v, d);
}

/* The evidence row's value of a column, as text (NULL when absent). */
static vg_str ev_text(const vg_batch *b, uint32_t row, const char *name, vg_arena *a)
{
    int c = col(b->table, name);
    if (c < 0 || vg_batch_is_null(b, c, row))
        return VG_STR_NULL;
    vg_buf t;
    vg_buf_init(&t, 1u << 20);
    vg_str out = VG_STR_NULL;
    if (vg_batch_value_text(b, c, row, &t) && !t.failed)
        out = vg_str_dup(a, vg_str_make(t.p ? t.p : "", t.n));
    vg_buf_free(&t);
    return out.p && out.n ? out : VG_STR_NULL;
}

static void json_list(vg_buf *o, const vg_str *v, uint32_t n)
{
    vg_buf_putc(o, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            vg_buf_putc(o, ',');
        vg_buf_put_json_str(o, v[i]);
    }
    vg_buf_putc(o, ']');
}

/* "T1059.001, T1547" -> ["T1059.001","T1547"] */
static void json_csv(vg_buf *o, vg_str csv)
{
    vg_buf_putc(o, '[');
    size_t i = 0;
    bool first = true;
    while (i < csv.n) {
        size_t j = i;
        while (j < csv.n && csv.p[j] != ',')
            j++;
        vg_str item = vg_str_trim(vg_str_make(csv.p + i, j - i));
        if (item.n) {
            if (!first)
                vg_buf_putc(o, ',');
            vg_buf_put_json_str(o, item);
            first = false;
        }
        i = j + 1;
    }
    vg_buf_putc(o, ']');
}

static vg_str first_tactic(const vg_detect_rule *r)
{
    const char *comma = r->tactics.n ? memchr(r->tactics.p, ',', r->tactics.n) : NULL;
    if (!r->tactics.n)
        return vg_str_c("SuspiciousActivity");
    return comma ? vg_str_make(r->tactics.p, (size_t)(comma - r->tactics.p)) : r->tactics;
}

static vg_str buf_str(vg_arena *a, vg_buf *b)
{
    return b->failed ? VG_STR_NULL : vg_str_dup(a, vg_str_make(b->p ? b->p : "", b->n));
}

/*
 * The service (domain) an alert comes from, by the table of its evidence
 * row: what Defender's ServiceSource says per product. The incident API
 * maps these to Graph's serviceSource values.
 */
const char *vg_alert_service(const vg_table_def *t)
{
    if (!t)
        return "Vigil";
    const char *n = t->name;
    if (!strncmp(n, "Device", 6) || !strcmp(n, "WindowsEvent"))
        return "Vigil Endpoint";
    if (!strncmp(n, "Identity", 8))
        return "Vigil Identity";
    if (!strncmp(n, "Email", 5) || !strcmp(n, "UrlClickEvents"))
        return "Vigil Email";
    if (!strcmp(n, "CloudAppEvents"))
        return "Vigil Cloud Apps";
    return "Vigil";
}

/* The columns every alert row shares. */
static vg_err common(vg_batch *b, uint32_t r, const vg_alert *a, vg_str techniques, vg_diag *d)
{
    const vg_detect_rule *ru = a->rule;
    int tc = b->table->ts_col;
    if (tc >= 0)
        vg_batch_set_i64(b, tc, r, a->timestamp);
    vg_err e = set_text(b, r, "AlertId", a->alert_id, d);
    if (!e) e = set_text(b, r, "Title", ru->sg->title, d);
    if (!e) e = set_text(b, r, "Severity", vg_str_c(vg_alert_severity(ru->sg->level)), d);
    if (!e) e = set_text(b, r, "ServiceSource",
                                 vg_str_c(vg_alert_service(a->b ? a->b->table : NULL)), d);
    if (!e) e = set_text(b, r, "DetectionSource", vg_str_c(a->corr ? "Sigma correlation" : "Sigma"), d);
    if (!e) e = set_text(b, r, "AttackTechniques", techniques, d);
    return e;
}

vg_err alert_write_rows(vg_batchset *out, const vg_detect *det, const vg_alert *a, vg_arena *tmp,
                        vg_diag *d)
{
    const vg_table_def *ti = vg_schema_table(vg_str_c("AlertInfo"));
    const vg_table_def *te = vg_schema_table(vg_str_c("AlertEvidence"));
    if (!ti || !te)
        return vg_diag_set(d, VG_EINVAL, "schema: AlertInfo/AlertEvidence missing");
    const vg_detect_rule *ru = a->rule;
    const sg_rule *sr = ru->sg;
    vg_buf o;
    vg_buf_init(&o, 1u << 24);
    json_csv(&o, ru->techniques);
    vg_str techniques = buf_str(tmp, &o);
    vg_buf_clear(&o);
    json_list(&o, sr->references, sr->nreferences);
    vg_str refs = buf_str(tmp, &o);
    vg_buf_clear(&o);
    vg_buf_putc(&o, '[');
    vg_buf_put_json_str(&o, first_tactic(ru));
    vg_buf_putc(&o, ']');
    vg_str categories = buf_str(tmp, &o);

    vg_batch *b;
    uint32_t r;
    vg_err e = vg_batchset_row(out, ti, &b, &r, d);
    if (!e) e = common(b, r, a, techniques, d);
    if (!e) e = set_text(b, r, "Category", first_tactic(ru), d);
    if (!e) e = set_text(b, r, "RuleId", sr->id.p ? sr->id : sr->name, d);
    if (!e) e = set_text(b, r, "Tactics", ru->tactics, d);
    if (!e) e = set_text(b, r, "RuleAuthor", sr->author, d);
    if (!e) e = set_text(b, r, "RuleReferences", refs, d);
    if (!e) e = set_text(b, r, "RuleFile", sr->file, d);
    if (e)
        goto out;

    if (a->corr) {
        /* one evidence row: the group and what the correlation counted */
        vg_buf_clear(&o);
        vg_buf_puts(&o, "{\"Group\":{");
        for (uint32_t i = 0; i < sr->corr.ngroup_by; i++) {
            if (i)
                vg_buf_putc(&o, ',');
            vg_buf_put_json_str(&o, sr->corr.group_by[i]);
            vg_buf_putc(&o, ':');
            vg_buf_put_json_str(&o, a->corr->group[i]);
        }
        char ts1[40], ts2[40];
        vg_time_format(a->corr->first_ts, ts1, sizeof ts1);
        vg_time_format(a->corr->last_ts, ts2, sizeof ts2);
        vg_buf_printf(&o, "},\"Value\":%.17g,\"Events\":%u,\"FirstTimestamp\":\"%s\",\"LastTimestamp\":\"%s\"}",
                      a->corr->value, a->corr->nevents, ts1, ts2);
        if ((e = vg_batchset_row(out, te, &b, &r, d)))
            goto out;
        e = common(b, r, a, techniques, d);
        if (!e) e = set_text(b, r, "Categories", categories, d);
        if (!e) e = set_text(b, r, "EntityType", vg_str_c("Correlation"), d);
        if (!e) e = set_text(b, r, "EvidenceRole", vg_str_c("Related"), d);
        if (!e) e = set_text(b, r, "AdditionalFields", buf_str(tmp, &o), d);
        goto out;
    }

    bool first = true;
    for (size_t k = 0; k < sizeof entities / sizeof entities[0] && !e; k++) {
        const entity_spec *s = &entities[k];
        if (s->only_table && strcmp(s->only_table, a->b->table->name) != 0)
            continue;
        if (s->not_table && strcmp(s->not_table, a->b->table->name) == 0)
            continue;
        vg_str vals[MAX_MAP] = { 0 };
        for (int m = 0; m < MAX_MAP && s->map[m].dst; m++)
            for (int q = 0; q < 3 && s->map[m].src[q] && !vals[m].p; q++)
                vals[m] = ev_text(a->b, a->row, s->map[m].src[q], tmp);
        if (!vals[0].p)
            continue;
        if ((e = vg_batchset_row(out, te, &b, &r, d)))
            break;
        e = common(b, r, a, techniques, d);
        if (!e) e = set_text(b, r, "Categories", categories, d);
        if (!e) e = set_text(b, r, "EntityType", vg_str_c(s->type), d);
        if (!e) e = set_text(b, r, "EvidenceRole", vg_str_c(s->role), d);
        for (int m = 0; m < MAX_MAP && s->map[m].dst && !e; m++)
            e = set_text(b, r, s->map[m].dst, vals[m], d);
        if (!e && first) {
            vg_buf_clear(&o);
            vg_buf_puts(&o, "{\"Table\":");
            vg_buf_put_json_str(&o, vg_str_c(a->b->table->name));
            vg_buf_puts(&o, ",\"Row\":");
            vg_batch_row_json(a->b, a->row, &o);
            vg_buf_putc(&o, '}');
            e = set_text(b, r, "AdditionalFields", buf_str(tmp, &o), d);
            first = false;
        }
    }
out:
    vg_buf_free(&o);
    (void)det;
    return e;
}

/* ---- JSON ---- */

void vg_alert_json(const vg_alert *a, vg_buf *o)
{
    const vg_detect_rule *ru = a->rule;
    const sg_rule *sr = ru->sg;
    char ts[40];
    vg_time_format(a->timestamp, ts, sizeof ts);
    vg_buf_puts(o, "{\"Timestamp\":");
    vg_buf_put_json_str(o, vg_str_c(ts));
    vg_buf_puts(o, ",\"AlertId\":");
    vg_buf_put_json_str(o, a->alert_id);
    vg_buf_puts(o, ",\"RuleId\":");
    vg_buf_put_json_str(o, sr->id.p ? sr->id : sr->name);
    vg_buf_puts(o, ",\"Title\":");
    vg_buf_put_json_str(o, sr->title);
    vg_buf_puts(o, ",\"Severity\":");
    vg_buf_put_json_str(o, vg_str_c(vg_alert_severity(sr->level)));
    vg_buf_puts(o, ",\"Level\":");
    vg_buf_put_json_str(o, vg_str_c(sg_level_name(sr->level)));
    vg_buf_puts(o, ",\"Status\":");
    vg_buf_put_json_str(o, vg_str_c(sg_status_name(sr->status)));
    vg_buf_puts(o, ",\"Category\":");
    vg_buf_put_json_str(o, first_tactic(ru));
    vg_buf_puts(o, ",\"Tactics\":");
    json_csv(o, ru->tactics);
    vg_buf_puts(o, ",\"Techniques\":");
    json_csv(o, ru->techniques);
    vg_buf_puts(o, ",\"Author\":");
    vg_buf_put_json_str(o, sr->author);
    vg_buf_puts(o, ",\"References\":");
    json_list(o, sr->references, sr->nreferences);
    vg_buf_puts(o, ",\"RuleFile\":");
    vg_buf_put_json_str(o, sr->file);
    vg_buf_puts(o, ",\"DetectionSource\":");
    vg_buf_put_json_str(o, vg_str_c(a->corr ? "Sigma correlation" : "Sigma"));
    if (a->corr) {
        vg_buf_puts(o, ",\"Group\":{");
        for (uint32_t i = 0; i < sr->corr.ngroup_by; i++) {
            if (i)
                vg_buf_putc(o, ',');
            vg_buf_put_json_str(o, sr->corr.group_by[i]);
            vg_buf_putc(o, ':');
            vg_buf_put_json_str(o, a->corr->group[i]);
        }
        vg_buf_printf(o, "},\"Value\":%.17g,\"Events\":%u", a->corr->value, a->corr->nevents);
    } else if (a->b) {
        vg_buf_puts(o, ",\"Table\":");
        vg_buf_put_json_str(o, vg_str_c(a->b->table->name));
        vg_buf_puts(o, ",\"Evidence\":");
        vg_batch_row_json(a->b, a->row, o);
    }
    vg_buf_putc(o, '}');
}
