"""One thread for numpy's BLAS and scikit-learn's OpenMP inside a function. Tasks already run
torch on one thread (pipeline/parallel.py); the BLAS and OpenMP pools are the other place a
float sum can split differently with the thread count, and a build must give the same bytes
for any --jobs (in the build's process or in a worker, whose pools joblib sizes differently)."""
from __future__ import annotations

import functools

from threadpoolctl import threadpool_limits


def one_thread(function):
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with threadpool_limits(1):
            return function(*args, **kwargs)
    return wrapped
