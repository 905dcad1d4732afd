// SPDX-License-Identifier: Apache-2.0
// Infers once against a running model with the C++ client and prints its answer.
//
//   aimass run configs/quickstart.yaml        # serves "fashion" on port 8080
//   build/clients/quickstart_cpp --url http://127.0.0.1:8080 --model fashion
//
// It reads the model's metadata, sends one row of zeros to each numeric input (binary tensor
// data), and prints every output. Exits 1 with the server's message on an error.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "aimass/client/client.hpp"

namespace ac = aimass::client;

namespace {

void print(const ac::Tensor& t) {
  std::cout << "  " << t.name() << ' ' << ac::dataTypeName(t.dataType()) << " [";
  for (std::size_t d = 0; d < t.shape().size(); ++d) {
    std::cout << (d ? ", " : "") << t.shape()[d];
  }
  std::cout << "]:";
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

}  // namespace

int main(int argc, char** argv) {
  std::string url = "http://127.0.0.1:8080", model = "fashion";
  ac::ClientOptions options;
  if (const char* key = std::getenv("AIMASS_API_KEY")) {
    options.api_key = key;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--url") {
      url = argv[i + 1];
    } else if (flag == "--model") {
      model = argv[i + 1];
    } else if (flag == "--api-key") {
      options.api_key = argv[i + 1];
    } else {
      std::cerr << "usage: " << argv[0] << " [--url URL] [--model NAME] [--api-key KEY]\n";
      return 2;
    }
  }
  try {
    ac::HttpClient client(url, options);
    std::vector<ac::Tensor> inputs;
    for (const auto& input : client.modelMetadata(model).inputs) {
      auto type = ac::parseDataType(input.datatype);
      if (input.optional || !type || *type == ac::DataType::kBytes) {
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
    call.request_id = "quickstart";
    ac::InferResult result = client.infer(model, inputs, call);
    std::cout << result.model_name << " version " << result.model_version << " (request "
              << result.id << "):\n";
    for (const auto& output : result.outputs) {
      print(output);
    }
  } catch (const ac::Error& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
