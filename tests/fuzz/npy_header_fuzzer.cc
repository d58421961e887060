// libFuzzer target: the .npy header parser on arbitrary bytes.
//
// Besides "no crash, no UB, no leak", checks what callers rely on for any
// header the parser accepts: the sizes are consistent, the text values are
// UTF-8, and the reprs mean what they say (a v3.0 header written back from
// descr_repr and shape_repr parses to the same dtype and shape).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/base/text.h"
#include "core/npy/header.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_target.h"

namespace npzfs::core {
namespace {

std::span<const std::byte> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

using fuzz::OneLine;

// The shape's element count with numpy's rule: 0 when a dimension is 0,
// else the product. Sets *overflow when that does not fit 64 bits.
uint64_t ShapeProduct(const std::vector<uint64_t>& shape, bool* overflow) {
  *overflow = false;
  for (uint64_t dim : shape) {
    if (dim == 0) return 0;
  }
  uint64_t product = 1;
  for (uint64_t dim : shape) *overflow |= __builtin_mul_overflow(product, dim, &product);
  return product;
}

// A Python str literal for a typestr (descr_repr holds it bare).
std::string QuotePy(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// A v3.0 .npy header holding `dict`, as numpy's _wrap_header writes it.
std::string WrapV3(const std::string& dict) {
  std::string text = dict;
  const size_t prefix = 12;
  while ((prefix + text.size() + 1) % 64 != 0) text += ' ';
  text += '\n';
  std::string npy("\x93NUMPY\x03\x00", 8);
  for (int i = 0; i < 4; ++i) npy += static_cast<char>((text.size() >> (8 * i)) & 0xff);
  return npy + text;
}

// What the reprs say, parsed back, must be the same array layout.
void CheckReprsRoundTrip(const NpyHeader& h) {
  const std::string descr =
      !h.descr_repr.empty() && h.descr_repr[0] == '[' ? h.descr_repr : QuotePy(h.descr_repr);
  const std::string dict = "{'descr': " + descr +
                           ", 'fortran_order': " + (h.fortran_order ? "True" : "False") +
                           ", 'shape': " + h.shape_repr + ", }";
  const std::string npy = WrapV3(dict);
  auto again = ParseNpyHeader(AsBytes(npy));
  if (!again) {
    std::fprintf(stderr, "reparse of %s failed: %s\n", dict.c_str(), again.error().message.c_str());
  }
  FUZZ_CHECK(again);
  FUZZ_CHECK(again->descr_repr == h.descr_repr);
  FUZZ_CHECK(again->shape_repr == h.shape_repr);
  FUZZ_CHECK(again->shape == h.shape);
  FUZZ_CHECK(again->itemsize == h.itemsize);
  FUZZ_CHECK(again->has_object == h.has_object);
  FUZZ_CHECK(again->fortran_order == h.fortran_order);
}

void CheckAccepted(std::span<const std::byte> bytes, const NpyPrefix& prefix, const NpyHeader& h) {
  FUZZ_CHECK(h.major == prefix.major && h.minor == prefix.minor);
  FUZZ_CHECK(h.data_offset == prefix.data_offset);
  FUZZ_CHECK(h.data_offset <= bytes.size());
  bool overflow = false;
  FUZZ_CHECK(ShapeProduct(h.shape, &overflow) == h.element_count && !overflow);
  FUZZ_CHECK(h.has_object != h.data_size.has_value());
  if (!h.has_object) {
    uint64_t size = 0;
    FUZZ_CHECK(!__builtin_mul_overflow(h.element_count, h.itemsize, &size));
    FUZZ_CHECK(size <= INT64_MAX && *h.data_size == size);
  }
  FUZZ_CHECK(IsValidUtf8(h.descr_repr) && !h.descr_repr.empty());
  FUZZ_CHECK(IsValidUtf8(h.shape_repr));
  FUZZ_CHECK(IsValidUtf8(h.header_text));
  FUZZ_CHECK(h.shape_repr.front() == '(' && h.shape_repr.back() == ')');

  // The bytes after the header are not part of it.
  auto exact = ParseNpyHeader(bytes.first(h.data_offset));
  FUZZ_CHECK(exact);
  FUZZ_CHECK(exact->descr_repr == h.descr_repr && exact->shape == h.shape &&
             exact->header_text == h.header_text);

  CheckReprsRoundTrip(h);
}

}  // namespace
}  // namespace npzfs::core

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npzfs::core;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto prefix = ParseNpyPrefix(bytes);
  if (prefix) {
    FUZZ_CHECK(prefix->data_offset >= kNpyMinPrefixSize);
    FUZZ_CHECK(prefix->data_offset <= kNpyMaxPrefixSize + uint64_t{UINT32_MAX});
  } else {
    FUZZ_CHECK(prefix.error().code == Errc::kCorrupt && OneLine(prefix.error().message));
  }
  if (HasNpyMagic(bytes)) {
    FUZZ_CHECK(prefix || prefix.error().message.find("bad magic") == std::string::npos);
  } else if (size >= kNpyMagicSize) {
    FUZZ_CHECK(!prefix);
  }

  auto header = ParseNpyHeader(bytes);
  if (!header) {
    const Error& e = header.error();
    FUZZ_CHECK(e.code == Errc::kCorrupt || e.code == Errc::kUnsupported);
    FUZZ_CHECK(OneLine(e.message));
    FUZZ_CHECK(IsValidUtf8(e.message));
    return 0;
  }
  FUZZ_CHECK(prefix);
  CheckAccepted(bytes, *prefix, *header);
  return 0;
}
