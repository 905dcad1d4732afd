// SPDX-License-Identifier: Apache-2.0
// Uses the installed GrpcClient (aimass_client::grpc): encodes a call to a port where nothing
// listens, and expects the typed UNAVAILABLE error (gRPC status 14).
#include <aimass/client/grpc_client.hpp>
#include <iostream>
#include <vector>

int main() {
  namespace ac = aimass::client;
  std::vector<float> row = {1.0f, 2.0f};
  std::vector<ac::Tensor> inputs = {ac::Tensor::view<float>("input", {1, 2}, row)};
  ac::GrpcClientOptions options;
  options.timeout = std::chrono::milliseconds(5000);
  ac::GrpcClient client("127.0.0.1:1", options);
  try {
    client.infer("model", inputs);
  } catch (const ac::Error& error) {
    bool ok = error.code() == ac::ErrorCode::kGrpc && error.status() == 14;
    std::cout << "grpc consumer: " << (ok ? "ok" : error.what()) << '\n';
    return ok ? 0 : 1;
  }
  std::cout << "grpc consumer: a call to a closed port succeeded\n";
  return 1;
}
