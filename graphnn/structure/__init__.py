"""The networkx side of graphnn.

Structures, layering, validation, generators, edits, analysis and GraphML
I/O.  This package never imports torch.
"""
