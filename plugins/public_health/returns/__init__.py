"""Provider returns: service and KPI configuration, discovery, templates, parsers and quarantine."""
