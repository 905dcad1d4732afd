// SPDX-License-Identifier: Apache-2.0
#include "parsed_json_writer.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <string>

namespace aimass::core {

void writeParsedJson(JsonWriter& json, const Poco::Dynamic::Var& value) {
  if (value.isEmpty()) {
    json.null();
  } else if (value.type() == typeid(Poco::JSON::Object::Ptr)) {
    json.beginObject();
    for (const auto& [key, member] : *value.extract<Poco::JSON::Object::Ptr>()) {
      json.key(key);
      writeParsedJson(json, member);
    }
    json.endObject();
  } else if (value.type() == typeid(Poco::JSON::Array::Ptr)) {
    json.beginArray();
    for (const auto& element : *value.extract<Poco::JSON::Array::Ptr>()) {
      writeParsedJson(json, element);
    }
    json.endArray();
  } else if (value.isString()) {
    json.value(value.convert<std::string>());
  } else if (value.isBoolean()) {
    json.value(value.convert<bool>());
  } else if (value.isInteger()) {
    json.value(value.convert<std::int64_t>());
  } else {
    json.value(value.convert<double>());
  }
}

}  // namespace aimass::core
