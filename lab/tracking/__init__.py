"""Run tracking in MLflow: the only module that imports mlflow."""
