"""Write synthetic ClinicalTrials.gov study records (API v2 JSON), to measure and test `kg ingest ctgov`.

Each record has the registry's shape: identification, status with dates (some year-month only),
sponsor and collaborators, conditions, design with phases and enrolment, arms and interventions,
locations, and for about a third a results section with adverse events per arm. Interventions mix
product names known to the graph (with their other names), modality phrases ("anti-CD19 CAR-T
cells") and names the graph does not know (chemotherapy, placebo). NCT numbers start at
NCT90000000, outside the range the registry has issued. The values are random and mean nothing.

    python scripts/generate_ctgov.py -n 100000 -o synthetic.jsonl          # JSON Lines
    python scripts/generate_ctgov.py -n 10000 --pages -o synthetic-pages/  # API pages of 1000 studies
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PAGE_SIZE = 1000  # the API's largest page

PRODUCTS = [
    ("Tisagenlecleucel", ["CTL019", "Kymriah"]),
    ("Axicabtagene Ciloleucel", ["KTE-C19", "Yescarta"]),
    ("Lisocabtagene Maraleucel", ["JCAR017"]),
    ("Idecabtagene Vicleucel", ["bb2121", "Abecma"]),
    ("Ciltacabtagene Autoleucel", ["JNJ-68284528", "Carvykti"]),
    ("Pembrolizumab", ["MK-3475", "KEYTRUDA®"]),
    ("Nivolumab", ["BMS-936558", "Opdivo"]),
    ("Ipilimumab", ["MDX-010", "Yervoy"]),
    ("Atezolizumab", ["MPDL3280A", "Tecentriq"]),
    ("Durvalumab", ["MEDI4736"]),
    ("Cemiplimab", ["REGN2810"]),
    ("NKX019", []),
    ("FT596", []),
]
MODALITY_PHRASES = [
    "Anti-CD19 CAR-T cells",
    "BCMA CAR-T cells",
    "CD19/CD22 dual CAR T cells",
    "CAR-T cell therapy",
    "CD19 CAR-NK cells",
    "Anti-CD33 CAR-NK cells",
    "CAR-NK",
    "Anti-PD-1 monoclonal antibody",
    "anti-PD-L1 antibody",
]
UNKNOWN = [
    "Fludarabine",
    "Cyclophosphamide",
    "Placebo",
    "Docetaxel",
    "Carboplatin",
    "Radiation therapy",
    "Autologous stem cell transplant",
    "Cartilage-derived matrix",
    "Best supportive care",
    "Laboratory biomarker analysis",
]
EVENTS = [
    "Cytokine release syndrome",
    "Immune effector cell-associated neurotoxicity syndrome",
    "Neurotoxicity",
    "Graft versus host disease",
    "Pyrexia",
    "Neutropenia",
    "Fatigue",
    "Anaemia",
    "Pneumonitis",
    "Colitis",
]
CONDITIONS = [
    "Diffuse Large B Cell Lymphoma",
    "B-cell Acute Lymphoblastic Leukemia",
    "Multiple Myeloma",
    "Melanoma",
    "Non-small Cell Lung Cancer",
    "Chronic Lymphocytic Leukemia",
    "Urothelial Carcinoma",
    "Acute Myeloid Leukemia",
]
COUNTRIES = [
    "United States",
    "China",
    "Germany",
    "France",
    "Japan",
    "Canada",
    "Spain",
    "Italy",
    "Australia",
    "United Kingdom",
]
SPONSORS = [
    "Synthetic University Hospital",
    "Example Oncology Inc.",
    "Placeholder Cancer Center",
    "Sample Biotech Ltd.",
]
STATUSES = ["RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED", "TERMINATED", "NOT_YET_RECRUITING", "WITHDRAWN"]
PHASES = [["PHASE1"], ["PHASE1", "PHASE2"], ["PHASE2"], ["PHASE3"], ["EARLY_PHASE1"], ["PHASE4"], ["NA"]]


def _date(rng: random.Random, first: int, last: int) -> dict[str, str]:
    year, month = rng.randint(first, last), rng.randint(1, 12)
    text = f"{year}-{month:02d}" if rng.random() < 0.3 else f"{year}-{month:02d}-{rng.randint(1, 28):02d}"
    return {"date": text, "type": rng.choice(["ACTUAL", "ESTIMATED"])}


def _intervention(rng: random.Random) -> dict[str, Any]:
    pick = rng.random()
    if pick < 0.4:
        name, other_names = rng.choice(PRODUCTS)
        return {"type": "BIOLOGICAL", "name": name, "otherNames": other_names}
    if pick < 0.7:
        return {"type": "BIOLOGICAL", "name": rng.choice(MODALITY_PHRASES)}
    return {"type": rng.choice(["DRUG", "OTHER", "PROCEDURE"]), "name": rng.choice(UNKNOWN)}


def _adverse_events(rng: random.Random, arms: list[str]) -> dict[str, Any]:
    at_risk = [rng.randint(5, 300) for _ in arms]
    groups = [
        {"id": f"EG{i:03d}", "title": arm, "seriousNumAffected": rng.randint(0, n), "seriousNumAtRisk": n}
        for i, (arm, n) in enumerate(zip(arms, at_risk, strict=True))
    ]

    def events() -> list[dict[str, Any]]:
        return [
            {
                "term": term,
                "organSystem": "Synthetic organ system",
                "sourceVocabulary": "MedDRA (26.0)",
                "assessmentType": "SYSTEMATIC_ASSESSMENT",
                "stats": [
                    {"groupId": g["id"], "numEvents": (k := rng.randint(0, n)), "numAffected": k, "numAtRisk": n}
                    for g, n in zip(groups, at_risk, strict=True)
                ],
            }
            for term in rng.sample(EVENTS, rng.randint(1, 4))
        ]

    return {
        "frequencyThreshold": "5",
        "timeFrame": "Up to 2 years",
        "eventGroups": groups,
        "seriousEvents": events(),
        "otherEvents": events(),
    }


def study(n: int, rng: random.Random) -> dict[str, Any]:
    """One synthetic study record in the API v2 shape."""
    nct = f"NCT{90000000 + n:08d}"
    interventions = [_intervention(rng) for _ in range(rng.randint(1, 3))]
    arms = [f"Arm {chr(65 + i)}" for i in range(rng.randint(1, 3))]
    for intervention in interventions:
        intervention["armGroupLabels"] = rng.sample(arms, rng.randint(1, len(arms)))
    record: dict[str, Any] = {
        "protocolSection": {
            "identificationModule": {
                "nctId": nct,
                "orgStudyIdInfo": {"id": f"SYN-{n}"},
                "organization": {"fullName": rng.choice(SPONSORS), "class": "OTHER"},
                "briefTitle": f"Synthetic study {n} of {interventions[0]['name']}",
                "officialTitle": f"A synthetic study ({n}) of {', '.join(i['name'] for i in interventions)}",
            },
            "statusModule": {
                "overallStatus": rng.choice(STATUSES),
                "startDateStruct": _date(rng, 2010, 2024),
                "completionDateStruct": _date(rng, 2015, 2030),
                "lastUpdatePostDateStruct": _date(rng, 2020, 2025) | {"type": "ACTUAL"},
            },
            "sponsorCollaboratorsModule": {
                "leadSponsor": {"name": rng.choice(SPONSORS), "class": "OTHER"},
                "collaborators": [{"name": s, "class": "OTHER"} for s in rng.sample(SPONSORS, rng.randint(0, 2))],
            },
            "conditionsModule": {"conditions": rng.sample(CONDITIONS, rng.randint(1, 3))},
            "designModule": {
                "studyType": "INTERVENTIONAL",
                "phases": rng.choice(PHASES),
                "enrollmentInfo": {"count": rng.randint(5, 1000), "type": rng.choice(["ACTUAL", "ESTIMATED"])},
            },
            "armsInterventionsModule": {
                "armGroups": [{"label": arm, "type": "EXPERIMENTAL"} for arm in arms],
                "interventions": interventions,
            },
            "contactsLocationsModule": {
                "locations": [
                    {"facility": f"Site {i}", "country": rng.choice(COUNTRIES)} for i in range(rng.randint(1, 6))
                ]
            },
        },
        "hasResults": False,
    }
    if rng.random() < 0.3:
        record["resultsSection"] = {"adverseEventsModule": _adverse_events(rng, arms)}
        record["hasResults"] = True
    return record


def studies(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for n in range(count):
        yield study(n, rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--count", type=int, default=10_000)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--pages", action="store_true", help=f"write a directory of API pages of {PAGE_SIZE} studies")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    records = studies(args.count, args.seed)
    if not args.pages:
        with args.output.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        args.output.mkdir(parents=True, exist_ok=True)
        pages = (args.count + PAGE_SIZE - 1) // PAGE_SIZE
        for page in range(pages):
            body: dict[str, Any] = {
                "studies": [next(records) for _ in range(min(PAGE_SIZE, args.count - page * PAGE_SIZE))]
            }
            if page + 1 < pages:
                body["nextPageToken"] = f"synthetic-page-{page + 1}"
            (args.output / f"page-{page:05d}.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.count} studies to {args.output}")


if __name__ == "__main__":
    main()
