"""Training-step throughput of CMT: our configuration vs a plain fp32 eager reference, in one run.

    python benchmarks/train_throughput.py                      # GPU: 10 views, 256 px, batch 32
    python benchmarks/train_throughput.py --batch-size 2 --views 2 --resolution 128   # CPU smoke check

(a) ours: bf16 autocast, SDPA attention with the gather top-k kernel, channels_last, fused Adam
    (CUDA), optional --compile; (b) reference: the same model in fp32, eager, NCHW.
Both train on the same random batch (labels, 3D points and view-view targets included, so the
VLFA losses run). Prints device, samples/s, ms/step, peak GPU memory and the ratio; then the two
top-k attention kernels (gather vs dense masked) alone, forward + backward.
"""

from __future__ import annotations

import argparse
import gc
import time

import torch

from trainer.layers.attention import topk_attention_gather, topk_attention_masked
from trainer.losses import LossConfig, compute_loss
from trainer.models import build_model


def make_batch(B: int, V: int, R: int, device, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    h = R // 8
    return {
        "query": torch.randn(B, 3, R, R, generator=g).to(device),
        "refs": torch.randn(B, V, 1, R, R, generator=g).to(device),
        "points": (torch.rand(B, V, h, h, 3, generator=g) - 0.5).to(device),
        "point_valid": (torch.rand(B, V, h, h, generator=g) > 0.3).to(device),
        "vv_target": torch.randint(-1, h * h, (B, V, h * h), generator=g).to(device),
        "label": torch.randint(0, 2, (B,), generator=g).to(device),
        "bbox": torch.tensor([[0.2, 0.2, 0.6, 0.6]]).repeat(B, 1).to(device),
        "has_box": torch.ones(B, dtype=torch.bool).to(device),
    }


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def run(name, device, batch, steps, warmup, bf16, channels_last, compile_, model_args) -> dict:
    torch.manual_seed(0)
    model = build_model("cmt", **model_args).to(device)
    b = dict(batch)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        b["query"] = b["query"].contiguous(memory_format=torch.channels_last)
    fused = {"fused": True} if device.type == "cuda" else {}
    opt = torch.optim.Adam(model.parameters(), lr=1e-5, **fused)
    fwd = torch.compile(model) if compile_ else model
    loss_cfg = LossConfig()

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out = fwd(b["query"], b["refs"], b["points"], b["point_valid"])
        loss, _ = compute_loss(out, b, loss_cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync(device)
    dt = (time.perf_counter() - t0) / steps
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    B = batch["query"].shape[0]
    res = {"name": name, "ms_per_step": dt * 1e3, "samples_per_s": B / dt, "peak_gib": peak, "loss": float(loss.detach())}
    del model, opt, fwd
    gc.collect()
    return res


def bench_kernels(device, B, nq, nv, heads, dh, k, dtype, reps=5) -> dict:
    g = torch.Generator().manual_seed(0)
    q = torch.randn(B, nq, heads, dh, generator=g).to(device, dtype).requires_grad_()
    kk = torch.randn(B, nv, heads, dh, generator=g).to(device, dtype).requires_grad_()
    v = torch.randn(B, nv, heads, dh, generator=g).to(device, dtype).requires_grad_()
    idx = torch.randint(0, nv, (B, nq, k), generator=g).to(device)
    out = {}
    for fn in (topk_attention_gather, topk_attention_masked):
        try:
            fn(q, kk, v, idx).float().sum().backward()
            sync(device)
            t0 = time.perf_counter()
            for _ in range(reps):
                fn(q, kk, v, idx).float().sum().backward()
            sync(device)
            out[fn.__name__] = (time.perf_counter() - t0) / reps * 1e3
        except torch.OutOfMemoryError:
            out[fn.__name__] = float("nan")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--views", type=int, default=10)
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--compile", action="store_true", help="torch.compile our configuration")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--skip-reference", action="store_true")
    a = ap.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # a plain fp32 reference
        desc = torch.cuda.get_device_name(device)
    else:
        desc = f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {desc}; torch {torch.__version__}")
    print(f"CMT default config, batch {a.batch_size}, {a.views} views, {a.resolution} px, {a.steps} timed steps after {a.warmup} warm-up")
    batch = make_batch(a.batch_size, a.views, a.resolution, device)
    args = {"topk": 100}
    ours = run("ours (bf16, SDPA+gather, channels_last" + (", compile)" if a.compile else ")"), device, batch, a.steps, a.warmup,
               True, True, a.compile, dict(args, kernel="gather"))
    rows = [ours]
    if not a.skip_reference:
        rows.append(run("reference (fp32 eager, NCHW)", device, batch, a.steps, a.warmup, False, False, False, dict(args, kernel="gather")))
    for r in rows:
        print(f"{r['name']:<48} {r['samples_per_s']:8.2f} samples/s {r['ms_per_step']:9.1f} ms/step  peak {r['peak_gib']:.2f} GiB")
    if len(rows) == 2:
        print(f"ratio ours / reference: {rows[0]['samples_per_s'] / rows[1]['samples_per_s']:.2f}x")
    h = a.resolution // 8
    kb = min(a.batch_size, 2)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    kt = bench_kernels(device, kb, h * h, a.views * h * h, 8, 16, min(100, a.views * h * h), dtype)
    print(f"top-k attention fwd+bwd (batch {kb}, n_q {h * h}, n_v {a.views * h * h}, k 100, {str(dtype).split('.')[-1]}): "
          f"gather {kt['topk_attention_gather']:.1f} ms, dense masked {kt['topk_attention_masked']:.1f} ms, "
          f"ratio {kt['topk_attention_masked'] / kt['topk_attention_gather']:.2f}x")


if __name__ == "__main__":
    main()
