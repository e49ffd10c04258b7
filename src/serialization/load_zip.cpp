// torch.load's zip branch: version/byteorder checks, data.pkl, storages from data/<key> records.
#include <bit>
#include <optional>

#include "ptio/error.h"
#include "ptio/zip/archive_reader.h"
#include "serialization/loaders.h"
#include "serialization/torch_globals.h"
#include "serialization/unpickle.h"
#include "serialization/zip_storages.h"
#include "zip/stream_version.h"

namespace ptio::detail {

IValue load_zip(const std::shared_ptr<const io::ReadAdapter>& in, const LoadOptions& options,
                bool allow_view) {
  zip::ReaderOptions ro;
  static_cast<zip::Limits&>(ro) = options.limits.zip;
  ro.verify_crc = options.verify_crc;
  std::optional<zip::ArchiveReader> reader;
  try {
    reader.emplace(in, ro);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kZipNotAnArchive || e.code() == ErrorCode::kZipBadEocd)
      throw Error(ErrorCode::kZipTruncated,
                  "the file starts like a zip archive but its directory cannot be read (a "
                  "truncated or damaged download?): " +
                      e.message(),
                  in->name());
    throw;
  }
  const zip::ArchiveReader& ar = *reader;
  PTIO_CHECK(!ar.has_record("bytecode.pkl"), ErrorCode::kMobileArchive,
             "this is a mobile (lite interpreter, .ptl) module with bytecode.pkl, not a "
             "torch.save checkpoint; load it with ptio::jit::load");
  PTIO_CHECK(!ar.has_record("constants.pkl"), ErrorCode::kTorchScriptArchive,
             "this is a TorchScript archive (torch.jit.save, it has constants.pkl), not a "
             "torch.save checkpoint; load it with ptio::jit::load");
  (void)zip::detail::read_stream_version(ar, ErrorCode::kBadVersion);
  const bool swap = big_endian_archive(ar);
  PTIO_CHECK(ar.has_record("data.pkl"), ErrorCode::kMissingRecord,
             "the archive has no data.pkl record");
  const std::string file = in->name();
  const std::string prefix = ar.prefix() + "/";

  ZipStorageLoader storages(ar, "data/", options, allow_view, swap);
  storages.batch_reads = true;  // nothing reads storage bytes before finish() below
  const PersistentLoad persistent_load = [&](const IValue& pid) -> IValue {
    return storages.load(pid);
  };
  const auto resolver = make_torch_resolver(options);
  // With mmap (the caller accepts mapped memory) the pickle is read in place from the mapping
  // when the reader can view it (a stored record and no CRC to check): a copy costs a fresh
  // buffer's page faults plus the read. The copying load keeps reading it with pread, so a file
  // truncated under it gives an error rather than SIGBUS.
  const zip::RecordInfo& pkl_info = ar.record("data.pkl");
  io::ByteView pkl_view;
  std::vector<std::byte> pkl_copy;
  if (options.mmap && !options.verify_crc && ar.can_view(pkl_info))
    pkl_view = ar.view(pkl_info);
  else
    pkl_copy = ar.read(pkl_info);
  const std::span<const std::byte> pkl = pkl_copy.empty() ? pkl_view.span() : pkl_copy;
  // A deflated data.pkl (a re-zipped checkpoint) is budgeted by its compressed bytes.
  SparseValidation sparse(prefix + "data.pkl");
  IValue value = unpickle(pkl, pkl_info.data_offset, resolver, persistent_load, options, file,
                          prefix + "data.pkl", pkl_info.is_stored() ? 0 : pkl_info.compressed_size)
                     .value;
  CycleGuard drop{value};
  storages.finish();
  sparse.finish();  // torch._utils._validate_loaded_sparse_tensors(), once storages are read
  drop.keep = true;
  return value;
}

}  // namespace ptio::detail
