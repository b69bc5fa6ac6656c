"""An incremental Python model merged on event_id: the second build updates a corrected row."""


def model(ctx):
    ctx.config(materialized="incremental", unique_key="event_id", incremental_strategy="merge")
    events = ctx.ref("stg_events")
    purchases = events[events["kind"] == "purchase"]
    return purchases.assign(amount_with_tax=(purchases["amount"].astype(float) * 1.2).round(2))[
        ["event_id", "user_id", "amount", "amount_with_tax"]]
