#!/usr/bin/env bash
# Pre-flight checks run before a TPU VM is created (by tpu/check.sh and
# tpu/create.sh). Source it after common.sh, do not run it.
#
# Each check either prints one `ok:` line or stops with one `error:` line on
# stderr that names the problem and what to do, and exit status 2. With
# DRY_RUN=1 the read-only gcloud queries are printed instead of run.

# first_error_line TEXT: the first line of gcloud's stderr that starts with
# ERROR (else the first non-empty line).
first_error_line() {
  local line first=""
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    if [[ "$line" == ERROR* ]]; then
      printf '%s' "$line"
      return 0
    fi
    [[ -n "$first" ]] || first="$line"
  done <<<"$1"
  printf '%s' "${first:-no error message}"
}

# gcloud_query OUT_VAR HINT ARG...: run the read-only `gcloud ARG...` and store
# its stdout in OUT_VAR; when it fails, stop with gcloud's error line and HINT.
gcloud_query() {
  local __var="$1" hint="$2"
  shift 2
  if [[ "$DRY_RUN" == 1 ]]; then
    run_cmd gcloud "$@"
    printf -v "$__var" '%s' ""
    return 0
  fi
  # stdout and stderr are captured separately without temporary files: the
  # stream reads  STDERR \0 STDOUT \0 STATUS \0.
  local out err status
  {
    IFS= read -r -d '' err
    IFS= read -r -d '' out
    IFS= read -r -d '' status
  } < <( (printf '\0%s\0%d\0' "$(gcloud "$@")" "$?" 1>&2) 2>&1)
  if [[ "$status" != 0 ]]; then
    die "'gcloud $*' failed ($(first_error_line "$err")); $hint"
  fi
  printf -v "$__var" '%s' "$out"
}

# has_line TEXT WORD: whether one line of TEXT is exactly WORD.
has_line() {
  local line
  while IFS= read -r line; do
    [[ "$line" != "$2" ]] || return 0
  done <<<"$1"
  return 1
}

# one_line TEXT: the lines of TEXT joined with ", " ("none" when empty).
one_line() {
  local line out=""
  while IFS= read -r line; do
    [[ -z "$line" ]] || out+="${out:+, }$line"
  done <<<"$1"
  printf '%s' "${out:-none}"
}

report() {
  [[ "$DRY_RUN" == 1 ]] || printf '%s\n' "$*"
}

preflight_checks() {
  local dry="$DRY_RUN" account project services types versions
  local project_flags=()
  if [[ -n "$PROJECT" ]]; then
    project_flags=("--project=$PROJECT")
  fi

  resolve_runtime_version
  [[ "$dry" == 1 ]] || require_gcloud

  gcloud_query account "check the gcloud installation with: gcloud info" \
    auth list --filter=status:ACTIVE "--format=value(account)"
  if [[ "$dry" != 1 && -z "$account" ]]; then
    die "no active gcloud account; run: gcloud auth login"
  fi
  report "ok: gcloud account $account"

  project="$PROJECT"
  if [[ -z "$project" ]]; then
    gcloud_query project "check the gcloud installation with: gcloud info" config get-value project
    [[ "$project" != "(unset)" ]] || project=""
    if [[ "$dry" != 1 && -z "$project" ]]; then
      die "no GCP project set; run: gcloud config set project PROJECT_ID (or export PROJECT=PROJECT_ID)"
    fi
  fi
  report "ok: project $project"

  gcloud_query services "check that project '$project' exists and that your account may use it" \
    services list --enabled "--format=value(config.name)" ${project_flags[@]+"${project_flags[@]}"}
  if [[ "$dry" != 1 ]] && ! has_line "$services" tpu.googleapis.com; then
    die "the Cloud TPU API is not enabled in project $project; run: gcloud services enable tpu.googleapis.com --project=$project"
  fi
  report "ok: the Cloud TPU API is enabled"

  gcloud_query types "check ZONE=$ZONE (the zones of each TPU type: https://cloud.google.com/tpu/docs/regions-zones)" \
    compute tpus accelerator-types list "--zone=$ZONE" "--format=value(type)" \
    ${project_flags[@]+"${project_flags[@]}"}
  if [[ "$dry" != 1 ]] && ! has_line "$types" "$ACCELERATOR_TYPE"; then
    die "zone $ZONE does not offer ACCELERATOR_TYPE=$ACCELERATOR_TYPE (it offers: $(one_line "$types")); set ZONE to a zone that does (https://cloud.google.com/tpu/docs/regions-zones) or ACCELERATOR_TYPE to one of those"
  fi
  report "ok: zone $ZONE offers $ACCELERATOR_TYPE"

  gcloud_query versions "check ZONE=$ZONE (https://cloud.google.com/tpu/docs/regions-zones)" \
    compute tpus tpu-vm versions list "--zone=$ZONE" "--format=value(version)" \
    ${project_flags[@]+"${project_flags[@]}"}
  if [[ "$dry" != 1 ]] && ! has_line "$versions" "$RUNTIME_VERSION"; then
    die "zone $ZONE does not offer RUNTIME_VERSION=$RUNTIME_VERSION; set RUNTIME_VERSION to the software version of your TPU generation (https://cloud.google.com/tpu/docs/runtimes)"
  fi
  report "ok: zone $ZONE offers software version $RUNTIME_VERSION"

  resolve_repo_url
  report "ok: the workers will clone $REPO_URL"

  local kind="on-demand"
  [[ "$SPOT" != 1 ]] || kind="spot (preemptible)"
  report "note: quota is not checked here. A new project's TPU quota is 0 for every type except v2-8 and v3-8, and spot and on-demand quota are separate (https://cloud.google.com/tpu/docs/quota): make sure project $project has $kind quota for $ACCELERATOR_TYPE in region ${ZONE%-*} at https://console.cloud.google.com/iam-admin/quotas?service=tpu.googleapis.com"
}
