#include "tools/pack/sozip_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <new>

namespace npzfs::tools::pack {
namespace {

constexpr uint64_t kGroupTarget = 1 << 20;
constexpr uint32_t kIndexVersion = 1;
constexpr uint32_t kOffsetSize = 8;

void Put(std::string& out, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out += static_cast<char>(value >> (8 * i) & 0xff);
}

}  // namespace

uint64_t GroupSize(uint32_t chunk_size) {
  return std::max<uint64_t>(1, kGroupTarget / chunk_size) * chunk_size;
}

ChunkDeflater::ChunkDeflater(int level) : z_(new z_stream{}) {
  if (deflateInit2(z_, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    delete z_;
    throw std::bad_alloc();
  }
}

ChunkDeflater::~ChunkDeflater() {
  deflateEnd(z_);
  delete z_;
}

// Feeds `in` to deflate with `flush` until deflate has taken all of it
// and, the flush done, left room in its output: zlib's rule for knowing a
// flush is complete. `out` holds `used` bytes of output and grows when
// full.
core::Result<void> ChunkDeflater::Run(std::span<const std::byte> in, int flush,
                                      std::vector<std::byte>& out, size_t& used) {
  z_->next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  z_->avail_in = static_cast<uInt>(in.size());
  for (;;) {
    if (out.size() - used < 64) out.resize(out.size() * 2 + 4096);
    const size_t room = std::min<size_t>(out.size() - used, 1u << 30);
    z_->next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z_->avail_out = static_cast<uInt>(room);
    const int r = deflate(z_, flush);
    used += room - z_->avail_out;
    if (r == Z_STREAM_ERROR) return core::Fail(core::Corrupt("zlib deflate failed"));
    if (r == Z_STREAM_END) return {};
    if (z_->avail_in == 0 && z_->avail_out > 0) return {};
  }
}

core::Result<void> ChunkDeflater::Deflate(std::span<const std::byte> input, uint32_t chunk_size,
                                          bool last, DeflatedGroup& out) {
  if (deflateReset(z_) != Z_OK) return core::Fail(core::Corrupt("zlib deflateReset failed"));
  out.chunk_starts.clear();
  // Room for what deflate makes of incompressible data, and for the
  // empty stored blocks of two flushes per chunk; more only if needed.
  const size_t chunks = input.size() / chunk_size + 1;
  out.bytes.resize(deflateBound(z_, input.size()) + 16 * chunks);
  size_t used = 0;
  for (size_t at = 0; at < input.size(); at += chunk_size) {
    const auto chunk = input.subspan(at, std::min<size_t>(chunk_size, input.size() - at));
    if (at > 0) out.chunk_starts.push_back(used);
    if (last && at + chunk.size() == input.size()) {
      if (auto r = Run(chunk, Z_FINISH, out.bytes, used); !r) return r;
    } else {
      if (auto r = Run(chunk, Z_SYNC_FLUSH, out.bytes, used); !r) return r;
      if (auto r = Run({}, Z_FULL_FLUSH, out.bytes, used); !r) return r;
    }
  }
  if (input.empty() && last) {
    if (auto r = Run({}, Z_FINISH, out.bytes, used); !r) return r;
  }
  out.bytes.resize(used);
  return {};
}

std::string SozipIndexContent(uint32_t chunk_size, uint64_t size, uint64_t compressed_size,
                              std::span<const uint64_t> starts) {
  std::string c;
  Put(c, kIndexVersion, 4);
  Put(c, 0, 4);  // skip_bytes
  Put(c, chunk_size, 4);
  Put(c, kOffsetSize, 4);
  Put(c, size, 8);
  Put(c, compressed_size, 8);
  for (uint64_t s : starts) Put(c, s, kOffsetSize);
  return c;
}

}  // namespace npzfs::tools::pack
