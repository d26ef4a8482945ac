"""Reader and writer for the IDX file format (MNIST / Fashion-MNIST).

Layout: two zero bytes, a dtype code byte, an ndim byte, ``ndim`` big-endian
uint32 dimension sizes, then the array data in big-endian C order. Files may be
gzip-compressed; compression is detected from the content, not the name.
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

from jaxml.errors import JaxmlError

_GZIP_MAGIC = b"\x1f\x8b"

# IDX dtype code -> big-endian numpy dtype.
_CODE_TO_DTYPE: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_DTYPE_TO_CODE: dict[np.dtype, int] = {dt.newbyteorder("="): code for code, dt in _CODE_TO_DTYPE.items()}


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    """Returns the (decompressed) contents of ``path``."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == _GZIP_MAGIC:
            return gzip.decompress(raw)
        return raw
    except (OSError, EOFError) as e:
        raise JaxmlError(f"Cannot read IDX file {os.fspath(path)}: {e}") from e


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Parses an IDX file (plain or gzip) into a native-endian numpy array."""
    name = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise JaxmlError(f"Bad IDX magic number in {name}: expected two zero bytes, got {data[:4]!r}")
    code, ndim = data[2], data[3]
    if code not in _CODE_TO_DTYPE:
        raise JaxmlError(f"Bad IDX magic number in {name}: unknown dtype code 0x{code:02X}")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise JaxmlError(f"Truncated IDX header in {name}: {ndim} dims need {header_size} bytes, got {len(data)}")
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = _CODE_TO_DTYPE[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_size
    if actual != expected:
        raise JaxmlError(
            f"IDX size mismatch in {name}: shape {tuple(shape)} needs {expected} data bytes, found {actual}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None) -> None:
    """Writes ``array`` as an IDX file; gzip-compressed if ``compress`` (default: name ends in ``.gz``)."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _DTYPE_TO_CODE:
        raise JaxmlError(f"IDX cannot store dtype {array.dtype} (writing {os.fspath(path)})")
    code = _DTYPE_TO_CODE[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=_CODE_TO_DTYPE[code]).tobytes()
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    with open(path, "wb") as f:
        f.write(payload)
