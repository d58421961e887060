// npzinfo list: the arrays of an .npz archive, as a table or as JSON.
#include <algorithm>
#include <array>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/base/text.h"
#include "core/mount/mounted_archive.h"
#include "core/npy/header_scan.h"
#include "tools/npzinfo.h"

namespace npzfs::tools {
namespace {

using npzfs::core::Archive;
using npzfs::core::NpyHeader;
using npzfs::core::Result;
using npzfs::core::ZipEntry;

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
    } else if (auto h = core::ReadNpyHeader(archive, i)) {
      row.header = std::move(*h);
    } else {
      row.note = h.error().message;
    }
    if (!e.skip_reason.empty()) {
      row.note += std::string(row.note.empty() ? "" : "; ") + "not mounted: " + e.skip_reason;
    }
    if (e.sozip) {
      row.note += std::string(row.note.empty() ? "" : "; ") +
                  "SOZip index: " + std::to_string(e.sozip->chunk_count()) + " chunks of " +
                  std::to_string(e.sozip->chunk_size >> 10) + " KiB";
    } else if (!e.sozip_note.empty()) {
      row.note += std::string(row.note.empty() ? "" : "; ") + e.sozip_note + " (not used)";
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
    m["sozip"] = e.sozip ? nlohmann::json{{"chunk_size", e.sozip->chunk_size},
                                          {"chunks", e.sozip->chunk_count()}}
                         : nlohmann::json(nullptr);
    if (!e.sozip_note.empty()) m["sozip_note"] = e.sozip_note;
    if (!r.note.empty()) m["note"] = r.note;
    members.push_back(std::move(m));
  }
  return {{"archive", path}, {"members", std::move(members)}, {"comment", archive.index().comment}};
}

struct Column {
  const char* heading;
  bool right_aligned;  // numbers
};
constexpr Column kColumns[] = {
    {"KEY", false}, {"DTYPE", false}, {"SHAPE", false}, {"ORDER", false}, {"METHOD", false},
    {"SIZE", true}, {"CSIZE", true},  {"OFFSET", true}, {"NOTE", false},
};
constexpr size_t kColumnCount = std::size(kColumns);
using Cells = std::array<std::string, kColumnCount>;

// One member's row. Everything in it that came from the archive is escaped
// (core/text.h), so that no name can move the cursor, forge a row or turn
// the rest of the line around; a name is quoted when it holds a space, a
// quote or an escape, so that where it ends stays visible.
Cells RowCells(const Row& r) {
  const ZipEntry& e = *r.entry;
  const auto off = ArrayOffset(r);
  return {
      core::Quote(r.is_array ? core::NpzKey(e.name) : e.name, core::Quoting::kWhenNeeded),
      r.header ? core::EscapeMessage(r.header->descr_repr) : "-",
      r.header ? core::EscapeMessage(r.header->shape_repr) : "-",
      r.header ? (r.header->fortran_order ? "F" : "C") : "-",
      core::MethodName(e.method),
      std::to_string(e.size),
      std::to_string(e.compressed_size),
      off ? std::to_string(*off) : "-",
      core::EscapeMessage(r.note),
  };
}

// Cells padded to their column's width, two spaces apart, no trailing
// blanks. Widths are terminal columns, not bytes: "温度" is 6 bytes wide in
// UTF-8 but takes 4 columns.
std::string Line(const Cells& cells, const std::array<size_t, kColumnCount>& width) {
  std::string line;
  for (size_t c = 0; c < kColumnCount; ++c) {
    const size_t pad = width[c] - core::DisplayWidth(cells[c]);
    if (c > 0) line += "  ";
    if (kColumns[c].right_aligned) line.append(pad, ' ');
    line += cells[c];
    if (!kColumns[c].right_aligned) line.append(pad, ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

void PrintTable(const std::vector<Row>& rows) {
  std::vector<Cells> table(1);
  for (size_t c = 0; c < kColumnCount; ++c) table[0][c] = kColumns[c].heading;
  for (const Row& r : rows) table.push_back(RowCells(r));
  std::array<size_t, kColumnCount> width{};
  for (const Cells& cells : table) {
    for (size_t c = 0; c < kColumnCount; ++c) {
      width[c] = std::max(width[c], core::DisplayWidth(cells[c]));
    }
  }
  for (const Cells& cells : table) std::cout << Line(cells, width) << '\n';
}

struct ListArgs {
  std::string archive;
  bool json = false;
  core::RemoteSettings remote;
};

// Member names are UTF-8 by now (core decodes them), but the archive path
// is the user's bytes and may not be: in JSON invalid bytes become U+FFFD
// rather than an exception.
void PrintJson(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

core::Result<std::unique_ptr<Archive>> OpenArchive(const std::string& path,
                                                   const core::RemoteSettings& remote) {
  auto source = core::OpenArchiveSource(path, remote);
  if (!source) return core::Fail(std::move(source).error());
  return Archive::FromSource(std::move(*source));
}

int List(const ListArgs& args) {
  auto archive = OpenArchive(args.archive, args.remote);
  if (!archive) {
    // A script reading --json gets a document on stdout in every case;
    // people get the line on stderr.
    if (args.json) {
      PrintJson({{"archive", ShownArchive(args.archive)}, {"error", archive.error().message}});
    }
    std::cerr << "npzinfo: " << core::EscapeMessage(archive.error().message) << '\n';
    return kExitArchive;
  }
  std::vector<Row> rows = Describe(**archive);
  if (args.json) {
    PrintJson(ToJson(ShownArchive(args.archive), **archive, rows));
  } else {
    PrintTable(rows);
  }
  return kExitOk;
}

}  // namespace

void AddList(CLI::App& app, Command& run) {
  auto args = std::make_shared<ListArgs>();
  CLI::App* list = app.add_subcommand(
      "list", "List the arrays of ARCHIVE, as a table or as JSON (the default subcommand)");
  list->add_option("ARCHIVE", args->archive, "The .npz archive, or its URL")->required();
  list->add_flag("--json", args->json, "Print JSON (exact names, more fields) instead of a table");
  AddRemoteOptions(list, args->remote);
  list->callback([args, &run] { run = [args] { return List(*args); }; });
}

}  // namespace npzfs::tools
