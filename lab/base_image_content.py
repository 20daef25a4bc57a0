#!/usr/bin/env python3
"""What the lab's base image carries beyond a minimal Debian, read from the baseline role
(its one source of truth): the packages every server gets and the locales it generates.

Every lab host and Molecule scenario applies the baseline first; when its packages are in
the image already, nine hosts do not download and unpack the same packages at once (3.7
minutes of a converge on 2 cores, bench/), and the role's tasks find them present. The
role still installs them on a host that lacks them, as production's hosts do.

    base_image_content.py packages|locales   (one name per line)"""

import sys
from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[1] / "roles" / "baseline"


def packages() -> list[str]:
    return list(yaml.safe_load((ROLE / "vars/main.yml").read_text())["__baseline_packages"])


def locales() -> list[str]:
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    return [defaults["baseline_locale"], *defaults["baseline_locales_extra"]]


def main(argv: list[str]) -> int:
    if argv not in (["packages"], ["locales"]):
        print(__doc__.rsplit("\n\n", 1)[1].strip(), file=sys.stderr)
        return 2
    print("\n".join(packages() if argv == ["packages"] else locales()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
