// SPDX-License-Identifier: Apache-2.0
// W6 over gRPC: keeps N ModelInfer calls in flight (64 by default) against frontend.grpc for D
// seconds with gRPC's asynchronous client (one CompletionQueue), each the W6 request (FP32
// [1, 784] input "input" of model "fashion", sent as raw_input_contents), and prints one JSON
// line: {"req_per_s":..,"p50_ms":..,"p99_ms":..,"errors":..}. Only answered calls count towards
// req_per_s and the latencies; failed ones are counted in errors (the first one's status is
// printed on stderr).
//
//   grpc_load --target 127.0.0.1:8001 [--seconds 10] [--in-flight 64] [--model fashion]
//             [--input input] [--features 784] [--api-key KEY]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "grpc_service.grpc.pb.h"

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

/// One call in flight: gRPC writes its response and status, then hands back its tag (this).
struct Call {
  grpc::ClientContext context;
  inference::ModelInferResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<inference::ModelInferResponse>> reader;
  Clock::time_point started;
};

/// A Fashion-MNIST-like image: 784 pixels in [0, 1], as little-endian FP32 bytes.
inference::ModelInferRequest w6Request(const Options& options) {
  inference::ModelInferRequest request;
  request.set_model_name(options.model);
  auto* input = request.add_inputs();
  input->set_name(options.input);
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(options.features);
  std::vector<float> pixels(static_cast<std::size_t>(options.features));
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    pixels[i] = static_cast<float>((i * 37) % 256) / 255.0f;
  }
  request.add_raw_input_contents(
      std::string(reinterpret_cast<const char*>(pixels.data()), pixels.size() * sizeof(float)));
  return request;
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
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  auto stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), arguments));
  const inference::ModelInferRequest request = w6Request(options);
  grpc::CompletionQueue queue;
  std::vector<double> latencies_ms;
  std::int64_t errors = 0;
  std::string first_error;

  auto launch = [&] {
    auto* call = new Call;
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!options.api_key.empty()) {
      call->context.AddMetadata("x-api-key", options.api_key);
    }
    call->started = Clock::now();
    call->reader = stub->AsyncModelInfer(&call->context, request, &queue);
    call->reader->Finish(&call->response, &call->status, call);
  };

  const auto begin = Clock::now();
  const auto end = begin + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(options.seconds));
  for (int i = 0; i < options.in_flight; ++i) {
    launch();
  }
  int outstanding = options.in_flight;
  void* tag = nullptr;
  bool ok = false;
  while (outstanding > 0 && queue.Next(&tag, &ok)) {
    std::unique_ptr<Call> call(static_cast<Call*>(tag));
    const auto now = Clock::now();
    if (ok && call->status.ok()) {
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(now - call->started).count());
    } else {
      if (first_error.empty()) {
        first_error =
            std::to_string(call->status.error_code()) + " " + call->status.error_message();
      }
      ++errors;
    }
    if (now < end) {
      launch();
    } else {
      --outstanding;
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
    delete static_cast<Call*>(tag);
  }
  if (!first_error.empty()) {
    std::cerr << "grpc_load: " << errors << " calls failed; the first: " << first_error << "\n";
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf("{\"req_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%lld}\n",
              static_cast<double>(latencies_ms.size()) / elapsed, percentile(latencies_ms, 0.50),
              percentile(latencies_ms, 0.99), static_cast<long long>(errors));
  return latencies_ms.empty() ? 1 : 0;
}
