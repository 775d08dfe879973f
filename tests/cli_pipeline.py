"""Tasks the command-line and configuration tests use (imported as ``cli_pipeline``)."""

from __future__ import annotations

import enum

import cairn


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Load(cairn.Task):
    """Load some numbers."""

    path = cairn.Parameter(default="data.csv", description="Where the data is read from")

    def run(self):
        self.logger.info("loading %s", self.path)
        return [1.0, 2.0, 3.0]


class Train(cairn.Task):
    """Fit a slope to the numbers."""

    lr = cairn.FloatParameter(default=0.1, description="Learning rate")
    epochs = cairn.IntParameter(default=3, description="Passes over the data")
    shuffle = cairn.BoolParameter(default=False)
    colour = cairn.EnumParameter(Colour, default=Colour.RED)
    path = cairn.Parameter(default="data.csv")

    def requires(self):
        return {"data": Load(path=self.path)}

    def run(self):
        data = self.load("data")
        return {"lr": self.lr, "epochs": self.epochs, "n": len(data), "shuffle": self.shuffle}


class Evaluate(cairn.Task):
    model = cairn.TaskParameter(default=None, description="The model to score")

    def requires(self):
        return {"model": self.model if self.model is not None else Train()}

    def run(self):
        return {"score": self.load("model")["lr"] * 10}


class Needs(cairn.Task):
    name = cairn.Parameter(description="A name; required")

    def run(self):
        return self.name


class Fails(cairn.Task):
    def requires(self):
        return Train()

    def run(self):
        raise ValueError("deliberate failure")


def helper():
    return 1
