"""The DTN paper's own numbers (Zhang et al., ICCV 2019), as printed, for the book's
"paper vs ours" tables.  Only values the paper states; nothing here is measured by us."""

# Table 3, DAVIS-2016 val: (J Mean, F Mean, G = J&F Mean), x100
TABLE3 = {
    "w/o FT": (67.1, 66.5, 66.8),
    "w/o PT": (68.4, 69.9, 69.2),
    "w/o DTN": (72.7, 71.8, 72.3),
    "BR with ori RPN": (81.7, 81.6, 81.6),
    "MRN w/o mask guidance": (82.1, 81.7, 81.9),
    "Ours": (83.7, 83.5, 83.6),
}

# Table 4: seconds per frame of each component on one GTX 1080Ti (BR: per BR frame)
TABLE4 = {"backbone": 0.021, "DM": 0.003, "BP": 0.003, "BR": 0.071, "MRN": 0.015}

# Sec. 4 / Table 1: frames per second of the whole model on the 1080Ti at theta_c = 0.83
FPS = 14.0
