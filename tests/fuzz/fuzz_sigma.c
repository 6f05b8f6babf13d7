/*
 * fuzz_sigma.c - the Sigma loader (sg_load_text) must never crash, recurse
 * without bound or allocate without bound on any input. Properties checked
 * as well: every document is a rule or a failure with a non-empty reason;
 * every rule's condition only names its own searches and evaluates; every
 * item index and value group is in range; the condition prints with
 * balanced parentheses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/sigma.h"

static void check_cond(const sg_rule *r, const sg_cond *c, unsigned depth)
{
    if (!c || depth > 100000)
        abort();
    switch (c->kind) {
    case SG_COND_SEARCH:
        if (c->search >= r->nsearches)
            abort();
        return;
    case SG_COND_NOT:
        check_cond(r, c->a, depth + 1);
        return;
    case SG_COND_AND:
    case SG_COND_OR:
        check_cond(r, c->a, depth + 1);
        check_cond(r, c->b, depth + 1);
        return;
    default:
        abort();
    }
}

static void check_rule(const sg_rule *r)
{
    if (!r->title.p || !r->title.n)
        abort();
    if (r->kind == SG_KIND_CORRELATION) {
        if (r->corr.nrules == 0 || r->corr.timespan <= 0)
            abort();
        return;
    }
    for (uint32_t s = 0; s < r->nsearches; s++)
        for (uint32_t a = 0; a < r->searches[s].nalts; a++)
            for (uint32_t i = 0; i < r->searches[s].alts[a].nitems; i++)
                if (r->searches[s].alts[a].items[i] >= r->nitems)
                    abort();
    for (uint32_t i = 0; i < r->nitems; i++) {
        const sg_item *it = &r->items[i];
        for (uint32_t v = 0; v < it->nvalues; v++)
            if (it->values[v].group >= it->ngroups || it->values[v].text.n > SG_MAX_VALUE ||
                (it->values[v].text.p && it->values[v].text.p[it->values[v].text.n] != '\0'))
                abort();
    }
    check_cond(r, r->cond, 0);
    bool t[SG_MAX_SEARCHES] = { false };
    (void)sg_cond_eval(r->cond, t);
    vg_buf b;
    vg_buf_init(&b, 0);
    sg_cond_format(r, r->cond, &b);
    /* search names may hold parentheses (reachable through patterns) */
    bool plain_names = true;
    for (uint32_t s = 0; s < r->nsearches; s++)
        if (memchr(r->searches[s].name.p, '(', r->searches[s].name.n) ||
            memchr(r->searches[s].name.p, ')', r->searches[s].name.n))
            plain_names = false;
    long open = 0;
    for (size_t i = 0; plain_names && i < b.n; i++)
        if (b.p[i] == '(')
            open++;
        else if (b.p[i] == ')' && --open < 0)
            abort();
    if (open != 0 || b.failed)
        abort();
    vg_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_ruleset rs;
    sg_ruleset_init(&rs);
    vg_err e = sg_load_text(&rs, VG_STR_LIT("fuzz.yml"), vg_str_make((const char *)data, size));
    if (e != VG_OK && e != VG_ENOMEM)
        abort();
    if (e == VG_OK && rs.nrules + rs.nfailures == 0)
        abort();   /* nothing loaded and nothing said */
    for (uint32_t i = 0; i < rs.nfailures; i++)
        if (!rs.failures[i].reason.p || rs.failures[i].reason.n == 0 ||
            !vg_str_eqc(rs.failures[i].file, "fuzz.yml"))
            abort();
    for (uint32_t i = 0; i < rs.nrules; i++)
        check_rule(&rs.rules[i]);
    sg_ruleset_free(&rs);
    return 0;
}
