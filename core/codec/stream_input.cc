#include "core/codec/stream_input.h"

#include <algorithm>

namespace npzfs::core {
namespace {
constexpr size_t kPiece = 64 << 10;
}  // namespace

void StreamInput::Reset(const ByteSource& src, const StreamSpan& span) {
  src_ = &src;
  span_ = span;
  MoveTo(0);
}

void StreamInput::MoveTo(uint64_t in) {
  pos_ = in;
  buf_.clear();
}

Result<std::span<std::byte>> StreamInput::Fetch(const char* what) {
  if (!left()) {
    return Fail(Corrupt(std::string(what) + " (compressed offset " + std::to_string(pos_) + ")"));
  }
  buf_.resize(std::min<uint64_t>(kPiece, span_.compressed_size - pos_));
  if (auto r = ReadExactly(*src_, span_.offset + pos_, buf_); !r) return Fail(std::move(r).error());
  pos_ += buf_.size();
  return std::span(buf_);
}

}  // namespace npzfs::core
