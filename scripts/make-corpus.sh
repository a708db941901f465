#!/usr/bin/env bash
# Writes bench-data/corpus.txt: at least 50 MB of mixed code and prose
# gathered from text files already on this machine (Rust and Python
# sources, C headers, documentation), for `cargo bench --bench count_tokens`.
set -euo pipefail
cd "$(dirname "$0")/.."
target_bytes=${1:-$((52 * 1024 * 1024))}
out=bench-data/corpus.txt
mkdir -p bench-data
: > "$out"

sources=(
  "$HOME/.cargo/registry/src"             # Rust code and docs
  /usr/lib/python3* /usr/local/lib/python3* "$HOME/.pyenv/versions"  # Python
  /usr/share/doc /usr/share/common-licenses /usr/share/perl* # prose
  /usr/include                             # C headers
)
# Interleave kinds so any slice of the corpus is mixed.
find "${sources[@]}" -type f \
  \( -name '*.rs' -o -name '*.py' -o -name '*.md' -o -name '*.txt' -o -name '*.h' \
     -o -name '*.rst' -o -name '*.pod' -o -name 'README*' -o -name 'copyright' \) \
  -size -2M 2>/dev/null | sort -t/ -k5 | awk 'NR % 3 == 0' | shuf --random-source=<(yes) |
while IFS= read -r file; do
  # Text files only.
  if grep -qI . "$file" 2>/dev/null; then
    cat "$file" >> "$out"
    printf '\n' >> "$out"
  fi
  if [ "$(stat -c %s "$out")" -ge "$target_bytes" ]; then
    break
  fi
done || true  # the writers upstream get SIGPIPE once the loop has enough
size=$(stat -c %s "$out")
echo "wrote $out: $size bytes"
if [ "$size" -lt "$target_bytes" ]; then
  echo "warning: only $size bytes of text found; the benchmark will use what there is" >&2
fi
