// SPDX-License-Identifier: Apache-2.0
// aimass::client::GrpcClient: the C++ client over the OIP v2 gRPC service
// (inference.GRPCInferenceService, served by frontend.grpc). It takes and returns the same types
// as HttpClient (types.hpp, registry.hpp), so a program can switch transport.
//
// Link aimass_client::grpc (built when gRPC++ and protobuf are found). It carries its own code
// generated from grpc_service.proto: do not link it into a process that also holds another copy
// of that file's generated code (protobuf aborts on the duplicate registration).
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/client/registry.hpp"
#include "aimass/client/types.hpp"

namespace aimass::client {

/// How a GrpcClient connects. Give an API key or a bearer token, not both. TLS is on when any
/// of ca_file, cert_file, key_file is set, or `tls` is true (then the system's roots are
/// trusted unless ca_file names a bundle).
struct GrpcClientOptions {
  std::string api_key;                       ///< sent as the metadata key x-api-key
  std::string bearer_token;                  ///< a JWT, sent as authorization: Bearer
  std::chrono::milliseconds timeout{30000};  ///< each call's deadline (InferOptions overrides)
  bool tls = false;       ///< TLS with the system's roots when no file below is given
  std::string ca_file;    ///< TLS: a PEM CA bundle to trust
  std::string cert_file;  ///< TLS: a PEM client certificate (mutual TLS), with key_file
  std::string key_file;   ///< TLS: its unencrypted PEM key
  /// TLS: the name the server's certificate must carry, when it is not the target's host.
  std::string server_name;
  int max_message_bytes = 64 << 20;  ///< the largest answer accepted
};

/// A client of one aimass server's frontend.grpc.
///
/// Errors: every failure throws Error. A call the server (or gRPC) ended with a status other
/// than OK throws Error(ErrorCode::kGrpc) whose status() is the grpc::StatusCode number
/// (NOT_FOUND 5 for an unknown model, INVALID_ARGUMENT 3 for a bad input, UNAUTHENTICATED 16,
/// PERMISSION_DENIED 7, UNAVAILABLE 14 when no server answers, ...) and whose message() is the
/// status message; except DEADLINE_EXCEEDED, which throws Error(ErrorCode::kTimeout) with
/// status() 0, as HttpClient's timeouts do. Arguments the client refuses itself throw
/// Error(kInvalidArgument) with status 0, a TLS file that cannot be read Error(kTls), an answer
/// that cannot be decoded Error(kProtocol).
///
/// Threading: one channel per client, which gRPC multiplexes over one HTTP/2 connection. Every
/// method may be called from several threads at once (the stub and channel are thread-safe
/// and a call keeps its state to itself). inferAsync() calls run on a CompletionQueue drained
/// by one background thread the client owns; the destructor cancels the calls still in flight
/// (their futures get Error(kGrpc, CANCELLED)), then joins that thread. Do not destroy the
/// client while another thread is calling it.
/// Lifetime: a moved-from GrpcClient may only be destroyed or assigned to.
class GrpcClient {
 public:
  /// `target` such as "127.0.0.1:8001" (gRPC's target syntax; no scheme). No connection is
  /// made yet. Throws Error(kInvalidArgument) for options that cannot work, Error(kTls) for a
  /// TLS file that cannot be read.
  explicit GrpcClient(std::string target, GrpcClientOptions options = {});
  ~GrpcClient();
  GrpcClient(GrpcClient&&) noexcept;
  GrpcClient& operator=(GrpcClient&&) noexcept;
  GrpcClient(const GrpcClient&) = delete;
  GrpcClient& operator=(const GrpcClient&) = delete;

  // ---- health and metadata (ServerLive, ServerReady, ModelReady, ServerMetadata,
  // ModelMetadata). modelReady is false for an unknown model (NOT_FOUND); other failures throw.
  bool serverLive();
  bool serverReady();
  bool modelReady(std::string_view model, std::string_view version = {});
  ServerMetadata serverMetadata();
  /// ModelMetadata::json is the answer in protobuf's JSON form (int64 values as strings).
  ModelMetadata modelMetadata(std::string_view model, std::string_view version = {});

  /// ModelInfer. With options.binary (the default) every input travels as raw_input_contents
  /// (BYTES elements each a 4-byte little-endian length then its bytes), and so do the outputs;
  /// with binary false, as typed contents (FP16 and BF16 cannot: kInvalidArgument).
  /// InferResult::binary says which form each output came in. `inputs` are read during the
  /// call only.
  InferResult infer(std::string_view model, std::span<const Tensor> inputs,
                    const InferOptions& options = {});
  /// infer() without blocking: the request is encoded now (so the caller's buffers may go as
  /// soon as this returns) and started on the client's CompletionQueue; many calls may be in
  /// flight on the one channel. The future holds the answer or the Error.
  std::future<InferResult> inferAsync(std::string model, std::vector<Tensor> inputs,
                                      InferOptions options = {});

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace aimass::client
