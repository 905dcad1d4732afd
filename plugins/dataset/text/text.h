// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "aimass/dataset.h"

namespace aimass::plugins::dataset {

/// What one token of text is.
enum class TextVocabulary {
  kBytes,  ///< 256 ids, one per byte value; id_names[0][b] is the one-byte string
  kChars,  ///< the Unicode code points the text uses, sorted by code point (UTF-8 required)
};

/// Which rows of a language-modelling text a dataset serves.
enum class TextPart {
  kTrain,       ///< the head of every stream
  kValidation,  ///< the tail `validation_fraction` of every stream
  kAll,         ///< every stream whole
};

/// How to read text. Mirrors the dataset.text parameters.
struct TextOptions {
  /// A file, or a folder whose regular files (not symbolic links, not subfolders) are read in
  /// order of their names and concatenated.
  std::filesystem::path path;
  /// false: language modelling over the whole text; true: a CSV file of (text, label) rows.
  bool csv = false;
  TextVocabulary vocabulary = TextVocabulary::kBytes;
  // Language modelling.
  std::int64_t sequence_length = 64;
  std::int64_t streams = 32;
  double validation_fraction = 0;
  TextPart part = TextPart::kAll;
  // Classification (csv).
  std::string text_column = "text";
  std::string label_column = "label";
  std::int64_t max_length = 512;
};

/// Text as token ids, in one of two modes.
///
/// Language modelling: the text's tokens are cut into `streams` equal contiguous streams (the
/// remainder of the division dropped from the end); each stream is split into a head (train)
/// and a tail (validation: round(length * validation_fraction) tokens) that share no token;
/// each part is cut into chunks of sequence_length + 1 tokens that overlap by one (the last
/// token of a chunk is the first of the next). Row r is chunk r / streams of stream
/// r % streams: features are the chunk's first sequence_length tokens, labels its last
/// sequence_length (the next token of each step). Reading rows in order with a batch size of
/// `streams` gives each batch slot the next chunk of its own stream.
///
/// Classification (csv): one row per CSV record, its text column's tokens truncated to
/// max_length, padded with id 0 to the longest row of each read; Batch::lengths holds the true
/// lengths. Class names are sorted (numerically when all are integers), as dataset.csv does,
/// so a train and a test file agree on the class indices.
///
/// Errors name the file and where in it: kNotFound / kPermissionDenied for a missing or
/// unreadable path, kInvalidArgument for an empty folder, invalid UTF-8 with a chars
/// vocabulary (file, byte offset and line), too little text for the layout, bad CSV records.
/// Reading is linear in the text's size, in chunks of 1 MiB; the token ids take 4 bytes each.
///
/// Threading: immutable after open(); read() may be called from many threads at once.
class TextDataset final : public Dataset {
 public:
  static Expected<std::unique_ptr<TextDataset>> open(const TextOptions& options);

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return rows_; }
  /// Language modelling: features and labels INT64 [n, sequence_length]. Classification:
  /// features INT64 [n, longest], lengths INT64 [n], labels INT64 [n]. `out` is untouched on
  /// kOutOfRange (naming the first index >= size()).
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override;
  /// 64-bit FNV-1a of the text's bytes (files in order) and of the layout options, as hex.
  std::string fingerprint() const override { return fingerprint_; }

  /// The files `path` names, in reading order: itself when it is a file (a link to one is
  /// followed); a folder's regular files sorted by name. Errors: missing path, a folder
  /// without regular files.
  static Expected<std::vector<std::filesystem::path>> listFiles(const std::filesystem::path& path);

 private:
  TextDataset() = default;
  Status openLanguageModel(const TextOptions& options);
  Status openClassification(const TextOptions& options);
  /// Replaces code points by their rank among the distinct ones (chars) and fills the schema's
  /// vocabulary; for bytes only the schema.
  void buildVocabulary(TextVocabulary vocabulary);

  DatasetSchema schema_;
  std::uint64_t rows_ = 0;
  std::vector<std::int32_t> tokens_;  // code points or bytes, then ids
  std::string fingerprint_;
  // Language modelling.
  std::int64_t length_ = 0;          // sequence_length
  std::int64_t streams_ = 0;
  std::uint64_t stream_tokens_ = 0;  // tokens per stream
  std::uint64_t part_offset_ = 0;    // where the part starts inside each stream
  // Classification.
  std::vector<std::uint64_t> row_begin_;  // rows_ + 1 offsets into tokens_
  std::vector<std::int64_t> classes_;
};

}  // namespace aimass::plugins::dataset
