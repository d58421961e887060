// Text encodings met in zip names and npy headers, all converted to UTF-8;
// and the one escaping rule for text shown to people.
#ifndef NPZFS_CORE_BASE_TEXT_H_
#define NPZFS_CORE_BASE_TEXT_H_

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

// Length (1-4) of the strict UTF-8 sequence at s[i], with its code point in
// *cp; 0 when the bytes there are not valid UTF-8 (or i is past the end).
size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp);

// The one rule for text from an archive, or from any other source npzfs
// does not control (names above all), before it reaches a terminal, a log
// or a table: everything that could act on a terminal, forge a line or
// hide what a name is, becomes a visible escape.
//  - backslash, tab, newline and carriage return: \\ \t \n \r;
//  - other C0 controls and DEL: \xNN (ESC is \x1b, BEL \x07);
//  - each byte that is not part of valid UTF-8: \xNN;
//  - C1 controls (U+0080-U+009F), bidi controls (U+061C, U+200E, U+200F,
//    U+202A-U+202E, U+2066-U+2069) and the line and paragraph separators
//    (U+2028, U+2029): \uNNNN.
// Everything else, other UTF-8 included, is kept. Pure; thread-safe.
std::string Escape(std::string_view text);

// Whether Escape() would change `text` (beyond doubling backslashes).
bool NeedsEscape(std::string_view text);

// A message npzfs composed (names in it already quoted), or text that is
// already a Python repr, made safe to show: escaped as a whole only when
// something in it still needs it, so that escapes made before are not
// doubled. The net under every log line and table cell.
std::string EscapeMessage(std::string_view message);

// How Quote() shows where a string ends.
enum class Quoting {
  kAlways,      // 'a.npy': member names in messages and logs
  kWhenNeeded,  // only when empty or holding a space, a quote, a
                // backslash or anything escaped: tables, user-given paths
};

// Escape(text) between single quotes, a quote inside as \'.
std::string Quote(std::string_view text, Quoting quoting = Quoting::kAlways);

// Columns `text` (valid UTF-8, as Escape() returns it) takes on a
// terminal: East Asian wide characters 2, combining marks 0, others 1.
size_t DisplayWidth(std::string_view text);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_BASE_TEXT_H_
