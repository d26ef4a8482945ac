#!/usr/bin/env bash
# Clone/update the repo on every worker, create .venv (Python >= 3.11) and install jax[tpu] + the project.
set -euo pipefail

script_usage() {
  echo "usage: tpu/setup.sh [--dry-run]"
  echo "On every worker of \$TPU_NAME: clone or pull \$REPO_URL into \$REMOTE_DIR, install uv if needed,"
  echo "create .venv with Python \$PYTHON (uv downloads it when the image lacks it), check that it is"
  echo ">= 3.11, pip install -U \"jax[tpu]\" and -e ., then print jax.device_count()."
}

here="${BASH_SOURCE[0]%/*}"
[[ "$here" != "${BASH_SOURCE[0]}" ]] || here=.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"
parse_common_args "$@"
set -- "${ARGS[@]+"${ARGS[@]}"}"
(($# == 0)) || die "unexpected arguments: $* (see --help)"
resolve_repo_url

dir="$(remote_dir_q)"
py="$(sq "$PYTHON")"
too_old="import sys; sys.exit(sys.version_info < (3, 11))"
# The TPU images' own python3 can be older than jaxml's minimum (3.11), so the
# venv's interpreter comes from uv: the one named by $PYTHON if the image has
# it, else a managed CPython that uv downloads. uv itself comes from PyPI (pip
# --user), else from its standalone installer; both put it in ~/.local/bin.
# shellcheck disable=SC2016  # $HOME and $PATH are expanded on the workers
steps=(
  "set -e"
  "if [ -d $dir/.git ]; then git -C $dir pull --ff-only; else git clone $(sq "$REPO_URL") $dir; fi"
  "cd $dir"
  'export PATH="$HOME/.local/bin:$PATH"'
  "command -v uv >/dev/null 2>&1 || python3 -m pip install --user -q uv || curl -LsSf https://astral.sh/uv/install.sh | sh || true"
  "command -v uv >/dev/null 2>&1 || { echo 'error: could not install uv on this worker (neither python3 -m pip install --user uv nor https://astral.sh/uv/install.sh worked); install uv there (https://docs.astral.sh/uv/getting-started/installation/) and re-run tpu/setup.sh' >&2; exit 1; }"
  # a .venv made by an older interpreter (e.g. by an earlier setup.sh) is replaced
  "if [ -e .venv ] && ! .venv/bin/python -c '$too_old' >/dev/null 2>&1; then rm -rf .venv; fi"
  "[ -x .venv/bin/python ] || uv venv --seed --python $py .venv || { echo 'error: uv could not create .venv with Python '$py'; set PYTHON to a version >= 3.11 that uv can find or download (e.g. 3.12)' >&2; exit 1; }"
  ".venv/bin/python -c '$too_old' || { echo \"error: .venv has \$(.venv/bin/python -V 2>&1) but jaxml needs Python >= 3.11; set PYTHON to a newer version (e.g. 3.12) and re-run tpu/setup.sh\" >&2; exit 1; }"
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
