"""The HTTP API and web pages: thin routes over closeloop."""
