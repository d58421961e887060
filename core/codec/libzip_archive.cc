#include "core/codec/libzip_archive.h"

#include <cerrno>
#include <vector>

namespace npzfs::core {

std::string LibzipErrorString(int ze, int sys_errno) {
  zip_error_t err;
  zip_error_init_with_code(&err, ze);
  if (sys_errno != 0 && zip_error_system_type(&err) == ZIP_ET_SYS) {
    zip_error_fini(&err);
    zip_error_init(&err);
    zip_error_set(&err, ze, sys_errno);
  }
  std::string text = zip_error_strerror(&err);
  zip_error_fini(&err);
  return text;
}

zip_int64_t LibzipArchive::Callback(void* opaque, void* data, zip_uint64_t len,
                                    zip_source_cmd_t cmd) {
  auto* st = static_cast<SourceState*>(opaque);
  switch (cmd) {
    case ZIP_SOURCE_OPEN:
      st->pos = 0;
      return 0;
    case ZIP_SOURCE_READ: {
      auto got = st->src->ReadAt(st->pos, std::span<std::byte>(static_cast<std::byte*>(data), len));
      if (!got) {
        int e = got.error().sys_errno ? got.error().sys_errno : EIO;
        zip_error_set(&st->error, ZIP_ER_READ, e);
        return -1;
      }
      st->pos += *got;
      return static_cast<zip_int64_t>(*got);
    }
    case ZIP_SOURCE_CLOSE:
      return 0;
    case ZIP_SOURCE_STAT: {
      auto* zst = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &st->error);
      if (zst == nullptr) return -1;
      zip_stat_init(zst);
      zst->size = st->src->size();
      zst->valid |= ZIP_STAT_SIZE;
      return sizeof(*zst);
    }
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&st->error, data, len);
    case ZIP_SOURCE_FREE:
      return 0;  // the state belongs to LibzipArchive
    case ZIP_SOURCE_SEEK: {
      zip_int64_t pos =
          zip_source_seek_compute_offset(st->pos, st->src->size(), data, len, &st->error);
      if (pos < 0) return -1;
      st->pos = static_cast<uint64_t>(pos);
      return 0;
    }
    case ZIP_SOURCE_TELL:
      return static_cast<zip_int64_t>(st->pos);
    case ZIP_SOURCE_SUPPORTS:
      return zip_source_make_command_bitmap(
          ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR,
          ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_SUPPORTS, -1);
    default:
      zip_error_set(&st->error, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

Result<std::unique_ptr<LibzipArchive>> LibzipArchive::Open(const ByteSource& src) {
  std::unique_ptr<LibzipArchive> archive(new LibzipArchive);
  archive->state_ = std::make_unique<SourceState>();
  archive->state_->src = &src;
  zip_error_init(&archive->state_->error);

  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* zs = zip_source_function_create(&Callback, archive->state_.get(), &error);
  if (zs == nullptr) {
    std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Fail(Corrupt(src.shown_name() + ": " + why));
  }
  archive->za_ = zip_open_from_source(zs, ZIP_RDONLY, &error);
  if (archive->za_ == nullptr) {
    zip_source_free(zs);
    int ze = zip_error_code_zip(&error);
    int se = zip_error_code_system(&error);
    std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    if (ze == ZIP_ER_NOZIP) why = "not a zip archive";
    if (ze == ZIP_ER_READ && se != 0) return Fail(IoError(se, src.shown_name()));
    if (ze == ZIP_ER_MEMORY) throw std::bad_alloc();
    return Fail(Corrupt(src.shown_name() + ": " + why));
  }
  zip_error_fini(&error);
  return archive;
}

LibzipArchive::~LibzipArchive() {
  if (za_ != nullptr) zip_discard(za_);
  if (state_) zip_error_fini(&state_->error);
}

}  // namespace npzfs::core
