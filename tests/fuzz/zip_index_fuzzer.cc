// libFuzzer target: the zip index (end record, zip64, central directory,
// local headers, name rules) read from arbitrary archive bytes.
//
// Checks what the readers and the tree rely on for any archive the index
// accepts: every member whose local header passed has its data inside the
// archive, every listed path is one SafeMemberPath accepts unchanged, every
// left-out member says why, and text is UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/archive/zip_index.h"
#include "core/base/text.h"
#include "core/source/memory_source.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_target.h"

namespace npzfs::core {
namespace {

constexpr size_t kCentralHeaderSize = 46;  // APPNOTE 4.3.12
constexpr size_t kLocalHeaderSize = 30;    // APPNOTE 4.3.7

using fuzz::OneLine;

void CheckEntry(const ZipIndex& index, size_t i) {
  const ZipEntry& e = index.entries[i];
  const uint64_t size = index.archive_size;
  FUZZ_CHECK(e.index == i);
  FUZZ_CHECK(IsValidUtf8(e.name));
  FUZZ_CHECK(!MethodName(e.method).empty());
  if (e.local_error.empty()) {
    FUZZ_CHECK(e.data_offset <= size);
    FUZZ_CHECK(e.compressed_size <= size - e.data_offset);
    FUZZ_CHECK(e.data_offset >= index.prefix + e.local_header_offset + kLocalHeaderSize);
    FUZZ_CHECK(e.method != kMethodStored || e.encrypted || e.size == e.compressed_size);
  } else {
    FUZZ_CHECK(OneLine(e.local_error));
  }
  if (e.path.empty()) {
    FUZZ_CHECK(OneLine(e.skip_reason));
    return;
  }
  FUZZ_CHECK(e.skip_reason.empty());
  FUZZ_CHECK(IsValidUtf8(e.path));
  FUZZ_CHECK(e.path.front() != '/' && e.path.back() != '/');
  auto again = SafeMemberPath(e.path);
  FUZZ_CHECK(again && *again == e.path);
}

void CheckIndex(const ZipIndex& index, size_t size) {
  FUZZ_CHECK(index.archive_size == size);
  FUZZ_CHECK(index.prefix <= size);
  FUZZ_CHECK(index.entries.size() <= size / kCentralHeaderSize);
  for (size_t i = 0; i < index.entries.size(); ++i) CheckEntry(index, i);
}

// The index is a pure function of the bytes.
void CheckSame(const ZipIndex& a, const ZipIndex& b) {
  FUZZ_CHECK(a.entries.size() == b.entries.size() && a.prefix == b.prefix &&
             a.comment == b.comment);
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const ZipEntry& x = a.entries[i];
    const ZipEntry& y = b.entries[i];
    FUZZ_CHECK(x.name == y.name && x.path == y.path && x.skip_reason == y.skip_reason &&
               x.local_error == y.local_error && x.data_offset == y.data_offset &&
               x.size == y.size && x.compressed_size == y.compressed_size);
  }
}

}  // namespace
}  // namespace npzfs::core

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npzfs::core;
  const MemorySource src(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npz");
  auto index = ReadZipIndex(src);
  if (!index) {
    const Error& e = index.error();
    FUZZ_CHECK(e.code == Errc::kCorrupt);
    FUZZ_CHECK(OneLine(e.message));
    FUZZ_CHECK(e.message.rfind("fuzz.npz: ", 0) == 0);  // the name needs no quotes
    return 0;
  }
  CheckIndex(*index, size);
  auto again = ReadZipIndex(src);
  FUZZ_CHECK(again);
  CheckSame(*index, *again);
  return 0;
}
