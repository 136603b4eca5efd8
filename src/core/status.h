// Status: the result of an operation that can fail in an expected way (bad input, a missing
// line, a full queue). Unexpected failures (a broken invariant) are asserts, not Statuses.
//
// A Status is cheap to copy when ok. Its message names what is wrong ("bytes_up: must be a
// non-negative integer"), so that callers can pass it straight to a user.
//
// Thread-safety: a Status is a value; distinct objects may be used from different threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace ryuryo {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller's input is malformed or out of range (HTTP 400)
    kNotFound,         // the named thing does not exist (HTTP 404)
    kAlreadyExists,    // a conflicting thing exists (HTTP 409)
    kUnauthenticated,  // no or wrong credentials (HTTP 401)
    kPermissionDenied, // credentials do not allow this (HTTP 403)
    kResourceExhausted,// a named limit was hit (HTTP 413 / 429 / 503)
    kUnavailable,      // a peer or the store cannot be reached now; retry later (HTTP 503)
    kIOError,          // the disk or the store failed
    kInternal,         // a bug; should not happen
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status Unauthenticated(std::string msg) { return {Code::kUnauthenticated, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, std::move(msg)};
  }
  static Status ResourceExhausted(std::string msg) {
    return {Code::kResourceExhausted, std::move(msg)};
  }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // A copy whose message is "prefix: message" (e.g. the field or line number that failed).
  Status Prefixed(std::string_view prefix) const {
    if (ok()) return *this;
    return Status(code_, std::string(prefix) + ": " + message_);
  }

  // "ok", or "invalid_argument: message".
  std::string ToString() const;
  // The snake_case name of the code, used as the JSON error code ("invalid_argument").
  static const char* CodeName(Code code);

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace ryuryo

#define RYURYO_RETURN_IF_ERROR(expr)     \
  do {                                   \
    ::ryuryo::Status _st = (expr);       \
    if (!_st.ok()) return _st;           \
  } while (0)
