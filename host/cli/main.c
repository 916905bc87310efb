/*
 * main.c - the `drift` command: subcommand dispatch, --help, --version.
 *
 * Each subcommand lives in its own file and returns the exit status; this
 * file only picks one. Exit statuses are listed in cli.h.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "drift/drift.h"
#include "sweep.h"

static void usage(FILE *out) {
  fputs(
      "usage: drift <command> [options]\n"
      "\n"
      "commands:\n"
      "  sweep     compare two feature files (CSV or .npy) column by column and\n"
      "            report which features drifted (drift sweep --help)\n"
      "\n"
      "options:\n"
      "  -h, --help     this help\n"
      "  --version      the version of drift and libdrift\n",
      out);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return CLI_USAGE;
  }
  const char *command = argv[1];
  if (strcmp(command, "-h") == 0 || strcmp(command, "--help") == 0 ||
      strcmp(command, "help") == 0) {
    usage(stdout);
    return CLI_OK;
  }
  if (strcmp(command, "--version") == 0) {
    printf("drift %d.%d.%d (libdrift %s)\n", DRIFT_VERSION_MAJOR, DRIFT_VERSION_MINOR,
           DRIFT_VERSION_PATCH, drift_version());
    return CLI_OK;
  }
  if (strcmp(command, "sweep") == 0) return sweep_main(argc - 2, argv + 2);
  cli_error("unknown command \"%s\" (see drift --help)", command);
  return CLI_USAGE;
}
