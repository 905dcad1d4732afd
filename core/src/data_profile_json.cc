// SPDX-License-Identifier: Apache-2.0
#include "data_profile_json.h"

#include "aimass/util/json_writer.h"
#include "aimass/util/number_text.h"

namespace aimass::core {
namespace {

void writeFeature(JsonWriter& json, const FeatureProfile& feature) {
  const bool number = feature.kind == FeatureProfile::Kind::kNumber;
  json.beginObject().key("name").value(feature.name);
  json.key("type").value(number ? "number" : "category");
  json.key("present").value(feature.present).key("missing").value(feature.missing);
  json.key("missing_rate").value(feature.missingRate());
  if (number) {
    json.key("min").value(feature.min).key("max").value(feature.max);
    json.key("quantiles").beginObject();
    for (std::size_t i = 0; i < kProfileQuantiles.size(); ++i) {
      json.key(formatNumber(kProfileQuantiles[i])).value(feature.quantiles[i]);
    }
    json.endObject();
    if (!feature.percentiles.empty()) {  // format 2
      json.key("mean").value(feature.mean).key("std").value(feature.stddev);
      json.key("sample_size").value(feature.sample_size).key("percentiles").beginArray();
      for (double p : feature.percentiles) {
        json.value(p);
      }
      json.endArray();
    }
  } else {
    json.key("categories").beginArray();
    for (const auto& category : feature.categories) {
      json.value(category);
    }
    json.endArray().key("complete").value(feature.complete);
    if (!feature.category_counts.empty()) {  // format 2
      json.key("counts").beginArray();
      for (std::uint64_t count : feature.category_counts) {
        json.value(count);
      }
      json.endArray();
    }
  }
  json.endObject();
}

}  // namespace

std::string dataProfileJson(const DataProfile& profile) {
  JsonWriter json;
  json.beginObject().key("format").value(static_cast<std::int64_t>(profile.format));
  json.key("rows").value(profile.rows);
  json.key("outlier_scores").value(profile.outlier.has_value()).key("features").beginArray();
  for (const auto& feature : profile.features) {
    writeFeature(json, feature);
  }
  json.endArray().endObject();
  std::string text = json.str();
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  return text;
}

}  // namespace aimass::core
