"""A torch nn.Sequential saved with torch.save, loaded without running code from the file:
`weights_only=True` with an allow-list of the supported module classes, so that a pickle naming
anything else (a function to call, a class to build) is refused before it is touched."""
from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch
from torch import nn

from generator.own.layers import DROPPED, FOLDED, KEPT, SUPPORTED, normalise
from generator.pipeline.errors import ConfigError

ALLOWED = (nn.Sequential, *KEPT, *DROPPED, *FOLDED)


def load_torch(path: Path) -> nn.Sequential:
    try:
        with torch.serialization.safe_globals(list(ALLOWED)):
            model = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as e:
        named = re.search(r"GLOBAL ([\w.]+)", str(e))
        what = f"names {named.group(1)}, which" if named else "holds something that"
        raise ConfigError(f"{path}: refused: the file {what} is not a supported layer ({SUPPORTED}); loading "
                          f"never runs code from a file") from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"{path}: not a readable torch file ({first})") from None
    return normalise(model, str(path))
