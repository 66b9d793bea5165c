"""Reference values the feeds draw from: offences, outcomes, court results, appointments.

Offence codes follow the shape of Home Office / CJS offence codes; descriptions include a
Windows-1252-only character (the en dash) and a pound sign so an arrests reader that
decodes as Latin-1 or UTF-8 gets them visibly wrong.
"""

from __future__ import annotations

# (code, description, weight)
OFFENCES: list[tuple[str, str, float]] = [
    ("TH68010", "Theft from a shop", 14),
    ("BG68002", "Burglary – dwelling", 6),
    ("BG68004", "Burglary – other than a dwelling", 3),
    ("TH68023", "Theft of a motor vehicle", 3),
    ("TH68046", "Theft from a motor vehicle", 4),
    ("TH68049", "Taking a conveyance without consent", 2),
    ("OF61016", "Assault occasioning actual bodily harm", 5),
    ("CJ88116", "Common assault", 7),
    ("CJ88115", "Assault on an emergency worker", 2),
    ("MD71232", "Possession of a controlled drug - Class A", 5),
    ("MD71237", "Possession with intent to supply a controlled drug - Class A", 2),
    ("MD71233", "Possession of a controlled drug - Class B", 4),
    ("CD71039", "Criminal damage (value under £5,000)", 5),
    ("PU86004", "Drunk and disorderly", 2),
    ("BA76004", "Failing to surrender to bail", 3),
    ("CJ03523", "Breach of a criminal behaviour order", 2),
    ("TH68001", "Robbery", 2),
    ("HA97001", "Harassment, without violence", 2),
    ("PL86015", "Threatening behaviour, s.4 Public Order Act", 3),
    ("HS58005", "Handling stolen goods", 2),
    ("CJ88001", "Possession of an offensive weapon in a public place", 2),
    ("RT88191", "Driving whilst disqualified", 2),
    ("CA03001", "Breach of licence conditions (recall)", 2),
]

ARREST_OUTCOMES: list[tuple[str, float]] = [
    ("CHARGED", 22),
    ("CHARGED_REMANDED", 8),
    ("BAILED", 10),
    ("RUI", 18),
    ("NFA", 17),
    ("CAUTION", 6),
    ("CONDITIONAL_CAUTION", 4),
    ("COMMUNITY_RESOLUTION", 8),
    ("TRANSFERRED", 3),
]

# CJS result codes (code, text) by what a hearing did.
SENTENCES_ADULT: list[tuple[list[tuple[str, str]], float]] = [
    ([("1002", "Imprisonment")], 10),
    ([("1115", "Suspended sentence order"), ("3101", "Unpaid work requirement")], 8),
    ([("1116", "Community order"), ("3104", "Rehabilitation activity requirement")], 14),
    ([("1116", "Community order"), ("3052", "Curfew requirement with electronic monitoring")], 8),
    ([("1116", "Community order"), ("3105", "Drug rehabilitation requirement")], 6),
    ([("1015", "Fine"), ("1020", "Costs")], 12),
    ([("1017", "Conditional discharge")], 6),
    ([("1029", "Absolute discharge")], 1),
    ([("1010", "Compensation"), ("1017", "Conditional discharge")], 3),
]
SENTENCES_YOUTH: list[tuple[list[tuple[str, str]], float]] = [
    ([("1081", "Referral order")], 10),
    ([("1024", "Youth rehabilitation order"), ("3052", "Curfew requirement with electronic monitoring")], 5),
    ([("1024", "Youth rehabilitation order")], 6),
    ([("1017", "Conditional discharge")], 3),
]
REMANDS: dict[str, tuple[str, str]] = {
    "CB": ("4027", "Remanded on conditional bail"),
    "UB": ("4014", "Remanded on unconditional bail"),
    "PR": ("4004", "Remanded in custody"),
    "LA": ("4011", "Remanded to local authority accommodation"),
    "SA": ("4012", "Remanded to secure accommodation"),
}
SENT_FOR_TRIAL = ("2063", "Sent to Crown Court for trial")
COMMITTED_FOR_SENTENCE = ("1057", "Committed to Crown Court for sentence")
DISMISSED = ("2006", "Dismissed")
WITHDRAWN = ("2050", "Withdrawn")


APPOINTMENT_TYPES: dict[str, list[str]] = {
    "PROBATION": ["Supervision", "Supervision", "Home visit", "Accredited programme", "Unpaid work induction"],
    "YOS": ["Supervision", "Reparation", "Education review"],
    "DIP": ["Keyworker session", "Drug test", "Script review", "Group session"],
    "HOUSING": ["Housing options interview", "Tenancy sustainment visit"],
    "ETE": ["Employability workshop", "College induction", "CV session"],
    "NON_STATUTORY": ["Mentoring session", "Peer mentor meeting", "Family support"],
}

STATUS_CHANGES: dict[str, list[tuple[str, float]]] = {
    "DIP": [("TREATMENT_STARTED", 5), ("TREATMENT_COMPLETED", 2), ("TREATMENT_DROPPED", 3)],
    "HOUSING": [("HOUSED", 5), ("LOST_ACCOMMODATION", 3)],
    "ETE": [("EDUCATION_STARTED", 3), ("EMPLOYMENT_STARTED", 3), ("ETE_ENDED", 2)],
}
