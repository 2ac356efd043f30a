"""The DIPNet paper's own numbers (WACV 2020), typed once so chapters quote them from here.

All on DAVIS (2016 val: single object; 2017 val: several objects), ResNet-50 with
ImageNet weights, one-shot fine-tuning on, timed on an NVIDIA Titan Xp (Sec. 4).
"""

#: Table 1, DAVIS 2016 val (single object): DIPNet and DIPNet* (no foreground crop).
TABLE1 = {"DIPNet": {"J-Mean": 0.858, "J-Recall": 0.973, "F-Mean": 0.864, "F-Recall": 0.956,
                     "s/frame": 1.09},
          "DIPNet*": {"J-Mean": 0.836, "J-Recall": 0.967, "F-Mean": 0.851, "F-Recall": 0.959,
                      "s/frame": 0.70}}

#: Table 3, DAVIS 2017 val (several objects).
TABLE3 = {"DIPNet": {"J-Mean": 0.653, "J-Recall": 0.766, "F-Mean": 0.716, "F-Recall": 0.821},
          "DIPNet*": {"J-Mean": 0.587, "J-Recall": 0.662, "F-Mean": 0.651, "F-Recall": 0.739}}

#: Table 6, mIoU of the propagation network (IPN) and the segmentation network (SSN)
#: alone and together: DAVIS16 (one object), DAVIS17 foreground, DAVIS17 instances.
TABLE6 = {"IPN": {"DAVIS16": 0.643, "DAVIS17_fore": 0.671, "DAVIS17_multi": 0.395},
          "SSN": {"DAVIS16": 0.825, "DAVIS17_fore": 0.819, "DAVIS17_multi": 0.486},
          "IPN+SSN": {"DAVIS16": 0.836, "DAVIS17_fore": 0.832, "DAVIS17_multi": 0.587}}

#: Table 7, DAVIS 2016 val, by training stage.  Its last column equals DIPNet* of
#: Table 1 (and Table 6's IPN+SSN on DAVIS16): the ablations run without the crop.
TABLE7 = {"pre-training": {"J-Mean": 0.332, "J-Recall": 0.341, "F-Mean": 0.340,
                           "F-Recall": 0.357},
          "+ off-line": {"J-Mean": 0.734, "J-Recall": 0.840, "F-Mean": 0.742,
                         "F-Recall": 0.832},
          "+ one-shot": {"J-Mean": 0.836, "J-Recall": 0.967, "F-Mean": 0.851,
                         "F-Recall": 0.959}}

#: Sec. 4.2.2-4.2.3, mIoU: concatenated vs masked identity encoder (DAVIS16, no
#: fine-tuning); instances segmented separately vs jointly (DAVIS17, no crop).
ENCODER = {"concat": 0.713, "masked": 0.734}
JOINT = {"separate": 0.540, "joint": 0.587}

#: Sec. 4.1 "Running Time" (Titan Xp): inference per frame; one-shot fine-tuning.
TIMES = {"inference_s_per_frame": 0.110, "finetune_200_full_s": 40.0,
         "finetune_100_crop_s": 20.0, "overall_s_per_frame": 1.09}

#: Fig. 6: the paper's choice of omega (larger is better in its sweep).
OMEGA = 0.95


def jf(row: dict) -> float:
    """J&F of a row of the paper's tables (Tables 1, 3, 7): the mean of its J Mean and
    F Mean, the DAVIS convention; the paper prints the two apart."""
    return (row["J-Mean"] + row["F-Mean"]) / 2
