"""toyapp: the smallest ContrastKit app, a walk-through (docs/example_app/README.md); not shipped."""
