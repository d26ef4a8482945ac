"""TransE, DistMult, ComplEx and RotatE (64 real coordinates per entity, 32 complex for the complex
models) on the generated family-tree knowledge graph (40 families of 4 generations, 9 rule-derived
relations: symmetric, antisymmetric, inverse and composition patterns; 10 % of the triples held out
for test, 5 % for validation, every held-out entity seen in training), negative sampling with
self-adversarial weights, filtered link prediction over all entities; 3 seeds.

Command:   jaxml train kge_family
Expected:  filtered MRR far above random (complex_mrr_over_random >= 10; random ~ 1 / |E| times log |E|)
           and ComplEx and RotatE above DistMult (complex_minus_distmult_mrr, rotate_minus_distmult_mrr
           >= 0.05): DistMult scores (h, r, t) and (t, r, h) alike, so it cannot model the
           antisymmetric relations (parent_of, grandparent_of, ...); the per-pattern MRR shows where.
Reference: TransE (Bordes et al. 2013), DistMult (Yang et al. 2015), ComplEx (Trouillon et al. 2016),
           RotatE (Sun et al. 2019) and the filtered protocol (docs/references.md#knowledge-graph-embeddings);
           the targets are this project's, as the Kinships / UMLS files are not available offline
           (published small-KG levels for orientation: UMLS DistMult MRR 0.674, Kinship ComplEx-style ~ 0.82).
Hardware:  2-core CPU, a few minutes.
"""

from jaxml.defaults.kge import kge_config

EXPECTED = {"metric": "complex_mrr_over_random", "at_least": 10.0,
            "also": ({"metric": "complex_minus_distmult_mrr", "at_least": 0.05},
                     {"metric": "rotate_minus_distmult_mrr", "at_least": 0.05}),
            "reference": "ComplEx / RotatE model antisymmetric relations, DistMult cannot "
                         "(docs/references.md#knowledge-graph-embeddings)"}
SUITES = ("full",)


def get_config():
    return kge_config()
