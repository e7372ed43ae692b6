"""The domain packages (scanner, labels, sync) never import Textual or the UI (screens).

The one exception is the composition root (scanner/cli.py, scanner/__main__.py), which may
import screens inside a function, so that importing it still loads no UI code.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_PACKAGES = ("scanner", "labels", "sync")
UI_PACKAGES = {"textual", "screens"}
COMPOSITION_ROOT = {Path("scanner/cli.py"), Path("scanner/__main__.py")}


def test_importing_the_domain_and_the_cli_loads_no_ui_module() -> None:
    code = (
        "import scanner, scanner.cli, labels, sync; import sys; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'screens'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _ui_imports(tree: ast.AST) -> list[tuple[int, str, bool]]:
    """Each import of a UI package: (line, module, whether it is inside a function)."""
    found: list[tuple[int, str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                # A relative import stays inside its own package.
                modules = [node.module] if node.level == 0 and node.module else []
            found.extend(
                (node.lineno, module, in_function)
                for module in modules
                if module.split(".")[0] in UI_PACKAGES
            )
        nested = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, nested)

    visit(tree, in_function=False)
    return found


def test_domain_sources_import_no_ui_module_at_module_level() -> None:
    offences: list[str] = []
    for package in DOMAIN_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, module, in_function in _ui_imports(tree):
                allowed = (
                    relative in COMPOSITION_ROOT
                    and in_function
                    and module.split(".")[0] == "screens"
                )
                if not allowed:
                    offences.append(f"{relative}:{line} imports {module}")
    assert offences == []
