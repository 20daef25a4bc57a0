"""The log host's rsyslog configuration: the file a message is written to is chosen by
the receiver, never by what the sender writes into the message."""

from __future__ import annotations

import re

from role_files import render_template

# rsyslog's properties a sender cannot choose: the name or address of the connection's
# peer as the log host resolves it (not the HOSTNAME field inside the message).
RECEIVER_SEEN = {"fromhost", "fromhost-ip"}


def config() -> str:
    return render_template("log_server", "rsyslog-receive.conf.j2", {"log_server_dir": "/var/log/remote"})


def path_templates(text: str) -> dict[str, str]:
    """name -> string of the rsyslog templates that omfile actions use as dynaFile."""
    templates = dict(re.findall(r'template\(name="([^"]+)"\s+type="string"\s+string="([^"]*)"', text))
    used = set(re.findall(r'dynaFile="([^"]+)"', text))
    assert used, "no omfile action with a dynaFile"
    return {name: templates[name] for name in used}


def variable_sources(text: str) -> dict[str, set[str]]:
    """local variable ($.name) -> the message properties its `set` statements read."""
    sources: dict[str, set[str]] = {}
    for name, expression in re.findall(r"set\s+\$\.([\w-]+)\s*=\s*([^;]+);", text):
        sources.setdefault(name.lower(), set()).update(
            prop.lower() for prop in re.findall(r"\$([!.]?[\w-]+)", expression))
    return sources


def test_every_path_component_is_the_receivers_view_made_safe_for_a_path():
    text = config()
    sources = variable_sources(text)
    for name, path in path_templates(text).items():
        assert path.startswith("/var/log/remote/"), (name, path)
        properties = re.findall(r"%([^%]*)%", path)
        assert properties, (name, path)
        for prop in properties:
            fields = prop.split(":")
            source = fields[0].lower()
            if source.startswith("$."):
                read = sources.get(source[2:], set())
                assert read and read <= RECEIVER_SEEN, f"{name}: %{prop}% is set from {sorted(read)}"
            else:
                assert source in RECEIVER_SEEN, f"{name}: %{prop}% is chosen by the sender"
            # Options are the fourth field: %name:from:to:options%.
            options = fields[3].split(",") if len(fields) > 3 else []
            assert "secpath-replace" in options or "secpath-drop" in options, \
                f"{name}: %{prop}% can hold '/' or '..'"


def test_a_sender_set_variable_is_caught():
    text = 'set $.sender = $hostname;\ntemplate(name="T" type="string" string="/var/log/remote/%$.sender%/x")'
    assert variable_sources(text) == {"sender": {"hostname"}}
