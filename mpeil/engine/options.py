"""What the engine is asked for: output indicators and the method's rules (no numbers, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EngineOptions", "IndicatorSpec"]


@dataclass(frozen=True)
class IndicatorSpec:
    """An output indicator and the catalogue codes that may supply it, in order of preference."""

    code: str
    sources: tuple[str, ...]

    @classmethod
    def plain(cls, code: str) -> IndicatorSpec:
        return cls(code, (code,))


@dataclass(frozen=True)
class EngineOptions:
    """The engine's options: indicators and the rules of a method (see ``scenarios/methods``)."""

    indicators: tuple[IndicatorSpec, ...]
    replacement_rule: str = "ceil"
    replacement_modules: tuple[str, ...] = ("A1-A3", "A4", "A5", "C1", "C2", "C3", "C4")
    loss_basis: str = "installed"
    allocation: str = "cutoff_d"
    multicycle_split: str = "equal"

    def as_dict(self) -> dict:
        return {
            "indicators": {s.code: list(s.sources) for s in self.indicators},
            "replacement_rule": self.replacement_rule,
            "replacement_modules": list(self.replacement_modules),
            "loss_basis": self.loss_basis,
            "allocation": self.allocation,
            "multicycle_split": self.multicycle_split,
        }
