#!/usr/bin/env bash
# Debian's Chromium for the headless-browser tests of the dashboard (Playwright drives it through
# executable_path; `playwright install` cannot download browsers here). Installs it when missing and
# this user may use apt-get; otherwise says what to do. BROWSER_PATH overrides /usr/bin/chromium.
set -euo pipefail
browser="${BROWSER_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium (headless-browser tests)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "Chromium is required by the dashboard tests: install it (sudo apt-get install -y chromium) or set BROWSER_PATH" >&2
exit 1
