"""A backdoor and how well attributions find it. A fixed patch (the trigger) stamped on a share of
the training images, relabelled to one class, teaches a network to answer that class whenever
the patch is there. On a triggered image, an attribution map is a detector of "this pixel is in
the trigger": its ROC AUC over the image's pixels (the SPADE paper's measure) is 1 when every
trigger pixel outranks every other pixel, 0.5 when the map says nothing."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

SIDE = 28


@dataclass(frozen=True)
class Trigger:
    rows: tuple[int, int] = (23, 27)      # [start, stop) on the 28 × 28 image
    cols: tuple[int, int] = (23, 27)
    value: float = 1.0                    # the patch's pixel value in [0, 1]

    def mask(self) -> np.ndarray:
        """(784,) booleans: the pixels the trigger covers."""
        grid = np.zeros((SIDE, SIDE), dtype=bool)
        grid[self.rows[0]:self.rows[1], self.cols[0]:self.cols[1]] = True
        return grid.ravel()

    def stamp(self, pixels: np.ndarray) -> np.ndarray:
        """A copy of uint8 images (N, 784) with the patch on them."""
        out = pixels.copy()
        out[:, self.mask()] = int(round(self.value * 255))
        return out


def poison(pixels: np.ndarray, labels: np.ndarray, trigger: Trigger, share: float, target: int,
           seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training set with round(share × N) images (drawn by `seed`) triggered and relabelled
    `target`: (pixels, labels, which were poisoned)."""
    chosen = np.random.default_rng(seed).choice(len(labels), size=int(round(share * len(labels))), replace=False)
    out_pixels, out_labels = pixels.copy(), labels.copy()
    out_pixels[chosen] = trigger.stamp(pixels[chosen])
    out_labels[chosen] = target
    poisoned = np.zeros(len(labels), dtype=bool)
    poisoned[chosen] = True
    return out_pixels, out_labels, poisoned


def trigger_auc(attributions: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """ROC AUC of |attribution| as a score for "pixel in the trigger", per image ((N, 784) → (N,))."""
    return np.array([roc_auc_score(mask, np.abs(row)) for row in attributions])
