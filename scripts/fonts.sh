#!/usr/bin/env bash
# Charts need a font: installs fontconfig and DejaVu (Debian packages) when fontconfig lists no font. Idempotent.
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list 2>/dev/null | head -1)" ]; then
  echo "installing fontconfig and fonts-dejavu-core (Debian packages) so charts can draw text"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && apt-get install -y -qq fontconfig fonts-dejavu-core >/dev/null
  else
    echo "not root: install them with 'sudo apt-get install fontconfig fonts-dejavu-core' for readable charts" >&2
  fi
fi
