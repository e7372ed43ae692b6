"""The design lives in the repository (docs/architecture.md): nothing cites a design document
outside it, every citation of it names a section it has, and it names every package."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
TEXT_SUFFIXES = {".py", ".md", ".toml", ".tcss", ".cfg", ".ini", ".txt", ".mako", ".yml"}
TEXT_NAMES = {"Makefile"}
SOURCE_PACKAGES = ("scanner", "labels", "sync", "screens", "bench")

# The design and the research notes it grew from were never in the repository: a clone
# cannot follow a citation of them. Written so that this file does not match itself.
OUTSIDE = re.compile(
    "|".join(
        (
            "DESIGN" + r"\s*§",
            "DESIGN" + r"\.md",
            "research" + r"/[\w./-]+\.md",
            r"\bresearch" + r"\s*§",
        )
    )
)
# The page's path, a comma, and a section's name in double quotes, possibly on the next line
# (of a docstring or of a comment).
CITATION = re.compile(r'docs/architecture\.md`?,[\s#]+"([^"]+)"')
# A reference from one section of the page to another: (see "Section").
SEE = re.compile(r'see "([^"]+)"')


def _tracked_text_files() -> list[Path]:
    """The repository's own text files: what git tracks, else every file but tools' caches."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
        paths = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        paths = [
            path
            for path in ROOT.rglob("*")
            if not any(part.startswith(".") or part == "build" for part in path.parts)
        ]
    return [
        path
        for path in paths
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES)
    ]


def _names(text: str) -> str:
    return " ".join(text.replace("#", " ").split())


def _headings() -> set[str]:
    headings: set[str] = set()
    fenced = False
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            headings.add(_names(line.lstrip("#")))
    return headings


def test_no_file_cites_a_design_outside_the_repository() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _tracked_text_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert offences == []


def test_every_citation_of_the_architecture_names_one_of_its_sections() -> None:
    headings = _headings()
    cited: dict[str, list[str]] = {}
    for path in _tracked_text_files():
        for name in CITATION.findall(path.read_text(encoding="utf-8")):
            cited.setdefault(_names(name), []).append(str(path.relative_to(ROOT)))
    assert cited, "nothing cites docs/architecture.md: is the citation pattern still right?"
    unknown = {name: files for name, files in cited.items() if name not in headings}
    assert unknown == {}


def test_the_architecture_refers_only_to_its_own_sections() -> None:
    headings = _headings()
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert sorted({_names(name) for name in SEE.findall(text)} - headings) == []


def test_the_architecture_names_every_package() -> None:
    """Each top-level package, and each package inside our own, with a line on what it holds
    and which way its imports point."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    packages = [
        path.parent.relative_to(ROOT).as_posix()
        for path in ROOT.glob("*/__init__.py")
        if not path.parent.name.startswith(".")
    ]
    for top in SOURCE_PACKAGES:
        packages += [
            path.parent.relative_to(ROOT).as_posix() for path in (ROOT / top).rglob("*/__init__.py")
        ]
    assert set(SOURCE_PACKAGES) <= set(packages)
    assert sorted(package for package in packages if f"`{package}/`" not in text) == []
