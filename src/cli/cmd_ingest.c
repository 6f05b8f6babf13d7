/* cmd_ingest.c - placeholder */
#include "cli_int.h"
int cmd_ingest(int argc, char **argv) { return 1; }
