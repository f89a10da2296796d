"""Load destinations: where extracted rows are written."""
