#!/usr/bin/env bash
# Pre-flight check: is everything in place to create the TPU VM? Creates nothing.
set -euo pipefail

script_usage() {
  echo "usage: tpu/check.sh [--dry-run]"
  echo "Check, before anything is created, that gcloud is installed and logged in, a project is set,"
  echo "the Cloud TPU API is enabled, \$ZONE offers \$ACCELERATOR_TYPE and \$RUNTIME_VERSION, and the"
  echo "workers have a repository to clone (\$REPO_URL). One 'ok:' line per check; the first problem"
  echo "stops it with one 'error:' line saying what to do (exit status 2). tpu/create.sh runs it first."
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

preflight_checks
report "ready: tpu/create.sh will create $TPU_NAME ($ACCELERATOR_TYPE, $RUNTIME_VERSION) in $ZONE"
