"""Data contracts: one YAML file per table, turned into pandera schemas by one loader."""
