"""The project documents itself: the README's table of settings is the one config.py declares, and nothing
in the README or docs/ points outside the repository (a user's clone has no ../shared)."""
import pathlib
import re

from tinytorch.runtime import config

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_readme_lists_every_setting_as_config_declares_it():
    assert config.markdown_table() in (ROOT / "README.md").read_text()


def test_docs_point_only_inside_the_repository():
    """No link leaves the repository, and no page sends the reader to a design document outside it."""
    pattern = r"\]\((?:\.\./|/)[^)]*\)|shared/DESIGN\.md"
    outside = [f"{p.name}: {m.group(0)}" for p in DOCS for m in re.finditer(pattern, p.read_text())]
    assert not outside, outside


def test_files_the_design_names_exist():
    text = (ROOT / "docs" / "DESIGN.md").read_text()
    named = set(re.findall(r"`((?:tinytorch|compiler|runtime|tests|benchmarks|examples)/[\w/]+\.py)`", text))
    assert len(named) > 20
    missing = sorted(p for p in named if not (ROOT / p).is_file())
    assert not missing, missing
