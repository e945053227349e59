"""One module per ``prunerl`` subcommand."""
