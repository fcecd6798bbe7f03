"""The quarterly Division of Public Health Performance Report."""
