"""The stages: each takes data and returns data; network and process I/O only at its edge."""
