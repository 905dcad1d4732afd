// SPDX-License-Identifier: Apache-2.0
#include "csv.h"

#include <algorithm>
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
  if (text.starts_with("\xEF\xBB\xBF")) {
    text.remove_prefix(3);  // UTF-8 byte-order mark
  }
  if (csvTrim(text).find_first_not_of("\r\n \t") == std::string_view::npos) {
    return invalidArgument("CSV file " + csvQuote(src) + " is empty");
  }

  Status status = guard("parsing " + csvQuote(src), [&]() -> Status {
    CsvRecordReader reader(text, options.delimiter, src);
    std::vector<std::string_view> fields;
    AIMASS_ASSIGN_OR_RETURN(bool has_first, reader.next(fields));
    if (!has_first) {
      return invalidArgument("CSV file " + csvQuote(src) + " is empty");
    }

    // Column names.
    std::vector<std::string> names;
    if (options.header) {
      for (std::size_t i = 0; i < fields.size(); ++i) {
        std::string name(csvTrim(fields[i]));
        if (name.empty()) {
          return invalidArgument(src + ":" + std::to_string(reader.line()) + ": column " +
                                 std::to_string(i + 1) +
                                 " has an empty name in the header; name it, or set header: "
                                 "false to name columns by position");
        }
        auto previous = std::find(names.begin(), names.end(), name);
        if (previous != names.end()) {
          return invalidArgument(src + ":" + std::to_string(reader.line()) + ": column name " +
                                 csvQuote(name) + " appears twice (columns " +
                                 std::to_string(previous - names.begin() + 1) + " and " +
                                 std::to_string(i + 1) + ")");
        }
        names.push_back(std::move(name));
      }
    } else {
      for (std::size_t i = 0; i < fields.size(); ++i) {
        names.push_back(std::to_string(i));
      }
    }
    auto columnIndex = [&](const std::string& name,
                           std::string_view role) -> Expected<std::size_t> {
      auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) {
        return invalidArgument(std::string(role) + " column " + csvQuote(name) + " is not in " +
                               csvQuote(src) + didYouMean(name, names) +
                               " (columns: " + joinNames(names) + ")");
      }
      return static_cast<std::size_t>(it - names.begin());
    };

    std::optional<std::size_t> label_index;
    if (options.label) {
      AIMASS_ASSIGN_OR_RETURN(label_index, columnIndex(*options.label, "label"));
    }
    std::vector<std::size_t> feature_index;
    if (options.columns) {
      if (options.columns->empty()) {
        return invalidArgument("'columns' is an empty list; leave it out to use every column");
      }
      for (const auto& name : *options.columns) {
        AIMASS_ASSIGN_OR_RETURN(std::size_t index, columnIndex(name, "feature"));
        if (label_index && index == *label_index) {
          return invalidArgument("column " + csvQuote(name) +
                                 " is the label and cannot also be a feature");
        }
        if (std::find(feature_index.begin(), feature_index.end(), index) != feature_index.end()) {
          return invalidArgument("column " + csvQuote(name) + " is listed twice in 'columns'");
        }
        feature_index.push_back(index);
      }
    } else {
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (!label_index || i != *label_index) {
          feature_index.push_back(i);
        }
      }
    }
    if (feature_index.empty()) {
      return invalidArgument(csvQuote(src) + " has no feature columns besides the label " +
                             csvQuote(*options.label));
    }

    const std::size_t width = feature_index.size();
    const std::size_t expected_fields = names.size();
    const std::size_t estimated_rows =
        static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    data->features_.reserve(estimated_rows * width);
    const bool class_labels = label_index && options.label_kind == LabelKind::kClass;
    const bool value_labels = label_index && options.label_kind == LabelKind::kValue;
    std::unordered_map<std::string, std::int64_t> class_ids;  // label text -> first-seen id
    std::vector<std::string> first_seen;

    bool have_record = !options.header;  // without a header the first record is data
    for (;;) {
      if (!have_record) {
        AIMASS_ASSIGN_OR_RETURN(bool more, reader.next(fields));
        if (!more) {
          break;
        }
      }
      have_record = false;
      auto where = [&] { return src + ":" + std::to_string(reader.line()) + ": "; };
      if (fields.size() != expected_fields) {
        return invalidArgument(where() + "has " + std::to_string(fields.size()) +
                               " fields, expected " + std::to_string(expected_fields) +
                               (options.header ? " (as in the header)" : " (as in the first row)"));
      }
      for (std::size_t index : feature_index) {
        float value = 0;
        if (auto problem = parseCsvFloat(fields[index], value)) {
          return invalidArgument(where() + "column " + csvQuote(names[index]) + ": " + *problem);
        }
        data->features_.push_back(value);
      }
      if (class_labels) {
        std::string_view text_label = csvTrim(fields[*label_index]);
        if (text_label.empty()) {
          return invalidArgument(where() + "column " + csvQuote(names[*label_index]) +
                                 ": the label is empty");
        }
        auto [it, inserted] = class_ids.try_emplace(std::string(text_label),
                                                    static_cast<std::int64_t>(class_ids.size()));
        if (inserted) {
          first_seen.push_back(it->first);
        }
        data->classes_.push_back(it->second);
      } else if (value_labels) {
        float value = 0;
        if (auto problem = parseCsvFloat(fields[*label_index], value)) {
          return invalidArgument(where() + "column " + csvQuote(names[*label_index]) + ": " +
                                 *problem);
        }
        data->values_.push_back(value);
      }
      ++data->rows_;
    }
    if (data->rows_ == 0) {
      return invalidArgument("CSV file " + csvQuote(src) + " has a header but no data rows");
    }

    DatasetSchema& schema = data->schema_;
    for (std::size_t index : feature_index) {
      schema.feature_names.push_back(names[index]);
    }
    schema.feature_dtype = DType::kFloat32;
    schema.row_shape = {static_cast<std::int64_t>(width)};
    if (class_labels) {
      // Order classes numerically when every label is an integer, else by text; then renumber.
      std::vector<std::pair<std::optional<std::int64_t>, std::string>> keyed;
      bool all_integers = true;
      for (const auto& name : first_seen) {
        auto number = parseInteger(name);
        all_integers = all_integers && number.has_value();
        keyed.emplace_back(number, name);
      }
      std::vector<std::size_t> order(first_seen.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (all_integers && *keyed[a].first != *keyed[b].first) {
          return *keyed[a].first < *keyed[b].first;
        }
        return keyed[a].second < keyed[b].second;
      });
      std::vector<std::int64_t> renumber(first_seen.size());
      for (std::size_t rank = 0; rank < order.size(); ++rank) {
        renumber[order[rank]] = static_cast<std::int64_t>(rank);
        schema.class_names.push_back(first_seen[order[rank]]);
      }
      for (auto& id : data->classes_) {
        id = renumber[static_cast<std::size_t>(id)];
      }
      schema.label_kind = LabelKind::kClass;
      schema.num_targets = 1;
    } else if (value_labels) {
      schema.label_kind = LabelKind::kValue;
      schema.num_targets = 1;
    } else {
      schema.label_kind = LabelKind::kNone;
      schema.num_targets = 0;
    }
    data->width_ = width;
    data->normalize(options.normalize);
    if (data->features_.capacity() > data->features_.size() + data->features_.size() / 4) {
      data->features_.shrink_to_fit();  // many blank lines made the estimate too big
    }
    data->fingerprint_ = fingerprint;
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  return data;
}

void CsvDataset::normalize(CsvNormalize how) {
  if (how == CsvNormalize::kNone) {
    return;
  }
  // Per column, in double: the statistics first, then one affine map, as scikit-learn's
  // StandardScaler and MinMaxScaler do (constant columns keep a scale of 1).
  const double n = static_cast<double>(rows_);
  for (std::size_t column = 0; column < width_; ++column) {
    double offset = 0, scale = 1;
    if (how == CsvNormalize::kStandardize) {
      double sum = 0;
      for (std::uint64_t r = 0; r < rows_; ++r) {
        sum += features_[r * width_ + column];
      }
      const double mean = sum / n;
      double squares = 0;
      for (std::uint64_t r = 0; r < rows_; ++r) {
        const double d = features_[r * width_ + column] - mean;
        squares += d * d;
      }
      const double stddev = std::sqrt(squares / n);
      offset = mean;
      scale = stddev > 0 ? stddev : 1;
    } else {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (std::uint64_t r = 0; r < rows_; ++r) {
        lo = std::min<double>(lo, features_[r * width_ + column]);
        hi = std::max<double>(hi, features_[r * width_ + column]);
      }
      offset = lo;
      scale = hi > lo ? hi - lo : 1;
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
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::memcpy(features + i * width_, features_.data() + rows[i] * width_,
                  width_ * sizeof(float));
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
