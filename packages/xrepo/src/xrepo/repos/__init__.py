"""Repository implementations: the :class:`XRepo` contract, connected and materialized repos."""
