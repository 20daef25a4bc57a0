"""The workstation image's manifest, signatures and apply: what the supplier engineer relies on.

A small fake image (a sparse file with a few written blocks) stands for the disk image; the
keys are throwaway ed25519 keys made in tmp. Needs gpg, gpgv and bmaptool (make setup)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workstation_image"))
from image_manifest import (  # noqa: E402
    MANIFEST_NAME,
    ManifestError,
    build_manifest,
    file_entries,
    parse_dpkg_query,
    verify_image,
    write_manifest,
)
from image_signing import PUBLIC_KEY_NAME, ensure_lab_key, export_public_key, sign_detached  # noqa: E402

APPLY = REPO / "workstation_image" / "apply"
pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("gpg", "gpgv", "bmaptool")),
    reason="needs gpg, gpgv and bmaptool (Debian gnupg, gpgv, bmap-tools: make setup installs them)")

PROFILE = {"id": "kontor-stationar", "name": "Kontorsarbetsplats, stationär dator",
           "release": "bookworm", "architecture": "amd64", "packages": ["firefox-esr", "sssd-ad"]}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """The city's key and another (an attacker's): GNUPGHOME and fingerprint each."""
    made = {}
    for name in ("city", "other"):
        home = tmp_path_factory.mktemp(f"gnupg-{name}")
        made[name] = (home, ensure_lab_key(home, f"{name} <{name}@test.invalid>"))
    return made


def make_image(directory: Path, keys: dict, signer: str = "city") -> Path:
    """A signed image directory as workstation_image/build leaves it, with a 4 MiB fake disk."""
    directory.mkdir(parents=True, exist_ok=True)
    raw = directory / "kontor-stationar.raw"
    with raw.open("wb") as stream:
        stream.truncate(4 * 1024 * 1024)
        stream.seek(0)
        stream.write(b"\xeb\x63\x90" + b"GRUB" * 100)
        stream.seek(3 * 1024 * 1024)
        stream.write("Gemensam IT: arbetsstation, Södermalm".encode() * 50)
    bmap = directory / "kontor-stationar.bmap"
    subprocess.run(["bmaptool", "create", "--output", str(bmap), str(raw)], check=True, capture_output=True)
    home, fingerprint = keys[signer]
    manifest = build_manifest(
        profile=PROFILE, spec_hash="0" * 64,
        packages=parse_dpkg_query("firefox-esr\t115.12.0esr-1~deb12u1\tamd64\nsssd-ad\t2.8.2-4\tamd64\n"),
        files=file_entries({"raw": raw, "bmap": bmap}), built_at="2025-05-20T00:00:00+00:00",
        build_seconds=1.0, installed_bytes=1, builder={"mmdebstrap": "1.3.5"}, signing_key=fingerprint)
    sign_detached(home, fingerprint, write_manifest(manifest, directory))
    sign_detached(home, fingerprint, bmap)
    export_public_key(keys["city"][0], keys["city"][1], directory / PUBLIC_KEY_NAME)
    return directory


def apply(image: Path, target: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(APPLY), str(image), str(target), *extra],
                          capture_output=True, text=True, check=False)


def test_a_signed_image_verifies_and_names_its_signer(tmp_path, keys):
    manifest = verify_image(make_image(tmp_path / "image", keys))
    assert manifest["verified_by"] == keys["city"][1]
    assert manifest["profile"] == "kontor-stationar"
    assert [p["name"] for p in manifest["packages"]] == ["firefox-esr", "sssd-ad"]
    assert manifest["packages"][1]["version"] == "2.8.2-4"


def test_a_flipped_byte_in_the_image_is_refused(tmp_path, keys):
    image = make_image(tmp_path / "image", keys)
    raw = image / "kontor-stationar.raw"
    with raw.open("r+b") as stream:
        stream.seek(3 * 1024 * 1024 + 5)
        byte = stream.read(1)
        stream.seek(-1, 1)
        stream.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(ManifestError, match=r"kontor-stationar\.raw: SHA-256 .* differs from the signed"):
        verify_image(image)


def test_a_manifest_edited_after_signing_is_refused(tmp_path, keys):
    image = make_image(tmp_path / "image", keys)
    path = image / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    manifest["files"]["raw"]["sha256"] = "f" * 64
    path.write_text(json.dumps(manifest, indent=2))
    with pytest.raises(ManifestError, match="does not verify: the signature does not match the file"):
        verify_image(image)


def test_an_image_signed_by_another_key_is_refused(tmp_path, keys):
    image = make_image(tmp_path / "image", keys, signer="other")
    with pytest.raises(ManifestError, match=r"manifest\.json: signature manifest\.json\.asc does not verify: "
                                            r"not signed by the key in city-image-signing\.pub\.asc"):
        verify_image(image)


def test_a_missing_signature_is_refused(tmp_path, keys):
    image = make_image(tmp_path / "image", keys)
    (image / "manifest.json.asc").unlink()
    with pytest.raises(ManifestError, match=r"manifest\.json\.asc: missing: manifest\.json is not signed"):
        verify_image(image)


def test_a_bmap_changed_after_signing_is_refused(tmp_path, keys):
    image = make_image(tmp_path / "image", keys)
    bmap = image / "kontor-stationar.bmap"
    bmap.write_text(bmap.read_text().replace("<BlockSize>", "<BlockSize> "))
    with pytest.raises(ManifestError, match=r"kontor-stationar\.bmap: SHA-256 .* differs"):
        verify_image(image)


def test_a_pinned_fingerprint_of_another_key_is_refused(tmp_path, keys):
    image = make_image(tmp_path / "image", keys)
    with pytest.raises(ManifestError, match=f"not by the expected {keys['other'][1]}"):
        verify_image(image, fingerprint=keys["other"][1])


def test_a_file_name_leaving_the_image_directory_is_refused(tmp_path, keys):
    image = make_image(tmp_path / "image", keys)
    path = image / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    manifest["files"]["raw"]["name"] = "../../dev/sda"
    path.write_text(json.dumps(manifest))
    sign_detached(*keys["city"], path)  # even signed by the city
    with pytest.raises(ManifestError, match=r"files\.raw\.name: not a plain file name"):
        verify_image(image)


def test_apply_writes_a_file_target_with_the_image_bytes(tmp_path, keys):
    image = make_image(tmp_path / "image", keys)
    target = tmp_path / "disk"
    result = apply(image, target)
    assert result.returncode == 0, result.stderr
    assert "kontor-stationar" in result.stdout and "verified" in result.stdout
    assert target.read_bytes() == (image / "kontor-stationar.raw").read_bytes()


def test_apply_of_a_tampered_image_writes_nothing(tmp_path, keys):
    image = make_image(tmp_path / "image", keys)
    with (image / "kontor-stationar.raw").open("r+b") as stream:
        stream.write(b"\x00")
    target = tmp_path / "disk"
    target.write_bytes(b"the machine's old disk")
    result = apply(image, target)
    assert result.returncode == 1
    assert f"REFUSED, nothing written to {target}" in result.stderr
    assert "SHA-256" in result.stderr
    assert target.read_bytes() == b"the machine's old disk"


def test_apply_with_the_city_key_given_refuses_an_image_with_a_replaced_key(tmp_path, keys):
    """Whoever replaces the image can replace the key beside it: the key given by path wins."""
    image = make_image(tmp_path / "image", keys, signer="other")
    export_public_key(keys["other"][0], keys["other"][1], image / PUBLIC_KEY_NAME)
    assert verify_image(image)["verified_by"] == keys["other"][1]  # self-consistent forgery
    city_key = tmp_path / "city.asc"
    export_public_key(keys["city"][0], keys["city"][1], city_key)
    result = apply(image, tmp_path / "disk", "--key", str(city_key))
    assert result.returncode == 1
    assert "not signed by the key in city.asc" in result.stderr
    assert not (tmp_path / "disk").exists()


def test_dpkg_query_output_becomes_sorted_package_entries():
    packages = parse_dpkg_query("zsh\t5.9-4+b1\tamd64\nadcli\t0.9.2-1\tamd64\n\n")
    assert packages == [{"name": "adcli", "version": "0.9.2-1", "architecture": "amd64"},
                        {"name": "zsh", "version": "5.9-4+b1", "architecture": "amd64"}]
