class Dialect(Module):
  def forward(self, x: Tensor, k: int=3) -> Tensor:
    acc = x
    for i in range(k):
      if i % 2 == 0 and not i == 4:
        acc = acc + (x * 2 - 1) ** 2
      elif i > 10:
        acc -= 1
      else:
        acc = -acc if i < 2 else acc / 2
    d = {str(i): i for i in ys}
    assert len(a) >= 0, 'msg with \'quotes\''
    u, v, = t
    return torch.sum(acc, dim=0, keepdim=True) + len(d) + u * v - -1 + len(b)
