/*
 * custom_rule.c - the custom detection rule model: Graph's beta
 * detectionRule body read into a vg_cd_rule, and the tables it is checked
 * against (periods with their lookbacks, severities, categories, the
 * impacted-asset identifiers and the columns they name, Defender's entity
 * columns).
 *
 * A POST body must carry every required field; a PATCH body starts from the
 * stored rule and replaces what it names. Read-only fields that clients
 * echo back (id, createdBy, lastRunDetails, schedule.nextRunDateTime,
 * "@odata.etag") are ignored, as Graph does.
 */
#include <string.h>

#include "../core/vg_json.h"
#include "vg_custom.h"

/* Defender's frequencies and the data each run looks back over. */
static const vg_cd_period periods[] = {
    { "0", 0, VG_CD_NRT_LATENESS_MS },
    { "1H", 3600000LL, 4 * 3600000LL },
    { "3H", 3 * 3600000LL, 12 * 3600000LL },
    { "12H", 12 * 3600000LL, 48 * 3600000LL },
    { "24H", 24 * 3600000LL, 30 * 24 * 3600000LL },
};

const vg_cd_period *vg_cd_period_find(vg_str s)
{
    for (size_t i = 0; i < sizeof periods / sizeof periods[0]; i++)
        if (vg_str_eqc_ci(s, periods[i].name))
            return &periods[i];
    return NULL;
}

/* Graph's impactedAsset identifiers, plus Vigil's for file, IP and URL evidence. */
static const vg_cd_ident idents[] = {
    { "deviceId", "DeviceId", VG_CD_DEVICE },
    { "deviceName", "DeviceName", VG_CD_DEVICE },
    { "remoteDeviceName", "RemoteDeviceName", VG_CD_DEVICE },
    { "accountSid", "AccountSid", VG_CD_USER },
    { "accountUpn", "AccountUpn", VG_CD_USER },
    { "accountObjectId", "AccountObjectId", VG_CD_USER },
    { "accountName", "AccountName", VG_CD_USER },
    { "accountDomain", "AccountDomain", VG_CD_USER },
    { "initiatingProcessAccountSid", "InitiatingProcessAccountSid", VG_CD_USER },
    { "initiatingProcessAccountUpn", "InitiatingProcessAccountUpn", VG_CD_USER },
    { "initiatingProcessAccountObjectId", "InitiatingProcessAccountObjectId", VG_CD_USER },
    { "recipientObjectId", "RecipientObjectId", VG_CD_USER },
    { "recipientEmailAddress", "RecipientEmailAddress", VG_CD_MAILBOX },
    { "senderFromAddress", "SenderFromAddress", VG_CD_MAILBOX },
    { "senderMailFromAddress", "SenderMailFromAddress", VG_CD_MAILBOX },
    { "fileSha256", "SHA256", VG_CD_FILE },
    { "fileSha1", "SHA1", VG_CD_FILE },
    { "remoteIp", "RemoteIP", VG_CD_IP },
    { "remoteUrl", "RemoteUrl", VG_CD_URL },
};

const vg_cd_ident *vg_cd_ident_find(vg_str identifier)
{
    for (size_t i = 0; i < sizeof idents / sizeof idents[0]; i++)
        if (vg_str_eqc(identifier, idents[i].identifier))
            return &idents[i];
    return NULL;
}

const char *vg_cd_kind_odata(vg_cd_kind k)
{
    switch (k) {
    case VG_CD_DEVICE: return "#microsoft.graph.security.impactedDeviceAsset";
    case VG_CD_USER: return "#microsoft.graph.security.impactedUserAsset";
    case VG_CD_MAILBOX: return "#microsoft.graph.security.impactedMailboxAsset";
    case VG_CD_FILE: return "#vigil.impactedFileAsset";
    case VG_CD_IP: return "#vigil.impactedIpAsset";
    case VG_CD_URL: return "#vigil.impactedUrlAsset";
    }
    return "";
}

const char *const vg_cd_entity_columns[] = {
    "DeviceId", "DeviceName", "RemoteDeviceName", "RecipientEmailAddress", "SenderFromAddress",
    "SenderMailFromAddress", "RecipientObjectId", "AccountObjectId", "AccountSid", "AccountUpn",
    "InitiatingProcessAccountSid", "InitiatingProcessAccountUpn",
    "InitiatingProcessAccountObjectId", NULL,
};

bool vg_cd_is_entity_column(vg_str name)
{
    for (const char *const *c = vg_cd_entity_columns; *c; c++)
        if (vg_str_eqc(name, *c))
            return true;
    return false;
}

static const char *const severities[] = { "informational", "low", "medium", "high", NULL };

/* Defender's alert categories (Graph spells them without spaces). */
static const char *const categories[] = {
    "Collection", "CommandAndControl", "CredentialAccess", "DefenseEvasion", "Discovery",
    "Execution", "Exfiltration", "Exploit", "InitialAccess", "LateralMovement", "Malware",
    "Persistence", "PrivilegeEscalation", "Ransomware", "SuspiciousActivity",
    "UnwantedSoftware", "Impact", "Reconnaissance", "ResourceDevelopment", "ThreatManagement",
    NULL,
};

bool vg_cd_category_valid(vg_str category)
{
    for (const char *const *c = categories; *c; c++)
        if (vg_str_eqc(category, *c))
            return true;
    return false;
}

/* ---- reading a body ---- */

static vg_err want_string(const vg_json *v, const char *path, size_t max, bool nonempty,
                          vg_str *out, vg_diag *d)
{
    if (v->kind != VG_JSON_STRING)
        return vg_diag_set(d, VG_EINVAL, "%s: a string is expected", path);
    if (v->str.n > max)
        return vg_diag_set(d, VG_EINVAL, "%s: longer than %zu bytes", path, max);
    if (nonempty && !vg_str_trim(v->str).n)
        return vg_diag_set(d, VG_EINVAL, "%s: must not be empty", path);
    *out = v->str;
    return VG_OK;
}

static const vg_json *member(const vg_json *o, const char *key)
{
    return o && o->kind == VG_JSON_OBJECT ? vg_json_get(o, key) : NULL;
}

static vg_err read_template(const vg_json *t, vg_cd_rule *r, vg_diag *d)
{
    const char *P = "detectionAction.alertTemplate";
    if (t->kind != VG_JSON_OBJECT)
        return vg_diag_set(d, VG_EINVAL, "%s: an object is expected", P);
    const vg_json *v;
    vg_err e = VG_OK;
    if ((v = member(t, "title")) &&
        (e = want_string(v, "detectionAction.alertTemplate.title", VG_CD_MAX_NAME, true, &r->title, d)))
        return e;
    if ((v = member(t, "description")) &&
        (e = want_string(v, "detectionAction.alertTemplate.description", VG_CD_MAX_TEXT, false,
                         &r->description, d)))
        return e;
    if ((v = member(t, "recommendedActions")) && v->kind != VG_JSON_NULL &&
        (e = want_string(v, "detectionAction.alertTemplate.recommendedActions", VG_CD_MAX_TEXT,
                         false, &r->recommended, d)))
        return e;
    if ((v = member(t, "severity"))) {
        if ((e = want_string(v, "detectionAction.alertTemplate.severity", 32, true, &r->severity, d)))
            return e;
        bool ok = false;
        for (const char *const *s = severities; *s && !ok; s++)
            if (vg_str_eqc(r->severity, *s))
                ok = true;
        if (!ok)
            return vg_diag_set(d, VG_EINVAL, "%s.severity: '%.*s' is not one of informational, "
                               "low, medium, high", P, VG_STR_FMT(r->severity));
    }
    if ((v = member(t, "category"))) {
        if ((e = want_string(v, "detectionAction.alertTemplate.category", 64, true, &r->category, d)))
            return e;
        if (!vg_cd_category_valid(r->category))
            return vg_diag_set(d, VG_EINVAL, "%s.category: '%.*s' is not a category (Execution, "
                               "Persistence, PrivilegeEscalation, DefenseEvasion, CredentialAccess, "
                               "Discovery, LateralMovement, Collection, CommandAndControl, "
                               "Exfiltration, Impact, InitialAccess, Malware, Ransomware, Exploit, "
                               "UnwantedSoftware, SuspiciousActivity, ...)",
                               P, VG_STR_FMT(r->category));
    }
    if ((v = member(t, "mitreTechniques"))) {
        if (v->kind != VG_JSON_ARRAY)
            return vg_diag_set(d, VG_EINVAL, "%s.mitreTechniques: an array of strings is expected", P);
        if (v->n > VG_CD_MAX_TECHNIQUES)
            return vg_diag_set(d, VG_EINVAL, "%s.mitreTechniques: more than %d", P,
                               VG_CD_MAX_TECHNIQUES);
        for (uint32_t i = 0; i < v->n; i++) {
            vg_str s = v->kids[i]->str;
            bool ok = v->kids[i]->kind == VG_JSON_STRING && s.n >= 5 && s.n <= 16 && s.p[0] == 'T';
            for (size_t k = 1; ok && k < s.n; k++)
                ok = (s.p[k] >= '0' && s.p[k] <= '9') || (s.p[k] == '.' && k == 5);
            if (!ok)
                return vg_diag_set(d, VG_EINVAL, "%s.mitreTechniques[%u]: '%.*s' is not a technique "
                                   "id such as T1059 or T1059.001", P, i, VG_STR_FMT(s));
            r->techniques[i] = s;
        }
        r->ntechniques = v->n;
    }
    if ((v = member(t, "impactedAssets"))) {
        if (v->kind != VG_JSON_ARRAY)
            return vg_diag_set(d, VG_EINVAL, "%s.impactedAssets: an array is expected", P);
        if (v->n > VG_CD_MAX_ASSETS)
            return vg_diag_set(d, VG_EINVAL, "%s.impactedAssets: more than %d", P, VG_CD_MAX_ASSETS);
        for (uint32_t i = 0; i < v->n; i++) {
            const vg_json *as = v->kids[i];
            const vg_json *id = member(as, "identifier"), *ty = member(as, "@odata.type");
            if (!id || id->kind != VG_JSON_STRING)
                return vg_diag_set(d, VG_EINVAL, "%s.impactedAssets[%u].identifier: missing", P, i);
            const vg_cd_ident *ident = vg_cd_ident_find(id->str);
            if (!ident)
                return vg_diag_set(d, VG_EINVAL, "%s.impactedAssets[%u].identifier: '%.*s' is not "
                                   "an identifier (deviceId, deviceName, remoteDeviceName, "
                                   "accountSid, accountUpn, accountObjectId, accountName, "
                                   "initiatingProcessAccountSid/Upn/ObjectId, recipientEmailAddress, "
                                   "senderFromAddress, senderMailFromAddress, recipientObjectId, "
                                   "fileSha256, fileSha1, remoteIp, remoteUrl)",
                                   P, i, VG_STR_FMT(id->str));
            /* Graph's three asset types must agree with the identifier */
            if (ty && ty->kind == VG_JSON_STRING && vg_str_starts_ci(ty->str, vg_str_c("#microsoft.graph")) &&
                ident->kind <= VG_CD_MAILBOX && !vg_str_eqc(ty->str, vg_cd_kind_odata(ident->kind)))
                return vg_diag_set(d, VG_EINVAL, "%s.impactedAssets[%u]: identifier '%s' belongs "
                                   "to %s, not %.*s", P, i, ident->identifier,
                                   vg_cd_kind_odata(ident->kind), VG_STR_FMT(ty->str));
            r->assets[i] = ident;
        }
        r->nassets = v->n;
    }
    return VG_OK;
}

vg_err vg_cd_rule_parse(vg_arena *a, vg_str body, const vg_cd_rule *base, vg_cd_rule *r,
                        vg_diag *d)
{
    if (base)
        *r = *base;
    else
        memset(r, 0, sizeof *r), r->enabled = true;
    vg_json *root = NULL;
    vg_diag jd;
    vg_diag_clear(&jd);
    if (vg_json_parse(a, body, &root, &jd) || root->kind != VG_JSON_OBJECT)
        return vg_diag_set(d, VG_EINVAL, "the body must be a JSON detectionRule object%s%s",
                           jd.msg[0] ? ": " : "", jd.msg);
    const vg_json *v;
    vg_err e;
    if ((v = member(root, "displayName")) &&
        (e = want_string(v, "displayName", VG_CD_MAX_NAME, true, &r->name, d)))
        return e;
    if ((v = member(root, "isEnabled"))) {
        if (v->kind != VG_JSON_TRUE && v->kind != VG_JSON_FALSE)
            return vg_diag_set(d, VG_EINVAL, "isEnabled: true or false is expected");
        r->enabled = v->kind == VG_JSON_TRUE;
    }
    if ((v = member(root, "queryCondition"))) {
        const vg_json *q = member(v, "queryText");
        if (!q)
            return vg_diag_set(d, VG_EINVAL, "queryCondition.queryText: missing");
        if ((e = want_string(q, "queryCondition.queryText", VG_CD_MAX_QUERY, true, &r->query, d)))
            return e;
    }
    if ((v = member(root, "schedule"))) {
        const vg_json *p = member(v, "period");
        if (!p || p->kind != VG_JSON_STRING)
            return vg_diag_set(d, VG_EINVAL, "schedule.period: missing (\"0\" for near-real-time, "
                               "\"1H\", \"3H\", \"12H\" or \"24H\")");
        if (!(r->period = vg_cd_period_find(p->str)))
            return vg_diag_set(d, VG_EINVAL, "schedule.period: '%.*s' is not one of \"0\" "
                               "(near-real-time), \"1H\", \"3H\", \"12H\", \"24H\"",
                               VG_STR_FMT(p->str));
    }
    if ((v = member(root, "detectionAction"))) {
        const vg_json *t = member(v, "alertTemplate");
        if (t && (e = read_template(t, r, d)))
            return e;
    }
    /* what every rule needs, whether created or patched */
    if (!r->name.n)
        return vg_diag_set(d, VG_EINVAL, "displayName: missing");
    if (!r->query.n)
        return vg_diag_set(d, VG_EINVAL, "queryCondition.queryText: missing");
    if (!r->period)
        return vg_diag_set(d, VG_EINVAL, "schedule.period: missing (\"0\" for near-real-time, "
                           "\"1H\", \"3H\", \"12H\" or \"24H\")");
    if (!r->title.n)
        return vg_diag_set(d, VG_EINVAL, "detectionAction.alertTemplate.title: missing");
    if (!r->severity.n)
        return vg_diag_set(d, VG_EINVAL, "detectionAction.alertTemplate.severity: missing");
    if (!r->category.n)
        return vg_diag_set(d, VG_EINVAL, "detectionAction.alertTemplate.category: missing");
    return VG_OK;
}
