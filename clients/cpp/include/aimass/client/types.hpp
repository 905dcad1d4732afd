// SPDX-License-Identifier: Apache-2.0
// The protocol-neutral types of the C++ client: tensors, datatypes, inference options and
// results, and the Error exception. Every client class (HttpClient, and later a gRPC one) takes
// and returns these; nothing here knows about HTTP, JSON or any transport.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace aimass::client {

/// The OIP v2 tensor datatypes. Numeric data are little-endian and row-major; BOOL is one byte
/// (0 or 1); FP16 and BF16 are their 2-byte encodings; BYTES elements are byte strings.
enum class DataType {
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kFp32,
  kFp64,
  kBf16,
  kBytes,
};

/// The OIP name of `type` ("FP32", "BYTES", ...).
std::string_view dataTypeName(DataType type) noexcept;
/// The datatype named `name` (exactly as OIP spells it); nullopt for an unknown name.
std::optional<DataType> parseDataType(std::string_view name) noexcept;
/// Bytes per element; 0 for BYTES (variable length).
std::size_t elementSize(DataType type) noexcept;

/// What kind of failure an Error is. kHttp means the server answered with a status >= 400
/// (Error::status() has it); kGrpc means a gRPC call ended with a status other than OK
/// (Error::status() is the grpc::StatusCode number, GrpcClient); every other kind has status 0.
enum class ErrorCode {
  kInvalidArgument = 1,  ///< the client refused an argument itself (named in the message)
  kConnection = 2,       ///< could not connect, or the connection was lost
  kTimeout = 3,          ///< no complete answer within the call's timeout
  kTls = 4,              ///< TLS handshake or certificate verification failed
  kHttp = 5,             ///< the server answered with an error status
  kProtocol = 6,         ///< the answer could not be understood
  kOutOfMemory = 7,
  kInternal = 8,
  kGrpc = 9,  ///< a gRPC call ended with a non-OK status (GrpcClient)
};

/// Every failure of a client call. Carries the kind, the HTTP status (0 when no answer came) or
/// for kGrpc the gRPC status code, and the message: the server's own `"error"` text for an HTTP
/// error or its status message for a gRPC one, which names what was wrong; otherwise the
/// client's description.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, int status, std::string message)
      : std::runtime_error(describe(code, status, message)),
        code_(code),
        status_(status),
        message_(std::move(message)) {}

  ErrorCode code() const noexcept { return code_; }
  /// The HTTP status of the answer, or the gRPC status code for kGrpc; 0 when there was none.
  int status() const noexcept { return status_; }
  /// The message alone, without the "HTTP 404: " or "gRPC status 5: " prefix what() has.
  const std::string& message() const noexcept { return message_; }

 private:
  static std::string describe(ErrorCode code, int status, const std::string& message) {
    if (code == ErrorCode::kGrpc) {
      return "gRPC status " + std::to_string(status) + ": " + message;
    }
    if (status > 0) {
      return "HTTP " + std::to_string(status) + ": " + message;
    }
    return message;
  }

  ErrorCode code_;
  int status_;
  std::string message_;
};

/// A named tensor: datatype, shape and data. Inputs and outputs are both Tensors.
///
/// A Tensor either owns its bytes or views bytes its creator owns (Tensor::view): a view is
/// valid only while those bytes are, and is what infer() takes to send caller data without a
/// copy. Copying a Tensor copies what it owns and keeps viewing what it views. Not synchronized:
/// a Tensor may be read from several threads at once but not changed while read.
class Tensor {
 public:
  using Shape = std::vector<std::int64_t>;

  Tensor() = default;
  Tensor(const Tensor& other) { *this = other; }
  Tensor(Tensor&& other) noexcept { *this = std::move(other); }
  Tensor& operator=(const Tensor& other);
  Tensor& operator=(Tensor&& other) noexcept;
  ~Tensor() = default;

  /// A tensor viewing `data` (not copied: `data` must outlive every use of the tensor). The
  /// datatype follows T (float FP32, double FP64, std::int32_t INT32, std::int64_t INT64,
  /// bool BOOL, ...). Throws Error(kInvalidArgument) when the shape's element count is not
  /// data.size().
  template <typename T>
  static Tensor view(std::string name, Shape shape, std::span<const T> data);
  /// As view(), with its own copy of `data`.
  template <typename T>
  static Tensor copy(std::string name, Shape shape, std::span<const T> data) {
    Tensor t = view<T>(std::move(name), std::move(shape), data);
    t.own();
    return t;
  }
  /// A tensor of raw little-endian `bytes` of `type` (not BYTES), copied. Throws
  /// Error(kInvalidArgument) when the byte count does not match the shape.
  static Tensor fromBytes(std::string name, DataType type, Shape shape,
                          std::span<const std::byte> bytes);
  /// A BYTES tensor of `elements` (each any byte string). Throws when the shape's element count
  /// is not elements.size().
  static Tensor strings(std::string name, Shape shape, std::vector<std::string> elements);

  const std::string& name() const noexcept { return name_; }
  DataType dataType() const noexcept { return type_; }
  const Shape& shape() const noexcept { return shape_; }
  /// The element count the shape says (1 for a scalar shape []).
  std::size_t elementCount() const noexcept;
  /// The little-endian bytes of a numeric tensor (empty for BYTES).
  std::span<const std::byte> bytes() const noexcept { return bytes_; }
  /// The elements of a BYTES tensor (empty otherwise).
  const std::vector<std::string>& elements() const noexcept { return elements_; }

  /// The data as T, which must match the datatype (float for FP32, ...; std::uint16_t for
  /// FP16 and BF16; bool for BOOL). Throws Error(kInvalidArgument) naming the tensor otherwise.
  template <typename T>
  std::span<const T> data() const;
  /// The data converted to double, for any numeric datatype (FP16 and BF16 decoded); throws
  /// for BYTES.
  std::vector<double> toDoubles() const;

  /// Makes a view own a copy of what it views (no-op for a tensor that owns its data).
  void own();

 private:
  template <typename T>
  static constexpr std::optional<DataType> typeOf();
  void checkCount(std::size_t count) const;

  std::string name_;
  DataType type_ = DataType::kFp32;
  Shape shape_;
  std::vector<std::byte> owned_;
  std::span<const std::byte> bytes_;  // into owned_, or into the creator's data
  std::vector<std::string> elements_;
};

/// A request parameter's value (OIP `parameters`): bool, integer, number or string.
using Parameter = std::variant<bool, std::int64_t, double, std::string>;

/// How one infer() call runs. Every member is optional.
struct InferOptions {
  /// The model version ("" for the one the server routes to by default).
  std::string version;
  /// Which outputs to return, in this order (empty: all, in the model's order).
  std::vector<std::string> outputs;
  /// The request id, echoed as InferResult::id ("" for none).
  std::string request_id;
  /// Parameters passed to the model (top_k, ...).
  std::map<std::string, Parameter> parameters;
  /// True: tensor data travel as binary (the OIP binary tensor data extension, both ways, or
  /// the transport's raw form); false: as JSON values where the transport has that choice.
  bool binary = true;
  /// Bounds this call; zero means the client's default timeout.
  std::chrono::milliseconds timeout{0};
};

/// An inference answer: outputs in the answer's order.
struct InferResult {
  std::string model_name;
  std::string model_version;
  /// The request id the answer carries ("" when none).
  std::string id;
  std::vector<Tensor> outputs;
  /// binary[i]: whether outputs[i] came as binary tensor data (same order as outputs).
  std::vector<bool> binary;

  /// The output named `name`; throws Error(kInvalidArgument) naming it and the outputs there
  /// are when the answer has none of that name.
  const Tensor& output(std::string_view name) const;
  /// The output named `name`, or nullptr.
  const Tensor* find(std::string_view name) const noexcept;
};

// ---- template definitions ---------------------------------------------------------------

template <typename T>
constexpr std::optional<DataType> Tensor::typeOf() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    return DataType::kBool;
  } else if constexpr (std::is_same_v<U, float>) {
    return DataType::kFp32;
  } else if constexpr (std::is_same_v<U, double>) {
    return DataType::kFp64;
  } else if constexpr (std::is_same_v<U, std::int8_t>) {
    return DataType::kInt8;
  } else if constexpr (std::is_same_v<U, std::int16_t>) {
    return DataType::kInt16;
  } else if constexpr (std::is_same_v<U, std::int32_t>) {
    return DataType::kInt32;
  } else if constexpr (std::is_same_v<U, std::int64_t>) {
    return DataType::kInt64;
  } else if constexpr (std::is_same_v<U, std::uint8_t>) {
    return DataType::kUint8;
  } else if constexpr (std::is_same_v<U, std::uint16_t>) {
    return DataType::kUint16;
  } else if constexpr (std::is_same_v<U, std::uint32_t>) {
    return DataType::kUint32;
  } else if constexpr (std::is_same_v<U, std::uint64_t>) {
    return DataType::kUint64;
  } else {
    return std::nullopt;
  }
}

template <typename T>
Tensor Tensor::view(std::string name, Shape shape, std::span<const T> data) {
  static_assert(typeOf<T>().has_value(), "no OIP datatype for this element type");
  static_assert(sizeof(bool) == 1, "BOOL tensors need a one-byte bool");
  Tensor t;
  t.name_ = std::move(name);
  t.type_ = *typeOf<T>();
  t.shape_ = std::move(shape);
  t.checkCount(data.size());
  t.bytes_ = std::as_bytes(data);
  return t;
}

template <typename T>
std::span<const T> Tensor::data() const {
  std::optional<DataType> wanted = typeOf<T>();
  bool half = std::is_same_v<std::remove_cv_t<T>, std::uint16_t> &&
              (type_ == DataType::kFp16 || type_ == DataType::kBf16);
  if (!half && (!wanted || *wanted != type_)) {
    throw Error(ErrorCode::kInvalidArgument, 0,
                "tensor '" + name_ + "' is " + std::string(dataTypeName(type_)) +
                    ", not the element type asked for");
  }
  return {reinterpret_cast<const T*>(bytes_.data()), bytes_.size() / sizeof(T)};
}

}  // namespace aimass::client
