"""The warehouse: engine, migrations runner, bulk loaders and audit records."""
