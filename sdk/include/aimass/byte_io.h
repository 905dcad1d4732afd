// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Little-endian binary encoding for model payloads and optimizer state: what save() and
/// saveState() write and load()/loadState() read. Independent of the host's byte order, so
/// payloads move between machines.

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace aimass {

/// Appends fields to a string. Never fails (beyond std::bad_alloc).
class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}

  void u8(std::uint8_t v) { out_ += static_cast<char>(v); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8); }
  void f32(float v) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put(bits, 4);
  }
  void f64(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, 8);
    put(bits, 8);
  }
  /// Raw bytes, no length (write the length first with u32 or u64).
  void bytes(std::string_view v) { out_.append(v); }
  void floats(std::span<const float> values) {
    for (float v : values) {
      f32(v);
    }
  }

 private:
  void put(std::uint64_t v, int size) {
    for (int i = 0; i < size; ++i) {
      out_ += static_cast<char>((v >> (8 * i)) & 0xff);
    }
  }
  std::string& out_;
};

/// Reads fields front to back. A read past the end returns zero/empty and clears ok() for
/// good, so a loader can read everything and check ok() once before committing.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  bool ok() const noexcept { return ok_; }
  bool atEnd() const noexcept { return pos_ == bytes_.size(); }
  std::size_t remaining() const noexcept { return bytes_.size() - pos_; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(get(8)); }
  float f32() {
    auto bits = static_cast<std::uint32_t>(get(4));
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  double f64() {
    std::uint64_t bits = get(8);
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  /// The next `n` raw bytes.
  std::string bytes(std::uint64_t n) {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return {};
    }
    std::string s(bytes_.substr(pos_, static_cast<std::size_t>(n)));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  /// Fills `out` with floats; false (and ok() false) when too few bytes remain.
  bool floats(std::span<float> out) {
    if (!ok_ || remaining() / 4 < out.size()) {
      ok_ = false;
      return false;
    }
    for (float& v : out) {
      v = f32();
    }
    return true;
  }

 private:
  std::uint64_t get(int size) {
    if (!ok_ || remaining() < static_cast<std::size_t>(size)) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < size; ++i) {
      v |= std::uint64_t(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += static_cast<std::size_t>(size);
    return v;
  }
  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace aimass
