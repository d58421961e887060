// numpy's dtypes as an npy header's descr spells them (FORMAT.md §1.3;
// numpy 1.24 descr_to_dtype and np.dtype): the typestrs numpy writes, and
// structured descrs with nested structs, subarrays, titles and padding.
#include "core/npy/dtype.h"

#include <algorithm>
#include <initializer_list>
#include <span>
#include <string>
#include <unordered_set>

#include "core/npy/py_repr.h"

namespace npzfs::core {
namespace {

using Kind = PyValue::Kind;

constexpr std::string_view kDigits = "0123456789";

// "[unit]" or "[<multiplier>unit]" of a datetime64/timedelta64 typestr.
// numpy stores the multiplier in a C int and accepts leading zeros.
bool IsDatetimeUnit(std::string_view s) {
  if (s.empty()) return true;
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') return false;
  s = s.substr(1, s.size() - 2);
  const size_t digits = std::min(s.find_first_not_of(kDigits), s.size());
  if (digits > 10) return false;
  uint64_t multiplier = 0;
  for (size_t i = 0; i < digits; ++i) {
    multiplier = multiplier * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  if (multiplier > 0x7FFFFFFF) return false;
  static constexpr std::string_view kUnits[] = {"Y",  "M",  "W",  "D",  "h",  "m", "s",
                                                "ms", "us", "ns", "ps", "fs", "as"};
  const std::string_view unit = s.substr(digits);
  if (unit == "generic") return digits == 0;
  return std::find(std::begin(kUnits), std::end(kUnits), unit) != std::end(kUnits);
}

// S<n>, a<n>, U<n> (n 4-byte characters), V<n>; a missing n means 0, as
// in np.dtype('S').
std::optional<DtypeInfo> ParseFlexibleTypestr(char kind, std::string_view size) {
  if (kind != 'S' && kind != 'a' && kind != 'U' && kind != 'V') return std::nullopt;
  const uint64_t unit = kind == 'U' ? 4 : 1;
  const auto count =
      size.empty() ? std::optional<uint64_t>(0) : ParseDecimal(size, kMaxIntp / unit);
  if (!count) return std::nullopt;
  return DtypeInfo{*count * unit, false, kind == 'V'};
}

}  // namespace

std::optional<uint64_t> ParseDecimal(std::string_view s, uint64_t max) {
  if (s.empty() || (s.size() > 1 && s[0] == '0') || s.size() > 19 ||
      s.find_first_not_of(kDigits) != s.npos) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : s) value = value * 10 + static_cast<uint64_t>(c - '0');
  if (value > max) return std::nullopt;
  return value;
}

std::optional<DtypeInfo> ParseTypestr(std::string_view s) {
  if (!s.empty() && std::string_view("<>|=").find(s[0]) != s.npos) {
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  const char kind = s[0];
  const std::string_view rest = s.substr(1);
  auto sized = [&](std::initializer_list<std::string_view> sizes) -> std::optional<DtypeInfo> {
    if (std::find(sizes.begin(), sizes.end(), rest) == sizes.end()) return std::nullopt;
    return DtypeInfo{*ParseDecimal(rest, 32), false, false};
  };
  switch (kind) {
    case 'b':
      return sized({"1"});
    case 'i':
    case 'u':
      return sized({"1", "2", "4", "8"});
    case 'f':
      return sized({"2", "4", "8", "12", "16"});
    case 'c':
      return sized({"8", "16", "24", "32"});
    case 'O':
      if (rest.empty() || rest == "4" || rest == "8") return DtypeInfo{8, true, false};
      return std::nullopt;
    case 'M':
    case 'm':
      if (rest.substr(0, 1) == "8" && IsDatetimeUnit(rest.substr(1))) {
        return DtypeInfo{8, false, false};
      }
      return std::nullopt;
    default:
      return ParseFlexibleTypestr(kind, rest);
  }
}

namespace {

Result<DtypeInfo> CheckFormat(const PyValue& descr);

Error UnsupportedDescr(const PyValue& descr) {
  return UnsupportedAt(descr.pos, "unsupported dtype descr " + ShortRepr(descr));
}

Result<DtypeInfo> CheckTypestr(const PyValue& descr) {
  std::string ascii;
  for (char32_t cp : descr.str) {
    if (cp >= 0x80) return UnsupportedDescr(descr);
    ascii.push_back(static_cast<char>(cp));
  }
  auto info = ParseTypestr(ascii);
  if (!info) return UnsupportedDescr(descr);
  return *info;
}

// The shape part of np.dtype((base, shape)): an int or a sequence of ints,
// each >= 0. An int 1 or an empty shape leave the base as it is (numpy 1.24
// warns that (base, 1) will one day mean (base, (1,))).
Result<DtypeInfo> ApplySubarray(DtypeInfo base, const PyValue& shape) {
  if (shape.kind == Kind::kStr || shape.kind == Kind::kDict) {
    // np.dtype((base, 'u4')) and friends reinterpret base as another dtype.
    return UnsupportedAt(shape.pos, "unsupported (base, dtype) descr " + ShortRepr(shape));
  }
  const bool single = shape.kind == Kind::kInt;
  if (!single && shape.kind != Kind::kTuple && shape.kind != Kind::kList) {
    return CorruptAt(shape.pos, "invalid subarray shape " + ShortRepr(shape));
  }
  const std::span<const PyValue> dims =
      single ? std::span<const PyValue>(&shape, 1) : std::span<const PyValue>(shape.items);
  uint64_t count = 1;
  for (const PyValue& dim : dims) {
    if (dim.kind != Kind::kInt || dim.integer < 0) {
      return CorruptAt(dim.pos, "invalid subarray shape " + ShortRepr(shape));
    }
    if (dim.integer == 0) {  // numpy stops at a 0 (OverflowMultiplyList)
      count = 0;
      break;
    }
    auto product = CheckedMul(count, static_cast<uint64_t>(dim.integer));
    if (!product) {
      return CorruptAt(shape.pos, "subarray shape " + ShortRepr(shape) + " overflows");
    }
    count = *product;
  }
  const bool unchanged = single ? shape.integer == 1 : shape.items.empty();
  if (unchanged) return base;
  auto itemsize = CheckedMul(base.itemsize, count);
  if (!itemsize) {
    return CorruptAt(shape.pos, "subarray itemsize overflows");
  }
  return DtypeInfo{*itemsize, base.has_object, true};
}

// A nested (base, shape) format; numpy's descr_to_dtype reads descr[0] and
// descr[1] and ignores the rest.
Result<DtypeInfo> CheckSubarrayDescr(const PyValue& descr) {
  if (descr.items.size() < 2) {
    return CorruptAt(descr.pos, "subarray descr " + ShortRepr(descr) + " is not (format, shape)");
  }
  auto base = CheckFormat(descr.items[0]);
  if (!base) return base;
  return ApplySubarray(*base, descr.items[1]);
}

// The name of a struct field: a str, or a (title, name) pair with a str
// name. numpy takes any object as a title; only str titles are modelled.
Result<void> CheckFieldName(const PyValue& name, const PyValue** title,
                            const PyValue** field_name) {
  *title = nullptr;
  *field_name = &name;
  if (name.kind == Kind::kTuple) {
    if (name.items.size() != 2) {
      return CorruptAt(name.pos,
                       "field name " + ShortRepr(name) + " is not a str or a (title, name) pair");
    }
    *title = &name.items[0];
    *field_name = &name.items[1];
  }
  if ((*field_name)->kind != Kind::kStr) {
    return CorruptAt(name.pos, "field name " + ShortRepr(name) + " is not a str");
  }
  if (*title != nullptr && (*title)->kind != Kind::kStr) {
    return UnsupportedAt((*title)->pos, "unsupported field title " + ShortRepr(**title));
  }
  return {};
}

// Names and titles share one namespace per struct (numpy: "name already
// used as a name or title"). Padding fields take no name.
Result<void> ClaimFieldNames(const PyValue* title, const PyValue& name,
                             std::unordered_set<std::u32string_view>* used) {
  if (!used->insert(name.str).second) {
    return CorruptAt(name.pos, "duplicate field name " + ShortRepr(name));
  }
  if (title != nullptr && !used->insert(title->str).second) {
    return CorruptAt(title->pos, "duplicate field title " + ShortRepr(*title));
  }
  return {};
}

// One (name, format) or (name, format, shape) field; lists work too.
Result<DtypeInfo> CheckField(const PyValue& field, std::unordered_set<std::u32string_view>* used) {
  if ((field.kind != Kind::kTuple && field.kind != Kind::kList) || field.items.size() < 2 ||
      field.items.size() > 3) {
    return CorruptAt(field.pos,
                     "struct field " + ShortRepr(field) + " is not (name, format[, shape])");
  }
  const PyValue* title = nullptr;
  const PyValue* name = nullptr;
  if (auto ok = CheckFieldName(field.items[0], &title, &name); !ok) {
    return std::move(ok).error();
  }
  auto info = CheckFormat(field.items[1]);
  if (!info) return info;
  if (field.items.size() == 3) {
    info = ApplySubarray(*info, field.items[2]);
    if (!info) return info;
  }
  const bool padding =
      field.items[0].kind == Kind::kStr && field.items[0].str.empty() && info->plain_void;
  if (!padding) {
    if (auto ok = ClaimFieldNames(title, *name, used); !ok) {
      return std::move(ok).error();
    }
  }
  return info;
}

// A structured descr: the fields are laid out one after another (padding
// fields included), so the itemsize is the sum.
Result<DtypeInfo> CheckStructDescr(const PyValue& descr) {
  std::unordered_set<std::u32string_view> used;
  DtypeInfo total;
  for (const PyValue& field : descr.items) {
    auto info = CheckField(field, &used);
    if (!info) return info;
    if (info->itemsize > kMaxIntp - total.itemsize) {
      return CorruptAt(field.pos, "struct itemsize overflows");
    }
    total.itemsize += info->itemsize;
    total.has_object = total.has_object || info->has_object;
  }
  return total;
}

// numpy's descr_to_dtype on a format inside a descr: a field's, or the
// base of a subarray.
Result<DtypeInfo> CheckFormat(const PyValue& descr) {
  switch (descr.kind) {
    case Kind::kStr:
      return CheckTypestr(descr);
    case Kind::kList:
      return CheckStructDescr(descr);
    case Kind::kTuple:
      return CheckSubarrayDescr(descr);
    case Kind::kDict:  // iterated as keys by descr_to_dtype: not modelled
      return UnsupportedDescr(descr);
    default:
      return CorruptAt(descr.pos, "descr " + ShortRepr(descr) + " is not a valid dtype descriptor");
  }
}

}  // namespace

Result<DtypeInfo> CheckDescr(const PyValue& descr) {
  if (descr.kind == Kind::kTuple) return UnsupportedDescr(descr);
  return CheckFormat(descr);
}

}  // namespace npzfs::core
