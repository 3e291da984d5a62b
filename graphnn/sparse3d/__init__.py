"""Sparse 3D: OFF meshes, voxelization, sparse voxel samples, datasets and batches."""
