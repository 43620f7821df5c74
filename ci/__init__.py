"""CI scripts and configuration; ci.validate holds the offline checks."""
