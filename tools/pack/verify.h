// `npzinfo pack --verify`: OUT read back through the core, as npzfs will
// read it, against IN.
#ifndef NPZFS_TOOLS_PACK_VERIFY_H_
#define NPZFS_TOOLS_PACK_VERIFY_H_

#include "core/archive/archive.h"
#include "core/base/result.h"
#include "tools/pack/packer.h"
#include "tools/pack/progress.h"
#include "tools/pack/zip_records.h"

namespace npzfs::tools::pack {

// Checks that `out` holds IN's members in IN's order with IN's recorded
// names, times, flags and attributes (`in_cd`, ReadCentralDirectory), each
// decompressing to exactly IN's bytes; that each is stored (all with
// options.store) or deflated, a deflated one of more than one chunk with
// a SOZip index of options.chunk_size that the core finds, a stored one
// with its data (npy payload) at a multiple of options.align. Errors:
// kCorrupt for the first difference, naming the member; errors of
// reading either archive. `progress` counts IN's bytes compared.
core::Result<void> VerifyPacked(const core::Archive& in, const CentralDirectory& in_cd,
                                const core::Archive& out, const PackOptions& options,
                                Progress& progress);

}  // namespace npzfs::tools::pack

#endif  // NPZFS_TOOLS_PACK_VERIFY_H_
