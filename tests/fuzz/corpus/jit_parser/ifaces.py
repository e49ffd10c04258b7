class Ifaces(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  _is_full_backward_hook : NoneType
  impl : __torch__.jit_frontend_models.ClassIface
  table : Tensor
  modiface : __torch__.jit_frontend_models.ModIface
  layers : __torch__.torch.nn.modules.container.___torch_mangle_14.ModuleList
  def forward(self: __torch__.jit_frontend_models.Ifaces,
    x: Tensor,
    i: int,
    m: __torch__.jit_frontend_models.Mood) -> Tensor:
    layers = self.layers
    dyn : __torch__.jit_frontend_models.ModIface = layers[i]
    _0 = (dyn).forward(x, )
    modiface = self.modiface
    _1 = torch.add(_0, (modiface).forward(x, ))
    impl = self.impl
    y = torch.add(torch.add(_1, (impl).run(1, )), torch.len((m).value))
    table = self.table
    _2 = torch.add(torch.add(y, torch.sum(table)), torch.sum(torch.tensor([1, 2, 3])))
    return _2
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
class ClassIface(Interface):
  def run(self, x: int) -> int:
    pass
class ModIface(ModuleInterface):
  def forward(self, x: Tensor) -> Tensor:
    pass
class Mood(Enum):
  HAPPY = "happy"
  SAD = "s\ad 'q'"
