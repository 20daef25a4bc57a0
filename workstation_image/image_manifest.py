"""The manifest beside a workstation image, and its verification before the image is applied.

manifest.json says what the image is: the profile and its spec hash, every package with its
version, the SHA-256 and size of the raw disk image, the qcow2 and the bmap, when and how
long it was built, with which tools. It is signed (manifest.json.asc), so the image's
checksum is as trustworthy as the city's key; the bmap is signed too (<profile>.bmap.asc),
since bmaptool trusts its per-range checksums while it writes.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

try:
    from image_signing import PUBLIC_KEY_NAME, SignatureError, verify_detached
except ImportError:  # imported as a package module
    from .image_signing import PUBLIC_KEY_NAME, SignatureError, verify_detached

MANIFEST_NAME = "manifest.json"
FORMAT = 1
CHUNK = 4 * 1024 * 1024


class ManifestError(Exception):
    """An image that must not be applied; the message names the file and what is wrong."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# What an image is built from besides the spec: the role, the playbook and the builder.
INPUTS = ("roles/workstation", "playbooks/workstation_image.yml", "workstation_image")


def inputs_hash(repo: Path) -> str:
    """SHA-256 over the names and contents of the files the image is built from (INPUTS),
    so that a test can tell whether an image on disk is the one this tree would build."""
    digest = hashlib.sha256()
    for top in INPUTS:
        base = repo / top
        files = sorted(path for path in ([base] if base.is_file() else base.rglob("*"))
                       if path.is_file() and "__pycache__" not in path.parts)
        for path in files:
            digest.update(path.relative_to(repo).as_posix().encode() + b"\0")
            digest.update(sha256_file(path).encode() + b"\n")
    return digest.hexdigest()


def file_entry(path: Path) -> dict[str, Any]:
    return {"name": path.name, "sha256": sha256_file(path), "size": path.stat().st_size}


def parse_dpkg_query(output: str) -> list[dict[str, str]]:
    """dpkg-query -W -f '${Package}\\t${Version}\\t${Architecture}\\n' output, sorted by name."""
    packages = []
    for line in output.splitlines():
        if line.strip():
            name, version, architecture = line.split("\t")
            packages.append({"name": name, "version": version, "architecture": architecture})
    return sorted(packages, key=lambda package: package["name"])


def file_entries(paths: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """file_entry of each path, hashed side by side (hashlib lets go of the GIL)."""
    with ThreadPoolExecutor(max_workers=len(paths) or 1) as pool:
        futures = {key: pool.submit(file_entry, path) for key, path in paths.items()}
        return {key: future.result() for key, future in futures.items()}


def build_manifest(*, profile: dict[str, Any], spec_hash: str, inputs: str = "",
                   packages: list[dict[str, str]], files: dict[str, dict[str, Any]], built_at: str,
                   build_seconds: float, installed_bytes: int, builder: dict[str, str],
                   signing_key: str, stages: dict[str, float] | None = None) -> dict[str, Any]:
    """files: file_entries of raw, bmap and (optionally) qcow2."""
    return {
        "format": FORMAT,
        "profile": profile["id"],
        "profile_name": profile.get("name", ""),
        "spec_hash": spec_hash,
        "inputs_hash": inputs,
        "release": profile.get("release"),
        "architecture": profile.get("architecture"),
        "requested_packages": list(profile["packages"]),
        "packages": packages,
        "files": files,
        "installed_bytes": installed_bytes,
        "built_at": built_at,
        "build_seconds": round(build_seconds, 1),
        "build_stages_seconds": {name: round(value, 1) for name, value in (stages or {}).items()},
        "builder": builder,
        "signing_key": signing_key,
    }


def write_manifest(manifest: dict[str, Any], directory: Path) -> Path:
    path = directory / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
                    encoding="utf-8")
    return path


def _plain_name(value: Any, key: str) -> str:
    """A file name from the manifest that stays inside the image directory."""
    if not isinstance(value, str) or not value or "/" in value or value in (".", ".."):
        raise ManifestError(f"{MANIFEST_NAME}: files.{key}.name: not a plain file name: {value!r:.60}")
    return value


def load_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"{path}: missing: not an image directory")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ManifestError(f"{path}: format: expected {FORMAT}")
    for key in ("raw", "bmap"):
        entry = manifest.get("files", {}).get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise ManifestError(f"{path}: files.{key}: missing or without sha256")
        _plain_name(entry.get("name"), key)
    return manifest


def verify_image(directory: Path, public_key: Path | None = None,
                 fingerprint: str | None = None) -> dict[str, Any]:
    """The manifest of the image in directory once everything checks; ManifestError otherwise.

    In order: manifest.json's signature by the city's key, the raw image's and the bmap's
    SHA-256 against the manifest, the bmap's own signature. Reads, never writes."""
    public_key = public_key or directory / PUBLIC_KEY_NAME
    manifest_path = directory / MANIFEST_NAME
    try:
        signer = verify_detached(manifest_path, manifest_path.with_name(MANIFEST_NAME + ".asc"),
                                 public_key, fingerprint)
    except SignatureError as error:
        raise ManifestError(str(error)) from None
    manifest = load_manifest(directory)
    for key in ("raw", "bmap"):
        entry = manifest["files"][key]
        path = directory / entry["name"]
        if not path.is_file():
            raise ManifestError(f"{path}: missing (named by {MANIFEST_NAME} files.{key})")
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise ManifestError(f"{path.name}: SHA-256 {actual[:16]}… differs from the signed "
                                f"manifest's {entry['sha256'][:16]}…: the file changed or is damaged")
    bmap = directory / manifest["files"]["bmap"]["name"]
    try:
        verify_detached(bmap, bmap.with_name(bmap.name + ".asc"), public_key, signer)
    except SignatureError as error:
        raise ManifestError(str(error)) from None
    manifest["verified_by"] = signer
    return manifest
