// npzinfo: lists the arrays of an .npz archive without mounting it.
//
//   npzinfo ARCHIVE [--json]
//
// Exit status: 0 listed; 1 the archive cannot be read (one line on stderr
// naming the file and the reason); 2 usage error.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/npy/header_scan.h"

namespace {

using npzfs::core::Archive;
using npzfs::core::NpyHeader;
using npzfs::core::Result;
using npzfs::core::ZipEntry;

constexpr int kExitOk = 0;
constexpr int kExitArchive = 1;
constexpr int kExitUsage = 2;

// What is known of one member.
struct Row {
  const ZipEntry* entry;
  bool is_array;
  std::optional<NpyHeader> header;
  std::string note;  // why the rest is not known, or what the member is
};

std::vector<Row> Describe(const Archive& archive) {
  std::vector<Row> rows;
  for (size_t i = 0; i < archive.entries().size(); ++i) {
    const ZipEntry& e = archive.entries()[i];
    Row row{&e, npzfs::core::IsNpyName(e.name), std::nullopt, ""};
    if (e.is_directory) {
      row.note = "directory";
    } else if (!row.is_array) {
      row.note = "not an array";
    } else if (auto h = npzfs::core::ReadNpyHeader(archive, i)) {
      row.header = std::move(*h);
    } else {
      row.note = h.error().message;
    }
    if (!e.skip_reason.empty()) {
      row.note += std::string(row.note.empty() ? "" : "; ") + "not mounted: " + e.skip_reason;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string Crc(uint32_t crc) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", crc);
  return buf;
}

// Where the array's bytes begin in the archive file: only meaningful for a
// stored member, whose payload can be mapped straight from the .npz.
std::optional<uint64_t> ArrayOffset(const Row& r) {
  if (!r.header || r.entry->method != npzfs::core::kMethodStored || !r.entry->local_error.empty()) {
    return std::nullopt;
  }
  return r.entry->data_offset + r.header->data_offset;
}

nlohmann::json ToJson(const std::string& path, const Archive& archive,
                      const std::vector<Row>& rows) {
  nlohmann::json members = nlohmann::json::array();
  for (const Row& r : rows) {
    const ZipEntry& e = *r.entry;
    nlohmann::json m = {
        {"name", e.name},         {"key", npzfs::core::NpzKey(e.name)},
        {"is_array", r.is_array}, {"method", npzfs::core::MethodName(e.method)},
        {"size", e.size},         {"compressed_size", e.compressed_size},
        {"crc32", Crc(e.crc32)},  {"member_data_offset", e.data_offset},
    };
    if (r.header) {
      m["descr"] = r.header->descr_repr;
      m["shape"] = r.header->shape;
      m["fortran_order"] = r.header->fortran_order;
      m["npy_version"] = std::to_string(r.header->major) + "." + std::to_string(r.header->minor);
      m["npy_data_offset"] = r.header->data_offset;
    }
    if (auto off = ArrayOffset(r)) m["array_offset"] = *off;
    if (!r.note.empty()) m["note"] = r.note;
    members.push_back(std::move(m));
  }
  return {{"archive", path}, {"members", std::move(members)}, {"comment", archive.index().comment}};
}

void PrintTable(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> cells = {
      {"KEY", "DTYPE", "SHAPE", "ORDER", "METHOD", "SIZE", "CSIZE", "OFFSET", "NOTE"}};
  for (const Row& r : rows) {
    const ZipEntry& e = *r.entry;
    auto off = ArrayOffset(r);
    cells.push_back({
        r.is_array ? npzfs::core::NpzKey(e.name) : e.name,
        r.header ? r.header->descr_repr : "-",
        r.header ? r.header->shape_repr : "-",
        r.header ? (r.header->fortran_order ? "F" : "C") : "-",
        npzfs::core::MethodName(e.method),
        std::to_string(e.size),
        std::to_string(e.compressed_size),
        off ? std::to_string(*off) : "-",
        r.note,
    });
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& row : cells) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : cells) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const bool numeric = c >= 5 && c <= 7;
      const size_t pad = width[c] - row[c].size();
      if (numeric) line.append(pad, ' ');
      line += row[c];
      if (c + 1 < row.size()) {
        if (!numeric) line.append(pad, ' ');
        line += "  ";
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << '\n';
  }
}

int Usage(std::ostream& out, int code) {
  out << "usage: npzinfo ARCHIVE [--json]\n"
         "Lists the arrays of a NumPy .npz archive: key, dtype, shape, order,\n"
         "compression method, size, compressed size and, for stored members,\n"
         "the offset of the array's bytes in the archive file.\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "-h" || arg == "--help") {
      return Usage(std::cout, kExitOk);
    } else if (!arg.empty() && arg[0] == '-' && arg != "-") {
      std::cerr << "npzinfo: unknown option " << arg << '\n';
      return Usage(std::cerr, kExitUsage);
    } else if (path.empty()) {
      path = arg;
    } else {
      return Usage(std::cerr, kExitUsage);
    }
  }
  if (path.empty()) return Usage(std::cerr, kExitUsage);

  auto archive = Archive::Open(path);
  if (!archive) {
    std::cerr << "npzinfo: " << archive.error().message << '\n';
    return kExitArchive;
  }
  std::vector<Row> rows = Describe(**archive);
  if (json) {
    std::cout << ToJson(path, **archive, rows)
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << '\n';
  } else {
    PrintTable(rows);
  }
  return kExitOk;
}
