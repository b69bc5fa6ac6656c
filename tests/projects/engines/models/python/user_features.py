"""A Python table model over a table and an ephemeral model: dtypes must be the same on every engine.

pandas code on every engine: on Spark the parents are asked for as pandas (toPandas, through Arrow) and
the returned pandas DataFrame goes back through Arrow.
"""

import pandas as pd


def model(ctx):
    totals = ctx.ref("user_totals")
    big = ctx.ref("big_events")
    if ctx.engine == "spark":
        totals, big = totals.toPandas(), big.toPandas()
    big_sum = big.groupby("user_id")["amount"].sum()
    out = pd.DataFrame({
        "user_id": totals["user_id"].astype("int64"),
        "name_length": totals["name"].str.len().astype("int64"),
        "total_amount": totals["total_amount"].astype(float),
        "big_amount": totals["user_id"].map(big_sum).fillna(0.0).astype(float),
        "is_active": totals["events"].astype("int64") > 0,
        "days_to_first_event": (pd.to_datetime(totals["first_event"]) - pd.to_datetime(totals["signup_date"])).dt.days,
        "label": totals["segment"].astype(str) + "/" + totals["zip"].astype(str),
        "scored_at": pd.Timestamp("2024-02-01 12:30:00"),
    })
    return out
