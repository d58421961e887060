// What npzfs reads of a server's responses: header values and S3's error
// documents. Everything here takes any bytes a server may send (bounded,
// fuzzed by tests/fuzz/remote_fuzzer.cc).
#ifndef NPZFS_CORE_REMOTE_HTTP_PARSE_H_
#define NPZFS_CORE_REMOTE_HTTP_PARSE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace npzfs::core {

// A header line's value without the spaces and tabs around it and the
// line end.
std::string_view TrimLine(std::string_view s);

// A Content-Range value: "bytes FIRST-LAST/SIZE" (first <= last < size)
// or "bytes */SIZE" (whole_unknown); nullopt for anything else, an
// unknown size "*" and numbers past 19 digits included.
struct ContentRange {
  bool whole_unknown = false;
  uint64_t first = 0, last = 0, size = 0;
};
std::optional<ContentRange> ParseContentRange(std::string_view value);

// The text of <Tag>...</Tag> in an S3 error document, cut to 200 bytes
// and escaped for messages; "" when absent.
std::string S3ErrorField(std::string_view body, std::string_view tag);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_REMOTE_HTTP_PARSE_H_
