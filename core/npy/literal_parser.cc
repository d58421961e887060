// ast.literal_eval's grammar for the values an npy header can hold, and
// numpy 1.24's _filter_header (Python 2 'L' suffixes).
//
// Bounds: the parser recurses at most kMaxDepth levels and the tree it
// builds has at most one node per input byte.
#include "core/npy/literal_parser.h"

#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/text.h"
#include "core/npy/py_repr.h"

namespace npzfs::core {
namespace {

using Kind = PyValue::Kind;

constexpr int kMaxDepth = 64;
// PyValue::integer's range: no header field can use a larger int.
constexpr uint64_t kMaxInt = std::numeric_limits<int64_t>::max();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Python identifier characters, with every non-ASCII byte counted in (the
// exact XID classes do not matter: no name but True/False/None is valid).
bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

int DigitValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

// What a string literal's prefix makes of it.
enum class StrPrefix { kNotAString, kStr, kRawStr, kBytes, kFormat };

// The parser behind ParseLiteral. One use.
class LiteralParser {
 public:
  LiteralParser(std::string_view text, Encoding encoding, uint64_t base, bool strip_long_suffix)
      : text_(text), encoding_(encoding), base_(base), strip_long_suffix_(strip_long_suffix) {}

  // The whole text: optional blank lines, one value, trailing space.
  Result<PyValue> ParseDocument();

 private:
  Result<PyValue> ParseValue(int depth);
  Result<PyValue> ParseSigned(int depth);
  Result<PyValue> ParseParen(int depth);
  Result<PyValue> ParseList(int depth);
  Result<PyValue> ParseDict(int depth);
  Result<void> ParseDictEntry(int depth, PyValue* dict,
                              std::unordered_map<std::u32string, size_t>* seen);
  Result<void> ParseSequenceTail(char close, size_t open_pos, int depth,
                                 std::vector<PyValue>* items);
  Result<void> ExpectValue(char close, size_t open_pos) const;
  Result<PyValue> ParseName();
  Result<PyValue> ParseStrings();
  Result<void> ParseOneString(std::u32string* out);
  Result<void> ParseEscape(size_t string_start, std::u32string* out);
  Result<void> ParseRawEscape(size_t string_start, std::u32string* out);
  Result<char32_t> ParseHexEscape(size_t escape_start, int digits);
  Result<PyValue> ParseNumber();
  Result<void> ParseDigits(int radix, bool leading_underscore, uint64_t* value);
  void SkipLongSuffix();
  Result<void> SkipLeadingSpace();
  void SkipSpace();
  bool SkipNewline();

  StrPrefix ScanStringPrefix(size_t* prefix_len) const;
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char32_t CodePointAt(size_t* i) const;
  char32_t NextCodePoint() { return CodePointAt(&pos_); }
  std::string Excerpt(size_t start, size_t end) const;
  std::string Describe(size_t pos) const;
  uint64_t Abs(size_t pos) const { return base_ + pos; }
  Error ErrorAt(size_t pos, std::string_view what) const { return CorruptAt(Abs(pos), what); }

  std::string_view text_;
  Encoding encoding_;
  uint64_t base_;
  bool strip_long_suffix_;
  size_t pos_ = 0;
};

Result<PyValue> LiteralParser::ParseDocument() {
  if (auto ok = SkipLeadingSpace(); !ok) return std::move(ok).error();
  auto value = ParseValue(0);
  if (!value) return value;
  SkipSpace();
  if (!AtEnd()) {
    return ErrorAt(pos_, "unexpected " + Describe(pos_) + " after the value");
  }
  return value;
}

// ast.literal_eval strips leading spaces and tabs; after that the Python
// tokenizer skips blank and comment lines, and the first line with a token
// must not be indented (a form feed resets the column, as in CPython).
Result<void> LiteralParser::SkipLeadingSpace() {
  while (Peek() == ' ' || Peek() == '\t') ++pos_;
  for (;;) {
    bool indented = false;
    for (char c = Peek(); c == ' ' || c == '\t' || c == '\f'; c = Peek()) {
      indented = c != '\f';
      ++pos_;
    }
    if (Peek() == '#') {
      while (!AtEnd() && Peek() != '\n' && Peek() != '\r') ++pos_;
    }
    if (SkipNewline()) continue;
    if (indented && !AtEnd()) return ErrorAt(pos_, "unexpected indent");
    return {};
  }
}

// Whitespace, comments and backslash line continuations between tokens.
// Newlines count as space everywhere: the value that matters is a dict, and
// inside brackets Python ignores them too.
void LiteralParser::SkipSpace() {
  for (;;) {
    const char c = Peek();
    if (c == ' ' || c == '\t' || c == '\f' || c == '\n' || c == '\r') {
      ++pos_;
    } else if (c == '#') {
      while (!AtEnd() && Peek() != '\n' && Peek() != '\r') ++pos_;
    } else if (c == '\\' && (Peek(1) == '\n' || Peek(1) == '\r')) {
      ++pos_;
      SkipNewline();
    } else {
      return;
    }
  }
}

// Consumes one "\n", "\r\n" or "\r".
bool LiteralParser::SkipNewline() {
  if (Peek() == '\r') {
    ++pos_;
    if (Peek() == '\n') ++pos_;
    return true;
  }
  if (Peek() == '\n') {
    ++pos_;
    return true;
  }
  return false;
}

// The code point at text_[*i]; advances *i past it.
char32_t LiteralParser::CodePointAt(size_t* i) const {
  if (encoding_ == Encoding::kLatin1) {
    return static_cast<unsigned char>(text_[(*i)++]);
  }
  char32_t cp = 0;
  const size_t len = DecodeUtf8(text_, *i, &cp);
  *i += len > 0 ? len : 1;  // validated already; never stall
  return cp;
}

// text_[start, end) as UTF-8, at most 40 code points, for messages.
std::string LiteralParser::Excerpt(size_t start, size_t end) const {
  std::string out;
  for (size_t i = start, n = 0; i < end; ++n) {
    if (n == 40) return out + "...";
    AppendUtf8(CodePointAt(&i), out);
  }
  return out;
}

// "'x'" for printable ASCII, "U+00E9" otherwise, "the end" past the end.
std::string LiteralParser::Describe(size_t pos) const {
  if (pos >= text_.size()) return "the end";
  const char c = text_[pos];
  if (c == '\'') return "\"'\"";
  if (c >= 0x20 && c < 0x7F) return std::string("'") + c + "'";
  char32_t cp = static_cast<unsigned char>(c);
  if (encoding_ == Encoding::kUtf8) DecodeUtf8(text_, pos, &cp);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "U+";
  for (int shift = cp > 0xFFFF ? 20 : 12; shift >= 0; shift -= 4) {
    out.push_back(kHex[(cp >> shift) & 0xF]);
  }
  return out;
}

Result<PyValue> LiteralParser::ParseValue(int depth) {
  SkipSpace();
  if (depth > kMaxDepth) {
    return ErrorAt(pos_, "nesting deeper than " + std::to_string(kMaxDepth));
  }
  const char c = Peek();
  switch (c) {
    case '{':
      return ParseDict(depth);
    case '[':
      return ParseList(depth);
    case '(':
      return ParseParen(depth);
    case '+':
    case '-':
      return ParseSigned(depth);
    case '\'':
    case '"':
      return ParseStrings();
    default:
      break;
  }
  if (IsDigit(c)) return ParseNumber();
  if (c == '.' && IsDigit(Peek(1))) {
    return ErrorAt(pos_, "float literals are not allowed");
  }
  if (IsIdentChar(c)) return ParseName();
  if (AtEnd()) return ErrorAt(pos_, "expected a value, found the end");
  return ErrorAt(pos_, "unexpected " + Describe(pos_));
}

// literal_eval takes a unary + or - on a number literal (possibly in
// grouping parentheses), but not on a signed number or anything else.
Result<PyValue> LiteralParser::ParseSigned(int depth) {
  const size_t at = pos_;
  const bool negate = Peek() == '-';
  ++pos_;
  auto operand = ParseValue(depth + 1);
  if (!operand) return operand;
  if (operand->kind != Kind::kInt || operand->is_signed) {
    return ErrorAt(
        at, std::string("unary '") + text_[at] + "' applied to something other than a number");
  }
  if (negate) operand->integer = -operand->integer;  // |integer| < 2**63
  operand->is_signed = true;
  operand->pos = Abs(at);
  return operand;
}

// "()" is the empty tuple, "(x)" is x, "(x,)" and "(x, y)" are tuples.
Result<PyValue> LiteralParser::ParseParen(int depth) {
  const size_t open = pos_++;
  PyValue tuple;
  tuple.kind = Kind::kTuple;
  tuple.pos = Abs(open);
  SkipSpace();
  if (Peek() == ')') {
    ++pos_;
    return tuple;
  }
  auto first = ParseValue(depth + 1);
  if (!first) return first;
  SkipSpace();
  if (Peek() == ')') {
    ++pos_;
    return first;
  }
  if (Peek() != ',') {
    return ErrorAt(pos_, "expected ',' or ')' to close the '(' at byte " +
                             std::to_string(Abs(open)) + ", found " + Describe(pos_));
  }
  ++pos_;
  tuple.items.push_back(std::move(*first));
  if (auto ok = ParseSequenceTail(')', open, depth, &tuple.items); !ok) {
    return std::move(ok).error();
  }
  return tuple;
}

Result<PyValue> LiteralParser::ParseList(int depth) {
  const size_t open = pos_++;
  PyValue list;
  list.kind = Kind::kList;
  list.pos = Abs(open);
  if (auto ok = ParseSequenceTail(']', open, depth, &list.items); !ok) {
    return std::move(ok).error();
  }
  return list;
}

// After the opening bracket (and any first element and its comma): more
// comma-separated elements, an optional trailing comma, then `close`.
Result<void> LiteralParser::ParseSequenceTail(char close, size_t open_pos, int depth,
                                              std::vector<PyValue>* items) {
  for (;;) {
    SkipSpace();
    if (Peek() == close) {
      ++pos_;
      return {};
    }
    if (auto ok = ExpectValue(close, open_pos); !ok) return ok;
    auto item = ParseValue(depth + 1);
    if (!item) return std::move(item).error();
    items->push_back(std::move(*item));
    SkipSpace();
    if (Peek() == ',') {
      ++pos_;
    } else if (Peek() != close) {
      return ErrorAt(pos_, std::string("expected ',' or '") + close + "' to close the '" +
                               text_[open_pos] + "' at byte " + std::to_string(Abs(open_pos)) +
                               ", found " + Describe(pos_));
    }
  }
}

// Where an element may start: not at a closing bracket or the end, which
// would mean the brackets do not match.
Result<void> LiteralParser::ExpectValue(char close, size_t open_pos) const {
  const char c = Peek();
  if (!AtEnd() && c != ')' && c != ']' && c != '}') return {};
  return ErrorAt(pos_, std::string("expected a value or '") + close + "' to close the '" +
                           text_[open_pos] + "' at byte " + std::to_string(Abs(open_pos)) +
                           ", found " + Describe(pos_));
}

// As in Python, a repeated key keeps its first position and takes the last
// value. Only str keys are accepted: numpy needs exactly three str keys.
Result<PyValue> LiteralParser::ParseDict(int depth) {
  const size_t open = pos_++;
  PyValue dict;
  dict.kind = Kind::kDict;
  dict.pos = Abs(open);
  std::unordered_map<std::u32string, size_t> seen;  // key -> index in items
  for (;;) {
    SkipSpace();
    if (Peek() == '}') {
      ++pos_;
      return dict;
    }
    if (auto ok = ExpectValue('}', open); !ok) return std::move(ok).error();
    if (auto ok = ParseDictEntry(depth, &dict, &seen); !ok) {
      return std::move(ok).error();
    }
    SkipSpace();
    if (Peek() == ',') {
      ++pos_;
    } else if (Peek() != '}') {
      return ErrorAt(pos_, "expected ',' or '}' to close the '{' at byte " +
                               std::to_string(Abs(open)) + ", found " + Describe(pos_));
    }
  }
}

Result<void> LiteralParser::ParseDictEntry(int depth, PyValue* dict,
                                           std::unordered_map<std::u32string, size_t>* seen) {
  auto key = ParseValue(depth + 1);
  if (!key) return std::move(key).error();
  SkipSpace();
  if (Peek() != ':') {
    return ErrorAt(pos_, "expected ':' after key, found " + Describe(pos_));
  }
  ++pos_;
  if (key->kind != Kind::kStr) {
    return CorruptAt(key->pos, "dict key " + ShortRepr(*key) + " is not a str");
  }
  auto value = ParseValue(depth + 1);
  if (!value) return std::move(value).error();
  auto [it, inserted] = seen->emplace(key->str, dict->items.size());
  if (!inserted) {
    dict->items[it->second + 1] = std::move(*value);
    return {};
  }
  dict->items.push_back(std::move(*key));
  dict->items.push_back(std::move(*value));
  return {};
}

// At an identifier: True, False, None, or a string prefix.
Result<PyValue> LiteralParser::ParseName() {
  size_t prefix_len = 0;
  if (ScanStringPrefix(&prefix_len) != StrPrefix::kNotAString) {
    return ParseStrings();
  }
  const size_t start = pos_;
  while (IsIdentChar(Peek())) ++pos_;
  const std::string_view name = text_.substr(start, pos_ - start);
  PyValue v;
  v.pos = Abs(start);
  if (name == "True" || name == "False") {
    v.kind = Kind::kBool;
    v.boolean = name == "True";
    return v;
  }
  if (name == "None") return v;
  return CorruptAt(Abs(start), "unexpected name '" + Excerpt(start, pos_) + "'");
}

// Python's string prefixes (any case): "", u, r; b, br, rb; f, fr, rf.
// Only a prefix immediately followed by a quote starts a string.
StrPrefix LiteralParser::ScanStringPrefix(size_t* prefix_len) const {
  size_t n = 0;
  bool raw = false, bytes = false, format = false, unicode = false;
  for (; n < 3; ++n) {
    const char c = static_cast<char>(Peek(n) | 0x20);  // ASCII lower case
    if (c == 'r' && !raw) {
      raw = true;
    } else if (c == 'b' && !bytes && !format && !unicode) {
      bytes = true;
    } else if (c == 'f' && !bytes && !format && !unicode) {
      format = true;
    } else if (c == 'u' && n == 0) {
      unicode = true;
    } else {
      break;
    }
  }
  if (Peek(n) != '\'' && Peek(n) != '"') return StrPrefix::kNotAString;
  if (unicode && n > 1) return StrPrefix::kNotAString;  // "ur" is invalid
  *prefix_len = n;
  if (bytes) return StrPrefix::kBytes;
  if (format) return StrPrefix::kFormat;
  return raw ? StrPrefix::kRawStr : StrPrefix::kStr;
}

// One or more adjacent string literals, concatenated.
Result<PyValue> LiteralParser::ParseStrings() {
  PyValue v;
  v.kind = Kind::kStr;
  v.pos = Abs(pos_);
  size_t prefix_len = 0;
  do {
    if (auto ok = ParseOneString(&v.str); !ok) return std::move(ok).error();
    SkipSpace();
  } while (ScanStringPrefix(&prefix_len) != StrPrefix::kNotAString);
  return v;
}

// One literal: prefix, ' " ''' or """ quotes, body with escapes. Newlines
// in a triple-quoted body are normalized to "\n", as Python's tokenizer does.
Result<void> LiteralParser::ParseOneString(std::u32string* out) {
  const size_t start = pos_;
  size_t prefix_len = 0;
  const StrPrefix prefix = ScanStringPrefix(&prefix_len);
  if (prefix == StrPrefix::kBytes) {
    return ErrorAt(start, "bytes literals are not allowed");
  }
  if (prefix == StrPrefix::kFormat) {
    return ErrorAt(start, "f-strings are not allowed");
  }
  pos_ += prefix_len;
  const char quote = Peek();
  const bool triple = Peek(1) == quote && Peek(2) == quote;
  pos_ += triple ? 3 : 1;
  for (;;) {
    if (AtEnd()) return ErrorAt(start, "unterminated string");
    const char c = Peek();
    if (c == quote && (!triple || (Peek(1) == quote && Peek(2) == quote))) {
      pos_ += triple ? 3 : 1;
      return {};
    }
    if (c == '\\') {
      auto ok = prefix == StrPrefix::kRawStr ? ParseRawEscape(start, out) : ParseEscape(start, out);
      if (!ok) return ok;
    } else if (c == '\n' || c == '\r') {
      if (!triple) return ErrorAt(start, "unterminated string");
      SkipNewline();
      out->push_back(U'\n');
    } else {
      out->push_back(NextCodePoint());
    }
  }
}

// In a raw string a backslash escapes nothing but still keeps the next
// character (even a quote) from ending the string.
Result<void> LiteralParser::ParseRawEscape(size_t string_start, std::u32string* out) {
  ++pos_;
  out->push_back(U'\\');
  if (AtEnd()) return ErrorAt(string_start, "unterminated string");
  if (SkipNewline()) {
    out->push_back(U'\n');
  } else {
    out->push_back(NextCodePoint());
  }
  return {};
}

// Python's escape sequences (CPython _PyUnicode_DecodeUnicodeEscape).
// Unknown ones such as "\q" keep the backslash.
Result<void> LiteralParser::ParseEscape(size_t string_start, std::u32string* out) {
  const size_t at = pos_++;
  if (AtEnd()) return ErrorAt(string_start, "unterminated string");
  if (SkipNewline()) return {};  // line continuation
  const char c = Peek();
  static constexpr std::string_view kSimple = "\\'\"abfnrtv";
  static constexpr char32_t kSimpleValue[] = {U'\\', U'\'', U'"', 7, 8, 12, 10, 13, 9, 11};
  if (const size_t i = kSimple.find(c); i != kSimple.npos) {
    ++pos_;
    out->push_back(kSimpleValue[i]);
    return {};
  }
  if (c >= '0' && c <= '7') {
    char32_t value = 0;
    for (int n = 0; n < 3 && Peek() >= '0' && Peek() <= '7'; ++n) {
      value = value * 8 + static_cast<char32_t>(Peek() - '0');
      ++pos_;
    }
    out->push_back(value);
    return {};
  }
  const int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
  if (digits > 0) {
    ++pos_;
    auto cp = ParseHexEscape(at, digits);
    if (!cp) return std::move(cp).error();
    out->push_back(*cp);
    return {};
  }
  if (c == 'N') {
    return UnsupportedAt(Abs(at), "\\N{...} escapes are not supported");
  }
  out->push_back(U'\\');  // the next character is read as itself
  return {};
}

Result<char32_t> LiteralParser::ParseHexEscape(size_t escape_start, int digits) {
  char32_t value = 0;
  for (int n = 0; n < digits; ++n) {
    const int d = DigitValue(Peek());
    if (d > 15) {
      return ErrorAt(escape_start,
                     "truncated \\" + std::string(1, text_[escape_start + 1]) + " escape");
    }
    value = value * 16 + static_cast<char32_t>(d);
    ++pos_;
  }
  if (value > 0x10FFFF) {
    return ErrorAt(escape_start, "escape beyond U+10FFFF");
  }
  return value;
}

// An int literal: decimal, 0x, 0o or 0b, with single underscores between
// digits (Python 3.6+). Floats, complex numbers and values beyond int64 are
// rejected: no header field can hold them.
Result<PyValue> LiteralParser::ParseNumber() {
  const size_t start = pos_;
  PyValue v;
  v.kind = Kind::kInt;
  v.pos = Abs(start);
  uint64_t value = 0;
  const char radix_char = static_cast<char>(Peek(1) | 0x20);
  const bool decimal =
      !(Peek() == '0' && (radix_char == 'x' || radix_char == 'o' || radix_char == 'b'));
  Result<void> ok;
  if (decimal) {
    ok = ParseDigits(10, false, &value);
  } else {
    pos_ += 2;
    ok = ParseDigits(radix_char == 'x' ? 16 : radix_char == 'o' ? 8 : 2, true, &value);
  }
  if (!ok) return std::move(ok).error();
  if (decimal && text_[start] == '0' && value != 0) {
    return ErrorAt(start, "leading zeros in a decimal int literal");
  }
  const char next = static_cast<char>(Peek() | 0x20);
  if (Peek() == '.' || next == 'j' || (decimal && next == 'e')) {
    return ErrorAt(start, "float and complex literals are not allowed");
  }
  if (strip_long_suffix_) SkipLongSuffix();
  if (IsIdentChar(Peek())) return ErrorAt(start, "invalid int literal");
  v.integer = static_cast<int64_t>(value);
  return v;
}

// Digits of `radix`, each optionally preceded by one '_' (also the first
// one when `leading_underscore`, as in 0x_1). At least one digit.
Result<void> LiteralParser::ParseDigits(int radix, bool leading_underscore, uint64_t* value) {
  const size_t start = pos_;
  size_t count = 0;
  for (;;) {
    const bool underscore = Peek() == '_' && (count > 0 || leading_underscore);
    const int d = DigitValue(Peek(underscore ? 1 : 0));
    if (d >= radix) break;
    if (*value > (kMaxInt - static_cast<uint64_t>(d)) / static_cast<uint64_t>(radix)) {
      return ErrorAt(start, "int literal does not fit in int64");
    }
    *value = *value * static_cast<uint64_t>(radix) + static_cast<uint64_t>(d);
    pos_ += underscore ? 2 : 1;
    ++count;
  }
  if (count == 0) return ErrorAt(start, "invalid int literal");
  return {};
}

// numpy's _filter_header drops a NAME token "L" that follows a NUMBER token;
// the tokenizer allows spaces between them (not a newline), and "Lx" or
// "L2" would be another name.
void LiteralParser::SkipLongSuffix() {
  size_t i = pos_;
  while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\f')) {
    ++i;
  }
  if (i < text_.size() && text_[i] == 'L' &&
      (i + 1 == text_.size() || !IsIdentChar(text_[i + 1]))) {
    pos_ = i + 1;
  }
}

}  // namespace

Result<PyValue> ParseLiteral(std::string_view text, Encoding encoding, uint64_t base,
                             bool strip_long_suffix) {
  return LiteralParser(text, encoding, base, strip_long_suffix).ParseDocument();
}

}  // namespace npzfs::core
