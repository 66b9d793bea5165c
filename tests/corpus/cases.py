"""The bad-input corpus: every case, the file it delivers and the outcome it must have.

Read a case as: id, feed, file name, how its bytes are made, what must happen.
``loads(n, bad=[(where, reason), ...])`` means the file is LOADED with ``n`` rows and the
listed rows quarantined, in file order, each at its line (CSV), sheet row (XLSX) or element
path (XML) with a reason naming the column (or columns) and the rule.
``rejected(reason, rows=n)`` means the file is quarantined whole, counting ``n`` rows.
``untrusted`` cases (bombs, a 2 GiB file) run in a child process with a memory ceiling and
a time limit, to prove they are refused without exhausting either.
Readings the outcomes rest on are in docs/design.md, "Bad input: readings".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipelines.feeds import FEEDS
from tests.corpus.make import (
    BOBBY,
    FILE_DAY,
    JO,
    LAYLA,
    LIAM,
    MIB,
    PEOPLE,
    RELEASE_COLUMNS,
    SIOBHAN,
    TRIO,
    ZOE,
    Sheet,
    Sparse,
    appointment,
    arrest,
    as_dates,
    cache_formula,
    court_file,
    court_xml,
    crowd,
    csv_file,
    csv_text,
    defendant,
    entity_bomb,
    external_entity,
    lines,
    member,
    patch_sheet,
    quadratic_bomb,
    release,
    release_rows,
    xlsx,
    zip_bomb,
)  # fmt: skip

Content = bytes | Sparse


@dataclass(frozen=True)
class Outcome:
    status: str  # LOADED or REJECTED
    loaded: int
    quarantined: int
    bad: tuple[tuple[str, str], ...] = ()  # (location, reason fragment) per quarantined row, in file order
    reject: str = ""  # fragment of the whole-file reason
    findings: int = 0  # invalid identifiers: data-quality findings, rows still load
    stored: dict[str, tuple[object, ...]] = field(default_factory=dict)  # column -> loaded values, in file order
    drift: str = ""  # unknown extra columns reported
    note: str = ""


def loads(n: int, *, bad: list[tuple[str, str]] = (), **kw: object) -> Outcome:  # type: ignore[assignment]
    return Outcome("LOADED", n, len(bad), tuple(bad), **kw)  # type: ignore[arg-type]


def rejected(reason: str, *, rows: int = 1) -> Outcome:
    return Outcome("REJECTED", 0, rows, reject=reason)


@dataclass(frozen=True)
class Case:
    id: str
    feed: str
    name: str
    build: Callable[[], Content]
    expect: Outcome
    before: Callable[[], dict[str, bytes]] | None = None  # files of the same feed delivered first
    untrusted: bool = False


COHORT_CSV = f"cohort_{FILE_DAY}.csv"
ARRESTS_CSV = f"niche_arrests_{FILE_DAY}_063000.csv"
COURT_XML = f"court_results_B13HT_{FILE_DAY}.xml"
RELEASES_XLSX = f"prison_releases_{FILE_DAY}.xlsx"
RELEASES_CSV = f"prison_releases_{FILE_DAY}.csv"
ATTENDANCE_CSV = f"attendance_PROBATION_{FILE_DAY}.csv"

NOT_DATE = "not a valid date (YYYY-MM-DD)"
NOT_UK_DATE = "not a valid date (DD/MM/YYYY)"
REQUIRED = "required value missing"
CONTROL = "contains a control character"
INVALID_PNC = "2012/0394773A"  # check letter should be H
SHORT_PNC = "12/394773H"  # short form of SIOBHAN's 2012/0394773H
LONG_TEXT = "x" * 100_000


def cohort(*rows: dict[str, str], **kw: object) -> Callable[[], bytes]:
    return lambda: csv_file("cohort", rows, **kw)


def trio(**over: dict[str, str]) -> list[dict[str, str]]:
    """The three usual members; ``over`` maps a person's iom_id to changed fields."""
    return [member(p, **over.get(p.iom_id, {})) for p in TRIO]


def edited(text: Callable[[], str], edit: Callable[[str], str], encoding: str = "utf-8") -> Callable[[], bytes]:
    return lambda: edit(text()).encode(encoding)


def cohort_text() -> str:
    return csv_text("cohort", trio())


def arrests(*rows: dict[str, str], **kw: object) -> Callable[[], bytes]:
    return lambda: csv_file("arrests", rows, **kw)


def attendance(*rows: dict[str, str], **kw: object) -> Callable[[], bytes]:
    return lambda: csv_file("attendance", rows, **kw)


def court(*defendants: dict[str, object], **kw: str) -> Callable[[], bytes]:
    return lambda: court_file(*defendants, **kw)


def workbook(*sheets: Sheet, patch: Callable[[str], str] | None = None) -> Callable[[], bytes]:
    def build() -> bytes:
        data = xlsx(*sheets)
        return patch_sheet(data, patch) if patch else data

    return build


def releases_sheet(*rows: dict[str, object], **kw: object) -> Sheet:
    return Sheet("Releases", release_rows(*(as_dates(r) for r in rows)), **kw)  # type: ignore[arg-type]


R1, R2, R3 = (release(p) for p in TRIO)
A1, A2, A3 = (arrest(p, f"CUS/26/{1001 + i}") for i, p in enumerate(TRIO))
V1, V2, V3 = (appointment(p, f"APP-{501 + i}") for i, p in enumerate(TRIO))

CASES: list[Case] = [
    # ------------------------------------------------------------------ cohort (CSV, UTF-8)
    Case("cohort-empty-file", "cohort", COHORT_CSV, lambda: b"", rejected("the file is empty")),
    Case("cohort-header-only", "cohort", COHORT_CSV, cohort(), loads(0)),
    Case("cohort-truncated-mid-row", "cohort", COHORT_CSV, edited(cohort_text, lambda t: t[: t.rindex("LDS-000103") + 14]),
         loads(2, bad=[("4", "the row has 2 fields but the header has 24")])),
    Case("cohort-truncated-inside-quotes", "cohort", COHORT_CSV,
         edited(cohort_text, lambda t: t + 'LDS-000104,Smith,"Jo\nwas cut off'),
         loads(3, bad=[("5", "the row cannot be read as CSV: unexpected end of data")])),
    Case("cohort-missing-required-column", "cohort", COHORT_CSV,
         lambda: csv_file("cohort", trio(), columns=[c for c in FEEDS["cohort"].column_names if c != "managing_division"]),
         rejected("required column(s) missing: managing_division", rows=3)),
    Case("cohort-extra-and-reordered-columns", "cohort", COHORT_CSV,
         lambda: csv_file("cohort", trio(), columns=["favourite_colour", *reversed(FEEDS["cohort"].column_names)]),
         loads(3, drift="favourite_colour", stored={"surname": tuple(p.surname for p in TRIO)})),
    Case("cohort-semicolon-delimiter", "cohort", COHORT_CSV, edited(cohort_text, lambda t: t.replace(",", ";")),
         rejected("the header row is one column holding ';': the file is not comma-separated", rows=3)),
    Case("cohort-utf16-with-bom", "cohort", COHORT_CSV, edited(cohort_text, str, "utf-16"),
         rejected("the file is UTF-16 (little-endian) text (byte-order mark); cohort files must be UTF-8", rows=3)),
    Case("cohort-utf16-without-bom", "cohort", COHORT_CSV, edited(cohort_text, str, "utf-16-be"),
         rejected("looks like UTF-16 text (NUL bytes between characters)", rows=3)),
    Case("cohort-latin1-in-utf8-feed", "cohort", COHORT_CSV, edited(cohort_text, str, "latin-1"),
         rejected("not valid UTF-8 text: byte", rows=3)),
    Case("cohort-utf8-byte-order-mark", "cohort", COHORT_CSV, lambda: b"\xef\xbb\xbf" + cohort_text().encode(),
         loads(3, stored={"surname": ("Ó Briain", "Ng-Smith", "O'Brien"), "forenames": ("Siobhán", "Zoë", "Liam")})),
    Case("cohort-crlf-line-endings", "cohort", COHORT_CSV,
         lambda: csv_file("cohort", trio(**{ZOE.iom_id: {"gender": "Q"}}), newline="\r\n"),
         loads(2, bad=[("3", "gender: not one of M, F, X, U")])),
    Case("cohort-mixed-line-endings", "cohort", COHORT_CSV,
         edited(lambda: csv_text("cohort", trio(**{LIAM.iom_id: {"date_of_birth": "1988-02-30"}})),
                lambda t: "".join(ln.rstrip("\n") + end for ln, end in zip(lines(t), ["\r\n", "\n", "\r", "\r\n"], strict=True))),
         loads(2, bad=[("4", f"date_of_birth: {NOT_DATE}")])),
    Case("cohort-quoted-newlines-and-commas", "cohort", COHORT_CSV,
         lambda: csv_file("cohort", trio(**{SIOBHAN.iom_id: {"deselection_reason": "Moved away, to Bradford\nthen back"},
                                            LIAM.iom_id: {"status": "RETIRED"}})),
         loads(2, bad=[("5", "status: not one of NOMINATED, ACTIVE, DESELECTED")],
               stored={"deselection_reason": ("Moved away, to Bradford\nthen back", None)})),
    Case("cohort-text-after-closing-quote", "cohort", COHORT_CSV,
         edited(cohort_text, lambda t: t.replace("Ng-Smith", '"Ng"-Smith')),
         loads(2, bad=[("3", "the row cannot be read as CSV")])),
    Case("cohort-nul-byte", "cohort", COHORT_CSV, cohort(*trio(**{ZOE.iom_id: {"surname": "Ng\x00Smith"}})),
         loads(2, bad=[("3", f"surname: {CONTROL}")])),
    Case("cohort-control-characters", "cohort", COHORT_CSV,
         cohort(*trio(**{ZOE.iom_id: {"forenames": "Zo\x1b[31më", "deselection_reason": "bell\x07"}})),
         loads(2, bad=[("3", f"forenames: {CONTROL}; deselection_reason: {CONTROL}")])),
    Case("cohort-100000-character-field", "cohort", COHORT_CSV,
         cohort(*trio(**{SIOBHAN.iom_id: {"deselection_reason": LONG_TEXT}})),
         loads(3, stored={"deselection_reason": (LONG_TEXT, None, None)})),
    Case("cohort-field-over-the-csv-limit", "cohort", COHORT_CSV,
         cohort(*trio(**{ZOE.iom_id: {"deselection_reason": "y" * 200_000}})),
         loads(2, bad=[("3", "the row cannot be read as CSV: field larger than field limit (131072)")])),
    Case("cohort-same-iom-id-twice", "cohort", COHORT_CSV, cohort(member(SIOBHAN), member(ZOE), member(SIOBHAN, forenames="Siobhan")),
         loads(1, bad=[("2", "iom_id is not unique within the snapshot"), ("4", "iom_id is not unique within the snapshot")])),
    Case("cohort-invalid-iom-id", "cohort", COHORT_CSV, cohort(*trio(**{ZOE.iom_id: {"iom_id": "LDS-12"}})),
         loads(2, bad=[("3", "iom_id: not a valid iom_id, and it is required")])),
    Case("cohort-impossible-date", "cohort", COHORT_CSV, cohort(*trio(**{ZOE.iom_id: {"date_of_birth": "2026-02-31"}})),
         loads(2, bad=[("3", f"date_of_birth: {NOT_DATE}")])),
    Case("cohort-two-digit-year", "cohort", COHORT_CSV, cohort(*trio(**{ZOE.iom_id: {"date_of_birth": "95-03-07"}})),
         loads(2, bad=[("3", f"date_of_birth: {NOT_DATE}")])),
    Case("cohort-born-before-1900", "cohort", COHORT_CSV, cohort(*trio(**{ZOE.iom_id: {"date_of_birth": "1899-12-31"}})),
         loads(3, stored={"date_of_birth": ("1990-01-31", "1899-12-31", "1988-07-14")})),
    Case("cohort-date-the-warehouse-cannot-hold", "cohort", COHORT_CSV,
         cohort(*trio(**{ZOE.iom_id: {"next_review_due": "9999-12-31"}, LIAM.iom_id: {"date_of_birth": "1066-10-14"}})),
         loads(1, bad=[("3", f"next_review_due: {NOT_DATE}"), ("4", f"date_of_birth: {NOT_DATE}")])),
    Case("cohort-born-in-the-future", "cohort", COHORT_CSV, cohort(*trio(**{ZOE.iom_id: {"date_of_birth": "2026-11-23"}})),
         loads(2, bad=[("3", "date_of_birth is after the file's date")])),
    Case("cohort-selected-after-snapshot", "cohort", COHORT_CSV, cohort(*trio(**{ZOE.iom_id: {"selected_on": "2026-12-01"}})),
         loads(2, bad=[("3", "selected_on is after the snapshot's date")])),
    Case("cohort-deselected-before-selected", "cohort", COHORT_CSV,
         cohort(*trio(**{ZOE.iom_id: {"status": "DESELECTED", "selected_on": "2026-05-01", "deselected_on": "2026-04-01"}})),
         loads(2, bad=[("3", "deselected_on is before selected_on")])),
    Case("cohort-unknown-enum-value", "cohort", COHORT_CSV, cohort(*trio(**{ZOE.iom_id: {"strand": "REHAB"}})),
         loads(2, bad=[("3", "strand: not one of REHAB_RESETTLE, PREVENT_DETER, CATCH_CONVICT")])),
    Case("cohort-unknown-division-code", "cohort", COHORT_CSV, cohort(*trio(**{ZOE.iom_id: {"managing_division": "LS"}})),
         loads(2, bad=[("3", "managing_division: not a configured division code")])),
    Case("cohort-invalid-pnc-check-letter", "cohort", COHORT_CSV, cohort(*trio(**{SIOBHAN.iom_id: {"pnc_id": INVALID_PNC}})),
         loads(3, findings=1, stored={"pnc_id": (None, None, None)})),
    Case("cohort-short-form-pnc", "cohort", COHORT_CSV, cohort(*trio(**{SIOBHAN.iom_id: {"pnc_id": SHORT_PNC}})),
         loads(3, stored={"pnc_id": ("2012/0394773H", None, None)})),
    Case("cohort-hostile-names", "cohort", COHORT_CSV, cohort(*(member(p) for p in (LIAM, BOBBY, LAYLA, JO))),
         loads(4, stored={"surname": (LIAM.surname, BOBBY.surname, LAYLA.surname, JO.surname),
                          "forenames": (LIAM.forenames, BOBBY.forenames, LAYLA.forenames, JO.forenames)})),
    Case("cohort-impossible-date-in-file-name", "cohort", "cohort_20260231.csv", cohort(*trio()),
         rejected("name carries an impossible date or time", rows=3)),
    Case("cohort-a-tenth-of-yesterday", "cohort", COHORT_CSV, cohort(*trio()), loads(3, note="loads; data-quality warning elsewhere"),
         before=lambda: {"cohort_20261121.csv": csv_file("cohort", [member(p) for p in crowd(30)])}),
    Case("cohort-duplicate-header", "cohort", COHORT_CSV, edited(cohort_text, lambda t: t.replace("forenames", "surname", 1)),
         rejected("the header names a column more than once")),
    Case("cohort-2-gib-file", "cohort", COHORT_CSV, lambda: Sparse(2048 * MIB, cohort_text().encode()),
         rejected("the file is 2,048.0 MiB, over the 256 MiB limit for a feed file; it was not read"), untrusted=True),
    # ------------------------------------------------------------------ arrests (CSV, Windows-1252, UK dates)
    Case("arrests-empty-file", "arrests", ARRESTS_CSV, lambda: b"", rejected("the file is empty")),
    Case("arrests-header-only", "arrests", ARRESTS_CSV, arrests(), loads(0)),
    Case("arrests-windows-1252-names", "arrests", ARRESTS_CSV, arrests(A1, arrest(LIAM, "CUS/26/1003", surname="O’Brien")),
         loads(2, stored={"surname": ("Ó Briain", "O’Brien"), "forenames": ("Siobhán", "Liam")})),
    Case("arrests-utf8-without-bom", "arrests", ARRESTS_CSV, arrests(A1, A2, encoding="utf-8"),
         loads(2, stored={"surname": ("Ó Briain", "Ng-Smith"), "forenames": ("Siobhán", "Zoë")})),
    Case("arrests-utf8-byte-order-mark", "arrests", ARRESTS_CSV, lambda: csv_file("arrests", [A1, A2], encoding="utf-8-sig"),
         loads(2, stored={"forenames": ("Siobhán", "Zoë")})),
    Case("arrests-mixed-encodings", "arrests", ARRESTS_CSV,
         lambda: "".join(lines(csv_text("arrests", [A1]))).encode("utf-8") + lines(csv_text("arrests", [A2]))[1].encode("cp1252"),
         rejected("mixed encodings: line 2 is UTF-8 but line 3 is not", rows=2)),
    Case("arrests-utf16", "arrests", ARRESTS_CSV, lambda: csv_text("arrests", [A1, A2]).encode("utf-16"),
         rejected("UTF-16 (little-endian) text (byte-order mark); arrests files must be Windows-1252", rows=2)),
    Case("arrests-impossible-date", "arrests", ARRESTS_CSV, arrests(A1, arrest(ZOE, "CUS/26/1002", arrest_datetime="31/02/2026 10:00")),
         loads(1, bad=[("3", "arrest_datetime: not a valid timestamp")])),
    Case("arrests-two-digit-year", "arrests", ARRESTS_CSV, arrests(A1, arrest(ZOE, "CUS/26/1002", date_of_birth="07/03/95")),
         loads(1, bad=[("3", f"date_of_birth: {NOT_UK_DATE}")])),
    Case("arrests-iso-date-in-uk-feed", "arrests", ARRESTS_CSV, arrests(arrest(ZOE, "CUS/26/1002", arrest_datetime="2026-11-21T10:00")),
         loads(0, bad=[("2", "arrest_datetime: not a valid timestamp")])),
    Case("arrests-born-before-1900", "arrests", ARRESTS_CSV, arrests(arrest(ZOE, "CUS/26/1002", date_of_birth="31/12/1899")),
         loads(1, stored={"date_of_birth": ("1899-12-31",)})),
    Case("arrests-arrested-after-the-file", "arrests", ARRESTS_CSV,
         arrests(A1, arrest(ZOE, "CUS/26/1002", arrest_datetime="23/11/2026 09:00"), arrest(LIAM, "CUS/26/1003", date_of_birth="01/01/2030")),
         loads(1, bad=[("3", "arrest_datetime is after the file's date"), ("4", "date_of_birth is after the file's date")])),
    Case("arrests-skipped-dst-hour", "arrests", ARRESTS_CSV, arrests(arrest(ZOE, "CUS/26/1002", arrest_datetime="29/03/2026 01:30")),
         loads(1, stored={"arrest_datetime": ("2026-03-29 01:30:00",), "local_date": ("2026-03-29",)})),
    Case("arrests-repeated-dst-hour", "arrests", ARRESTS_CSV,
         arrests(arrest(ZOE, "CUS/26/1002", arrest_datetime="25/10/2026 01:30"), arrest(LIAM, "CUS/26/1003", arrest_datetime="25/10/2026 01:30")),
         loads(2, stored={"arrest_datetime": ("2026-10-25 01:30:00", "2026-10-25 01:30:00")})),
    Case("arrests-duplicate-custody-ref", "arrests", ARRESTS_CSV, arrests(A1, arrest(SIOBHAN, "CUS/26/1001", outcome="BAILED")),
         loads(2, stored={"outcome": ("CHARGED", "BAILED")}, note="both kept; the later row wins in the arrest view")),
    Case("arrests-pnc-short-form-and-bad-check-letter", "arrests", ARRESTS_CSV,
         arrests(arrest(SIOBHAN, "CUS/26/1001", pnc_id=SHORT_PNC), arrest(ZOE, "CUS/26/1002", pnc_id=INVALID_PNC)),
         loads(2, findings=1, stored={"pnc_id": ("2012/0394773H", None)})),
    Case("arrests-unknown-outcome", "arrests", ARRESTS_CSV, arrests(A1, arrest(ZOE, "CUS/26/1002", outcome="CHARGED & REMANDED")),
         loads(1, bad=[("3", "outcome: not one of CHARGED, CHARGED_REMANDED")])),
    Case("arrests-division-outside-the-hub", "arrests", ARRESTS_CSV, arrests(arrest(ZOE, "CUS/26/1002", arrest_division="BD")),
         loads(1, stored={"arrest_division": ("BD",)})),
    Case("arrests-hostile-names", "arrests", ARRESTS_CSV, arrests(arrest(BOBBY, "CUS/26/1004"), arrest(LIAM, "CUS/26/1003")),
         loads(2, stored={"surname": (BOBBY.surname, LIAM.surname)})),
    Case("arrests-quoted-newline-and-commas", "arrests", ARRESTS_CSV,
         arrests(arrest(ZOE, "CUS/26/1002", offence_description="Burglary, dwelling\n(second count)"), A3),
         loads(2, stored={"offence_description": ("Burglary, dwelling\n(second count)", "Theft from a shop")})),
    Case("arrests-missing-required-column", "arrests", ARRESTS_CSV,
         lambda: csv_file("arrests", [A1, A2], columns=[c for c in FEEDS["arrests"].column_names if c != "offence_description"]),
         rejected("required column(s) missing: offence_description", rows=2)),
    Case("arrests-impossible-time-in-file-name", "arrests", f"niche_arrests_{FILE_DAY}_256000.csv", arrests(A1),
         rejected("name carries an impossible date or time", rows=1)),
    # ------------------------------------------------------------------ court_results (XML)
    Case("court-empty-file", "court_results", COURT_XML, lambda: b"", rejected("not well-formed XML: no element found")),
    Case("court-not-well-formed", "court_results", COURT_XML, lambda: court_file(defendant(ZOE))[:-40],
         rejected("not well-formed XML")),
    Case("court-wrong-root", "court_results", COURT_XML, lambda: court_xml([("U1", [defendant(ZOE)])], root="Results").encode(),
         rejected("the root element is <Results>, not <CourtResults>")),
    Case("court-external-entity", "court_results", COURT_XML, external_entity, rejected("unsafe XML refused (DTDForbidden)")),
    Case("court-entity-expansion-bomb", "court_results", COURT_XML, entity_bomb, rejected("unsafe XML refused (DTDForbidden)"),
         untrusted=True),
    Case("court-quadratic-entity-bomb", "court_results", COURT_XML, quadratic_bomb, rejected("unsafe XML refused (DTDForbidden)"),
         untrusted=True),
    Case("court-nul-byte", "court_results", COURT_XML, lambda: court_file(defendant(ZOE)).replace(b"Ng-Smith", b"Ng\x00Smith"),
         rejected("not well-formed XML")),
    Case("court-latin1-declared-utf8", "court_results", COURT_XML, lambda: court_xml([("U1", [defendant(ZOE)])]).encode("latin-1"),
         rejected("not well-formed XML: not well-formed (invalid token)")),
    Case("court-utf16-declared", "court_results", COURT_XML,
         lambda: court_xml([("U1", [defendant(ZOE)])], encoding="UTF-16").encode("utf-16"),
         loads(1, stored={"forenames": ("Zoë",)})),
    Case("court-missing-hearing-date", "court_results", COURT_XML, court(defendant(ZOE, 2), court='court_code="B13HT"'),
         rejected("<CourtResults> lacks the required court_code or hearing_date attribute", rows=2)),
    Case("court-defendant-missing-surname", "court_results", COURT_XML, court(defendant(ZOE), defendant(LIAM, surname="")),
         loads(1, bad=[("/CourtResults/Case[1]/Defendant[2]/Offence[1]", f"surname: {REQUIRED}")])),
    Case("court-defendant-without-offence", "court_results", COURT_XML, court(defendant(ZOE), defendant(LIAM, 0)),
         loads(1, bad=[("/CourtResults/Case[1]/Defendant[2]", "the defendant has no <Offence>")])),
    Case("court-unknown-remand-status", "court_results", COURT_XML, court(defendant(ZOE, remand_status="XX")),
         loads(0, bad=[("/CourtResults/Case[1]/Defendant[1]/Offence[1]", "remand_status: not one of CB, UB, PR, LA, SA, NA")])),
    Case("court-impossible-and-future-dob", "court_results", COURT_XML,
         court(defendant(ZOE, dob="2026-02-31"), defendant(LIAM, dob="2027-01-01"), defendant(SIOBHAN)),
         loads(1, bad=[("/CourtResults/Case[1]/Defendant[1]/Offence[1]", f"date_of_birth: {NOT_DATE}"),
                       ("/CourtResults/Case[1]/Defendant[2]/Offence[1]", "date_of_birth is after the file's date")])),
    Case("court-duplicate-offence-key", "court_results", COURT_XML,
         lambda: court_file(defendant(ZOE, 1)).replace(b"</Offence>", b'</Offence><Offence seq="1" title="Again"/>'),
         loads(2, stored={"offence_title": ("Theft from a shop", "Again")}, note="both kept; the later row wins")),
    Case("court-hostile-names", "court_results", COURT_XML, court(*(defendant(p) for p in (LIAM, BOBBY, LAYLA, JO))),
         loads(4, stored={"surname": (LIAM.surname, BOBBY.surname, LAYLA.surname, JO.surname)})),
    Case("court-impossible-date-in-file-name", "court_results", "court_results_B13HT_20261131.xml", court(defendant(ZOE)),
         rejected("name carries an impossible date or time")),
    # ------------------------------------------------------------------ prison_releases (XLSX, CSV)
    Case("releases-xlsx-formulas", "prison_releases", RELEASES_XLSX,
         workbook(releases_sheet(R1 | {"release_date": "=TODAY()+7"}, R2 | {"release_date": "=TODAY()+8"},
                                 formats={"G2": "yyyy-mm-dd", "G3": "yyyy-mm-dd"}),
                  patch=cache_formula("46357")),
         loads(1, bad=[("3", f"release_date: {REQUIRED}")], stored={"release_date": ("2026-12-01",)},
               note="a cached value is used; a formula never calculated is blank")),
    Case("releases-xlsx-merged-cells", "prison_releases", RELEASES_XLSX,
         workbook(releases_sheet(R1, R2, R3, merged=("E2:E3", "F2:F4"))),
         loads(2, bad=[("3", f"prison_id: {REQUIRED}")], stored={"prison_name": ("HMP Leeds", None)})),
    Case("releases-xlsx-hidden-first-sheet", "prison_releases", RELEASES_XLSX,
         workbook(Sheet("Lookup", [["code", "name"], ["LEI", "HMP Leeds"]], state="hidden"), releases_sheet(R1, R2)),
         loads(2, stored={"noms_number": (SIOBHAN.noms_number, ZOE.noms_number)})),
    Case("releases-xlsx-extra-sheets-and-blank-rows", "prison_releases", RELEASES_XLSX,
         workbook(Sheet("Releases", [*release_rows(as_dates(R1)), [None] * 9, [], [None, "", None],
                                     *release_rows(as_dates(R2 | {"release_date_type": "SOON"}))[1:]]),
                  Sheet("Old", release_rows(as_dates(R3)))),
         loads(1, bad=[("6", "release_date_type: not one of CRD")])),
    Case("releases-xlsx-error-cell", "prison_releases", RELEASES_XLSX, workbook(releases_sheet(R1 | {"prison_id": "#REF!"}, R2)),
         loads(1, bad=[("2", "prison_id: the cell holds a spreadsheet error (#REF!)")])),
    Case("releases-xlsx-duplicate-header", "prison_releases", RELEASES_XLSX,
         workbook(Sheet("Releases", release_rows(R1, columns=[*RELEASE_COLUMNS[:8], "surname"]))),
         rejected("the header names a column more than once")),
    Case("releases-xlsx-empty-sheet", "prison_releases", RELEASES_XLSX, workbook(Sheet("Releases", [])),
         rejected("the sheet is empty (no header row)")),
    Case("releases-xlsx-not-a-zip", "prison_releases", RELEASES_XLSX, lambda: csv_file("prison_releases", [R1]),
         rejected("not a readable .xlsx workbook (not a zip archive)")),
    Case("releases-xlsx-zip-bomb", "prison_releases", RELEASES_XLSX, zip_bomb,
         rejected("the workbook would unpack to 1,023 MiB, over the 512 MiB limit (a zip bomb?)"), untrusted=True),
    Case("releases-xlsx-zip-bomb-expanding", "prison_releases", RELEASES_XLSX, lambda: zip_bomb(200 * MIB),
         rejected("part 6 of the workbook expands 1,010 to 1, over the 200 to 1 limit (a zip bomb?)"), untrusted=True),
    Case("releases-xlsx-zip-bomb-lying-directory", "prison_releases", RELEASES_XLSX, lambda: zip_bomb(declared=10_000),
         rejected("not a readable .xlsx workbook"), untrusted=True),
    Case("releases-xlsx-claims-every-cell", "prison_releases", RELEASES_XLSX,
         workbook(releases_sheet(R1, R2), patch=lambda x: x.replace('<dimension ref="A1:I3" />', '<dimension ref="A1:XFD1048576" />')),
         loads(2)),
    Case("releases-xlsx-understated-dimension", "prison_releases", RELEASES_XLSX,
         workbook(releases_sheet(R1, R2, R3), patch=lambda x: x.replace('<dimension ref="A1:I4" />', '<dimension ref="A1:I2" />')),
         loads(3, note="every row the sheet holds, whatever its declared dimension says")),
    Case("releases-xlsx-row-beyond-excel", "prison_releases", RELEASES_XLSX,
         workbook(releases_sheet(R1), patch=lambda x: x.replace("</sheetData>", '<row r="900000000"><c r="A900000000"><v>1</v></c></row></sheetData>')),
         rejected("the sheet has rows beyond row 1,048,576"), untrusted=True),
    Case("releases-csv-reordered-with-extra-column", "prison_releases", RELEASES_CSV,
         lambda: csv_file("prison_releases", [R1, R2], columns=["wing", *reversed(FEEDS["prison_releases"].column_names)]),
         loads(2, drift="wing")),
    Case("releases-csv-invalid-noms-number", "prison_releases", RELEASES_CSV,
         lambda: csv_file("prison_releases", [R1, R2 | {"noms_number": "B2345C"}]),
         loads(1, bad=[("3", "noms_number: not a valid noms_number, and it is required")])),
    Case("releases-csv-duplicate-key", "prison_releases", RELEASES_CSV, lambda: csv_file("prison_releases", [R1, R1 | {"prison_id": "WYI"}]),
         loads(2)),
    # ------------------------------------------------------------------ attendance (CSV)
    Case("attendance-empty-file", "attendance", ATTENDANCE_CSV, lambda: b"", rejected("the file is empty")),
    Case("attendance-header-only", "attendance", ATTENDANCE_CSV, attendance(), loads(0)),
    Case("attendance-missing-required-column", "attendance", ATTENDANCE_CSV,
         lambda: csv_file("attendance", [V1], columns=[c for c in FEEDS["attendance"].column_names if c != "record_type"]),
         rejected("required column(s) missing: record_type")),
    Case("attendance-tab-delimited", "attendance", ATTENDANCE_CSV, edited(lambda: csv_text("attendance", [V1, V2]), lambda t: t.replace(",", "\t")),
         rejected("the header row is one column holding a tab: the file is not comma-separated", rows=2)),
    Case("attendance-unknown-outcome-and-missing-one", "attendance", ATTENDANCE_CSV,
         attendance(V1 | {"outcome": "NO_SHOW"}, V2 | {"outcome": ""}, V3),
         loads(1, bad=[("2", "outcome: not one of ATTENDED"), ("3", "outcome is required for an APPOINTMENT")])),
    Case("attendance-dst-skipped-and-repeated-hours", "attendance", ATTENDANCE_CSV,
         attendance(V1 | {"event_datetime": "2026-03-29T01:30"}, V2 | {"event_datetime": "2026-10-25T01:30:00"}),
         loads(2, stored={"event_datetime": ("2026-03-29 01:30:00", "2026-10-25 01:30:00")})),
    Case("attendance-duplicate-record-id", "attendance", ATTENDANCE_CSV, attendance(V1, V1 | {"outcome": "FAILED_TO_ATTEND"}),
         loads(2, stored={"outcome": ("ATTENDED", "FAILED_TO_ATTEND")})),
    Case("attendance-invalid-identifiers", "attendance", ATTENDANCE_CSV,
         attendance(V1 | {"agency_ref": "X12345", "pnc_id": INVALID_PNC}, V2 | {"iom_id": "LDS-0001O2"}),
         loads(2, findings=3)),
    Case("attendance-hostile-names", "attendance", ATTENDANCE_CSV, attendance(*(appointment(p, f"APP-{i}") for i, p in enumerate((BOBBY, LAYLA, JO)))),
         loads(3, stored={"surname": (BOBBY.surname, LAYLA.surname, JO.surname), "forenames": (BOBBY.forenames, LAYLA.forenames, JO.forenames)})),
    Case("attendance-born-in-the-future", "attendance", ATTENDANCE_CSV, attendance(V1 | {"date_of_birth": "2027-01-01"}, V2),
         loads(1, bad=[("2", "date_of_birth is after the file's date")])),
    Case("attendance-name-off-pattern", "attendance", "attendance_probation_20261122.csv", attendance(V1),
         rejected("name does not follow the attendance pattern")),
]  # fmt: skip

# Values of the corpus that are personal data besides the people's own: none may appear
# in a quarantine reason, a ledger reject reason or an exception's text.
PERSONAL: frozenset[str] = frozenset(
    set().union(*(p.personal_values() for p in PEOPLE))
    | {INVALID_PNC, SHORT_PNC, "LDS-12", "LDS-0001O2", "B2345C", "X12345", "Siobhan", "Ng\x00Smith", "Zo\x1b[31më"}
)
