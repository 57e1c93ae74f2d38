"""serve: the HTTP endpoint, its JSON payloads and its connection slots."""
