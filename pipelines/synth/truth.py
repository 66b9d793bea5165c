"""Streams truth.json.

Registers and records are the bulk of the truth (millions of entries at national
scale), so they are spooled to part files as they are produced and spliced into
truth.json at the end instead of being held in memory.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import IO

from pipelines.synth.model import DIVISIONS, Person


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


class TruthWriter:
    def __init__(self, out_dir: Path) -> None:
        self._out_dir = out_dir
        self._registers_path = out_dir / ".truth-registers.part"
        self._records_path = out_dir / ".truth-records.part"
        self._registers: IO[str] = self._registers_path.open("w", encoding="utf-8", newline="\n")
        self._records: IO[str] = self._records_path.open("w", encoding="utf-8", newline="\n")
        self._any_register = False
        self._any_record = False
        self.files: list[dict[str, object]] = []
        self.redeliveries: list[dict[str, object]] = []
        self.mess: dict[str, list[dict[str, object]]] = defaultdict(list)
        self.variations: Counter[str] = Counter()  # records per variation kind
        self.records_per_person: Counter[str] = Counter()

    def register(self, day: date, entries: Iterable[str]) -> None:
        """One snapshot's register; entries are already JSON-encoded objects."""
        lead = ",\n" if self._any_register else ""
        self._registers.write(f"{lead}{dumps(day.isoformat())}: [\n" + ",\n".join(entries) + "\n]")
        self._any_register = True

    def records(self, records: Iterable[dict[str, object]]) -> None:
        for record in records:
            if record["variation"] is not None:
                self.variations[str(record["variation"])] += 1
            self.records_per_person[str(record["person_id"])] += 1
            self._records.write((",\n" if self._any_record else "") + dumps(record))
            self._any_record = True

    def note(self, category: str, entry: dict[str, object]) -> None:
        self.mess[category].append(entry)

    def finish(
        self,
        header: dict[str, object],
        persons: Iterable[Person],
        mess_extra: dict[str, object],
        cjs_locations: Mapping[str, list[list[str]]],
    ) -> Path:
        """Write truth.json.  `cjs_locations`: per member's iom_id, [at, location, cause]
        change points (pipelines.synth.careers), one member a line."""
        self._registers.close()
        self._records.close()
        path = self._out_dir / "truth.json"
        with path.open("w", encoding="utf-8", newline="\n") as out:
            out.write("{\n")
            for key, value in header.items():
                out.write(f"{dumps(key)}: {dumps(value)},\n")
            out.write(f'"divisions": {dumps(list(DIVISIONS))},\n')
            out.write('"persons": [\n' + ",\n".join(dumps(p.truth()) for p in persons) + "\n],\n")
            out.write('"registers": {\n')
            _splice(self._registers_path, out)
            out.write("\n},\n")
            files = sorted(self.files, key=lambda entry: (str(entry["feed"]), str(entry["name"])))
            out.write('"files": [\n' + ",\n".join(dumps(entry) for entry in files) + "\n],\n")
            out.write('"records": [\n')
            _splice(self._records_path, out)
            out.write("\n],\n")
            out.write('"redeliveries": [\n' + ",\n".join(dumps(entry) for entry in self.redeliveries) + "\n],\n")
            lines = (f"{dumps(iom_id)}: {dumps(entries)}" for iom_id, entries in sorted(cjs_locations.items()))
            out.write('"cjs_locations": {\n' + ",\n".join(lines) + "\n},\n")
            mess = {**{key: self.mess[key] for key in sorted(self.mess)}, **mess_extra}
            out.write(f'"mess": {json.dumps(mess, ensure_ascii=False, indent=1)}\n')
            out.write("}\n")
        os.remove(self._registers_path)
        os.remove(self._records_path)
        return path

    def abandon(self) -> None:
        for handle, part in ((self._registers, self._registers_path), (self._records, self._records_path)):
            handle.close()
            part.unlink(missing_ok=True)


def _splice(part: Path, out: IO[str]) -> None:
    with part.open(encoding="utf-8") as source:
        while chunk := source.read(1 << 20):
            out.write(chunk)
