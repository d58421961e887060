#include "core/read/stored_reads.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "core/base/fault_guard.h"
#include "core/base/text.h"

namespace npzfs::core {

Error StoredReads::Changed(size_t member) const {
  return Corrupt(Quote(archive_.entries()[member].name) + ": " + archive_.source().shown_name() +
                 ": the archive was changed (truncated or written) since it was opened");
}

StoredReads::State& StoredReads::StateOf(size_t member) {
  auto& s = states_[member];
  if (!s) s = std::make_unique<State>(archive_.entries()[member].size);
  return *s;
}

Result<std::span<const std::byte>> StoredReads::Read(size_t member, uint64_t offset, size_t size,
                                                     std::span<std::byte> scratch) {
  const ZipEntry& e = archive_.entries()[member];
  {
    MutexLock lock(&mu_);
    if (const State& s = StateOf(member); s.failure) return Fail(*s.failure);
  }
  if (offset >= e.size && e.size != 0) return std::span<const std::byte>();
  const size_t n = std::min<uint64_t>(size, e.size - std::min(offset, e.size));
  const ByteSource& src = archive_.source();
  auto named = [&](const Error& err) {
    return Error{err.code, err.sys_errno, Quote(e.name) + ": " + err.message};
  };
  const std::span<const std::byte> mapped = src.Mapped();
  std::span<const std::byte> bytes;
  if (!mapped.empty() && e.data_offset + offset + n <= mapped.size()) {
    bytes = mapped.subspan(e.data_offset + offset, n);
  } else {
    if (auto r = ReadExactly(src, e.data_offset + offset, scratch.first(n)); !r) {
      return Fail(named(r.error()));
    }
    bytes = scratch.first(n);
  }
  if (auto r = CoverCrc(member, offset, bytes); !r) {
    return Fail(std::move(r).error());
  }
  // Mapped bytes are those of the file now: it must still be the archive.
  if (!mapped.empty()) {
    if (auto r = src.Check(); !r) return Fail(named(r.error()));
  }
  return bytes;
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
    for (const auto& g : gaps) {
      // Mapped bytes of a file cut short raise SIGBUS: caught here.
      auto crc = GuardedCrc32(0, bytes.subspan(g.begin - offset, g.end - g.begin));
      if (!crc) return Fail(Changed(member));
      crcs.push_back(*crc);
    }
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
