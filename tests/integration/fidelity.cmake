# Fidelity on real photos: the engine with the real ESPNet model against the official
# procedure transcribed line for line (common/referenceprocedure.h), at the card's
# defaults. Skips when ../shared has no model.
segscale_add_test(NAME tst_fidelity
    SOURCES integration/tst_fidelity.cpp common/referenceprocedure.h
    LIBS segscale_pipeline ${OpenCV_LIBS}
    LABELS integration model
    TIMEOUT 600)
target_compile_options(tst_fidelity PRIVATE ${TORCH_CXX_FLAGS})
