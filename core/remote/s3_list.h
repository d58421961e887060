// Listing the objects under an S3 prefix (ListObjectsV2), for a mount of
// every archive under s3://bucket/prefix/.
#ifndef NPZFS_CORE_REMOTE_S3_LIST_H_
#define NPZFS_CORE_REMOTE_S3_LIST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/remote/credentials.h"
#include "core/remote/open_remote.h"

namespace npzfs::core {

struct S3Object {
  std::string key;
  uint64_t size = 0;
  int64_t mtime = 0;  // LastModified, seconds since the epoch; 0 when unknown
};

struct S3ListPage {
  std::vector<S3Object> objects;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken, when truncated
};

// One ListObjectsV2 response page. Keys have their XML entities decoded
// (&amp; &lt; &gt; &quot; &apos; &#N; &#xN;); nullopt when the document is
// not a ListBucketResult, or an entity, size or key is malformed. Any
// bytes: bounded and fuzzed (tests/fuzz/remote_fuzzer.cc).
std::optional<S3ListPage> ParseListObjectsV2(std::string_view xml);

// Every object whose key starts with the prefix of `url`
// (s3://bucket/prefix/, the prefix may be empty), page after page, at most
// kMaxListed. Signed and addressed as OpenRemote does. Errors name the
// URL: kNotFound (no such bucket), kIo (EACCES: 403), kCorrupt (a page
// that is not a listing), kInvalidArgument (more than kMaxListed).
inline constexpr size_t kMaxListed = 1'000'000;
Result<std::vector<S3Object>> ListS3Prefix(std::string_view url, const RemoteSettings& settings,
                                           const EnvLookup& env);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_REMOTE_S3_LIST_H_
