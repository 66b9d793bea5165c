"""Where feed files come from.  Feed code sees only the :class:`Inbox` protocol."""

from pipelines.sources.base import Inbox, InboxFile
from pipelines.sources.local import LocalInbox
from pipelines.sources.open import open_inbox

__all__ = ["Inbox", "InboxFile", "LocalInbox", "open_inbox"]
