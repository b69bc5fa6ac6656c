"""Churn risk per customer: a logistic score over recency, frequency and value.

ctx.ref() gives the engine's own DataFrame: pandas on DuckDB, Postgres, Snowflake and BigQuery, a lazy
Spark DataFrame on Spark. The model holds the score in both APIs, so on Spark it runs distributed
and the customers never come to this process (docs/adapters/spark.md, "Python models").
"""

import numpy as np
import pandas as pd

# weights of a model fitted offline; the intercept centres the score
RECENCY, FREQUENCY, VALUE, INTERCEPT = 1.6, -1.1, -0.25, 0.2
BANDS = [0, 0.3, 0.7, 1.0]  # low, medium, high


def model(ctx):
    customers = ctx.ref("customer_orders")
    churn_days = float(ctx.var("churn_days", 90))
    if ctx.engine == "spark":
        return score_in_spark(customers, churn_days, ctx.var("as_of_date"))

    recency = customers["days_since_last_order"].astype(float) / churn_days
    frequency = np.log1p(customers["order_count"].astype(float))
    value = np.log1p(customers["lifetime_value"].astype(float))
    probability = 1.0 / (1.0 + np.exp(-(RECENCY * recency + FREQUENCY * frequency + VALUE * value + INTERCEPT)))

    return pd.DataFrame({
        "customer_id": customers["customer_id"].astype("int64"),
        "churn_probability": probability.round(4),
        "risk_band": pd.cut(probability, BANDS, labels=["low", "medium", "high"], include_lowest=True).astype(str),
        "scored_at": pd.Timestamp(ctx.var("as_of_date")),
    })


def score_in_spark(customers, churn_days, as_of_date):
    """The same score as Spark column expressions: computed on the executors, written without collecting."""
    from pyspark.sql import functions as F

    recency = F.col("days_since_last_order").cast("double") / churn_days
    frequency = F.log1p(F.col("order_count").cast("double"))
    value = F.log1p(F.col("lifetime_value").cast("double"))
    probability = 1.0 / (1.0 + F.exp(-(RECENCY * recency + FREQUENCY * frequency + VALUE * value + INTERCEPT)))
    band = F.when(probability <= BANDS[1], "low").when(probability <= BANDS[2], "medium").otherwise("high")
    return customers.select(
        F.col("customer_id").cast("bigint").alias("customer_id"),
        F.bround(probability, 4).alias("churn_probability"),  # half to even, as pandas' round
        band.alias("risk_band"),
        F.to_timestamp(F.lit(as_of_date)).alias("scored_at"),
    )
