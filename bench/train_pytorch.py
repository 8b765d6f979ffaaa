#!/usr/bin/python3
# The PyTorch side of bench/train.ts and bench/quality.ts: tetra's GPT (src/model/gpt.ts) written
# in PyTorch, trained on the same token shards with the same optimizer, schedule and init rule.
#
# Same as tetra: architecture (token embedding; blocks of RMSNorm -> q, k, v linears without bias
# -> RoPE on interleaved pairs (x[2i], x[2i+1]) -> causal attention -> wo -> residual; RMSNorm ->
# one [gate | up] linear -> silu(gate) * up -> down -> residual; final RMSNorm; tied LM head),
# AdamW (decay on matrices only, PyTorch semantics, global-norm clipping), learning-rate schedule
# (linear warmup from 0, cosine to min_lr at the last step), init rule (N(0, 0.02), wo and w_down
# scaled by 1/sqrt(2L), norm gains 1), and the batches: the loader below walks the windows in the
# order src/data/loader.ts does (same mulberry32 shuffle per epoch), so both sides see the same
# tokens in the same order, and evaluation reads the same val batches.
# Not the same: the random numbers behind the initial weights (torch's generator, not tetra's Rng),
# and float rounding (different kernels and summation orders).
#
# PyTorch 1.13 (Debian's python3-torch) has no F.scaled_dot_product_attention, so attention is
# the explicit masked softmax, as nanoGPT's fallback path.
#
# Modes:
#   bench    reads "run N" lines on stdin, trains N steps per line, answers one JSON line
#            {"seconds", "best_step", "tokens", "loss"}; "quit" ends. The caller alternates rounds with tetra.
#   quality  trains --iters steps, then prints one JSON line with the mean loss over
#            --eval-batches validation batches.
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

M32 = 0xFFFFFFFF


def imul(a, b):
    return (a * b) & M32


def mulberry32(seed):
    s = seed & M32

    def rand():
        nonlocal s
        s = (s + 0x6D2B79F5) & M32
        t = s
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296

    return rand


class ShardLoader:
    """src/data/loader.ts in Python: windows of T+1 tokens every T tokens, shuffled per epoch."""

    def __init__(self, data, split, B, T, seed):
        with open(os.path.join(data, "manifest.json")) as f:
            manifest = json.load(f)
        self.B, self.T, self.seed = B, T, seed
        self.shards = []  # (tokens, windows, first)
        first = 0
        for s in manifest["splits"][split]["shards"]:
            path = os.path.join(data, s["file"])
            with open(path, "rb") as f:
                head = f.read(64)
            if head[:8] != b"TETRATOK":
                sys.exit(f"{path}: not a tetra token shard")
            dtype = int.from_bytes(head[12:16], "little")
            count = int.from_bytes(head[16:24], "little")
            tokens = np.memmap(path, dtype=np.uint16 if dtype == 1 else np.uint32, mode="r", offset=64, shape=(count,))
            windows = (count - 1) // T if count > T else 0
            self.shards.append((tokens, windows, first))
            first += windows
        self.windows = first
        self.epoch, self.cursor, self.order_epoch = 0, 0, -1

    def epoch_order(self, epoch):
        if self.order_epoch != epoch:
            order = list(range(self.windows))
            rand = mulberry32((self.seed & M32) ^ imul(epoch + 1, 0x9E3779B1))
            for i in range(len(order) - 1, 0, -1):
                j = math.floor(rand() * (i + 1))
                order[i], order[j] = order[j], order[i]
            self.order, self.order_epoch = order, epoch
        return self.order

    def window(self, w):
        for tokens, windows, first in reversed(self.shards):
            if first <= w:
                start = (w - first) * self.T
                return tokens[start:start + self.T + 1].astype(np.int64)
        raise IndexError(w)

    def next(self):
        if self.cursor + self.B > self.windows:
            self.epoch, self.cursor = self.epoch + 1, 0
        order = self.epoch_order(self.epoch)
        rows = np.stack([self.window(order[self.cursor + b]) for b in range(self.B)])
        self.cursor += self.B
        rows = torch.from_numpy(rows)
        return rows[:, :-1].contiguous(), rows[:, 1:].contiguous()


# ------------------------------------------------------------------------------------ the model

class RMSNorm(nn.Module):
    def __init__(self, C, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(C))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, cos, sin):
    # x (B, T, NH, HS); pairs (x[2i], x[2i+1]) rotate by t * base^(-2i/HS)
    B, T, NH, HS = x.shape
    xp = x.view(B, T, NH, HS // 2, 2)
    x0, x1 = xp[..., 0], xp[..., 1]
    c, s = cos[:T].view(1, T, 1, HS // 2), sin[:T].view(1, T, 1, HS // 2)
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).view(B, T, NH, HS)


class Block(nn.Module):
    def __init__(self, C, NH, H, eps):
        super().__init__()
        self.NH = NH
        self.attn_norm = RMSNorm(C, eps)
        self.wq = nn.Linear(C, C, bias=False)
        self.wk = nn.Linear(C, C, bias=False)
        self.wv = nn.Linear(C, C, bias=False)
        self.wo = nn.Linear(C, C, bias=False)
        self.mlp_norm = RMSNorm(C, eps)
        self.w_gate_up = nn.Linear(C, 2 * H, bias=False)
        self.w_down = nn.Linear(H, C, bias=False)
        self.H = H

    def forward(self, x, cos, sin, mask):
        B, T, C = x.shape
        NH, HS = self.NH, C // self.NH
        h = self.attn_norm(x)
        q = rope(self.wq(h).view(B, T, NH, HS), cos, sin).transpose(1, 2)  # (B, NH, T, HS)
        k = rope(self.wk(h).view(B, T, NH, HS), cos, sin).transpose(1, 2)
        v = self.wv(h).view(B, T, NH, HS).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(HS))
        att = att.masked_fill(mask[:T, :T], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.wo(y)
        m = self.w_gate_up(self.mlp_norm(x))
        gate, up = m[..., :self.H], m[..., self.H:]
        return x + self.w_down(F.silu(gate) * up)


class GPT(nn.Module):
    def __init__(self, V, C, L, NH, H, ctx, rope_base, eps):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.blocks = nn.ModuleList([Block(C, NH, H, eps) for _ in range(L)])
        self.norm_f = RMSNorm(C, eps)
        HS = C // NH
        inv = rope_base ** (-torch.arange(0, HS, 2, dtype=torch.float64) / HS)
        angles = torch.arange(ctx, dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", angles.cos().float(), persistent=False)
        self.register_buffer("sin", angles.sin().float(), persistent=False)
        self.register_buffer("mask", torch.triu(torch.ones(ctx, ctx, dtype=torch.bool), 1), persistent=False)
        residual = 1 / math.sqrt(2 * L)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 * residual if name.endswith(("wo.weight", "w_down.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx, targets):
        x = self.wte(idx)
        for b in self.blocks:
            x = b(x, self.cos, self.sin, self.mask)
        logits = F.linear(self.norm_f(x), self.wte.weight)  # tied head
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def learning_rate(a, step):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    if a.iters <= a.warmup:
        return a.lr
    progress = min(1.0, (step - a.warmup) / max(1, a.iters - 1 - a.warmup))
    return a.min_lr + (a.lr - a.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["bench", "quality"])
    p.add_argument("--data", required=True)
    for k, d in [("vocab", 264), ("layers", 4), ("heads", 4), ("embd", 128), ("hidden", 352), ("block", 64),
                 ("batch", 12), ("threads", 2), ("seed", 1337), ("iters", 2000), ("warmup", 100), ("eval-batches", 20)]:
        p.add_argument("--" + k, type=int, default=d)
    for k, d in [("lr", 1e-3), ("min-lr", 1e-4), ("beta1", 0.9), ("beta2", 0.99), ("eps", 1e-8),
                 ("weight-decay", 0.1), ("grad-clip", 1.0), ("rope-base", 10000.0), ("norm-eps", 1e-5)]:
        p.add_argument("--" + k, type=float, default=d)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = GPT(a.vocab, a.embd, a.layers, a.heads, a.hidden, a.block, a.rope_base, a.norm_eps)
    decay = [q for q in model.parameters() if q.dim() >= 2]
    no_decay = [q for q in model.parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(a.beta1, a.beta2), eps=a.eps)
    loader = ShardLoader(a.data, "train", a.batch, a.block, a.seed)
    step = 0

    def train_step():
        nonlocal step
        for g in opt.param_groups:
            g["lr"] = learning_rate(a, step)
        x, y = loader.next()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        opt.step()
        step += 1
        return loss.item()

    if a.mode == "bench":
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            cmd = line.split()
            if not cmd or cmd[0] == "quit":
                break
            n = int(cmd[1])
            t0 = time.perf_counter()
            loss, best = 0.0, float("inf")
            for _ in range(n):
                ts = time.perf_counter()
                loss = train_step()
                best = min(best, time.perf_counter() - ts)
            seconds = time.perf_counter() - t0
            print(json.dumps({"seconds": seconds, "best_step": best, "tokens": n * a.batch * a.block, "loss": loss}), flush=True)
        return

    t0 = time.perf_counter()
    loss = 0.0
    for i in range(a.iters):
        loss = train_step()
        if (i + 1) % 100 == 0:
            print(f"step {i + 1} loss {loss:.4f} {(i + 1) * a.batch * a.block / (time.perf_counter() - t0):.0f} tok/s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    model.eval()
    val = ShardLoader(a.data, "val", a.batch, a.block, a.seed)
    n = min(a.eval_batches, val.windows // a.batch)
    with torch.no_grad():
        losses = [model(*val.next()).item() for _ in range(n)]
    print(json.dumps({"val_loss": sum(losses) / n, "train_loss": loss, "seconds": seconds, "iters": a.iters}), flush=True)


if __name__ == "__main__":
    main()
