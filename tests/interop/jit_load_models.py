# Modules written by real PyTorch for test_jit_load.py: scripted and traced, covering submodules,
# containers, control flow, NamedTuple, Enum, classes, interfaces, exported methods,
# __getstate__/__setstate__, Final and tensor constants, quantized modules, extra files.
import enum
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

torch.manual_seed(0)


class Point(NamedTuple):
    x: int
    y: float


class Color(enum.Enum):
    RED = 1
    GREEN = 2


@torch.jit.script
class Counter:
    def __init__(self, start: int):
        self.count = start
        self.names = ["a", "b"]

    def bump(self, k: int) -> int:
        self.count += k
        return self.count


@torch.jit.interface
class Act(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        pass


class Relu(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x)


class Block(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.lin = nn.Linear(n, n)
        self.bn = nn.BatchNorm1d(n)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.lin(x))


class Everything(nn.Module):
    scale: torch.jit.Final[float]
    names: torch.jit.Final[List[str]]

    def __init__(self):
        super().__init__()
        self.scale = 2.5
        self.names = ["p", "q"]
        self.blocks = nn.ModuleList([Block(4), Block(4)])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 3, bias=False)})
        self.seq = nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.Flatten())
        self.act: Act = Relu()
        self.counter = Counter(3)
        self.color = Color.GREEN
        self.point = Point(1, 2.0)
        self.steps: List[int] = [1, 2, 3]
        self.table: Dict[str, float] = {"lr": 0.1, "wd": 1e-4}
        self.opt: Optional[Tensor] = None
        self.pair: Tuple[int, str] = (7, "seven")
        self.weight = nn.Parameter(torch.randn(3, 4))
        self.register_buffer("steps_done", torch.tensor(5, dtype=torch.int64))
        self.register_buffer("mask", torch.ones(2, 2, dtype=torch.bool))
        self.label = "everything"

    def forward(self, x: Tensor, n: int = 2, flag: Optional[bool] = None) -> Tensor:
        for b in self.blocks:
            x = b(x)
        if n > 1 and flag is None:
            x = x * self.scale
        else:
            x = x + torch.tensor([1.0, 2.0, 3.0, 4.0])
        i = 0
        while i < n:
            x = self.act.forward(x)
            i += 1
        return x

    @torch.jit.export
    def head(self, x: Tensor, key: str = "a") -> Dict[str, Tensor]:
        out: Dict[str, Tensor] = {}
        for k, h in self.heads.items():
            if k == key:
                out[k] = h(x)
        return out

    @torch.jit.export
    def tint(self, c: Color, p: Point) -> Tuple[int, float]:
        return c.value + p.x, p.y * 2.0

    @torch.jit.export
    def mk(self, k: int) -> Point:
        return Point(k, 2.0)

    @torch.jit.export
    def conv(self, x: Tensor, dims: List[int]) -> Tensor:
        return self.seq(x).sum(dims)


class Stateful(nn.Module):
    def __init__(self):
        super().__init__()
        self.k = 3
        self.on = True
        self.w = nn.Parameter(torch.arange(6.0).reshape(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.k

    @torch.jit.export
    def __getstate__(self) -> Tuple[int, bool, Tensor, bool]:
        return (self.k, self.on, self.w, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[int, bool, Tensor, bool]) -> None:
        self.k = state[0]
        self.on = state[1]
        self.w = state[2]
        self.training = state[3]


class Traced(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 6 * 6, 5)
        self.shared = self.fc  # the same submodule twice

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        return self.fc(y.flatten(1)) + torch.tensor([0.5, 1.5, 2.5, 3.5, 4.5]) / 3


class TiedWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = nn.Linear(3, 3)
        self.b.weight = self.a.weight

    def forward(self, x: Tensor) -> Tensor:
        return self.b(self.a(x))


class QuantStatic(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = torch.quantization.QuantStub()
        self.conv = nn.Conv2d(2, 3, 3)
        self.dequant = torch.quantization.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.conv(self.quant(x)))


def models():
    """(name, module, extra_files) triples, every module scripted or traced by PyTorch."""
    out = []
    m = Everything().eval()
    out.append(('everything', torch.jit.script(m), {'meta.txt': b'hello', 'dir/cfg.json': b'{"a": 1}'}))
    out.append(('everything_train', torch.jit.script(Everything()), {}))
    out.append(('stateful', torch.jit.script(Stateful()), {}))
    t = Traced().eval()
    out.append(('traced', torch.jit.trace(t, torch.randn(2, 3, 8, 8)), {'note': b''}))
    out.append(('tied', torch.jit.script(TiedWeights()), {}))
    q = torch.quantization.quantize_dynamic(nn.Sequential(nn.Linear(8, 4), nn.ReLU()),
                                            {nn.Linear}, dtype=torch.qint8)
    out.append(('dynamic_quant', torch.jit.script(q), {}))
    try:
        qs = QuantStatic().eval()
        qs.qconfig = torch.quantization.get_default_qconfig('fbgemm')
        torch.quantization.prepare(qs, inplace=True)
        qs(torch.randn(1, 2, 5, 5))
        torch.quantization.convert(qs, inplace=True)
        out.append(('static_quant', torch.jit.script(qs), {}))
    except Exception:  # no fbgemm engine on this machine
        pass
    return out
