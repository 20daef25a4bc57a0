"""The central log host files a message by who sent it, as it sees the connection,
whatever host name the message claims."""

import shlex
import uuid

from conftest import wait_for

SEND = """
import socket, sys
with socket.create_connection((sys.argv[1], 514), timeout=10) as connection:
    for claimed in sys.argv[3:]:
        line = f"<13>1 2024-01-01T00:00:00Z {claimed} e2e - - - {sys.argv[2]} {claimed}\\n"
        connection.sendall(line.encode())
"""


def test_a_message_claiming_another_host_lands_in_the_senders_own_file(lab):
    marker = f"e2e-{uuid.uuid4()}"
    claims = ["dc1", "../escaped", "../../../tmp/escaped"]
    lab.ssh("fs1", " ".join(shlex.quote(part) for part in
                            ["python3", "-c", SEND, lab.address("log1"), marker, *claims]))
    own = wait_for(lambda: lab.ssh("log1", "sudo cat /var/log/remote/fs1/syslog.log", check=False).stdout
                   .count(marker) == len(claims) or None, timeout=30)
    assert own, "the claiming messages from fs1 did not reach fs1's own file on log1"
    other = lab.ssh("log1", "sudo cat /var/log/remote/dc1/syslog.log", check=False).stdout
    assert marker not in other
    escaped = lab.ssh("log1", "sudo ls -d /var/log/escaped /tmp/escaped", check=False)
    assert escaped.returncode != 0 and not escaped.stdout.strip(), escaped.stdout
