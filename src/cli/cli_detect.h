/*
 * cli_detect.h - the rule options vigil detect and vigil rules share: which
 * rule files to load and which rules to run (src/cli only).
 */
#ifndef VG_CLI_DETECT_H
#define VG_CLI_DETECT_H

#include "../core/vg_config.h"
#include "../detect/vg_detect.h"

typedef struct cli_rule_settings {
    vg_cfg_list rules;
    const char *placeholders;
    vg_cfg_list enable;
    vg_cfg_list disable;
    const char *min_level;
    bool portable;
    int64_t lateness;
    const char *cache_dir;
} cli_rule_settings;

#define CLI_RULE_DEFS(S, m)                                                                        \
    { "rules", VG_CFG_LIST, "", 0, 0, false, offsetof(S, m.rules),                                \
      "a Sigma rule file or a directory of rules (repeatable; default: the default pack, "         \
      "$VIGIL_RULES or ./rules)" },                                                                \
    { "placeholders", VG_CFG_STRING, "", 0, 0, false, offsetof(S, m.placeholders),                \
      "YAML file of placeholder values for |expand (%name%: [values])" },                         \
    { "enable", VG_CFG_LIST, "", 0, 0, false, offsetof(S, m.enable),                              \
      "run only rules matching this selector (repeatable): id:UUID, name:N, tag:attack.t1059, "     \
      "level:high, status:stable, path:SUBSTRING" },                                               \
    { "disable", VG_CFG_LIST, "", 0, 0, false, offsetof(S, m.disable),                            \
      "do not run rules matching this selector (repeatable; same forms as --enable)" },           \
    { "min-level", VG_CFG_STRING, "informational", 0, 0, false, offsetof(S, m.min_level),         \
      "run only rules of this level or above (informational, low, medium, high, critical)" },     \
    { "portable", VG_CFG_BOOL, "false", 0, 0, false, offsetof(S, m.portable),                     \
      "match with PCRE2 instead of Hyperscan (the arm64 path; slower, same results)" },           \
    { "lateness", VG_CFG_DURATION, "5m", 0, 86400, false, offsetof(S, m.lateness),                \
      "correlation rules: how far behind the newest event an event may arrive" },                 \
    { "cache-dir", VG_CFG_STRING, "", 0, 0, false, offsetof(S, m.cache_dir),                     \
      "keep compiled pattern databases here (default $XDG_CACHE_HOME/vigil or ~/.cache/vigil; "     \
      "'none': do not cache)" }

/* Fills o from s (the default pack when no --rules); CLI_USAGE on a bad option. */
int cli_rules_opts(const cli_rule_settings *s, const char *cmd, vg_detect_opts *o);
/* Loads and compiles; prints rule files that failed unless quiet. */
int cli_rules_build(const cli_rule_settings *s, const char *cmd, bool quiet, vg_detect **out);

#endif
