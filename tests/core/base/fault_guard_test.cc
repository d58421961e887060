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

// A file mapped read-only for the scope.
struct Mapping {
  Mapping(int fd, size_t size) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) bytes = {static_cast<const std::byte*>(p), size};
  }
  ~Mapping() {
    if (bytes.data()) ::munmap(const_cast<std::byte*>(bytes.data()), bytes.size());
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  std::span<const std::byte> bytes;
};

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
  const Mapping map(fd.get(), data.size());
  ASSERT_TRUE(map.bytes.data());
  const std::span<const std::byte> mapped = map.bytes;
  EXPECT_EQ(GuardedCrc32(0, mapped), Crc32(0, AsBytes(data)));
  ASSERT_EQ(::ftruncate(fd.get(), 8192), 0);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(GuardedCrc32(0, mapped), std::nullopt);
    EXPECT_EQ(GuardedCrc32(0, mapped.subspan(40000, 100)), std::nullopt);
  }
  EXPECT_EQ(GuardedCrc32(0, mapped.first(8192)), Crc32(0, AsBytes(data).first(8192)));
}

}  // namespace
}  // namespace npzfs::core
