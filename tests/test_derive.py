"""What a build derives is the same whether worked out from the whole store or, as `kg build` does,
from the curated graphs and the records' statements the derivation queries read (kg/derive.py)."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import derive, ingest, registry, resources, sources, vocab
from tests.test_drugsatfda import FIXTURE as DRUGSATFDA
from tests.test_ema import XLSX
from tests.test_ingest import FIXTURES as CTGOV

pytestmark = pytest.mark.usefixtures("catalogue_env")  # the real records name real products


def test_a_build_derives_from_what_it_reads_what_the_whole_store_gives(tmp_path: Path) -> None:
    root = tmp_path / "store"
    registry.ingest_ctgov(root, [CTGOV / "page.json", CTGOV / "studies.jsonl"])
    registry.ingest_drugsatfda(root, DRUGSATFDA)
    registry.ingest_ema(root, XLSX)
    records = list(ox.parse(path=str(ingest.records_file(root)), format=ox.RdfFormat.N_QUADS))
    curated = [q for qs in sources.parse_all(sources.input_files(resources.DATA_DIR)).values() for q in qs]

    built = ox.Store()
    built.bulk_extend(derive.loaded_with_derivations(curated, records))
    whole = ox.Store()
    whole.bulk_extend(derive.with_merge(curated + records))
    derive.complete(whole)
    assert set(built) == set(whole)

    # the records count: their trials are counted and their nodes linked as evidence
    record_nodes = {q.subject for q in records}
    derived = ox.NamedNode(derive.DERIVED_GRAPH)
    evidence_of = ox.NamedNode(vocab.TKG + "evidenceOf")
    assert any(q.subject in record_nodes for q in built.quads_for_pattern(None, evidence_of, None, derived))
    summary = ox.NamedNode(derive.REGISTRY_SUMMARY_GRAPH)  # counts of ingested trials only: CAR-T has
    # one, an invented trial in page.json that no curated file states (tests/data/ctgov/README.md)
    counted = {q.object for q in built.quads_for_pattern(None, ox.NamedNode(vocab.TKG + "countOf"), None, summary)}
    assert {ox.NamedNode(vocab.RESOURCE + name) for name in ("car-t", "nkx019", "ipilimumab")} <= counted
