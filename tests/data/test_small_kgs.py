"""The small benchmark KGs' files (`jaxml/data/small_kgs.py`): the parser and the search on a tiny mock
folder, the measured relation patterns, one clear error when the files are missing, and, when pykeen's
wheel is installed, the sizes of Kinships, UMLS and Nations as their files give them."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from jaxml.data import small_kgs
from jaxml.errors import JaxmlError

# a tiny family: parent_of (antisymmetric), child_of (its inverse), married_to (symmetric)
PARENTS = [("ann", "cid"), ("bob", "cid"), ("ann", "dee"), ("bob", "dee"), ("cid", "eve"), ("fay", "eve")]
COUPLES = [("ann", "bob"), ("cid", "fay")]


def mock_triples() -> list[tuple[str, str, str]]:
    rows = [(p, "parent_of", c) for p, c in PARENTS] + [(c, "child_of", p) for p, c in PARENTS]
    return rows + [(a, "married_to", b) for a, b in COUPLES] + [(b, "married_to", a) for a, b in COUPLES]


def write_mock(folder, rows=None) -> None:
    rows = rows if rows is not None else mock_triples()
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"train": rows[2:], "valid": rows[:1], "test": rows[1:2]}
    for split, part in parts.items():
        (folder / f"{split}.txt").write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in part) + "\n")


def test_a_mock_folder_is_parsed_and_numbered_in_name_order(tmp_path):
    write_mock(tmp_path / "kinships")
    kg = small_kgs.load(small_kgs.find_directory("kinships", str(tmp_path)))
    assert kg.relations == ("child_of", "married_to", "parent_of")
    assert kg.num_entities == 6 and (len(kg.train), len(kg.valid), len(kg.test)) == (14, 1, 1)
    names = sorted({e for h, _, t in mock_triples() for e in (h, t)})
    decoded = {(names[h], kg.relations[r], names[t]) for h, r, t in kg.all_triples.tolist()}
    assert decoded == set(mock_triples()) and kg.train.dtype == np.int32
    assert tuple(kg.valid[0]) == (names.index("ann"), kg.relations.index("parent_of"), names.index("cid"))
    assert small_kgs.observed_patterns(kg) == {"parent_of": ("antisymmetric", "inverse"),
                                               "child_of": ("antisymmetric", "inverse"),
                                               "married_to": ("symmetric",)}


def test_the_search_order_and_the_errors(tmp_path, monkeypatch):
    write_mock(tmp_path / "env" / "umls")
    monkeypatch.setenv(small_kgs.DATA_DIR_ENV, str(tmp_path / "env"))
    assert small_kgs.find_directory("umls") == tmp_path / "env" / "umls"
    write_mock(tmp_path / "config" / "umls")
    assert small_kgs.find_directory("umls", str(tmp_path / "config")) == tmp_path / "config" / "umls"
    monkeypatch.delenv(small_kgs.DATA_DIR_ENV)
    monkeypatch.setattr(small_kgs, "package_directory", lambda name: None)
    with pytest.raises(JaxmlError, match=r"the umls knowledge graph was not found.*pip install --no-deps pykeen==1\.11\.1"):
        small_kgs.find_directory("umls")
    with pytest.raises(JaxmlError, match="config.dataset='fb15k'.*choose one of kinships, umls, nations"):
        small_kgs.find_directory("fb15k")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "train.txt").write_text("a\tr\tb\nonly two\tfields\n")
    with pytest.raises(JaxmlError, match=r"train.txt:2 has 2 tab-separated fields"):
        small_kgs.read_triples(tmp_path / "bad" / "train.txt")


# the sizes the installed files give (entities, relations, train / valid / test triples)
SIZES = {"kinships": (104, 25, 8544, 1068, 1074), "umls": (135, 46, 5216, 652, 661),
         "nations": (14, 55, 1592, 199, 201)}


@pytest.mark.parametrize("name", small_kgs.NAMES)
def test_the_installed_files_have_their_published_sizes(name):
    folder = small_kgs.package_directory(name)
    if folder is None:
        pytest.skip(f"the {name} files are not installed: `pip install --no-deps {small_kgs.PACKAGE_PIN}` "
                    "(scripts/install_data.sh does it)")
    kg = small_kgs.load(folder)
    assert (kg.num_entities, kg.num_relations, len(kg.train), len(kg.valid), len(kg.test)) == SIZES[name]
    seen = set(kg.train[:, [0, 2]].ravel().tolist())
    assert set(kg.test[:, [0, 2]].ravel().tolist()) <= seen  # every test entity appears in training
    assert "pykeen" not in sys.modules  # the files are read without importing pykeen (which imports torch)
