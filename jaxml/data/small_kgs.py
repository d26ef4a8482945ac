"""The small link-prediction benchmarks Kinships, UMLS and Nations read from their train / valid / test
files (docs/references.md#knowledge-graph-embeddings).

Each is a folder of three tab-separated files, `train.txt`, `valid.txt`, `test.txt`, one triple a line
(head, relation, tail, all names). jaxml never downloads them; `find_directory(name, data_dir)` looks,
in order, in `<data_dir>/<name>` (a config path), `$JAXML_DATA_DIR/<name>`, and the data folder of
the `pykeen` package (`pykeen/datasets/<name>/`, which its wheel ships; installed by `make setup` with
`pip install --no-deps pykeen`). The package is located with `importlib.util.find_spec`, which finds a
top-level package without running it (pykeen's `__init__` imports torch; jaxml never imports it).

`load(directory)` numbers the entities and the relations in sorted name order (so the ids do not depend
on the order of the lines) and returns a `knowledge_graph.KnowledgeGraph` with the files' own split.

These graphs come without labelled relation patterns, so `observed_patterns(kg)` measures them on all
the triples: a relation is "symmetric" when at least `SYMMETRIC_AT_LEAST` of its (h, t) pairs
(h != t) also appear as (t, h), "antisymmetric" when at most `ANTISYMMETRIC_AT_MOST` do, and
"inverse" when at least `SYMMETRIC_AT_LEAST` of its reversed pairs are pairs of one other relation.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from jaxml.data.datasets import DATA_DIR_ENV
from jaxml.data.knowledge_graph import KnowledgeGraph
from jaxml.errors import JaxmlError

NAMES = ("kinships", "umls", "nations")
SPLIT_FILES = {"train": "train.txt", "valid": "valid.txt", "test": "test.txt"}
PACKAGE = "pykeen"
PACKAGE_PIN = "pykeen==1.11.1"
SYMMETRIC_AT_LEAST = 0.8
ANTISYMMETRIC_AT_MOST = 0.1


def read_triples(path: Path) -> list[tuple[str, str, str]]:
    """The (head, relation, tail) names of a tab-separated file; blank lines skipped."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                raise JaxmlError(f"{path}:{number} has {len(parts)} tab-separated fields; a triple needs 3 "
                                 "(head, relation, tail)")
            rows.append((parts[0], parts[1], parts[2]))
    return rows


def package_directory(name: str) -> Path | None:
    """`pykeen/datasets/<name>` of the installed pykeen, found without importing it (None if absent)."""
    spec = importlib.util.find_spec(PACKAGE)
    for root in (spec.submodule_search_locations or ()) if spec else ():
        folder = Path(root) / "datasets" / name
        if all((folder / f).is_file() for f in SPLIT_FILES.values()):
            return folder
    return None


def candidates(name: str, data_dir: str | None = None) -> list[Path]:
    """The folders searched for `name`'s files, in order (the package's only when it is installed)."""
    roots = [Path(os.path.expanduser(r)) / name for r in (data_dir, os.environ.get(DATA_DIR_ENV)) if r]
    found = package_directory(name)
    return roots + ([found] if found else [])


def find_directory(name: str, data_dir: str | None = None) -> Path:
    """The first searched folder that holds all three files of `name`; else one JaxmlError saying how to
    get them."""
    if name not in NAMES:
        raise JaxmlError(f"config.dataset={name!r} is not a small benchmark KG; choose one of {', '.join(NAMES)}")
    searched = candidates(name, data_dir)
    for folder in searched:
        if all((folder / f).is_file() for f in SPLIT_FILES.values()):
            return folder
    where = ", ".join(str(p) for p in searched) or "nothing: no data_dir, no $" + DATA_DIR_ENV
    raise JaxmlError(
        f"the {name} knowledge graph was not found (searched {where}; pykeen is not installed). Install its "
        f"files with `pip install --no-deps {PACKAGE_PIN}` (jaxml reads the wheel's data files and never "
        f"imports pykeen), or put {', '.join(SPLIT_FILES.values())} in $" + DATA_DIR_ENV + f"/{name}/ "
        "or config.data_dir/" + name + "/")


def load(directory: str | Path) -> KnowledgeGraph:
    """The KG of a folder with train.txt / valid.txt / test.txt, entities and relations numbered in sorted
    name order."""
    directory = Path(directory)
    rows = {split: read_triples(directory / f) for split, f in SPLIT_FILES.items()}
    if not rows["train"] or not rows["test"]:
        raise JaxmlError(f"{directory}: train.txt and test.txt must each hold at least one triple")
    entities = sorted({e for part in rows.values() for h, _, t in part for e in (h, t)})
    relations = tuple(sorted({r for part in rows.values() for _, r, _ in part}))
    entity_id = {e: i for i, e in enumerate(entities)}
    relation_id = {r: i for i, r in enumerate(relations)}

    def encode(part):
        return np.array([(entity_id[h], relation_id[r], entity_id[t]) for h, r, t in part], np.int32).reshape(-1, 3)

    return KnowledgeGraph(encode(rows["train"]), encode(rows["valid"]), encode(rows["test"]), len(entities),
                          relations)


def observed_patterns(kg: KnowledgeGraph) -> dict[str, tuple[str, ...]]:
    """Each relation's patterns measured on all the triples (the module docstring's rules)."""
    triples = kg.all_triples
    pairs = {r: {(int(h), int(t)) for h, _, t in triples[triples[:, 1] == r]} for r in range(kg.num_relations)}
    out: dict[str, tuple[str, ...]] = {}
    for r, name in enumerate(kg.relations):
        off_diagonal = [(h, t) for h, t in pairs[r] if h != t]
        reversed_pairs = {(t, h) for h, t in off_diagonal}
        found = []
        if off_diagonal:
            share = len(reversed_pairs & pairs[r]) / len(off_diagonal)
            found += ["symmetric"] if share >= SYMMETRIC_AT_LEAST else ["antisymmetric"] if share <= ANTISYMMETRIC_AT_MOST else []
            if any(len(reversed_pairs & pairs[o]) >= SYMMETRIC_AT_LEAST * len(reversed_pairs)
                   for o in range(kg.num_relations) if o != r):
                found.append("inverse")
        out[name] = tuple(found)
    return out
