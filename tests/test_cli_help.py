"""The command line explains itself: help on every option, the app's flags and true theme names
in `cnn-tui --help`, shell completion generated from the parser, "did you mean" for a typo."""

from __future__ import annotations

import argparse
import shutil
import subprocess

import pytest

from cnn_tui.cli import THEMES_SHOWN, build_parser, main


def _walk(parser: argparse.ArgumentParser, path: str):
    """(command path, action) for every argument of every (sub)command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helped = {a.dest for a in action._choices_actions if a.help}
            for name, child in action.choices.items():
                yield f"{path} {name}", ("subcommand", name in helped)
                yield from _walk(child, f"{path} {name}")
        else:
            yield path, action


def test_every_option_and_subcommand_has_help():
    missing = []
    for path, action in _walk(build_parser(), "cnn-tui"):
        if isinstance(action, tuple):
            if not action[1]:
                missing.append(f"{path} (no help line in its parent's list)")
        elif not action.help:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_help_lists_the_apps_flags_and_true_theme_names(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--theme", "--no-mouse", "--data-dir", "--runs-dir", "--print-completion"):
        assert flag in out, flag
    assert "dark, light" not in out  # the old, false list
    assert "cnn-solarized-dark" in " ".join(out.split())
    from cnn_tui.tui.app import CnnTuiApp

    offered = CnnTuiApp(offer_autosave=False).theme_names
    assert [name for name in THEMES_SHOWN if name not in offered] == []


def test_app_help_lists_the_same_flags(capsys):
    with pytest.raises(SystemExit):
        main(["--theme", "nord", "--help"])
    out = capsys.readouterr().out
    assert "FILE | SHARECODE" in out and "--no-mouse" in out and "ansi-dark" in out


@pytest.mark.parametrize("typo, command", [("trian", "train"), ("sumary", "summary"),
                                           ("histroy", "history"), ("rusn", "runs")])
def test_a_mistyped_command_gets_did_you_mean(capsys, typo, command):
    code = main([typo, "x.json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"did you mean {command!r}" in err


def test_a_missing_file_is_not_taken_for_a_typo(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "trian").write_text("{}")  # a file of that name: opened, not corrected
    code = main(["trian"])
    err = capsys.readouterr().err
    assert code == 2 and "did you mean" not in err and "trian" in err
    code = main(["nets/my.json"])
    err = capsys.readouterr().err
    assert code == 2 and "did you mean" not in err


def _bash_complete(script: str, words: list[str], cwd) -> list[str]:
    """What bash completes for `words` (the last one being typed) with `script` loaded."""
    harness = script + (
        '\nCOMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()\n'
        '_cnn_tui\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    done = subprocess.run(["bash", "-c", harness, "bash", *words], cwd=cwd, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def bash_script() -> str:
    from cnn_tui.completion import completion_script

    return completion_script(build_parser(), "bash")


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_completion_is_valid_and_completes(bash_script, tmp_path, capsys):
    assert main(["--print-completion", "bash"]) == 0
    assert capsys.readouterr().out == bash_script
    check = subprocess.run(["bash", "-n"], input=bash_script, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    (tmp_path / "mnist").mkdir()
    (tmp_path / "net.json").write_text("{}")
    assert _bash_complete(bash_script, ["cnn-tui", "ru"], tmp_path) == ["runs"]
    assert _bash_complete(bash_script, ["cnn-tui", "tr"], tmp_path) == ["train"]
    assert _bash_complete(bash_script, ["cnn-tui", "runs", ""], tmp_path) == \
        ["list", "show", "compare", "export", "rename", "tag", "delete"]
    assert _bash_complete(bash_script, ["cnn-tui", "data", "fetch", "--source", ""],
                          tmp_path) == ["auto", "mirror", "pypi"]
    assert _bash_complete(bash_script, ["cnn-tui", "--th"], tmp_path) == ["--theme"]
    assert "nord" in _bash_complete(bash_script, ["cnn-tui", "--theme", "n"], tmp_path)
    assert _bash_complete(bash_script, ["cnn-tui", "train", "x.json", "--data-dir", "m"],
                          tmp_path) == ["mnist"]
    assert _bash_complete(bash_script, ["cnn-tui", "train", "ne"], tmp_path) == ["net.json"]
    assert "--limit-train" in _bash_complete(bash_script, ["cnn-tui", "train", "--li"], tmp_path)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
def test_zsh_completion_loads_and_offers_the_same(tmp_path, capsys):
    """zsh runs the bash function through bashcompinit (its compadd then filters by what is
    typed, so the function's list is checked whole here)."""
    assert main(["--print-completion", "zsh"]) == 0
    script = capsys.readouterr().out
    path = tmp_path / "cnn-tui.zsh"
    path.write_text(script)
    assert subprocess.run(["zsh", "-n", str(path)], capture_output=True).returncode == 0
    harness = (f"source {path}\n"
               'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()\n'
               "emulate sh -c _cnn_tui\nprint -rl -- $COMPREPLY\n")
    done = subprocess.run(["zsh", "-f", "-c", harness, "zsh", "cnn-tui", "runs", ""],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["list", "show", "compare", "export", "rename", "tag", "delete"]
