#include "fs/errno_map.h"

#include <cerrno>

namespace npzfs::fs {

int ToErrno(const core::Error& error) {
  switch (error.code) {
    case core::Errc::kNotFound:
      return ENOENT;
    case core::Errc::kCorrupt:
      return EIO;
    case core::Errc::kUnsupported:
      return ENOTSUP;
    case core::Errc::kInvalidArgument:
      return EINVAL;
    case core::Errc::kIo:
      return error.sys_errno != 0 ? error.sys_errno : EIO;
  }
  return EIO;
}

}  // namespace npzfs::fs
