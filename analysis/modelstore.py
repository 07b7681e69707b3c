"""Shipped and retrained linear models (模型): weights in .npz, metadata in JSON.

Weights are plain arrays rather than pickled estimators, so a model loads under any
scikit-learn version and cannot run code. Retrained remit models live in
``<data_dir>/models/<name>-<version>.npz``; ``<data_dir>/models/active.json`` names the promoted
one, which wins over the packaged model.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

log = logging.getLogger(__name__)
PACKAGED = Path(__file__).parent / "models"


@dataclass
class LinearModel:
    """A logistic model over hashed features, with the decision threshold chosen in CV."""

    name: str
    version: str
    coef: np.ndarray
    intercept: float
    threshold: float
    thresholds: dict[str, float] = field(default_factory=dict)  # per genre (体裁), from CV
    # The remit model's character TF-IDF (features.char_tfidf): the IDF of its training texts and
    # the weight of the genre/usage block; None: the shared hashed features (features.vectorize).
    idf: np.ndarray | None = None
    extras_weight: float = 0.0

    def threshold_for(self, genre: str) -> float:
        return float(self.thresholds.get(genre, self.threshold))

    def proba(self, X: csr_matrix | np.ndarray) -> np.ndarray:
        z = X @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "version": self.version, "intercept": self.intercept,
                "threshold": self.threshold, "thresholds": self.thresholds, "extras_weight": self.extras_weight}
        arrays: dict[str, np.ndarray] = {"coef": self.coef.astype(np.float32),
                                         "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        if self.idf is not None:
            arrays["idf"] = self.idf.astype(np.float32)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]

    @classmethod
    def from_bytes(cls, raw: bytes) -> LinearModel:
        with np.load(io.BytesIO(raw)) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            idf = data["idf"].astype(np.float32) if "idf" in data.files else None
            return cls(meta["name"], meta["version"], data["coef"].astype(np.float64),
                       float(meta["intercept"]), float(meta["threshold"]), meta.get("thresholds") or {},
                       idf, float(meta.get("extras_weight") or 0.0))


def _packaged(filename: str) -> bytes | None:
    res = resources.files("yuqing.analysis").joinpath(f"models/{filename}")
    return res.read_bytes() if res.is_file() else None


def load(name: str, data_dir: str | None = None) -> LinearModel | None:
    """The active model called ``name`` (``emergency``, ``emotion``, ``rumor``), or None.

    Which file is active is read on every call (``active.json`` is small, and another process
    may promote a model); the file itself is parsed once per process while it stays the same
    file: a data folder of its own (every test's, every installation's) loads the shipped
    models as the same arrays, about 0.2 s spared each time.
    """
    if data_dir:
        active = Path(data_dir) / "models" / "active.json"
        if active.is_file():
            chosen = json.loads(active.read_text(encoding="utf-8")).get(name)
            path = Path(data_dir) / "models" / chosen if chosen else None
            if path is not None and path.is_file():
                stat = path.stat()
                return _retrained(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    return _shipped(name)


@lru_cache(maxsize=32)
def _retrained(path: str, mtime_ns: int, size: int) -> LinearModel:
    """A retrained model's file, parsed once per (path, modification time, size)."""
    return LinearModel.from_bytes(Path(path).read_bytes())


@lru_cache(maxsize=8)
def _shipped(name: str) -> LinearModel | None:
    raw = _packaged(f"{name}.npz")
    return LinearModel.from_bytes(raw) if raw else None


def promote(data_dir: Path, name: str, filename: str) -> None:
    active = data_dir / "models" / "active.json"
    current = json.loads(active.read_text(encoding="utf-8")) if active.is_file() else {}
    current[name] = filename
    active.write_text(json.dumps(current, ensure_ascii=False, indent=1), encoding="utf-8")
