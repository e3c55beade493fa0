"""Loading the portal's raw exports into the `raw` schema of the warehouse."""
