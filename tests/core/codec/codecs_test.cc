// The codecs the registry adds beside deflate: zstd (method 93), LZMA
// (method 14, with and without an end marker) and bzip2 (method 12), read
// through MemberDecoder and Content with their sizes and CRC-32 enforced.
#include <gtest/gtest.h>
#include <lzma.h>
#include <zstd.h>

#include <random>
#include <string>

#include "core/codec/member_decoder.h"
#include "core/codec/registry.h"
#include "core/read/content.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_writer.h"

namespace npzfs::core {
namespace {

using testing::OpenBytes;
using testing::ZipMember;
using testing::ZipWriter;

// Bytes that compress well, but not to nothing.
std::string Data(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (rng() % 4) + (i / 4096) % 3);
  return s;
}

std::string ZstdFrame(std::string_view data, int level = 3) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// zip's LZMA framing (APPNOTE 5.8.8): version, properties size, the 5
// properties bytes, then a raw LZMA1 stream, with an end marker or not.
std::string ZipLzma(std::string_view data, bool end_marker) {
  lzma_options_lzma opt;
  EXPECT_FALSE(lzma_lzma_preset(&opt, 6));
  opt.ext_flags = end_marker ? LZMA_LZMA1EXT_ALLOW_EOPM : 0;
  lzma_filter filters[2] = {{LZMA_FILTER_LZMA1EXT, &opt}, {LZMA_VLI_UNKNOWN, nullptr}};
  uint32_t props_size = 0;
  EXPECT_EQ(lzma_properties_size(&props_size, &filters[0]), LZMA_OK);
  std::string props(props_size, '\0');
  filters[0].id = LZMA_FILTER_LZMA1;
  EXPECT_EQ(lzma_properties_encode(&filters[0], reinterpret_cast<uint8_t*>(props.data())), LZMA_OK);
  filters[0].id = LZMA_FILTER_LZMA1EXT;
  std::string out(data.size() + data.size() / 2 + 1024, '\0');
  size_t pos = 0;
  EXPECT_EQ(
      lzma_raw_buffer_encode(filters, nullptr, reinterpret_cast<const uint8_t*>(data.data()),
                             data.size(), reinterpret_cast<uint8_t*>(out.data()), &pos, out.size()),
      LZMA_OK);
  out.resize(pos);
  return std::string("\x09\x04\x05\x00", 4) + props + out;
}

ZipMember Member(const std::string& name, uint16_t method, std::string data,
                 const std::string& content) {
  ZipMember m;
  m.name = name;
  m.method = method;
  m.data = std::move(data);
  m.size = content.size();
  m.crc32 = testing::Crc32Of(content);
  return m;
}

Result<std::string> ReadThrough(const Archive& a, size_t i) {
  auto d = a.OpenDecoder(i);
  if (!d) return Fail(std::move(d).error());
  std::string all(a.entries()[i].size + 10, '\0');
  auto got = (*d)->Read(std::as_writable_bytes(std::span(all)));
  if (!got) return Fail(std::move(got).error());
  all.resize(*got);
  return all;
}

TEST(ZstdTest, OneFrameOrManyReadTheSame) {
  const std::string content = Data(300'000, 1);
  ZipWriter w;
  w.Add(Member("one.bin", kMethodZstd, ZstdFrame(content), content));
  // Three frames one after the other (RFC 8878 allows it; zstd -c of
  // several files writes it).
  w.Add(Member("three.bin", kMethodZstd,
               ZstdFrame(content.substr(0, 1000)) + ZstdFrame(content.substr(1000, 200'000), 19) +
                   ZstdFrame(content.substr(201'000)),
               content));
  w.Add(Member("empty.bin", kMethodZstd, ZstdFrame(""), ""));
  auto a = OpenBytes(w.Finish());
  ASSERT_TRUE(a);
  EXPECT_EQ(MethodName(a->entries()[0].method), "zstd");
  for (size_t i = 0; i < 3; ++i) {
    auto got = ReadThrough(*a, i);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_TRUE(*got == (i == 2 ? "" : content)) << a->entries()[i].name;
  }
  // Through the read path, at random offsets.
  Content content_reader(*a);
  std::mt19937 rng(3);
  for (int k = 0; k < 20; ++k) {
    const uint64_t off = rng() % content.size();
    std::string buf(5000, '\0');
    auto got = content_reader.Read(1, off, std::as_writable_bytes(std::span(buf)));
    ASSERT_TRUE(got) << got.error().message;
    buf.resize(*got);
    EXPECT_EQ(buf, content.substr(off, 5000));
  }
}

TEST(ZstdTest, DamagedFramesSizesAndCrcFail) {
  const std::string content = Data(100'000, 2);
  const std::string frame = ZstdFrame(content);
  std::string flipped = frame;
  flipped[frame.size() / 2] = static_cast<char>(flipped[frame.size() / 2] ^ 0x10);
  ZipWriter w;
  w.Add(Member("cut.bin", kMethodZstd, frame.substr(0, frame.size() - 7), content));
  w.Add(Member("flipped.bin", kMethodZstd, flipped, content));
  ZipMember longer = Member("longer.bin", kMethodZstd, frame, content);
  longer.size += 10;
  w.Add(longer);
  ZipMember shorter = Member("shorter.bin", kMethodZstd, frame, content);
  shorter.size -= 10;
  w.Add(shorter);
  ZipMember crc = Member("crc.bin", kMethodZstd, frame, content);
  crc.crc32 ^= 1;
  w.Add(crc);
  auto a = OpenBytes(w.Finish());
  ASSERT_TRUE(a);
  const char* says[] = {"ends inside a zstd frame", "", "ends before the declared size",
                        "goes on past the declared size", "CRC-32 mismatch"};
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(a->entries()[i].name);
    auto got = ReadThrough(*a, i);
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().code, Errc::kCorrupt);
    EXPECT_EQ(got.error().message.rfind("'" + a->entries()[i].name + "': ", 0), 0u);
    EXPECT_NE(got.error().message.find(says[i]), std::string::npos) << got.error().message;
  }
}

TEST(LzmaTest, WithAndWithoutAnEndMarker) {
  const std::string content = Data(200'000, 4);
  ZipWriter w;
  ZipMember marked = Member("marked.bin", kMethodLzma, ZipLzma(content, true), content);
  marked.flags = 0x2;  // bit 1: the stream has an end marker
  w.Add(marked);
  w.Add(Member("unmarked.bin", kMethodLzma, ZipLzma(content, false), content));
  auto a = OpenBytes(w.Finish());
  ASSERT_TRUE(a);
  for (size_t i = 0; i < 2; ++i) {
    auto got = ReadThrough(*a, i);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_TRUE(*got == content) << a->entries()[i].name;
  }
}

TEST(LzmaTest, BadHeadersAndHugeDictionariesAreRefused) {
  const std::string content = Data(50'000, 5);
  const std::string good = ZipLzma(content, true);
  std::string props_size = good;
  props_size[2] = 6;
  std::string huge = good;
  huge[5] = huge[6] = huge[7] = '\xff';  // dictionary size, little-endian: ~4 GiB
  huge[8] = '\x7f';
  ZipWriter w;
  w.Add(Member("props.bin", kMethodLzma, props_size, content));
  w.Add(Member("short.bin", kMethodLzma, good.substr(0, 6), content));
  ZipMember big = Member("huge.bin", kMethodLzma, huge, content);
  big.size = uint64_t{3} << 30;  // a dictionary that could be used
  w.Add(big);
  auto a = OpenBytes(w.Finish());
  ASSERT_TRUE(a);
  const Errc codes[] = {Errc::kCorrupt, Errc::kCorrupt, Errc::kUnsupported};
  const char* says[] = {"properties are 6 bytes long", "shorter than its LZMA header",
                        "is more than npzfs allows"};
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(a->entries()[i].name);
    auto d = a->OpenDecoder(i);
    ASSERT_TRUE(d);
    std::string buf(100, '\0');
    auto got = (*d)->Read(std::as_writable_bytes(std::span(buf)));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().code, codes[i]);
    EXPECT_NE(got.error().message.find(says[i]), std::string::npos) << got.error().message;
  }
}

TEST(Bzip2Test, DamagedStreamFails) {
  auto good = OpenBytes(testing::ReadFile(testing::StandardArchive("bzip2")));
  ASSERT_TRUE(good);
  std::string bytes = testing::ReadFile(testing::StandardArchive("bzip2"));
  const ZipEntry& e = good->entries()[testing::IndexOf(*good, "x.npy")];
  bytes[e.data_offset + e.compressed_size / 2] ^= 0x55;
  auto a = OpenBytes(bytes);
  ASSERT_TRUE(a);
  auto got = ReadThrough(*a, testing::IndexOf(*a, "x.npy"));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::kCorrupt);
  EXPECT_EQ(got.error().message.rfind("'x.npy': ", 0), 0u) << got.error().message;
}

}  // namespace
}  // namespace npzfs::core
