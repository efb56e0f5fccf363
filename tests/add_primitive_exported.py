#!/usr/bin/env python3
"""The PyTorch export of example 7's new primitive, run by tests/add_primitive_check.cmake: the module 07_check_asinh
wrote for y = x * asinh(x), forward and backward against the same expression in eager PyTorch, in float64, and
gradcheck. Exit 0 when it agrees, 1 when not, 77 without torch (CTest: skipped).

  python3 tests/add_primitive_exported.py DIR    (DIR holds asinh_act.py)
"""
import importlib.util
import sys

try:
    import torch
except ImportError:
    print("torch is not installed: the PyTorch export of asinh was not run")
    sys.exit(77)

spec = importlib.util.spec_from_file_location("asinh_act", f"{sys.argv[1]}/asinh_act.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
activation = module.asinh_act()

x = torch.tensor([-1000.0, -2.0, -0.5, 0.0, 0.5, 2.0, 1000.0], dtype=torch.float64, requires_grad=True)
y = activation(x)
(dx,) = torch.autograd.grad(y.sum(), x)
xe = x.detach().clone().requires_grad_(True)
ye = xe * torch.asinh(xe)
(dxe,) = torch.autograd.grad(ye.sum(), xe)
ok = torch.allclose(y, ye, rtol=1e-12, atol=0) and torch.allclose(dx, dxe, rtol=1e-12, atol=1e-300)
ok = ok and torch.autograd.gradcheck(activation, (torch.randn(6, dtype=torch.float64, requires_grad=True),))
print("the exported module computes asinh" if ok else f"FAILED: y {y} vs {ye}, dx {dx} vs {dxe}")
sys.exit(0 if ok else 1)
