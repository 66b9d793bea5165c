"""A local (or mounted) folder inbox: the embedded default."""

from __future__ import annotations

from pathlib import Path

from pipelines.sources.base import InboxFile


class LocalInbox:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def location(self) -> str:
        return str(self.root)

    def list_files(self, feed: str) -> list[InboxFile]:
        folder = self.root / feed
        if not folder.is_dir():
            return []
        files = []
        for entry in folder.iterdir():
            if not entry.is_file():
                continue
            st = entry.stat()
            files.append(InboxFile(feed, entry.name, st.st_size, st.st_mtime))
        return sorted(files)

    def read_bytes(self, file: InboxFile) -> bytes:
        return (self.root / file.feed / file.name).read_bytes()

    def mark_ingested(self, file: InboxFile) -> None:
        """A local inbox is left as it is: the ledger already stops a second load."""

    def close(self) -> None:
        pass
