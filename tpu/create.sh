#!/usr/bin/env bash
# Create the TPU VM slice.
set -euo pipefail

script_usage() {
  echo "usage: tpu/create.sh [--dry-run]"
  echo "Create the Cloud TPU VM \$TPU_NAME (\$ACCELERATOR_TYPE, \$RUNTIME_VERSION) in \$ZONE,"
  echo "after the pre-flight checks of tpu/check.sh (SKIP_CHECK=1 skips them)."
}

here="${BASH_SOURCE[0]%/*}"
[[ "$here" != "${BASH_SOURCE[0]}" ]] || here=.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"
# shellcheck source-path=SCRIPTDIR source=preflight.sh
source "$here/preflight.sh"
parse_common_args "$@"
set -- "${ARGS[@]+"${ARGS[@]}"}"
(($# == 0)) || die "unexpected arguments: $* (see --help)"
resolve_runtime_version

if [[ "$SKIP_CHECK" != 1 ]]; then
  preflight_checks
fi

cmd=(gcloud compute tpus tpu-vm create "$TPU_NAME"
  "--zone=$ZONE"
  "--accelerator-type=$ACCELERATOR_TYPE"
  "--version=$RUNTIME_VERSION")
if [[ -n "$PROJECT" ]]; then
  cmd+=("--project=$PROJECT")
fi
if [[ "$SPOT" == 1 ]]; then
  cmd+=(--spot)
fi
run_cmd "${cmd[@]}"
