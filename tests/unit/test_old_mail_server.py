"""migration/old_mail_server/content.py: Södermalm's old mailboxes as the lab will hold them."""

from __future__ import annotations

import datetime
import email
import email.header
import email.policy
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
import city_model  # noqa: E402 - city_fixture (conftest) puts module_utils on sys.path
import personnel  # noqa: E402

from migration.old_file_server import content as old_files  # noqa: E402
from migration.old_mail_server import content  # noqa: E402

MESSAGES = 2000


@pytest.fixture(scope="module")
def sodermalm_and_people() -> tuple[dict, list[dict]]:
    organisations = city_model.load_city(REPO / "inventory/stockholm/data", register=False).organisations
    people = personnel.load_people([REPO / "inventory/lab/data/personnel/sodermalm.csv"], organisations,
                                   today=datetime.date(2009, 6, 1))
    return organisations["sodermalm"], people


@pytest.fixture(scope="module")
def server(sodermalm_and_people) -> content.OldMailServer:
    sodermalm, people = sodermalm_and_people
    return content.old_mail_server(sodermalm, people, messages=MESSAGES)


def test_the_same_data_gives_the_same_mailboxes(sodermalm_and_people, server):
    sodermalm, people = sodermalm_and_people
    assert content.old_mail_server(sodermalm, people, messages=MESSAGES) == server


def test_a_mailbox_per_old_account_of_the_old_domain(sodermalm_and_people, server):
    _, people = sodermalm_and_people
    users, _ = old_files.users_of(people)
    assert server.name == "sod-ex01"
    assert {m.account for m in server.mailboxes} == {u.name for u in users} - {"Administrator", "Guest"}


def test_the_messages_are_what_a_migration_must_keep(server):
    messages = [m for box in server.mailboxes for m in box.messages]
    assert abs(len(messages) - MESSAGES) < MESSAGES * 0.05
    assert len({m.message_id for m in messages}) == len(messages)
    sizes = sorted(len(box.messages) for box in server.mailboxes)
    assert sizes[-1] > 10 * max(1, sizes[len(sizes) // 2]), "a few mailboxes hold most of the mail"
    folders = Counter(m.folder for m in messages)
    assert set(folders) == set(server.folders())
    flags = Counter(flag for m in messages for flag in m.flags)
    assert flags["\\Flagged"] and flags["\\Answered"] and flags["\\Seen"] < len(messages)
    years = {datetime.datetime.fromtimestamp(m.date, datetime.UTC).year for m in messages}
    assert years == set(range(content.FIRST_YEAR, content.LAST_YEAR + 1))


def test_a_message_reads_as_mail_with_its_swedish_subject_date_and_attachment(server):
    messages = [m for box in server.mailboxes for m in box.messages]
    parsed = [email.message_from_bytes(m.data, policy=email.policy.default) for m in messages[:400]]
    for message, original in zip(parsed, messages, strict=False):
        assert message["Message-ID"] == original.message_id
        assert int(message["Date"].datetime.timestamp()) == original.date
    subjects = {str(message["Subject"]) for message in parsed}
    assert any(character in subject for subject in subjects for character in "åäöÅÄÖ")
    assert all(line.isascii() for m in messages[:400] for line in m.data.split(b"\r\n")[:8])
    assert any(part.get_filename() for message in parsed for part in message.iter_attachments())
    assert any(message["In-Reply-To"] for message in parsed)


def test_written_maildirs_hold_every_message_with_its_flags_and_date(sodermalm_and_people, tmp_path):
    sodermalm, people = sodermalm_and_people
    small = content.old_mail_server(sodermalm, people, messages=150)
    manifest = content.write_maildirs(small, tmp_path)
    for box in small.mailboxes:
        files = list((tmp_path / box.account / "Maildir").rglob("cur/*"))
        assert len(files) == len(box.messages) == len(manifest[box.account])
        for path in files:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            original = next(m for m in box.messages if m.message_id == message["Message-ID"])
            assert int(path.stat().st_mtime) == original.date
            folder = path.parent.parent.name
            assert folder == (content.maildir_folder(original.folder) or "Maildir")
            assert ("S" in path.name.split(":2,")[1]) == ("\\Seen" in original.flags)
