"""Rewrite the curated data files in their canonical form and refresh the source list in
data/README.md (see kg/canonical.py).

    python scripts/format_data.py          # rewrite files that are out of form
    python scripts/format_data.py --check  # list them and exit 1, change nothing
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kg.atomic import write_text
from kg.canonical import canonical_text, data_files, readme_text
from kg.resources import DATA_DIR


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report files out of canonical form")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="data directory (default: the bundled one)")
    args = parser.parse_args()
    changed = []
    for path, first in data_files(args.data):
        text = canonical_text(path, first_subject=first)
        if path.read_text(encoding="utf-8") != text:
            changed.append(path)
            if not args.check:
                write_text(path, text)
    readme = args.data / "README.md"
    text = readme_text(readme, args.data)
    if readme.read_text(encoding="utf-8") != text:
        changed.append(readme)
        if not args.check:
            write_text(readme, text)
    for path in changed:
        print(f"{'out of canonical form' if args.check else 'rewrote'}: {path}")
    return 1 if changed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
