#include "core/base/crc32.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>

#include "tests/support/test_support.h"

namespace npzfs::core {
namespace {

using testing::AsBytes;

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(Crc32Test, MatchesZlibAndContinues) {
  const std::string data = Random(100'000, 11);
  const uint32_t want =
      static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(data.data()), 100'000));
  EXPECT_EQ(Crc32(0, AsBytes(data)), want);
  const uint32_t half = Crc32(0, AsBytes(std::string_view(data).substr(0, 33'333)));
  EXPECT_EQ(Crc32(half, AsBytes(std::string_view(data).substr(33'333))), want);
  EXPECT_EQ(Crc32(0, {}), 0u);
}

}  // namespace
}  // namespace npzfs::core
