"""Example pipeline: train and compare three classifiers on the wine data set of scikit-learn.

    load -> split -> features -> train (x3 models) -> evaluate (x3) -> report

Run it twice: the second run reuses every stored output and finishes in a fraction of the
time. Change a parameter (say ``--c 0.5``) and only the affected tasks run again.

    python examples/wine_models.py [--workspace DIR] [--c 1.0] [--rerun]
"""

from __future__ import annotations

import argparse
import time

import cairn


class LoadDataset(cairn.Task):
    """Load a data set that ships inside scikit-learn (no download)."""

    name = cairn.Parameter(default="wine", description="wine, iris or breast_cancer")

    def run(self):
        from sklearn import datasets

        loader = getattr(datasets, f"load_{self.name}")
        bunch = loader()
        self.logger.info("loaded %s: %d rows", self.name, len(bunch.target))
        return {
            "X": bunch.data,
            "y": bunch.target,
            "feature_names": list(bunch.feature_names),
            "target_names": list(bunch.target_names),
        }


class Split(cairn.Task):
    """Stratified train/test split."""

    data = cairn.TaskParameter()
    test_size = cairn.FloatParameter(default=0.3)

    def output(self):
        return {
            "train": self.make_target("split/train.pkl"),
            "test": self.make_target("split/test.pkl"),
        }

    def run(self):
        from sklearn.model_selection import train_test_split

        data = self.load("data")
        X_train, X_test, y_train, y_test = train_test_split(
            data["X"],
            data["y"],
            test_size=self.test_size,
            stratify=data["y"],
            random_state=self.random_state(),
        )
        self.dump({"X": X_train, "y": y_train}, "train")
        self.dump({"X": X_test, "y": y_test}, "test")

    def random_state(self) -> int:
        return int(self.task_id[:6], 16)


class Features(cairn.Task):
    """Standardise features, fitted on the training part only."""

    split = cairn.TaskParameter()

    def output(self):
        return self.make_target("features/features.pkl")

    def run(self):
        from sklearn.preprocessing import StandardScaler

        parts = self.load("split")
        scaler = StandardScaler().fit(parts["train"]["X"])
        return {
            name: {"X": scaler.transform(part["X"]), "y": part["y"]} for name, part in parts.items()
        }


class TrainModel(cairn.Task):
    """Fit one model on the training features."""

    features = cairn.TaskParameter()
    model = cairn.Parameter(description="logistic, forest or svm")
    c = cairn.FloatParameter(default=1.0, description="regularisation for logistic and svm")
    trees = cairn.IntParameter(default=200, description="trees in the random forest")

    def output(self):
        return self.make_target(f"models/{self.model}.pkl")

    def run(self):
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import SVC

        train = self.load("features")["train"]
        if self.model == "logistic":
            estimator = LogisticRegression(C=self.c, max_iter=2000)
        elif self.model == "forest":
            estimator = RandomForestClassifier(n_estimators=self.trees, random_state=0)
        elif self.model == "svm":
            estimator = SVC(C=self.c)
        else:
            raise cairn.ParameterError(f"unknown model {self.model!r}: use logistic, forest or svm")
        estimator.fit(train["X"], train["y"])
        self.logger.info("fitted %s", estimator)
        return estimator


class Evaluate(cairn.Task):
    """Accuracy and macro F1 of one model on the test part."""

    model = cairn.TaskParameter()
    features = cairn.TaskParameter()

    def output(self):
        return self.make_target("scores/score.json")

    def run(self):
        from sklearn.metrics import accuracy_score, f1_score

        test = self.load("features")["test"]
        predicted = self.load("model").predict(test["X"])
        return {
            "model": self.model.model,
            "accuracy": float(accuracy_score(test["y"], predicted)),
            "f1_macro": float(f1_score(test["y"], predicted, average="macro")),
        }


class Report(cairn.Task):
    """A ranked text report of every evaluated model."""

    scores = cairn.TaskListParameter()

    def output(self):
        return self.make_target("reports/report.txt")

    def run(self):
        rows = sorted(self.load("scores"), key=lambda s: s["accuracy"], reverse=True)
        lines = [f"{'model':<10} {'accuracy':>8} {'f1':>8}"]
        lines += [f"{r['model']:<10} {r['accuracy']:>8.3f} {r['f1_macro']:>8.3f}" for r in rows]
        lines.append(f"best: {rows[0]['model']}")
        return "\n".join(lines) + "\n"


def pipeline(dataset: str = "wine", c: float = 1.0, trees: int = 200) -> Report:
    """The whole graph for one data set."""
    features = Features(split=Split(data=LoadDataset(name=dataset)))
    models = [
        TrainModel(features=features, model="logistic", c=c),
        TrainModel(features=features, model="forest", trees=trees),
        TrainModel(features=features, model="svm", c=c),
    ]
    return Report(scores=[Evaluate(model=m, features=features) for m in models])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default=None, help="where outputs go (default ./workspace)")
    parser.add_argument("--dataset", default="wine")
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--rerun", action="store_true", help="recompute the report")
    args = parser.parse_args()

    root = pipeline(args.dataset, args.c, args.trees)
    plan = cairn.plan(root, workspace=args.workspace, rerun=args.rerun)
    print(plan)
    started = time.perf_counter()
    report = cairn.build(root, workspace=args.workspace, rerun=args.rerun)
    elapsed = time.perf_counter() - started
    print()
    print(report, end="")
    total = len(cairn.status(root, workspace=args.workspace))  # the whole graph
    ran = len(plan.to_run)
    if ran == 0:
        print(f"\nall {total} task(s) reused from the workspace ({elapsed:.2f}s)")
    else:
        print(f"\n{ran} of {total} task(s) ran, {total - ran} reused, in {elapsed:.2f}s")


if __name__ == "__main__":
    main()
