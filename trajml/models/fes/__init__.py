"""Free-energy surfaces on collective variables."""
