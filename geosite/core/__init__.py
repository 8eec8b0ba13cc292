"""The domain core: site, machines, security and logs, with no HTTP and no SQL."""
