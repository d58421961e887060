#include "core/read/index_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "core/base/crc32.h"
#include "core/base/text.h"
#include "core/codec/decoder.h"

namespace npzfs::core {
namespace {

constexpr char kMagic[8] = {'N', 'P', 'Z', 'F', 'S', 'I', 'D', 'X'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 64;
constexpr size_t kRecordFixed = 8 + 40 + 16 + 8;  // size+crc, member, chunk, crc count
constexpr size_t kPointSize = 48;
// Records larger than this are not believed (the whole of them is read):
// 64 MiB holds a million points, a 2 TiB member at the persisted span.
constexpr uint64_t kMaxRecords = uint64_t{64} << 20;

// Little-endian cursor over a span; every read is bounds-checked by the
// caller through left().
class Reader {
 public:
  explicit Reader(std::span<const std::byte> b) : b_(b) {}
  size_t left() const { return b_.size() - at_; }
  size_t at() const { return at_; }
  uint64_t U(int width) {
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v |= uint64_t{std::to_integer<uint8_t>(b_[at_ + i])} << (8 * i);
    at_ += width;
    return v;
  }
  void Skip(size_t n) { at_ += n; }

 private:
  std::span<const std::byte> b_;
  size_t at_ = 0;
};

void Put(std::string& out, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) out += static_cast<char>(v >> (8 * i) & 0xff);
}

uint32_t CrcOf(std::string_view s) { return Crc32(0, std::as_bytes(std::span(s))); }

Error Bad(const std::string& what) { return Corrupt("index: " + what); }

uint64_t ChunkCount(uint64_t size, uint64_t chunk) { return size / chunk + (size % chunk != 0); }

uint32_t Combine(const std::vector<uint32_t>& crcs, uint64_t size, uint64_t chunk) {
  uint32_t crc = 0;
  for (size_t i = 0; i < crcs.size(); ++i) {
    const uint64_t length = std::min(chunk, size - i * chunk);
    crc = static_cast<uint32_t>(crc32_combine(crc, crcs[i], static_cast<z_off_t>(length)));
  }
  return crc;
}

Result<PersistedMember> ParseRecord(std::span<const std::byte> rec, uint64_t file_size) {
  Reader r(rec);
  PersistedMember m;
  r.Skip(8);  // size and CRC, checked by the caller
  m.index = r.U(8);
  m.method = static_cast<uint16_t>(r.U(2));
  r.Skip(2);
  m.crc32 = static_cast<uint32_t>(r.U(4));
  m.size = r.U(8);
  m.compressed_size = r.U(8);
  m.data_offset = r.U(8);
  m.chunk_size = r.U(8);
  m.complete = r.U(1) != 0;
  r.Skip(7);
  if (m.chunk_size < 4096 || m.chunk_size > (uint64_t{1} << 30)) {
    return Fail(Bad("chunk size " + std::to_string(m.chunk_size)));
  }
  const uint64_t crc_count = r.U(8);
  const uint64_t chunks = ChunkCount(m.size, m.chunk_size);
  if (crc_count > chunks || crc_count > r.left() / 4) {
    return Fail(Bad("chunk CRC count " + std::to_string(crc_count)));
  }
  m.chunk_crcs.resize(crc_count);
  for (uint32_t& c : m.chunk_crcs) c = static_cast<uint32_t>(r.U(4));
  if (crc_count % 2 != 0) r.Skip(std::min<size_t>(4, r.left()));
  if (m.complete) {
    if (crc_count != chunks) return Fail(Bad("a complete member without every chunk's CRC-32"));
    if (Combine(m.chunk_crcs, m.size, m.chunk_size) != m.crc32) {
      return Fail(Bad("chunk CRCs that do not combine to the member's CRC-32"));
    }
  }
  if (r.left() < 8) return Fail(Bad("record cut short"));
  const uint64_t point_count = r.U(8);
  if (point_count != r.left() / kPointSize || r.left() % kPointSize != 0) {
    return Fail(Bad("point count " + std::to_string(point_count) + " for " +
                    std::to_string(r.left()) + " bytes"));
  }
  m.points.resize(point_count);
  uint64_t last = 0;
  uint64_t combined_upto = 0;  // chunks combined into `combined`
  uint32_t combined = 0;
  for (PersistedPoint& p : m.points) {
    p.out = r.U(8);
    p.in = r.U(8);
    p.bits = static_cast<uint8_t>(r.U(1));
    r.Skip(3);
    p.crc_before = static_cast<uint32_t>(r.U(4));
    p.window_offset = r.U(8);
    p.window_compressed = static_cast<uint32_t>(r.U(4));
    p.window_length = static_cast<uint32_t>(r.U(4));
    p.window_crc = static_cast<uint32_t>(r.U(4));
    r.Skip(4);
    if (p.out <= last || p.out >= m.size || p.in == 0 || p.in > m.compressed_size || p.bits > 7 ||
        p.window_length > kDeflateWindow || p.window_length > p.out ||
        p.window_offset > file_size || p.window_compressed > file_size - p.window_offset) {
      return Fail(Bad("a point that lies outside its member or the file"));
    }
    last = p.out;
    // Where a point starts a chunk the index knows, its CRC must be theirs
    // (combined as the points go: once over the chunks in all).
    const uint64_t chunk = p.out / m.chunk_size;
    if (p.out % m.chunk_size == 0 && chunk <= crc_count) {
      for (; combined_upto < chunk; ++combined_upto) {
        combined = static_cast<uint32_t>(crc32_combine(combined, m.chunk_crcs[combined_upto],
                                                       static_cast<z_off_t>(m.chunk_size)));
      }
      if (combined != p.crc_before) return Fail(Bad("a point's CRC-32 that is not its chunks'"));
    }
  }
  return m;
}

}  // namespace

IndexIdentity IdentityOf(const Archive& archive) {
  const SourceIdentity& s = archive.source().identity();
  IndexIdentity id{s.size, s.mtime_sec, s.mtime_nsec, 0};
  // FNV-1a over what the central directory says of every member.
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  };
  const ZipIndex& index = archive.index();
  mix(&index.prefix, sizeof index.prefix);
  mix(index.comment.data(), index.comment.size());
  for (const ZipEntry& e : index.entries) {
    const uint64_t n = e.name.size();
    mix(&n, sizeof n);
    mix(e.name.data(), e.name.size());
    for (uint64_t v : {e.index, uint64_t{e.method}, uint64_t{e.crc32}, e.size, e.compressed_size,
                       e.local_header_offset, e.data_offset}) {
      mix(&v, sizeof v);
    }
  }
  id.cd_hash = h;
  return id;
}

bool PersistedMember::Matches(const ZipEntry& e) const {
  return index == e.index && method == e.method && crc32 == e.crc32 && size == e.size &&
         compressed_size == e.compressed_size && data_offset == e.data_offset;
}

Result<std::vector<PersistedMember>> ParseIndex(std::span<const std::byte> bytes,
                                                uint64_t file_size, const IndexIdentity& expected) {
  if (bytes.size() < kHeaderSize) return Fail(Bad("shorter than its header"));
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return Fail(Bad("not an index"));
  Reader r(bytes.first(kHeaderSize));
  r.Skip(8);
  const uint32_t version = static_cast<uint32_t>(r.U(4));
  if (version != kVersion) return Fail(Bad("version " + std::to_string(version)));
  const uint32_t header_crc = static_cast<uint32_t>(r.U(4));
  std::string header(reinterpret_cast<const char*>(bytes.data()), kHeaderSize);
  std::memset(header.data() + 12, 0, 4);
  if (CrcOf(header) != header_crc) return Fail(Bad("header fails its CRC-32"));
  IndexIdentity id;
  id.size = r.U(8);
  id.mtime_sec = static_cast<int64_t>(r.U(8));
  id.mtime_nsec = static_cast<int32_t>(r.U(4));
  r.Skip(4);
  id.cd_hash = r.U(8);
  const uint64_t count = r.U(4);
  r.Skip(4);
  const uint64_t records = r.U(8);
  if (!(id == expected)) return Fail(MakeError(Errc::kNotFound, "index of another archive"));
  if (records > kMaxRecords || records > bytes.size() - kHeaderSize) {
    return Fail(Bad("records of " + std::to_string(records) + " bytes"));
  }
  if (count > records / kRecordFixed) return Fail(Bad("member count " + std::to_string(count)));
  std::vector<PersistedMember> members;
  members.reserve(count);
  Reader all(bytes.subspan(kHeaderSize, records));
  const std::span<const std::byte> section = bytes.subspan(kHeaderSize, records);
  for (uint64_t i = 0; i < count; ++i) {
    if (all.left() < kRecordFixed) return Fail(Bad("records cut short"));
    const size_t at = all.at();
    const uint64_t size = all.U(4);
    const uint32_t crc = static_cast<uint32_t>(all.U(4));
    if (size < kRecordFixed + 8 || size - 8 > all.left()) return Fail(Bad("a record's size"));
    std::string rec(reinterpret_cast<const char*>(section.data() + at), size);
    std::memset(rec.data() + 4, 0, 4);
    if (CrcOf(rec) != crc) return Fail(Bad("a record fails its CRC-32"));
    auto m = ParseRecord(section.subspan(at, size), file_size);
    if (!m) return Fail(std::move(m).error());
    members.push_back(std::move(*m));
    all.Skip(size - 8);
  }
  if (all.left() != 0) return Fail(Bad("bytes after the records"));
  return members;
}

Result<std::unique_ptr<IndexFile>> IndexFile::Open(const std::string& path,
                                                   const IndexIdentity& expected) {
  const std::string shown = Quote(path, Quoting::kWhenNeeded);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ENOENT) return Fail(MakeError(Errc::kNotFound, shown + ": no index"));
    return Fail(Error{Errc::kIo, errno, shown + ": " + std::strerror(errno)});
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Fail(Error{Errc::kIo, errno, shown + ": " + std::strerror(errno)});
  }
  if (!S_ISREG(st.st_mode)) return Fail(Corrupt(shown + ": not a regular file"));
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  // The header says how much to read; nothing past the records is.
  std::vector<std::byte> head(std::min<uint64_t>(file_size, kHeaderSize));
  if (::pread(fd.get(), head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
    return Fail(Corrupt(shown + ": cannot be read"));
  }
  uint64_t records = 0;
  if (head.size() == kHeaderSize) {
    Reader r(head);
    r.Skip(56);
    records = std::min(r.U(8), std::min(kMaxRecords, file_size - kHeaderSize));
  }
  std::vector<std::byte> bytes(head.size() + records);
  std::memcpy(bytes.data(), head.data(), head.size());
  if (records > 0 && ::pread(fd.get(), bytes.data() + kHeaderSize, records, kHeaderSize) !=
                         static_cast<ssize_t>(records)) {
    return Fail(Corrupt(shown + ": cannot be read"));
  }
  auto members = ParseIndex(bytes, file_size, expected);
  if (!members) {
    Error e = std::move(members).error();
    e.message = shown + ": " + e.message;
    return Fail(std::move(e));
  }
  return std::unique_ptr<IndexFile>(new IndexFile(std::move(fd), path, std::move(*members)));
}

IndexFile::IndexFile(UniqueFd fd, std::string path, std::vector<PersistedMember> members)
    : fd_(std::move(fd)), path_(std::move(path)), members_(std::move(members)) {
  for (size_t i = 0; i < members_.size(); ++i) by_index_.emplace(members_[i].index, i);
}

const PersistedMember* IndexFile::Find(const ZipEntry& e) const {
  auto it = by_index_.find(e.index);
  if (it == by_index_.end() || !members_[it->second].Matches(e)) return nullptr;
  return &members_[it->second];
}

Result<std::string> IndexFile::ReadPackedWindow(const PersistedPoint& p) const {
  std::string packed(p.window_compressed, '\0');
  if (::pread(fd_.get(), packed.data(), packed.size(), static_cast<off_t>(p.window_offset)) !=
      static_cast<ssize_t>(packed.size())) {
    return Fail(Bad("a window cannot be read"));
  }
  return packed;
}

Result<std::vector<std::byte>> IndexFile::ReadWindow(const PersistedPoint& p) const {
  auto packed = ReadPackedWindow(p);
  if (!packed) return Fail(std::move(packed).error());
  std::vector<std::byte> window(p.window_length);
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return Fail(Bad("no memory to inflate a window"));
  z.next_in = reinterpret_cast<Bytef*>(packed->data());
  z.avail_in = static_cast<uInt>(packed->size());
  z.next_out = reinterpret_cast<Bytef*>(window.data());
  z.avail_out = static_cast<uInt>(window.size());
  const int r = inflate(&z, Z_FINISH);
  const bool whole = r == Z_STREAM_END && z.avail_out == 0;
  inflateEnd(&z);
  if (!whole || Crc32(0, window) != p.window_crc) return Fail(Bad("a window is not what it was"));
  return window;
}

namespace {

std::string Deflated(std::span<const std::byte> in) {
  std::string out(compressBound(static_cast<uLong>(in.size())) + 64, '\0');
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

Result<void> WriteAll(int fd, std::string_view bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail(Error{Errc::kIo, errno, std::strerror(errno)});
    at += static_cast<size_t>(n);
  }
  return {};
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Result<void> WriteIndexFile(const std::string& path, const IndexIdentity& identity,
                            std::vector<MemberToWrite> members) {
  // Records first (their size fixes where the windows go), then windows.
  std::vector<std::string> packed_windows;
  std::string records;
  uint64_t window_at = 0;  // relative to the windows' start, fixed below
  std::vector<std::string> recs;
  for (MemberToWrite& w : members) {
    PersistedMember& m = w.member;
    for (size_t i = 0; i < m.points.size(); ++i) {
      if (i < w.packed.size() && !w.packed[i].empty()) {
        packed_windows.push_back(std::move(w.packed[i]));
      } else {
        packed_windows.push_back(Deflated(w.windows[i]));
        m.points[i].window_length = static_cast<uint32_t>(w.windows[i].size());
        m.points[i].window_crc = Crc32(0, w.windows[i]);
      }
      m.points[i].window_offset = window_at;
      m.points[i].window_compressed = static_cast<uint32_t>(packed_windows.back().size());
      window_at += packed_windows.back().size();
    }
  }
  auto record_of = [](const PersistedMember& m, uint64_t windows_base) {
    std::string r;
    Put(r, 0, 8);
    Put(r, m.index, 8);
    Put(r, m.method, 2);
    Put(r, 0, 2);
    Put(r, m.crc32, 4);
    Put(r, m.size, 8);
    Put(r, m.compressed_size, 8);
    Put(r, m.data_offset, 8);
    Put(r, m.chunk_size, 8);
    Put(r, m.complete ? 1 : 0, 1);
    Put(r, 0, 7);
    Put(r, m.chunk_crcs.size(), 8);
    for (uint32_t c : m.chunk_crcs) Put(r, c, 4);
    if (m.chunk_crcs.size() % 2 != 0) Put(r, 0, 4);
    Put(r, m.points.size(), 8);
    for (const PersistedPoint& p : m.points) {
      Put(r, p.out, 8);
      Put(r, p.in, 8);
      Put(r, p.bits, 1);
      Put(r, 0, 3);
      Put(r, p.crc_before, 4);
      Put(r, windows_base + p.window_offset, 8);
      Put(r, p.window_compressed, 4);
      Put(r, p.window_length, 4);
      Put(r, p.window_crc, 4);
      Put(r, 0, 4);
    }
    return r;
  };
  uint64_t records_size = 0;
  for (const MemberToWrite& w : members) records_size += record_of(w.member, 0).size();
  const uint64_t windows_base = kHeaderSize + records_size;
  for (const MemberToWrite& w : members) {
    std::string r = record_of(w.member, windows_base);
    const uint64_t size = r.size();
    for (int i = 0; i < 4; ++i) r[i] = static_cast<char>(size >> (8 * i) & 0xff);
    const uint32_t crc = CrcOf(r);
    for (int i = 0; i < 4; ++i) r[4 + i] = static_cast<char>(crc >> (8 * i) & 0xff);
    records += r;
  }
  std::string header(kMagic, sizeof kMagic);
  Put(header, kVersion, 4);
  Put(header, 0, 4);
  Put(header, identity.size, 8);
  Put(header, static_cast<uint64_t>(identity.mtime_sec), 8);
  Put(header, static_cast<uint32_t>(identity.mtime_nsec), 4);
  Put(header, 0, 4);
  Put(header, identity.cd_hash, 8);
  Put(header, members.size(), 4);
  Put(header, 0, 4);
  Put(header, records.size(), 8);
  const uint32_t header_crc = CrcOf(header);
  for (int i = 0; i < 4; ++i) header[12 + i] = static_cast<char>(header_crc >> (8 * i) & 0xff);

  const std::string dir = DirOf(path);
  std::string tmp = path + ".XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return Fail(Error{
        Errc::kIo, errno,
        Quote(dir, Quoting::kWhenNeeded) + ": cannot write an index: " + std::strerror(errno)});
  }
  auto fail = [&](const char* what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error{Errc::kIo, err,
                 Quote(path, Quoting::kWhenNeeded) + ": " + what + ": " + std::strerror(err)};
  };
  std::string all = header + records;
  for (const std::string& w : packed_windows) all += w;
  if (!WriteAll(fd.get(), all)) return Fail(fail("cannot write"));
  if (::fsync(fd.get()) != 0) return Fail(fail("cannot sync"));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Fail(fail("cannot rename"));
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.valid()) ::fsync(d.get());
  return {};
}

}  // namespace npzfs::core
