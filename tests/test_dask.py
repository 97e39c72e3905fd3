"""The same tasks on an existing engine: joblib's Dask backend on a two-worker LocalCluster gives
the same JSON, byte for byte, as the local build."""
import json

import pytest

from tests.conftest import json_files, run_build

distributed = pytest.importorskip("distributed")


# The MLP chapters and the t-SNE maps (which must not depend on the process they run in): enough
# to prove the backend, at half the cost of every chapter.
ON_DASK = ("mnist-mlp-lth", "mnist-mlp-lth-dense-first", "tsne")


def test_quick_build_on_a_local_dask_cluster_is_byte_identical(quick_build, tmp_path):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = run_build(tmp_path / "build", tmp_path / "site", "--backend", "dask",
                           "--scheduler", cluster.scheduler_address, "--only", ",".join(ON_DASK))
        with distributed.Client(cluster) as client:
            worker_pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert result.returncode == 0, result.stderr
    runs = json.loads((tmp_path / "build" / "last-build.json").read_text())["runs"]
    assert runs and {run["pid"] for run in runs} <= worker_pids      # every task ran on the cluster
    mine = lambda files: {k: v for k, v in files.items() if k.split("/")[0] in ON_DASK or k.startswith("mnist/")}
    first, second = mine(json_files(quick_build["data"])), mine(json_files(tmp_path / "build" / "site" / "data"))
    assert first.keys() == second.keys() and any(k.startswith("tsne/") for k in first)
    for name in first:
        assert first[name] == second[name], name


def test_an_unreachable_scheduler_is_one_error_line(tmp_path):
    result = run_build(tmp_path / "build", tmp_path / "site", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9",
                       env_extra={"FLOWGRAPH_DASK_CONNECT_TIMEOUT": "3"})   # the same line after 20 s by default
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler")
