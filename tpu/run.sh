#!/usr/bin/env bash
# Run a command from the project's .venv on every worker, with JAXML_DISTRIBUTED=1.
set -euo pipefail

script_usage() {
  echo "usage: tpu/run.sh [--dry-run] [--] COMMAND [ARG...]"
  echo "Run 'cd \$REMOTE_DIR && JAXML_DISTRIBUTED=1 .venv/bin/COMMAND ARG...' on every worker."
  echo "example: tpu/run.sh jaxml train cnn_fashion --workdir runs/cnn_tpu"
}

here="${BASH_SOURCE[0]%/*}"
[[ "$here" != "${BASH_SOURCE[0]}" ]] || here=.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"
parse_common_args "$@"
set -- "${ARGS[@]+"${ARGS[@]}"}"
if (($# == 0)); then
  script_usage >&2
  exit 2
fi

remote="cd $(remote_dir_q) && JAXML_DISTRIBUTED=1 .venv/bin/$(sq "$1")"
shift
for arg in "$@"; do
  remote+=" $(sq "$arg")"
done
ssh_all "$remote"
