"""Everything that does not depend on a web framework: the model, settings, limits and examples."""
