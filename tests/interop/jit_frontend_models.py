"""TorchScript modules covering the language forms PyTorch 1.13 prints into code/ files.

Used by test_jit_frontend.py: every module is scripted (or traced), saved with torch.jit.save,
and the code/**.py records of the archive are handed to ptio's parser.
"""
import enum
import math
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class Point(NamedTuple):
    x: int
    y: float


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "s\\ad 'q'"


@torch.jit.script
class Pair:
    def __init__(self, a: int, b: str):
        self.a = a
        self.b = b

    def total(self, k: int) -> int:
        return self.a * k + len(self.b)


@torch.jit.interface
class ModIface(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        pass


@torch.jit.interface
class ClassIface:
    def run(self, x: int) -> int:
        pass


@torch.jit.script
class Impl:
    def __init__(self):
        pass

    def run(self, x: int) -> int:
        return x + 1


class Sub(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.lin(x))


@torch.jit.script
def helper(x: Tensor, n: int = 2, scale: float = 0.5) -> Tensor:
    return x * n * scale


class Control(nn.Module):
    K: torch.jit.Final[int] = 7
    NAMES: torch.jit.Final[List[str]] = ["a", "b"]
    EPS: torch.jit.Final[float] = 1e-5

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.ReLU()])
        self.seq = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
        self.dct = nn.ModuleDict({"a": nn.Linear(4, 4), "b": nn.Sigmoid()})
        self.sub = Sub()
        self.w = nn.Parameter(torch.ones(4))
        self.register_buffer("buf", torch.zeros(2))
        self.ints: List[int] = [1, 2, 3]
        self.d: Dict[str, int] = {"x": 1}
        self.tup: Tuple[int, float, str] = (1, 2.5, "s")
        self.opt: Optional[Tensor] = None
        self.none_attr = None
        self.dev = torch.device("cpu")
        self.cplx = 1 + 2j
        self.color = Color.GREEN
        self.pair = Pair(1, "xy")
        self.impl: ClassIface = Impl()
        self.modiface: ModIface = Sub()

    @torch.jit.export
    def strings(self, s: str) -> str:
        t = s + "\n\t\"q\" 'a' \\ \x01\x7f"
        if "x" in s and not s.startswith("y"):
            t = t.upper()
        elif s == "":
            t = "empty"
        else:
            t = "{}-{}".format(s, len(s))
        parts = s.split(",")
        return t + ",".join(parts) + f"{len(parts)}"

    @torch.jit.export
    def loops(self, n: int) -> int:
        acc = 0
        for i in range(n):
            if i == 3:
                continue
            if i > 8:
                break
            acc += i
        j = 0
        while j < n and acc < 100:
            j += 1
            acc = acc * 2 if acc < 50 else acc - 1
        for v in self.ints:
            acc -= v
        for k, v in self.d.items():
            acc += v + len(k)
        for idx, val in enumerate([4, 5]):
            acc += idx * val
        return acc

    @torch.jit.export
    def unit(self, c: complex = 1.5 - 2j) -> Tuple[Tuple[()], complex]:
        return (), c * 2

    @torch.jit.export
    def comprehensions(self, xs: List[int]) -> Dict[str, int]:
        ys = [x * 2 for x in xs]
        d = {str(x): x + 1 for x in ys}
        return d

    @torch.jit.export
    def refine(self, x: Optional[Tensor], y: Union[int, str], z: Any) -> Tensor:
        if x is None:
            x = torch.zeros(2)
        else:
            x = x + 1
        if isinstance(y, int):
            x = x * y
        if self.opt is not None:
            x = x + self.opt
        assert x.dim() == 1, "needs 1-d"
        if x.numel() > 100:
            raise ValueError("too big " + str(x.numel()))
        return x

    @torch.jit.export
    def slicing(self, x: Tensor) -> Tuple[Tensor, Tensor, List[int]]:
        a = x[:, 0]
        b = x[1:3, ::2]
        c = x[..., -1]
        d = x[None, :, 1:]
        e = self.ints[1:]
        f = self.ints[::-1]
        return a + b.sum() + c.sum() + d.sum(), x[0], e + f

    @torch.jit.export
    def math_ops(self, x: Tensor, f: float) -> Tuple[float, float, float, Tensor]:
        a = f * 1e-5 + math.pi
        b = float("inf") if f > 0 else float("-inf")
        c = float("nan")
        y = x ** 2 // 3 % 2 - (x @ x) + (-x)
        z = torch.clamp(y, min=-1.5, max=1e10)
        return a, b, c + 1.0 / 3.0 + 0.1, z * self.EPS

    def forward(self, x: Tensor, p: Point, n: int = 2, y: Optional[Tensor] = None) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        x = self.seq(x)
        x = self.dct["a"](x)
        x = self.sub(x) if n > 0 else x
        x = self.modiface(torch.cat([x, x], 0)[:4])
        s, t = x.shape[0], x.shape[-1]
        a, (b, c) = 1, (2, 3)
        x = x + self.w + p.x + p.y + s + t + a + b + c + self.K + len(self.NAMES)
        x = helper(x, n=n) + helper(x)
        if y is not None:
            x = x + y
        x = x + self.pair.total(2) + self.impl.run(3)
        if self.color == Color.GREEN:
            x = x + self.color.value
        out: List[Tensor] = []
        out.append(x)
        del out[0]
        with torch.no_grad():
            x = x * 2
        fut = torch.jit.fork(helper, x)
        x = x + torch.jit.wait(fut)
        return x + self.refine(x, 3, x)


class WithState(nn.Module):
    def __init__(self):
        super().__init__()
        self.v = 3

    @torch.jit.export
    def __getstate__(self) -> Tuple[int, bool]:
        return (self.v, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[int, bool]) -> None:
        self.v = state[0]
        self.training = state[1]

    def forward(self, x: Tensor) -> Tensor:
        return x + self.v


class Hooks(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.lin(x)


def pre_hook(m: nn.Module, inp: Tuple[Tensor]) -> Tuple[Tensor]:
    return (inp[0] * 2,)


def fwd_hook(m: nn.Module, inp: Tuple[Tensor], out: Tensor) -> Tensor:
    return out + 1


class Traced(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        y = F.relu(self.bn(self.conv(x)))
        y = self.pool(y).flatten(1)
        return self.fc(y) / 3.0 + torch.arange(2) * 0.1


class Big(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(8, 2, 16)
        self.lstm = nn.LSTM(8, 8)
        self.gru = nn.GRU(8, 8)
        self.emb = nn.Embedding(10, 8)
        self.ln = nn.LayerNorm(8)
        self.gelu = nn.GELU()
        self.drop = nn.Dropout(0.1)

    def forward(self, idx: Tensor) -> Tensor:
        x = self.ln(self.emb(idx))
        x = self.enc(x)
        x, _ = self.lstm(x)
        x, _ = self.gru(x)
        return self.drop(self.gelu(x))


class Moods(nn.Module):
    def forward(self, x: Tensor) -> str:
        m = Mood.HAPPY
        return m.value + str(x.size(0))


class Ifaces(nn.Module):
    modiface: ModIface
    impl: ClassIface

    def __init__(self):
        super().__init__()
        self.modiface = Sub()
        self.impl = Impl()
        self.layers = nn.ModuleList([Sub(), Sub()])
        self.table = torch.tensor([[1.5, -2.0], [3.0, 4.25]])

    def forward(self, x: Tensor, i: int, m: Mood) -> Tensor:
        dyn: ModIface = self.layers[i]
        y = dyn.forward(x) + self.modiface.forward(x) + self.impl.run(1) + len(m.value)
        return y + self.table.sum() + torch.tensor([1, 2, 3]).sum()


def build():
    """Returns [(name, scripted_or_traced_module)]."""
    out = []
    out.append(("control", torch.jit.script(Control())))
    out.append(("state", torch.jit.script(WithState())))
    h = Hooks()
    h.register_forward_pre_hook(pre_hook)
    h.register_forward_hook(fwd_hook)
    out.append(("hooks", torch.jit.script(h)))
    t = Traced().eval()
    out.append(("traced", torch.jit.trace(t, torch.randn(1, 3, 8, 8))))
    out.append(("traced_sub", torch.jit.trace(Sub(), torch.randn(2, 4))))
    out.append(("big", torch.jit.script(Big())))
    out.append(("moods", torch.jit.script(Moods())))
    out.append(("ifaces", torch.jit.script(Ifaces())))
    q = torch.ao.quantization.quantize_dynamic(nn.Sequential(nn.Linear(4, 4), nn.LSTM(4, 4)),
                                               {nn.Linear, nn.LSTM}, dtype=torch.qint8)
    out.append(("qdynamic", torch.jit.script(q)))
    return out
