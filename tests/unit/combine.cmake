# The host combine: bands against the whole-image maps, bit for bit.
segscale_add_test(NAME tst_bandcombine SOURCES unit/tst_bandcombine.cpp LIBS segscale_pipeline LABELS unit)
