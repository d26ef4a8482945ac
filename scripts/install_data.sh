#!/usr/bin/env bash
# Installs the Debian data packages jaxml uses when they are missing (Fashion-MNIST, the KJV text,
# the espeak-ng speech synthesiser); never fails the build.
set -u
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
