#include "core/base/fault_guard.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "core/base/crc32.h"
#include "core/base/unique_fd.h"
#include "tests/support/test_support.h"

namespace npzfs::core {
namespace {

using testing::AsBytes;

// A mapped file cut short: reading its pages past the new end raises
// SIGBUS, which the guard turns into "no CRC", before and after as often
// as asked; bytes still there read as usual.
TEST(FaultGuardTest, SigbusFromAShrunkenMappingFailsTheCrcNotTheProcess) {
  testing::TempDir dir;
  const std::string path = dir.Join("f");
  const std::string data(64 << 10, 'x');
  testing::WriteFile(path, data);
  const UniqueFd fd(::open(path.c_str(), O_RDWR));
  ASSERT_TRUE(fd.valid());
  void* p = ::mmap(nullptr, data.size(), PROT_READ, MAP_SHARED, fd.get(), 0);
  ASSERT_NE(p, MAP_FAILED);
  const std::span<const std::byte> mapped(static_cast<const std::byte*>(p), data.size());
  EXPECT_EQ(GuardedCrc32(0, mapped), Crc32(0, AsBytes(data)));
  ASSERT_EQ(::ftruncate(fd.get(), 8192), 0);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(GuardedCrc32(0, mapped), std::nullopt);
    EXPECT_EQ(GuardedCrc32(0, mapped.subspan(40000, 100)), std::nullopt);
  }
  EXPECT_EQ(GuardedCrc32(0, mapped.first(8192)), Crc32(0, AsBytes(data).first(8192)));
  ::munmap(p, data.size());
}

}  // namespace
}  // namespace npzfs::core
