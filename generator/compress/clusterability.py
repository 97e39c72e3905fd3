"""Clusterability (Filan, Casper, Hod et al. 2021): a network read as a graph whose nodes are its
neurons (the inputs included) and whose edges weigh |w| between consecutive layers; split by
spectral clustering (scikit-learn, precomputed affinity) into k parts; scored by the normalised
cut, the sum over parts of the weight leaving the part over the weight touching it (0 for parts
with nothing between them, larger is less clusterable). Nodes with no edge are left out. A
network is compared with versions of itself whose weights are shuffled within each layer:
its n-cut's percentile and z-score among theirs."""
from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse


def weight_graph(kernels: list[np.ndarray]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The symmetric adjacency of |w| over all neurons (layer by layer, the inputs first), with
    the nodes that have no edge removed: (adjacency, the kept nodes' indices in that order).
    kernels: each Linear layer's weight, (out, in)."""
    sizes = [kernels[0].shape[1]] + [k.shape[0] for k in kernels]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    rows, cols, values = [], [], []
    for layer, w in enumerate(kernels):
        out, inp = np.nonzero(w)
        rows.append(offsets[layer] + inp)
        cols.append(offsets[layer + 1] + out)
        values.append(np.abs(w[out, inp]).astype(np.float64))
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(values)
    n = int(offsets[-1])
    adjacency = sparse.coo_matrix((np.concatenate([v, v]), (np.concatenate([r, c]), np.concatenate([c, r]))),
                                  shape=(n, n)).tocsr()
    kept = np.flatnonzero(np.asarray(adjacency.sum(axis=1)).ravel() > 0)
    return adjacency[kept][:, kept], kept


def n_cut(adjacency: sparse.spmatrix, labels: np.ndarray) -> float:
    """Sum over clusters of cut(A, rest) / vol(A)."""
    adjacency = sparse.csr_matrix(adjacency)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    total = 0.0
    for cluster in np.unique(labels):
        inside = labels == cluster
        volume = degree[inside].sum()
        within = adjacency[inside][:, inside].sum()
        if volume > 0:
            total += (volume - within) / volume
    return float(total)


def spectral_labels(adjacency: sparse.spmatrix, k: int, seed: int = 0) -> np.ndarray:
    # imported here: sklearn.cluster takes a second and a half to import, and every build imports
    # every chapter module (in each worker too), built or not
    from sklearn.cluster import SpectralClustering
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # "graph is not fully connected": it may not be
        # cluster_qr (Damle et al.) reads the clusters off the spectral embedding directly: no
        # k-means restarts, and no randomness beyond the eigensolver's seeded start
        return SpectralClustering(n_clusters=k, affinity="precomputed", random_state=seed,
                                  assign_labels="cluster_qr").fit_predict(adjacency)


def clustered_n_cut(kernels: list[np.ndarray], k: int, seed: int = 0) -> tuple[float, np.ndarray, np.ndarray]:
    """(n-cut, labels, the kept nodes they label) of the network's spectral clustering into k."""
    adjacency, kept = weight_graph(kernels)
    labels = spectral_labels(adjacency, k, seed)
    return n_cut(adjacency, labels), labels, kept


def shuffled(kernels: list[np.ndarray], rng: np.random.Generator, wiring: bool = False) -> list[np.ndarray]:
    """Each layer's weights permuted at random. By default the nonzero weights among the nonzero
    places (for a dense layer: all among all): the same graph and weights per layer, only which
    edge carries which weight left to chance, so what is compared is the arrangement of the
    weights on the network's own wiring. wiring=True: every entry permuted, zeros included,
    which for a pruned layer is a random pruned layer with the same nonzero values."""
    out = []
    for w in kernels:
        if wiring:
            out.append(rng.permutation(w.ravel()).reshape(w.shape))
            continue
        w = w.copy()
        places = np.flatnonzero(w)
        w.flat[places] = rng.permutation(w.flat[places])
        out.append(w)
    return out


def relative(real: float, shuffles: list[float]) -> dict:
    """Where the real n-cut falls among the shuffles': percentile (share of shuffles with an
    n-cut at most the real one's, in %) and z-score."""
    values = np.array(shuffles)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return {"n_cut": real, "shuffles": [float(v) for v in values], "percentile": float(100 * np.mean(values <= real)),
            "z": float((real - values.mean()) / std) if std > 0 else 0.0,
            "shuffle_mean": float(values.mean())}
