"""The asset graph: ingest per feed, link per feed, then reports and the traffic light."""
