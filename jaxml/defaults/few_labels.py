"""Default configs of the few-labels experiments: label spreading / propagation
(`jaxml/methods/label_spreading.py`), pseudo-labelling (`jaxml/methods/pseudo_label.py`) and active
learning (`jaxml/methods/active.py`). Imports only ml_collections, so config files can build on it
without importing jax."""

from __future__ import annotations

import ml_collections


def label_spreading_config() -> ml_collections.ConfigDict:
    """All 1797 sklearn digits (raw pixel counts 0..16), 50 and 100 labelled points (stratified: 5 / 10
    per class, 5 seeds), label spreading and label propagation on the 7-nearest-neighbour graph with
    scikit-learn's defaults (alpha 0.2, 30 / 1000 iterations, tol 1e-3); accuracy on the unlabelled
    points."""
    c = ml_collections.ConfigDict()
    c.method = "label_spreading"
    c.dataset = "digits"
    c.num_points = 0         # 0: all 1797 digits; else the first num_points (tests)
    c.seed = 0               # the labelled sets of seed s are drawn with numpy's default_rng(seed + s)
    c.num_seeds = 5
    c.label_counts = (50, 100)  # labelled points, a multiple of the 10 classes (stratified)
    c.variants = ("spreading", "propagation")
    c.n_neighbors = 7
    c.alpha = 0.2            # spreading: the weight of the neighbours against the initial labels
    c.max_iter = ml_collections.ConfigDict({"spreading": 30, "propagation": 1000})
    c.tol = 1e-3             # stop when the L1 change of the label distributions is below tol
    c.float64 = False        # iterate under jax.enable_x64 in float64
    c.reference = True       # also run scikit-learn's LabelSpreading / LabelPropagation (sklearn_*)
    return c


def pseudo_label_config() -> ml_collections.ConfigDict:
    """sklearn digits (stratified 80 / 20 split), 50 labels (5 per class, 5 seeds), the rest of the
    training images as the unlabelled pool; a one-hidden-layer MLP trained full-batch with AdamW,
    pseudo-labels above confidence 0.95 weighted up to 1 between steps 200 and 800."""
    c = ml_collections.ConfigDict()
    c.method = "pseudo_label"
    c.dataset = "digits"
    c.data_seed = 0          # the train / test split
    c.seed = 0               # labelled set of seed s: per_class_indices(..., seed + s); the init keys
    c.num_seeds = 5
    c.num_labels = 50        # a multiple of the 10 classes
    c.model = ml_collections.ConfigDict(dict(hidden=(128,), dropout=0.2))  # hidden=(): softmax regression
    c.steps = 1500
    c.learning_rate = 3e-3
    c.weight_decay = 1e-3
    c.threshold = 0.95       # pseudo-label only pool images the model is this confident about
    c.unlabeled_weight = 1.0  # Lee's alpha_f
    c.ramp_start = 200       # w(t) = 0 before, unlabeled_weight from ramp_end on, linear in between
    c.ramp_end = 800
    c.reference = True       # scikit-learn LogisticRegression / SelfTrainingClassifier beside it (sklearn_*)
    c.reference_threshold = 0.75  # SelfTrainingClassifier's (its default: logistic regression is less confident)
    return c


def active_config() -> ml_collections.ConfigDict:
    """sklearn digits (stratified 80 / 20 split): the 1437 training images as the pool; 20 random
    initial labels, 20 queried per round up to 200, 5 seeds; a one-hidden-layer MLP with dropout retrained
    from scratch each round (300 full-batch AdamW steps); every acquisition strategy."""
    c = ml_collections.ConfigDict()
    c.method = "active"
    c.dataset = "digits"     # or fashion_mnist
    c.data_dir = ""          # fashion_mnist's IDX files ('' = the system / JAXML_DATA_DIR locations)
    c.data_seed = 0          # digits' train / test split and the pool subset
    c.pool_size = 0          # 0: every training image is in the pool; else this many, drawn by data_seed
    c.seed = 0               # initial labels of seed s: default_rng(seed + s); the training / scoring keys
    c.num_seeds = 5
    c.strategies = ("random", "least_confidence", "margin", "entropy", "bald", "kcenter")
    c.initial_labels = 20
    c.query_batch = 20
    c.max_labels = 200
    c.report_labels = (100, 200)  # where margin is compared with random (the target)
    c.warm_start = False     # True: each round starts from the previous round's weights
    c.model = ml_collections.ConfigDict(dict(name="mlp", hidden=(128,), dropout=0.2))  # models.MODELS: mlp, cnn
    c.dtype = "float32"
    c.steps = 300            # AdamW steps per round
    c.train_batch = 0        # 0: full batch over the labelled points; else minibatches of this many
    c.score_chunk = 0        # 0: the pool / test images in one pass; else chunks of this many (lax.map)
    c.learning_rate = 3e-3
    c.weight_decay = 1e-3
    c.mc_samples = 20        # MC-dropout samples of the pool predictions (bald)
    return c
