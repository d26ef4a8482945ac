#!/usr/bin/env bash
# Installs the data jaxml uses when it is missing: the Kinships / UMLS / Nations knowledge-graph files
# (the pykeen wheel's data files, installed without its dependencies into the venv), and the Debian data
# packages (Fashion-MNIST, the KJV text, the espeak-ng speech synthesiser); never fails the build.
set -u
# The small knowledge graphs: pykeen's wheel ships their train/valid/test files; --no-deps keeps torch
# out, and jaxml reads the files without importing pykeen (jaxml/data/small_kgs.py).
py="${JAXML_PYTHON:-.venv/bin/python}"
pykeen_pin="pykeen==1.11.1"
if [ ! -x "$py" ]; then
  echo "[jaxml] data: no Python at $py; the Kinships/UMLS/Nations experiments and tests will be skipped. Install their files with: pip install --no-deps $pykeen_pin"
elif "$py" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("pykeen") is None)' 2>/dev/null; then
  echo "[jaxml] data: the Kinships/UMLS/Nations files (pykeen) are installed."
elif "$py" -m pip install --quiet --no-deps "$pykeen_pin" >/dev/null 2>&1; then
  echo "[jaxml] data: installed the Kinships/UMLS/Nations files ($pykeen_pin, without its dependencies)"
else
  echo "[jaxml] data: pip could not install $pykeen_pin (no registry?); the Kinships/UMLS/Nations experiments and tests will be skipped. Install with: $py -m pip install --no-deps $pykeen_pin, or put the files in \$JAXML_DATA_DIR/<name>/"
fi
missing=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing+=(dataset-fashion-mnist)
command -v bible >/dev/null 2>&1 || missing+=(bible-kjv)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
if [ ${#missing[@]} -eq 0 ]; then
  echo "[jaxml] data: Fashion-MNIST, the KJV text and espeak-ng are installed."
  exit 0
fi
# Root, or passwordless sudo (TPU VM workers), can install the Debian/Ubuntu packages.
as_root=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
fi
if { [ "$(id -u)" -eq 0 ] || [ ${#as_root[@]} -gt 0 ]; } && command -v apt-get >/dev/null 2>&1; then
  echo "[jaxml] data: installing ${missing[*]} with apt-get"
  if ("${as_root[@]}" apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
      || { "${as_root[@]}" apt-get update -q >/dev/null 2>&1 \
           && "${as_root[@]}" apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; }); then
    echo "[jaxml] data: installed ${missing[*]}"
    exit 0
  fi
  echo "[jaxml] data: apt-get could not install ${missing[*]}; falling back to built-in data (sklearn digits); Fashion-MNIST and speech experiments and tests will be skipped."
else
  echo "[jaxml] data: not root, cannot install ${missing[*]}; falling back to built-in data (sklearn digits); Fashion-MNIST and speech experiments and tests will be skipped. Install with: sudo apt-get install ${missing[*]}"
fi
exit 0
