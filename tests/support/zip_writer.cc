#include "tests/support/zip_writer.h"

#include <zlib.h>

namespace npzfs::testing {
namespace {

void Le(std::string& out, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out += static_cast<char>(value >> (8 * i) & 0xff);
}

}  // namespace

uint32_t Crc32Of(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

std::string Npy(int major, std::string_view dict, std::string_view payload) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header(dict);
  header.append(63 - (prefix + header.size()) % 64, ' ');
  header += '\n';
  std::string npy = "\x93NUMPY";
  npy += static_cast<char>(major);
  npy += '\0';
  Le(npy, header.size(), major == 1 ? 2 : 4);
  return npy + header + std::string(payload);
}

std::string NpyV1(std::string_view descr, std::string_view shape, std::string_view payload) {
  return Npy(1,
             "{'descr': '" + std::string(descr) +
                 "', 'fortran_order': False, 'shape': " + std::string(shape) + ", }",
             payload);
}

void ZipWriter::AddStored(std::string_view name, std::string_view content) {
  ZipMember m;
  m.name = name;
  m.data = content;
  m.crc32 = Crc32Of(content);
  m.size = content.size();
  Add(m);
}

// APPNOTE 4.3.7 and 4.3.12; DOS time 1980-01-01 00:00, as numpy writes.
void ZipWriter::Add(const ZipMember& m) {
  const uint64_t at = out_.size();
  Le(out_, 0x04034b50, 4);
  Le(out_, 20, 2);
  Le(out_, m.flags, 2);
  Le(out_, m.method, 2);
  Le(out_, 0, 2);
  Le(out_, 0x21, 2);
  Le(out_, m.crc32, 4);
  Le(out_, m.data.size(), 4);
  Le(out_, m.size, 4);
  Le(out_, m.name.size(), 2);
  Le(out_, m.local_extra.size(), 2);
  out_ += m.name;
  out_ += m.local_extra;
  out_ += m.data;
  if (m.local_only) return;

  Le(central_, 0x02014b50, 4);
  Le(central_, 0x0314, 2);  // made by Unix, spec 2.0
  Le(central_, 20, 2);
  Le(central_, m.flags, 2);
  Le(central_, m.method, 2);
  Le(central_, 0, 2);
  Le(central_, 0x21, 2);
  Le(central_, m.crc32, 4);
  Le(central_, m.data.size(), 4);
  Le(central_, m.size, 4);
  Le(central_, m.name.size(), 2);
  Le(central_, m.central_extra.size(), 2);
  Le(central_, 0, 2);  // comment
  Le(central_, 0, 2);  // disk
  Le(central_, 0, 2);  // internal attributes
  Le(central_, uint64_t{0100644} << 16, 4);
  Le(central_, at, 4);
  central_ += m.name;
  central_ += m.central_extra;
  ++count_;
}

std::string ZipWriter::Finish() {
  const uint64_t cd_at = out_.size();
  out_ += central_;
  const uint64_t cd_size = central_.size();
  const bool zip64 = count_ > 0xffff;
  if (zip64) {
    const uint64_t record_at = out_.size();
    Le(out_, 0x06064b50, 4);  // APPNOTE 4.3.14
    Le(out_, 44, 8);
    Le(out_, 45, 2);
    Le(out_, 45, 2);
    Le(out_, 0, 4);
    Le(out_, 0, 4);
    Le(out_, count_, 8);
    Le(out_, count_, 8);
    Le(out_, cd_size, 8);
    Le(out_, cd_at, 8);
    Le(out_, 0x07064b50, 4);  // APPNOTE 4.3.15
    Le(out_, 0, 4);
    Le(out_, record_at, 8);
    Le(out_, 1, 4);
  }
  Le(out_, 0x06054b50, 4);  // APPNOTE 4.3.16
  Le(out_, 0, 2);
  Le(out_, 0, 2);
  Le(out_, zip64 ? 0xffff : count_, 2);
  Le(out_, zip64 ? 0xffff : count_, 2);
  Le(out_, cd_size, 4);
  Le(out_, cd_at, 4);
  Le(out_, 0, 2);
  std::string done = std::move(out_);
  out_.clear();
  central_.clear();
  count_ = 0;
  return done;
}

}  // namespace npzfs::testing
