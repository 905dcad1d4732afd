// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace aimass {

/// What went wrong, coarse enough for a caller to act on (retry, report to the user, map to an
/// HTTP status) without parsing the message.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,  ///< The caller passed something wrong: bad shape, bad key, bad config value.
  kNotFound,         ///< A key, model, node or file that does not exist.
  kAlreadyExists,    ///< Creating something whose name is taken.
  kFailedPrecondition,  ///< The object is not in a state that allows the call (e.g. model not
                        ///< ready).
  kOutOfRange,          ///< An index or row beyond the end.
  kUnavailable,        ///< A dependency (server, database, port) cannot be reached; may be retried.
  kAborted,            ///< Lost a race (compare-and-set conflict); the caller may retry.
  kDataLoss,           ///< Stored bytes are corrupt or truncated (checksum mismatch).
  kResourceExhausted,  ///< A queue, quota or size limit is full.
  kPermissionDenied,   ///< The caller or the process lacks the right to do this.
  kUnimplemented,      ///< The object does not support this operation.
  kCancelled,          ///< Stopped on request (SIGINT, a callback, a cancelled job).
  kInternal,           ///< A bug or an unexpected failure inside the callee.
};

/// The name used in messages and logs, e.g. "invalid argument".
constexpr std::string_view statusCodeName(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid argument";
    case StatusCode::kNotFound:
      return "not found";
    case StatusCode::kAlreadyExists:
      return "already exists";
    case StatusCode::kFailedPrecondition:
      return "failed precondition";
    case StatusCode::kOutOfRange:
      return "out of range";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kAborted:
      return "aborted";
    case StatusCode::kDataLoss:
      return "data loss";
    case StatusCode::kResourceExhausted:
      return "resource exhausted";
    case StatusCode::kPermissionDenied:
      return "permission denied";
    case StatusCode::kUnimplemented:
      return "unimplemented";
    case StatusCode::kCancelled:
      return "cancelled";
    case StatusCode::kInternal:
      return "internal";
  }
  return "unknown";
}

/// The result of an operation that returns nothing else. Every call across a plugin boundary
/// returns a Status (or an Expected<T>) instead of throwing.
///
/// A default-constructed Status is OK. Copyable and cheap to move; not thread-safe to mutate.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const noexcept { return code_ == StatusCode::kOk; }
  StatusCode code() const noexcept { return code_; }
  /// Human-readable explanation; empty for OK.
  const std::string& message() const noexcept { return message_; }

  /// "not found: model 'iris' has no version 3"; "ok" for OK.
  std::string toString() const {
    if (ok()) {
      return "ok";
    }
    return std::string(statusCodeName(code_)) + ": " + message_;
  }

  /// Returns a copy whose message is prefixed with `context` ("loading 'x': <message>").
  Status withContext(std::string_view context) const {
    if (ok()) {
      return *this;
    }
    return Status(code_, std::string(context) + ": " + message_);
  }

  /// Marks a status as deliberately ignored.
  void ignoreError() const noexcept {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status okStatus() { return Status(); }
inline Status invalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status notFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status alreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status failedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status outOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status dataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status resourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status permissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status internalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

/// Either a value of type T or a non-OK Status explaining why there is none.
///
/// Construct from a T (success) or from a non-OK Status (failure). Accessing value() of a
/// failed Expected is a programming error (std::bad_variant_access), so check ok() first.
template <typename T>
class [[nodiscard]] Expected {
 public:
  static_assert(!std::is_same_v<T, Status>, "Expected<Status> makes no sense; return Status");

  Expected(T value) : storage_(std::in_place_index<0>, std::move(value)) {}        // NOLINT
  Expected(Status status) : storage_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    if (std::get<1>(storage_).ok()) {
      storage_.template emplace<1>(StatusCode::kInternal, "Expected built from an OK status");
    }
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                                    !std::is_same_v<std::decay_t<U>, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Status>>>
  Expected(U&& value) : storage_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The failure; OK when this holds a value.
  Status status() const { return ok() ? Status() : std::get<1>(storage_); }

  T& value() & { return std::get<0>(storage_); }
  const T& value() const& { return std::get<0>(storage_); }
  T&& value() && { return std::get<0>(std::move(storage_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> storage_;
};

/// Runs `fn` and turns any exception it throws into a kInternal Status naming `where`.
/// This is how plugins keep exceptions from crossing the boundary: wrap code that calls
/// throwing libraries (Poco, yaml-cpp, the standard library) in guard().
template <typename Fn>
Status guard(std::string_view where, Fn&& fn) noexcept {
  try {
    if constexpr (std::is_same_v<std::invoke_result_t<Fn>, Status>) {
      return fn();
    } else {
      fn();
      return Status();
    }
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kResourceExhausted, std::string(where) + ": out of memory");
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal, std::string(where) + ": " + e.what());
  } catch (...) {
    return Status(StatusCode::kInternal, std::string(where) + ": unknown exception");
  }
}

}  // namespace aimass

#define AIMASS_STATUS_CONCAT_INNER(a, b) a##b
#define AIMASS_STATUS_CONCAT(a, b) AIMASS_STATUS_CONCAT_INNER(a, b)

/// Returns from the enclosing function when `expr` (a Status) is not OK.
#define AIMASS_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::aimass::Status aimass_status_ = (expr);        \
    if (!aimass_status_.ok()) return aimass_status_; \
  } while (false)

/// `AIMASS_ASSIGN_OR_RETURN(auto x, makeX());` declares x from an Expected's value, or returns
/// its Status from the enclosing function.
#define AIMASS_ASSIGN_OR_RETURN(lhs, expr) \
  AIMASS_ASSIGN_OR_RETURN_IMPL(AIMASS_STATUS_CONCAT(aimass_expected_, __LINE__), lhs, expr)
#define AIMASS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
