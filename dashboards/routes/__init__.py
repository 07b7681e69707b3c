"""Routes, one module per page family; each router carries its role check."""
