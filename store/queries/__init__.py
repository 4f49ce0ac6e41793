"""Query functions, one module per table family: they take the session first and never commit
(the service that calls them owns the transaction). Every SQL statement of the project lives here.

- ``sources``: followed channels and feeds, and their newest posts;
- ``claims``: posts, claims, incidents and conflicts (storing, the blocks linking reads, reports);
- ``bulk``: the batched ingest path's many-row inserts and updates, block reads and incident refresh;
- ``subscribers``: digest subscribers and the admins added with /admins;
- ``deliveries``: the exactly-once delivery log;
- ``pending``: forwarded posts waiting for an admin to confirm following their channel, and
  channels that added the bot waiting for approval (with their held posts).

The names of the family modules are also importable from ``store.queries`` itself.
"""

from store.queries.claims import (
    add_claims,
    claim_columns,
    claim_row,
    claim_value,
    count_rows,
    delete_empty_incidents,
    flat_record,
    get_post,
    get_posts,
    link_record,
    list_block_claims,
    list_copy_candidates,
    list_incident_claims,
    list_incidents,
    list_link_candidates,
    list_post_incident_ids,
    move_claims,
    replace_conflicts,
    to_record,
)
from store.queries.deliveries import (
    add_delivery,
    claim_delivery,
    count_by_status,
    existing_keys,
    get_delivery,
    list_deliveries_by_status,
)
from store.queries.pending import (
    add_pending_channel,
    forget_rejected_handle,
    get_pending_channel,
    hold_post,
    prune_pending_forwards,
    put_pending_forward,
    take_pending_channel,
    take_pending_forward,
)
from store.queries.sources import (
    count_posts,
    delete_source,
    get_source,
    get_source_by_ref,
    latest_post_time,
    list_sources,
    newest_post_times,
    source_by_id,
    upsert_source,
)
from store.queries.subscribers import (
    add_admin,
    count_subscribers,
    delete_admin,
    get_admin,
    get_subscriber,
    list_admin_ids,
    list_subscribers,
)

__all__ = [
    "add_admin",
    "add_claims",
    "add_delivery",
    "add_pending_channel",
    "forget_rejected_handle",
    "claim_columns",
    "claim_delivery",
    "claim_row",
    "claim_value",
    "count_by_status",
    "count_posts",
    "count_rows",
    "count_subscribers",
    "delete_admin",
    "delete_empty_incidents",
    "delete_source",
    "existing_keys",
    "flat_record",
    "get_admin",
    "get_delivery",
    "get_pending_channel",
    "get_post",
    "get_posts",
    "get_source",
    "get_source_by_ref",
    "get_subscriber",
    "hold_post",
    "latest_post_time",
    "link_record",
    "list_admin_ids",
    "list_block_claims",
    "list_copy_candidates",
    "list_deliveries_by_status",
    "list_incident_claims",
    "list_incidents",
    "list_link_candidates",
    "list_post_incident_ids",
    "list_sources",
    "list_subscribers",
    "move_claims",
    "newest_post_times",
    "prune_pending_forwards",
    "put_pending_forward",
    "replace_conflicts",
    "source_by_id",
    "take_pending_channel",
    "take_pending_forward",
    "to_record",
    "upsert_source",
]
