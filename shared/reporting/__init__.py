"""The reporting service (services/reporting): statistics counted exactly once from the case events, hotspots,
the report document and its renderings (XLSX, CSV, JSON, PDF), the assessment, records the county legal office
enters, campaign materials, and the dashboard."""
