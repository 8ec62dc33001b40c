"""Record filters of this package (datatrove's filters are used as they are)."""
