// ptio::load entry points: pick the adapter, detect the format, dispatch to the container reader.
#include "ptio/serialization/load.h"

#include <algorithm>
#include <cstring>
#include <istream>
#include <vector>

#include "ptio/error.h"
#include "ptio/io/magic.h"
#include "ptio/pickle/opcodes.h"
#include "ptio/serialization/format.h"
#include "serialization/loaders.h"
#include "serialization/torch_globals.h"

namespace ptio {

namespace {

bool starts_with_opcode(const io::ReadAdapter& in) {
  if (in.size() == 0) return false;
  std::uint8_t b = 0;
  in.read(0, &b, 1);
  return pickle::opcode_info(b) != nullptr;
}

IValue dispatch(const io::ReadAdapter& in, const std::shared_ptr<const io::ReadAdapter>& shared,
                const LoadOptions& options) {
  detail::validate_map_location(options.map_location);
  try {
    // A zip at byte 0 goes straight to the zip reader, which refuses TorchScript and mobile
    // archives itself (reading the central directory once, not twice).
    if (io::identify_magic(in) == io::FileMagic::kZip) {
      if (shared) return detail::load_zip(shared, options, true);
      // Borrowed adapter: storages must not point into it.
      std::shared_ptr<const io::ReadAdapter> borrowed(&in, [](const io::ReadAdapter*) {});
      return detail::load_zip(borrowed, options, false);
    }
    const FormatInfo info = detect_format(in);
    if (info.format == FileFormat::kText && starts_with_opcode(in)) {
      // torch.load reads every non-zip as a legacy stream, so a protocol-0 pickle (text) is
      // unpickled and its globals judged; only when it is no pickle at all is it "a text file".
      try {
        return detail::load_legacy(in, options);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kUnsafeGlobal || e.code() == ErrorCode::kLegacyFormat) throw;
      }
    }
    require_loadable(info, in.name());
    if (info.format == FileFormat::kTar) return detail::load_tar(in, options);
    return detail::load_legacy(in, options);
  } catch (Error& e) {
    e.add_context(in.name());
    throw;
  }
}

// Whether `in` can seek: tellg() and a seek to the end and back work. Leaves the stream at its
// position and in its state when it can; clears the failure a refused seek sets when it cannot.
bool seekable(std::istream& in) {
  const auto start = in.tellg();
  if (start < 0 || !in) return false;
  in.seekg(0, std::ios::end);
  const bool ok = static_cast<bool>(in) && in.tellg() >= start;
  in.clear(in.rdstate() & ~(std::ios::failbit | std::ios::eofbit));
  in.seekg(start);
  return ok && static_cast<bool>(in);
}

// The rest of a non-seekable stream (a pipe, a socket), read to its end into blocks of 64 KiB
// doubling up to 64 MiB: memory is the stream's size plus at most one block's slack, with no
// reallocation copies (one growing vector would hold up to three times the size while it moves).
struct StreamBlocks {
  std::vector<std::vector<std::byte>> blocks;
  std::uint64_t size = 0;

  explicit StreamBlocks(std::istream& in) {
    std::size_t chunk = std::size_t{64} << 10;
    while (true) {
      std::vector<std::byte>& b = blocks.emplace_back(chunk);
      in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(chunk));
      const auto got = static_cast<std::size_t>(in.gcount());
      b.resize(got);
      size += got;
      if (in.bad())
        throw Error(ErrorCode::kIoReadFailed,
                    "the stream failed (badbit) after " + std::to_string(size) +
                        " bytes; nothing was loaded",
                    "<istream>", {}, size);
      if (got < chunk) break;  // end of stream (eofbit) or a stream that stopped delivering
      chunk = std::min<std::size_t>(chunk * 2, std::size_t{64} << 20);
    }
    if (!blocks.empty() && blocks.back().empty()) blocks.pop_back();
  }

  // Copies [pos, pos + n) out of the blocks (a CallbackReadAdapter's read).
  std::size_t read(std::uint64_t pos, void* buf, std::size_t n) const {
    auto* out = static_cast<std::byte*>(buf);
    std::size_t done = 0;
    for (const auto& b : blocks) {
      if (done == n) break;
      if (pos >= b.size()) {
        pos -= b.size();
        continue;
      }
      const std::size_t k = std::min<std::size_t>(n - done, b.size() - pos);
      std::memcpy(out + done, b.data() + pos, k);
      done += k;
      pos = 0;
    }
    return done;
  }
};

}  // namespace

IValue load(const std::filesystem::path& path, const LoadOptions& options) {
  detail::validate_map_location(options.map_location);
  return load(std::shared_ptr<const io::ReadAdapter>(std::make_shared<io::MmapReadAdapter>(path)),
              options);
}

IValue load(std::shared_ptr<const io::ReadAdapter> in, const LoadOptions& options) {
  PTIO_CHECK(in != nullptr, ErrorCode::kIoInvalidArgument, "load: null ReadAdapter");
  return dispatch(*in, in, options);
}

IValue load(const io::ReadAdapter& in, const LoadOptions& options) {
  return dispatch(in, nullptr, options);
}

IValue load(std::istream& in, const LoadOptions& options) {
  if (seekable(in)) {
    io::IStreamReadAdapter adapter(in);
    return dispatch(adapter, nullptr, options);
  }
  // A pipe or socket: the format readers need random access (the zip directory is at the end), so
  // the stream is read into memory first, as jit::load(istream) and torch.load(io.BytesIO(
  // f.read())) do. The blocks hold the stream's bytes and are freed when the load returns;
  // storages are copied out of them (owned and writable, as from a seekable stream), so peak
  // memory is the stream's size plus the loaded storages.
  detail::validate_map_location(options.map_location);  // before reading the whole stream
  const StreamBlocks blocks(in);
  const io::CallbackReadAdapter adapter(
      blocks.size,
      [&blocks](std::uint64_t pos, void* buf, std::size_t n) { return blocks.read(pos, buf, n); },
      "<istream>");
  return dispatch(adapter, nullptr, options);
}

IValue load(std::span<const std::byte> bytes, const LoadOptions& options) {
  auto adapter = std::make_shared<io::MemoryReadAdapter>(bytes);
  if (options.mmap) return dispatch(*adapter, adapter, options);
  return dispatch(*adapter, nullptr, options);
}

}  // namespace ptio
