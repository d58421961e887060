#include "core/base/text.h"

#include <locale.h>
#include <wchar.h>

#include <algorithm>

namespace npzfs::core {
namespace {

// Code points of bytes 0x80..0xFF in CP437 (Python's cp437 codec).
constexpr uint16_t kCp437High[128] = {
    0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7, 0x00ea, 0x00eb, 0x00e8, 0x00ef,
    0x00ee, 0x00ec, 0x00c4, 0x00c5, 0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9,
    0x00ff, 0x00d6, 0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192, 0x00e1, 0x00ed, 0x00f3, 0x00fa,
    0x00f1, 0x00d1, 0x00aa, 0x00ba, 0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557,
    0x255d, 0x255c, 0x255b, 0x2510, 0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
    0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559,
    0x2558, 0x2552, 0x2553, 0x256b, 0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
    0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4, 0x03a6, 0x0398, 0x03a9, 0x03b4,
    0x221e, 0x03c6, 0x03b5, 0x2229, 0x2261, 0x00b1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248,
    0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
};

}  // namespace

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::string Cp437ToUtf8(std::string_view bytes) {
  if (IsAscii(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    AppendUtf8(b < 0x80 ? b : kCp437High[b - 0x80], out);
  }
  return out;
}

std::string Latin1ToUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) AppendUtf8(static_cast<unsigned char>(c), out);
  return out;
}

bool IsValidUtf8(std::string_view s) {
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp) {
  auto byte = [&](size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100;
  };
  const unsigned b0 = byte(0);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len = 0;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  char32_t c = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, c = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, c = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, c = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, 0xC0/0xC1, 0xF5-0xFF, or the end
  }
  for (size_t k = 1; k < len; ++k) {
    const unsigned b = byte(k);
    if (b < (k == 1 ? lo : 0x80u) || b > (k == 1 ? hi : 0xBFu)) return 0;
    c = (c << 6) | (b & 0x3F);
  }
  *cp = c;
  return len;
}

namespace {

// Code points past ASCII that Escape() shows as \uNNNN.
bool IsHiddenCodePoint(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) ||      // C1 controls
         cp == 0x061C ||                    // arabic letter mark
         cp == 0x200E || cp == 0x200F ||    // left-to-right, right-to-left marks
         (cp >= 0x202A && cp <= 0x202E) ||  // embeddings and overrides
         (cp >= 0x2066 && cp <= 0x2069) ||  // isolates
         cp == 0x2028 || cp == 0x2029;      // line and paragraph separators
}

void AppendHex(unsigned value, int digits, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xF];
}

// Appends s[i...] (one character, or one invalid byte) as Escape() shows
// it; returns the bytes consumed. `quote` is also escaped when not NUL.
size_t AppendEscaped(std::string_view s, size_t i, char quote, std::string& out) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b >= 0x20 && b < 0x7F) {
    if (b == '\\' || (quote != '\0' && b == static_cast<unsigned char>(quote))) out += '\\';
    out += static_cast<char>(b);
    return 1;
  }
  if (b == '\t' || b == '\n' || b == '\r') {
    out += '\\';
    out += b == '\t' ? 't' : b == '\n' ? 'n' : 'r';
    return 1;
  }
  char32_t cp = 0;
  const size_t len = b < 0x80 ? 0 : DecodeUtf8(s, i, &cp);
  if (len == 0) {  // C0 control, DEL, or not UTF-8
    out += "\\x";
    AppendHex(b, 2, out);
    return 1;
  }
  if (IsHiddenCodePoint(cp)) {
    out += "\\u";
    AppendHex(static_cast<unsigned>(cp), 4, out);
  } else {
    out.append(s.substr(i, len));
  }
  return len;
}

std::string EscapeWith(std::string_view text, char quote) {
  std::string out;
  out.reserve(text.size() + 2);
  for (size_t i = 0; i < text.size();) i += AppendEscaped(text, i, quote, out);
  return out;
}

}  // namespace

std::string Escape(std::string_view text) { return EscapeWith(text, '\0'); }

bool NeedsEscape(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b >= 0x20 && b < 0x7F) {
      ++i;
      continue;
    }
    char32_t cp = 0;
    const size_t len = b < 0x80 ? 0 : DecodeUtf8(text, i, &cp);
    if (len == 0 || IsHiddenCodePoint(cp)) return true;
    i += len;
  }
  return false;
}

std::string EscapeMessage(std::string_view message) {
  return NeedsEscape(message) ? Escape(message) : std::string(message);
}

std::string Quote(std::string_view text, Quoting quoting) {
  std::string escaped = EscapeWith(text, '\'');
  const bool plain = quoting == Quoting::kWhenNeeded && !text.empty() &&
                     escaped.size() == text.size() &&
                     text.find_first_of(" '\"") == std::string_view::npos;
  if (plain) return escaped;
  return "'" + escaped + "'";
}

size_t DisplayWidth(std::string_view text) {
  // glibc's C.UTF-8 knows every code point's width, whatever the user's
  // locale; made once, used by the calling thread for the duration only.
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  const locale_t previous = utf8 ? uselocale(utf8) : locale_t{};
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) {
      ++width, ++i;
      continue;
    }
    const int w = utf8 ? ::wcwidth(static_cast<wchar_t>(cp)) : 1;
    width += w < 0 ? 1 : static_cast<size_t>(w);
    i += len;
  }
  if (utf8) uselocale(previous);
  return width;
}

}  // namespace npzfs::core
