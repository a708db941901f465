#!/usr/bin/env bash
# Installs the real servers the conformance tests run against, pinned, into
# $CONFAB_TEST_CACHE (default ~/.cache/confab-test), reusing what is there:
#   - LiteLLM's proxy (PyPI), in a venv: scripts/litellm-requirements.txt.
# Prints the variables the tests read, as `export NAME=VALUE` lines.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${CONFAB_TEST_CACHE:-$HOME/.cache/confab-test}"
requirements=scripts/litellm-requirements.txt
stamp="$(sha256sum "$requirements" | cut -c1-16)"
venv="$cache/litellm-venv-$stamp"

if [ ! -f "$venv/.complete" ]; then
  echo "installing LiteLLM's proxy into $venv (a few minutes, once)" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$requirements" >&2
  touch "$venv/.complete"
fi
"$venv/bin/python" -c 'import litellm.proxy.proxy_server' >/dev/null 2>&1 || {
  echo "the LiteLLM venv at $venv is broken; remove it and run again" >&2
  exit 1
}
echo "export CONFAB_LITELLM=$venv/bin/litellm"
