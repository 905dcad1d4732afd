// SPDX-License-Identifier: Apache-2.0
#include "series.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "aimass/util/csv_text.h"

namespace aimass::plugins::dataset {

namespace {

/// Days from 1970-01-01 to the proleptic Gregorian date y-m-d (Howard Hinnant's algorithm).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// Reads exactly `digits` decimal digits at `pos`.
bool readDigits(std::string_view s, std::size_t& pos, std::size_t digits, unsigned& out) {
  if (pos + digits > s.size()) {
    return false;
  }
  out = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    out = out * 10 + static_cast<unsigned>(c - '0');
  }
  pos += digits;
  return true;
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

std::string layoutText(const SeriesOptions& o) {
  std::string out = o.time_column + ";" + joinNames(o.target_columns) + ";" +
                    joinNames(o.covariate_columns) + ";";
  for (double v : {static_cast<double>(o.window), static_cast<double>(o.horizon),
                   static_cast<double>(o.stride), static_cast<double>(o.part),
                   o.validation_fraction, o.test_fraction}) {
    out += std::to_string(v) + ";";
  }
  return out;
}

}  // namespace

std::optional<double> SeriesDataset::parseIsoTime(std::string_view s) {
  std::size_t pos = 0;
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!readDigits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' ||
      !readDigits(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-' ||
      !readDigits(s, pos, 2, day)) {
    return std::nullopt;
  }
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] ||
      (month == 2 && day == 29 && !leap)) {
    return std::nullopt;
  }
  double fraction = 0;
  std::int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    ++pos;
    if (!readDigits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' ||
        !readDigits(s, pos, 2, minute)) {
      return std::nullopt;
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!readDigits(s, pos, 2, second)) {
        return std::nullopt;
      }
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        std::size_t begin = ++pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          fraction += (s[pos] - '0') * std::pow(10.0, -static_cast<double>(pos - begin + 1));
          ++pos;
        }
        if (pos == begin) {
          return std::nullopt;
        }
      }
    }
    if (hour > 23 || minute > 59 || second > 60) {
      return std::nullopt;
    }
    if (pos < s.size() && s[pos] == 'Z') {
      ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
      const int sign = s[pos++] == '-' ? -1 : 1;
      unsigned oh = 0, om = 0;
      if (!readDigits(s, pos, 2, oh)) {
        return std::nullopt;
      }
      if (pos < s.size() && s[pos] == ':') {
        ++pos;
      }
      if (!readDigits(s, pos, 2, om) || oh > 23 || om > 59) {
        return std::nullopt;
      }
      offset = sign * static_cast<std::int64_t>(oh * 3600 + om * 60);
    }
  }
  if (pos != s.size()) {
    return std::nullopt;
  }
  const std::int64_t seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 +
                               minute * 60 + second - offset;
  return static_cast<double>(seconds) + fraction;
}

Expected<std::unique_ptr<SeriesDataset>> SeriesDataset::open(const SeriesOptions& options) {
  if (options.window < 1 || options.horizon < 1 || options.stride < 1) {
    return invalidArgument("window, horizon and stride must be at least 1");
  }
  if (!(options.validation_fraction >= 0 && options.test_fraction >= 0 &&
        options.validation_fraction + options.test_fraction < 1)) {
    return invalidArgument("validation_fraction and test_fraction must be at least 0 and sum "
                           "to less than 1");
  }
  if (options.target_columns.empty()) {
    return invalidArgument("target_columns names no column; name the series to forecast");
  }
  std::error_code ec;
  const auto file = std::filesystem::status(options.path, ec);
  if (!ec && std::filesystem::exists(file) && !std::filesystem::is_regular_file(file) &&
      !std::filesystem::is_directory(file)) {
    return invalidArgument("series path " + csvQuote(options.path.string()) +
                           " is not a regular file");
  }
  std::string text;
  AIMASS_RETURN_IF_ERROR(readCsvFile(options.path, text));
  std::unique_ptr<SeriesDataset> data(new SeriesDataset());
  Status status = guard("dataset.series", [&]() -> Status {
    AIMASS_RETURN_IF_ERROR(data->parse(text, options));
    return data->layOut(options);
  });
  if (!status.ok()) {
    return status;
  }
  data->fingerprint_ = fnv1aHex(fnv1aHex(text) + layoutText(options));
  return data;
}

Status SeriesDataset::parse(std::string_view text, const SeriesOptions& options) {
  const std::string src = options.path.string();
  CsvRecordReader reader(csvWithoutByteOrderMark(text), ',', src);
  std::vector<std::string_view> fields;
  AIMASS_ASSIGN_OR_RETURN(std::vector<std::string> names, readCsvHeader(reader, src));
  std::vector<std::size_t> used;
  auto column = [&](const std::string& name, const char* role) -> Expected<std::size_t> {
    AIMASS_ASSIGN_OR_RETURN(std::size_t index, csvColumnIndex(names, name, role, src));
    if (std::find(used.begin(), used.end(), index) != used.end()) {
      return invalidArgument("column " + csvQuote(name) + " is named twice (time, targets and "
                             "covariates must be different columns)");
    }
    used.push_back(index);
    return index;
  };
  AIMASS_ASSIGN_OR_RETURN(std::size_t time_index, column(options.time_column, "time"));
  std::vector<std::size_t> value_index;
  for (const auto& name : options.target_columns) {
    AIMASS_ASSIGN_OR_RETURN(std::size_t index, column(name, "target"));
    value_index.push_back(index);
    schema_.feature_names.push_back(name);
  }
  for (const auto& name : options.covariate_columns) {
    AIMASS_ASSIGN_OR_RETURN(std::size_t index, column(name, "covariate"));
    value_index.push_back(index);
    schema_.feature_names.push_back(name);
  }
  width_ = value_index.size();
  targets_ = options.target_columns.size();

  std::optional<bool> dates;  // whether times are dates (else numbers), from the first row
  double previous_time = 0;
  std::size_t previous_line = 0;
  std::string previous_text;
  for (;;) {
    AIMASS_ASSIGN_OR_RETURN(bool more, reader.next(fields));
    if (!more) {
      break;
    }
    const std::size_t line = reader.line();
    const std::string where = src + ":" + std::to_string(line) + ": ";
    if (fields.size() != names.size()) {
      return invalidArgument(where + "has " + std::to_string(fields.size()) +
                             " fields, expected " + std::to_string(names.size()) +
                             " (as in the header)");
    }
    const std::string_view time_text = csvTrim(fields[time_index]);
    double time = 0;
    std::optional<double> iso = parseIsoTime(time_text);
    if (!iso) {
      float number = 0;
      if (parseCsvFloat(time_text, number)) {
        return invalidArgument(where + "column " + csvQuote(options.time_column) + ": " +
                               csvQuote(time_text) +
                               " is neither a number nor an ISO-8601 date or time");
      }
      std::from_chars(time_text.data() + (time_text.front() == '+' ? 1 : 0),
                      time_text.data() + time_text.size(), time);
    } else {
      time = *iso;
    }
    if (!dates) {
      dates = iso.has_value();
    } else if (*dates != iso.has_value()) {
      return invalidArgument(where + "column " + csvQuote(options.time_column) + ": " +
                             csvQuote(time_text) + " is " + (iso ? "a date" : "a number") +
                             " but the times before it are " + (iso ? "numbers" : "dates"));
    }
    if (previous_line != 0 && time <= previous_time) {
      return invalidArgument(
          where + "time " + csvQuote(time_text) +
          (time == previous_time ? " repeats the time of line " + std::to_string(previous_line)
                                 : " is earlier than line " + std::to_string(previous_line) +
                                       "'s " + csvQuote(previous_text) +
                                       "; the rows must be in increasing time order (sort the "
                                       "file)"));
    }
    previous_time = time;
    previous_line = line;
    previous_text = std::string(time_text);
    for (std::size_t index : value_index) {
      float value = 0;
      if (auto problem = parseCsvFloat(fields[index], value)) {
        return invalidArgument(where + "column " + csvQuote(names[index]) + ": " + *problem);
      }
      values_.push_back(value);
    }
    ++series_rows_;
  }
  if (series_rows_ == 0) {
    return invalidArgument("CSV file " + csvQuote(src) + " has a header but no data rows");
  }
  return Status();
}

Status SeriesDataset::layOut(const SeriesOptions& options) {
  const std::uint64_t n = series_rows_;
  const auto tests = static_cast<std::uint64_t>(
      std::llround(static_cast<double>(n) * options.test_fraction));
  const auto validations = static_cast<std::uint64_t>(
      std::llround(static_cast<double>(n) * options.validation_fraction));
  const std::uint64_t train_end = n - std::min(n, tests + validations);
  const std::uint64_t validation_end = n - tests;
  std::uint64_t begin = 0, end = n;
  const char* part = "all";
  switch (options.part) {
    case SeriesPart::kTrain:
      end = train_end;
      part = "train";
      break;
    case SeriesPart::kValidation:
      begin = train_end;
      end = validation_end;
      part = "validation";
      break;
    case SeriesPart::kTest:
      begin = validation_end;
      part = "test";
      break;
    case SeriesPart::kAll:
      break;
  }
  window_ = static_cast<std::uint64_t>(options.window);
  horizon_ = static_cast<std::uint64_t>(options.horizon);
  stride_ = static_cast<std::uint64_t>(options.stride);
  first_target_ = std::max(begin, window_);
  if (first_target_ + horizon_ > end) {
    return invalidArgument("the " + std::string(part) + " part of " +
                           csvQuote(options.path.string()) + " (rows " + std::to_string(begin) +
                           ".." + std::to_string(end) + " of " + std::to_string(n) +
                           ") holds no window: one needs " + std::to_string(window_) +
                           " input rows before " + std::to_string(horizon_) +
                           " target rows; use a longer series, a larger fraction or a smaller "
                           "window or horizon");
  }
  rows_ = (end - horizon_ - first_target_) / stride_ + 1;
  schema_.feature_dtype = DType::kFloat32;
  schema_.row_shape = {options.window, static_cast<std::int64_t>(width_)};
  schema_.label_kind = LabelKind::kValue;
  schema_.num_targets = static_cast<std::int64_t>(horizon_ * targets_);
  return Status();
}

Status SeriesDataset::read(std::span<const std::uint64_t> rows, Batch& out) const {
  for (std::uint64_t row : rows) {
    if (row >= rows_) {
      return outOfRange("row " + std::to_string(row) + " is out of range: the dataset has " +
                        std::to_string(rows_) + " windows");
    }
  }
  return guard("dataset.series read", [&] {
    const auto n = static_cast<std::int64_t>(rows.size());
    const std::size_t in = window_ * width_, targets = horizon_ * targets_;
    out.features.resize(DType::kFloat32,
                        {n, static_cast<std::int64_t>(window_), static_cast<std::int64_t>(width_)});
    out.labels.resize(DType::kFloat32, {n, static_cast<std::int64_t>(targets)});
    float* x = out.features.data<float>();
    float* y = out.labels.data<float>();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::uint64_t t0 = first_target_ + rows[i] * stride_;
      std::memcpy(x + i * in, values_.data() + (t0 - window_) * width_, in * sizeof(float));
      for (std::uint64_t h = 0; h < horizon_; ++h) {
        std::memcpy(y + i * targets + h * targets_, values_.data() + (t0 + h) * width_,
                    targets_ * sizeof(float));
      }
    }
    if (out.lengths.raw() != nullptr || out.lengths.dtype() == DType::kBytes) {
      out.lengths = Tensor();
    }
  });
}

}  // namespace aimass::plugins::dataset
