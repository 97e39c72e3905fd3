"""IDX parsing and MNIST verification: hand-made files, corrupt and truncated ones, the real data."""
import shutil
import struct

import numpy as np
import pytest

from generator.networks.config import DataConfig
from generator.networks.data import FILES, load_mnist, read_idx, verify_checksums
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import mnist_dir


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_read_idx_parses_a_hand_made_file(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "tiny-idx3-ubyte"
    path.write_bytes(idx_bytes(array))
    np.testing.assert_array_equal(read_idx(path), array)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:-1], "does not match its header"),            # truncated data
    (lambda b: b + b"\0", "does not match its header"),          # trailing garbage
    (lambda b: b[:6], "truncated IDX header"),                   # header cut
    (lambda b: b[:2], "no header"),
    (lambda b: b"\x00\x00\x0d" + b[3:], "not an unsigned-byte IDX file"),  # float type
    (lambda b: b"\x12\x34" + b[2:], "not an unsigned-byte IDX file"),
])
def test_read_idx_rejects_damaged_files_naming_them(tmp_path, damage, message):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(damage(idx_bytes(np.zeros((2, 3, 4), dtype=np.uint8))))
    with pytest.raises(BuildError, match=message) as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_wrong_checksum_and_missing_file_are_one_clear_error(tmp_path):
    source = mnist_dir()
    verify_checksums(load_mnist(DataConfig(), source) and source)  # fetches if needed, then passes
    for name in FILES.values():
        shutil.copy(source / name, tmp_path / name)
    corrupt = tmp_path / FILES["test_labels"]
    data = bytearray(corrupt.read_bytes())
    data[100] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    with pytest.raises(BuildError, match="sha256") as error:
        verify_checksums(tmp_path)
    assert str(corrupt) in str(error.value) and "\n" not in str(error.value)
    shutil.copy(source / FILES["test_labels"], corrupt)
    (tmp_path / FILES["train_images"]).unlink()
    with pytest.raises(BuildError, match="missing MNIST file"):
        verify_checksums(tmp_path)


def test_real_mnist_splits_and_label_counts():
    mnist = load_mnist(DataConfig())
    assert mnist.train.pixels.shape == (55_000, 784) and mnist.validation.pixels.shape == (5_000, 784)
    assert mnist.test.pixels.shape == (10_000, 784) and mnist.test.pixels.dtype == np.uint8
    assert np.bincount(mnist.test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    inputs = mnist.test.inputs
    assert float(inputs.min()) == 0.0 and float(inputs.max()) == 1.0
