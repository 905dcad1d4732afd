// SPDX-License-Identifier: Apache-2.0
#include "csv.h"

#include <algorithm>
#include <bitset>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <utility>

#include "aimass/util/csv_text.h"

namespace aimass::plugins::dataset {

namespace {

std::optional<std::int64_t> parseInteger(std::string_view s) {
  std::string_view digits = !s.empty() && s.front() == '+' ? s.substr(1) : s;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
    return std::nullopt;
  }
  return value;
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// "; did you mean 'x'?" for the closest name within about a third of the length, or "".
std::string didYouMean(std::string_view name, const std::vector<std::string>& names) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(1, (name.size() + 2) / 3) + 1;
  for (const auto& candidate : names) {
    std::size_t distance = editDistance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best.empty() ? std::string() : "; did you mean " + csvQuote(best) + "?";
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 20; ++i) {
    out += (i ? ", " : "") + names[i];
  }
  return names.size() > 20 ? out + ", ..." : out;
}

/// Whether `s` (trimmed, not empty) is written as a number: what from_chars reads whole, with
/// an optional leading '+', whether or not it is finite and fits an FP32.
bool writtenAsNumber(std::string_view s) {
  std::string_view digits = s.front() == '+' ? s.substr(1) : s;
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return !digits.empty() && end == digits.data() + digits.size() &&
         (ec == std::errc() || ec == std::errc::result_out_of_range);
}

/// The missing values: an empty field and the markers of `missing_values`.
class MissingValues {
 public:
  explicit MissingValues(const std::vector<std::string>& markers) {
    for (const auto& marker : markers) {
      markers_.emplace_back(csvTrim(marker));
      if (!markers_.back().empty()) {
        first_bytes_.set(static_cast<unsigned char>(markers_.back().front()));
      }
    }
  }
  /// Whether a field, already trimmed, is missing.
  bool matches(std::string_view value) const {
    if (value.empty()) {
      return true;
    }
    // Most fields start with a byte no marker starts with (a digit): no comparison then.
    return first_bytes_.test(static_cast<unsigned char>(value.front())) &&
           std::find(markers_.begin(), markers_.end(), value) != markers_.end();
  }

 private:
  std::vector<std::string> markers_;
  std::bitset<256> first_bytes_;
};

/// Hashes strings and string_views alike, so maps keyed by std::string take views in lookups.
struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
using TextIds = std::unordered_map<std::string, std::uint32_t, TextHash, std::equal_to<>>;

/// "file:line: ".
std::string at(std::string_view src, std::size_t line) {
  return std::string(src) + ":" + std::to_string(line) + ": ";
}

/// Calls `visit(fields, line)` for every data record of `text` (the records after the header,
/// when there is one). kInvalidArgument for a record with other than `expected_fields` fields,
/// and whatever the reader or `visit` returns.
template <typename Visit>
Status forEachRecord(std::string_view text, std::string_view src, const CsvOptions& options,
                     std::size_t expected_fields, Visit visit) {
  CsvRecordReader reader(text, options.delimiter, src);
  std::vector<std::string_view> fields;
  bool header = options.header;
  for (;;) {
    AIMASS_ASSIGN_OR_RETURN(bool more, reader.next(fields));
    if (!more) {
      return okStatus();
    }
    if (header) {
      header = false;
      continue;
    }
    if (fields.size() != expected_fields) {
      return invalidArgument(at(src, reader.line()) + "has " + std::to_string(fields.size()) +
                             " fields, expected " + std::to_string(expected_fields) +
                             (options.header ? " (as in the header)" : " (as in the first row)"));
    }
    AIMASS_RETURN_IF_ERROR(visit(fields, reader.line()));
  }
}

/// The names of the file's columns: the header's, or "0", "1", ... without one. Errors for an
/// empty file and for empty or repeated names.
Expected<std::vector<std::string>> columnNames(std::string_view text, const std::string& src,
                                               const CsvOptions& options) {
  CsvRecordReader reader(text, options.delimiter, src);
  std::vector<std::string_view> fields;
  AIMASS_ASSIGN_OR_RETURN(bool has_first, reader.next(fields));
  if (!has_first) {
    return invalidArgument("CSV file " + csvQuote(src) + " is empty");
  }
  std::vector<std::string> names;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!options.header) {
      names.push_back(std::to_string(i));
      continue;
    }
    std::string name(csvTrim(fields[i]));
    if (name.empty()) {
      return invalidArgument(at(src, reader.line()) + "column " + std::to_string(i + 1) +
                             " has an empty name in the header; name it, or set header: "
                             "false to name columns by position");
    }
    auto previous = std::find(names.begin(), names.end(), name);
    if (previous != names.end()) {
      return invalidArgument(
          at(src, reader.line()) + "column name " + csvQuote(name) + " appears twice (columns " +
          std::to_string(previous - names.begin() + 1) + " and " + std::to_string(i + 1) + ")");
    }
    names.push_back(std::move(name));
  }
  return names;
}

/// What the first pass saw of one feature column that is not known to be text.
struct ColumnScan {
  std::size_t numbers = 0;  ///< non-missing values written as numbers
  std::size_t texts = 0;    ///< non-missing values that are not
  std::string first_text;   ///< the first of those, and its line
  std::size_t first_text_line = 0;
  std::string first_error;  ///< the first number that is no finite FP32, as an error message
  std::size_t first_error_line = 0;
};

/// A text column as it is read: its distinct values and a code per row.
struct TextColumn {
  std::vector<std::string> values{std::string()};  ///< code -> text; code 0 is missing ("")
  TextIds ids;                                     ///< text -> code
  std::vector<std::uint32_t> codes;                ///< one per row

  void add(std::string_view value, const MissingValues& missing) {
    std::uint32_t code = 0;
    if (!missing.matches(value)) {
      auto it = ids.find(value);  // no string is made for a value seen before
      if (it == ids.end()) {
        it = ids.emplace(std::string(value), static_cast<std::uint32_t>(values.size())).first;
        values.push_back(it->first);
      }
      code = it->second;
    }
    codes.push_back(code);
  }
};

/// "; did you mean 'x'?" and the list of columns, for an unknown column name.
std::string unknownColumnHint(std::string_view name, const std::vector<std::string>& names) {
  return didYouMean(name, names) + " (columns: " + joinNames(names) + ")";
}

}  // namespace

struct CsvLayout {
  std::vector<std::string> names;     ///< every column of the file
  std::optional<std::size_t> label;   ///< the label's position among names
  std::vector<std::size_t> features;  ///< the features' positions, in `columns` order
  std::vector<bool> text;             ///< per feature: read as text
};

namespace {

/// Fills the label and features of `layout` (whose names are set) from the options: the label,
/// `columns` and `text_columns`, each checked against the file's columns.
Status resolveColumns(const CsvOptions& options, const std::string& src, CsvLayout& layout) {
  const std::vector<std::string>& names = layout.names;
  auto columnIndex = [&](const std::string& name, std::string_view role) -> Expected<std::size_t> {
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      return invalidArgument(std::string(role) + " column " + csvQuote(name) + " is not in " +
                             csvQuote(src) + unknownColumnHint(name, names));
    }
    return static_cast<std::size_t>(it - names.begin());
  };
  if (options.label) {
    AIMASS_ASSIGN_OR_RETURN(layout.label, columnIndex(*options.label, "label"));
  }
  if (options.columns) {
    if (options.columns->empty()) {
      return invalidArgument("'columns' is an empty list; leave it out to use every column");
    }
    for (const auto& name : *options.columns) {
      AIMASS_ASSIGN_OR_RETURN(std::size_t index, columnIndex(name, "feature"));
      if (layout.label && index == *layout.label) {
        return invalidArgument("column " + csvQuote(name) +
                               " is the label and cannot also be a feature");
      }
      if (std::find(layout.features.begin(), layout.features.end(), index) !=
          layout.features.end()) {
        return invalidArgument("column " + csvQuote(name) + " is listed twice in 'columns'");
      }
      layout.features.push_back(index);
    }
  } else {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (!layout.label || i != *layout.label) {
        layout.features.push_back(i);
      }
    }
  }
  if (layout.features.empty()) {
    return invalidArgument(csvQuote(src) + " has no feature columns besides the label " +
                           csvQuote(*options.label));
  }
  layout.text.assign(layout.features.size(), false);
  for (const auto& name : options.text_columns) {
    AIMASS_ASSIGN_OR_RETURN(std::size_t index, columnIndex(name, "text_columns names a"));
    auto feature = std::find(layout.features.begin(), layout.features.end(), index);
    if (feature == layout.features.end()) {
      return invalidArgument("text_columns names column " + csvQuote(name) +
                             (layout.label && index == *layout.label
                                  ? ", which is the label; text_columns is for features"
                                  : ", which is not among 'columns'"));
    }
    layout.text[static_cast<std::size_t>(feature - layout.features.begin())] = true;
  }
  return okStatus();
}

/// The label in `field` without surrounding spaces; kInvalidArgument when it is missing,
/// starting with where() ("file:line: column 'y': ").
template <typename Where>
Expected<std::string_view> labelText(std::string_view field, const MissingValues& missing,
                                     Where where) {
  std::string_view label = csvTrim(field);
  if (label.empty()) {
    return invalidArgument(where() + "the label is empty");
  }
  if (missing.matches(label)) {
    return invalidArgument(where() + "the label " + csvQuote(label) +
                           " is a missing value (see missing_values); every row needs a label");
  }
  return label;
}

/// What the passes over the records read.
struct CsvContent {
  std::uint64_t rows = 0;
  /// rows x (features not known to be text when the first pass began), row after row; a value
  /// that is missing or not a number is NaN.
  std::vector<float> numbers;
  std::vector<ColumnScan> scans;  ///< per feature
  std::vector<TextColumn> texts;  ///< per feature; used for the text ones
  std::vector<std::int64_t> classes;
  std::vector<float> values;
  std::vector<std::string> first_seen;  ///< class labels in the order they first appear
};

/// Reads a value of a column not known to be text into `numbers` (NaN unless it is a finite
/// FP32 number), noting in `scan` what it was; `where` gives "file:line: column 'c': ".
template <typename Where>
void readNumber(std::string_view value, std::size_t line, Where where, const MissingValues& missing,
                ColumnScan& scan, std::vector<float>& numbers) {
  float number = std::numeric_limits<float>::quiet_NaN();
  if (!missing.matches(value)) {
    if (auto problem = parseCsvFloat(value, number); !problem) {
      ++scan.numbers;
    } else if (writtenAsNumber(value)) {
      ++scan.numbers;  // inf, 1e39: an error unless the column turns out to be text
      if (scan.first_error.empty()) {
        scan.first_error = where() + *problem;
        scan.first_error_line = line;
      }
    } else if (scan.texts++ == 0) {
      scan.first_text = value;
      scan.first_text_line = line;
    }
  }
  numbers.push_back(number);
}

/// The first pass over the records: numbers, the columns `text_columns` names, and labels.
Status readRecords(std::string_view text, const std::string& src, const CsvOptions& options,
                   const CsvLayout& layout, const MissingValues& missing, CsvContent& content) {
  const std::size_t width =
      static_cast<std::size_t>(std::count(layout.text.begin(), layout.text.end(), false));
  content.scans.assign(layout.features.size(), ColumnScan());
  content.texts.assign(layout.features.size(), TextColumn());
  content.numbers.reserve(
      (static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1) * width);
  TextIds class_ids;  // label text -> first-seen id
  return forEachRecord(
      text, src, options, layout.names.size(),
      [&](const std::vector<std::string_view>& fields, std::size_t line) -> Status {
        auto where = [&](std::size_t index) {
          return at(src, line) + "column " + csvQuote(layout.names[index]) + ": ";
        };
        for (std::size_t f = 0; f < layout.features.size(); ++f) {
          std::string_view value = csvTrim(fields[layout.features[f]]);
          if (layout.text[f]) {
            content.texts[f].add(value, missing);
          } else {
            readNumber(
                value, line, [&] { return where(layout.features[f]); }, missing, content.scans[f],
                content.numbers);
          }
        }
        if (layout.label) {
          AIMASS_ASSIGN_OR_RETURN(
              std::string_view label,
              labelText(fields[*layout.label], missing, [&] { return where(*layout.label); }));
          if (options.label_kind == LabelKind::kValue) {
            float value = 0;
            if (auto problem = parseCsvFloat(label, value)) {
              return invalidArgument(where(*layout.label) + *problem);
            }
            content.values.push_back(value);
          } else {
            auto [it, inserted] = class_ids.try_emplace(
                std::string(label), static_cast<std::uint32_t>(class_ids.size()));
            if (inserted) {
              content.first_seen.push_back(it->first);
            }
            content.classes.push_back(it->second);
          }
        }
        ++content.rows;
        return okStatus();
      });
}

/// The second pass, for the columns the first found to be text (`turned`): reads their values.
/// Then drops them from content.numbers.
Status readTurnedColumns(std::string_view text, const std::string& src, const CsvOptions& options,
                         const CsvLayout& layout, const std::vector<bool>& turned,
                         const MissingValues& missing, CsvContent& content) {
  AIMASS_RETURN_IF_ERROR(
      forEachRecord(text, src, options, layout.names.size(),
                    [&](const std::vector<std::string_view>& fields, std::size_t) -> Status {
                      for (std::size_t f = 0; f < layout.features.size(); ++f) {
                        if (turned[f]) {
                          content.texts[f].add(csvTrim(fields[layout.features[f]]), missing);
                        }
                      }
                      return okStatus();
                    }));
  // The columns of content.numbers are the features that were not text before; keep those
  // that are not text now.
  std::vector<std::size_t> keep;
  std::size_t old_width = 0;
  for (std::size_t f = 0; f < layout.features.size(); ++f) {
    if (!layout.text[f] || turned[f]) {
      if (!turned[f]) {
        keep.push_back(old_width);
      }
      ++old_width;
    }
  }
  std::size_t out = 0;
  for (std::uint64_t r = 0; r < content.rows; ++r) {
    for (std::size_t column : keep) {
      content.numbers[out++] = content.numbers[r * old_width + column];
    }
  }
  content.numbers.resize(out);
  return okStatus();
}

/// Marks as text the columns with a value that is not a number and returns which they are;
/// `warnings` receives a sentence for each one where numbers are the majority, since a stray
/// value may have turned a numeric column to text.
std::vector<bool> detectTextColumns(const std::vector<ColumnScan>& scans, const std::string& src,
                                    CsvLayout& layout, std::vector<std::string>& warnings) {
  std::vector<bool> turned(scans.size(), false);
  for (std::size_t f = 0; f < scans.size(); ++f) {
    const ColumnScan& scan = scans[f];
    if (layout.text[f] || scan.texts == 0) {
      continue;
    }
    turned[f] = true;
    if (scan.numbers > scan.texts) {
      warnings.push_back(
          at(src, scan.first_text_line) + "column " + csvQuote(layout.names[layout.features[f]]) +
          " is read as text because " + csvQuote(scan.first_text) + " is not a number, although " +
          std::to_string(scan.numbers) + " of its " + std::to_string(scan.numbers + scan.texts) +
          " values are; if the column is numeric, correct that value or list it in "
          "missing_values; to read the column as text, name it in text_columns");
    }
  }
  return turned;
}

/// The first number that is no finite FP32 in a column that stays numeric (the earliest line,
/// then the first column), or okStatus().
Status firstNumberError(const std::vector<ColumnScan>& scans, const std::vector<bool>& turned) {
  const ColumnScan* first = nullptr;
  for (std::size_t f = 0; f < scans.size(); ++f) {
    if (!turned[f] && !scans[f].first_error.empty() &&
        (!first || scans[f].first_error_line < first->first_error_line)) {
      first = &scans[f];
    }
  }
  return first ? invalidArgument(first->first_error) : okStatus();
}

}  // namespace

std::string CsvDataset::fnv1aHex(std::string_view bytes) { return aimass::fnv1aHex(bytes); }

Expected<std::unique_ptr<CsvDataset>> CsvDataset::open(const CsvOptions& options) {
  std::string text;
  AIMASS_RETURN_IF_ERROR(readCsvFile(options.path, text));
  return parse(text, options.path.string(), options);
}

Expected<std::unique_ptr<CsvDataset>> CsvDataset::parse(std::string_view text,
                                                        std::string_view source,
                                                        const CsvOptions& options) {
  std::unique_ptr<CsvDataset> data(new CsvDataset());
  const std::string src(source);
  const std::string fingerprint = fnv1aHex(text);
  if (options.delimiter == '"' || options.delimiter == '\n' || options.delimiter == '\r') {
    return invalidArgument("CSV delimiter " + csvQuote(std::string(1, options.delimiter)) +
                           " cannot be a quote or a line end");
  }
  text = csvWithoutByteOrderMark(text);
  if (csvTrim(text).find_first_not_of("\r\n \t") == std::string_view::npos) {
    return invalidArgument("CSV file " + csvQuote(src) + " is empty");
  }

  Status status = guard("parsing " + csvQuote(src), [&]() -> Status {
    CsvLayout layout;
    AIMASS_ASSIGN_OR_RETURN(layout.names, columnNames(text, src, options));
    AIMASS_RETURN_IF_ERROR(resolveColumns(options, src, layout));
    // One pass reads the numbers; a second one, only when a column turned out to be text,
    // reads that column's values as written ("007", "1.50"), however many numbers came first.
    const MissingValues missing(options.missing_values);
    CsvContent content;
    AIMASS_RETURN_IF_ERROR(readRecords(text, src, options, layout, missing, content));
    if (content.rows == 0) {
      return invalidArgument("CSV file " + csvQuote(src) + " has a header but no data rows");
    }
    std::vector<bool> turned = detectTextColumns(content.scans, src, layout, data->warnings_);
    AIMASS_RETURN_IF_ERROR(firstNumberError(content.scans, turned));
    if (std::find(turned.begin(), turned.end(), true) != turned.end()) {
      AIMASS_RETURN_IF_ERROR(
          readTurnedColumns(text, src, options, layout, turned, missing, content));
      for (std::size_t f = 0; f < turned.size(); ++f) {
        layout.text[f] = layout.text[f] || turned[f];
      }
    }
    data->rows_ = content.rows;
    data->width_ =
        static_cast<std::size_t>(std::count(layout.text.begin(), layout.text.end(), false));
    data->features_ = std::move(content.numbers);
    if (data->features_.capacity() > data->features_.size() + data->features_.size() / 4) {
      data->features_.shrink_to_fit();  // many blank lines or text columns made it too big
    }
    for (std::size_t f = 0; f < layout.features.size(); ++f) {
      if (layout.text[f]) {
        data->text_values_.push_back(std::move(content.texts[f].values));
        data->text_codes_.push_back(std::move(content.texts[f].codes));
      }
    }
    data->classes_ = std::move(content.classes);
    data->values_ = std::move(content.values);
    data->makeSchema(layout, options.label_kind, content.first_seen);
    data->normalize(options.normalize);
    data->fingerprint_ = fingerprint;
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  return data;
}

void CsvDataset::makeSchema(const CsvLayout& layout, LabelKind label_kind,
                            const std::vector<std::string>& first_seen) {
  DatasetSchema& schema = schema_;
  for (std::size_t f = 0; f < layout.features.size(); ++f) {
    (layout.text[f] ? schema.string_feature_names : schema.feature_names)
        .push_back(layout.names[layout.features[f]]);
  }
  schema.feature_dtype = DType::kFloat32;
  schema.row_shape = {static_cast<std::int64_t>(width_)};
  if (!layout.label) {
    schema.label_kind = LabelKind::kNone;
    schema.num_targets = 0;
    return;
  }
  schema.label_kind = label_kind;
  schema.num_targets = 1;
  if (label_kind != LabelKind::kClass) {
    return;
  }
  // Order classes numerically when every label is an integer, else by text; then renumber.
  std::vector<std::optional<std::int64_t>> numbers;
  bool all_integers = true;
  for (const auto& name : first_seen) {
    numbers.push_back(parseInteger(name));
    all_integers = all_integers && numbers.back().has_value();
  }
  std::vector<std::size_t> order(first_seen.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (all_integers && *numbers[a] != *numbers[b]) {
      return *numbers[a] < *numbers[b];
    }
    return first_seen[a] < first_seen[b];
  });
  std::vector<std::int64_t> renumber(first_seen.size());
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    renumber[order[rank]] = static_cast<std::int64_t>(rank);
    schema.class_names.push_back(first_seen[order[rank]]);
  }
  for (auto& id : classes_) {
    id = renumber[static_cast<std::size_t>(id)];
  }
}

void CsvDataset::normalize(CsvNormalize how) {
  if (how == CsvNormalize::kNone) {
    return;
  }
  // Per column, in double, over the values that are not missing: the statistics first, then
  // one affine map, as scikit-learn's StandardScaler and MinMaxScaler do (constant columns keep
  // a scale of 1). Missing values stay NaN.
  for (std::size_t column = 0; column < width_; ++column) {
    double count = 0, sum = 0;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::uint64_t r = 0; r < rows_; ++r) {
      const float v = features_[r * width_ + column];
      if (!std::isnan(v)) {
        ++count;
        sum += v;
        lo = std::min<double>(lo, v);
        hi = std::max<double>(hi, v);
      }
    }
    if (count == 0) {
      continue;  // nothing but missing values
    }
    double offset = lo, scale = hi > lo ? hi - lo : 1;
    if (how == CsvNormalize::kStandardize) {
      const double mean = sum / count;
      double squares = 0;
      for (std::uint64_t r = 0; r < rows_; ++r) {
        const float v = features_[r * width_ + column];
        if (!std::isnan(v)) {
          squares += (v - mean) * (v - mean);
        }
      }
      const double stddev = std::sqrt(squares / count);
      offset = mean;
      scale = stddev > 0 ? stddev : 1;
    }
    for (std::uint64_t r = 0; r < rows_; ++r) {
      float& v = features_[r * width_ + column];
      v = static_cast<float>((v - offset) / scale);
    }
  }
}

Status CsvDataset::read(std::span<const std::uint64_t> rows, Batch& out) const {
  for (std::uint64_t row : rows) {
    if (row >= rows_) {
      return outOfRange("row " + std::to_string(row) + " is out of range: the dataset has " +
                        std::to_string(rows_) + " rows");
    }
  }
  return guard("dataset.csv read", [&] {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kFloat32, {n, static_cast<std::int64_t>(width_)});
    float* features = out.features.data<float>();
    for (std::size_t i = 0; i < rows.size() && width_ > 0; ++i) {
      std::memcpy(features + i * width_, features_.data() + rows[i] * width_,
                  width_ * sizeof(float));
    }
    if (!text_values_.empty()) {
      const std::size_t text_width = text_values_.size();
      std::vector<std::string> strings;
      strings.reserve(rows.size() * text_width);
      for (std::uint64_t row : rows) {
        for (std::size_t t = 0; t < text_width; ++t) {
          strings.push_back(text_values_[t][text_codes_[t][row]]);
        }
      }
      out.strings = Tensor::fromStrings(std::move(strings))
                        .reshaped({n, static_cast<std::int64_t>(text_width)});
    } else if (out.strings.raw() != nullptr || out.strings.dtype() == DType::kBytes) {
      out.strings = Tensor();
    }
    switch (schema_.label_kind) {
      case LabelKind::kClass: {
        out.labels.resize(DType::kInt64, {n});
        std::int64_t* labels = out.labels.data<std::int64_t>();
        for (std::size_t i = 0; i < rows.size(); ++i) {
          labels[i] = classes_[rows[i]];
        }
        break;
      }
      case LabelKind::kValue: {
        out.labels.resize(DType::kFloat32, {n, 1});
        float* labels = out.labels.data<float>();
        for (std::size_t i = 0; i < rows.size(); ++i) {
          labels[i] = values_[rows[i]];
        }
        break;
      }
      default:
        if (out.labels.raw() != nullptr || out.labels.dtype() == DType::kBytes) {
          out.labels = Tensor();
        }
        break;
    }
    if (out.lengths.raw() != nullptr || out.lengths.dtype() == DType::kBytes) {
      out.lengths = Tensor();
    }
  });
}

}  // namespace aimass::plugins::dataset
