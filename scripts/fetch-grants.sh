#!/usr/bin/env bash
# Produces data/grants/reference.csv and data/grants/current.csv: the
# University of Melbourne grant applications shipped in Debian's
# r-cran-modeldata (MIT). reference = the rows of grants_other before 2008
# (the indices listed in grants_2008, 6,633 rows), current = the 2008 rows
# (the other 1,557). 1,503 columns each: counts and numbers, and six factors
# (class, sponsor_code, contract_value_band, category_code, month, weekday)
# written as quoted strings, so `drift sweep` treats them as categorical.
# Installs r-cran-modeldata when Rscript or the package is missing; does
# nothing when both files exist. Usage: scripts/fetch-grants.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/grants}

if [ -s "$out/reference.csv" ] && [ -s "$out/current.csv" ]; then
  echo "fetch-grants: $out/reference.csv and current.csv exist"
  exit 0
fi

have_modeldata() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript -e 'quit(status = !requireNamespace("modeldata", quietly = TRUE))' >/dev/null 2>&1
}

if ! have_modeldata; then
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  echo "fetch-grants: installing r-cran-modeldata (Debian)"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    r-cran-modeldata
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# write.csv quotes factor levels and strings and writes missing values as NA.
Rscript --vanilla - "$tmp" <<'R'
dir <- commandArgs(trailingOnly = TRUE)[1]
data(grants, package = "modeldata")
before <- grants_other[grants_2008, ]
during <- grants_other[-grants_2008, ]
write.csv(before, file.path(dir, "reference.csv"), row.names = FALSE)
write.csv(during, file.path(dir, "current.csv"), row.names = FALSE)
cat(sprintf("fetch-grants: reference %d rows, current %d rows, %d columns\n",
            nrow(before), nrow(during), ncol(before)))
R
mv "$tmp/reference.csv" "$out/reference.csv"
mv "$tmp/current.csv" "$out/current.csv"
echo "fetch-grants: wrote $out/reference.csv and $out/current.csv"
