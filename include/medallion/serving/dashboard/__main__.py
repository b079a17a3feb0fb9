"""``python -m medallion.serving.dashboard [--host 127.0.0.1] [--port 8501]``: run the dashboard.

Runs ``streamlit run`` on :mod:`medallion.serving.dashboard.app`, headless (no browser opened, no usage
statistics sent). ``API_URL``, ``LAKE_ROOT`` and ``CURRENCY`` come from the environment. Health:
``GET /_stcore/health`` answers ``ok``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streamlit.web import cli as streamlit_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medallion.serving.dashboard", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on [127.0.0.1]")
    parser.add_argument("--port", type=int, default=8501, help="TCP port [8501]")
    args = parser.parse_args(argv)
    sys.argv = ["streamlit", "run", str(Path(__file__).with_name("app.py")), "--server.headless", "true",
                "--server.address", args.host, "--server.port", str(args.port),
                "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
                "--global.developmentMode", "false", "--client.toolbarMode", "viewer"]
    return streamlit_cli.main()


if __name__ == "__main__":
    sys.exit(main())
