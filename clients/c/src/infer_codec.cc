// SPDX-License-Identifier: Apache-2.0
#include "infer_codec.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "client_failure.h"
#include "json_value.h"

namespace aimass::client::detail {
namespace {

template <typename T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
void store(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

float halfToFloat(std::uint16_t h) {
  int exponent = (h >> 10) & 0x1f;
  int mantissa = h & 0x3ff;
  float sign = (h & 0x8000) ? -1.0f : 1.0f;
  if (exponent == 0) {
    return sign * std::ldexp(static_cast<float>(mantissa), -24);
  }
  if (exponent == 31) {
    return mantissa ? std::numeric_limits<float>::quiet_NaN()
                    : sign * std::numeric_limits<float>::infinity();
  }
  return sign * std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25);
}

/// IEEE half of `f`, rounded to nearest even.
std::uint16_t floatToHalf(float f) {
  auto bits = std::bit_cast<std::uint32_t>(f);
  auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000);
  std::uint32_t magnitude = bits & 0x7fffffff;
  if (magnitude >= 0x7f800000) {  // inf or NaN
    return static_cast<std::uint16_t>(sign | 0x7c00 | (magnitude > 0x7f800000 ? 0x200 : 0));
  }
  if (magnitude >= 0x477ff000) {  // rounds past the largest half
    return static_cast<std::uint16_t>(sign | 0x7c00);
  }
  if (magnitude < 0x38800000) {                                    // subnormal half (or zero)
    float scaled = std::bit_cast<float>(magnitude) * 16777216.0f;  // 2^24
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(scaled)));
  }
  std::uint32_t rounded = magnitude + 0xfff + ((magnitude >> 13) & 1);
  return static_cast<std::uint16_t>(sign | ((rounded - 0x38000000) >> 13));
}

std::uint16_t floatToBf16(float f) {
  auto bits = std::bit_cast<std::uint32_t>(f);
  if ((bits & 0x7fffffff) > 0x7f800000) {
    return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  }
  return static_cast<std::uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

/// Appends the JSON values of a numeric input, flat and row-major.
void appendJsonData(std::string& out, const InputTensor& t) {
  std::string where = "input '" + t.name + "'";
  std::size_t size = aimass_client_datatype_size(t.type);
  const char* p = t.data.data();
  for (std::size_t i = 0; i < t.count; ++i, p += size) {
    if (i) {
      out += ',';
    }
    switch (t.type) {
      case AIMASS_CLIENT_BOOL:
        out += *p ? "true" : "false";
        break;
      case AIMASS_CLIENT_UINT8:
        appendJsonUnsigned(out, load<std::uint8_t>(p));
        break;
      case AIMASS_CLIENT_UINT16:
        appendJsonUnsigned(out, load<std::uint16_t>(p));
        break;
      case AIMASS_CLIENT_UINT32:
        appendJsonUnsigned(out, load<std::uint32_t>(p));
        break;
      case AIMASS_CLIENT_UINT64:
        appendJsonUnsigned(out, load<std::uint64_t>(p));
        break;
      case AIMASS_CLIENT_INT8:
        appendJsonInteger(out, load<std::int8_t>(p));
        break;
      case AIMASS_CLIENT_INT16:
        appendJsonInteger(out, load<std::int16_t>(p));
        break;
      case AIMASS_CLIENT_INT32:
        appendJsonInteger(out, load<std::int32_t>(p));
        break;
      case AIMASS_CLIENT_INT64:
        appendJsonInteger(out, load<std::int64_t>(p));
        break;
      case AIMASS_CLIENT_FP16:
        appendJsonNumber(out, halfToFloat(load<std::uint16_t>(p)), where);
        break;
      case AIMASS_CLIENT_BF16:
        appendJsonNumber(out, std::bit_cast<float>(std::uint32_t{load<std::uint16_t>(p)} << 16),
                         where);
        break;
      case AIMASS_CLIENT_FP32:
        appendJsonNumber(out, load<float>(p), where);
        break;
      case AIMASS_CLIENT_FP64:
        appendJsonNumber(out, load<double>(p), where);
        break;
      default:
        invalidArgument(where + ": no datatype");
    }
  }
}

/// Appends the BYTES elements of `t` (binary layout) as JSON strings.
void appendJsonStrings(std::string& out, const InputTensor& t) {
  const char* p = t.data.data();
  const char* end = p + t.data.size();
  bool first = true;
  while (p < end) {
    auto length = load<std::uint32_t>(p);
    p += 4;
    if (!first) {
      out += ',';
    }
    first = false;
    appendJsonString(out, std::string_view(p, length));
    p += length;
  }
}

void appendShape(std::string& out, const std::vector<std::int64_t>& shape) {
  out += '[';
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) {
      out += ',';
    }
    appendJsonInteger(out, shape[i]);
  }
  out += ']';
}

void appendParameter(std::string& out, const ParameterValue& value) {
  if (const bool* b = std::get_if<bool>(&value)) {
    out += *b ? "true" : "false";
  } else if (const std::int64_t* i = std::get_if<std::int64_t>(&value)) {
    appendJsonInteger(out, *i);
  } else if (const double* d = std::get_if<double>(&value)) {
    appendJsonNumber(out, *d, "a request parameter");
  } else {
    appendJsonString(out, std::get<std::string>(value));
  }
}

// ---- decoding ------------------------------------------------------------------------------

void flatten(const JsonValue& value, std::vector<const JsonValue*>& flat, int depth,
             const std::string& where) {
  if (value.type != JsonValue::Type::kArray) {
    flat.push_back(&value);
    return;
  }
  if (depth > kMaxJsonDepth) {
    protocolError(where + ": \"data\" nests too deep");
  }
  for (const auto& item : value.items) {
    flatten(item, flat, depth + 1, where);
  }
}

template <typename T>
void storeInteger(std::byte* p, const JsonValue& v, const std::string& where) {
  std::int64_t i = 0;
  if (v.type == JsonValue::Type::kNumber && v.is_int) {
    i = v.integer;
  } else if (v.type == JsonValue::Type::kNumber && v.number == std::floor(v.number) &&
             std::abs(v.number) < 9.2e18) {
    i = static_cast<std::int64_t>(v.number);
  } else if (v.type == JsonValue::Type::kBool) {
    i = v.boolean ? 1 : 0;
  } else {
    protocolError(where + ": a value is not an integer");
  }
  store<T>(p, static_cast<T>(i));
}

double floatingOf(const JsonValue& v, const std::string& where) {
  if (v.type == JsonValue::Type::kNull) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (v.type != JsonValue::Type::kNumber) {
    protocolError(where + ": a value is not a number");
  }
  return v.number;
}

void storeJsonValue(std::byte* p, aimass_client_datatype type, const JsonValue& v,
                    const std::string& where) {
  switch (type) {
    case AIMASS_CLIENT_BOOL:
      if (v.type != JsonValue::Type::kBool) {
        storeInteger<std::uint8_t>(p, v, where);
        *p = static_cast<std::byte>(*p != std::byte{0});
      } else {
        *p = static_cast<std::byte>(v.boolean ? 1 : 0);
      }
      return;
    case AIMASS_CLIENT_UINT8:
      return storeInteger<std::uint8_t>(p, v, where);
    case AIMASS_CLIENT_UINT16:
      return storeInteger<std::uint16_t>(p, v, where);
    case AIMASS_CLIENT_UINT32:
      return storeInteger<std::uint32_t>(p, v, where);
    case AIMASS_CLIENT_UINT64:
      return storeInteger<std::uint64_t>(p, v, where);
    case AIMASS_CLIENT_INT8:
      return storeInteger<std::int8_t>(p, v, where);
    case AIMASS_CLIENT_INT16:
      return storeInteger<std::int16_t>(p, v, where);
    case AIMASS_CLIENT_INT32:
      return storeInteger<std::int32_t>(p, v, where);
    case AIMASS_CLIENT_INT64:
      return storeInteger<std::int64_t>(p, v, where);
    case AIMASS_CLIENT_FP16:
      return store(p, floatToHalf(static_cast<float>(floatingOf(v, where))));
    case AIMASS_CLIENT_BF16:
      return store(p, floatToBf16(static_cast<float>(floatingOf(v, where))));
    case AIMASS_CLIENT_FP32:
      return store(p, static_cast<float>(floatingOf(v, where)));
    case AIMASS_CLIENT_FP64:
      return store(p, floatingOf(v, where));
    default:
      protocolError(where + ": no datatype");
  }
}

void decodeBytesElements(OutputTensor& out, std::string_view raw, const std::string& where) {
  std::size_t pos = 0;
  while (pos < raw.size()) {
    if (raw.size() - pos < 4) {
      protocolError(where + ": a BYTES length prefix runs past the data");
    }
    auto length = load<std::uint32_t>(raw.data() + pos);
    pos += 4;
    if (length > raw.size() - pos) {
      protocolError(where + ": a BYTES element of " + std::to_string(length) +
                    " bytes runs past the data");
    }
    out.elements.emplace_back(raw.substr(pos, length));
    pos += length;
  }
  if (out.elements.size() != out.count) {
    protocolError(where + ": " + std::to_string(out.elements.size()) +
                  " BYTES elements but the shape holds " + std::to_string(out.count));
  }
}

void decodeJsonData(OutputTensor& out, const JsonValue* data, const std::string& where) {
  if (!data) {
    protocolError(where + " has neither \"data\" nor \"binary_data_size\"");
  }
  // Not reserved from the shape: an answer's shape may claim far more than its data hold.
  std::vector<const JsonValue*> flat;
  flatten(*data, flat, 0, where);
  if (flat.size() != out.count) {
    protocolError(where + ": " + std::to_string(flat.size()) + " values but the shape holds " +
                  std::to_string(out.count));
  }
  if (out.type == AIMASS_CLIENT_BYTES) {
    out.elements.reserve(flat.size());
    for (const JsonValue* v : flat) {
      if (v->type != JsonValue::Type::kString) {
        protocolError(where + ": a BYTES value is not a string");
      }
      out.elements.push_back(v->text);
    }
    return;
  }
  std::size_t size = aimass_client_datatype_size(out.type);
  out.data.resize(flat.size() * size);
  for (std::size_t i = 0; i < flat.size(); ++i) {
    storeJsonValue(out.data.data() + i * size, out.type, *flat[i], where);
  }
}

/// Decodes one output entry, taking its binary data (if any) from `tail` at `*at`.
void decodeOutput(const JsonValue& entry, std::string_view tail, std::size_t* at,
                  OutputTensor& out) {
  const JsonValue* name = entry.get("name");
  if (!name || name->type != JsonValue::Type::kString) {
    protocolError("an output of the answer has no \"name\"");
  }
  out.name = name->text;
  std::string where = "output '" + out.name + "'";
  const JsonValue* datatype = entry.get("datatype");
  out.type = datatype && datatype->type == JsonValue::Type::kString
                 ? aimass_client_datatype_parse(datatype->text.c_str())
                 : AIMASS_CLIENT_INVALID_TYPE;
  if (out.type == AIMASS_CLIENT_INVALID_TYPE) {
    protocolError(where + " has no known \"datatype\"");
  }
  const JsonValue* shape = entry.get("shape");
  if (!shape || shape->type != JsonValue::Type::kArray) {
    protocolError(where + " has no \"shape\"");
  }
  for (const auto& d : shape->items) {
    if (!d.is_int || d.integer < 0) {
      protocolError(where + ": a \"shape\" dimension is not a non-negative integer");
    }
    out.shape.push_back(d.integer);
  }
  try {
    out.count = shapeCount(out.shape.data(), out.shape.size(), where);
  } catch (const ClientFailure& failure) {
    protocolError(failure.message);
  }
  const JsonValue* parameters = entry.get("parameters");
  const JsonValue* size = parameters ? parameters->get("binary_data_size") : nullptr;
  if (!size) {
    decodeJsonData(out, entry.get("data"), where);
    return;
  }
  if (!size->is_int || size->integer < 0 ||
      static_cast<std::uint64_t>(size->integer) > tail.size() - *at) {
    protocolError(where + ": binary_data_size runs past the answer's " +
                  std::to_string(tail.size()) + " bytes of binary data");
  }
  auto n = static_cast<std::size_t>(size->integer);
  std::string_view raw = tail.substr(*at, n);
  *at += n;
  out.binary = true;
  if (out.type == AIMASS_CLIENT_BYTES) {
    decodeBytesElements(out, raw, where);
    return;
  }
  if (n != out.count * aimass_client_datatype_size(out.type)) {
    protocolError(where + ": binary_data_size " + std::to_string(n) + " but the shape holds " +
                  std::to_string(out.count) + " " + aimass_client_datatype_name(out.type) +
                  " elements");
  }
  out.data.resize(n);
  if (n) {
    std::memcpy(out.data.data(), raw.data(), n);
  }
}

}  // namespace

std::size_t shapeCount(const std::int64_t* shape, std::size_t rank, std::string_view where) {
  if (rank && !shape) {
    invalidArgument(std::string(where) + ": the shape is NULL but its rank is " +
                    std::to_string(rank));
  }
  std::size_t count = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    if (shape[i] < 0) {
      invalidArgument(std::string(where) + ": shape dimension " + std::to_string(i) + " is " +
                      std::to_string(shape[i]));
    }
    auto d = static_cast<std::uint64_t>(shape[i]);
    if (d && count > (std::numeric_limits<std::size_t>::max() >> 4) / d) {
      invalidArgument(std::string(where) + ": the shape's element count overflows");
    }
    count *= d;
  }
  return count;
}

}  // namespace aimass::client::detail

using aimass::client::detail::appendJsonInteger;
using aimass::client::detail::appendJsonString;

void aimass_client_request::encode() {
  namespace d = aimass::client::detail;
  body.clear();
  has_binary = false;
  std::size_t binary_bytes = 0;
  for (const auto& t : inputs) {
    binary_bytes += t.data.size();
  }
  body.reserve(128 + inputs.size() * 96 + (binary ? binary_bytes : binary_bytes * 3));
  body += '{';
  if (has_id) {
    body += "\"id\":";
    appendJsonString(body, id);
    body += ',';
  }
  body += "\"inputs\":[";
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& t = inputs[i];
    body += i ? ",{\"name\":" : "{\"name\":";
    appendJsonString(body, t.name);
    body += ",\"datatype\":\"";
    body += aimass_client_datatype_name(t.type);
    body += "\",\"shape\":";
    d::appendShape(body, t.shape);
    if (binary) {
      body += ",\"parameters\":{\"binary_data_size\":";
      appendJsonInteger(body, static_cast<std::int64_t>(t.data.size()));
      body += "}}";
      has_binary = true;
    } else {
      body += ",\"data\":[";
      if (t.type == AIMASS_CLIENT_BYTES) {
        d::appendJsonStrings(body, t);
      } else {
        d::appendJsonData(body, t);
      }
      body += "]}";
    }
  }
  body += ']';
  if (!outputs.empty()) {
    body += ",\"outputs\":[";
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      body += i ? ",{\"name\":" : "{\"name\":";
      appendJsonString(body, outputs[i]);
      body += binary ? ",\"parameters\":{\"binary_data\":true}}"
                     : ",\"parameters\":{\"binary_data\":false}}";
    }
    body += ']';
  }
  bool ask_binary = binary && outputs.empty();
  if (!parameters.empty() || ask_binary) {
    body += ",\"parameters\":{";
    bool first = true;
    for (const auto& [key, value] : parameters) {
      if (!first) {
        body += ',';
      }
      first = false;
      appendJsonString(body, key);
      body += ':';
      d::appendParameter(body, value);
    }
    if (ask_binary) {
      body += first ? "\"binary_data_output\":true" : ",\"binary_data_output\":true";
    }
    body += '}';
  }
  body += '}';
  header_length = body.size();
  if (has_binary) {
    for (const auto& t : inputs) {
      body += t.data;
    }
  }
}

aimass_client_result aimass_client_result::decode(std::string_view body,
                                                  std::size_t header_length) {
  namespace d = aimass::client::detail;
  if (header_length > body.size()) {
    d::protocolError("Inference-Header-Content-Length " + std::to_string(header_length) +
                     " is past the " + std::to_string(body.size()) + "-byte answer");
  }
  d::JsonValue header = d::parseJson(body.substr(0, header_length), "the infer answer");
  if (header.type != d::JsonValue::Type::kObject) {
    d::protocolError("the infer answer is not a JSON object");
  }
  aimass_client_result result;
  if (const d::JsonValue* name = header.get("model_name");
      name && name->type == d::JsonValue::Type::kString) {
    result.model_name = name->text;
  }
  if (const d::JsonValue* version = header.get("model_version")) {
    if (version->type == d::JsonValue::Type::kString) {
      result.model_version = version->text;
    } else if (version->is_int) {
      result.model_version = std::to_string(version->integer);
    }
  }
  if (const d::JsonValue* id = header.get("id"); id && id->type == d::JsonValue::Type::kString) {
    result.id = id->text;
    result.has_id = true;
  }
  const d::JsonValue* outputs = header.get("outputs");
  if (!outputs || outputs->type != d::JsonValue::Type::kArray) {
    d::protocolError("the infer answer has no \"outputs\" array");
  }
  std::string_view tail = body.substr(header_length);
  std::size_t at = 0;
  result.outputs.resize(outputs->items.size());
  for (std::size_t i = 0; i < outputs->items.size(); ++i) {
    d::decodeOutput(outputs->items[i], tail, &at, result.outputs[i]);
  }
  return result;
}
