"""Model generation from schemas, and export of models and schemas as Python source."""
