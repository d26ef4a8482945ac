#!/usr/bin/env bash
# Delete the TPU VM (stops billing). Copy your results first.
set -euo pipefail

script_usage() {
  echo "usage: tpu/delete.sh [--dry-run]"
  echo "Delete the Cloud TPU VM \$TPU_NAME in \$ZONE (no confirmation prompt)."
}

here="${BASH_SOURCE[0]%/*}"
[[ "$here" != "${BASH_SOURCE[0]}" ]] || here=.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"
parse_common_args "$@"
set -- "${ARGS[@]+"${ARGS[@]}"}"
(($# == 0)) || die "unexpected arguments: $* (see --help)"

location_flags
run_cmd gcloud compute tpus tpu-vm delete "$TPU_NAME" "${LOCATION_FLAGS[@]}" --quiet
