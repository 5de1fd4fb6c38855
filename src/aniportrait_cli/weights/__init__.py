"""The weight manager: which files each engine needs, where they are, download and verification."""
