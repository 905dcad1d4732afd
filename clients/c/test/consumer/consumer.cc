// SPDX-License-Identifier: Apache-2.0
// Encodes a request and decodes an answer with the installed C++ client.
#include <aimass/client/client.hpp>
#include <iostream>
#include <vector>

int main() {
  namespace ac = aimass::client;
  std::vector<double> row = {1.0, 2.0};
  std::vector<ac::Tensor> inputs = {ac::Tensor::view<double>("input", {1, 2}, row)};
  ac::EncodedRequest request = ac::HttpClient::encodeRequest(inputs);
  ac::InferResult result = ac::HttpClient::decodeResult(
      R"({"outputs":[{"name":"y","datatype":"FP32","shape":[2],"data":[0.5,1]}]})", 71);
  bool ok = request.body.size() == request.header_length + 16 &&
            result.output("y").data<float>()[1] == 1.0f;
  std::cout << "cpp consumer: " << (ok ? "ok" : "wrong value") << '\n';
  return ok ? 0 : 1;
}
