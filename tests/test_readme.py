"""Every command in the README's ``sh`` blocks runs, on the bundled samples, and succeeds."""

import re
import shlex
import shutil

import pytest

from hdr_plugin.cli import main
from tests.conftest import REPO

README = (REPO / "README.md").read_text()
COMMANDS = [
    line.strip()
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    for line in block.splitlines()
    if line.strip().startswith("hdr-plugin ")
]


def test_the_readme_has_examples_and_exactly_two_setup_commands():
    assert len(COMMANDS) >= 15
    setup = re.search(r"## Set-up.*?```text\n(.*?)```", README, flags=re.S).group(1)
    assert [line.split()[:2] for line in setup.strip().splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder holding a copy of the samples, as a user's checkout would."""
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "samples", folder / "samples")
    return folder


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(command, workdir, monkeypatch, capsys, qapp):
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("XDG_DATA_HOME", str(workdir / "data"))  # install-krita's default
    monkeypatch.setenv("XDG_CONFIG_HOME", str(workdir / "config"))
    code = main(shlex.split(command)[1:])
    captured = capsys.readouterr()
    assert code == 0, f"{command}\n{captured.err[-2000:]}"
