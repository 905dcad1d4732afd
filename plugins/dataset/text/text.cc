// SPDX-License-Identifier: Apache-2.0
#include "text.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "aimass/util/csv_text.h"
#include "aimass/util/fnv1a.h"
#include "aimass/util/utf8.h"

namespace aimass::plugins::dataset {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
constexpr std::uint32_t kCodePoints = 0x110000;

/// The code point of the well-formed sequence of `length` bytes at the start of `s`.
std::int32_t codePoint(std::string_view s, std::size_t length) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(
                                             static_cast<unsigned char>(s[i])); };
  if (length == 1) {
    return static_cast<std::int32_t>(byte(0));
  }
  std::uint32_t value = byte(0) & (0xFFu >> (length + 1));
  for (std::size_t i = 1; i < length; ++i) {
    value = (value << 6) | (byte(i) & 0x3F);
  }
  return static_cast<std::int32_t>(value);
}

std::string utf8Encode(std::uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

/// Appends the tokens of `s` to `out`: bytes, or code points of UTF-8. Returns how many bytes
/// were used; with `at_end` false a sequence cut short by the end of `s` is left for the next
/// piece. nullopt in `bad` unless invalid UTF-8 was found at index *bad.
std::size_t appendTokens(std::string_view s, TextVocabulary vocabulary, bool at_end,
                         std::vector<std::int32_t>& out, std::optional<std::size_t>& bad) {
  if (vocabulary == TextVocabulary::kBytes) {
    for (unsigned char c : s) {
      out.push_back(c);
    }
    return s.size();
  }
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t length = lead < 0x80 ? 1 : utf8SequenceLength(s.substr(i));
    if (length == 0) {
      // Cut short by the end of this piece: wait for the next one.
      if (!at_end && s.size() - i < 4 && lead >= 0xC2 && lead <= 0xF4) {
        bool prefix = true;
        for (std::size_t j = i + 1; j < s.size(); ++j) {
          prefix = prefix && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80;
        }
        if (prefix) {
          return i;
        }
      }
      bad = i;
      return i;
    }
    out.push_back(codePoint(s.substr(i), length));
    i += length;
  }
  return i;
}

std::string hexBytes(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < 4; ++i) {
    char text[8];
    std::snprintf(text, sizeof text, "%s0x%02X", i ? " " : "", static_cast<unsigned char>(s[i]));
    out += text;
  }
  return out;
}

Status fileError(int err, const fs::path& path, std::string_view what) {
  std::string message = "cannot " + std::string(what) + " text file " + csvQuote(path.string()) +
                        ": " + std::system_category().message(err);
  if (err == ENOENT) {
    return notFound(std::move(message));
  }
  if (err == EACCES || err == EPERM) {
    return permissionDenied(std::move(message));
  }
  return invalidArgument(std::move(message));
}

/// Reads `path` in chunks of kChunkBytes, appending its tokens to `out` and its bytes to `hash`.
Status readTokens(const fs::path& path, TextVocabulary vocabulary, std::vector<std::int32_t>& out,
                  Fnv1a& hash) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fileError(errno, path, "open");
  }
  std::string buffer(kChunkBytes + 4, '\0');
  std::size_t kept = 0;         // bytes of an incomplete sequence carried to the next chunk
  std::uint64_t offset = 0;     // file offset of buffer[0]
  std::uint64_t lines = 1;      // line of buffer[0]
  Status status;
  for (;;) {
    ssize_t n = ::read(fd, buffer.data() + kept, kChunkBytes);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      status = fileError(errno, path, "read");
      break;
    }
    hash.add(std::string_view(buffer.data() + kept, static_cast<std::size_t>(n)));
    const std::string_view piece(buffer.data(), kept + static_cast<std::size_t>(n));
    std::optional<std::size_t> bad;
    const std::size_t used = appendTokens(piece, vocabulary, n == 0, out, bad);
    if (bad) {
      const std::uint64_t line =
          lines + static_cast<std::uint64_t>(std::count(piece.begin(), piece.begin() +
                                                        static_cast<std::ptrdiff_t>(*bad), '\n'));
      status = invalidArgument(path.string() + ":" + std::to_string(line) + ": invalid UTF-8 at "
                               "byte offset " + std::to_string(offset + *bad) + " (" +
                               hexBytes(piece.substr(*bad)) +
                               "); use `vocabulary: bytes` for text that is not UTF-8");
      break;
    }
    if (n == 0) {
      break;
    }
    lines += static_cast<std::uint64_t>(
        std::count(piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(used), '\n'));
    offset += used;
    kept = piece.size() - used;
    std::memmove(buffer.data(), buffer.data() + used, kept);
  }
  ::close(fd);
  return status;
}

/// Class names sorted as dataset.csv sorts them: numerically when every one is an integer, as
/// text otherwise. Returns the order (rank -> first-seen index).
std::vector<std::size_t> classOrder(const std::vector<std::string>& names) {
  std::vector<std::optional<std::int64_t>> numbers;
  bool all_integers = true;
  for (const auto& name : names) {
    std::int64_t value = 0;
    std::string_view digits = !name.empty() && name[0] == '+' ? std::string_view(name).substr(1)
                                                              : std::string_view(name);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    const bool integer = !digits.empty() && ec == std::errc() &&
                         end == digits.data() + digits.size();
    all_integers = all_integers && integer;
    numbers.push_back(integer ? std::optional<std::int64_t>(value) : std::nullopt);
  }
  std::vector<std::size_t> order(names.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (all_integers && *numbers[a] != *numbers[b]) {
      return *numbers[a] < *numbers[b];
    }
    return names[a] < names[b];
  });
  return order;
}

std::string layoutText(const TextOptions& o) {
  return std::string(o.csv ? "csv" : "text") +
         (o.vocabulary == TextVocabulary::kBytes ? ";bytes;" : ";chars;") +
         std::to_string(o.sequence_length) + ";" + std::to_string(o.streams) + ";" +
         std::to_string(o.validation_fraction) + ";" + std::to_string(static_cast<int>(o.part)) +
         ";" + o.text_column + ";" + o.label_column + ";" + std::to_string(o.max_length);
}

}  // namespace

Expected<std::vector<fs::path>> TextDataset::listFiles(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return notFound("text path " + csvQuote(path.string()) + " does not exist");
  }
  if (fs::is_regular_file(status)) {
    return std::vector<fs::path>{path};
  }
  if (!fs::is_directory(status)) {
    return invalidArgument("text path " + csvQuote(path.string()) +
                           " is neither a regular file nor a folder");
  }
  std::vector<fs::path> files;
  fs::directory_iterator it(path, ec);
  if (ec) {
    return fileError(ec.value(), path, "list the folder of");
  }
  for (const fs::directory_entry& entry : it) {
    std::error_code entry_ec;
    // symlink_status: links are skipped, so aliases (GPL -> GPL-3) are not read twice.
    if (fs::is_regular_file(entry.symlink_status(entry_ec)) && !entry_ec) {
      files.push_back(entry.path());
    }
  }
  if (files.empty()) {
    return invalidArgument("text folder " + csvQuote(path.string()) +
                           " has no regular files (links and subfolders are not read)");
  }
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  return files;
}

Expected<std::unique_ptr<TextDataset>> TextDataset::open(const TextOptions& options) {
  if (options.sequence_length < 1 || options.streams < 1 || options.max_length < 1) {
    return invalidArgument("sequence_length, streams and max_length must be at least 1");
  }
  if (!(options.validation_fraction >= 0 && options.validation_fraction < 1)) {
    return invalidArgument("validation_fraction must lie in [0, 1), got " +
                           std::to_string(options.validation_fraction));
  }
  std::unique_ptr<TextDataset> data(new TextDataset());
  Status status = guard("dataset.text", [&]() -> Status {
    return options.csv ? data->openClassification(options) : data->openLanguageModel(options);
  });
  if (!status.ok()) {
    return status;
  }
  return data;
}

Status TextDataset::openLanguageModel(const TextOptions& options) {
  AIMASS_ASSIGN_OR_RETURN(std::vector<fs::path> files, listFiles(options.path));
  Fnv1a hash;
  for (const fs::path& file : files) {
    AIMASS_RETURN_IF_ERROR(readTokens(file, options.vocabulary, tokens_, hash));
  }
  const std::string source = csvQuote(options.path.string());
  const auto n = static_cast<std::uint64_t>(tokens_.size());
  const auto streams = static_cast<std::uint64_t>(options.streams);
  const auto length = static_cast<std::uint64_t>(options.sequence_length);
  stream_tokens_ = n / streams;
  if (stream_tokens_ < length + 1) {
    return invalidArgument("the text of " + source + " has " + std::to_string(n) +
                           " tokens: too few for " + std::to_string(streams) +
                           " streams of at least sequence_length + 1 = " +
                           std::to_string(length + 1) +
                           " tokens each; lower `streams` or `sequence_length`");
  }
  const auto tail = static_cast<std::uint64_t>(
      std::llround(static_cast<double>(stream_tokens_) * options.validation_fraction));
  std::uint64_t part_tokens = stream_tokens_;
  const char* part = "all";
  if (options.part == TextPart::kTrain) {
    part_tokens = stream_tokens_ - tail;
    part = "train";
  } else if (options.part == TextPart::kValidation) {
    part_offset_ = stream_tokens_ - tail;
    part_tokens = tail;
    part = "validation";
  }
  const std::uint64_t chunks = part_tokens > length ? (part_tokens - 1) / length : 0;
  if (chunks == 0) {
    return invalidArgument("the " + std::string(part) + " part of each of the " +
                           std::to_string(streams) + " streams of " + source + " has " +
                           std::to_string(part_tokens) + " tokens, fewer than sequence_length + 1 "
                           "= " + std::to_string(length + 1) +
                           (options.part == TextPart::kValidation
                                ? "; raise validation_fraction or lower sequence_length/streams"
                                : "; lower validation_fraction, sequence_length or streams"));
  }
  rows_ = chunks * streams;
  length_ = options.sequence_length;
  streams_ = options.streams;
  buildVocabulary(options.vocabulary);
  schema_.feature_dtype = DType::kInt64;
  schema_.row_shape = {options.sequence_length};
  schema_.label_kind = LabelKind::kNextToken;
  schema_.num_targets = 0;
  hash.add(layoutText(options));
  fingerprint_ = hash.hex();
  return Status();
}

Status TextDataset::openClassification(const TextOptions& options) {
  if (options.part != TextPart::kAll || options.validation_fraction != 0) {
    return invalidArgument("`part` and `validation_fraction` apply to language modelling only; "
                           "for a CSV of texts use separate train and test files");
  }
  AIMASS_ASSIGN_OR_RETURN(std::vector<fs::path> files, listFiles(options.path));
  if (files.size() != 1 || files.front() != options.path) {
    return invalidArgument("CSV path " + csvQuote(options.path.string()) +
                           " is a folder; `format: csv` reads one file");
  }
  std::string text;
  AIMASS_RETURN_IF_ERROR(readCsvFile(options.path, text));
  Fnv1a hash;
  hash.add(text);
  const std::string src = options.path.string();
  CsvRecordReader reader(csvWithoutByteOrderMark(text), ',', src);
  std::vector<std::string_view> fields;
  AIMASS_ASSIGN_OR_RETURN(std::vector<std::string> names, readCsvHeader(reader, src));
  auto column = [&](const std::string& name, const char* role) {
    return csvColumnIndex(names, name, role, src);
  };
  AIMASS_ASSIGN_OR_RETURN(std::size_t text_index, column(options.text_column, "text_column"));
  AIMASS_ASSIGN_OR_RETURN(std::size_t label_index, column(options.label_column, "label_column"));
  if (text_index == label_index) {
    return invalidArgument("text_column and label_column are both " + csvQuote(names[text_index]));
  }
  std::unordered_map<std::string, std::int64_t> class_ids;
  std::vector<std::string> first_seen;
  row_begin_.push_back(0);
  for (;;) {
    AIMASS_ASSIGN_OR_RETURN(bool more, reader.next(fields));
    if (!more) {
      break;
    }
    const std::string where = src + ":" + std::to_string(reader.line()) + ": ";
    if (fields.size() != names.size()) {
      return invalidArgument(where + "has " + std::to_string(fields.size()) +
                             " fields, expected " + std::to_string(names.size()) +
                             " (as in the header)");
    }
    const std::string_view field = fields[text_index];
    const std::size_t before = tokens_.size();
    std::optional<std::size_t> bad;
    appendTokens(field, options.vocabulary, true, tokens_, bad);
    if (bad) {
      return invalidArgument(where + "column " + csvQuote(names[text_index]) +
                             ": invalid UTF-8 at byte " + std::to_string(*bad) + " of the text (" +
                             hexBytes(field.substr(*bad)) + "); use `vocabulary: bytes`");
    }
    if (tokens_.size() == before) {
      return invalidArgument(where + "column " + csvQuote(names[text_index]) +
                             ": the text is empty");
    }
    tokens_.resize(std::min(tokens_.size(), before + static_cast<std::size_t>(options.max_length)));
    row_begin_.push_back(tokens_.size());
    const std::string_view label = csvTrim(fields[label_index]);
    if (label.empty()) {
      return invalidArgument(where + "column " + csvQuote(names[label_index]) +
                             ": the label is empty");
    }
    auto [it, inserted] =
        class_ids.try_emplace(std::string(label), static_cast<std::int64_t>(class_ids.size()));
    if (inserted) {
      first_seen.push_back(it->first);
    }
    classes_.push_back(it->second);
  }
  rows_ = classes_.size();
  if (rows_ == 0) {
    return invalidArgument("CSV file " + csvQuote(src) + " has a header but no data rows");
  }
  const std::vector<std::size_t> order = classOrder(first_seen);
  std::vector<std::int64_t> renumber(order.size());
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    renumber[order[rank]] = static_cast<std::int64_t>(rank);
    schema_.class_names.push_back(first_seen[order[rank]]);
  }
  for (auto& id : classes_) {
    id = renumber[static_cast<std::size_t>(id)];
  }
  buildVocabulary(options.vocabulary);
  schema_.feature_dtype = DType::kInt64;
  schema_.row_shape = {-1};
  schema_.label_kind = LabelKind::kClass;
  schema_.num_targets = 1;
  hash.add(layoutText(options));
  fingerprint_ = hash.hex();
  return Status();
}

void TextDataset::buildVocabulary(TextVocabulary vocabulary) {
  std::vector<std::string> symbols;
  if (vocabulary == TextVocabulary::kBytes) {
    for (int b = 0; b < 256; ++b) {
      symbols.emplace_back(1, static_cast<char>(b));
    }
  } else {
    std::vector<std::int32_t> rank(kCodePoints, -1);
    for (std::int32_t cp : tokens_) {
      rank[static_cast<std::size_t>(cp)] = 0;
    }
    std::int32_t next = 0;
    for (std::uint32_t cp = 0; cp < kCodePoints; ++cp) {
      if (rank[cp] == 0) {
        rank[cp] = next++;
        symbols.push_back(utf8Encode(cp));
      }
    }
    for (std::int32_t& token : tokens_) {
      token = rank[static_cast<std::size_t>(token)];
    }
  }
  schema_.cardinalities = {static_cast<std::int64_t>(symbols.size())};
  schema_.id_names = {std::move(symbols)};
}

Status TextDataset::read(std::span<const std::uint64_t> rows, Batch& out) const {
  for (std::uint64_t row : rows) {
    if (row >= rows_) {
      return outOfRange("row " + std::to_string(row) + " is out of range: the dataset has " +
                        std::to_string(rows_) + " rows");
    }
  }
  return guard("dataset.text read", [&] {
    const auto n = static_cast<std::int64_t>(rows.size());
    if (schema_.label_kind == LabelKind::kNextToken) {
      out.features.resize(DType::kInt64, {n, length_});
      out.labels.resize(DType::kInt64, {n, length_});
      std::int64_t* x = out.features.data<std::int64_t>();
      std::int64_t* y = out.labels.data<std::int64_t>();
      const auto t = static_cast<std::uint64_t>(length_);
      const auto streams = static_cast<std::uint64_t>(streams_);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::uint64_t start =
            (rows[i] % streams) * stream_tokens_ + part_offset_ + (rows[i] / streams) * t;
        for (std::uint64_t j = 0; j < t; ++j) {
          x[i * t + j] = tokens_[start + j];
          y[i * t + j] = tokens_[start + j + 1];
        }
      }
      if (out.lengths.raw() != nullptr || out.lengths.dtype() == DType::kBytes) {
        out.lengths = Tensor();
      }
      return;
    }
    std::uint64_t longest = 0;
    for (std::uint64_t row : rows) {
      longest = std::max(longest, row_begin_[row + 1] - row_begin_[row]);
    }
    const auto width = static_cast<std::int64_t>(longest);
    out.features.resize(DType::kInt64, {n, width});
    out.lengths.resize(DType::kInt64, {n});
    out.labels.resize(DType::kInt64, {n});
    std::int64_t* x = out.features.data<std::int64_t>();
    std::fill(x, x + n * width, 0);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::uint64_t begin = row_begin_[rows[i]], end = row_begin_[rows[i] + 1];
      std::copy(tokens_.begin() + static_cast<std::ptrdiff_t>(begin),
                tokens_.begin() + static_cast<std::ptrdiff_t>(end),
                x + static_cast<std::int64_t>(i) * width);
      out.lengths.data<std::int64_t>()[i] = static_cast<std::int64_t>(end - begin);
      out.labels.data<std::int64_t>()[i] = classes_[rows[i]];
    }
  });
}

}  // namespace aimass::plugins::dataset
