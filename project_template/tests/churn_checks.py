"""Python checks and metrics on the churn scores: each gets the model's rows as a DataFrame."""

from pds import check, metric


@check(model="churn_scores", severity="error")
def probabilities_are_probabilities(df):
    """Every churn probability lies between 0 and 1 (a boolean per row: False rows are reported)."""
    return df["churn_probability"].between(0, 1)


@check(model="churn_scores", severity="warn")
def bands_match_probabilities(df):
    """The high band holds the highest probabilities."""
    high = df.loc[df["risk_band"] == "high", "churn_probability"]
    return high.empty or bool(high.min() >= df["churn_probability"].median())


@metric(model="churn_scores", max=0.9, severity="warn")
def high_risk_share(df):
    """Share of customers in the high band; a warning above 90%."""
    return float((df["risk_band"] == "high").mean())
