"""Hostile input to the city data and the plugin configuration: every refusal names the file,
the line or key and what is wrong, echoes at most a short escaped excerpt of the value, and
names a look-alike character by position and code point; nothing is dropped silently."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import city_model
import pytest
from city_fixture import HEADER, ORGANISATIONS, REPO, CityFixture, run_ansible
from city_fixture import SERVICE_HOSTS as DECLARED_SERVICE_HOSTS
from city_model import CityDataError, load_city

KUL = "data/organisations/kulturnamnden.yml"
SOD_CSV = "data/register/sodermalm.csv"
KUL_CSV = "data/register/kulturnamnden.csv"


def errors_of(city: CityFixture, **options: Any) -> list[str]:
    with pytest.raises(CityDataError) as caught:
        load_city(city.data, **options)
    return caught.value.errors


def csv_line(row: list[str]) -> str:
    return ",".join(row)


# -- the register: rows, blank lines and line numbers ------------------------------


def test_a_register_of_a_header_and_a_blank_line_is_refused(city):
    city.write_text("register/sodermalm.csv", csv_line(HEADER) + "\n\n")
    assert errors_of(city) == [f"{SOD_CSV}: no rows, but the organisation declares 3 workstations"]


def test_a_register_must_hold_as_many_rows_as_the_organisation_declares(city):
    city.edit_rows("kulturnamnden", lambda rows: rows.append(
        ["kul-ws-00002", "5HJ8K2L", "Dell OptiPlex GX620", "kul_kulturhuset", "admin", "", "2005-04-11"]))
    city.edit_rows("sodermalm", lambda rows: rows.pop())
    assert errors_of(city) == [
        f"{KUL_CSV}: 2 rows, but the organisation declares 1 workstation",
        f"{SOD_CSV}: 2 rows, but the organisation declares 3 workstations",
    ]


def test_blank_lines_are_skipped_and_messages_name_the_lines_of_the_file(city):
    header, *rows = city.rows("sodermalm")
    rows[2][6] = "2007-13-20"
    lines = [csv_line(header), "", csv_line(rows[0]), "", "", csv_line(rows[1]), csv_line(rows[2]), ""]
    city.write_text("register/sodermalm.csv", "\n".join(lines) + "\n")
    assert errors_of(city) == [f"{SOD_CSV}: line 7: purchase_date: 2007-13-20 is not a valid date"]


def test_a_line_break_in_a_quoted_field_is_refused_and_later_lines_keep_their_numbers(city):
    header, *rows = city.rows("sodermalm")
    rows[2][6] = "2007-13-20"
    broken = csv_line(rows[1]).replace("Dell OptiPlex 755", '"Dell OptiPlex\n755"')
    city.write_text("register/sodermalm.csv",
                    "\n".join([csv_line(header), csv_line(rows[0]), broken, csv_line(rows[2])]) + "\n")
    assert errors_of(city) == [
        f"{SOD_CSV}: line 3: line break inside a quoted field (the record runs on to line 4)",
        f"{SOD_CSV}: line 5: purchase_date: 2007-13-20 is not a valid date",
    ]


def test_an_unclosed_quote_is_reported_at_the_line_it_opens(city):
    header, *rows = city.rows("sodermalm")
    broken = csv_line(rows[1]).replace("Dell OptiPlex 755", '"Dell OptiPlex 755')
    city.write_text("register/sodermalm.csv",
                    "\n".join([csv_line(header), csv_line(rows[0]), broken, csv_line(rows[2])]) + "\n")
    assert errors_of(city) == [
        f"{SOD_CSV}: line 3: malformed CSV: unexpected end of data (the record runs on to line 4)"]


def test_a_byte_that_is_not_utf8_is_reported_by_its_line_and_its_byte_in_the_file(city):
    """200 rows: the bad byte lies well beyond the first chunk that a text reader decodes."""
    city.edit_yaml("organisations/sodermalm.yml", lambda o: o.update(workstations=200))
    rows = [[f"sod-ws-{n:05d}", f"SER{n:05d}", "Dell OptiPlex 755", "sod_rosenlund", "admin", "Åsa Öberg",
             "2007-01-02"] for n in range(1, 201)]
    lines = [csv_line(row).encode() for row in [HEADER, *rows]]
    bad_line = 181
    lines[bad_line - 1] = lines[bad_line - 1].replace("Ö".encode(), "Ö".encode("cp1252"))
    (city.data / "register/sodermalm.csv").write_bytes(b"\n".join(lines) + b"\n")
    in_line = lines[bad_line - 1].index(b"\xd6") + 1
    in_file = sum(len(line) + 1 for line in lines[:bad_line - 1]) + in_line
    assert in_file > 8192
    assert errors_of(city) == [
        f"{SOD_CSV}: line 181: not valid UTF-8 (byte 0xD6, byte {in_line} of the line, byte {in_file} of "
        "the file)",
        f"{SOD_CSV}: not UTF-8 on 1 line: it looks like Windows-1252 (Latin-1); export the file as UTF-8",
    ]


def test_a_yaml_file_that_is_not_utf8_is_reported_by_line_like_a_csv_file(city):
    path = city.data / "organisations/kulturnamnden.yml"
    name = "name: Kulturnämnden"
    content = path.read_bytes().replace(name.encode(), name.encode("cp1252"))
    path.write_bytes(content)
    in_file = content.index(b"\xe4") + 1
    line_start = content.rindex(b"\n", 0, in_file - 1) + 1
    line = content.count(b"\n", 0, line_start) + 1
    assert errors_of(city, register=False) == [
        f"{KUL}: line {line}: not valid UTF-8 (byte 0xE4, byte {in_file - line_start} of the line, "
        f"byte {in_file} of the file)",
        f"{KUL}: not UTF-8 on 1 line: it looks like Windows-1252 (Latin-1); export the file as UTF-8",
    ]


# -- YAML: merge keys are YAML, repeated keys are mistakes ---------------------------

KULTURNAMNDEN_WITH_PRINTERS = """\
---
id: kulturnamnden
name: Kulturnämnden
code: KUL
kind: board
stage: 2
wave: 2
staff: 1600
workstations: 1
sites:
  - id: kul_kulturhuset
    name: Kulturförvaltningen, Kulturhuset
    address: Sergels torg 3, 111 57 Stockholm
    network: admin
    cidr: 10.41.0.0/24
    printers:
      - &printer
        name: kul-kulturhuset-p1
        location: Kulturhuset, plan 2
        driver: everywhere
        device_uri: ipp://10.41.0.50/ipp/print
      - <<: *printer
        name: kul-kulturhuset-p2
        device_uri: ipp://10.41.0.51/ipp/print
departments:
  - id: stadsbiblioteket
    name: Stadsbiblioteket
"""


def test_a_merge_key_with_overrides_is_standard_yaml(city):
    city.write_text("organisations/kulturnamnden.yml", KULTURNAMNDEN_WITH_PRINTERS)
    [site] = load_city(city.data).organisations["kulturnamnden"]["sites"]
    assert site["printers"][1] == {"name": "kul-kulturhuset-p2", "location": "Kulturhuset, plan 2",
                                   "driver": "everywhere", "device_uri": "ipp://10.41.0.51/ipp/print"}
    assert site["printers"][0]["name"] == "kul-kulturhuset-p1"


def test_a_repeated_key_beside_a_merge_key_is_still_refused_at_its_own_lines(city):
    city.write_text("organisations/kulturnamnden.yml", KULTURNAMNDEN_WITH_PRINTERS.replace(
        "        name: kul-kulturhuset-p2\n",
        "        name: kul-kulturhuset-p2\n        name: kul-kulturhuset-p3\n"))
    assert errors_of(city) == [f"{KUL}: line 24, column 9: duplicate key 'name' (first at line 23)"]


def test_a_repeated_merge_key_is_refused(city):
    city.write_text("organisations/kulturnamnden.yml", KULTURNAMNDEN_WITH_PRINTERS.replace(
        "      - <<: *printer\n", "      - <<: *printer\n        <<: *printer\n"))
    assert errors_of(city) == [f"{KUL}: line 23, column 9: duplicate key '<<' (first at line 22)"]


# -- the plugin configuration ------------------------------------------------------


def test_a_repeated_key_in_the_plugin_configuration_stops_ansible_inventory(city):
    city.config.write_text("---\nplugin: city\nregister: true\nregister: false\n", encoding="utf-8")
    result = run_ansible("ansible-inventory", "-i", str(city.config), "--list")
    assert result.returncode != 0
    assert f"{city.config}: line 4, column 1: duplicate key 'register' (first at line 3)" in result.stderr


def test_unknown_options_and_wrong_types_stop_ansible_inventory(city):
    city.config.write_text("---\nplugin: city\nregister: maybe\nregsiter: false\n", encoding="utf-8")
    result = run_ansible("ansible-inventory", "-i", str(city.config), "--list")
    assert result.returncode != 0
    assert f"{city.config}: register: expected true or false, got string 'maybe'" in result.stderr
    assert f"{city.config}: regsiter: unknown key (did you mean 'register'?)" in result.stderr


def test_plugin_configuration_is_checked_like_the_data(city):
    city.config.write_text("---\nplugin: city\ndata_dir: 12\norganisations: sodermalm\nsites: [2009-01-01]\n"
                           "service_network: 10.77.0.0/33\n"
                           "keyed_groups:\n  - prefix: net\n    keys: network\n", encoding="utf-8")
    with pytest.raises(CityDataError) as caught:
        city_model.read_plugin_config(city.config, environ={})
    assert caught.value.errors == [
        "city.yml: data_dir: expected a string, got integer 12 (quote it if you meant the text)",
        "city.yml: keyed_groups[0].keys: unknown key (did you mean 'key'?)",
        "city.yml: keyed_groups[0]: missing key 'key'",
        "city.yml: organisations: expected a list, got string 'sodermalm'",
        "city.yml: service_network: 10.77.0.0/33 is not a valid network",
        "city.yml: sites[0]: expected a string, got date 2009-01-01 (quote it if you meant the text)",
    ]


def test_the_plugin_configuration_schema_knows_every_documented_option():
    from ansible.plugins.loader import fragment_loader
    from ansible.utils.plugin_docs import get_docstring

    documentation, *_ = get_docstring(str(REPO / "plugins/inventory/city.py"), fragment_loader)
    assert set(city_model.PLUGIN_CONFIG.fields) == set(documentation["options"])
    keyed_groups = documentation["options"]["keyed_groups"]["suboptions"]
    assert set(city_model.KEYED_GROUP.fields) == set(keyed_groups)


# -- look-alikes, excerpts, control characters, lengths and YAML types ---------------


def test_a_look_alike_character_is_named_by_position_and_code_point(city):
    city.edit_yaml("organisations/kulturnamnden.yml", lambda o: o.update(code="KU\u0421"))
    city.edit_rows("sodermalm", lambda rows: rows[2].__setitem__(3, "s\u043ed_katarina"))
    city.edit_rows("utbildning", lambda rows: rows[1].__setitem__(0, "utb-ws-0000\u0661"))
    assert errors_of(city) == [
        f"{KUL}: code: 'KU\u0421' is not a valid organisation code (2 to 5 uppercase ASCII letters): "
        "character 3 is U+0421 CYRILLIC CAPITAL LETTER ES",
        f"{SOD_CSV}: line 3: site: 's\u043ed_katarina' is not a valid id (lowercase ASCII letters, digits "
        "and '_', starting with a letter, at most 40 characters): "
        "character 2 is U+043E CYRILLIC SMALL LETTER O",
        "data/register/utbildning.csv: line 2: hostname: 'utb-ws-0000\u0661' is not a valid host name "
        "(lowercase ASCII letters, digits and '-', at most 15 characters): character 12 is U+0661 "
        "ARABIC-INDIC DIGIT ONE",
    ]


def test_messages_echo_a_short_escaped_excerpt_of_the_value(city):
    huge = "x" * 10_000

    def hostile(organisation: dict) -> None:
        organisation.update(code=huge, name="Kultur\x1b[2Jnämnden")
        organisation["y" * 10_000] = 1

    city.edit_yaml("organisations/kulturnamnden.yml", hostile)
    city.edit_rows("sodermalm", lambda rows: rows[1].__setitem__(2, "M" * 10_000))
    errors = errors_of(city)
    assert errors == [
        f"{KUL}: {'y' * 60!r}...: unknown key (known keys: id, name, code, kind, stage, wave, staff, "
        "workstations, sites, departments, legacy_servers)",
        f"{KUL}: code: {'x' * 60!r}... is not a valid organisation code (2 to 5 uppercase ASCII letters)",
        f"{KUL}: name: 'Kultur\\x1b[2Jnämnden' holds a character that is not printable text: "
        "character 7 is U+001B (a control character)",
        f"{SOD_CSV}: line 2: model: {'M' * 60!r}... is 10000 characters long, at most 80",
    ]
    assert all(len(error) < 250 and error.isprintable() for error in errors)


@pytest.mark.parametrize(("where", "value", "expected"), [
    pytest.param("name", "Kultur\u200bnämnden",
                 "name: 'Kultur\\u200bnämnden' holds a character that is not printable text: character 7 is "
                 "U+200B ZERO WIDTH SPACE", id="zero-width-space"),
    pytest.param("sites[0].address", "Sergels torg 3\t111 57 Stockholm",
                 "sites[0].address: 'Sergels torg 3\\t111 57 Stockholm' holds a character that is not "
                 "printable text: character 15 is U+0009 (a control character)", id="tab"),
    pytest.param("sites[0].name", "Kulturhuset\u202e",
                 "sites[0].name: 'Kulturhuset\\u202e' holds a character that is not printable text: "
                 "character 12 is U+202E RIGHT-TO-LEFT OVERRIDE", id="bidi-override"),
    pytest.param("departments[0].name", "Stads\x00biblioteket",
                 "departments[0].name: 'Stads\\x00biblioteket' holds a character that is not printable text: "
                 "character 6 is U+0000 (a control character)", id="nul"),
    pytest.param("legacy_servers[0].os", "NetWare\n6.5",
                 "legacy_servers[0].os: 'NetWare\\n6.5' holds a character that is not printable text: "
                 "character 8 is U+000A (a control character)", id="line-feed"),
    pytest.param("sites[0].printers[0].location", "Plan\u20282",
                 "sites[0].printers[0].location: 'Plan\\u20282' holds a character that is not printable "
                 "text: character 5 is U+2028 LINE SEPARATOR", id="line-separator"),
    pytest.param("sites[0].name", "K" * 121,
                 f"sites[0].name: {'K' * 60!r}... is 121 characters long, at most 120", id="name-too-long"),
    pytest.param("sites[0].address", "A" * 201,
                 f"sites[0].address: {'A' * 60!r}... is 201 characters long, at most 200",
                 id="address-too-long"),
    pytest.param("staff", 10 ** 80, f"staff: {'1' + '0' * 59}... is more than 100000", id="staff-too-many"),
])
def test_text_fields_refuse_control_characters_and_have_limits(city, where, value, expected):
    city.edit_yaml("organisations/kulturnamnden.yml", with_printer_and_server)
    city.edit_yaml("organisations/kulturnamnden.yml", lambda o: set_at(o, where, value))
    assert errors_of(city, register=False) == [f"{KUL}: {expected}"]


@pytest.mark.parametrize(("column", "value", "expected"), [
    pytest.param(1, "CZC\x7f451ABC", "serial: 'CZC\\x7f451ABC' holds a character that is not printable text: "
                 "character 4 is U+007F (a control character)", id="serial-delete"),
    pytest.param(2, "HP\u00a0Compaq dc7800", "model: 'HP\\xa0Compaq dc7800' holds a character that is not "
                 "printable text: character 3 is U+00A0 NO-BREAK SPACE", id="model-no-break-space"),
    pytest.param(5, "Åsa\x1bÖberg", "assigned_user: 'Åsa\\x1bÖberg' holds a character that is not printable "
                 "text: character 4 is U+001B (a control character)", id="assigned-user-escape"),
    pytest.param(1, "S" * 41, f"serial: {'S' * 41!r} is 41 characters long, at most 40",
                 id="serial-too-long"),
    pytest.param(5, "Å" * 121, f"assigned_user: {'Å' * 60!r}... is 121 characters long, at most 120",
                 id="assigned-user-too-long"),
])
def test_register_columns_refuse_control_characters_and_have_limits(city, column, value, expected):
    city.edit_rows("sodermalm", lambda rows: rows[1].__setitem__(column, value))
    assert errors_of(city) == [f"{SOD_CSV}: line 2: {expected}"]


def with_printer_and_server(organisation: dict) -> dict:
    """kulturnamnden with a printer and a legacy server, so that every kind of field is there."""
    organisation["sites"][0]["printers"] = [{"name": "kul-kulturhuset-p1", "location": "Kulturhuset, plan 2",
                                             "driver": "everywhere", "device_uri": "ipp://10.41.0.50/ipp/print"}]
    organisation["legacy_servers"] = [{"name": "kul-fs01", "role": "file", "os": "Novell NetWare 6.5",
                                       "fate": "retire", "site": "kul_kulturhuset", "address": "10.41.0.10"}]
    return organisation


def set_at(data: Any, where: str, value: Any) -> None:
    *parents, last = parse_path(where)
    for step in parents:
        data = data[step]
    data[last] = value


def parse_path(where: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in where.split("."):
        name, *indexes = part.replace("]", "").split("[")
        steps.append(name)
        steps.extend(int(index) for index in indexes)
    return steps


def string_paths(data: Any, where: str = "") -> list[str]:
    """The key path of every string in `data`."""
    if isinstance(data, dict):
        return [path for key, value in data.items()
                for path in string_paths(value, f"{where}.{key}" if where else key)]
    if isinstance(data, list):
        return [path for index, value in enumerate(data) for path in string_paths(value, f"{where}[{index}]")]
    return [where] if isinstance(data, str) else []


@pytest.mark.parametrize("value", [datetime.date(2009, 1, 1), 1234, True], ids=["date", "integer", "boolean"])
@pytest.mark.parametrize(("relative", "where"), [
    *[pytest.param("organisations/kulturnamnden.yml", where, id=where)
      for where in string_paths(with_printer_and_server(copy.deepcopy(ORGANISATIONS["kulturnamnden"])))],
    *[pytest.param("service_hosts.yml", where, id=f"service_hosts-{where}")
      for where in string_paths(DECLARED_SERVICE_HOSTS)],
])
def test_every_string_field_refuses_yaml_dates_numbers_and_booleans(city, relative, where, value):
    """YAML 1.1 reads 2009-01-01, 1234 and yes unquoted as a date, an integer and a boolean:
    wherever the schema wants a string, such a value is refused with its key named."""
    if relative.startswith("organisations"):
        city.edit_yaml(relative, with_printer_and_server)
    city.edit_yaml(relative, lambda data: set_at(data, where, value))
    errors = errors_of(city, register=False)
    assert any(error.startswith(f"data/{relative}: {where}: expected ") for error in errors), errors
