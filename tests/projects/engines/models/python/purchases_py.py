"""An incremental Python model merged on event_id: the second build updates a corrected row.

On Spark it is written with Spark's DataFrame API (ctx.ref() gives a lazy Spark DataFrame there and the
rows never reach this process); elsewhere with pandas. Both give the same table.
"""


def model(ctx):
    ctx.config(materialized="incremental", unique_key="event_id", incremental_strategy="merge")
    events = ctx.ref("stg_events")
    if ctx.engine == "spark":
        from pyspark.sql import functions as F

        purchases = events.where(F.col("kind") == "purchase")
        # bround: half to even, as pandas' round
        return purchases.select("event_id", "user_id", "amount",
                                F.bround(F.col("amount").cast("double") * 1.2, 2).alias("amount_with_tax"))
    purchases = events[events["kind"] == "purchase"]
    return purchases.assign(amount_with_tax=(purchases["amount"].astype(float) * 1.2).round(2))[
        ["event_id", "user_id", "amount", "amount_with_tax"]]
