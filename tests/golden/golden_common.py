"""What the Python scripts of the repository share: the scripts that write
the goldens (tests/golden), the PyTorch references of the benchmarks
(bench/*.py) and the BPE learner of the recipes (models/recipes).

Import it after putting this folder on sys.path:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
    from golden_common import read_safetensors, bytes_to_unicode

numpy and torch are imported only by read_safetensors, so that the tokenizer
scripts run without them.
"""
import json
import struct


def bytes_to_unicode():
    """GPT-2's byte -> symbol table (encoder.py's bytes_to_unicode): the
    printable Latin-1 bytes stand for themselves, the others for 256 + n."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_safetensors(path, dtype=None):
    """A safetensors file -> {name: torch tensor} of `dtype` (torch.float32
    when None). F32, F16 and BF16 tensors (and F64, I64) are read; any other
    stored type is refused naming the tensor."""
    import numpy as np
    import torch

    stored = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8"}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        raw = data[a:b]
        if h["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif h["dtype"] in stored:
            arr = np.frombuffer(raw, dtype=stored[h["dtype"]])
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {h['dtype']} (F32, F16, BF16, F64 or I64 expected)")
        out[name] = torch.from_numpy(arr.reshape(h["shape"]).copy()).to(dtype or torch.float32)
    return out
