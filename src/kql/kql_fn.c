/*
 * kql_fn.c - the registry of KQL scalar functions: the union of the tables
 * of kql_fn_str.c, kql_fn_time.c, kql_fn_misc.c, kql_fn_net.c and
 * kql_fn_dyn.c, plus Kusto's aliases
 * (iif = iff, toreal = todouble, floor = bin, pack = bag_pack, ...).
 *
 * The index is built once (pthread_once) into a static array of pointers
 * sorted by name; lookups are a binary search. An alias is a copy of its
 * target's row under the alias name. When two tables define the same name,
 * the first (strings, then time, misc, net, dyn) wins: the index never holds
 * duplicates.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kql/kql_val.h"

/* Room for every function and alias; hitting it drops the rest (a test
 * checks that it is not hit). */
#define KQL_FN_MAX 1024

static const struct {
    const char *alias, *target;
} aliases[] = {
    { "iif", "iff" },
    { "toreal", "todouble" },
    { "floor", "bin" },
    { "pack", "bag_pack" },
    { "pack_dictionary", "bag_pack" },
    { "parse_json", "todynamic" },
    { "parsejson", "todynamic" },
    { "toobject", "todynamic" },
    { "parseurl", "parse_url" },
    { "notnull", "isnotnull" },
    { "notempty", "isnotempty" },
    { "isnotempty", "notempty" },
    { "totime", "totimespan" },
    { "array_iif", "array_iff" },
};

static const kql_fn_def *index_[KQL_FN_MAX];
static kql_fn_def alias_rows[sizeof aliases / sizeof aliases[0]];
static size_t nindex;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

typedef struct fn_ent {
    const kql_fn_def *d;
    size_t pos;        /* order of insertion: the earliest of equal names wins */
} fn_ent;

static int cmp_ent(const void *a, const void *b)
{
    const fn_ent *x = a, *y = b;
    int c = strcmp(x->d->name, y->d->name);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static const kql_fn_def *search(vg_str name)
{
    size_t lo = 0, hi = nindex;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = vg_str_cmp(vg_str_c(index_[mid]->name), name);
        if (c == 0)
            return index_[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Sorts by name and drops later entries of a name already present. */
static void sort_unique(void)
{
    static fn_ent tmp[KQL_FN_MAX];
    for (size_t i = 0; i < nindex; i++)
        tmp[i] = (fn_ent){ index_[i], i };
    qsort(tmp, nindex, sizeof tmp[0], cmp_ent);
    size_t k = 0;
    for (size_t i = 0; i < nindex; i++)
        if (k == 0 || strcmp(index_[k - 1]->name, tmp[i].d->name) != 0)
            index_[k++] = tmp[i].d;
    nindex = k;
}

static void add_table(const kql_fn_def *t, size_t n)
{
    for (size_t i = 0; i < n && nindex < KQL_FN_MAX; i++)
        index_[nindex++] = &t[i];
}

static void build_index(void)
{
    add_table(kql_fn_str_defs, kql_fn_str_ndefs);
    add_table(kql_fn_time_defs, kql_fn_time_ndefs);
    add_table(kql_fn_misc_defs, kql_fn_misc_ndefs);
    add_table(kql_fn_net_defs, kql_fn_net_ndefs);
    add_table(kql_fn_dyn_defs, kql_fn_dyn_ndefs);
    sort_unique();
    /* aliases whose name is free and whose target exists (some targets are
     * optional: the alias table lists both spellings where Kusto has two) */
    size_t base = nindex;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0] && nindex < KQL_FN_MAX; i++) {
        vg_str an = vg_str_c(aliases[i].alias);
        const kql_fn_def *t = search(vg_str_c(aliases[i].target));
        if (!t || search(an))
            continue;
        bool dup = false;
        for (size_t j = base; j < nindex && !dup; j++)
            dup = strcmp(index_[j]->name, aliases[i].alias) == 0;
        if (dup)
            continue;
        alias_rows[i] = *t;
        alias_rows[i].name = aliases[i].alias;
        index_[nindex++] = &alias_rows[i];
    }
    sort_unique();
}

const kql_fn_def *kql_fn_find(vg_str name)
{
    pthread_once(&index_once, build_index);
    return search(name);
}

const kql_fn_def *const *kql_fn_all(size_t *n)
{
    pthread_once(&index_once, build_index);
    *n = nindex;
    return index_;
}
