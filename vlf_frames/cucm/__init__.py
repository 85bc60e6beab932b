"""Import Cisco Unified CM exports (``run sql`` text, AXL CSV, BAT phone export) into a drop."""

from vlf_frames.cucm.exports import ExportError
from vlf_frames.cucm.importer import ImportOptions, ImportSummary, import_cucm

__all__ = ["ExportError", "ImportOptions", "ImportSummary", "import_cucm"]
