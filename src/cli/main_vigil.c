/*
 * main_vigil.c - the `vigil` command line: a table of subcommands
 * {name, fn, summary}, `vigil --help`, and dispatch. Each subcommand parses
 * its own options from its settings table (see cli_int.h), so
 * `vigil CMD --help` always matches what the command accepts.
 */
#include <malloc.h>
#include <string.h>

#include "cli_int.h"

static const cli_cmd commands[] = {
    { "schema", cmd_schema, "list the tables of the schema, or one table's columns and types" },
    { "ingest", cmd_ingest,
      "load NDJSON, EVTX, evtx-JSON or Winlogbeat files into a data directory or a server" },
    { "hunt", cmd_hunt, "run a KQL advanced hunting query over a data directory or a server" },
    { "detect", cmd_detect, "run Sigma rules over EVTX, evtx-JSON, Winlogbeat or NDJSON files" },
    { "rules", cmd_rules, "check, list and test Sigma rules (check, list, test)" },
    { "token", cmd_token, "create, list and revoke API tokens (through a server, or offline)" },
    { "incidents", cmd_incidents, "list, show and update the incidents of a server" },
    { "alerts", cmd_alerts, "list, show and update the alerts of a server" },
    { "detections", cmd_detections, "manage a server's custom detection rules (scheduled KQL)" },
    { "suppressions", cmd_suppressions, "manage a server's alert suppression rules" },
    { "count", cmd_count, "print the number of rows of a table in a data directory" },
    { "dump", cmd_dump, "print the rows of a table in a data directory as NDJSON" },
    { "gen", cmd_gen, "generate synthetic Defender telemetry (NDJSON) for demos and benchmarks" },
    { "decode-bench", cmd_decode_bench,
      "measure the decoder alone: file -> batches with a null sink", true },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fputs("vigil - the Vigil XDR command line\n\n"
          "Usage: vigil COMMAND [OPTIONS] [ARGS]\n"
          "       vigil COMMAND --help\n\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!commands[i].hidden)
            fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fputs("\nExit status: 0 ok, 1 error, 2 usage error, 3 some input records were rejected.\n", f);
}

int main(int argc, char **argv)
{
    /*
     * Batches recycle their arenas' chunks through malloc/free thousands of
     * times a second; keep such chunks in the heap instead of fresh mmap()s,
     * whose every page would fault in again (a third of ingest time). One
     * malloc arena for all threads: the store's writer thread frees what the
     * decoder's thread allocates next, and per-thread heaps would hand those
     * pages back to the kernel (madvise) only to fault them in again.
     */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_ARENA_MAX, 1);
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            for (size_t i = 0; i < NCOMMANDS; i++)
                if (strcmp(commands[i].name, argv[2]) == 0) {
                    char *hargv[] = { argv[2], "--help", NULL };
                    return commands[i].fn(2, hargv);
                }
        }
        usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "vigil: unknown command '%s'\n\n", name);
    usage(stderr);
    return CLI_USAGE;
}
