"""Training stage: data sets, spike-time coding, losses, the training loop and checkpoints.

Python API (what the closing-the-loop stage calls)::

    from imcflow.train import TrainConfig, train_model
    result = train_model(TrainConfig(dataset="iris", hidden=(5,), params=fitted.to_dict(),
                                     lr=1e-3, batch_size=50, epochs=300), out="runs/iris")
    result.test_acc, result.model   # accuracy (DSTD at M_test, spike noise) and the PNNNet

See PAPERS.md §1.3 for the recipe; ``imcflow train --help`` for the command line.
"""

from .baselines import STUDY_E, run_study, scaled_search, transfer_eval
from .coding import encode
from .config import TrainConfig, TrainConfigError
from .data import Dataset, Split, load_dataset, read_idx, write_idx
from .loop import TrainResult, evaluate, load_run, train_model
from .models import PNNNet, build_model

__all__ = [
    "STUDY_E",
    "Dataset",
    "PNNNet",
    "Split",
    "TrainConfig",
    "TrainConfigError",
    "TrainResult",
    "build_model",
    "encode",
    "evaluate",
    "load_dataset",
    "load_run",
    "read_idx",
    "run_study",
    "scaled_search",
    "train_model",
    "transfer_eval",
    "write_idx",
]
