// Module::setattr: replacing the value of an attribute slot, checked against the class's declared
// attribute type the way `torch.jit.ScriptModule.__setattr__` converts a Python value with
// `toIValue(value, type)` (torch/csrc/jit/python/pybind_utils.h) before `Object::setattr`.
//
// Contract:
// - `name` must be an attribute slot of the module's class (ClassType::attributes()); class
//   constants (`Final`), methods and unknown names are refused, the message lists the slots.
// - The value must fit the slot's annotation:
//     Tensor                      a Tensor (any shape, dtype, layout); Optional[Tensor] also None
//     int / bool / str / complex  that kind exactly (an int is not a bool and vice versa)
//     float                       a float, or an int, stored as float (toIValue widens it too)
//     List[T] / Dict[K, V]        a list / dict whose every element fits T / (K, V): stored as a
//                                 new container (the caller's is not modified) tagged with the
//                                 declared annotation, as PyTorch's typed c10::List / c10::Dict
//                                 are, so jit::save writes the same type tags PyTorch writes
//     Tuple[T...]                 a tuple of that length, each element fitting
//     Optional[T]                 None or a value fitting T;  Union[A, ...]: fits one of them
//     Any                         anything
//     a TorchScript class         an Object of that class
//     an enum                     a member of that enum: an Enum of that class whose name is one
//                                 of the enum's members and whose value is that member's (an
//                                 Enum made up with another name or value is refused)
// - Submodule slots (module classes and module interfaces) are refused: swapping a submodule
//   changes the types code/ refers to, which is outside what an attribute edit can check.
// - Parameters and buffers take any Tensor (PyTorch's `register_parameter` check is only on the
//   Python side); the Tensor is stored as given (its requires_grad flag included) and shared
//   with the caller, as torch::jit::Module::setattr shares the IValue.
// Every refusal is Error(kJitBadEdit) naming the attribute, the declared type and the value's
// kind; the module is unchanged then. The check is detail::fit_value (type_fit.h) in
// FitMode::kSetattr; jit::save runs it in FitMode::kSave over every object it writes.
#include <algorithm>
#include <optional>
#include <string>

#include "ptio/error.h"
#include "ptio/jit/frontend/parser.h"
#include "ptio/jit/frontend/printer.h"
#include "ptio/jit/module.h"
#include "type_fit.h"

namespace ptio::jit {

void Module::setattr(std::string_view name, IValue value) {
  const auto index = type_->find_attribute(name);
  if (!index) {
    std::string slots;
    for (const auto& a : type_->attributes()) slots += (slots.empty() ? "" : ", ") + a.name;
    const bool constant = std::any_of(type_->constants().begin(), type_->constants().end(),
                                      [&](const ClassConstant& c) { return c.name == name; });
    throw Error(ErrorCode::kJitBadEdit,
                "setattr: module " + type_->name().qualified_name() + " has no attribute '" +
                    std::string(name) + "'" +
                    (constant ? " (it is a Final constant, compiled into the code)" : "") +
                    "; its attributes are: " + slots);
  }
  const ClassAttribute& a = type_->attributes()[*index];
  auto& obj = object_.as_object();
  PTIO_CHECK(!obj.has_state, ErrorCode::kJitBadEdit, "setattr: module ",
             type_->name().qualified_name(), " keeps its state through __setstate__");
  if (a.is_module)
    throw Error(ErrorCode::kJitBadEdit, "setattr: '" + a.name + "' is a submodule (" + a.type +
                                            "); replacing submodules is not supported");
  const auto type = frontend::parse_expression(a.type);
  std::string why;
  auto fitted = detail::fit_value(value, *type, *cu_, detail::FitMode::kSetattr, why);
  if (!fitted)
    throw Error(ErrorCode::kJitBadEdit,
                "setattr: attribute '" + a.name + "' of " + type_->name().qualified_name() +
                    " is declared " + a.type + "; the value (" + std::string(value.kind_name()) +
                    ") does not fit: " + why);
  if (*index < obj.attributes.size() && obj.attributes[*index].first == a.name)
    obj.attributes[*index].second = std::move(*fitted);
  else
    obj.set_attribute(a.name, std::move(*fitted));
}

}  // namespace ptio::jit
