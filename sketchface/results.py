"""docs/RESULTS.md as generated blocks: each command that measures something writes its own block between
``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers, and a command that rewrites the whole file (``evaluate``)
keeps the blocks of the others."""
from __future__ import annotations

import re
from pathlib import Path

_BLOCK = re.compile(r"<!-- ([a-z0-9-]+):start -->.*?<!-- \1:end -->", re.S)


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def keep_blocks(old: str, new: str) -> str:
    """``new`` with every marked block of ``old`` that ``new`` lacks appended unchanged, in ``old``'s order."""
    have = {m.group(1) for m in _BLOCK.finditer(new)}
    kept = [m.group(0) for m in _BLOCK.finditer(old) if m.group(1) not in have]
    return new.rstrip() + "".join("\n\n" + b for b in kept) + "\n" if kept else new


def write_block(path: str | Path, name: str, body: str) -> None:
    """Put ``body`` between the markers of ``name`` in the file ``path`` (appended when the block is absent)."""
    start, end = markers(name)
    p = Path(path)
    text = p.read_text() if p.is_file() else ""
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    p.write_text(text)
