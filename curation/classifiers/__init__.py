"""Document classifiers: the fastText quality classifier (train and apply)."""
