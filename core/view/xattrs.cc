#include "core/view/xattrs.h"

#include <cstdio>
#include <iterator>

namespace npzfs::core {

Xattrs MemberXattrs(const ZipEntry& e, const NpyHeader* header, std::vector<std::string>* dropped) {
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", e.crc32);
  Xattrs x = {
      {"user.zip.method", MethodName(e.method)},
      {"user.zip.size", std::to_string(e.size)},
      {"user.zip.compressed_size", std::to_string(e.compressed_size)},
      {"user.zip.crc32", crc},
  };
  if (header != nullptr) {
    const std::string values[] = {
        header->descr_repr,
        header->shape_repr,
        header->fortran_order ? "True" : "False",
        std::to_string(header->major) + "." + std::to_string(header->minor),
        std::to_string(header->data_offset),
        header->header_text,
    };
    static_assert(std::size(values) == std::size(kNpyXattrNames));
    for (size_t i = 0; i < std::size(values); ++i) {
      const char* name = kNpyXattrNames[i];
      const std::string& value = values[i];
      if (value.size() > kMaxXattrValue) {
        if (dropped) dropped->push_back(name);
        continue;
      }
      x.emplace_back(name, value);
    }
  }
  return x;
}

Xattrs RootXattrs(const std::string& archive_abs_path, uint64_t member_count) {
  return {
      {"user.npz.archive", archive_abs_path},
      {"user.npz.members", std::to_string(member_count)},
  };
}

}  // namespace npzfs::core
