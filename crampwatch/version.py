"""The package version and the model version stored with every assessment, twin and unit model."""

from __future__ import annotations

__version__ = "0.2.0"

#: Tag written beside stored results (assessments, twins, unit models): results computed by another model
#: version are recognisable.
MODEL_VERSION = f"crampwatch-{__version__}"
