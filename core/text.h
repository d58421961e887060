// Text encodings met in zip names and npy headers, all converted to UTF-8.
#ifndef NPZFS_CORE_TEXT_H_
#define NPZFS_CORE_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace npzfs::core {

// Appends code point `cp` (<= 0x10FFFF) as UTF-8.
void AppendUtf8(uint32_t cp, std::string& out);

// IBM code page 437, as Python's "cp437" codec decodes it (zipfile's choice
// for names without the UTF-8 flag).
std::string Cp437ToUtf8(std::string_view bytes);

// ISO 8859-1: every byte is the code point of the same value.
std::string Latin1ToUtf8(std::string_view bytes);

// Strict UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

bool IsAscii(std::string_view bytes);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_TEXT_H_
