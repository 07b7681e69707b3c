"""研判 (analysis): relevance, risk and rumour scores with reasons; folding and events."""
