// SPDX-License-Identifier: Apache-2.0
// W6 over gRPC: keeps N ModelInfer calls in flight (64 by default) against frontend.grpc for D
// seconds with the C++ client's GrpcClient::inferAsync (one channel, one CompletionQueue), each
// the W6 request (FP32 [1, 784] input "input" of model "fashion", sent as raw_input_contents),
// and prints one JSON line: {"req_per_s":..,"p50_ms":..,"p99_ms":..,"errors":..}. Each of the N
// slots is a thread that waits for its call's future and starts the next one at once, so N stay
// in flight. Only answered calls count towards req_per_s and the latencies; failed ones are
// counted in errors (the first one's gRPC status is printed on stderr).
//
//   grpc_load --target 127.0.0.1:8001 [--seconds 10] [--in-flight 64] [--model fashion]
//             [--input input] [--features 784] [--api-key KEY]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aimass/client/grpc_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string target;
  double seconds = 10;
  int in_flight = 64;
  std::string model = "fashion";
  std::string input = "input";
  std::int64_t features = 784;
  std::string api_key;
};

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      return false;
    }
    const std::string value = argv[++i];
    if (flag == "--target") {
      options.target = value;
    } else if (flag == "--seconds") {
      options.seconds = std::atof(value.c_str());
    } else if (flag == "--in-flight") {
      options.in_flight = std::atoi(value.c_str());
    } else if (flag == "--model") {
      options.model = value;
    } else if (flag == "--input") {
      options.input = value;
    } else if (flag == "--features") {
      options.features = std::atoll(value.c_str());
    } else if (flag == "--api-key") {
      options.api_key = value;
    } else {
      return false;
    }
  }
  return !options.target.empty() && options.seconds > 0 && options.in_flight > 0 &&
         options.features > 0;
}

/// The W6 request: a Fashion-MNIST-like image, 784 pixels in [0, 1], as FP32 [1, features].
std::vector<aimass::client::Tensor> w6Inputs(const Options& options) {
  std::vector<float> pixels(static_cast<std::size_t>(options.features));
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    pixels[i] = static_cast<float>((i * 37) % 256) / 255.0f;
  }
  return {aimass::client::Tensor::copy<float>(options.input, {1, options.features}, pixels)};
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    std::cerr << "usage: grpc_load --target HOST:PORT [--seconds D] [--in-flight N] "
                 "[--model NAME] [--input NAME] [--features N] [--api-key KEY]\n";
    return 2;
  }
  aimass::client::GrpcClientOptions client_options;
  client_options.api_key = options.api_key;
  std::optional<aimass::client::GrpcClient> client;
  try {
    client.emplace(options.target, client_options);
  } catch (const aimass::client::Error& e) {
    std::cerr << "grpc_load: " << e.what() << "\n";
    return 2;
  }
  const std::vector<aimass::client::Tensor> inputs = w6Inputs(options);
  std::vector<double> latencies_ms;
  std::int64_t errors = 0;
  std::string first_error;

  std::mutex mutex;  // guards latencies_ms, errors, first_error
  const auto begin = Clock::now();
  const auto end = begin + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(options.seconds));
  auto slot = [&] {
    std::vector<double> mine;
    while (Clock::now() < end) {
      const auto started = Clock::now();
      try {
        client->inferAsync(options.model, inputs).get();
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
      } catch (const aimass::client::Error& e) {
        std::lock_guard lock(mutex);
        if (first_error.empty()) {
          first_error = e.what();
        }
        ++errors;
      }
    }
    std::lock_guard lock(mutex);
    latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> slots;
  for (int i = 0; i < options.in_flight; ++i) {
    slots.emplace_back(slot);
  }
  for (auto& t : slots) {
    t.join();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  if (!first_error.empty()) {
    std::cerr << "grpc_load: " << errors << " calls failed; the first: " << first_error << "\n";
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf("{\"req_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%lld}\n",
              static_cast<double>(latencies_ms.size()) / elapsed, percentile(latencies_ms, 0.50),
              percentile(latencies_ms, 0.99), static_cast<long long>(errors));
  return latencies_ms.empty() ? 1 : 0;
}
