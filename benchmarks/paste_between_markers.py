"""Paste generated text into a Markdown file between ``<!-- NAME -->`` and ``<!-- /NAME -->`` markers.

Tables in README.md and docs/ are regenerated from runs, never edited by hand: a script writes them here.

    python benchmarks/paste_between_markers.py README.md demo-table results/demo/table.txt --fence
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path


def paste(path: str | Path, name: str, text: str) -> None:
    """Replace what lies between the markers ``<!-- name -->`` and ``<!-- /name -->`` of ``path`` by ``text``.

    Raises ValueError when the markers are missing or appear more than once (nothing is written then).
    """
    path = Path(path)
    document = path.read_text()
    pattern = re.compile(rf"(<!-- {re.escape(name)} -->\n)(.*?)(<!-- /{re.escape(name)} -->)", re.DOTALL)
    matches = pattern.findall(document)
    if len(matches) != 1:
        found = len(matches)
        raise ValueError(f"{path} must hold the markers <!-- {name} --> ... <!-- /{name} --> once, found {found}")
    body = text if text.endswith("\n") else text + "\n"
    path.write_text(pattern.sub(lambda m: m.group(1) + body + m.group(3), document))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="the Markdown file to update")
    parser.add_argument("name", help="the marker name")
    parser.add_argument("source", help="the file whose text is pasted")
    parser.add_argument("--fence", action="store_true", help="paste inside a ``` code fence")
    args = parser.parse_args()
    text = Path(args.source).read_text().rstrip("\n")
    paste(args.file, args.name, f"```\n{text}\n```" if args.fence else text)


if __name__ == "__main__":
    main()
