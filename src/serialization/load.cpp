// ptio::load entry points: pick the adapter, detect the format, dispatch to the container reader.
#include "ptio/serialization/load.h"

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

// The rest of a non-seekable stream (a pipe, a socket), read to its end in growing chunks.
std::vector<std::byte> read_to_end(std::istream& in) {
  std::vector<std::byte> bytes;
  std::size_t chunk = std::size_t{64} << 10;
  while (true) {
    const std::size_t have = bytes.size();
    bytes.resize(have + chunk);
    in.read(reinterpret_cast<char*>(bytes.data() + have), static_cast<std::streamsize>(chunk));
    const auto got = static_cast<std::size_t>(in.gcount());
    bytes.resize(have + got);
    if (in.bad())
      throw Error(ErrorCode::kIoReadFailed,
                  "the stream failed (badbit) after " + std::to_string(bytes.size()) +
                      " bytes; nothing was loaded",
                  "<istream>", {}, bytes.size());
    if (got < chunk) break;  // end of stream (eofbit) or a stream that stopped delivering
    chunk = std::min<std::size_t>(chunk * 2, std::size_t{64} << 20);
  }
  PTIO_CHECK(!bytes.empty() || in.eof(), ErrorCode::kIoReadFailed,
             "the stream delivered no bytes and did not reach its end");
  return bytes;
}

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
  // f.read())) do. The buffer holds exactly the stream's bytes and is freed when the load
  // returns; storages are copied out of it (owned and writable, as from a seekable stream).
  detail::validate_map_location(options.map_location);  // before reading the whole stream
  const io::MemoryReadAdapter adapter(read_to_end(in), "<istream>");
  return dispatch(adapter, nullptr, options);
}

IValue load(std::span<const std::byte> bytes, const LoadOptions& options) {
  auto adapter = std::make_shared<io::MemoryReadAdapter>(bytes);
  if (options.mmap) return dispatch(*adapter, adapter, options);
  return dispatch(*adapter, nullptr, options);
}

}  // namespace ptio
