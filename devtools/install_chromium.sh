#!/usr/bin/env bash
# Install Debian's Chromium and its matching chromedriver for the browser tests
# (tests/orders/test_e2e_browser.py); does nothing when both are already there.
# The tests drive /usr/bin/chromium through /usr/bin/chromedriver and never download a browser.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install_chromium.sh: apt-get not found; install chromium and chromedriver" \
       "(/usr/bin/chromium, /usr/bin/chromedriver) with your package manager." >&2
  exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "install_chromium.sh: run as root (or install sudo) to apt-get install chromium." >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "Installing chromium and chromium-driver with apt-get..."
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver
/usr/bin/chromium --version
/usr/bin/chromedriver --version
