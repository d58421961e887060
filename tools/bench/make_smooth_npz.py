"""Makes the benchmark's archive: one float32 member that deflates about 4:1.

usage: /usr/bin/python3 make_smooth_npz.py OUT.npz [MiB]   (default 1024)

The member `smooth` (smooth.npy in the zip) is 20*sin(t/5000) + 5*sin(t/377)
+ N(0, 1), quantized to steps of 0.25, written by np.savez_compressed (zlib
level 6, raw deflate), as ../shared/INFLATE.md describes. Made in 64 MiB
pieces so that memory stays near the member's size.
"""
import sys
import zipfile

import numpy as np


def main(argv):
    path = argv[1]
    mib = int(argv[2]) if len(argv) > 2 else 1024
    n = mib << 18  # float32 values
    rng = np.random.default_rng(1)
    header = np.lib.format
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("smooth.npy", "w", force_zip64=True) as f:
            header.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (n,)})
            step = 16 << 20
            for start in range(0, n, step):
                t = np.arange(start, min(n, start + step), dtype=np.float64)
                x = 20 * np.sin(t / 5000) + 5 * np.sin(t / 377) + rng.standard_normal(t.size)
                f.write((np.round(x * 4) / 4).astype(np.float32).tobytes())


if __name__ == "__main__":
    main(sys.argv)
