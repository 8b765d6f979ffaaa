"""The Llama forward pass as Hugging Face's modeling_llama computes it, in plain PyTorch, from an
HF directory (config.json + model.safetensors): the independent check of `tetra export hf`.

    python3 scripts/hf_llama.py DIR < ids.json > logits.json

Reads a JSON array of token ids on stdin and writes {"logits": [[...vocab] per position]}.
Written from the transformers semantics (rotate_half RoPE, RMSNorm with the weight after the
normalisation, SiLU-gated MLP, tied embeddings when tie_word_embeddings), not from tetra's code.
Needs PyTorch (Debian: python3-torch); reads safetensors itself, so nothing else.
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:end]), dtype=DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"]).float()
    return out


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(cfg, w, ids):
    T = len(ids)
    C, NH = cfg["hidden_size"], cfg["num_attention_heads"]
    HS = cfg.get("head_dim") or C // NH
    eps = cfg["rms_norm_eps"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, HS, 2, dtype=torch.float64) / HS))
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos().float(), emb.sin().float()
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, NH, HS).transpose(0, 1)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, NH, HS).transpose(0, 1)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, NH, HS).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = (q @ k.transpose(-1, -2)) / math.sqrt(HS) + mask
        y = (att.softmax(-1) @ v).transpose(0, 1).reshape(T, C)
        x = x + y @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (F.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T


def main():
    d = sys.argv[1]
    with open(f"{d}/config.json") as f:
        cfg = json.load(f)
    w = read_safetensors(f"{d}/model.safetensors")
    ids = json.load(sys.stdin)
    with torch.no_grad():
        logits = forward(cfg, w, ids)
    json.dump({"logits": logits.tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
