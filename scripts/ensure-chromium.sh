#!/usr/bin/env bash
# Makes sure a headless Chromium exists for the browser tests (test/browser/*.test.ts, run by `npm test`):
# $CHROMIUM_PATH, /usr/bin/chromium or /usr/bin/chromium-browser; else installs Debian's `chromium` with apt-get
# (as root, or through sudo). Prints the binary and its version; exits non-zero when none can be had.
set -euo pipefail

find_chromium() {
  for p in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

if bin=$(find_chromium); then
  echo "ensure-chromium: found $bin ($("$bin" --version 2>/dev/null | head -n 1))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: expected apt-get to install chromium, found none; install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ensure-chromium: chromium is missing and installing it needs root (no sudo found)" >&2
    exit 1
  fi
fi
echo "ensure-chromium: installing Debian's chromium with apt-get"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
if bin=$(find_chromium); then
  echo "ensure-chromium: installed $bin ($("$bin" --version 2>/dev/null | head -n 1))"
else
  echo "ensure-chromium: apt-get install chromium finished but no binary at /usr/bin/chromium" >&2
  exit 1
fi
