/*
 * output.c - where the report goes: PREFIX.json, .csv and .html (with
 * --multivariate also PREFIX_multivariate.csv), or stdout, which gets one
 * format and no multivariate CSV (see output.h). A file is written whole
 * or reported as failed; a write error (full disk) is an error, not a
 * truncated report.
 */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

typedef void (*format_writer)(const sweep_report *r, FILE *out);

static int write_file(const sweep_report *r, const char *suffix, format_writer writer) {
  const char *prefix = r->args->output;
  size_t len = strlen(prefix) + strlen(suffix) + 1;
  char *path = cli_malloc(len);
  snprintf(path, len, "%s%s", prefix, suffix);
  int status = 0;
  FILE *out = fopen(path, "w");
  if (out == NULL) {
    cli_error("%s: cannot create: %s", path, strerror(errno));
    status = CLI_USAGE;
  } else {
    writer(r, out);
    int failed = ferror(out);
    if (fclose(out) != 0 || failed) {
      cli_error("%s: write failed: %s", path, strerror(errno));
      status = CLI_ENGINE;
    }
  }
  free(path);
  return status;
}

/* mkdir -p of the directory part of path (up to its last '/'). */
static int make_parents(const char *path) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL || slash == path) return 0;
  size_t len = (size_t)(slash - path);
  char *dir = cli_malloc(len + 1);
  memcpy(dir, path, len);
  dir[len] = '\0';
  int status = 0;
  for (char *p = dir + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char saved = *p;
    *p = '\0';
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
      cli_error("%s: cannot create the output directory: %s", dir, strerror(errno));
      status = CLI_USAGE;
    }
    *p = saved;
    if (saved == '\0' || status != 0) break;
  }
  struct stat st;
  if (status == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
    cli_error("%s: not a directory, cannot hold the reports", dir);
    status = CLI_USAGE;
  }
  if (status == 0 && access(dir, W_OK | X_OK) != 0) {
    cli_error("%s: cannot write reports there: %s", dir, strerror(errno));
    status = CLI_USAGE;
  }
  free(dir);
  return status;
}

int output_prepare(const sweep_args *a) {
  return strcmp(a->output, "-") == 0 ? 0 : make_parents(a->output);
}

int output_write(const sweep_report *r) {
  int formats = r->args->formats;
  if (strcmp(r->args->output, "-") == 0) {
    format_writer writer = formats & FORMAT_JSON  ? output_json
                           : formats & FORMAT_CSV ? output_csv
                                                  : output_html;
    writer(r, stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
      cli_error("stdout: write failed: %s", strerror(errno));
      return CLI_ENGINE;
    }
    return 0;
  }
  int status = 0;
  if (formats & FORMAT_JSON) status = write_file(r, ".json", output_json);
  if (status == 0 && (formats & FORMAT_CSV)) status = write_file(r, ".csv", output_csv);
  if (status == 0 && (formats & FORMAT_CSV) && r->multivariate != NULL)
    status = write_file(r, "_multivariate.csv", output_csv_multivariate);
  if (status == 0 && (formats & FORMAT_HTML)) status = write_file(r, ".html", output_html);
  return status;
}
