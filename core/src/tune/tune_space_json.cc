// SPDX-License-Identifier: Apache-2.0
// A study's search space as JSON and back (the study record, `aimass tune show`).
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <iterator>

#include "aimass/util/json_writer.h"
#include "tune/tune_space.h"

namespace aimass::core {
std::string tuneSpaceJson(const std::vector<TuneDimension>& dimensions) {
  JsonWriter json;
  writeTuneSpace(json, dimensions);
  return json.str();
}

void writeTuneSpace(JsonWriter& json, const std::vector<TuneDimension>& dimensions) {
  json.beginArray();
  for (const auto& d : dimensions) {
    json.beginObject().key("key").value(d.key).key("kind").value(tuneKindName(d.kind));
    json.key("param_type").value(paramTypeName(d.param_type));
    if (d.kind == TuneDimension::Kind::kChoice) {
      json.key("choices").beginArray();
      for (const auto& c : d.choices) {
        json.value(c);
      }
      json.endArray();
    } else {
      json.key("low").value(d.low).key("high").value(d.high);
    }
    if (d.parent) {
      json.key("when").beginObject().key("dimension").value(std::uint64_t{*d.parent});
      json.key("choices").beginArray();
      for (auto c : d.parent_choices) {
        json.value(std::uint64_t{c});
      }
      json.endArray().endObject();
    }
    json.endObject();
  }
  json.endArray();
}

Expected<std::vector<TuneDimension>> parseTuneSpaceJson(const std::string& text) {
  std::vector<TuneDimension> dimensions;
  Status status = guard("reading a study's search space", [&]() -> Status {
    Poco::JSON::Parser parser;
    auto array = parser.parse(text).extract<Poco::JSON::Array::Ptr>();
    for (std::size_t i = 0; i < array->size(); ++i) {
      auto o = array->getObject(static_cast<unsigned>(i));
      TuneDimension d;
      d.key = o->getValue<std::string>("key");
      const auto dot = d.key.find('.');
      d.node = d.key.substr(0, dot);
      d.param = dot == std::string::npos ? std::string() : d.key.substr(dot + 1);
      const std::string kind = o->getValue<std::string>("kind");
      const auto parsed = tuneKindFromName(kind);
      if (!parsed) {
        return dataLoss("the study's space has an unknown kind '" + kind + "'");
      }
      d.kind = *parsed;
      const std::string param_type = o->getValue<std::string>("param_type");
      bool known = false;
      for (int t = 0; t <= static_cast<int>(ParamType::kJson); ++t) {
        if (paramTypeName(static_cast<ParamType>(t)) == param_type) {
          d.param_type = static_cast<ParamType>(t);
          known = true;
        }
      }
      if (!known) {
        return dataLoss("the study's space has an unknown parameter type '" + param_type + "'");
      }
      if (d.kind == TuneDimension::Kind::kChoice) {
        auto choices = o->getArray("choices");
        for (std::size_t k = 0; choices && k < choices->size(); ++k) {
          d.choices.push_back(choices->getElement<std::string>(static_cast<unsigned>(k)));
        }
      } else {
        d.low = o->getValue<double>("low");
        d.high = o->getValue<double>("high");
      }
      if (auto when = o->getObject("when")) {
        d.parent = when->getValue<std::size_t>("dimension");
        auto choices = when->getArray("choices");
        for (std::size_t k = 0; choices && k < choices->size(); ++k) {
          d.parent_choices.push_back(choices->getElement<std::size_t>(static_cast<unsigned>(k)));
        }
      }
      dimensions.push_back(std::move(d));
    }
    return Status();
  });
  if (!status.ok()) {
    return status;
  }
  return dimensions;
}

}  // namespace aimass::core
