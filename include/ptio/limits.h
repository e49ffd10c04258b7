// ptio::Limits: every bound ptio enforces on untrusted input, in one struct with one default each.
#pragma once

#include "ptio/core/view_limits.h"
#include "ptio/io/limits.h"
#include "ptio/jit/frontend/limits.h"
#include "ptio/pickle/limits.h"
#include "ptio/serialization/listing_limits.h"
#include "ptio/zip/limits.h"

namespace ptio {

/// All resource bounds, one part per layer; each layer takes its part (`LoadOptions::limits.pickle`
/// feeds the Unpickler, `.zip` the ArchiveReader, `.jit` the TorchScript lexer and parser;
/// `jit::load(..., limits)` takes the whole struct and gives each reader its part), so a
/// bound has exactly one field and one default. The defaults read every real file of the shared
/// corpus (checkpoints up to GBs, TorchScript archives, mobile archives) and stop amplification:
/// nothing a file declares is allocated before it is checked against the bytes that remain.
///
/// | bound | field | error code |
/// |---|---|---|
/// | pickle nesting (open MARKs) | `pickle.max_depth` (1000) | kPickleDepthLimit |
/// | pickle VM stack | `pickle.max_stack` (2^26) | kPickleContainerLimit |
/// | memo entries / largest memo index | `pickle.max_memo_entries` (2^26) | kPickleMemoLimit |
/// | items in one container, bytes in one string | `pickle.max_container_length` (2^28) |
/// kPickleContainerLimit | | total pickle allocation | `pickle.alloc_base_bytes` (64 MiB) +
/// `pickle.alloc_bytes_per_input_byte` (64) x input bytes, where a deflated record counts at
/// most `pickle.alloc_inflate_ratio` (16) x its compressed bytes | kPickleAllocationLimit | |
/// decimal digits of a text integer | `pickle.max_decimal_digits` (4300) | kLimitExceeded | | zip
/// entries | `zip.max_entries` (2^20) | kZipTooManyEntries | | zip entry name length |
/// `zip.max_name_length` (4096 bytes) | kLimitExceeded | | one inflated zip record |
/// `zip.max_inflated_size` (16 GiB) and, above 64 MiB, `zip.max_inflate_ratio` (100) x its
/// compressed size | kLimitExceeded | | all inflated zip records of one archive |
/// `zip.max_inflated_total` (0: `max_inflate_ratio` x their compressed bytes, at least 1 GiB) |
/// kLimitExceeded | | TorchScript
/// source size | `jit.max_source_bytes` (16 MiB) | kLimitExceeded | | TorchScript nesting depth |
/// `jit.max_depth` (256) | kLimitExceeded | | parsed trees of all code/ files |
/// `jit.alloc_base_bytes` (64 MiB) + `jit.alloc_bytes_per_source_byte` (64) x source bytes, a
/// deflated record counting at most `jit.alloc_inflate_ratio` (16) x its compressed bytes |
/// kLimitExceeded | | bytes materialised from expanded (stride-0 /
/// overlapping) views beyond their storages, per operation | `view.max_expanded_bytes` (1 GiB;
/// core/view_limits.h, charged through a ViewBudget) | kLimitExceeded | | bytes of a stream read
/// whole into memory (a non-seekable stream given to ptio::load, any stream given to jit::load) |
/// `io.max_stream_bytes` (4 GiB; io/limits.h) | kLimitExceeded | | names made by one listing
/// (named_tensors, module_state_dict) | `listing.max_listing_bytes` (256 MiB) | kLimitExceeded |
/// | values listed again through several paths | `listing.max_shared_visits` (250,000) and
/// `listing.max_shared_name_bytes` (64 MiB; serialization/listing_limits.h) | kLimitExceeded |
///
/// The pickle layer has its own codes (a pickle error names the opcode and its offset); every
/// other configured bound throws kLimitExceeded, except the zip entry count, which keeps its
/// historical kZipTooManyEntries (also thrown when the count cannot fit in the file).
struct Limits {
  /// Streams read whole into memory (io/limits.h).
  io::Limits io;
  pickle::Limits pickle;
  zip::Limits zip;
  jit::frontend::SourceLimits jit;
  /// Materialising views: Tensor::contiguous_bytes of expanded views, safetensors/npz output,
  /// element reads of the CLI (see ViewLimits).
  ViewLimits view;
  /// Listing the tensors of a loaded object: named_tensors(), module_state_dict()
  /// (serialization/listing_limits.h).
  ListingLimits listing;
};

}  // namespace ptio
