#include "core/remote/http_parse.h"

#include <algorithm>

#include "core/base/text.h"
#include "core/remote/url.h"

namespace npzfs::core {
namespace {

bool ParseUint(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

std::string_view TrimLine(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<ContentRange> ParseContentRange(std::string_view v) {
  if (!StartsWithNoCase(v, "bytes ")) return std::nullopt;
  v.remove_prefix(6);
  const size_t slash = v.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  ContentRange r;
  if (!ParseUint(v.substr(slash + 1), r.size)) return std::nullopt;
  std::string_view span = v.substr(0, slash);
  if (span == "*") {
    r.whole_unknown = true;
    return r;
  }
  const size_t dash = span.find('-');
  if (dash == std::string_view::npos || !ParseUint(span.substr(0, dash), r.first) ||
      !ParseUint(span.substr(dash + 1), r.last) || r.last < r.first || r.last >= r.size) {
    return std::nullopt;
  }
  return r;
}

std::string S3ErrorField(std::string_view body, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const size_t at = body.find(open);
  if (at == std::string_view::npos) return "";
  const size_t start = at + open.size();
  const size_t end = body.find(close, start);
  if (end == std::string_view::npos) return "";
  return Escape(body.substr(start, std::min<size_t>(end - start, 200)));
}

}  // namespace npzfs::core
