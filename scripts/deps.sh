#!/usr/bin/env bash
# Installs what batchtune needs to build and test on Debian 12, only what is missing (idempotent).
# The CUDA toolkit is optional: when nvcc is present the CUDA backend is built too. chromium opens
# the HTML reports in tests/py/test_report_html.py (which skips without it).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libhdf5-dev libcjson-dev libyaml-dev zlib1g-dev
      python3 python3-numpy python3-pandas python3-h5py python3-sklearn python3-xgboost chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
