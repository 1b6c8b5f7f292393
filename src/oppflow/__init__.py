"""oppflow: move sales opportunities through the phases of a pipeline."""

__version__ = "0.1.0"
