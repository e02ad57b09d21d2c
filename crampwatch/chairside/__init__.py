"""The chairside service: machine data in (HL7 v2 over MLLP, JSON, FHIR), one ingest path into the store, live
sessions opened and closed by the data, the early-warning engine applied once per message, and the updates
pushed to the chairside view (in one process, or through Redis Streams to engine workers)."""
