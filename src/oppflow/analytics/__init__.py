"""Numbers about the pipeline: the funnel by pipeline phase, read from what the caller may see."""
