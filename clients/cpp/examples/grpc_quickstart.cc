// SPDX-License-Identifier: Apache-2.0
// Infers once against a running model over gRPC (frontend.grpc) with the C++ client, and prints
// its answer; then sends the same request eight times at once with inferAsync.
//
//   aimass run configs/serve_grpc.yaml        # frontend.grpc on 127.0.0.1:8001
//   build/clients/grpc_quickstart_cpp --target 127.0.0.1:8001 --model fashion
//
// It reads the model's metadata, sends one row of zeros to each numeric input (raw contents),
// and prints every output. Exits 1 with the gRPC status and message on an error.
#include <cstdlib>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "aimass/client/grpc_client.hpp"

namespace ac = aimass::client;

int main(int argc, char** argv) {
  std::string target = "127.0.0.1:8001", model = "fashion";
  ac::GrpcClientOptions options;
  if (const char* key = std::getenv("AIMASS_API_KEY")) {
    options.api_key = key;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--target") {
      target = argv[i + 1];
    } else if (flag == "--model") {
      model = argv[i + 1];
    } else if (flag == "--api-key") {
      options.api_key = argv[i + 1];
    } else {
      std::cerr << "usage: " << argv[0] << " [--target HOST:PORT] [--model NAME] [--api-key KEY]\n";
      return 2;
    }
  }
  try {
    ac::GrpcClient client(target, options);
    std::vector<ac::Tensor> inputs;
    for (const auto& input : client.modelMetadata(model).inputs) {
      auto type = ac::parseDataType(input.datatype);
      if (!type || *type == ac::DataType::kBytes) {
        continue;
      }
      ac::Tensor::Shape shape;
      std::size_t count = 1;
      for (auto d : input.shape) {
        shape.push_back(d < 0 ? 1 : d);  // a variable dimension: one row
        count *= static_cast<std::size_t>(shape.back());
      }
      std::vector<std::byte> zeros(count * ac::elementSize(*type));
      inputs.push_back(ac::Tensor::fromBytes(input.name, *type, shape, zeros));
    }
    ac::InferOptions call;
    call.request_id = "grpc-quickstart";
    ac::InferResult result = client.infer(model, inputs, call);
    std::cout << result.model_name << " version " << result.model_version << " (request "
              << result.id << "):\n";
    for (const auto& t : result.outputs) {
      std::cout << "  " << t.name() << ' ' << ac::dataTypeName(t.dataType()) << ':';
      if (t.dataType() == ac::DataType::kBytes) {
        for (const auto& e : t.elements()) {
          std::cout << ' ' << e;
        }
      } else {
        for (double v : t.toDoubles()) {
          std::cout << ' ' << v;
        }
      }
      std::cout << '\n';
    }
    std::vector<std::future<ac::InferResult>> answers;
    for (int i = 0; i < 8; ++i) {
      answers.push_back(client.inferAsync(model, inputs));
    }
    for (auto& answer : answers) {
      answer.get();
    }
    std::cout << "8 concurrent calls answered\n";
  } catch (const ac::Error& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
