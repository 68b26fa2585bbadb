"""slu: COCONUT, class-incremental spoken language understanding on ContrastKit."""
