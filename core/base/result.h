// Error values for the core library.
//
// Every expected failure in core (bad bytes, missing member, unsupported
// method, failed system call) is returned as an Error inside a Result<T>;
// nothing but std::bad_alloc is thrown across the core's API. The fs layer
// maps Errc to an errno in one place.
#ifndef NPZFS_CORE_BASE_RESULT_H_
#define NPZFS_CORE_BASE_RESULT_H_

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace npzfs::core {

enum class Errc {
  kNotFound,     // no such member or file
  kCorrupt,      // the bytes contradict the format (EIO at the FUSE edge)
  kUnsupported,  // valid but not decodable here: method, encryption (ENOTSUP)
  kIo,           // a system call failed; sys_errno says which
  kInvalidArgument,
};

struct Error {
  Errc code = Errc::kIo;
  int sys_errno = 0;    // set for kIo
  std::string message;  // what, which and why; no trailing newline
};

inline Error MakeError(Errc code, std::string message) {
  return Error{code, 0, std::move(message)};
}
inline Error Corrupt(std::string message) { return MakeError(Errc::kCorrupt, std::move(message)); }
inline Error Unsupported(std::string message) {
  return MakeError(Errc::kUnsupported, std::move(message));
}
// `what` names the operation and object, e.g. "a.npz: pread"; the errno text
// is appended.
Error IoError(int sys_errno, const std::string& what);

// Tag so that `return Fail(err)` reads like std::unexpected.
struct Unexpected {
  Error error;
};
inline Unexpected Fail(Error e) { return Unexpected{std::move(e)}; }

// A value or an Error; a small stand-in for std::expected, which clang 14
// (the libFuzzer compiler here) cannot compile from libstdc++ 12.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  // cppcheck-suppress passedByValue ; a sink: the error is moved out
  Result(Unexpected u)  // NOLINT
      : v_(std::in_place_index<1>, std::move(u.error)) {}
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error, for operations without a value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  // cppcheck-suppress passedByValue ; a sink: the error is moved out
  Result(Unexpected u) : error_(std::move(u.error)), ok_(false) {}  // NOLINT
  Result(Error e) : error_(std::move(e)), ok_(false) {}             // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& {
    assert(!ok_);
    return error_;
  }
  Error&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_BASE_RESULT_H_
