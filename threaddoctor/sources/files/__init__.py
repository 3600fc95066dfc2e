"""What all line-based agent logs share: opening (plain, gzip, zstd) and line integrity."""
