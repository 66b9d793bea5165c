"""Re-estimate the linkage model's parameters and write ``model.json`` (``iom-hub linkage-train``).

Unsupervised, as Splink intends: u probabilities (how often two different people agree
by chance) from random pairs, m probabilities (how often the same person's records
agree) by expectation maximisation on blocked pairs, each blocking rule fixing the
comparisons it blocks on.  The data is a generated inbox with the realistic mix of
variations and decoys; a hub with enough reviewed history can train on its own.
Seeded, so the same inputs give the same model file.
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
from splink import DuckDBAPI, Linker, block_on

from pipelines.feeds import LINKED_FEEDS
from pipelines.linkage.features import person_features
from pipelines.linkage.model import MODEL_PATH, declaration
from pipelines.linkage.workbench import all_records, generate_and_load
from pipelines.store import register_in_force

SEED = 20261201
# No level is impossible for the same person, nor for two different people.  Generated
# data never has a house move or a mistyped date of birth, so expectation maximisation
# puts m at ~0 for those levels, which would make such a record unlinkable whatever else
# agreed.  A floor on every probability (then renormalised) keeps each level's weight finite.
M_FLOOR = 0.01
U_FLOOR = 1e-4


def training_frames(work_dir: Path, *, end_date: date, days: int, seed: int, share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    bench = generate_and_load(work_dir, end_date=end_date, days=days, seed=seed, scale=1.0, share=share)
    _, register = register_in_force(bench.engine, end_date)
    records = pd.concat([all_records(bench.engine, f, end_date) for f in LINKED_FEEDS], ignore_index=True)
    bench.engine.dispose()
    left = person_features(register, register["iom_id"])
    right = person_features(records, pd.Series(range(len(records))).astype(str))
    return left, right


def train(left: pd.DataFrame, right: pd.DataFrame) -> dict:
    # Splink warns of levels the data never shows; the floors below deal with exactly those.
    logging.getLogger("splink").setLevel(logging.ERROR)
    con = duckdb.connect()
    try:
        db = DuckDBAPI(connection=con)
        linker = Linker(
            [db.register(left, dataset_display_name="register"), db.register(right, dataset_display_name="records")],
            declaration(),
            log_level=None,
        )
        exact = block_on("surname", "forename1", "dob")
        linker.training.estimate_probability_two_random_records_match([exact], recall=0.8)
        linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=SEED)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname", "forename1"))
        return with_floors(linker.misc.save_model_to_json())
    finally:
        con.close()


def _floored(values: list[float | None], floor: float) -> list[float]:
    raised = [max(v or 0.0, floor) for v in values]
    # Twelve significant digits: what the data says, without the last digits that vary
    # with the order DuckDB happens to sum in, so retraining on the same data gives the same file.
    return [float(f"{v / sum(raised):.12g}") for v in raised]


def with_floors(model: dict) -> dict:
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for name, floor in (("m_probability", M_FLOOR), ("u_probability", U_FLOOR)):
            for level, value in zip(levels, _floored([lv.get(name) for lv in levels], floor), strict=True):
                level[name] = value
    return model


def train_and_save(*, end_date: date, days: int = 60, seed: int = 23, share: float = 0.5, out: Path = MODEL_PATH) -> Path:
    with tempfile.TemporaryDirectory(prefix="iom-linkage-train-") as tmp:
        left, right = training_frames(Path(tmp), end_date=end_date, days=days, seed=seed, share=share)
    model = train(left, right)
    model.pop("linker_uid", None)  # random per linker: keep the file reproducible
    out.write_text(json.dumps(model, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out
