#include "core/archive/member_reader.h"

#include <zip.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "core/base/crc32.h"
#include "core/codec/inflater.h"
#include "core/codec/libzip_archive.h"
#include "core/base/text.h"

namespace npzfs::core {

void SequentialCrc::Feed(uint64_t offset, std::span<const std::byte> data) {
  if (offset > checked_ || offset + data.size() <= checked_) return;
  auto fresh = data.subspan(checked_ - offset);
  crc_ = Crc32(crc_, fresh);
  checked_ += fresh.size();
}

Result<void> VerifyCrc(const ZipEntry& e, const SequentialCrc& crc) {
  if (crc.value() == e.crc32) return {};
  char msg[96];
  std::snprintf(msg, sizeof msg, ": CRC-32 mismatch: data has %08x, archive says %08x", crc.value(),
                e.crc32);
  return Fail(Corrupt(Quote(e.name) + msg));
}

Result<void> CheckReadable(const ZipEntry& e) {
  if (e.encrypted) return Fail(Unsupported(Quote(e.name) + ": encrypted members are not supported"));
  if (!e.local_error.empty()) return Fail(Corrupt(Quote(e.name) + ": " + e.local_error));
  if (e.is_directory) return Fail(MakeError(Errc::kInvalidArgument, Quote(e.name) + ": is a directory"));
  switch (e.method) {
    case kMethodStored:
    case kMethodDeflate:
      return {};
    default:
      if (zip_compression_method_supported(e.method, 0)) return {};
      return Fail(Unsupported(Quote(e.name) + ": compression method " + MethodName(e.method) +
                              " is not supported"));
  }
}

namespace {

// Nothing to read and nothing to check at `offset`. An empty member is
// still read once, so that its CRC (and stream) are checked.
bool PastEnd(const ZipEntry& e, uint64_t offset) {
  return offset > e.size || (offset == e.size && e.size != 0);
}

// Stored members: the content is the archive's bytes, read with pread.
class StoredReader final : public MemberReader {
 public:
  StoredReader(const ByteSource& src, const ZipEntry& e) : src_(src), e_(e) {}

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) override {
    if (PastEnd(e_, offset)) return size_t{0};
    out = out.first(std::min<uint64_t>(out.size(), e_.size - offset));
    if (auto r = ReadExactly(src_, e_.data_offset + offset, out); !r) {
      return Fail(Error{r.error().code, r.error().sys_errno, Quote(e_.name) + ": " + r.error().message});
    }
    crc_.Feed(offset, out);
    if (offset + out.size() == e_.size && crc_.checked() == e_.size) {
      if (auto r = VerifyCrc(e_, crc_); !r) return Fail(std::move(r).error());
    }
    return out.size();
  }

 private:
  const ByteSource& src_;
  const ZipEntry& e_;
  SequentialCrc crc_;
};

// Skips forward in a sequential decoder to `offset`, feeding the CRC.
template <class ReadNext>
Result<void> SkipTo(uint64_t pos, uint64_t offset, SequentialCrc& crc, ReadNext read_next) {
  std::vector<std::byte> scratch(std::min<uint64_t>(offset - pos, 256 << 10));
  while (pos < offset) {
    auto piece = std::span(scratch).first(std::min<uint64_t>(scratch.size(), offset - pos));
    auto got = read_next(piece);
    if (!got) return Fail(std::move(got).error());
    crc.Feed(pos, piece.first(*got));
    pos += *got;
  }
  return {};
}

// Deflate members, inflated forward from the start; a backward seek
// restarts the stream.
class DeflateReader final : public MemberReader {
 public:
  DeflateReader(const ByteSource& src, const ZipEntry& e)
      : e_(e), inflater_(src, {e.data_offset, e.compressed_size, e.size}, e.name) {}

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) override {
    if (PastEnd(e_, offset)) return size_t{0};
    if (offset < inflater_.position()) {
      inflater_.Restart();
      crc_.Reset();
    }
    auto next = [this](std::span<std::byte> b) { return inflater_.Read(b); };
    if (auto r = SkipTo(inflater_.position(), offset, crc_, next); !r) {
      return Fail(std::move(r).error());
    }
    auto got = inflater_.Read(out);
    if (!got) return Fail(std::move(got).error());
    crc_.Feed(offset, out.first(*got));
    if (inflater_.position() == e_.size) {
      if (auto r = VerifyCrc(e_, crc_); !r) return Fail(std::move(r).error());
    }
    return *got;
  }

 private:
  const ZipEntry& e_;
  RawInflater inflater_;
  SequentialCrc crc_;
};

// Other methods libzip decodes (bzip2): sequential through a private
// libzip handle over the zip proper (any stub sliced off, so libzip's
// offsets agree with ours).
class LibzipReader final : public MemberReader {
 public:
  LibzipReader(const ByteSource& src, const ZipIndex& index, const ZipEntry& e)
      : slice_(src, index.prefix, src.size() - index.prefix), e_(e) {}
  ~LibzipReader() override { Close(); }

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) override {
    if (PastEnd(e_, offset)) return size_t{0};
    if (file_ == nullptr || offset < pos_) {
      if (auto r = Reopen(); !r) return Fail(std::move(r).error());
    }
    auto next = [this](std::span<std::byte> b) { return Next(b); };
    if (auto r = SkipTo(pos_, offset, crc_, next); !r) return Fail(std::move(r).error());
    auto got = Next(out.first(std::min<uint64_t>(out.size(), e_.size - offset)));
    if (!got) return Fail(std::move(got).error());
    crc_.Feed(offset, out.first(*got));
    if (pos_ == e_.size) {
      if (auto r = ExpectEnd(); !r) return Fail(std::move(r).error());
      if (auto r = VerifyCrc(e_, crc_); !r) return Fail(std::move(r).error());
    }
    return *got;
  }

 private:
  Result<void> Reopen() {
    Close();
    if (!archive_) {
      auto a = LibzipArchive::Open(slice_);
      if (!a) return Fail(Corrupt(Quote(e_.name) + ": " + a.error().message));
      archive_ = std::move(*a);
    }
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive_->get(), e_.index, 0, &st) != 0 || st.size != e_.size ||
        st.crc != e_.crc32 || st.comp_method != e_.method) {
      return Fail(Corrupt(Quote(e_.name) + ": libzip reads a different central directory"));
    }
    file_ = zip_fopen_index(archive_->get(), e_.index, 0);
    if (file_ == nullptr) {
      return Fail(Corrupt(Quote(e_.name) + ": " + zip_strerror(archive_->get())));
    }
    pos_ = 0;
    crc_.Reset();
    return {};
  }

  void Close() {
    if (file_ != nullptr) zip_fclose(file_);
    file_ = nullptr;
  }

  // Reads exactly out.size() bytes (all before the declared end).
  Result<size_t> Next(std::span<std::byte> out) {
    size_t done = 0;
    while (done < out.size()) {
      zip_int64_t n = zip_fread(file_, out.data() + done, out.size() - done);
      if (n < 0) return Fail(Corrupt(Quote(e_.name) + ": " + zip_file_strerror(file_)));
      if (n == 0) {
        return Fail(Corrupt(Quote(e_.name) + ": the data ends after " + std::to_string(pos_ + done) +
                            " of " + std::to_string(e_.size) + " bytes"));
      }
      done += static_cast<size_t>(n);
    }
    pos_ += done;
    return done;
  }

  // Called once all e_.size bytes went through crc_.
  Result<void> ExpectEnd() {
    std::byte extra;
    zip_int64_t n = zip_fread(file_, &extra, 1);
    if (n < 0) {
      // libzip checks the CRC-32 at the end of the stream and says only
      // "CRC error"; say what the other readers say.
      if (auto r = VerifyCrc(e_, crc_); !r) return r;
      return Fail(Corrupt(Quote(e_.name) + ": " + zip_file_strerror(file_)));
    }
    if (n > 0) {
      return Fail(Corrupt(Quote(e_.name) + ": the data goes on past the declared size " +
                          std::to_string(e_.size)));
    }
    return {};
  }

  SliceSource slice_;
  const ZipEntry& e_;
  std::unique_ptr<LibzipArchive> archive_;
  zip_file_t* file_ = nullptr;
  uint64_t pos_ = 0;
  SequentialCrc crc_;
};

}  // namespace

Result<std::unique_ptr<MemberReader>> OpenMemberReader(const ByteSource& archive,
                                                       const ZipIndex& index, const ZipEntry& e) {
  if (auto r = CheckReadable(e); !r) return Fail(std::move(r).error());
  switch (e.method) {
    case kMethodStored:
      return std::unique_ptr<MemberReader>(new StoredReader(archive, e));
    case kMethodDeflate:
      return std::unique_ptr<MemberReader>(new DeflateReader(archive, e));
    default:
      return std::unique_ptr<MemberReader>(new LibzipReader(archive, index, e));
  }
}

}  // namespace npzfs::core
