"""The HEMOBP table layout (Lin CJ, Chen YY, Pan CF, Wu VC, Wu CJ. Dataset supporting blood pressure
prediction for the management of chronic hemodialysis. Sci Data 2019;6:313; figshare
doi:10.6084/m9.figshare.6260654 v3, CC BY 4.0): three CSV files, joined by patient (``pid``) and
treatment day.

* ``idp.csv`` — one row per patient: ``pid``, ``gender`` (F/M), ``birthday`` (birth year),
  ``first_dialysis`` (year-month of the first dialysis), ``DM`` (diabetes, 0/1).
* ``d1.csv`` — one row per treatment day: ``pid``, ``keyindate`` (date of the session),
  ``dialysisstart``, ``dialysisend`` (clock times), ``weightstart``, ``weightend``, ``dryweight`` (kg),
  ``temperature`` (body temperature, °C).
* ``vip.csv`` — one row per intradialytic monitor record: ``pid``, ``datatime`` (time stamp of the
  record), ``measuretime`` (an index the data descriptor does not define further), ``sbp``, ``dbp``
  (mmHg), ``dia_temp_value`` (dialysate temperature, °C), ``conductivity`` (dialysate conductivity, mS/cm),
  ``uf`` (UF rate, L/h), ``blood_flow`` (mL/min), ``time`` (minutes from the start of the session).

A session is a patient's treatment day: ``d1.keyindate`` and the date of ``vip.datatime`` name the same
day. The monitor columns map to trace signals as :data:`crampwatch.io.hemobp.HEMOBP_COLUMNS` says.
Readers accept the text forms seen in copies of the data (quoted or plain identifiers, dates with or
without a time, ``NA`` or empty for a missing value).
"""

from __future__ import annotations

PATIENTS_FILE = "idp.csv"
SESSIONS_FILE = "d1.csv"
MONITOR_FILE = "vip.csv"
FILES = (PATIENTS_FILE, SESSIONS_FILE, MONITOR_FILE)

PATIENT_COLUMNS = ("pid", "gender", "birthday", "first_dialysis", "DM")
SESSION_COLUMNS = (
    "pid",
    "keyindate",
    "dialysisstart",
    "dialysisend",
    "weightstart",
    "weightend",
    "dryweight",
    "temperature",
)
MONITOR_COLUMNS = (
    "pid",
    "datatime",
    "measuretime",
    "sbp",
    "dbp",
    "dia_temp_value",
    "conductivity",
    "uf",
    "blood_flow",
    "time",
)

#: Text read as a missing value.
NA_VALUES = ("", "NA", "N/A", "NaN", "nan", "NULL", "null", "None", "-", "?")

#: Size of the published data set (Lin et al. 2019): patients, treatment days, monitor records.
PUBLISHED_SIZE = {"patients": 1_072, "sessions": 165_849, "records": 4_370_000}
