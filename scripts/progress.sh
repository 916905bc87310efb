# progress.sh - sourced by the run scripts: numbered steps with their
# elapsed time, and a build whose progress shows on one line on a terminal
# (the percentage and the file being built) and as a line every 10% in a
# log. Nothing here installs or builds by itself.

progress_t0=$(date +%s)
progress_step_t0=$progress_t0

# step "what is happening" ["how long it may take"]
step() {
  progress_step_t0=$(date +%s)
  if [ -n "${2:-}" ]; then
    printf '==> %s (%s)\n' "$1" "$2"
  else
    printf '==> %s\n' "$1"
  fi
}

# done_step: the time the last step took.
done_step() {
  printf '    done in %ds\n' "$(($(date +%s) - progress_step_t0))"
}

# build_target BUILD_DIR TARGET...: cmake --build with its progress folded
# into one line on a terminal; on failure the last lines of the log.
build_target() {
  local dir=$1
  shift
  local log="$dir/build.log"
  mkdir -p "$dir"
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  {
    cmake --build "$dir" -j"$(nproc)" "${targets[@]}" 2>&1
    echo "$?" > "$dir/.build-rc"
  } | tee "$log" | {
    local last=-10
    while IFS= read -r line; do
      case "$line" in
        \[*%\]*)
          local pct=${line#\[}
          pct=${pct%%%\]*}
          pct=${pct// /}
          if [ -t 1 ]; then
            printf '\r    [%3s%%] %-70.70s' "$pct" "${line#*\] }"
          elif [ "$pct" -ge $((last + 10)) ] 2>/dev/null; then
            printf '    [%3s%%]\n' "$pct"
            last=$pct
          fi
          ;;
      esac
    done
    if [ -t 1 ]; then printf '\r%-80s\r' ''; fi
  }
  local rc
  rc=$(cat "$dir/.build-rc")
  if [ "$rc" -ne 0 ]; then
    tail -30 "$log" >&2
    echo "build failed; the whole log is $log" >&2
    return "$rc"
  fi
}
