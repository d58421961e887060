#include "tests/support/zip_patch.h"

namespace npzfs::testing {

uint32_t GetLe(std::string_view zip, size_t at, int width) {
  uint32_t v = 0;
  for (int i = width - 1; i >= 0; --i) {
    v = v << 8 | static_cast<unsigned char>(zip.at(at + static_cast<size_t>(i)));
  }
  return v;
}

void PutLe(std::string& zip, size_t at, int width, uint64_t value) {
  for (int i = 0; i < width; ++i) {
    zip.at(at + static_cast<size_t>(i)) = static_cast<char>(value >> (8 * i) & 0xff);
  }
}

size_t CentralRecord(std::string_view zip, std::string_view name) {
  for (size_t p = zip.find("PK\x01\x02"); p != std::string_view::npos;
       p = zip.find("PK\x01\x02", p + 1)) {
    if (p + 46 > zip.size()) break;
    const size_t n = GetLe(zip, p + 28, 2);
    if (zip.substr(p + 46, n) == name) return p;
  }
  return std::string_view::npos;
}

size_t LocalHeader(std::string_view zip, std::string_view name) {
  const size_t c = CentralRecord(zip, name);
  return c == std::string_view::npos ? c : GetLe(zip, c + kCentralLocalOffset, 4);
}

size_t DataStart(std::string_view zip, std::string_view name) {
  const size_t l = LocalHeader(zip, name);
  return l + 30 + GetLe(zip, l + kLocalNameLen, 2) + GetLe(zip, l + kLocalNameLen + 2, 2);
}

void PatchBoth(std::string& zip, std::string_view name, size_t local_field, size_t central_field,
               int width, uint64_t value) {
  const size_t c = CentralRecord(zip, name);
  const size_t l = LocalHeader(zip, name);
  PutLe(zip, l + local_field, width, value);
  PutLe(zip, c + central_field, width, value);
}

}  // namespace npzfs::testing
