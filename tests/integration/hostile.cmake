# Hostile and damaged inputs through the real CLI: a checkpoint nesting 300,000 lists,
# weights changed after import, damaged images (generated; ../shared/hostile and the
# real ESPNet model when present, skipping clearly otherwise).
segscale_add_test(NAME tst_hostileinputs
    SOURCES integration/tst_hostileinputs.cpp common/badinputs.h common/picklewriter.h
    LIBS segscale_base ${OpenCV_LIBS}
    LABELS integration model
    TIMEOUT 600)
