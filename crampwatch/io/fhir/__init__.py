"""FHIR R4 import and export of a dialysis session (Patient, Procedure, Observations, QuestionnaireResponse).

Modules: ``codes`` (systems, codes, quantity tables), ``common`` (shared helpers), ``patient``,
``observations`` (writer and reader), ``questionnaire`` (cramp reports), ``bundle`` (whole sessions).

Resources are written as FHIR **R4B (4.3.0)** JSON and validated with the ``fhir.resources.R4B`` models
(``fhir.resources`` 8 defaults to R5; R4B has the same JSON for every element used here, so R4 servers
accept the output). Every function here is a pure conversion: no database, no network.

Mapping (codes in :mod:`crampwatch.io.fhir.codes`; the trace signals' LOINC codes, UCUM units and ranges in
the signal registry :mod:`crampwatch.signals`, where ``verified=False`` marks codes taken from LOINC-based
value sets rather than checked on loinc.org):

* ``Patient``: ``gender``; identifier ``{BASE_URL}/patient-id`` holds ``Patient.id``. Clinical attributes
  that FHIR's Patient has no element for (age, height, dry weight, vintage, diabetes, neuropathy, ...) go in
  one complex extension :data:`PATIENT_EXTENSION_URL` whose sub-extensions are named after the
  :class:`crampwatch.model.Patient` fields. On import, ``birthDate`` (age at the session date) and a body
  height Observation (LOINC 8302-2) are used when the extension lacks them.
* ``Procedure``: SNOMED 302497006 Haemodialysis, ``performedPeriod`` = session start/end. FHIR R4 has no
  element (and LOINC no codes) for dialysate composition, UF/Na profiles or dialyzer KoA, so the whole
  prescription is stored as JSON (the scenario schema of docs/formats.md) in the extension
  :data:`PRESCRIPTION_EXTENSION_URL` (``valueString``); ``Procedure.note`` carries a readable summary.
  An extension, not the note, is the machine-readable copy because notes are free text that people edit.
* ``Observation``: pre-dialysis labs (LOINC, UCUM units, ``category`` laboratory), pre/post weight (LOINC
  29463-7 plus a local code telling pre from post), dry weight (local code, as the SIL HD-session map
  does), BP panel 85354-9 with SBP 8480-6 / DBP 8462-4 / MAP 8478-0 components and HR 8867-4 at each trace
  time point (``effectiveDateTime`` = start + ``t_min``), other trace signals (optional) under local codes
  plus their LOINC code where one exists, and trace events (local codes; cramp also SNOMED 55300003).
  Each has ``partOf`` → the Procedure and a ``meta.tag`` telling ``measured``/``simulated``/``estimated``.
* ``QuestionnaireResponse``: one per patient cramp report, answering :data:`CRAMP_QUESTIONNAIRE_URL`
  (items ``time_min``, ``muscle``, ``severity`` 0–10, ``note``); see :func:`cramp_questionnaire`.

Import converts accepted units (weight ``[lb_av]``, height ``m``/``[in_i]``, Ca/glucose/Mg mass <-> molar,
albumin ``g/L``, Hct fraction, ``meq/L``; see :data:`LAB_SPECS`) and rejects any other unit (e.g. a body
weight in ``g``) and out-of-range values (trace signals with the same message as the trace readers).
Every imported resource is validated with ``fhir.resources``; on export each resource shape is validated
(the first point of each trace series stands for the rest).
Times keep microseconds; a naive ``datetime`` is taken to be UTC.

Local codes live under :data:`BASE_URL`, an ``example.org`` address (RFC 2606) so they can never clash
with a real terminology. Malformed input raises :class:`crampwatch.errors.InputError` with a one-line
message naming the resource and field.
"""

from __future__ import annotations

from crampwatch.io.fhir.bundle import SessionImport, bundle_to_session, load_bundle, session_to_bundle
from crampwatch.io.fhir.codes import (
    BASE_URL,
    CODE_SYSTEM_URL,
    CRAMP_QUESTIONNAIRE_URL,
    FHIR_VERSION,
    LAB_SPECS,
    LOINC,
    PATIENT_EXTENSION_URL,
    PRESCRIPTION_EXTENSION_URL,
    SNOMED,
    TRACE_SPECS,
    UCUM,
)
from crampwatch.io.fhir.common import validate_resource
from crampwatch.io.fhir.patient import patient_from_fhir, patient_to_fhir
from crampwatch.io.fhir.questionnaire import (
    cramp_questionnaire,
    cramp_report_to_questionnaire_response,
    questionnaire_response_to_cramp_report,
)

__all__ = [
    "BASE_URL",
    "CODE_SYSTEM_URL",
    "CRAMP_QUESTIONNAIRE_URL",
    "FHIR_VERSION",
    "LAB_SPECS",
    "LOINC",
    "PATIENT_EXTENSION_URL",
    "PRESCRIPTION_EXTENSION_URL",
    "SNOMED",
    "TRACE_SPECS",
    "UCUM",
    "SessionImport",
    "bundle_to_session",
    "cramp_questionnaire",
    "cramp_report_to_questionnaire_response",
    "load_bundle",
    "patient_from_fhir",
    "patient_to_fhir",
    "questionnaire_response_to_cramp_report",
    "session_to_bundle",
    "validate_resource",
]
