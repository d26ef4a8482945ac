#!/usr/bin/env bash
# Copy a directory (default: runs) from worker 0 to ./tpu_results/.
set -euo pipefail

script_usage() {
  echo "usage: tpu/copy_results.sh [--dry-run] [DIR]"
  echo "Copy \$REMOTE_DIR/DIR (default DIR: runs) from worker 0 of \$TPU_NAME into ./tpu_results/."
  echo "Only process 0 writes logs and metrics, so worker 0 holds the results."
}

here="${BASH_SOURCE[0]%/*}"
[[ "$here" != "${BASH_SOURCE[0]}" ]] || here=.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"
parse_common_args "$@"
set -- "${ARGS[@]+"${ARGS[@]}"}"
(($# <= 1)) || die "expected at most one directory (see --help)"

# scp resolves relative remote paths against the home directory, so a leading
# `~/` is dropped rather than relying on the remote side to expand it.
remote_path="${REMOTE_DIR}/${1:-runs}"
case "$remote_path" in
  \~/*) remote_path="${remote_path#\~/}" ;;
esac

if [[ "$DRY_RUN" != 1 ]] && command -v gcloud >/dev/null 2>&1; then
  mkdir -p ./tpu_results
fi
location_flags
run_cmd gcloud compute tpus tpu-vm scp --recurse "$TPU_NAME:$remote_path" ./tpu_results/ \
  "${LOCATION_FLAGS[@]}" --worker=0
