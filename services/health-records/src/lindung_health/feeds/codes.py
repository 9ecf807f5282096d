"""The coded values the feeds accept. Anything else is rejected with the code it carried.

Vaccines (COVID-19), in ``Immunization.vaccineCode``:

- CVX (``http://hl7.org/fhir/sid/cvx``): 207 Moderna, 208 Pfizer-BioNTech, 210 AstraZeneca,
  211 Novavax, 212 Janssen, 213 SARS-CoV-2 unspecified, 217/218/219 Pfizer-BioNTech
  formulations, 221 Moderna 50 mcg, 229 Moderna bivalent, 230 Pfizer bivalent,
  300/301/302 Pfizer/Moderna 2023-24, 500 non-US unspecified, 502 Covaxin, 505 Sputnik V,
  506 CanSino, 510 Sinopharm BIBP, 511 Sinovac CoronaVac.
- SNOMED CT (``http://snomed.info/sct``): 1119349007 SARS-CoV-2 mRNA vaccine,
  1119305005 SARS-CoV-2 antigen vaccine, 29061000087103 SARS-CoV-2 non-replicating viral
  vector vaccine, 28531000087107 COVID-19 vaccine (unspecified).

Laboratory tests, in ``Observation.code`` (LOINC, ``http://loinc.org``):

- 94500-6 SARS-CoV-2 RNA by NAA with probe detection (respiratory): PCR
- 94309-2 SARS-CoV-2 RNA by NAA with probe detection (specimen): PCR
- 94558-4 SARS-CoV-2 Ag by rapid immunoassay (respiratory): antigen
- 97097-0 SARS-CoV-2 Ag by rapid immunoassay (upper respiratory): antigen

Results: ``valueCodeableConcept`` in SNOMED CT (10828004 positive, 260373001 detected;
260385009 negative, 260415000 not detected) or, failing that, ``interpretation`` in
``http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation`` (POS, DET / NEG, ND).
"""

from __future__ import annotations

from typing import Literal

CVX = "http://hl7.org/fhir/sid/cvx"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"

VACCINE_CODES: dict[str, frozenset[str]] = {
    CVX: frozenset(
        [
            "207",
            "208",
            "210",
            "211",
            "212",
            "213",
            "217",
            "218",
            "219",
            "221",
            "229",
            "230",
            "300",
            "301",
            "302",
            "500",
            "502",
            "505",
            "506",
            "510",
            "511",
        ]
    ),
    SNOMED: frozenset({"1119349007", "1119305005", "29061000087103", "28531000087107"}),
}

TEST_CODES: dict[str, Literal["pcr", "antigen"]] = {
    "94500-6": "pcr",
    "94309-2": "pcr",
    "94558-4": "antigen",
    "97097-0": "antigen",
}

RESULT_CODES: dict[tuple[str, str], Literal["positive", "negative"]] = {
    (SNOMED, "10828004"): "positive",
    (SNOMED, "260373001"): "positive",
    (SNOMED, "260385009"): "negative",
    (SNOMED, "260415000"): "negative",
    (INTERPRETATION, "POS"): "positive",
    (INTERPRETATION, "DET"): "positive",
    (INTERPRETATION, "NEG"): "negative",
    (INTERPRETATION, "ND"): "negative",
}
