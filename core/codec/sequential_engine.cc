#include "core/codec/sequential_engine.h"

#include <new>

#include "core/base/crc32.h"

namespace npzfs::core {

void SequentialEngine::Reset(const ByteSource& src, const StreamSpan& span) {
  input_.Reset(src, span);
  out_pos_ = 0;
  crc_ = 0;
  ended_ = false;
  if (!Restart()) throw std::bad_alloc();
}

Result<void> SequentialEngine::Seek(const AccessPoint& point) {
  if (point.out != 0) {
    return Fail(Unsupported("this method cannot start at uncompressed offset " +
                            std::to_string(point.out)));
  }
  Reset(input_.source(), input_.span());
  return {};
}

Result<size_t> SequentialEngine::Read(std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size() && !ended_) {
    auto got = Decode(out.subspan(done));
    if (!got) return Fail(std::move(got).error());
    done += *got;
    out_pos_ += *got;
  }
  crc_ = Crc32(crc_, out.first(done));
  return done;
}

Error SequentialEngine::CorruptAt(const std::string& what, uint64_t unused) const {
  return Corrupt(what + " (uncompressed offset " + std::to_string(out_pos_) +
                 ", compressed offset " + std::to_string(input_.fetched() - unused) + ")");
}

}  // namespace npzfs::core
