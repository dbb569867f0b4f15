"""PyTorch reference for bench/gpu_kd_step.ts (issue #10): the same cases, fp32 eager, TF32 off.

A distillation step of a student's linear head (B*T = 4096 tokens, H = 512, V in {8192, 32000};
FKL, and TAID at t = 0.5 with the target softmax((1 - t) * sg(z_S) + t * z_T)), forward +
backward + AdamW; the KL forward alone; AdamW's update alone; an fp32 matmul sweep; the cliff
diagnostics. Median ms over
--repeats after one warm-up, each timed run ending in torch.cuda.synchronize().

Usage: python3 bench/reference/torch_kd_step.py [--quick] [--repeats 10] [--out torch.json]
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


BURST = 10


def timed(name, run, repeats, burst=BURST, **extra):
    """Median ms per call over `repeats` bursts of `burst` calls, one synchronisation per burst
    (as the tfjs side, whose every readback costs >= 10 ms under Deno; see bench/gpu_kd_step.ts)."""
    run()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(burst):
            run()
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - t0) * 1e3 / burst)
    ms = statistics.median(samples)
    print(f"{name}: {ms:.3f} ms", file=sys.stderr)
    return {"name": name, "ms": ms, "samples": samples, "burst": burst, **extra}


def kl(teacher_logits, student_logits):
    """Mean over rows of KL(softmax(teacher) || softmax(student)), as lib/losses/forward_kl.ts."""
    lp = F.log_softmax(teacher_logits, dim=-1)
    lq = F.log_softmax(student_logits, dim=-1)
    return (lp.exp() * (lp - lq)).sum(-1).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--out")
    args, _ = ap.parse_known_args()  # the tfjs-only options (--tilings, --parts, ...) pass through
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    repeats = args.repeats or (3 if args.quick else 10)
    tokens, hidden = (256, 64) if args.quick else (4096, 512)
    vocabs = [1024, 4000] if args.quick else [8192, 32000]
    matmuls = [128, 256] if args.quick else [1024, 2048, 4096, 8192]
    g = torch.Generator(device=dev).manual_seed(0)
    cases = []

    for n in matmuls:
        a = torch.randn(n, n, device=dev, generator=g)
        b = torch.randn(n, n, device=dev, generator=g)
        c = timed(f"matmul_{n}", lambda: a @ b, repeats)
        c["tflops"] = 2 * n**3 / (c["ms"] * 1e-3) / 1e12
        cases.append(c)

    for v in vocabs:  # the step's products H·W, Hᵀ·G, and G·Wᵀ (the gradient to H)
        h = torch.randn(tokens, hidden, device=dev, generator=g)
        w = torch.randn(hidden, v, device=dev, generator=g)
        grad = torch.randn(tokens, v, device=dev, generator=g)
        for name, run in ((f"matmul_logits_V{v}", lambda: h @ w),
                          (f"matmul_dW_V{v}", lambda: h.T @ grad),
                          (f"matmul_dX_V{v}", lambda: grad @ w.T)):
            c = timed(name, run, repeats)
            c["tflops"] = 2 * tokens * hidden * v / (c["ms"] * 1e-3) / 1e12
            cases.append(c)

    one = torch.randn(1, device=dev, generator=g)
    cases.append(timed("readback_scalar", lambda: (one + 1).item(), repeats, burst=1))
    v0 = vocabs[0]
    x = torch.randn(tokens, v0, device=dev, generator=g)
    cases.append(timed(f"host_ones_add_{tokens}x{v0}",
                       lambda: x + torch.ones(tokens, v0).to(dev), repeats))
    cases.append(timed(f"device_ones_add_{tokens}x{v0}", lambda: x + torch.ones_like(x), repeats))
    xg = x.clone().requires_grad_(True)
    cases.append(timed(f"grad_sum_{tokens}x{v0}",
                       lambda: torch.autograd.grad(xg.sum(), xg)[0], repeats))
    cases.append(timed(f"grad_mean_square_{tokens}x{v0}",
                       lambda: torch.autograd.grad(xg.square().mean(), xg)[0], repeats))
    # The same bytes from host memory to the device (the tfjs side times its own upload path and
    # a raw queue.writeBuffer against this one).
    host = torch.ones(tokens, v0)
    cases.append(timed(f"upload_{tokens}x{v0}", lambda: host.to(dev), repeats))

    for v in vocabs:
        teacher = 2 * torch.randn(tokens, v, device=dev, generator=g)
        student = 2 * torch.randn(tokens, v, device=dev, generator=g)
        cases.append(timed(f"kl_forward_V{v}", lambda: kl(teacher, student), repeats))
        h = torch.randn(tokens, hidden, device=dev, generator=g)
        for objective in ("fkl", "taid"):
            w = (0.02 * torch.randn(hidden, v, device=dev, generator=g)).requires_grad_(True)
            opt = torch.optim.AdamW([w], lr=1e-3, weight_decay=0.01)

            def step():
                opt.zero_grad(set_to_none=True)
                logits = h @ w
                target = teacher if objective == "fkl" else 0.5 * logits.detach() + 0.5 * teacher
                loss = kl(target, logits)
                loss.backward()
                opt.step()
                return loss.detach()

            cases.append(timed(f"kd_step_{objective}_V{v}", step, repeats))
            if objective == "fkl":  # the loss read after every step
                cases.append(timed(f"kd_step_fkl_V{v}_synced", lambda: step().item(), repeats,
                                   burst=1))

        # AdamW's update alone (PyTorch's default implementation for CUDA tensors: foreach).
        w = (0.02 * torch.randn(hidden, v, device=dev, generator=g)).requires_grad_(True)
        w.grad = 1e-3 * torch.randn(hidden, v, device=dev, generator=g)
        opt = torch.optim.AdamW([w], lr=1e-3, weight_decay=0.01)
        cases.append(timed(f"adamw_V{v}", opt.step, repeats))

    report = {
        "bench": "gpu_kd_step",
        "side": "torch",
        "device": torch.cuda.get_device_name(0),
        "driver": torch.version.cuda and f"CUDA {torch.version.cuda}",
        "quick": args.quick,
        "shapes": {"tokens": tokens, "hidden": hidden, "vocabs": vocabs, "matmuls": matmuls},
        "repeats": repeats,
        "versions": {"torch": torch.__version__, "python": sys.version.split()[0]},
        "tf32": False,
        "cases": cases,
    }
    text = json.dumps(report, indent=2) + "\n"
    if args.out:
        open(args.out, "w").write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
