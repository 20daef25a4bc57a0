"""An allow list admits exactly what it lists: an empty one admits nobody, and anywhere is
said outright (['0.0.0.0/0', '::/0']). Checked on the templates that turn allow lists into
access: the baseline's firewall_service rules (every role's ports) and cupsd's locations."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from city_fixture import REPO

NFT = shutil.which("nft") or ("/usr/sbin/nft" if Path("/usr/sbin/nft").exists() else None)


def render(template: str, **variables) -> str:
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    text = (REPO / template).read_text(encoding="utf-8")
    templar = Templar(DataLoader(), variables={"ansible_managed": "Ansible managed", **variables})
    return templar.template(trust_as_template(text))


def firewall(rules: list[dict]) -> str:
    return render("roles/baseline/templates/nftables-service.nft.j2",
                  baseline_firewall_service_name="test", baseline_firewall_service_rules=rules)


def accepts(ruleset: str) -> list[str]:
    return [line for line in ruleset.splitlines() if line.startswith("add rule") and " accept" in line]


def test_an_empty_allow_list_opens_the_port_to_nobody():
    ruleset = firewall([{"proto": "tcp", "port": [25], "from": []},
                        {"proto": "tcp", "port": 443, "from": ["10.0.1.0/24"]}])
    assert accepts(ruleset) == [
        'add rule inet filter input ip saddr { 10.0.1.0/24 } tcp dport { 443 } accept comment "test"']


def test_anywhere_is_said_and_rendered_for_both_families():
    ruleset = firewall([{"proto": "tcp", "port": [80, 443], "from": ["0.0.0.0/0", "::/0"]}])
    assert accepts(ruleset) == [
        'add rule inet filter input ip saddr { 0.0.0.0/0 } tcp dport { 80, 443 } accept comment "test"',
        'add rule inet filter input ip6 saddr { ::/0 } tcp dport { 80, 443 } accept comment "test"']


def test_a_rule_without_from_is_an_error_not_an_open_port():
    from ansible.errors import AnsibleError

    with pytest.raises(AnsibleError):
        firewall([{"proto": "tcp", "port": 22}])


@pytest.mark.skipif(NFT is None, reason="nft is not installed here, so the ruleset cannot be checked")
def test_the_rendered_rules_are_valid_nftables(tmp_path):
    ruleset = firewall([{"proto": "tcp", "port": [25], "from": []},
                        {"proto": "udp", "port": 123, "from": ["10.0.0.0/16", "172.16.0.0/17", "fd00::/8"]},
                        {"proto": "tcp", "port": ["49152-65535"], "from": ["0.0.0.0/0", "::/0"]}])
    path = tmp_path / "rules.nft"
    path.write_text("table inet filter {\n  chain input {\n"
                    "    type filter hook input priority filter; policy drop;\n  }\n}\n" + ruleset)
    result = subprocess.run([NFT, "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    if result.returncode and "Operation not permitted" in result.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN here")
    assert result.returncode == 0, result.stderr


def cups_location(print_server_allow_networks: list[str]) -> str:
    config = render("roles/print_server/templates/cupsd.conf.j2", __print_server_port=631,
                    print_server_allow_networks=print_server_allow_networks,
                    print_server_admin_networks=[])
    return re.search(r"<Location />\n(.*?)</Location>", config, re.S).group(1)


def test_cups_admits_only_the_server_itself_when_nobody_is_allowed():
    assert cups_location([]).split() == ["Order", "allow,deny", "Allow", "localhost"]


def test_cups_admits_the_listed_networks_in_its_own_syntax():
    assert cups_location(["10.0.1.0/24", "fd00::/8"]).splitlines() == [
        "  Order allow,deny", "  Allow localhost", "  Allow from 10.0.1.0/24", "  Allow from [fd00::]/8"]
