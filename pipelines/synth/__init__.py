"""Seeded, reproducible synthetic inbox for an IOM hub (see CONTRACT.md).

    from pipelines.synth import generate
    summary = generate(Path("data/demo"), end_date=date(2026, 11, 20))

writes `data/demo/inbox/<feed>/<file>` (every feed of CONTRACT section 3, with its
deliberate mess), `data/demo/redeliveries/` (first versions of corrected files) and
`data/demo/truth.json` (the ground truth an independent oracle checks the pipeline
against).  `scale` multiplies the population and every volume.
"""

from pipelines.synth.generator import SynthSummary, generate

__all__ = ["SynthSummary", "generate"]
