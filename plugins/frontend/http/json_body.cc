// SPDX-License-Identifier: Apache-2.0
#include "json_body.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

namespace aimass::plugins::frontend {

Expected<Poco::JSON::Object::Ptr> jsonObjectBody(const std::string& body, std::string_view what,
                                                 EmptyBody empty) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    if (empty == EmptyBody::kEmptyObject) {
      return Poco::JSON::Object::Ptr(new Poco::JSON::Object);
    }
    return invalidArgument("the body of " + std::string(what) +
                           " is empty; it must be a JSON object");
  }
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var parsed = parser.parse(body);
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) {
      return invalidArgument("the body of " + std::string(what) + " must be a JSON object");
    }
    return parsed.extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    return invalidArgument("the body of " + std::string(what) +
                           " is not valid JSON: " + e.displayText());
  }
}

}  // namespace aimass::plugins::frontend
