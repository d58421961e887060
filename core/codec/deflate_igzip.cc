// The igzip engine of deflate.h, in builds with ISA-L.
#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cstring>

#include "core/base/crc32.h"
#include "core/codec/deflate.h"

namespace npzfs::core {
namespace {

// Compressed bytes per call while looking for a block boundary. A dynamic
// header (what zlib writes for numpy's data) is 50-100 bytes, shorter for
// data of few distinct bytes, so with 32 a call nearly always ends inside
// it, and the first boundary after the wanted offset is caught. Each call
// costs about 0.5 us (igzip moves its 32 KiB history), so the steps are
// kept to a margin around predicted boundaries (below): on a 1 GiB member
// (4.09:1) points every 512 KiB then cost ~6 % of the inflate time, where
// stepping all the way from the wanted offset cost ~20 %.
constexpr size_t kHuntStep = 32;

// While no boundary turns up (a block of megabytes, stored blocks whose
// 5-byte headers fit in any call), the step doubles for every 64 KiB fed,
// so looking costs at most a few thousand calls.
constexpr uint64_t kHuntGrowEvery = 64 << 10;

// zlib ends a block when its symbol buffer fills (16383 symbols at numpy's
// memLevel 8), so a stream's blocks have nearly the same compressed length:
// in numpy's streams a block is within 2 % of the one before (5th to 95th
// percentile, measured on a 4:1 and a 1.08:1 member). Once the length is
// known, the next boundary is predicted, and small steps are fed only
// within a margin of it: 1/64 of a block per block predicted over (the
// lengths' deviations add up), plus kPredictSlackBits.
constexpr uint64_t kPredictMarginDivisor = 64;
constexpr uint64_t kPredictSlackBits = 2048;

// Predictions missed in a row before prediction is given up for the
// stream (a writer whose blocks vary in length).
constexpr int kMaxMisses = 3;

// ISA-L keeps total_out in 32 bits and its careful decoding path compares
// match distances with it; keep it from wrapping on members over 4 GiB. It
// is only ever adjusted relatively, and this file counts output itself.
constexpr uint32_t kTotalOutCap = 1u << 31;

const char* IsalErrorText(int rc) {
  switch (rc) {
    case ISAL_INVALID_BLOCK:
      return "invalid block";
    case ISAL_INVALID_SYMBOL:
      return "invalid symbol";
    case ISAL_INVALID_LOOKBACK:
      return "invalid distance too far back";
    default:
      return "error";
  }
}

}  // namespace

IsalInflater::IsalInflater() : state_(std::make_unique<inflate_state>()), hunt_step_(kHuntStep) {
  isal_inflate_init(state_.get());
}

IsalInflater::~IsalInflater() = default;

void IsalInflater::Restart() {
  isal_inflate_init(state_.get());
  in_end_ = nullptr;
  hunted_ = 0;
  predicted_bit_ = 0;
  learning_ = false;
}

// The block starts `bits` bits before byte `in`: those bits go into the bit
// buffer, low bits first, as if igzip had read byte in - 1 and used the rest.
Result<void> IsalInflater::Seek(const AccessPoint& point) {
  inflate_state& s = *state_;
  Restart();
  auto byte = BeginAt(point);
  if (!byte) return Fail(std::move(byte).error());
  // A point is a block boundary: the next ones are whole blocks on.
  anchor_bit_ = point.in * 8 - static_cast<uint64_t>(point.bits);
  if (!point.window.empty()) {
    // Cannot fail right after init: it needs a new block and no pending output.
    isal_inflate_set_dict(&s,
                          reinterpret_cast<uint8_t*>(const_cast<std::byte*>(point.window.data())),
                          static_cast<uint32_t>(point.window.size()));
  }
  if (point.bits > 0) {
    s.read_in = *byte >> (8 - point.bits);
    s.read_in_length = point.bits;
  }
  return {};
}

uint64_t IsalInflater::Pending() const {
  return static_cast<uint64_t>(state_->tmp_out_valid - state_->tmp_out_processed);
}

uint64_t IsalInflater::Unused() const {
  return static_cast<uint64_t>(in_end_ - reinterpret_cast<const std::byte*>(state_->next_in));
}

// The last block is done and nothing is held back.
bool IsalInflater::Finished() const { return state_->block_state == ISAL_BLOCK_FINISH; }

Result<size_t> IsalInflater::Read(std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size() && !Finished()) {
    auto got = Step(out.subspan(done));
    if (!got) return Fail(std::move(got).error());
    done += *got;
  }
  return done;
}

// Compressed bits igzip has taken in so far: what was fed, less what is
// still in its bit buffer, less a partial header it set aside.
uint64_t IsalInflater::BitPosition() const {
  const inflate_state& s = *state_;
  uint64_t held = static_cast<uint64_t>(s.read_in_length);
  if (s.block_state == ISAL_BLOCK_HDR) held += uint64_t{8} * static_cast<uint16_t>(s.tmp_in_size);
  const uint64_t fed_bits = (fetched() - Unused()) * 8;
  return fed_bits >= held ? fed_bits - held : 0;
}

// How much of the fetched input the next call gets. All of it, unless a
// block boundary is looked for (`looking`): then a few bytes, so that the
// call ends inside the next header; or, when the boundary is predicted,
// all up to a margin before it; or, in a stored block, exactly the rest
// of the block, so that the call ends at its end.
size_t IsalInflater::InputFor(bool looking) {
  const inflate_state& s = *state_;
  const size_t have = Unused();
  if (!looking) {
    predicted_bit_ = 0;
    return have;
  }
  if (s.block_state == ISAL_BLOCK_TYPE0) {
    const int64_t rest = int64_t{s.type0_block_len} - s.read_in_length / 8;
    return rest > 0 ? std::min<size_t>(have, static_cast<size_t>(rest))
                    : std::min(have, hunt_step_);
  }
  if (block_bits_ > 0 && !learning_) {
    const uint64_t pos = BitPosition();
    if (predicted_bit_ == 0 && pos >= anchor_bit_) {
      const uint64_t blocks =
          std::max<uint64_t>((pos - anchor_bit_ + block_bits_ - 1) / block_bits_, 1);
      predicted_bit_ = anchor_bit_ + blocks * block_bits_;
      margin_bits_ = blocks * block_bits_ / kPredictMarginDivisor + kPredictSlackBits;
    }
    if (predicted_bit_ != 0 && pos > predicted_bit_ + margin_bits_) {
      // Missed: predict the boundary after it, or, after kMaxMisses in a
      // row, step all the way from now on.
      predicted_bit_ = 0;
      if (++misses_ >= kMaxMisses) block_bits_ = 0;
    } else if (predicted_bit_ != 0 && pos + margin_bits_ < predicted_bit_) {
      return std::min<size_t>(have,
                              std::max<uint64_t>((predicted_bit_ - margin_bits_ - pos) / 8, 1));
    } else if (predicted_bit_ != 0) {
      return std::min(have, hunt_step_);
    }
  }
  const unsigned doublings =
      static_cast<unsigned>(std::min<uint64_t>(hunted_ / kHuntGrowEvery, 20));
  return std::min(have, hunt_step_ << doublings);
}

// One isal_inflate() call into `out`, fetching input when all fetched has
// gone in. Returns the bytes produced.
Result<size_t> IsalInflater::Step(std::span<std::byte> out) {
  inflate_state& s = *state_;
  if (Unused() == 0 && input_left()) {
    auto piece = Fetch();
    if (!piece) return Fail(std::move(piece).error());
    s.next_in = reinterpret_cast<uint8_t*>(piece->data());
    in_end_ = piece->data() + piece->size();
  }
  const bool hunting = sink_ != nullptr && sink_->WantsPoint(out_pos_ + Pending());
  const bool looking = hunting || learning_;
  if (!looking) hunted_ = 0;
  s.avail_in = static_cast<uint32_t>(InputFor(looking));
  s.next_out = reinterpret_cast<uint8_t*>(out.data());
  s.avail_out = static_cast<uint32_t>(std::min<size_t>(out.size(), UINT32_MAX));
  if (s.total_out > kTotalOutCap) s.total_out = kTotalOutCap;

  const uint8_t* in_before = s.next_in;
  const int32_t bits_before = s.read_in_length;
  const int state_before = s.block_state;
  const uint32_t fed = s.avail_in;
  const bool coded = s.block_state == ISAL_BLOCK_CODED;
  const int rc = isal_inflate(&s);
  const size_t produced = out.size() - s.avail_out;
  AddCrc(out.first(produced));
  out_pos_ += produced;
  if (rc < 0) return Fail(CorruptAt(std::string("invalid deflate data: ") + IsalErrorText(rc)));
  if (looking) {
    if (coded) hunted_ += fed - s.avail_in;
    AtBoundary(hunting);
  }
  if (produced == 0 && s.next_in == in_before && s.read_in_length == bits_before &&
      s.block_state == state_before && s.block_state != ISAL_BLOCK_FINISH) {
    if (fed == 0) {
      return Fail(CorruptAt("the compressed data ends before the deflate stream does"));
    }
    return Fail(CorruptAt("the deflate stream makes no progress"));
  }
  return produced;
}

// After a call: if it ended in front of a block header, that boundary
// teaches the block length (while learning) and, when a point is wanted
// there, becomes one: the compressed bit position, the output offset
// counting what igzip holds back (decoded, not yet copied out), and the
// last 32 KiB of output, which igzip's history buffer ends with.
void IsalInflater::AtBoundary(bool hunting) {
  const inflate_state& s = *state_;
  if (s.block_state != ISAL_BLOCK_NEW_HDR && s.block_state != ISAL_BLOCK_HDR) return;
  const uint64_t bit = BitPosition();
  if (learning_ && bit > anchor_bit_) {
    block_bits_ = bit - anchor_bit_;
    learning_ = false;
    anchor_bit_ = bit;
  }
  const uint64_t pending = Pending();
  const uint64_t at = out_pos_ + pending;
  if (!hunting || at == 0 || !sink_->WantsPoint(at)) return;
  const size_t w = static_cast<size_t>(std::min<uint64_t>(at, kDeflateWindow));
  if (static_cast<size_t>(s.tmp_out_valid) < w) return;  // never seen
  AccessPoint p;
  p.out = at;
  p.in = (bit + 7) / 8;
  p.bits = static_cast<int>(p.in * 8 - bit);
  const auto* history = reinterpret_cast<const std::byte*>(s.tmp_out_buffer);
  p.crc = Crc32(crc_, std::span(history + s.tmp_out_processed, pending));
  p.window.assign(history + s.tmp_out_valid - w, history + s.tmp_out_valid);
  Anchor(bit);
  sink_->AddPoint(std::move(p));
}

// A point was made at a boundary `bit`: predictions start from it. The
// block length is learnt from the boundary right after the first one (and
// again after a miss), then refined from each caught boundary.
void IsalInflater::Anchor(uint64_t bit) {
  hunted_ = 0;
  if (predicted_bit_ != 0) misses_ = 0;  // caught where predicted
  predicted_bit_ = 0;
  if (block_bits_ > 0 && bit > anchor_bit_) {
    const uint64_t blocks = (bit - anchor_bit_ + block_bits_ / 2) / block_bits_;
    if (blocks > 0) block_bits_ = (bit - anchor_bit_) / blocks;
  }
  anchor_bit_ = bit;
  learning_ = block_bits_ == 0 && misses_ < kMaxMisses;
}

}  // namespace npzfs::core
