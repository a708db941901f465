#!/usr/bin/env python3
"""(Re)assign the dev/test split of the cache-matcher pair set and validate it.

Usage: scripts/cache-pairs-split.py [--check] [PATH]

PATH defaults to tests/data/cache/pairs.jsonl (relative to the repo root).
Each line gets "split": "dev" if the first byte of sha256(id) is < 102
(about 40%), else "test". The file is rewritten in place unless --check is
given, in which case a missing or wrong split is reported as a problem.

Checks: valid JSON object per line, unique ids, required fields with the
right types, known kinds and topics, same == (kind == "paraphrase"), id
prefix p/n matching same, no duplicate (a, b) pairs (in either order,
ignoring case and whitespace), a != b, prompts non-empty and under 300
characters. Prints counts per kind, topic and split; exits 1 on any problem.
"""

import collections
import hashlib
import json
import os
import re
import sys

KINDS = {
    "paraphrase", "number", "literal", "technology", "name", "negation",
    "antonym", "direction", "substitution", "intent", "scope", "quantity",
}
TOPICS = {
    "dev", "shell", "git", "error", "python", "js", "rust", "web", "db",
    "ops", "general",
}
FIELDS = ("id", "a", "b", "same", "kind", "topic")
ORDER = ("id", "a", "b", "same", "kind", "topic", "split")
MAX_LEN = 300
DEV_BELOW = 102


def split_for(pair_id):
    return "dev" if hashlib.sha256(pair_id.encode("utf-8")).digest()[0] < DEV_BELOW else "test"


def norm(s):
    return " ".join(s.casefold().split())


def main(argv):
    check_only = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if args:
        path = args[0]
    else:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.path.join(root, "tests", "data", "cache", "pairs.jsonl")

    problems = []
    records = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()

    seen_ids = {}
    seen_pairs = {}
    for n, line in enumerate(lines, 1):
        where = f"line {n}"
        if not line.strip():
            problems.append(f"{where}: empty line")
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: invalid JSON: {e}")
            continue
        if not isinstance(r, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        missing = [k for k in FIELDS if k not in r]
        if missing:
            problems.append(f"{where}: missing fields {missing}")
            continue
        extra = set(r) - set(ORDER)
        if extra:
            problems.append(f"{where}: unknown fields {sorted(extra)}")
        pid = r["id"]
        where = f"line {n} ({pid})"
        if not isinstance(pid, str) or not re.fullmatch(r"[pn]\d{3,}", pid):
            problems.append(f"{where}: bad id")
            continue
        if pid in seen_ids:
            problems.append(f"{where}: duplicate id (first on line {seen_ids[pid]})")
        seen_ids[pid] = n
        for k in ("a", "b"):
            v = r[k]
            if not isinstance(v, str) or not v.strip():
                problems.append(f"{where}: {k} must be a non-empty string")
            elif len(v) >= MAX_LEN:
                problems.append(f"{where}: {k} is {len(v)} chars (limit {MAX_LEN - 1})")
        if not isinstance(r["same"], bool):
            problems.append(f"{where}: same must be a boolean")
        if r["kind"] not in KINDS:
            problems.append(f"{where}: unknown kind {r['kind']!r}")
        if r["topic"] not in TOPICS:
            problems.append(f"{where}: unknown topic {r['topic']!r}")
        if r["same"] != (r["kind"] == "paraphrase"):
            problems.append(f"{where}: same={r['same']} but kind={r['kind']!r}")
        if (pid[0] == "p") != (r["same"] is True):
            problems.append(f"{where}: id prefix does not match same={r['same']}")
        if isinstance(r["a"], str) and isinstance(r["b"], str):
            if norm(r["a"]) == norm(r["b"]):
                problems.append(f"{where}: a and b are the same prompt")
            key = frozenset((norm(r["a"]), norm(r["b"])))
            if key in seen_pairs:
                problems.append(f"{where}: duplicate (a, b) pair (first: {seen_pairs[key]})")
            seen_pairs[key] = pid
        want = split_for(pid)
        if check_only and r.get("split") != want:
            problems.append(f"{where}: split is {r.get('split')!r}, should be {want!r}")
        r["split"] = want
        records.append({k: r[k] for k in ORDER if k in r})

    if not check_only and not problems:
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        os.replace(tmp, path)

    def show(title, counter, order=None):
        print(f"{title}:")
        for k in order or sorted(counter):
            print(f"  {k:<13} {counter[k]}")

    print(f"{path}: {len(records)} pairs")
    show("same", collections.Counter(str(r["same"]).lower() for r in records), ["true", "false"])
    show("kind", collections.Counter(r["kind"] for r in records))
    show("topic", collections.Counter(r["topic"] for r in records))
    show("split", collections.Counter(r["split"] for r in records), ["dev", "test"])
    show("split x same", collections.Counter(
        f"{r['split']}/{'para' if r['same'] else 'near'}" for r in records))

    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        if not check_only:
            print("file not rewritten", file=sys.stderr)
        return 1
    print("\nOK" + (" (checked, not rewritten)" if check_only else " (split written)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
