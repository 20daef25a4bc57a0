"""OpenPGP signatures of the workstation image: the city's key signs, gpgv verifies.

The lab makes its own signing key (ed25519, no passphrase) in a GNUPGHOME under
.lab/<prefix>/secrets/image-signing/, never committed. Production signs with the city's
own key, which lives with the city (a GNUPGHOME on the build host, or a smartcard behind
its gpg-agent) and is named by GEMENSAM_IMAGE_SIGNING_HOME; it is never in this repository.

Verification uses gpgv with a keyring made from one exported public key only, so nothing
from the user's own keyring can make a signature pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

LAB_KEY_UID = "Gemensam IT lab image signing <image-signing@lab.invalid>"
PUBLIC_KEY_NAME = "city-image-signing.pub.asc"


class SignatureError(Exception):
    """A signature that does not verify, or a key that cannot be used; the message says which."""


def _gpg(home: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["gpg", "--batch", "--no-tty", "--quiet", "--homedir", str(home), *args],
        input=stdin, capture_output=True, check=False,
    )


def _fail(what: str, result: subprocess.CompletedProcess) -> SignatureError:
    error = result.stderr.decode(errors="replace").strip().splitlines()
    return SignatureError(f"{what}: {error[-1] if error else f'exit status {result.returncode}'}")


def secret_fingerprint(home: Path) -> str | None:
    """The fingerprint of the first secret key in home, or None when it holds none."""
    result = _gpg(home, "--with-colons", "--list-secret-keys")
    for line in result.stdout.decode().splitlines():
        if line.startswith("fpr:"):
            return line.split(":")[9]
    return None


def ensure_lab_key(home: Path, uid: str = LAB_KEY_UID) -> str:
    """The fingerprint of the lab's signing key in home, made once (ed25519, no passphrase)."""
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    fingerprint = secret_fingerprint(home)
    if fingerprint:
        return fingerprint
    result = _gpg(home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
    if result.returncode != 0:
        raise _fail(f"cannot make the lab's signing key in {home}", result)
    fingerprint = secret_fingerprint(home)
    if not fingerprint:
        raise SignatureError(f"gpg made no key in {home}")
    return fingerprint


def export_public_key(home: Path, fingerprint: str, destination: Path) -> None:
    result = _gpg(home, "--armor", "--export", fingerprint)
    if result.returncode != 0 or not result.stdout:
        raise _fail(f"cannot export the public key {fingerprint}", result)
    destination.write_bytes(result.stdout)


def sign_detached(home: Path, fingerprint: str, path: Path) -> Path:
    """Writes path.asc, an armoured detached signature of path by the key fingerprint."""
    signature = path.with_name(path.name + ".asc")
    result = _gpg(home, "--yes", "--local-user", fingerprint, "--armor", "--detach-sign",
                  "--output", str(signature), str(path))
    if result.returncode != 0:
        raise _fail(f"cannot sign {path.name}", result)
    return signature


def _keyring(public_key: Path, workdir: Path) -> Path:
    """A gpgv keyring holding exactly the key in public_key (armoured or binary)."""
    if not public_key.is_file():
        raise SignatureError(f"{public_key}: no such public key file")
    keyring = workdir / "city.gpg"
    if b"-----BEGIN PGP PUBLIC KEY BLOCK-----" not in public_key.read_bytes():
        shutil.copyfile(public_key, keyring)  # already a binary key
        return keyring
    result = subprocess.run(["gpg", "--batch", "--no-tty", "--homedir", str(workdir), "--yes",
                             "--output", str(keyring), "--dearmor", str(public_key)],
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise _fail(f"{public_key}: not an OpenPGP public key", result)
    return keyring


def verify_detached(path: Path, signature: Path, public_key: Path, fingerprint: str | None = None) -> str:
    """The fingerprint of the key whose good signature signature is over path's bytes; with
    fingerprint given, that key and no other. SignatureError saying what failed otherwise."""
    if not signature.is_file():
        raise SignatureError(f"{signature.name}: missing: {path.name} is not signed")
    with tempfile.TemporaryDirectory(prefix="gemensam-gpgv-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o700)
        keyring = _keyring(public_key, workdir)
        result = subprocess.run(["gpgv", "--status-fd", "1", "--keyring", str(keyring),
                                 str(signature), str(path)], capture_output=True, check=False)
    status = result.stdout.decode(errors="replace").splitlines()
    valid = [line.split()[2] for line in status if line.startswith("[GNUPG:] VALIDSIG ")]
    if result.returncode != 0 or not valid:
        if any(line.startswith(("[GNUPG:] BADSIG", "[GNUPG:] ERRSIG")) for line in status):
            reason = ("the signature does not match the file (changed after signing?)"
                      if any(line.startswith("[GNUPG:] BADSIG") for line in status)
                      else f"not signed by the key in {public_key.name}")
        else:
            reason = "no valid signature"
        raise SignatureError(f"{path.name}: signature {signature.name} does not verify: {reason}")
    # VALIDSIG's 10th field is the primary key's fingerprint; the 1st the signing (sub)key's.
    fields = next(line for line in status if line.startswith("[GNUPG:] VALIDSIG ")).split()
    primary = fields[11] if len(fields) > 11 else valid[0]
    if fingerprint and fingerprint.replace(" ", "").upper() not in (primary.upper(), valid[0].upper()):
        raise SignatureError(f"{path.name}: signed by key {primary}, not by the expected {fingerprint}")
    return primary
