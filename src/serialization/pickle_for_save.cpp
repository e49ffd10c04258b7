// data.pkl for torch.save: the reduced tree pickled with protocol 2 as CPython's pickler does.
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/error.h"
#include "ptio/io/writer.h"
#include "ptio/pickle/pickler.h"

namespace ptio::detail {

std::vector<std::byte> pickle_for_save(const IValue& tree) {
  // The tree holds no Tensors or Storages any more (save_reduce turned them into rebuild calls
  // and persistent ids), so the CPython dialect writes exactly what torch.save's pickler does.
  pickle::PicklerOptions o;
  o.dialect = pickle::Dialect::kPython;
  return pickle::pickle_value(tree, o);
}

}  // namespace ptio::detail
