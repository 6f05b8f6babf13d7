/*
 * cmd_incidents.c - `vigil incidents` and `vigil alerts`: work the incident
 * queue of a vigild from the command line through its Graph-shaped API
 * (/api/v1/security/incidents and /alerts_v2).
 *
 *   vigil incidents list [--filter ODATA] [--status S] [--severity S]
 *                        [--assigned-to U] [--top N] [--skip N] [--orderby F] [--all]
 *   vigil incidents show ID [--alerts] [--graph]
 *   vigil incidents update ID [--status S] [--classification C] [--determination D]
 *                        [--assign U | --unassign] [--tag T ...] [--untag T ...]
 *                        [--severity S] [--name N] [--description D] [--comment TEXT]
 *                        [--if-match N]
 *   vigil alerts list|show|update (the same, for alerts)
 *
 * An update reads the current version (the ETag) first and sends it back
 * with If-Match, so a change someone made in between makes it fail with a
 * clear message instead of being overwritten; --if-match N pins the version
 * the user saw. Tags are added to (--tag) and removed from (--untag) the
 * current customTags.
 */
#include <string.h>

#include "cmd_incidents_int.h"

#define IC_INCIDENTS "/api/v1/security/incidents"
#define IC_ALERTS "/api/v1/security/alerts_v2"
#define IC_CELL_WIDTH 32     /* table cells but the last are cut to this */

static const char *const inc_statuses[] = { "active", "inProgress", "resolved", "redirected",
                                            "awaitingAction", NULL };
static const char *const inc_set_statuses[] = { "active", "inProgress", "resolved", NULL };
static const char *const alert_statuses[] = { "new", "inProgress", "resolved", NULL };
static const char *const severities[] = { "informational", "low", "medium", "high", "unknown", NULL };
static const char *const classifications[] = { "unknown", "falsePositive", "truePositive",
                                               "informationalExpectedActivity", NULL };
/* Graph's determination values; its pages spell some two ways (both accepted) */
static const char *const determinations[] = {
    "unknown", "apt", "malware", "securityPersonnel", "securityTesting", "unwantedSoftware",
    "other", "multiStagedAttack", "compromisedAccount", "compromisedUser", "phishing",
    "maliciousUserActivity", "notMalicious", "clean", "notEnoughDataToValidate",
    "insufficientData", "confirmedUserActivity", "confirmedActivity",
    "lineOfBusinessApplication", NULL
};

/* What differs between incidents and alerts. */
typedef struct ic_kind {
    const char *noun;          /* "incident" */
    const char *base;          /* route */
    bool incident;
} ic_kind;
static const ic_kind K_INCIDENT = { "incident", IC_INCIDENTS, true };
static const ic_kind K_ALERT = { "alert", IC_ALERTS, false };

/* ---- settings tables ---- */

#define OFF IC_OFF
#define LIST_DEFS(statuses_doc)                                                                  \
    IC_CONN_DEFS,                                                                                \
    { "filter", VG_CFG_STRING, "", 0, 0, false, OFF(filter),                                     \
      "OData $filter, e.g. \"severity eq 'high' and status ne 'resolved'\"" },                   \
    { "status", VG_CFG_STRING, "", 0, 0, false, OFF(status), "only this status: " statuses_doc },\
    { "severity", VG_CFG_STRING, "", 0, 0, false, OFF(severity),                                 \
      "only this severity: informational, low, medium, high" },                                  \
    { "assigned-to", VG_CFG_STRING, "", 0, 0, false, OFF(assigned_to), "only those assigned to U" }, \
    { "top", VG_CFG_INT, "0", 0, IC_MAX_TOP, false, OFF(top),                                    \
      "at most N per page (0: the server's default, 100)" },                                     \
    { "skip", VG_CFG_INT, "0", 0, INT64_MAX, false, OFF(skip), "skip the first N" },             \
    { "orderby", VG_CFG_STRING, "", 0, 0, false, OFF(orderby),                                   \
      "sort: \"field [asc|desc], ...\" (e.g. \"lastUpdateDateTime desc\")" },                    \
    { "all", VG_CFG_BOOL, "false", 0, 0, false, OFF(all), "follow @odata.nextLink: every page" }, \
    { "count", VG_CFG_BOOL, "false", 0, 0, false, OFF(count),                                    \
      "json: ask for @odata.count (the table always shows it)" }

static const vg_cfg_def inc_list_defs[] = { LIST_DEFS(
    "active, inProgress, resolved, redirected") };
static const vg_cfg_def alert_list_defs[] = { LIST_DEFS("new, inProgress, resolved") };

static const vg_cfg_def inc_show_defs[] = {
    IC_CONN_DEFS,
    { "alerts", VG_CFG_BOOL, "false", 0, 0, false, OFF(alerts),
      "also list the incident's alerts (with their evidence counts)" },
    { "graph", VG_CFG_BOOL, "false", 0, 0, false, OFF(graph),
      "also print the incident graph (entities and alerts as nodes and edges)" },
};
static const vg_cfg_def alert_show_defs[] = { IC_CONN_DEFS };

#define UPDATE_DEFS(statuses_doc)                                                                \
    IC_CONN_DEFS,                                                                                \
    { "status", VG_CFG_STRING, "", 0, 0, false, OFF(status), "set the status: " statuses_doc },  \
    { "classification", VG_CFG_STRING, "", 0, 0, false, OFF(classification),                     \
      "truePositive, falsePositive, informationalExpectedActivity or unknown" },                 \
    { "determination", VG_CFG_STRING, "", 0, 0, false, OFF(determination),                       \
      "e.g. malware, phishing, securityTesting, notMalicious, other" },                          \
    { "assign", VG_CFG_STRING, "", 0, 0, false, OFF(assign), "assign to user or group U" },      \
    { "unassign", VG_CFG_BOOL, "false", 0, 0, false, OFF(unassign), "clear the assignee" },      \
    { "comment", VG_CFG_STRING, "", 0, 0, false, OFF(comment), "add a comment" },                \
    { "if-match", VG_CFG_STRING, "", 0, 0, false, OFF(if_match),                                 \
      "change only if the version is still N (from show); default: the version read first" }

static const vg_cfg_def inc_update_defs[] = {
    UPDATE_DEFS("active, inProgress, resolved"),
    { "tag", VG_CFG_LIST, "", 0, 0, false, OFF(tag), "add custom tag T (repeat for several)" },
    { "untag", VG_CFG_LIST, "", 0, 0, false, OFF(untag), "remove custom tag T (repeatable)" },
    { "severity", VG_CFG_STRING, "", 0, 0, false, OFF(severity),
      "override the severity: informational, low, medium, high" },
    { "name", VG_CFG_STRING, "", 0, 0, false, OFF(name), "rename the incident" },
    { "description", VG_CFG_STRING, "", 0, 0, false, OFF(description), "set the description" },
};
static const vg_cfg_def alert_update_defs[] = { UPDATE_DEFS("new, inProgress, resolved") };
#undef OFF

#define SPEC(var, prog, summary, usage, defs) \
    static const vg_cfg_spec var = { prog, summary, usage, defs, IC_NDEFS(defs) }
SPEC(inc_list_spec, "vigil incidents list", "list incidents (newest change first)",
     "vigil incidents list [--filter ODATA] [--status S] [--severity S] [--assigned-to U] [--top N] "
     "[--skip N] [--orderby F] [--all]",
     inc_list_defs);
SPEC(inc_show_spec, "vigil incidents show", "show one incident: state, entities, alerts, comments",
     "vigil incidents show ID [--alerts] [--graph]", inc_show_defs);
SPEC(inc_update_spec, "vigil incidents update",
     "change an incident's status, classification, assignee, tags...; add a comment",
     "vigil incidents update ID [--status S] [--classification C] [--determination D] "
     "[--assign U | --unassign] [--tag T ...] [--severity S] [--name N] [--comment TEXT] [--if-match N]",
     inc_update_defs);
SPEC(alert_list_spec, "vigil alerts list", "list alerts",
     "vigil alerts list [--filter ODATA] [--status S] [--severity S] [--assigned-to U] [--top N] "
     "[--skip N] [--orderby F] [--all]",
     alert_list_defs);
SPEC(alert_show_spec, "vigil alerts show", "show one alert: state, evidence, comments",
     "vigil alerts show ID", alert_show_defs);
SPEC(alert_update_spec, "vigil alerts update",
     "change an alert's status, classification, assignee; add a comment",
     "vigil alerts update ID [--status S] [--classification C] [--determination D] "
     "[--assign U | --unassign] [--comment TEXT] [--if-match N]",
     alert_update_defs);

/* ---- helpers ---- */

/* "2025-01-06T10:00:01.123Z" -> "2025-01-06 10:00:01" */
static vg_str cell_time(ic_ctx *c, vg_str t)
{
    if (t.n < 19 || t.p[10] != 'T')
        return t;
    char *p = vg_arena_memdup(&c->ans, t.p, 19);
    if (!p)
        return t;
    p[10] = ' ';
    return vg_str_make(p, 19);
}

/* A readable name for an entity summary or an evidence item: a string, or
 * an object's first name-like member (dotted paths into Graph's evidence). */
static vg_str label_of(ic_ctx *c, const vg_json *v)
{
    static const char *const keys[] = {
        "displayName", "deviceDnsName", "deviceName", "name", "userPrincipalName", "accountName",
        "userAccount.userPrincipalName", "userAccount.accountName", "imageFile.fileName",
        "fileDetails.fileName", "url", "ipAddress", "primaryAddress", "recipientEmailAddress",
        "subject", "registryKey", "upn", "mailbox", "value", "id", NULL
    };
    if (v->kind != VG_JSON_OBJECT)
        return vg_json_text(v);
    for (size_t i = 0; keys[i]; i++) {
        const vg_json *m = vg_json_path(v, keys[i]);
        if (m && m->kind != VG_JSON_OBJECT && m->kind != VG_JSON_ARRAY && vg_json_text(m).n)
            return vg_json_text(m);
    }
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_json_write(&b, v);
    vg_str r = vg_str_dup(&c->ans, vg_str_make(b.p ? b.p : "", b.n));
    vg_buf_free(&b);
    return r;
}

/* Labels of an array member joined with ", "; "-" when empty. */
static vg_str labels(ic_ctx *c, const vg_json *obj, const char *key)
{
    const vg_json *v = vg_json_get(obj, key);
    if (!v || v->kind != VG_JSON_ARRAY) {
        vg_str s = ic_get(obj, key);
        return s.n ? s : VG_STR_LIT("-");
    }
    vg_buf b;
    vg_buf_init(&b, 0);
    for (uint32_t i = 0; i < v->n; i++) {
        if (i)
            vg_buf_puts(&b, ", ");
        vg_buf_putstr(&b, label_of(c, v->kids[i]));
    }
    vg_str r = b.n ? vg_str_dup(&c->ans, vg_str_make(b.p, b.n)) : VG_STR_LIT("-");
    vg_buf_free(&b);
    return r.p ? r : VG_STR_LIT("-");
}

static vg_str or_dash(vg_str s) { return s.n ? s : VG_STR_LIT("-"); }

static bool check_alert_id(const ic_ctx *c, const char *id)
{
    size_t n = strlen(id);
    if (!n || n > IC_MAX_ID) {
        ic_err(c, "alert id: expected 1 to %d characters, got %zu", IC_MAX_ID, n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.' || ch == ':')) {
            ic_err(c, "alert id '%s': character %zu ('%c') is not allowed", id, i + 1, ch);
            return false;
        }
    }
    return true;
}

static bool check_id(const ic_ctx *c, const ic_kind *k, const char *id)
{
    return k->incident ? ic_check_num_id(c, "incident id", id) : check_alert_id(c, id);
}

/* "lastUpdateDateTime desc, severity" */
static bool check_orderby(const ic_ctx *c, const char *o)
{
    vg_str s = vg_str_c(o);
    size_t i = 0;
    while (i < s.n) {
        while (i < s.n && s.p[i] == ' ')
            i++;
        size_t f = i;
        while (i < s.n && ((s.p[i] >= 'a' && s.p[i] <= 'z') || (s.p[i] >= 'A' && s.p[i] <= 'Z') ||
                           (s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '/'))
            i++;
        if (i == f)
            goto bad;
        while (i < s.n && s.p[i] == ' ')
            i++;
        if (i + 3 <= s.n && (!strncmp(s.p + i, "asc", 3) || !strncmp(s.p + i, "desc", 4)))
            i += s.p[i] == 'a' ? 3 : 4;
        while (i < s.n && s.p[i] == ' ')
            i++;
        if (i < s.n && s.p[i] != ',')
            goto bad;
        if (i < s.n && ++i == s.n)
            goto bad;
    }
    if (s.n)
        return true;
bad:
    ic_err(c, "--orderby: expected \"field [asc|desc], ...\", got '%s' (at character %zu)", o, i + 1);
    return false;
}

/* Appends 'text' as an OData string literal ('' doubles a quote). */
static void put_odata_str(vg_buf *b, const char *text)
{
    vg_buf_putc(b, '\'');
    for (const char *p = text; *p; p++) {
        if (*p == '\'')
            vg_buf_putc(b, '\'');
        vg_buf_putc(b, *p);
    }
    vg_buf_putc(b, '\'');
}

/* ---- list ---- */

static void incident_row(ic_ctx *c, ic_table *t, const vg_json *it)
{
    vg_str cells[7] = { ic_get(it, "id"), or_dash(ic_get(it, "severity")),
                        or_dash(ic_get(it, "status")), or_dash(ic_get(it, "alertCount")),
                        or_dash(ic_get(it, "assignedTo")),
                        or_dash(cell_time(c, ic_get(it, "lastUpdateDateTime"))),
                        ic_get(it, "displayName") };
    ic_table_row(t, cells);
}

static void alert_row(ic_ctx *c, ic_table *t, const vg_json *it)
{
    vg_str cells[7] = { ic_get(it, "id"), or_dash(ic_get(it, "severity")),
                        or_dash(ic_get(it, "status")), or_dash(ic_get(it, "incidentId")),
                        or_dash(ic_get(it, "assignedTo")),
                        or_dash(cell_time(c, ic_get(it, "createdDateTime"))),
                        ic_get(it, "title") };
    ic_table_row(t, cells);
}

static int do_list(ic_ctx *c, const ic_kind *k)
{
    const ic_settings *s = &c->s;
    if (!ic_check_npos(c, 0, "takes no arguments"))
        return CLI_USAGE;
    const char *canon;
    vg_buf f, p;
    vg_buf_init(&f, 0);
    vg_buf_init(&p, 0);
    int rc = CLI_USAGE;
    if (!ic_check_text(c, "--filter", s->filter, IC_MAX_FILTER, true))
        goto out;
    /* --filter as given when alone (the server's column numbers then match it) */
    bool more = s->status[0] || s->severity[0] || s->assigned_to[0];
    if (s->filter[0])
        vg_buf_printf(&f, more ? "(%s)" : "%s", s->filter);
    if (s->status[0]) {
        if (!ic_check_enum(c, "--status", s->status, k->incident ? inc_statuses : alert_statuses,
                           &canon))
            goto out;
        vg_buf_printf(&f, "%sstatus eq '%s'", f.n ? " and " : "", canon);
    }
    if (s->severity[0]) {
        if (!ic_check_enum(c, "--severity", s->severity, severities, &canon))
            goto out;
        vg_buf_printf(&f, "%sseverity eq '%s'", f.n ? " and " : "", canon);
    }
    if (s->assigned_to[0]) {
        if (!ic_check_text(c, "--assigned-to", s->assigned_to, IC_MAX_NAME, false))
            goto out;
        vg_buf_printf(&f, "%sassignedTo eq ", f.n ? " and " : "");
        put_odata_str(&f, s->assigned_to);
    }
    if (f.n > IC_MAX_FILTER) {
        ic_err(c, "the filter (--filter and the options) is %zu bytes, at most %d are allowed", f.n,
               IC_MAX_FILTER);
        goto out;
    }
    if (s->orderby[0] && !check_orderby(c, s->orderby))
        goto out;
    vg_buf_puts(&p, k->base);
    char sep = '?';
    if (f.n) {
        vg_buf_printf(&p, "%c$filter=", sep);
        cli_api_put_query(&p, vg_str_make(f.p, f.n));
        sep = '&';
    }
    if (s->orderby[0]) {
        vg_buf_printf(&p, "%c$orderby=", sep);
        cli_api_put_query(&p, vg_str_c(s->orderby));
        sep = '&';
    }
    if (s->top) {
        vg_buf_printf(&p, "%c$top=%lld", sep, (long long)s->top);
        sep = '&';
    }
    if (s->skip) {
        vg_buf_printf(&p, "%c$skip=%lld", sep, (long long)s->skip);
        sep = '&';
    }
    if (s->count || !c->json)
        vg_buf_printf(&p, "%c$count=true", sep);
    static const char *const inc_head[] = { "ID", "SEVERITY", "STATUS", "ALERTS", "ASSIGNED",
                                            "LAST UPDATE", "NAME" };
    static const char *const alert_head[] = { "ID", "SEVERITY", "STATUS", "INCIDENT", "ASSIGNED",
                                              "CREATED", "TITLE" };
    ic_table t;
    ic_table_init(&t, k->incident ? inc_head : alert_head, 7, IC_CELL_WIDTH, &c->a);
    rc = ic_list(c, vg_buf_cstr(&p), s->all, &t, k->incident ? incident_row : alert_row);
    ic_table_free(&t);
out:
    vg_buf_free(&f);
    vg_buf_free(&p);
    return rc;
}

static int inc_list(ic_ctx *c) { return do_list(c, &K_INCIDENT); }
static int alert_list(ic_ctx *c) { return do_list(c, &K_ALERT); }

/* ---- show ---- */

static void print_comments(ic_ctx *c, const vg_json *obj)
{
    const vg_json *cm = vg_json_get(obj, "comments");
    if (!cm || cm->kind != VG_JSON_ARRAY || !cm->n)
        return;
    printf("\nComments:\n");
    for (uint32_t i = 0; i < cm->n; i++) {
        const vg_json *x = cm->kids[i];
        vg_str when = cell_time(c, ic_get(x, "createdDateTime"));
        printf("  %.*s  %.*s: %.*s\n", VG_STR_FMT(or_dash(when)), VG_STR_FMT(or_dash(ic_get(x, "createdByDisplayName"))),
               VG_STR_FMT(ic_get(x, "comment")));
    }
}

static void print_line(const char *label, vg_str v)
{
    printf("  %-16s %.*s\n", label, VG_STR_FMT(or_dash(v)));
}

static void print_state(ic_ctx *c, const vg_json *o)
{
    print_line("Status:", ic_get(o, "status"));
    print_line("Severity:", ic_get(o, "severity"));
    vg_str cl = ic_get(o, "classification"), de = ic_get(o, "determination");
    printf("  %-16s %.*s / %.*s\n", "Classification:", VG_STR_FMT(or_dash(cl)),
           VG_STR_FMT(or_dash(de)));
    vg_str as = ic_get(o, "assignedTo");
    print_line("Assigned to:", as.n ? as : VG_STR_LIT("(unassigned)"));
}

static void print_evidence(ic_ctx *c, const vg_json *ev)
{
    if (!ev || ev->kind != VG_JSON_ARRAY || !ev->n)
        return;
    printf("\nEvidence (%u):\n", ev->n);
    for (uint32_t i = 0; i < ev->n; i++) {
        const vg_json *x = ev->kids[i];
        vg_str type = ic_get(x, "@odata.type");
        ptrdiff_t dot = vg_str_rchr(type, '.');
        if (dot >= 0) {
            type.p += dot + 1;
            type.n -= (size_t)dot + 1;
        }
        printf("  %-22.*s %.*s", VG_STR_FMT(or_dash(type)), VG_STR_FMT(label_of(c, x)));
        vg_str cmd = ic_get(x, "processCommandLine");
        if (cmd.n)
            printf("  \"%.*s\"", VG_STR_FMT(cmd));
        vg_str roles = ic_join(c, x, "roles");
        if (roles.n)
            printf("  [%.*s]", VG_STR_FMT(roles));
        fputc('\n', stdout);
    }
}

static void print_graph(const vg_json *g)
{
    const vg_json *nodes = vg_json_get(g, "nodes"), *edges = vg_json_get(g, "edges");
    uint32_t nn = nodes && nodes->kind == VG_JSON_ARRAY ? nodes->n : 0;
    uint32_t ne = edges && edges->kind == VG_JSON_ARRAY ? edges->n : 0;
    printf("\nGraph: %u nodes, %u edges\n", nn, ne);
    for (uint32_t i = 0; i < nn; i++) {
        const vg_json *x = nodes->kids[i];
        printf("  node %-28.*s %-10.*s %.*s\n", VG_STR_FMT(ic_get(x, "id")),
               VG_STR_FMT(ic_get(x, "type")), VG_STR_FMT(ic_get(x, "label")));
    }
    for (uint32_t i = 0; i < ne; i++) {
        const vg_json *x = edges->kids[i];
        printf("  edge %.*s -> %.*s (%.*s)\n", VG_STR_FMT(ic_get(x, "source")),
               VG_STR_FMT(ic_get(x, "target")), VG_STR_FMT(or_dash(ic_get(x, "kind"))));
    }
}

static void print_incident(ic_ctx *c, const vg_json *o, int64_t version)
{
    printf("Incident %.*s: %.*s\n", VG_STR_FMT(ic_get(o, "id")), VG_STR_FMT(ic_get(o, "displayName")));
    print_state(c, o);
    vg_str red = ic_get(o, "redirectIncidentId");
    if (red.n)
        print_line("Redirected to:", red);
    print_line("Tags:", labels(c, o, "customTags"));
    print_line("System tags:", labels(c, o, "systemTags"));
    print_line("Alerts:", ic_get(o, "alertCount"));
    print_line("Devices:", labels(c, o, "devices"));
    print_line("Users:", labels(c, o, "users"));
    print_line("Mailboxes:", labels(c, o, "mailboxes"));
    print_line("Tactics:", labels(c, o, "tactics"));
    print_line("Techniques:", labels(c, o, "mitreTechniques"));
    print_line("Created:", cell_time(c, ic_get(o, "createdDateTime")));
    print_line("Last update:", cell_time(c, ic_get(o, "lastUpdateDateTime")));
    if (version >= 0)
        printf("  %-16s %lld\n", "Version:", (long long)version);
    vg_str desc = ic_get(o, "description");
    if (desc.n)
        printf("\n%.*s\n", VG_STR_FMT(desc));
    const vg_json *al = vg_json_get(o, "alerts");
    if (al && al->kind == VG_JSON_ARRAY) {
        printf("\nAlerts (%u):\n", al->n);
        static const char *const head[] = { "ID", "SEVERITY", "STATUS", "EVIDENCE", "CREATED", "TITLE" };
        ic_table t;
        ic_table_init(&t, head, 6, IC_CELL_WIDTH + 8, &c->ans);
        for (uint32_t i = 0; i < al->n; i++) {
            const vg_json *a = al->kids[i];
            const vg_json *ev = vg_json_get(a, "evidence");
            char nev[16];
            snprintf(nev, sizeof nev, "%u", ev && ev->kind == VG_JSON_ARRAY ? ev->n : 0);
            vg_str cells[6] = { ic_get(a, "id"), or_dash(ic_get(a, "severity")),
                                or_dash(ic_get(a, "status")), vg_str_c(nev),
                                or_dash(cell_time(c, ic_get(a, "createdDateTime"))),
                                ic_get(a, "title") };
            ic_table_row(&t, cells);
        }
        ic_table_print(&t);
        ic_table_free(&t);
    }
    print_comments(c, o);
}

static void print_alert(ic_ctx *c, const vg_json *o, int64_t version)
{
    printf("Alert %.*s: %.*s\n", VG_STR_FMT(ic_get(o, "id")), VG_STR_FMT(ic_get(o, "title")));
    print_state(c, o);
    print_line("Incident:", ic_get(o, "incidentId"));
    print_line("Category:", ic_get(o, "category"));
    print_line("Techniques:", labels(c, o, "mitreTechniques"));
    print_line("Service source:", ic_get(o, "serviceSource"));
    print_line("Detection src:", ic_get(o, "detectionSource"));
    print_line("Detector:", ic_get(o, "detectorId"));
    print_line("First activity:", cell_time(c, ic_get(o, "firstActivityDateTime")));
    print_line("Last activity:", cell_time(c, ic_get(o, "lastActivityDateTime")));
    print_line("Created:", cell_time(c, ic_get(o, "createdDateTime")));
    if (version >= 0)
        printf("  %-16s %lld\n", "Version:", (long long)version);
    vg_str desc = ic_get(o, "description"), rec = ic_get(o, "recommendedActions");
    if (desc.n)
        printf("\n%.*s\n", VG_STR_FMT(desc));
    if (rec.n)
        printf("\nRecommended actions:\n%.*s\n", VG_STR_FMT(rec));
    print_evidence(c, vg_json_get(o, "evidence"));
    print_comments(c, o);
}

static int do_show(ic_ctx *c, const ic_kind *k)
{
    if (!ic_check_npos(c, 1, "give one id"))
        return CLI_USAGE;
    const char *id = c->args.pos[0];
    if (!check_id(c, k, id))
        return CLI_USAGE;
    vg_buf p, out;
    vg_buf_init(&p, 0);
    vg_buf_init(&out, 0);
    vg_buf_printf(&p, "%s/%s%s", k->base, id, k->incident && c->s.alerts ? "?$expand=alerts" : "");
    const vg_json *o, *g = NULL;
    int rc = ic_call(c, "GET", vg_buf_cstr(&p), NULL, NULL, &o);
    if (rc)
        goto out;
    int64_t version = ic_etag_version(o, &c->etag);
    vg_str raw = vg_str_make(c->answer.p, c->answer.n);
    if (c->json && !c->s.graph) {
        ic_print_json(raw);
        goto out;
    }
    if (c->s.graph) {
        vg_buf_clear(&p);
        vg_buf_printf(&p, "%s/%s/graph", k->base, id);
        if ((rc = ic_call(c, "GET", vg_buf_cstr(&p), NULL, NULL, &g)))
            goto out;
    }
    if (c->json) {
        /* the incident with its graph as one more member */
        vg_json_write(&out, o);
        if (out.n && out.p[out.n - 1] == '}' && o->kind == VG_JSON_OBJECT) {
            out.n--;
            vg_buf_puts(&out, o->n ? ",\"graph\":" : "\"graph\":");
            vg_json_write(&out, g);
            vg_buf_putc(&out, '}');
        }
        ic_print_json(vg_str_make(out.p, out.n));
        goto out;
    }
    if (k->incident)
        print_incident(c, o, version);
    else
        print_alert(c, o, version);
    if (g)
        print_graph(g);
out:
    vg_buf_free(&p);
    vg_buf_free(&out);
    return rc;
}

static int inc_show(ic_ctx *c) { return do_show(c, &K_INCIDENT); }
static int alert_show(ic_ctx *c) { return do_show(c, &K_ALERT); }

/* ---- update ---- */

static bool has_str(const vg_cfg_list *l, vg_str s)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (vg_str_eqc(s, l->v[i]))
            return true;
    return false;
}

/*
 * customTags after the change: the current ones minus --untag plus --tag,
 * without duplicates, as a JSON array into b.
 */
static bool put_tags(ic_ctx *c, const vg_json *cur, vg_buf *b)
{
    const vg_cfg_list *add = &c->s.tag, *del = &c->s.untag;
    const vg_json *ct = vg_json_get(cur, "customTags");
    vg_str kept[IC_MAX_TAG + VG_CFG_LIST_MAX];
    size_t n = 0;
    for (uint32_t i = 0; ct && ct->kind == VG_JSON_ARRAY && i < ct->n && n < IC_MAX_TAG; i++) {
        vg_str t = vg_json_text(ct->kids[i]);
        if (!has_str(del, t))
            kept[n++] = t;
    }
    for (uint32_t i = 0; i < add->n; i++) {
        vg_str t = vg_str_c(add->v[i]);
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = vg_str_eq(kept[j], t);
        if (!dup)
            kept[n++] = t;
    }
    if (n > 50) {
        ic_err(c, "--tag: the incident would have %zu custom tags, at most 50 are allowed", n);
        return false;
    }
    vg_buf_puts(b, b->n > 1 ? ",\"customTags\":[" : "\"customTags\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            vg_buf_putc(b, ',');
        vg_buf_put_json_str(b, kept[i]);
    }
    vg_buf_putc(b, ']');
    return true;
}

/* One member of the object being built in b (which starts with '{'). */
static void put_member(vg_buf *b, const char *key, const char *val)
{
    vg_buf_printf(b, "%s\"%s\":", b->n > 1 ? "," : "", key);
    vg_buf_put_json_str(b, vg_str_c(val));
}

/* "7" or W/"7" -> 7 */
static bool parse_if_match(const ic_ctx *c, const char *v, int64_t *out)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_printf(&b, "{\"@odata.etag\":");
    if (v[0] == 'W' || v[0] == '"')
        vg_buf_put_json_str(&b, vg_str_c(v));
    else {
        vg_buf_puts(&b, "\"W/\\\"");
        vg_buf_puts(&b, v);
        vg_buf_puts(&b, "\\\"\"");
    }
    vg_buf_putc(&b, '}');
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_json *j = NULL;
    *out = -1;
    if (!strpbrk(v, "\\\r\n") && vg_json_parse(&a, vg_str_make(b.p, b.n), &j, NULL) == VG_OK)
        *out = ic_etag_version(j, NULL);
    vg_arena_free(&a);
    vg_buf_free(&b);
    if (*out < 0)
        ic_err(c, "--if-match: expected a version number N (or W/\"N\"), got '%s'", v);
    return *out >= 0;
}

static int do_update(ic_ctx *c, const ic_kind *k)
{
    const ic_settings *s = &c->s;
    if (!ic_check_npos(c, 1, "give one id"))
        return CLI_USAGE;
    const char *id = c->args.pos[0];
    if (!check_id(c, k, id))
        return CLI_USAGE;
    const char *status = NULL, *cls = NULL, *det = NULL, *sev = NULL;
    int64_t pinned = -1;
    if ((s->status[0] &&
         !ic_check_enum(c, "--status", s->status, k->incident ? inc_set_statuses : alert_statuses,
                        &status)) ||
        (s->classification[0] &&
         !ic_check_enum(c, "--classification", s->classification, classifications, &cls)) ||
        (s->determination[0] &&
         !ic_check_enum(c, "--determination", s->determination, determinations, &det)) ||
        (s->severity[0] && !ic_check_enum(c, "--severity", s->severity, severities, &sev)) ||
        (s->assign[0] && !ic_check_text(c, "--assign", s->assign, IC_MAX_NAME, false)) ||
        (s->name[0] && !ic_check_text(c, "--name", s->name, IC_MAX_NAME, false)) ||
        !ic_check_text(c, "--description", s->description, IC_MAX_TEXT, true) ||
        !ic_check_text(c, "--comment", s->comment, IC_MAX_TEXT, true) ||
        (s->if_match[0] && !parse_if_match(c, s->if_match, &pinned)))
        return CLI_USAGE;
    if (s->assign[0] && s->unassign) {
        ic_err(c, "give either --assign U or --unassign, not both");
        return CLI_USAGE;
    }
    for (uint32_t i = 0; i < s->tag.n + s->untag.n; i++) {
        const char *t = i < s->tag.n ? s->tag.v[i] : s->untag.v[i - s->tag.n];
        if (!ic_check_text(c, i < s->tag.n ? "--tag" : "--untag", t, IC_MAX_TAG, false))
            return CLI_USAGE;
    }
    bool tags = s->tag.n || s->untag.n;
    bool patch = status || cls || det || sev || s->assign[0] || s->unassign || s->name[0] ||
                 s->description[0] || tags;
    if (!patch && !s->comment[0]) {
        ic_err(c, "nothing to change: give --status, --classification, --assign, --comment... "
                  "(see vigil %s --help)", c->cmd);
        return CLI_USAGE;
    }
    vg_buf p, body, im;
    vg_buf_init(&p, 0);
    vg_buf_init(&body, 0);
    vg_buf_init(&im, 0);
    vg_buf_printf(&p, "%s/%s", k->base, id);
    const char *path = vg_buf_cstr(&p);
    const vg_json *cur, *res = NULL;
    int64_t version = -1;
    int rc = CLI_ERR;
    if (patch) {
        /* the version to send back (and the tags to change) */
        if ((rc = ic_call(c, "GET", path, NULL, NULL, &cur)))
            goto out;
        rc = CLI_ERR;
        int64_t seen = ic_etag_version(cur, &c->etag);
        version = pinned >= 0 ? pinned : seen;
        vg_buf_putc(&body, '{');
        if (status)
            put_member(&body, "status", status);
        if (cls)
            put_member(&body, "classification", cls);
        if (det)
            put_member(&body, "determination", det);
        if (sev)
            put_member(&body, "severity", sev);
        if (s->assign[0] || s->unassign)
            put_member(&body, "assignedTo", s->assign);
        if (s->name[0])
            put_member(&body, "displayName", s->name);
        if (s->description[0])
            put_member(&body, "description", s->description);
        if (tags && !put_tags(c, cur, &body)) {
            rc = CLI_USAGE;
            goto out;
        }
        vg_buf_putc(&body, '}');
        if (version >= 0)
            vg_buf_printf(&im, "W/\"%lld\"", (long long)version);
        if ((rc = ic_request(c, "PATCH", path, &body, version >= 0 ? vg_buf_cstr(&im) : NULL)))
            goto out;
        rc = CLI_ERR;
        if (c->status == 412 || c->status == 409) {
            /* someone changed it since: say which version it is now */
            int64_t now = -1;
            const vg_json *again;
            if (ic_call(c, "GET", path, NULL, NULL, &again) == CLI_OK)
                now = ic_etag_version(again, &c->etag);
            if (now >= 0)
                ic_err(c, "%s %s was changed by someone else (version %lld now, this update was "
                          "for version %lld); run again",
                       k->noun, id, (long long)now, (long long)version);
            else
                ic_err(c, "%s %s was changed by someone else; run again", k->noun, id);
            goto out;
        }
        if (c->status < 200 || c->status > 299) {
            ic_print_server_error(c, "PATCH");
            goto out;
        }
        if (ic_parse_answer(c, &res))
            goto out;
        version = ic_etag_version(res, &c->etag);
    }
    if (s->comment[0]) {
        vg_buf_clear(&body);
        vg_buf_puts(&body, "{\"comment\":");
        vg_buf_put_json_str(&body, vg_str_c(s->comment));
        vg_buf_putc(&body, '}');
        vg_buf_printf(&p, "/comments");
        if ((rc = ic_call(c, "POST", vg_buf_cstr(&p), &body, NULL, NULL)))
            goto out;
        rc = CLI_ERR;
        /* the object as it is now, comment included */
        p.n -= strlen("/comments");
        if (ic_call(c, "GET", vg_buf_cstr(&p), NULL, NULL, &res))
            goto out;
        version = ic_etag_version(res, &c->etag);
    }
    if (c->json) {
        ic_print_json(vg_str_make(c->answer.p, c->answer.n));
    } else {
        printf("%s %s updated", k->noun, id);
        if (version >= 0)
            printf(" (version %lld)", (long long)version);
        printf(": status %.*s, assigned to %.*s\n", VG_STR_FMT(or_dash(ic_get(res, "status"))),
               VG_STR_FMT(or_dash(ic_get(res, "assignedTo"))));
    }
    rc = CLI_OK;
out:
    vg_buf_free(&p);
    vg_buf_free(&body);
    vg_buf_free(&im);
    return rc;
}

static int inc_update(ic_ctx *c) { return do_update(c, &K_INCIDENT); }
static int alert_update(ic_ctx *c) { return do_update(c, &K_ALERT); }

/* ---- the groups ---- */

static const ic_sub incident_subs[] = {
    { "list", &inc_list_spec, inc_list },
    { "show", &inc_show_spec, inc_show },
    { "update", &inc_update_spec, inc_update },
};
static const ic_sub alert_subs[] = {
    { "list", &alert_list_spec, alert_list },
    { "show", &alert_show_spec, alert_show },
    { "update", &alert_update_spec, alert_update },
};

int cmd_incidents(int argc, char **argv)
{
    return ic_dispatch("incidents", "work the incident queue of a vigild", incident_subs,
                       sizeof incident_subs / sizeof incident_subs[0], argc, argv);
}

int cmd_alerts(int argc, char **argv)
{
    return ic_dispatch("alerts", "list, show and update the alerts of a vigild", alert_subs,
                       sizeof alert_subs / sizeof alert_subs[0], argc, argv);
}
