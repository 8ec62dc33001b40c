"""Step shapes (record and dataset steps) and the datatrove adapter."""
