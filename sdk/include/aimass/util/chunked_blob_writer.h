// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that plugins compile in themselves;
// nothing of it crosses the plugin boundary beyond the BlobWriter interface it implements.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass {

/// A BlobWriter for stores that keep a blob as numbered chunks (the SQL stores' blob_chunks
/// rows): it cuts the stream into chunks of exactly `chunk_bytes` (the last one shorter, none
/// empty), hands each to storeChunk() in order, and on commit() stores the rest and calls
/// storeCommit(), which makes the chunks the key's value in one step. write() and commit()
/// after a successful commit() give kFailedPrecondition; a failed storeChunk() keeps the
/// chunk, so a retried write() or commit() stores it again under the same number.
/// The subclass's destructor discards the chunks of an upload never committed (committed()
/// says which). Threading: one thread at a time, as BlobWriter.
class ChunkedBlobWriter : public BlobWriter {
 public:
  Status write(std::string_view bytes) final {
    if (committed_) {
      return alreadyCommitted();
    }
    while (!bytes.empty()) {
      const std::size_t take = std::min(bytes.size(), chunk_bytes_ - buffer_.size());
      buffer_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (buffer_.size() == chunk_bytes_) {
        AIMASS_RETURN_IF_ERROR(flush());
      }
    }
    return Status();
  }

  Status commit() final {
    if (committed_) {
      return alreadyCommitted();
    }
    AIMASS_RETURN_IF_ERROR(flush());
    AIMASS_RETURN_IF_ERROR(storeCommit());
    committed_ = true;
    return Status();
  }

 protected:
  ChunkedBlobWriter(std::string key, std::size_t chunk_bytes)
      : key_(std::move(key)), chunk_bytes_(chunk_bytes) {}

  /// Stores chunk number `seq` (0, 1, ...) of the upload.
  virtual Status storeChunk(std::int64_t seq, std::string_view chunk) = 0;
  /// Points the key at the stored chunks, replacing its old value, atomically.
  virtual Status storeCommit() = 0;

  const std::string& key() const noexcept { return key_; }
  bool committed() const noexcept { return committed_; }

 private:
  Status flush() {
    if (buffer_.empty()) {
      return Status();
    }
    AIMASS_RETURN_IF_ERROR(storeChunk(next_seq_, buffer_));
    ++next_seq_;
    buffer_.clear();
    return Status();
  }
  Status alreadyCommitted() const {
    return failedPrecondition("blob '" + key_ + "' was already committed");
  }

  std::string key_;
  std::size_t chunk_bytes_;
  std::int64_t next_seq_ = 0;
  std::string buffer_;
  bool committed_ = false;
};

}  // namespace aimass
