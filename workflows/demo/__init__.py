"""Demo data for `manage.py seed_demo`, one module per app it fills; each writes through the apps' services."""
