// Range requests for one remote object over libcurl: the first one pins
// the object's version, every later one is conditional on it, and each is
// retried on the faults that pass.
#ifndef NPZFS_CORE_REMOTE_HTTP_CLIENT_H_
#define NPZFS_CORE_REMOTE_HTTP_CLIENT_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/mutex.h"
#include "core/base/result.h"
#include "core/remote/credentials.h"

namespace npzfs::core {

struct HttpOptions {
  std::string ca_file;          // "" = the system's CA bundle
  double connect_timeout = 10;  // seconds to connect (TLS included)
  double stall_timeout = 20;    // seconds without a byte before a request is given up
  int retries = 5;              // after the first attempt
  double retry_time = 30;       // seconds all attempts of one read may take
  double retry_base = 0.1;      // seconds: the first backoff's bound, doubled after each
  // S3: SigV4 with these (none: unsigned requests) in this region.
  std::optional<AwsCredentials> sign;
  std::string region;
};

// What the first response said the object is.
struct ObjectVersion {
  uint64_t size = 0;
  std::string etag;           // as sent, quotes included; "" when none
  std::string last_modified;  // the header's value; "" when none
};

struct HttpStats {
  uint64_t requests = 0;  // attempts sent
  uint64_t retries = 0;   // attempts after a failed one
  uint64_t bytes = 0;     // body bytes taken as data
};

// Thread-safe: each request takes a curl handle from a pool (its
// connection kept alive for the next), so requests run in parallel.
class HttpClient {
 public:
  // `url` is what is requested; `shown` (no secrets) is what messages
  // name.
  HttpClient(std::string url, std::string shown, HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The last `length` bytes of the object (all of it when it is shorter)
  // with one suffix range request, and the version it pins for every later
  // request. Errors name the URL: kNotFound (404), kIo with EACCES (401,
  // 403; S3's error code and message in the text), kIo (EIO) otherwise.
  Result<std::vector<std::byte>> GetTail(uint64_t length);

  // Receives a range's bytes as they arrive, in order: `at` is where
  // data[0] lies in the object. Called on the requesting thread.
  using RangeSink = std::function<void(uint64_t at, std::span<const std::byte> data)>;

  // Bytes [offset, offset + length) of the pinned version, handed to
  // `sink` as they arrive. A response is taken as data only when its
  // status, Content-Range, Content-Length and ETag all match the request,
  // checked before its first byte reaches the sink. Retried on 5xx, 429,
  // timeouts, resets, short and mismatched responses; a retry asks only
  // for what has not arrived. kCorrupt once the object is no longer that
  // version (412, a different size or ETag, 404): every later call then
  // fails at once. kIo (EIO) when the attempts ran out.
  Result<void> GetRange(uint64_t offset, uint64_t length, const RangeSink& sink) const;

  // The whole body of a plain GET of `url` (signed like every request of
  // this client), at most `limit` bytes; a listing, not an object.
  // Retried like GetRange. Errors name the client's URL: kNotFound,
  // kIo (EACCES for 401/403, EIO otherwise; a larger body).
  Result<std::string> GetDocument(const std::string& url, size_t limit) const;

  const ObjectVersion& version() const { return version_; }
  const std::string& shown() const { return shown_; }
  bool replaced() const { return replaced_.load(std::memory_order_relaxed); }
  HttpStats stats() const;

 private:
  struct Attempt;
  void* TakeHandle() const;
  void GiveBack(void* handle) const;
  // One request: `range` is the Range header's value; `conditional` adds
  // the pinned version's precondition.
  void Send(Attempt& a, const std::string& range, bool conditional) const;
  // Before attempt `n` (0 the first): false when the attempts or the time
  // for them have run out, else true after sleeping the backoff (none
  // before the first).
  bool WaitBeforeAttempt(int n, std::chrono::steady_clock::time_point start) const;
  Error Replaced(const std::string& why) const;
  // What an attempt's transfer and status say before its response is
  // looked at: try again or fail (`last` says why), or go on.
  enum class Verdict { kGoOn, kRetry, kFail };
  Verdict Judge(const Attempt& a, std::string& last) const;
  // The error of an answer that refuses an unconditional request: 404 or
  // 410 (kNotFound), 401 or 403 (kIo, EACCES); nullopt for any other.
  std::optional<Error> Refused(const Attempt& a) const;

  std::string url_;
  std::string shown_;
  HttpOptions options_;
  ObjectVersion version_;
  bool strong_etag_ = false;
  mutable std::atomic<bool> replaced_{false};
  mutable std::atomic<uint64_t> requests_{0}, retries_{0}, bytes_{0};
  mutable Mutex mu_;
  mutable std::vector<void*> idle_ GUARDED_BY(mu_);
  void* headers_ = nullptr;  // curl_slist of the fixed headers
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_REMOTE_HTTP_CLIENT_H_
