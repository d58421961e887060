// The zlib engine of deflate.h.
#include <algorithm>
#include <new>

#include "core/codec/deflate.h"

namespace npzfs::core {

ZlibInflater::ZlibInflater() {
  // -15: raw deflate with a 32 KiB window, what zip's method 8 is.
  if (inflateInit2(&zs_, -15) != Z_OK) throw std::bad_alloc();
}

ZlibInflater::~ZlibInflater() { inflateEnd(&zs_); }

void ZlibInflater::Restart() {
  inflateReset(&zs_);
  zs_.next_in = nullptr;
  zs_.avail_in = 0;
  stream_end_ = false;
}

// zran.c's deflate_index_extract: the block starts `bits` bits before byte
// `in`; those bits go in first (inflatePrime), then the window the block's
// matches may reach back into (for raw inflate inflateSetDictionary may be
// called at any time, zlib.h).
Result<void> ZlibInflater::Seek(const AccessPoint& point) {
  Restart();
  auto byte = BeginAt(point);
  if (!byte) return Fail(std::move(byte).error());
  if (point.bits > 0) inflatePrime(&zs_, point.bits, *byte >> (8 - point.bits));
  if (!point.window.empty()) {
    inflateSetDictionary(&zs_, reinterpret_cast<const Bytef*>(point.window.data()),
                         static_cast<uInt>(point.window.size()));
  }
  return {};
}

Result<size_t> ZlibInflater::Read(std::span<std::byte> out) {
  // zlib counts in uInt: a larger buffer is filled in several calls.
  const size_t want = std::min<size_t>(out.size(), UINT32_MAX);
  zs_.next_out = reinterpret_cast<Bytef*>(out.data());
  zs_.avail_out = static_cast<uInt>(want);
  while (zs_.avail_out > 0 && !stream_end_) {
    if (auto r = Step(); !r) return Fail(std::move(r).error());
  }
  return want - zs_.avail_out;
}

// One inflate() call into the current output buffer, fetching input when
// zlib has used up what it had. zlib may still finish the stream from its
// own buffers after the last input byte went in, so input running out is
// only an error when inflate() then cannot move.
Result<void> ZlibInflater::Step() {
  if (zs_.avail_in == 0 && input_left()) {
    auto piece = Fetch();
    if (!piece) return Fail(std::move(piece).error());
    zs_.next_in = reinterpret_cast<Bytef*>(piece->data());
    zs_.avail_in = static_cast<uInt>(piece->size());
  }
  const uInt before = zs_.avail_out;
  const int rc = inflate(&zs_, sink_ ? Z_BLOCK : Z_NO_FLUSH);
  const uInt produced = before - zs_.avail_out;
  AddCrc(std::span(reinterpret_cast<const std::byte*>(zs_.next_out - produced), produced));
  out_pos_ += produced;
  if (sink_ && rc == Z_OK) AtBoundary();
  return Check(rc);
}

// zlib.h on data_type after inflate(Z_BLOCK): +128 right after an
// end-of-block code, +64 while in the last block, low 3 bits = unused bits
// of the last input byte. So 0x80 without 0x40 is the start of a block that
// is not the first, and decoding can resume there.
void ZlibInflater::AtBoundary() {
  if ((zs_.data_type & 0xc0) != 0x80 || !sink_->WantsPoint(out_pos_)) return;
  AccessPoint p;
  p.out = out_pos_;
  p.in = fetched() - zs_.avail_in;
  p.bits = zs_.data_type & 7;
  p.crc = crc_;
  uInt have = 0;
  inflateGetDictionary(&zs_, nullptr, &have);
  p.window.resize(have);
  inflateGetDictionary(&zs_, reinterpret_cast<Bytef*>(p.window.data()), &have);
  sink_->AddPoint(std::move(p));
}

// Interprets inflate()'s return code.
Result<void> ZlibInflater::Check(int rc) {
  switch (rc) {
    case Z_STREAM_END:
      stream_end_ = true;
      return {};
    case Z_OK:
      return {};
    case Z_BUF_ERROR:
      // No progress. With input left to fetch, the next Step() fetches it.
      if (zs_.avail_in == 0 && input_left()) return {};
      if (zs_.avail_in == 0) {
        return Fail(CorruptAt("the compressed data ends before the deflate stream does"));
      }
      return Fail(CorruptAt("the deflate stream makes no progress"));
    case Z_MEM_ERROR:
      throw std::bad_alloc();
    default:
      return Fail(CorruptAt(std::string("invalid deflate data: ") +
                            (zs_.msg ? zs_.msg : "error " + std::to_string(rc))));
  }
}

}  // namespace npzfs::core
