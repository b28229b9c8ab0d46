"""The computations behind the papers' figures and tables (notebooks plot what these return)."""
