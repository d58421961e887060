// libFuzzer target: what npzfs reads of a server and of its own disk cache
// of remote bytes, on arbitrary input. The first byte chooses the parser:
//   0: ParseContentRange (a Content-Range header value)
//   1: S3ErrorField (an S3 error document) for Code and Message
//   2: ParseAwsIni (~/.aws/credentials and ~/.aws/config)
//   3: PieceFiles::Load (a piece file of remote_cache_dir= with any
//      content, at lengths around the input's own)
//   4: ParseListObjectsV2 (an S3 listing page)
//
// Besides "no crash, no UB, no leak": a Content-Range accepted is
// first <= last < size; an error field is at most 200 source bytes,
// escaped (no control character reaches a message); every INI key and
// section is trimmed; a piece file is accepted only when it is exactly
// what Store writes for those bytes; a listing's keys are non-empty valid
// UTF-8 where the input's entities were, and a truncated page has a token.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/remote/credentials.h"
#include "core/remote/http_parse.h"
#include "core/remote/piece_files.h"
#include "core/remote/s3_list.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_target.h"

namespace npzfs::core {
namespace {

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

void ContentRangeCase(std::string_view text) {
  auto r = ParseContentRange(text);
  if (!r) return;
  if (!r->whole_unknown) {
    FUZZ_CHECK(r->first <= r->last);
    FUZZ_CHECK(r->last < r->size);
  }
  FUZZ_CHECK(text.size() >= 6);
}

void ErrorDocumentCase(std::string_view text) {
  for (const char* tag : {"Code", "Message"}) {
    const std::string v = S3ErrorField(text, tag);
    FUZZ_CHECK(!HasControl(v));
    FUZZ_CHECK(v.size() <= 200 * 6);  // each byte escaped at most as \uXXXX
  }
}

void IniCase(std::string_view text) {
  auto sections = ParseAwsIni(text);
  auto trimmed = [](const std::string& s) {
    return s.empty() || (s.front() != ' ' && s.front() != '\t' && s.back() != ' ' &&
                         s.back() != '\t' && s.back() != '\r');
  };
  for (const auto& [name, keys] : sections) {
    FUZZ_CHECK(trimmed(name));
    for (const auto& [k, v] : keys) {
      FUZZ_CHECK(trimmed(k));
      FUZZ_CHECK(trimmed(v));
      FUZZ_CHECK(k.find('\n') == std::string::npos && v.find('\n') == std::string::npos);
    }
  }
}

// One directory for the process (the fuzzer runs millions of inputs),
// removed when it exits.
std::string& CacheDirName() {
  static std::string dir;
  return dir;
}

void RemoveCacheDir() {
  std::error_code ec;
  std::filesystem::remove_all(CacheDirName(), ec);
}

const std::string& CacheDir() {
  std::string& dir = CacheDirName();
  if (dir.empty()) {
    char templ[] = "/tmp/npzfs-remote-fuzz-XXXXXX";
    const char* made = ::mkdtemp(templ);
    FUZZ_CHECK(made != nullptr);
    dir = made;
    std::atexit(RemoveCacheDir);
  }
  return dir;
}

void PieceFileCase(std::span<const std::byte> bytes) {
  auto files = PieceFiles::Open(CacheDir(), "fuzz", uint64_t{1} << 30);
  FUZZ_CHECK(files.has_value());
  // The input is the file; Load asks for pieces of a few lengths.
  for (size_t length :
       {bytes.size(), bytes.size() >= 12 ? bytes.size() - 12 : size_t{0}, size_t{1}}) {
    char name[64];
    std::snprintf(name, sizeof name, "/10-%zx", length);
    const std::string file = (*files)->dir() + name;
    FILE* f = std::fopen(file.c_str(), "wb");
    FUZZ_CHECK(f != nullptr);
    if (!bytes.empty()) FUZZ_CHECK(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    std::fclose(f);
    std::vector<std::byte> out(length);
    const bool loaded = (*files)->Load(0x10, out);
    if (loaded) {
      // Accepted: exactly the bytes the file starts with, and the file is
      // what Store writes for them.
      FUZZ_CHECK(bytes.size() == length + 12);
      FUZZ_CHECK(std::equal(out.begin(), out.end(), bytes.begin()));
      ::unlink(file.c_str());
      (*files)->Store(0x10, out);
      std::vector<std::byte> again(length);
      FUZZ_CHECK((*files)->Load(0x10, again));
      FUZZ_CHECK(again == out);
    } else {
      FUZZ_CHECK(::access(file.c_str(), F_OK) != 0);  // a bad file is removed
    }
    ::unlink(file.c_str());
  }
}

void ListingCase(std::string_view text) {
  auto page = ParseListObjectsV2(text);
  if (!page) return;
  for (const S3Object& o : page->objects) {
    FUZZ_CHECK(!o.key.empty());
    FUZZ_CHECK(o.key.size() <= text.size());
  }
  if (page->truncated) FUZZ_CHECK(!page->next_token.empty());
}

}  // namespace
}  // namespace npzfs::core

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npzfs::core;  // NOLINT(google-build-using-namespace)
  if (size == 0 || size > 65536) return 0;
  const auto* rest = reinterpret_cast<const char*>(data + 1);
  const std::string_view text(rest, size - 1);
  switch (data[0] % 5) {
    case 0:
      ContentRangeCase(text);
      break;
    case 1:
      ErrorDocumentCase(text);
      break;
    case 2:
      IniCase(text);
      break;
    case 3:
      PieceFileCase(std::as_bytes(std::span(data + 1, size - 1)));
      break;
    default:
      ListingCase(text);
      break;
  }
  return 0;
}
