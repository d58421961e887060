#include "core/archive.h"

#include <algorithm>
#include <vector>

namespace npzfs::core {

bool IsNpyName(std::string_view name) {
  return name.size() >= 4 && name.substr(name.size() - 4) == ".npy";
}

std::string NpzKey(std::string_view name) {
  if (IsNpyName(name)) name.remove_suffix(4);
  return std::string(name);
}

Result<std::unique_ptr<Archive>> Archive::Open(const std::string& path) {
  auto src = FileSource::Open(path);
  if (!src) return Fail(std::move(src).error());
  return FromSource(std::move(*src));
}

Result<std::unique_ptr<Archive>> Archive::FromSource(std::unique_ptr<ByteSource> src) {
  auto index = ReadZipIndex(*src);
  if (!index) return Fail(std::move(index).error());
  return std::unique_ptr<Archive>(new Archive(std::move(src), std::move(*index)));
}

Result<std::unique_ptr<MemberReader>> Archive::OpenReader(size_t i) const {
  return OpenMemberReader(*source_, index_, index_.entries.at(i));
}

Result<NpyHeader> Archive::ReadNpyHeader(size_t i) const {
  const ZipEntry& e = index_.entries.at(i);
  auto reader = OpenReader(i);
  if (!reader) return Fail(std::move(reader).error());
  std::vector<std::byte> buf(std::min<uint64_t>(e.size, 4096));
  auto got = (*reader)->ReadAt(0, buf);
  if (!got) return Fail(std::move(got).error());
  buf.resize(*got);
  auto prefix = ParseNpyPrefix(buf);
  if (!prefix) return Fail(Error{prefix.error().code, 0, e.name + ": " + prefix.error().message});
  if (prefix->data_offset > e.size) {
    return Fail(Corrupt(e.name + ": npy header (" + std::to_string(prefix->data_offset) +
                        " bytes) runs past the member's end (" + std::to_string(e.size) +
                        " bytes)"));
  }
  if (prefix->data_offset > kMaxNpyHeaderBytes) {
    return Fail(Unsupported(e.name + ": npy header of " + std::to_string(prefix->data_offset) +
                            " bytes is larger than the limit of " +
                            std::to_string(kMaxNpyHeaderBytes)));
  }
  if (prefix->data_offset > buf.size()) {
    const size_t have = buf.size();
    buf.resize(prefix->data_offset);
    auto more = (*reader)->ReadAt(have, std::span(buf).subspan(have));
    if (!more) return Fail(std::move(more).error());
  }
  auto header = ParseNpyHeader(buf);
  if (!header) return Fail(Error{header.error().code, 0, e.name + ": " + header.error().message});
  return header;
}

std::vector<ArrayInfo> Archive::ScanArrays(std::vector<std::string>& notes) const {
  std::vector<ArrayInfo> arrays(entries().size());
  for (size_t i = 0; i < entries().size(); ++i) {
    const ZipEntry& e = entries()[i];
    if (e.is_directory || !e.skip_reason.empty() || !IsNpyName(e.path)) continue;
    auto h = ReadNpyHeader(i);
    if (!h) {
      notes.push_back(e.path + ": no raw file: " + h.error().message);
      continue;
    }
    ArrayInfo& a = arrays[i];
    a.header_ok = true;
    a.data_offset = h->data_offset;
    if (h->has_object) {
      notes.push_back(e.path + ": no raw file: its dtype holds Python objects");
    } else if (*h->data_size > e.size - h->data_offset) {
      notes.push_back(e.path + ": no raw file: shape x itemsize is " +
                      std::to_string(*h->data_size) + " bytes, the member has " +
                      std::to_string(e.size - h->data_offset) + " after its header");
    } else {
      a.mappable = true;
    }
  }
  return arrays;
}

}  // namespace npzfs::core
