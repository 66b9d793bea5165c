"""Score records against a register with the trained model (Splink on DuckDB).

One in-memory DuckDB and one Splink linker serve the process (building a linker costs
more than scoring a day's records); each call registers its records, scores them and
drops them again.  Term frequencies come from the register alone, so a record's scores
depend only on that record, that register and the model: the same inputs always give
the same weights, whatever else is linked alongside.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from functools import cache

import duckdb
import pandas as pd
from splink import DuckDBAPI, Linker

from pipelines.linkage.model import CONTRADICTING, MODEL_PATH, load_settings

# Splink reports progress through the logging module; a run's log is for counts only.
logging.getLogger("splink").setLevel(logging.WARNING)

TF_COLUMNS = ("surname", "forename1")
PAIR_COLUMNS = ["unique_id_l", "unique_id_r", "match_weight", "contradicted", "evidence"]


@cache
def trained_settings() -> dict:
    return load_settings(MODEL_PATH)


def _level_labels(settings: dict) -> dict[str, dict[int, str]]:
    """gamma value -> label, per comparison (Splink numbers non-null levels from the top down)."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in settings["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        top = len(levels) - 1
        labels[comparison["output_column_name"]] = {
            top - i: lv.get("label_for_charts", lv["sql_condition"]) for i, lv in enumerate(levels)
        } | {-1: "missing on one side"}
    return labels


# Term frequencies come from the register alone (so scores do not depend on what else is
# linked in the same batch), smoothed towards the model's average chance agreement u
# with this many pseudo-members: a register of a dozen members says little about how
# common a name is, and unsmoothed it would make every name in it look common.
TF_PSEUDO_MEMBERS = 250


def _average_agreement(settings: dict, column: str) -> float:
    """u of the exact-match level that carries the column's term-frequency adjustment."""
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("tf_adjustment_column") == column:
                return float(level["u_probability"])
    raise KeyError(column)


def term_frequencies(register: pd.DataFrame, column: str, average: float) -> pd.DataFrame:
    values = register[column].dropna()
    if values.empty:
        return pd.DataFrame({column: pd.Series(dtype=object), f"tf_{column}": pd.Series(dtype=float)})
    counts = values.value_counts()
    smoothed = (counts + TF_PSEUDO_MEMBERS * average) / (len(values) + TF_PSEUDO_MEMBERS)
    return pd.DataFrame({column: counts.index.astype(object), f"tf_{column}": smoothed.to_numpy()})


class Scorer:
    """The trained model, ready to score: one in-memory DuckDB and one Splink linker for
    the process (building a linker costs more than scoring a day's records), with the
    register of the moment and its term frequencies registered beside it."""

    def __init__(self, settings: dict, template: pd.DataFrame) -> None:
        self.settings = settings
        self._con = duckdb.connect()
        self._db = DuckDBAPI(connection=self._con)
        # Empty tables with the feature columns: the linker checks both sides' columns once.
        sides = [self._db.register(template.iloc[0:0]), self._db.register(template.iloc[0:0])]
        self._linker = Linker(sides, json.loads(json.dumps(settings)), log_level=None, validate_settings=False)
        self._register_key: str | None = None
        self._register = sides[0]
        self._lock = threading.Lock()  # one DuckDB connection: one scoring at a time

    def _use_register(self, register: pd.DataFrame) -> None:
        key = hashlib.sha256(pd.util.hash_pandas_object(register.astype(str), index=False).to_numpy().tobytes()).hexdigest()
        if key == self._register_key:
            return
        if self._register_key is not None:
            self._register.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        self._register = self._db.register(register)
        for column in TF_COLUMNS:
            frequencies = term_frequencies(register, column, _average_agreement(self.settings, column))
            self._linker.table_management.register_term_frequency_lookup(self._db.register(frequencies), column)
        self._register_key = key

    def score(self, register: pd.DataFrame, records: pd.DataFrame, min_weight: float) -> pd.DataFrame:
        with self._lock:
            self._use_register(register)
            right = self._db.register(records)
            try:
                scored = self._linker.inference.predict_between(
                    self._register, right, threshold_match_weight=min_weight, warning_mode="never"
                )
                frame = scored.as_pandas_dataframe()
                scored.drop_table_from_database_and_remove_from_cache()
            finally:
                right.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        if frame.empty:
            return pd.DataFrame(columns=PAIR_COLUMNS)
        contradicted = pd.concat([frame[f"gamma_{c}"] == 0 for c in CONTRADICTING], axis=1).any(axis=1)
        return frame.assign(contradicted=contradicted, evidence=_evidence(frame, self.settings))[PAIR_COLUMNS]


@cache
def _scorer(settings_json: str, columns: tuple[str, ...]) -> Scorer:
    return Scorer(json.loads(settings_json), pd.DataFrame(columns=list(columns)))


def score_pairs(register: pd.DataFrame, records: pd.DataFrame, min_weight: float, settings: dict | None = None) -> pd.DataFrame:
    """Scored pairs (register unique_id_l, record unique_id_r, match_weight, contradicted,
    evidence) with a weight of at least ``min_weight``, among the pairs the model's
    blocking rules let through.

    ``contradicted``: a comparison in CONTRADICTING fell to its last level (disagrees).
    ``evidence`` is a JSON list of [comparison, level, weight] for each comparison: what
    agreed and how much it counted, for the review list.  It holds no personal data.
    """
    if register.empty or records.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    scorer = _scorer(json.dumps(settings or trained_settings(), sort_keys=True), tuple(register.columns))
    return scorer.score(register, records, min_weight)


def _evidence(scored: pd.DataFrame, settings: dict) -> pd.Series:
    """JSON [[comparison, level, weight], ...] per pair, built column-wise (a day's pairs
    number in the thousands, a national backlog's in the hundreds of thousands)."""
    parts = []
    for name, table in _level_labels(settings).items():
        weight = scored[f"mw_{name}"].fillna(0.0)
        if f"mw_tf_adj_{name}" in scored:
            weight = weight + scored[f"mw_tf_adj_{name}"].fillna(0.0)
        level = scored[f"gamma_{name}"].map({gamma: json.dumps(label) for gamma, label in table.items()})
        parts.append(f"[{json.dumps(name)}, " + level + ", " + weight.round(2).astype(str) + "]")
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + ", " + part
    return "[" + joined + "]"
