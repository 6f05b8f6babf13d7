/*
 * cmd_incidents_rules.c - `vigil detections` and `vigil suppressions`: the
 * tuning side of the incident queue, against a vigild's
 * /api/v1/security/rules/detectionRules (custom detections: a KQL query
 * run on a schedule, in Graph beta's detectionRule shape) and
 * /api/v1/security/suppressionRules (alerts of a rule on given entities
 * are resolved or hidden on arrival).
 *
 *   vigil detections list | show ID [--runs] | create --name N (--query Q | --query-file F)
 *       [--period 0|1H|3H|12H|24H] --title T --severity S --category C [--technique T ...]
 *       [--device-column C] [--user-column C] [--mailbox-column C] [--description D]
 *       [--recommended-actions A] [--disabled] | update ID [same] | delete ID | enable ID
 *       | disable ID | run ID
 *   vigil suppressions list | create --name N --rule RULEID [--device D] [--user U]
 *       [--file SHA256] [--ip IP] [--url U] [--mailbox M] [--action resolve] | delete ID
 *
 * Entity columns map to alertTemplate.impactedAssets the way Graph spells
 * them: --device-column DeviceId -> {"@odata.type":
 * "#microsoft.graph.security.impactedDeviceAsset","identifier":"deviceId"}
 * (the column name with a lower-case first letter). An update reads the
 * rule first and sends whole nested objects back, so options not given keep
 * their values whatever the server's merge rules are.
 */
#include <arpa/inet.h>
#include <string.h>

#include "cmd_incidents_int.h"

#define IC_DETECTIONS "/api/v1/security/rules/detectionRules"
#define IC_SUPPRESSIONS "/api/v1/security/suppressionRules"
#define IC_MAX_COLUMN 64
#define IC_MAX_RULE_ID 128
#define IC_MAX_CATEGORY 64
#define IC_CELL_WIDTH 40

static const char *const periods[] = { "0", "1H", "3H", "12H", "24H", NULL };
static const char *const severities[] = { "informational", "low", "medium", "high", NULL };
static const char *const actions[] = { "resolve", NULL };

/* ---- settings tables ---- */

#define OFF IC_OFF
static const vg_cfg_def det_list_defs[] = { IC_CONN_DEFS };
static const vg_cfg_def det_show_defs[] = {
    IC_CONN_DEFS,
    { "runs", VG_CFG_BOOL, "false", 0, 0, false, OFF(runs), "also list the rule's recent runs" },
};
#define RULE_DEFS                                                                                \
    IC_CONN_DEFS,                                                                                \
    { "name", VG_CFG_STRING, "", 0, 0, false, OFF(name), "the rule's name (unique)" },           \
    { "query", VG_CFG_STRING, "", 0, 0, false, OFF(query),                                       \
      "the KQL query; it must return Timestamp, ReportId and an entity column" },                \
    { "query-file", VG_CFG_STRING, "", 0, 0, false, OFF(query_file),                             \
      "read the query from FILE ('-': stdin)" },                                                 \
    { "period", VG_CFG_STRING, "", 0, 0, false, OFF(period),                                     \
      "how often it runs: 0 (near real time), 1H, 3H, 12H, 24H (create: default 1H)" },          \
    { "title", VG_CFG_STRING, "", 0, 0, false, OFF(title), "title of the alerts it raises" },    \
    { "severity", VG_CFG_STRING, "", 0, 0, false, OFF(severity),                                 \
      "their severity: informational, low, medium, high" },                                      \
    { "category", VG_CFG_STRING, "", 0, 0, false, OFF(category),                                 \
      "their category (ATT&CK tactic), e.g. Execution, CredentialAccess" },                      \
    { "technique", VG_CFG_LIST, "", 0, 0, false, OFF(technique),                                 \
      "ATT&CK technique T (T1059 or T1059.001; repeat for several)" },                           \
    { "device-column", VG_CFG_LIST, "", 0, 0, false, OFF(device_column),                         \
      "column naming the impacted device (DeviceId, DeviceName...)" },                           \
    { "user-column", VG_CFG_LIST, "", 0, 0, false, OFF(user_column),                             \
      "column naming the impacted user (AccountUpn, AccountSid, AccountObjectId...)" },          \
    { "mailbox-column", VG_CFG_LIST, "", 0, 0, false, OFF(mailbox_column),                       \
      "column naming the impacted mailbox (RecipientEmailAddress...)" },                         \
    { "description", VG_CFG_STRING, "", 0, 0, false, OFF(description), "alert description" },   \
    { "recommended-actions", VG_CFG_STRING, "", 0, 0, false, OFF(actions),                       \
      "recommended actions shown with the alerts" }
static const vg_cfg_def det_create_defs[] = {
    RULE_DEFS,
    { "disabled", VG_CFG_BOOL, "false", 0, 0, false, OFF(disabled),
      "create it disabled (vigil detections enable ID later)" },
};
static const vg_cfg_def det_update_defs[] = { RULE_DEFS };
static const vg_cfg_def det_id_defs[] = { IC_CONN_DEFS };

static const vg_cfg_def sup_list_defs[] = { IC_CONN_DEFS };
static const vg_cfg_def sup_create_defs[] = {
    IC_CONN_DEFS,
    { "name", VG_CFG_STRING, "", 0, 0, false, OFF(name), "the suppression rule's name" },
    { "rule", VG_CFG_STRING, "", 0, 0, false, OFF(rule),
      "id of the detection rule whose alerts it suppresses ('*': any rule)" },
    { "device", VG_CFG_LIST, "", 0, 0, false, OFF(device), "only on device D ('*' wildcards)" },
    { "user", VG_CFG_LIST, "", 0, 0, false, OFF(user), "only for account U (name, UPN or SID)" },
    { "file", VG_CFG_LIST, "", 0, 0, false, OFF(file), "only for the file with this SHA256 (or SHA1)" },
    { "ip", VG_CFG_LIST, "", 0, 0, false, OFF(ip), "only for remote IP address IP" },
    { "url", VG_CFG_LIST, "", 0, 0, false, OFF(url), "only for URL or domain U" },
    { "mailbox", VG_CFG_LIST, "", 0, 0, false, OFF(mailbox), "only for mailbox M" },
    { "action", VG_CFG_STRING, "resolve", 0, 0, false, OFF(action),
      "resolve (the only action: store the alert resolved, in no incident)" },
};
static const vg_cfg_def sup_delete_defs[] = { IC_CONN_DEFS };
#undef OFF

#define SPEC(var, prog, summary, usage, defs) \
    static const vg_cfg_spec var = { prog, summary, usage, defs, IC_NDEFS(defs) }
SPEC(det_list_spec, "vigil detections list", "list the custom detection rules",
     "vigil detections list", det_list_defs);
SPEC(det_show_spec, "vigil detections show", "show one rule: query, schedule, alert template, last run",
     "vigil detections show ID [--runs]", det_show_defs);
SPEC(det_create_spec, "vigil detections create", "create a rule (the server checks the query)",
     "vigil detections create --name N (--query Q | --query-file F) [--period P] --title T "
     "--severity S --category C [--technique T ...] [--device-column C] [--user-column C] "
     "[--mailbox-column C] [--description D] [--disabled]",
     det_create_defs);
SPEC(det_update_spec, "vigil detections update", "change a rule; options not given keep their values",
     "vigil detections update ID [--name N] [--query Q | --query-file F] [--period P] [--title T] ...",
     det_update_defs);
SPEC(det_delete_spec, "vigil detections delete", "delete a rule (its alerts stay)",
     "vigil detections delete ID", det_id_defs);
SPEC(det_enable_spec, "vigil detections enable", "enable a rule", "vigil detections enable ID",
     det_id_defs);
SPEC(det_disable_spec, "vigil detections disable", "disable a rule", "vigil detections disable ID",
     det_id_defs);
SPEC(det_run_spec, "vigil detections run", "run a rule now and print what the run did",
     "vigil detections run ID", det_id_defs);
SPEC(sup_list_spec, "vigil suppressions list", "list the suppression rules",
     "vigil suppressions list", sup_list_defs);
SPEC(sup_create_spec, "vigil suppressions create",
     "create a suppression rule: a detection rule's alerts on these entities are suppressed",
     "vigil suppressions create --name N --rule RULEID [--device D] [--user U] [--file SHA256] "
     "[--ip IP] [--url U] [--mailbox M] [--action resolve]",
     sup_create_defs);
SPEC(sup_delete_spec, "vigil suppressions delete", "delete a suppression rule",
     "vigil suppressions delete ID", sup_delete_defs);

/* ---- detections ---- */

static vg_str or_dash(vg_str s) { return s.n ? s : VG_STR_LIT("-"); }

static const vg_json *path_get(const vg_json *o, const char *path)
{
    return o ? vg_json_path(o, path) : NULL;
}

static vg_str path_text(const vg_json *o, const char *path)
{
    const vg_json *v = path_get(o, path);
    return v && v->kind != VG_JSON_OBJECT && v->kind != VG_JSON_ARRAY ? vg_json_text(v)
                                                                       : vg_str_make("", 0);
}

static void det_row(ic_ctx *c, ic_table *t, const vg_json *it)
{
    const vg_json *en = vg_json_get(it, "isEnabled");
    vg_str when = path_text(it, "lastRunDetails.lastRunDateTime");
    if (when.n >= 19)
        when.n = 19;
    vg_str cells[7] = { ic_get(it, "id"),
                        en && en->kind == VG_JSON_TRUE ? VG_STR_LIT("yes") : VG_STR_LIT("no"),
                        or_dash(path_text(it, "schedule.period")),
                        or_dash(path_text(it, "detectionAction.alertTemplate.severity")),
                        or_dash(when), or_dash(path_text(it, "lastRunDetails.status")),
                        ic_get(it, "displayName") };
    ic_table_row(t, cells);
}

static int det_list(ic_ctx *c)
{
    if (!ic_check_npos(c, 0, "takes no arguments"))
        return CLI_USAGE;
    static const char *const head[] = { "ID", "ENABLED", "PERIOD", "SEVERITY", "LAST RUN", "RESULT",
                                        "NAME" };
    ic_table t;
    ic_table_init(&t, head, 7, IC_CELL_WIDTH, &c->a);
    int rc = ic_list(c, IC_DETECTIONS, true, &t, det_row);
    ic_table_free(&t);
    return rc;
}

static bool one_num_id(ic_ctx *c, const char *what)
{
    return ic_check_npos(c, 1, "give one id") && ic_check_num_id(c, what, c->args.pos[0]);
}

static void print_rule(ic_ctx *c, const vg_json *r)
{
    const vg_json *en = vg_json_get(r, "isEnabled");
    printf("Detection rule %.*s: %.*s\n", VG_STR_FMT(ic_get(r, "id")),
           VG_STR_FMT(ic_get(r, "displayName")));
    printf("  %-16s %s\n", "Enabled:", en && en->kind == VG_JSON_TRUE ? "yes" : "no");
    printf("  %-16s %.*s\n", "Period:", VG_STR_FMT(or_dash(path_text(r, "schedule.period"))));
    printf("  %-16s %.*s\n", "Next run:",
           VG_STR_FMT(or_dash(path_text(r, "schedule.nextRunDateTime"))));
    const vg_json *at = path_get(r, "detectionAction.alertTemplate");
    printf("  %-16s %.*s\n", "Alert title:", VG_STR_FMT(or_dash(ic_get(at, "title"))));
    printf("  %-16s %.*s\n", "Severity:", VG_STR_FMT(or_dash(ic_get(at, "severity"))));
    printf("  %-16s %.*s\n", "Category:", VG_STR_FMT(or_dash(ic_get(at, "category"))));
    printf("  %-16s %.*s\n", "Techniques:", VG_STR_FMT(or_dash(ic_join(c, at, "mitreTechniques"))));
    const vg_json *ia = at ? vg_json_get(at, "impactedAssets") : NULL;
    for (uint32_t i = 0; ia && ia->kind == VG_JSON_ARRAY && i < ia->n; i++) {
        vg_str type = ic_get(ia->kids[i], "@odata.type");
        ptrdiff_t dot = vg_str_rchr(type, '.');
        if (dot >= 0) {
            type.p += dot + 1;
            type.n -= (size_t)dot + 1;
        }
        printf("  %-16s %.*s (%.*s)\n", i ? "" : "Impacted assets:",
               VG_STR_FMT(ic_get(ia->kids[i], "identifier")), VG_STR_FMT(type));
    }
    vg_str desc = ic_get(at, "description"), rec = ic_get(at, "recommendedActions");
    if (desc.n)
        printf("  %-16s %.*s\n", "Description:", VG_STR_FMT(desc));
    if (rec.n)
        printf("  %-16s %.*s\n", "Recommended:", VG_STR_FMT(rec));
    const vg_json *lr = vg_json_get(r, "lastRunDetails");
    if (lr && lr->kind == VG_JSON_OBJECT && lr->n) {
        printf("  Last run:\n");
        ic_print_fields(lr, "    ");
    }
    printf("\nQuery:\n%.*s\n", VG_STR_FMT(path_text(r, "queryCondition.queryText")));
}

static int det_show(ic_ctx *c)
{
    if (!one_num_id(c, "detection rule id"))
        return CLI_USAGE;
    vg_buf p, out;
    vg_buf_init(&p, 0);
    vg_buf_init(&out, 0);
    vg_buf_printf(&p, IC_DETECTIONS "/%s", c->args.pos[0]);
    const vg_json *r, *runs = NULL;
    int rc = ic_call(c, "GET", vg_buf_cstr(&p), NULL, NULL, &r);
    if (rc)
        goto out;
    if (c->json && !c->s.runs) {
        ic_print_json(vg_str_make(c->answer.p, c->answer.n));
        goto out;
    }
    if (c->s.runs) {
        vg_buf_puts(&p, "/runs");
        if ((rc = ic_call(c, "GET", vg_buf_cstr(&p), NULL, NULL, &runs)))
            goto out;
    }
    if (c->json) {
        /* the rule with its runs as one more member */
        vg_json_write(&out, r);
        if (r->kind == VG_JSON_OBJECT && out.n && out.p[out.n - 1] == '}') {
            out.n--;
            vg_buf_puts(&out, r->n ? ",\"runs\":" : "\"runs\":");
            const vg_json *v = vg_json_get(runs, "value");
            vg_json_write(&out, v ? v : runs);
            vg_buf_putc(&out, '}');
        }
        ic_print_json(vg_str_make(out.p, out.n));
        goto out;
    }
    print_rule(c, r);
    if (runs) {
        const vg_json *v = vg_json_get(runs, "value");
        uint32_t n = v && v->kind == VG_JSON_ARRAY ? v->n : 0;
        printf("\nRuns (%u):\n", n);
        for (uint32_t i = 0; i < n; i++) {
            ic_print_fields(v->kids[i], "  ");
            if (i + 1 < n)
                fputc('\n', stdout);
        }
    }
out:
    vg_buf_free(&p);
    vg_buf_free(&out);
    return rc;
}

/* A column name as KQL spells identifiers. */
static bool check_column(const ic_ctx *c, const char *opt, const char *v)
{
    size_t n = strlen(v);
    bool ok = n && n <= IC_MAX_COLUMN && !(v[0] >= '0' && v[0] <= '9');
    for (size_t i = 0; ok && i < n; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
             (v[i] >= '0' && v[i] <= '9') || v[i] == '_';
    if (!ok)
        ic_err(c, "%s: '%s' is not a column name (letters, digits and _, at most %d)", opt, v,
               IC_MAX_COLUMN);
    return ok;
}

/* T1059 or T1059.001 */
static bool check_technique(const ic_ctx *c, const char *v)
{
    size_t n = strlen(v);
    bool ok = (n == 5 || n == 9) && (v[0] == 'T' || v[0] == 't');
    for (size_t i = 1; ok && i < n; i++)
        ok = i == 5 ? v[i] == '.' : (v[i] >= '0' && v[i] <= '9');
    if (!ok)
        ic_err(c, "--technique: '%s' is not an ATT&CK technique id (T1059 or T1059.001)", v);
    return ok;
}

static bool check_category(const ic_ctx *c, const char *v)
{
    size_t n = strlen(v);
    bool ok = n && n <= IC_MAX_CATEGORY;
    for (size_t i = 0; ok && i < n; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z');
    if (!ok)
        ic_err(c, "--category: '%s' is not a category (letters only, e.g. Execution, CredentialAccess)", v);
    return ok;
}

static void put_key(vg_buf *b, const char *key)
{
    char last = b->n ? b->p[b->n - 1] : '{';
    vg_buf_printf(b, "%s\"%s\":", last == '{' || last == ',' ? "" : ",", key);
}

/* key: the option's text when given, else the current rule's value at path. */
static void put_text(vg_buf *b, const char *key, const char *opt, const vg_json *cur, const char *path)
{
    put_key(b, key);
    vg_buf_put_json_str(b, opt[0] ? vg_str_c(opt) : path_text(cur, path));
}

static void put_assets(vg_buf *b, const vg_cfg_list *l, const char *type, bool *first)
{
    for (uint32_t i = 0; i < l->n; i++) {
        char id[IC_MAX_COLUMN + 1];
        snprintf(id, sizeof id, "%s", l->v[i]);
        if (id[0] >= 'A' && id[0] <= 'Z')
            id[0] = (char)(id[0] - 'A' + 'a');
        vg_buf_printf(b, "%s{\"@odata.type\":\"#microsoft.graph.security.%s\",\"identifier\":",
                      *first ? "" : ",", type);
        vg_buf_put_json_str(b, vg_str_c(id));
        vg_buf_putc(b, '}');
        *first = false;
    }
}

/* The query of --query or --query-file into q (read once: it may be stdin). */
static bool load_query(ic_ctx *c, vg_buf *q)
{
    const ic_settings *s = &c->s;
    if (s->query[0] && s->query_file[0]) {
        ic_err(c, "give either --query or --query-file, not both");
        return false;
    }
    if (s->query_file[0]) {
        if (!ic_read_file(c, "--query-file", s->query_file, IC_MAX_QUERY, q))
            return false;
    } else {
        vg_buf_puts(q, s->query);
    }
    if ((s->query[0] || s->query_file[0]) && !vg_str_trim(vg_str_make(q->p ? q->p : "", q->n)).n) {
        ic_err(c, "%s: the query is empty", s->query_file[0] ? s->query_file : "--query");
        return false;
    }
    if (q->n > IC_MAX_QUERY) {
        ic_err(c, "--query: %zu bytes, at most %u are allowed", q->n, IC_MAX_QUERY);
        return false;
    }
    return true;
}

/*
 * The rule's JSON from the options and the query q, with cur's values
 * where an option is not given (cur NULL: create). Validates first; false
 * (printed) when an option is wrong.
 */
static bool rule_body(ic_ctx *c, const vg_json *cur, const vg_buf *q, vg_buf *b)
{
    const ic_settings *s = &c->s;
    bool create = cur == NULL;
    const char *period = NULL, *sev = NULL;
    if (create) {
        const char *missing = !s->name[0] ? "--name" : !s->title[0] ? "--title"
                              : !s->severity[0] ? "--severity" : !s->category[0] ? "--category"
                              : !q->n ? "--query or --query-file" : NULL;
        if (missing) {
            ic_err(c, "%s is required (see vigil %s --help)", missing, c->cmd);
            return false;
        }
    }
    bool ok = false;
    if ((s->name[0] && !ic_check_text(c, "--name", s->name, IC_MAX_NAME, false)) ||
        (s->title[0] && !ic_check_text(c, "--title", s->title, IC_MAX_NAME, false)) ||
        (s->period[0] && !ic_check_enum(c, "--period", s->period, periods, &period)) ||
        (s->severity[0] && !ic_check_enum(c, "--severity", s->severity, severities, &sev)) ||
        (s->category[0] && !check_category(c, s->category)) ||
        !ic_check_text(c, "--description", s->description, IC_MAX_TEXT, true) ||
        !ic_check_text(c, "--recommended-actions", s->actions, IC_MAX_TEXT, true))
        goto out;
    for (uint32_t i = 0; i < s->technique.n; i++)
        if (!check_technique(c, s->technique.v[i]))
            goto out;
    const struct {
        const char *opt;
        const vg_cfg_list *l;
    } cols[] = { { "--device-column", &s->device_column },
                 { "--user-column", &s->user_column },
                 { "--mailbox-column", &s->mailbox_column } };
    bool assets = false;
    for (size_t k = 0; k < 3; k++)
        for (uint32_t i = 0; i < cols[k].l->n; i++) {
            if (!check_column(c, cols[k].opt, cols[k].l->v[i]))
                goto out;
            assets = true;
        }

    vg_buf_putc(b, '{');
    put_text(b, "displayName", s->name, cur, "displayName");
    if (create) {
        put_key(b, "isEnabled");
        vg_buf_puts(b, s->disabled ? "false" : "true");
    }
    put_key(b, "queryCondition");
    vg_buf_putc(b, '{');
    put_key(b, "queryText");
    vg_buf_put_json_str(b, q->n || create ? vg_str_make(q->p ? q->p : "", q->n)
                                         : path_text(cur, "queryCondition.queryText"));
    vg_buf_puts(b, "},");
    put_key(b, "schedule");
    vg_buf_putc(b, '{');
    put_text(b, "period", period ? period : create ? "1H" : "", cur, "schedule.period");
    vg_buf_puts(b, "},");
    put_key(b, "detectionAction");
    vg_buf_putc(b, '{');
    put_key(b, "alertTemplate");
    vg_buf_putc(b, '{');
    const char *at = "detectionAction.alertTemplate.";
    char path[96];
#define AT(f) (snprintf(path, sizeof path, "%s%s", at, f), path)
    put_text(b, "title", s->title, cur, AT("title"));
    put_text(b, "description", s->description, cur, AT("description"));
    put_text(b, "severity", sev ? sev : "", cur, AT("severity"));
    put_text(b, "category", s->category, cur, AT("category"));
    put_text(b, "recommendedActions", s->actions, cur, AT("recommendedActions"));
    put_key(b, "mitreTechniques");
    const vg_json *old = path_get(cur, AT("mitreTechniques"));
    if (!s->technique.n && old && old->kind == VG_JSON_ARRAY) {
        vg_json_write(b, old);
    } else {
        vg_buf_putc(b, '[');
        for (uint32_t i = 0; i < s->technique.n; i++) {
            char t[16];
            snprintf(t, sizeof t, "T%s", s->technique.v[i] + 1);
            if (i)
                vg_buf_putc(b, ',');
            vg_buf_put_json_str(b, vg_str_c(t));
        }
        vg_buf_putc(b, ']');
    }
    put_key(b, "impactedAssets");
    old = path_get(cur, AT("impactedAssets"));
    if (!assets && old && old->kind == VG_JSON_ARRAY) {
        vg_json_write(b, old);
    } else {
        bool first = true;
        vg_buf_putc(b, '[');
        put_assets(b, &s->device_column, "impactedDeviceAsset", &first);
        put_assets(b, &s->user_column, "impactedUserAsset", &first);
        put_assets(b, &s->mailbox_column, "impactedMailboxAsset", &first);
        vg_buf_putc(b, ']');
    }
#undef AT
    vg_buf_putc(b, '}');
    /* the rest of detectionAction (response actions, scope) as it was */
    const vg_json *da = path_get(cur, "detectionAction");
    for (uint32_t i = 0; da && da->kind == VG_JSON_OBJECT && i < da->n; i++) {
        if (vg_str_eqc(da->kids[i]->key, "alertTemplate"))
            continue;
        vg_buf_putc(b, ',');
        vg_buf_put_json_str(b, da->kids[i]->key);
        vg_buf_putc(b, ':');
        vg_json_write(b, da->kids[i]);
    }
    vg_buf_puts(b, "}}");
    ok = !b->failed;
    if (!ok)
        ic_err(c, "out of memory");
out:
    return ok;
}

static void print_saved(ic_ctx *c, const char *verb)
{
    const vg_json *r;
    if (c->json) {
        ic_print_json(vg_str_make(c->answer.p, c->answer.n));
        return;
    }
    if (c->answer.n && ic_parse_answer(c, &r) == CLI_OK) {
        const vg_json *en = vg_json_get(r, "isEnabled");
        printf("detection rule %.*s %s: %.*s (%s, period %.*s)\n", VG_STR_FMT(ic_get(r, "id")), verb,
               VG_STR_FMT(ic_get(r, "displayName")),
               en && en->kind == VG_JSON_TRUE ? "enabled" : "disabled",
               VG_STR_FMT(or_dash(path_text(r, "schedule.period"))));
    } else {
        printf("detection rule %s\n", verb);
    }
}

static int det_create(ic_ctx *c)
{
    if (!ic_check_npos(c, 0, "takes no arguments (the rule comes from the options)"))
        return CLI_USAGE;
    vg_buf b, q;
    vg_buf_init(&b, 0);
    vg_buf_init(&q, 0);
    int rc = CLI_USAGE;
    if (!load_query(c, &q) || !rule_body(c, NULL, &q, &b))
        goto out;
    if ((rc = ic_call(c, "POST", IC_DETECTIONS, &b, NULL, NULL)))
        goto out;
    print_saved(c, "created");
out:
    vg_buf_free(&b);
    vg_buf_free(&q);
    return rc;
}

static int det_update(ic_ctx *c)
{
    if (!one_num_id(c, "detection rule id"))
        return CLI_USAGE;
    const ic_settings *s = &c->s;
    if (!s->name[0] && !s->query[0] && !s->query_file[0] && !s->period[0] && !s->title[0] &&
        !s->severity[0] && !s->category[0] && !s->technique.n && !s->device_column.n &&
        !s->user_column.n && !s->mailbox_column.n && !s->description[0] && !s->actions[0]) {
        ic_err(c, "nothing to change (see vigil %s --help; enable and disable are subcommands)", c->cmd);
        return CLI_USAGE;
    }
    /* check the options before the first request: a dry run of the body */
    vg_buf b, p, im, q;
    vg_buf_init(&b, 0);
    vg_buf_init(&p, 0);
    vg_buf_init(&im, 0);
    vg_buf_init(&q, 0);
    int rc = CLI_USAGE;
    vg_json empty = { .kind = VG_JSON_OBJECT };
    if (!load_query(c, &q) || !rule_body(c, &empty, &q, &b))
        goto out;
    vg_buf_printf(&p, IC_DETECTIONS "/%s", c->args.pos[0]);
    const vg_json *cur;
    if ((rc = ic_call(c, "GET", vg_buf_cstr(&p), NULL, NULL, &cur)))
        goto out;
    int64_t version = ic_etag_version(cur, &c->etag);
    vg_buf_clear(&b);
    rc = CLI_ERR;
    if (!rule_body(c, cur, &q, &b))
        goto out;
    if (version >= 0)
        vg_buf_printf(&im, "W/\"%lld\"", (long long)version);
    if ((rc = ic_request(c, "PATCH", vg_buf_cstr(&p), &b, version >= 0 ? vg_buf_cstr(&im) : NULL)))
        goto out;
    rc = CLI_ERR;
    if (c->status == 412 || c->status == 409) {
        ic_err(c, "detection rule %s was changed by someone else since it was read; run again",
               c->args.pos[0]);
        goto out;
    }
    if (c->status < 200 || c->status > 299) {
        ic_print_server_error(c, "PATCH");
        goto out;
    }
    print_saved(c, "updated");
    rc = CLI_OK;
out:
    vg_buf_free(&b);
    vg_buf_free(&p);
    vg_buf_free(&im);
    vg_buf_free(&q);
    return rc;
}

static int det_set_enabled(ic_ctx *c, bool on)
{
    if (!one_num_id(c, "detection rule id"))
        return CLI_USAGE;
    vg_buf b, p;
    vg_buf_init(&b, 0);
    vg_buf_init(&p, 0);
    vg_buf_printf(&p, IC_DETECTIONS "/%s", c->args.pos[0]);
    vg_buf_puts(&b, on ? "{\"isEnabled\":true}" : "{\"isEnabled\":false}");
    int rc = ic_call(c, "PATCH", vg_buf_cstr(&p), &b, NULL, NULL);
    if (!rc)
        print_saved(c, on ? "enabled" : "disabled");
    vg_buf_free(&b);
    vg_buf_free(&p);
    return rc;
}

static int det_enable(ic_ctx *c) { return det_set_enabled(c, true); }
static int det_disable(ic_ctx *c) { return det_set_enabled(c, false); }

static int det_simple(ic_ctx *c, const char *method, const char *suffix, const char *done)
{
    if (!one_num_id(c, "detection rule id"))
        return CLI_USAGE;
    vg_buf p;
    vg_buf_init(&p, 0);
    vg_buf_printf(&p, IC_DETECTIONS "/%s%s", c->args.pos[0], suffix);
    int rc = ic_call(c, method, vg_buf_cstr(&p), NULL, NULL, NULL);
    vg_buf_free(&p);
    if (rc)
        return rc;
    const vg_json *r;
    if (c->json) {
        ic_print_json(c->answer.n ? vg_str_make(c->answer.p, c->answer.n) : VG_STR_LIT("{}"));
    } else {
        printf("detection rule %s %s\n", c->args.pos[0], done);
        if (c->answer.n && ic_parse_answer(c, &r) == CLI_OK)
            ic_print_fields(r, "  ");
    }
    return CLI_OK;
}

static int det_delete(ic_ctx *c) { return det_simple(c, "DELETE", "", "deleted"); }
static int det_run(ic_ctx *c) { return det_simple(c, "POST", "/run", "ran"); }

/* ---- suppressions ---- */

static void sup_row(ic_ctx *c, ic_table *t, const vg_json *it)
{
    const vg_json *en = vg_json_get(it, "enabled"), *cond = vg_json_get(it, "conditions");
    vg_buf b;
    vg_buf_init(&b, 0);
    for (uint32_t i = 0; cond && cond->kind == VG_JSON_ARRAY && i < cond->n; i++)
        vg_buf_printf(&b, "%s%.*s=%.*s", i ? ", " : "", VG_STR_FMT(ic_get(cond->kids[i], "kind")),
                      VG_STR_FMT(ic_get(cond->kids[i], "value")));
    vg_str cells[7] = { ic_get(it, "id"),
                        en && en->kind == VG_JSON_FALSE ? VG_STR_LIT("no") : VG_STR_LIT("yes"),
                        or_dash(ic_get(it, "action")), or_dash(ic_get(it, "ruleId")),
                        or_dash(ic_get(it, "hits")),
                        b.n ? vg_str_make(b.p, b.n) : VG_STR_LIT("(any entity)"),
                        ic_get(it, "displayName") };
    ic_table_row(t, cells);
    vg_buf_free(&b);
}

static int sup_list(ic_ctx *c)
{
    if (!ic_check_npos(c, 0, "takes no arguments"))
        return CLI_USAGE;
    static const char *const head[] = { "ID", "ENABLED", "ACTION", "RULE", "HITS", "CONDITIONS",
                                        "NAME" };
    ic_table t;
    ic_table_init(&t, head, 7, IC_CELL_WIDTH, &c->a);
    int rc = ic_list(c, IC_SUPPRESSIONS, true, &t, sup_row);
    ic_table_free(&t);
    return rc;
}

static bool is_hex(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f') || (v[i] >= 'A' && v[i] <= 'F')))
            return false;
    return true;
}

/* Checks one condition value of a kind. */
static bool check_condition(const ic_ctx *c, const char *opt, const char *kind, const char *v)
{
    if (!ic_check_text(c, opt, v, IC_MAX_NAME * 8, false))
        return false;
    if (strpbrk(v, "\n\t")) {
        ic_err(c, "%s: '%s' has a line break or tab", opt, v);
        return false;
    }
    size_t n = strlen(v);
    if (!strcmp(kind, "file") && !((n == 64 || n == 40) && is_hex(v, n))) {
        ic_err(c, "%s: '%s' is not a SHA256 (64 hex digits) or SHA1 (40)", opt, v);
        return false;
    }
    if (!strcmp(kind, "ip")) {
        unsigned char addr[16];
        bool ok = inet_pton(AF_INET, v, addr) == 1 || inet_pton(AF_INET6, v, addr) == 1;
        if (!ok && strchr(v, '*'))   /* a wildcard pattern: 10.1.* */
            ok = strspn(v, "0123456789abcdefABCDEF.:*") == n;
        if (!ok) {
            ic_err(c, "%s: '%s' is not an IP address (or a pattern with '*')", opt, v);
            return false;
        }
    }
    if (!strcmp(kind, "mailbox") && !strchr(v, '@') && !strchr(v, '*')) {
        ic_err(c, "%s: '%s' is not a mail address", opt, v);
        return false;
    }
    if (strchr(v, ' ') && strcmp(kind, "user") && strcmp(kind, "device")) {
        ic_err(c, "%s: '%s' has a space", opt, v);
        return false;
    }
    return true;
}

static int sup_create(ic_ctx *c)
{
    const ic_settings *s = &c->s;
    if (!ic_check_npos(c, 0, "takes no arguments (the rule comes from the options)"))
        return CLI_USAGE;
    const char *action;
    if (!s->name[0] || !s->rule[0]) {
        ic_err(c, "%s is required (see vigil %s --help)", !s->name[0] ? "--name" : "--rule", c->cmd);
        return CLI_USAGE;
    }
    if (!ic_check_text(c, "--name", s->name, IC_MAX_NAME, false) ||
        !ic_check_text(c, "--rule", s->rule, IC_MAX_RULE_ID, false) ||
        !ic_check_enum(c, "--action", s->action, actions, &action))
        return CLI_USAGE;
    if (strpbrk(s->rule, " \t\n")) {
        ic_err(c, "--rule: '%s' is not a rule id (no spaces)", s->rule);
        return CLI_USAGE;
    }
    const struct {
        const char *opt, *kind;
        const vg_cfg_list *l;
    } conds[] = { { "--device", "device", &s->device }, { "--user", "user", &s->user },
                  { "--file", "file", &s->file },       { "--ip", "ip", &s->ip },
                  { "--url", "url", &s->url },          { "--mailbox", "mailbox", &s->mailbox } };
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_puts(&b, "{\"displayName\":");
    vg_buf_put_json_str(&b, vg_str_c(s->name));
    vg_buf_puts(&b, ",\"ruleId\":");
    vg_buf_put_json_str(&b, vg_str_c(s->rule));
    vg_buf_puts(&b, ",\"conditions\":[");
    bool first = true;
    int rc = CLI_USAGE;
    for (size_t k = 0; k < sizeof conds / sizeof conds[0]; k++)
        for (uint32_t i = 0; i < conds[k].l->n; i++) {
            if (!check_condition(c, conds[k].opt, conds[k].kind, conds[k].l->v[i]))
                goto out;
            vg_buf_printf(&b, "%s{\"kind\":\"%s\",\"value\":", first ? "" : ",", conds[k].kind);
            vg_buf_put_json_str(&b, vg_str_c(conds[k].l->v[i]));
            vg_buf_putc(&b, '}');
            first = false;
        }
    vg_buf_printf(&b, "],\"action\":\"%s\",\"enabled\":true}", action);
    if ((rc = ic_call(c, "POST", IC_SUPPRESSIONS, &b, NULL, NULL)))
        goto out;
    const vg_json *r;
    if (c->json) {
        ic_print_json(vg_str_make(c->answer.p, c->answer.n));
    } else if (c->answer.n && ic_parse_answer(c, &r) == CLI_OK) {
        printf("suppression rule %.*s created: %.*s\n", VG_STR_FMT(ic_get(r, "id")),
               VG_STR_FMT(ic_get(r, "displayName")));
    } else {
        printf("suppression rule created\n");
    }
out:
    vg_buf_free(&b);
    return rc;
}

static int sup_delete(ic_ctx *c)
{
    if (!ic_check_npos(c, 1, "give one id") || !ic_check_num_id(c, "suppression rule id", c->args.pos[0]))
        return CLI_USAGE;
    vg_buf p;
    vg_buf_init(&p, 0);
    vg_buf_printf(&p, IC_SUPPRESSIONS "/%s", c->args.pos[0]);
    int rc = ic_call(c, "DELETE", vg_buf_cstr(&p), NULL, NULL, NULL);
    vg_buf_free(&p);
    if (rc)
        return rc;
    if (c->json)
        ic_print_json(c->answer.n ? vg_str_make(c->answer.p, c->answer.n) : VG_STR_LIT("{}"));
    else
        printf("suppression rule %s deleted\n", c->args.pos[0]);
    return CLI_OK;
}

/* ---- the groups ---- */

static const ic_sub detection_subs[] = {
    { "list", &det_list_spec, det_list },       { "show", &det_show_spec, det_show },
    { "create", &det_create_spec, det_create }, { "update", &det_update_spec, det_update },
    { "delete", &det_delete_spec, det_delete }, { "enable", &det_enable_spec, det_enable },
    { "disable", &det_disable_spec, det_disable }, { "run", &det_run_spec, det_run },
};
static const ic_sub suppression_subs[] = {
    { "list", &sup_list_spec, sup_list },
    { "create", &sup_create_spec, sup_create },
    { "delete", &sup_delete_spec, sup_delete },
};

int cmd_detections(int argc, char **argv)
{
    return ic_dispatch("detections", "custom detection rules: KQL run on a schedule",
                       detection_subs, sizeof detection_subs / sizeof detection_subs[0], argc, argv);
}

int cmd_suppressions(int argc, char **argv)
{
    return ic_dispatch("suppressions", "suppression rules: alerts resolved or hidden on arrival",
                       suppression_subs, sizeof suppression_subs / sizeof suppression_subs[0], argc,
                       argv);
}
