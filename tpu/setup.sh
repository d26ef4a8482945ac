#!/usr/bin/env bash
# Clone/update the repo on every worker, create .venv and install jax[tpu] + the project.
set -euo pipefail

script_usage() {
  echo "usage: tpu/setup.sh [--dry-run]"
  echo "On every worker of \$TPU_NAME: clone or pull \$REPO_URL into \$REMOTE_DIR,"
  echo "create .venv, pip install -U \"jax[tpu]\" and -e ., then print jax.device_count()."
}

here="${BASH_SOURCE[0]%/*}"
[[ "$here" != "${BASH_SOURCE[0]}" ]] || here=.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"
parse_common_args "$@"
set -- "${ARGS[@]+"${ARGS[@]}"}"
(($# == 0)) || die "unexpected arguments: $* (see --help)"

dir="$(remote_dir_q)"
py="$(sq "$PYTHON")"
venv_pkg="$(sq "${PYTHON##*/}-venv")"
steps=(
  "set -e"
  "if [ -d $dir/.git ]; then git -C $dir pull --ff-only; else git clone $(sq "$REPO_URL") $dir; fi"
  "cd $dir"
  # Ubuntu images ship python3 without ensurepip; install the venv package if needed.
  "if ! $py -c 'import ensurepip' >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $venv_pkg; fi"
  "[ -x .venv/bin/pip ] || $py -m venv .venv"
  ".venv/bin/pip install -q -U pip"
  ".venv/bin/pip install -U 'jax[tpu]'"
  ".venv/bin/pip install -e ."
  "bash scripts/install_data.sh"
  ".venv/bin/python -c 'import jax; print(\"jax.device_count() =\", jax.device_count())'"
)
remote=""
for step in "${steps[@]}"; do
  remote+="${remote:+; }$step"
done
ssh_all "$remote"
