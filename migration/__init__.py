"""Moving a committee onto the common service: discovery now, migration later (issue 11).

module_utils/ is not a package (Ansible ships its files to the targets as they are), so the
migration code puts it on sys.path here, once, as tools/ do in each script."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "module_utils") not in sys.path:
    sys.path.insert(0, str(REPO / "module_utils"))
