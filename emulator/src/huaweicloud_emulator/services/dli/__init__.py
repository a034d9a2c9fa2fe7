"""DLI (Data Lake Insight): SQL jobs and the catalog, Spark batches, and the control plane."""
