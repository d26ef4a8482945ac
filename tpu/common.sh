#!/usr/bin/env bash
# Shared settings and helpers for the tpu/*.sh scripts. Source it, do not run it.
#
# A script that sources this file must define `script_usage` (prints its own
# usage lines) and then call:
#     parse_common_args "$@"
#     set -- "${ARGS[@]+"${ARGS[@]}"}"
#
# Settings (environment variables; empty means "use the default"). The default
# slice is the one of Google's "Create Cloud TPU VMs" example: a v5e with 8
# chips on one host (https://cloud.google.com/tpu/docs/create-tpu-vm), in a
# zone that lists v5e (https://cloud.google.com/tpu/docs/regions-zones).
TPU_NAME="${TPU_NAME:-jaxml-tpu}"
ZONE="${ZONE:-us-central1-a}"
ACCELERATOR_TYPE="${ACCELERATOR_TYPE:-v5litepod-8}"
RUNTIME_VERSION="${RUNTIME_VERSION:-}"  # empty: the software version for ACCELERATOR_TYPE's generation
PROJECT="${PROJECT:-}"
REPO_URL="${REPO_URL:-}"  # empty: `git remote get-url origin` of this checkout
# shellcheck disable=SC2088  # the tilde is expanded on the TPU workers, not here
REMOTE_DIR="${REMOTE_DIR:-~/jaxml}"
SPOT="${SPOT:-0}"
PYTHON="${PYTHON:-3.12}"
SKIP_CHECK="${SKIP_CHECK:-0}"
DRY_RUN="${DRY_RUN:-0}"

# TPU software version per generation, from https://cloud.google.com/tpu/docs/runtimes
# ("PyTorch and JAX" table): the prefix of ACCELERATOR_TYPE selects the row.
RUNTIME_BY_GENERATION=(
  "v6e-=v2-alpha-tpuv6e"
  "v5litepod-=v2-alpha-tpuv5-lite"
  "v5p-=v2-alpha-tpuv5"
  "v4-=tpu-ubuntu2204-base"
  "v3-=tpu-ubuntu2204-base"
  "v2-=tpu-ubuntu2204-base"
)

# Positional arguments left after removing the common flags.
ARGS=()

common_env_help() {
  local line
  for line in \
    '' \
    'Options:' \
    '  --dry-run   print every gcloud command (shell-quoted) instead of running it' \
    '              (same as DRY_RUN=1)' \
    '  -h, --help  show this help' \
    '' \
    'Environment variables (default in brackets):' \
    '  TPU_NAME          TPU VM name                         [jaxml-tpu]' \
    '  ZONE              zone                                [us-central1-a]' \
    '  ACCELERATOR_TYPE  slice type                          [v5litepod-8]' \
    '  RUNTIME_VERSION   TPU VM software version             [by generation: v2-alpha-tpuv5-lite' \
    '                                                         for v5litepod-*, v2-alpha-tpuv6e for v6e-*, ...]' \
    '  PROJECT           GCP project (empty: gcloud default) []' \
    '  REPO_URL          git URL cloned on the workers       [git remote get-url origin]' \
    '  REMOTE_DIR        checkout directory on the workers   [~/jaxml]' \
    '  SPOT              1: create a spot (preemptible) VM   [0]' \
    '  PYTHON            Python that uv puts in .venv on the [3.12]' \
    '                    workers (a version, >= 3.11, or an interpreter name)' \
    '  SKIP_CHECK        1: create.sh skips tpu/check.sh     [0]' \
    '  DRY_RUN           1: same as --dry-run                [0]' \
    ; do
    printf '%s\n' "$line"
  done
}

die() {
  echo "error: $*" >&2
  exit 2
}

# parse_common_args "$@": strips --dry-run (anywhere; everything after a
# literal `--` is passed through untouched), handles --help/-h when it comes
# before the first positional argument, and fills ARGS with the rest.
parse_common_args() {
  ARGS=()
  local passthrough=0 arg
  for arg in "$@"; do
    if ((passthrough)); then
      ARGS+=("$arg")
      continue
    fi
    case "$arg" in
      --dry-run) DRY_RUN=1 ;;
      --) passthrough=1 ;;
      -h | --help)
        if ((${#ARGS[@]} == 0)); then
          script_usage
          common_env_help
          exit 0
        fi
        ARGS+=("$arg")
        ;;
      *) ARGS+=("$arg") ;;
    esac
  done

  local flag
  for flag in DRY_RUN SPOT SKIP_CHECK; do
    case "${!flag}" in
      0 | 1) ;;
      *) die "$flag must be 0 or 1 (got '${!flag}')" ;;
    esac
  done
}

# resolve_runtime_version: fill an empty RUNTIME_VERSION from RUNTIME_BY_GENERATION;
# exits 2 with one line naming RUNTIME_VERSION for an unknown generation.
resolve_runtime_version() {
  [[ -z "$RUNTIME_VERSION" ]] || return 0
  local entry
  for entry in "${RUNTIME_BY_GENERATION[@]}"; do
    if [[ "$ACCELERATOR_TYPE" == "${entry%%=*}"* ]]; then
      RUNTIME_VERSION="${entry#*=}"
      return 0
    fi
  done
  die "RUNTIME_VERSION has no default for ACCELERATOR_TYPE=$ACCELERATOR_TYPE (known prefixes: $(runtime_prefixes)); set RUNTIME_VERSION (see https://cloud.google.com/tpu/docs/runtimes)"
}

runtime_prefixes() {
  local entry out=""
  for entry in "${RUNTIME_BY_GENERATION[@]}"; do
    out+="${out:+, }${entry%%=*}*"
  done
  printf '%s' "$out"
}

# require_gcloud: exits 2 with one line on stderr when gcloud is not installed.
require_gcloud() {
  if ! command -v gcloud >/dev/null 2>&1; then
    die "gcloud not found on PATH; install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install) or use --dry-run"
  fi
}

# run_cmd CMD [ARG...]: print the command (dry run) or execute it; exits 2 with
# one line on stderr when gcloud is needed but not installed.
run_cmd() {
  if [[ "$DRY_RUN" == 1 ]]; then
    local line
    line="$(printf '%q ' "$@")"
    printf '%s\n' "${line% }"
  else
    if [[ "$1" == gcloud ]]; then
      require_gcloud
    fi
    "$@"
  fi
}

# The flags every `gcloud compute tpus tpu-vm` call needs after the VM name.
location_flags() {
  LOCATION_FLAGS=("--zone=$ZONE")
  if [[ -n "$PROJECT" ]]; then
    LOCATION_FLAGS+=("--project=$PROJECT")
  fi
}

# resolve_repo_url: fill an empty REPO_URL from this checkout's `origin`
# remote; exits 2 with one line naming REPO_URL when there is none, or when it
# is a local path that the TPU workers cannot clone.
resolve_repo_url() {
  [[ -z "$REPO_URL" ]] || return 0
  local root="${here:-.}/.." url=""
  if command -v git >/dev/null 2>&1; then
    url="$(git -C "$root" remote get-url origin 2>/dev/null)" || url=""
  fi
  if [[ -z "$url" ]]; then
    die "no repository URL for the workers to clone: set REPO_URL (e.g. REPO_URL=https://github.com/YOU/jaxml.git), or run from a git checkout whose 'origin' remote is that URL"
  fi
  # git's URL forms: scheme://..., scp-like [user@]host:path (no slash before the
  # first colon), or a local path (which includes file://).
  if [[ "$url" != file://* && ("$url" == *://* || "$url" =~ ^[^/:]+: ) ]]; then
    REPO_URL="$url"
    return 0
  fi
  die "the 'origin' remote of this checkout is a local path ($url) that the TPU workers cannot clone; set REPO_URL to a URL they can reach (e.g. https://github.com/YOU/jaxml.git)"
}

# sq WORD: quote WORD for a POSIX shell on the remote side (left bare when safe).
sq() {
  local s="$1" q="'\\''"
  if [[ -n "$s" && "$s" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
    printf '%s' "$s"
  else
    printf "'%s'" "${s//\'/$q}"
  fi
}

# remote_dir_q: REMOTE_DIR quoted for the remote shell, keeping a leading `~`
# unquoted so that it expands to the worker's home directory.
remote_dir_q() {
  case "$REMOTE_DIR" in
    \~) printf '%s' "~" ;;
    \~/*) printf '%s/%s' "~" "$(sq "${REMOTE_DIR#\~/}")" ;;
    *) sq "$REMOTE_DIR" ;;
  esac
}

# ssh_all REMOTE_COMMAND: run one shell command line on every worker.
ssh_all() {
  location_flags
  run_cmd gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${LOCATION_FLAGS[@]}" \
    --worker=all "--command=$1"
}
