// data.pkl for torch.save: the reduced tree pickled with protocol 2 as CPython's pickler does.
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/error.h"

namespace ptio::detail {

std::vector<std::byte> pickle_for_save(const IValue& tree) {
  (void)tree;
  throw Error(ErrorCode::kPickleUnsupported, "saving needs the pickle layer's Pickler (pending)");
}

}  // namespace ptio::detail
