// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that plugins compile in themselves;
// nothing of it crosses the plugin boundary. Out-of-tree optimizers may use it too.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/byte_io.h"
#include "aimass/status.h"

namespace aimass {

/// One kind of per-parameter float buffer an optimizer keeps (a momentum, a moment, a running
/// average): one vector per parameter, each as long as the parameter.
using OptimizerSlot = std::vector<std::vector<float>>;

/// The saved state that gradient optimizers built from a learning rate, a step count, a few
/// option flags and OptimizerSlots share (sgd, adam, rmsprop), and its byte layout,
/// little-endian (byte_io.h):
///
///     tag | f64 learning rate | u64 steps | u8 each header flag | u64 parameter count |
///     per parameter: u64 size | u8 each parameter flag | the floats of each slot present
///
/// The flags are the options that decide which slots exist (amsgrad; centered and momentum);
/// an optimizer keeps them in the header, or after each parameter's size
/// (`flags_per_parameter`, sgd's layout). The layout is what checkpoints hold: it never changes
/// for a tag; a new layout takes a new tag.
struct OptimizerStateFormat {
  std::string_view type;             ///< the optimizer's type name, for messages
  std::string_view tag;              ///< the first bytes, naming optimizer and layout ("ADAM1")
  bool flags_per_parameter = false;  ///< flags after each parameter's size, not in the header
  /// Words for a flag set in messages ("with amsgrad", "centered without momentum").
  std::string (*describe_flags)(std::span<const std::uint8_t> flags) = nullptr;
};

/// Appends the state to `out` (which the caller cleared). `slots` lists the optimizer's slots
/// in layout order; a null entry is a slot its flags switch off, and a present slot holds one
/// vector of sizes[i] floats per parameter. Never fails beyond std::bad_alloc.
inline void writeOptimizerState(std::string& out, const OptimizerStateFormat& format,
                                double learning_rate, std::uint64_t steps,
                                std::span<const std::uint8_t> flags,
                                std::span<const std::size_t> sizes,
                                std::initializer_list<const OptimizerSlot*> slots) {
  out.append(format.tag);
  ByteWriter writer(out);
  writer.f64(learning_rate);
  writer.u64(steps);
  auto writeFlags = [&] {
    for (std::uint8_t flag : flags) {
      writer.u8(flag);
    }
  };
  if (!format.flags_per_parameter) {
    writeFlags();
  }
  writer.u64(sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    writer.u64(sizes[i]);
    if (format.flags_per_parameter) {
      writeFlags();
    }
    for (const OptimizerSlot* slot : slots) {
      if (slot != nullptr) {
        writer.floats((*slot)[i]);
      }
    }
  }
}

/// What a state holds besides its slots.
struct OptimizerStateHead {
  double learning_rate = 0;
  std::uint64_t steps = 0;
};

/// Reads a state that writeOptimizerState() wrote with this `format`, for parameters of
/// `sizes` and the options behind `flags`, into `slots` (as for writing: null entries are the
/// slots the flags switch off; present ones already hold sizes[i] floats per parameter, and
/// are overwritten in place, so their buffers keep their addresses). Returns the learning rate
/// and step count for the caller to adopt. kInvalidArgument, naming `format.type`, when the
/// tag differs, the state is truncated or has extra bytes, was saved for other parameters
/// (count or sizes) or other flags, or holds a learning rate that is not positive and finite;
/// `slots` are unchanged then.
inline Expected<OptimizerStateHead> readOptimizerState(
    std::string_view state, const OptimizerStateFormat& format, std::span<const std::uint8_t> flags,
    std::span<const std::size_t> sizes, std::initializer_list<OptimizerSlot*> slots) {
  const std::string type(format.type);
  ByteReader in(state);
  if (in.bytes(format.tag.size()) != format.tag) {
    return invalidArgument(type + ": the state does not start with '" + std::string(format.tag) +
                           "'");
  }
  OptimizerStateHead head;
  head.learning_rate = in.f64();
  head.steps = in.u64();
  std::vector<std::uint8_t> saved_flags(flags.size());
  auto flagsDiffer = [&]() -> Status {
    for (std::uint8_t& flag : saved_flags) {
      flag = in.u8();
    }
    if (!in.ok() || std::equal(flags.begin(), flags.end(), saved_flags.begin())) {
      return Status();
    }
    return invalidArgument(type + ": the state was saved " + format.describe_flags(saved_flags) +
                           ", this optimizer runs " + format.describe_flags(flags));
  };
  if (!format.flags_per_parameter) {
    AIMASS_RETURN_IF_ERROR(flagsDiffer());
  }
  const std::uint64_t count = in.u64();
  if (!in.ok()) {
    return invalidArgument(type + ": the state is truncated");
  }
  if (count != sizes.size()) {
    return invalidArgument(type + ": the state is for " + std::to_string(count) +
                           " parameters, begin() had " + std::to_string(sizes.size()));
  }
  if (!(head.learning_rate > 0) || !std::isfinite(head.learning_rate)) {
    return invalidArgument(type + ": the state holds an invalid learning rate");
  }
  // Everything is read into new buffers first, so a bad state leaves `slots` as they were.
  std::vector<OptimizerSlot> loaded(slots.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const std::uint64_t size = in.u64();
    if (!in.ok() || size != sizes[i]) {
      return invalidArgument(type + ": parameter " + std::to_string(i) + " has " +
                             std::to_string(size) + " values in the state, " +
                             std::to_string(sizes[i]) + " since begin()");
    }
    if (format.flags_per_parameter) {
      AIMASS_RETURN_IF_ERROR(flagsDiffer());
    }
    std::size_t k = 0;
    for (const OptimizerSlot* slot : slots) {
      if (slot != nullptr) {
        if (in.remaining() / 4 < size) {
          return invalidArgument(type + ": the state is truncated");
        }
        loaded[k].emplace_back(sizes[i]);
        in.floats(loaded[k].back());
      }
      ++k;
    }
  }
  if (!in.ok() || !in.atEnd()) {
    return invalidArgument(type + ": the state is truncated or has extra bytes");
  }
  std::size_t k = 0;
  for (OptimizerSlot* slot : slots) {
    if (slot != nullptr) {
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        std::copy(loaded[k][i].begin(), loaded[k][i].end(), (*slot)[i].begin());
      }
    }
    ++k;
  }
  return head;
}

}  // namespace aimass
