#!/usr/bin/python3
"""A BERT sequence classifier in the Hugging Face layout (config.json +
model.safetensors) -> ONNX, for bench/wasm_vs_ort.mjs (our wasm forward pass
against ONNX Runtime Web's on the same weights).

The network is written here from BERT's definition in plain PyTorch
(Debian's python3-torch; python3-onnx for the export): word + position +
token-type embeddings, LayerNorm, L post-LN encoder layers (multi-head
self-attention with a padding mask, GELU (erf) feed-forward), the tanh
pooler on [CLS] and the classifier. Inputs input_ids and attention_mask
(int64, (batch, sequence), both axes dynamic); output logits.

Usage: bert_to_onnx.py MODEL_DIR OUT.onnx
"""
import json
import os
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
from golden_common import read_safetensors  # noqa: E402  (the shared parts of the Python scripts)


class Bert(torch.nn.Module):
    def __init__(self, cfg, w):
        super().__init__()
        self.cfg = cfg
        self.w = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(v, requires_grad=False) for k, v in w.items()})

    def p(self, name):
        return self.w[name.replace(".", "__")]

    def ln(self, x, name):
        return torch.nn.functional.layer_norm(x, (self.cfg["hidden_size"],), self.p(name + ".weight"), self.p(name + ".bias"), self.cfg["layer_norm_eps"])

    def lin(self, x, name):
        return torch.nn.functional.linear(x, self.p(name + ".weight"), self.p(name + ".bias"))

    def forward(self, input_ids, attention_mask):
        cfg = self.cfg
        T = input_ids.shape[1]
        pos = torch.arange(T, device=input_ids.device).unsqueeze(0)
        x = (
            torch.nn.functional.embedding(input_ids, self.p("bert.embeddings.word_embeddings.weight"))
            + torch.nn.functional.embedding(pos, self.p("bert.embeddings.position_embeddings.weight"))
            + self.p("bert.embeddings.token_type_embeddings.weight")[0]
        )
        x = self.ln(x, "bert.embeddings.LayerNorm")
        H = cfg["num_attention_heads"]
        C = cfg["hidden_size"]
        Dh = C // H
        bias = (1.0 - attention_mask.to(torch.float32))[:, None, None, :] * -1e9
        for i in range(cfg["num_hidden_layers"]):
            pre = f"bert.encoder.layer.{i}."
            B = x.shape[0]

            def heads(t):
                return t.view(B, T, H, Dh).transpose(1, 2)

            q = heads(self.lin(x, pre + "attention.self.query"))
            k = heads(self.lin(x, pre + "attention.self.key"))
            v = heads(self.lin(x, pre + "attention.self.value"))
            a = torch.softmax(q @ k.transpose(-1, -2) / Dh**0.5 + bias, dim=-1)
            ctx = (a @ v).transpose(1, 2).reshape(B, T, C)
            x = self.ln(x + self.lin(ctx, pre + "attention.output.dense"), pre + "attention.output.LayerNorm")
            h = torch.nn.functional.gelu(self.lin(x, pre + "intermediate.dense"))
            x = self.ln(x + self.lin(h, pre + "output.dense"), pre + "output.LayerNorm")
        pooled = torch.tanh(self.lin(x[:, 0], "bert.pooler.dense"))
        return self.lin(pooled, "classifier")


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    cfg = json.load(open(f"{model_dir}/config.json"))
    cfg.setdefault("layer_norm_eps", 1e-12)
    w = read_safetensors(f"{model_dir}/model.safetensors")
    model = Bert(cfg, w).eval()
    ids = torch.randint(5, cfg["vocab_size"], (1, 16), dtype=torch.int64)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, mask),
            out,
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}},
            opset_version=14,
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
