// SPDX-License-Identifier: Apache-2.0
#include "interactions.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <string>
#include <unordered_map>
#include <utility>

#include "aimass/util/csv_text.h"

namespace aimass::plugins::dataset {

namespace {

/// Hash that lets the id maps look up string_views without building a string.
struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using IdMap = std::unordered_map<std::string, std::int64_t, TextHash, std::equal_to<>>;

/// The dense index of `id`, adding it (next index, text appended to `names`) when new.
std::int64_t indexOf(IdMap& map, std::vector<std::string>& names, std::string_view id) {
  auto it = map.find(id);
  if (it != map.end()) {
    return it->second;
  }
  const auto index = static_cast<std::int64_t>(names.size());
  names.emplace_back(id);
  map.emplace(names.back(), index);
  return index;
}

/// Parses a finite number in double precision (timestamps need more than a float's 24 bits).
std::optional<std::string> parseTimestamp(std::string_view field, double& out) {
  std::string_view s = csvTrim(field);
  if (s.empty()) {
    return std::string("is empty");
  }
  std::string_view digits = s.front() == '+' ? s.substr(1) : s;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return csvQuote(s) + " is not a number";
  }
  if (!std::isfinite(out)) {
    return csvQuote(s) + " is not finite";
  }
  return std::nullopt;
}

/// splitmix64: the per-user generator of holdout: random.
std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Every row of the file, parsed.
struct ParsedRows {
  std::vector<std::int64_t> users, items;
  std::vector<float> ratings;
  std::vector<double> timestamps;
  std::vector<std::string> user_names, item_names;
};

/// Marks the held-out rows: per user, `count` rows chosen by `holdout`, for users with more
/// than `count` rows. Linear in the rows plus the sort of each user's rows for kLast.
std::vector<bool> heldOut(const ParsedRows& parsed, const InteractionsOptions& options) {
  const std::size_t rows = parsed.users.size();
  std::vector<bool> test(rows, false);
  if (options.holdout == Holdout::kNone) {
    return test;
  }
  // Rows grouped by user, in file order (a counting sort).
  const std::size_t users = parsed.user_names.size();
  std::vector<std::size_t> start(users + 1, 0);
  for (auto u : parsed.users) {
    ++start[static_cast<std::size_t>(u) + 1];
  }
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<std::size_t> order(rows);
  std::vector<std::size_t> next(start.begin(), start.end() - 1);
  for (std::size_t r = 0; r < rows; ++r) {
    order[next[static_cast<std::size_t>(parsed.users[r])]++] = r;
  }
  const auto count = static_cast<std::size_t>(options.holdout_count);
  for (std::size_t u = 0; u < users; ++u) {
    auto begin = order.begin() + static_cast<std::ptrdiff_t>(start[u]);
    auto end = order.begin() + static_cast<std::ptrdiff_t>(start[u + 1]);
    const auto n = static_cast<std::size_t>(end - begin);
    if (n < count + 1) {
      continue;
    }
    if (options.holdout == Holdout::kLast) {
      // Stable: equal timestamps keep file order, so the later row counts as the later one.
      std::stable_sort(begin, end, [&](std::size_t a, std::size_t b) {
        return parsed.timestamps[a] < parsed.timestamps[b];
      });
      for (auto it = end - static_cast<std::ptrdiff_t>(count); it != end; ++it) {
        test[*it] = true;
      }
    } else {
      // A partial Fisher-Yates shuffle drawing `count` rows, seeded by (seed, user).
      std::uint64_t state = options.seed ^ (0xA24BAED4963EE407ull * (u + 1));
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t j = i + static_cast<std::size_t>(splitmix(state) % (n - i));
        std::swap(begin[static_cast<std::ptrdiff_t>(i)], begin[static_cast<std::ptrdiff_t>(j)]);
        test[begin[static_cast<std::ptrdiff_t>(i)]] = true;
      }
    }
  }
  return test;
}

/// The column index of `name` in the header, or an error listing the columns.
Expected<std::size_t> columnOf(const std::vector<std::string>& names, const std::string& name,
                               std::string_view role, const std::string& source) {
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    std::string columns;
    for (std::size_t i = 0; i < names.size() && i < 20; ++i) {
      columns += (i ? ", " : "") + names[i];
    }
    return invalidArgument(std::string(role) + " column " + csvQuote(name) + " is not in " +
                           csvQuote(source) + " (columns: " + columns + "); set `" +
                           std::string(role) + "_column` to the header's name");
  }
  return static_cast<std::size_t>(it - names.begin());
}

/// Reads every record of `text` into `parsed`; errors name source:line and the column.
Status parseRows(std::string_view text, const std::string& src, const InteractionsOptions& options,
                 ParsedRows& parsed) {
  CsvRecordReader reader(text, ',', src);
  std::vector<std::string_view> fields;
  AIMASS_ASSIGN_OR_RETURN(bool has_header, reader.next(fields));
  if (!has_header) {
    return invalidArgument("interactions file " + csvQuote(src) + " is empty");
  }
  std::vector<std::string> names;
  for (auto field : fields) {
    names.emplace_back(csvTrim(field));
  }
  AIMASS_ASSIGN_OR_RETURN(std::size_t user_at, columnOf(names, options.user_column, "user", src));
  AIMASS_ASSIGN_OR_RETURN(std::size_t item_at, columnOf(names, options.item_column, "item", src));
  std::optional<std::size_t> rating_at, time_at;
  if (options.rating_column) {
    AIMASS_ASSIGN_OR_RETURN(rating_at, columnOf(names, *options.rating_column, "rating", src));
  }
  if (options.timestamp_column) {
    AIMASS_ASSIGN_OR_RETURN(time_at, columnOf(names, *options.timestamp_column, "timestamp", src));
  }
  IdMap user_map, item_map;
  for (;;) {
    AIMASS_ASSIGN_OR_RETURN(bool more, reader.next(fields));
    if (!more) {
      break;
    }
    auto where = [&](std::size_t column) {
      return src + ":" + std::to_string(reader.line()) + ": column " + csvQuote(names[column]) +
             ": ";
    };
    if (fields.size() != names.size()) {
      return invalidArgument(src + ":" + std::to_string(reader.line()) + ": has " +
                             std::to_string(fields.size()) + " fields, expected " +
                             std::to_string(names.size()) + " (as in the header)");
    }
    const std::string_view user = csvTrim(fields[user_at]);
    const std::string_view item = csvTrim(fields[item_at]);
    if (user.empty()) {
      return invalidArgument(where(user_at) + "the user id is empty");
    }
    if (item.empty()) {
      return invalidArgument(where(item_at) + "the item id is empty");
    }
    if (rating_at) {
      float rating = 0;
      if (auto problem = parseCsvFloat(fields[*rating_at], rating)) {
        return invalidArgument(where(*rating_at) + "the rating " + *problem);
      }
      parsed.ratings.push_back(rating);
    }
    if (time_at) {
      double time = 0;
      if (auto problem = parseTimestamp(fields[*time_at], time)) {
        return invalidArgument(where(*time_at) + "the timestamp " + *problem);
      }
      parsed.timestamps.push_back(time);
    }
    parsed.users.push_back(indexOf(user_map, parsed.user_names, user));
    parsed.items.push_back(indexOf(item_map, parsed.item_names, item));
  }
  if (parsed.users.empty()) {
    return invalidArgument("interactions file " + csvQuote(src) +
                           " has a header but no interactions");
  }
  return okStatus();
}

}  // namespace

Expected<std::unique_ptr<InteractionsDataset>> InteractionsDataset::open(
    const InteractionsOptions& options) {
  std::string text;
  AIMASS_RETURN_IF_ERROR(readCsvFile(options.path, text));
  return parse(text, options.path.string(), options);
}

Expected<std::unique_ptr<InteractionsDataset>> InteractionsDataset::parse(
    std::string_view text, std::string_view source, const InteractionsOptions& options) {
  const std::string src(source);
  if (options.holdout == Holdout::kLast && !options.timestamp_column) {
    return invalidArgument(
        "holdout: last needs `timestamp_column` (the held-out rows are each "
        "user's latest); use holdout: random without timestamps");
  }
  if (options.holdout_count < 1) {
    return invalidArgument("holdout_count must be at least 1, got " +
                           std::to_string(options.holdout_count));
  }
  if (options.holdout == Holdout::kNone && options.part == InteractionsPart::kTest) {
    return invalidArgument(
        "part: test needs a holdout (`holdout: last` or `random`); with "
        "holdout: none every row is a training row");
  }
  // The fingerprint covers the bytes and every option that chooses or labels the rows.
  std::string identity = fnv1aHex(text);
  identity += "|" + options.user_column + "|" + options.item_column + "|" +
              options.rating_column.value_or("") + "|" + options.timestamp_column.value_or("") +
              "|" + std::to_string(static_cast<int>(options.holdout)) + "|" +
              std::to_string(options.holdout_count) + "|" +
              std::to_string(static_cast<int>(options.part)) + "|" + std::to_string(options.seed);
  if (text.starts_with("\xEF\xBB\xBF")) {
    text.remove_prefix(3);  // UTF-8 byte-order mark
  }
  std::unique_ptr<InteractionsDataset> data(new InteractionsDataset());
  Status status = guard("parsing " + csvQuote(src), [&]() -> Status {
    ParsedRows parsed;
    AIMASS_RETURN_IF_ERROR(parseRows(text, src, options, parsed));
    const std::vector<bool> test = heldOut(parsed, options);
    const bool ratings = options.rating_column.has_value();
    for (std::size_t r = 0; r < parsed.users.size(); ++r) {
      const bool keep = options.part == InteractionsPart::kAll ||
                        (options.part == InteractionsPart::kTest) == test[r];
      if (!keep) {
        continue;
      }
      data->users_.push_back(parsed.users[r]);
      data->items_.push_back(parsed.items[r]);
      if (ratings) {
        data->ratings_.push_back(parsed.ratings[r]);
      }
    }
    DatasetSchema& schema = data->schema_;
    schema.feature_names = {"user", "item"};
    schema.feature_dtype = DType::kInt64;
    schema.row_shape = {2};
    schema.label_kind = ratings ? LabelKind::kValue : LabelKind::kNone;
    schema.num_targets = ratings ? 1 : 0;
    schema.cardinalities = {static_cast<std::int64_t>(parsed.user_names.size()),
                            static_cast<std::int64_t>(parsed.item_names.size())};
    schema.id_names = {std::move(parsed.user_names), std::move(parsed.item_names)};
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  data->fingerprint_ = fnv1aHex(identity);
  return data;
}

Status InteractionsDataset::read(std::span<const std::uint64_t> rows, Batch& out) const {
  for (std::uint64_t row : rows) {
    if (row >= users_.size()) {
      return outOfRange("row " + std::to_string(row) + " is out of range: the dataset has " +
                        std::to_string(users_.size()) + " rows");
    }
  }
  return guard("dataset.interactions read", [&] {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kInt64, {n, 2});
    std::int64_t* features = out.features.data<std::int64_t>();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      features[2 * i] = users_[rows[i]];
      features[2 * i + 1] = items_[rows[i]];
    }
    if (schema_.label_kind == LabelKind::kValue) {
      out.labels.resize(DType::kFloat32, {n, 1});
      float* labels = out.labels.data<float>();
      for (std::size_t i = 0; i < rows.size(); ++i) {
        labels[i] = ratings_[rows[i]];
      }
    } else if (out.labels.raw() != nullptr || out.labels.dtype() == DType::kBytes) {
      out.labels = Tensor();
    }
    if (out.lengths.raw() != nullptr || out.lengths.dtype() == DType::kBytes) {
      out.lengths = Tensor();
    }
  });
}

}  // namespace aimass::plugins::dataset
