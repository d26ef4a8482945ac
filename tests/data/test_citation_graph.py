"""jaxml.data.graphs.load_citation_graph on a mock of the LINQS Cora / Citeseer files (written here;
nothing is downloaded), and the "citation" dataset of the node-classification method."""

from __future__ import annotations

import numpy as np
import pytest

from jaxml.data import graphs
from jaxml.defaults.gnn import gnn_config
from jaxml.errors import JaxmlError
from jaxml.methods import gnn

# 6 papers (string ids as in Citeseer), 4 words, 2 classes; the citations include a duplicate (both
# directions), a self-citation and one of a paper missing from .content
CONTENT = """p31\t1\t0\t1\t0\tTheory
a-7\t0\t1\t0\t0\tNeural_Networks
p2\t1\t1\t0\t0\tTheory
x9\t0\t0\t0\t0\tNeural_Networks
p5\t0\t0\t1\t1\tTheory
q1\t1\t0\t0\t1\tNeural_Networks
"""
CITES = """p31\ta-7
a-7\tp31
p2\tp2
p2\tx9
p5\tmissing
q1\tp5
p31\tq1
"""


@pytest.fixture
def mock_dir(tmp_path):
    (tmp_path / "citeseer.content").write_text(CONTENT)
    (tmp_path / "citeseer.cites").write_text(CITES)
    return tmp_path


def test_the_linqs_files_become_a_graph(mock_dir):
    g = graphs.load_citation_graph(mock_dir, "citeseer")
    np.testing.assert_array_equal(g.y, [1, 0, 1, 0, 1, 0])            # sorted class names: Neural_Networks, Theory
    np.testing.assert_allclose(g.x[0], [0.5, 0, 0.5, 0])                # rows sum to 1
    np.testing.assert_allclose(g.x[3], [0, 0, 0, 0])                    # an empty row stays 0
    edges = set(zip(g.senders.tolist(), g.receivers.tolist()))
    undirected = {(0, 1), (2, 3), (5, 4), (0, 5)}                       # no duplicate, self-loop or missing paper
    assert edges == undirected | {(b, a) for a, b in undirected}
    assert g.senders.dtype == np.int32 and g.x.dtype == np.float32


def test_the_citation_dataset_and_its_errors(mock_dir, tmp_path):
    c = gnn_config("gcn", "citation")
    c.citation.name, c.citation.data_dir = "citeseer", str(mock_dir)
    c.labels_per_class, c.num_val = 1, 2
    graph, split = gnn.DATASETS["citation"](c)
    assert graph.num_nodes == 6 and int(split.train.sum()) == 2 and int(split.val.sum()) == 2
    c.citation.data_dir = str(tmp_path / "nowhere")
    with pytest.raises(JaxmlError, match=r"citeseer.content.*not found.*config.citation.data_dir"):
        gnn.DATASETS["citation"](c)
    c.citation.data_dir = ""
    with pytest.raises(JaxmlError, match="config.citation.data_dir is empty"):
        gnn.DATASETS["citation"](c)
    c.citation.name = "pubmed"
    with pytest.raises(JaxmlError, match="config.citation.name='pubmed' is not one of cora, citeseer"):
        gnn.DATASETS["citation"](c)
    (mock_dir / "citeseer.content").write_text(CONTENT + "z0\t1\tTheory\n")
    with pytest.raises(JaxmlError, match="the same number of attributes"):
        graphs.load_citation_graph(mock_dir, "citeseer")
