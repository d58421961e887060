"""Writes a small sample .npz for trying npzfs: stored and compressed
members, a nested key, a structured dtype, a Fortran-ordered matrix.

usage: make_sample.py OUT.npz
"""
import io
import sys
import zipfile

import numpy as np


def main(out):
    rng = np.random.default_rng(0)
    arrays = {
        "features": rng.standard_normal((1000, 64)).astype(np.float32),
        "labels": rng.integers(0, 10, 1000).astype(np.int64),
        "points": np.array([(1.0, 2.0, 7), (3.0, 4.0, 8)],
                           dtype=[("x", "<f8"), ("y", "<f8"), ("id", "<i4")]),
        "meta/weights": np.asfortranarray(rng.standard_normal((64, 10))),
        "meta/epoch": np.array(42),
    }
    np.savez_compressed(out, **arrays)
    # One stored member, as np.savez writes them, next to the compressed ones.
    buf = io.BytesIO()
    np.save(buf, np.arange(100_000, dtype=np.float64))
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_STORED) as z:
        z.writestr("stored_range.npy", buf.getvalue())


if __name__ == "__main__":
    main(sys.argv[1])
