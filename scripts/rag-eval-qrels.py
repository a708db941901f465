#!/usr/bin/env python3
"""Builds the retrieval-evaluation qrels of tests/data/rag-eval/ (issue #19).

Reads the hand-written question tables tests/data/rag-eval/src/<corpus>.txt
(`reworded|kind|query|relevant pages`, one question a line, `#` comments) and
writes, for each corpus,

  tests/data/rag-eval/<corpus>.jsonl       all questions
  tests/data/rag-eval/<corpus>.dev.jsonl   the dev split (may be tuned on)
  tests/data/rag-eval/<corpus>.test.jsonl  the test split (never tuned on)

Each line: {"id","query","relevant","split","reworded","kind"}, with
relevant pages as `<corpus>/<path in corpus>` (git/git-commit.html), which
`confab rag eval` reads (it ignores the extra fields).

Ids are `<corpus>-NNN`, numbered in table order; questions are only ever
appended, never renumbered. The split is a deterministic hash of the id:
dev when int(sha256(id)[:8], 16) % 100 < 40, else test. Nobody picks it.

  python3 scripts/rag-eval-qrels.py           # rewrite the files
  python3 scripts/rag-eval-qrels.py --check   # exit 1 if they are stale
  python3 scripts/rag-eval-qrels.py --corpus-dir "$CONFAB_RAG_EVAL_DIR"
      # also check that every labelled page exists in the fetched corpora
"""
import argparse
import hashlib
import json
import os
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "rag-eval")
CORPORA = ["git", "sqlite"]
DEV_PERCENT = 40


def split_of(qid: str) -> str:
    return "dev" if int(hashlib.sha256(qid.encode()).hexdigest()[:8], 16) % 100 < DEV_PERCENT else "test"


def load(corpus: str):
    rows = []
    with open(os.path.join(HERE, "src", corpus + ".txt"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            reworded, kind, query, relevant = line.split("|")
            qid = f"{corpus}-{len(rows) + 1:03d}"
            rows.append({
                "id": qid,
                "query": query.strip(),
                # Labels carry the corpus directory: see the README
                # ("How to index") for why a bare relative path is ambiguous.
                "relevant": [f"{corpus}/{page}" for page in relevant.split()],
                "split": split_of(qid),
                "reworded": reworded.strip() == "1",
                "kind": kind.strip(),
            })
    return rows


def render(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--corpus-dir")
    args = ap.parse_args()
    stale = False
    for corpus in CORPORA:
        rows = load(corpus)
        files = {
            f"{corpus}.jsonl": rows,
            f"{corpus}.dev.jsonl": [r for r in rows if r["split"] == "dev"],
            f"{corpus}.test.jsonl": [r for r in rows if r["split"] == "test"],
        }
        for name, subset in files.items():
            path = os.path.join(HERE, name)
            text = render(subset)
            if args.check:
                old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
                if old != text:
                    print(f"stale: {name}", file=sys.stderr)
                    stale = True
            else:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
        if args.corpus_dir:
            for r in rows:
                for p in r["relevant"]:
                    if not os.path.isfile(os.path.join(args.corpus_dir, p)):
                        print(f"{r['id']}: no page {p}", file=sys.stderr)
                        stale = True
        dev = sum(r["split"] == "dev" for r in rows)
        rew = sum(r["reworded"] for r in rows)
        multi = sum(len(r["relevant"]) > 1 for r in rows)
        print(f"{corpus}: {len(rows)} questions, dev {dev}, test {len(rows) - dev}, "
              f"reworded {rew}, with several relevant pages {multi}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
