#include "core/codec/inflater.h"

#include <algorithm>
#include <new>

#include "core/base/crc32.h"
#include "core/base/text.h"
#if NPZFS_HAVE_ISAL
#include "core/codec/isal_inflater.h"
#endif

namespace npzfs::core {
namespace {
constexpr size_t kInputChunk = 64 << 10;
}  // namespace

// ---------------------------------------------------------------------------
// DeflateDecoder

Result<uint8_t> DeflateDecoder::BeginAt(const AccessPoint& point) {
  if (point.in > span_.in_size || point.out > span_.out_size || point.bits < 0 ||
      point.bits > 7 || (point.bits > 0 && point.in == 0) || point.window.size() > kDeflateWindow) {
    return Fail(Corrupt(Quote(member_) + ": access point at uncompressed offset " +
                        std::to_string(point.out) + " lies outside the stream"));
  }
  in_buf_.clear();
  in_pos_ = point.in;
  out_pos_ = point.out;
  crc_ = point.crc;
  if (point.bits == 0) return uint8_t{0};
  std::byte b;
  if (auto r = ReadExactly(src_, span_.in_offset + point.in - 1, std::span(&b, 1)); !r) {
    return Fail(std::move(r).error());
  }
  return static_cast<uint8_t>(b);
}

Result<std::span<std::byte>> DeflateDecoder::Fetch() {
  if (!input_left()) {
    return Fail(CorruptAt("the compressed data ends before the deflate stream does", 0));
  }
  in_buf_.resize(std::min<uint64_t>(kInputChunk, span_.in_size - in_pos_));
  if (auto r = ReadExactly(src_, span_.in_offset + in_pos_, in_buf_); !r) {
    return Fail(std::move(r).error());
  }
  in_pos_ += in_buf_.size();
  return std::span(in_buf_);
}

Error DeflateDecoder::CorruptAt(const std::string& what, uint64_t unused) const {
  return Corrupt(Quote(member_) + ": " + what + " (uncompressed offset " + std::to_string(out_pos_) +
                 ", compressed offset " + std::to_string(in_pos_ - unused) + ")");
}

void DeflateDecoder::AddCrc(std::span<const std::byte> bytes) {
  if (track_crc_ && !bytes.empty()) crc_ = Crc32(crc_, bytes);
}

// ---------------------------------------------------------------------------
// RawInflater

RawInflater::RawInflater(const ByteSource& src, const DeflateSpan& span, std::string member)
    : DeflateDecoder(src, span, std::move(member)) {
  // -15: raw deflate with a 32 KiB window, what zip's method 8 is.
  if (inflateInit2(&zs_, -15) != Z_OK) throw std::bad_alloc();
}

RawInflater::~RawInflater() { inflateEnd(&zs_); }

void RawInflater::Restart() {
  inflateReset(&zs_);
  zs_.next_in = nullptr;
  zs_.avail_in = 0;
  in_pos_ = 0;
  out_pos_ = 0;
  stream_end_ = false;
  crc_ = 0;
}

// zran.c's deflate_index_extract: the block starts `bits` bits before byte
// `in`; those bits go in first (inflatePrime), then the window the block's
// matches may reach back into (for raw inflate inflateSetDictionary may be
// called at any time, zlib.h).
Result<void> RawInflater::Seek(const AccessPoint& point) {
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

Result<size_t> RawInflater::Read(std::span<std::byte> out) {
  const size_t want = std::min<uint64_t>(out.size(), span_.out_size - out_pos_);
  zs_.next_out = reinterpret_cast<Bytef*>(out.data());
  zs_.avail_out = static_cast<uInt>(want);
  while (zs_.avail_out > 0) {
    if (stream_end_) {
      return Fail(CorruptAt("the deflate stream ends before the declared size " +
                            std::to_string(span_.out_size)));
    }
    if (auto r = Step(); !r) return Fail(std::move(r).error());
  }
  if (out_pos_ == span_.out_size) {
    if (auto r = ExpectEnd(); !r) return Fail(std::move(r).error());
  }
  return want;
}

// One inflate() call into the current output buffer, fetching input when
// zlib has used up what it had. zlib may still finish the stream from its
// own buffers after the last input byte went in, so input running out is
// only an error when inflate() then cannot move.
Result<void> RawInflater::Step() {
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
void RawInflater::AtBoundary() {
  if ((zs_.data_type & 0xc0) != 0x80 || !sink_->WantsPoint(out_pos_)) return;
  AccessPoint p;
  p.out = out_pos_;
  p.in = in_pos_ - zs_.avail_in;
  p.bits = zs_.data_type & 7;
  p.crc = crc_;
  uInt have = 0;
  inflateGetDictionary(&zs_, nullptr, &have);
  p.window.resize(have);
  inflateGetDictionary(&zs_, reinterpret_cast<Bytef*>(p.window.data()), &have);
  sink_->AddPoint(std::move(p));
}

// Interprets inflate()'s return code.
Result<void> RawInflater::Check(int rc) {
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

// At the declared size the stream must end: one more byte of output, or
// no end marker before the compressed data runs out, is corruption. This is
// what stops a zip bomb at its declared size.
Result<void> RawInflater::ExpectEnd() {
  std::byte extra;
  while (!stream_end_) {
    zs_.next_out = reinterpret_cast<Bytef*>(&extra);
    zs_.avail_out = 1;
    if (auto r = Step(); !r) return Fail(std::move(r).error());
    if (zs_.avail_out == 0) {
      return Fail(CorruptAt("the deflate stream goes on past the declared size " +
                            std::to_string(span_.out_size)));
    }
  }
  return {};
}

// ---------------------------------------------------------------------------
// Engines

bool IsalAvailable() { return NPZFS_HAVE_ISAL != 0; }

InflateEngine DefaultInflateEngine() {
  return IsalAvailable() ? InflateEngine::kIsal : InflateEngine::kZlib;
}

const char* EngineName(InflateEngine engine) {
  return engine == InflateEngine::kIsal && IsalAvailable() ? "isa-l" : "zlib";
}

std::unique_ptr<DeflateDecoder> MakeDeflateDecoder(InflateEngine engine, const ByteSource& src,
                                                   const DeflateSpan& span, std::string member) {
#if NPZFS_HAVE_ISAL
  if (engine == InflateEngine::kIsal) {
    return std::make_unique<IsalInflater>(src, span, std::move(member));
  }
#else
  (void)engine;
#endif
  return std::make_unique<RawInflater>(src, span, std::move(member));
}

}  // namespace npzfs::core
