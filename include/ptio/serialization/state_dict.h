// StateDict and tensor listings: PyTorch's state_dict names over loaded objects, without running
// code.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/core/tensor.h"
#include "ptio/export.h"
#include "ptio/serialization/listing_limits.h"

namespace ptio {

/// An ordered name -> Tensor view, the role of the `OrderedDict` returned by
/// `nn.Module.state_dict()`. Tensors are handles: they share storage with the loaded object
/// (and, after an mmap load, with the mapped file, which they keep alive).
class PTIO_API StateDict {
 public:
  using Entry = std::pair<std::string, Tensor>;
  StateDict() = default;
  /// Builds the view over a loaded object:
  /// - a dict/OrderedDict with string keys: its tensor entries, in order (non-tensor values such
  ///   as an `epoch` int are skipped);
  /// - a full model (`torch.save(model)` loaded with weights_only=false): module_state_dict().
  /// Throws Error(kWrongKind) for any other value.
  explicit StateDict(const IValue& object);

  /// The entries in order. On a temporary (`StateDict(v).items()`) the entries are returned by
  /// value (moved out; the temporary is left empty), so `for (auto& [name, t] :
  /// StateDict(v).items())` iterates a live vector instead of one destroyed before the loop.
  const std::vector<Entry>& items() const& noexcept { return entries_; }
  std::vector<Entry> items() && {
    index_.clear();
    return std::move(entries_);
  }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  bool contains(std::string_view name) const;
  /// The tensor called `name`; throws Error(kMissingRecord) when absent. On a temporary
  /// (`StateDict(v).at("w")`) the Tensor handle is returned by value (it shares the storage), so
  /// it outlives the StateDict.
  const Tensor& at(std::string_view name) const&;
  Tensor at(std::string_view name) && { return static_cast<const StateDict&>(*this).at(name); }
  /// Appends (or replaces, keeping the position) `name`.
  void insert(std::string name, Tensor tensor);
  /// The OrderedDict's `_metadata` attribute (module versions), None when the file had none.
  const IValue& metadata() const& noexcept { return metadata_; }
  /// On a temporary: the metadata by value (a handle).
  IValue metadata() && { return metadata_; }
  /// An OrderedDict IValue of the entries (plus `_metadata`), ready for ptio::save.
  IValue to_ivalue() const;

 private:
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
  IValue metadata_;
};

/// Flattens a pickled `nn.Module` (an Opaque object whose state has `_parameters`, `_buffers`,
/// `_modules`) into `module.state_dict()` order and names: for each module its parameters, then
/// its persistent buffers (not those in `_non_persistent_buffers_set`), then its children
/// prefixed with `name.`; None entries are skipped. A submodule under two names is listed under
/// both, as `state_dict()` does. Nothing runs. Throws Error(kWrongKind) when `module` does not
/// look like an nn.Module, Error(kLimitExceeded) for modules nested deeper than 1000 levels or
/// when shared submodules would list more than 250,000 modules and entries (or 64 MiB of name
/// prefixes) again, or when the names made (module prefixes) and entries would pass 256 MiB
/// (the defaults of ListingLimits; the second form takes caller-chosen ones, the messages naming
/// the field).
PTIO_API StateDict module_state_dict(const IValue& module);
PTIO_API StateDict module_state_dict(const IValue& module, const ListingLimits& limits);

/// True when `v` looks like a pickled nn.Module (see module_state_dict).
PTIO_API bool is_module_object(const IValue& v);

/// One tensor found by named_tensors().
struct PTIO_API NamedTensor {
  std::string path;         ///< keys, indices and attribute names joined with `.`
  Tensor tensor;            ///< for a standalone storage: a 1-d tensor over all of it
  bool is_storage = false;  ///< the value was a Storage; `path` then ends with `<storage>`
  /// `path` without its ambiguities, for pairing the tensors of two files: per level a kind byte
  /// (`s` str dict key, `n` int dict key, `k` other dict key, `i` list or tuple index, `a`
  /// attribute, `m` nn.Module state_dict name, `o` `<arg N>`/`<state>`... of an unresolved
  /// global, `<` storage) then the component's text and a NUL.
  /// Keys that flatten to one `path` (`{"a.b": x, "a": {"b": y}}`, `{0: x, "0": y}`) differ here.
  std::string key;
};

/// Every tensor reachable from `root`, depth-first in object order, named like
/// `../shared/corpus/verify_with_torch.py`'s Walker: dict keys (`str(key)`), list/tuple indices
/// and attribute names joined with `.`; an nn.Module contributes its state_dict names; a
/// standalone storage is listed as `<path><storage>`. An unresolved global (ivalue::Opaque: a
/// class ptio does not rebuild) is looked into: a dict state (BUILD) gives attribute names, its
/// call arguments (REDUCE, NEWOBJ) `<arg N>`, keyword arguments (NEWOBJ_EX) `<kwarg NAME>`, any
/// other state `<state>`, appended items their index, set items their key, an unhandled
/// persistent id `<persistent_id>` (key kind `o` for the `<...>` components, `.`-joined like
/// attributes: `h2.<arg 0>`). A dict key that is or holds a tensor is listed as `<key N>` (N its
/// entry), a set or frozenset member as `<item N>` (pickle order), also kind `o`, so a tensor in a
/// set or used as a key is compared and converted like any other. Every path is listed, as
/// iterating over
/// what torch.load returns reaches it: a container reached twice (pickle memo sharing:
/// `d = {'t': t}; {'a': d, 'b': d}`) is listed under both paths (`a.t` and `b.t`, one Tensor
/// sharing one Storage), and a tensor every time it is reached. A reference back to a container
/// being listed (a cycle) is skipped. Listing containers again is bounded ("billion laughs": a
/// list `[l, l]` nested 30 times has 2^30 paths): beyond 250,000 tensors, storages and
/// containers visited again (a tensor or storage reached again counts too: one tensor under a
/// million dict keys), or 64 MiB of their paths and keys, it throws Error(kLimitExceeded) saying
/// so. The whole listing is bounded: beyond 256 MiB of names made (every path and key, also of
/// values that are not tensors) plus sizeof(NamedTensor) per entry, it throws
/// Error(kLimitExceeded) naming that limit. Also throws Error(kLimitExceeded) for a value nested
/// deeper than 1000 levels (no tensor is dropped) and what module_state_dict throws. These bounds
/// are ListingLimits' defaults (ptio/serialization/listing_limits.h); the second form takes
/// caller-chosen ones (`Limits::listing`), each error naming its field
/// (`Limits::listing.max_listing_bytes`, ...).
PTIO_API std::vector<NamedTensor> named_tensors(const IValue& root);
PTIO_API std::vector<NamedTensor> named_tensors(const IValue& root, const ListingLimits& limits);

}  // namespace ptio
