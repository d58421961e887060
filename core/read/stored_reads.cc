#include "core/read/stored_reads.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "core/base/crc32.h"
#include "core/base/text.h"

namespace npzfs::core {

StoredReads::State& StoredReads::StateOf(size_t member) {
  auto& s = states_[member];
  if (!s) s = std::make_unique<State>(archive_.entries()[member].size);
  return *s;
}

Result<size_t> StoredReads::Read(size_t member, uint64_t offset, std::span<std::byte> out) {
  const ZipEntry& e = archive_.entries()[member];
  {
    MutexLock lock(&mu_);
    if (const State& s = StateOf(member); s.failure) return Fail(*s.failure);
  }
  if (offset >= e.size && e.size != 0) return size_t{0};
  out = out.first(std::min<uint64_t>(out.size(), e.size - std::min(offset, e.size)));
  if (auto r = ReadExactly(archive_.source(), e.data_offset + offset, out); !r) {
    return Fail(
        Error{r.error().code, r.error().sys_errno, Quote(e.name) + ": " + r.error().message});
  }
  if (auto r = CoverCrc(member, offset, out); !r) return Fail(std::move(r).error());
  return out.size();
}

// Adds the CRC-32s of the bytes of [offset, offset + size) no read has
// covered yet, computed without the lock; a part another reader covered in
// the meantime is looked at again.
Result<void> StoredReads::CoverCrc(size_t member, uint64_t offset,
                                   std::span<const std::byte> bytes) {
  for (;;) {
    std::vector<CrcIntervals::Range> gaps;
    {
      MutexLock lock(&mu_);
      State& s = StateOf(member);
      if (s.failure) return Fail(*s.failure);
      if (s.verified) return {};
      gaps = s.crc.Gaps(offset, offset + bytes.size());
    }
    std::vector<uint32_t> crcs;
    for (const auto& g : gaps)
      crcs.push_back(Crc32(0, bytes.subspan(g.begin - offset, g.end - g.begin)));
    MutexLock lock(&mu_);
    State& s = StateOf(member);
    if (s.failure) return Fail(*s.failure);
    bool all = true;
    for (size_t i = 0; i < gaps.size(); ++i) {
      all = s.crc.Add(gaps[i].begin, gaps[i].end, crcs[i]) && all;
    }
    if (!s.verified && s.crc.complete()) {
      const ZipEntry& e = archive_.entries()[member];
      if (s.crc.crc() != e.crc32) {
        char msg[80];
        std::snprintf(msg, sizeof msg, ": CRC-32 mismatch: data has %08x, archive says %08x",
                      s.crc.crc(), e.crc32);
        s.failure = Corrupt(Quote(e.name) + msg);
        return Fail(*s.failure);
      }
      s.verified = true;
      s.crc = CrcIntervals(0);
    }
    if (all) return {};
  }
}

}  // namespace npzfs::core
