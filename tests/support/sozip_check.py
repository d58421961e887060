"""Checks the SOZip indexes of a zip archive, independently of npzfs.

usage: sozip_check.py ARCHIVE [--chunk SIZE] [--max-chunks N]

Written from the Seek-Optimized ZIP profile 0.5 (sozip-spec,
"Hidden index file"), with Python's zipfile for the central directory
and zlib for inflating. A deflate member's index is the entry whose
local header comes right after the member's data, named
"DIR/.NAME.sozip.idx"; it must be stored, its CRC-32 and sizes right,
and not in the central directory. With --chunk, every deflate member of
more than SIZE bytes must have one, and no other member. Its content must be the 32-byte header (version 1,
offset size 8, the chunk size, the member's two sizes) and exactly
(size - 1) // chunk_size offsets, strictly ascending and inside the
member's data. Then every chunk must decode alone: a fresh raw inflater
started at the chunk's offset yields exactly that chunk's bytes, which
are compared with the member's bytes as zipfile reads them; the last
chunk ends the deflate stream. --max-chunks N checks only N chunks
spread over each member (the first and the last among them), still
reading the member whole.

Prints a JSON document {"members": [{"name", "size", "chunk_size",
"chunks", "checked"}], "errors": [...]}; exits 1 when there are errors.
"""
import json
import struct
import sys
import zipfile
import zlib

LOCAL_SIGNATURE = 0x04034B50
LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
INDEX_HEADER = struct.Struct("<IIIIQQ")


def index_name(name):
    slash = name.rfind("/")
    return name[:slash + 1] + "." + name[slash + 1:] + ".sozip.idx"


def data_offset(f, info):
    f.seek(info.header_offset)
    fields = LOCAL_HEADER.unpack(f.read(LOCAL_HEADER.size))
    if fields[0] != LOCAL_SIGNATURE:
        raise ValueError("no local header at %d" % info.header_offset)
    return info.header_offset + LOCAL_HEADER.size + fields[9] + fields[10]


def read_index(f, info, start, errors):
    """The content of the index entry right after the member's data; None
    when there is no entry of the index's name there, or (with an error)
    when there is a bad one."""
    f.seek(start + info.compress_size)
    head = f.read(LOCAL_HEADER.size)
    if len(head) < LOCAL_HEADER.size or LOCAL_HEADER.unpack(head)[0] != LOCAL_SIGNATURE:
        return None
    (_, _, flags, method, _, _, crc, csize, usize, n, m) = LOCAL_HEADER.unpack(head)
    name = f.read(n).decode("utf-8" if flags & 0x800 else "cp437")
    if name != index_name(info.filename):
        return None
    f.seek(m, 1)
    content = f.read(csize)
    problems = []
    if method != 0:
        problems.append("method %d, not stored" % method)
    if csize != usize or len(content) != csize:
        problems.append("sizes %d/%d" % (csize, usize))
    if zlib.crc32(content) != crc:
        problems.append("CRC-32 mismatch")
    if problems:
        errors.append("%s: index entry: %s" % (info.filename, ", ".join(problems)))
        return None
    return content


def parse_index(info, content, want_chunk, errors):
    """(chunk_size, offsets) from the index content, or None."""
    if len(content) < INDEX_HEADER.size:
        errors.append("%s: index shorter than its header" % info.filename)
        return None
    version, skip, chunk, offset_size, usize, csize = INDEX_HEADER.unpack_from(content)
    problems = []
    if version != 1:
        problems.append("version %d" % version)
    if offset_size != 8:
        problems.append("offset size %d" % offset_size)
    if want_chunk and chunk != want_chunk:
        problems.append("chunk size %d, not %d" % (chunk, want_chunk))
    if chunk == 0 or usize <= chunk:
        problems.append("chunk size %d for %d bytes" % (chunk, usize))
    if usize != info.file_size or csize != info.compress_size:
        problems.append("sizes %d/%d, member's %d/%d"
                        % (usize, csize, info.file_size, info.compress_size))
    if problems:
        errors.append("%s: index header: %s" % (info.filename, ", ".join(problems)))
        return None
    count = (usize - 1) // chunk
    body = content[INDEX_HEADER.size + skip:]
    if len(body) != 8 * count:
        errors.append("%s: %d bytes of offsets for %d chunks" % (info.filename, len(body), count + 1))
        return None
    offsets = [0] + list(struct.unpack("<%dQ" % count, body))
    if any(b <= a for a, b in zip(offsets, offsets[1:])) or offsets[-1] >= csize:
        errors.append("%s: offsets not strictly ascending inside the data" % info.filename)
        return None
    return chunk, offsets


def chosen(count, max_chunks):
    if not max_chunks or count <= max_chunks:
        return set(range(count))
    if max_chunks < 2:
        return {0, count - 1}
    step = (count - 1) / (max_chunks - 1)
    return {round(i * step) for i in range(max_chunks)}


def check_chunks(z, f, info, start, chunk, offsets, max_chunks, errors):
    """Inflates the chosen chunks alone; returns how many were checked."""
    count = len(offsets)
    picks = chosen(count, max_chunks)
    bounds = offsets + [info.compress_size]
    with z.open(info) as member:
        for k in range(count):
            want = member.read(min(chunk, info.file_size - k * chunk))
            if k not in picks:
                continue
            f.seek(start + bounds[k])
            d = zlib.decompressobj(-15)
            got = d.decompress(f.read(bounds[k + 1] - bounds[k]))
            last = k == count - 1
            if got != want or (last and not d.eof) or (not last and d.eof):
                errors.append("%s: chunk %d (offset %d) does not decode alone to its bytes"
                              % (info.filename, k, bounds[k]))
                return len(picks)
    return len(picks)


def check(path, want_chunk=None, max_chunks=None):
    members, errors = [], []
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        for info in z.infolist():
            base = info.filename.rsplit("/", 1)[-1]
            if base.startswith(".") and base.endswith(".sozip.idx"):
                errors.append("%s: an index entry in the central directory" % info.filename)
            if info.compress_type != zipfile.ZIP_DEFLATED:
                continue
            start = data_offset(f, info)
            content = read_index(f, info, start, errors)
            needed = want_chunk is not None and info.file_size > want_chunk
            if content is None:
                if needed:
                    errors.append("%s: no index entry right after its data" % info.filename)
                continue
            if want_chunk is not None and not needed:
                errors.append("%s: an index for a member of one chunk" % info.filename)
                continue
            parsed = parse_index(info, content, want_chunk, errors)
            if not parsed:
                continue
            chunk, offsets = parsed
            checked = check_chunks(z, f, info, start, chunk, offsets, max_chunks, errors)
            members.append({"name": info.filename, "size": info.file_size, "chunk_size": chunk,
                            "chunks": len(offsets), "checked": checked})
    return {"members": members, "errors": errors}


def main(argv):
    args = argv[1:]
    want_chunk = max_chunks = None
    while len(args) > 1 and args[-2] in ("--chunk", "--max-chunks"):
        if args[-2] == "--chunk":
            want_chunk = int(args[-1])
        else:
            max_chunks = int(args[-1])
        args = args[:-2]
    if len(args) != 1:
        raise SystemExit(__doc__)
    result = check(args[0], want_chunk, max_chunks)
    json.dump(result, sys.stdout, indent=1)
    print()
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
