"""Privacy assets: the member pseudonyms the analysts' pseudonymised views join (issue 9)."""

import dagster as dg

from pipelines.assets.describe import OWNERS, schema_metadata, warehouse_kind
from pipelines.assets.ingest import rows_key
from pipelines.resources import WarehouseResource
from pipelines.settings import ConfigError, pseudonym_key
from warehouse.pseudonymised import refresh_pseudonyms
from warehouse.schema import member_pseudonym


@dg.asset(
    group_name="products",
    owners=OWNERS,
    deps=[rows_key("cohort")],
    kinds={warehouse_kind(), "table"},
    metadata=schema_metadata(member_pseudonym),
    description="Warehouse table `member_pseudonym`: a keyed hash (HMAC-SHA256, secret IOM_PSEUDONYM_KEY) of every "
    "iom_id on any register, the stable pseudonym the pseudonymised analyst views (`pseudo_*`) show instead of it. "
    "Not partitioned; refreshed after the register's rows. Analysts never read the table itself.",
)
def member_pseudonyms(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    try:
        key = pseudonym_key()
    except ConfigError as exc:
        # The reports do not need pseudonyms: say so plainly, and do not fail them.
        context.log.warning(f"{exc}: member pseudonyms not refreshed")
        return dg.MaterializeResult(metadata={"members": 0, "refreshed": False})
    members = refresh_pseudonyms(warehouse.engine(), key)
    return dg.MaterializeResult(metadata={"members": members, "refreshed": True, "dagster/row_count": members})
