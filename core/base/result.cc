#include "core/base/result.h"

#include <cstring>

namespace npzfs::core {

Error IoError(int sys_errno, const std::string& what) {
  return Error{Errc::kIo, sys_errno, what + ": " + std::strerror(sys_errno)};
}

}  // namespace npzfs::core
