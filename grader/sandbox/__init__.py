"""Running untrusted code: the wire protocol, the worker runtime, its process jail and
isolation tiers, and the submission snapshot. Imports nothing of the engine above it."""
