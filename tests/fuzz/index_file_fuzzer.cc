// libFuzzer target: the persisted index parser (core/read/index_file.h) on
// arbitrary bytes, taken as an index of the archive its own header names
// (so that the records are parsed, not refused as another archive's).
//
// Besides "no crash, no UB, no leak": what it accepts holds what a mount
// relies on (points in order and inside their member and the file, no
// more chunk CRCs than chunks, a complete member's CRCs combining to its
// CRC-32), and what it refuses is one line.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/base/text.h"
#include "core/read/index_file.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_target.h"

namespace npzfs::core {
namespace {

uint64_t Le(const uint8_t* p, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

void CheckAccepted(const std::vector<PersistedMember>& members, uint64_t file_size) {
  for (const PersistedMember& m : members) {
    FUZZ_CHECK(m.chunk_size >= 4096);
    const uint64_t chunks = m.size / m.chunk_size + (m.size % m.chunk_size != 0);
    FUZZ_CHECK(m.chunk_crcs.size() <= chunks);
    if (m.complete) {
      FUZZ_CHECK(m.chunk_crcs.size() == chunks);
      uint32_t crc = 0;
      for (size_t i = 0; i < m.chunk_crcs.size(); ++i) {
        const uint64_t length = std::min(m.chunk_size, m.size - i * m.chunk_size);
        crc = static_cast<uint32_t>(
            crc32_combine(crc, m.chunk_crcs[i], static_cast<z_off_t>(length)));
      }
      FUZZ_CHECK(crc == m.crc32);
    }
    uint64_t last = 0;
    for (const PersistedPoint& p : m.points) {
      FUZZ_CHECK(p.out > last && p.out < m.size);
      FUZZ_CHECK(p.in > 0 && p.in <= m.compressed_size && p.bits <= 7);
      FUZZ_CHECK(p.window_length <= 32768 && p.window_length <= p.out);
      FUZZ_CHECK(p.window_offset <= file_size &&
                 p.window_compressed <= file_size - p.window_offset);
      last = p.out;
    }
  }
}

// `bytes` with the header's and every record's CRC-32 made right, so that
// mutations reach the record parser instead of stopping at the CRCs.
std::vector<uint8_t> WithRightCrcs(const uint8_t* data, size_t size) {
  std::vector<uint8_t> b(data, data + size);
  auto put = [&b](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  auto crc_of = [&b](size_t at, size_t n, size_t zero_at) {
    std::vector<uint8_t> copy(b.begin() + static_cast<long>(at),
                              b.begin() + static_cast<long>(at + n));
    for (int i = 0; i < 4; ++i) copy[zero_at - at + i] = 0;
    return static_cast<uint32_t>(crc32_z(0, copy.data(), copy.size()));
  };
  if (size < 64) return b;
  put(12, crc_of(0, 64, 12));
  const uint64_t records = std::min<uint64_t>(Le(b.data() + 56, 8), size - 64);
  for (uint64_t at = 64; at + 8 <= 64 + records;) {
    const uint64_t n = Le(b.data() + at, 4);
    if (n < 8 || n > 64 + records - at) break;
    put(at + 4, crc_of(at, n, at + 4));
    at += n;
  }
  // The header's CRC covers nothing of the records, so it stays right.
  return b;
}

void ParseAndCheck(const uint8_t* data, size_t size) {
  IndexIdentity id;
  if (size >= 48) {
    id.size = Le(data + 16, 8);
    id.mtime_sec = static_cast<int64_t>(Le(data + 24, 8));
    id.mtime_nsec = static_cast<int32_t>(Le(data + 32, 4));
    id.cd_hash = Le(data + 40, 8);
  }
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto parsed = ParseIndex(bytes, size, id);
  if (!parsed) {
    const Error& e = parsed.error();
    FUZZ_CHECK(e.code == Errc::kCorrupt || e.code == Errc::kNotFound);
    FUZZ_CHECK(npzfs::fuzz::OneLine(e.message) && IsValidUtf8(e.message));
    return;
  }
  CheckAccepted(*parsed, size);
}

}  // namespace
}  // namespace npzfs::core

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npzfs::core;
  ParseAndCheck(data, size);
  const std::vector<uint8_t> fixed = WithRightCrcs(data, size);
  ParseAndCheck(fixed.data(), fixed.size());
  return 0;
}
