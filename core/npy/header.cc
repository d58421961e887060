// The .npy header (FORMAT.md §1; numpy 1.24 numpy/lib/format.py).
//
// After the prefix, the header text is checked as bytes, then read
// directly when it is laid out exactly as numpy writes it (nearly every
// file), and otherwise parsed as the Python literal it is (literal_parser.h)
// and checked as numpy's _read_array_header does, the descr by dtype.h.
// Every product is checked against numpy's npy_intp (int64) range.
#include "core/npy/header.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/base/text.h"
#include "core/npy/dtype.h"
#include "core/npy/literal_parser.h"
#include "core/npy/py_repr.h"
#include "core/npy/py_value.h"

namespace npzfs::core {
namespace {

using Kind = PyValue::Kind;

constexpr char kMagic[kNpyMagicSize + 1] = "\x93NUMPY";

// Python refuses source with a NUL byte; v3.0 text must be valid UTF-8.
Result<void> CheckHeaderBytes(std::string_view text, Encoding encoding, uint64_t base) {
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\0') return CorruptAt(base + i, "NUL byte");
    if (encoding == Encoding::kLatin1 || static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp = 0;
    const size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) return CorruptAt(base + i, "invalid UTF-8");
    i += len;
  }
  return {};
}

std::string HeaderTextUtf8(std::string_view text, Encoding encoding) {
  size_t end = text.size();
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f'; };
  while (end > 0 && space(text[end - 1])) --end;
  text = text.substr(0, end);
  if (encoding == Encoding::kUtf8 || IsAscii(text)) return std::string(text);
  return Latin1ToUtf8(text);
}

// The three values of the header dict.
struct HeaderFields {
  const PyValue* descr = nullptr;
  const PyValue* fortran_order = nullptr;
  const PyValue* shape = nullptr;
};

// numpy: EXPECTED_KEYS == d.keys().
Result<HeaderFields> FindHeaderFields(const PyValue& dict) {
  if (dict.kind != Kind::kDict) {
    return CorruptAt(dict.pos, "header is not a dict");
  }
  HeaderFields fields;
  for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const PyValue& key = dict.items[i];
    const PyValue* value = &dict.items[i + 1];
    if (key.str == U"descr") {
      fields.descr = value;
    } else if (key.str == U"fortran_order") {
      fields.fortran_order = value;
    } else if (key.str == U"shape") {
      fields.shape = value;
    } else {
      return CorruptAt(key.pos, "unexpected key " + ShortRepr(key));
    }
  }
  const char* missing = fields.descr == nullptr           ? "descr"
                        : fields.fortran_order == nullptr ? "fortran_order"
                        : fields.shape == nullptr         ? "shape"
                                                          : nullptr;
  if (missing != nullptr) {
    return Corrupt(std::string("npy header: missing key '") + missing + "'");
  }
  return fields;
}

// shape: a tuple of ints (not bools), each >= 0.
Result<void> FillShape(const PyValue& shape, NpyHeader* header) {
  if (shape.kind != Kind::kTuple) {
    return CorruptAt(shape.pos, "shape " + ShortRepr(shape) + " is not a tuple of ints");
  }
  header->shape_repr = "(";
  for (const PyValue& dim : shape.items) {
    if (dim.kind != Kind::kInt) {
      return CorruptAt(dim.pos, "shape entry " + ShortRepr(dim) + " is not an int");
    }
    if (dim.integer < 0) {
      return CorruptAt(dim.pos, "negative dimension " + std::to_string(dim.integer) + " in shape");
    }
    header->shape.push_back(static_cast<uint64_t>(dim.integer));
    if (header->shape.size() > 1) header->shape_repr += ", ";
    header->shape_repr += std::to_string(dim.integer);
  }
  header->shape_repr += header->shape.size() == 1 ? ",)" : ")";
  return {};
}

// Like numpy's array constructor: the product of the non-zero dimensions
// times the itemsize must fit in npy_intp, even when a dimension is 0.
Result<void> FillSizes(uint64_t shape_pos, NpyHeader* header) {
  uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (uint64_t dim : header->shape) {
    if (dim == 0) {
      has_zero = true;
      continue;
    }
    auto product = CheckedMul(nonzero_product, dim);
    if (!product) {
      return CorruptAt(shape_pos, "element count of shape " + header->shape_repr + " overflows");
    }
    nonzero_product = *product;
  }
  if (!CheckedMul(nonzero_product, header->itemsize)) {
    return CorruptAt(shape_pos, "data size of shape " + header->shape_repr + " with itemsize " +
                                    std::to_string(header->itemsize) + " overflows");
  }
  header->element_count = has_zero ? 0 : nonzero_product;
  if (!header->has_object) {
    header->data_size = header->element_count * header->itemsize;
  }
  return {};
}

// The checks of numpy's _read_array_header, in its order.
Result<void> FillFromDict(const PyValue& dict, NpyHeader* header) {
  auto fields = FindHeaderFields(dict);
  if (!fields) return std::move(fields).error();
  if (auto ok = FillShape(*fields->shape, header); !ok) return ok;
  if (fields->fortran_order->kind != Kind::kBool) {
    return CorruptAt(fields->fortran_order->pos,
                     "fortran_order " + ShortRepr(*fields->fortran_order) + " is not a bool");
  }
  header->fortran_order = fields->fortran_order->boolean;
  auto dtype = CheckDescr(*fields->descr);
  if (!dtype) return std::move(dtype).error();
  header->itemsize = dtype->itemsize;
  header->has_object = dtype->has_object;
  header->descr_repr =
      fields->descr->kind == Kind::kStr ? ToUtf8(fields->descr->str) : Repr(*fields->descr);
  return FillSizes(fields->shape->pos, header);
}

const char* BytePtr(std::span<const std::byte> bytes) {
  return reinterpret_cast<const char*>(bytes.data());
}

// Consumes `lit` at the front of `s`.
bool Eat(std::string_view& s, std::string_view lit) {
  if (!s.starts_with(lit)) return false;
  s.remove_prefix(lit.size());
  return true;
}

// Consumes a dimension as repr() writes it, of at most 18 digits (so that
// it needs no range check); longer ones are left to the literal parser.
std::optional<uint64_t> EatDim(std::string_view& s) {
  const size_t n = std::min(s.find_first_not_of("0123456789"), s.size());
  if (n > 18) return std::nullopt;
  const auto dim = ParseDecimal(s.substr(0, n), kMaxIntp);
  if (dim) s.remove_prefix(n);
  return dim;
}

// A shape as repr() writes it, "(3, 4)", "(3,)" or "()", into h->shape and
// h->shape_repr.
bool EatShape(std::string_view& s, NpyHeader* h) {
  const std::string_view start = s;
  if (!Eat(s, "(")) return false;
  while (!s.starts_with(")")) {
    auto dim = EatDim(s);
    if (!dim) return false;
    h->shape.push_back(*dim);
    if (Eat(s, ", ")) continue;
    if (!Eat(s, ",") || h->shape.size() != 1 || !s.starts_with(")")) return false;
  }
  s.remove_prefix(1);
  h->shape_repr = std::string(start.substr(0, start.size() - s.size()));
  return true;
}

// The header exactly as numpy's writer lays it out, which nearly every file
// has: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } then
// spaces and a newline. Read directly, it gives what the literal parser
// gives (the tests hold the two to that), at a fraction of the cost that
// matters when an archive has 100,000 arrays. Anything else: nullopt.
std::optional<NpyHeader> ParseAsNumpyWrites(std::string_view text, Encoding encoding) {
  std::string_view s = text;
  if (!Eat(s, "{'descr': '")) return std::nullopt;
  const size_t quote = s.find('\'');
  if (quote == s.npos) return std::nullopt;
  const std::string_view typestr = s.substr(0, quote);
  s.remove_prefix(quote);
  const auto dtype = ParseTypestr(typestr);
  if (!dtype || typestr.find('\\') != typestr.npos) return std::nullopt;
  NpyHeader h;
  if (Eat(s, "', 'fortran_order': False, 'shape': ")) {
    h.fortran_order = false;
  } else if (Eat(s, "', 'fortran_order': True, 'shape': ")) {
    h.fortran_order = true;
  } else {
    return std::nullopt;
  }
  if (!EatShape(s, &h) || !Eat(s, ", }") ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\n'; })) {
    return std::nullopt;
  }
  h.descr_repr = std::string(typestr);
  h.itemsize = dtype->itemsize;
  h.has_object = dtype->has_object;
  if (!FillSizes(0, &h)) return std::nullopt;
  h.header_text = HeaderTextUtf8(text, encoding);
  return h;
}

}  // namespace

bool HasNpyMagic(std::span<const std::byte> bytes) {
  return bytes.size() >= kNpyMagicSize && std::memcmp(bytes.data(), kMagic, kNpyMagicSize) == 0;
}

Result<NpyPrefix> ParseNpyPrefix(std::span<const std::byte> bytes) {
  const size_t magic_bytes = std::min(bytes.size(), kNpyMagicSize);
  if (magic_bytes > 0 && std::memcmp(bytes.data(), kMagic, magic_bytes) != 0) {
    return Corrupt("npy: bad magic, not an .npy file");
  }
  auto truncated = [&](size_t need) {
    return Corrupt("npy prefix truncated: " + std::to_string(bytes.size()) + " bytes, need " +
                   std::to_string(need));
  };
  if (bytes.size() < kNpyMagicSize + 2) return truncated(kNpyMinPrefixSize);
  NpyPrefix prefix;
  prefix.major = static_cast<uint8_t>(bytes[6]);
  prefix.minor = static_cast<uint8_t>(bytes[7]);
  if (prefix.minor != 0 || prefix.major < 1 || prefix.major > 3) {
    return Corrupt("unsupported npy version " + std::to_string(prefix.major) + "." +
                   std::to_string(prefix.minor));
  }
  const size_t size = prefix.major == 1 ? kNpyMinPrefixSize : kNpyMaxPrefixSize;
  if (bytes.size() < size) return truncated(size);
  for (size_t i = size; i-- > kNpyMagicSize + 2;) {  // little-endian
    prefix.header_len = (prefix.header_len << 8) | static_cast<uint8_t>(bytes[i]);
  }
  prefix.data_offset = size + uint64_t{prefix.header_len};
  return prefix;
}

Result<NpyHeader> ParseNpyHeader(std::span<const std::byte> bytes) {
  auto prefix = ParseNpyPrefix(bytes);
  if (!prefix) return std::move(prefix).error();
  const uint64_t start = prefix->data_offset - prefix->header_len;
  if (bytes.size() < prefix->data_offset) {
    return Corrupt("npy header: header length " + std::to_string(prefix->header_len) +
                   " extends past the end (" + std::to_string(bytes.size() - start) +
                   " bytes available)");
  }
  const std::string_view text(BytePtr(bytes) + start, prefix->header_len);
  const Encoding encoding = prefix->major == 3 ? Encoding::kUtf8 : Encoding::kLatin1;
  if (auto ok = CheckHeaderBytes(text, encoding, start); !ok) {
    return std::move(ok).error();
  }
  if (auto fast = ParseAsNumpyWrites(text, encoding)) {
    fast->major = prefix->major;
    fast->minor = prefix->minor;
    fast->data_offset = prefix->data_offset;
    return std::move(*fast);
  }
  auto dict = ParseLiteral(text, encoding, start, prefix->major < 3);
  if (!dict) return std::move(dict).error();
  NpyHeader header;
  header.major = prefix->major;
  header.minor = prefix->minor;
  header.data_offset = prefix->data_offset;
  if (auto ok = FillFromDict(*dict, &header); !ok) {
    return std::move(ok).error();
  }
  header.header_text = HeaderTextUtf8(text, encoding);
  return header;
}

}  // namespace npzfs::core
