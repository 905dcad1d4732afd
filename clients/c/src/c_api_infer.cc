// SPDX-License-Identifier: Apache-2.0
// The C ABI of inference: requests, results, infer, and encode/decode without a server.
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "aimass_client.h"
#include "c_boundary.h"
#include "client_failure.h"
#include "client_handle.h"
#include "infer_codec.h"

using aimass::client::detail::encodePathSegment;
using aimass::client::detail::guarded;
using aimass::client::detail::HttpBody;
using aimass::client::detail::InputTensor;
using aimass::client::detail::invalidArgument;
using aimass::client::detail::ParameterValue;
using aimass::client::detail::require;
using aimass::client::detail::shapeCount;

namespace {

InputTensor& newInput(aimass_client_request* request, const char* name, const int64_t* shape,
                      size_t rank) {
  require(request, "the request");
  require(name, "the input name");
  if (!*name) {
    invalidArgument("an input name is empty");
  }
  for (const auto& input : request->inputs) {
    if (input.name == name) {
      invalidArgument("input '" + std::string(name) + "' is given twice");
    }
  }
  std::string where = "input '" + std::string(name) + "'";
  std::size_t count = shapeCount(shape, rank, where);
  InputTensor input;
  input.name = name;
  input.shape.assign(shape, shape + rank);
  input.count = count;
  request->inputs.push_back(std::move(input));
  return request->inputs.back();
}

void setParameter(aimass_client_request* request, const char* key, ParameterValue value) {
  require(request, "the request");
  require(key, "the parameter name");
  if (std::strcmp(key, "binary_data_output") == 0) {
    invalidArgument("parameter 'binary_data_output' is set by aimass_client_request_set_binary");
  }
  for (auto& [name, existing] : request->parameters) {
    if (name == key) {
      existing = std::move(value);
      return;
    }
  }
  request->parameters.emplace_back(key, std::move(value));
}

}  // namespace

extern "C" {

aimass_client_request* aimass_client_request_create(void) {
  return new (std::nothrow) aimass_client_request;
}

void aimass_client_request_free(aimass_client_request* request) { delete request; }

void aimass_client_request_clear(aimass_client_request* request) {
  if (!request) {
    return;
  }
  request->inputs.clear();
  request->outputs.clear();
  request->id.clear();
  request->has_id = false;
  request->parameters.clear();
  request->body.clear();
  request->header_length = 0;
  request->has_binary = false;
}

aimass_client_code aimass_client_request_add_input(aimass_client_request* request, const char* name,
                                                   aimass_client_datatype type,
                                                   const int64_t* shape, size_t rank,
                                                   const void* data, size_t byte_size,
                                                   aimass_client_error** error) {
  return guarded(error, [&] {
    std::size_t size = aimass_client_datatype_size(type);
    if (size == 0) {
      invalidArgument(
          "input '" + std::string(name ? name : "") + "': " +
          (type == AIMASS_CLIENT_BYTES
               ? std::string("BYTES inputs are added with "
                             "aimass_client_request_add_bytes_input")
               : "datatype " + std::to_string(static_cast<int>(type)) + " is not an OIP datatype"));
    }
    InputTensor& input = newInput(request, name, shape, rank);
    if (input.count * size != byte_size) {
      std::string message = "input '" + input.name + "': its shape holds " +
                            std::to_string(input.count) + " " + aimass_client_datatype_name(type) +
                            " elements (" + std::to_string(input.count * size) +
                            " bytes) but the data hold " + std::to_string(byte_size) + " bytes";
      request->inputs.pop_back();
      invalidArgument(message);
    }
    if (byte_size && !data) {
      request->inputs.pop_back();
      invalidArgument("input '" + std::string(name) + "': the data are NULL");
    }
    input.type = type;
    input.data.assign(static_cast<const char*>(data), byte_size);
    if (type == AIMASS_CLIENT_BOOL) {
      for (char& c : input.data) {
        c = c ? 1 : 0;
      }
    }
  });
}

aimass_client_code aimass_client_request_add_bytes_input(aimass_client_request* request,
                                                         const char* name, const int64_t* shape,
                                                         size_t rank, const char* const* elements,
                                                         const size_t* lengths, size_t count,
                                                         aimass_client_error** error) {
  return guarded(error, [&] {
    InputTensor& input = newInput(request, name, shape, rank);
    auto refuse = [&](const std::string& message) {
      request->inputs.pop_back();
      invalidArgument("input '" + std::string(name) + "': " + message);
    };
    if (input.count != count) {
      refuse("its shape holds " + std::to_string(input.count) + " elements but " +
             std::to_string(count) + " are given");
    }
    if (count && !elements) {
      refuse("the elements are NULL");
    }
    input.type = AIMASS_CLIENT_BYTES;
    for (std::size_t i = 0; i < count; ++i) {
      if (!elements[i]) {
        refuse("element " + std::to_string(i) + " is NULL");
      }
      std::size_t length = lengths ? lengths[i] : std::strlen(elements[i]);
      if (length > std::numeric_limits<std::uint32_t>::max()) {
        refuse("element " + std::to_string(i) + " is longer than 4 GiB");
      }
      auto prefix = static_cast<std::uint32_t>(length);
      char bytes[4];
      std::memcpy(bytes, &prefix, sizeof bytes);
      input.data.append(bytes, sizeof bytes);
      input.data.append(elements[i], length);
    }
  });
}

aimass_client_code aimass_client_request_add_output(aimass_client_request* request,
                                                    const char* name, aimass_client_error** error) {
  return guarded(error, [&] {
    require(request, "the request");
    require(name, "the output name");
    if (!*name) {
      invalidArgument("an output name is empty");
    }
    request->outputs.emplace_back(name);
  });
}

aimass_client_code aimass_client_request_set_id(aimass_client_request* request, const char* id,
                                                aimass_client_error** error) {
  return guarded(error, [&] {
    require(request, "the request");
    request->has_id = id != nullptr;
    request->id = id ? id : "";
  });
}

aimass_client_code aimass_client_request_set_binary(aimass_client_request* request, int binary) {
  if (!request) {
    return AIMASS_CLIENT_INVALID_ARGUMENT;
  }
  request->binary = binary != 0;
  return AIMASS_CLIENT_OK;
}

aimass_client_code aimass_client_request_set_timeout_ms(aimass_client_request* request,
                                                        long timeout_ms) {
  if (!request || timeout_ms < 0) {
    return AIMASS_CLIENT_INVALID_ARGUMENT;
  }
  request->timeout_ms = timeout_ms;
  return AIMASS_CLIENT_OK;
}

aimass_client_code aimass_client_request_set_parameter_string(aimass_client_request* request,
                                                              const char* key, const char* value,
                                                              aimass_client_error** error) {
  return guarded(error, [&] {
    require(value, "the parameter value");
    setParameter(request, key, std::string(value));
  });
}

aimass_client_code aimass_client_request_set_parameter_int64(aimass_client_request* request,
                                                             const char* key, int64_t value,
                                                             aimass_client_error** error) {
  return guarded(error, [&] { setParameter(request, key, std::int64_t{value}); });
}

aimass_client_code aimass_client_request_set_parameter_double(aimass_client_request* request,
                                                              const char* key, double value,
                                                              aimass_client_error** error) {
  return guarded(error, [&] { setParameter(request, key, value); });
}

aimass_client_code aimass_client_request_set_parameter_bool(aimass_client_request* request,
                                                            const char* key, int value,
                                                            aimass_client_error** error) {
  return guarded(error, [&] { setParameter(request, key, value != 0); });
}

aimass_client_code aimass_client_request_encode(aimass_client_request* request, const char** body,
                                                size_t* body_size, size_t* header_length,
                                                aimass_client_error** error) {
  return guarded(error, [&] {
    require(request, "the request");
    request->encode();
    if (body) {
      *body = request->body.data();
    }
    if (body_size) {
      *body_size = request->body.size();
    }
    if (header_length) {
      *header_length = request->header_length;
    }
  });
}

aimass_client_code aimass_client_infer(aimass_client* client, const char* model,
                                       const char* version, aimass_client_request* request,
                                       aimass_client_result** out, aimass_client_error** error) {
  return guarded(error, [&] {
    require(client, "the client");
    require(request, "the request");
    require(out, "the out pointer");
    *out = nullptr;
    require(model, "the model name");
    if (!*model) {
      invalidArgument("the model name is empty");
    }
    std::string path = "/v2/models/" + encodePathSegment(model);
    if (version && *version) {
      path += "/versions/" + encodePathSegment(version);
    }
    path += "/infer";
    request->encode();
    HttpBody body{request->body, request->has_binary, request->header_length};
    auto response = client->transport.send("POST", path, &body, request->timeout_ms, true);
    std::size_t header = response.has_header_length ? response.header_length : response.body.size();
    auto result =
        std::make_unique<aimass_client_result>(aimass_client_result::decode(response.body, header));
    *out = result.release();
  });
}

aimass_client_code aimass_client_result_decode(const char* body, size_t size, size_t header_length,
                                               aimass_client_result** out,
                                               aimass_client_error** error) {
  return guarded(error, [&] {
    require(out, "the out pointer");
    *out = nullptr;
    if (size) {
      require(body, "the body");
    }
    auto result = std::make_unique<aimass_client_result>(
        aimass_client_result::decode(std::string_view(body ? body : "", size), header_length));
    *out = result.release();
  });
}

void aimass_client_result_free(aimass_client_result* result) { delete result; }

const char* aimass_client_result_model_name(const aimass_client_result* result) {
  return result ? result->model_name.c_str() : "";
}
const char* aimass_client_result_model_version(const aimass_client_result* result) {
  return result ? result->model_version.c_str() : "";
}
const char* aimass_client_result_id(const aimass_client_result* result) {
  return result && result->has_id ? result->id.c_str() : nullptr;
}
size_t aimass_client_result_output_count(const aimass_client_result* result) {
  return result ? result->outputs.size() : 0;
}
const aimass_client_output* aimass_client_result_output(const aimass_client_result* result,
                                                        size_t index) {
  return result && index < result->outputs.size() ? &result->outputs[index] : nullptr;
}
const aimass_client_output* aimass_client_result_find_output(const aimass_client_result* result,
                                                             const char* name) {
  if (!result || !name) {
    return nullptr;
  }
  for (const auto& output : result->outputs) {
    if (output.name == name) {
      return &output;
    }
  }
  return nullptr;
}

const char* aimass_client_output_name(const aimass_client_output* output) {
  return output ? output->name.c_str() : "";
}
aimass_client_datatype aimass_client_output_datatype(const aimass_client_output* output) {
  return output ? output->type : AIMASS_CLIENT_INVALID_TYPE;
}
size_t aimass_client_output_rank(const aimass_client_output* output) {
  return output ? output->shape.size() : 0;
}
const int64_t* aimass_client_output_shape(const aimass_client_output* output) {
  return output && !output->shape.empty() ? output->shape.data() : nullptr;
}
size_t aimass_client_output_element_count(const aimass_client_output* output) {
  return output ? output->count : 0;
}
const void* aimass_client_output_data(const aimass_client_output* output, size_t* byte_size) {
  if (!output || output->type == AIMASS_CLIENT_BYTES) {
    if (byte_size) {
      *byte_size = 0;
    }
    return nullptr;
  }
  if (byte_size) {
    *byte_size = output->data.size();
  }
  // A zero-size output still answers a non-NULL pointer, so NULL always means "not numeric".
  static const std::max_align_t kEmpty{};
  return output->data.empty() ? static_cast<const void*>(&kEmpty) : output->data.data();
}
const char* aimass_client_output_bytes_at(const aimass_client_output* output, size_t index,
                                          size_t* length) {
  if (!output || output->type != AIMASS_CLIENT_BYTES || index >= output->elements.size()) {
    return nullptr;
  }
  if (length) {
    *length = output->elements[index].size();
  }
  return output->elements[index].c_str();
}
int aimass_client_output_binary(const aimass_client_output* output) {
  return output && output->binary ? 1 : 0;
}

}  // extern "C"
