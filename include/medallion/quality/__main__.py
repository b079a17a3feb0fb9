"""``python -m medallion.quality``: regenerate the committed GX context, or rebuild the data docs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from medallion.config import Settings
from medallion.quality.docs import build_data_docs
from medallion.quality.suites import write_suites


def main(argv: list[str] | None = None) -> int:
    """``python -m medallion.quality --write-suites`` (regenerate the committed context) or
    ``--build-docs`` (rebuild the data docs from the lake's stored results)."""
    parser = argparse.ArgumentParser(prog="python -m medallion.quality", description=__doc__.split("\n")[0].strip("`"))
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write-suites", action="store_true",
                       help="regenerate great_expectations/ (suites, validation definitions, checkpoints, yml)")
    group.add_argument("--build-docs", action="store_true", help="rebuild the data docs into the lake")
    parser.add_argument("--context-dir", default=None, help="GX context folder [GX_CONTEXT_DIR]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if args.context_dir:
        settings = settings.with_overrides(great_expectations_dir=args.context_dir)
    if args.write_suites:
        for rel in write_suites(settings.great_expectations_dir):
            print(Path(settings.great_expectations_dir) / rel)
    else:
        print(build_data_docs(settings))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
