#!/usr/bin/env bash
# Shared settings and helpers for the tpu/*.sh scripts. Source it, do not run it.
#
# A script that sources this file must define `script_usage` (prints its own
# usage lines) and then call:
#     parse_common_args "$@"
#     set -- "${ARGS[@]+"${ARGS[@]}"}"
#
# Settings (environment variables; empty means "use the default"):
TPU_NAME="${TPU_NAME:-jaxml-tpu}"
ZONE="${ZONE:-us-central2-b}"
ACCELERATOR_TYPE="${ACCELERATOR_TYPE:-v4-8}"
RUNTIME_VERSION="${RUNTIME_VERSION:-tpu-ubuntu2204-base}"
PROJECT="${PROJECT:-}"
REPO_URL="${REPO_URL:-https://github.com/jaxml/jaxml.git}"
# shellcheck disable=SC2088  # the tilde is expanded on the TPU workers, not here
REMOTE_DIR="${REMOTE_DIR:-~/jaxml}"
SPOT="${SPOT:-0}"
PYTHON="${PYTHON:-python3}"
DRY_RUN="${DRY_RUN:-0}"

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
    '  ZONE              zone                                [us-central2-b]' \
    '  ACCELERATOR_TYPE  slice type                          [v4-8]' \
    '  RUNTIME_VERSION   TPU VM software version             [tpu-ubuntu2204-base]' \
    '  PROJECT           GCP project (empty: gcloud default) []' \
    '  REPO_URL          git URL cloned on the workers       [https://github.com/jaxml/jaxml.git]' \
    '  REMOTE_DIR        checkout directory on the workers   [~/jaxml]' \
    '  SPOT              1: create a spot (preemptible) VM   [0]' \
    '  PYTHON            interpreter used to create .venv    [python3]' \
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

  case "$DRY_RUN" in
    0 | 1) ;;
    *) die "DRY_RUN must be 0 or 1 (got '$DRY_RUN')" ;;
  esac
  case "$SPOT" in
    0 | 1) ;;
    *) die "SPOT must be 0 or 1 (got '$SPOT')" ;;
  esac
}

# run_cmd CMD [ARG...]: print the command (dry run) or execute it; exits 2 with
# one line on stderr when gcloud is needed but not installed.
run_cmd() {
  if [[ "$DRY_RUN" == 1 ]]; then
    local line
    line="$(printf '%q ' "$@")"
    printf '%s\n' "${line% }"
  else
    if [[ "$1" == gcloud ]] && ! command -v gcloud >/dev/null 2>&1; then
      die "gcloud not found on PATH; install the Google Cloud SDK (https://cloud.google.com/sdk/docs/install) or use --dry-run"
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
