"""Customer segmentation: the generated customers are deterministic by seed with the planted sizes and
outlier share, segment profiles on a hand-made example, and a small end-to-end segment_customers run
(400 customers) that writes the profile table and plot beside scikit-learn's numbers."""

import json

import numpy as np
import pytest

from conftest import one_error_line
from jaxml import cli
from jaxml.classic.profiles import profile_markdown, segment_profiles
from jaxml.data import customers

pytestmark = pytest.mark.xdist_group("classic_experiment")


def test_customers_are_deterministic_with_planted_sizes_and_outliers():
    x, y, out = customers.customers(1000, seed=3, outlier_fraction=0.05)
    x2, y2, out2 = customers.customers(1000, seed=3, outlier_fraction=0.05)
    assert np.array_equal(x, x2) and np.array_equal(y, y2) and np.array_equal(out, out2)
    assert not np.array_equal(customers.customers(1000, seed=4)[0], x)
    assert x.shape == (1000, len(customers.FEATURES)) and out.sum() == 50
    weights = np.array([row[0] for row in customers.SEGMENTS.values()])
    np.testing.assert_array_equal(np.bincount(y, minlength=len(weights))[:-1], np.floor(weights * 1000)[:-1])
    f = {name: x[:, i] for i, name in enumerate(customers.FEATURES)}
    assert (f["frequency"] >= 1).all() and (f["monetary"] > 0).all() and (f["recency_days"] > 0).all()
    for share in ("discount_share", "online_share", "return_rate"):
        assert ((f[share] >= 0) & (f[share] <= 1)).all()
    assert np.median(f["monetary"][out]) > 5 * np.median(f["monetary"][~out])  # the outliers spend more
    hib, champ = list(customers.SEGMENTS).index("hibernating"), list(customers.SEGMENTS).index("champions")
    assert np.median(f["recency_days"][y == hib]) > 10 * np.median(f["recency_days"][y == champ])


def test_segment_profiles_by_hand():
    raw = np.array([[1.0, 10.0], [3.0, 20.0], [5.0, 30.0], [7.0, 0.0], [9.0, 2.0]])
    labels = np.array([1, 1, 1, 0, 0])
    planted = np.array([0, 0, 1, 1, 1])
    rows = segment_profiles(raw, labels, 2, ("a", "b"), planted, ("p", "q"))
    assert [r["segment"] for r in rows] == [1, 0]  # largest first
    assert rows[0]["size"] == 3 and rows[0]["share"] == pytest.approx(0.6)
    assert rows[0]["a_mean"] == 3.0 and rows[0]["b_median"] == 20.0 and rows[1]["b_mean"] == 1.0
    assert rows[0]["planted"] == "p" and rows[0]["purity"] == pytest.approx(2 / 3)
    assert rows[1]["planted"] == "q" and rows[1]["purity"] == 1.0
    table = profile_markdown(rows, ("a", "b"), "t")
    assert "| 1 | 3 | 0.600 | p | 0.667 | 3 | 20 |" in table


def test_segment_experiment_end_to_end(tmp_path):
    workdir = tmp_path / "seg"
    assert cli.main(["train", "segment_customers", "--workdir", str(workdir), "--config.num_points=400",
                     "--config.segment.num_seeds=2", "--config.segment.n_init=2", "--config.parallel.num_devices=1"]) == 0
    result = json.loads((workdir / "result.json").read_text())
    assert result["num_points"] == 400 and result["num_outliers"] == 12 and result["k"] == 7
    for metric in ("ari", "nmi", "inertia", "ari_mean", "inertia_mean"):
        assert f"sklearn_{metric}" in result and f"{metric}_abs_diff" in result or f"{metric}_rel_diff" in result
    assert result["inertia_mean_rel_diff"] < 0.05 and result["ari_mean"] > 0.5
    assert 0 < result["ari_inliers"] <= 1 and 1 <= result["segments_recovered"] <= 7
    rows = json.loads((workdir / "segment_profiles.json").read_text())
    assert sum(r["size"] for r in rows) == 400 and len(rows) == 7
    assert "monetary (median)" in (workdir / "segments.md").read_text()
    assert (workdir / "plots" / "segments.png").stat().st_size > 1000


@pytest.mark.parametrize("override, needle", [
    ("--config.dataset=digits", "config.algorithm='segment' needs config.dataset='customers', got 'digits'"),
    ("--config.segment.log_features=income", "config.segment.log_features='income' is not valid; choose from"),
    ("--config.dataset=mall", "config.dataset='mall' is not valid; choose one of digits, customers"),
    ("--config.segment.block_size=-2", "config.segment.block_size must be an int >= 0"),
])
def test_bad_segment_config_is_one_line_naming_the_key(capsys, tmp_path, override, needle):
    assert cli.main(["train", "segment_customers", "--workdir", str(tmp_path / "w"), override]) == 2
    assert needle in one_error_line(capsys)


def test_customers_without_a_segment_group_is_one_error(capsys, tmp_path):
    assert cli.main(["train", "kmeans_digits", "--workdir", str(tmp_path / "w"), "--config.dataset=customers"]) == 2
    assert "config.dataset='customers' needs a config.segment group" in one_error_line(capsys)
