// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cstddef>
#include <string>

namespace aimass::testing {

/// The JSON object `text` holds; throws Poco's exception when it is not one (a test failure).
inline Poco::JSON::Object::Ptr parseObject(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

/// The output `name` of an Open Inference Protocol infer answer (null when it has none).
inline Poco::JSON::Object::Ptr inferOutput(const Poco::JSON::Object::Ptr& answer,
                                           const std::string& name) {
  Poco::JSON::Array::Ptr outputs = answer->getArray("outputs");
  for (std::size_t i = 0; outputs && i < outputs->size(); ++i) {
    Poco::JSON::Object::Ptr o = outputs->getObject(static_cast<unsigned>(i));
    if (o->getValue<std::string>("name") == name) {
      return o;
    }
  }
  return nullptr;
}

}  // namespace aimass::testing
