#!/usr/bin/env bash
# The test suite, as CI runs it: installs the pinned real servers the
# conformance tests need (scripts/install-test-servers.sh), then runs
# `cargo test --locked`. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/install-test-servers.sh)"
export CONFAB_LITELLM CONFAB_PHOENIX CONFAB_MCP_SERVERS CONFAB_NODE CONFAB_PG_BIN CONFAB_LOCAL_GGUF CONFAB_RAG_EVAL_DIR
exec cargo test --locked "$@"
