"""The search space of tune_mlp_digits: `space(trial)` returns the config keys (as `--config.KEY` takes
them) and values one trial of the mlp_digits experiment trains with.

    jaxml tune mlp_digits --space configs/spaces/mlp_digits.py --trials 20 --config.validation_fraction=0.2
"""

HIDDEN = {"128": (128,), "256-128": (256, 128), "512-256": (512, 256)}


def space(trial):
    return {
        "learning_rate": trial.suggest_float("learning_rate", 3e-4, 3e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "model.dropout": trial.suggest_float("model.dropout", 0.0, 0.5),
        "model.hidden": HIDDEN[trial.suggest_categorical("model.hidden", list(HIDDEN))],
    }
