"""Machine messages: HL7 v2 ORU^R01 (python-hl7), JSON and FHIR Observations read into one
:class:`~crampwatch.io.machine.messages.MachineMessage`, with the codes and units they may use."""
