#!/usr/bin/env bash
# Fetches the pinned documentation corpora of the retrieval evaluation in
# tests/data/rag-eval/ (issue #19): Debian packages downloaded with
# `apt-get download PKG=VERSION`, checked against a pinned sha256, and only
# their HTML pages extracted into $CACHE/rag-eval/<corpus>/.
# Reuses what is already there. Prints `export CONFAB_RAG_EVAL_DIR=...`.
#
#   eval "$(scripts/fetch-rag-eval-corpora.sh)"
#
# Needs apt-get (a Debian bookworm mirror), dpkg-deb, sha256sum.
set -euo pipefail

CACHE="${CONFAB_TEST_CACHE:-$HOME/.cache/confab-test}/rag-eval"
mkdir -p "$CACHE/debs"

# corpus  package  version  sha256-of-.deb  directory-in-package  subdirectories-kept ('.' = top level)
CORPORA=(
  "git|git-doc|1:2.39.5-0+deb12u3|3c89668a11053a6bafade3de1f611f4613db31e082af63f43d8c5b69ad8795ec|usr/share/doc/git-doc|. howto technical"
  "sqlite|sqlite3-doc|3.40.1-2+deb12u2|466e30d7066e2641fa13e56bc662a2ad521b8cc9c17dde9c9dac3d4f105e32f2|usr/share/doc/sqlite3|. c3ref"
)

for entry in "${CORPORA[@]}"; do
  IFS='|' read -r corpus pkg version sha root keep <<<"$entry"
  out="$CACHE/$corpus"
  stamp="$out/.fetched-$pkg-${version//:/_}"
  if [[ -f "$stamp" ]]; then
    continue
  fi
  deb=$(ls "$CACHE/debs/${pkg}_"*"${version#*:}"_all.deb 2>/dev/null | head -n1 || true)
  if [[ -z "$deb" ]]; then
    # A fresh machine may not have the package lists yet: update once, as
    # root, and try again.
    (cd "$CACHE/debs" && apt-get download "$pkg=$version" >&2) ||
      { [[ $(id -u) == 0 ]] && apt-get update -qq >&2 &&
        (cd "$CACHE/debs" && apt-get download "$pkg=$version" >&2); } || {
      echo "apt-get download $pkg=$version failed (run apt-get update first?)" >&2
      exit 1
    }
    deb=$(ls "$CACHE/debs/${pkg}_"*"${version#*:}"_all.deb | head -n1)
  fi
  got=$(sha256sum "$deb" | cut -d' ' -f1)
  if [[ "$got" != "$sha" ]]; then
    echo "sha256 mismatch for $deb: got $got, pinned $sha" >&2
    exit 1
  fi
  tmp=$(mktemp -d)
  dpkg-deb -x "$deb" "$tmp"
  rm -rf "$out"
  mkdir -p "$out"
  for sub in $keep; do
    src="$tmp/$root/$sub"
    dst="$out/$sub"
    mkdir -p "$dst"
    # Only the HTML pages of this directory (not its subdirectories).
    find "$src" -maxdepth 1 -type f \( -name '*.html' -o -name '*.htm' \) -exec cp -p {} "$dst/" \;
  done
  rm -rf "$tmp"
  touch "$stamp"
  echo "$corpus: $(find "$out" -type f -name '*.htm*' | wc -l) pages from $pkg $version" >&2
done

echo "export CONFAB_RAG_EVAL_DIR=$CACHE"
