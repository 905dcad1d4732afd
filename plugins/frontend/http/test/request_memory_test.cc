// SPDX-License-Identifier: Apache-2.0
// A hostile request body costs the serving frontend memory in proportion to what the model
// accepts (issue 12), end to end: a real HttpFrontend on 127.0.0.1, bodies sent over a socket,
// and the most heap the whole process held while answering (allocation_counter.h counts every
// thread). decoder_memory_test.cc checks the decoders alone, case by case.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <string_view>

#include "aimass/core/host_services.h"
#include "allocation_counter.h"
#include "fake_models.h"
#include "http_frontend.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;
using testing::heapBytesInUse;
using testing::heapPeakBytes;
using testing::resetHeapPeak;

constexpr std::size_t kBody = 16 << 20;

/// Sends one request over a new connection and returns everything the server answered.
std::string sendAndReadAll(std::uint16_t port, std::string_view request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    while (!request.empty()) {
      const ssize_t n = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        break;
      }
      request.remove_prefix(static_cast<std::size_t>(n));
    }
    timeval patience{20, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
    char chunk[4096];
    for (ssize_t n; (n = ::recv(fd, chunk, sizeof(chunk), 0)) > 0;) {
      answer.append(chunk, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

/// An infer request for the [-1, 2] classifier declaring shape [1, 2], with `data` as given.
std::string inferRequest(const std::string& data) {
  const std::string body = R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":)" +
                           data + "}]}";
  return "POST /v2/models/clf/infer HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// `count` copies of `item`, comma-separated, in a list.
std::string listOf(std::string_view item, std::size_t count) {
  std::string out = "[";
  out.reserve(count * (item.size() + 1) + 2);
  for (std::size_t i = 0; i < count; ++i) {
    out.append(i ? "," : "").append(item);
  }
  return out + "]";
}

class RequestMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    host_.servingRuntime().add("clf", "1", std::make_shared<TwoFeatureClassifier>());
    HttpFrontendOptions options;
    options.port = 0;
    options.event_loops = 1;
    options.threads = 1;
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    const auto endpoint = frontend_->endpoint();
    port_ = static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }
  void TearDown() override { frontend_->stop(); }

  /// The answer to `request`, and the most heap the process held meanwhile beyond what it
  /// held before (the request itself, built by the test, is already counted in the base).
  std::string answer(const std::string& request, long& peak) {
    resetHeapPeak();
    const long base = heapBytesInUse();
    std::string reply = sendAndReadAll(port_, request);
    peak = heapPeakBytes() - base;
    return reply;
  }

  core::HostServices host_{".", 1};
  std::unique_ptr<HttpFrontend> frontend_;
  std::uint16_t port_ = 0;
};

TEST_F(RequestMemoryTest, JunkInALegitimateShapeCostsLittleMoreThanTheBody) {
  // 16 MiB of values for a request that declares two. Before the decoders were bounded, the
  // JSON index alone held 480 MiB for the empty lists and 960 MiB for the numbers.
  for (const std::string& data : {listOf("[]", kBody / 3), listOf("0", kBody / 2)}) {
    long peak = 0;
    const std::string reply = answer(inferRequest(data), peak);
    EXPECT_THAT(reply, HasSubstr("HTTP/1.1 400"));
    // The server holds the body it received (growing its buffer by doubling), and little else.
    EXPECT_LT(peak, static_cast<long>(4 * kBody)) << "peak heap " << (peak >> 20) << " MiB";
  }
  // And an honest request is still answered.
  long peak = 0;
  EXPECT_THAT(answer(inferRequest("[[0.5,0.25]]"), peak), HasSubstr("HTTP/1.1 200"));
}

}  // namespace
}  // namespace aimass::plugins::frontend
