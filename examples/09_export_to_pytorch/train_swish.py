#!/usr/bin/env python3
"""Example 9: from a symgrad prototype to a PyTorch training script (docs/export.md).

    symgrad export 'x * sigmoid(beta * x)' --to torch --native --name Swish --param beta=per-unit:1.0 -o swish.py
    python3 train_swish.py swish.py

Trains a 2-64-64-3 MLP with the exported Swish (a learned beta per unit) on three interleaved spirals, with
PyTorch's own optimizer, then prints the accuracy, how the betas moved and (for a module exported with --native)
how many calls symgrad's fused kernels served. Exits 1 if it learned nothing.
"""
import importlib.util
import math
import sys

try:
    import torch
except ImportError:
    print("torch is not installed (Debian: apt-get install python3-torch)")
    sys.exit(77)  # CTest: skipped

spec = importlib.util.spec_from_file_location("swish", sys.argv[1] if len(sys.argv) > 1 else "swish.py")
swish = importlib.util.module_from_spec(spec)
spec.loader.exec_module(swish)

torch.manual_seed(1)


def spirals(n, classes=3, noise=0.2):
    """n points on `classes` interleaved spiral arms, with their labels."""
    t = torch.rand(n) * 3 * math.pi / 2 + 0.5
    label = torch.randint(0, classes, (n,))
    angle = t + label * 2 * math.pi / classes
    x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1) / 3
    return x + noise * torch.randn(n, 2) / 3, label


x_train, y_train = spirals(1600)
x_test, y_test = spirals(400)
model = torch.nn.Sequential(torch.nn.Linear(2, 64), swish.Swish(64), torch.nn.Linear(64, 64), swish.Swish(64),
                            torch.nn.Linear(64, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(1, 201):
    order = torch.randperm(len(x_train))
    for start in range(0, len(order), 64):
        batch = order[start:start + 64]
        loss = torch.nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if epoch % 50 == 0:
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch:3d}  loss {loss.item():.4f}  test accuracy {100 * accuracy:.1f}%")
betas = [m.beta.detach() for m in model if isinstance(m, swish.Swish)]
for k, beta in enumerate(betas, 1):
    print(f"layer {k}: beta from 1.0 to mean {beta.mean():.3f}, min {beta.min():.3f}, max {beta.max():.3f}")
if hasattr(swish, "native_status"):  # exported with --native
    status = swish.native_status()
    print(f"fused kernels: {status['native']} calls served, {status['fallback']} by the pure-torch fallback")
sys.exit(0 if accuracy > 0.9 else 1)
