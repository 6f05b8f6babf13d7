/*
 * test_sigma_load.c - unit tests of the Sigma loader (sigma_load.c,
 * sigma_cond.c, sigma_value.c): every value modifier with the
 * specification's examples, glob escaping edge cases, every condition form,
 * failures with their reasons, correlation and filter documents,
 * multi-document files, and a load of the whole SigmaHQ corpus in
 * ../shared/data/sigma (skipped when it is not there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detect/sigma.h"

#define CORPUS "/work/shared/data/sigma"

/* ---- helpers ---- */

static void dump_failures(const sg_ruleset *rs)
{
    for (uint32_t i = 0; i < rs->nfailures; i++)
        print_message("  failure %.*s:%u:%u: %.*s\n", VG_STR_FMT(rs->failures[i].file),
                      rs->failures[i].line, rs->failures[i].col, VG_STR_FMT(rs->failures[i].reason));
}

/* Loads text that must give exactly one rule and no failure. */
static const sg_rule *load1(sg_ruleset *rs, const char *text)
{
    sg_ruleset_init(rs);
    assert_int_equal(sg_load_text(rs, VG_STR_LIT("t.yml"), vg_str_c(text)), VG_OK);
    if (rs->nfailures || rs->nrules != 1) {
        dump_failures(rs);
        fail_msg("expected one rule, got %u rules and %u failures", rs->nrules, rs->nfailures);
    }
    return &rs->rules[0];
}

/* Loads text that must fail with a reason containing needle (and no rule). */
static void load_bad(const char *text, const char *needle, uint32_t line)
{
    sg_ruleset rs;
    sg_ruleset_init(&rs);
    assert_int_equal(sg_load_text(&rs, VG_STR_LIT("bad.yml"), vg_str_c(text)), VG_OK);
    if (rs.nfailures != 1 || rs.nrules != 0)
        fail_msg("expected one failure for '%s', got %u rules and %u failures", needle, rs.nrules,
                 rs.nfailures);
    const sg_failure *f = &rs.failures[0];
    if (!strstr(f->reason.p, needle))
        fail_msg("reason '%s' lacks '%s'", f->reason.p, needle);
    assert_true(vg_str_eqc(f->file, "bad.yml"));
    if (line && f->line != line)
        fail_msg("reason '%s': line %u, expected %u", f->reason.p, f->line, line);
    sg_ruleset_free(&rs);
}

#define HEAD "title: t\nlogsource: {product: windows}\ndetection:\n"

/* A rule with one search `sel` whose first item is key: value. */
static const sg_item *item1(sg_ruleset *rs, const char *key_value)
{
    char text[4096];
    snprintf(text, sizeof(text), HEAD "  sel:\n    %s\n  condition: sel\n", key_value);
    const sg_rule *r = load1(rs, text);
    assert_true(r->nitems >= 1);
    return &r->items[0];
}

static void expect_texts(const sg_item *it, const char *const *want, uint32_t n)
{
    if (it->nvalues != n) {
        for (uint32_t i = 0; i < it->nvalues; i++)
            print_message("  value %u: '%.*s'\n", i, VG_STR_FMT(it->values[i].text));
        fail_msg("%u values, expected %u", it->nvalues, n);
    }
    for (uint32_t i = 0; i < n; i++)
        if (!vg_str_eqc(it->values[i].text, want[i]))
            fail_msg("value %u is '%.*s', expected '%s'", i, VG_STR_FMT(it->values[i].text), want[i]);
}

static void cond_is(const char *cond, const char *want)
{
    char text[4096];
    snprintf(text, sizeof(text),
             HEAD "  sel1: {a: 1}\n  sel2: {b: 2}\n  sel3: {c: 3}\n  filter_x: {d: 4}\n"
                  "  _hidden: {e: 5}\n  condition: %s\n",
             cond);
    sg_ruleset rs;
    const sg_rule *r = load1(&rs, text);
    vg_buf b;
    vg_buf_init(&b, 0);
    sg_cond_format(r, r->cond, &b);
    if (strcmp(vg_buf_cstr(&b), want) != 0)
        fail_msg("condition '%s' gave '%s', expected '%s'", cond, b.p, want);
    vg_buf_free(&b);
    sg_ruleset_free(&rs);
}

/* ---- tests ---- */

static void test_basic(void **state)
{
    sg_ruleset rs;
    const sg_rule *r = load1(&rs,
        "title: Whoami\nid: 1234\nstatus: test\nlevel: high\nauthor: me\n"
        "tags: [attack.t1033, attack.discovery]\n"
        "references:\n  - https://example.com\nfalsepositives: [admins]\n"
        "fields: [CommandLine]\n"
        "logsource:\n  category: Process_Creation\n  product: Windows\n"
        "detection:\n"
        "  selection:\n    Image|endswith: '\\whoami.exe'\n    User: [a, b]\n"
        "  keywords:\n    - evil\n    - bad\n"
        "  either:\n    - {a: 1}\n    - {b: 2}\n"
        "  condition: selection and not keywords or either\n"
        "custom_key: ignored\n");
    assert_int_equal(r->kind, SG_KIND_RULE);
    assert_true(vg_str_eqc(r->title, "Whoami"));
    assert_true(vg_str_eqc(r->id, "1234"));
    assert_int_equal(r->status, SG_STATUS_TEST);
    assert_true(r->has_level);
    assert_int_equal(r->level, SG_LEVEL_HIGH);
    assert_int_equal(r->ntags, 2);
    assert_true(vg_str_eqc(r->tags[1], "attack.discovery"));
    assert_int_equal(r->nreferences, 1);
    assert_int_equal(r->nfalsepositives, 1);
    assert_int_equal(r->nfields, 1);
    assert_true(vg_str_eqc(r->logsource.category, "process_creation"));
    assert_true(vg_str_eqc(r->logsource.product, "windows"));
    assert_null(r->logsource.service.p);
    assert_int_equal(r->nsearches, 3);
    assert_int_equal(r->nitems, 5);
    const sg_search *s = &r->searches[0];
    assert_true(vg_str_eqc(s->name, "selection"));
    assert_int_equal(s->nalts, 1);
    assert_int_equal(s->alts[0].nitems, 2);
    const sg_item *img = &r->items[s->alts[0].items[0]];
    assert_true(vg_str_eqc(img->field, "Image"));
    assert_true(vg_str_eqc(img->key, "Image|endswith"));
    assert_int_equal(img->line, 16);
    assert_int_equal(img->col, 5);
    assert_int_equal(img->values[0].anchor, SG_ANCHOR_ENDSWITH);
    assert_true(vg_str_eqc(img->values[0].text, "\\\\whoami.exe"));
    const sg_item *user = &r->items[s->alts[0].items[1]];
    assert_int_equal(user->nvalues, 2);
    assert_int_equal(user->ngroups, 2);
    assert_int_equal(user->values[1].group, 1);
    assert_int_equal(user->values[0].anchor, SG_ANCHOR_EXACT);
    /* keywords: one alternative, one item, no field, contains */
    const sg_search *k = &r->searches[1];
    assert_int_equal(k->nalts, 1);
    const sg_item *kw = &r->items[k->alts[0].items[0]];
    assert_null(kw->field.p);
    assert_int_equal(kw->nvalues, 2);
    assert_int_equal(kw->values[0].anchor, SG_ANCHOR_CONTAINS);
    assert_int_equal(r->searches[2].nalts, 2);
    vg_buf b;
    vg_buf_init(&b, 0);
    sg_cond_format(r, r->cond, &b);
    assert_string_equal(vg_buf_cstr(&b), "((selection and not keywords) or either)");
    vg_buf_free(&b);
    bool t[3] = { true, false, false };
    assert_true(sg_cond_eval(r->cond, t));
    t[1] = true;
    assert_false(sg_cond_eval(r->cond, t));
    t[2] = true;
    assert_true(sg_cond_eval(r->cond, t));
    sg_ruleset_free(&rs);
}

static void test_values(void **state)
{
    sg_ruleset rs;
    const sg_item *it;
    /* numbers, booleans, null, empty string, empty list */
    it = item1(&rs, "EventID: [4624, 4625]");
    expect_texts(it, (const char *[]){ "4624", "4625" }, 2);
    assert_int_equal(it->values[0].op, SG_OP_MATCH);
    sg_ruleset_free(&rs);
    it = item1(&rs, "Enabled: true");
    expect_texts(it, (const char *[]){ "true" }, 1);
    sg_ruleset_free(&rs);
    it = item1(&rs, "Field: null");
    assert_int_equal(it->nvalues, 1);
    assert_int_equal(it->values[0].op, SG_OP_NULL);
    sg_ruleset_free(&rs);
    it = item1(&rs, "Field:");
    assert_int_equal(it->values[0].op, SG_OP_NULL);
    sg_ruleset_free(&rs);
    it = item1(&rs, "Field: ''");
    assert_int_equal(it->values[0].op, SG_OP_MATCH);
    expect_texts(it, (const char *[]){ "" }, 1);
    sg_ruleset_free(&rs);
    it = item1(&rs, "Field: !!str null");
    expect_texts(it, (const char *[]){ "null" }, 1);
    sg_ruleset_free(&rs);
    it = item1(&rs, "Field: 'null'");
    expect_texts(it, (const char *[]){ "null" }, 1);
    sg_ruleset_free(&rs);
    it = item1(&rs, "Field: []");
    assert_int_equal(it->nvalues, 0);
    assert_int_equal(it->ngroups, 0);
    sg_ruleset_free(&rs);
    it = item1(&rs, "'|all': [a, b]");
    assert_null(it->field.p);
    assert_true(it->all);
    assert_int_equal(it->values[0].anchor, SG_ANCHOR_CONTAINS);
    sg_ruleset_free(&rs);
    it = item1(&rs, "'|startswith': a");
    assert_int_equal(it->values[0].anchor, SG_ANCHOR_STARTSWITH);
    sg_ruleset_free(&rs);
    it = item1(&rs, "CommandLine|contains|all: [a, b]");
    assert_true(it->all);
    assert_int_equal(it->ngroups, 2);
    assert_int_equal(it->values[1].anchor, SG_ANCHOR_CONTAINS);
    sg_ruleset_free(&rs);
    it = item1(&rs, "Field|cased: AbC");
    assert_true(it->values[0].cased);
    sg_ruleset_free(&rs);
    it = item1(&rs, "Port|startswith: 44");
    expect_texts(it, (const char *[]){ "44" }, 1);
    sg_ruleset_free(&rs);
}

static void glob_is(const char *raw, const char *want)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    (void)a;
    char text[512];
    snprintf(text, sizeof(text), "f: '%s'", raw);
    sg_ruleset rs;
    const sg_item *it = item1(&rs, text);
    if (!vg_str_eqc(it->values[0].text, want))
        fail_msg("'%s' gave '%.*s', expected '%s'", raw, VG_STR_FMT(it->values[0].text), want);
    sg_ruleset_free(&rs);
    vg_arena_free(&a);
}

static void test_glob(void **state)
{
    glob_is("abc", "abc");
    glob_is("a*b?c", "a*b?c");
    glob_is("a\\*b", "a\\*b");                   /* \* literal star */
    glob_is("a\\?b", "a\\?b");
    glob_is("C:\\Windows\\", "C:\\\\Windows\\\\"); /* plain backslashes, trailing one too */
    glob_is("C:\\\\Windows", "C:\\\\Windows");     /* \\ is one backslash */
    glob_is("a\\\\*", "a\\\\*");                   /* backslash then wildcard */
    glob_is("a\\\\\\*", "a\\\\\\*");               /* backslash then literal star */
    glob_is("a\\\\\\b", "a\\\\\\\\b");             /* \\\ before b: two backslashes */
    glob_is("a\\\\\\\\b", "a\\\\\\\\b");           /* \\\\: two backslashes */
    glob_is("\\", "\\\\");
    glob_is("\\\\", "\\\\");
    glob_is("*", "*");
    glob_is("", "");
}

static void test_base64(void **state)
{
    sg_ruleset rs;
    const sg_item *it = item1(&rs, "CommandLine|base64offset|contains: /bin/bash");
    expect_texts(it, (const char *[]){ "L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2" }, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(it->values[i].group, 0);
        assert_int_equal(it->values[i].anchor, SG_ANCHOR_CONTAINS);
    }
    sg_ruleset_free(&rs);
    /* spec examples: base64offset of "/bin/sh" and of "sh -c" */
    it = item1(&rs, "CommandLine|base64offset|contains: [/bin/sh, 'sh -c']");
    expect_texts(it, (const char *[]){ "L2Jpbi9za", "9iaW4vc2", "vYmluL3No", "c2ggLW", "NoIC1j",
                                       "zaCAtY" }, 6);
    assert_int_equal(it->values[3].group, 1);
    assert_int_equal(it->ngroups, 2);
    sg_ruleset_free(&rs);
    it = item1(&rs, "CommandLine|base64: 'hello'");
    expect_texts(it, (const char *[]){ "aGVsbG8=" }, 1);
    sg_ruleset_free(&rs);
    it = item1(&rs, "CommandLine|base64|contains: 'ab'");
    expect_texts(it, (const char *[]){ "YWI=" }, 1);
    assert_int_equal(it->values[0].anchor, SG_ANCHOR_CONTAINS);
    sg_ruleset_free(&rs);
    /* wide|base64offset: "ping" as UTF-16LE */
    it = item1(&rs, "CommandLine|wide|base64offset|contains: ping");
    expect_texts(it, (const char *[]){ "cABpAG4AZw", "AAaQBuAGcA", "wAGkAbgBnA" }, 3);
    sg_ruleset_free(&rs);
    it = item1(&rs, "CommandLine|utf16le|base64: 'a'");
    expect_texts(it, (const char *[]){ "YQA=" }, 1);
    sg_ruleset_free(&rs);
    it = item1(&rs, "CommandLine|utf16be|base64: 'a'");
    expect_texts(it, (const char *[]){ "AGE=" }, 1);
    sg_ruleset_free(&rs);
    it = item1(&rs, "CommandLine|utf16|base64: 'a'");
    expect_texts(it, (const char *[]){ "//5hAA==" }, 1);
    sg_ruleset_free(&rs);
    /* wide alone keeps the wildcards; a UTF-16 byte that is '*' is escaped */
    it = item1(&rs, "f|wide: 'a*'");
    assert_int_equal(it->values[0].text.n, 3);
    assert_memory_equal(it->values[0].text.p, "a\0*", 3);
    sg_ruleset_free(&rs);
    it = item1(&rs, "f|utf16be: '\xe2\x80\x93'");   /* U+2013 */
    assert_int_equal(it->values[0].text.n, 2);
    assert_memory_equal(it->values[0].text.p, "\x20\x13", 2);
    sg_ruleset_free(&rs);
    load_bad(HEAD "  sel:\n    f|base64: 'a*b'\n  condition: sel\n", "base64 of a value with wildcards", 5);
    load_bad(HEAD "  sel:\n    f|contains|base64: 'ab'\n  condition: sel\n", "base64 of a value with wildcards", 0);
    load_bad(HEAD "  sel:\n    f|base64|wide: 'ab'\n  condition: sel\n", "must come before base64", 0);
}

static void test_windash(void **state)
{
    sg_ruleset rs;
    const sg_item *it = item1(&rs, "CommandLine|windash|contains: ' -s '");
    expect_texts(it, (const char *[]){ " -s ", " /s ", " \xe2\x80\x93s ", " \xe2\x80\x94s ",
                                       " \xe2\x80\x95s " }, 5);
    assert_int_equal(it->ngroups, 1);
    assert_int_equal(it->values[4].group, 0);
    sg_ruleset_free(&rs);
    /* two dashes: 25 combinations; a dash inside a word is not a flag */
    it = item1(&rs, "CommandLine|windash: ['-a -b', 'x-y']");
    assert_int_equal(it->nvalues, 26);
    assert_int_equal(it->ngroups, 2);
    assert_true(vg_str_eqc(it->values[1].text, "/a -b"));
    assert_true(vg_str_eqc(it->values[5].text, "-a /b"));
    assert_true(vg_str_eqc(it->values[25].text, "x-y"));
    assert_int_equal(it->values[25].group, 1);
    sg_ruleset_free(&rs);
}

static void test_typed(void **state)
{
    sg_ruleset rs;
    const sg_item *it = item1(&rs, "f|re: '^a.*b$'");
    assert_int_equal(it->values[0].op, SG_OP_RE);
    assert_true(vg_str_eqc(it->values[0].text, "^a.*b$"));
    assert_int_equal(it->values[0].re_flags, 0);
    sg_ruleset_free(&rs);
    it = item1(&rs, "f|re|i|m|s: 'x\\\\y'");
    assert_int_equal(it->values[0].re_flags, SG_RE_I | SG_RE_M | SG_RE_S);
    assert_true(vg_str_eqc(it->values[0].text, "x\\\\y"));   /* as written */
    sg_ruleset_free(&rs);
    it = item1(&rs, "ip|cidr: ['10.0.0.0/8', '192.168.1.1', 'fe80::/10']");
    assert_int_equal(it->nvalues, 3);
    assert_int_equal(it->values[2].op, SG_OP_CIDR);
    sg_ruleset_free(&rs);
    it = item1(&rs, "f|exists: true");
    assert_int_equal(it->values[0].op, SG_OP_EXISTS);
    assert_true(it->values[0].num == 1);
    sg_ruleset_free(&rs);
    it = item1(&rs, "f|exists: false");
    assert_true(it->values[0].num == 0);
    sg_ruleset_free(&rs);
    it = item1(&rs, "f|fieldref|endswith: Other");
    assert_int_equal(it->values[0].op, SG_OP_FIELDREF);
    assert_int_equal(it->values[0].anchor, SG_ANCHOR_ENDSWITH);
    assert_true(vg_str_eqc(it->values[0].text, "Other"));
    sg_ruleset_free(&rs);
    it = item1(&rs, "n|gt: 10");
    assert_int_equal(it->values[0].op, SG_OP_GT);
    assert_true(it->values[0].num == 10);
    sg_ruleset_free(&rs);
    it = item1(&rs, "n|gte: 1.5");
    assert_int_equal(it->values[0].op, SG_OP_GTE);
    assert_true(it->values[0].num == 1.5);
    sg_ruleset_free(&rs);
    it = item1(&rs, "n|lt: -3");
    assert_int_equal(it->values[0].op, SG_OP_LT);
    sg_ruleset_free(&rs);
    it = item1(&rs, "n|lte: 7");
    assert_int_equal(it->values[0].op, SG_OP_LTE);
    sg_ruleset_free(&rs);
    it = item1(&rs, "t|hour: 3");
    assert_int_equal(it->values[0].op, SG_OP_MATCH);
    assert_int_equal(it->values[0].timepart, SG_TIME_HOUR);
    assert_true(vg_str_eqc(it->values[0].text, "3"));
    sg_ruleset_free(&rs);
    it = item1(&rs, "t|month|gte: 6");
    assert_int_equal(it->values[0].op, SG_OP_GTE);
    assert_int_equal(it->values[0].timepart, SG_TIME_MONTH);
    sg_ruleset_free(&rs);

    load_bad(HEAD "  sel:\n    ip|cidr: '10.0.0.0/33'\n  condition: sel\n", "cidr: not a network", 5);
    load_bad(HEAD "  sel:\n    ip|cidr: 'x.1.2.3/8'\n  condition: sel\n", "cidr", 5);
    load_bad(HEAD "  sel:\n    ip|cidr|contains: '1.2.3.4'\n  condition: sel\n", "cidr takes", 5);
    load_bad(HEAD "  sel:\n    f|re|contains: 'a'\n  condition: sel\n", "re takes", 5);
    load_bad(HEAD "  sel:\n    f|i: 'a'\n  condition: sel\n", "must follow", 5);
    load_bad(HEAD "  sel:\n    f|exists: maybe\n  condition: sel\n", "exists takes true or false", 5);
    load_bad(HEAD "  sel:\n    f|gt: ten\n  condition: sel\n", "not a number", 5);
    load_bad(HEAD "  sel:\n    f|contains|endswith: a\n  condition: sel\n", "conflicts", 5);
    load_bad(HEAD "  sel:\n    f|neq: a\n  condition: sel\n", "unknown modifier 'neq'", 5);
    load_bad(HEAD "  sel:\n    CommandLine|contians: a\n  condition: sel\n",
             "detection.sel.CommandLine|contians: unknown modifier 'contians'", 5);
    load_bad(HEAD "  sel:\n    f||contains: a\n  condition: sel\n", "empty modifier", 5);
    load_bad(HEAD "  sel:\n    f: {a: b}\n  condition: sel\n", "not a map", 0);
}

static void test_expand(void **state)
{
    char dir[] = "/tmp/sgtestXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/ph.yml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("admins: [alice, bob]\nhost: dc1\n", f);
    fclose(f);
    sg_ruleset rs;
    sg_ruleset_init(&rs);
    vg_diag d;
    assert_int_equal(sg_load_placeholders(&rs, path, &d), VG_OK);
    assert_int_equal(rs.placeholders.n, 2);
    assert_int_equal(sg_load_text(&rs, VG_STR_LIT("x.yml"), vg_str_c(
        HEAD "  sel:\n    User|expand: ['%admins%@%host%', plain]\n  condition: sel\n")), VG_OK);
    assert_int_equal(rs.nfailures, 0);
    const sg_item *it = &rs.rules[0].items[0];
    expect_texts(it, (const char *[]){ "alice@dc1", "bob@dc1", "plain" }, 3);
    assert_int_equal(it->values[1].group, 0);
    assert_int_equal(it->values[2].group, 1);
    assert_int_equal(it->ngroups, 2);
    sg_ruleset_free(&rs);
    unlink(path);
    rmdir(dir);
    load_bad(HEAD "  sel:\n    User|expand: '%nobody%'\n  condition: sel\n",
             "expand: unknown placeholder (no placeholder file defines it) 'nobody'", 5);
}

static void test_conditions(void **state)
{
    cond_is("sel1", "sel1");
    cond_is("sel1 and sel2 or sel3", "((sel1 and sel2) or sel3)");
    cond_is("sel1 or sel2 and sel3", "(sel1 or (sel2 and sel3))");
    cond_is("not sel1 and sel2", "(not sel1 and sel2)");
    cond_is("not (sel1 or sel2)", "not (sel1 or sel2)");
    cond_is("sel1 AND NOT sel2", "(sel1 and not sel2)");
    cond_is("((sel1))", "sel1");
    cond_is("1 of sel*", "(sel1 or (sel2 or sel3))");   /* balanced over three */
    cond_is("any of sel*", "(sel1 or (sel2 or sel3))");
    cond_is("all of sel*", "(sel1 and (sel2 and sel3))");
    cond_is("all of them", "((sel1 and sel2) and (sel3 and filter_x))");
    cond_is("1 of them", "((sel1 or sel2) or (sel3 or filter_x))");
    cond_is("1 of sel* and not 1 of filter*", "((sel1 or (sel2 or sel3)) and not filter_x)");
    cond_is("all of sel2", "sel2");
    cond_is("_hidden", "_hidden");
    cond_is("1 of *_x", "filter_x");
    cond_is("not not sel1", "not not sel1");
    cond_is("sel1 and (sel2 or (sel3 and not filter_x))", "(sel1 and (sel2 or (sel3 and not filter_x)))");
    cond_is("[sel1, sel2 and sel3]", "(sel1 or (sel2 and sel3))");

    load_bad(HEAD "  selection: {a: 1}\n  condition: selction\n",
             "condition: unknown search 'selction' (line 5)", 5);
    load_bad(HEAD "  sel: {a: 1}\n  condition: sel | count() > 5\n",
             "deprecated aggregation in condition; use a correlation rule", 0);
    load_bad(HEAD "  sel: {a: 1}\n  condition: 1 of x*\n", "no search matches 'x*'", 0);
    load_bad(HEAD "  sel: {a: 1}\n  condition: (sel\n", "expected ')'", 0);
    load_bad(HEAD "  sel: {a: 1}\n  condition: sel)\n", "unbalanced ')'", 0);
    load_bad(HEAD "  sel: {a: 1}\n  condition: sel sel\n", "expected 'and', 'or'", 0);
    load_bad(HEAD "  sel: {a: 1}\n  condition: sel and\n", "unexpected end", 0);
    load_bad(HEAD "  sel: {a: 1}\n  condition: ''\n", "condition: empty", 0);
    load_bad(HEAD "  sel: {a: 1}\n  condition: 1 of\n", "after 'of'", 0);
    load_bad(HEAD "  sel: {a: 1}\n", "detection: missing condition", 0);

    /* nesting past SG_MAX_COND_DEPTH */
    char text[4096], cond[1024];
    size_t o = 0;
    for (int i = 0; i < SG_MAX_COND_DEPTH + 1; i++)
        cond[o++] = '(';
    memcpy(cond + o, "sel", 3);
    o += 3;
    for (int i = 0; i < SG_MAX_COND_DEPTH + 1; i++)
        cond[o++] = ')';
    cond[o] = '\0';
    snprintf(text, sizeof(text), HEAD "  sel: {a: 1}\n  condition: '%s'\n", cond);
    load_bad(text, "nesting deeper", 0);
    /* exactly at the limit loads */
    snprintf(text, sizeof(text), HEAD "  sel: {a: 1}\n  condition: '%.*s'\n",
             (int)(o - 2), cond + 1);
    sg_ruleset rs;
    load1(&rs, text);
    sg_ruleset_free(&rs);
}

/* Evaluates cond for every assignment of the five searches of cond_is's
 * rule (sel1 sel2 sel3 filter_x _hidden) against ref. */
static void eval_all(const char *cond, bool (*ref)(const bool *t))
{
    char text[4096];
    snprintf(text, sizeof(text),
             HEAD "  sel1: {a: 1}\n  sel2: {b: 2}\n  sel3: {c: 3}\n  filter_x: {d: 4}\n"
                  "  _hidden: {e: 5}\n  condition: %s\n",
             cond);
    sg_ruleset rs;
    const sg_rule *r = load1(&rs, text);
    for (unsigned m = 0; m < 32; m++) {
        bool t[5];
        for (unsigned i = 0; i < 5; i++)
            t[i] = (m >> i) & 1;
        if (sg_cond_eval(r->cond, t) != ref(t))
            fail_msg("'%s' is wrong for assignment %u", cond, m);
    }
    sg_ruleset_free(&rs);
}

static bool ref1(const bool *t) { return (t[0] || t[1] || t[2]) && !t[3]; }
static bool ref2(const bool *t) { return t[0] && t[1] && t[2] && t[3]; }
static bool ref3(const bool *t) { return !(t[0] && !t[1]) || (t[4] && t[2]); }
static bool ref4(const bool *t) { return t[0] || (t[1] && !t[2]) || t[3]; }

static void test_eval(void **state)
{
    eval_all("1 of sel* and not filter_x", ref1);
    eval_all("all of them", ref2);
    eval_all("not (sel1 and not sel2) or _hidden and sel3", ref3);
    eval_all("sel1 or sel2 and not sel3 or filter_x", ref4);
}

static void test_failures(void **state)
{
    load_bad("title: t\ndetection:\n  sel: {a: 1}\n  condition: sel\n", "logsource: missing", 0);
    load_bad("logsource: {product: x}\ndetection:\n  sel: {a: 1}\n  condition: sel\n", "title: missing", 0);
    load_bad("title: t\nlogsource: {product: x}\n", "detection: missing", 0);
    load_bad("title: t\nlevel: severe\n" "logsource: {product: x}\ndetection:\n  sel: {a: 1}\n  condition: sel\n",
             "level: unknown level 'severe'", 2);
    load_bad("title: t\nstatus: final\n" "logsource: {product: x}\ndetection:\n  sel: {a: 1}\n  condition: sel\n",
             "status: unknown status 'final'", 2);
    load_bad("title: t\nlogsource: {product: x}\ndetection:\n  sel: [a, b\n  condition: sel\n",
             "YAML syntax error", 0);
    load_bad("title: t\n  bad: indent\n", "YAML syntax error", 2);
    load_bad("- a\n- b\n", "must be a YAML map", 1);
    load_bad("# only a comment\n", "no Sigma document in the file", 0);
    load_bad("", "no Sigma document in the file", 0);
    load_bad("title: t\ntitle: u\n", "title: duplicate key", 2);
    load_bad(HEAD "  sel:\n    a: 1\n    a: 2\n  condition: sel\n", "detection.sel.a: duplicate key", 6);
    load_bad(HEAD "  sel: {a: 1}\n  sel: {b: 1}\n  condition: sel\n", "sel: duplicate search", 5);
    load_bad("action: global\ntitle: t\n", "action: rule collections", 1);
    load_bad(HEAD "  sel: &x {a: 1}\n  other: *x\n  condition: sel\n", "aliases", 5);
    load_bad(HEAD "  sel:\n  condition: sel\n", "detection.sel: empty search", 0);
    load_bad(HEAD "  sel: []\n  condition: sel\n", "empty list", 0);
    load_bad(HEAD "  sel: [[a]]\n  condition: sel\n", "a list inside a list", 0);
    /* nesting past SG_MAX_DEPTH */
    char text[1024];
    size_t o = 0;
    for (int i = 0; i < SG_MAX_DEPTH + 2; i++)
        text[o++] = '[';
    for (int i = 0; i < SG_MAX_DEPTH + 2; i++)
        text[o++] = ']';
    text[o] = '\0';
    load_bad(text, "YAML nesting deeper than 16", 1);

    /* past SG_MAX_FILE */
    char *big = malloc(SG_MAX_FILE + 2);
    assert_non_null(big);
    memset(big, '#', SG_MAX_FILE + 1);
    big[SG_MAX_FILE + 1] = '\0';
    load_bad(big, "larger than SG_MAX_FILE", 0);
    free(big);

    /* a failing document does not stop the next one, and the line is right */
    sg_ruleset rs;
    sg_ruleset_init(&rs);
    assert_int_equal(sg_load_text(&rs, VG_STR_LIT("m.yml"), vg_str_c(
        HEAD "  sel: {a|bogus: 1}\n  condition: sel\n---\n"
        HEAD "  sel: {a: 1}\n  condition: sel\n---\n")), VG_OK);
    assert_int_equal(rs.nrules, 1);
    assert_int_equal(rs.nfailures, 1);
    assert_int_equal(rs.failures[0].line, 4);
    assert_int_equal(rs.rules[0].doc, 1);
    assert_int_equal(rs.rules[0].items[0].line, 10);
    sg_ruleset_free(&rs);

    /* names */
    sg_level l;
    assert_true(sg_level_parse(VG_STR_LIT("Critical"), &l));
    assert_int_equal(l, SG_LEVEL_CRITICAL);
    assert_false(sg_level_parse(VG_STR_LIT("severe"), &l));
    assert_string_equal(sg_level_name(SG_LEVEL_INFORMATIONAL), "informational");
    sg_status s;
    assert_true(sg_status_parse(VG_STR_LIT("experimental"), &s));
    assert_int_equal(s, SG_STATUS_EXPERIMENTAL);
    assert_string_equal(sg_status_name(SG_STATUS_UNSUPPORTED), "unsupported");
}

static void test_correlation(void **state)
{
    sg_ruleset rs;
    sg_ruleset_init(&rs);
    assert_int_equal(sg_load_text(&rs, VG_STR_LIT("c.yml"), vg_str_c(
        "title: Failed logon\nname: failed_logon\nlogsource: {product: windows, service: security}\n"
        "detection:\n  sel: {EventID: 4625}\n  condition: sel\n---\n"
        "title: Many failed logons\nid: c1\n"
        "correlation:\n  type: event_count\n  rules: failed_logon\n  group-by: [TargetUserName, IpAddress]\n"
        "  timespan: 5m\n  condition:\n    gte: 10\n    lt: 100\n  generate: true\n---\n"
        "title: vc\ncorrelation:\n  type: value_count\n  rules: [a, b]\n  timespan: 2h\n"
        "  condition: {field: User, gt: 3}\n---\n"
        "title: tmp\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 30s\n"
        "  aliases:\n    ip:\n      a: SourceIp\n      b: DestinationIp\n  group-by: ip\n---\n"
        "title: ord\ncorrelation: {type: temporal_ordered, rules: [a, b], timespan: 1d}\n---\n"
        "title: sum\ncorrelation: {type: value_sum, rules: [a], timespan: 1h, condition: {field: Bytes, gt: 1000}}\n---\n"
        "title: avg\ncorrelation: {type: value_avg, rules: [a], timespan: 1h, condition: {field: Bytes, neq: 0}}\n---\n"
        "title: pct\ncorrelation: {type: value_percentile, rules: [a], timespan: 1h, condition: {field: Bytes, percentile: 95, eq: 5}}\n")),
        VG_OK);
    dump_failures(&rs);
    assert_int_equal(rs.nfailures, 0);
    assert_int_equal(rs.nrules, 8);
    const sg_rule *r = &rs.rules[1];
    assert_int_equal(r->kind, SG_KIND_CORRELATION);
    assert_int_equal(r->corr.type, SG_CORR_EVENT_COUNT);
    assert_int_equal(r->corr.nrules, 1);
    assert_true(vg_str_eqc(r->corr.rules[0], "failed_logon"));
    assert_int_equal(r->corr.ngroup_by, 2);
    assert_true(vg_str_eqc(r->corr.group_by[1], "IpAddress"));
    assert_true(r->corr.timespan == 5LL * 60 * 10000000);
    assert_int_equal(r->corr.nbounds, 2);
    assert_int_equal(r->corr.bounds[0].cmp, SG_CMP_GTE);
    assert_true(r->corr.bounds[0].value == 10);
    assert_int_equal(r->corr.bounds[1].cmp, SG_CMP_LT);
    assert_true(r->corr.generate);
    r = &rs.rules[2];
    assert_int_equal(r->corr.type, SG_CORR_VALUE_COUNT);
    assert_true(vg_str_eqc(r->corr.field, "User"));
    assert_true(r->corr.timespan == 2LL * 3600 * 10000000);
    assert_false(r->corr.generate);
    r = &rs.rules[3];
    assert_int_equal(r->corr.type, SG_CORR_TEMPORAL);
    assert_true(r->corr.timespan == 30LL * 10000000);
    assert_int_equal(r->corr.naliases, 1);
    assert_true(vg_str_eqc(r->corr.aliases[0].name, "ip"));
    assert_int_equal(r->corr.aliases[0].n, 2);
    assert_true(vg_str_eqc(r->corr.aliases[0].rules[1], "b"));
    assert_true(vg_str_eqc(r->corr.aliases[0].fields[1], "DestinationIp"));
    assert_int_equal(r->corr.ngroup_by, 1);
    assert_int_equal(r->corr.nbounds, 0);
    r = &rs.rules[4];
    assert_int_equal(r->corr.type, SG_CORR_TEMPORAL_ORDERED);
    assert_true(r->corr.timespan == 86400LL * 10000000);
    assert_int_equal(rs.rules[5].corr.type, SG_CORR_VALUE_SUM);
    assert_int_equal(rs.rules[6].corr.type, SG_CORR_VALUE_AVG);
    assert_int_equal(rs.rules[6].corr.bounds[0].cmp, SG_CMP_NEQ);
    r = &rs.rules[7];
    assert_int_equal(r->corr.type, SG_CORR_VALUE_PERCENTILE);
    assert_true(r->corr.percentile == 95);
    assert_int_equal(r->corr.bounds[0].cmp, SG_CMP_EQ);
    sg_ruleset_free(&rs);

#define CORR(body) "title: c\ncorrelation:\n" body
    load_bad(CORR("  type: burst\n  rules: [a]\n  timespan: 5m\n  condition: {gt: 1}\n"),
             "correlation.type: unknown type 'burst'", 3);
    load_bad(CORR("  type: event_count\n  timespan: 5m\n  condition: {gt: 1}\n"), "correlation.rules: missing", 0);
    load_bad(CORR("  type: event_count\n  rules: [a]\n  condition: {gt: 1}\n"), "correlation.timespan: missing", 0);
    load_bad(CORR("  type: event_count\n  rules: [a]\n  timespan: 5y\n  condition: {gt: 1}\n"), "unknown unit 'y'", 0);
    load_bad(CORR("  type: event_count\n  rules: [a]\n  timespan: m\n  condition: {gt: 1}\n"), "timespan", 0);
    load_bad(CORR("  type: event_count\n  rules: [a]\n  timespan: 99999999999999999d\n  condition: {gt: 1}\n"),
             "too long", 0);
    load_bad(CORR("  type: event_count\n  rules: [a]\n  timespan: 5m\n"), "correlation.condition: missing", 0);
    load_bad(CORR("  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {about: 1}\n"),
             "unknown operator 'about'", 0);
    load_bad(CORR("  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gt: many}\n"),
             "correlation.condition.gt: must be a number", 0);
    load_bad(CORR("  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: {gt: 1}\n"),
             "correlation.condition.field: required", 0);
    load_bad(CORR("  type: value_percentile\n  rules: [a]\n  timespan: 5m\n  condition: {field: x, gt: 1}\n"),
             "percentile: required", 0);
    load_bad(CORR("  type: value_percentile\n  rules: [a]\n  timespan: 5m\n  condition: {field: x, gt: 1, percentile: 101}\n"),
             "within 0-100", 0);
    load_bad(CORR("  type: temporal\n  rules: [a]\n  timespan: 5m\n  generate: perhaps\n"),
             "correlation.generate", 0);
    load_bad(CORR("  type: temporal\n  rules: [a]\n  timespan: 5m\n  aliases: {ip: [a]}\n"),
             "correlation.aliases", 0);
    load_bad("title: c\ntype: correlation\n", "correlation: missing", 0);
}

static void test_filter(void **state)
{
    sg_ruleset rs;
    const sg_rule *r = load1(&rs,
        "title: Filter DCs\nlogsource: {product: windows}\n"
        "filter:\n  rules:\n    - 6f3e2987-db24-4c78-a860-b4f4095a7095\n    - other_rule\n"
        "  selection:\n    ComputerName|startswith: DC\n  condition: not selection\n");
    assert_int_equal(r->kind, SG_KIND_FILTER);
    assert_int_equal(r->filter.nrules, 2);
    assert_true(vg_str_eqc(r->filter.rules[1], "other_rule"));
    assert_int_equal(r->nsearches, 1);
    assert_true(vg_str_eqc(r->searches[0].name, "selection"));
    assert_int_equal(r->cond->kind, SG_COND_NOT);
    sg_ruleset_free(&rs);
    load_bad("title: f\nlogsource: {product: windows}\nfilter:\n  sel: {a: 1}\n  condition: sel\n",
             "filter.rules: missing", 0);
    load_bad("title: f\nlogsource: {product: windows}\nfilter:\n  rules: [x]\n  sel: {a: 1}\n",
             "filter: missing condition", 0);
    load_bad("title: f\nlogsource: {product: windows}\nfilter:\n  rules: [x]\n  sel: {a|nope: 1}\n  condition: sel\n",
             "filter.sel.a|nope: unknown modifier 'nope'", 0);
}

static void test_paths(void **state)
{
    char dir[] = "/tmp/sgpathXXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[512];
    snprintf(p, sizeof(p), "%s/sub", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/.hidden", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    const char *files[][2] = {
        { "b.yml", HEAD "  sel: {a: 1}\n  condition: sel\n" },
        { "a.yaml", HEAD "  sel: {a: 1}\n  condition: sel\n" },
        { "sub/c.yml", HEAD "  sel: {a: 1}\n  condition: nope\n" },
        { ".hidden/d.yml", HEAD "  sel: {a: 1}\n  condition: sel\n" },
        { "notes.txt", "not yaml: [" },
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i][0]);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(files[i][1], f);
        fclose(f);
    }
    sg_ruleset rs;
    sg_ruleset_init(&rs);
    vg_diag d;
    assert_int_equal(sg_load_path(&rs, dir, &d), VG_OK);
    assert_int_equal(rs.files, 3);
    assert_int_equal(rs.nrules, 2);
    assert_int_equal(rs.nfailures, 1);
    assert_non_null(strstr(rs.rules[0].file.p, "/a.yaml"));   /* sorted */
    assert_non_null(strstr(rs.rules[1].file.p, "/b.yml"));
    assert_non_null(strstr(rs.failures[0].file.p, "/sub/c.yml"));
    /* one file */
    snprintf(p, sizeof(p), "%s/b.yml", dir);
    assert_int_equal(sg_load_path(&rs, p, &d), VG_OK);
    assert_int_equal(rs.nrules, 3);
    snprintf(p, sizeof(p), "%s/missing.yml", dir);
    assert_int_equal(sg_load_file(&rs, p, &d), VG_EIO);
    assert_int_equal(rs.nfailures, 2);
    assert_int_not_equal(sg_load_path(&rs, p, &d), VG_OK);
    sg_ruleset_free(&rs);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i][0]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/sub", dir);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/.hidden", dir);
    rmdir(p);
    rmdir(dir);
}

static void test_corpus(void **state)
{
    static const char *const dirs[] = { CORPUS "/rules", CORPUS "/rules-threat-hunting",
                                         CORPUS "/rules-emerging-threats" };
    struct stat st;
    if (stat(dirs[0], &st) != 0) {
        print_message("corpus %s is missing; skipped\n", dirs[0]);
        skip();
    }
    sg_ruleset rs;
    sg_ruleset_init(&rs);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < 3; i++) {
        vg_diag d;
        assert_int_equal(sg_load_path(&rs, dirs[i], &d), VG_OK);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    uint32_t values = 0, items = 0;
    for (uint32_t i = 0; i < rs.nrules; i++) {
        items += rs.rules[i].nitems;
        for (uint32_t j = 0; j < rs.rules[i].nitems; j++)
            values += rs.rules[i].items[j].nvalues;
        assert_non_null(rs.rules[i].cond);
    }
    print_message("corpus: %u files, %u rules, %u failures, %u items, %u values, %.0f ms\n",
                  rs.files, rs.nrules, rs.nfailures, items, values, ms);
    dump_failures(&rs);
    assert_true(rs.files >= 3000);
    assert_true(rs.nfailures * 100 <= rs.files);
    assert_int_equal(rs.nrules + rs.nfailures, rs.files);
    sg_ruleset_free(&rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_windash),
        cmocka_unit_test(test_typed),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_correlation),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
