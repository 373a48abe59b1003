#!/usr/bin/python3
"""LXT's efficient AttnLRP rules applied to an independent PyTorch GPT-2 that
reads the shipped models/gpt2-small, for tests/cpp/test_lrp_lxt_gpt2.cpp
(issue 21): what each generated token's logit owes to every earlier token.

The rules are those of make_lxt_golden.py (BERT), as LXT's patched GPT-2
(lxt/efficient/models/gpt2.py, eager attention) applies them:

  - divide_gradient(q @ k^T, 2), divide_gradient(P @ v, 2)   uniform rule on
                                   the two attention products
  - softmax                        its ordinary gradient (the causal mask
                                   adds -inf before it: no gradient there)
  - identity_rule_implicit(gelu_new, x) on the MLP's activation
  - LayerNorm (ln_1, ln_2, ln_f)   (x - mean) / stop_gradient(std) * w + b
  - Conv1D (c_attn, c_proj, c_fc, mlp.c_proj) and the tied LM head
                                   their ordinary gradient (LRP-0, no epsilon)

The GPT-2 forward is make_gpt2.py's (written from the Hugging Face modelling
code; pre-LayerNorm blocks, Conv1D weights (in, out), LM head tied to wte),
in float64 on the shipped float32 weights. For each prompt: the BOS token
<|endoftext|> first (as `wordlight generate` does by default), then greedy
decoding for NEW tokens by full recomputation; for each generated token the
relevance of every earlier token on its logit (what explain_generation's lrp
row explains: score "logit") as input x gradient at the word embeddings
(the wte rows, before wpe is added).

And where the rest of the logit goes (the conservation gap wordlight
reports), per kind: the biases of the Conv1D layers (b * dL/db), the
LayerNorm shifts, the softmaxes (R(P) - R(s)), the position embeddings
(wpe rows * gradient); with the tokens' relevances they sum to the logit.

Tokenizer: GPT-2's byte-level BPE (its pre-tokenizer pattern and byte map,
merges applied by rank), written here from the published algorithm; the C++
test also checks that wordlight's tokenizer gives the same ids.

Run:  /usr/bin/python3 tests/golden/make_lxt_gpt2.py
      (writes tests/golden/lxt/gpt2-small.json; a few seconds)
The C++ test only reads the JSON; this script is not needed to run it.
"""
import json
import math
import os
import re
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import bytes_to_unicode, read_safetensors  # noqa: E402
# LXT's rules and the golden's folder, written once (make_lxt_golden.py sets float64 too).
from make_lxt_golden import ROOT, divide_gradient, identity_rule, write_golden  # noqa: E402

MODEL = os.path.join(ROOT, "models", "gpt2-small")
PROMPTS = ["This movie was", "I loved this film because the acting"]
NEW = 5
# GPT-2's pattern with \p{L} as [^\W\d_] and \p{N} as \d (Debian's python3 has
# no `regex` module); the same pieces on the prompts here.
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def bpe_encode(text, vocab, ranks):
    b2u = bytes_to_unicode()
    ids = []
    for piece in PAT.findall(text):
        word = [b2u[b] for b in piece.encode("utf-8")]
        while len(word) > 1:
            pairs = [(ranks.get((word[i], word[i + 1]), math.inf), i) for i in range(len(word) - 1)]
            r, i = min(pairs)
            if r == math.inf:
                break
            word = word[:i] + [word[i] + word[i + 1]] + word[i + 2:]
        ids += [vocab[w] for w in word]
    return ids


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


class LxtGpt2:
    def __init__(self, d):
        with open(os.path.join(d, "config.json")) as f:
            c = json.load(f)
        self.C, self.H, self.L, self.eps = c["n_embd"], c["n_head"], c["n_layer"], c["layer_norm_epsilon"]
        self.bos = c["bos_token_id"]
        self.w = read_safetensors(os.path.join(d, "model.safetensors"), torch.float64)
        p = "transformer." if "transformer.wte.weight" in self.w else ""
        self.p = p
        with open(os.path.join(d, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(os.path.join(d, "merges.txt"), encoding="utf-8") as f:
            lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#version")]
        self.ranks = {tuple(l.split(" ")): i for i, l in enumerate(lines)}
        # Biases and LayerNorm shifts as leaves: b * dL/db is what each absorbed.
        self.leaves = {k: v.clone().requires_grad_(True) for k, v in self.w.items() if k.endswith(".bias")}

    def b(self, name):
        return self.leaves[name]

    def conv1d(self, x, pre):
        return x @ self.w[pre + ".weight"] + self.b(pre + ".bias")

    def layer_norm(self, x, pre):
        mean = x.mean(-1, keepdim=True)
        std = (((x - mean) ** 2).mean(-1, keepdim=True) + self.eps).sqrt()
        return (x - mean) / std.detach() * self.w[pre + ".weight"] + self.b(pre + ".bias")

    def forward(self, ids, taps):
        """Logits (T, V) of the sequence; taps gets the input leaves and the softmaxes."""
        w, C, H, p = self.w, self.C, self.H, self.p
        T = len(ids)
        dh = C // H
        word = w[p + "wte.weight"][torch.tensor(ids)].clone().requires_grad_(True)
        pos = w[p + "wpe.weight"][:T].clone().requires_grad_(True)
        taps["inputs"] = (word, pos)
        x = word + pos
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
        for i in range(self.L):
            l = f"{p}h.{i}."
            h = self.layer_norm(x, l + "ln_1")
            q, k, v = self.conv1d(h, l + "attn.c_attn").split(C, dim=-1)
            q, k, v = [t.view(T, H, dh).transpose(0, 1) for t in (q, k, v)]
            s = divide_gradient(q @ k.transpose(-1, -2), 2) / math.sqrt(dh)
            s = s.masked_fill(~causal, float("-inf"))
            a = torch.softmax(s, -1)
            if s.requires_grad:
                s.retain_grad()
                a.retain_grad()
            taps[f"softmax.{i}"] = (s, a)
            o = divide_gradient(a @ v, 2).transpose(0, 1).reshape(T, C)
            x = x + self.conv1d(o, l + "attn.c_proj")
            h = self.layer_norm(x, l + "ln_2")
            m = identity_rule(gelu_new, self.conv1d(h, l + "mlp.c_fc"))
            x = x + self.conv1d(m, l + "mlp.c_proj")
        x = self.layer_norm(x, p + "ln_f")
        return x @ w[p + "wte.weight"].T  # the tied head (GPT2LMHeadModel)


def explain_row(model, prefix, target):
    """LXT relevance of each token of `prefix` on logit[target] at its last position."""
    for leaf in model.leaves.values():
        leaf.grad = None
    taps = {}
    logits = model.forward(prefix, taps)
    f = logits[-1, target]
    f.backward()
    word, pos = taps["inputs"]
    tokens = (word * word.grad).sum(-1)
    kinds = {"biases": 0.0, "layernorm-shift": 0.0, "softmax": 0.0}
    for name, leaf in model.leaves.items():
        if leaf.grad is not None:
            kinds["layernorm-shift" if ".ln_" in name else "biases"] += float((leaf * leaf.grad).sum())
    for i in range(model.L):
        s, a = taps[f"softmax.{i}"]
        sg = torch.where(torch.isfinite(s), s * s.grad, torch.zeros_like(s))  # masked scores: no relevance
        kinds["softmax"] += float((a * a.grad).sum() - sg.sum())
    kinds["position-embeddings"] = float((pos * pos.grad).sum())
    total = float(tokens.sum()) + sum(kinds.values())
    assert abs(total - float(f)) < 1e-9 * (1 + abs(float(f))), (total, float(f))
    return float(f), [float(v) for v in tokens.detach()], kinds


def case(model, prompt):
    ids = [model.bos] + bpe_encode(prompt, model.vocab, model.ranks)
    n_prompt = len(ids)
    rows = []
    for _ in range(NEW):
        with torch.no_grad():
            logits = model.forward(ids, {})[-1]
        top2 = torch.topk(logits, 2)
        t = int(top2.indices[0])
        f, rel, kinds = explain_row(model, ids, t)
        rows.append({"token": t, "logit": f, "margin": float(top2.values[0] - top2.values[1]),
                     "token_relevance": rel, "absorbed": kinds,
                     "conservation_gap_relative": (f - sum(rel)) / abs(f)})
        ids = ids + [t]
    return {"prompt": prompt, "prompt_ids": ids[:n_prompt], "generated_ids": ids[n_prompt:], "rows": rows}


def main():
    model = LxtGpt2(MODEL)
    cases = [case(model, p) for p in PROMPTS]
    write_golden("gpt2-small.json", "models/gpt2-small",
                 "LXT efficient AttnLRP (lxt/efficient/models/gpt2.py, eager attention): divide_gradient 2 after "
                 "q.k^T and after P.v, softmax by its gradient, identity rule on gelu_new, LayerNorm std detached, "
                 "Conv1D layers and the tied LM head by their plain gradient; float64; greedy decoding after the "
                 "BOS token; each row explains the generated token's logit", cases)
    for c in cases:
        print(f"{c['prompt']!r}: prompt ids {c['prompt_ids']}, greedy {c['generated_ids']}")
        for r in c["rows"]:
            k = r["absorbed"]
            print(f"   token {r['token']:5d}: logit {r['logit']:8.4f} (margin {r['margin']:.3f}), tokens "
                  f"{sum(r['token_relevance']):8.4f}, gap {r['conservation_gap_relative']:+.3f}; absorbed: "
                  + ", ".join(f"{n} {v:+.4f}" for n, v in k.items()))


if __name__ == "__main__":
    main()
