"""TINYTORCH_* variables as the frontend reads them, through runtime.config: a switch takes the words of a
boolean (`TINYTORCH_EAGER=false` is off), and a value that does not parse stops `import tinytorch` with one
message that names the variable, rather than failing later inside a kernel."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

from tinytorch.data import paths

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHILD = ("import json, tinytorch as tt; x = tt.tensor([1.0]) * 2; "
         "print(json.dumps({'eager': tt.is_eager(), 'computed_when_built': x.is_realized}))")


def run_child(**env):
    return subprocess.run([sys.executable, "-c", CHILD], env=dict(os.environ, **env), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("word,on", [("false", False), ("Off", False), ("yes", True), ("on", True)])
def test_eager_switch_takes_boolean_words(word, on):
    res = run_child(TINYTORCH_EAGER=word)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"eager": on, "computed_when_built": on}


@pytest.mark.parametrize("name,value,accepted", [
    ("TINYTORCH_NUM_THREADS", "abc", "an integer of at least 1"),
    ("TINYTORCH_EAGER", "maybe", "one of 1/true/yes/on/0/false/no/off (any case)"),
    ("TINYTORCH_BACKEND", "cuda", "one of numpy, llvm"),
])
def test_a_bad_value_fails_the_import_naming_the_variable(name, value, accepted):
    res = run_child(**{name: value})
    assert res.returncode != 0 and res.stdout == ""
    message = f"{name}={value!r} is not valid: {name} takes {accepted}"
    assert res.stderr.rstrip().splitlines()[-1].endswith("ConfigError: " + message), res.stderr
    assert res.stderr.count("Traceback") == 1 and res.stderr.count(message) == 1, res.stderr  # one error only


def test_data_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TINYTORCH_DATA", "~/datasets")
    assert paths.data_root() == [tmp_path / "datasets", tmp_path / ".cache" / "tinytorch"]
    monkeypatch.setenv("TINYTORCH_DATA", "")
    assert paths.data_root() == [tmp_path / ".cache" / "tinytorch"]
