#!/usr/bin/env bash
# Indexes the rag-eval corpora with confab and prints recall@5 and nDCG@10
# per corpus, split and mode (issue #19). Writes nothing outside a temp
# CONFAB_HOME.
#
#   eval "$(scripts/fetch-rag-eval-corpora.sh)"
#   scripts/rag-eval-baseline.sh [path/to/confab] [extra rag index flags...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
confab=${1:-confab}
shift || true
: "${CONFAB_RAG_EVAL_DIR:?run scripts/fetch-rag-eval-corpora.sh first}"
export CONFAB_HOME=${CONFAB_HOME:-$(mktemp -d)}
out=$(mktemp -d)
for corpus in git sqlite; do
  # Index from the parent directory by the corpus name: confab records
  # sources as git/git-commit.html, which is exactly how the qrels label them.
  (cd "$CONFAB_RAG_EVAL_DIR" && "$confab" rag index "$corpus" --name "$corpus" --json "$@" >"$out/$corpus.index.json")
  # Per split, and the test split cut by reworded / literal questions.
  python3 - "$here/tests/data/rag-eval/$corpus.test.jsonl" "$out/$corpus" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for name, keep in [("test-reworded", True), ("test-literal", False)]:
    with open(f"{sys.argv[2]}.{name}.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows if r["reworded"] == keep)
PY
  for split in dev test test-reworded test-literal all; do
    case $split in
      all) f="$here/tests/data/rag-eval/$corpus.jsonl" ;;
      dev|test) f="$here/tests/data/rag-eval/$corpus.$split.jsonl" ;;
      *) f="$out/$corpus.$split.jsonl" ;;
    esac
    "$confab" rag eval "$f" --name "$corpus" --json >"$out/$corpus.$split.json"
  done
done
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
print("| corpus | split | queries | bm25 R@5 | bm25 nDCG@10 | vector R@5 | vector nDCG@10 | hybrid R@5 | hybrid nDCG@10 |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for corpus in ["git", "sqlite"]:
    for split in ["dev", "test", "test-reworded", "test-literal", "all"]:
        m = json.load(open(os.path.join(out, f"{corpus}.{split}.json")))
        cells = []
        for mode in ["bm25", "vector", "hybrid"]:
            cells += [f"{m[mode]['recall_at_5']:.3f}", f"{m[mode]['ndcg_at_10']:.3f}"]
        print(f"| {corpus} | {split} | {m['bm25']['queries']} | " + " | ".join(cells) + " |")
PY
echo "raw JSON in $out" >&2
