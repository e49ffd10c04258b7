#!/usr/bin/env python3
# Regenerates the TorchScript fixtures of tests/unit/jit/import_test.cpp with real PyTorch (1.13):
#   small.pt             scripted module: submodule, buffer, enum, typed containers, Final,
#                        a tensor constant, an exported method, an extra file
#   small.ptl            the same module saved for the lite interpreter (bytecode.pkl)
#   small.expected.json  what torch.jit.load reports for it (state_dict, schemas, attributes)
# Run with /usr/bin/python3 from this folder.
import enum
import hashlib
import json
from typing import Dict, List

import torch
import torch.nn as nn
from torch import Tensor


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 3)
        self.register_buffer("count", torch.tensor([4, 5], dtype=torch.int32))

    def forward(self, x: Tensor) -> Tensor:
        return self.lin(x)


class Small(nn.Module):
    eps: torch.jit.Final[float]

    def __init__(self):
        super().__init__()
        self.eps = 0.5
        self.inner = Inner()
        self.mode = Mode.SLOW
        self.sizes: List[int] = [3, 1, 2]
        self.names: Dict[str, int] = {"a": 1}

    def forward(self, x: Tensor, k: int = 1) -> Tensor:
        return self.inner(x) * self.eps + torch.tensor([1.0, 2.0, 3.0]) * k

    @torch.jit.export
    def describe(self, prefix: str = "m") -> List[str]:
        return [prefix]


def sha(t):
    return hashlib.sha256(t.detach().contiguous().numpy().tobytes()).hexdigest()


torch.manual_seed(0)
m = torch.jit.script(Small().eval())
torch.jit.save(m, 'small.pt', _extra_files={'meta.txt': b'hello'})
m._save_for_lite_interpreter('small.ptl')
m = torch.jit.load('small.pt')
expected = {
    'class': m._c._type().qualified_name(),
    'state_dict': [[k, str(v.dtype).replace('torch.', ''), list(v.shape), sha(v)]
                   for k, v in m.state_dict().items()],
    'schemas': {n: str(m._c._get_method(n).schema) for n in m._c._method_names()},
    'modules': [[n, s._c._type().qualified_name()] for n, s in m.named_modules()],
    'sizes': list(m.sizes),
    'names': dict(m.names),
    'mode': m.mode.name,
    'training': m.training,
    'ptl_bytecode_version': torch._C._get_model_bytecode_version('small.ptl'),
    'ptl_state_dict': list(torch.jit.load('small.ptl').state_dict().keys()),
}
with open('small.expected.json', 'w') as f:
    json.dump(expected, f, indent=1)
