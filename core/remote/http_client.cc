#include "core/remote/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "core/base/text.h"
#include "core/remote/http_parse.h"
#include "core/remote/url.h"

namespace npzfs::core {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxErrorBody = 4096;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool Retryable(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

bool RetryableStatus(long status) { return status >= 500 || status == 429 || status == 408; }

thread_local std::minstd_rand jitter_rng{std::random_device{}()};

}  // namespace

struct HttpClient::Attempt {
  CURL* handle = nullptr;
  // Where the body goes. Tail requests: appended to `grow` up to `limit`
  // bytes (200 accepted too). Range requests: handed to `sink`, once the
  // response is found to be exactly bytes [first, last] of an object of
  // `object_size` bytes whose ETag is `etag` (when both sides have one).
  std::vector<std::byte>* grow = nullptr;
  uint64_t limit = 0;
  const std::string* url = nullptr;  // instead of the client's
  const RangeSink* sink = nullptr;
  uint64_t first = 0, last = 0, object_size = 0;
  std::string pinned_etag;

  CURLcode code = CURLE_OK;
  long status = 0;
  std::string content_range, etag, last_modified;
  uint64_t received = 0;
  bool checked = false;   // the first body byte came, and the response was looked at
  bool overflow = false;  // more body than asked for: the transfer was cut
  bool whole = false;     // a 200 to a range request: the transfer was cut
  std::string reject;     // why a range response is not the data asked for
  std::string replaced;   // why the object is no longer the pinned version
  std::string body;       // of a response that is not data
  char error[CURL_ERROR_SIZE] = {};
  // When bytes last moved, and how long they may not.
  Clock::time_point last_progress;
  std::chrono::duration<double> stall_limit{20};
  curl_off_t last_now = 0;
  bool stalled = false;

  static int OnProgress(void* self, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
    auto* a = static_cast<Attempt*>(self);
    const auto now = Clock::now();
    if (dlnow + ulnow != a->last_now) {
      a->last_now = dlnow + ulnow;
      a->last_progress = now;
      return 0;
    }
    if (now - a->last_progress > a->stall_limit) {
      a->stalled = true;
      return 1;  // aborts the transfer
    }
    return 0;
  }

  bool IsData() const {
    if (grow != nullptr) return status == 206 || status == 200;
    return status == 206 && reject.empty() && replaced.empty();
  }

  static size_t OnHeader(char* p, size_t size, size_t n, void* self) {
    auto* a = static_cast<Attempt*>(self);
    std::string_view line(p, size * n);
    if (StartsWithNoCase(line, "HTTP/")) {
      // A new response (after a redirect or a 100): forget the last one's.
      a->content_range.clear();
      a->etag.clear();
      a->last_modified.clear();
    } else if (StartsWithNoCase(line, "content-range:")) {
      a->content_range = TrimLine(line.substr(14));
    } else if (StartsWithNoCase(line, "etag:")) {
      a->etag = TrimLine(line.substr(5));
    } else if (StartsWithNoCase(line, "last-modified:")) {
      a->last_modified = TrimLine(line.substr(14));
    }
    return size * n;
  }

  // A range response's headers, looked at before any of its body is taken.
  void CheckRange() {
    if (status != 206) return;
    auto r = ParseContentRange(content_range);
    if (r && !r->whole_unknown && r->size != object_size) {
      replaced =
          "its size is " + std::to_string(r->size) + " bytes, not " + std::to_string(object_size);
      return;
    }
    if (!etag.empty() && !pinned_etag.empty() && etag != pinned_etag) {
      replaced = "ETag " + Quote(etag) + ", not " + Quote(pinned_etag);
      return;
    }
    if (!r || r->whole_unknown || r->first != first || r->last != last) {
      reject = "a response that does not match the request (Content-Range " + Quote(content_range) +
               " for bytes=" + std::to_string(first) + "-" + std::to_string(last) + ")";
      return;
    }
    curl_off_t length = -1;
    curl_easy_getinfo(handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (length >= 0 && static_cast<uint64_t>(length) != last - first + 1) {
      reject = "a response whose Content-Length (" + std::to_string(length) +
               ") does not match its range (" + std::to_string(last - first + 1) + " bytes)";
    }
  }

  static size_t OnBody(char* p, size_t size, size_t n, void* self) {
    auto* a = static_cast<Attempt*>(self);
    const size_t len = size * n;
    if (!a->checked) {
      a->checked = true;
      curl_easy_getinfo(a->handle, CURLINFO_RESPONSE_CODE, &a->status);
      if (a->grow == nullptr) a->CheckRange();
    }
    if (a->status == 200 && a->grow == nullptr) {
      a->whole = true;  // a range was asked for: never read the whole object
      return 0;
    }
    if (!a->reject.empty() || !a->replaced.empty()) return 0;  // cuts the transfer
    if (!a->IsData()) {
      const size_t keep = std::min(len, kMaxErrorBody - std::min(kMaxErrorBody, a->body.size()));
      a->body.append(p, keep);
      return len;
    }
    const auto* b = reinterpret_cast<const std::byte*>(p);
    if (a->grow != nullptr) {
      if (a->grow->size() + len > a->limit) {
        a->overflow = true;
        return 0;
      }
      a->grow->insert(a->grow->end(), b, b + len);
    } else {
      if (a->received + len > a->last - a->first + 1) {
        a->overflow = true;
        return 0;
      }
      (*a->sink)(a->first + a->received, std::span(b, len));
    }
    a->received += len;
    return len;
  }
};

HttpClient::HttpClient(std::string url, std::string shown, HttpOptions options)
    : url_(std::move(url)), shown_(std::move(shown)), options_(std::move(options)) {
  GlobalInit();
  curl_slist* h = nullptr;
  if (options_.sign) {
    h = curl_slist_append(h, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (!options_.sign->session_token.empty()) {
      h = curl_slist_append(h, ("x-amz-security-token: " + options_.sign->session_token).c_str());
    }
  }
  headers_ = h;
}

HttpClient::~HttpClient() {
  MutexLock lock(&mu_);
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
  curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

void* HttpClient::TakeHandle() const {
  {
    MutexLock lock(&mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void HttpClient::GiveBack(void* handle) const {
  MutexLock lock(&mu_);
  idle_.push_back(handle);
}

HttpStats HttpClient::stats() const {
  return {requests_.load(std::memory_order_relaxed), retries_.load(std::memory_order_relaxed),
          bytes_.load(std::memory_order_relaxed)};
}

void HttpClient::Send(Attempt& a, const std::string& range, bool conditional) const {
  CURL* c = static_cast<CURL*>(TakeHandle());
  if (c == nullptr) {
    a.code = CURLE_OUT_OF_MEMORY;
    return;
  }
  a.handle = c;
  curl_easy_reset(c);  // keeps the connection for the next request
  curl_easy_setopt(c, CURLOPT_URL, a.url != nullptr ? a.url->c_str() : url_.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L << 10);  // fewer, larger writes to the sink
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max(1.0, options_.connect_timeout * 1000)));
  // A transfer that receives nothing for stall_timeout seconds is given up
  // (and retried): curl's own low-speed limit averages over several
  // seconds, so a stall after a fast start would outlast it.
  a.stall_limit = std::chrono::duration<double>(std::max(1.0, options_.stall_timeout));
  a.last_progress = Clock::now();
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &Attempt::OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &a);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, a.error);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Attempt::OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Attempt::OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
  std::string aws;
  if (options_.sign) {
    aws =
        "aws:amz:" + (options_.region.empty() ? std::string("us-east-1") : options_.region) + ":s3";
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, aws.c_str());
    curl_easy_setopt(c, CURLOPT_USERNAME, options_.sign->access_key.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.sign->secret_key.c_str());
  } else {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  }
  // The fixed headers, then this request's.
  curl_slist* h = nullptr;
  for (auto* f = static_cast<curl_slist*>(headers_); f != nullptr; f = f->next) {
    h = curl_slist_append(h, f->data);
  }
  if (!range.empty()) h = curl_slist_append(h, ("Range: " + range).c_str());
  if (conditional) {
    if (strong_etag_) {
      h = curl_slist_append(h, ("If-Match: " + version_.etag).c_str());
    } else if (!version_.last_modified.empty()) {
      h = curl_slist_append(h, ("If-Range: " + version_.last_modified).c_str());
    }
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  requests_.fetch_add(1, std::memory_order_relaxed);
  a.code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(h);
  a.handle = nullptr;
  GiveBack(c);
}

bool HttpClient::WaitBeforeAttempt(int n, std::chrono::steady_clock::time_point start) const {
  if (n == 0) return true;
  // Full jitter below an exponential bound (at most 2 s).
  const double bound =
      std::min(2.0, options_.retry_base * static_cast<double>(1u << std::min(n - 1, 10)));
  const double wait = std::uniform_real_distribution<double>(bound / 2, bound)(jitter_rng);
  const double spent = std::chrono::duration<double>(Clock::now() - start).count();
  if (n > options_.retries || spent + wait > options_.retry_time) return false;
  retries_.fetch_add(1, std::memory_order_relaxed);
  std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  return true;
}

Error HttpClient::Replaced(const std::string& why) const {
  replaced_.store(true, std::memory_order_relaxed);
  return Corrupt(shown_ + ": the object changed since it was mounted (" + why +
                 "); its reads fail from now on");
}

namespace {

// Why an attempt that is not data failed, for messages.
std::string Describe(const std::string& shown, long status, const std::string& body) {
  std::string out = shown + ": HTTP " + std::to_string(status);
  const std::string code = S3ErrorField(body, "Code");
  if (!code.empty()) {
    out += " " + code;
    const std::string msg = S3ErrorField(body, "Message");
    if (!msg.empty()) out += " (" + msg + ")";
  }
  return out;
}

std::string CurlReason(CURLcode code, const char* error) {
  return error[0] != '\0' ? Escape(error) : curl_easy_strerror(code);
}

}  // namespace

HttpClient::Verdict HttpClient::Judge(const Attempt& a, std::string& last) const {
  if (a.stalled) {
    last = shown_ + ": nothing received for " +
           std::to_string(static_cast<int>(options_.stall_timeout)) + " s";
    return Verdict::kRetry;
  }
  if (a.code != CURLE_OK) {
    last = shown_ + ": " + CurlReason(a.code, a.error);
    return Retryable(a.code) ? Verdict::kRetry : Verdict::kFail;
  }
  if (RetryableStatus(a.status)) {
    last = Describe(shown_, a.status, a.body);
    return Verdict::kRetry;
  }
  return Verdict::kGoOn;
}

std::optional<Error> HttpClient::Refused(const Attempt& a) const {
  if (a.status == 404 || a.status == 410) {
    return MakeError(Errc::kNotFound, Describe(shown_, a.status, a.body));
  }
  if (a.status == 401 || a.status == 403) {
    return Error{Errc::kIo, EACCES, Describe(shown_, a.status, a.body)};
  }
  return std::nullopt;
}

Result<std::vector<std::byte>> HttpClient::GetTail(uint64_t length) {
  const auto start = Clock::now();
  std::string last;
  for (int n = 0; WaitBeforeAttempt(n, start); ++n) {
    std::vector<std::byte> buf;
    Attempt a;
    a.grow = &buf;
    a.limit = length;
    Send(a, "bytes=-" + std::to_string(length), false);
    if (a.overflow) {
      return Fail(MakeError(Errc::kIo, shown_ + ": the server does not honour range requests "
                                                "(it sent the whole object)"));
    }
    if (const Verdict v = Judge(a, last); v != Verdict::kGoOn) {
      if (v == Verdict::kRetry) continue;
      return Fail(Error{Errc::kIo, EIO, last});
    }
    if (auto refused = Refused(a)) return Fail(std::move(*refused));
    ObjectVersion v{0, a.etag, a.last_modified};
    if (a.status == 416) {
      auto r = ParseContentRange(a.content_range);
      if (r && r->whole_unknown && r->size == 0) {
        version_ = v;
        return std::vector<std::byte>{};
      }
      return Fail(Error{Errc::kIo, EIO, Describe(shown_, a.status, a.body)});
    }
    if (a.status == 200) {
      v.size = buf.size();
    } else if (a.status == 206) {
      auto r = ParseContentRange(a.content_range);
      if (!r || r->whole_unknown || r->last + 1 != r->size ||
          r->first != r->size - std::min(r->size, length) || a.received != r->last - r->first + 1) {
        last = shown_ + ": a response that does not match the request (Content-Range " +
               Quote(a.content_range) + ", " + std::to_string(a.received) + " bytes)";
        continue;
      }
      v.size = r->size;
    } else {
      return Fail(Error{Errc::kIo, EIO, Describe(shown_, a.status, a.body)});
    }
    version_ = v;
    strong_etag_ = !v.etag.empty() && !StartsWithNoCase(v.etag, "W/");
    bytes_.fetch_add(buf.size(), std::memory_order_relaxed);
    return buf;
  }
  return Fail(Error{Errc::kIo, EIO, last + " (gave up after retrying)"});
}

Result<std::string> HttpClient::GetDocument(const std::string& url, size_t limit) const {
  const auto start = Clock::now();
  std::string last;
  for (int n = 0; WaitBeforeAttempt(n, start); ++n) {
    std::vector<std::byte> buf;
    Attempt a;
    a.grow = &buf;
    a.limit = limit;
    a.url = &url;
    Send(a, "", false);
    if (a.overflow) {
      return Fail(MakeError(
          Errc::kIo, shown_ + ": a listing larger than " + std::to_string(limit >> 20) + " MiB"));
    }
    if (const Verdict v = Judge(a, last); v != Verdict::kGoOn) {
      if (v == Verdict::kRetry) continue;
      return Fail(Error{Errc::kIo, EIO, last});
    }
    if (auto refused = Refused(a)) return Fail(std::move(*refused));
    if (a.status != 200) return Fail(Error{Errc::kIo, EIO, Describe(shown_, a.status, a.body)});
    return std::string(reinterpret_cast<const char*>(buf.data()), buf.size());
  }
  return Fail(Error{Errc::kIo, EIO, last + " (gave up after retrying)"});
}

Result<void> HttpClient::GetRange(uint64_t offset, uint64_t length, const RangeSink& sink) const {
  if (length == 0) return {};
  const std::string what =
      "read of " + std::to_string(length) + " bytes at offset " + std::to_string(offset);
  if (replaced()) {
    return Fail(
        Corrupt(shown_ + ": the object changed since it was mounted; " + what + " refused"));
  }
  if (offset > version_.size || length > version_.size - offset) {
    return Fail(Corrupt(shown_ + ": " + what + " is past the end of the object"));
  }
  const uint64_t last_byte = offset + length - 1;
  uint64_t done = 0;  // bytes handed to the sink: a retry asks for the rest
  const auto start = Clock::now();
  std::string last;
  int attempts = 0;
  for (int n = 0; WaitBeforeAttempt(n, start); ++n) {
    ++attempts;
    Attempt a;
    a.sink = &sink;
    a.first = offset + done;
    a.last = last_byte;
    a.object_size = version_.size;
    a.pinned_etag = version_.etag;
    const std::string range = "bytes=" + std::to_string(a.first) + "-" + std::to_string(a.last);
    Send(a, range, true);
    done += a.received;
    if (!a.replaced.empty()) return Fail(Replaced(a.replaced));
    if (a.overflow) {
      last = shown_ + ": a longer response than the range asked for";
      continue;
    }
    if (!a.reject.empty()) {
      last = shown_ + ": " + a.reject;
      continue;
    }
    if (a.status == 412) return Fail(Replaced("412 Precondition Failed"));
    if (a.status == 404 || a.status == 410) return Fail(Replaced("it is gone: HTTP 404"));
    if (a.status == 416) return Fail(Replaced("416: it is shorter now"));
    if (a.status == 200) {
      if (!strong_etag_ && !version_.last_modified.empty()) {
        return Fail(Replaced("If-Range answered with the whole object"));
      }
      last = shown_ + ": the server answered a range request with the whole object";
      continue;
    }
    if (const Verdict v = Judge(a, last); v != Verdict::kGoOn) {
      if (v == Verdict::kRetry) continue;
      return Fail(Error{Errc::kIo, EIO, last + "; " + what});
    }
    if (a.status != 206)
      return Fail(Error{Errc::kIo, EIO, Describe(shown_, a.status, a.body) + "; " + what});
    if (done != length) {
      last = shown_ + ": a short response (" + std::to_string(a.received) + " of " +
             std::to_string(a.last - a.first + 1) + " bytes)";
      continue;
    }
    bytes_.fetch_add(length, std::memory_order_relaxed);
    return {};
  }
  return Fail(
      Error{Errc::kIo, EIO,
            last + "; " + what + " failed after " + std::to_string(attempts) + " attempts"});
}

}  // namespace npzfs::core
