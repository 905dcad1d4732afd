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
  } else {
    json.key("categories").beginArray();
    for (const auto& category : feature.categories) {
      json.value(category);
    }
    json.endArray().key("complete").value(feature.complete);
  }
  json.endObject();
}

}  // namespace

std::string dataProfileJson(const DataProfile& profile) {
  JsonWriter json;
  json.beginObject().key("rows").value(profile.rows).key("features").beginArray();
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
