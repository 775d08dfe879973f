"""A linepipe-style pipeline moved to cairn: plain functions, named inputs and outputs.

    database -> load -> preprocess -> features -> split -> train -> evaluate -> publish

The functions are what a linepipe (or Kedro) user already has; only the pipeline changes:
``Node(func=..., inputs=[...], outputs=[...])`` becomes ``cairn.node(func, inputs, outputs)``,
and the database connection, which linepipe made as a node output, is a *runtime object*:
injected by name, never hashed or stored. Run it twice: the second run reuses every stored
output. Change ``--c`` and only ``train``, ``evaluate`` and ``publish`` run again.

    python examples/linepipe_to_cairn.py [--workspace DIR] [--c 1.0] [--executor threads]

Needs pandas and scikit-learn (``pip install -e '.[example]'``).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time

import cairn

# --- the user's functions (unchanged from the linepipe version) ----------------------------


def load_data(conn, data):
    """Read one table as of a date. The date is in the config so that a new snapshot reruns
    this node: cairn does not hash what a runtime object (the connection) would return."""
    import pandas as pd

    return pd.read_sql(
        f"SELECT * FROM {data['table']} WHERE as_of <= ?", conn, params=(data["as_of"],)
    ).drop(columns=["as_of"])


def preprocess_data(df, preprocessing):
    """Drop incomplete rows and clip each feature to its quantile range."""
    df = df.dropna()
    features = df.drop(columns=["target"])
    low = features.quantile(preprocessing["clip_quantile"])
    high = features.quantile(1 - preprocessing["clip_quantile"])
    return df.assign(**features.clip(low, high, axis=1))


def feature_engineering(df, settings):
    """Add ratio features."""
    out = df.copy()
    for numerator, denominator in settings["ratios"]:
        out[f"{numerator}_per_{denominator}"] = df[numerator] / df[denominator]
    return out


def split(df, settings):
    """Stratified train/test split: two outputs."""
    from sklearn.model_selection import train_test_split

    return train_test_split(
        df, test_size=settings["test_size"], stratify=df["target"], random_state=settings["seed"]
    )


def train(train_df, model_params):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=model_params["c"], max_iter=2000))
    return model.fit(train_df.drop(columns=["target"]), train_df["target"])


def evaluate(model, test_df):
    from sklearn.metrics import accuracy_score, f1_score

    predicted = model.predict(test_df.drop(columns=["target"]))
    return {
        "accuracy": float(accuracy_score(test_df["target"], predicted)),
        "f1_macro": float(f1_score(test_df["target"], predicted, average="macro")),
        "test_rows": len(test_df),
    }


def publish(conn, metrics, model_params):
    """A side effect: write the scores back to the database. Runs when its inputs change."""
    conn.execute(
        "INSERT INTO scores (c, accuracy, f1_macro) VALUES (?, ?, ?)",
        (model_params["c"], metrics["accuracy"], metrics["f1_macro"]),
    )
    conn.commit()


# --- the pipeline ---------------------------------------------------------------------------


def make_pipeline(conn: sqlite3.Connection, c: float = 1.0) -> cairn.Pipeline:
    config = {
        "data": {"table": "wine", "as_of": "2024-06-01"},
        "preprocessing": {"clip_quantile": 0.01},
        "feature_engineering": {"ratios": [["flavanoids", "total_phenols"]]},
        "split": {"test_size": 0.3, "seed": 7},
        "model_params": {"c": c},
    }
    return cairn.Pipeline(
        [
            cairn.node(load_data, inputs=["conn", "config.data"], outputs="df"),
            cairn.node(
                preprocess_data, inputs=["df", "config.preprocessing"], outputs="df_processed"
            ),
            cairn.node(
                feature_engineering,
                inputs=["df_processed", "config.feature_engineering"],
                outputs="df_features",
            ),
            cairn.node(split, inputs=["df_features", "config.split"], outputs=["train", "test"]),
            cairn.node(train, inputs=["train", "config.model_params"], outputs="model"),
            cairn.node(evaluate, inputs=["model", "test"], outputs="metrics"),
            cairn.node(publish, inputs=["conn", "metrics", "config.model_params"]),
        ],
        config=config,
        runtime={"conn": conn},
    )


def demo_database(path: str) -> sqlite3.Connection:
    """A small database holding the wine data set that ships with scikit-learn."""
    from sklearn.datasets import load_wine

    conn = sqlite3.connect(path, check_same_thread=False)  # threads share the connection
    if not conn.execute("SELECT name FROM sqlite_master WHERE name = 'wine'").fetchone():
        frame = load_wine(as_frame=True).frame.assign(as_of="2024-05-01")
        frame.to_sql("wine", conn, index=False)
        conn.execute("CREATE TABLE scores (c REAL, accuracy REAL, f1_macro REAL)")
        conn.commit()
    return conn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default="workspace", help="where outputs go")
    parser.add_argument("--c", type=float, default=1.0, help="regularisation of the model")
    parser.add_argument("--executor", default="inline", help="inline or threads")
    args = parser.parse_args()

    os.makedirs(args.workspace, exist_ok=True)
    conn = demo_database(os.path.join(args.workspace, "demo.sqlite"))
    pipe = make_pipeline(conn, args.c)
    plan = pipe.plan(workspace=args.workspace)
    print(plan)
    started = time.perf_counter()
    outputs = pipe.run(["metrics", "publish"], workspace=args.workspace, executor=args.executor)
    elapsed = time.perf_counter() - started
    published = conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    print(f"\nmetrics: {outputs['metrics']}")
    print(f"{len(plan.to_run)} of {len(plan)} node(s) ran in {elapsed:.2f}s; ", end="")
    print(f"{published} score row(s) published")


if __name__ == "__main__":
    main()
