"""Writes deliveries into the inbox with their arrival times, and logs them in the truth."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from pipelines.synth.clock import DueTimes, epoch, truth_ts
from pipelines.synth.model import Delivery
from pipelines.synth.truth import TruthWriter


class Inbox:
    def __init__(self, out_dir: Path, truth: TruthWriter, due: DueTimes) -> None:
        self.root = out_dir / "inbox"
        self._redeliveries = out_dir / "redeliveries"
        self._truth = truth
        self._due = due
        self.rows_per_feed: Counter[str] = Counter()
        self.file_count = 0
        self.latest_arrival = 0

    def deliver(self, delivery: Delivery) -> None:
        path = self.root / delivery.feed / delivery.name
        if path.exists():
            raise AssertionError(f"{delivery.feed}/{delivery.name} delivered twice")
        _write(path, delivery.payload, epoch(delivery.arrived))
        self.latest_arrival = max(self.latest_arrival, epoch(delivery.arrived))
        late = delivery.file_date is not None and delivery.arrived > self._due.due_at(delivery.feed, delivery.file_date)
        self._truth.files.append(
            {
                "feed": delivery.feed,
                "name": delivery.name,
                "file_date": delivery.file_date.isoformat() if delivery.file_date else None,
                "arrived": truth_ts(delivery.arrived),
                "late": late,
                "rows": delivery.rows,
                "quarantined_rows": delivery.quarantined_rows,
                "rejected_whole": delivery.rejected_whole,
                "corrected": delivery.original is not None,
            }
        )
        self._truth.records(delivery.records)
        for category, entry in delivery.notes:
            self._truth.note(category, entry)
        if delivery.original is not None:
            payload, arrived = delivery.original
            _write(self._redeliveries / delivery.feed / delivery.name, payload, epoch(arrived))
            self._truth.redeliveries.append(
                {
                    "feed": delivery.feed,
                    "name": delivery.name,
                    "original": f"redeliveries/{delivery.feed}/{delivery.name}",
                    "original_arrived": truth_ts(arrived),
                    "note": "first version; the inbox holds the correction, which replaces it",
                }
            )
        self.rows_per_feed[delivery.feed] += delivery.rows
        self.file_count += 1


def _write(path: Path, payload: bytes, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    os.utime(path, (mtime, mtime))
