"""Exercise regions: the parts of the real source a course module asks the student to write.

A region is marked in place by comment lines only, so marking it never changes the code:

    def _broadcast_two(a, b):
        # BEGIN EXERCISE m01.broadcast_two
        # STUB: return None
        ...the reference code...
        # END EXERCISE m01.broadcast_two

`# STUB:` lines right after BEGIN are optional; they give the body a workspace gets instead of the code (each
line without its `# STUB: ` prefix). Without them the stub is a `raise NotImplementedError` naming the module
and the region. The stub is indented as the BEGIN line. A stubbed file keeps its markers, so the same parser
finds the student's code, and `restore` can put the reference back.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re

BEGIN = "# BEGIN EXERCISE "
END = "# END EXERCISE "
STUB = "# STUB:"
NAME = re.compile(r"^m(\d\d)\.[a-z][a-z0-9_]*$")
SOURCE_DIRS = ("tinytorch", "compiler", "runtime")  # the folders a region may live in, relative to the root
SKIPPED = ("tinytorch/course",)  # this package talks about markers; it has no regions


class RegionError(ValueError):
    """A marker that does not parse: unclosed, nested, mismatched, duplicated or badly named."""


@dataclasses.dataclass(frozen=True)
class Region:
    name: str
    path: str  # relative to the root, with forward slashes
    begin: int  # 0-based line index of the BEGIN marker
    end: int  # 0-based line index of the END marker
    indent: str
    stub: tuple  # the stub's lines, unindented
    explicit: bool  # the stub was given by `# STUB:` lines (else the default raise)

    @property
    def module(self) -> int:
        return int(NAME.match(self.name).group(1))

    @property
    def body(self) -> slice:
        """The lines between the markers and the stub comment lines: the code the student writes."""
        return slice(self.begin + 1 + len(self.stub_comments), self.end)

    @property
    def stub_comments(self) -> tuple:
        return tuple(f"{self.indent}{STUB} {s}".rstrip() for s in self.stub) if self.explicit else ()

    def stub_lines(self) -> list:
        lines = self.stub if self.explicit else (
            f'raise NotImplementedError("module {self.module}, exercise {self.name} in {self.path}: '
            f'write this region (tinytorch course solution {self.module} {self.name} shows the reference)")',)
        return [f"{self.indent}{s}".rstrip() for s in lines]


def parse(text: str, path: str) -> list:
    """The regions of one file's text, in order; RegionError names the file and line of a bad marker."""
    lines = text.splitlines()
    regions, open_ = [], None
    for i, line in enumerate(lines):
        s = line.strip()
        where = f"{path}:{i + 1}"
        if s.startswith(BEGIN):
            name = s[len(BEGIN):].strip()
            if open_ is not None:
                raise RegionError(f"{where}: region {name} begins inside region {open_[0]}; regions do not nest")
            if not NAME.match(name):
                raise RegionError(f"{where}: region name {name!r} must look like m03.topo_walk (module, dot, word)")
            open_ = (name, i, line[:len(line) - len(line.lstrip())])
        elif s.startswith(END):
            name = s[len(END):].strip()
            if open_ is None:
                raise RegionError(f"{where}: END EXERCISE {name} without a BEGIN")
            if name != open_[0]:
                raise RegionError(f"{where}: END EXERCISE {name} closes region {open_[0]}; write END EXERCISE {open_[0]}")
            start, indent = open_[1], open_[2]
            stub = []
            for j in range(start + 1, i):
                t = lines[j].strip()
                if not t.startswith(STUB):
                    break
                stub.append(t[len(STUB):].removeprefix(" "))
            regions.append(Region(name, path, start, i, indent, tuple(stub), bool(stub)))
            open_ = None
    if open_ is not None:
        raise RegionError(f"{path}:{open_[1] + 1}: region {open_[0]} has no END EXERCISE {open_[0]}")
    return regions


def source_files(root):
    root = pathlib.Path(root)
    for d in SOURCE_DIRS:
        for p in sorted((root / d).rglob("*.py")):
            rel = p.relative_to(root).as_posix()
            if not rel.startswith(SKIPPED):
                yield rel, p


def find_all(root) -> dict:
    """{name: Region} over every source file under `root`; RegionError if a name is used twice."""
    found = {}
    for rel, p in source_files(root):
        text = p.read_text()
        if BEGIN not in text:
            continue
        for r in parse(text, rel):
            if r.name in found:
                o = found[r.name]
                raise RegionError(f"{rel}:{r.begin + 1}: region {r.name} is also at {o.path}:{o.begin + 1}; "
                                  f"names are unique")
            found[r.name] = r
    return found


def _splice(root, region: Region, new_body: list) -> None:
    p = pathlib.Path(root) / region.path
    text = p.read_text()
    lines = text.splitlines()
    current = {r.name: r for r in parse(text, region.path)}.get(region.name)
    if current is None:
        raise RegionError(f"{region.path}: region {region.name} is not in {p}; its markers were removed")
    lines[current.body] = new_body
    p.write_text("\n".join(lines) + ("\n" if text.endswith("\n") else ""))


def stub(root, region: Region) -> None:
    """Replace the region's code in the file under `root` by its stub."""
    _splice(root, region, region.stub_lines())


def reference_body(reference_root, region: Region) -> list:
    lines = (pathlib.Path(reference_root) / region.path).read_text().splitlines()
    return lines[region.body]


def restore(root, region: Region, reference_root) -> None:
    """Put the reference code (read from `reference_root`) back into the region of the file under `root`."""
    _splice(root, region, reference_body(reference_root, region))


def current_body(root, region: Region) -> list:
    p = pathlib.Path(root) / region.path
    mine = {r.name: r for r in parse(p.read_text(), region.path)}.get(region.name)
    if mine is None:
        raise RegionError(f"{region.path}: region {region.name} is not in {p}; its markers were removed")
    return p.read_text().splitlines()[mine.body]
