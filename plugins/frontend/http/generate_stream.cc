// SPDX-License-Identifier: Apache-2.0
// POST /v2/models/{model}[/versions/{version}]/generate_stream: an OIP infer request whose
// answer is a stream of server-sent events, one per piece the model produces.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "http_connection.h"
#include "http_frontend.h"
#include "http_server.h"
#include "infer_codec.h"
#include "json_body.h"

namespace aimass::plugins::frontend {
namespace {

/// `data: <json>` as one server-sent event, of type `event` unless empty.
std::string sseEvent(std::string_view event, std::string_view json) {
  std::string out;
  out.reserve(json.size() + event.size() + 16);
  if (!event.empty()) {
    out.append("event: ").append(event).append("\n");
  }
  out.append("data: ").append(json).append("\n\n");
  return out;
}

/// The outputs of `selected` (all when empty) that `piece` holds; a piece may hold only some.
std::vector<std::string> presentOutputs(const std::vector<std::string>& selected,
                                        const TensorMap& piece) {
  std::vector<std::string> out;
  for (const auto& name : selected) {
    if (piece.find(name) != nullptr) {
      out.push_back(name);
    }
  }
  return out;
}

}  // namespace

void OipRouter::generateStream(const HttpRequest& request, HttpResponse& response) const {
  auto pinned = pinOrAnswer(request, response);
  if (!pinned) {
    return;
  }
  const ServedModel& served = pinned->served();
  auto decoded = decodeInferRequest(request.body, served.model->schema(), decodeOptions(request));
  if (decoded.ok() && (decoded->binary_data_output || !decoded->output_binary.empty())) {
    decoded = Status(StatusCode::kInvalidArgument,
                     "generate_stream answers JSON events only: drop the binary_data parameters");
  }
  if (!decoded.ok()) {
    pinned->countFailure(InferFailure::kInvalid);
    jsonError(response, httpStatusFor(decoded.status()), decoded.status().message());
    return;
  }
  // The head goes out with the first piece, so a request refused before it gets a plain JSON
  // error with its status. Without a stream (a handler run on an event loop) the events are
  // collected into one body.
  HttpStream* stream = HttpStream::current();
  HttpResponse head;
  head.content_type = "text/event-stream";
  std::string collected;
  Status encode_error;
  auto send = [&](std::string event) {
    if (stream == nullptr) {
      collected += event;
      return true;
    }
    if (!stream->started() && !stream->start(head)) {
      return false;
    }
    return stream->write(event);
  };
  auto emit = [&](const TensorMap& piece) {
    std::vector<std::string> selected = presentOutputs(decoded->outputs, piece);
    if (!decoded->outputs.empty() && selected.empty()) {
      return true;  // none of what the client asked for in this piece
    }
    auto json = encodeInferResponse(served.name, served.version, decoded->id, piece, selected);
    if (!json.ok()) {
      encode_error = json.status();
      return false;
    }
    return send(sseEvent("", *json));
  };
  InferFailure failure = InferFailure::kBackend;
  Status predicted = pinned->inferStream(decoded->inputs, decoded->options, emit, &failure);
  if (predicted.ok() && !encode_error.ok()) {
    predicted = encode_error;
  }
  const bool started = stream == nullptr ? !collected.empty() : stream->started();
  if (!predicted.ok() && !started) {
    inferError(served, predicted, failure, response);
    return;
  }
  std::string last;
  if (predicted.ok()) {
    last = sseEvent("end", "{}");
  } else {
    const bool named = predicted.message().rfind("model '", 0) == 0;
    last =
        sseEvent("error", errorBody(named ? predicted.message()
                                          : "model '" + served.name + "': " + predicted.message()));
  }
  if (stream == nullptr) {
    response.status = 200;
    response.content_type = head.content_type;
    response.body = std::move(collected) + last;
    return;
  }
  if (!stream->started() && !stream->start(head)) {
    return;
  }
  stream->write(last);
}

}  // namespace aimass::plugins::frontend
