#!/usr/bin/env bash
# Installs the real servers the conformance tests run against, pinned, into
# $CONFAB_TEST_CACHE (default ~/.cache/confab-test), reusing what is there:
#   - LiteLLM's proxy (PyPI), in a venv: scripts/litellm-requirements.txt.
#   - Arize Phoenix (PyPI), in a venv: scripts/phoenix-requirements.txt.
# Prints the variables the tests read, as `export NAME=VALUE` lines.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${CONFAB_TEST_CACHE:-$HOME/.cache/confab-test}"
# Installs requirements file $2 into a venv named $1-<hash of the file>
# under the cache, once, and prints the venv's path.
install_venv() {
  local name="$1" requirements="$2" stamp venv
  stamp="$(sha256sum "$requirements" | cut -c1-16)"
  venv="$cache/$name-venv-$stamp"
  if [ ! -f "$venv/.complete" ]; then
    echo "installing $name into $venv (a few minutes, once)" >&2
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$requirements" >&2
    touch "$venv/.complete"
  fi
  echo "$venv"
}

litellm="$(install_venv litellm scripts/litellm-requirements.txt)"
"$litellm/bin/python" -c 'import litellm.proxy.proxy_server' >/dev/null 2>&1 || {
  echo "the LiteLLM venv at $litellm is broken; remove it and run again" >&2
  exit 1
}
phoenix="$(install_venv phoenix scripts/phoenix-requirements.txt)"
"$phoenix/bin/python" -c 'import phoenix.server.main' >/dev/null 2>&1 || {
  echo "the Phoenix venv at $phoenix is broken; remove it and run again" >&2
  exit 1
}
echo "export CONFAB_LITELLM=$litellm/bin/litellm"
echo "export CONFAB_PHOENIX=$phoenix/bin/phoenix"
