#include "core/remote/url.h"

#include <strings.h>

#include <algorithm>
#include <cctype>

#include "core/base/text.h"

namespace npzfs::core {
namespace {

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Where the authority (host[:port], with user information) of `url` ends:
// at the first '/', '?' or '#' after "scheme://".
size_t AuthorityEnd(std::string_view url, size_t start) {
  const size_t end = url.find_first_of("/?#", start);
  return end == std::string_view::npos ? url.size() : end;
}

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// A bucket that can be the first label of a host name: lower-case letters,
// digits and '-', not starting or ending with '-'. (Buckets with dots break
// TLS for virtual-hosted names; they go path-style too.)
bool IsHostLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

bool IsRemoteName(std::string_view name) {
  return StartsWithNoCase(name, "http://") || StartsWithNoCase(name, "https://") ||
         StartsWithNoCase(name, "s3://");
}

std::string RedactUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t authority_end = AuthorityEnd(url, start);
  std::string_view authority = url.substr(start, authority_end - start);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view rest = url.substr(authority_end);
  rest = rest.substr(0, rest.find_first_of("?#"));
  std::string out(url.substr(0, start));
  out += authority;
  out += rest;
  return out;
}

std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<RemoteName> ParseRemoteName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return Fail(MakeError(Errc::kInvalidArgument, Quote(RedactUrl(name)) + ": " + why));
  };
  if (HasControl(name)) return bad("a URL with control characters");
  RemoteName out;
  out.shown = RedactUrl(name);
  if (StartsWithNoCase(name, "s3://")) {
    out.kind = RemoteName::Kind::kS3;
    std::string_view rest = name.substr(5);
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) {
      return bad("an S3 URL is s3://BUCKET/KEY");
    }
    out.bucket = std::string(rest.substr(0, slash));
    out.key = std::string(rest.substr(slash + 1));
    if (out.bucket.find_first_of("?#@:") != std::string::npos) {
      return bad("not a valid bucket name");
    }
    out.url = "s3://" + out.bucket + "/" + out.key;
    out.shown = out.url;
    return out;
  }
  if (!IsRemoteName(name)) return bad("not an http://, https:// or s3:// URL");
  const size_t start = name.find("://") + 3;
  const size_t end = AuthorityEnd(name, start);
  std::string_view authority = name.substr(start, end - start);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (authority.empty() || authority.front() == ':') return bad("a URL without a host");
  if (name.find_first_of(" \"<>\\^`{|}") != std::string_view::npos) {
    return bad("characters a URL cannot hold unencoded");
  }
  out.url = std::string(name);
  return out;
}

Result<std::string> S3RequestUrl(const RemoteName& name, const S3Location& where) {
  const std::string key = UriEncode(name.key, /*keep_slash=*/true);
  if (where.endpoint.empty()) {
    const std::string region = where.region.empty() ? "us-east-1" : where.region;
    const std::string host = "s3." + region + ".amazonaws.com";
    if (where.addressing != S3Location::Addressing::kPath && IsHostLabel(name.bucket)) {
      return "https://" + name.bucket + "." + host + "/" + key;
    }
    return "https://" + host + "/" + UriEncode(name.bucket, false) + "/" + key;
  }
  std::string_view endpoint = where.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.remove_suffix(1);
  const bool http = StartsWithNoCase(endpoint, "http://");
  if ((!http && !StartsWithNoCase(endpoint, "https://")) || HasControl(endpoint)) {
    return Fail(MakeError(Errc::kInvalidArgument, "s3_endpoint " + Quote(RedactUrl(endpoint)) +
                                                      ": not an http:// or https:// URL"));
  }
  const size_t start = endpoint.find("://") + 3;
  if (AuthorityEnd(endpoint, start) != endpoint.size() || start == endpoint.size()) {
    return Fail(MakeError(Errc::kInvalidArgument, "s3_endpoint " + Quote(RedactUrl(endpoint)) +
                                                      ": give only scheme://host[:port]"));
  }
  if (where.addressing == S3Location::Addressing::kVirtual && IsHostLabel(name.bucket)) {
    return std::string(endpoint.substr(0, start)) + name.bucket + "." +
           std::string(endpoint.substr(start)) + "/" + key;
  }
  return std::string(endpoint) + "/" + UriEncode(name.bucket, false) + "/" + key;
}

}  // namespace npzfs::core
