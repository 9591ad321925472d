"""Input files: every ontology and data file parses with both RDF libraries; errors name file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from kg import sources, vocab
from kg.errors import BuildError
from kg.resources import DATA_DIR, ONTOLOGY_DIR
from tests.conftest import MINI

TURTLE = sorted(ONTOLOGY_DIR.glob("*.ttl")) + sorted(DATA_DIR.rglob("*.ttl")) + sorted(MINI.rglob("*.ttl"))


@pytest.mark.parametrize("path", TURTLE, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_parses_with_rdflib_and_pyoxigraph(path: Path) -> None:
    with_rdflib = rdflib.Graph().parse(path, format="turtle")
    with_oxigraph = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    assert len(with_rdflib) > 0
    assert len(with_rdflib) == len(set(with_oxigraph))


def test_each_source_file_becomes_the_named_graph_of_its_source() -> None:
    files = sources.input_files()
    kinds = {f.kind for f in files}
    assert kinds == {"ontology", "catalogue", "source"}
    for file in files:
        if file.kind == "source":
            assert file.graph == vocab.SOURCE + file.path.stem


def test_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(MINI, data)
    broken = data / "sources" / "broken.ttl"
    broken.write_text('@prefix tkg: <https://w3id.org/therapy-kg/ontology#> .\ntkg:a tkg:b "unclosed .\n')
    with pytest.raises(BuildError) as caught:
        sources.parse_all(sources.input_files(data))
    assert f"{broken}:2:" in str(caught.value)


def test_stray_turtle_file_is_an_error_not_silently_ignored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(MINI, data)
    (data / "stray.ttl").write_text("")
    with pytest.raises(BuildError, match=r"stray\.ttl"):
        sources.input_files(data)


def test_fingerprint_changes_when_data_change(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(MINI, data)
    before = sources.fingerprint(sources.input_files(data))
    with (data / "catalogue" / "modalities.ttl").open("a") as handle:
        handle.write("\n# edited\n")
    assert sources.fingerprint(sources.input_files(data)) != before
