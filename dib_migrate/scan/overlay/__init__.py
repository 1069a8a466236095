"""The overlay: which files of the root go into the archive, and the archive itself."""
