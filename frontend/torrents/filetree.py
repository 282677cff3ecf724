"""A torrent's file list as the folder tree its paths make, for the torrent page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FileNode:
    name: str
    size: int = 0
    files: list[Any] = field(default_factory=list)  # (name, size) pairs
    dirs: list[FileNode] = field(default_factory=list)
    count: int = 0  # files in this folder and below

    def _dir(self, name: str) -> FileNode:
        for d in self.dirs:
            if d.name == name:
                return d
        child = FileNode(name=name)
        self.dirs.append(child)
        return child


def file_tree(files: Iterable[Any]) -> FileNode:
    """Every file's "a/b/c.mkv" path as folders a and b holding c.mkv; folders first,
    each level by name, sizes and counts summed up the tree."""
    root = FileNode(name="")
    for f in files:
        parts = [p for p in str(f.path).split("/") if p] or [str(f.path)]
        node = root
        trail = [root]
        for part in parts[:-1]:
            node = node._dir(part)
            trail.append(node)
        node.files.append((parts[-1], int(f.size)))
        for n in trail:
            n.size += int(f.size)
            n.count += 1

    def order(node: FileNode) -> None:
        node.dirs.sort(key=lambda d: d.name.lower())
        node.files.sort(key=lambda pair: pair[0].lower())
        for d in node.dirs:
            order(d)

    order(root)
    return root
