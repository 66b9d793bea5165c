"""Seeded, reproducible synthetic inbox for an IOM hub (see CONTRACT.md).

    from pipelines.synth import generate
    summary = generate(Path("data/demo"), end_date=date(2026, 11, 20))

writes `data/demo/inbox/<feed>/<file>` (every feed of CONTRACT section 3, with its
deliberate mess), `data/demo/redeliveries/` (first versions of corrected files) and
`data/demo/truth.json` (the ground truth an independent oracle checks the pipeline
against).  `scale` multiplies the population and every volume.

For measuring record linkage, `identifierless_share` of the members' court and
attendance rows (half of it for arrests) carry no identifier and one variation of the
person's details (pipelines.synth.variations), and decoys (non-members deliberately close
to a member) appear without identifiers.  Each truth record says which `variation` it
carries and whether it is `identifierless`; persons say which are decoys (`decoy`,
`decoy_of`).
"""

from pipelines.synth.generator import SynthSummary, generate

__all__ = ["SynthSummary", "generate"]
