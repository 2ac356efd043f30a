"""vos_lib: semi-supervised video object segmentation, DTN (ICCV 2019) and DIPNet (WACV 2020).

The library behind the book: data (DAVIS reader, synthetic generator), metrics (DAVIS
J/F), models (one module per paper component) and their training and inference.
"""
__version__ = "0.1.0"
