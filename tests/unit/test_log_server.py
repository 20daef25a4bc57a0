"""The log host's rsyslog configuration: the file a message is written to is chosen by
the receiver, never by what the sender writes into the message."""

from __future__ import annotations

import re

from role_files import render_template

# rsyslog's properties a sender cannot choose: the name or address of the connection's
# peer as the log host resolves it (not the HOSTNAME field inside the message).
RECEIVER_SEEN = {"fromhost", "fromhost-ip"}


def path_templates(config: str) -> dict[str, str]:
    """name -> string of the rsyslog templates that omfile actions use as dynaFile."""
    templates = dict(re.findall(r'template\(name="([^"]+)"\s+type="string"\s+string="([^"]*)"', config))
    used = set(re.findall(r'dynaFile="([^"]+)"', config))
    assert used, "no omfile action with a dynaFile"
    return {name: templates[name] for name in used}


def test_every_path_component_is_the_receivers_view_made_safe_for_a_path():
    config = render_template("log_server", "rsyslog-receive.conf.j2", {"log_server_dir": "/var/log/remote"})
    for name, path in path_templates(config).items():
        assert path.startswith("/var/log/remote/"), (name, path)
        properties = re.findall(r"%([^%]*)%", path)
        assert properties, (name, path)
        for prop in properties:
            fields = prop.split(":")
            assert fields[0].lower() in RECEIVER_SEEN, f"{name}: %{prop}% is chosen by the sender"
            # Options are the fourth field: %name:from:to:options%.
            options = fields[3].split(",") if len(fields) > 3 else []
            assert "secpath-replace" in options or "secpath-drop" in options, \
                f"{name}: %{prop}% can hold '/' or '..'"
