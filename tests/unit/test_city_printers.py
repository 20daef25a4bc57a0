"""Printers in the city data: each site's optional `printers`, validated like every other
key (file, key path, what is wrong) and handed to the hosts in `city_organisations`."""

from __future__ import annotations

import json

import city_model
import pytest
from city_fixture import REPO, CityFixture
from city_model import CityDataError, load_city

SOD = "data/organisations/sodermalm.yml"
UTB = "data/organisations/utbildning.yml"


def printer(name: str = "sod-rosenlund-p1", **changes: str) -> dict[str, str]:
    return {"name": name, "location": "Rosenlundsgatan 60, plan 3, kopieringsrummet",
            "driver": "drv:///sample.drv/generic.ppd", "device_uri": "socket://10.18.0.50:9100", **changes}


def give_printers(city: CityFixture, organisation_id: str, site_index: int, *printers: dict) -> None:
    city.edit_yaml(f"organisations/{organisation_id}.yml",
                   lambda o: o["sites"][site_index].update(printers=list(printers)))


def errors_of(city: CityFixture) -> list[str]:
    with pytest.raises(CityDataError) as caught:
        load_city(city.data, register=False)
    return caught.value.errors


def test_printers_are_optional_and_reach_the_organisation_vars(city):
    give_printers(city, "sodermalm", 0, printer(), printer("sod-rosenlund-p2", driver="everywhere",
                                                           device_uri="ipp://10.18.0.51/ipp/print"))
    organisations = json.loads(json.dumps(city_model.organisations_as_vars(load_city(city.data))))
    rosenlund, katarina = organisations["sodermalm"]["sites"]
    assert [p["name"] for p in rosenlund["printers"]] == ["sod-rosenlund-p1", "sod-rosenlund-p2"]
    assert rosenlund["printers"][0] == printer()
    assert katarina["printers"] == []


@pytest.mark.parametrize(("change", "expected"), [
    pytest.param({"device_uri": "usb://HP/LaserJet"},
                 "sites[0].printers[0].device_uri: 'usb://HP/LaserJet' has scheme 'usb', expected one of "
                 "socket, ipp, ipps, lpd", id="scheme-not-allowed"),
    pytest.param({"device_uri": "10.18.0.50"},
                 "sites[0].printers[0].device_uri: '10.18.0.50' has scheme 'none', expected one of "
                 "socket, ipp, ipps, lpd", id="no-scheme"),
    pytest.param({"device_uri": "socket://:9100"},
                 "sites[0].printers[0].device_uri: 'socket://:9100' is not a valid device URI "
                 "(expected socket://HOST...)", id="no-host"),
    pytest.param({"device_uri": "socket://10.18.0.50:jetdirect"},
                 "sites[0].printers[0].device_uri: 'socket://10.18.0.50:jetdirect' has an invalid port",
                 id="port-not-a-number"),
    pytest.param({"device_uri": "socket://10.18.1.50:9100"},
                 "sites[0].printers[0].device_uri: 10.18.1.50 is outside the network 10.18.0.0/24 "
                 "of site sod_rosenlund", id="socket-address-outside-the-site"),
    pytest.param({"name": "SOD Rosenlund 1"},
                 "sites[0].printers[0].name: 'SOD Rosenlund 1' is not a valid printer queue name "
                 "(lowercase ASCII letters, digits and '-', starting with a letter, at most 63 characters)",
                 id="queue-name-not-ascii-identifier"),
    pytest.param({"name": "sod-skrivare-kök"},
                 "sites[0].printers[0].name: 'sod-skrivare-kök' is not a valid printer queue name "
                 "(lowercase ASCII letters, digits and '-', starting with a letter, at most 63 characters): "
                 "character 15 is U+00F6 LATIN SMALL LETTER O WITH DIAERESIS",
                 id="queue-name-with-a-swedish-letter"),
    pytest.param({"name": "bro-rosenlund-p1"},
                 "sites[0].printers[0].name: printer queue bro-rosenlund-p1 does not start with the "
                 "organisation's prefix sod-", id="queue-name-without-the-organisation-prefix"),
    pytest.param({"driver": "Generic PostScript Printer"},
                 "sites[0].printers[0].driver: 'Generic PostScript Printer' is not a driver reference "
                 "('everywhere' or a model from `lpinfo -m`, without spaces)", id="driver-with-spaces"),
    pytest.param({"location": ""},
                 "sites[0].printers[0].location: must not be empty", id="empty-location"),
    pytest.param({"model": "HP LaserJet 4250"},
                 "sites[0].printers[0].model: unknown key (known keys: name, location, driver, device_uri)",
                 id="unknown-key"),
])
def test_bad_printer_is_reported_with_file_and_key(city, change, expected):
    give_printers(city, "sodermalm", 0, printer(**change))
    assert errors_of(city) == [f"{SOD}: {expected}"]


def test_address_check_is_for_raw_tcp_only(city):
    # An IPP or LPD queue may sit on a print server elsewhere; only socket:// is a device at the site.
    give_printers(city, "sodermalm", 0, printer(device_uri="ipp://10.0.1.21/printers/gammal"),
                  printer("sod-rosenlund-p2", device_uri="socket://skrivare-3.sod.example:9100"))
    load_city(city.data, register=False)


def test_missing_printer_key_is_reported(city):
    incomplete = printer()
    incomplete.pop("driver")
    give_printers(city, "sodermalm", 0, incomplete)
    assert errors_of(city) == [f"{SOD}: sites[0].printers[0]: missing key 'driver'"]


def test_empty_printer_list_is_an_error(city):
    give_printers(city, "sodermalm", 0)
    assert errors_of(city) == [f"{SOD}: sites[0].printers: must not be empty"]


def test_queue_names_are_unique_within_an_organisation(city):
    give_printers(city, "sodermalm", 0, printer())
    give_printers(city, "sodermalm", 1, printer(device_uri="socket://10.18.1.50:9100"))
    assert errors_of(city) == [
        f"{SOD}: sites[1].printers[0].name: duplicate printer queue sod-rosenlund-p1 "
        "(first in organisations/sodermalm.yml sites[0].printers[0])"]


def test_queue_names_are_unique_across_the_city(city):
    give_printers(city, "sodermalm", 0, printer("utb-kopiator"))
    give_printers(city, "utbildning", 1, printer("utb-kopiator", device_uri="socket://172.16.0.50:9100"))
    # Files are read in name order: the first claim is Södermalm's, the second is reported.
    assert errors_of(city) == [
        f"{SOD}: sites[0].printers[0].name: printer queue utb-kopiator does not start with the "
        "organisation's prefix sod-",
        f"{UTB}: sites[1].printers[0].name: duplicate printer queue utb-kopiator "
        "(first in organisations/sodermalm.yml sites[0].printers[0])"]


def test_the_real_lab_organisations_have_printers():
    city = load_city(REPO / "inventory/stockholm/data", register=False)
    queues = [p["name"] for org in ("sodermalm", "bromma", "utbildning")
              for site in city.organisations[org]["sites"] for p in site.get("printers", [])]
    assert len(queues) == len(set(queues)) >= 3
