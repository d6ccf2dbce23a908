"""`selftaught view`: a live, read-only view of runs in the browser (docs/report.md)."""

from selftaught.view.app import make_app
from selftaught.view.serve import serve

__all__ = ["make_app", "serve"]
