"""Small helpers every part uses: content hashes, symlink-safe paths, logging. Imports nothing heavy."""
