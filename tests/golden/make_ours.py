#!/usr/bin/python3
"""Writes tiny random checkpoints of our own two architectures,
wordlight-cnn and wordlight-bilstm, and their reference outputs, computed by
an independent PyTorch implementation (Debian's python3-torch):

  CNN     torch.nn.functional.conv1d with PyTorch's (F, D, k) weight layout
          and padding k - 1 ("full" convolution), ReLU, max over time,
          concatenation, linear classifier;
  BiLSTM  torch.nn.LSTM (one unidirectional LSTM per direction, with its
          separate b_ih and b_hh), the backward one run on the reversed text,
          each last state through its own linear layer, the two summed.

Each example is run on its own, unpadded; the stored batch pads the second
one on the right, so the golden values also check that our padded batches
give the results of the single texts. The second text is shorter than the
widest CNN kernel.

For each model, tests/golden/ours/<name>/ gets config.json,
model.safetensors (our tensor names, see models/README.md), vocab.txt
(<pad>, <unk>, then words) and golden.json with the token ids, the attention
mask, the targets, the logits, and the gradient of sum_b logits[b, target[b]]
with respect to the input word embeddings.

Run:  /usr/bin/python3 tests/golden/make_ours.py
The tests only read the files; this script is not needed to run them.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from make_transformers import rnd, write_safetensors  # noqa: E402  (same file format and rounding)

torch.manual_seed(20261123)
torch.set_default_dtype(torch.float64)  # references in double, stored as float32 values

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "ours")

WORDS = ["the", "movie", "was", "great", "bad", "not", "very", "fun", "plot", "acting", "boring", "and", "but",
         "a", "film", "love", "hate", "good", "story", "it", "is", "'s", "n't", "!", ".", ",", "dull", "funny"]
VOCAB = ["<pad>", "<unk>"] + WORDS

V, D, NF, H, L = len(VOCAB), 6, 4, 5, 3
KERNELS = [2, 3]

# Two texts, the second right-padded with <pad> (id 0) and shorter than the
# widest kernel (2 tokens < 3).
IDS = [[2, 3, 4, 7, 8, 5, 25], [17, 9, 0, 0, 0, 0, 0]]
MASK = [[1 if i != 0 else 0 for i in row] for row in IDS]
TARGET = [2, 0]


class Cnn:
    def __init__(self):
        self.emb = rnd(V, D, std=1.0)
        self.conv_w = [rnd(NF, D, k, std=0.4) for k in KERNELS]  # PyTorch layout (F, D, k)
        self.conv_b = [rnd(NF, std=0.1) for _ in KERNELS]
        self.cls_w = rnd(L, NF * len(KERNELS), std=0.5)
        self.cls_b = rnd(L, std=0.1)

    def tensors(self):
        t = [("embeddings.weight", self.emb)]
        for i in range(len(KERNELS)):
            # Ours is channels-last: (F, k, D).
            t.append((f"convs.{i}.weight", self.conv_w[i].permute(0, 2, 1).contiguous()))
            t.append((f"convs.{i}.bias", self.conv_b[i]))
        t += [("classifier.weight", self.cls_w), ("classifier.bias", self.cls_b)]
        return t

    def forward_one(self, x):
        """x: (n, D) the embeddings of one unpadded text -> (L)."""
        pooled = []
        for w, b, k in zip(self.conv_w, self.conv_b, KERNELS):
            y = F.conv1d(x.t()[None], w, b, padding=k - 1)  # (1, F, n + k - 1)
            pooled.append(torch.relu(y)[0].max(dim=1).values)  # (F)
        return torch.cat(pooled) @ self.cls_w.t() + self.cls_b

    def config(self):
        return {"model_type": "wordlight-cnn", "vocab_size": V, "embedding_dim": D, "num_filters": NF,
                "kernel_size": KERNELS, "num_labels": L, "id2label": {str(i): f"LABEL_{i}" for i in range(L)},
                "max_length": 16}


class BiLstm:
    def __init__(self):
        self.emb = rnd(V, D, std=1.0)
        self.lstm = {}
        self.bias = {}
        for d in ("forward", "backward"):
            m = torch.nn.LSTM(D, H, batch_first=True)
            w_ih, w_hh, bias = rnd(4 * H, D, std=0.5), rnd(4 * H, H, std=0.5), rnd(4 * H, std=0.3)
            # PyTorch keeps two biases; ours stores their sum. Split the
            # stored float32 sum into two parts that add up to it.
            b_ih = rnd(4 * H, std=0.3)
            with torch.no_grad():
                m.weight_ih_l0.copy_(w_ih)
                m.weight_hh_l0.copy_(w_hh)
                m.bias_ih_l0.copy_(b_ih)
                m.bias_hh_l0.copy_(bias - b_ih)
            self.lstm[d] = m
            self.bias[d] = bias
        self.cls = {d: (rnd(L, H, std=0.6), rnd(L, std=0.1)) for d in ("forward", "backward")}

    def tensors(self):
        t = [("embeddings.weight", self.emb)]
        for d in ("forward", "backward"):
            m = self.lstm[d]
            t += [(f"lstm.{d}.weight_ih", m.weight_ih_l0), (f"lstm.{d}.weight_hh", m.weight_hh_l0),
                  (f"lstm.{d}.bias", self.bias[d])]
        for d in ("forward", "backward"):
            t += [(f"classifier.{d}.weight", self.cls[d][0]), (f"classifier.{d}.bias", self.cls[d][1])]
        return t

    def forward_one(self, x):
        """x: (n, D) the embeddings of one unpadded text -> (L)."""
        _, (h_fwd, _) = self.lstm["forward"](x[None])             # h_n: (1, 1, H), after the last token
        _, (h_bwd, _) = self.lstm["backward"](x.flip(0)[None])    # read from the last token to the first
        (wf, bf), (wb, bb) = self.cls["forward"], self.cls["backward"]
        return h_fwd[0, 0] @ wf.t() + bf + h_bwd[0, 0] @ wb.t() + bb

    def config(self):
        return {"model_type": "wordlight-bilstm", "vocab_size": V, "embedding_dim": D, "hidden_size": H,
                "num_labels": L, "id2label": {str(i): f"LABEL_{i}" for i in range(L)}, "max_length": 16}


def make(name, model):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(model.config(), f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), model.tensors())
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")

    ids = torch.tensor(IDS)
    emb = model.emb[ids].clone().requires_grad_(True)  # (B, T, D), padding rows included
    logits = []
    for b in range(len(IDS)):
        n = sum(MASK[b])
        logits.append(model.forward_one(emb[b, :n]))  # the unpadded text on its own
    out = torch.stack(logits)
    y = sum(out[b, TARGET[b]] for b in range(len(IDS)))
    y.backward()
    golden = {"input_ids": IDS, "attention_mask": MASK, "target": TARGET, "logits_shape": list(out.shape),
              "logits": out.detach().flatten().tolist(), "explained": "sum_b logits[b, target[b]]",
              "grad_word_embeddings_shape": list(emb.shape), "grad_word_embeddings": emb.grad.flatten().tolist()}
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(golden, f)
    print(f"{name}: logits {tuple(out.shape)}, |grad| {emb.grad.norm():.4f}")


def main():
    make("cnn", Cnn())
    make("bilstm", BiLstm())


if __name__ == "__main__":
    main()
