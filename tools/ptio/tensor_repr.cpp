// repr(tensor) as torch/_tensor_str.py (PyTorch 1.13) builds it: _Formatter, _tensor_str,
// _vector_str, get_summarized_data, _add_suffixes.
#include "tensor_repr.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <ostream>
#include <span>
#include <vector>

#include "elements.h"
#include "ptio/core/ivalue.h"
#include "ptio/error.h"

namespace ptio::cli {
namespace {

std::string fmt(const char* spec, int prec, double v) {
  char buf[512];
  std::snprintf(buf, sizeof buf, spec, prec, v);
  return buf;
}

// Python's '{:.Nf}' / '{:.Ne}' / '{:.0f}' (glibc's printf rounds the exact binary value as
// Python's dtoa does; nan/inf print as "nan"/"inf" in both).
std::string fixed(double v, int prec) {
  return fmt("%.*f", prec, v);
}
std::string sci(double v, int prec) {
  return fmt("%.*e", prec, v);
}

// One element source: the flattened, row-major values of a (dequantized) tensor.
struct Values {
  const Elements* e;
  bool floating;  // floating formatter (float dtypes, complex parts, dequantized)
  bool imag;      // read the imaginary part
  double get(std::int64_t i) const { return imag ? e->imag(i) : e->real(i); }
  std::string int_str(std::int64_t i) const {
    if (e->dtype() == ScalarType::Bool) return e->as_int(i) ? "True" : "False";
    if (e->kind() == ElementKind::kUnsigned) return std::to_string(e->as_uint(i));
    return std::to_string(e->as_int(i));
  }
};

// _Formatter: fed every element it looks at (add), then finish() fixes its mode and width. Only
// extremes are kept (memory O(1)): the length of '{:.Nf}' / '{:.Ne}' / str(int) of a value is
// monotone in its magnitude for each sign, and '{:.Ne}''s exponent is widest at the smallest or
// largest magnitude, so the widest string is that of a smallest or largest value of each sign.
class Formatter {
 public:
  Formatter(bool floating, int precision) : floating_(floating), prec_(precision) {}
  void add(const Values& v, std::int64_t i) {
    if (!floating_) {
      if (v.e->dtype() == ScalarType::Bool || v.e->kind() != ElementKind::kUnsigned) {
        const std::int64_t x = v.e->as_int(i);
        if (!any_ || x < imin_) imin_ = x, min_str_ = v.int_str(i);
        if (!any_ || x > imax_) imax_ = x, max_str_ = v.int_str(i);
      } else {
        const std::uint64_t x = v.e->as_uint(i);
        if (!any_ || x < umin_) umin_ = x, min_str_ = v.int_str(i);
        if (!any_ || x > umax_) umax_ = x, max_str_ = v.int_str(i);
      }
      any_ = true;
      return;
    }
    const double x = v.get(i);
    if (!std::isfinite(x) || x == 0) return;
    any_ = true;
    if (x != std::ceil(x)) int_mode_ = false;
    double* ext = x > 0 ? pos_ : neg_;  // [min |x|, max |x|]
    ext[0] = std::min(ext[0], std::fabs(x));
    ext[1] = std::max(ext[1], std::fabs(x));
  }
  void finish() {
    if (!floating_) {
      if (any_) width_ = std::max(min_str_.size(), max_str_.size());
      return;
    }
    if (!any_) return;
    const double mn = std::min(pos_[0], neg_[0]);
    const double mx = std::max(pos_[1], neg_[1]);
    std::vector<double> cand;
    for (double x : {pos_[0], pos_[1]})
      if (x != INFINITY && x != 0) cand.push_back(x);
    for (double x : {neg_[0], neg_[1]})
      if (x != INFINITY && x != 0) cand.push_back(-x);
    if (int_mode_) {
      if (mx / mn > 1000. || mx > 1.e8) {
        sci_mode_ = true;
        for (double x : cand) width_ = std::max(width_, sci(x, prec_).size());
      } else {
        for (double x : cand) width_ = std::max(width_, fixed(x, 0).size() + 1);
      }
    } else if (mx / mn > 1000. || mx > 1.e8 || mn < 1.e-4) {
      sci_mode_ = true;
      for (double x : cand) width_ = std::max(width_, sci(x, prec_).size());
    } else {
      for (double x : cand) width_ = std::max(width_, fixed(x, prec_).size());
    }
  }
  std::size_t width() const { return width_; }
  std::string format(const Values& v, std::int64_t i) const {
    return v.floating ? format_value(v.get(i)) : pad(v.int_str(i));
  }
  std::string format_value(double x) const {
    std::string r;
    if (sci_mode_) {
      r = sci(x, prec_);
    } else if (int_mode_) {
      r = fixed(x, 0);
      if (!std::isinf(x) && !std::isnan(x)) r += '.';
    } else {
      r = fixed(x, prec_);
    }
    return pad(r);
  }

 private:
  std::string pad(std::string r) const {
    return r.size() < width_ ? std::string(width_ - r.size(), ' ') + r : r;
  }
  bool floating_;
  int prec_;
  bool any_ = false;
  double pos_[2] = {INFINITY, 0}, neg_[2] = {INFINITY, 0};
  std::int64_t imin_ = 0, imax_ = 0;
  std::uint64_t umin_ = 0, umax_ = 0;
  std::string min_str_, max_str_;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  std::size_t width_ = 1;
};

// A summarised tensor's values are gathered first (gather_summarized): only the `edge` elements
// at each end of a dimension longer than 2 * edge, in a contiguous buffer of "kept" sizes.
// kept_index maps index `i` of a dimension of `n` elements to its index in that buffer.
std::int64_t kept_index(bool gathered, std::int64_t edge, std::int64_t n, std::int64_t i) {
  return gathered && n > 2 * edge && i >= edge ? i - (n - 2 * edge) : i;
}
std::vector<std::int64_t> kept_sizes(const std::vector<std::int64_t>& sizes, bool gathered,
                                     std::int64_t edge) {
  std::vector<std::int64_t> k = sizes;
  for (auto& n : k)
    if (gathered && n > 2 * edge) n = 2 * edge;
  return k;
}

// get_summarized_data: the flat indices (row-major over `strides`: the kept sizes when
// `gathered`, else all) the formatter looks at.
void summarized(const std::vector<std::int64_t>& sizes, const std::vector<std::int64_t>& strides,
                bool summarize, bool gathered, std::int64_t edge, std::size_t d, std::int64_t base,
                std::vector<std::int64_t>& out) {
  if (d == sizes.size()) {
    out.push_back(base);
    return;
  }
  const std::int64_t n = sizes[d];
  auto visit = [&](std::int64_t i) {
    summarized(sizes, strides, summarize, gathered, edge, d + 1,
               base + kept_index(gathered, edge, n, i) * strides[d], out);
  };
  if (summarize && n > 2 * edge) {
    for (std::int64_t i = 0; i < edge; ++i) visit(i);
    for (std::int64_t i = n - edge; i < n; ++i) visit(i);
  } else {
    for (std::int64_t i = 0; i < n; ++i) visit(i);
  }
}

// The elements of `t` a summarised print shows (numel > threshold), gathered into a contiguous
// tensor of kept_sizes(): at most (2 * edge)^dim elements however large `t` is, so an expanded
// (stride-0) view of 2**28 elements is never materialised. Keeps dtype and a per-tensor
// quantizer (a per-channel one dequantizes by position along its axis: not gathered).
Tensor gather_summarized(const Tensor& t, const PrintOptions& o) {
  const std::vector<std::int64_t>& sizes = t.sizes();
  const std::vector<std::int64_t>& strides = t.strides();
  const std::vector<std::int64_t> kept = kept_sizes(sizes, true, o.edgeitems);
  const std::size_t es = t.element_size(), nd = sizes.size();
  std::int64_t count = 1;
  for (auto k : kept) count *= k;
  std::vector<std::byte> buf(static_cast<std::size_t>(count) * es);
  const std::byte* base = t.data_ptr();
  std::vector<std::int64_t> idx(nd, 0);  // multi-index over `kept`
  for (std::int64_t j = 0; j < count; ++j) {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < nd; ++d) {
      const std::int64_t i = sizes[d] > 2 * o.edgeitems && idx[d] >= o.edgeitems
                                 ? idx[d] + (sizes[d] - 2 * o.edgeitems)
                                 : idx[d];
      off += i * strides[d];
    }
    std::memcpy(buf.data() + static_cast<std::size_t>(j) * es,
                base + off * static_cast<std::int64_t>(es), es);
    for (std::size_t d = nd; d-- > 0;) {
      if (++idx[d] < kept[d]) break;
      idx[d] = 0;
    }
  }
  Tensor g = Tensor::from_bytes(t.dtype(), kept, buf);
  if (t.quantizer()) g.set_quantizer(*t.quantizer());
  return g;
}

// One element as _tensor_str_with_formatter prints it (complex: real and imaginary formatters).
std::string element_str(const Formatter& f1, const Formatter* f2, const Values& v1,
                        const Values& v2, std::int64_t i) {
  if (!f2) return f1.format(v1, i);
  std::string re = f1.format(v1, i);
  std::string im = f2->format(v2, i) + "j";
  im.erase(0, im.find_first_not_of(' '));
  if (im[0] == '+' || im[0] == '-') return re + im;
  return re + "+" + im;
}

struct Printer {
  const std::vector<std::int64_t>& sizes;
  std::vector<std::int64_t> strides;  // row-major over the kept sizes, in elements
  const PrintOptions& o;
  bool summarize;
  bool gathered;  // the values are gather_summarized()'s
  const Formatter& f1;
  const Formatter* f2;  // imaginary part
  Values v1, v2;

  std::string value(std::int64_t i) const { return element_str(f1, f2, v1, v2, i); }
  // Offset of index i along dimension d in the kept values.
  std::int64_t at(std::size_t d, std::int64_t i) const {
    return kept_index(gathered, o.edgeitems, sizes[d], i) * strides[d];
  }

  std::string vector_str(std::int64_t base, std::size_t d, int indent) const {
    std::size_t element_length = f1.width() + 2;
    if (f2) element_length += f2->width() + 1;
    const auto per_line = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(std::floor(static_cast<double>(o.linewidth - indent) /
                                                static_cast<double>(element_length))));
    std::vector<std::string> data;
    const std::int64_t n = sizes[d];
    if (summarize && n > 2 * o.edgeitems) {
      for (std::int64_t i = 0; i < o.edgeitems; ++i) data.push_back(value(base + at(d, i)));
      data.push_back(" ...");
      for (std::int64_t i = n - o.edgeitems; i < n; ++i) data.push_back(value(base + at(d, i)));
    } else {
      for (std::int64_t i = 0; i < n; ++i) data.push_back(value(base + i * strides[d]));
    }
    std::string out = "[";
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (i)
        out += static_cast<std::int64_t>(i) % per_line == 0
                   ? ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' ')
                   : ", ";
      out += data[i];
    }
    return out + "]";
  }

  std::string str(std::int64_t base, std::size_t d, int indent) const {
    const std::size_t dim = sizes.size() - d;
    if (dim == 0) return value(base);
    if (dim == 1) return vector_str(base, d, indent);
    std::vector<std::string> slices;
    const std::int64_t n = sizes[d];
    auto sub = [&](std::int64_t i) { return str(base + at(d, i), d + 1, indent + 1); };
    if (summarize && n > 2 * o.edgeitems) {
      for (std::int64_t i = 0; i < o.edgeitems; ++i) slices.push_back(sub(i));
      slices.push_back("...");
      for (std::int64_t i = n - o.edgeitems; i < n; ++i) slices.push_back(sub(i));
    } else {
      for (std::int64_t i = 0; i < n; ++i) slices.push_back(sub(i));
    }
    const std::string sep =
        "," + std::string(dim - 1, '\n') + std::string(static_cast<std::size_t>(indent + 1), ' ');
    std::string out = "[";
    for (std::size_t i = 0; i < slices.size(); ++i) out += (i ? sep : "") + slices[i];
    return out + "]";
  }
};

// _tensor_str for a non-empty dense tensor of `sizes` whose values `e` holds: all of them, or,
// when `gathered`, only those gather_summarized() keeps (then `summarize` is true).
std::string tensor_str(const Elements& e, const std::vector<std::int64_t>& sizes, bool summarize,
                       bool gathered, bool floating, int indent, const PrintOptions& o) {
  const std::vector<std::int64_t> strides =
      contiguous_strides(kept_sizes(sizes, gathered, o.edgeitems));
  std::vector<std::int64_t> idx;
  summarized(sizes, strides, summarize, gathered, o.edgeitems, 0, 0, idx);
  const bool complex = e.kind() == ElementKind::kComplex;
  const Values v1{&e, floating || complex, false}, v2{&e, true, true};
  Formatter f1(v1.floating, o.precision), f2(true, o.precision);
  for (auto i : idx) {
    f1.add(v1, i);
    if (complex) f2.add(v2, i);
  }
  f1.finish();
  f2.finish();
  const Printer q{sizes, strides, o, summarize, gathered, f1, complex ? &f2 : nullptr, v1, v2};
  return q.str(0, 0, indent);
}

// tensor_str of `t`'s values, reading only those printed when it is summarised.
std::string values_str(const Tensor& t, bool floating, int indent, const PrintOptions& o) {
  const bool summarize = t.numel() > o.threshold;
  const bool per_channel = t.quantizer() && t.quantizer()->qscheme != QScheme::kPerTensorAffine &&
                           t.quantizer()->qscheme != QScheme::kPerTensorSymmetric;
  if (summarize && !per_channel && element_kind(t.dtype()) != ElementKind::kNone) {
    const Elements e(gather_summarized(t, o));
    return tensor_str(e, t.sizes(), true, true, floating, indent, o);
  }
  const Elements e(t);  // every value (a per-channel quantizer reads them by position)
  return tensor_str(e, t.sizes(), summarize, false, floating, indent, o);
}

std::string size_tuple(const std::vector<std::int64_t>& s) {
  std::string out = "(";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

// _add_suffixes' tail after a tensor string whose `last` is len(s) - s.rfind('\n') + 1.
std::string suffix_str(std::int64_t last, const std::vector<std::string>& suffixes, int indent,
                       const PrintOptions& o) {
  std::string out;
  for (const auto& s : suffixes) {
    const auto len = static_cast<std::int64_t>(s.size());
    if (last + len + 2 > o.linewidth) {
      out += ",\n" + std::string(static_cast<std::size_t>(indent), ' ') + s;
      last = indent + len;
    } else {
      out += ", " + s;
      last += len + 2;
    }
  }
  return out + ")";
}

std::string add_suffixes(const std::string& tensor_str, const std::vector<std::string>& suffixes,
                         int indent, const PrintOptions& o) {
  const auto nl = tensor_str.rfind('\n');
  // Python: len(s) - s.rfind('\n') + 1, with rfind -1 when absent.
  const std::int64_t last = static_cast<std::int64_t>(tensor_str.size()) -
                            (nl == std::string::npos ? -1 : static_cast<std::int64_t>(nl)) + 1;
  return tensor_str + suffix_str(last, suffixes, indent, o);
}

std::string qscheme_name(QScheme q) {
  switch (q) {
    case QScheme::kPerTensorAffine:
      return "torch.per_tensor_affine";
    case QScheme::kPerChannelAffine:
      return "torch.per_channel_affine";
    case QScheme::kPerTensorSymmetric:
      return "torch.per_tensor_symmetric";
    case QScheme::kPerChannelSymmetric:
      return "torch.per_channel_symmetric";
    case QScheme::kPerChannelAffineFloatQParams:
      return "torch.per_channel_affine_float_qparams";
  }
  return "?";
}

// _str_intern's prefix: "tensor(" for torch.Tensor and nn.Parameter, else the subclass's
// `__name__` (the last atom of python_type), as a subclass without its own __repr__ prints.
std::string repr_prefix(const Tensor& t) {
  return t.python_type().empty() ? std::string("tensor(") : t.python_type().name() + "(";
}

}  // namespace

namespace {

// _str_intern's suffixes of a dense or quantized tensor (`device=`, `size=`, `dtype=`, the
// quantizer's, `requires_grad=True`), in its order. Meta tensors and empty ones: see tensor_repr.
std::vector<std::string> value_suffixes(const Tensor& t, const PrintOptions& o) {
  std::vector<std::string> suffixes;
  const ScalarType dt = t.dtype();
  if (!t.device().is_cpu()) suffixes.push_back("device='" + t.device().str() + "'");
  const bool has_default_dtype = dt == ScalarType::Float || dt == ScalarType::ComplexFloat ||
                                 dt == ScalarType::Long || dt == ScalarType::Bool;
  const std::string dtype_suffix = "dtype=torch." + std::string(scalar_type_name(dt));
  if (t.is_quantized()) {
    suffixes.push_back("size=" + size_tuple(t.sizes()));
    if (!has_default_dtype) suffixes.push_back(dtype_suffix);
    PTIO_CHECK(t.quantizer().has_value(), ErrorCode::kBadStorage,
               "quantized tensor without a quantizer");
    const Quantizer& q = *t.quantizer();
    suffixes.push_back("quantization_scheme=" + qscheme_name(q.qscheme));
    if (q.qscheme == QScheme::kPerTensorAffine || q.qscheme == QScheme::kPerTensorSymmetric) {
      suffixes.push_back("scale=" + float_repr(q.scale));
      suffixes.push_back("zero_point=" + std::to_string(q.zero_point));
    } else {
      PTIO_CHECK(q.scales && q.zero_points, ErrorCode::kBadStorage,
                 "per-channel quantizer without scales");
      suffixes.push_back("scale=" + tensor_repr(*q.scales, o));
      suffixes.push_back("zero_point=" + tensor_repr(*q.zero_points, o));
      suffixes.push_back("axis=" + std::to_string(q.axis));
    }
  } else if (!has_default_dtype) {
    suffixes.push_back(dtype_suffix);
  }
  if (t.requires_grad()) suffixes.push_back("requires_grad=True");
  return suffixes;
}

}  // namespace

Tensor printed_view(const Tensor& t, const PrintOptions& o) {
  if (t.is_meta() || t.is_sparse() || t.numel() <= o.threshold) return t;
  const bool per_channel = t.quantizer() && t.quantizer()->qscheme != QScheme::kPerTensorAffine &&
                           t.quantizer()->qscheme != QScheme::kPerTensorSymmetric;
  if (per_channel || element_kind(t.dtype()) == ElementKind::kNone) return t;
  return Tensor::make(t.storage(), t.dtype(), kept_sizes(t.sizes(), true, o.edgeitems), t.strides(),
                      t.storage_offset());
}

std::string tensor_repr(const Tensor& t, const PrintOptions& o) {
  if (t.is_sparse())
    throw Error(ErrorCode::kBadDtype,
                "sparse tensors are not printed by `ptio cat` yet; `ptio show` lists their parts");
  const std::string prefix = repr_prefix(t);
  const int indent = static_cast<int>(prefix.size());
  const ScalarType dt = t.dtype();
  const std::string dtype_suffix = "dtype=torch." + std::string(scalar_type_name(dt));
  std::vector<std::string> suffixes;
  std::string body;
  if (t.is_meta() || (t.numel() == 0 && !t.is_quantized())) {
    if (!t.device().is_cpu()) suffixes.push_back("device='" + t.device().str() + "'");
    if (t.is_meta() || t.dim() != 1) suffixes.push_back("size=" + size_tuple(t.sizes()));
    if (dt != ScalarType::Float) suffixes.push_back(dtype_suffix);
    if (t.requires_grad()) suffixes.push_back("requires_grad=True");
    body = t.is_meta() ? "..." : "[]";
  } else {
    suffixes = value_suffixes(t, o);
    body =
        t.numel() == 0
            ? "[]"
            : values_str(t, t.is_quantized() || element_kind(dt) == ElementKind::kFloat, indent, o);
  }
  std::string out = add_suffixes(prefix + body, suffixes, indent, o);
  if (t.is_parameter()) out = "Parameter containing:\n" + out;
  return out;
}

}  // namespace ptio::cli

namespace ptio::cli {

void write_tensor_repr(std::ostream& os, const Tensor& t, const PrintOptions& o) {
  if (t.is_sparse() || t.is_meta() || t.numel() == 0 || t.numel() > o.threshold) {
    os << tensor_repr(t, o);
    return;
  }
  {  // unreadable dtypes fail here, before anything is printed
    std::vector<std::byte> one(std::max<std::size_t>(1, t.element_size()));
    (void)Elements(t, one, 0);
  }
  const ElementKind kind = element_kind(t.dtype());
  const bool complex = kind == ElementKind::kComplex;
  // Quantized values are printed dequantized, as floats.
  const bool floating = kind == ElementKind::kFloat || complex || t.is_quantized();
  const std::vector<std::string> suffixes = value_suffixes(t, o);
  // Pass 1: the formatters over every element.
  Formatter f1(floating, o.precision), f2(true, o.precision);
  for_each_chunk(t, kElementChunkBytes, [&](std::span<const std::byte> piece, std::int64_t first) {
    const Elements e(t, piece, first);
    const Values v1{&e, floating, false}, v2{&e, true, true};
    for (std::int64_t i = 0; i < e.numel(); ++i) {
      f1.add(v1, i);
      if (complex) f2.add(v2, i);
    }
  });
  f1.finish();
  f2.finish();
  // Pass 2: Printer::str's text written element by element in row-major order.
  if (t.is_parameter()) os << "Parameter containing:\n";
  std::string buf;
  std::size_t col = 0;  // characters on the current line
  auto out = [&](const std::string& s) {
    buf += s;
    const auto nl = s.rfind('\n');
    col = nl == std::string::npos ? col + s.size() : s.size() - nl - 1;
    if (buf.size() >= (std::size_t{1} << 20)) {
      os << buf;
      buf.clear();
    }
  };
  const std::string prefix = repr_prefix(t);
  const int indent = static_cast<int>(prefix.size());
  const std::vector<std::int64_t>& sizes = t.sizes();
  const std::size_t nd = sizes.size();
  std::size_t element_length = f1.width() + 2;
  if (complex) element_length += f2.width() + 1;
  const int vec_indent = indent + static_cast<int>(nd == 0 ? 0 : nd - 1);
  const auto per_line = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::floor(static_cast<double>(o.linewidth - vec_indent) /
                                              static_cast<double>(element_length))));
  out(prefix + std::string(nd, '['));
  std::vector<std::int64_t> idx(nd, 0);
  for_each_chunk(t, kElementChunkBytes, [&](std::span<const std::byte> piece, std::int64_t first) {
    const Elements e(t, piece, first);
    const Values v1{&e, floating, false}, v2{&e, true, true};
    for (std::int64_t i = 0; i < e.numel(); ++i) {
      out(element_str(f1, complex ? &f2 : nullptr, v1, v2, i));
      if (nd == 0) continue;
      const std::size_t closed = next_row_major_index(idx, sizes);
      if (closed == nd) {
        out(std::string(closed, ']'));
      } else if (closed == 0) {
        out(idx[nd - 1] % per_line == 0
                ? ",\n" + std::string(static_cast<std::size_t>(vec_indent + 1), ' ')
                : ", ");
      } else {  // slices of dimension nd - 1 - closed: _tensor_str's "," + "\n" * (dim - 1)
        const std::size_t level = nd - 1 - closed;
        out(std::string(closed, ']') + "," + std::string(closed, '\n') +
            std::string(static_cast<std::size_t>(indent) + level + 1, ' ') +
            std::string(closed, '['));
      }
    }
  });
  os << buf << suffix_str(static_cast<std::int64_t>(col) + 2, suffixes, indent, o);
}

}  // namespace ptio::cli
