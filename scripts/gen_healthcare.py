#!/usr/bin/env python3
"""Deterministic generator for the healthcare flow inputs (shared/HEALTHCARE_FLOW.md).

Writes into --out DIR:
  us_cities_dimension.parquet       the city dimension (--cities rows)
  USA_Presc_Medicare_Data_2021.csv  the messy prescriber fact (--rows rows)

Same arguments -> same bytes (fixed seed; pyarrow/numpy pinned in
scripts/requirements-fixtures.txt).  The fact CSV is built and written in
bounded chunks with vectorised numpy/pyarrow code, so 10M rows take a
minute or two and little memory.

  python3 scripts/gen_healthcare.py --rows 10000000 --out /tmp/hc
  python3 scripts/gen_healthcare.py --rows 5000 --cities 300 --out fixtures/healthcare --expected

--expected also writes reference outputs of the flow's transform step,
computed independently with DuckDB SQL from the generated files
(city_report.expected.csv, top_prescribers.expected.csv); needs duckdb.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

FACT_COLUMNS = [
    "npi",
    "nppes_provider_last_org_name",
    "nppes_provider_first_name",
    "nppes_provider_city",
    "nppes_provider_state",
    "specialty_description",
    "description_flag",
    "drug_name",
    "generic_name",
    "bene_count",
    "total_claim_count",
    "total_30_day_fill_count",
    "total_day_supply",
    "total_drug_cost",
    "bene_count_ge65",
    "bene_count_ge65_suppress_flag",
    "total_claim_count_ge65",
    "ge65_suppress_flag",
    "total_30_day_fill_count_ge65",
    "total_day_supply_ge65",
    "total_drug_cost_ge65",
    "years_of_exp",
]

CITY_COLUMNS = [
    "city",
    "city_ascii",
    "state_id",
    "state_name",
    "county_fips",
    "county_name",
    "lat",
    "lng",
    "population",
    "density",
    "source",
    "military",
    "incorporated",
    "timezone",
    "ranking",
    "zips",
    "id",
]

# state_id, state_name, fips, zip3 low, zip3 high, lat, lng, timezone, weight
STATES = [
    ("AL", "Alabama", 1, 350, 369, 32.8, -86.8, "America/Chicago", 5.0),
    ("AK", "Alaska", 2, 995, 999, 61.4, -150.0, "America/Anchorage", 0.7),
    ("AZ", "Arizona", 4, 850, 865, 33.7, -111.9, "America/Phoenix", 7.2),
    ("AR", "Arkansas", 5, 716, 729, 34.9, -92.4, "America/Chicago", 3.0),
    ("CA", "California", 6, 900, 961, 36.8, -119.4, "America/Los_Angeles", 39.0),
    ("CO", "Colorado", 8, 800, 816, 39.0, -105.5, "America/Denver", 5.8),
    ("CT", "Connecticut", 9, 60, 69, 41.6, -72.7, "America/New_York", 3.6),
    ("DE", "Delaware", 10, 197, 199, 39.0, -75.5, "America/New_York", 1.0),
    ("DC", "District of Columbia", 11, 200, 205, 38.9, -77.0, "America/New_York", 0.7),
    ("FL", "Florida", 12, 320, 349, 28.1, -81.6, "America/New_York", 21.8),
    ("GA", "Georgia", 13, 300, 319, 32.7, -83.4, "America/New_York", 10.8),
    ("HI", "Hawaii", 15, 967, 968, 20.8, -156.3, "Pacific/Honolulu", 1.4),
    ("ID", "Idaho", 16, 832, 838, 44.1, -114.7, "America/Boise", 1.9),
    ("IL", "Illinois", 17, 600, 629, 40.0, -89.2, "America/Chicago", 12.7),
    ("IN", "Indiana", 18, 460, 479, 39.9, -86.3, "America/Indiana/Indianapolis", 6.8),
    ("IA", "Iowa", 19, 500, 528, 42.0, -93.5, "America/Chicago", 3.2),
    ("KS", "Kansas", 20, 660, 679, 38.5, -98.4, "America/Chicago", 2.9),
    ("KY", "Kentucky", 21, 400, 427, 37.5, -85.3, "America/New_York", 4.5),
    ("LA", "Louisiana", 22, 700, 714, 31.1, -92.0, "America/Chicago", 4.6),
    ("ME", "Maine", 23, 39, 49, 45.4, -69.2, "America/New_York", 1.4),
    ("MD", "Maryland", 24, 206, 219, 39.0, -76.8, "America/New_York", 6.2),
    ("MA", "Massachusetts", 25, 10, 27, 42.3, -71.8, "America/New_York", 7.0),
    ("MI", "Michigan", 26, 480, 499, 44.3, -85.4, "America/Detroit", 10.0),
    ("MN", "Minnesota", 27, 550, 567, 46.3, -94.3, "America/Chicago", 5.7),
    ("MS", "Mississippi", 28, 386, 397, 32.7, -89.7, "America/Chicago", 2.9),
    ("MO", "Missouri", 29, 630, 658, 38.4, -92.5, "America/Chicago", 6.2),
    ("MT", "Montana", 30, 590, 599, 47.0, -109.6, "America/Denver", 1.1),
    ("NE", "Nebraska", 31, 680, 693, 41.5, -99.8, "America/Chicago", 2.0),
    ("NV", "Nevada", 32, 889, 898, 39.3, -116.6, "America/Los_Angeles", 3.1),
    ("NH", "New Hampshire", 33, 30, 38, 43.7, -71.6, "America/New_York", 1.4),
    ("NJ", "New Jersey", 34, 70, 89, 40.2, -74.7, "America/New_York", 9.3),
    ("NM", "New Mexico", 35, 870, 884, 34.4, -106.1, "America/Denver", 2.1),
    ("NY", "New York", 36, 100, 149, 42.9, -75.5, "America/New_York", 20.0),
    ("NC", "North Carolina", 37, 270, 289, 35.6, -79.4, "America/New_York", 10.5),
    ("ND", "North Dakota", 38, 580, 588, 47.5, -100.5, "America/Chicago", 0.8),
    ("OH", "Ohio", 39, 430, 458, 40.3, -82.8, "America/New_York", 11.8),
    ("OK", "Oklahoma", 40, 730, 749, 35.6, -97.5, "America/Chicago", 4.0),
    ("OR", "Oregon", 41, 970, 979, 43.9, -120.6, "America/Los_Angeles", 4.2),
    ("PA", "Pennsylvania", 42, 150, 196, 40.9, -77.8, "America/New_York", 13.0),
    ("RI", "Rhode Island", 44, 28, 29, 41.7, -71.5, "America/New_York", 1.1),
    ("SC", "South Carolina", 45, 290, 299, 33.9, -80.9, "America/New_York", 5.1),
    ("SD", "South Dakota", 46, 570, 577, 44.4, -100.2, "America/Chicago", 0.9),
    ("TN", "Tennessee", 47, 370, 385, 35.9, -86.4, "America/Chicago", 6.9),
    ("TX", "Texas", 48, 750, 799, 31.5, -99.3, "America/Chicago", 29.1),
    ("UT", "Utah", 49, 840, 847, 39.3, -111.7, "America/Denver", 3.3),
    ("VT", "Vermont", 50, 50, 59, 44.1, -72.7, "America/New_York", 0.6),
    ("VA", "Virginia", 51, 220, 246, 37.5, -78.9, "America/New_York", 8.6),
    ("WA", "Washington", 53, 980, 994, 47.4, -120.5, "America/Los_Angeles", 7.7),
    ("WV", "West Virginia", 54, 247, 268, 38.6, -80.6, "America/New_York", 1.8),
    ("WI", "Wisconsin", 55, 530, 549, 44.6, -89.9, "America/Chicago", 5.9),
    ("WY", "Wyoming", 56, 820, 831, 43.0, -107.6, "America/Denver", 0.6),
]
STATE_IDX = {s[0]: i for i, s in enumerate(STATES)}

# (city, city_ascii, state_id): taken first, so every state is present even
# with a small --cities; includes same-name cities in several states,
# apostrophes, hyphens, periods and non-ASCII names.
SPECIAL_CITIES = [
    ("New York", "New York", "NY"),
    ("Los Angeles", "Los Angeles", "CA"),
    ("Chicago", "Chicago", "IL"),
    ("Houston", "Houston", "TX"),
    ("Phoenix", "Phoenix", "AZ"),
    ("Philadelphia", "Philadelphia", "PA"),
    ("Springfield", "Springfield", "IL"),
    ("Springfield", "Springfield", "MA"),
    ("Springfield", "Springfield", "MO"),
    ("Springfield", "Springfield", "OH"),
    ("Springfield", "Springfield", "OR"),
    ("O'Fallon", "O'Fallon", "MO"),
    ("O'Fallon", "O'Fallon", "IL"),
    ("Coeur d'Alene", "Coeur d'Alene", "ID"),
    ("Lee's Summit", "Lee's Summit", "MO"),
    ("St. Louis", "St. Louis", "MO"),
    ("Winston-Salem", "Winston-Salem", "NC"),
    ("Cañon City", "Canon City", "CO"),
    ("Española", "Espanola", "NM"),
    ("Portland", "Portland", "OR"),
    ("Portland", "Portland", "ME"),
    ("Birmingham", "Birmingham", "AL"),
    ("Anchorage", "Anchorage", "AK"),
    ("Little Rock", "Little Rock", "AR"),
    ("Denver", "Denver", "CO"),
    ("Hartford", "Hartford", "CT"),
    ("Wilmington", "Wilmington", "DE"),
    ("Washington", "Washington", "DC"),
    ("Miami", "Miami", "FL"),
    ("Atlanta", "Atlanta", "GA"),
    ("Honolulu", "Honolulu", "HI"),
    ("Boise", "Boise", "ID"),
    ("Indianapolis", "Indianapolis", "IN"),
    ("Des Moines", "Des Moines", "IA"),
    ("Wichita", "Wichita", "KS"),
    ("Louisville", "Louisville", "KY"),
    ("New Orleans", "New Orleans", "LA"),
    ("Baltimore", "Baltimore", "MD"),
    ("Boston", "Boston", "MA"),
    ("Detroit", "Detroit", "MI"),
    ("Minneapolis", "Minneapolis", "MN"),
    ("Jackson", "Jackson", "MS"),
    ("Billings", "Billings", "MT"),
    ("Omaha", "Omaha", "NE"),
    ("Las Vegas", "Las Vegas", "NV"),
    ("Manchester", "Manchester", "NH"),
    ("Newark", "Newark", "NJ"),
    ("Albuquerque", "Albuquerque", "NM"),
    ("Charlotte", "Charlotte", "NC"),
    ("Fargo", "Fargo", "ND"),
    ("Columbus", "Columbus", "OH"),
    ("Oklahoma City", "Oklahoma City", "OK"),
    ("Providence", "Providence", "RI"),
    ("Charleston", "Charleston", "SC"),
    ("Charleston", "Charleston", "WV"),
    ("Sioux Falls", "Sioux Falls", "SD"),
    ("Nashville", "Nashville", "TN"),
    ("San Antonio", "San Antonio", "TX"),
    ("Salt Lake City", "Salt Lake City", "UT"),
    ("Burlington", "Burlington", "VT"),
    ("Virginia Beach", "Virginia Beach", "VA"),
    ("Seattle", "Seattle", "WA"),
    ("Milwaukee", "Milwaukee", "WI"),
    ("Cheyenne", "Cheyenne", "WY"),
    ("McAllen", "McAllen", "TX"),
    ("La Cañada Flintridge", "La Canada Flintridge", "CA"),
    ("Martha's Vineyard", "Martha's Vineyard", "MA"),
]

COMMON_CITY_NAMES = [
    "Springfield", "Franklin", "Greenville", "Clinton", "Madison", "Georgetown",
    "Salem", "Fairview", "Washington", "Chester", "Marion", "Jackson",
    "Riverside", "Oxford", "Bristol", "Ashland", "Burlington", "Manchester",
    "Milton", "Newport", "Auburn", "Dayton", "Lexington", "Clayton", "Hudson",
    "Kingston", "Arlington", "Columbia", "Jamestown", "Lebanon", "Mount Vernon",
    "Centerville", "Dover", "Troy", "Winchester", "Plymouth", "Portland",
    "Richmond", "Glendale", "Aurora", "Oak Grove", "Pleasant Hill", "Union City",
]
PREFIXES = ["", "", "", "", "North ", "South ", "East ", "West ", "New ", "Lake ",
            "Fort ", "Mount ", "Port ", "Glen "]
ROOTS = ["Oak", "Maple", "Cedar", "Pine", "River", "Spring", "Green", "Fair",
         "Clear", "Rock", "Elm", "Ash", "Willow", "Brook", "Stone", "Wood",
         "Hill", "Bay", "Sun", "Silver", "Red", "White", "Black", "Golden",
         "Harris", "Carter", "Mill", "Bridge", "Marsh", "Haw"]
SUFFIXES = ["ville", "ton", "field", "wood", " Falls", " Springs", " City",
            " Heights", " Park", "dale", "burg", "port", " Grove", " Valley",
            "view", " Creek", "ford", " Junction"]
COUNTIES = ["Washington", "Jefferson", "Franklin", "Lincoln", "Jackson",
            "Madison", "Montgomery", "Clay", "Marion", "Monroe", "Greene",
            "Union", "Wayne", "Warren", "Orange", "Kings", "Cook", "Harris",
            "Maricopa", "Los Angeles", "St. Clair", "Prince George's",
            "Miami-Dade", "Doña Ana", "DeKalb", "Lake", "Polk", "Hamilton"]

LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller",
    "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez",
    "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter",
    "Roberts", "Patel", "Shah", "Kim", "Chen", "Wang", "O'Brien", "O'Neil",
    "D'Angelo", "Smith-Jones", "De La Cruz", "Van Der Berg", "McDonald",
    "MacArthur", "Muñoz", "Iyer", "Kowalski", "Schmidt", "Cohen", "Murphy",
    "Sullivan", "Okafor", "Haddad", "Nakamura", "Russo", "Bianchi", "Dubois",
]
FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael",
    "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan",
    "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Christopher",
    "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra", "Mark",
    "Ashley", "Priya", "Raj", "Wei", "Mei", "Ahmed", "Fatima", "Carlos",
    "Maria", "José", "Ana", "Olga", "Ivan", "Chen", "Yuki", "Kwame", "Amara",
    "Mary Ann", "Jo-Ann",
]
# organisation prescribers: last_org_name set, first name empty
ORG_NAMES = [
    "Mercy Clinic, LLC", "Community Health Center", "Walgreens Pharmacy #1042",
    "Valley Medical Group, P.C.", "St. Mary's Hospital",
]
SPECIALTIES = [
    ("Nurse Practitioner", 14), ("Family Practice", 14), ("Internal Medicine", 13),
    ("Physician Assistant", 10), ("Dentist", 7), ("Cardiology", 3),
    ("Psychiatry", 3), ("Emergency Medicine", 3), ("Obstetrics & Gynecology", 2),
    ("Orthopedic Surgery", 2), ("Ophthalmology", 2), ("Neurology", 1.5),
    ("Gastroenterology", 1.2), ("Pulmonary Disease", 1.2), ("Nephrology", 1),
    ("Endocrinology", 1), ("Dermatology", 1.5), ("Urology", 1),
    ("Optometry", 2), ("Podiatry", 1), ("Hematology-Oncology", 1),
    ("General Surgery", 1), ("Psychiatry & Neurology", 0.5),
    ("Student in an Organized Health Care Education/Training Program", 0.5),
    ("Pediatric Medicine", 1.5), ("Rheumatology", 0.5), ("Infectious Disease", 0.5),
    ("Geriatric Medicine", 0.5), ("Pharmacist", 0.3), ("Certified Clinical Nurse Specialist", 0.3),
]
# (drug_name, generic_name, popularity, $ per day of supply)
DRUGS = [
    ("ATORVASTATIN CALCIUM", "ATORVASTATIN CALCIUM", 30, 0.15),
    ("LISINOPRIL", "LISINOPRIL", 28, 0.08),
    ("AMLODIPINE BESYLATE", "AMLODIPINE BESYLATE", 27, 0.09),
    ("LEVOTHYROXINE SODIUM", "LEVOTHYROXINE SODIUM", 24, 0.25),
    ("METFORMIN HCL", "METFORMIN HCL", 24, 0.12),
    ("OMEPRAZOLE", "OMEPRAZOLE", 22, 0.2),
    ("SIMVASTATIN", "SIMVASTATIN", 18, 0.1),
    ("LOSARTAN POTASSIUM", "LOSARTAN POTASSIUM", 20, 0.14),
    ("METOPROLOL SUCCINATE", "METOPROLOL SUCCINATE", 18, 0.3),
    ("METOPROLOL TARTRATE", "METOPROLOL TARTRATE", 16, 0.08),
    ("GABAPENTIN", "GABAPENTIN", 18, 0.35),
    ("HYDROCHLOROTHIAZIDE", "HYDROCHLOROTHIAZIDE", 15, 0.06),
    ("FUROSEMIDE", "FUROSEMIDE", 15, 0.07),
    ("SERTRALINE HCL", "SERTRALINE HCL", 14, 0.12),
    ("TAMSULOSIN HCL", "TAMSULOSIN HCL", 14, 0.2),
    ("PRAVASTATIN SODIUM", "PRAVASTATIN SODIUM", 10, 0.15),
    ("ROSUVASTATIN CALCIUM", "ROSUVASTATIN CALCIUM", 12, 0.2),
    ("CARVEDILOL", "CARVEDILOL", 11, 0.1),
    ("PANTOPRAZOLE SODIUM", "PANTOPRAZOLE SODIUM", 12, 0.18),
    ("ELIQUIS", "APIXABAN", 14, 16.5),
    ("XARELTO", "RIVAROXABAN", 8, 16.8),
    ("JANUVIA", "SITAGLIPTIN PHOSPHATE", 7, 16.0),
    ("JARDIANCE", "EMPAGLIFLOZIN", 7, 17.5),
    ("TRULICITY", "DULAGLUTIDE", 6, 27.0),
    ("OZEMPIC", "SEMAGLUTIDE", 6, 28.0),
    ("LANTUS SOLOSTAR", "INSULIN GLARGINE,HUM.REC.ANLOG", 6, 12.0),
    ("HUMALOG", "INSULIN LISPRO", 4, 14.0),
    ("AMOXICILLIN", "AMOXICILLIN", 12, 0.5),
    ("AMOXICILLIN, CLAVULANATE", "AMOXICILLIN/POTASSIUM CLAVULANATE", 9, 1.8),
    ("AMOX TR-K CLV", "AMOXICILLIN/POTASSIUM CLAV", 5, 1.9),
    ("AZITHROMYCIN", "AZITHROMYCIN", 9, 1.2),
    ("CEPHALEXIN", "CEPHALEXIN", 9, 0.6),
    ("CIPROFLOXACIN HCL", "CIPROFLOXACIN HCL", 6, 0.7),
    ("DOXYCYCLINE HYCLATE", "DOXYCYCLINE HYCLATE", 6, 1.0),
    ("SULFAMETHOXAZOLE-TRIMETHOPRIM", "SULFAMETHOXAZOLE/TRIMETHOPRIM", 7, 0.4),
    ("HYDROCODONE-ACETAMINOPHEN", "HYDROCODONE/ACETAMINOPHEN", 9, 0.6),
    ("OXYCODONE-ACETAMINOPHEN", "OXYCODONE HCL/ACETAMINOPHEN", 6, 0.9),
    ("TRAMADOL HCL", "TRAMADOL HCL", 8, 0.3),
    ("IBUPROFEN", "IBUPROFEN", 6, 0.2),
    ("MELOXICAM", "MELOXICAM", 9, 0.08),
    ("PREDNISONE", "PREDNISONE", 9, 0.15),
    ("METHYLPREDNISOLONE", "METHYLPREDNISOLONE", 5, 0.9),
    ("ALBUTEROL SULFATE HFA", "ALBUTEROL SULFATE", 9, 2.1),
    ("FLUTICASONE-SALMETEROL", "FLUTICASONE PROPIONATE, SALMETEROL", 5, 5.5),
    ("ADVAIR DISKUS", "FLUTICASONE PROPIONATE/SALMETEROL", 4, 13.0),
    ("SYMBICORT", "BUDESONIDE/FORMOTEROL FUMARATE", 5, 12.5),
    ("MONTELUKAST SODIUM", "MONTELUKAST SODIUM", 8, 0.2),
    ("LOSARTAN-HYDROCHLOROTHIAZIDE", "LOSARTAN POTASSIUM, HYDROCHLOROTHIAZIDE", 7, 0.25),
    ("LISINOPRIL-HYDROCHLOROTHIAZIDE", "LISINOPRIL, HYDROCHLOROTHIAZIDE", 7, 0.15),
    ("TRIAMTERENE-HCTZ", "TRIAMTERENE, HYDROCHLOROTHIAZID", 5, 0.2),
    ("CLOPIDOGREL", "CLOPIDOGREL BISULFATE", 10, 0.15),
    ("WARFARIN SODIUM", "WARFARIN SODIUM", 6, 0.3),
    ("DONEPEZIL HCL", "DONEPEZIL HCL", 6, 0.15),
    ("MEMANTINE HCL", "MEMANTINE HCL", 4, 0.6),
    ("ESCITALOPRAM OXALATE", "ESCITALOPRAM OXALATE", 9, 0.12),
    ("CITALOPRAM HBR", "CITALOPRAM HYDROBROMIDE", 7, 0.08),
    ("TRAZODONE HCL", "TRAZODONE HCL", 10, 0.12),
    ("BUPROPION XL", "BUPROPION HCL", 7, 0.5),
    ("DULOXETINE HCL", "DULOXETINE HCL", 7, 0.4),
    ("QUETIAPINE FUMARATE", "QUETIAPINE FUMARATE", 6, 0.3),
    ("ARIPIPRAZOLE", "ARIPIPRAZOLE", 4, 0.5),
    ("ALPRAZOLAM", "ALPRAZOLAM", 7, 0.1),
    ("LORAZEPAM", "LORAZEPAM", 6, 0.15),
    ("ZOLPIDEM TARTRATE", "ZOLPIDEM TARTRATE", 5, 0.12),
    ("ALLOPURINOL", "ALLOPURINOL", 7, 0.1),
    ("POTASSIUM CHLORIDE", "POTASSIUM CHLORIDE", 9, 0.5),
    ('KLOR-CON M20 "EXTENDED RELEASE"', "POTASSIUM CHLORIDE", 2, 0.6),
    ("SODIUM CHLORIDE 0.9%, IV", "SODIUM CHLORIDE", 1, 0.9),
    ("VITAMIN D2", "ERGOCALCIFEROL (VITAMIN D2)", 6, 0.2),
    ("FOLIC ACID", "FOLIC ACID", 4, 0.05),
    ("FINASTERIDE", "FINASTERIDE", 5, 0.12),
    ("LATANOPROST", "LATANOPROST", 6, 0.6),
    ("TIMOLOL MALEATE", "TIMOLOL MALEATE", 3, 0.5),
    ("DORZOLAMIDE-TIMOLOL", "DORZOLAMIDE HCL, TIMOLOL MALEATE", 3, 1.2),
    ("CHLORHEXIDINE GLUCONATE", "CHLORHEXIDINE GLUCONATE", 5, 0.4),
    ("PENICILLIN VK", "PENICILLIN V POTASSIUM", 6, 0.5),
    ("SPIRONOLACTONE", "SPIRONOLACTONE", 7, 0.12),
    ("DILTIAZEM 24HR CD", "DILTIAZEM HCL", 5, 0.8),
    ("ENTRESTO", "SACUBITRIL/VALSARTAN", 3, 19.0),
    ("HUMIRA(CF) PEN", "ADALIMUMAB", 1, 210.0),
    ("REVLIMID", "LENALIDOMIDE", 0.5, 800.0),
    ("INSULIN ASPART, NIACINAMIDE", "INSULIN ASPART (NIACINAMIDE)", 1, 15.0),
    ("GLIPIZIDE", "GLIPIZIDE", 8, 0.1),
    ("PIOGLITAZONE HCL", "PIOGLITAZONE HCL", 4, 0.12),
    ("ONDANSETRON ODT", "ONDANSETRON", 5, 0.6),
    ("CYCLOBENZAPRINE HCL", "CYCLOBENZAPRINE HCL", 6, 0.15),
    ("BACLOFEN", "BACLOFEN", 4, 0.3),
]

CHUNK_ROWS = 250_000


# --------------------------------------------------------------------------
# City dimension
# --------------------------------------------------------------------------


def gen_cities(n: int, rng: np.random.Generator) -> pa.Table:
    seen: set[tuple[str, str]] = set()
    names: list[tuple[str, str, str]] = []
    for c, a, st in SPECIAL_CITIES:
        if len(names) >= n:
            break
        if (c, st) not in seen:
            seen.add((c, st))
            names.append((c, a, st))
    weights = np.array([s[8] for s in STATES])
    weights = weights / weights.sum()
    tries = 0
    while len(names) < n:
        tries += 1
        if tries > 200 * n + 100000:
            raise SystemExit(f"cannot make {n} distinct (city, state) pairs")
        st = STATES[int(rng.choice(len(STATES), p=weights))][0]
        if rng.random() < 0.3:
            c = COMMON_CITY_NAMES[int(rng.integers(len(COMMON_CITY_NAMES)))]
        else:
            c = (
                PREFIXES[int(rng.integers(len(PREFIXES)))]
                + ROOTS[int(rng.integers(len(ROOTS)))]
                + SUFFIXES[int(rng.integers(len(SUFFIXES)))]
            )
        if (c, st) in seen:
            continue
        seen.add((c, st))
        names.append((c, c, st))

    n = len(names)
    n_special = min(n, len(SPECIAL_CITIES))
    sidx = np.array([STATE_IDX[st] for _, _, st in names])
    is_special = np.arange(n) < n_special
    population = np.where(
        is_special,
        rng.lognormal(12.8, 0.9, n),
        rng.lognormal(8.3, 1.6, n),
    )
    population = np.maximum(population, 25).astype(np.int64)
    area = rng.lognormal(2.0, 1.0, n) + 0.5  # km^2
    density = np.round(population / area, 1)
    lat = np.round(np.array([STATES[i][5] for i in sidx]) + rng.normal(0, 1.2, n), 4)
    lng = np.round(np.array([STATES[i][6] for i in sidx]) + rng.normal(0, 1.8, n), 4)
    county_k = rng.integers(0, len(COUNTIES), n)
    county_name = [COUNTIES[k] for k in county_k]
    county_fips = np.array([STATES[i][2] for i in sidx], dtype=np.int64) * 1000 + 2 * county_k + 1
    source = np.where(rng.random(n) < 0.85, "shape", "polygon")
    military = rng.random(n) < 0.01
    incorporated = rng.random(n) < 0.85
    ranking = np.where(
        population >= 1_000_000,
        1,
        np.where(population >= 100_000, 2, np.where(population >= 10_000, 3, rng.integers(4, 6, n))),
    ).astype(np.int64)

    # zip codes: unique per city, drawn from the state's real 3-digit prefix range
    nzips = np.clip(1 + population // 30_000 + rng.poisson(0.7, n), 1, 80)
    used: dict[int, set[int]] = {}
    zips = []
    for i in range(n):
        s = STATES[sidx[i]]
        lo, hi = s[3] * 100, s[4] * 100 + 99
        u = used.setdefault(sidx[i], set())
        got: list[int] = []
        attempts = 0
        while len(got) < nzips[i] and attempts < 1000:
            attempts += 1
            z = int(rng.integers(lo, hi + 1))
            if z in u and attempts < 900:
                continue
            u.add(z)
            got.append(z)
        zips.append(" ".join(f"{z:05d}" for z in sorted(set(got))))

    ids = 1_840_000_000 + rng.choice(10_000_000, size=n, replace=False).astype(np.int64)

    return pa.table(
        {
            "city": pa.array([c for c, _, _ in names], pa.string()),
            "city_ascii": pa.array([a for _, a, _ in names], pa.string()),
            "state_id": pa.array([STATES[i][0] for i in sidx], pa.string()),
            "state_name": pa.array([STATES[i][1] for i in sidx], pa.string()),
            "county_fips": pa.array(county_fips, pa.int64()),
            "county_name": pa.array(county_name, pa.string()),
            "lat": pa.array(lat, pa.float64()),
            "lng": pa.array(lng, pa.float64()),
            "population": pa.array(population, pa.int64()),
            "density": pa.array(density, pa.float64()),
            "source": pa.array(source.tolist(), pa.string()),
            "military": pa.array(military, pa.bool_()),
            "incorporated": pa.array(incorporated, pa.bool_()),
            "timezone": pa.array([STATES[i][7] for i in sidx], pa.string()),
            "ranking": pa.array(ranking, pa.int64()),
            "zips": pa.array(zips, pa.string()),
            "id": pa.array(ids, pa.int64()),
        }
    ).select(CITY_COLUMNS)


# --------------------------------------------------------------------------
# Prescriber fact
# --------------------------------------------------------------------------


def npi_check_digit(base9: np.ndarray) -> np.ndarray:
    """Luhn check digit of an NPI (ISO 7812 prefix 80840 + 9-digit base)."""
    total = np.full(base9.shape, 24, dtype=np.int64)  # the 80840 prefix contributes 24
    x = base9.copy()
    for pos in range(9):  # pos 0 = rightmost digit of the base: doubled
        d = x % 10
        x //= 10
        if pos % 2 == 0:
            d = d * 2
            d = d // 10 + d % 10
        total += d
    return (10 - total % 10) % 10


def quote_needed(arr: pa.Array) -> pa.Array:
    """RFC 4180: quote a field only if it holds a comma, quote or newline."""
    need = pc.match_substring_regex(arr, r'[",\r\n]')
    quoted = pc.binary_join_element_wise(
        "\"", pc.replace_substring(arr, '"', '""'), "\"", ""
    )
    return pc.if_else(need, quoted, arr)


def int_str(values: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    a = pa.array(values, pa.int64(), mask=null_mask)
    return pc.cast(a, pa.string())


def money_str(cents: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    dollars = int_str(cents // 100, null_mask)
    frac = pc.utf8_lpad(int_str(cents % 100, null_mask), width=2, padding="0")
    return pc.binary_join_element_wise(dollars, frac, ".")


class Prescribers:
    """Per-prescriber attributes, drawn once for the whole file."""

    def __init__(self, rows: int, cities: pa.Table, rng: np.random.Generator):
        counts = []
        total = 0
        while total < rows:
            c = np.minimum(rng.geometric(1 / 8, size=max(1024, rows // 6)), len(DRUGS))
            counts.append(c)
            total += int(c.sum())
        counts = np.concatenate(counts)
        cum = np.cumsum(counts)
        p = int(np.searchsorted(cum, rows) + 1)
        counts = counts[:p].copy()
        counts[-1] -= int(cum[p - 1] - rows)
        self.n = p
        self.counts = counts.astype(np.int64)
        self.row_start = np.concatenate([[0], np.cumsum(self.counts)])

        i = np.arange(p, dtype=np.int64)
        base = 100_000_000 + (i * 7_654_321 + 13_579_113) % 200_000_000
        check = npi_check_digit(base)
        invalid = rng.random(p) < 0.005
        check = np.where(invalid, (check + rng.integers(1, 10, p)) % 10, check)
        self.npi = base * 10 + check

        is_org = rng.random(p) < 0.01
        self.last = np.where(is_org, len(LAST_NAMES) + rng.integers(0, len(ORG_NAMES), p),
                             rng.integers(0, len(LAST_NAMES), p))
        self.first = np.where(is_org, -1, rng.integers(0, len(FIRST_NAMES), p))

        # location: ~96% a dimension city (upper-cased), else a city not in it
        ncity = cities.num_rows
        pop = cities["population"].to_numpy().astype(np.float64)
        w = pop ** 0.5
        w /= w.sum()
        city_idx = rng.choice(ncity, size=p, p=w)
        dim_city = [c.upper() for c in cities["city"].to_pylist()]
        dim_state = cities["state_id"].to_pylist()
        dim_pairs = set(zip(dim_city, dim_state))
        outsiders: list[tuple[str, str]] = []
        cand = [("ST LOUIS", "MO"), ("MT PLEASANT", "SC"), ("FT WORTH", "TX"),
                ("SPRINGFIELD", "TX"), ("PORTLAND", "CA"), ("NEW YORK CITY", "NY")]
        orng = np.random.default_rng(12345)
        for k in range(200):
            st = STATES[int(orng.integers(len(STATES)))][0]
            nm = (ROOTS[int(orng.integers(len(ROOTS)))] + SUFFIXES[int(orng.integers(len(SUFFIXES)))]).upper()
            cand.append((nm + " TOWNSHIP", st))
            cand.append((COMMON_CITY_NAMES[int(orng.integers(len(COMMON_CITY_NAMES)))].upper(), st))
        for c in cand:
            if c not in dim_pairs and c not in outsiders:
                outsiders.append(c)
        self.city_pool = dim_city + [c for c, _ in outsiders]
        self.state_pool = dim_state + [s for _, s in outsiders]
        outside = rng.random(p) < 0.035
        self.loc = np.where(outside, ncity + rng.integers(0, len(outsiders), p), city_idx)

        sw = np.array([s[1] for s in SPECIALTIES], dtype=np.float64)
        self.spec = rng.choice(len(SPECIALTIES), size=p, p=sw / sw.sum())
        self.flag_t = rng.random(p) < 0.1
        self.years = rng.integers(1, 61, p)
        # years_of_exp text formats: "= 23.0" mostly, a few "=23.0", "23 yrs", "23.0", empty
        self.yfmt = rng.choice(5, size=p, p=[0.85, 0.06, 0.03, 0.03, 0.03])
        self.scale = rng.choice([0.6, 1.0, 1.0, 1.4], size=p)


YEARS_FORMATS = ["= {}.0", "={}.0", "{} yrs", "{}.0", None]


def fact_chunk(pr: Prescribers, p0: int, p1: int, seed: int, chunk_no: int, pools) -> bytes:
    rng = np.random.default_rng([seed, 7, chunk_no])
    counts = pr.counts[p0:p1]
    n = int(counts.sum())
    pid = np.repeat(np.arange(p0, p1), counts)

    # distinct drugs per prescriber: Gumbel top-k over popularity weights
    pop = np.log(np.array([d[2] for d in DRUGS], dtype=np.float64))
    keys = pop[None, :] + rng.gumbel(size=(p1 - p0, len(DRUGS)))
    order = np.argsort(-keys, axis=1)
    take = np.arange(len(DRUGS))[None, :] < counts[:, None]
    drug = order[take]
    price = np.array([d[3] for d in DRUGS])[drug]

    trx = 11 + np.floor(rng.exponential(68.0, n) * pr.scale[pid]).astype(np.int64)
    trx = np.minimum(trx, 250)
    bene_raw = np.round(trx * rng.uniform(0.15, 0.9, n)).astype(np.int64)
    bene_null = bene_raw < 11
    fills = np.round(trx * rng.uniform(1.0, 1.6, n)).astype(np.int64)
    supply = fills * rng.choice([30, 30, 30, 28, 60, 90], size=n) + rng.integers(0, 15, n)
    cost = np.round(supply * price * rng.uniform(0.8, 1.25, n) * 100).astype(np.int64)

    # 65+ share: '*' = 1..10 suppressed, '#' = suppressed to protect a '*' cell
    f65 = rng.uniform(0.45, 1.0, n)
    bene65 = np.round(np.maximum(bene_raw, 11) * f65).astype(np.int64)
    b65_star = bene65 < 11
    b65_hash = ~b65_star & (rng.random(n) < 0.05)
    claim65 = np.round(trx * f65).astype(np.int64)
    c65_star = claim65 < 11
    c65_hash = ~c65_star & (rng.random(n) < 0.04)
    c65_null = c65_star | c65_hash
    fills65 = np.round(fills * f65).astype(np.int64)
    supply65 = np.round(supply * f65).astype(np.int64)
    cost65 = np.round(cost * f65).astype(np.int64)

    # messiness
    npi_null = rng.random(n) < 0.01
    drug_null = rng.random(n) < 0.01
    trx_null = rng.random(n) < 0.02

    (last_pool, first_pool, city_pool, state_pool, spec_pool, drug_pool,
     generic_pool, years_pool, flag_pool) = pools

    year_idx = pr.years[pid] * len(YEARS_FORMATS) + pr.yfmt[pid]
    first = pr.first[pid]
    first_arr = pa.array(first, mask=first < 0)

    cols = [
        int_str(pr.npi[pid], npi_null),
        quote_needed(last_pool.take(pa.array(pr.last[pid]))),
        quote_needed(first_pool.take(first_arr)),
        quote_needed(city_pool.take(pa.array(pr.loc[pid]))),
        state_pool.take(pa.array(pr.loc[pid])),
        quote_needed(spec_pool.take(pa.array(pr.spec[pid]))),
        flag_pool.take(pa.array(pr.flag_t[pid].astype(np.int64))),
        quote_needed(drug_pool.take(pa.array(drug, mask=drug_null))),
        quote_needed(generic_pool.take(pa.array(drug))),
        int_str(bene_raw, bene_null),
        int_str(trx, trx_null),
        int_str(fills),
        int_str(supply),
        money_str(cost),
        int_str(bene65, b65_star | b65_hash),
        pa.array(np.where(b65_star, "*", np.where(b65_hash, "#", "")), pa.string(),
                 mask=~(b65_star | b65_hash)),
        int_str(claim65, c65_null),
        pa.array(np.where(c65_star, "*", np.where(c65_hash, "#", "")), pa.string(),
                 mask=~c65_null),
        int_str(fills65, c65_null),
        int_str(supply65, c65_null),
        money_str(cost65, c65_null),
        years_pool.take(pa.array(year_idx)),
    ]
    line = pc.binary_join_element_wise(*cols, ",", null_handling="replace", null_replacement="")
    line = pc.binary_join_element_wise(line, "", "\n")
    if isinstance(line, pa.ChunkedArray):
        line = line.combine_chunks()
    offs = np.frombuffer(line.buffers()[1], dtype=np.int32)[line.offset: line.offset + len(line) + 1]
    data = line.buffers()[2]
    return memoryview(data)[offs[0]: offs[-1]].tobytes()


def write_fact(path: Path, rows: int, cities: pa.Table, seed: int) -> Prescribers:
    rng = np.random.default_rng([seed, 2])
    pr = Prescribers(rows, cities, rng)
    years_txt = [None] * (61 * len(YEARS_FORMATS))
    for y in range(61):
        for k, f in enumerate(YEARS_FORMATS):
            years_txt[y * len(YEARS_FORMATS) + k] = None if f is None else f.format(y)
    pools = (
        pa.array(LAST_NAMES + ORG_NAMES, pa.string()),
        pa.array(FIRST_NAMES, pa.string()),
        pa.array(pr.city_pool, pa.string()),
        pa.array(pr.state_pool, pa.string()),
        pa.array([s[0] for s in SPECIALTIES], pa.string()),
        pa.array([d[0] for d in DRUGS], pa.string()),
        pa.array([d[1] for d in DRUGS], pa.string()),
        pa.array(years_txt, pa.string()),
        pa.array(["S", "T"], pa.string()),
    )
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write((",".join(FACT_COLUMNS) + "\n").encode())
        p0 = 0
        chunk_no = 0
        while p0 < pr.n:
            # prescriber range holding about CHUNK_ROWS rows
            p1 = int(np.searchsorted(pr.row_start, pr.row_start[p0] + CHUNK_ROWS, side="right"))
            p1 = max(p0 + 1, min(p1, pr.n))
            f.write(fact_chunk(pr, p0, p1, seed, chunk_no, pools))
            p0 = p1
            chunk_no += 1
    os.replace(tmp, path)
    return pr


# --------------------------------------------------------------------------
# Reference outputs (DuckDB) and summary
# --------------------------------------------------------------------------

CLEAN_SQL = """
create or replace temp view city_clean as
select upper(city) as city, state_id, upper(state_name) as state_name,
       upper(county_name) as county_name, population, zips
from read_parquet('{dim}');

create or replace temp view fact_raw as
select * from read_csv('{fact}', header=true, delim=',', quote='"', escape='"',
                       all_varchar=true);

create or replace temp view fact_sel as
select cast(npi as bigint) as presc_id,
       nppes_provider_last_org_name as presc_lname,
       nppes_provider_first_name as presc_fname,
       nppes_provider_city as presc_city,
       nppes_provider_state as presc_state,
       specialty_description as presc_spclt,
       cast(regexp_extract(years_of_exp, '\\d+') as integer) as years_of_exp,
       drug_name,
       cast(total_claim_count as bigint) as trx_cnt,
       cast(total_day_supply as bigint) as total_day_supply,
       cast(total_drug_cost as double) as total_drug_cost,
       'USA' as country_name,
       concat_ws(' ', presc_fname, presc_lname) as presc_fullname
from fact_raw;

create or replace temp view fact_clean as
select presc_id, presc_fullname, presc_city, presc_state, presc_spclt,
       years_of_exp, drug_name,
       cast(coalesce(trx_cnt, round(avg(trx_cnt) over (partition by presc_id))) as bigint) as trx_cnt,
       total_day_supply, total_drug_cost, country_name
from fact_sel
where presc_id is not null and drug_name is not null;
"""

CITY_REPORT_SQL = """
select c.city, c.state_name, c.county_name, c.population,
       len(string_split(trim(c.zips), ' ')) as zip_counts,
       f.trx_counts, f.presc_counts
from (select presc_state, presc_city, count(distinct presc_id) as presc_counts,
             sum(trx_cnt) as trx_counts
      from fact_clean group by presc_state, presc_city) f
join city_clean c on c.state_id = f.presc_state and c.city = f.presc_city
order by c.state_name, c.city
"""

TOP_SQL = """
select presc_id, presc_fullname, presc_state, country_name, years_of_exp,
       trx_cnt, total_day_supply, total_drug_cost
from (select *, dense_rank() over (partition by presc_state order by trx_cnt desc) as r
      from fact_clean where years_of_exp between 20 and 50)
where r <= 5
order by presc_state, trx_cnt desc, presc_id, total_day_supply, total_drug_cost
"""


def reference_outputs(out: Path, dim: Path, fact: Path) -> None:
    import duckdb

    con = duckdb.connect(config={"threads": 1})
    con.execute("set enable_progress_bar = false")
    con.execute(CLEAN_SQL.format(dim=dim, fact=fact))
    con.execute(
        f"copy ({CITY_REPORT_SQL}) to '{out / 'city_report.expected.csv'}' (header, delimiter ',')"
    )
    con.execute(
        f"copy ({TOP_SQL}) to '{out / 'top_prescribers.expected.csv'}' (header, delimiter ',')"
    )


def summary(dim: Path, fact: Path) -> None:
    import duckdb

    con = duckdb.connect(config={"threads": 1})
    con.execute("set enable_progress_bar = false")
    con.execute(CLEAN_SQL.format(dim=dim, fact=fact))
    q = lambda s: con.execute(s).fetchall()
    print("dimension:", q(f"select count(*), count(distinct (city, state_id)), count(distinct state_id) from read_parquet('{dim}')")[0],
          "(rows, distinct city/state, states)")
    print("dimension schema:", [(r[0], r[1]) for r in q(f"describe select * from read_parquet('{dim}')")])
    r = q("""select count(*), count(*) filter (where npi is null), count(*) filter (where drug_name is null),
                    count(*) filter (where total_claim_count is null),
                    count(*) filter (where bene_count_ge65_suppress_flag is not null),
                    count(*) filter (where ge65_suppress_flag is not null),
                    count(*) filter (where drug_name like '%,%' or generic_name like '%,%'),
                    count(distinct npi), count(*) filter (where years_of_exp is null)
             from fact_raw""")[0]
    print(f"fact rows={r[0]} null npi={r[1]} null drug_name={r[2]} null total_claim_count={r[3]} "
          f"ge65 bene flagged={r[4]} ge65 flagged={r[5]} comma drugs={r[6]} prescribers={r[7]} null years={r[8]}")
    r = q("""select count(distinct (presc_state, presc_city)) filter (where (presc_state, presc_city) not in
                   (select (state_id, city) from city_clean)),
                    count(distinct (presc_state, presc_city))
             from fact_clean""")[0]
    print(f"fact (state, city) pairs not in dimension: {r[0]} of {r[1]}")
    r = q(f"""select count(*) from ({TOP_SQL}) """)[0][0]
    t = q("""select count(*) from (select presc_state, trx_cnt, count(*) c from
             (select *, dense_rank() over (partition by presc_state order by trx_cnt desc) r
              from fact_clean where years_of_exp between 20 and 50) where r <= 5
             group by all having c > 1)""")[0][0]
    print(f"top prescribers rows={r}; (state, trx_cnt) groups with ties in top 5 ranks={t}")
    print("city report rows:", q(f"select count(*) from ({CITY_REPORT_SQL})")[0][0])
    npis = np.array([int(r[0]) for r in q("select distinct npi from fact_raw where npi is not null")], dtype=np.int64)
    bad_luhn = int((npi_check_digit(npis // 10) != npis % 10).sum())
    print("prescribers with an invalid NPI check digit:", bad_luhn)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000, help="fact rows (default 100000)")
    ap.add_argument("--cities", type=int, default=2000, help="dimension rows (default 2000)")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--expected", action="store_true",
                    help="also write DuckDB reference outputs of the transform step")
    ap.add_argument("--summary", action="store_true", help="print a DuckDB read-back summary")
    args = ap.parse_args()
    if args.rows < 1 or args.cities < 1:
        ap.error("--rows and --cities must be positive")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    cities = gen_cities(args.cities, np.random.default_rng([args.seed, 1]))
    dim = out / "us_cities_dimension.parquet"
    pq.write_table(cities, dim, compression="snappy")
    fact = out / "USA_Presc_Medicare_Data_2021.csv"
    pr = write_fact(fact, args.rows, cities, args.seed)
    print(f"wrote {dim} ({cities.num_rows} cities) and {fact} ({args.rows} rows, "
          f"{pr.n} prescribers, {fact.stat().st_size} bytes) in {time.time() - t0:.1f}s")
    if args.expected:
        reference_outputs(out, dim, fact)
    if args.summary:
        summary(dim, fact)
    return 0


if __name__ == "__main__":
    sys.exit(main())
