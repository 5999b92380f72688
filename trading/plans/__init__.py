"""Auto-trading plans: services (create, run, mature, cancel), serializers and API."""
