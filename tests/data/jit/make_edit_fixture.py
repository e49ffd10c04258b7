#!/usr/bin/env python3
# Regenerates the TorchScript fixtures of tests/unit/jit/edit_test.cpp and
# load_state_dict_test.cpp with real PyTorch (1.13):
#   edit.pt      scripted module with int/float/bool/str/list/dict/Optional attributes, a
#                parameter, a buffer, a submodule with a transposed (non-contiguous) buffer view
#                sharing its storage with another buffer, and an optional parameter set to None
#   edit_sd.pt   torch.save of the state_dict of a differently initialised copy (seed 1)
# Run with /usr/bin/python3 from this folder.
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from torch import Tensor


class Leaf(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        base = torch.arange(6, dtype=torch.float32).reshape(2, 3)
        self.register_buffer("base", base)
        self.register_buffer("view", base.t())  # shares base's storage, strides (1, 3)

    def forward(self, x: Tensor) -> Tensor:
        return self.lin(x) + self.view.sum()


class Edit(nn.Module):
    opt: Optional[Tensor]

    def __init__(self):
        super().__init__()
        self.scale: float = 2.0
        self.steps: int = 3
        self.flag: bool = True
        self.tag: str = "v1"
        self.sizes: List[int] = [1, 2]
        self.weights: List[float] = [0.5]
        self.names: Dict[str, int] = {"a": 1}
        self.opt = None
        self.w = nn.Parameter(torch.randn(2, 3))
        self.register_buffer("count", torch.tensor([7], dtype=torch.int64))
        self.register_parameter("maybe", None)
        self.leaf = Leaf()

    def forward(self, x: Tensor) -> Tensor:
        y = self.leaf(x) * self.scale + float(self.steps)
        return y + float(sum(self.sizes))


torch.manual_seed(0)
m = torch.jit.script(Edit().eval())
torch.jit.save(m, 'edit.pt')
torch.manual_seed(1)
other = Edit()
torch.save(other.state_dict(), 'edit_sd.pt')
