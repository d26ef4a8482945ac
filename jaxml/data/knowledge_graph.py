"""A generated family-tree knowledge graph with rule-derived relations, split for link prediction.

`family_tree` builds a Kinships-like graph whose relation patterns are known by construction (the
real Kinships / UMLS / Nations files are read by data/small_kgs.py;
docs/references.md#knowledge-graph-embeddings): deterministic from its seed (numpy `default_rng`),
`num_families` disjoint family trees of `generations` generations. Generation 0 is one couple per family; every couple has 1 to `max_children` children;
each child marries, with probability `marriage_prob`, a new in-law (an entity with no recorded
parents), and those couples have the next generation's children. Every person is one entity.

The relations and the patterns they follow (`PATTERNS`), all derived from the parent and marriage
lists by rules:

| relation | rule | patterns |
|---|---|---|
| parent_of | recorded | antisymmetric |
| child_of | parent_of reversed | antisymmetric, inverse |
| married_to | recorded, both ways | symmetric |
| sibling_of | the same parents, a != b | symmetric |
| grandparent_of | parent_of . parent_of | antisymmetric, composition |
| grandchild_of | grandparent_of reversed | antisymmetric, inverse, composition |
| uncle_or_aunt_of | sibling_of . parent_of (and their spouses) | antisymmetric, composition |
| nephew_or_niece_of | uncle_or_aunt_of reversed | antisymmetric, inverse, composition |
| cousin_of | children of siblings | symmetric, composition |

`split(triples, ...)` holds out a fraction of the triples as validation and test sets so that every
held-out triple's head and tail keep at least one triple in training (every test entity is seen).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from jaxml.errors import JaxmlError

RELATIONS = ("parent_of", "child_of", "married_to", "sibling_of", "grandparent_of", "grandchild_of",
             "uncle_or_aunt_of", "nephew_or_niece_of", "cousin_of")
PATTERNS: dict[str, tuple[str, ...]] = {
    "parent_of": ("antisymmetric",),
    "child_of": ("antisymmetric", "inverse"),
    "married_to": ("symmetric",),
    "sibling_of": ("symmetric",),
    "grandparent_of": ("antisymmetric", "composition"),
    "grandchild_of": ("antisymmetric", "inverse", "composition"),
    "uncle_or_aunt_of": ("antisymmetric", "composition"),
    "nephew_or_niece_of": ("antisymmetric", "inverse", "composition"),
    "cousin_of": ("symmetric", "composition"),
}
PATTERN_NAMES = ("symmetric", "antisymmetric", "inverse", "composition")


class KnowledgeGraph(NamedTuple):
    """Triples [n, 3] int32 rows (head, relation, tail), split; `relations[r]` names relation r."""
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    num_entities: int
    relations: tuple[str, ...]

    @property
    def num_relations(self) -> int:
        return len(self.relations)

    @property
    def all_triples(self) -> np.ndarray:
        return np.concatenate([self.train, self.valid, self.test])


def family_people(num_families: int, generations: int, max_children: int, marriage_prob: float,
                  seed: int) -> tuple[int, list[tuple[int, int]], list[tuple[int, int]]]:
    """(number of people, (parent, child) pairs, (spouse, spouse) couples) of the generated trees."""
    rng = np.random.default_rng(seed)
    count = 0
    parents: list[tuple[int, int]] = []
    couples: list[tuple[int, int]] = []
    for _ in range(num_families):
        generation = [(count, count + 1)]
        couples.append(generation[0])
        count += 2
        for _ in range(generations - 1):
            nxt = []
            for a, b in generation:
                for _ in range(int(rng.integers(1, max_children + 1))):
                    child = count
                    count += 1
                    parents += [(a, child), (b, child)]
                    if rng.random() < marriage_prob:
                        couple = (child, count)
                        count += 1
                        couples.append(couple)
                        nxt.append(couple)
            generation = nxt
    return count, parents, couples


def derive_triples(parents: list[tuple[int, int]], couples: list[tuple[int, int]]) -> np.ndarray:
    """Every triple the rules of the module docstring derive, [n, 3] int32, sorted and unique."""
    children: dict[int, set[int]] = {}
    parent_sets: dict[int, set[int]] = {}
    for p, c in parents:
        children.setdefault(p, set()).add(c)
        parent_sets.setdefault(c, set()).add(p)
    spouse = {a: b for a, b in couples} | {b: a for a, b in couples}
    rel = {name: i for i, name in enumerate(RELATIONS)}
    out: set[tuple[int, int, int]] = set()
    for p, c in parents:
        out |= {(p, rel["parent_of"], c), (c, rel["child_of"], p)}
    for a, b in couples:
        out |= {(a, rel["married_to"], b), (b, rel["married_to"], a)}
    siblings = {c: {s for p in ps for s in children[p]} - {c} for c, ps in parent_sets.items()}
    for a, sibs in siblings.items():
        out |= {(a, rel["sibling_of"], b) for b in sibs}
    for p, c in parents:
        for g in parent_sets.get(p, ()):
            out |= {(g, rel["grandparent_of"], c), (c, rel["grandchild_of"], g)}
        for s in siblings.get(p, ()):
            for u in {s} | ({spouse[s]} if s in spouse else set()):
                out |= {(u, rel["uncle_or_aunt_of"], c), (c, rel["nephew_or_niece_of"], u)}
                out |= {(c, rel["cousin_of"], k) for k in children.get(u, ())}
    return np.array(sorted(out), np.int32).reshape(-1, 3)


def split(triples: np.ndarray, valid_fraction: float, test_fraction: float, seed: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, valid, test): triples visited in a seeded random order go to test, then valid, until each
    holds its fraction, but only while both their entities keep another training triple."""
    if not (0.0 <= valid_fraction and 0.0 <= test_fraction and valid_fraction + test_fraction < 1.0):
        raise JaxmlError(f"valid_fraction={valid_fraction} and test_fraction={test_fraction} must be >= 0 "
                         "with a sum below 1")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(triples))
    degree = np.bincount(triples[:, [0, 2]].ravel(), minlength=int(triples[:, [0, 2]].max()) + 1)
    want = {"test": int(round(test_fraction * len(triples))), "valid": int(round(valid_fraction * len(triples)))}
    held = {"test": [], "valid": []}
    for i in order:
        part = "test" if len(held["test"]) < want["test"] else "valid" if len(held["valid"]) < want["valid"] else None
        if part is None:
            break
        h, _, t = triples[i]
        if degree[h] > 1 and degree[t] > 1 and h != t:
            degree[h] -= 1
            degree[t] -= 1
            held[part].append(i)
    keep = np.ones(len(triples), bool)
    keep[held["test"] + held["valid"]] = False
    return triples[keep], triples[np.sort(held["valid"])], triples[np.sort(held["test"])]


def family_tree(num_families: int = 40, generations: int = 4, max_children: int = 3, marriage_prob: float = 0.8,
                valid_fraction: float = 0.05, test_fraction: float = 0.1, seed: int = 0) -> KnowledgeGraph:
    """The generated family-tree KG of the module docstring, split into train / valid / test."""
    num_people, parents, couples = family_people(num_families, generations, max_children, marriage_prob, seed)
    train, valid, test = split(derive_triples(parents, couples), valid_fraction, test_fraction, seed + 1)
    return KnowledgeGraph(train, valid, test, num_people, RELATIONS)
