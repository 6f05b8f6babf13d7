/*
 * detect_rules_int.h - rule selection and metadata for the compiler
 * (detect_rules.c), private to src/detect/.
 */
#ifndef VG_DETECT_RULES_INT_H
#define VG_DETECT_RULES_INT_H

#include "detect_int.h"

/* Fills det->rules from det->rs: which rules are enabled, MITRE tactics and
 * techniques from the tags, the id/name index, load failures. */
vg_err dt_rules_select(vg_detect *det, const vg_detect_opts *o, vg_diag *d);

/* The enabled filter rules that target r (by id or name); at most max. */
uint32_t dt_filters_for(const vg_detect *det, const sg_rule *r, const sg_rule **out, uint32_t max);

/* "chan\x1ftail" with the head lower-cased, in a. */
vg_str dt_route_key(vg_arena *a, const char *head, size_t hn, const char *tail, size_t tn);

#endif
