"""An evaluation's outcome as the store keeps it: read from its ``eval.json``.

``eval.json`` has upstream's shape: ``features`` in the job's order and one ``feature<i>``
entry per position (``feature1``, ``feature2``, ...), so the per-feature results are keyed
by feature id here, for any number of features.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class EvalOutcome:
    eval_json: dict

    @property
    def both_passed(self) -> bool:
        """Upstream's name: every feature's tests passed (two or more)."""
        return bool(self.eval_json["both_passed"])

    @property
    def error(self) -> str | None:
        return self.eval_json["error"]

    @property
    def merge_status(self) -> str | None:
        """clean | conflicts | missing_input | identical | error; None for solo."""
        return (self.eval_json.get("merge") or {}).get("status")

    @property
    def merge_strategy(self) -> str | None:
        """naive | solo-agent1 (the lead's patch alone passed) | skip-merge-identical | None."""
        return (self.eval_json.get("merge") or {}).get("strategy")

    @property
    def naive_conflict(self) -> bool:
        return self.merge_status == "conflicts"

    @property
    def feature_results(self) -> dict[str, bool]:
        """Feature id (a string: a JSON key) -> whether its tests passed, in the job's order;
        only the features the evaluation scored (upstream's scores the first two)."""
        features = self.eval_json["features"]
        return {str(fid): bool((self.eval_json.get(f"feature{i}") or {}).get("passed"))
                for i, fid in enumerate(features, start=1) if f"feature{i}" in self.eval_json}
