"""The sparse-face-model pipeline (the second paper, DESIGN.md §2): a classical photo -> 3-D face system.

    image -> detect.py (Haar face box) -> asm.py (68 feature points, Active Shape Model)
          -> recognition.py (CNN: the k most similar faces of the 3-D database, database.py)
          -> statistical.py (statistical face = mean of those faces; 3-D feature points of the input from
             their statistics: the sparse face model) -> tps.py (thin-plate-spline deformation, x, y, z)
          -> texture.py (photo mapped onto the mesh, Poisson fusion for what it cannot see, GLB)

``pipeline.SparseFace`` chains them for one image; ``evaluate.py`` measures every stage (docs/RESULTS_SPARSE.md).
"""
