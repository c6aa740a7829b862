"""The safety-production side (双重预防): the enterprise and place register, inspections against
checklists, the major-hazard dossier, and the risk register with its review."""
