"""Anonymous license usage report (audit version 4.0.0) from a collaboration inventory drop."""

__version__ = "0.1.0"
AUDIT_VERSION = "4.0.0"
