// Python's repr() of a parsed header value, as CPython 3.11 writes it.
#include "core/npy/py_repr.h"

#include <limits>
#include <string>
#include <utility>

#include "core/base/text.h"

namespace npzfs::core {
namespace {

using Kind = PyValue::Kind;

// How much of a value's repr an error message quotes.
constexpr size_t kMessageReprLimit = 100;

// Code points >= U+0080 that CPython 3.11 (Unicode 14) escapes in repr():
// categories Cc, Cf, Cs, Co, Zs, Zl, Zp. Unassigned code points (Cn), which
// CPython also escapes, are treated as printable.
constexpr std::pair<char32_t, char32_t> kNonPrintable[] = {
    {0x80, 0xA0},       {0xAD, 0xAD},        {0x600, 0x605},     {0x61C, 0x61C},
    {0x6DD, 0x6DD},     {0x70F, 0x70F},      {0x890, 0x891},     {0x8E2, 0x8E2},
    {0x1680, 0x1680},   {0x180E, 0x180E},    {0x2000, 0x200F},   {0x2028, 0x202F},
    {0x205F, 0x2064},   {0x2066, 0x206F},    {0x3000, 0x3000},   {0xD800, 0xF8FF},
    {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},    {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
    {0x13430, 0x13438}, {0x1BCA0, 0x1BCA3},  {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
    {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF},
};

bool IsPrintable(char32_t cp) {
  if (cp < 0x80) return cp >= 0x20 && cp != 0x7F;
  for (const auto& [first, last] : kNonPrintable) {
    if (cp >= first && cp <= last) return false;
  }
  return cp <= 0x10FFFF;
}

void AppendHexEscape(char32_t cp, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  int digits = 8;
  if (cp <= 0xFF) {
    out->append("\\x"), digits = 2;
  } else if (cp <= 0xFFFF) {
    out->append("\\u"), digits = 4;
  } else {
    out->append("\\U");
  }
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) {
    out->push_back(kHex[(cp >> shift) & 0xF]);
  }
}

// Python's str.__repr__ (CPython unicode_repr).
void AppendStrRepr(std::u32string_view s, std::string* out) {
  const bool has_single = s.find(U'\'') != s.npos;
  const bool has_double = s.find(U'"') != s.npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out->push_back(quote);
  for (char32_t cp : s) {
    if (cp == static_cast<char32_t>(quote) || cp == U'\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(cp));
    } else if (cp == U'\t') {
      out->append("\\t");
    } else if (cp == U'\n') {
      out->append("\\n");
    } else if (cp == U'\r') {
      out->append("\\r");
    } else if (IsPrintable(cp)) {
      AppendUtf8(cp, *out);
    } else {
      AppendHexEscape(cp, out);
    }
  }
  out->push_back(quote);
}

// Python's repr() of `v`. Stops adding elements once `out` is longer than
// `limit` (for quoting a value in a message).
void AppendRepr(const PyValue& v, std::string* out, size_t limit) {
  switch (v.kind) {
    case Kind::kNone:
      out->append("None");
      return;
    case Kind::kBool:
      out->append(v.boolean ? "True" : "False");
      return;
    case Kind::kInt:
      out->append(std::to_string(v.integer));
      return;
    case Kind::kStr:
      AppendStrRepr(v.str, out);
      return;
    default:
      break;
  }
  const bool is_dict = v.kind == Kind::kDict;
  out->push_back(is_dict ? '{' : v.kind == Kind::kList ? '[' : '(');
  for (size_t i = 0; i < v.items.size() && out->size() <= limit; ++i) {
    if (i > 0) out->append(is_dict && i % 2 == 1 ? ": " : ", ");
    AppendRepr(v.items[i], out, limit);
  }
  if (v.kind == Kind::kTuple && v.items.size() == 1) out->push_back(',');
  out->push_back(is_dict ? '}' : v.kind == Kind::kList ? ']' : ')');
}

}  // namespace

std::string Repr(const PyValue& v) {
  std::string out;
  AppendRepr(v, &out, std::numeric_limits<size_t>::max());
  return out;
}

std::string ShortRepr(const PyValue& v) {
  std::string out;
  AppendRepr(v, &out, kMessageReprLimit);
  if (out.size() > kMessageReprLimit) {
    out.resize(kMessageReprLimit);
    // Do not end in the middle of a UTF-8 sequence.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) {
      out.pop_back();
    }
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) {
      out.pop_back();
    }
    out.append("...");
  }
  return out;
}

std::string ToUtf8(std::u32string_view s) {
  std::string out;
  for (char32_t cp : s) AppendUtf8(cp, out);
  return out;
}

}  // namespace npzfs::core
