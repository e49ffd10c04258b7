def f(x, y):
  # type: (int, Tensor) -> Tensor
  a, b, = x, (y,)
  return [i ** -2 for i in range(x)] if not x in y else {k: v for k in d}[a:b:, ::2]
