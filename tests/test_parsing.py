"""File names (CONTRACT section 1) and reading feed files into raw text tables."""

from __future__ import annotations

import io
import time
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from pipelines.feeds import ARRESTS, ATTENDANCE, COHORT, COURT_RESULTS, PRISON_RELEASES
from pipelines.filenames import is_in_progress, parse_name
from pipelines.parsing import LOC, ROW, FileRejected, read_table

# =========================================================================== file names


@pytest.mark.parametrize(
    "feed, name, file_date, file_time, ext, partner",
    [
        (COHORT, "cohort_20261120.csv", date(2026, 11, 20), "", "csv", ""),
        (ARRESTS, "niche_arrests_20261120_063015.csv", date(2026, 11, 20), "063015", "csv", ""),
        (COURT_RESULTS, "court_results_B13HT_20261119.xml", date(2026, 11, 19), "", "xml", "B13HT"),
        (PRISON_RELEASES, "prison_releases_20261118.xlsx", date(2026, 11, 18), "", "xlsx", ""),
        (PRISON_RELEASES, "prison_releases_20261118.csv", date(2026, 11, 18), "", "csv", ""),
        (ATTENDANCE, "attendance_PROBATION_20261119.csv", date(2026, 11, 19), "", "csv", "PROBATION"),
        (ATTENDANCE, "attendance_NON_STATUTORY_20261119.csv", date(2026, 11, 19), "", "csv", "NON_STATUTORY"),
    ],
)
def test_good_names(feed, name, file_date, file_time, ext, partner):
    parsed = parse_name(feed, name)
    assert parsed.problem is None
    assert parsed.file_date == file_date
    assert parsed.file_time == file_time
    assert parsed.ext == ext
    assert parsed.partner == partner


@pytest.mark.parametrize(
    "feed, name",
    [
        (COHORT, "cohort_20261131.csv"),  # 31 November
        (COHORT, "cohort_20260229.csv"),  # 2026 is not a leap year
        (ARRESTS, "niche_arrests_20261120_250000.csv"),  # hour 25
        (ATTENDANCE, "attendance_YOS_20261301.csv"),  # month 13
    ],
)
def test_impossible_date_or_time_is_a_problem(feed, name):
    parsed = parse_name(feed, name)
    assert parsed.problem is not None
    assert "impossible" in parsed.problem
    assert parsed.file_date is None


@pytest.mark.parametrize(
    "feed, name",
    [
        (COHORT, "cohort_2026-11-20.csv"),
        (COHORT, "cohort_20261120.xlsx"),
        (COHORT, "iom_cohort_20261120.csv"),
        (ARRESTS, "niche_arrests_20261120.csv"),  # no time
        (COURT_RESULTS, "court_results_20261120.xml"),  # no court code
        (ATTENDANCE, "attendance_20261120.csv"),  # no agency
        (PRISON_RELEASES, "prison_releases_20261120.xls"),
    ],
)
def test_names_off_pattern_are_a_problem(feed, name):
    parsed = parse_name(feed, name)
    assert parsed.problem is not None
    assert feed.name in parsed.problem
    assert parsed.file_date is None


def test_later_sorts_by_date_then_time():
    a = parse_name(ARRESTS, "niche_arrests_20261120_063000.csv")
    b = parse_name(ARRESTS, "niche_arrests_20261120_180000.csv")
    c = parse_name(ARRESTS, "niche_arrests_20261121_010000.csv")
    assert sorted([c, b, a], key=lambda f: f.sort_key) == [a, b, c]


@pytest.mark.parametrize(
    "name",
    [
        "cohort_20261120.csv.part",
        "cohort_20261120.csv.tmp",
        "cohort_20261120.csv.filepart",
        "COHORT_20261120.CSV.PART",
        ".cohort_20261120.csv",
        ".DS_Store",
    ],
)
def test_in_progress_and_hidden(name):
    assert is_in_progress(name)


@pytest.mark.parametrize("name", ["cohort_20261120.csv", "cohort_20261131.csv", "partners.csv", "tmp_cohort.csv"])
def test_not_in_progress(name):
    assert not is_in_progress(name)


# =========================================================================== CSV


def csv_table(feed, text: str, encoding: str = "utf-8", name: str = "x.csv"):
    return read_table(feed, name, text.encode(encoding))


def test_csv_line_numbers_header_is_line_one():
    raw = csv_table(COHORT, "iom_id,surname\nLDS-000001,Ng\nLDS-000002,Khan\n")
    assert raw.columns == ["iom_id", "surname"]
    assert list(raw.frame["iom_id"]) == ["LDS-000001", "LDS-000002"]
    assert list(raw.frame[LOC]) == ["2", "3"]
    assert list(raw.frame[ROW]) == [1, 2]
    assert raw.bad_rows == []


def test_csv_quoted_field_spanning_lines_shifts_later_line_numbers():
    text = 'iom_id,note\nLDS-000001,"first line\nsecond line"\nLDS-000002,plain\n'
    raw = csv_table(COHORT, text)
    assert list(raw.frame["note"]) == ["first line\nsecond line", "plain"]
    # Row 1 starts on line 2 and spans lines 2-3; row 2 starts on line 4.
    assert list(raw.frame[LOC]) == ["2", "4"]


def test_csv_crlf_line_numbers():
    raw = csv_table(COHORT, "iom_id,surname\r\nLDS-000001,Ng\r\nLDS-000002,Khan\r\n")
    assert list(raw.frame[LOC]) == ["2", "3"]
    assert list(raw.frame["surname"]) == ["Ng", "Khan"]


def test_csv_ragged_row_goes_to_bad_rows_and_rest_parses():
    text = "iom_id,surname,forenames\nLDS-000001,Ng,Zoe\nLDS-000002,Khan\nLDS-000003,Ali,Sam,extra\nLDS-000004,Smith,Rob\n"
    raw = csv_table(COHORT, text)
    assert list(raw.frame["iom_id"]) == ["LDS-000001", "LDS-000004"]
    assert list(raw.frame[LOC]) == ["2", "5"]
    assert [(r, loc) for r, loc, _ in raw.bad_rows] == [(2, "3"), (3, "4")]
    for _, _, reason in raw.bad_rows:
        assert "fields" in reason and "header" in reason
    assert "2 fields" in raw.bad_rows[0][2] and "has 3" in raw.bad_rows[0][2]
    assert raw.rows_in == 4


def test_csv_blank_lines_are_not_rows():
    raw = csv_table(COHORT, "iom_id,surname\n\nLDS-000001,Ng\n\n\nLDS-000002,Khan\n\n")
    assert list(raw.frame["iom_id"]) == ["LDS-000001", "LDS-000002"]
    assert list(raw.frame[LOC]) == ["3", "6"]
    assert list(raw.frame[ROW]) == [1, 2]
    assert raw.rows_in == 2
    assert raw.bad_rows == []


def test_csv_header_is_trimmed_and_lower_cased():
    raw = csv_table(COHORT, " IOM_ID , Surname\nLDS-000001,Ng\n")
    assert raw.columns == ["iom_id", "surname"]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_and_without_bom(bom):
    data = bom + "surname,forenames\nÓ Briain,Siobhán\nNg-Smith,Zoë\nO'Neill,Liam\n".encode()
    raw = read_table(COHORT, "cohort_20261120.csv", data)
    assert raw.columns == ["surname", "forenames"]  # no BOM glued to the first name
    assert list(raw.frame["surname"]) == ["Ó Briain", "Ng-Smith", "O'Neill"]
    assert list(raw.frame["forenames"]) == ["Siobhán", "Zoë", "Liam"]


def test_cp1252_arrests_decode_accented_names_unchanged():
    text = "custody_ref,surname,forenames\nC1,Ó Briain,Siobhán\nC2,Ng-Smith,Zoë\nC3,O’Neill,Liam\n"
    data = text.encode("cp1252")
    assert b"\xd3" in data and b"\xe1" in data and b"\xeb" in data and b"\x92" in data  # single cp1252 bytes
    raw = read_table(ARRESTS, "niche_arrests_20261120_063000.csv", data)
    assert list(raw.frame["surname"]) == ["Ó Briain", "Ng-Smith", "O’Neill"]
    assert list(raw.frame["forenames"]) == ["Siobhán", "Zoë", "Liam"]


def test_undecodable_utf8_rejects_file_naming_the_line():
    data = b"surname,forenames\nNg,Zoe\nKhan,\xff\xfeAli\n"
    with pytest.raises(FileRejected) as exc:
        read_table(COHORT, "cohort_20261120.csv", data)
    assert "line 3" in exc.value.reason
    assert "Ali" not in exc.value.reason


def test_undecodable_cp1252_rejects_file_naming_the_line():
    # 0x81 is not defined in Windows-1252.
    data = b"custody_ref,surname\nC1,Ng\x81\nC2,Khan\n"
    with pytest.raises(FileRejected) as exc:
        read_table(ARRESTS, "niche_arrests_20261120_063000.csv", data)
    assert "line 2" in exc.value.reason


def test_empty_csv_rejected():
    with pytest.raises(FileRejected):
        read_table(COHORT, "cohort_20261120.csv", b"")


def test_wrong_extension_rejected():
    with pytest.raises(FileRejected):
        read_table(COHORT, "cohort_20261120.txt", b"iom_id\nLDS-000001\n")
    with pytest.raises(FileRejected):
        read_table(COURT_RESULTS, "court_results_B13HT_20261120.csv", b"court_code\nB13HT\n")


# =========================================================================== XLSX


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_first_sheet_header_and_iso_dates():
    data = xlsx_bytes(
        {
            "Releases": [
                ["NOMS_Number", "Surname", "Forenames", "Release_Date", "Booking_ID", "Licence_Expiry_Date"],
                ["A1234BC", "Ó Briain", "Siobhán", date(2026, 12, 1), 123456, datetime(2027, 6, 30, 9, 30)],
                [None, None, None, None, None, None],  # blank row: not a row
                ["B2345CD", "Ng-Smith", "Zoë", datetime(2026, 12, 24), None, None],
            ],
            "Notes": [["noms_number", "surname"], ["Z9999ZZ", "Ignored"]],
        }
    )
    raw = read_table(PRISON_RELEASES, "prison_releases_20261120.xlsx", data)
    assert raw.columns == ["noms_number", "surname", "forenames", "release_date", "booking_id", "licence_expiry_date"]
    assert list(raw.frame["noms_number"]) == ["A1234BC", "B2345CD"]  # second sheet ignored
    assert list(raw.frame["surname"]) == ["Ó Briain", "Ng-Smith"]
    assert list(raw.frame["forenames"]) == ["Siobhán", "Zoë"]
    assert list(raw.frame["release_date"]) == ["2026-12-01", "2026-12-24"]
    assert list(raw.frame["booking_id"]) == ["123456", ""]
    assert list(raw.frame["licence_expiry_date"]) == ["2027-06-30T09:30:00", ""]
    assert list(raw.frame[LOC]) == ["2", "4"]  # spreadsheet row numbers
    assert raw.rows_in == 2


def test_xlsx_damaged_workbook_rejected():
    with pytest.raises(FileRejected):
        read_table(PRISON_RELEASES, "prison_releases_20261120.xlsx", b"PK\x03\x04 not really a zip")


# =========================================================================== court XML

COURT_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<CourtResults court_code="B13HT" court_name="Leeds Magistrates' Court" hearing_date="2026-11-19">
  <Case urn="13AA1234526">
    <Defendant surname="Ng-Smith" forenames="Zo\xc3\xab" dob="1995-03-07" remand_status="CB" present="true">
      <Offence seq="1" code="TH68010" title="Theft from a shop">
        <Plea>GUILTY</Plea>
        <Result code="1116" text="Community order"/>
      </Offence>
    </Defendant>
    <Defendant surname="\xc3\x93 Briain" forenames="Siobh\xc3\xa1n" dob="1990-01-31" pnc_id="2012/0394773H" remand_status="PR">
      <Offence seq="1" code="TH68010" title="Theft from a shop">
        <Plea>NOT GUILTY</Plea>
        <Result code="4027" text="Remanded in custody"/>
        <Result code="2501" text="Adjourned"/>
        <Result code="1015" text="Costs"/>
        <NextHearing date="2026-12-10" court_code="B13HT"/>
        <NextHearing date="2026-12-03" court_code="B13HX"/>
      </Offence>
      <Offence seq="2" title="Assault by beating">
        <NextHearing date="2026-12-04" court_code="B13HT"/>
      </Offence>
    </Defendant>
    <Defendant surname="Khan" forenames="Ali"/>
  </Case>
  <Case urn="13AA7654321">
    <Defendant surname="O'Neill" forenames="Liam">
      <Offence seq="3" title="Criminal damage"><Result code="1116"/></Offence>
    </Defendant>
  </Case>
</CourtResults>
"""


def court_rows():
    raw = read_table(COURT_RESULTS, "court_results_B13HT_20261119.xml", COURT_XML)
    return raw, raw.frame.to_dict("records")


def test_court_xml_one_row_per_offence_with_paths():
    raw, rows = court_rows()
    assert [r[LOC] for r in rows] == [
        "/CourtResults/Case[1]/Defendant[1]/Offence[1]",
        "/CourtResults/Case[1]/Defendant[2]/Offence[1]",
        "/CourtResults/Case[1]/Defendant[2]/Offence[2]",
        "/CourtResults/Case[2]/Defendant[1]/Offence[1]",
    ]
    assert [r["offence_seq"] for r in rows] == ["1", "1", "2", "3"]
    assert all(r["court_code"] == "B13HT" and r["hearing_date"] == "2026-11-19" for r in rows)
    assert [r["urn"] for r in rows] == ["13AA1234526"] * 3 + ["13AA7654321"]


def test_court_xml_defendant_index_is_position_in_case():
    _, rows = court_rows()
    assert [r["defendant_index"] for r in rows] == ["1", "2", "2", "1"]


def test_court_xml_names_and_attributes():
    _, rows = court_rows()
    assert [(r["surname"], r["forenames"]) for r in rows] == [
        ("Ng-Smith", "Zoë"),
        ("Ó Briain", "Siobhán"),
        ("Ó Briain", "Siobhán"),
        ("O'Neill", "Liam"),
    ]
    assert rows[1]["pnc_id"] == "2012/0394773H"
    assert rows[1]["remand_status"] == "PR"
    assert rows[1]["date_of_birth"] == "1990-01-31"
    assert rows[0]["plea"] == "GUILTY"
    assert rows[3]["remand_status"] == ""


def test_court_xml_result_codes_joined_in_document_order():
    _, rows = court_rows()
    assert rows[0]["result_codes"] == "1116"
    assert rows[1]["result_codes"] == "4027;2501;1015"  # document order, not sorted
    assert rows[1]["result_texts"] == "Remanded in custody;Adjourned;Costs"
    assert rows[2]["result_codes"] == ""


def test_court_xml_earliest_next_hearing_counts():
    _, rows = court_rows()
    assert (rows[1]["next_hearing_date"], rows[1]["next_hearing_court"]) == ("2026-12-03", "B13HX")
    assert (rows[2]["next_hearing_date"], rows[2]["next_hearing_court"]) == ("2026-12-04", "B13HT")
    assert rows[0]["next_hearing_date"] == ""


def test_court_xml_defendant_without_offence_is_a_bad_row():
    raw, _ = court_rows()
    assert len(raw.bad_rows) == 1
    ordinal, loc, reason = raw.bad_rows[0]
    assert loc == "/CourtResults/Case[1]/Defendant[3]"
    assert "Offence" in reason
    assert "Khan" not in reason
    assert raw.rows_in == 5  # 4 offences + 1 defendant without one


@pytest.mark.parametrize(
    "root",
    [
        b'<CourtResults hearing_date="2026-11-19">',
        b'<CourtResults court_code="B13HT">',
        b'<CourtResults court_code="  " hearing_date="2026-11-19">',
    ],
)
def test_court_xml_missing_court_code_or_hearing_date_rejects_file(root):
    data = (
        root
        + b'<Case urn="U1"><Defendant surname="Ng" forenames="Zoe"><Offence seq="1" title="T"/></Defendant></Case></CourtResults>'
    )
    with pytest.raises(FileRejected) as exc:
        read_table(COURT_RESULTS, "court_results_B13HT_20261119.xml", data)
    assert "court_code" in exc.value.reason or "hearing_date" in exc.value.reason
    assert exc.value.rows == 1


def test_court_xml_not_well_formed_rejected():
    with pytest.raises(FileRejected):
        read_table(COURT_RESULTS, "court_results_B13HT_20261119.xml", b'<CourtResults court_code="B13HT"><Case>')


def test_court_xml_wrong_root_rejected():
    with pytest.raises(FileRejected):
        read_table(COURT_RESULTS, "court_results_B13HT_20261119.xml", b'<Results court_code="B13HT" hearing_date="2026-11-19"/>')


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE CourtResults [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<CourtResults court_code="B13HT" hearing_date="2026-11-19">
  <Case urn="U1"><Defendant surname="Ng" forenames="Zoe">
    <Offence seq="1" title="T"><Plea>&lol9;</Plea></Offence>
  </Defendant></Case>
</CourtResults>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<CourtResults court_code="B13HT" hearing_date="2026-11-19">
  <Case urn="U1"><Defendant surname="Ng" forenames="Zoe">
    <Offence seq="1" title="T"><Plea>&e;</Plea></Offence>
  </Defendant></Case>
</CourtResults>
"""


def test_billion_laughs_rejected_not_expanded():
    started = time.perf_counter()
    with pytest.raises(FileRejected) as exc:
        read_table(COURT_RESULTS, "court_results_B13HT_20261119.xml", BILLION_LAUGHS)
    assert time.perf_counter() - started < 2
    assert "lol" not in exc.value.reason


def test_external_entity_rejected_not_resolved():
    with pytest.raises(FileRejected) as exc:
        read_table(COURT_RESULTS, "court_results_B13HT_20261119.xml", EXTERNAL_ENTITY)
    assert "root:" not in exc.value.reason  # the file's contents never leak into the reason


def test_court_xml_declared_encoding_is_honoured():
    data = (
        '<?xml version="1.0" encoding="windows-1252"?>'
        '<CourtResults court_code="B13HT" hearing_date="2026-11-19"><Case urn="U1">'
        '<Defendant surname="Ó Briain" forenames="Siobhán"><Offence seq="1" title="T"/></Defendant>'
        "</Case></CourtResults>"
    ).encode("cp1252")
    raw = read_table(COURT_RESULTS, "court_results_B13HT_20261119.xml", data)
    assert list(raw.frame["surname"]) == ["Ó Briain"]
    assert list(raw.frame["forenames"]) == ["Siobhán"]


# =========================================================================== untrusted input (issue 8)
# The table of malformed files is tests/corpus/cases.py; these pin the helpers it relies on.


def test_size_limit_is_checked_before_reading():
    from pipelines.parsing import MAX_FILE_BYTES, check_size

    check_size(MAX_FILE_BYTES)
    with pytest.raises(FileRejected) as exc:
        check_size(MAX_FILE_BYTES + 1)
    assert "over the 256 MiB limit" in exc.value.reason and "not read" in exc.value.reason


def test_zip_bomb_refused_from_its_directory_without_inflating():
    from tests.corpus.make import zip_bomb

    data = zip_bomb()
    started = time.perf_counter()
    with pytest.raises(FileRejected) as exc:
        read_table(PRISON_RELEASES, "prison_releases_20261120.xlsx", data)
    assert time.perf_counter() - started < 2  # inflating a GiB would take far longer
    assert "zip bomb" in exc.value.reason


def test_xlsx_first_visible_sheet_is_the_feed():
    wb = Workbook()
    wb.active.title = "Lookup"
    wb.active.append(["code"])
    wb.active.sheet_state = "hidden"
    ws = wb.create_sheet("Releases")
    ws.append(["noms_number", "surname"])
    ws.append(["A1234BC", "Ng"])
    buf = io.BytesIO()
    wb.save(buf)
    raw = read_table(PRISON_RELEASES, "prison_releases_20261120.xlsx", buf.getvalue())
    assert raw.columns == ["noms_number", "surname"]
    assert list(raw.frame["noms_number"]) == ["A1234BC"]


def test_blank_header_names_are_unnamed_columns_not_duplicates():
    raw = csv_table(COHORT, "iom_id,,surname,\nLDS-000001,x,Ng,y\n")
    assert raw.columns == ["iom_id", "unnamed_2", "surname", "unnamed_4"]
    with pytest.raises(FileRejected, match="more than once"):
        csv_table(COHORT, "iom_id,surname,Surname\nLDS-000001,Ng,Ng\n")


def test_cp1252_feed_written_as_utf8_is_read_as_utf8_and_mixed_is_refused():
    utf8 = "custody_ref,forenames\nC1,Zoë\nC2,Siobhán\n".encode()
    raw = read_table(ARRESTS, "niche_arrests_20261120_063000.csv", utf8)
    assert list(raw.frame["forenames"]) == ["Zoë", "Siobhán"]
    mixed = "custody_ref,forenames\nC1,Zoë\n".encode() + "C2,Siobhán\n".encode("cp1252")
    with pytest.raises(FileRejected) as exc:
        read_table(ARRESTS, "niche_arrests_20261120_063000.csv", mixed)
    assert "line 2 is UTF-8 but line 3 is not" in exc.value.reason and "Siobh" not in exc.value.reason
