"""Starting the domain or the CLI loads no UI code.

Which package may import which is checked by import-linter (the contracts in pyproject.toml,
run by `make test`); it reads the imports without running them. This test runs them: the CLI
imports the screens inside the function that opens the app, so importing it must load neither
Textual nor the screens.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
