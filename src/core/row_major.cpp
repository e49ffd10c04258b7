// for_each_row_major_piece: a tensor's row-major bytes in bounded pieces (safetensors and npz
// output, the CLI's element readers).
#include "ptio/core/row_major.h"

#include "ptio/error.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace ptio {

void copy_row_major(const Tensor& t, std::int64_t first, std::int64_t count, std::byte* out) {
  PTIO_CHECK(t.defined() && !t.is_meta() && !t.is_sparse(), ErrorCode::kIoInvalidArgument,
             "copy_row_major: an undefined, meta or sparse tensor has no elements to copy");
  const auto es = static_cast<std::int64_t>(t.element_size());
  const std::int64_t n = t.numel();
  PTIO_CHECK(es > 0 && t.nbytes() == static_cast<std::size_t>(n * es),
             ErrorCode::kIoInvalidArgument, "copy_row_major: ", scalar_type_name(t.dtype()),
             " packs elements smaller than a byte");
  PTIO_CHECK(first >= 0 && count >= 0 && first <= n && count <= n - first,
             ErrorCode::kIoInvalidArgument, "copy_row_major: elements [", first, ", ",
             first + count, ") are not within the tensor's ", n);
  if (count == 0) return;
  const std::byte* base = t.data_ptr();
  const auto& sizes = t.sizes();
  const auto& strides = t.strides();
  const std::size_t nd = sizes.size();
  if (nd == 0) {  // a 0-d tensor: its one element
    std::memcpy(out, base, static_cast<std::size_t>(es));
    return;
  }
  // The multi-index of `first` and its element offset.
  std::vector<std::int64_t> idx(nd, 0);
  std::int64_t rest = first, off = 0;
  for (std::size_t d = nd; d-- > 0;) {
    idx[d] = rest % sizes[d];
    rest /= sizes[d];
    off += idx[d] * strides[d];
  }
  // Row by row: the innermost dimension is copied as one run when its stride is 1, element by
  // element otherwise.
  const std::int64_t inner = sizes[nd - 1], inner_stride = strides[nd - 1];
  for (std::int64_t k = 0; k < count;) {
    const std::int64_t run = std::min(count - k, inner - idx[nd - 1]);
    std::byte* dst = out + k * es;
    const std::byte* src = base + off * es;
    if (inner_stride == 1) {
      std::memcpy(dst, src, static_cast<std::size_t>(run * es));
    } else {
      for (std::int64_t j = 0; j < run; ++j)
        std::memcpy(dst + j * es, src + j * inner_stride * es, static_cast<std::size_t>(es));
    }
    k += run;
    idx[nd - 1] += run;
    off += run * inner_stride;
    if (idx[nd - 1] < inner) continue;
    off -= inner * inner_stride;  // next row
    idx[nd - 1] = 0;
    for (std::size_t d = nd - 1; d-- > 0;) {
      if (++idx[d] < sizes[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (sizes[d] - 1);
      idx[d] = 0;
    }
  }
}

void for_each_row_major_piece(
    const Tensor& t, std::size_t chunk_bytes,
    const std::function<void(std::span<const std::byte> bytes, std::int64_t first)>& fn) {
  if (!t.defined() || t.is_meta() || t.is_sparse()) return;
  const std::int64_t n = t.numel();
  const std::size_t es = t.element_size();
  if (n == 0 || t.nbytes() == 0) return;
  const std::size_t per = std::max<std::size_t>(1, chunk_bytes / (es ? es : 1));
  const bool packed = es == 0 || t.nbytes() != static_cast<std::size_t>(n) * es;
  if (t.is_contiguous() || packed) {
    // Straight from the storage; a mapped storage's pages are released behind the reader.
    const std::byte* base = t.data_ptr();
    const Storage& st = t.storage();
    const std::size_t total = t.nbytes(), step = packed ? chunk_bytes : per * es;
    for (std::size_t done = 0; done < total;) {
      const std::size_t k = std::min(step, total - done);
      fn(std::span<const std::byte>(base + done, k),
         packed ? 0 : static_cast<std::int64_t>(done / es));
      st.release_pages(static_cast<std::size_t>(base + done - st.data()), k);
      done += k;
    }
    return;
  }
  // A strided view, gathered piece by piece into one buffer.
  std::vector<std::byte> buf(
      static_cast<std::size_t>(std::min<std::int64_t>(n, static_cast<std::int64_t>(per))) * es);
  for (std::int64_t done = 0; done < n;) {
    const std::int64_t k = std::min<std::int64_t>(static_cast<std::int64_t>(per), n - done);
    copy_row_major(t, done, k, buf.data());
    fn(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(k) * es), done);
    done += k;
  }
}

}  // namespace ptio
