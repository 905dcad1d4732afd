// SPDX-License-Identifier: Apache-2.0
// Per-request client overhead of the C++ client on the W6 request, no network: the time to
// encode the request (a Tensor viewing one FP32 [1,784] input named "input", through
// HttpClient::encodeRequest) and to decode a fixed binary answer ("class" BYTES [1],
// "probabilities" FP32 [1,10]) into an InferResult, each averaged over N runs after a warm-up.
// Prints one JSON line (microseconds per request), like bench/clients/python_overhead.py:
//   {"client":"cpp","encode_us":..,"decode_us":..,"iterations":N}
//
//   build/bench/cpp_overhead [--iterations N]     # default 20000
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "aimass/client/client.hpp"

namespace ac = aimass::client;

namespace {

using Clock = std::chrono::steady_clock;

/// The answer frontend.http gives the W6 model for one row, in binary; its header's length.
std::string w6Answer(std::size_t* header_length) {
  std::string answer =
      R"({"model_name":"fashion","model_version":"1","outputs":[)"
      R"({"name":"class","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":10}},)"
      R"({"name":"probabilities","datatype":"FP32","shape":[1,10],)"
      R"("parameters":{"binary_data_size":40}}]})";
  *header_length = answer.size();
  const std::uint32_t length = 6;
  const float probabilities[10] = {0.01f, 0.02f, 0.03f, 0.04f, 0.5f,
                                   0.1f,  0.1f,  0.1f,  0.05f, 0.05f};
  answer.append(reinterpret_cast<const char*>(&length), 4).append("Sandal");
  answer.append(reinterpret_cast<const char*>(probabilities), sizeof probabilities);
  return answer;
}

/// Microseconds per run of `f` over `n` runs, after min(n, 1000) runs of warm-up.
template <typename F>
double microsPerRun(long n, F&& f) {
  for (long i = 0; i < std::min(n, 1000L); ++i) {
    f();
  }
  auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    f();
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
         static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  long n = 20000;
  if (argc == 3 && std::string(argv[1]) == "--iterations") {
    n = std::strtol(argv[2], nullptr, 10);
  } else if (argc != 1) {
    n = 0;
  }
  if (n <= 0) {
    std::fprintf(stderr, "usage: cpp_overhead [--iterations N]   (N > 0)\n");
    return 2;
  }
  std::vector<float> pixels(784);
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    pixels[i] = static_cast<float>(i % 256) / 255.0f;
  }
  std::size_t header_length = 0;
  const std::string answer = w6Answer(&header_length);
  try {
    // Check once that both do what is timed.
    std::vector<ac::Tensor> inputs = {ac::Tensor::view<float>("input", {1, 784}, pixels)};
    ac::EncodedRequest request = ac::HttpClient::encodeRequest(inputs);
    ac::InferResult decoded = ac::HttpClient::decodeResult(answer, header_length);
    if (request.body.size() != request.header_length + 3136 ||
        decoded.output("class").elements() != std::vector<std::string>{"Sandal"} ||
        decoded.output("probabilities").elementCount() != 10) {
      std::fprintf(stderr, "cpp_overhead: the request or the answer is not what W6 sends\n");
      return 1;
    }
    std::size_t checksum = 0;
    double encode_us = microsPerRun(n, [&] {
      std::vector<ac::Tensor> w6 = {ac::Tensor::view<float>("input", {1, 784}, pixels)};
      checksum += ac::HttpClient::encodeRequest(w6).body.size();
    });
    double decode_us = microsPerRun(
        n, [&] { checksum += ac::HttpClient::decodeResult(answer, header_length).outputs.size(); });
    if (checksum == 0) {
      return 1;
    }
    std::printf("{\"client\":\"cpp\",\"encode_us\":%.3f,\"decode_us\":%.3f,\"iterations\":%ld}\n",
                encode_us, decode_us, n);
  } catch (const ac::Error& error) {
    std::fprintf(stderr, "cpp_overhead: %s\n", error.what());
    return 1;
  }
  return 0;
}
