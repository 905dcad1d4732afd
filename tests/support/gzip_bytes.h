// SPDX-License-Identifier: Apache-2.0
// Reads a stretch of a gzipped file's uncompressed bytes (the IDX files of Fashion-MNIST that
// tests score models on). Header-only; link Poco::Foundation.
#pragma once

#include <Poco/InflatingStream.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>

namespace aimass::testing {

/// `bytes` uncompressed bytes of the gzip file at `path` after its first `skip` ones; empty when
/// the file is missing or holds fewer.
inline std::string gzipBytes(const std::filesystem::path& path, std::size_t skip,
                             std::size_t bytes) {
  std::ifstream file(path, std::ios::binary);
  Poco::InflatingInputStream in(file, Poco::InflatingStreamBuf::STREAM_GZIP);
  std::string data(skip + bytes, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  return in.gcount() == static_cast<std::streamsize>(data.size()) ? data.substr(skip)
                                                                  : std::string();
}

}  // namespace aimass::testing
