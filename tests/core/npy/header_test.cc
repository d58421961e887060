#include "core/npy/header.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/text.h"

namespace npzfs::core {
namespace {

using namespace std::literals;

// Tables made from numpy by npy_header_cases.py (see there).
struct NumpyWrittenCase {
  std::string_view name;
  std::string_view bytes;       // prefix and header exactly as numpy wrote
  std::string_view descr_text;  // the descr as the dict spells it (encoded)
  bool fortran_order;
  std::vector<uint64_t> shape;
  std::string_view descr_repr;
  std::string_view shape_repr;
  uint64_t itemsize;
  bool has_object;
  int major;
};
struct ValidCase {
  int major;
  std::string_view text;  // the dict, in the version's encoding
  std::string_view shape_repr;
  bool fortran_order;
  uint64_t itemsize;
  bool has_object;
  std::string_view descr_repr;
};
struct InvalidCase {
  int major;
  std::string_view text;
  Errc code;
  std::string_view message;  // a substring of the error message
};

#include "tests/core/npy/npy_header_cases.inc"

std::span<const std::byte> AsBytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

const char* ErrcName(Errc code) {
  switch (code) {
    case Errc::kNotFound:
      return "kNotFound";
    case Errc::kCorrupt:
      return "kCorrupt";
    case Errc::kUnsupported:
      return "kUnsupported";
    case Errc::kIo:
      return "kIo";
    case Errc::kInvalidArgument:
      return "kInvalidArgument";
  }
  return "?";
}

size_t PrefixSize(int major) { return major == 1 ? 10 : 12; }

// Magic, version and HEADER_LEN, little-endian in 2 (v1) or 4 bytes.
std::string Prefix(int major, int minor, uint32_t header_len) {
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back(static_cast<char>(minor));
  const int len_bytes = major == 1 ? 2 : 4;
  for (int i = 0; i < len_bytes; ++i) {
    out.push_back(static_cast<char>((header_len >> (8 * i)) & 0xFF));
  }
  return out;
}

enum class Padding {
  kAlign64,      // numpy >= 1.14: spaces and '\n' to a multiple of 64
  kAlign16,      // numpy < 1.14: to a multiple of 16
  kNewlineOnly,  // a third-party writer
  kNone,         // not even the '\n' (numpy 1.24 reads it)
};

// A whole .npy prefix and header around `text` (format.py _wrap_header).
std::string Npy(std::string_view text, int major = 1, Padding padding = Padding::kAlign64) {
  const size_t used = PrefixSize(major) + text.size() + 1;  // 1: the '\n'
  std::string body(text);
  if (padding == Padding::kAlign64) body.append(64 - used % 64, ' ');
  if (padding == Padding::kAlign16) body.append(16 - used % 16, ' ');
  if (padding != Padding::kNone) body.push_back('\n');
  return Prefix(major, 0, static_cast<uint32_t>(body.size())) + body;
}

std::string ShapeRepr(const std::vector<uint64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

// The dict as numpy 1.24 writes it (_write_array_header): sorted keys, a
// trailing ", ", then spaces for growth: 21 - len(repr(shape[0])), or of
// shape[-1] in Fortran order, none for 0-d.
std::string NumpyDict(std::string_view descr_text, bool fortran_order,
                      const std::vector<uint64_t>& shape) {
  std::string out = "{'descr': " + std::string(descr_text) +
                    ", 'fortran_order': " + (fortran_order ? "True" : "False") +
                    ", 'shape': " + ShapeRepr(shape) + ", }";
  if (!shape.empty()) {
    const uint64_t growth_dim = fortran_order ? shape.back() : shape.front();
    out.append(21 - std::to_string(growth_dim).size(), ' ');
  }
  return out;
}

// The usual dict for one descr, shape (3,).
std::string Dict(std::string_view descr_text, std::string_view shape = "(3,)",
                 std::string_view fortran_order = "False") {
  return "{'descr': " + std::string(descr_text) +
         ", 'fortran_order': " + std::string(fortran_order) + ", 'shape': " + std::string(shape) +
         ", }";
}

Result<NpyHeader> Parse(std::string_view npy) { return ParseNpyHeader(AsBytes(npy)); }

// Parses `npy` and returns the header, failing the test on an error.
NpyHeader MustParse(std::string_view npy) {
  auto h = Parse(npy);
  EXPECT_TRUE(h) << ErrcName(h.error().code) << ": " << h.error().message;
  return h ? *h : NpyHeader{};
}

::testing::AssertionResult FailsWith(std::string_view npy, Errc code, std::string_view message) {
  auto h = Parse(npy);
  if (h) {
    return ::testing::AssertionFailure()
           << "parsed: descr " << h->descr_repr << ", shape " << h->shape_repr;
  }
  if (h.error().code != code || h.error().message.find(message) == std::string::npos) {
    return ::testing::AssertionFailure()
           << ErrcName(h.error().code) << " \"" << h.error().message << "\", wanted "
           << ErrcName(code) << " with \"" << message << "\"";
  }
  return ::testing::AssertionSuccess();
}

TEST(NpyHeaderTest, HasNpyMagic) {
  EXPECT_TRUE(HasNpyMagic(AsBytes("\x93NUMPY")));
  EXPECT_TRUE(HasNpyMagic(AsBytes(Npy(Dict("'<f8'")))));
  EXPECT_FALSE(HasNpyMagic(AsBytes("\x93NUMP")));
  EXPECT_FALSE(HasNpyMagic(AsBytes("\x93numpy\x01\x00")));
  EXPECT_FALSE(HasNpyMagic(AsBytes("PK\x03\x04")));
  EXPECT_FALSE(HasNpyMagic({}));
}

TEST(NpyHeaderTest, ParsesThePrefixOfEachVersion) {
  auto v1 = ParseNpyPrefix(AsBytes(Prefix(1, 0, 0x0176)));
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->major, 1);
  EXPECT_EQ(v1->minor, 0);
  EXPECT_EQ(v1->header_len, 0x0176u);
  EXPECT_EQ(v1->data_offset, 10u + 0x0176);
  for (int major : {2, 3}) {
    auto p = ParseNpyPrefix(AsBytes(Prefix(major, 0, 0xF1020304)));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->major, major);
    EXPECT_EQ(p->header_len, 0xF1020304u);
    EXPECT_EQ(p->data_offset, 12u + 0xF1020304u);
  }
}

TEST(NpyHeaderTest, RejectsTruncatedPrefix) {
  for (int major : {1, 2, 3}) {
    const std::string npy = Npy(Dict("'<f8'"), major);
    for (size_t n = 0; n < PrefixSize(major); ++n) {
      SCOPED_TRACE("v" + std::to_string(major) + ", " + std::to_string(n) + " bytes");
      auto p = ParseNpyPrefix(AsBytes(npy.substr(0, n)));
      ASSERT_FALSE(p);
      EXPECT_EQ(p.error().code, Errc::kCorrupt);
      EXPECT_NE(p.error().message.find("truncated"), std::string::npos) << p.error().message;
      EXPECT_TRUE(FailsWith(npy.substr(0, n), Errc::kCorrupt, "truncated"));
    }
    EXPECT_TRUE(ParseNpyPrefix(AsBytes(npy.substr(0, PrefixSize(major)))));
  }
}

TEST(NpyHeaderTest, RejectsBadMagic) {
  std::string npy = Npy(Dict("'<f8'"));
  for (size_t i = 0; i < kNpyMagicSize; ++i) {
    std::string bad = npy;
    bad[i] ^= 0x20;
    EXPECT_TRUE(FailsWith(bad, Errc::kCorrupt, "bad magic")) << i;
  }
  EXPECT_TRUE(FailsWith("PK\x03\x04", Errc::kCorrupt, "bad magic"));
  EXPECT_TRUE(FailsWith("x", Errc::kCorrupt, "bad magic"));
}

TEST(NpyHeaderTest, RejectsUnknownVersions) {
  const std::string text = Dict("'<f8'") + "\n";
  for (auto [major, minor] :
       {std::pair{1, 1}, {4, 0}, {0, 0}, {2, 1}, {3, 1}, {0, 1}, {255, 255}}) {
    const std::string npy = Prefix(major, minor, 0) + text;
    const std::string want =
        "unsupported npy version " + std::to_string(major) + "." + std::to_string(minor);
    EXPECT_TRUE(FailsWith(npy, Errc::kCorrupt, want));
    auto p = ParseNpyPrefix(AsBytes(npy));
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().message, want);
  }
}

TEST(NpyHeaderTest, HelpersPadLikeNumpy) {
  for (const NumpyWrittenCase& c : kNumpyWritten) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Npy(NumpyDict(c.descr_text, c.fortran_order, c.shape), c.major), c.bytes);
  }
}

TEST(NpyHeaderTest, ParsesHeadersNumpyWrote) {
  for (const NumpyWrittenCase& c : kNumpyWritten) {
    SCOPED_TRACE(c.name);
    const std::string payload(64, '\xAB');  // data after the header: ignored
    const NpyHeader h = MustParse(std::string(c.bytes) + payload);
    EXPECT_EQ(h.major, c.major);
    EXPECT_EQ(h.minor, 0);
    EXPECT_EQ(h.data_offset, c.bytes.size());
    EXPECT_EQ(h.data_offset % 64, 0u);
    EXPECT_EQ(h.descr_repr, c.descr_repr);
    EXPECT_EQ(h.shape_repr, c.shape_repr);
    EXPECT_EQ(h.fortran_order, c.fortran_order);
    EXPECT_EQ(h.shape, c.shape);
    EXPECT_EQ(h.itemsize, c.itemsize);
    EXPECT_EQ(h.has_object, c.has_object);
    uint64_t count = 1;
    for (uint64_t d : c.shape) count *= d;
    EXPECT_EQ(h.element_count, count);
    if (c.has_object) {
      EXPECT_FALSE(h.data_size.has_value());
    } else {
      EXPECT_EQ(h.data_size, count * c.itemsize);
    }
    const std::string text(c.bytes.substr(PrefixSize(c.major)));
    const std::string dict = text.substr(0, text.find('}') + 1);
    EXPECT_EQ(h.header_text, c.major == 3 ? dict : Latin1ToUtf8(dict));
  }
}

// Headers in numpy's own layout are read by a direct path, all others by
// the literal parser: a space after '{' (taken from the padding, so the
// length holds) sends each numpy-written header down the other path, and
// both must agree on everything but the text itself.
TEST(NpyHeaderTest, DirectPathAgreesWithTheLiteralParser) {
  int compared = 0;
  for (const NumpyWrittenCase& c : kNumpyWritten) {
    SCOPED_TRACE(c.name);
    const std::string fast_bytes(c.bytes);
    std::string slow_bytes = fast_bytes;
    const size_t brace = slow_bytes.find('{');
    const size_t last_space = slow_bytes.rfind(' ');
    if (last_space < slow_bytes.find('}')) continue;  // no padding to borrow
    slow_bytes.erase(last_space, 1);
    slow_bytes.insert(brace + 1, " ");
    const NpyHeader fast = MustParse(fast_bytes);
    const NpyHeader slow = MustParse(slow_bytes);
    EXPECT_EQ(fast.major, slow.major);
    EXPECT_EQ(fast.data_offset, slow.data_offset);
    EXPECT_EQ(fast.descr_repr, slow.descr_repr);
    EXPECT_EQ(fast.shape_repr, slow.shape_repr);
    EXPECT_EQ(fast.fortran_order, slow.fortran_order);
    EXPECT_EQ(fast.shape, slow.shape);
    EXPECT_EQ(fast.element_count, slow.element_count);
    EXPECT_EQ(fast.itemsize, slow.itemsize);
    EXPECT_EQ(fast.has_object, slow.has_object);
    EXPECT_EQ(fast.data_size, slow.data_size);
    EXPECT_EQ("{ " + fast.header_text.substr(1), slow.header_text);
    ++compared;
  }
  EXPECT_GT(compared, 40);
}

TEST(NpyHeaderTest, AcceptsWhatNumpyAccepts) {
  for (const ValidCase& c : kValidCases) {
    SCOPED_TRACE(c.text);
    const NpyHeader h = MustParse(Npy(c.text, c.major));
    EXPECT_EQ(h.major, c.major);
    EXPECT_EQ(h.shape_repr, c.shape_repr);
    EXPECT_EQ(h.fortran_order, c.fortran_order);
    EXPECT_EQ(h.itemsize, c.itemsize);
    EXPECT_EQ(h.has_object, c.has_object);
    EXPECT_EQ(h.descr_repr, c.descr_repr);
  }
}

TEST(NpyHeaderTest, RejectsWhatNumpyRejects) {
  for (const InvalidCase& c : kInvalidCases) {
    SCOPED_TRACE(c.text);
    EXPECT_TRUE(FailsWith(Npy(c.text, c.major), c.code, c.message));
  }
}

struct TypestrCase {
  std::string_view descr;
  uint64_t itemsize;
  bool has_object = false;
};

TEST(NpyHeaderTest, ItemsizeOfEveryTypestr) {
  const TypestrCase cases[] = {
      {"|b1", 1},
      {"|i1", 1},
      {"<i2", 2},
      {"<i4", 4},
      {"<i8", 8},
      {"|u1", 1},
      {"<u2", 2},
      {"<u4", 4},
      {"<u8", 8},
      {"<f2", 2},
      {"<f4", 4},
      {"<f8", 8},
      {"<f12", 12},
      {"<f16", 16},
      {"<c8", 8},
      {"<c16", 16},
      {"<c24", 24},
      {"<c32", 32},
      {"<M8[ns]", 8},
      {"<m8[s]", 8},
      {"<M8", 8},
      {"<M8[25s]", 8},
      {"<m8[generic]", 8},
      {"|S5", 5},
      {"|a5", 5},
      {"<U7", 28},
      {"|V8", 8},
      {"|S0", 0},
      {"<U0", 0},
      {"|V0", 0},
      {"|S", 0},
      {"|O", 8, true},
      {"|O8", 8, true},
      {"O4", 8, true},
      {"|S2147483648", 2147483648},
  };
  for (const TypestrCase& c : cases) {
    SCOPED_TRACE(c.descr);
    const NpyHeader h = MustParse(Npy(Dict("'" + std::string(c.descr) + "'")));
    EXPECT_EQ(h.descr_repr, c.descr);
    EXPECT_EQ(h.itemsize, c.itemsize);
    EXPECT_EQ(h.has_object, c.has_object);
    EXPECT_EQ(h.data_size.has_value(), !c.has_object);
    if (!c.has_object) {
      EXPECT_EQ(h.data_size, 3 * c.itemsize);
    }
  }
}

TEST(NpyHeaderTest, KeepsEachByteOrderAsWritten) {
  for (std::string_view order : {"<", ">", "|", "=", ""}) {
    for (std::string_view kind : {"i4", "f8", "U3", "c16", "M8[us]"}) {
      const std::string descr = std::string(order) + std::string(kind);
      SCOPED_TRACE(descr);
      const NpyHeader h = MustParse(Npy(Dict("'" + descr + "'")));
      EXPECT_EQ(h.descr_repr, descr);
      EXPECT_EQ(h.itemsize, kind == "c16" ? 16u : kind == "U3" ? 12u : kind == "i4" ? 4u : 8u);
    }
  }
}

TEST(NpyHeaderTest, FortranOrder) {
  EXPECT_TRUE(MustParse(Npy(Dict("'<f8'", "(2, 3)", "True"))).fortran_order);
  EXPECT_FALSE(MustParse(Npy(Dict("'<f8'", "(2, 3)", "False"))).fortran_order);
}

TEST(NpyHeaderTest, ZeroDimensionalShape) {
  const NpyHeader h = MustParse(Npy(Dict("'<f8'", "()")));
  EXPECT_TRUE(h.shape.empty());
  EXPECT_EQ(h.shape_repr, "()");
  EXPECT_EQ(h.element_count, 1u);
  EXPECT_EQ(h.data_size, 8u);
}

TEST(NpyHeaderTest, EmptyShapes) {
  const NpyHeader one = MustParse(Npy(Dict("'<f8'", "(0,)")));
  EXPECT_EQ(one.shape, std::vector<uint64_t>{0});
  EXPECT_EQ(one.shape_repr, "(0,)");
  EXPECT_EQ(one.element_count, 0u);
  EXPECT_EQ(one.data_size, 0u);
  const NpyHeader two = MustParse(Npy(Dict("'<i4'", "(3, 0)")));
  EXPECT_EQ(two.shape, (std::vector<uint64_t>{3, 0}));
  EXPECT_EQ(two.shape_repr, "(3, 0)");
  EXPECT_EQ(two.element_count, 0u);
  EXPECT_EQ(two.data_size, 0u);
  // numpy checks the other dimensions even when one is 0.
  const NpyHeader big = MustParse(Npy(Dict("'|u1'", "(0, 4611686018427387904)")));
  EXPECT_EQ(big.element_count, 0u);
  EXPECT_EQ(big.data_size, 0u);
}

TEST(NpyHeaderTest, StructuredDtypes) {
  struct Case {
    std::string_view descr;
    std::string_view repr;
    uint64_t itemsize;
  };
  const Case cases[] = {
      {"[('x', '<f4'), ('y', '<i4', (2, 3))]", "[('x', '<f4'), ('y', '<i4', (2, 3))]", 4 + 24},
      {"[ ( 'x' , '<f4' , 3 ) , ]", "[('x', '<f4', 3)]", 12},
      {"[('a', [('b', '<f2'), ('c', '|u1', (3,))]), ('d', '>f8')]",
       "[('a', [('b', '<f2'), ('c', '|u1', (3,))]), ('d', '>f8')]", 2 + 3 + 8},
      {"[(('title', 'name'), '<f8')]", "[(('title', 'name'), '<f8')]", 8},
      {"[('a', '|u1'), ('', '|V3'), ('b', '<i4')]", "[('a', '|u1'), ('', '|V3'), ('b', '<i4')]", 8},
      {"[('p', [('q', '<i2', (2,))], (3,))]", "[('p', [('q', '<i2', (2,))], (3,))]", 12},
      {"[('s', ('<f4', (2,)), (3,))]", "[('s', ('<f4', (2,)), (3,))]", 24},
      {"[('e', '<f8', (0,))]", "[('e', '<f8', (0,))]", 0},
      {"[('e', '<f8', ())]", "[('e', '<f8', ())]", 8},
      {"[]", "[]", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.descr);
    const NpyHeader h = MustParse(Npy(Dict(c.descr)));
    EXPECT_EQ(h.descr_repr, c.repr);
    EXPECT_EQ(h.itemsize, c.itemsize);
    EXPECT_EQ(h.data_size, 3 * c.itemsize);
    EXPECT_FALSE(h.has_object);
  }
}

TEST(NpyHeaderTest, ObjectDtypesHaveNoDataSize) {
  for (std::string_view descr :
       {"'|O'", "'|O8'", "[('x', '<f4'), ('o', '|O')]", "[('n', [('o', '|O', (2,))])]"}) {
    SCOPED_TRACE(descr);
    const NpyHeader h = MustParse(Npy(Dict(descr)));
    EXPECT_TRUE(h.has_object);
    EXPECT_FALSE(h.data_size.has_value());
    EXPECT_EQ(h.element_count, 3u);
  }
}

TEST(NpyHeaderTest, Versions2And3) {
  const std::string dict = Dict("'<f8'", "(3, 4)");
  for (int major : {2, 3}) {
    const NpyHeader h = MustParse(Npy(dict, major));
    EXPECT_EQ(h.major, major);
    EXPECT_EQ(h.data_offset % 64, 0u);
    EXPECT_EQ(h.shape_repr, "(3, 4)");
    EXPECT_EQ(h.header_text, dict);
  }
}

TEST(NpyHeaderTest, Version2HeaderOver64KiB) {
  std::string descr = "[";
  for (int i = 0; i < 3000; ++i) {
    descr += "('field_number_" + std::to_string(i) + "', '<f4'), ";
  }
  descr += "]";
  const std::string npy = Npy(Dict(descr), 2);
  ASSERT_GT(npy.size(), 65536u);
  const NpyHeader h = MustParse(npy);
  EXPECT_EQ(h.itemsize, 3000u * 4);
  EXPECT_EQ(h.descr_repr.substr(0, 30), "[('field_number_0', '<f4'), ('");
}

TEST(NpyHeaderTest, Version3Utf8FieldName) {
  const std::string dict = Dict("[('温度', '<f4')]");
  const NpyHeader h = MustParse(Npy(dict, 3));
  EXPECT_EQ(h.descr_repr, "[('温度', '<f4')]");
  EXPECT_EQ(h.header_text, dict);
}

TEST(NpyHeaderTest, Version1Latin1FieldName) {
  const NpyHeader h = MustParse(Npy(Dict("[('\xe9', '<f4')]"), 1));
  EXPECT_EQ(h.descr_repr, "[('é', '<f4')]");
  EXPECT_EQ(h.header_text, Dict("[('é', '<f4')]"));
}

TEST(NpyHeaderTest, RejectsInvalidUtf8InVersion3) {
  // Byte offsets: the prefix is 12 bytes, "{'descr': [('" is 13.
  for (std::string_view bad : {"\xe9"sv, "\xc0\xaf"sv, "\xed\xa0\x80"sv, "\xf4\x90\x80\x80"sv,
                               "\xe6\xb8"sv, "\x80"sv, "\xff"sv}) {
    const std::string dict = Dict("[('" + std::string(bad) + "', '<f4')]");
    EXPECT_TRUE(FailsWith(Npy(dict, 3), Errc::kCorrupt, "npy header: invalid UTF-8 at byte 25"));
    EXPECT_TRUE(Parse(Npy(dict, 1)));  // latin-1: any byte is a character
  }
}

TEST(NpyHeaderTest, Old16ByteAlignedHeaders) {
  const std::string dict = Dict("'<i8'", "(10, 2)");
  const std::string npy = Npy(dict, 1, Padding::kAlign16);
  ASSERT_NE(npy.size() % 64, 0u);
  const NpyHeader h = MustParse(npy);
  EXPECT_EQ(h.data_offset, npy.size());
  EXPECT_EQ(h.data_offset % 16, 0u);
  EXPECT_EQ(h.shape_repr, "(10, 2)");
  EXPECT_EQ(h.header_text, dict);
  EXPECT_EQ(h.data_size, 160u);
}

TEST(NpyHeaderTest, AcceptsHeaderWithoutPaddingOrNewline) {
  const std::string dict =
      "{'descr': '<f8', 'fortran_order': False, "
      "'shape': (3,)}";
  for (Padding padding : {Padding::kNewlineOnly, Padding::kNone}) {
    const std::string npy = Npy(dict, 1, padding);
    const NpyHeader h = MustParse(npy + "data");
    EXPECT_EQ(h.data_offset, npy.size());
    EXPECT_EQ(h.header_text, dict);
    EXPECT_EQ(h.data_size, 24u);
  }
}

TEST(NpyHeaderTest, HeaderTextKeepsTheDictAsStored) {
  const std::string dict = "\n{\"shape\":(3L, 4L),  'descr':'<f8',\n 'fortran_order':False} # c";
  const NpyHeader h = MustParse(Npy(dict + " \t\n\n  "));
  EXPECT_EQ(h.header_text, dict);
  EXPECT_EQ(h.shape_repr, "(3, 4)");
  EXPECT_EQ(h.descr_repr, "<f8");
}

TEST(NpyHeaderTest, Python2LongSuffixes) {
  for (int major : {1, 2}) {
    const std::string dict = Dict("'<f8'", "(3L, 4L)");
    const NpyHeader h = MustParse(Npy(dict, major));
    EXPECT_EQ(h.shape, (std::vector<uint64_t>{3, 4}));
    EXPECT_EQ(h.shape_repr, "(3, 4)");
    EXPECT_EQ(h.header_text, dict);
    EXPECT_EQ(h.data_size, 96u);
  }
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", "(3L, 4L)"), 3), Errc::kCorrupt, "invalid int literal"));
  // numpy's _filter_header drops only an upper-case L.
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", "(3l,)")), Errc::kCorrupt, "invalid int literal"));
  // Only after a number, and only as a whole name.
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", "(3,)L")), Errc::kCorrupt, "found 'L'"));
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", "(3LL,)")), Errc::kCorrupt, "invalid int literal"));
}

TEST(NpyHeaderTest, LayoutVariants) {
  const std::string_view dicts[] = {
      "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
      "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (3, 4)}",
      "{'shape': (3, 4), 'descr': '<f8', 'fortran_order': False}",
      "{'descr':'<f8','fortran_order':False,'shape':(3,4)}",
      "{\n\t'descr' : '<f8' ,\r\n 'fortran_order' :\n False ,"
      " 'shape' : ( 3 ,\n 4 , ) , }",
      "{'descr': '<' \"f\" '8', 'fortran_order': False, 'shape': (3, 4)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (0x3, 4_0 // 10)}"
      "  # not valid: // is an operator",
  };
  for (size_t i = 0; i + 1 < std::size(dicts); ++i) {
    SCOPED_TRACE(dicts[i]);
    const NpyHeader h = MustParse(Npy(dicts[i]));
    EXPECT_EQ(h.descr_repr, "<f8");
    EXPECT_EQ(h.shape_repr, "(3, 4)");
    EXPECT_FALSE(h.fortran_order);
  }
  EXPECT_TRUE(FailsWith(Npy(dicts[std::size(dicts) - 1]), Errc::kCorrupt, "found '/'"));
}

TEST(NpyHeaderTest, RepeatedKeyLastWins) {
  const NpyHeader h =
      MustParse(Npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), "
                    "'descr': '|u1', 'shape': (5,)}"));
  EXPECT_EQ(h.descr_repr, "|u1");
  EXPECT_EQ(h.shape_repr, "(5,)");
  EXPECT_EQ(h.data_size, 5u);
  // The key set is checked after the merge.
  EXPECT_TRUE(FailsWith(Npy("{'descr': '<f8', 'descr': '<f8', 'shape': ()}"), Errc::kCorrupt,
                        "missing key 'fortran_order'"));
}

TEST(NpyHeaderTest, StringReprsFollowPython) {
  struct Case {
    std::string_view name;  // as written in the header (Python source)
    std::string_view repr;  // Python's repr of the str
  };
  const Case cases[] = {
      {"'plain'", "'plain'"},
      {"\"it's\"", "\"it's\""},
      {"'say \"hi\"'", "'say \"hi\"'"},
      {"'both \\' \"'", "'both \\' \"'"},
      {"'back\\\\slash'", "'back\\\\slash'"},
      {"'\\t\\n\\r\\x00\\x1f\\x7f'", "'\\t\\n\\r\\x00\\x1f\\x7f'"},
      {"'\\a\\b\\f\\v\\0\\101\\777'", "'\\x07\\x08\\x0c\\x0b\\x00Aǿ'"},
      {"'\\x85\\xa0\\xad\\xa1\\xe9'", "'\\x85\\xa0\\xad¡é'"},
      {"'\\u2028\\ud800\\ue000\\ufeff\\u00e9\\u6e29'", "'\\u2028\\ud800\\ue000\\ufeffé温'"},
      {"'\\U0001F600\\U000E0001\\U0010FFFF'", "'😀\\U000e0001\\U0010ffff'"},
      {"'\\q\\8'", "'\\\\q\\\\8'"},
      {"r'\\n\\''", "\"\\\\n\\\\'\""},
      {"'''a\nb'''", "'a\\nb'"},
      {"'''a\r\nb\rc'''", "'a\\nb\\nc'"},
      {"'a\\\nb'", "'ab'"},
      {"u'x' U'y' R'\\z'", "'xy\\\\z'"},
      {"''", "''"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const NpyHeader h = MustParse(Npy(Dict("[(" + std::string(c.name) + ", '<f4')]"), 3));
    EXPECT_EQ(h.descr_repr, "[(" + std::string(c.repr) + ", '<f4')]");
  }
}

TEST(NpyHeaderTest, IntLiterals) {
  const NpyHeader ok =
      MustParse(Npy(Dict("'|u1'", "(0x1F, 0o17, 0b101, 0X_a, 1_000, +3, -0, 00, ((7)),)")));
  EXPECT_EQ(ok.shape, (std::vector<uint64_t>{31, 15, 5, 10, 1000, 3, 0, 0, 7}));
  EXPECT_EQ(ok.shape_repr, "(31, 15, 5, 10, 1000, 3, 0, 0, 7)");
  const NpyHeader max = MustParse(Npy(Dict("'|u1'", "(9223372036854775807,)")));
  EXPECT_EQ(max.data_size, 9223372036854775807u);
}

TEST(NpyHeaderTest, RejectsMissingAndExtraKeys) {
  EXPECT_TRUE(FailsWith(Npy("{'descr': '<f8', 'fortran_order': False}"), Errc::kCorrupt,
                        "missing key 'shape'"));
  EXPECT_TRUE(FailsWith(Npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), "
                            "'extra': 0}"),
                        Errc::kCorrupt, "unexpected key 'extra'"));
  EXPECT_TRUE(FailsWith(Npy("{'descr': '<f8', 'Fortran_order': False, 'shape': (3,)}"),
                        Errc::kCorrupt, "unexpected key 'Fortran_order'"));
}

TEST(NpyHeaderTest, RejectsBadValues) {
  EXPECT_TRUE(
      FailsWith(Npy(Dict("'<f8'", "(3,)", "0")), Errc::kCorrupt, "fortran_order 0 is not a bool"));
  EXPECT_TRUE(
      FailsWith(Npy(Dict("'<f8'", "[3]")), Errc::kCorrupt, "shape [3] is not a tuple of ints"));
  EXPECT_TRUE(
      FailsWith(Npy(Dict("'<f8'", "(3, 'a')")), Errc::kCorrupt, "shape entry 'a' is not an int"));
  EXPECT_TRUE(
      FailsWith(Npy(Dict("'<f8'", "(3, -4)")), Errc::kCorrupt, "negative dimension -4 in shape"));
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", "(3.0,)")), Errc::kCorrupt,
                        "float and complex literals are not allowed"));
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", "(99999999999999999999,)")), Errc::kCorrupt,
                        "int literal does not fit in int64"));
  EXPECT_TRUE(
      FailsWith(Npy(Dict("'float32'")), Errc::kUnsupported, "unsupported dtype descr 'float32'"));
  EXPECT_TRUE(FailsWith(Npy(Dict("('<f4', (2,))")), Errc::kUnsupported,
                        "unsupported dtype descr ('<f4', (2,))"));
}

TEST(NpyHeaderTest, RejectsShapeProductOverflow) {
  // (2**62, 2**62) elements: more than int64 holds.
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", "(4611686018427387904, 4611686018427387904)")),
                        Errc::kCorrupt,
                        "element count of shape (4611686018427387904, 4611686018427387904) "
                        "overflows"));
  // 2**61 elements fit, but not 2**64 bytes of them.
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", "(2305843009213693952,)")), Errc::kCorrupt,
                        "data size of shape (2305843009213693952,) with "
                        "itemsize 8 overflows"));
  // A huge itemsize times a modest count.
  EXPECT_TRUE(FailsWith(Npy(Dict("'|V4611686018427387904'", "(2,)")), Errc::kCorrupt,
                        "data size of shape (2,)"));
}

TEST(NpyHeaderTest, RejectsHeaderLengthPastTheEnd) {
  std::string npy = Npy(Dict("'<f8'"));
  ASSERT_EQ(npy.size(), 128u);
  npy[8] = '\xff';
  npy[9] = '\xff';
  EXPECT_TRUE(FailsWith(npy, Errc::kCorrupt,
                        "npy header: header length 65535 extends past the end "
                        "(118 bytes available)"));
  std::string v2 = Npy(Dict("'<f8'"), 2);
  v2.resize(v2.size() - 1);
  EXPECT_TRUE(FailsWith(v2, Errc::kCorrupt,
                        "header length 116 extends past the end (115 bytes "
                        "available)"));
}

TEST(NpyHeaderTest, MessagesGiveTheBytePosition) {
  // v1: the text starts at byte 10; the ',' after "{'descr'" is at 18.
  auto h = Parse(Npy("{'descr', '<f8'}"));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().message, "npy header: expected ':' after key, found ',' at byte 18");
  auto v3 =
      Parse(Npy("{'descr': '<f8', 'fortran_order': False, "
                "'shape': (3, x)}",
                3));
  ASSERT_FALSE(v3);
  EXPECT_EQ(v3.error().message, "npy header: unexpected name 'x' at byte 66");
}

TEST(NpyHeaderTest, RejectsUnterminatedStringsAndBrackets) {
  // The string runs to the next quote; then comes a name.
  EXPECT_TRUE(FailsWith(Npy("{'descr': '<f8, 'fortran_order': False}"), Errc::kCorrupt,
                        "expected ',' or '}' to close the '{' at byte 10, "
                        "found 'f' at byte 27"));
  EXPECT_TRUE(FailsWith(Npy("{'descr': '<f8"), Errc::kCorrupt, "unterminated string at byte 20"));
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", "((3,)")), Errc::kCorrupt,
                        "expected a value or ')' to close the '('"));
  EXPECT_TRUE(FailsWith(Npy(Dict("[('a', '<f8')", "(3,)")), Errc::kCorrupt,
                        "expected ',' or ']' to close the '['"));
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", "(3,))")), Errc::kCorrupt,
                        "expected ',' or '}' to close the '{' at byte 10"));
  EXPECT_TRUE(
      FailsWith(Npy(Dict("'<f8'") + "}"), Errc::kCorrupt, "unexpected '}' after the value"));
}

TEST(NpyHeaderTest, RejectsDeepNesting) {
  for (std::string_view open : {"[", "(", "{", "-", "{'a': "}) {
    std::string bomb;
    for (int i = 0; i < 100000; ++i) bomb += open;
    EXPECT_TRUE(FailsWith(Npy(bomb, 2), Errc::kCorrupt, "nesting deeper than")) << open;
    EXPECT_TRUE(
        FailsWith(Npy(Dict("'<f8'", "(" + bomb + ")"), 2), Errc::kCorrupt, "nesting deeper than"))
        << open;
  }
}

TEST(NpyHeaderTest, NestingLimitIsExact) {
  // The dict is level 0, the shape tuple 1, its element 2; each pair of
  // grouping parentheses adds one. The limit is 64.
  auto shape = [](int parens) {
    return "(" + std::string(parens, '(') + "3" + std::string(parens, ')') + ",)";
  };
  EXPECT_EQ(MustParse(Npy(Dict("'<f8'", shape(62)))).shape_repr, "(3,)");
  EXPECT_TRUE(FailsWith(Npy(Dict("'<f8'", shape(63))), Errc::kCorrupt, "nesting deeper than 64"));
  // Nested structs well within the limit.
  std::string descr = "'<f8'";
  for (int i = 0; i < 15; ++i) descr = "[('f', " + descr + ")]";
  EXPECT_EQ(MustParse(Npy(Dict(descr))).itemsize, 8u);
}

TEST(NpyHeaderTest, RejectsNulAndGarbage) {
  std::string with_nul = Dict("'<f8'") + " ";
  with_nul.back() = '\0';
  EXPECT_TRUE(FailsWith(Npy(with_nul), Errc::kCorrupt, "NUL byte at byte"));
  EXPECT_TRUE(FailsWith(Npy("\x01\x02\x03garbage\xff\xfe"), Errc::kCorrupt,
                        "npy header: unexpected U+0001 at byte 10"));
  EXPECT_TRUE(FailsWith(Npy("garbage"), Errc::kCorrupt, "unexpected name 'garbage'"));
  EXPECT_TRUE(
      FailsWith(Npy("{'descr': '<f8'} garbage"), Errc::kCorrupt, "unexpected 'g' after the value"));
  EXPECT_TRUE(FailsWith(Npy(""), Errc::kCorrupt, "expected a value"));
  EXPECT_TRUE(FailsWith(Npy("", 1, Padding::kNone), Errc::kCorrupt, "expected a value"));
  EXPECT_TRUE(FailsWith(Npy("{'descr': '\xe9'}", 3), Errc::kCorrupt, "invalid UTF-8"));
}

// Applies one random edit to `s`.
void Mutate(std::mt19937* rng, std::string* s) {
  static constexpr std::string_view kSpecial = "[](){}'\",:L\\\n -0123456789#";
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(*rng); };
  auto random_char = [&]() -> char {
    return pick(2) == 0 ? kSpecial[pick(kSpecial.size())] : static_cast<char>(pick(256));
  };
  const size_t at = s->empty() ? 0 : pick(s->size());
  switch (pick(5)) {
    case 0:
      if (!s->empty()) (*s)[at] = static_cast<char>((*s)[at] ^ (1 << pick(8)));
      break;
    case 1:
      if (!s->empty()) (*s)[at] = random_char();
      break;
    case 2:
      s->insert(s->begin() + static_cast<std::ptrdiff_t>(at), random_char());
      break;
    case 3:
      if (!s->empty()) s->erase(at, 1 + pick(4));
      break;
    default:  // duplicate a slice, e.g. a bracket run
      if (!s->empty()) s->insert(at, s->substr(pick(s->size()), pick(16)));
      break;
  }
}

// What every accepted header must satisfy, whatever the bytes.
void CheckInvariants(std::string_view npy, const NpyHeader& h) {
  ASSERT_TRUE(h.major >= 1 && h.major <= 3);
  EXPECT_EQ(h.minor, 0);
  EXPECT_LE(h.data_offset, npy.size());
  EXPECT_GE(h.data_offset, PrefixSize(h.major));
  uint64_t count = 1;
  for (uint64_t d : h.shape) count *= d;  // cannot overflow if accepted
  EXPECT_EQ(h.element_count, count);
  EXPECT_EQ(h.data_size.has_value(), !h.has_object);
  if (!h.has_object) {
    EXPECT_EQ(h.data_size, h.element_count * h.itemsize);
  }
  EXPECT_FALSE(h.shape_repr.empty());
  EXPECT_FALSE(h.descr_repr.empty());
  EXPECT_LE(h.header_text.size(), 2 * h.data_offset);
}

TEST(NpyHeaderTest, RandomMutationsNeverCrash) {
  std::vector<std::string> seeds;
  for (const NumpyWrittenCase& c : kNumpyWritten) {
    seeds.emplace_back(c.bytes);
  }
  seeds.push_back(
      Npy(Dict("[('x', '<f4', (2, 3)), (('t', 'y'), [('z', '|O')])]", "(3L, 4L)", "True")));
  seeds.push_back(Npy("{\"descr\": u'<U3', 'shape': (), 'fortran_order': 0}", 2, Padding::kNone));
  std::mt19937 rng(20240607);  // fixed: failures must reproduce
  int accepted = 0;
  for (int i = 0; i < 40000; ++i) {
    std::string npy = seeds[static_cast<size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) Mutate(&rng, &npy);
    auto prefix = ParseNpyPrefix(AsBytes(npy));
    auto h = Parse(npy);
    if (!h) {
      EXPECT_TRUE(h.error().code == Errc::kCorrupt || h.error().code == Errc::kUnsupported);
      EXPECT_FALSE(h.error().message.empty());
      continue;
    }
    ++accepted;
    ASSERT_TRUE(prefix);
    EXPECT_EQ(h->data_offset, prefix->data_offset);
    CheckInvariants(npy, *h);
    if (HasFailure()) FAIL() << "iteration " << i;
  }
  EXPECT_GT(accepted, 1000);  // the mutations also reach the valid paths
}

}  // namespace
}  // namespace npzfs::core
