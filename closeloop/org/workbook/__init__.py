"""Setting up a district from one workbook: the sheets regions, units, categories and users read
from an XLSX (or a CSV per sheet), imported all or nothing through the org service's rules.
The front door is `service.import_org`; `template.template_workbook` writes the example."""
