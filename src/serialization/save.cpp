// ptio::save: reduce the object, pickle data.pkl, write the zip or legacy container.
#include "ptio/serialization/save.h"

#include <ostream>

#include "ptio/error.h"
#include "ptio/zip/archive_writer.h"
#include "serialization/save_container.h"
#include "serialization/save_direct.h"
#include "serialization/save_reduce.h"

namespace ptio {

namespace detail {
std::vector<std::byte> pickle_for_save(const IValue& tree);
}  // namespace detail

namespace {

void save_impl(const IValue& obj, io::Writer& out, const SaveOptions& options,
               const std::string& archive_name) {
  if (options.legacy_format) {
    detail::SaveReduction r = detail::reduce_for_save(obj, true);
    const std::vector<std::byte> pkl = detail::pickle_for_save(r.tree);
    out.expect(detail::archive_size_bound(pkl.size(), r.storages));
    detail::write_legacy_stream(out, pkl, r.storages);
    out.commit();
    return;
  }
  // The CRC-32s of storages that carry none (a program's own tensors) start on a second thread
  // before data.pkl is pickled, and are taken as their records are written.
  zip::ArchiveWriter zw(out, archive_name);
  auto prefetch = [&](std::vector<detail::PendingCrc32> pending) {
    detail::prefetch_storage_crc32(zw, std::move(pending), options.layout);
  };
  // State dicts and plain containers of tensors: data.pkl straight from `obj`.
  if (auto d = detail::pickle_for_save_direct(obj, prefetch)) {
    out.expect(detail::archive_size_bound(d->data_pkl.size(), d->storages));
    detail::write_zip_archive(zw, d->data_pkl, d->storages, options.layout);
    return;
  }
  detail::SaveReduction r = detail::reduce_for_save(obj, false);
  prefetch(detail::storages_to_checksum(r.storages));
  const std::vector<std::byte> pkl = detail::pickle_for_save(r.tree);
  out.expect(detail::archive_size_bound(pkl.size(), r.storages));
  detail::write_zip_archive(zw, pkl, r.storages, options.layout);
}

}  // namespace

void save(const IValue& obj, const std::filesystem::path& path, const SaveOptions& options) {
  const std::string archive = zip::archive_name_for_path(path.string());
  io::FileWriter out(path);
  try {
    save_impl(obj, out, options, archive);
  } catch (Error& e) {
    e.add_context(path.string());
    throw;
  }
}

void save(const IValue& obj, io::Writer& out, const SaveOptions& options) {
  save_impl(obj, out, options, options.archive_name);
}

void save(const IValue& obj, std::ostream& out, const SaveOptions& options) {
  io::OStreamWriter w(out);
  save_impl(obj, w, options, options.archive_name);
}

}  // namespace ptio
