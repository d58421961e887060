#include "tests/support/zip_patch.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

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

namespace {

std::string Le(uint64_t value, int width) {
  std::string out(static_cast<size_t>(width), '\0');
  PutLe(out, 0, width, value);
  return out;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// ZipInfo.extra goes into the local header and the central record as is.
constexpr const char* kWriteZip = R"(
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for arg in sys.argv[2:]:
        name, extra = arg.split("=")
        info = zipfile.ZipInfo(name, (1999, 12, 31, 23, 59, 58))
        info.extra = bytes.fromhex(extra)
        z.writestr(info, b"x")
)";

}  // namespace

std::string NtfsTimesExtra(uint64_t mtime, uint64_t atime, uint64_t ctime) {
  return Le(0x000a, 2) + Le(32, 2) + Le(0, 4) + Le(1, 2) + Le(24, 2) + Le(mtime, 8) + Le(atime, 8) +
         Le(ctime, 8);
}

std::string ExtendedTimestampExtra(uint32_t mtime) {
  return Le(0x5455, 2) + Le(5, 2) + Le(1, 1) + Le(mtime, 4);
}

void WriteZipWithExtras(const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& members) {
  std::vector<std::string> argv = {NPZFS_PYTHON, "-c", kWriteZip, path};
  for (const auto& [name, extra] : members) argv.push_back(name + "=" + Hex(extra));
  std::string out;
  if (RunCommand(argv, &out) != 0) ADD_FAILURE() << "cannot write " << path << ":\n" << out;
}

}  // namespace npzfs::testing
