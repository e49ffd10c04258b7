// for_each_row_major_piece: a tensor's row-major bytes in bounded pieces (safetensors and npz
// output, the CLI's element readers).
#include "ptio/core/row_major.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace ptio {

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
  // Gather a strided view row by row: the innermost dimension is copied as one run when its
  // stride is 1, element by element otherwise.
  const auto& sizes = t.sizes();
  const auto& strides = t.strides();
  const std::size_t nd = sizes.size();
  const std::int64_t inner = sizes[nd - 1], inner_stride = strides[nd - 1];
  const std::byte* base = t.data_ptr();
  std::vector<std::byte> buf(
      static_cast<std::size_t>(std::min<std::int64_t>(n, static_cast<std::int64_t>(per))) * es);
  std::vector<std::int64_t> idx(nd, 0);  // outer index (idx[nd-1] unused)
  std::int64_t row_off = 0, fill = 0, emitted = 0, col = 0;
  while (emitted + fill < n) {
    const std::int64_t space = static_cast<std::int64_t>(buf.size() / es) - fill;
    const std::int64_t run = std::min(inner - col, space);
    std::byte* dst = buf.data() + static_cast<std::size_t>(fill) * es;
    const std::byte* src = base + (row_off + col * inner_stride) * static_cast<std::int64_t>(es);
    if (inner_stride == 1) {
      std::memcpy(dst, src, static_cast<std::size_t>(run) * es);
    } else {
      for (std::int64_t k = 0; k < run; ++k)
        std::memcpy(dst + static_cast<std::size_t>(k) * es,
                    src + k * inner_stride * static_cast<std::int64_t>(es), es);
    }
    fill += run;
    col += run;
    if (col == inner) {  // next row
      col = 0;
      for (std::size_t d = nd - 1; d-- > 0;) {
        if (++idx[d] < sizes[d]) {
          row_off += strides[d];
          break;
        }
        row_off -= strides[d] * (sizes[d] - 1);
        idx[d] = 0;
      }
    }
    if (static_cast<std::size_t>(fill) * es == buf.size() || emitted + fill == n) {
      fn(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(fill) * es), emitted);
      emitted += fill;
      fill = 0;
    }
  }
}

}  // namespace ptio
