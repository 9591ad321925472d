"""Write a synthetic Therapy KG dataset with the shape of the curated data, at any size.

Each synthetic product gets what a curated product has: a catalogue entry (label, names, modality),
a source graph stating its target, cell source and boxed warning, an approval, a trial with phase
and patient count, response outcomes and adverse-event observations. About 60 triples per product,
so 17,000 products make roughly 10^6 triples. Output is N-Quads (one named graph per source), to be
loaded on top of the real ontology and data. The values are random and mean nothing.

    python scripts/generate_synthetic.py --products 17000 -o synthetic.nq
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path

TKG = "https://w3id.org/therapy-kg/ontology#"
RES = "https://w3id.org/therapy-kg/resource/"
SRC = "https://w3id.org/therapy-kg/source/"
CATALOGUE = "https://w3id.org/therapy-kg/graph/catalogue"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCT = "http://purl.org/dc/terms/"

MODALITIES = ["car-t", "car-nk", "pd-1-inhibitor", "pd-l1-inhibitor", "ctla-4-inhibitor", "lag-3-inhibitor"]
TARGETS = ["cd19", "bcma", "pd-1", "pd-l1", "ctla-4", "lag-3"]
EVENTS = ["crs", "neurotoxicity", "gvhd"]
DISEASES = ["melanoma", "b-all", "large-b-cell-lymphoma", "cll", "multiple-myeloma", "urothelial-carcinoma"]


def _iri(value: str) -> str:
    return f"<{value}>"


def _lit(value: object, datatype: str | None = None) -> str:
    text = f'"{value}"'
    return f"{text}^^<{XSD}{datatype}>" if datatype else text


def synthetic_quads(products: int, seed: int = 7) -> Iterator[str]:
    """N-Quads lines for `products` synthetic products and their evidence."""
    rng = random.Random(seed)
    cat = _iri(CATALOGUE)
    for n in range(products):
        product = _iri(f"{RES}synthetic-{n}")
        source = _iri(f"{SRC}synthetic-{n}")
        graph = source
        modality = rng.choice(MODALITIES)
        yield f"{product} {_iri(RDF_TYPE)} {_iri(TKG + 'Product')} {cat} ."
        yield f"{product} {_iri(LABEL)} {_lit(f'Synthetic product {n}')} {cat} ."
        yield f"{product} {_iri(TKG + 'brandName')} {_lit(f'Synthbrand{n}')} {cat} ."
        yield f"{product} {_iri(TKG + 'genericName')} {_lit(f'synthemab-{n}')} {cat} ."
        yield f"{product} {_iri(TKG + 'codeName')} {_lit(f'SYN-{n:05d}')} {cat} ."
        yield f"{product} {_iri(TKG + 'modality')} {_iri(RES + modality)} {cat} ."

        yield f"{source} {_iri(RDF_TYPE)} {_iri(TKG + 'JournalArticle')} {graph} ."
        yield f"{source} {_iri(DCT + 'title')} {_lit(f'Synthetic report {n}')} {graph} ."
        yield f"{source} {_iri(DCT + 'bibliographicCitation')} {_lit(f'Synthetic A, et al. Report {n}. J Synth. 2024.')} {graph} ."
        yield f"{source} {_iri(TKG + 'doi')} {_lit(f'10.99999/synthetic.{n}')} {graph} ."
        yield f"{source} {_iri(TKG + 'claimKind')} {_iri(TKG + 'PrimaryEvidence')} {graph} ."
        yield f"{product} {_iri(TKG + 'targetAntigen')} {_iri(RES + rng.choice(TARGETS))} {graph} ."
        yield f"{product} {_iri(TKG + 'cellSource')} {_iri(TKG + rng.choice(['Autologous', 'Allogeneic']))} {graph} ."
        yield f"{product} {_iri(TKG + 'hlaMatchingRequired')} {_lit(rng.choice(['true', 'false']), 'boolean')} {graph} ."
        yield f"{product} {_iri(TKG + 'boxedWarning')} {_iri(RES + rng.choice(EVENTS))} {graph} ."

        approval = _iri(f"{RES}approval-synthetic-{n}")
        date = f"{rng.randint(2005, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        for predicate, obj in [
            (RDF_TYPE, _iri(TKG + "Approval")),
            (LABEL, _lit(f"Approval of synthetic product {n}")),
            (TKG + "approvedProduct", product),
            (TKG + "agency", _iri(RES + rng.choice(["fda", "ema"]))),
            (TKG + "approvalDate", _lit(date, "date")),
            (TKG + "indication", _iri(RES + rng.choice(DISEASES))),
            (TKG + "approvalPathway", _iri(TKG + rng.choice(["RegularApproval", "AcceleratedApproval"]))),
        ]:
            yield f"{approval} {_iri(predicate)} {obj} {graph} ."

        nct = f"NCT{90000000 + n:08d}"
        trial = _iri(RES + nct)
        patients = rng.randint(10, 600)
        yield f"{approval} {_iri(TKG + 'pivotalTrial')} {trial} {graph} ."
        for predicate, obj in [
            (RDF_TYPE, _iri(TKG + "ClinicalTrial")),
            (LABEL, _lit(f"SYNTH-{n}")),
            (TKG + "nctId", _lit(nct)),
            (TKG + "trialPhase", _iri(TKG + rng.choice(["Phase1", "Phase2", "Phase3"]))),
            (TKG + "evaluates", product),
            (TKG + "condition", _iri(RES + rng.choice(DISEASES))),
            (TKG + "patientsTreated", _lit(patients, "nonNegativeInteger")),
        ]:
            yield f"{trial} {_iri(predicate)} {obj} {graph} ."

        for measure in ["ObjectiveResponse", "CompleteResponse"]:
            node = _iri(f"{RES}synthetic-{n}-{measure}")
            yield from _measurement(
                node,
                "TrialOutcome",
                trial,
                product,
                patients,
                rng,
                graph,
                [(TKG + "outcomeMeasure", _iri(TKG + measure))],
            )
        for event in EVENTS:
            node = _iri(f"{RES}synthetic-{n}-{event}")
            yield from _measurement(
                node,
                "AdverseEventObservation",
                trial,
                product,
                patients,
                rng,
                graph,
                [(TKG + "adverseEvent", _iri(RES + event)), (TKG + "gradeThreshold", _iri(TKG + "AnyGrade"))],
            )


def _measurement(
    node: str,
    kind: str,
    trial: str,
    product: str,
    patients: int,
    rng: random.Random,
    graph: str,
    extra: list[tuple[str, str]],
) -> Iterator[str]:
    numerator = rng.randint(0, patients)
    for predicate, obj in [
        (RDF_TYPE, _iri(TKG + kind)),
        (TKG + "trial", trial),
        (TKG + "therapy", product),
        (TKG + "numerator", _lit(numerator, "nonNegativeInteger")),
        (TKG + "denominator", _lit(patients, "nonNegativeInteger")),
        *extra,
    ]:
        yield f"{node} {_iri(predicate)} {obj} {graph} ."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=17_000)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    count = 0
    with args.output.open("w", encoding="utf-8") as out:
        for line in synthetic_quads(args.products):
            out.write(line + "\n")
            count += 1
    print(f"wrote {count} quads for {args.products} products to {args.output}")


if __name__ == "__main__":
    main()
