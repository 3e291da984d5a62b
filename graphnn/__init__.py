"""graphnn: sparse neural networks seen as graphs."""
