"""A small gokart project, written to a folder for the migration tests.

A package of several modules: a base class with ``task_namespace``, task instance
parameters (one and a list), ``load_data_frame`` with required columns, a model target, a
``luigi.Config`` shared through ``inherits_config_params``, a ``param.ini`` with namespaced
sections and list values over several lines, and ``gokart.run()`` in ``main.py``. It runs on
gokart as written; the tests migrate a copy and compare.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

FILES = {
    "shop/__init__.py": '''
        """The shop's pipeline."""

        from shop import data, features, model, report  # noqa: F401  (luigi finds tasks)
    ''',
    "shop/base.py": '''
        import gokart


        class ShopTask(gokart.TaskOnKart):
            """Every task of the shop lives in the "shop" namespace."""

            task_namespace = "shop"
    ''',
    "shop/data.py": '''
        """Raw sales, one row per region and day."""

        import luigi
        import pandas as pd

        from shop.base import ShopTask


        class LoadSales(ShopTask):
            regions = luigi.ListParameter(default=["north"])
            days: int = luigi.IntParameter(default=3)  # days of history

            def output(self):
                return self.make_target("sales/sales.csv")

            def run(self):
                rows = [
                    {"region": region, "day": day, "amount": float((day * 7 + i) % 11)}
                    for i, region in enumerate(self.regions)
                    for day in range(self.days)
                ]
                self.dump(pd.DataFrame(rows))
    ''',
    "shop/features.py": '''
        import gokart
        import luigi

        from shop.data import LoadSales
        from .base import ShopTask


        class AddFeatures(ShopTask):
            """A rolling mean of the amount, per region."""

            sales = gokart.TaskInstanceParameter(expected_type=LoadSales)
            window = luigi.IntParameter(default=2, description="days in the mean")

            def run(self):
                df = self.load_data_frame("sales", required_columns={"region", "day", "amount"})
                df = df.sort_values(["region", "day"]).reset_index(drop=True)
                rolling = df.groupby("region")["amount"].rolling(self.window, min_periods=1)
                df["rolling"] = rolling.mean().reset_index(drop=True)
                self.dump(df)
    ''',
    "shop/model.py": """
        import json
        import os

        import gokart
        import luigi
        from gokart.config_params import inherits_config_params

        from shop.base import ShopTask


        class ModelConfig(luigi.Config):
            alpha = luigi.FloatParameter(default=0.1)


        def save_model(model, path):
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w") as handle:
                json.dump(model, handle)


        def load_model(path):
            with open(path) as handle:
                return json.load(handle)


        @inherits_config_params(ModelConfig)
        class TrainModel(ShopTask):
            features = gokart.TaskInstanceParameter()
            region = luigi.Parameter()
            alpha = luigi.FloatParameter(default=0.0)

            def output(self):
                return self.make_model_target(
                    "model/model.zip", save_function=save_model, load_function=load_model
                )

            def run(self):
                df = self.load_data_frame(
                    "features", required_columns={"region", "rolling"}, drop_columns=True
                )
                mine = df[df["region"] == self.region]
                coef = round(float(mine["rolling"].mean()) * self.alpha, 6)
                self.dump({"region": self.region, "coef": coef, "rows": len(mine)})
    """,
    "shop/report.py": """
        import gokart
        import luigi

        from shop.base import ShopTask
        from shop.data import LoadSales
        from shop.features import AddFeatures
        from shop.model import TrainModel


        class Summary(ShopTask):
            models = gokart.ListTaskInstanceParameter()

            def run(self):
                self.dump(sorted(m["coef"] for m in self.load("models")))


        class Report(ShopTask):
            regions = luigi.ListParameter(default=["north"])

            def requires(self):
                features = AddFeatures(sales=LoadSales())
                models = [TrainModel(features=features, region=r) for r in self.regions]
                return {"summary": Summary(models=models), "features": features}

            def run(self):
                features = self.load_data_frame("features", required_columns={"amount"})
                self.dump({"coefs": self.load("summary"), "total": float(features["amount"].sum())})
    """,
    "main.py": """
        import gokart
        import luigi

        import shop  # noqa: F401

        if __name__ == "__main__":
            luigi.configuration.LuigiConfigParser.add_config_path("./conf/param.ini")
            gokart.run()
    """,
    "conf/param.ini": """
        [TaskOnKart]
        workspace_directory = ./resources
        local_temporary_directory = ./resources/tmp

        [core]
        default_scheduler_host = localhost

        [shop.LoadSales]
        days = 6
        regions = ["north", "south", "east",
            "west", "central"]

        [shop.AddFeatures]
        window = 3

        [ModelConfig]
        alpha = 0.5

        [shop.Report]
        regions = ["north", "east",
                   "central"]
    """,
}


def write(root: Path) -> Path:
    """Write the project under ``root``; return ``root``."""
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root
