"""Seeded, reproducible synthetic inbox for an IOM hub (see CONTRACT.md).

    from pipelines.synth import generate
    summary = generate(Path("data/demo"), end_date=date(2026, 11, 20))

writes `data/demo/inbox/<feed>/<file>` (every feed of CONTRACT section 3, with its
deliberate mess), `data/demo/redeliveries/` (first versions of corrected files) and
`data/demo/truth.json` (the ground truth an independent oracle checks the pipeline
against).  `scale` multiplies the population and every volume.

Members have criminal-justice careers (pipelines.synth.careers): some are serving a
sentence at the start, some are charged and remanded in custody, heard again until bailed
or sentenced (some to imprisonment, then scheduled for release and released on licence),
some are recalled while on licence, and a few arrests are never closed.
`truth["cjs_locations"]` gives, per iom_id of everyone on a register snapshot, the
change points `[at, location, cause]` of where they are (COMMUNITY, POLICE_CUSTODY,
REMANDED_IN_CUSTODY, IN_PRISON, ON_LICENCE, UNKNOWN) from the first day 00:00 to D 00:00,
as the feeds' rows show it (the rules are in pipelines.synth.careers and model.Timeline).

For measuring record linkage, `identifierless_share` of the members' court and
attendance rows (half of it for arrests) carry no identifier and one variation of the
person's details (pipelines.synth.variations), and decoys (non-members deliberately close
to a member) appear without identifiers.  Each truth record says which `variation` it
carries and whether it is `identifierless`; persons say which are decoys (`decoy`,
`decoy_of`).
"""

from pipelines.synth.generator import SynthSummary, generate

__all__ = ["SynthSummary", "generate"]
