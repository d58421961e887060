#include "tests/support/sozip_writer.h"

#include <zlib.h>

#include <stdexcept>
#include <utility>

namespace npzfs::testing {
namespace {

void Le(std::string& out, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out += static_cast<char>(value >> (8 * i) & 0xff);
}

// Runs deflate over `in` with `flush` until it has taken all of it and, for
// a flush, emptied its output.
void Deflate(z_stream& z, std::string_view in, int flush, std::string& out) {
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[1 << 16];
  int r;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    r = deflate(&z, flush);
    if (r == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
    out.append(buf, sizeof buf - z.avail_out);
  } while (z.avail_in > 0 || z.avail_out == 0);
  if (flush == Z_FINISH && r != Z_STREAM_END) throw std::runtime_error("deflate did not end");
}

}  // namespace

SozipStream SozipDeflate(std::string_view content, uint32_t chunk_size, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  SozipStream s;
  for (size_t at = 0; at < content.size(); at += chunk_size) {
    const std::string_view piece = content.substr(at, chunk_size);
    if (at + chunk_size >= content.size()) {
      Deflate(z, piece, Z_FINISH, s.deflated);
    } else {
      Deflate(z, piece, Z_SYNC_FLUSH, s.deflated);
      Deflate(z, {}, Z_FULL_FLUSH, s.deflated);
      s.offsets.push_back(s.deflated.size());
    }
  }
  if (content.empty()) Deflate(z, {}, Z_FINISH, s.deflated);
  deflateEnd(&z);
  return s;
}

void AddSozipMember(ZipWriter& w, std::string_view name, std::string_view content,
                    const SozipOptions& o) {
  SozipStream s = SozipDeflate(content, o.chunk_size);
  ZipMember m;
  m.name = name;
  m.data = s.deflated;
  m.method = 8;
  m.crc32 = Crc32Of(content) ^ o.member_crc_xor;
  m.size = content.size();
  w.Add(m);
  if (o.no_index) return;

  std::vector<uint64_t> offsets = s.offsets;
  if (o.swap_two_offsets && offsets.size() >= 2) std::swap(offsets[0], offsets[1]);
  if (o.drop_last_offset && !offsets.empty()) offsets.pop_back();
  std::string index;
  Le(index, o.version, 4);
  Le(index, o.skip_bytes, 4);
  Le(index, o.chunk_size, 4);
  Le(index, o.offset_size, 4);
  Le(index, static_cast<uint64_t>(static_cast<int64_t>(content.size()) + o.size_delta), 8);
  Le(index,
     static_cast<uint64_t>(static_cast<int64_t>(s.deflated.size()) + o.compressed_size_delta), 8);
  index.append(o.skip_bytes, '\0');
  for (uint64_t off : offsets) Le(index, off, 8);

  ZipMember hidden;
  const std::string n(name);
  const size_t slash = n.rfind('/');
  const size_t base = slash == std::string::npos ? 0 : slash + 1;
  hidden.name = n.substr(0, base) + (o.name_without_dot ? "" : ".") + n.substr(base) + ".sozip.idx";
  hidden.data = index;
  hidden.crc32 = Crc32Of(index) ^ (o.bad_crc ? 1u : 0u);
  hidden.size = index.size();
  hidden.local_only = true;
  w.Add(hidden);
}

}  // namespace npzfs::testing
