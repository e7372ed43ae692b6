"""Files the console hands over as downloads: the core's writers write to a path (a file
that appears whole or not at all), so each download is written into a temporary folder,
sent from there, and the folder is removed once it has been sent."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON_LD = "application/ld+json"


def download(name: str, media_type: str, write: Callable[[Path], object]) -> FileResponse:
    """The file `write` writes at the path it is given, sent as the download `name`."""
    folder = Path(tempfile.mkdtemp(prefix="lotscan-console-"))
    try:
        path = folder / name
        write(path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=media_type,
        filename=name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
