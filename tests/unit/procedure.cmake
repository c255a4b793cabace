# The device-generic procedure (core/procedure): the tensor combine, window step and
# pyramid against the CPU engine's OpenCV code, on the CPU.
segscale_add_test(NAME tst_devicecombiner SOURCES unit/tst_devicecombiner.cpp
                  LIBS segscale_pipeline LABELS unit model)
target_compile_options(tst_devicecombiner PRIVATE ${TORCH_CXX_FLAGS})
