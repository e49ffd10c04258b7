// torch.save's containers: zip records in PyTorch's order, and the legacy stream (spec 2.2, 6, 12).
#include "serialization/save_container.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "ptio/error.h"
#include "ptio/zip/archive_writer.h"
#include "ptio/zip/crc32.h"

namespace ptio::detail {

namespace {

std::span<const std::byte> text(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

bool numeric_less(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

// Orders storage records (or pointers to them) by key as `layout` writes them: PyTorch 2.x by
// number; PyTorch <= 2.6's torch-1.13 layout as strings (data/0, data/1, data/10, data/2, ...).
// Keys are usually "0", "1", ... in order already (a one-pass save numbers them so).
template <typename T>
void sort_by_key(std::vector<T>& v, RecordLayout layout) {
  auto key = [](const T& x) -> const std::string& {
    if constexpr (std::is_pointer_v<T>) return x->key;
    else return x.key;
  };
  if (layout == RecordLayout::kTorch2) {
    auto less = [&](const T& a, const T& b) { return numeric_less(key(a), key(b)); };
    if (!std::is_sorted(v.begin(), v.end(), less)) std::stable_sort(v.begin(), v.end(), less);
  } else {
    std::stable_sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
  }
}

std::uint64_t fnv1a(std::uint64_t h, std::span<const std::byte> b) {
  for (std::byte x : b) {
    h ^= static_cast<std::uint8_t>(x);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// `.data/serialization_id`: 40 decimal digits. PyTorch's value hashes record names and CRCs
// with std::hash and is not portable (spec 2.7); readers only log it. ptio's is a deterministic
// FNV-1a over the names, data.pkl's CRC-32 and size, and the record sizes (not the storage bytes:
// hashing gigabytes would make saving several times slower than writing; data.pkl through its
// CRC-32, as byte-at-a-time FNV-1a over a 20,000-tensor data.pkl took 5% of the save), so
// identical objects give identical files.
std::string serialization_id(const std::vector<std::string>& names, std::uint32_t data_pkl_crc32,
                             std::size_t data_pkl_size,
                             const std::vector<StorageRecord>& storages) {
  std::uint64_t hn = 0xcbf29ce484222325ULL, hd = 0xcbf29ce484222325ULL;
  for (const auto& n : names) hn = fnv1a(hn, text(n));
  const std::uint64_t pkl[2] = {data_pkl_crc32, data_pkl_size};
  hd = fnv1a(hd, std::as_bytes(std::span(pkl)));
  for (const auto& s : storages) {
    const std::uint64_t n = s.storage.nbytes();
    hd = fnv1a(hd, std::span<const std::byte>(reinterpret_cast<const std::byte*>(&n), sizeof n));
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%020llu%020llu", static_cast<unsigned long long>(hn),
                static_cast<unsigned long long>(hd));
  return buf;
}

}  // namespace

std::vector<PendingCrc32> storages_to_checksum(const std::vector<StorageRecord>& storages) {
  std::vector<PendingCrc32> out;
  for (const auto& s : storages)
    if (needs_crc32(s.storage))
      out.push_back({s.key, s.storage.bytes()});
  return out;
}

void prefetch_storage_crc32(zip::ArchiveWriter& zw, std::vector<PendingCrc32> pending,
                            RecordLayout layout) {
  sort_by_key(pending, layout);
  std::vector<std::span<const std::byte>> ranges;
  ranges.reserve(pending.size());
  for (const auto& p : pending) ranges.push_back(p.bytes);
  zw.prefetch_crc32(std::move(ranges));
}

std::uint64_t archive_size_bound(std::size_t data_pkl_size,
                                 const std::vector<StorageRecord>& storages) {
  // Per record: local header (30) + zip64 extra (20) + FB padding (< 64 + 4) + central header (46)
  // + zip64 extra (28) + the name twice (archive name and key: under 160 bytes for ptio's own
  // names) rounded up; plus the fixed records and the end records.
  constexpr std::uint64_t kPerRecord = 512;
  std::uint64_t total = data_pkl_size + 8 * kPerRecord;
  for (const auto& s : storages) total += s.storage.nbytes() + kPerRecord;
  return total;
}

void write_zip_archive(zip::ArchiveWriter& zw, std::span<const std::byte> data_pkl,
                       const std::vector<StorageRecord>& storages, RecordLayout layout) {
  // `data_pkl` outlives finalize(): written pinned, its CRC-32 computed once for the record and
  // the serialization id.
  const std::uint32_t pkl_crc = zip::crc32(0, data_pkl.data(), data_pkl.size());
  zw.write_pinned_record("data.pkl", data_pkl, pkl_crc);
  if (layout == RecordLayout::kTorch2) {
    zw.write_record(".format_version", text("1"));
    zw.write_record(".storage_alignment", text("64"));
    zw.write_record("byteorder", text("little"));
  }
  std::vector<const StorageRecord*> order;
  order.reserve(storages.size());
  for (const auto& s : storages) order.push_back(&s);
  sort_by_key(order, layout);
  // The storages stay alive and unchanged until finalize(): written pinned (no copy through the
  // writer's buffer), with the CRC-32 their source record declared when they are an unchanged
  // mapping of one, and the others from the caller's prefetch_storage_crc32() thread.
  std::string name = "data/";
  for (const StorageRecord* s : order) {
    name.resize(5);
    name += s->key;
    zw.write_pinned_record(name, s->storage.bytes(), s->storage.source_crc32());
  }
  zw.write_record("version", text("3\n"));
  if (layout == RecordLayout::kTorch2) {
    const std::string id = serialization_id(zw.record_names(), pkl_crc, data_pkl.size(), storages);
    zw.write_record(".data/serialization_id", text(id));
  }
  zw.finalize();
}

void write_legacy_stream(io::Writer& out, std::span<const std::byte> object_pkl,
                         const std::vector<StorageRecord>& records) {
  static_assert(std::endian::native == std::endian::little, "ptio assumes a little-endian host");
  // Pickles 1-3 exactly as CPython's pickler emits them for torch's constants (spec 6.2).
  static constexpr unsigned char kMagic[] = {0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46,
                                             0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E};
  static constexpr unsigned char kProtocol[] = {0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E};
  static constexpr char kSysInfo[] =
      "\x80\x02}q\x00(X\x10\x00\x00\x00protocol_versionq\x01M\xe9\x03X\r\x00\x00\x00little_endianq"
      "\x02\x88X\n\x00\x00\x00type_sizesq\x03}q\x04(X\x05\x00\x00\x00shortq\x05K\x02X\x03\x00\x00"
      "\x00intq\x06K\x04X\x04\x00\x00\x00longq\x07K\x04uu.";
  out.write(kMagic, sizeof kMagic);
  out.write(kProtocol, sizeof kProtocol);
  out.write(kSysInfo, sizeof kSysInfo - 1);
  out.write(object_pkl);
  std::vector<const StorageRecord*> storages;
  for (const auto& r : records) storages.push_back(&r);
  std::stable_sort(storages.begin(), storages.end(),
                   [](const StorageRecord* a, const StorageRecord* b) { return a->key < b->key; });
  // The key list: EMPTY_LIST, BINPUT 0, then one APPEND or batches of up to 1000 in MARK..APPENDS.
  std::vector<std::byte> p;
  auto put = [&](std::initializer_list<unsigned char> b) {
    for (unsigned char c : b) p.push_back(std::byte{c});
  };
  auto put_u32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p.push_back(std::byte(static_cast<unsigned char>(v >> (8 * i))));
  };
  put({0x80, 0x02, 0x5D, 0x71, 0x00});
  std::uint32_t memo = 1;
  for (std::size_t i = 0; i < storages.size(); i += 1000) {
    const std::size_t n = std::min<std::size_t>(1000, storages.size() - i);
    if (n > 1) put({0x28});
    for (std::size_t j = i; j < i + n; ++j) {
      const std::string& k = storages[j]->key;
      put({0x58});
      put_u32(static_cast<std::uint32_t>(k.size()));
      for (char c : k) p.push_back(static_cast<std::byte>(c));
      if (memo < 256) {
        put({0x71, static_cast<unsigned char>(memo)});
      } else {
        put({0x72});
        put_u32(memo);
      }
      ++memo;
    }
    put({static_cast<unsigned char>(n > 1 ? 0x65 : 0x61)});
  }
  put({0x2E});
  out.write(p);
  for (const StorageRecord* r : storages) {
    const StorageRecord& s = *r;
    const std::size_t es = element_size(s.dtype);
    PTIO_CHECK(es > 0 && s.storage.nbytes() % es == 0, ErrorCode::kBadStorage, "storage ", s.key,
               " has ", s.storage.nbytes(), " bytes, not a multiple of the ",
               scalar_type_name(s.dtype), " element size");
    const std::int64_t numel = static_cast<std::int64_t>(s.storage.nbytes() / es);
    out.write(&numel, sizeof numel);
    out.write_stable(s.storage.bytes());  // `records` outlives the caller's commit()
  }
}

}  // namespace ptio::detail
