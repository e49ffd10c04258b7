// StateDict, module_state_dict and named_tensors over loaded objects (no code runs).
#include "ptio/serialization/state_dict.h"

#include <unordered_set>

#include "ptio/error.h"

namespace ptio {

namespace {

// The state a pickled object received (BUILD of a dict), or nullptr.
const ivalue::Dict* object_state(const IValue& v) {
  if (!v.is_opaque()) return nullptr;
  const auto& applied = v.as_opaque().applied;
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
    if (it->op != ivalue::Op::kBuild) continue;
    if (it->arg.is_dict()) return &it->arg.as_dict();
    // (dict, slots) state tuples
    if (it->arg.is_tuple() && !it->arg.as_tuple().elements().empty() &&
        it->arg.as_tuple().elements()[0].is_dict())
      return &it->arg.as_tuple().elements()[0].as_dict();
  }
  return nullptr;
}

std::string key_str(const IValue& k) {
  if (k.is_string()) return k.as_string();
  if (k.is_int()) return std::to_string(k.as_int());
  if (k.is_bool()) return k.as_bool() ? "True" : "False";
  if (k.is_none()) return "None";
  return to_repr(k);
}

std::string cut(const std::string& name) {
  return name.size() > 200 ? name.substr(0, 200) + "..." : name;
}

// `n` bytes as a limit is printed: `256 MiB` when a whole number of MiB, else `N bytes`.
std::string size_text(std::size_t n) {
  return n != 0 && n % (std::size_t{1} << 20) == 0 ? std::to_string(n >> 20) + " MiB"
                                                   : std::to_string(n) + " bytes";
}

// The whole listing's bound (ListingLimits::max_listing_bytes): the bytes of every name made
// (paths and keys, also those of values that are not tensors) plus one entry's size per entry. A
// long key above many values would otherwise be copied into every path below it (a 200 KB file
// of one 100 KB key over 20,000 tensors wanted 4 GB of names).
void charge_listing(std::size_t& total, std::size_t bytes, std::size_t limit, const std::string& at,
                    const char* what) {
  total += bytes;
  PTIO_CHECK(total <= limit, ErrorCode::kLimitExceeded, what, " would take more than ",
             size_text(limit), " of names and entries (the listing's limit, ",
             "Limits::listing.max_listing_bytes; at '", cut(at),
             "'): very many tensors or very long keys repeated in every path below them");
}

// module_state_dict's walk: a submodule reached again (shared under two names) is listed again,
// as nn.Module.state_dict() does, with its modules and entries charged to max_shared_visits and
// their name prefixes to max_shared_name_bytes.
struct ModuleWalk {
  explicit ModuleWalk(const ListingLimits& l) : limits(l) {}
  const ListingLimits& limits;
  std::unordered_set<const void*> seen;
  std::size_t replaying = 0;
  std::size_t shared_visits = 0;
  std::size_t shared_bytes = 0;
  std::size_t listing_bytes = 0;
  void charge(const std::string& prefix) {
    charge_listing(listing_bytes, prefix.size() + sizeof(StateDict::Entry),
                   limits.max_listing_bytes, prefix, "module_state_dict");
    if (replaying == 0) return;
    shared_bytes += prefix.size();
    PTIO_CHECK(
        ++shared_visits <= limits.max_shared_visits && shared_bytes <= limits.max_shared_name_bytes,
        ErrorCode::kLimitExceeded, "submodules shared under several names would list more than ",
        limits.max_shared_visits, " modules and entries or ",
        size_text(limits.max_shared_name_bytes),
        " of names again (module_state_dict's limit, Limits::listing.max_shared_visits / "
        "max_shared_name_bytes; at '",
        prefix.substr(0, 200), prefix.size() > 200 ? "...'" : "'", ")");
  }
};

void flatten_module(const IValue& m, const std::string& prefix, StateDict& out, int depth,
                    ModuleWalk& w) {
  PTIO_CHECK(depth < 1000, ErrorCode::kLimitExceeded, "modules nested deeper than 1000 levels");
  const ivalue::Dict* st = object_state(m);
  PTIO_CHECK(st, ErrorCode::kWrongKind, "value at '", prefix, "' is not a pickled nn.Module");
  const bool again = !w.seen.insert(m.identity()).second;
  w.replaying += again;
  w.charge(prefix);
  auto dict_of = [&](std::string_view name) -> const ivalue::Dict* {
    const IValue* v = st->find(name);
    return v && v->is_dict() ? &v->as_dict() : nullptr;
  };
  if (const auto* params = dict_of("_parameters"))
    for (const auto& [k, v] : params->items())
      if (v.is_tensor()) {
        w.charge(prefix);
        out.insert(prefix + key_str(k), v.as_tensor());
      }
  const IValue* np = st->find(std::string_view("_non_persistent_buffers_set"));
  if (const auto* buffers = dict_of("_buffers"))
    for (const auto& [k, v] : buffers->items()) {
      if (!v.is_tensor()) continue;
      if (np && np->is_set() && np->as_set().contains(k)) continue;
      w.charge(prefix);
      out.insert(prefix + key_str(k), v.as_tensor());
    }
  if (const auto* mods = dict_of("_modules"))
    for (const auto& [k, v] : mods->items())
      if (is_module_object(v)) flatten_module(v, prefix + key_str(k) + ".", out, depth + 1, w);
  w.replaying -= again;
}

struct Walker {
  explicit Walker(const ListingLimits& l) : limits(l) {}
  const ListingLimits& limits;
  std::vector<NamedTensor> out;
  std::unordered_set<const void*> seen;    // containers listed once already
  std::unordered_set<const void*> active;  // containers being listed (a cycle back: skipped)
  // Listing a container again (shared under two names): the tensors, storages and containers
  // visited below it and the bytes of their names (path and key), against max_shared_visits /
  // max_shared_name_bytes.
  std::size_t replaying = 0;
  std::size_t shared_visits = 0;
  std::size_t shared_bytes = 0;
  std::size_t listing_bytes = 0;

  // `again`: the value itself was listed before (a tensor or storage reached through a second
  // memo reference), charged like a value below a container listed again.
  void charge(const std::string& path, const std::string& key, bool again = false) {
    if (replaying == 0 && !again) return;
    ++shared_visits;
    shared_bytes += path.size() + key.size();
    PTIO_CHECK(
        shared_visits <= limits.max_shared_visits && shared_bytes <= limits.max_shared_name_bytes,
        ErrorCode::kLimitExceeded,
        "tensors and containers shared under several names (pickle memo references) "
        "would list more than ",
        limits.max_shared_visits, " values or ", size_text(limits.max_shared_name_bytes),
        " of names again (named_tensors' limit, Limits::listing.max_shared_visits / "
        "max_shared_name_bytes; at '",
        path.substr(0, 200), path.size() > 200 ? "...'" : "'",
        "): the same tensors or containers are reached through very many paths (a \"billion "
        "laughs\" file?); `ptio show` prints each of them once");
  }

  static std::string sub(const std::string& path, const std::string& k) {
    return path.empty() ? k : path + "." + k;
  }
  static std::string sub_key(const std::string& key, char kind, const std::string& k) {
    std::string r = key;
    r += kind;
    r += k;
    r += '\0';
    return r;
  }
  // Whether a dict key or set member can be or contain a tensor (the atomic kinds cannot).
  static bool may_hold_tensors(const IValue& x) {
    return x.is_heap() && !x.is_string() && !x.is_bytes() && !x.is_big_int() && !x.is_complex();
  }
  static char dict_key_kind(const IValue& k) {
    return k.is_string() ? 's' : k.is_int() ? 'n' : 'k';
  }

  void walk(const IValue& v, const std::string& path, const std::string& key, int depth) {
    // Deeper than the printers go: an error, never a silently shorter list (a cut-off at 60
    // levels, the corpus Walker's, dropped deeper tensors from `tensors`, `diff` and `convert`).
    PTIO_CHECK(depth <= 1000, ErrorCode::kLimitExceeded,
               "a value nested deeper than 1000 levels at '", path.substr(0, 200),
               path.size() > 200 ? "...'" : "'", ": the tensors below it cannot be listed");
    charge_listing(listing_bytes, path.size() + key.size(), limits.max_listing_bytes, path,
                   "named_tensors' listing");
    if (!v.is_tensor() &&
        (!v.is_heap() || v.is_string() || v.is_bytes() || v.is_big_int() || v.is_complex()))
      return;
    // A tensor or storage reached again (BINGET of one tensor under a million dict keys) is
    // listed again, charged to the same limits as a container listed again.
    const bool leaf_again = (v.is_tensor() || v.is_storage()) && !seen.insert(v.identity()).second;
    charge(path, key, leaf_again);
    if (v.is_tensor() || v.is_storage())
      charge_listing(listing_bytes, sizeof(NamedTensor), limits.max_listing_bytes, path,
                     "named_tensors' listing");
    if (v.is_tensor()) {
      out.push_back({path, v.as_tensor(), false, key});
      return;
    }
    if (v.is_storage()) {  // torch.load makes a new TypedStorage object per reference
      const Storage& s = v.as_storage();
      const ScalarType dt = s.dtype().value_or(ScalarType::Byte);
      const auto es = static_cast<std::int64_t>(element_size(dt));
      const std::int64_t n = es ? static_cast<std::int64_t>(s.nbytes()) / es : 0;
      out.push_back(
          {path + "<storage>", Tensor::make(s, dt, {n}, {1}, 0), true, sub_key(key, '<', "")});
      return;
    }
    // A container reached again is listed again under this path (torch.load gives both `a['t']`
    // and `b['t']` for `d = {'t': t}; {'a': d, 'b': d}`), within the limits charged above; one
    // being listed (a cycle back to it) is not.
    const void* id = v.identity();
    if (!active.insert(id).second) return;
    const bool again = !seen.insert(id).second;
    replaying += again;
    children(v, path, key, depth);  // an error ends the whole walk: no clean-up needed
    active.erase(id);
    replaying -= again;
  }

  void children(const IValue& v, const std::string& path, const std::string& key, int depth) {
    if (is_module_object(v)) {
      const StateDict sd = module_state_dict(v, limits);
      for (const auto& [name, t] : sd.items())
        walk(IValue(t), sub(path, name), sub_key(key, 'm', name), depth + 1);
      return;
    }
    if (v.is_dict()) {
      const auto& entries = v.as_dict().items();
      for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& [k, x] = entries[i];
        const std::string ks = key_str(k);
        walk(x, sub(path, ks), sub_key(key, dict_key_kind(k), ks), depth + 1);
        // A key that is (or holds) a tensor, as torch.load gives it: `<key N>`, N the entry.
        if (may_hold_tensors(k)) {
          const std::string name = "<key " + std::to_string(i) + ">";
          walk(k, sub(path, name), sub_key(key, 'o', name), depth + 1);
        }
      }
      return;
    }
    if (v.is_set()) {  // set / frozenset items in pickle order: `<item N>`
      const auto& members = v.as_set().items();
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (!may_hold_tensors(members[i])) continue;
        const std::string name = "<item " + std::to_string(i) + ">";
        walk(members[i], sub(path, name), sub_key(key, 'o', name), depth + 1);
      }
      return;
    }
    const std::vector<IValue>* items = v.is_list()    ? &v.as_list().elements
                                       : v.is_tuple() ? &v.as_tuple().elements()
                                                      : nullptr;
    if (items) {
      for (std::size_t i = 0; i < items->size(); ++i) {
        const std::string is = std::to_string(i);
        walk((*items)[i], sub(path, is), sub_key(key, 'i', is), depth + 1);
      }
      return;
    }
    if (v.is_object()) {
      for (const auto& [k, x] : v.as_object().attributes)
        walk(x, sub(path, k), sub_key(key, 'a', k), depth + 1);
      return;
    }
    if (v.is_opaque()) opaque_children(v.as_opaque(), path, key, depth);
  }

  // An unresolved global (a class ptio does not rebuild): every value it was given, as `show`
  // prints them. State dicts (BUILD, as `__setstate__`/`__dict__.update` receive them) give
  // attribute names, like a resolved object's; the call arguments (REDUCE, NEWOBJ, NEWOBJ_EX)
  // `<arg N>` and `<kwarg NAME>`; any other state `<state>`; appended items their index; set
  // items their key; an unhandled persistent id `<persistent_id>`.
  void opaque_children(const ivalue::Opaque& o, const std::string& path, const std::string& key,
                       int depth) {
    auto marked = [&](const IValue& x, const std::string& name) {
      walk(x, sub(path, name), sub_key(key, 'o', name), depth + 1);
    };
    auto args = [&](const IValue& a) {
      if (!a.is_tuple()) return marked(a, "<args>");
      const auto& el = a.as_tuple().elements();
      for (std::size_t i = 0; i < el.size(); ++i) marked(el[i], "<arg " + std::to_string(i) + ">");
    };
    auto state_dict = [&](const ivalue::Dict& st) {
      for (const auto& [k, x] : st.items()) {
        const std::string ks = key_str(k);
        walk(x, sub(path, ks), sub_key(key, 'a', ks), depth + 1);
      }
    };
    if (o.kind == ivalue::Opaque::Kind::kPersistentId) marked(o.persistent_id, "<persistent_id>");
    std::size_t items = 0;
    for (const auto& a : o.applied) {
      switch (a.op) {
        case ivalue::Op::kReduce:
        case ivalue::Op::kNewObj:
          args(a.arg);
          break;
        case ivalue::Op::kNewObjEx:
          if (a.arg.is_tuple() && a.arg.as_tuple().elements().size() == 2 &&
              a.arg.as_tuple().elements()[1].is_dict()) {
            args(a.arg.as_tuple().elements()[0]);
            for (const auto& [k, x] : a.arg.as_tuple().elements()[1].as_dict().items())
              marked(x, "<kwarg " + key_str(k) + ">");
          } else {
            args(a.arg);
          }
          break;
        case ivalue::Op::kBuild: {
          const auto* el = a.arg.is_tuple() ? &a.arg.as_tuple().elements() : nullptr;
          if (a.arg.is_dict()) {
            state_dict(a.arg.as_dict());
          } else if (el && el->size() == 2 && ((*el)[0].is_dict() || (*el)[0].is_none()) &&
                     ((*el)[1].is_dict() || (*el)[1].is_none())) {
            // (dict, slots): both set attributes
            for (const auto& part : *el)
              if (part.is_dict()) state_dict(part.as_dict());
          } else {
            marked(a.arg, "<state>");
          }
          break;
        }
        case ivalue::Op::kAppend:
        case ivalue::Op::kAddItem: {
          const std::string is = std::to_string(items++);
          walk(a.arg, sub(path, is), sub_key(key, 'i', is), depth + 1);
          break;
        }
        case ivalue::Op::kSetItem:
          if (a.arg.is_tuple() && a.arg.as_tuple().elements().size() == 2) {
            const IValue& k = a.arg.as_tuple().elements()[0];
            const std::string ks = key_str(k);
            walk(a.arg.as_tuple().elements()[1], sub(path, ks), sub_key(key, dict_key_kind(k), ks),
                 depth + 1);
          }
          break;
      }
    }
  }
};

}  // namespace

bool is_module_object(const IValue& v) {
  const ivalue::Dict* st = object_state(v);
  return st && st->find(std::string_view("_parameters")) && st->find(std::string_view("_modules"));
}

StateDict module_state_dict(const IValue& module) {
  return module_state_dict(module, {});
}

StateDict module_state_dict(const IValue& module, const ListingLimits& limits) {
  StateDict sd;
  ModuleWalk w(limits);
  flatten_module(module, "", sd, 0, w);
  return sd;
}

StateDict::StateDict(const IValue& object) {
  if (is_module_object(object)) {
    *this = module_state_dict(object);
    return;
  }
  PTIO_CHECK(object.is_dict(), ErrorCode::kWrongKind,
             "a state_dict must be a dict or an nn.Module, got ", object.kind_name());
  const auto& d = object.as_dict();
  for (const auto& [k, v] : d.items())
    if (v.is_tensor()) insert(key_str(k), v.as_tensor());
  if (d.build_state.is_dict())
    if (const IValue* md = d.build_state.as_dict().find(std::string_view("_metadata")))
      metadata_ = *md;
}

bool StateDict::contains(std::string_view name) const {
  return index_.count(std::string(name)) != 0;
}

const Tensor& StateDict::at(std::string_view name) const& {
  const auto it = index_.find(std::string(name));
  PTIO_CHECK(it != index_.end(), ErrorCode::kMissingRecord, "state_dict has no entry '", name, "'");
  return entries_[it->second].second;
}

void StateDict::insert(std::string name, Tensor tensor) {
  const auto it = index_.find(name);
  if (it != index_.end()) {
    entries_[it->second].second = std::move(tensor);
    return;
  }
  index_.emplace(name, entries_.size());
  entries_.emplace_back(std::move(name), std::move(tensor));
}

IValue StateDict::to_ivalue() const {
  IValue d = IValue::dict();
  auto& dict = d.as_dict();
  dict.ordered_dict = true;
  for (const auto& [k, t] : entries_) dict.insert_or_assign(IValue(k), IValue(t));
  if (!metadata_.is_none()) {
    IValue st = IValue::dict();
    st.as_dict().insert_or_assign(IValue("_metadata"), metadata_);
    dict.build_state = st;
  }
  return d;
}

std::vector<NamedTensor> named_tensors(const IValue& root) {
  return named_tensors(root, {});
}

std::vector<NamedTensor> named_tensors(const IValue& root, const ListingLimits& limits) {
  Walker w(limits);
  w.walk(root, "", "", 0);
  return std::move(w.out);
}

}  // namespace ptio
