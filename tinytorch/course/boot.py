"""Run pytest on a student workspace with the workspace's own tinytorch imported (stdlib only, run as a script).

    python WORKSPACE/tinytorch/course/boot.py WORKSPACE RESULTS.json NODEID...

The repository maps `tinytorch.compiler` to compiler/ and `tinytorch.runtime` to runtime/ (pyproject's
package-dir), and an editable install of the reference puts a finder for those names on sys.meta_path. So
PYTHONPATH alone would import the reference, not the student's code: this script puts a finder first that
maps the three packages to the workspace's folders, then runs pytest there and writes each test's outcome and
the last line of its failure to RESULTS.json.
"""
import importlib.machinery
import importlib.util
import json
import os
import sys

ROOTS = {"tinytorch": "tinytorch", "tinytorch.compiler": "compiler", "tinytorch.runtime": "runtime"}


class WorkspaceFinder:
    def __init__(self, workspace):
        self.dirs = {name: os.path.join(workspace, folder) for name, folder in ROOTS.items()}

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.dirs:
            d = self.dirs[fullname]
            return importlib.util.spec_from_file_location(fullname, os.path.join(d, "__init__.py"),
                                                          submodule_search_locations=[d])
        parent = fullname.rpartition(".")[0]
        if fullname.startswith("tinytorch.") and parent in sys.modules:
            return importlib.machinery.PathFinder.find_spec(fullname, sys.modules[parent].__path__)
        return None


class Outcomes:
    def __init__(self):
        self.results = {}

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            if report.nodeid in self.results and self.results[report.nodeid]["outcome"] == "failed":
                return
            message = ""
            if report.outcome == "failed":
                crash = getattr(report.longrepr, "reprcrash", None)
                text = (crash.message if crash is not None else str(report.longrepr)).strip().splitlines()
                message = (text[0] if text else "failed")[:400]
            self.results[report.nodeid] = {"outcome": report.outcome, "message": message}


def _quick_hypothesis():
    """A failing property test reports its first failing example: no shrinking, no explain phase (each takes
    a minute on a stub that fails everywhere), no example database written into the workspace."""
    try:
        from hypothesis import Phase, settings
    except ImportError:
        return
    settings.register_profile("course-check", phases=[Phase.explicit, Phase.generate], database=None,
                              print_blob=False)
    settings.load_profile("course-check")


def main(argv):
    workspace, results_path, nodes = os.path.abspath(argv[0]), argv[1], argv[2:]
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
    sys.meta_path.insert(0, WorkspaceFinder(workspace))
    import pytest
    _quick_hypothesis()
    os.chdir(workspace)
    plugin = Outcomes()
    code = pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", workspace, "-c",
                        os.path.join(workspace, "pyproject.toml"), "-o", "addopts=", *nodes], plugins=[plugin])
    imported = getattr(sys.modules.get("tinytorch"), "__file__", None)
    with open(results_path, "w") as f:
        json.dump({"exit": int(code), "tinytorch": imported, "results": plugin.results}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
