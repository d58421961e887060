// Remote archive names: http://, https:// and s3:// URLs, what of them may
// be shown, and the request URL an S3 object is read at.
#ifndef NPZFS_CORE_REMOTE_URL_H_
#define NPZFS_CORE_REMOTE_URL_H_

#include <string>
#include <string_view>

#include "core/base/result.h"

namespace npzfs::core {

// True when `s` starts with `prefix`, ASCII letters compared without case.
bool StartsWithNoCase(std::string_view s, std::string_view prefix);

// True when `name` starts with http://, https:// or s3:// (any case):
// such an archive name is a URL, never a local path.
bool IsRemoteName(std::string_view name);

// `url` without what may be a secret: the user information before '@'
// (user:password), the query (a presigned URL's signature) and the
// fragment. What logs, messages, the mount table and xattrs show.
std::string RedactUrl(std::string_view url);

// Percent-encodes everything but RFC 3986's unreserved characters
// (A-Z a-z 0-9 - . _ ~), and '/' too unless `keep_slash`: the canonical
// form SigV4 signs.
std::string UriEncode(std::string_view text, bool keep_slash);

struct RemoteName {
  enum class Kind { kHttp, kS3 };
  Kind kind = Kind::kHttp;
  std::string url;    // http(s): as given, for the requests
  std::string shown;  // RedactUrl(url): for people
  // s3 only: the bucket and the key (not encoded).
  std::string bucket;
  std::string key;
};

// Parses an http://, https:// or s3://bucket/key name. Errors
// (kInvalidArgument): no host, an s3 URL without a key, a key or URL
// with control characters.
Result<RemoteName> ParseRemoteName(std::string_view name);

// Where an S3 object is read.
struct S3Location {
  std::string endpoint;  // "" for AWS; else e.g. "http://127.0.0.1:7480"
  std::string region;    // "us-east-1" when nothing says otherwise
  enum class Addressing { kAuto, kPath, kVirtual };
  Addressing addressing = Addressing::kAuto;  // auto: virtual on AWS, path elsewhere
};

// The request URL of s3://bucket/key: https://bucket.s3.REGION.amazonaws.com/KEY
// on AWS (virtual-hosted), ENDPOINT/bucket/KEY with an endpoint (path
// style), the key percent-encoded as SigV4 signs it. A bucket that is not
// a valid host name (dots aside) is always addressed path-style.
// Errors (kInvalidArgument): an endpoint that is not http(s)://host[:port].
Result<std::string> S3RequestUrl(const RemoteName& name, const S3Location& where);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_REMOTE_URL_H_
