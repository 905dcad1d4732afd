// SPDX-License-Identifier: Apache-2.0
// Per-request client overhead of the C++ client on the W6 request, no network: N encodes of the
// request (a Tensor viewing one FP32 [1,784] input named "input", through
// HttpClient::encodeRequest) and N decodes of a fixed binary answer ("class" BYTES [1],
// "probabilities" FP32 [1,10]) into an InferResult. Prints one JSON line:
//   {"client":"cpp","n":N,"encode_us":..,"decode_us":..}   (microseconds per request)
// Usage: cpp_overhead [N]   (default 100000)
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "aimass/client/client.hpp"

namespace ac = aimass::client;

int main(int argc, char** argv) {
  long n = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 100000;
  if (n <= 0) {
    std::fprintf(stderr, "usage: cpp_overhead [N > 0]\n");
    return 2;
  }
  std::vector<float> pixels(784);
  for (int i = 0; i < 784; ++i) {
    pixels[static_cast<std::size_t>(i)] = static_cast<float>(i % 256) / 255.0f;
  }
  using Clock = std::chrono::steady_clock;
  auto micros = [n](Clock::duration d) {
    return std::chrono::duration<double, std::micro>(d).count() / static_cast<double>(n);
  };
  std::size_t checksum = 0;
  try {
    auto start = Clock::now();
    for (long i = 0; i < n; ++i) {
      std::vector<ac::Tensor> inputs = {ac::Tensor::view<float>("input", {1, 784}, pixels)};
      checksum += ac::HttpClient::encodeRequest(inputs).body.size();
    }
    double encode_us = micros(Clock::now() - start);

    std::string header =
        R"({"model_name":"fashion","model_version":"1","outputs":[)"
        R"({"name":"class","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":10}},)"
        R"({"name":"probabilities","datatype":"FP32","shape":[1,10],)"
        R"("parameters":{"binary_data_size":40}}]})";
    std::string answer = header;
    const std::uint32_t length = 6;
    const float probabilities[10] = {0.01f, 0.02f, 0.03f, 0.04f, 0.5f,
                                     0.1f,  0.1f,  0.1f,  0.05f, 0.05f};
    answer.append(reinterpret_cast<const char*>(&length), 4).append("Sandal");
    answer.append(reinterpret_cast<const char*>(probabilities), sizeof probabilities);

    start = Clock::now();
    for (long i = 0; i < n; ++i) {
      ac::InferResult result = ac::HttpClient::decodeResult(answer, header.size());
      checksum += result.output("probabilities").elementCount();
    }
    double decode_us = micros(Clock::now() - start);
    if (checksum == 0) {
      return 1;
    }
    std::printf("{\"client\":\"cpp\",\"n\":%ld,\"encode_us\":%.3f,\"decode_us\":%.3f}\n", n,
                encode_us, decode_us);
  } catch (const ac::Error& error) {
    std::fprintf(stderr, "cpp_overhead: %s\n", error.what());
    return 1;
  }
  return 0;
}
