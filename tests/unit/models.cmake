# Model loading without Python: checkpoint formats, the native ESPNet.
segscale_add_test(NAME tst_checkpointreader SOURCES unit/tst_checkpointreader.cpp
    LIBS segscale_model LABELS unit model)
segscale_add_test(NAME tst_espnet SOURCES unit/tst_espnet.cpp
    LIBS segscale_model ${OpenCV_LIBS} LABELS unit model TIMEOUT 600)
