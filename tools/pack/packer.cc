#include "tools/pack/packer.h"

#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <deque>
#include <memory>
#include <new>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "core/archive/sozip.h"
#include "core/base/crc32.h"
#include "core/base/mutex.h"
#include "core/base/text.h"
#include "core/npy/header.h"
#include "core/npy/header_scan.h"
#include "tools/pack/sozip_deflate.h"

namespace npzfs::tools::pack {
namespace {

using core::ZipEntry;

constexpr size_t kCopyBuffer = 1 << 20;
// What may be under way between the reader and the writer: pieces per
// worker thread, and bytes of their input.
constexpr size_t kPiecesPerThread = 2;
constexpr uint64_t kMaxQueuedBytes = uint64_t{256} << 20;

// A piece of a member on its way from IN to OUT: cut by the reader,
// deflated by a worker, written by the writer, in that order. A piece
// that is not deflated stands for a whole member the writer copies
// stored.
struct Piece {
  size_t member = 0;
  bool deflate = false;
  bool first = false;
  bool last = false;
  std::vector<std::byte> input;
  // Set by the worker, read by the writer once `done`.
  DeflatedGroup output;
  uint32_t crc = 0;
  bool done = false;  // under Pipeline::mu_
};

// The deflated member being written.
struct OpenMember {
  uint64_t header_at = 0;
  uint64_t data_at = 0;
  uint32_t crc = 0;
  std::vector<uint64_t> starts;  // chunks 1, 2, ... from data_at
};

// One pack: the reader on the calling thread, the writer and the workers
// on threads of their own, meeting in queue_ under mu_. The writer alone
// touches OUT and the writer's fields; a piece is the reader's until
// queued, then a worker's until done, then the writer's.
class Pipeline {
 public:
  Pipeline(const core::Archive& in, const CentralDirectory& cd, const PackOptions& o, OutFile& out,
           Progress& progress)
      : in_(in),
        cd_(cd),
        o_(o),
        out_(out),
        progress_(progress),
        group_size_(GroupSize(o.chunk_size)),
        max_pieces_(kPiecesPerThread * o.threads + 2),
        max_bytes_(std::max(kMaxQueuedBytes, 2 * group_size_)) {}

  // Packs, then writes the central directory and finishes OUT.
  core::Result<PackSummary> Run();

 private:
  void Read();  // the reader: every member, cut into pieces
  core::Result<void> ReadMember(size_t i);
  bool Push(std::unique_ptr<Piece> piece);
  void Work();   // a worker: deflates pieces
  void Write();  // the writer: pieces in order
  core::Result<void> WritePiece(const Piece& p);
  core::Result<void> EndDeflated(size_t member);
  core::Result<void> WriteStored(size_t member, bool counted);
  core::Result<void> WriteCentralDirectory();
  // Runs `body` on this thread, turning std::bad_alloc into an error.
  template <class Fn>
  void Guarded(Fn body);
  void Abort(core::Error e);
  bool Aborted();
  core::Error FromIn(const core::Error& e) const;

  const core::Archive& in_;
  const CentralDirectory& cd_;
  const PackOptions& o_;
  OutFile& out_;
  Progress& progress_;
  const uint64_t group_size_;
  const size_t max_pieces_;
  const uint64_t max_bytes_;

  core::Mutex mu_;
  core::CondVar work_;  // a piece to deflate, or the end
  core::CondVar done_;  // the writer's next piece is ready, or the end
  core::CondVar room_;  // the reader may push again
  std::deque<std::unique_ptr<Piece>> queue_ GUARDED_BY(mu_);  // output order
  std::deque<Piece*> todo_ GUARDED_BY(mu_);                   // to deflate
  uint64_t queued_bytes_ GUARDED_BY(mu_) = 0;
  bool read_all_ GUARDED_BY(mu_) = false;
  std::optional<core::Error> error_ GUARDED_BY(mu_);

  // The writer's.
  OpenMember open_;
  std::vector<WrittenMember> written_;
  PackSummary summary_;
};

template <class Fn>
void Pipeline::Guarded(Fn body) {
  try {
    body();
  } catch (const std::bad_alloc&) {
    Abort(core::IoError(ENOMEM, "npzinfo pack"));
  }
}

void Pipeline::Abort(core::Error e) {
  {
    core::MutexLock lock(&mu_);
    if (!error_) error_ = std::move(e);
  }
  work_.NotifyAll();
  done_.NotifyAll();
  room_.NotifyAll();
}

bool Pipeline::Aborted() {
  core::MutexLock lock(&mu_);
  return error_.has_value();
}

// Messages of core name the member; IN is named in front.
core::Error Pipeline::FromIn(const core::Error& e) const {
  return {e.code, e.sys_errno, in_.source().shown_name() + ": " + e.message};
}

core::Result<PackSummary> Pipeline::Run() {
  assert(o_.threads > 0);
  std::vector<std::thread> threads;
  try {
    threads.emplace_back([this] { Guarded([this] { Write(); }); });
    for (unsigned t = 0; t < (o_.store ? 0 : o_.threads); ++t) {
      threads.emplace_back([this] { Guarded([this] { Work(); }); });
    }
  } catch (const std::system_error& e) {
    // Those started see the error and end.
    Abort(core::IoError(e.code().value(), "npzinfo pack: cannot start a thread"));
  }
  if (!Aborted()) Guarded([this] { Read(); });
  for (auto& t : threads) t.join();
  {
    core::MutexLock lock(&mu_);
    if (error_) return core::Fail(*error_);
  }
  if (auto r = WriteCentralDirectory(); !r) return core::Fail(std::move(r).error());
  if (auto r = out_.Finish(); !r) return core::Fail(std::move(r).error());
  summary_.size = out_.position();
  return summary_;
}

// The reader, on the calling thread.
void Pipeline::Read() {
  for (size_t i = 0; i < in_.entries().size() && !Aborted(); ++i) {
    if (auto r = ReadMember(i); !r) Abort(std::move(r).error());
  }
  {
    core::MutexLock lock(&mu_);
    read_all_ = true;
  }
  work_.NotifyAll();
  done_.NotifyAll();
}

core::Result<void> Pipeline::ReadMember(size_t i) {
  const ZipEntry& e = in_.entries()[i];
  if (o_.store || e.is_directory || e.size == 0) {
    auto piece = std::make_unique<Piece>();
    piece->member = i;
    piece->done = true;
    Push(std::move(piece));
    return {};
  }
  auto decoder = in_.OpenDecoder(i);
  if (!decoder) return core::Fail(FromIn(decoder.error()));
  for (uint64_t at = 0; at < e.size; at += group_size_) {
    auto piece = std::make_unique<Piece>();
    piece->member = i;
    piece->deflate = true;
    piece->first = at == 0;
    piece->last = e.size - at <= group_size_;
    piece->input.resize(std::min(group_size_, e.size - at));
    auto got = (*decoder)->Read(piece->input);
    if (!got) return core::Fail(FromIn(got.error()));
    assert(*got == piece->input.size());  // MemberDecoder fills or fails
    if (!Push(std::move(piece))) break;
  }
  return {};
}

// Queues `piece` once there is room. False when the pack failed meanwhile.
bool Pipeline::Push(std::unique_ptr<Piece> piece) {
  {
    core::MutexLock lock(&mu_);
    while (!error_ && !queue_.empty() &&
           (queue_.size() >= max_pieces_ || queued_bytes_ + piece->input.size() > max_bytes_)) {
      room_.Wait(&mu_);
    }
    if (error_) return false;
    queued_bytes_ += piece->input.size();
    if (piece->deflate) todo_.push_back(piece.get());
    queue_.push_back(std::move(piece));
  }
  work_.NotifyAll();
  done_.NotifyAll();
  return true;
}

// A worker: deflates pieces in any order, each with its own stream.
void Pipeline::Work() {
  ChunkDeflater deflater(o_.level);
  for (;;) {
    Piece* p;
    {
      core::MutexLock lock(&mu_);
      while (!error_ && todo_.empty() && !read_all_) work_.Wait(&mu_);
      if (error_ || todo_.empty()) return;
      p = todo_.front();
      todo_.pop_front();
    }
    // The piece is this thread's alone until it is marked done.
    p->crc = core::Crc32(0, p->input);
    auto r = deflater.Deflate(p->input, o_.chunk_size, p->last, p->output);
    if (!r) return Abort(std::move(r).error());
    {
      core::MutexLock lock(&mu_);
      p->done = true;
    }
    done_.NotifyAll();
  }
}

// The writer: pieces in order, as they are done.
void Pipeline::Write() {
  for (;;) {
    std::unique_ptr<Piece> p;
    {
      core::MutexLock lock(&mu_);
      while (!error_ && !(read_all_ && queue_.empty()) &&
             (queue_.empty() || !queue_.front()->done)) {
        done_.Wait(&mu_);
      }
      if (error_ || queue_.empty()) return;
      p = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= p->input.size();
    }
    room_.NotifyAll();
    if (auto r = WritePiece(*p); !r) return Abort(std::move(r).error());
  }
}

core::Result<void> Pipeline::WritePiece(const Piece& p) {
  if (!p.deflate) return WriteStored(p.member, false);
  if (p.first) {
    open_ = OpenMember{};
    open_.header_at = out_.position();
    // A placeholder of the same size; EndDeflated writes the real one.
    WrittenMember placeholder{&cd_.members[p.member], kMethodDeflate};
    if (auto r = out_.Append(LocalHeader(placeholder)); !r) return r;
    open_.data_at = out_.position();
  }
  const uint64_t group_at = out_.position() - open_.data_at;
  if (!p.first) open_.starts.push_back(group_at);
  for (uint64_t s : p.output.chunk_starts) open_.starts.push_back(group_at + s);
  if (auto r = out_.Append(p.output.bytes); !r) return r;
  open_.crc =
      static_cast<uint32_t>(crc32_combine(open_.crc, p.crc, static_cast<z_off_t>(p.input.size())));
  progress_.Add(p.input.size());
  return p.last ? EndDeflated(p.member) : core::Result<void>();
}

// A deflated member is complete: its local header gets the real values
// and its index follows it; or, when deflating did not make it smaller,
// it is written again, stored, over what was written.
core::Result<void> Pipeline::EndDeflated(size_t member) {
  const ZipEntry& e = in_.entries()[member];
  const MemberRecord& record = cd_.members[member];
  const uint64_t compressed = out_.position() - open_.data_at;
  if (open_.crc != e.crc32) {
    return core::Fail(FromIn(core::Corrupt(core::Quote(e.name) + ": CRC-32 mismatch")));
  }
  if (compressed >= e.size) {
    if (auto r = out_.Rewind(open_.header_at); !r) return r;
    return WriteStored(member, true);
  }
  const WrittenMember m{&record, kMethodDeflate, e.crc32, e.size, compressed, open_.header_at};
  if (auto r = out_.WriteAt(open_.header_at, LocalHeader(m)); !r) return r;
  written_.push_back(m);
  ++summary_.deflated;
  if (e.size <= o_.chunk_size) return {};
  assert(open_.starts.size() == (e.size - 1) / o_.chunk_size);
  const std::string content = SozipIndexContent(o_.chunk_size, e.size, compressed, open_.starts);
  const std::string name = core::SozipIndexName(record.raw_name);
  if (auto r = out_.Append(HiddenEntryHeader(record, name, content)); !r) return r;
  if (auto r = out_.Append(content); !r) return r;
  ++summary_.indexed;
  return {};
}

// Copies member `member` stored, its data aligned. `counted`: its bytes
// were counted by the progress already.
core::Result<void> Pipeline::WriteStored(size_t member, bool counted) {
  const ZipEntry& e = in_.entries()[member];
  WrittenMember m{&cd_.members[member], kMethodStored, e.crc32, e.size, e.size};
  ++summary_.stored;
  if (e.is_directory || e.size == 0) {
    m.crc32 = 0;
    m.size = m.compressed_size = 0;
    m.local_header_offset = out_.position();
    written_.push_back(m);
    return out_.Append(LocalHeader(m));
  }
  auto decoder = in_.OpenDecoder(member);
  if (!decoder) return core::Fail(FromIn(decoder.error()));
  std::vector<std::byte> buf(std::min<uint64_t>(kCopyBuffer, e.size));
  auto got = (*decoder)->Read(buf);
  if (!got) return core::Fail(FromIn(got.error()));
  const Placement place =
      PlaceStored(out_.position(), m.record->raw_name, PayloadOffset(e, buf), o_.align);
  if (auto r = out_.Append(std::string(place.gap, '\0')); !r) return r;
  m.local_header_offset = out_.position();
  written_.push_back(m);
  if (auto r = out_.Append(LocalHeader(m, place.padding, o_.align)); !r) return r;
  for (uint64_t done = 0;;) {
    if (auto r = out_.Append(std::span(buf).first(*got)); !r) return r;
    if (!counted) progress_.Add(*got);
    done += *got;
    if (done == e.size) return {};
    got = (*decoder)->Read(buf);
    if (!got) return core::Fail(FromIn(got.error()));
  }
}

core::Result<void> Pipeline::WriteCentralDirectory() {
  const uint64_t cd_at = out_.position();
  for (const WrittenMember& m : written_) {
    if (auto r = out_.Append(CentralRecord(m)); !r) return r;
  }
  const uint64_t cd_size = out_.position() - cd_at;
  return out_.Append(EndRecords(written_.size(), cd_at, cd_size, cd_.comment));
}

}  // namespace

uint64_t PayloadOffset(const ZipEntry& e, std::span<const std::byte> head) {
  if (!core::IsNpyName(e.name)) return 0;
  auto prefix = core::ParseNpyPrefix(head);
  if (!prefix || prefix->data_offset > e.size) return 0;
  return prefix->data_offset;
}

core::Result<PackSummary> Pack(const core::Archive& in, const CentralDirectory& cd,
                               const PackOptions& options, OutFile& out, Progress& progress) {
  assert(cd.members.size() == in.entries().size());
  Pipeline pipeline(in, cd, options, out, progress);
  return pipeline.Run();
}

}  // namespace npzfs::tools::pack
