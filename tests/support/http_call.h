// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <cstdint>
#include <istream>
#include <string>

#include "http_exchange_log.h"

namespace aimass::testing {

/// The binary tensor data extension's header: the length of a body's leading JSON.
inline constexpr const char* kInferenceHeaderLength = "Inference-Header-Content-Length";

/// Records one exchange a test made with Poco (recordHttpExchange: only when
/// $AIMASS_HTTP_EXCHANGE_LOG is set), for the check of every recorded exchange against
/// docs/openapi.yaml (tests/support/openapi_contract.h).
inline void recordPocoExchange(const Poco::Net::HTTPRequest& request, const std::string& body,
                               const Poco::Net::HTTPResponse& response,
                               const std::string& response_body) {
  recordHttpExchange({.method = request.getMethod(),
                      .target = request.getURI(),
                      .request_content_type = request.getContentType(),
                      .request_body = body,
                      .status = static_cast<int>(response.getStatus()),
                      .response_content_type = response.getContentType(),
                      .response_body = response_body,
                      .request_header_length = request.get(kInferenceHeaderLength, ""),
                      .response_header_length = response.get(kInferenceHeaderLength, "")});
}

/// An HTTP answer: status and body.
struct HttpReply {
  int status = 0;
  std::string body;
};

/// One HTTP/1.1 request to 127.0.0.1:`port` (a JSON body when `body` is not empty, an
/// X-API-Key header when `api_key` is not empty); needs Poco::Net linked. Every request but
/// GET and HEAD says Content-Type: application/json, body or not, as a frontend without
/// credentials requires of the routes that change the server (docs/security.md). The exchange
/// is recorded (recordPocoExchange).
inline HttpReply httpCall(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = "", const std::string& api_key = "") {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!api_key.empty()) {
    request.set("X-API-Key", api_key);
  }
  if (!body.empty() || (method != "GET" && method != "HEAD")) {
    request.setContentType("application/json");
  }
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpReply reply;
  reply.status = static_cast<int>(response.getStatus());
  Poco::StreamCopier::copyToString(in, reply.body);
  recordPocoExchange(request, body, response, reply.body);
  return reply;
}

}  // namespace aimass::testing
