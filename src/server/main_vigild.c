/*
 * main_vigild.c - vigild, the Vigil server: settings, startup, signals and
 * clean shutdown. The pieces it wires together live beside it (see
 * vg_srv_int.h): the HTTP layer and route table, tokens, ingest, metrics.
 *
 * Settings come from one declarative table (settings[] below): defaults,
 * `--config FILE`, command-line flags and `--help` all derive from it.
 *
 * Startup order: open the store (takes DIR/LOCK, replays the WAL), open the
 * token state (first start: create and print the admin token once), then
 * listen. Shutdown on SIGTERM/SIGINT: stop accepting, let in-flight
 * requests finish (shutdown-timeout), close the store (seals the tails).
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigtimedwait, which also paces the hourly retention pass.
 */
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/vg_config.h"
#include "../core/vg_log.h"
#include <maxminddb.h>

#include "vg_srv_int.h"

#define RETENTION_PERIOD_S 3600

#define OFF(f) offsetof(vg_srv_settings, f)
static const vg_cfg_def settings[] = {
    { "data", VG_CFG_STRING, "./vigil-data", 0, 0, false, OFF(data),
      "data directory (event store, state.db, admin.token); created if missing" },
    { "listen", VG_CFG_STRING, "127.0.0.1:8080", 0, 0, false, OFF(listen),
      "address to listen on: host:port, [v6]:port or :port (port 0 picks a free one)" },
    { "log-level", VG_CFG_STRING, "info", 0, 0, false, OFF(log_level),
      "debug, info, warn or error" },
    { "log-format", VG_CFG_STRING, "logfmt", 0, 0, false, OFF(log_format), "logfmt or json" },
    { "max-body", VG_CFG_SIZE, "64M", 1024, 4LL << 30, false, OFF(max_body),
      "largest request body accepted, as sent (larger: 413)" },
    { "max-decoded", VG_CFG_SIZE, "256M", 1024, 16LL << 30, false, OFF(max_decoded),
      "largest request body after gzip/zstd decoding (larger: 413)" },
    { "seal-rows", VG_CFG_INT, "0", 0, 1LL << 30, false, OFF(seal_rows),
      "seal a table's in-memory tail into a segment at this many rows (0: store default)" },
    { "retention-days", VG_CFG_INT, "0", 0, 100000, false, OFF(retention_days),
      "drop day partitions older than this many days, hourly (0: keep forever)" },
    { "threads", VG_CFG_INT, "4", 1, 256, false, OFF(threads),
      "HTTP worker threads (each runs one request at a time)" },
    { "max-connections", VG_CFG_INT, "512", 1, 100000, false, OFF(max_connections),
      "concurrent client connections; more are refused" },
    { "request-timeout", VG_CFG_DURATION, "60s", 1, 86400, false, OFF(request_timeout),
      "drop a connection idle for this long" },
    { "shutdown-timeout", VG_CFG_DURATION, "30s", 0, 3600, false, OFF(shutdown_timeout),
      "on SIGTERM, wait this long for in-flight requests" },
    { "no-fsync", VG_CFG_BOOL, "false", 0, 0, false, OFF(no_fsync),
      "BENCHMARKS ONLY: skip fsync, so acknowledged rows may be lost on a crash" },
    { "hunt-max-rows", VG_CFG_INT, "100000", 1, 10000000, false, OFF(hunt_max_rows),
      "advanced hunting: most result rows a query returns (more set the truncation flag)" },
    { "hunt-timeout", VG_CFG_DURATION, "180s", 1, 86400, false, OFF(hunt_timeout),
      "advanced hunting: a query running longer is stopped (422)" },
    { "hunt-max-memory", VG_CFG_SIZE, "1G", 1LL << 20, 1LL << 40, false, OFF(hunt_max_memory),
      "advanced hunting: most memory a query may hold (422 beyond)" },
    { "hunt-concurrency", VG_CFG_INT, "4", 1, 256, false, OFF(hunt_concurrency),
      "advanced hunting: queries run at once; more are answered 429" },
    { "geoip-db", VG_CFG_STRING, "", 0, 0, false, OFF(geoip_db),
      "MaxMind database (.mmdb) for geo_info_from_ip_address(); none: the function returns null" },
    { "detect", VG_CFG_BOOL, "true", 0, 0, false, OFF(detect),
      "run Sigma rules on every ingested event and store alerts (AlertInfo, AlertEvidence)" },
    { "detect-rules", VG_CFG_LIST, "", 0, 0, true, OFF(detect_rules),
      "a Sigma rule file or directory (repeatable); default: the default pack ($VIGIL_RULES, "
      "/usr/share/vigil/rules or ./rules)" },
    { "detect-enable", VG_CFG_LIST, "", 0, 0, true, OFF(detect_enable),
      "run only rules matching this selector (repeatable): id:UUID, name:N, tag:attack.t1059, "
      "level:high, status:stable, path:SUBSTRING" },
    { "detect-disable", VG_CFG_LIST, "", 0, 0, true, OFF(detect_disable),
      "do not run rules matching this selector (repeatable; same forms as detect-enable)" },
    { "detect-min-level", VG_CFG_STRING, "informational", 0, 0, true, OFF(detect_min_level),
      "run only rules of this level or above (informational, low, medium, high, critical)" },
    { "detect-suppress-window", VG_CFG_DURATION, "5m", 0, 86400 * 30, false, OFF(detect_suppress),
      "one alert per rule, device and account in this window; later matches are counted, not "
      "raised (0: every match is an alert)" },
    { "detect-lateness", VG_CFG_DURATION, "5m", 0, 86400, false, OFF(detect_lateness),
      "correlation rules: how far behind the newest event an event may arrive and still count" },
    { "detect-exclusions", VG_CFG_STRING, "", 0, 0, false, OFF(detect_exclusions),
      "file of exclusions, one 'RULE FIELD=VALUE' per line (RULE an id, a name or *)" },
    { "detect-placeholders", VG_CFG_STRING, "", 0, 0, true, OFF(detect_placeholders),
      "YAML file of values for the %placeholders% of the expand modifier" },
    { "detect-portable", VG_CFG_BOOL, "false", 0, 0, true, OFF(detect_portable),
      "match with PCRE2 instead of Hyperscan (the arm64 path; slower, same results)" },
    { "detect-cache", VG_CFG_STRING, "", 0, 0, false, OFF(detect_cache),
      "where compiled pattern databases are kept (default $XDG_CACHE_HOME/vigil or "
      "~/.cache/vigil, else DATA/cache/hyperscan)" },
    { "incident-window", VG_CFG_DURATION, "24h", 60, 86400 * 90, false, OFF(incident_window),
      "an alert joins an open incident that shares a strong entity with it and was active this "
      "recently" },
    { "incident-max-entities", VG_CFG_INT, "200", 2, 100000, false, OFF(incident_max_entities),
      "an incident that would hold more entities than this takes no more alerts by correlation "
      "and is not merged (shared infrastructure must not glue everything together)" },
    { "incident-key-max-devices", VG_CFG_INT, "10", 0, 63, false, OFF(incident_key_max_devices),
      "a file hash, IP address, URL or domain seen in the alerts of more devices than this is "
      "common (a DLL every Office loads, the update server) and no longer joins incidents "
      "(0: artifacts always correlate)" },
    { "detections", VG_CFG_BOOL, "true", 0, 0, false, OFF(detections),
      "run custom detection rules (KQL on a schedule, or near-real-time)" },
    { "detections-tick", VG_CFG_DURATION, "10s", 1, 3600, false, OFF(detections_tick),
      "how often the custom detection scheduler looks for due rules; near-real-time rules run "
      "every tick" },
    { "tls-cert", VG_CFG_STRING, "", 0, 0, false, OFF(tls_cert),
      "PEM certificate (chain) for HTTPS; with tls-key the listener speaks TLS only" },
    { "tls-key", VG_CFG_STRING, "", 0, 0, false, OFF(tls_key), "PEM private key for tls-cert" },
    { "rate-limit", VG_CFG_INT, "200", 0, 1000000, false, OFF(rate_limit),
      "requests per second one token may make (0: unlimited); more are answered 429" },
    { "rate-burst", VG_CFG_INT, "400", 1, 10000000, false, OFF(rate_burst),
      "requests a token may make at once before rate-limit applies" },
};
#undef OFF

static const vg_cfg_spec spec = {
    "vigild",
    "the Vigil XDR server: ingest, event store and API",
    "vigild [--data DIR] [--listen HOST:PORT] [OPTIONS]",
    settings,
    sizeof settings / sizeof settings[0],
};

static void run_retention(vg_store *st, int64_t days)
{
    vg_diag d;
    int dropped = 0;
    vg_diag_clear(&d);
    vg_err e = vg_store_retention(st, days, vg_time_now(), &dropped, &d);
    if (e)
        vg_log(VG_LOG_ERROR, "retention failed", VG_LS("error", d.msg));
    else if (dropped)
        vg_log(VG_LOG_INFO, "retention", VG_LI("partitions_dropped", dropped),
               VG_LI("keep_days", days));
}

int main(int argc, char **argv)
{
    /* batch-sized buffers come and go with every request: keep them in the
     * heap instead of fresh mmaps whose pages fault in again each time */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    vg_arena arena;
    vg_arena_init(&arena, 0, 0);
    vg_srv_settings cfg;
    MMDB_s geo;
    memset(&cfg, 0, sizeof cfg);
    vg_cfg_args args;
    vg_diag d;
    vg_diag_clear(&d);
    int rc = 1;
    vg_store *store = NULL;
    vg_auth *auth = NULL;
    vg_srv srv;
    memset(&srv, 0, sizeof srv);

    if (argc == 2 && strcmp(argv[1], "--help-markdown") == 0) {
        /* the settings reference in docs/ is generated from the same table */
        vg_cfg_markdown(&spec, stdout);
        rc = 0;
        goto out;
    }
    if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
        /* every route with the roles that may call it, one JSON line each */
        vg_http_print_routes_json(stdout);
        rc = 0;
        goto out;
    }
    if (vg_cfg_parse_args(&spec, argc, argv, 1, &cfg, &args, &arena, &d)) {
        fprintf(stderr, "vigild: %s\n", d.msg);
        rc = 2;
        goto out;
    }
    if (args.help) {
        vg_cfg_help(&spec, stdout);
        vg_http_print_routes(stdout);
        rc = 0;
        goto out;
    }
    if (args.npos) {
        fprintf(stderr, "vigild: unexpected argument '%s' (see vigild --help)\n", args.pos[0]);
        rc = 2;
        goto out;
    }
    int lvl = vg_log_level_parse(cfg.log_level), fmt = vg_log_format_parse(cfg.log_format);
    if (lvl < 0 || fmt < 0) {
        fprintf(stderr, "vigild: bad %s '%s' (see vigild --help)\n",
                lvl < 0 ? "log-level" : "log-format", lvl < 0 ? cfg.log_level : cfg.log_format);
        rc = 2;
        goto out;
    }
    vg_log_setup((vg_log_level)lvl, (vg_log_format)fmt, stderr);

    /* every thread created from here on inherits the blocked set */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (cfg.no_fsync)
        vg_log(VG_LOG_WARN, "no-fsync is set: acknowledged rows may be lost on a crash "
                            "(benchmarks only)");
    vg_store_opts so = {
        .dir = cfg.data,
        .seal_rows = (uint32_t)cfg.seal_rows,
        .retention_days = cfg.retention_days,
        .no_fsync = cfg.no_fsync,
    };
    uint64_t t0 = vg_mono_ns();
    if (vg_store_open(&so, &store, &d)) {
        vg_log(VG_LOG_ERROR, "cannot open the store", VG_LS("data", cfg.data),
               VG_LS("error", d.msg));
        goto out;
    }
    vg_store_stats st;
    memset(&st, 0, sizeof st);
    vg_store_stats_get(store, &st);
    vg_log(VG_LOG_INFO, "store open", VG_LS("data", cfg.data), VG_LI("rows", st.rows_total),
           VG_LI("segments", st.segments), VG_LI("wal_bytes", st.wal_bytes),
           VG_LI("quarantined", st.quarantined),
           VG_LI("open_ms", (vg_mono_ns() - t0) / 1000000));

    char *admin = NULL;
    if (vg_auth_open(cfg.data, &auth, &admin, &d)) {
        vg_log(VG_LOG_ERROR, "cannot open the token state", VG_LS("error", d.msg));
        goto out;
    }
    if (admin) {
        /* the one time the secret is shown; it is also in DIR/admin.token */
        printf("vigild: first start: admin token (kept in %s/admin.token, mode 0600):\n%s\n",
               cfg.data, admin);
        fflush(stdout);
        memset(admin, 0, strlen(admin));
        free(admin);
        vg_log(VG_LOG_INFO, "admin token created", VG_LS("file", "admin.token"));
    }

    if (cfg.geoip_db[0]) {
        int mrc = MMDB_open(cfg.geoip_db, MMDB_MODE_MMAP, &geo);
        if (mrc != MMDB_SUCCESS) {
            vg_log(VG_LOG_ERROR, "cannot open the GeoIP database", VG_LS("file", cfg.geoip_db),
                   VG_LS("error", MMDB_strerror(mrc)));
            goto out;
        }
        srv.geo = &geo;
    }
    vg_metrics_init();
    srv.cfg = &cfg;
    srv.store = store;
    srv.auth = auth;
    if (vg_srv_detect_start(&srv, &d)) {
        vg_log(VG_LOG_ERROR, "cannot start detection", VG_LS("error", d.msg));
        goto out;
    }
    if (vg_srv_admin_start(&srv, &d)) {
        vg_log(VG_LOG_ERROR, "cannot open the audit log", VG_LS("error", d.msg));
        goto out;
    }
    if (vg_srv_incidents_start(&srv, &d)) {
        vg_log(VG_LOG_ERROR, "cannot start incidents", VG_LS("error", d.msg));
        goto out;
    }
    if (vg_srv_incidents_reconcile(&srv, &d)) {
        vg_log(VG_LOG_ERROR, "cannot reconcile alerts with incidents", VG_LS("error", d.msg));
        goto out;
    }
    if (vg_srv_custom_start(&srv, &d)) {
        vg_log(VG_LOG_ERROR, "cannot start custom detections", VG_LS("error", d.msg));
        goto out;
    }
    if (vg_srv_agents_start(&srv, &d)) {
        vg_log(VG_LOG_ERROR, "cannot start the endpoint agent routes", VG_LS("error", d.msg));
        goto out;
    }
    int port = 0;
    if (vg_http_start(&srv, &port, &d)) {
        vg_log(VG_LOG_ERROR, "cannot start the HTTP server", VG_LS("error", d.msg));
        goto out;
    }
    vg_log(VG_LOG_INFO, "listening", VG_LS("listen", cfg.listen), VG_LI("port", port),
           VG_LS("tls", cfg.tls_cert[0] ? "on" : "off"), VG_LI("threads", cfg.threads),
           VG_LI("pid", (int64_t)getpid()));

    int64_t next_retention = 0;
    for (;;) {
        if (cfg.retention_days > 0 && (int64_t)(vg_mono_ns() / 1000000000ull) >= next_retention) {
            run_retention(store, cfg.retention_days);
            next_retention = (int64_t)(vg_mono_ns() / 1000000000ull) + RETENTION_PERIOD_S;
        }
        struct timespec ts = { 1, 0 };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGHUP) {
            /* reload the rules: the settings are parsed again (defaults <
             * --config file < flags) and the reloadable detect-* ones taken */
            vg_srv_settings ncfg;
            vg_cfg_args nargs;
            memset(&ncfg, 0, sizeof ncfg);
            vg_diag_clear(&d);
            if (vg_cfg_parse_args(&spec, argc, argv, 1, &ncfg, &nargs, &arena, &d)) {
                vg_log(VG_LOG_ERROR, "reload: bad settings; the running rules stay",
                       VG_LS("error", d.msg));
                vg_srv_detect_reload_refused(&srv);
                continue;
            }
            cfg.detect_rules = ncfg.detect_rules;
            cfg.detect_enable = ncfg.detect_enable;
            cfg.detect_disable = ncfg.detect_disable;
            cfg.detect_min_level = ncfg.detect_min_level;
            cfg.detect_placeholders = ncfg.detect_placeholders;
            cfg.detect_portable = ncfg.detect_portable;
            vg_diag_clear(&d);
            vg_srv_detect_reload(&srv, &d);
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT) {
            vg_log(VG_LOG_INFO, "shutting down", VG_LS("signal", sig == SIGTERM ? "TERM" : "INT"));
            break;
        }
    }
    vg_http_stop(&srv, cfg.shutdown_timeout);
    rc = 0;
out:
    vg_srv_agents_stop(&srv);
    vg_srv_custom_stop(&srv);
    vg_srv_incidents_stop(&srv);
    vg_srv_admin_stop(&srv);
    if (store) {
        vg_diag_clear(&d);
        if (vg_store_close(store, &d)) {
            vg_log(VG_LOG_ERROR, "store close failed", VG_LS("error", d.msg));
            rc = 1;
        }
    }
    vg_srv_detect_stop(&srv);
    vg_auth_close(auth);
    if (srv.geo)
        MMDB_close(&geo);
    if (srv.cfg && rc == 0)
        vg_log(VG_LOG_INFO, "stopped");
    vg_arena_free(&arena);
    return rc;
}
