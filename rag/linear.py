"""The small linear model every fitted scorer uses: the reranker and abstention models (``rag.retrieve``) and the
prose piece model (``rag.answer.compose.pieces``). Standardise, dot with weights, add the intercept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class LinearModel:
    """Standardise, dot with weights, add intercept: the logit of a logistic model."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(((x - self.mean) / self.scale) @ self.coef + self.intercept, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
            "coef": [float(v) for v in self.coef],
            "intercept": float(self.intercept),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearModel:
        return cls(
            tuple(data["features"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )

    @classmethod
    def only(cls, features: Sequence[str], name: str, weight: float = 1.0) -> LinearModel:
        """A model that scores by one feature (the fallback before weights are fitted)."""
        coef = np.array([weight if f == name else 0.0 for f in features])
        return cls(tuple(features), np.zeros(len(features)), np.ones(len(features)), coef, 0.0)


def sigmoid(z: float | np.ndarray) -> Any:
    """The logistic function, its argument clipped to [-50, 50] (no overflow warnings)."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
