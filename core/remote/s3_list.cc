#include "core/remote/s3_list.h"

#include <curl/curl.h>

#include "core/base/text.h"
#include "core/remote/http_client.h"
#include "core/remote/http_parse.h"
#include "core/remote/url.h"

namespace npzfs::core {
namespace {

constexpr size_t kMaxPage = size_t{16} << 20;

// The text between <tag> and </tag> from `from`; nullopt when absent.
// `from` moves past the closing tag.
std::optional<std::string_view> Element(std::string_view xml, std::string_view tag, size_t& from) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const size_t a = xml.find(open, from);
  if (a == std::string_view::npos) return std::nullopt;
  const size_t start = a + open.size();
  const size_t b = xml.find(close, start);
  if (b == std::string_view::npos) return std::nullopt;
  from = b + close.size();
  return xml.substr(start, b - start);
}

// XML text with its entities decoded; nullopt for a malformed one.
std::optional<std::string> Unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '&') {
      out += text[i++];
      continue;
    }
    const size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) return std::nullopt;
    const std::string_view e = text.substr(i + 1, semi - i - 1);
    if (e == "amp") {
      out += '&';
    } else if (e == "lt") {
      out += '<';
    } else if (e == "gt") {
      out += '>';
    } else if (e == "quot") {
      out += '"';
    } else if (e == "apos") {
      out += '\'';
    } else if (e.size() > 1 && e[0] == '#') {
      const bool hex = e[1] == 'x' || e[1] == 'X';
      const std::string_view digits = e.substr(hex ? 2 : 1);
      if (digits.empty()) return std::nullopt;
      uint32_t cp = 0;
      for (char c : digits) {
        int v;
        if (c >= '0' && c <= '9') {
          v = c - '0';
        } else if (hex && c >= 'a' && c <= 'f') {
          v = c - 'a' + 10;
        } else if (hex && c >= 'A' && c <= 'F') {
          v = c - 'A' + 10;
        } else {
          return std::nullopt;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
        if (cp > 0x10ffff) return std::nullopt;
      }
      if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
      AppendUtf8(cp, out);
    } else {
      return std::nullopt;
    }
    i = semi + 1;
  }
  return out;
}

std::optional<uint64_t> Number(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

std::optional<S3ListPage> ParseListObjectsV2(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) return std::nullopt;
  S3ListPage page;
  size_t at = 0;
  while (auto contents = Element(xml, "Contents", at)) {
    size_t in = 0;
    auto key = Element(*contents, "Key", in);
    in = 0;
    auto size = Element(*contents, "Size", in);
    in = 0;
    auto modified = Element(*contents, "LastModified", in);
    if (!key || !size) return std::nullopt;
    auto k = Unescape(*key);
    auto n = Number(*size);
    if (!k || !n || k->empty()) return std::nullopt;
    S3Object o{std::move(*k), *n, 0};
    if (modified && modified->size() < 64) {
      const time_t t = curl_getdate(std::string(*modified).c_str(), nullptr);
      if (t > 0) o.mtime = t;
    }
    page.objects.push_back(std::move(o));
  }
  at = 0;
  if (auto t = Element(xml, "IsTruncated", at)) page.truncated = *t == "true";
  at = 0;
  if (page.truncated) {
    auto token = Element(xml, "NextContinuationToken", at);
    if (!token) return std::nullopt;
    auto decoded = Unescape(*token);
    if (!decoded || decoded->empty()) return std::nullopt;
    page.next_token = std::move(*decoded);
  }
  return page;
}

Result<std::vector<S3Object>> ListS3Prefix(std::string_view url, const RemoteSettings& settings,
                                           const EnvLookup& env) {
  const std::string shown = RedactUrl(url);
  if (!StartsWithNoCase(url, "s3://")) {
    return Fail(MakeError(Errc::kInvalidArgument, Quote(shown) + ": not an s3:// prefix"));
  }
  const std::string_view rest = url.substr(5);
  const size_t slash = rest.find('/');
  const std::string bucket(rest.substr(0, slash));
  const std::string prefix(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
  // The bucket's own URL: the request URL of a key "x", less the "x".
  auto parsed = ParseRemoteName("s3://" + bucket + "/x");
  if (!parsed) return Fail(std::move(parsed).error());
  auto aws = LoadAwsSettings(env);
  if (!aws) return Fail(std::move(aws).error());
  const S3Location where = S3LocationOf(settings, *aws);
  auto key_url = S3RequestUrl(*parsed, where);
  if (!key_url) return Fail(std::move(key_url).error());
  const std::string base = key_url->substr(0, key_url->size() - 1);
  HttpOptions http = settings.http;
  http.sign = aws->credentials;
  http.region = where.region;
  HttpClient client(base, shown, http);

  std::vector<S3Object> out;
  std::string token;
  for (;;) {
    // The query in SigV4's canonical form: keys sorted, every value encoded.
    std::string query;
    if (!token.empty()) query += "continuation-token=" + UriEncode(token, false) + "&";
    query += "list-type=2&prefix=" + UriEncode(prefix, false);
    auto body = client.GetDocument(base + "?" + query, kMaxPage);
    if (!body) return Fail(std::move(body).error());
    auto page = ParseListObjectsV2(*body);
    if (!page) {
      return Fail(Corrupt(shown + ": the server's answer is not a listing (" +
                          S3ErrorField(*body, "Code") + ")"));
    }
    for (S3Object& o : page->objects) {
      if (o.key.compare(0, prefix.size(), prefix) != 0) continue;  // not asked for
      out.push_back(std::move(o));
    }
    if (out.size() > kMaxListed) {
      return Fail(MakeError(Errc::kInvalidArgument,
                            shown + ": more than " + std::to_string(kMaxListed) + " objects"));
    }
    if (!page->truncated) break;
    if (page->next_token == token) {
      return Fail(Corrupt(shown + ": the listing does not go on (the same page again)"));
    }
    token = page->next_token;
  }
  return out;
}

}  // namespace npzfs::core
