"""Delivering product folders to the outbox (IOM_OUTBOX), as every product's asset does it."""

from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from pipelines.delivery import Delivered
from pipelines.resources import OutboxResource
from pipelines.sources.base import SourceError, TransientSourceError


def deliver_folders(
    context: dg.AssetExecutionContext, outbox: OutboxResource, folders: Iterable[tuple[Path, str, str]]
) -> list[Delivered]:
    """Each (folder, parent, name) to ``<outbox>/<parent>/<name>/``, atomically.  A transient
    fault (the server away) retries the step; any other fails it in one plain line."""
    try:
        target = outbox.open()
    except SourceError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    try:
        return [target.deliver(folder, parent, name) for folder, parent, name in folders]
    except TransientSourceError as exc:
        context.log.warning(str(exc))
        raise dg.RetryRequested(max_retries=3, seconds_to_wait=120) from exc
    except SourceError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    finally:
        target.close()
