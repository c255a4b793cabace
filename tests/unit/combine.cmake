# The host combine (bands against the whole-image maps, bit for bit) and the bytes
# budget of the images in flight.
segscale_add_test(NAME tst_bandcombine SOURCES unit/tst_bandcombine.cpp LIBS segscale_pipeline LABELS unit)
segscale_add_test(NAME tst_memorybudget SOURCES unit/tst_memorybudget.cpp LIBS segscale_pipeline LABELS unit)
target_compile_options(tst_memorybudget PRIVATE ${TORCH_CXX_FLAGS})
