# `segscale segment` end to end: the real CLI ($SEGSCALE_CLI via QProcess) with the real
# ESPNet Cityscapes model on real street photos — outputs, bad inputs, unusable models,
# sequential == pipelined, Ctrl-C, progress. Skips when ../shared has no model.
segscale_add_test(NAME tst_segmentcli
    SOURCES integration/tst_segmentcli.cpp common/badinputs.h
    LIBS segscale_base ${OpenCV_LIBS}
    LABELS integration model
    TIMEOUT 400)
add_dependencies(tst_segmentcli segscale)
