"""Tests for the IDX reader/writer."""

import gzip
import struct

import numpy as np
import pytest

from jaxml.data.idx import read_idx, write_idx
from jaxml.errors import JaxmlError


@pytest.mark.parametrize("filename", ["a.idx", "a.idx.gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.linspace(-1.5, 2.5, 10, dtype=np.float32).reshape(5, 2),
        np.array([-7, 0, 300000], dtype=np.int32),
        np.array([-3, 1000], dtype=np.int16),
        np.array([-1, 5], dtype=np.int8),
        np.array([[1e-300, -2.5]], dtype=np.float64),
    ],
    ids=["uint8", "float32", "int32", "int16", "int8", "float64"],
)
def test_round_trip(tmp_path, filename, array):
    path = tmp_path / filename
    write_idx(path, array)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == filename.endswith(".gz")
    out = read_idx(path)
    assert out.dtype == array.dtype
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_reads_hand_written_big_endian_header(tmp_path):
    data = struct.pack(">BBBBII", 0, 0, 0x0B, 2, 2, 1) + struct.pack(">hh", 258, -2)
    path = tmp_path / "h.gz"
    path.write_bytes(gzip.compress(data))
    np.testing.assert_array_equal(read_idx(path), np.array([[258], [-2]], dtype=np.int16))


def test_bad_magic_raises(tmp_path):
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(JaxmlError, match="bad.idx"):
        read_idx(path)


def test_unknown_dtype_code_raises(tmp_path):
    path = tmp_path / "code.idx"
    path.write_bytes(b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(JaxmlError, match="code.idx"):
        read_idx(path)


def test_size_mismatch_raises(tmp_path):
    path = tmp_path / "short.idx.gz"
    write_idx(path, np.zeros((4, 4), np.uint8))
    data = gzip.decompress(path.read_bytes())[:-1]
    path.write_bytes(gzip.compress(data))
    with pytest.raises(JaxmlError, match="short.idx.gz"):
        read_idx(path)
