"""The EU eHealth Network value sets that a DCC's coded fields are checked against.

Codes are the published identifiers (SNOMED CT, LOINC, ATC, EMA product numbers, EMA SPOR
organisation ids, ISO 3166-1 alpha-2). The rapid antigen test device list (JRC database,
hundreds of ids that change weekly) is not embedded: a test's ``ma`` is checked for form only.
"""

from __future__ import annotations

#: disease or agent targeted: COVID-19
DISEASE_AGENT_TARGETED = frozenset({"840539006"})

#: vaccine or prophylaxis
VACCINE_PROPHYLAXIS = frozenset({"1119305005", "1119349007", "J07BX03"})

#: vaccine medicinal product
VACCINE_MEDICINAL_PRODUCT = frozenset(
    {
        "EU/1/20/1528",  # Comirnaty
        "EU/1/20/1507",  # Spikevax (COVID-19 Vaccine Moderna)
        "EU/1/21/1529",  # Vaxzevria
        "EU/1/20/1525",  # COVID-19 Vaccine Janssen
        "EU/1/21/1618",  # Nuvaxovid
        "EU/1/21/1624",  # COVID-19 Vaccine Valneva
        "EU/1/21/1580",  # VidPrevtyn Beta
        "CVnCoV",
        "NVX-CoV2373",
        "Sputnik-V",
        "Sputnik-Light",
        "Convidecia",
        "EpiVacCorona",
        "BBIBP-CorV",
        "Inactivated-SARS-CoV-2-Vero-Cell",
        "CoronaVac",
        "Covaxin",
        "Covishield",
        "Covid-19-recombinant",
        "R-COVI",
        "CoviVac",
        "Hayat-Vax",
        "Abdala",
        "Soberana-02",
        "Soberana-Plus",
        "WIBP-CorV",
        "MVC-COV1901",
        "EpiVacCorona-N",
        "Covifenz",
        "VLA2001",
        "Vidprevtyn",
        "AZD2816",
        "Sinopharm-WIBP",
    }
)

#: marketing authorisation holder or manufacturer
VACCINE_MAH_MANF = frozenset(
    {
        "ORG-100001699",  # AstraZeneca AB
        "ORG-100030215",  # BioNTech Manufacturing GmbH
        "ORG-100001417",  # Janssen-Cilag International
        "ORG-100031184",  # Moderna Biotech Spain S.L.
        "ORG-100006270",  # CureVac AG
        "ORG-100013793",  # CanSino Biologics
        "ORG-100020693",  # China Sinopharm International Corp. - Beijing location
        "ORG-100010771",  # Sinopharm Weiqida Europe Pharmaceutical s.r.o. - Prague location
        "ORG-100024420",  # Sinopharm Zhijun (Shenzhen) Pharmaceutical Co. Ltd.
        "ORG-100032020",  # Novavax CZ AS
        "ORG-100001981",  # Serum Institute Of India Private Limited
        "ORG-100007893",  # R-Pharm CJSC
        "ORG-100033914",  # Medigen Vaccine Biologics Corporation
        "ORG-100000788",  # Sanofi Pasteur
        "ORG-100036422",  # Valneva France
        "ORG-100023050",  # Gulf Pharmaceutical Industries
        "ORG-100026614",  # Sinocelltech Ltd.
        "ORG-100008549",  # Medicago Inc.
        "Gamaleya-Research-Institute",
        "Vector-Institute",
        "Sinovac-Biotech",
        "Bharat-Biotech",
        "Fiocruz",
        "Chumakov-Federal-Scientific-Center",
        "Finlay-Institute",
        "Instituto-Finlay-de-Vacunas",
        "CIGB",
        "NVSI",
        "YS-Biopharma",
    }
)

#: type of test: nucleic acid amplification, rapid antigen
TEST_TYPE = frozenset({"LP6464-4", "LP217198-3"})

#: test result: not detected, detected
TEST_RESULT = frozenset({"260415000", "260373001"})

_ISO_3166_ALPHA_2 = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
ZW XK
"""

#: country of vaccination or test: ISO 3166-1 alpha-2 (plus XK, Kosovo, as the EU value set has)
COUNTRY = frozenset(_ISO_3166_ALPHA_2.split())
