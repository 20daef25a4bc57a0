"""What a committee's old file server holds, generated from its organisation file and its
personnel export: the same data and size give the same server, byte for byte.

The stand-in for a Windows Server 2003 file server (`role: file` in `legacy_servers`) is
built from this model; the migration must then find it all through SMB as it would on the
real server. Rules, all derived from the city:

- Accounts: one local account per person the export lists, leavers included (the old
  server never removed them), named as the 2000s did: the first letter of the given name
  and up to six of the surname, folded to a-z, numbered on a clash (`alindst`,
  `alindst2`). The full name is written in one of the old forms, by a hash of the
  person: "Åsa Lindström", "Lindström, Åsa" or "ASA LINDSTROM" (a system without å). Two
  in five record the employee id in the description ("Anst.nr 100001"). Consultants
  and temporary staff, whom no export lists, have accounts too, and the server's own
  Administrator and Guest.
- Groups: one per department (`<CODE>_<Department>`, folded, as the old domain named
  them), `<CODE>_Chefer` for everyone whose title says chef, and `<CODE>_Alla`.
- Shares: one per department, `Gemensam`, and `Hem` with a folder per account.
- Files: `files` of them, spread 70/20/10 over the department shares, the homes and
  Gemensam, in year folders 1998-2008 with Swedish document names and dates in those
  years. Among them, by fixed proportions: empty files, a few large ones, deep trees
  (ten levels), paths longer than 200 characters, names with å/ä/ö written decomposed
  (NFD, as an old Mac client wrote them), and names that the new server refuses
  (`migration/file_names.py`): a reserved character, a trailing dot or space, a device
  name, and a name that differs from its neighbour only in case.
- Access: a department's files are its group's (read and write) and the owner's; a
  year's folder `Personalärenden` in a department share is the chefs' only; a home is its
  account's only. Each file names its owner, an account.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import random
import sys
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))
from personnel import fold

FIRST_YEAR, LAST_YEAR = 1998, 2008
FIRST_YEAR_EPOCH = int(datetime.datetime(FIRST_YEAR, 1, 1, tzinfo=datetime.UTC).timestamp())
LARGE_FILE_BYTES = (4 << 20, 12 << 20)
RESTRICTED_FOLDER = "Personalärenden"
USERNAME_LENGTH = 7
GROUP_NAME_LENGTH = 32
# People whom no personnel export lists: consultants, temporary and summer staff.
OUTSIDERS = (("konsult1", "Konsult Ett"), ("konsult2", "Datakonsult Nordin AB"),
             ("sommar07", "Sommarvikarie 2007"), ("praktik", "Praktikant Socialkontoret"),
             ("tkarlss", "Tove Karlsson-Wiik"))
DOCUMENTS = ("Protokoll", "Kallelse", "Budget", "Verksamhetsplan", "Delårsrapport", "Årsredovisning",
             "Tjänsteutlåtande", "Yttrande", "Remissvar", "Mötesanteckningar", "Översikt",
             "Förslag till beslut", "Avtal", "Ansökan", "Uppföljning", "Lägesrapport",
             "Schema", "Personalförteckning", "Utvärdering", "Sammanställning")
FOLDERS = ("Nämnden", "Ekonomi", "Personal", "Projekt", "Upphandling", "Underlag", "Mallar",
           "Arkiv", "Möten", "Rapporter", "Skrivelser", "Statistik", "Ärenden", "Kvalitet")
EXTENSIONS = (".doc", ".doc", ".xls", ".pdf", ".txt", ".ppt", ".rtf")
# Names the new server refuses, each after a document name (see file_names.py).
REFUSED_FORMS = ("{doc}: {year}.doc", "{doc}?.doc", "{doc} <utkast>.doc", "{doc}.", "{doc} ", "CON.txt",
                 "{doc} 50% klar*.xls")
LONG_FOLDERS = ("Handlingar till nämndsammanträdet om budget och verksamhetsplan för äldreomsorgen/"
                "Bilagor till förvaltningens tjänsteutlåtande med kommentarer från avdelningarna")
TEXT = ("Nämnden beslutar att godkänna förvaltningens förslag. Ärendet återremitteras till "
        "förvaltningen för komplettering avseende kostnader för äldreomsorgen på Södermalm. ")


@dataclass(frozen=True)
class OldUser:
    name: str
    full_name: str
    description: str
    employee_id: str  # "" for an outsider or the server's own


@dataclass(frozen=True)
class OldGroup:
    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class OldShare:
    name: str
    comment: str
    group: str  # "" for Hem: each home is its owner's


@dataclass(frozen=True)
class OldFile:
    share: str
    path: str  # "/"-separated, within the share
    size: int
    mtime: int  # seconds since the epoch, UTC
    owner: str
    # (kind, name, access): kind "user" or "group", access "rw" or "r".
    acl: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class OldFolder:
    share: str
    path: str
    owner: str  # root for a share's folders, the account for a home's
    acl: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class OldFileServer:
    name: str
    users: tuple[OldUser, ...]
    groups: tuple[OldGroup, ...]
    shares: tuple[OldShare, ...]
    files: tuple[OldFile, ...]

    def folders(self) -> tuple[OldFolder, ...]:
        """Every folder that holds a file, with its access: the share's group's, the chefs'
        for Personalärenden, the owner's in a home."""
        chefs = next(group.name for group in self.groups if group.name.endswith("_Chefer"))
        groups = {share.name: share.group for share in self.shares}
        paths = sorted({(file.share, "/".join(file.path.split("/")[:depth]))
                        for file in self.files for depth in range(1, file.path.count("/") + 1)})
        folders = []
        for share, path in paths:
            if not groups[share]:
                owner = path.split("/")[0]
                folders.append(OldFolder(share, path, owner, (("user", owner, "rw"),)))
            elif path.rsplit("/", 1)[-1] == RESTRICTED_FOLDER:
                folders.append(OldFolder(share, path, "root", (("group", chefs, "rw"),)))
            else:
                folders.append(OldFolder(share, path, "root", (("group", groups[share], "rw"),)))
        return tuple(folders)


def digest_number(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\0".join(parts).encode()).digest()[:8], "big")


def old_full_name(person: Mapping[str, Any]) -> str:
    given, surname = person["given_name"], person["surname"]
    form = digest_number("full-name", person["employee_id"]) % 5
    if form == 3:
        return f"{surname}, {given}"
    if form == 4:
        return unicodedata.normalize("NFKD", f"{given} {surname}").encode("ascii", "ignore").decode().upper()
    return f"{given} {surname}"


def department_group(code: str, department: Mapping[str, Any]) -> str:
    """Whole words of the department's name, folded, as long as the group's name fits 32
    characters (the stand-in's Linux groups allow no more)."""
    room = GROUP_NAME_LENGTH - len(code) - 1
    name = ""
    for word in (fold(word).capitalize() for word in department["name"].split()):
        if len(name) + len(word) > room:
            break
        name += word
    return f"{code}_{name or fold(department['id'])[:room]}"


def users_of(people: Sequence[Mapping[str, Any]]) -> tuple[list[OldUser], dict[str, str]]:
    """The old accounts, and employee id → old account name."""
    users = [OldUser("Administrator", "", "Inbyggt konto för administration av datorn", ""),
             OldUser("Guest", "", "Inbyggt konto för gäståtkomst till datorn", "")]
    taken = {user.name.casefold() for user in users} | {name for name, _ in OUTSIDERS}
    by_person: dict[str, str] = {}
    for person in sorted(people, key=lambda p: p["employee_id"]):
        base = (fold(person["given_name"])[:1] + fold(person["surname"]))[:USERNAME_LENGTH] or "user"
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}{number}"
        taken.add(name)
        by_person[person["employee_id"]] = name
        recorded = digest_number("employee-id", person["employee_id"]) % 5 < 2
        users.append(OldUser(name, old_full_name(person),
                             f"Anst.nr {person['employee_id']}" if recorded else person.get("title", ""),
                             person["employee_id"] if recorded else ""))
    users.extend(OldUser(name, full_name, "Extern personal", "") for name, full_name in OUTSIDERS)
    return users, by_person


def old_file_server(organisation: Mapping[str, Any], people: Sequence[Mapping[str, Any]], *,
                    files: int, seed: str = "") -> OldFileServer:
    """The old file server of `organisation` (its organisation file's data) holding about
    `files` files, for `people` (personnel.load_people's records: those who had an account
    on the old server)."""
    server = next(s for s in organisation.get("legacy_servers", []) if s["role"] == "file")
    code = organisation["code"]
    chance = random.Random(f"{server['name']}\0{files}\0{seed}")
    own = [p for p in people if p["organisation"] == organisation["id"]]
    users, by_person = users_of(own)
    departments = {d["id"]: department_group(code, d) for d in organisation["departments"]}
    members: dict[str, list[str]] = {group: [] for group in departments.values()}
    chefs: list[str] = []
    for person in own:
        account = by_person[person["employee_id"]]
        if person["department"] in departments:
            members[departments[person["department"]]].append(account)
        if "chef" in person.get("title", "").lower():
            chefs.append(account)
    everyone = [user.name for user in users if user.name not in ("Administrator", "Guest")]
    groups = [OldGroup(group, tuple(sorted(accounts))) for group, accounts in members.items()]
    groups += [OldGroup(f"{code}_Chefer", tuple(sorted(chefs))),
               OldGroup(f"{code}_Alla", tuple(sorted(everyone)))]
    shares = [OldShare(group.removeprefix(f"{code}_"), department["name"], group)
              for department, group in ((d, departments[d["id"]]) for d in organisation["departments"])]
    shares += [OldShare("Gemensam", f"{organisation['name']}, gemensamma filer", f"{code}_Alla"),
               OldShare("Hem", "Hemkataloger", "")]

    made: list[OldFile] = []
    seen: set[tuple[str, str]] = set()

    def add(share: OldShare, path: str, owner: str, acl: tuple[tuple[str, str, str], ...]) -> None:
        if (share.name, path.casefold()) in seen:
            return
        seen.add((share.name, path.casefold()))
        roll = chance.random()
        if roll < 0.03:
            size = 0
        elif roll < 0.035:
            size = chance.randint(*LARGE_FILE_BYTES)
        else:
            size = int(min(2 << 20, chance.lognormvariate(10.5, 1.2)))
        year = int(path.split("/")[0]) if path[:4].isdigit() else chance.randint(FIRST_YEAR, LAST_YEAR)
        moment = datetime.datetime(year, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
            seconds=chance.randrange(365 * 86400))
        made.append(OldFile(share.name, path, size, int(moment.timestamp()), owner, acl))

    def document(year: int) -> str:
        kind = chance.random()
        doc = chance.choice(DOCUMENTS)
        if kind < 0.02:
            return chance.choice(REFUSED_FORMS).format(doc=doc, year=year)
        month, day = chance.randint(1, 12), chance.randint(1, 28)
        name = f"{doc} {year}-{month:02d}-{day:02d}{chance.choice(EXTENSIONS)}"
        if kind < 0.05:
            return unicodedata.normalize("NFD", name)
        return name

    def folder_path(year: int, depth: int) -> str:
        parts = [str(year)] + [chance.choice(FOLDERS) for _ in range(depth)]
        return "/".join(parts)

    home_share, common_share = shares[-1], shares[-2]
    department_shares = shares[:-2]
    people_accounts = [user.name for user in users if user.name not in ("Administrator", "Guest")]
    for index in range(files):
        year = chance.randint(FIRST_YEAR, LAST_YEAR)
        kind = chance.random()
        depth = 10 if chance.random() < 0.02 else chance.randint(0, 3)
        folder = folder_path(year, depth)
        if chance.random() < 0.01:
            folder += "/" + LONG_FOLDERS
        name = document(year)
        if kind < 0.7 and department_shares:
            share = department_shares[index % len(department_shares)]
            group_members = next(g.members for g in groups if g.name == share.group) or tuple(people_accounts)
            owner = chance.choice(group_members)
            if chance.random() < 0.05:
                add(share, f"{year}/{RESTRICTED_FOLDER}/{name}", owner, (("group", f"{code}_Chefer", "rw"),))
            else:
                add(share, f"{folder}/{name}", owner, (("group", share.group, "rw"), ("user", owner, "rw")))
        elif kind < 0.9:
            owner = chance.choice(people_accounts)
            add(home_share, f"{owner}/{folder}/{name}", owner, (("user", owner, "rw"),))
        else:
            owner = chance.choice(people_accounts)
            acl = (("group", f"{code}_Alla", "rw"), ("user", owner, "rw"))
            add(common_share, f"{folder}/{name}", owner, acl)
    # One name beside another that differs from it only in case, as a case-sensitive
    # stand-in can hold and Windows cannot show.
    if made:
        first = made[0]
        head, _, tail = first.path.rpartition("/")
        twin = f"{head}/{tail.upper()}" if head else tail.upper()
        if twin != first.path:
            made.append(OldFile(first.share, twin, 1234, first.mtime, first.owner, first.acl))
    return OldFileServer(server["name"], tuple(users), tuple(groups), tuple(shares),
                         tuple(sorted(made, key=lambda f: (f.share, f.path))))


def content(server: OldFileServer, file: OldFile) -> Iterator[bytes]:
    """The file's bytes, in chunks: Swedish text for .txt, otherwise seeded bytes."""
    remaining = file.size
    if file.path.endswith(".txt"):
        text = TEXT.encode("utf-8")
        while remaining > 0:
            chunk = text * max(1, min(remaining, 1 << 20) // len(text) + 1)
            yield chunk[:remaining]
            remaining -= min(remaining, len(chunk))
        return
    chance = random.Random(f"{server.name}\0{file.share}\0{file.path}")
    while remaining > 0:
        size = min(remaining, 1 << 20)
        yield chance.randbytes(size)
        remaining -= size


def write(server: OldFileServer, root: Path) -> dict[str, str]:
    """Writes every file under root/<share>/<path> with its date; returns share/path → SHA-256."""
    manifest: dict[str, str] = {}
    for file in server.files:
        target = root / file.share / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        checksum = hashlib.sha256()
        with target.open("wb") as stream:
            for chunk in content(server, file):
                checksum.update(chunk)
                stream.write(chunk)
        manifest[f"{file.share}/{file.path}"] = checksum.hexdigest()
        os.utime(target, (file.mtime, file.mtime))
    return manifest
