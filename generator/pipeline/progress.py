"""Progress bars for long work: on a terminal only (tqdm's disable=None), never in CI or tests,
and not inside parallel workers, where one bar for the whole map says more than interleaved ones."""
from __future__ import annotations

from tqdm import tqdm

QUIET = False   # set by parallel._call in worker processes


def bar(iterable, **kwargs):
    return tqdm(iterable, disable=True if QUIET else None, **kwargs)
