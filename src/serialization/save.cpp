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
  if (!options.legacy_format) {
    // State dicts and plain containers of tensors: data.pkl straight from `obj`.
    if (auto d = detail::pickle_for_save_direct(obj)) {
      detail::write_zip_archive(out, archive_name, d->data_pkl, d->storages, options.layout);
      return;
    }
  }
  detail::SaveReduction r = detail::reduce_for_save(obj, options.legacy_format);
  const std::vector<std::byte> pkl = detail::pickle_for_save(r.tree);
  if (options.legacy_format) {
    detail::write_legacy_stream(out, pkl, r.storages);
    out.commit();
    return;
  }
  detail::write_zip_archive(out, archive_name, pkl, r.storages, options.layout);
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
