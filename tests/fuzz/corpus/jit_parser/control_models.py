class Control(Module):
  __parameters__ = ["w", ]
  __buffers__ = ["buf", ]
  w : Tensor
  buf : Tensor
  training : bool
  _is_full_backward_hook : NoneType
  ints : List[int]
  d : Dict[str, int]
  tup : Tuple[int, float, str]
  opt : NoneType
  none_attr : NoneType
  dev : Device
  cplx : complex
  color : __torch__.jit_frontend_models.Color
  pair : __torch__.jit_frontend_models.Pair
  impl : __torch__.jit_frontend_models.Impl
  layers : __torch__.torch.nn.modules.container.ModuleList
  seq : __torch__.torch.nn.modules.container.Sequential
  dct : __torch__.torch.nn.modules.container.ModuleDict
  sub : __torch__.jit_frontend_models.Sub
  modiface : __torch__.jit_frontend_models.Sub
  EPS : Final[float] = 1.0000000000000001e-05
  K : Final[int] = 7
  NAMES : Final[Tuple[str, str]] = ("a", "b")
  def forward(self: __torch__.jit_frontend_models.Control,
    x: Tensor,
    p: __torch__.jit_frontend_models.Point,
    n: int=2,
    y: Optional[Tensor]=None) -> Tensor:
    _0 = __torch__.jit_frontend_models.helper
    _1 = __torch__.jit_frontend_models.Color.GREEN
    layers = self.layers
    _00 = getattr(layers, "0")
    _10 = getattr(layers, "1")
    x0 = (_00).forward(x, )
    x1 = (_10).forward(x0, )
    seq = self.seq
    x2 = (seq).forward(x1, )
    dct = self.dct
    a = dct.a
    x3 = (a).forward(x2, )
    if torch.gt(n, 0):
      sub = self.sub
      x4 = (sub).forward(x3, )
    else:
      x4 = x3
    modiface = self.modiface
    _2 = torch.slice(torch.cat([x4, x4]), 0, None, 4)
    x5 = (modiface).forward(_2, )
    s = (torch.size(x5))[0]
    t = (torch.size(x5))[-1]
    w = self.w
    _3 = torch.add(torch.add(torch.add(x5, w), (p)[0]), (p)[1])
    _4 = torch.add(torch.add(torch.add(_3, s), t), 1)
    _5 = torch.add(torch.add(torch.add(_4, 2), 3), 7)
    x6 = torch.add(_5, torch.len(["a", "b"]))
    x7 = torch.add(_0(x6, n, 0.5, ), _0(x6, 2, 0.5, ))
    if torch.__isnot__(y, None):
      y0 = unchecked_cast(Tensor, y)
      x8 = torch.add(x7, y0)
    else:
      x8 = x7
    pair = self.pair
    _6 = torch.add(x8, (pair).total(2, ))
    impl = self.impl
    x9 = torch.add(_6, (impl).run(3, ))
    color = self.color
    if torch.eq(color, _1):
      color0 = self.color
      x10 = torch.add(x9, (color0).value)
    else:
      x10 = x9
    _7 = __torch__.torch.autograd.grad_mode.no_grad.__new__(__torch__.torch.autograd.grad_mode.no_grad)
    _8 = (_7).__init__()
    with _7:
      x11 = torch.mul(x10, 2)
    def __forked_function():
      _9 = __torch__.jit_frontend_models.helper
      return _9(x11, 2, 0.5, )
    fut = fork(__forked_function)
    x12 = torch.add(x11, torch.wait(fut))
    _11 = torch.add(x12, (self).refine(x12, 3, x12, ))
    return _11
  def comprehensions(self: __torch__.jit_frontend_models.Control,
    xs: List[int]) -> Dict[str, int]:
    ys = annotate(List[int], [])
    for _11 in range(torch.len(xs)):
      x = xs[_11]
      _12 = torch.append(ys, torch.mul(x, 2))
    d = annotate(Dict[str, int], {})
    for _13 in range(torch.len(ys)):
      x13 = ys[_13]
      torch._set_item(d, str(x13), torch.add(x13, 1))
    return d
  def loops(self: __torch__.jit_frontend_models.Control,
    n: int) -> int:
    _14 = uninitialized(int)
    _15 = uninitialized(bool)
    acc = 0
    _16 = 0
    _17 = torch.gt(n, 0)
    while _17:
      if torch.eq(_16, 3):
        _18, _19, _20, _21, _22 = True, True, acc, _15, _14
      else:
        if torch.gt(_16, 8):
          _23, _24, _25, _26, _27 = True, False, acc, _15, _14
        else:
          _23, _24, _25, _26, _27 = False, _15, _14, True, torch.add(acc, _16)
        _18, _19, _20, _21, _22 = _23, _24, _25, _26, _27
      if _18:
        _28, _29 = _19, _20
      else:
        _28, _29 = _21, _22
      _30 = torch.add(_16, 1)
      _31 = torch.__and__(torch.lt(_30, n), _28)
      _17, acc, _16 = _31, _29, _30
    if torch.lt(0, n):
      _32 = torch.lt(acc, 100)
    else:
      _32 = False
    acc0 = acc
    j = 0
    _33 = _32
    while _33:
      j0 = torch.add(j, 1)
      if torch.lt(acc0, 50):
        acc1 = torch.mul(acc0, 2)
      else:
        acc1 = torch.sub(acc0, 1)
      if torch.lt(j0, n):
        _34 = torch.lt(acc1, 100)
      else:
        _34 = False
      _33, acc0, j = _34, acc1, j0
    ints = self.ints
    acc2 = acc0
    for _35 in range(torch.len(ints)):
      v = ints[_35]
      acc2 = torch.sub(acc2, v)
    d = self.d
    _36 = torch.items(d)
    acc3 = acc2
    for _37 in range(torch.len(_36)):
      k, v0, = _36[_37]
      acc4 = torch.add(acc3, torch.add(v0, torch.len(k)))
      acc3 = acc4
    _38 = [4, 5]
    _39 = [9223372036854775807, torch.len(_38)]
    acc5 = acc3
    for idx in range(ops.prim.min(_39)):
      val = _38[idx]
      acc6 = torch.add(acc5, torch.mul(idx, val))
      acc5 = acc6
    return acc5
  def math_ops(self: __torch__.jit_frontend_models.Control,
    x: Tensor,
    f: float) -> Tuple[float, float, float, Tensor]:
    _40 = torch.mul(f, 1.0000000000000001e-05)
    a = torch.add(_40, 3.1415926535897931)
    if torch.gt(f, 0):
      b = inf
    else:
      b = -inf
    _41 = torch.floor_divide(torch.pow(x, 2), 3)
    _42 = torch.sub(torch.remainder(_41, 2), torch.matmul(x, x))
    y = torch.add(_42, torch.neg(x))
    z = torch.clamp(y, -1.5, 10000000000)
    _43 = torch.mul(z, 1.0000000000000001e-05)
    return (a, b, nan, _43)
  def refine(self: __torch__.jit_frontend_models.Control,
    x: Optional[Tensor],
    y: Union[int, str],
    z: Any) -> Tensor:
    if torch.__is__(x, None):
      x14 = torch.zeros([2])
    else:
      x15 = unchecked_cast(Tensor, x)
      x14 = torch.add(x15, 1)
    _44 = isinstance(y, int)
    if _44:
      y1 = unchecked_cast(int, y)
      x16 = torch.mul(x14, y1)
    else:
      x16 = x14
    if torch.eq(torch.dim(x16), 1):
      pass
    else:
      ops.prim.RaiseException("AssertionError: needs 1-d")
    if torch.gt(torch.numel(x16), 100):
      _45 = torch.add("too big ", str(torch.numel(x16)))
      ops.prim.RaiseException(_45, "builtins.ValueError")
    else:
      pass
    return x16
  def slicing(self: __torch__.jit_frontend_models.Control,
    x: Tensor) -> Tuple[Tensor, Tensor, List[int]]:
    a = torch.select(torch.slice(x), 1, 0)
    b = torch.slice(torch.slice(x, 0, 1, 3), 1, None, None, 2)
    c = torch.select(x, -1, -1)
    _46 = torch.slice(torch.unsqueeze(x, 0), 1)
    d = torch.slice(_46, 2, 1)
    ints = self.ints
    e = torch.slice(ints, 1)
    ints0 = self.ints
    f = torch.slice(ints0, None, None, -1)
    _47 = torch.add(torch.add(a, torch.sum(b)), torch.sum(c))
    _48 = (torch.add(_47, torch.sum(d)), torch.select(x, 0, 0), torch.add(e, f))
    return _48
  def strings(self: __torch__.jit_frontend_models.Control,
    s: str) -> str:
    t = torch.add(s, "\n\t\"q\" \'a\' \\ \001\177")
    _49 = torch.ne(torch.find(s, "x", 0, torch.len(s)), -1)
    if _49:
      _51 = torch.__not__(torch.startswith(s, "y"))
      _50 = _51
    else:
      _50 = False
    if _50:
      t0 = torch.upper(t)
    else:
      if torch.eq(s, ""):
        t1 = "empty"
      else:
        t2 = torch.format("{}-{}", s, torch.len(s))
        t1 = t2
      t0 = t1
    parts = torch.split(s, ",")
    _52 = torch.add(t0, torch.join(",", parts))
    _53 = torch.format("{}", torch.len(parts))
    return torch.add(_52, _53)
class Pair:
  a : int
  b : str
  def __init__(self: __torch__.jit_frontend_models.Pair,
    a: int,
    b: str) -> NoneType:
    self.a = a
    self.b = b
    return None
  def total(self: __torch__.jit_frontend_models.Pair,
    k: int) -> int:
    a = self.a
    _54 = torch.mul(a, k)
    b = self.b
    return torch.add(_54, torch.len(b))
class Impl:
  def __init__(self: __torch__.jit_frontend_models.Impl) -> NoneType:
    return None
  def run(self: __torch__.jit_frontend_models.Impl,
    x: int) -> int:
    return torch.add(x, 1)
class Sub(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  _is_full_backward_hook : Optional[bool]
  lin : __torch__.torch.nn.modules.linear.___torch_mangle_0.Linear
  def forward(self: __torch__.jit_frontend_models.Sub,
    x: Tensor) -> Tensor:
    lin = self.lin
    return torch.relu((lin).forward(x, ))
class Color(Enum):
  RED = 1
  GREEN = 2
class Point(NamedTuple):
  x : int
  y : float
def helper(x: Tensor,
    n: int=2,
    scale: float=0.5) -> Tensor:
  return torch.mul(torch.mul(x, n), scale)
